//! SMTP AUTH on a session (RFC 4954): smtplib's `login()` and `auth()`, bearer-token login
//! (XOAUTH2, OAUTHBEARER), and the credential policy.
//!
//! Rules beyond smtplib:
//! - **Credential policy.** No credential-bearing exchange (every mechanism except a caller's
//!   `EXTERNAL`) starts on a connection without TLS, unless the peer is loopback or a Unix
//!   socket (the `local_peer_is_safe` exemption, on by default) or the caller allowed cleartext
//!   credentials. The refusal ([`ErrorKind::CredentialsPolicy`]) comes before any `AUTH` byte.
//! - **No downgrade, no lockout.** `login()` moves on from a mechanism that failed to the next,
//!   weaker one (SCRAM-SHA-256-PLUS, SCRAM-SHA-256, SCRAM-SHA-1-PLUS, SCRAM-SHA-1, CRAM-MD5,
//!   PLAIN, LOGIN) only on a TLS connection whose peer was
//!   verified, and only when the mechanism failed (504, 534, 538, a broken challenge), never
//!   after a 535: wrong credentials stay wrong, and each try counts on the server's lockout
//!   counter. Elsewhere a server refusing CRAM-MD5 (or sending it a bogus challenge) could
//!   otherwise make the client reveal the password with PLAIN; the first error is returned.
//! - **Secrets stay secret.** Every line carrying a secret goes through `command_secret`; debug
//!   output shows `AUTH <mechanism> [redacted]` and `[redacted]` for responses, 334 challenges
//!   are not shown, and any secret (password, token, response or its base64) that a server
//!   echoes in a reply is replaced by `[redacted]` in the debug output, the last reply and the
//!   error. Responses and their base64 are zeroed when dropped.
//! - **Bounded.** At most [`MAX_CHALLENGES`](crate::auth::MAX_CHALLENGES) challenges are answered; challenges must be strict
//!   base64; a bad one, or one too many, is cancelled with `*` and fails with
//!   [`ErrorKind::Authentication`].

use zeroize::Zeroizing;

use super::{Client, CredentialPolicy, DebugKind};
use crate::auth::scram::{ChannelBinding, ScramClient};
use crate::auth::{self, AuthStep, Mechanism, OAuthMechanism, Redactor};
use crate::engine::{mechanism_failed, naming_every_attempt};
use crate::engine::{SaslExchange, SaslNext, SaslStep};
use crate::error::{Error, ErrorKind, Result};
use crate::protocol::Reply;

/// Most characters of a server's OAuth error status (JSON) kept in an error message.
const MAX_SERVER_ERROR_SHOWN: usize = 512;

impl Client {
    // ------------------------------------------------------------------------------ policy

    /// Restrict `login` to the mechanisms of `list`, tried in that order (see
    /// [`auth::parse_login_mechanisms`]); `None` restores the default, strongest first.
    /// smtplib's exact order is `"CRAM-MD5 PLAIN LOGIN"`. Useful for a server that advertises
    /// a mechanism it then fails. The setting is unchanged on error.
    pub fn set_login_mechanisms(&mut self, list: Option<&str>) -> Result<()> {
        self.login_mechanisms = list.map(auth::parse_login_mechanisms).transpose()?;
        Ok(())
    }

    /// Set when credentials may be sent without TLS (see [`CredentialPolicy`]).
    pub fn set_credential_policy(&mut self, policy: CredentialPolicy) {
        self.credentials = policy;
    }

    /// When credentials may be sent without TLS.
    pub fn credential_policy(&self) -> CredentialPolicy {
        self.credentials
    }

    /// Whether AUTH succeeded on this connection (reset by STARTTLS, QUIT and reconnecting;
    /// a second login on the same connection is refused).
    pub fn is_authenticated(&self) -> bool {
        self.authenticated
    }

    /// Whether the credential policy lets secrets go over the current connection now.
    pub fn may_send_credentials(&self) -> bool {
        if !self.is_connected() {
            return false;
        }
        self.credentials.permits(self.tls_info.as_ref().map(|t| t.verified), self.peer_is_local() == Some(true))
    }

