//! Result codes: the one mapping from core error kinds to stable C numbers, and their names,
//! descriptions and is-a hierarchy (smtplib's exception classes).

use std::ffi::c_char;

use super::handle::Refusal;
use super::unwind::plain_call;
use crate::error::{Error, ErrorKind};

/// The result of every fallible function: `SMTP_RESULT_OK` (0) or an error code.
///
/// The numbers are ABI and never change or get reused. They are grouped: 100s mirror smtplib's
/// exception classes, 200s operating-system errors, 300s TLS, 400s usage errors, 900s internal
/// errors. `smtp_result_is_a()` answers "is this error a kind of that one", following
/// smtplib's class hierarchy (e.g. `SENDER_REFUSED` is-a `RESPONSE_ERROR` is-a `SMTP_ERROR`).
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum smtp_result {
    /// Success.
    Ok = 0,
    /// Not an error: the non-blocking operation is under way (`smtp_client_start_*()`,
    /// `smtp_client_step()`); wait for `smtp_client_events()` and step again.
    InProgress = 1,
    /// `SMTPException`: an SMTP failure with no more specific class (base of the 100s).
    SmtpError = 100,
    /// `SMTPServerDisconnected`: not connected, or the connection was lost or closed by the
    /// server (including after a 421 reply). The session is closed.
    ServerDisconnected = 101,
    /// `SMTPNotSupportedError`: the server does not support what was asked (e.g. SMTPUTF8).
    NotSupported = 102,
    /// `SMTPResponseException`: the server answered with an unexpected reply.
    ResponseError = 103,
    /// `SMTPSenderRefused`: MAIL FROM was refused; the sender and reply are kept.
    SenderRefused = 104,
    /// `SMTPRecipientsRefused`: every recipient was refused (see the refused list).
    RecipientsRefused = 105,
    /// `SMTPDataError`: the server refused the message data.
    DataError = 106,
    /// `SMTPConnectError`: the server's greeting was not 220.
    ConnectError = 107,
    /// `SMTPHeloError`: the server refused HELO / EHLO / LHLO.
    HeloError = 108,
    /// `SMTPAuthenticationError`: the server refused the credentials.
    AuthenticationError = 109,
    /// The connection was lost after the end of the message and before the server's reply:
    /// the message may or may not have been delivered. Is-a `SERVER_DISCONNECTED`.
    DeliveryUnknown = 110,
    /// The server broke the protocol (malformed or oversized reply, unexpected bytes). The
    /// session is closed.
    ProtocolError = 111,
    /// The message exceeds the server's advertised SIZE limit; nothing was sent.
    MessageTooLarge = 112,
    /// Credentials were not sent: the connection is not protected by TLS (see the credential
    /// policy setters). Nothing secret left the process. Is-a `SMTP_ERROR`.
    CredentialsPolicy = 113,
    /// TLS was required but is not available: STARTTLS not offered or refused, or the server
    /// fell back to HELO. Nothing but QUIT was sent. Is-a `NOT_SUPPORTED`.
    TlsRequired = 114,
    /// An operating-system error: name resolution, connect, read or write (base of the
    /// 200s; the more specific codes below are kinds of it). Session closed.
    IoError = 200,
    /// A deadline expired. Is-a `IO_ERROR`. Session closed.
    Timeout = 201,
    /// The host name could not be resolved (no such name, no address, or the resolver
    /// failed). Is-a `IO_ERROR`.
    NameResolution = 202,
    /// The connection was refused: nothing listens on that port or Unix socket. Is-a `IO_ERROR`.
    ConnectionRefused = 203,
    /// No route to the host or its network. Is-a `IO_ERROR`.
    HostUnreachable = 204,
    /// The TLS handshake failed (protocol version, cipher, alert, not TLS). Session closed.
    TlsError = 300,
    /// The server's certificate failed verification (untrusted chain, expired, wrong host
    /// name). Nothing was sent over the connection after the handshake. Is-a `TLS_ERROR`.
    TlsCertificate = 301,
    /// TLS failed after the handshake: a record that does not authenticate (bad MAC), plain
    /// text injected into the TLS stream, a fatal alert. Session closed. Is-a `TLS_ERROR`.
    TlsRecord = 302,
    /// An argument was refused before anything was sent (smtplib's `ValueError`), e.g. CR or
    /// LF in an address, or an index out of range.
    InvalidArgument = 400,
    /// A required pointer argument was NULL. Is-a `INVALID_ARGUMENT`.
    NullArgument = 401,
    /// A string argument was not valid UTF-8. Is-a `INVALID_ARGUMENT`.
    InvalidUtf8 = 402,
    /// The call is not valid in the session's state (e.g. connect while connected).
    BadState = 403,
    /// The handle is not a live `smtp_client` (freed or foreign; best-effort detection).
    BadHandle = 404,
    /// A session function was called from inside one of that session's callbacks.
    ReentrantCall = 405,
    /// A callback asked to abort; `smtp_client_last_callback_value()` gives its value.
    CallbackAborted = 406,
    /// Another thread is inside a call on this session right now (a mutating call, or a
    /// getter while this is a mutating call). Nothing was done: one thread at a time may make
    /// mutating calls on a session.
    ConcurrentCall = 407,
    /// An internal error (a bug): the library caught a panic. The session is unusable
    /// afterwards and every later call on it returns this code.
    Panic = 900,
}

