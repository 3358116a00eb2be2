// Type declarations of the smtpclient package (index.js).
/// <reference types="node" />

export declare const Result: Readonly<{
  OK: 0; IN_PROGRESS: 1; SMTP_ERROR: 100; SERVER_DISCONNECTED: 101; NOT_SUPPORTED: 102; RESPONSE_ERROR: 103;
  SENDER_REFUSED: 104; RECIPIENTS_REFUSED: 105; DATA_ERROR: 106; CONNECT_ERROR: 107; HELO_ERROR: 108;
  AUTHENTICATION_ERROR: 109; DELIVERY_UNKNOWN: 110; PROTOCOL_ERROR: 111; MESSAGE_TOO_LARGE: 112;
  CREDENTIALS_POLICY: 113; TLS_REQUIRED: 114; IO_ERROR: 200; TIMEOUT: 201; NAME_RESOLUTION: 202;
  CONNECTION_REFUSED: 203; HOST_UNREACHABLE: 204; TLS_ERROR: 300; TLS_CERTIFICATE: 301; TLS_RECORD: 302;
  INVALID_ARGUMENT: 400; NULL_ARGUMENT: 401; INVALID_UTF8: 402; BAD_STATE: 403; BAD_HANDLE: 404;
  REENTRANT_CALL: 405; CALLBACK_ABORTED: 406; CONCURRENT_CALL: 407; PANIC: 900;
}>;

export declare const NO_INITIAL_RESPONSE: unique symbol;
export declare const ABI_VERSION_NUMBER: number;
export declare const koffiVersion: string;
export declare function libraryVersion(): string;
export declare function libraryVersionNumber(): number;

export declare class EnhancedStatus {
  readonly class: number;
  readonly subject: number;
  readonly detail: number;
  toString(): string; // "5.1.1"
}

/** One recipient of the last transaction. */
export interface Recipient {
  address: string;
  rcptCode: number;
  /** LMTP: the recipient's own reply after the data; 0 for SMTP and when refused at RCPT. */
  dataCode: number;
  /** The deciding reply's text: the after-data reply when there is one, else the RCPT reply. */
  text: string;
  enhancedStatus: EnhancedStatus | null;
  accepted: boolean;
}

export interface Refused { address: string; code: number; text: string; }

/** A failed library call; the subclass follows smtp_result_is_a. */
export declare class SmtpError extends Error {
  constructor(result: number, description: string, detail?: Partial<SmtpError>);
  readonly result: number;
  readonly resultName: string;
  readonly replyCode: number;
  readonly replyText: string;
  readonly enhancedStatus: EnhancedStatus | null;
  readonly errno: number;
  readonly sender: string | null;
  readonly callbackValue: number;
  /** The recipients of a send that failed after RCPT (RecipientsRefusedError, DataError). */
  readonly recipients: Recipient[];
  isA(base: number): boolean;
}
export declare class ServerDisconnectedError extends SmtpError {}
export declare class DeliveryUnknownError extends ServerDisconnectedError {}
export declare class NotSupportedError extends SmtpError {}
export declare class TlsRequiredError extends NotSupportedError {}
export declare class ResponseError extends SmtpError {}
export declare class SenderRefusedError extends ResponseError {}
export declare class DataError extends ResponseError {}
export declare class ConnectError extends ResponseError {}
export declare class HeloError extends ResponseError {}
export declare class AuthenticationError extends ResponseError {}
export declare class RecipientsRefusedError extends SmtpError {}
export declare class IoError extends SmtpError {}
export declare class TimeoutError extends IoError {}
export declare class TlsError extends SmtpError {}
export declare class TlsCertificateError extends TlsError {}
export declare class UsageError extends SmtpError {}

export declare const ERROR_CLASSES: ReadonlyArray<readonly [number, typeof SmtpError]>;
export declare function errorClassFor(result: number): typeof SmtpError;

