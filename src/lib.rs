//! libsmtpclient: an SMTP, ESMTP and LMTP client with Python smtplib's semantics, shipped as a
//! C library.
//!
//! The crate is a pure-Rust core and a thin C layer:
//! - [`protocol`]: reply parsing, command-line construction and checks, EHLO features;
//! - [`transport`]: TCP and Unix-socket connections with deadlines and bounded reads;
//! - [`tls`]: TLS settings and the handshake, through the system's OpenSSL;
//! - [`message`]: DATA encoding (line endings, dot-stuffing) and the envelope of a message's headers;
//! - [`auth`]: SASL mechanisms for SMTP AUTH (PLAIN, LOGIN, CRAM-MD5, XOAUTH2, OAUTHBEARER) and redaction of secrets;
//! - [`engine`]: the protocol as a state machine that never touches a socket (docs/engine.md);
//! - [`blocking`]: the blocking driver over the engine (`Session`), one method per smtplib method,
//!   also reachable as `session`, the name the API has always used;
//! - [`nonblocking`]: the non-blocking driver (`Operation`), which event loops drive;
//! - [`sender`]: many messages to one server over pooled connections from one thread;
//! - `capi`: the `extern "C"` functions, each behind one panic and NULL guard.
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod auth;
pub mod blocking;
pub mod engine;
pub mod error;
pub mod message;
pub mod nonblocking;
pub mod protocol;
mod reply;
pub mod sender;
pub mod tls;
pub mod transport;

/// The C API as Rust items: the `extern "C"` functions the shared library exports, callable
/// from Rust (the tests use them; C users include smtpclient.h instead).
#[doc(hidden)]
pub mod capi;

pub use blocking::{RecipientStatus, Session, SessionKind};
pub use error::{Error, ErrorKind, Result};
pub use protocol::{Dsn, DsnPolicy, DsnRet, EnhancedStatus, Features, Notify, Reply, TransactionParams};

/// The blocking driver under the name the API has always used (`session::Session`).
pub use blocking as session;
