//! The sans-I/O protocol engine (see docs/engine.md): the SMTP / LMTP conversation as a state
//! machine that never touches a socket, a clock or a thread. It is fed the bytes the server
//! sent, asked for the bytes to send, and says by when it next needs to be woken; drivers
//! (the blocking `Session` today) move the bytes.
//!
//! - [`Conversation`]: the wire of one connection: queued output, received bytes framed into
//!   replies by the one reply parser, replies owed, deadlines;
//! - [`Greetings`]: the greeting, HELO / EHLO and the extensions, and what follows from them
//!   (MAIL / RCPT arguments, DATA or BDAT, SIZE);
//! - [`SaslExchange`]: one AUTH exchange, reply by reply, bounded and redacted;
//!   [`CredentialPolicy`]: when secrets may go out, and when login may try another mechanism;
//! - [`TlsPolicy`] and its decisions: which commands it guards, when STARTTLS is due, when the
//!   policy fails;
//! - [`Transaction`] and its helpers: the per-recipient results, the body framed for DATA or
//!   BDAT ([`BodyFramer`]), the replies to a pipelined envelope matched to their commands
//!   ([`EnvelopeReplies`]), LMTP's replies after the data ([`FinalReplies`]), the outcome
//!   ([`Verdict`]).

mod conversation;
mod credentials;
mod greetings;
mod sasl;
mod tls_policy;
mod transaction;

pub use conversation::Conversation;
pub use credentials::{mechanism_failed, naming_every_attempt, CredentialPolicy};
pub use greetings::Greetings;
pub use sasl::{SaslExchange, SaslLine, SaslNext, SaslStep};
pub use tls_policy::{carries_mail_or_credentials, policy_satisfied, policy_step, PolicyInputs, PolicyStep, TlsPolicy};
pub use transaction::{
    delivery_unknown, rcpt_421, refuse_nul, BodyFramer, EnvelopeReplies, EnvelopeStep, FinalReplies, RecipientStatus,
    Transaction, Transfer, Verdict,
};