/// Every code, for the lookup functions and tests.
pub(crate) const ALL: [smtp_result; 34] = [
    smtp_result::Ok,
    smtp_result::InProgress,
    smtp_result::SmtpError,
    smtp_result::ServerDisconnected,
    smtp_result::NotSupported,
    smtp_result::ResponseError,
    smtp_result::SenderRefused,
    smtp_result::RecipientsRefused,
    smtp_result::DataError,
    smtp_result::ConnectError,
    smtp_result::HeloError,
    smtp_result::AuthenticationError,
    smtp_result::DeliveryUnknown,
    smtp_result::ProtocolError,
    smtp_result::MessageTooLarge,
    smtp_result::CredentialsPolicy,
    smtp_result::TlsRequired,
    smtp_result::IoError,
    smtp_result::Timeout,
    smtp_result::NameResolution,
    smtp_result::ConnectionRefused,
    smtp_result::HostUnreachable,
    smtp_result::TlsError,
    smtp_result::TlsCertificate,
    smtp_result::TlsRecord,
    smtp_result::InvalidArgument,
    smtp_result::NullArgument,
    smtp_result::InvalidUtf8,
    smtp_result::BadState,
    smtp_result::BadHandle,
    smtp_result::ReentrantCall,
    smtp_result::CallbackAborted,
    smtp_result::ConcurrentCall,
    smtp_result::Panic,
];

impl smtp_result {
    /// The code for a C integer, if it is one we define.
    pub(crate) fn from_i32(code: i32) -> Option<smtp_result> {
        ALL.iter().copied().find(|r| *r as i32 == code)
    }

    /// The class this code is a direct kind of (smtplib's base class), if any.
    pub(crate) fn parent(self) -> Option<smtp_result> {
        use smtp_result::*;
        match self {
            ServerDisconnected | NotSupported | ResponseError | RecipientsRefused | ProtocolError | MessageTooLarge
            | CredentialsPolicy => Some(SmtpError),
            TlsRequired => Some(NotSupported),
            TlsCertificate | TlsRecord => Some(TlsError),
            DeliveryUnknown => Some(ServerDisconnected),
            SenderRefused | DataError | ConnectError | HeloError | AuthenticationError => Some(ResponseError),
            Timeout | NameResolution | ConnectionRefused | HostUnreachable => Some(IoError),
            NullArgument | InvalidUtf8 => Some(InvalidArgument),
            _ => None,
        }
    }