    fn check_credential_policy(&self, mechanism: &str) -> Result<()> {
        if !self.is_connected() {
            return Err(Error::disconnected("not connected; call connect first"));
        }
        if self.authenticated {
            // RFC 4954: one successful AUTH per session; never reveal a second user's secret
            return Err(Error::bad_state("already authenticated on this connection"));
        }
        if self.may_send_credentials() {
            return Ok(());
        }
        Err(self.credentials.refusal(mechanism, self.tls_info.is_some(), self.peer_is_local() == Some(true)))
    }

    fn auth_offered(&self) -> Result<String> {
        self.greetings
            .features()
            .get("auth")
            .map(str::to_owned)
            .ok_or_else(|| Error::new(ErrorKind::NotSupported, "SMTP AUTH extension not supported by server."))
    }

    // ------------------------------------------------------------------------------ login

    /// smtplib's `login(user, password, initial_response_ok)`.
    ///
    /// EHLO (or HELO) if not done yet; then, among the mechanisms the server advertises,
    /// SCRAM-SHA-256-PLUS, SCRAM-SHA-256, SCRAM-SHA-1-PLUS, SCRAM-SHA-1, CRAM-MD5, PLAIN and
    /// LOGIN in that order (strongest first, see [`auth::login_order`]; smtplib starts at
    /// CRAM-MD5).
    ///
    /// Channel binding (RFC 5802 §6): the `-PLUS` mechanisms are used only over TLS with a
    /// verified peer whose channel-binding data the TLS layer could compute (`tls-exporter`
    /// on TLS 1.3, `tls-server-end-point` on TLS 1.2); otherwise they are skipped. On such a
    /// connection, SCRAM without `-PLUS` sends the GS2 flag `y` when the server does not
    /// advertise the `-PLUS` form, so that a server supporting it detects a stripped
    /// advertisement and fails the login (see [`auth::login_channel_binding`]); without TLS,
    /// or with an unverified peer, it sends `n`.
    ///
    /// `initial_response_ok` sends
    /// SCRAM's client-first message, PLAIN's response and LOGIN's user name on the `AUTH` line
    /// (RFC 4954 initial response); CRAM-MD5 never has one. Only a 235 reply is success (a 503
    /// is a failure, see [`Client::auth`]); for SCRAM only a 235 after the server's signature
    /// was verified: a 235 without it closes the connection and fails.
    ///
    /// Stricter than smtplib, which tries every mechanism whatever the failure:
    /// - a 535 (credentials refused), or any refusal other than those below, ends `login` at
    ///   once: another mechanism would not make the credentials right, and each failed attempt
    ///   counts against the account on the server;
    /// - the next mechanism is tried only when the mechanism itself failed (504 not offered,
    ///   534 too weak, 538 needs encryption, a malformed or endless challenge, cancelled), and
    ///   only over TLS with a verified peer (no downgrade to a mechanism that reveals the
    ///   password to a server that could be anyone);
    /// - a SCRAM server that breaks the protocol (an iteration count below 4096, a nonce that
    ///   does not extend the client's, a bad salt, an `e=` error, a wrong server signature) ends
    ///   `login`: it is not offered a weaker mechanism.
    ///
    /// The error message names each mechanism tried with the reply it got (secrets redacted).
    /// See the module documentation for the credential policy and redaction.
    ///
    /// Errors: [`ErrorKind::InvalidArgument`] (empty user or password, NUL / CR / LF, longer
    /// than 8192 bytes, or, when SCRAM is tried, any control character; nothing sent), [`ErrorKind::Helo`], [`ErrorKind::NotSupported`] (no AUTH
    /// advertised: "SMTP AUTH extension not supported by server."), [`ErrorKind::Smtp`] ("No
    /// suitable authentication method found."), [`ErrorKind::CredentialsPolicy`] (nothing of
    /// AUTH sent), [`ErrorKind::Authentication`] (the refusing reply, scrubbed of secrets, or a
    /// malformed exchange that was cancelled), and connection errors.
    pub async fn login(&mut self, user: &str, password: &str, initial_response_ok: bool) -> Result<()> {
        auth::check_credential("user", user)?;
        auth::check_credential("password", password)?;
        self.ehlo_or_helo_if_needed().await?;
        let offered = self.auth_offered()?;
        let order = self.login_mechanisms.clone().unwrap_or_else(|| auth::login_order().to_vec());
        // channel binding only over TLS with a verified peer: an unverified one could be anyone
        let channel = self
            .tls_info
            .as_ref()
            .filter(|t| t.verified)
            .and_then(|t| t.channel_binding.as_ref())
            .map(|cb| (cb.kind, cb.data.clone()));
        let channel = channel.as_ref().map(|(kind, data)| (*kind, data.as_slice()));
        let advertised = auth::advertised_mechanisms(&offered);
        let candidates: Vec<(Mechanism, ChannelBinding)> = auth::login_candidates(&offered, &order)
            .into_iter()
            .filter_map(|m| auth::login_channel_binding(m, &advertised, &order, channel).map(|cb| (m, cb)))
            .collect();
        if candidates.is_empty() {
            let tried: Vec<&str> = order.iter().map(|m| m.name()).collect();
            return Err(Error::new(
                ErrorKind::Smtp,
                format!(
                    "No suitable authentication method found. login uses {}; the server offers: {}{}",
                    tried.join(" "),
                    advertised.join(" "),
                    if channel.is_none() && advertised.iter().any(|a| a.ends_with("-PLUS")) {
                        " (-PLUS mechanisms need TLS with a verified peer)"
                    } else {
                        ""
                    }
                ),
            ));
        }
        self.check_credential_policy(candidates[0].0.name())?;
        let mut red = Redactor::new();
        red.add(password);
        let may_fall_back = self.tls_info.as_ref().is_some_and(|t| t.verified);
        // what each mechanism tried got, already scrubbed of secrets, for the final error
        let mut attempts: Vec<String> = Vec::new();
        let mut last_error = None;
        for (mechanism, binding) in candidates {
            let e = match self.login_with(mechanism, binding, user, password, initial_response_ok, &mut red).await {
                Ok(()) => return Ok(()),
                Err(e) if e.kind() != ErrorKind::Authentication => return Err(e),
                Err(e) => e,
            };
            attempts.push(e.message().to_owned());
            // a SCRAM server that broke the protocol itself (no reply to blame: a low iteration
            // count, a foreign nonce, a wrong proof, e=) is not offered anything weaker
            let scram_server_misbehaved = mechanism.scram_hash().is_some() && e.reply().is_none();
            let move_on = mechanism_failed(&e) && !scram_server_misbehaved && may_fall_back && self.is_connected();
            last_error = Some(e);
            if !move_on {
                break;
            }
        }
        let last_error = last_error.expect("login candidates are never empty here");
        Err(naming_every_attempt(last_error, &attempts))
    }

