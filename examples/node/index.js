// smtpclient: SMTP, SMTPS and LMTP sessions for Node.js over libsmtpclient (0.2.x), through koffi.
//
// The library is loaded by its SONAME (libsmtpclient.so.0.2, what the runtime package ships),
// found by the dynamic loader (LD_LIBRARY_PATH for a private prefix);
// SMTPCLIENT_LIBRARY=/path/to/libsmtpclient.so.0.2 overrides it.
//
// Rules this package follows:
// - Every call that may wait on the network (connect, starttls, login, auth, sendmail,
//   sendMessage, noop, quit) returns a Promise and runs on one of koffi's worker threads
//   (`fn.async`): the event loop never blocks.
// - Calls on one session are queued in JS: a call starts when the previous one has settled, so
//   awaiting two calls at once never reaches the library as a concurrent call
//   (SMTP_RESULT_CONCURRENT_CALL). close() is queued too.
// - Callbacks (the AUTH step function, the debug function) are koffi.register()ed functions.
//   The library calls them on the worker thread running the call; koffi hands each call to the
//   main thread and the worker waits for its result, so callbacks always run on the main
//   thread, one at a time, while their session's call is pending. They must not call the same
//   session (the queue would wait for the pending call: a deadlock) and must be synchronous.
//   An exception thrown in one is caught before it reaches C (koffi would return 0,
//   "respond"), the exchange is cancelled and the pending call rejects with that exception.
// - A session owns its C handle: close() frees it (nothing frees it on garbage collection).
// - Every string argument holding a NUL character is refused with a TypeError (C would read
//   it only up to the NUL). Strings the library returns are copied at once (koffi decodes
//   `const char *` into JS strings).
'use strict';

const path = require('node:path');
const { Worker } = require('node:worker_threads');
const koffi = require('koffi');

const LIBRARY = process.env.SMTPCLIENT_LIBRARY || 'libsmtpclient.so.0.2';
const lib = koffi.load(LIBRARY);

koffi.opaque('smtp_client');
koffi.opaque('smtp_auth_response');
koffi.opaque('smtp_send_options');
const AuthCallback = koffi.proto(
  'int32_t smtp_auth_callback(void *userdata, const uint8_t *challenge, size_t challenge_len, ' +
    'bool is_initial, bool tls_active, smtp_auth_response *response)');
const DebugCallback = koffi.proto(
  'void smtp_debug_callback(void *userdata, int32_t kind, const uint8_t *data, size_t len)');