export interface TlsSettings {
  caFile?: string;
  caDir?: string;
  clientCert?: string;
  clientKey?: string;
  serverName?: string;
  minVersion?: 'tls12' | 'tls13';
  /** false disables certificate verification: for tests only. */
  verify?: boolean;
  policy?: 'none' | 'opportunistic' | 'required';
}

export type DebugKind = 'connect' | 'sent' | 'received' | 'info';

export interface SessionOptions {
  /**
   * A connection string: smtp://[user:password@]host[:port][?tls=...], smtp+starttls://,
   * smtps://, lmtp://host[:port] or lmtp+unix:///path (user and password percent-encoded).
   * connect() without a host and login() without a user use it.
   */
  url?: string;
  /** The session kind; by default the one the url's scheme needs, else 'smtp'. */
  kind?: 'smtp' | 'smtps' | 'lmtp';
  /** The timeout of every phase in milliseconds (0: none). Default 60000. */
  timeoutMs?: number;
  /** The timeouts RFC 5321 §4.5.3.2 gives the phases it names (greeting, MAIL, RCPT, DATA, data blocks, final reply). */
  rfc5321Timeouts?: boolean;
  /** One phase's timeout each, in milliseconds (0: none), applied after timeoutMs and rfc5321Timeouts. */
  phaseTimeoutsMs?: Partial<Record<Phase, number>>;
  /** The total time one call may take, in milliseconds (0, the default: no total). */
  operationTimeoutMs?: number;
  localHostname?: string;
  tls?: TlsSettings;
  /** Runs on the main thread, synchronously, during the call that produced the event. */
  debug?: (kind: DebugKind, data: Buffer) => void;
  debugLevel?: 1 | 2;
  /** Use PIPELINING when offered (true, the default) or never. */
  pipelining?: boolean;
  /** Use CHUNKING (BDAT) when offered (true, the default) or never. */
  chunking?: boolean;
  /** true: credentials may go to any server without TLS (INSECURE). Refused by default. */
  cleartextCredentials?: boolean;
  /** Whether a loopback or Unix-socket server is trusted with credentials without TLS (default true). */
  localPeerTrusted?: boolean;
  /** The mechanisms login() may use, in order (['CRAM-MD5', 'PLAIN', 'LOGIN'] is smtplib's); null: the default. */
  loginMechanisms?: string[] | null;
  /** Bind the local end before connecting (smtplib's source_address); null removes it. */
  sourceAddress?: { host: string; port?: number } | null;
}

/** A phase of the conversation, each with its own timeout (smtp_phase). */
export type Phase =
  | 'connect' | 'tlsHandshake' | 'greeting' | 'ehlo' | 'mail' | 'rcpt' | 'data' | 'dataBlock' | 'dataEnd' | 'other';

/** When a recipient's delivery status notification is sent: 'never' alone, or any of the others. */
export type DsnNotifyFlag = 'success' | 'failure' | 'delay';
export type DsnNotify = 'never' | DsnNotifyFlag | DsnNotifyFlag[];

/** DSN (RFC 3461) settings of a send, sent when the server advertises DSN. */
export interface DsnOptions {
  /** What a notification returns of a failed message (RET=); absent: the server chooses. */
  ret?: 'full' | 'hdrs' | null;
  /** The envelope identifier (ENVID=) returned in every notification. */
  envid?: string | null;
  /** Per recipient (the address as passed to the send, any ASCII case): NOTIFY=. */
  notify?: Record<string, DsnNotify>;
  /** Per recipient: the original recipient address (ORCPT=). */
  orcpt?: Record<string, string>;
  /** Without DSN advertised: 'require' (the default) rejects with NotSupportedError before MAIL, 'optional' sends without. */
  policy?: 'require' | 'optional' | null;
}

export interface SendOptions {
  mailOptions?: string[];
  rcptOptions?: string[];
  dsn?: DsnOptions | null;
  /** REQUIRETLS (RFC 8689): only over verified TLS to a server that advertises it, else TlsRequiredError before MAIL. */
  requireTls?: boolean;
}

