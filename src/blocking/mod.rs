//! The blocking driver: a [`Session`] runs each of the engine's operations (smtplib's
//! methods, see [`Client`]) to its end, serving what the operation waits for with a socket
//! that blocks up to the engine's deadline (docs/engine.md).
//!
//! Everything a session knows about the protocol is the engine's [`Client`], reachable
//! through `Deref` for its settings and state; this module adds the socket, the TLS
//! settings (OpenSSL lives below the engine) and a blocking method per operation.

mod driver;

use std::ops::{Deref, DerefMut};

use crate::auth::{AuthStep, OAuthMechanism};
pub use crate::engine::{
    Body, BodyRead, Client, CredentialPolicy, DebugEvent, DebugKind, DebugSink, Phase, RecipientStatus, SessionKind,
    Timeouts, DEFAULT_TIMEOUT,
};
use crate::error::Result;
use crate::protocol::{Reply, TransactionParams};
use crate::tls::TlsConfig;
use crate::transport::Connection;
use driver::Driver;

/// One client session whose calls block until the server has answered (or the deadline has
/// passed).
pub struct Session {
    client: Client,
    driver: Driver,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.client.fmt(f)
    }
}

impl Deref for Session {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

impl DerefMut for Session {
    fn deref_mut(&mut self) -> &mut Client {
        &mut self.client
    }
}

/// Run one engine operation of `$session` to its end: `run!(self, connect(host, port))`.
macro_rules! run {
    ($session:expr, $op:ident($($arg:expr),*)) => {{
        let Session { client, driver } = $session;
        client.set_tls_verification_off(driver.tls_config.insecure_skip_verify);
        driver.block_on(client.$op($($arg),*))
    }};
}

impl Session {
    /// A new, unconnected session of `kind`.
    pub fn new(kind: SessionKind) -> Self {
        let client = Client::new(kind);
        let driver = Driver::new(client.link());
        Session { client, driver }
    }

    /// Hand the client, its open connection and a copy of the TLS settings to another driver
    /// (the non-blocking one) for one operation; [`Session::restore`] takes them back. Until
    /// then this session holds a fresh unconnected client of the same kind, which its owner
    /// must not use (the C layer refuses every call but driving and cancelling the operation).
    pub fn lend(&mut self) -> (Client, Option<Connection>, TlsConfig) {
        let placeholder = Client::new(self.client.kind());
        let client = std::mem::replace(&mut self.client, placeholder);
        let conn = self.driver.lend();
        client.link().lock().unwrap_or_else(|p| p.into_inner()).set_now(std::time::Instant::now());
        (client, conn, self.driver.tls_config.clone())
    }

    /// Take back what [`Session::lend`] handed out, when the operation has ended.
    pub fn restore(&mut self, client: Client, conn: Option<Connection>) {
        self.driver.restore(client.link(), conn);
        self.client = client;
    }

    /// Run this session's operations on the non-blocking driver (`crate::nonblocking`),
    /// waiting with `poll(2)` as an event loop would, instead of on blocking sockets (the
    /// default). The calls, their results and the bytes on the wire are the same: the test
    /// suite runs under both to prove it.
    pub fn set_nonblocking_driver(&mut self, on: bool) {
        self.driver.set_polling(on);
    }

    /// Whether operations run on the non-blocking driver.
    pub fn uses_nonblocking_driver(&self) -> bool {
        self.driver.is_polling()
    }

    /// The TLS settings used by implicit TLS and STARTTLS.
    pub fn tls_config(&self) -> &TlsConfig {
        &self.driver.tls_config
    }

    /// Change the TLS settings (takes effect at the next handshake).
    pub fn tls_config_mut(&mut self) -> &mut TlsConfig {
        &mut self.driver.tls_config
    }

    /// smtplib's `connect(host, port)`: see [`Client::connect`].
    pub fn connect(&mut self, host: &str, port: u16) -> Result<Reply> {
        run!(self, connect(host, port))
    }

    /// [`Client::connect_url`]: connect to the endpoint of the session's URL.
    pub fn connect_url(&mut self) -> Result<Reply> {
        run!(self, connect_url())
    }

    /// [`Client::login_url`]: log in with the user and password of the session's URL.
    pub fn login_url(&mut self, initial_response_ok: bool) -> Result<()> {
        run!(self, login_url(initial_response_ok))
    }

    /// smtplib's `close()`: drop the connection without sending anything.
    pub fn close(&mut self) {
        self.client.close();
        self.driver.settle();
    }

    /// smtplib's `quit()`: see [`Client::quit`].
    pub fn quit(&mut self) -> Result<Reply> {
        run!(self, quit())
    }

    /// smtplib's `docmd(cmd, args)`: see [`Client::docmd`].
    pub fn docmd(&mut self, cmd: &str, args: &str) -> Result<Reply> {
        run!(self, docmd(cmd, args))
    }

    /// smtplib's `helo(name)`: see [`Client::helo`].
    pub fn helo(&mut self, name: Option<&str>) -> Result<Reply> {
        run!(self, helo(name))
    }

    /// smtplib's `ehlo(name)`: see [`Client::ehlo`].
    pub fn ehlo(&mut self, name: Option<&str>) -> Result<Reply> {
        run!(self, ehlo(name))
    }