const C = Object.fromEntries([
  'const char *smtp_lib_version(void)',
  'uint32_t smtp_lib_version_number(void)',
  'const char *smtp_result_name(int32_t code)',
  'const char *smtp_result_str(int32_t code)',
  'bool smtp_result_is_a(int32_t code, int32_t base)',
  'smtp_client *smtp_client_new(int32_t kind)',
  'void smtp_client_free(smtp_client *session)',
  'int32_t smtp_client_set_timeout_ms(smtp_client *session, uint32_t ms)',
  'int32_t smtp_client_set_phase_timeout_ms(smtp_client *session, int32_t phase, uint32_t ms)',
  'int32_t smtp_client_set_rfc5321_timeouts(smtp_client *session)',
  'int32_t smtp_client_set_operation_timeout_ms(smtp_client *session, uint32_t ms)',
  'int32_t smtp_client_set_local_hostname(smtp_client *session, const char *name)',
  'int32_t smtp_client_set_debuglevel(smtp_client *session, int32_t level)',
  'int32_t smtp_client_set_debug_callback(smtp_client *session, smtp_debug_callback *cb, void *userdata, void *userdata_free)',
  'int32_t smtp_client_set_tls_ca_file(smtp_client *session, const char *path)',
  'int32_t smtp_client_set_tls_ca_dir(smtp_client *session, const char *path)',
  'int32_t smtp_client_set_tls_client_cert(smtp_client *session, const char *chain_file, const char *key_file)',
  'int32_t smtp_client_set_tls_min_version(smtp_client *session, int32_t version)',
  'int32_t smtp_client_set_tls_server_name(smtp_client *session, const char *name)',
  'int32_t smtp_client_set_tls_verify(smtp_client *session, int32_t verify)',
  'int32_t smtp_client_set_tls_policy(smtp_client *session, int32_t policy)',
  'int32_t smtp_client_set_pipelining(smtp_client *session, int32_t use)',
  'int32_t smtp_client_set_chunking(smtp_client *session, int32_t use)',
  'int32_t smtp_client_set_cleartext_credentials(smtp_client *session, int32_t cleartext)',
  'int32_t smtp_client_set_local_peer(smtp_client *session, int32_t local_peer)',
  'int32_t smtp_client_set_login_mechanisms(smtp_client *session, const char *mechanisms)',
  'int32_t smtp_client_set_source_address(smtp_client *session, const char *host, uint16_t port)',
  'int32_t smtp_client_set_url(smtp_client *session, const char *url)',
  'int32_t smtp_client_connect(smtp_client *session, const char *host, uint16_t port)',
  'int32_t smtp_client_starttls(smtp_client *session)',
  'int32_t smtp_client_login(smtp_client *session, const char *user, const char *password, int32_t initial_response)',
  'int32_t smtp_client_auth(smtp_client *session, const char *mechanism, smtp_auth_callback *callback, void *userdata, int32_t initial_response)',
  'int32_t smtp_auth_response_set(smtp_auth_response *response, const uint8_t *data, size_t len)',
  'int32_t smtp_client_sendmail(smtp_client *session, const char *from, const char **to, size_t n_to, ' +
    'const uint8_t *msg, size_t len, const smtp_send_options *options)',
  'int32_t smtp_client_send_message(smtp_client *session, const uint8_t *msg, size_t len, const char *from, ' +
    'const char **to, size_t n_to, const smtp_send_options *options)',
  'int32_t smtp_client_login_oauth(smtp_client *session, int32_t mechanism, const char *user, const char *token)',
  'int32_t smtp_client_noop(smtp_client *session)',
  'int32_t smtp_client_quit(smtp_client *session)',
  'int32_t smtp_client_close(smtp_client *session)',
  'int32_t smtp_client_docmd(smtp_client *session, const char *cmd, const char *args)',
  'int32_t smtp_client_helo(smtp_client *session, const char *name)',
  'int32_t smtp_client_ehlo(smtp_client *session, const char *name)',
  'int32_t smtp_client_ehlo_or_helo_if_needed(smtp_client *session)',
  'int32_t smtp_client_mail(smtp_client *session, const char *sender, const char **options, size_t n_options)',
  'int32_t smtp_client_rcpt(smtp_client *session, const char *recipient, const char **options, size_t n_options)',
  'int32_t smtp_client_data(smtp_client *session, const uint8_t *msg, size_t len)',
  'int32_t smtp_client_rset(smtp_client *session)',
  'int32_t smtp_client_verify(smtp_client *session, const char *address)',
  'int32_t smtp_client_expn(smtp_client *session, const char *address)',
  'int32_t smtp_client_help(smtp_client *session, const char *args)',
  'bool smtp_client_has_extn(const smtp_client *session, const char *name)',
  'const char *smtp_client_feature(const smtp_client *session, const char *name)',
  'size_t smtp_client_feature_count(const smtp_client *session)',
  'int32_t smtp_client_feature_get(const smtp_client *session, size_t index, _Out_ const char **name, _Out_ const char **params)',
  'bool smtp_client_does_esmtp(const smtp_client *session)',
  'const char *smtp_client_helo_resp(const smtp_client *session)',
  'const char *smtp_client_ehlo_resp(const smtp_client *session)',
  'smtp_send_options *smtp_send_options_new(void)',
  'void smtp_send_options_free(smtp_send_options *options)',
  'int32_t smtp_send_options_add_mail_option(smtp_send_options *options, const char *option)',
  'int32_t smtp_send_options_add_rcpt_option(smtp_send_options *options, const char *option)',
  'int32_t smtp_send_options_set_size_estimate(smtp_send_options *options, int64_t size)',
  'int32_t smtp_send_options_set_dsn_ret(smtp_send_options *options, int32_t ret)',
  'int32_t smtp_send_options_set_dsn_envid(smtp_send_options *options, const char *envid)',
  'int32_t smtp_send_options_set_dsn_notify(smtp_send_options *options, const char *recipient, uint32_t flags)',
  'int32_t smtp_send_options_set_dsn_orcpt(smtp_send_options *options, const char *recipient, const char *original)',
  'int32_t smtp_send_options_set_dsn_policy(smtp_send_options *options, int32_t policy)',
  'int32_t smtp_send_options_set_requiretls(smtp_send_options *options, bool requiretls)',
  'bool smtp_client_is_connected(const smtp_client *session)',
  'bool smtp_client_is_authenticated(const smtp_client *session)',
  'size_t smtp_client_refused_count(const smtp_client *session)',
  'int32_t smtp_client_refused_get(const smtp_client *session, size_t index, _Out_ const char **address, _Out_ int32_t *code, _Out_ const char **text)',
  'size_t smtp_client_recipient_count(const smtp_client *session)',
  'int32_t smtp_client_recipient_get(const smtp_client *session, size_t index, _Out_ const char **address, ' +
    '_Out_ int32_t *rcpt_code, _Out_ int32_t *data_code, _Out_ const char **text)',
  'bool smtp_client_recipient_enhanced_status(const smtp_client *session, size_t index, _Out_ int32_t *klass, _Out_ int32_t *subject, _Out_ int32_t *detail)',
  'const char *smtp_client_last_error_message(const smtp_client *session)',
  'int32_t smtp_client_last_error_reply_code(const smtp_client *session)',
  'const char *smtp_client_last_error_reply_text(const smtp_client *session)',
  'bool smtp_client_last_error_enhanced_status(const smtp_client *session, _Out_ int32_t *klass, _Out_ int32_t *subject, _Out_ int32_t *detail)',
  'const char *smtp_client_last_error_sender(const smtp_client *session)',
  'int32_t smtp_client_last_os_error(const smtp_client *session)',
  'int32_t smtp_client_last_callback_value(const smtp_client *session)',
  'int32_t smtp_client_last_reply_code(const smtp_client *session)',
  'const char *smtp_client_last_reply_text(const smtp_client *session)',
  'bool smtp_client_tls_active(const smtp_client *session)',
  'bool smtp_client_tls_peer_verified(const smtp_client *session)',
  'const char *smtp_client_tls_version(const smtp_client *session)',
  'const char *smtp_client_tls_cipher(const smtp_client *session)',
].map((declaration) => {
  const fn = lib.func(declaration);
  return [fn.info.name, fn];
}));

// The result codes (smtp_result).
// IN_PROGRESS is not an error: the C API's non-blocking calls (smtp_client_start_*,
// smtp_client_step) return it while an operation runs; this package's Promises never see it.
const Result = Object.freeze({
  OK: 0, IN_PROGRESS: 1, SMTP_ERROR: 100, SERVER_DISCONNECTED: 101, NOT_SUPPORTED: 102, RESPONSE_ERROR: 103,
  SENDER_REFUSED: 104, RECIPIENTS_REFUSED: 105, DATA_ERROR: 106, CONNECT_ERROR: 107,
  HELO_ERROR: 108, AUTHENTICATION_ERROR: 109, DELIVERY_UNKNOWN: 110, PROTOCOL_ERROR: 111,
  MESSAGE_TOO_LARGE: 112, CREDENTIALS_POLICY: 113, TLS_REQUIRED: 114, IO_ERROR: 200,
  TIMEOUT: 201, NAME_RESOLUTION: 202, CONNECTION_REFUSED: 203, HOST_UNREACHABLE: 204,
  TLS_ERROR: 300, TLS_CERTIFICATE: 301, TLS_RECORD: 302, INVALID_ARGUMENT: 400,
  NULL_ARGUMENT: 401, INVALID_UTF8: 402, BAD_STATE: 403, BAD_HANDLE: 404, REENTRANT_CALL: 405,
  CALLBACK_ABORTED: 406, CONCURRENT_CALL: 407, PANIC: 900,
});
const KINDS = { smtp: 0, smtps: 1, lmtp: 2 };
const TLS_POLICIES = { none: 0, opportunistic: 1, required: 2 };
const TLS_VERSIONS = { tls12: 12, tls13: 13 };
const DEBUG_KINDS = ['connect', 'sent', 'received', 'info'];
const AUTH_STEP_RESPOND = 0;
const AUTH_STEP_NO_INITIAL_RESPONSE = 1;
const AUTH_STEP_ABORT = -1;
const INITIAL_RESPONSE_SEND = 0;
const INITIAL_RESPONSE_WAIT = 1;
const EXTENSION_USE_WHEN_OFFERED = 0;
const EXTENSION_USE_NEVER = 1;
const CLEARTEXT_CREDENTIALS_REFUSE = 0;
const CLEARTEXT_CREDENTIALS_ALLOW = 1;
const LOCAL_PEER_TRUSTED = 0;
const LOCAL_PEER_UNTRUSTED = 1;
const OAUTH_MECHANISMS = { xoauth2: 0, oauthbearer: 1 };
// smtp_phase
const PHASES = {
  connect: 0, tlsHandshake: 1, greeting: 2, ehlo: 3, mail: 4, rcpt: 5, data: 6, dataBlock: 7, dataEnd: 8, other: 9,
};
// smtp_dsn_ret, smtp_dsn_notify, smtp_dsn_policy
const DSN_RETS = { full: 1, hdrs: 2 };
const DSN_NOTIFY = { success: 1, failure: 2, delay: 4, never: 8 };
const DSN_POLICIES = { require: 0, optional: 1 };
// The stream worker's shared buffer: the largest chunk handed over per read.
const STREAM_CHUNK = 64 * 1024;
// The ABI this package was written for: libsmtpclient 0.2.x.
const ABI_VERSION_NUMBER = 200;
// Returned by an auth() step function for the initial response: send "AUTH <mechanism>" alone.
const NO_INITIAL_RESPONSE = Symbol('no initial response');