    /// `(name, description)`, both static and NUL-terminated.
    pub(crate) fn strings(self) -> (&'static [u8], &'static [u8]) {
        use smtp_result::*;
        match self {
            Ok => (b"SMTP_RESULT_OK\0", b"success\0"),
            InProgress => (
                b"SMTP_RESULT_IN_PROGRESS\0",
                b"the operation is in progress: wait for its events and call smtp_client_step()\0",
            ),
            SmtpError => (b"SMTP_RESULT_SMTP_ERROR\0", b"SMTP error (SMTPException)\0"),
            ServerDisconnected => (
                b"SMTP_RESULT_SERVER_DISCONNECTED\0",
                b"not connected, or the server closed the connection (SMTPServerDisconnected)\0",
            ),
            NotSupported => (b"SMTP_RESULT_NOT_SUPPORTED\0", b"not supported by the server (SMTPNotSupportedError)\0"),
            ResponseError => (b"SMTP_RESULT_RESPONSE_ERROR\0", b"unexpected server reply (SMTPResponseException)\0"),
            SenderRefused => (b"SMTP_RESULT_SENDER_REFUSED\0", b"sender address refused (SMTPSenderRefused)\0"),
            RecipientsRefused => {
                (b"SMTP_RESULT_RECIPIENTS_REFUSED\0", b"all recipients refused (SMTPRecipientsRefused)\0")
            }
            DataError => (b"SMTP_RESULT_DATA_ERROR\0", b"message data refused (SMTPDataError)\0"),
            ConnectError => (b"SMTP_RESULT_CONNECT_ERROR\0", b"server greeting was not 220 (SMTPConnectError)\0"),
            HeloError => (b"SMTP_RESULT_HELO_ERROR\0", b"server refused HELO/EHLO/LHLO (SMTPHeloError)\0"),
            AuthenticationError => {
                (b"SMTP_RESULT_AUTHENTICATION_ERROR\0", b"server refused the credentials (SMTPAuthenticationError)\0")
            }
            DeliveryUnknown => (
                b"SMTP_RESULT_DELIVERY_UNKNOWN\0",
                b"connection lost after the end of the message, before the reply: delivery unknown\0",
            ),
            ProtocolError => (
                b"SMTP_RESULT_PROTOCOL_ERROR\0",
                b"the server broke the SMTP protocol (malformed or oversized reply)\0",
            ),
            MessageTooLarge => (b"SMTP_RESULT_MESSAGE_TOO_LARGE\0", b"message larger than the server's SIZE limit\0"),
            CredentialsPolicy => {
                (b"SMTP_RESULT_CREDENTIALS_POLICY\0", b"credentials not sent: the connection is not protected by TLS\0")
            }
            TlsRequired => {
                (b"SMTP_RESULT_TLS_REQUIRED\0", b"TLS required but not available (STARTTLS missing or refused)\0")
            }
            TlsError => (b"SMTP_RESULT_TLS_ERROR\0", b"TLS handshake failed\0"),
            TlsCertificate => (
                b"SMTP_RESULT_TLS_CERTIFICATE\0",
                b"the server's certificate failed verification (chain, expiry or host name)\0",
            ),
            TlsRecord => (
                b"SMTP_RESULT_TLS_RECORD\0",
                b"TLS failed after the handshake (bad record MAC, plain text injected, fatal alert)\0",
            ),
            IoError => (b"SMTP_RESULT_IO_ERROR\0", b"operating-system error (resolve, connect, read or write)\0"),
            Timeout => (b"SMTP_RESULT_TIMEOUT\0", b"timed out\0"),
            NameResolution => (b"SMTP_RESULT_NAME_RESOLUTION\0", b"the host name could not be resolved\0"),
            ConnectionRefused => (b"SMTP_RESULT_CONNECTION_REFUSED\0", b"connection refused\0"),
            HostUnreachable => (b"SMTP_RESULT_HOST_UNREACHABLE\0", b"no route to the host or its network\0"),
            InvalidArgument => (b"SMTP_RESULT_INVALID_ARGUMENT\0", b"invalid argument (ValueError)\0"),
            NullArgument => (b"SMTP_RESULT_NULL_ARGUMENT\0", b"a required pointer argument was NULL\0"),
            InvalidUtf8 => (b"SMTP_RESULT_INVALID_UTF8\0", b"a string argument is not valid UTF-8\0"),
            BadState => (b"SMTP_RESULT_BAD_STATE\0", b"not valid in the session's current state\0"),
            BadHandle => (b"SMTP_RESULT_BAD_HANDLE\0", b"not a live smtp_client handle\0"),
            ReentrantCall => {
                (b"SMTP_RESULT_REENTRANT_CALL\0", b"session function called from inside its own callback\0")
            }
            CallbackAborted => (b"SMTP_RESULT_CALLBACK_ABORTED\0", b"a callback asked to abort\0"),
            ConcurrentCall => {
                (b"SMTP_RESULT_CONCURRENT_CALL\0", b"another thread is using this session at the same time\0")
            }
            Panic => (b"SMTP_RESULT_PANIC\0", b"internal error (a bug in libsmtpclient)\0"),
        }
    }
}