    async fn login_with(
        &mut self,
        mechanism: Mechanism,
        binding: ChannelBinding,
        user: &str,
        password: &str,
        initial_response_ok: bool,
        red: &mut Redactor,
    ) -> Result<()> {
        let mut login_step = 0usize;
        let mut scram = match mechanism.scram_hash() {
            Some(hash) => Some(ScramClient::new(hash, user, password, binding)?),
            None => None,
        };
        let mut next = |challenge: Option<&[u8]>, _tls: bool| -> SaslStep {
            match mechanism {
                Mechanism::ScramSha256Plus
                | Mechanism::ScramSha256
                | Mechanism::ScramSha1Plus
                | Mechanism::ScramSha1 => {
                    let step =
                        scram.as_mut().ok_or_else(|| Error::bad_state("SCRAM without its state")).and_then(|sc| {
                            match challenge {
                                None => Ok(Zeroizing::new(sc.client_first())),
                                Some(c) => sc.respond(c),
                            }
                        });
                    match step {
                        Ok(data) => SaslStep::Respond { data, secret: true, extra: None },
                        Err(e) => SaslStep::Fail(e),
                    }
                }
                Mechanism::CramMd5 => match challenge {
                    None => SaslStep::NoInitialResponse,
                    Some(c) => match auth::cram_md5_response(user, password, c) {
                        Ok(data) => {
                            SaslStep::Respond { data, secret: true, extra: Some(auth::cram_md5_digest(password, c)) }
                        }
                        Err(e) => SaslStep::Fail(e),
                    },
                },
                Mechanism::Plain => {
                    SaslStep::Respond { data: auth::plain_response(user, password), secret: true, extra: None }
                }
                Mechanism::Login => {
                    let data = auth::login_response(login_step, user, password);
                    let secret = login_step > 0;
                    login_step += 1;
                    SaslStep::Respond { data, secret, extra: None }
                }
                Mechanism::XOAuth2 | Mechanism::OAuthBearer => {
                    SaslStep::Fail(Error::invalid("login() does not use bearer-token mechanisms"))
                }
            }
        };
        let reply = self.sasl_exchange(mechanism.name(), initial_response_ok, red, &mut next).await?;
        if scram.as_ref().is_some_and(|sc| !sc.is_verified()) {
            // the server said 235 without proving it knows the password: it may be anyone
            // that took the client's proof; this is not a login, and the connection is not trusted
            self.authenticated = false;
            self.close();
            return Err(Error::with_reply_message(
                ErrorKind::Authentication,
                reply,
                format!("AUTH {mechanism}: the server accepted without proving its SCRAM signature; connection closed"),
            ));
        }
        Ok(())
    }