// The one check of a string argument before it reaches C, which would read it only up to its
// first NUL: a TypeError with code ERR_INVALID_ARG_VALUE, as Node's fs functions throw for a
// path holding a NUL. The message names the argument, never its value (it may be a password).
function cString(argument, value) {
  const offset = typeof value === 'string' ? value.indexOf('\0') : -1;
  if (offset >= 0) {
    const err = new TypeError(
      `The argument '${argument}' contains a NUL character at index ${offset} (the C API would truncate it there)`);
    err.code = 'ERR_INVALID_ARG_VALUE';
    throw err;
  }
  return value;
}

// An RFC 3463 enhanced status code.
class EnhancedStatus {
  constructor(klass, subject, detail) {
    this.class = klass;
    this.subject = subject;
    this.detail = detail;
  }

  toString() { return `${this.class}.${this.subject}.${this.detail}`; }
}

// A failed library call; the subclass follows the library's hierarchy (smtp_result_is_a).
class SmtpError extends Error {
  constructor(result, description, detail = {}) {
    const resultName = C.smtp_result_name(result);
    let message = `${resultName}: ${description}`;
    if (detail.replyCode && !description.includes(detail.replyText)) {
      message += ` (server said ${detail.replyCode} ${detail.replyText})`;
    }
    super(message);
    this.name = new.target.name;
    this.result = result; // SMTP_RESULT_* value
    this.resultName = resultName;
    this.replyCode = detail.replyCode || 0;
    this.replyText = detail.replyText || '';
    this.enhancedStatus = detail.enhancedStatus || null;
    this.errno = detail.errno || 0;
    this.sender = detail.sender ?? null;
    this.callbackValue = detail.callbackValue || 0;
    this.recipients = detail.recipients || [];
  }

  // Whether the result is `base` or a kind of it, e.g. err.isA(Result.IO_ERROR).
  isA(base) { return C.smtp_result_is_a(this.result, base); }
}
class ServerDisconnectedError extends SmtpError {}
class DeliveryUnknownError extends ServerDisconnectedError {}
class NotSupportedError extends SmtpError {}
class TlsRequiredError extends NotSupportedError {}
class ResponseError extends SmtpError {}
class SenderRefusedError extends ResponseError {}
class DataError extends ResponseError {}
class ConnectError extends ResponseError {}
class HeloError extends ResponseError {}
class AuthenticationError extends ResponseError {}
class RecipientsRefusedError extends SmtpError {}
class IoError extends SmtpError {}
class TimeoutError extends IoError {}
class TlsError extends SmtpError {}
class TlsCertificateError extends TlsError {}
class UsageError extends SmtpError {}

// Each class with its code, the most specific first: the first whose code the failure's code
// is a kind of is thrown.
const ERROR_CLASSES = [
  [Result.SENDER_REFUSED, SenderRefusedError], [Result.DATA_ERROR, DataError],
  [Result.CONNECT_ERROR, ConnectError], [Result.HELO_ERROR, HeloError],
  [Result.AUTHENTICATION_ERROR, AuthenticationError], [Result.RESPONSE_ERROR, ResponseError],
  [Result.RECIPIENTS_REFUSED, RecipientsRefusedError], [Result.DELIVERY_UNKNOWN, DeliveryUnknownError],
  [Result.SERVER_DISCONNECTED, ServerDisconnectedError], [Result.TLS_REQUIRED, TlsRequiredError],
  [Result.NOT_SUPPORTED, NotSupportedError], [Result.TIMEOUT, TimeoutError], [Result.IO_ERROR, IoError],
  [Result.TLS_CERTIFICATE, TlsCertificateError], [Result.TLS_ERROR, TlsError],
  [Result.INVALID_ARGUMENT, UsageError],
];

// The session kind a URL's scheme needs (case-insensitive, as the library reads it); an
// unknown scheme gives 'smtp', whose URL the library then refuses with its own message.
function kindOfUrl(url) {
  const scheme = String(url).split('://', 1)[0].toLowerCase();
  if (scheme === 'smtps') return 'smtps';
  if (scheme === 'lmtp' || scheme === 'lmtp+unix') return 'lmtp';
  return 'smtp';
}

function errorClassFor(result) {
  const found = ERROR_CLASSES.find(([base]) => C.smtp_result_is_a(result, base));
  return found ? found[1] : SmtpError;
}

function enhancedStatus(read) {
  const klass = [0]; const subject = [0]; const detail = [0];
  return read(klass, subject, detail) ? new EnhancedStatus(klass[0], subject[0], detail[0]) : null;
}

// Calls fn on a koffi worker thread; resolves with its return value.
function callAsync(fn, ...args) {
  return new Promise((resolve, reject) => {
    fn.async(...args, (err, value) => (err ? reject(err) : resolve(value)));
  });
}