/// A failure at the C layer: a core error, or a usage error the core never sees.
pub(crate) enum Failure {
    Core(Error),
    Usage(smtp_result, String),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Core(e)
    }
}

pub(crate) type CResult<T> = Result<T, Failure>;

/// The code of a handle that could not be entered.
pub(crate) fn refusal_code(refusal: Refusal) -> smtp_result {
    match refusal {
        Refusal::Null => smtp_result::NullArgument,
        Refusal::NotAHandle => smtp_result::BadHandle,
        Refusal::Reentrant => smtp_result::ReentrantCall,
        Refusal::Concurrent => smtp_result::ConcurrentCall,
    }
}

/// The one mapping from core error kinds to result codes.
pub(crate) fn code_of(kind: ErrorKind) -> smtp_result {
    match kind {
        ErrorKind::Smtp => smtp_result::SmtpError,
        ErrorKind::ServerDisconnected => smtp_result::ServerDisconnected,
        ErrorKind::DeliveryUnknown => smtp_result::DeliveryUnknown,
        ErrorKind::NotSupported => smtp_result::NotSupported,
        ErrorKind::Response => smtp_result::ResponseError,
        ErrorKind::SenderRefused => smtp_result::SenderRefused,
        ErrorKind::RecipientsRefused => smtp_result::RecipientsRefused,
        ErrorKind::Data => smtp_result::DataError,
        ErrorKind::Connect => smtp_result::ConnectError,
        ErrorKind::Helo => smtp_result::HeloError,
        ErrorKind::Authentication => smtp_result::AuthenticationError,
        ErrorKind::MessageTooLarge => smtp_result::MessageTooLarge,
        ErrorKind::Protocol => smtp_result::ProtocolError,
        ErrorKind::CredentialsPolicy => smtp_result::CredentialsPolicy,
        ErrorKind::TlsRequired => smtp_result::TlsRequired,
        ErrorKind::Tls => smtp_result::TlsError,
        ErrorKind::TlsCertificate => smtp_result::TlsCertificate,
        ErrorKind::TlsRecord => smtp_result::TlsRecord,
        ErrorKind::Timeout => smtp_result::Timeout,
        ErrorKind::Io => smtp_result::IoError,
        ErrorKind::NameResolution => smtp_result::NameResolution,
        ErrorKind::ConnectionRefused => smtp_result::ConnectionRefused,
        ErrorKind::HostUnreachable => smtp_result::HostUnreachable,
        ErrorKind::InvalidArgument => smtp_result::InvalidArgument,
        ErrorKind::BadState => smtp_result::BadState,
        ErrorKind::CallbackAborted => smtp_result::CallbackAborted,
    }
}

