//! TLS on a session: settings, implicit TLS, STARTTLS, and the TLS policy.

use super::{Client, SessionKind};
use crate::engine::{carries_mail_or_credentials, policy_satisfied, policy_step, PolicyInputs, PolicyStep};
use crate::engine::{TlsInfo, TlsPolicy};
use crate::error::{Error, ErrorKind, Result};

impl Client {
    /// Whether certificate verification is off in the driver's TLS settings (the policy
    /// accepts an unverified peer only then). Drivers set it before each operation.
    pub fn set_tls_verification_off(&mut self, off: bool) {
        self.tls_verification_off = off;
    }

    /// When STARTTLS is used without the caller asking (see [`TlsPolicy`]).
    pub fn set_tls_policy(&mut self, policy: TlsPolicy) {
        self.tls_policy = policy;
    }

    /// The session's TLS policy.
    pub fn tls_policy(&self) -> TlsPolicy {
        self.tls_policy
    }

    /// What TLS negotiated on the current connection; `None` without TLS, and once the
    /// connection is lost or closed.
    pub fn tls_info(&self) -> Option<&TlsInfo> {
        self.tls_info.as_ref()
    }

    /// Handshake on the open connection (by the driver, with its TLS settings); a failure
    /// closes it.
    pub(super) async fn handshake(&mut self) -> Result<()> {
        if self.link.has_unread_input() {
            self.close();
            return Err(Error::protocol("the server sent bytes before the TLS handshake (response injection)"));
        }
        let info = match self.link.handshake(self.connected_host.clone()).await {
            Ok(info) => info,
            Err(e) => {
                self.close();
                return Err(e);
            }
        };
        if self.debug_level > 0 {
            let note = format!(
                "TLS {} {} ({})",
                info.version,
                info.cipher,
                if info.verified { "peer verified" } else { "peer NOT verified" }
            );
            self.debug(super::DebugKind::Info, note.as_bytes());
        }
        self.tls_info = Some(info);
        Ok(())
    }

    /// Fail for a required TLS that is not available: QUIT (best effort), close, and the
    /// [`ErrorKind::TlsRequired`] error.
    pub(super) async fn tls_required(&mut self, why: &str) -> Error {
        self.tls_required_by(why, None).await
    }

    /// [`Client::tls_required`], keeping the server reply that refused TLS.
    async fn tls_required_by(&mut self, why: &str, reply: Option<crate::protocol::Reply>) -> Error {
        if self.is_connected() {
            let _ = Box::pin(self.docmd("QUIT", "")).await;
            self.close();
        }
        let message = format!("TLS is required but not available: {why}");
        match reply {
            Some(r) => Error::with_reply_message(ErrorKind::TlsRequired, r, message),
            None => Error::new(ErrorKind::TlsRequired, message),
        }
    }

    /// Apply the policy on a greeted connection without TLS (after EHLO, or HELO, which
    /// cannot offer STARTTLS).
    pub(super) async fn apply_tls_policy(&mut self) -> Result<()> {
        if self.tls_info.is_none() && !self.is_connected() {
            return Ok(());
        }
        let inputs = PolicyInputs {
            tls_verified: self.tls_info.as_ref().map(|t| t.verified),
            insecure_skip_verify: self.tls_verification_off,
            offers_starttls: self.greetings.does_esmtp() && self.has_extn("starttls"),
            starttls_refused: self.starttls_refused,
        };
        match policy_step(self.tls_policy, inputs) {
            PolicyStep::Proceed => return Ok(()),
            PolicyStep::Unverified => {
                self.close();
                return Err(Error::new(
                    ErrorKind::TlsCertificate,
                    "the connection's TLS peer was not verified, and verification is now required",
                ));
            }
            PolicyStep::Unavailable => return Err(self.tls_required("the server does not offer STARTTLS").await),
            PolicyStep::StartTls => {}
        }
        match self.starttls().await {
            // opportunistic: a refusal means plain text (RFC 3207 §4), not a failed call
            Err(e) if self.tls_policy == TlsPolicy::Opportunistic && self.starttls_refused && self.is_connected() => {
                let note = format!("STARTTLS refused ({e}): continuing without TLS");
                self.debug(super::DebugKind::Info, note.as_bytes());
                Ok(())
            }
            res => res,
        }
    }