class Session {
  #handle;
  #queue = Promise.resolve();
  #debugCallback = null; // registered with koffi while the library may call it
  #callbackError = null;

  // options: url (a connection string, see below), kind ('smtp', 'smtps', 'lmtp'; by default
  // the one the url's scheme needs, else 'smtp'), timeoutMs, localHostname, tls (caFile, caDir,
  // clientCert + clientKey, serverName, minVersion 'tls12'|'tls13', verify (false: tests
  // only), policy 'none'|'opportunistic'|'required', which overrides the url's), debug
  // (function(kind, data: Buffer)).
  //
  // Timeouts, in milliseconds (0: none): timeoutMs sets every phase; rfc5321Timeouts: true
  // the values RFC 5321 §4.5.3.2 gives the phases it names (greeting, MAIL and RCPT 5 min,
  // DATA 2, each data block 3, the final reply 10); phaseTimeoutsMs one phase each, applied
  // after both ({ connect, tlsHandshake, greeting, ehlo, mail, rcpt, data, dataBlock,
  // dataEnd, other }); operationTimeoutMs the total one call may take. A TimeoutError's
  // description names the phase and the limit that applied.
  //
  // url: smtp://[user:password@]host[:port][/][?tls=none|opportunistic|required] (port 25),
  // smtp+starttls:// (STARTTLS required, port 587), smtps:// (port 465), lmtp://host[:port]
  // (port 2003) or lmtp+unix:///path; user and password percent-encoded (%40 for @). It sets
  // the TLS policy, the endpoint connect() without a host uses and the credentials login()
  // without a user sends. A malformed url, or one of another kind, throws a UsageError
  // naming the part that is wrong (never the password).
  constructor(options = {}) {
    const kind = KINDS[options.kind ?? (options.url !== undefined ? kindOfUrl(options.url) : 'smtp')];
    if (kind === undefined) throw new RangeError(`unknown session kind '${options.kind}' (smtp, smtps, lmtp)`);
    this.#handle = C.smtp_client_new(kind);
    if (!this.#handle) throw new Error('smtp_client_new failed');
    try {
      if (options.url !== undefined) {
        if (typeof options.url !== 'string') throw new TypeError('url must be a string');
        this.#check('setUrl', C.smtp_client_set_url(this.#handle, cString('url', options.url)));
      }
      this.#configureTimeouts(options);
      if (options.localHostname !== undefined) {
        this.#check('setLocalHostname', C.smtp_client_set_local_hostname(this.#handle, cString('localHostname', options.localHostname)));
      }
      if (options.tls) this.#configureTls(options.tls);
      this.#configure(options);
      if (options.debug) this.#setDebug(options.debug, options.debugLevel ?? 1);
    } catch (e) {
      this.#free();
      throw e;
    }
  }

  #configureTls(tls) {
    const h = this.#handle;
    if (tls.caFile !== undefined) this.#check('setTlsCaFile', C.smtp_client_set_tls_ca_file(h, cString('tls.caFile', tls.caFile)));
    if (tls.caDir !== undefined) this.#check('setTlsCaDir', C.smtp_client_set_tls_ca_dir(h, cString('tls.caDir', tls.caDir)));
    if (tls.clientCert !== undefined || tls.clientKey !== undefined) {
      this.#check('setTlsClientCert', C.smtp_client_set_tls_client_cert(h, cString('tls.clientCert', tls.clientCert ?? null),
        cString('tls.clientKey', tls.clientKey ?? null)));
    }
    if (tls.serverName !== undefined) this.#check('setTlsServerName', C.smtp_client_set_tls_server_name(h, cString('tls.serverName', tls.serverName)));
    if (tls.minVersion !== undefined) {
      const v = TLS_VERSIONS[tls.minVersion];
      if (v === undefined) throw new RangeError(`unknown TLS version '${tls.minVersion}' (tls12, tls13)`);
      this.#check('setTlsMinVersion', C.smtp_client_set_tls_min_version(h, v));
    }
    if (tls.verify === false) this.#check('setTlsVerify', C.smtp_client_set_tls_verify(h, 1));
    if (tls.policy !== undefined) {
      const p = TLS_POLICIES[tls.policy];
      if (p === undefined) throw new RangeError(`unknown TLS policy '${tls.policy}' (none, opportunistic, required)`);
      this.#check('setTlsPolicy', C.smtp_client_set_tls_policy(h, p));
    }
  }

  #configureTimeouts(options) {
    const h = this.#handle;
    if (options.timeoutMs !== undefined) {
      this.#check('setTimeoutMs', C.smtp_client_set_timeout_ms(h, milliseconds('timeoutMs', options.timeoutMs)));
    }
    if (options.rfc5321Timeouts) this.#check('setRfc5321Timeouts', C.smtp_client_set_rfc5321_timeouts(h));
    for (const [phase, ms] of Object.entries(options.phaseTimeoutsMs ?? {})) {
      const value = PHASES[phase];
      if (value === undefined) throw new RangeError(`unknown phase '${phase}' (${Object.keys(PHASES).join(', ')})`);
      this.#check('setPhaseTimeoutMs', C.smtp_client_set_phase_timeout_ms(h, value, milliseconds(`phaseTimeoutsMs.${phase}`, ms)));
    }
    if (options.operationTimeoutMs !== undefined) {
      this.#check('setOperationTimeoutMs',
        C.smtp_client_set_operation_timeout_ms(h, milliseconds('operationTimeoutMs', options.operationTimeoutMs)));
    }
  }

  // The settings beyond TLS (see the constructor).
  #configure(options) {
    const h = this.#handle;
    const use = (v) => (v ? EXTENSION_USE_WHEN_OFFERED : EXTENSION_USE_NEVER);
    if (options.pipelining !== undefined) this.#check('setPipelining', C.smtp_client_set_pipelining(h, use(options.pipelining)));
    if (options.chunking !== undefined) this.#check('setChunking', C.smtp_client_set_chunking(h, use(options.chunking)));
    if (options.cleartextCredentials !== undefined) {
      this.#check('setCleartextCredentials', C.smtp_client_set_cleartext_credentials(h,
        options.cleartextCredentials ? CLEARTEXT_CREDENTIALS_ALLOW : CLEARTEXT_CREDENTIALS_REFUSE));
    }
    if (options.localPeerTrusted !== undefined) {
      this.#check('setLocalPeer', C.smtp_client_set_local_peer(h, options.localPeerTrusted ? LOCAL_PEER_TRUSTED : LOCAL_PEER_UNTRUSTED));
    }
    if (options.loginMechanisms !== undefined) {
      let list = null;
      if (options.loginMechanisms !== null) {
        if (!Array.isArray(options.loginMechanisms)) throw new TypeError('loginMechanisms must be an array of names, or null');
        options.loginMechanisms.forEach((m, i) => {
          if (typeof m !== 'string' || m === '' || /[ ,]/.test(m)) throw new TypeError(`loginMechanisms[${i}] is not one mechanism name`);
        });
        list = cString('loginMechanisms', options.loginMechanisms.join(' '));
      }
      this.#check('setLoginMechanisms', C.smtp_client_set_login_mechanisms(h, list));
    }
    if (options.sourceAddress !== undefined) {
      const { host = null, port = 0 } = options.sourceAddress ?? {};
      this.#check('setSourceAddress', C.smtp_client_set_source_address(h, host === null ? null : cString('sourceAddress.host', host), port));
    }
  }

  #setDebug(fn, level) {
    const cb = koffi.register((_userdata, kind, data, len) => {
      try {
        const bytes = len > 0 ? Buffer.from(koffi.decode(data, 'uint8_t', len)) : Buffer.alloc(0);
        fn(DEBUG_KINDS[kind] ?? kind, bytes);
      } catch (e) {
        this.#callbackError ??= e;
      }
    }, koffi.pointer(DebugCallback));
    this.#check('setDebugCallback', C.smtp_client_set_debug_callback(this.#handle, cb, null, null));
    this.#debugCallback = cb;
    this.#check('setDebuglevel', C.smtp_client_set_debuglevel(this.#handle, level));
  }

  // Runs task(handle) after every call queued before it has settled.
  #enqueue(task) {
    const run = this.#queue.then(() => {
      if (!this.#handle) throw new Error('session is closed');
      return task(this.#handle);
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  // One network call on a worker thread, queued; rejects with the SmtpError of a failure, or
  // with the exception a callback threw during it.
  // result(handle), when given, is read in the same queued task once the call succeeded (the
  // reply of a low-level command): no other call can come in between.
  #network(operation, fn, args, { recipientsOnError = false, before, after, result } = {}) {
    return this.#enqueue(async (h) => {
      const prepared = before ? before() : null;
      let rc;
      try {
        this.#callbackError = null;
        rc = await callAsync(fn, h, ...args(prepared));
      } finally {
        if (after) after(prepared);
      }
      const thrown = this.#callbackError;
      this.#callbackError = null;
      if (thrown) throw thrown;
      this.#check(operation, rc, recipientsOnError);
      return result ? result(h) : undefined;
    });
  }

  #check(operation, rc, withRecipients = false) {
    if (rc === Result.OK) return;
    const h = this.#handle;
    const Class = errorClassFor(rc);
    throw new Class(rc, `${operation}: ${C.smtp_client_last_error_message(h)}`, {
      replyCode: C.smtp_client_last_error_reply_code(h),
      replyText: C.smtp_client_last_error_reply_text(h),
      enhancedStatus: enhancedStatus((c, s, d) => C.smtp_client_last_error_enhanced_status(h, c, s, d)),
      errno: C.smtp_client_last_os_error(h),
      sender: C.smtp_client_last_error_sender(h),
      callbackValue: C.smtp_client_last_callback_value(h),
      recipients: withRecipients ? readRecipients(h) : [],
    });
  }

  // smtplib's connect(host, port): port 0 takes it from "host:port" or the kind's default; a
  // host starting with '/' is a Unix socket. Without a host: the endpoint of the url option.
  connect(host = null, port = 0) {
    const cHost = host === null ? null : cString('host', host);
    return this.#network('connect', C.smtp_client_connect, () => [cHost, port]);
  }

  starttls() { return this.#network('starttls', C.smtp_client_starttls, () => []); }

  // Without user and password: the url option's (a UsageError when it carried none).
  login(user = null, password = null, { initialResponse = true } = {}) {
    if ((user === null) !== (password === null)) throw new TypeError('login needs a user and a password, or neither (the url\'s)');
    const args = [user === null ? null : cString('user', user), password === null ? null : cString('password', password),
      initialResponse ? INITIAL_RESPONSE_SEND : INITIAL_RESPONSE_WAIT];
    return this.#network('login', C.smtp_client_login, () => args);
  }

  // Log in with an OAuth 2.0 bearer token; mechanism 'xoauth2' (the default) or
  // 'oauthbearer' (RFC 7628), which the server must advertise.
  loginOAuth(user, token, { mechanism = 'xoauth2' } = {}) {
    const m = OAUTH_MECHANISMS[mechanism];
    if (m === undefined) throw new RangeError(`unknown OAuth mechanism '${mechanism}' (xoauth2, oauthbearer)`);
    const args = [m, cString('user', user), cString('token', token)];
    return this.#network('loginOAuth', C.smtp_client_login_oauth, () => args);
  }

  // smtplib's auth(mechanism, authobject): step(challenge: Buffer|null, tlsActive) returns the
  // response (string or Buffer), or NO_INITIAL_RESPONSE when challenge is null. Synchronous.
  auth(mechanism, step, { initialResponse = true } = {}) {
    const cMechanism = cString('mechanism', mechanism);
    const onStep = (_userdata, challenge, len, _isInitial, tlsActive, response) => {
      try {
        const data = challenge === null ? null : Buffer.from(len > 0 ? koffi.decode(challenge, 'uint8_t', len) : []);
        const answer = step(data, tlsActive);
        if (answer === NO_INITIAL_RESPONSE && data === null) return AUTH_STEP_NO_INITIAL_RESPONSE;
        if (typeof answer !== 'string' && !Buffer.isBuffer(answer)) throw new TypeError('the auth step returned neither a string nor a Buffer');
        const bytes = Buffer.from(answer); // a copy we may wipe
        const rc = C.smtp_auth_response_set(response, bytes, bytes.length);
        bytes.fill(0); // the library has its own copy
        return rc === Result.OK ? AUTH_STEP_RESPOND : AUTH_STEP_ABORT;
      } catch (e) {
        this.#callbackError ??= e;
        return AUTH_STEP_ABORT;
      }
    };
    const mode = initialResponse ? INITIAL_RESPONSE_SEND : INITIAL_RESPONSE_WAIT;
    return this.#network('auth', C.smtp_client_auth, (cb) => [cMechanism, cb, null, mode], {
      before: () => koffi.register(onStep, koffi.pointer(AuthCallback)),
      after: (cb) => koffi.unregister(cb), // the library keeps nothing once the call returned
    });
  }

  // smtplib's sendmail(): resolves with every recipient's outcome when at least one accepted
  // the message; rejects with RecipientsRefusedError (or DataError) carrying them otherwise.
  //
  // Options: mailOptions, rcptOptions (raw ESMTP parameters); dsn, DSN (RFC 3461) settings
  // sent when the server advertises DSN: { ret: 'full' | 'hdrs', envid, notify: { [recipient]:
  // 'never', or one or an array of 'success', 'failure', 'delay' }, orcpt: { [recipient]:
  // original address }, policy: 'require' (the default: NotSupportedError before MAIL when the
  // server lacks DSN) | 'optional' }; requireTls: true sends REQUIRETLS (RFC 8689), only over
  // verified TLS to a server that advertises it, else rejects with TlsRequiredError before MAIL.
  sendmail(from, to, message, opts = {}) {
    const cFrom = cString('from', from);
    const cTo = to.map((addr, i) => cString(`to[${i}]`, addr));
    const body = toBuffer(message);
    const o = checkOptions(opts);
    return this.#network('sendmail', C.smtp_client_sendmail, (options) => [cFrom, cTo, cTo.length, body, body.length, options],
      { recipientsOnError: true, before: () => sendOptions(o), after: freeOptions })
      .then(() => this.#enqueue(readRecipients));
  }

  // smtplib's send_message(): from and to, when omitted, are taken from the headers; Bcc is
  // not transmitted. Other options, and the result, as sendmail().
  sendMessage(message, opts = {}) {
    const { from = null, to = null } = opts;
    const cFrom = from === null ? null : cString('from', from);
    const cTo = to === null ? null : to.map((addr, i) => cString(`to[${i}]`, addr));
    const body = toBuffer(message);
    const o = checkOptions(opts);
    return this.#network('sendMessage', C.smtp_client_send_message,
      (options) => [body, body.length, cFrom, cTo, cTo ? cTo.length : 0, options],
      { recipientsOnError: true, before: () => sendOptions(o), after: freeOptions })
      .then(() => this.#enqueue(readRecipients));
  }

  // sendmail() with the message pulled from `body` in chunks, so a message of any size goes
  // out in bounded memory: a Readable, any (async) iterable of Buffers or strings, a Buffer or
  // a string. The blocking C call runs on a worker thread of its own (stream-worker.js) while
  // the body is read on this thread's event loop, which never blocks. sizeEstimate (octets
  // with CRLF line ends) is announced as SIZE and checked against the server's limit before
  // anything is sent. An error of the body aborts the send and rejects with that error: before
  // the transaction nothing is sent, later the session is closed so that no partial message
  // can be delivered. Other options, and the result, as sendmail().
  sendmailStream(from, to, body, opts = {}) {
    const cFrom = cString('from', from);
    const cTo = to.map((addr, i) => cString(`to[${i}]`, addr));
    const chunks = toAsyncIterator(body);
    const o = checkOptions(opts);
    const sizeEstimate = opts.sizeEstimate ?? null;
    if (sizeEstimate !== null && !Number.isSafeInteger(sizeEstimate)) throw new TypeError('sizeEstimate must be an integer or null');
    return this.#enqueue(async (h) => {
      const options = sendOptions({ ...o, sizeEstimate });
      this.#callbackError = null;
      let rc;
      try {
        rc = await streamOnWorker(h, cFrom, cTo, options, chunks, (e) => { this.#callbackError ??= e; });
      } finally {
        freeOptions(options);
      }
      const thrown = this.#callbackError;
      this.#callbackError = null;
      if (thrown) throw thrown;
      this.#check('sendmailStream', rc, true);
      return readRecipients(h);
    });
  }

  // smtplib's low-level commands. Each resolves with the server's reply, { code, text },
  // whatever its code (the caller decides what a 5xx means), and rejects only when the call
  // itself failed (connection lost, a bad argument, the TLS policy). null means none.
  docmd(cmd, args = null) {
    const a = [cString('cmd', cmd), args === null ? null : cString('args', args)];
    return this.#command('docmd', C.smtp_client_docmd, a);
  }

  helo(name = null) { return this.#command('helo', C.smtp_client_helo, [name === null ? null : cString('name', name)]); }

  // EHLO (LHLO for LMTP); on 250 the extensions are parsed (capabilities()).
  ehlo(name = null) { return this.#command('ehlo', C.smtp_client_ehlo, [name === null ? null : cString('name', name)]); }

  ehloOrHeloIfNeeded() { return this.#network('ehloOrHeloIfNeeded', C.smtp_client_ehlo_or_helo_if_needed, () => []); }

  // MAIL FROM ('' is the null reverse-path); starts a new transaction.
  mail(sender, options = []) {
    const a = [cString('sender', sender), options.map((o, i) => cString(`options[${i}]`, o)), options.length];
    return this.#command('mail', C.smtp_client_mail, a);
  }

  rcpt(recipient, options = []) {
    const a = [cString('recipient', recipient), options.map((o, i) => cString(`options[${i}]`, o)), options.length];
    return this.#command('rcpt', C.smtp_client_rcpt, a);
  }

  // DATA, the message (line ends normalised, dot-stuffed), the end mark: the final reply (for
  // LMTP each recipient's own reply is in recipients()). DataError when DATA is refused.
  data(message) {
    const body = toBuffer(message);
    return this.#command('data', C.smtp_client_data, [body, body.length]);
  }

  rset() { return this.#command('rset', C.smtp_client_rset, []); }
  verify(address) { return this.#command('verify', C.smtp_client_verify, [cString('address', address)]); }
  expn(address) { return this.#command('expn', C.smtp_client_expn, [cString('address', address)]); }
  help(args = null) { return this.#command('help', C.smtp_client_help, [args === null ? null : cString('args', args)]); }

  #command(operation, fn, args) {
    return this.#network(operation, fn, () => args, {
      result: (h) => ({ code: C.smtp_client_last_reply_code(h), text: C.smtp_client_last_reply_text(h) }),
    });
  }

  // smtplib's close(): the connection is closed without QUIT; the session stays usable
  // (connect() again) until close() frees it.
  disconnect() {
    return this.#enqueue((h) => this.#check('disconnect', C.smtp_client_close(h)));
  }

  // Every recipient of the current or last transaction, in RCPT order.
  recipients() { return this.#enqueue(readRecipients); }

  // Whether the server advertised the extension (any case); its parameters ('' for a bare
  // keyword, null when not advertised).
  hasExtension(name) {
    const n = cString('name', name);
    return this.#enqueue((h) => C.smtp_client_has_extn(h, n));
  }

  feature(name) {
    const n = cString('name', name);
    return this.#enqueue((h) => C.smtp_client_feature(h, n));
  }

  // smtplib's does_esmtp, esmtp_features (lower-case keyword: parameters), helo_resp and
  // ehlo_resp (null when none).
  capabilities() {
    return this.#enqueue((h) => {
      const features = {};
      const n = Number(C.smtp_client_feature_count(h));
      for (let i = 0; i < n; i++) {
        const name = [null]; const params = [null];
        if (C.smtp_client_feature_get(h, i, name, params) === Result.OK) features[name[0]] = params[0];
      }
      return {
        esmtp: C.smtp_client_does_esmtp(h), features,
        heloResp: C.smtp_client_helo_resp(h), ehloResp: C.smtp_client_ehlo_resp(h),
      };
    });
  }

  // The recipients refused by the last send.
  refused() {
    return this.#enqueue((h) => {
      const out = [];
      const n = Number(C.smtp_client_refused_count(h));
      for (let i = 0; i < n; i++) {
        const address = [null]; const code = [0]; const text = [null];
        if (C.smtp_client_refused_get(h, i, address, code, text) === Result.OK) {
          out.push({ address: address[0], code: code[0], text: text[0] });
        }
      }
      return out;
    });
  }

  noop() { return this.#network('noop', C.smtp_client_noop, () => []); }
  quit() { return this.#network('quit', C.smtp_client_quit, () => []); }

  // The session's state after every queued call has settled.
  state() {
    return this.#enqueue((h) => ({
      connected: C.smtp_client_is_connected(h),
      authenticated: C.smtp_client_is_authenticated(h),
      tlsActive: C.smtp_client_tls_active(h),
      tlsPeerVerified: C.smtp_client_tls_peer_verified(h),
      tlsVersion: C.smtp_client_tls_version(h),
      tlsCipher: C.smtp_client_tls_cipher(h),
      lastReplyCode: C.smtp_client_last_reply_code(h),
      lastReplyText: C.smtp_client_last_reply_text(h),
    }));
  }

  // Frees the session once every queued call has settled (closing the connection without
  // QUIT). Idempotent.
  close() {
    const run = this.#queue.then(() => this.#free());
    this.#queue = run;
    return run;
  }

  #free() {
    if (this.#handle) {
      C.smtp_client_free(this.#handle);
      this.#handle = null;
    }
    if (this.#debugCallback) {
      koffi.unregister(this.#debugCallback);
      this.#debugCallback = null;
    }
  }
}

