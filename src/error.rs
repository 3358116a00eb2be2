//! The core error type. Its kinds mirror smtplib's exception taxonomy; the C layer maps each
//! kind to one stable result code (`capi::result`), and nowhere else decides that mapping.

use std::fmt;
use std::io;

use crate::reply::Reply;

/// Which smtplib exception (or OS / usage error) an [`Error`] corresponds to.
///
/// The hierarchy is smtplib's: every kind from `ServerDisconnected` to `Protocol` is an
/// `SMTPException`; `SenderRefused` … `Authentication` are also `SMTPResponseException`s
/// (they carry a server reply).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// `SMTPException` itself: a failure with no more specific class (e.g. no usable AUTH mechanism).
    Smtp,
    /// `SMTPServerDisconnected`: the connection is closed or was lost; the session is closed.
    ServerDisconnected,
    /// The connection was lost after the final `.` (or `BDAT LAST`) and before its reply: the
    /// server may or may not have taken the message. Is-a `ServerDisconnected`.
    DeliveryUnknown,
    /// `SMTPNotSupportedError`: the command or option is not supported by the server.
    NotSupported,
    /// `SMTPResponseException`: an unexpected reply, carried in the error.
    Response,
    /// `SMTPSenderRefused`: MAIL FROM was refused; the sender is kept.
    SenderRefused,
    /// `SMTPRecipientsRefused`: every recipient was refused.
    RecipientsRefused,
    /// `SMTPDataError`: the server refused the message data.
    Data,
    /// `SMTPConnectError`: the greeting was not 220.
    Connect,
    /// `SMTPHeloError`: HELO / EHLO / LHLO was refused.
    Helo,
    /// `SMTPAuthenticationError`: the server refused the credentials.
    Authentication,
    /// The message is larger than the SIZE limit the server advertised; nothing was sent
    /// (RFC 1870). Is-a `SMTPException`.
    MessageTooLarge,
    /// The library refused to send credentials over a connection that is not protected by
    /// TLS (and not to a loopback or Unix-socket peer, unless that exemption is off).
    /// Nothing secret was sent. Is-a `SMTPException`.
    CredentialsPolicy,
    /// TLS was required (policy or SMTPS) but the server does not offer it, refused STARTTLS,
    /// or fell back to HELO. Nothing but QUIT was sent. Is-a `SMTPNotSupportedError`.
    TlsRequired,
    /// The TLS handshake failed (protocol version, cipher, alert, or bytes that are not TLS).
    Tls,
    /// The server's certificate failed verification (chain, expiry, or host name).
    TlsCertificate,
    /// TLS failed after the handshake: a record that does not authenticate (bad MAC), plain
    /// text injected into the TLS stream, a fatal alert. The session is closed. Is-a `Tls`.
    TlsRecord,
    /// The server broke the protocol: a malformed reply, a reply over the size limits,
    /// unexpected bytes. The session is closed. Is-a `SMTPException`.
    Protocol,
    /// A deadline expired (connect, read or write). The session is closed.
    Timeout,
    /// An operating-system error (connect, read, write) with no more specific kind below.
    /// The session is closed.
    Io,
    /// The host name could not be resolved (no such name, no address, or the resolver
    /// failed). Is-a `Io`.
    NameResolution,
    /// The peer refused the connection: nothing listens on that port or Unix socket
    /// (`ECONNREFUSED`). Is-a `Io`.
    ConnectionRefused,
    /// No route to the host or its network (`EHOSTUNREACH`, `ENETUNREACH`). Is-a `Io`.
    HostUnreachable,
    /// A caller argument was refused before anything was sent (smtplib's `ValueError`).
    InvalidArgument,
    /// The call is not valid in the session's current state (e.g. not connected).
    BadState,
    /// A caller callback asked to abort; its value is kept on the error.
    CallbackAborted,
}

/// An error from the SMTP core: a kind, a human message, and the server reply when there was one.
#[derive(Debug, Clone)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    reply: Option<Reply>,
    sender: Option<String>,
    callback_value: i32,
    os_error: Option<i32>,
}