/// A static, NUL-terminated English description of `code` (never NULL; "unknown result
/// code" for a value this library does not define). Thread-safe.
#[no_mangle]
pub extern "C" fn smtp_result_str(code: i32) -> *const c_char {
    plain_call(c"unknown result code".as_ptr(), || {
        let text: &'static [u8] = smtp_result::from_i32(code).map_or(b"unknown result code\0", |r| r.strings().1);
        text.as_ptr().cast()
    })
}

/// The constant's name for `code`, e.g. "SMTP_RESULT_SENDER_REFUSED" (static, never NULL;
/// "SMTP_RESULT_UNKNOWN" for a value this library does not define). Thread-safe.
#[no_mangle]
pub extern "C" fn smtp_result_name(code: i32) -> *const c_char {
    plain_call(c"SMTP_RESULT_UNKNOWN".as_ptr(), || {
        let text: &'static [u8] = smtp_result::from_i32(code).map_or(b"SMTP_RESULT_UNKNOWN\0", |r| r.strings().0);
        text.as_ptr().cast()
    })
}

/// Whether `code` is `base` or a kind of it, following smtplib's exception hierarchy:
/// e.g. `smtp_result_is_a(SMTP_RESULT_SENDER_REFUSED, SMTP_RESULT_RESPONSE_ERROR)` and
/// `smtp_result_is_a(SMTP_RESULT_SENDER_REFUSED, SMTP_RESULT_SMTP_ERROR)` are true. False for
/// unknown codes and for `SMTP_RESULT_OK` against any error. Thread-safe.
#[no_mangle]
pub extern "C" fn smtp_result_is_a(code: i32, base: i32) -> bool {
    plain_call(false, || {
        let mut cur = smtp_result::from_i32(code);
        while let Some(c) = cur {
            if c as i32 == base {
                return true;
            }
            cur = c.parent();
        }
        false
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn strings_and_hierarchy() {
        for r in ALL {
            let name = unsafe { CStr::from_ptr(smtp_result_name(r as i32)) }.to_str().unwrap();
            assert!(name.starts_with("SMTP_RESULT_"));
            let (n, d) = r.strings();
            assert_eq!(n.last(), Some(&0));
            assert_eq!(d.last(), Some(&0));
            assert!(smtp_result_is_a(r as i32, r as i32));
        }
        let unknown = unsafe { CStr::from_ptr(smtp_result_str(12345)) };
        assert_eq!(unknown.to_str().unwrap(), "unknown result code");
        use smtp_result::*;
        assert!(smtp_result_is_a(SenderRefused as i32, ResponseError as i32));
        assert!(smtp_result_is_a(SenderRefused as i32, SmtpError as i32));
        assert!(smtp_result_is_a(DeliveryUnknown as i32, ServerDisconnected as i32));
        assert!(!smtp_result_is_a(RecipientsRefused as i32, ResponseError as i32));
        assert!(!smtp_result_is_a(Ok as i32, SmtpError as i32));
        assert!(!smtp_result_is_a(Timeout as i32, SmtpError as i32));
        assert!(smtp_result_is_a(TlsRequired as i32, NotSupported as i32));
        assert!(smtp_result_is_a(TlsCertificate as i32, TlsError as i32));
        assert!(smtp_result_is_a(TlsRecord as i32, TlsError as i32));
        assert!(!smtp_result_is_a(TlsRecord as i32, IoError as i32));
        for r in [NameResolution, ConnectionRefused, HostUnreachable] {
            assert!(smtp_result_is_a(r as i32, IoError as i32));
            assert!(!smtp_result_is_a(r as i32, Timeout as i32));
        }
        assert!(!smtp_result_is_a(999, 999));
        let mut names: Vec<_> = ALL.iter().map(|r| *r as i32).collect();
        names.dedup();
        assert_eq!(names.len(), ALL.len());
    }
}