function readRecipients(h) {
  const out = [];
  const n = Number(C.smtp_client_recipient_count(h));
  for (let i = 0; i < n; i++) {
    const address = [null]; const rcptCode = [0]; const dataCode = [0]; const text = [null];
    if (C.smtp_client_recipient_get(h, i, address, rcptCode, dataCode, text) !== Result.OK) continue;
    const r = {
      address: address[0], rcptCode: rcptCode[0], dataCode: dataCode[0], text: text[0],
      enhancedStatus: enhancedStatus((c, s, d) => C.smtp_client_recipient_enhanced_status(h, i, c, s, d)),
    };
    // Whether the server took the message for this recipient: the after-data reply when
    // there is one (LMTP), else the RCPT reply.
    r.accepted = r.dataCode ? Math.floor(r.dataCode / 100) === 2 : r.rcptCode === 250 || r.rcptCode === 251;
    out.push(r);
  }
  return out;
}

function toBuffer(message) {
  if (Buffer.isBuffer(message)) return message;
  if (typeof message === 'string') return Buffer.from(message, 'utf8');
  throw new TypeError('message must be a string or a Buffer');
}

// The body of sendmailStream() as an async iterator of chunks.
function toAsyncIterator(body) {
  if (typeof body === 'string' || Buffer.isBuffer(body) || body instanceof Uint8Array) {
    return (async function* one() { yield body; }());
  }
  if (body && typeof body[Symbol.asyncIterator] === 'function') return body[Symbol.asyncIterator]();
  if (body && typeof body[Symbol.iterator] === 'function') return body[Symbol.iterator]();
  throw new TypeError('body must be a Readable, an (async) iterable of Buffers or strings, a Buffer or a string');
}