    /// Log in with an OAuth 2.0 bearer token: `XOAUTH2` or `OAUTHBEARER` (RFC 7628), always
    /// with an initial response. When the server answers it with an error challenge (a JSON
    /// status), the client acknowledges it as the mechanism requires (`\x01` for OAUTHBEARER,
    /// an empty response for XOAUTH2) and the final reply is the error; the server's status
    /// is added to the error message.
    ///
    /// Errors: [`ErrorKind::InvalidArgument`] (the token is not an RFC 6750 bearer token, or
    /// the user is empty (allowed for OAUTHBEARER), contains NUL, CR, LF or `\x01`, or is over
    /// 8192 bytes), [`ErrorKind::NotSupported`] (no AUTH), [`ErrorKind::Smtp`] (the mechanism is
    /// not advertised), [`ErrorKind::CredentialsPolicy`], [`ErrorKind::Authentication`], and
    /// connection errors.
    pub async fn login_oauth(&mut self, mechanism: OAuthMechanism, user: &str, token: &str) -> Result<()> {
        auth::check_oauth_user(user, mechanism == OAuthMechanism::OAuthBearer)?;
        auth::check_bearer_token(token)?;
        self.ehlo_or_helo_if_needed().await?;
        let offered = self.auth_offered()?;
        let advertised = auth::advertised_mechanisms(&offered);
        let name = mechanism.name();
        if !advertised.iter().any(|m| m == name) {
            return Err(Error::new(
                ErrorKind::Smtp,
                format!(
                    "No suitable authentication method found: the server does not offer {name} (it offers: {})",
                    advertised.join(" ")
                ),
            ));
        }
        self.check_credential_policy(name)?;
        let mut red = Redactor::new();
        red.add(token);
        let mut server_error: Option<String> = None;
        let mut next = |challenge: Option<&[u8]>, _tls: bool| -> SaslStep {
            match challenge {
                None => SaslStep::Respond { data: mechanism.initial_response(user, token), secret: true, extra: None },
                Some(c) if server_error.is_none() => {
                    server_error = Some(printable(c, MAX_SERVER_ERROR_SHOWN));
                    SaslStep::Respond {
                        data: Zeroizing::new(mechanism.error_ack().to_vec()),
                        secret: false,
                        extra: None,
                    }
                }
                Some(_) => SaslStep::Fail(Error::new(
                    ErrorKind::Authentication,
                    format!("AUTH {name}: the server sent another challenge after its error status"),
                )),
            }
        };
        let res = self.sasl_exchange(name, true, &mut red, &mut next).await;
        match (res, server_error) {
            (Ok(_), _) => Ok(()),
            (Err(e), Some(status)) if e.kind() == ErrorKind::Authentication => {
                let message = format!("{}; server status: {status}", e.message());
                let e = match e.reply() {
                    Some(r) => Error::with_reply_message(ErrorKind::Authentication, r.clone(), message),
                    None => Error::new(ErrorKind::Authentication, message),
                };
                Err(red.scrub_error(e))
            }
            (Err(e), _) => Err(e),
        }
    }

