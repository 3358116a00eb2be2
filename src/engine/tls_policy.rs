//! The TLS policy as decisions: which commands it guards, whether a connection satisfies it,
//! and what it asks of a greeted connection. The handshake itself is the I/O layer's.

/// When the session uses TLS on a plain SMTP or LMTP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsPolicy {
    /// Only when the caller calls `starttls` (smtplib's behaviour). The default.
    #[default]
    None,
    /// STARTTLS before the first transaction or login when the server offers it; plain text
    /// otherwise. Never the default: it can be stripped by an attacker.
    Opportunistic,
    /// STARTTLS before the first transaction or login, or fail with
    /// [`ErrorKind::TlsRequired`](crate::error::ErrorKind::TlsRequired) having sent nothing but QUIT.
    Required,
}

/// Commands whose arguments or payload are mail (envelope, addresses, the message) or
/// credentials: the TLS policy must be satisfied before any of them is written.
const PROTECTED_VERBS: [&str; 7] = ["MAIL", "RCPT", "DATA", "BDAT", "VRFY", "EXPN", "AUTH"];

/// Whether `line` starts with a command in `PROTECTED_VERBS` (any case; a verb alone counts).
pub fn carries_mail_or_credentials(line: &[u8]) -> bool {
    let verb_len = line.iter().position(|&b| matches!(b, b' ' | b'\r' | b'\n')).unwrap_or(line.len());
    let verb = &line[..verb_len];
    PROTECTED_VERBS.iter().any(|v| verb.eq_ignore_ascii_case(v.as_bytes()))
}

/// Whether a connection is as protected as `policy` asks: `tls_verified` is `None` without TLS,
/// else whether the peer was verified (an unverified peer counts only when verification is off).
pub fn policy_satisfied(policy: TlsPolicy, tls_verified: Option<bool>, insecure_skip_verify: bool) -> bool {
    match tls_verified {
        Some(verified) => verified || insecure_skip_verify,
        None => policy == TlsPolicy::None,
    }
}

/// What the policy asks of a greeted connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyStep {
    /// Nothing: go on as the connection is.
    Proceed,
    /// Run STARTTLS now (EHLO again after it).
    StartTls,
    /// TLS is required and the server does not offer STARTTLS: QUIT, close, `TlsRequired`.
    Unavailable,
    /// The connection's TLS peer was not verified and verification is now on: close,
    /// `TlsCertificate`.
    Unverified,
}

/// The server's side of a greeted connection, as the policy sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyInputs {
    /// `None` without TLS, else whether the peer was verified.
    pub tls_verified: Option<bool>,
    /// Verification is off (an explicit, insecure setting).
    pub insecure_skip_verify: bool,
    /// EHLO was accepted and advertised STARTTLS.
    pub offers_starttls: bool,
    /// The server refused STARTTLS earlier on this connection.
    pub starttls_refused: bool,
}

/// The step `policy` asks for on a greeted connection (after EHLO, or HELO, which cannot offer
/// STARTTLS); also when the caller greeted by hand, so the policy cannot be bypassed that way.
pub fn policy_step(policy: TlsPolicy, on: PolicyInputs) -> PolicyStep {
    if let Some(verified) = on.tls_verified {
        // verification may have been turned on after this connection's handshake skipped it
        return if verified || on.insecure_skip_verify { PolicyStep::Proceed } else { PolicyStep::Unverified };
    }
    match policy {
        TlsPolicy::None => PolicyStep::Proceed,
        TlsPolicy::Required if !on.offers_starttls => PolicyStep::Unavailable,
        TlsPolicy::Opportunistic if !on.offers_starttls || on.starttls_refused => PolicyStep::Proceed,
        _ => PolicyStep::StartTls,
    }
}

/// What was negotiated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsInfo {
    /// Protocol version, e.g. "TLSv1.3".
    pub version: String,
    /// Cipher suite name, e.g. "TLS_AES_256_GCM_SHA384".
    pub cipher: String,
    /// Whether the peer's certificate chain and name were verified.
    pub verified: bool,
    /// The connection's channel-binding data (RFC 5056), for SCRAM's `-PLUS` mechanisms:
    /// `tls-exporter` on TLS 1.3, `tls-server-end-point` before it; `None` when it cannot be
    /// had (a server certificate whose signature names no single hash, such as Ed25519).
    pub channel_binding: Option<ChannelBindingData>,
}