    /// The one place the TLS policy guards what goes out: before a command that carries mail
    /// or credentials (see [`carries_mail_or_credentials`]) is written on a connection that
    /// does not yet satisfy the policy, greet if needed and apply the policy: STARTTLS, or
    /// (required TLS) fail having sent nothing but QUIT. Every command line is written through
    /// `send_command` or `command_secret`, which call this, so no method can bypass it.
    pub(super) async fn enforce_tls_policy_before(&mut self, line: &[u8]) -> Result<()> {
        if !carries_mail_or_credentials(line) || self.tls_policy_satisfied() {
            return Ok(());
        }
        self.ehlo_or_helo_if_needed().await
    }

    /// Whether the connection is as protected as the policy asks (an unverified TLS peer
    /// counts only when verification is off).
    fn tls_policy_satisfied(&self) -> bool {
        let tls_verified = self.tls_info.as_ref().map(|t| t.verified);
        policy_satisfied(self.tls_policy, tls_verified, self.tls_verification_off)
    }

    /// smtplib's `starttls()`: EHLO if needed, STARTTLS, the handshake with the session's TLS
    /// settings, then every capability is forgotten and EHLO is sent again over TLS.
    ///
    /// Errors: [`ErrorKind::NotSupported`] when STARTTLS is not offered and
    /// [`ErrorKind::Response`] when it is refused (with a [`TlsPolicy::Required`] policy both
    /// are [`ErrorKind::TlsRequired`], after QUIT); [`ErrorKind::Protocol`] when the server
    /// sent anything after its 220 before the handshake (response injection);
    /// [`ErrorKind::TlsCertificate`] / [`ErrorKind::Tls`] when the handshake fails. A refusal
    /// leaves the plain connection open (as smtplib); every failure after a 220 closes it.
    /// The refusal is remembered for the connection: with a [`TlsPolicy::Opportunistic`]
    /// policy, transactions and logins then go on in plain text without asking again.
    pub async fn starttls(&mut self) -> Result<()> {
        if self.kind == SessionKind::Smtps {
            return Err(Error::bad_state("STARTTLS is for plain sessions: an SMTPS session uses TLS from the start"));
        }
        if self.tls_info.is_some() {
            return Err(Error::bad_state("TLS is already active on this connection"));
        }
        if !self.greetings.greeted() {
            let reply = self.ehlo(None).await?;
            if !reply.is_positive() {
                if self.tls_policy == TlsPolicy::Required {
                    return Err(self.tls_required("the server refused EHLO").await);
                }
                return Err(Error::with_reply(ErrorKind::Helo, reply));
            }
        }
        if !self.has_extn("starttls") {
            if self.tls_policy == TlsPolicy::Required {
                return Err(self.tls_required("the server does not offer STARTTLS").await);
            }
            return Err(Error::new(ErrorKind::NotSupported, "STARTTLS extension not supported by server"));
        }
        let reply = self.command("STARTTLS", "").await?;
        if reply.code() != 220 {
            self.starttls_refused = true;
            if self.tls_policy == TlsPolicy::Required {
                let why = format!("the server refused STARTTLS: {} {}", reply.code(), reply.text());
                return Err(self.tls_required_by(&why, Some(reply)).await);
            }
            return Err(Error::with_reply(ErrorKind::Response, reply));
        }
        self.handshake().await?;
        self.forget_capabilities();
        let reply = self.ehlo(None).await?;
        if !reply.is_positive() {
            return Err(Error::with_reply(ErrorKind::Helo, reply));
        }
        Ok(())
    }
}