    // ------------------------------------------------------------------------------ auth

    /// smtplib's `auth(mechanism, authobject, initial_response_ok)`, with a callback.
    ///
    /// EHLO (or HELO) if not done yet, then the credential policy (not for `EXTERNAL`). The
    /// callback is called with `None` for the initial response (only when
    /// `initial_response_ok`), then with each decoded server challenge; its second argument
    /// tells whether TLS is active. It answers with an [`AuthStep`]:
    /// - `Respond(bytes)`: sent base64-encoded (an empty initial response is sent as `=`);
    /// - `NoInitialResponse` (initial call only): `AUTH <mechanism>` alone;
    /// - `Abort(value)`: `*` cancels the exchange if it started, and the call fails with
    ///   [`ErrorKind::CallbackAborted`] carrying `value`. `NoInitialResponse` given for a
    ///   challenge does the same with value 1.
    ///
    /// The mechanism is sent upper-cased and need not be advertised (as in smtplib). At most 5
    /// challenges are answered; a 6th, or one that is not strict base64, is cancelled with `*`
    /// and fails with [`ErrorKind::Authentication`]. 235 is success; any other final reply
    /// (503 included: this session never sends a second AUTH, so it cannot mean "already
    /// authenticated") is [`ErrorKind::Authentication`] with that reply (secrets the server
    /// echoes scrubbed).
    ///
    /// Errors besides: [`ErrorKind::InvalidArgument`] (a mechanism name that is not 1 to 20 of
    /// `A-Z 0-9 - _`, or a response over 8192 bytes; the exchange is cancelled if it started),
    /// [`ErrorKind::CredentialsPolicy`], [`ErrorKind::Helo`], connection errors.
    pub async fn auth(
        &mut self,
        mechanism: &str,
        callback: &mut dyn FnMut(Option<&[u8]>, bool) -> AuthStep,
        initial_response_ok: bool,
    ) -> Result<()> {
        let mechanism = auth::check_mechanism_name(mechanism)?;
        self.ehlo_or_helo_if_needed().await?;
        if mechanism != "EXTERNAL" {
            self.check_credential_policy(&mechanism)?;
        } else if self.authenticated {
            return Err(Error::bad_state("already authenticated on this connection"));
        }
        let mut red = Redactor::new();
        let mut next = |challenge: Option<&[u8]>, tls: bool| -> SaslStep {
            match callback(challenge, tls) {
                AuthStep::Respond(data) => SaslStep::Respond { data: Zeroizing::new(data), secret: true, extra: None },
                AuthStep::NoInitialResponse => SaslStep::NoInitialResponse,
                AuthStep::Abort(v) => SaslStep::Abort(v),
            }
        };
        self.sasl_exchange(&mechanism, initial_response_ok, &mut red, &mut next).await.map(drop)
    }

    // ------------------------------------------------------------------------------ exchange

    /// Run one SASL exchange for `mechanism` (already checked and upper-cased); returns the
    /// final 235 reply. The engine's [`SaslExchange`] reads each reply; this moves the lines.
    async fn sasl_exchange(
        &mut self,
        mechanism: &str,
        initial_response_ok: bool,
        red: &mut Redactor,
        next: &mut impl FnMut(Option<&[u8]>, bool) -> SaslStep,
    ) -> Result<Reply> {
        let tls_active = self.tls_info.is_some();
        let mut exchange = SaslExchange::new(mechanism);
        let first = if initial_response_ok { next(None, tls_active) } else { SaslStep::NoInitialResponse };
        let line = exchange.first_line(first, red)?;
        let mut reply = self.auth_command(&line.line, &line.shown, red).await?;
        loop {
            match exchange.on_reply(&reply, red) {
                SaslNext::Authenticated(clean) => {
                    self.authenticated = true;
                    return Ok(clean);
                }
                SaslNext::Failed(e) => return Err(e),
                SaslNext::Cancel(e) => {
                    self.auth_cancel(red).await;
                    return Err(e);
                }
                SaslNext::Challenge(challenge) => match exchange.response_line(next(Some(&challenge), tls_active), red)
                {
                    Ok(line) => reply = self.auth_command(&line.line, &line.shown, red).await?,
                    Err(e) => {
                        self.auth_cancel(red).await;
                        return Err(e);
                    }
                },
            }
        }
    }