    /// smtplib's `ehlo_or_helo_if_needed()`: see [`Client::ehlo_or_helo_if_needed`].
    pub fn ehlo_or_helo_if_needed(&mut self) -> Result<()> {
        run!(self, ehlo_or_helo_if_needed())
    }

    /// smtplib's `starttls()`: see [`Client::starttls`].
    pub fn starttls(&mut self) -> Result<()> {
        run!(self, starttls())
    }

    /// smtplib's `verify(address)`: see [`Client::verify`].
    pub fn verify(&mut self, address: &str) -> Result<Reply> {
        run!(self, verify(address))
    }

    /// smtplib's `expn(address)`: see [`Client::expn`].
    pub fn expn(&mut self, address: &str) -> Result<Reply> {
        run!(self, expn(address))
    }

    /// smtplib's `help(args)`: see [`Client::help`].
    pub fn help(&mut self, args: &str) -> Result<Reply> {
        run!(self, help(args))
    }

    /// smtplib's `rset()`: see [`Client::rset`].
    pub fn rset(&mut self) -> Result<Reply> {
        run!(self, rset())
    }

    /// smtplib's `noop()`: see [`Client::noop`].
    pub fn noop(&mut self) -> Result<Reply> {
        run!(self, noop())
    }

    /// smtplib's `mail(sender, options)`: see [`Client::mail`].
    pub fn mail(&mut self, sender: &str, options: &[&str]) -> Result<Reply> {
        run!(self, mail(sender, options))
    }

    /// smtplib's `rcpt(recipient, options)`: see [`Client::rcpt`].
    pub fn rcpt(&mut self, recipient: &str, options: &[&str]) -> Result<Reply> {
        run!(self, rcpt(recipient, options))
    }

    /// smtplib's `data(msg)`: see [`Client::data`].
    pub fn data(&mut self, msg: &[u8]) -> Result<Reply> {
        run!(self, data(msg))
    }

    /// smtplib's `sendmail(from, to, msg, mail_options, rcpt_options)`: see [`Client::sendmail`].
    pub fn sendmail(
        &mut self,
        from: &str,
        to: &[&str],
        msg: &[u8],
        mail_options: &[&str],
        rcpt_options: &[&str],
    ) -> Result<()> {
        run!(self, sendmail(from, to, msg, mail_options, rcpt_options))
    }

    /// `sendmail` with the message pulled from `read` in chunks: see [`Client::sendmail_stream`].
    /// The callback must block until it has data ([`BodyRead::Pending`] is refused here).
    pub fn sendmail_stream(
        &mut self,
        from: &str,
        to: &[&str],
        read: &mut (dyn FnMut(&mut [u8]) -> BodyRead + Send),
        size_estimate: Option<u64>,
        mail_options: &[&str],
        rcpt_options: &[&str],
    ) -> Result<()> {
        run!(self, sendmail_stream(from, to, read, size_estimate, mail_options, rcpt_options))
    }

    /// smtplib's `send_message`: see [`Client::send_message`].
    pub fn send_message(
        &mut self,
        msg: &[u8],
        from: Option<&str>,
        to: Option<&[&str]>,
        mail_options: &[&str],
        rcpt_options: &[&str],
    ) -> Result<()> {
        run!(self, send_message(msg, from, to, mail_options, rcpt_options))
    }

    /// `sendmail` or `sendmail_stream` with typed DSN and REQUIRETLS parameters: see
    /// [`Client::sendmail_with`]. A streamed body must block until it has data.
    #[allow(clippy::too_many_arguments)]
    pub fn sendmail_with(
        &mut self,
        from: &str,
        to: &[&str],
        body: Body<'_>,
        size_estimate: Option<u64>,
        mail_options: &[&str],
        rcpt_options: &[&str],
        params: &TransactionParams,
    ) -> Result<()> {
        run!(self, sendmail_with(from, to, body, size_estimate, mail_options, rcpt_options, params))
    }

    /// `send_message` with typed DSN and REQUIRETLS parameters: see [`Client::send_message_with`].
    pub fn send_message_with(
        &mut self,
        msg: &[u8],
        from: Option<&str>,
        to: Option<&[&str]>,
        mail_options: &[&str],
        rcpt_options: &[&str],
        params: &TransactionParams,
    ) -> Result<()> {
        run!(self, send_message_with(msg, from, to, mail_options, rcpt_options, params))
    }

    /// smtplib's `login(user, password, initial_response_ok)`: see [`Client::login`].
    pub fn login(&mut self, user: &str, password: &str, initial_response_ok: bool) -> Result<()> {
        run!(self, login(user, password, initial_response_ok))
    }

    /// Log in with an OAuth 2.0 bearer token: see [`Client::login_oauth`].
    pub fn login_oauth(&mut self, mechanism: OAuthMechanism, user: &str, token: &str) -> Result<()> {
        run!(self, login_oauth(mechanism, user, token))
    }

    /// smtplib's `auth(mechanism, authobject, initial_response_ok)`: see [`Client::auth`].
    pub fn auth(
        &mut self,
        mechanism: &str,
        callback: &mut dyn FnMut(Option<&[u8]>, bool) -> AuthStep,
        initial_response_ok: bool,
    ) -> Result<()> {
        run!(self, auth(mechanism, callback, initial_response_ok))
    }
}