const WAITING = 1;
const READY = 2;
const END = 3;
const ABORT = 4;

// Runs smtp_client_sendmail_stream() on a worker thread (stream-worker.js) and answers its
// reads from `chunks` on this thread. Resolves with the result code; onError gets the error
// that made a read abort (the body's, or a chunk of the wrong type).
function streamOnWorker(session, from, to, options, chunks, onError) {
  const control = new Int32Array(new SharedArrayBuffer(8));
  const data = new Uint8Array(new SharedArrayBuffer(STREAM_CHUNK));
  let pending = Buffer.alloc(0);
  let finished = false;
  const answer = (state, n = 0) => {
    control[1] = n;
    Atomics.store(control, 0, state);
    Atomics.notify(control, 0);
  };
  const next = async (capacity) => {
    try {
      while (pending.length === 0 && !finished) {
        const { value, done } = await chunks.next();
        if (done) {
          finished = true;
        } else if (typeof value === 'string') {
          pending = Buffer.from(value, 'utf8');
        } else if (value instanceof Uint8Array) {
          pending = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
        } else {
          throw new TypeError(`the body yielded ${typeof value}, not a Buffer or a string`);
        }
      }
      if (pending.length === 0) {
        answer(END);
        return;
      }
      const n = Math.min(capacity, pending.length);
      data.set(pending.subarray(0, n));
      pending = pending.subarray(n);
      answer(READY, n);
    } catch (e) {
      onError(e);
      finished = true;
      answer(ABORT);
    }
  };
  return new Promise((resolve, reject) => {
    const worker = new Worker(path.join(__dirname, 'stream-worker.js'), {
      workerData: { library: LIBRARY, session, from, to, options, control: control.buffer, data: data.buffer },
    });
    let rc = null;
    worker.on('message', (m) => {
      if (m.capacity !== undefined) next(m.capacity);
      else if (m.workerError !== undefined) onError(new Error(`sendmailStream worker: ${m.workerError}`));
      else if (m.rc !== undefined) rc = m.rc;
    });
    worker.on('error', reject);
    worker.on('exit', (code) => {
      // An aborted or finished body's source is released.
      if (!finished && typeof chunks.return === 'function') Promise.resolve(chunks.return()).catch(() => {});
      if (rc !== null) resolve(rc);
      else reject(new Error(`sendmailStream worker ended (exit code ${code}) without a result`));
    });
  });
}