/// `tls-exporter` (RFC 9266): 32 bytes exported with the label `EXPORTER-Channel-Binding`
/// and an empty context. Defined for TLS 1.3 here (on TLS 1.2 it would need the extended
/// master secret, which this library does not check).
pub const TLS_EXPORTER: &str = "tls-exporter";

/// `tls-server-end-point` (RFC 5929 §4): the hash of the server's certificate, with the
/// certificate's signature hash (SHA-256 when that is MD5 or SHA-1).
pub const TLS_SERVER_END_POINT: &str = "tls-server-end-point";

/// Channel-binding data of one TLS connection, computed by the TLS layer after the
/// handshake. The bytes are zeroed when dropped and never shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct ChannelBindingData {
    /// The channel-binding type: [`TLS_EXPORTER`] or [`TLS_SERVER_END_POINT`].
    pub kind: &'static str,
    /// The channel-binding data.
    pub data: zeroize::Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for ChannelBindingData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ChannelBindingData({}, {} bytes)", self.kind, self.data.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protected_commands_are_recognised_by_their_verb() {
        for line in [&b"MAIL FROM:<a@b>\r\n"[..], b"rcpt TO:<a@b>\r\n", b"DATA\r\n", b"BDAT 10 LAST\r\n", b"VRFY x\r\n"]
        {
            assert!(carries_mail_or_credentials(line), "{:?}", String::from_utf8_lossy(line));
        }
        for line in [&b"AUTH PLAIN x\r\n"[..], b"EXPN list\r\n", b"MAIL"] {
            assert!(carries_mail_or_credentials(line));
        }
        for line in [&b"EHLO x\r\n"[..], b"STARTTLS\r\n", b"QUIT\r\n", b"NOOP\r\n", b"MAILX\r\n", b"RSET\r\n", b""] {
            assert!(!carries_mail_or_credentials(line), "{:?}", String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn satisfied_means_verified_tls_or_no_policy() {
        assert!(policy_satisfied(TlsPolicy::None, None, false));
        assert!(!policy_satisfied(TlsPolicy::Opportunistic, None, false));
        assert!(!policy_satisfied(TlsPolicy::Required, Some(false), false));
        assert!(policy_satisfied(TlsPolicy::Required, Some(false), true));
        assert!(policy_satisfied(TlsPolicy::Required, Some(true), false));
    }

    #[test]
    fn steps() {
        let plain = PolicyInputs {
            tls_verified: None,
            insecure_skip_verify: false,
            offers_starttls: true,
            starttls_refused: false,
        };
        assert_eq!(policy_step(TlsPolicy::None, plain), PolicyStep::Proceed);
        assert_eq!(policy_step(TlsPolicy::Opportunistic, plain), PolicyStep::StartTls);
        assert_eq!(policy_step(TlsPolicy::Required, plain), PolicyStep::StartTls);
        let not_offered = PolicyInputs { offers_starttls: false, ..plain };
        assert_eq!(policy_step(TlsPolicy::Opportunistic, not_offered), PolicyStep::Proceed);
        assert_eq!(policy_step(TlsPolicy::Required, not_offered), PolicyStep::Unavailable);
        // a refusal stops an opportunistic policy asking again, never a required one
        let refused = PolicyInputs { starttls_refused: true, ..plain };
        assert_eq!(policy_step(TlsPolicy::Opportunistic, refused), PolicyStep::Proceed);
        assert_eq!(policy_step(TlsPolicy::Required, refused), PolicyStep::StartTls);
        let unverified = PolicyInputs { tls_verified: Some(false), ..plain };
        assert_eq!(policy_step(TlsPolicy::None, unverified), PolicyStep::Unverified);
        assert_eq!(
            policy_step(TlsPolicy::None, PolicyInputs { insecure_skip_verify: true, ..unverified }),
            PolicyStep::Proceed
        );
        assert_eq!(
            policy_step(TlsPolicy::Required, PolicyInputs { tls_verified: Some(true), ..plain }),
            PolicyStep::Proceed
        );
    }
}
