//! When credentials may go out, and what a failed login attempt says about the next one.

use crate::error::{Error, ErrorKind};
use crate::reply::Reply;

/// When the library may send credentials over a connection without TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CredentialPolicy {
    /// Send credentials without TLS to any peer (explicit, insecure opt-in). Default false.
    pub allow_cleartext: bool,
    /// Treat a loopback or Unix-socket peer as safe without TLS. Default true.
    pub local_peer_is_safe: bool,
}

impl Default for CredentialPolicy {
    fn default() -> Self {
        CredentialPolicy { allow_cleartext: false, local_peer_is_safe: true }
    }
}

impl CredentialPolicy {
    /// Whether secrets may go over a connection now: TLS with a verified peer (an unverified
    /// peer may be anyone), cleartext explicitly allowed, or a peer on this machine (loopback or
    /// Unix socket) while that exemption is on. `tls_verified` is `None` without TLS.
    pub fn permits(&self, tls_verified: Option<bool>, peer_is_local: bool) -> bool {
        tls_verified == Some(true) || self.allow_cleartext || (self.local_peer_is_safe && peer_is_local)
    }

    /// [`ErrorKind::CredentialsPolicy`] for `mechanism` on a connection the policy does not
    /// [`permit`](CredentialPolicy::permits), saying why.
    pub fn refusal(&self, mechanism: &str, tls_active: bool, peer_is_local: bool) -> Error {
        let why = if tls_active {
            "the TLS peer was not verified and the server is not on this machine"
        } else if peer_is_local {
            "the connection is not protected by TLS (the exemption for local peers is off)"
        } else {
            "the connection is not protected by TLS and the server is not on this machine"
        };
        Error::new(
            ErrorKind::CredentialsPolicy,
            format!(
                "{mechanism} credentials not sent: {why}; call starttls() first, or allow cleartext credentials explicitly"
            ),
        )
    }
}

/// Whether a failed exchange says the mechanism failed rather than the credentials: the
/// server does not offer or allow it (504, 534 too weak, 538 needs encryption; RFC 4954 §6),
/// or the exchange itself broke (a malformed or endless challenge, cancelled; no final reply).
/// A 535, or any other refusal, says the credentials were tried and refused: trying the same
/// password with another mechanism would only add a failure to the server's lockout counter.
pub fn mechanism_failed(e: &Error) -> bool {
    match e.reply().map(Reply::code) {
        None | Some(334 | 504 | 534 | 538) => true,
        Some(_) => false,
    }
}

/// The last attempt's error, its message naming every mechanism tried with what it got.
pub fn naming_every_attempt(last: Error, attempts: &[String]) -> Error {
    if attempts.len() < 2 {
        return last;
    }
    let message = attempts.join("; then ");
    match last.reply() {
        Some(r) => Error::with_reply_message(last.kind(), r.clone(), message),
        None => Error::new(last.kind(), message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_need_verified_tls_a_local_peer_or_an_explicit_opt_in() {
        let default = CredentialPolicy::default();
        assert!(default.permits(Some(true), false));
        assert!(!default.permits(Some(false), false));
        assert!(!default.permits(None, false));
        assert!(default.permits(None, true));
        let strict = CredentialPolicy { allow_cleartext: false, local_peer_is_safe: false };
        assert!(!strict.permits(None, true));
        let e = strict.refusal("PLAIN", false, true);
        assert_eq!(e.kind(), ErrorKind::CredentialsPolicy);
        assert!(e.message().contains("exemption for local peers is off"), "{e}");
        let open = CredentialPolicy { allow_cleartext: true, local_peer_is_safe: false };
        assert!(open.permits(None, false));
    }

    #[test]
    fn only_a_failed_mechanism_lets_login_try_the_next() {
        let failed = |code: u16| Error::with_reply(ErrorKind::Authentication, Reply::new(code, vec!["x".into()]));
        for code in [504, 534, 538, 334] {
            assert!(mechanism_failed(&failed(code)), "{code}");
        }
        assert!(!mechanism_failed(&failed(535)));
        assert!(!mechanism_failed(&failed(454)));
        assert!(mechanism_failed(&Error::new(ErrorKind::Authentication, "malformed challenge")));
        let last = failed(535);
        assert_eq!(naming_every_attempt(last.clone(), &["CRAM-MD5: 504".into()]).message(), last.message());
        let e = naming_every_attempt(last, &["CRAM-MD5: 504 x".into(), "PLAIN: 535 x".into()]);
        assert_eq!(e.message(), "CRAM-MD5: 504 x; then PLAIN: 535 x");
        assert_eq!(e.reply().map(Reply::code), Some(535));
    }
}