// Milliseconds for a uint32_t: an integer from 0 (none) to 2^32 - 1.
function milliseconds(name, ms) {
  if (!Number.isInteger(ms) || ms < 0 || ms > 0xffffffff) {
    throw new RangeError(`${name} must be an integer number of milliseconds from 0 to 4294967295, not ${ms}`);
  }
  return ms;
}

// The send options checked before anything is queued: strings (cString) and names; the C
// object is built by sendOptions.
function checkOptions({ mailOptions = [], rcptOptions = [], dsn = null, requireTls = false }) {
  mailOptions.forEach((o, i) => cString(`mailOptions[${i}]`, o));
  rcptOptions.forEach((o, i) => cString(`rcptOptions[${i}]`, o));
  const checked = { mailOptions, rcptOptions, requireTls: Boolean(requireTls), dsn: null };
  if (dsn) {
    const d = { ret: 0, envid: null, notify: [], orcpt: [], policy: null };
    if (dsn.ret !== undefined && dsn.ret !== null) {
      d.ret = DSN_RETS[dsn.ret];
      if (d.ret === undefined) throw new RangeError(`unknown dsn.ret '${dsn.ret}' (full, hdrs)`);
    }
    if (dsn.envid !== undefined && dsn.envid !== null) d.envid = cString('dsn.envid', dsn.envid);
    for (const [recipient, flags] of Object.entries(dsn.notify ?? {})) {
      let mask = 0;
      for (const flag of [flags].flat()) {
        const bit = DSN_NOTIFY[flag];
        if (bit === undefined) throw new RangeError(`unknown dsn.notify flag '${flag}' (${Object.keys(DSN_NOTIFY).join(', ')})`);
        mask |= bit;
      }
      d.notify.push([cString('dsn.notify recipient', recipient), mask]);
    }
    for (const [recipient, original] of Object.entries(dsn.orcpt ?? {})) {
      d.orcpt.push([cString('dsn.orcpt recipient', recipient), cString(`dsn.orcpt['${recipient}']`, original)]);
    }
    if (dsn.policy !== undefined && dsn.policy !== null) {
      d.policy = DSN_POLICIES[dsn.policy];
      if (d.policy === undefined) throw new RangeError(`unknown dsn.policy '${dsn.policy}' (require, optional)`);
    }
    checked.dsn = d;
  }
  return checked;
}