/// Result alias for the core.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An error of `kind` with a human message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error { kind, message: message.into(), reply: None, sender: None, callback_value: 0, os_error: None }
    }

    /// An error carrying the server reply that caused it; the message is the reply itself.
    pub fn with_reply(kind: ErrorKind, reply: Reply) -> Self {
        let message = format!("{} {}", reply.code(), reply.text());
        Error { kind, message, reply: Some(reply), sender: None, callback_value: 0, os_error: None }
    }

    /// An error of `kind` carrying `reply`, with its own message.
    pub fn with_reply_message(kind: ErrorKind, reply: Reply, message: impl Into<String>) -> Self {
        Error { kind, message: message.into(), reply: Some(reply), sender: None, callback_value: 0, os_error: None }
    }

    /// `SMTPSenderRefused`: keeps the refused sender beside the reply.
    pub fn sender_refused(reply: Reply, sender: &str) -> Self {
        let mut e = Error::with_reply(ErrorKind::SenderRefused, reply);
        e.sender = Some(sender.to_owned());
        e
    }

    /// A caller callback aborted with `value`.
    pub fn callback_aborted(value: i32, what: &str) -> Self {
        let mut e = Error::new(ErrorKind::CallbackAborted, format!("{what} callback aborted with {value}"));
        e.callback_value = value;
        e
    }

    /// Shorthand for [`ErrorKind::InvalidArgument`].
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::InvalidArgument, message)
    }

    /// Shorthand for [`ErrorKind::Protocol`].
    pub fn protocol(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Protocol, message)
    }

    /// Shorthand for [`ErrorKind::BadState`].
    pub fn bad_state(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::BadState, message)
    }

    /// Shorthand for [`ErrorKind::ServerDisconnected`].
    pub fn disconnected(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::ServerDisconnected, message)
    }

    /// An I/O error during `doing`, classified: timeouts are [`ErrorKind::Timeout`], a peer
    /// closing or resetting the connection is [`ErrorKind::ServerDisconnected`], a refused
    /// connection [`ErrorKind::ConnectionRefused`], an unreachable host or network
    /// [`ErrorKind::HostUnreachable`]. The OS error number is kept ([`Error::os_error`]).
    pub fn from_io(err: &io::Error, doing: &str) -> Self {
        let kind = match (err.kind(), err.raw_os_error()) {
            (io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut, _) => ErrorKind::Timeout,
            (_, Some(libc::ECONNREFUSED)) => ErrorKind::ConnectionRefused,
            (_, Some(libc::EHOSTUNREACH | libc::ENETUNREACH)) => ErrorKind::HostUnreachable,
            (
                io::ErrorKind::UnexpectedEof
                | io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::BrokenPipe,
                _,
            ) => ErrorKind::ServerDisconnected,
            _ => ErrorKind::Io,
        };
        let what = if kind == ErrorKind::Timeout { "timed out".to_owned() } else { err.to_string() };
        let mut e = Error::new(kind, format!("{doing}: {what}"));
        e.os_error = err.raw_os_error();
        e
    }

    /// An [`ErrorKind::InvalidArgument`] about a file the caller named: the message names the
    /// file and the OS reason, and the OS error number is kept.
    pub fn invalid_file(what: &str, path: &std::path::Path, err: &io::Error) -> Self {
        let mut e = Error::invalid(format!("{what} {}: {err}", path.display()));
        e.os_error = err.raw_os_error();
        e
    }

    /// The same error with another message (kind, reply and OS error kept).
    pub(crate) fn reworded(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }

    /// The operating system's error number (`errno`) behind the error, when there was one:
    /// e.g. `ECONNREFUSED` for [`ErrorKind::ConnectionRefused`].
    pub fn os_error(&self) -> Option<i32> {
        self.os_error
    }

    /// The kind, i.e. which smtplib exception this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The human-readable message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The server reply that caused the error, if any.
    pub fn reply(&self) -> Option<&Reply> {
        self.reply.as_ref()
    }

    /// The refused sender, for [`ErrorKind::SenderRefused`].
    pub fn sender(&self) -> Option<&str> {
        self.sender.as_deref()
    }

    /// The value a callback returned when it aborted, for [`ErrorKind::CallbackAborted`].
    pub fn callback_value(&self) -> i32 {
        self.callback_value
    }

    /// Prefix the message with context, keeping everything else.
    pub fn context(mut self, what: &str) -> Self {
        self.message = format!("{what}: {}", self.message);
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}