    /// Send one line of an AUTH exchange with `command_secret` and read the reply. Debug output
    /// shows `shown`, hides 334 challenges, and scrubs known secrets from other replies; the
    /// last reply (kept scrubbed by `command_secret` on every path) and any error are too. The returned reply is the raw one (its
    /// challenge is needed as sent).
    async fn auth_command(&mut self, line: &[u8], shown: &str, red: &Redactor) -> Result<Reply> {
        let level = self.debug_level;
        let was_connected = self.is_connected();
        if level > 0 && was_connected {
            let s = format!("{shown}\r\n");
            self.debug(DebugKind::Sent, s.as_bytes());
        }
        let res = self.command_secret(line, red).await;
        if level > 0 && was_connected && !self.is_connected() {
            self.debug(DebugKind::Info, b"connection closed");
        }
        let reply = res.map_err(|e| red.scrub_error(e))?;
        let clean = red.scrub_reply(&reply);
        if level > 0 {
            let text = if reply.code() == 334 {
                "334 [challenge redacted]\r\n".to_owned()
            } else {
                format!("{} {}\r\n", clean.code(), clean.text().replace('\n', " / "))
            };
            self.debug(DebugKind::Received, text.as_bytes());
        }
        Ok(reply)
    }

    /// Cancel an exchange with `*` (RFC 4954 §4) and read the server's reply. A server that
    /// does not end the exchange with an error reply is out of step: the connection is closed.
    async fn auth_cancel(&mut self, red: &Redactor) {
        if !self.is_connected() {
            return;
        }
        match self.auth_command(b"*\r\n", "*", red).await {
            Ok(r) if (400..600).contains(&r.code()) => {}
            Ok(_) => self.close(),
            Err(_) => {} // the failure closed the connection already
        }
    }
}

/// Server bytes for a message: lossy UTF-8, controls replaced, at most `max` characters.
fn printable(bytes: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out: String = text.chars().take(max).map(|c| if c.is_control() { '?' } else { c }).collect();
    if text.chars().count() > max {
        out.push_str("...");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_server_text() {
        assert_eq!(printable(b"{\"status\":\"401\"}\r\n\x1b[2J", 100), "{\"status\":\"401\"}???[2J");
        assert_eq!(printable(b"abcdef", 3), "abc...");
        assert_eq!(printable(b"\xff", 10), "\u{fffd}");
    }

    #[test]
    fn policy_without_connection() {
        /// The operations below end without waiting for a driver.
        fn done<F: std::future::Future>(operation: F) -> F::Output {
            let mut operation = std::pin::pin!(operation);
            match operation.as_mut().poll(&mut std::task::Context::from_waker(std::task::Waker::noop())) {
                std::task::Poll::Ready(out) => out,
                std::task::Poll::Pending => panic!("the operation waited for a driver"),
            }
        }
        let mut s = Client::new(crate::engine::SessionKind::Smtp);
        assert!(!s.may_send_credentials(), "not connected: nothing may be sent");
        s.set_credential_policy(CredentialPolicy { allow_cleartext: true, local_peer_is_safe: false });
        assert_eq!(s.credential_policy(), CredentialPolicy { allow_cleartext: true, local_peer_is_safe: false });
        assert!(!s.may_send_credentials());
        assert_eq!(done(s.login("u", "p", true)).unwrap_err().kind(), ErrorKind::ServerDisconnected);
        assert_eq!(done(s.login("", "p", true)).unwrap_err().kind(), ErrorKind::InvalidArgument);
        let mut cb = |_: Option<&[u8]>, _: bool| AuthStep::Abort(-1);
        assert_eq!(done(s.auth("PLAIN", &mut cb, true)).unwrap_err().kind(), ErrorKind::ServerDisconnected);
        assert_eq!(done(s.auth("PLAIN LOGIN", &mut cb, true)).unwrap_err().kind(), ErrorKind::InvalidArgument);
    }
}