// The C options object for a send (options checked by checkOptions), null when there are
// none; freed by freeOptions.
function sendOptions({ mailOptions, rcptOptions, sizeEstimate = null, dsn, requireTls }) {
  if (mailOptions.length === 0 && rcptOptions.length === 0 && sizeEstimate === null && dsn === null && !requireTls) return null;
  const options = C.smtp_send_options_new();
  const check = (name, rc) => {
    if (rc !== Result.OK) {
      const Class = errorClassFor(rc);
      throw new Class(rc, `${name}: ${C.smtp_result_str(rc)}`);
    }
  };
  const add = (name, values, fn) => values.forEach((value, i) => check(`${name}[${i}]`, fn(options, value)));
  try {
    add('mailOptions', mailOptions, C.smtp_send_options_add_mail_option);
    add('rcptOptions', rcptOptions, C.smtp_send_options_add_rcpt_option);
    if (sizeEstimate !== null) check('sizeEstimate', C.smtp_send_options_set_size_estimate(options, sizeEstimate));
    if (dsn !== null) {
      if (dsn.ret !== 0) check('dsn.ret', C.smtp_send_options_set_dsn_ret(options, dsn.ret));
      if (dsn.envid !== null) check('dsn.envid', C.smtp_send_options_set_dsn_envid(options, dsn.envid));
      for (const [recipient, mask] of dsn.notify) {
        check(`dsn.notify['${recipient}']`, C.smtp_send_options_set_dsn_notify(options, recipient, mask));
      }
      for (const [recipient, original] of dsn.orcpt) {
        check(`dsn.orcpt['${recipient}']`, C.smtp_send_options_set_dsn_orcpt(options, recipient, original));
      }
      if (dsn.policy !== null) check('dsn.policy', C.smtp_send_options_set_dsn_policy(options, dsn.policy));
    }
    if (requireTls) check('requireTls', C.smtp_send_options_set_requiretls(options, true));
  } catch (e) {
    C.smtp_send_options_free(options);
    throw e;
  }
  return options;
}

function freeOptions(options) {
  if (options) C.smtp_send_options_free(options);
}

module.exports = {
  Session, Result, EnhancedStatus, NO_INITIAL_RESPONSE, ABI_VERSION_NUMBER, ERROR_CLASSES, errorClassFor,
  SmtpError, ServerDisconnectedError, DeliveryUnknownError, NotSupportedError, TlsRequiredError,
  ResponseError, SenderRefusedError, DataError, ConnectError, HeloError, AuthenticationError,
  RecipientsRefusedError, IoError, TimeoutError, TlsError, TlsCertificateError, UsageError,
  libraryVersion: () => C.smtp_lib_version(),
  libraryVersionNumber: () => C.smtp_lib_version_number(),
  koffiVersion: koffi.version,
};