/** Options of sendmailStream(): sizeEstimate (octets with CRLF line ends) is announced as SIZE. */
export interface StreamSendOptions extends SendOptions { sizeEstimate?: number | null; }

/** A server reply: its code and text (lines joined with '\n'). */
export interface Reply { code: number; text: string; }

/** smtplib's does_esmtp, esmtp_features (lower-case keyword: parameters), helo_resp, ehlo_resp. */
export interface Capabilities {
  esmtp: boolean;
  features: Record<string, string>;
  heloResp: string | null;
  ehloResp: string | null;
}

/** A body for sendmailStream(): a Readable, any (async) iterable of chunks, a Buffer or a string. */
export type StreamBody =
  | NodeJS.ReadableStream
  | AsyncIterable<Buffer | Uint8Array | string>
  | Iterable<Buffer | Uint8Array | string>
  | Buffer
  | Uint8Array
  | string;

export interface SessionState {
  connected: boolean;
  authenticated: boolean;
  tlsActive: boolean;
  tlsPeerVerified: boolean;
  tlsVersion: string;
  tlsCipher: string;
  lastReplyCode: number;
  lastReplyText: string;
}

/**
 * An AUTH step: the server's challenge (null for the initial response) and whether TLS is
 * active; returns the response, or NO_INITIAL_RESPONSE for the initial call. Synchronous; runs
 * on the main thread during auth().
 */
export type AuthStep = (challenge: Buffer | null, tlsActive: boolean) => string | Buffer | typeof NO_INITIAL_RESPONSE;

/** One SMTP, SMTPS or LMTP session. Calls are queued: each starts once the previous settled. */
export declare class Session {
  constructor(options?: SessionOptions);
  /** Without a host: the endpoint of the url option. */
  connect(host?: string, port?: number): Promise<void>;
  starttls(): Promise<void>;
  /** Without a user and password: the url option's. */
  login(): Promise<void>;
  login(user: string, password: string, options?: { initialResponse?: boolean }): Promise<void>;
  loginOAuth(user: string, token: string, options?: { mechanism?: 'xoauth2' | 'oauthbearer' }): Promise<void>;
  auth(mechanism: string, step: AuthStep, options?: { initialResponse?: boolean }): Promise<void>;
  sendmail(from: string, to: string[], message: string | Buffer, options?: SendOptions): Promise<Recipient[]>;
  sendMessage(message: string | Buffer, options?: SendOptions & { from?: string | null; to?: string[] | null }): Promise<Recipient[]>;
  /**
   * sendmail() with the body read in chunks (bounded memory); the C call runs on a worker
   * thread of its own while the body is read on the event loop. A body error rejects with it.
   */
  sendmailStream(from: string, to: string[], body: StreamBody, options?: StreamSendOptions): Promise<Recipient[]>;
  docmd(cmd: string, args?: string | null): Promise<Reply>;
  helo(name?: string | null): Promise<Reply>;
  ehlo(name?: string | null): Promise<Reply>;
  ehloOrHeloIfNeeded(): Promise<void>;
  mail(sender: string, options?: string[]): Promise<Reply>;
  rcpt(recipient: string, options?: string[]): Promise<Reply>;
  data(message: string | Buffer): Promise<Reply>;
  rset(): Promise<Reply>;
  verify(address: string): Promise<Reply>;
  expn(address: string): Promise<Reply>;
  help(args?: string | null): Promise<Reply>;
  /** smtplib's close(): closes the connection without QUIT; the session stays usable. */
  disconnect(): Promise<void>;
  recipients(): Promise<Recipient[]>;
  hasExtension(name: string): Promise<boolean>;
  feature(name: string): Promise<string | null>;
  capabilities(): Promise<Capabilities>;
  refused(): Promise<Refused[]>;
  noop(): Promise<void>;
  quit(): Promise<void>;
  state(): Promise<SessionState>;
  close(): Promise<void>;
}
