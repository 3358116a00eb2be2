//! The client: one SMTP or LMTP connection with smtplib's methods, as operations of the
//! sans-I/O engine. Each operation is an `async` function whose waits (bytes written, a reply, a
//! connection, a TLS handshake, a body chunk) go through the [`Link`] to a driver: the blocking
//! driver (the `blocking` module) waits on its socket, the non-blocking one on the caller's event loop.
//! Same code, same bytes on the wire, same results.
//!
//! State after a failure is always one of two, and documented per error kind:
//! - the connection is closed (server disconnected, 421, timeout, I/O or protocol errors,
//!   delivery unknown): `is_connected()` is false and `connect` may be called again;
//! - the connection is open with no transaction in progress (refusals in `sendmail`, which
//!   sends RSET, and every error raised before a byte was sent).

mod auth;
mod debug;
mod hostname;
mod link;
mod starttls;
mod transaction;
mod url;
mod wire;

pub use debug::{DebugEvent, DebugKind, DebugSink};
pub use link::{Link, Opened, Want};
pub use transaction::{Body, BodyRead};

pub(crate) use link::LinkRef;

use std::time::Duration;

use crate::engine::{CredentialPolicy, Greetings, Phase, Timeouts, TlsInfo, TlsPolicy, Transaction};
use crate::error::{Error, ErrorKind, Result};
use crate::message::parse_address_list;
use crate::protocol::{
    check_address, check_hello_name, check_line_safe, quote_forward_path, quote_reverse_path, Endpoint, Features, Reply,
};

/// The kind of session, as smtplib's `SMTP`, `SMTP_SSL` and `LMTP` classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    /// SMTP / ESMTP (default port 25).
    Smtp,
    /// SMTP over implicit TLS (smtplib's `SMTP_SSL`, default port 465).
    Smtps,
    /// LMTP (RFC 2033): LHLO instead of EHLO, one reply per recipient after DATA
    /// (default port 2003; a host starting with `/` is a Unix socket).
    Lmtp,
}

impl SessionKind {
    /// The port used when none is given.
    pub fn default_port(self) -> u16 {
        match self {
            SessionKind::Smtp => 25,
            SessionKind::Smtps => 465,
            SessionKind::Lmtp => 2003,
        }
    }
}

/// One client session, without its socket: a driver moves its bytes (see [`Link`]).
pub struct Client {
    kind: SessionKind,
    local_hostname: Option<String>,
    timeouts: Timeouts,
    operation_timeout: Option<Duration>,
    source_address: Option<(String, u16)>,
    debug_level: u8,
    debug_sink: Option<DebugSink>,

    /// The way to the driver: what is queued, received and owed, and what the client waits for.
    link: LinkRef,
    /// A connection is open (the driver opened it and the client has not dropped it).
    connected: bool,
    /// Whether the peer of the open connection is on this machine.
    peer_is_local: bool,
    /// The greeting, HELO / EHLO replies and extensions of the current connection.
    greetings: Greetings,
    last_reply: Option<Reply>,
    transaction: Transaction,
    /// The TLS policy, whether verification is off in the driver's TLS settings, and the state
    /// of the current connection's TLS.
    tls_policy: TlsPolicy,
    tls_verification_off: bool,
    tls_info: Option<TlsInfo>,
    /// The server refused STARTTLS on this connection (an opportunistic policy stops asking).
    starttls_refused: bool,
    /// The host name or address connect was given (what TLS verifies by default).
    connected_host: String,
    /// Why the session closed the connection itself after a call that otherwise succeeded
    /// (a message delivered, then unsolicited bytes): the next call reports it.
    closed_because: Option<Error>,
    /// Use PIPELINING / CHUNKING when offered.
    pipelining: bool,
    chunking: bool,
    /// AUTH succeeded on this connection (reset by STARTTLS and QUIT, as the server resets it).
    pub(crate) authenticated: bool,
    /// When credentials may be sent without TLS (see `blocking/auth.rs`).
    pub(crate) credentials: CredentialPolicy,
    /// The mechanisms `login` tries, in order, when the caller chose them (default: the
    /// strongest first, `auth::login_order`).
    pub(crate) login_mechanisms: Option<Vec<crate::auth::Mechanism>>,
    /// Where [`Client::connect_url`] connects (set by [`Client::set_url`]).
    url_endpoint: Option<crate::protocol::UrlEndpoint>,
    /// What [`Client::login_url`] sends (set by [`Client::set_url`]; zeroed on drop).
    url_credentials: Option<crate::protocol::UrlCredentials>,
}

/// Default timeout for connect, reads and writes: smtplib has none, a library must.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("kind", &self.kind)
            .field("connected", &self.connected)
            .field("does_esmtp", &self.greetings.does_esmtp())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A new, unconnected session of `kind`.
    pub fn new(kind: SessionKind) -> Self {
        Client {
            kind,
            local_hostname: None,
            timeouts: Timeouts::uniform(Some(DEFAULT_TIMEOUT)),
            operation_timeout: None,
            source_address: None,
            debug_level: 0,
            debug_sink: None,
            link: LinkRef::new(Timeouts::uniform(Some(DEFAULT_TIMEOUT))),
            connected: false,
            peer_is_local: false,
            greetings: Greetings::default(),
            last_reply: None,
            transaction: Default::default(),
            tls_policy: TlsPolicy::default(),
            tls_verification_off: false,
            tls_info: None,
            starttls_refused: false,
            connected_host: String::new(),
            closed_because: None,
            authenticated: false,
            pipelining: true,
            chunking: true,
            credentials: CredentialPolicy::default(),
            login_mechanisms: None,
            url_endpoint: None,
            url_credentials: None,
        }
    }

    /// The session's kind.
    pub fn kind(&self) -> SessionKind {
        self.kind
    }

    // ---------------------------------------------------------------- settings

    /// The name sent with HELO / EHLO / LHLO (default: this host's FQDN). It must be one
    /// non-empty word of visible ASCII ([`ErrorKind::InvalidArgument`] otherwise: a space,
    /// TAB, control character, DEL or non-ASCII character; IDNs go as `xn--` A-labels).
    pub fn set_local_hostname(&mut self, name: Option<&str>) -> Result<()> {
        if let Some(n) = name {
            check_hello_name("local hostname", n)?;
        }
        self.local_hostname = name.map(str::to_owned);
        Ok(())
    }

    /// The name used in HELO / EHLO / LHLO when none is passed.
    pub fn local_hostname(&mut self) -> &str {
        self.local_hostname.get_or_insert_with(hostname::default_local_hostname)
    }

    /// Deadline for connecting and for each read and write (`None`: wait forever): the limit
    /// of every [`Phase`] (default: [`DEFAULT_TIMEOUT`]).
    pub fn set_timeout(&mut self, timeout: Option<Duration>) {
        self.set_timeouts(Timeouts::uniform(timeout));
    }

    /// The limit of one [`Phase`] (`None`: wait forever): a write has it from its last
    /// progress, a reply from the moment the client began waiting for it (its command
    /// written, or the reply before it complete), an opening and a TLS handshake from their
    /// start.
    pub fn set_phase_timeout(&mut self, phase: Phase, timeout: Option<Duration>) {
        let mut timeouts = self.timeouts;
        timeouts.set(phase, timeout);
        self.set_timeouts(timeouts);
    }

    /// RFC 5321 §4.5.3.2's limits for the phases it names: greeting, MAIL and RCPT 5
    /// minutes, DATA initiation 2, each data block 3, DATA termination 10 (the others keep
    /// theirs; see [`Timeouts::apply_rfc5321`]).
    pub fn set_rfc5321_timeouts(&mut self) {
        let mut timeouts = self.timeouts;
        timeouts.apply_rfc5321();
        self.set_timeouts(timeouts);
    }

    /// Every phase's limit at once.
    pub fn set_timeouts(&mut self, timeouts: Timeouts) {
        self.timeouts = timeouts;
        self.link.set_timeouts(timeouts);
    }

    /// The limit of each phase.
    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    /// The total of each operation (one call: connect, login, sendmail...; `None`, the
    /// default: none). It bounds every wait of the operation together with the phase's
    /// limit, whichever comes first, however slowly the server drips its bytes.
    pub fn set_operation_timeout(&mut self, timeout: Option<Duration>) {
        self.operation_timeout = timeout;
        self.link.set_operation_timeout(timeout);
    }

    /// The total of each operation.
    pub fn operation_timeout(&self) -> Option<Duration> {
        self.operation_timeout
    }

    /// Local address (and port, 0 = any) to bind before connecting.
    pub fn set_source_address(&mut self, source: Option<(&str, u16)>) -> Result<()> {
        if let Some((h, _)) = source {
            check_line_safe("source address", h)?;
        }
        self.source_address = source.map(|(h, p)| (h.to_owned(), p));
        Ok(())
    }

    /// smtplib's `set_debuglevel`: 0 off, 1 commands and replies, 2 the same with timestamps.
    pub fn set_debug_level(&mut self, level: u8) {
        self.debug_level = level.min(2);
    }

    /// Send debug events to `sink` instead of stderr (`None`: back to stderr).
    pub fn set_debug_sink(&mut self, sink: Option<DebugSink>) {
        self.debug_sink = sink;
    }

    fn debug(&mut self, kind: DebugKind, data: &[u8]) {
        // a cancelled operation calls none of the caller's callbacks
        if self.debug_level == 0 || self.link.cancelled() {
            return;
        }
        // server bytes are escaped once, here, for whichever sink gets them
        let escaped;
        let data = if kind == DebugKind::Received {
            escaped = debug::escape(data);
            &escaped[..]
        } else {
            data
        };
        let event = DebugEvent { kind, data };
        match &mut self.debug_sink {
            Some(sink) => sink(&event),
            None => debug::write_stderr(self.debug_level, &event),
        }
    }

    // ---------------------------------------------------------------- state

    /// Whether a connection is open.
    pub fn is_connected(&self) -> bool {
        self.connected
    }

    /// Whether the peer is a loopback address or a Unix socket.
    pub fn peer_is_local(&self) -> Option<bool> {
        self.connected.then_some(self.peer_is_local)
    }

    /// The link a driver serves (see [`Link`]).
    pub fn link(&self) -> std::sync::Arc<std::sync::Mutex<Link>> {
        self.link.shared()
    }

    /// The server's greeting.
    pub fn greeting(&self) -> Option<&Reply> {
        self.greetings.greeting()
    }

    /// The reply to the last HELO (smtplib's `helo_resp`).
    pub fn helo_resp(&self) -> Option<&Reply> {
        self.greetings.helo()
    }

    /// The reply to the last EHLO / LHLO (smtplib's `ehlo_resp`).
    pub fn ehlo_resp(&self) -> Option<&Reply> {
        self.greetings.ehlo()
    }

    /// Whether the server accepted EHLO / LHLO (smtplib's `does_esmtp`).
    pub fn does_esmtp(&self) -> bool {
        self.greetings.does_esmtp()
    }

    /// The advertised extensions (smtplib's `esmtp_features`).
    pub fn features(&self) -> &Features {
        self.greetings.features()
    }

    /// smtplib's `has_extn`: whether the server advertised `name` (any case).
    pub fn has_extn(&self, name: &str) -> bool {
        self.greetings.has_extn(name)
    }

    /// The last reply received on this session.
    pub fn last_reply(&self) -> Option<&Reply> {
        self.last_reply.as_ref()
    }

    // ---------------------------------------------------------------- connection

    /// smtplib's `connect(host, port)`: `port` 0 means the `host:port` suffix or the kind's
    /// default; a host starting with `/` is a Unix socket. Returns the 220 greeting; any other
    /// greeting closes the connection with [`ErrorKind::Connect`].
    pub async fn connect(&mut self, host: &str, port: u16) -> Result<Reply> {
        check_line_safe("host", host)?;
        if self.connected {
            return Err(Error::bad_state("already connected; quit or close first"));
        }
        let endpoint = Endpoint::parse(host, port, self.kind.default_port())?;
        let shown = match &endpoint {
            Endpoint::Tcp { host, port } => format!("{host}:{port}"),
            Endpoint::Unix(p) => p.clone(),
        };
        self.debug(DebugKind::Connect, shown.as_bytes());
        self.reset_connection_state();
        self.connected_host = match &endpoint {
            Endpoint::Tcp { host, .. } => host.clone(),
            Endpoint::Unix(_) => String::new(),
        };
        let opened = self.link.open(endpoint, self.source_address.clone()).await?;
        self.connected = true;
        self.peer_is_local = opened.peer_is_local;
        self.link.reset();
        if self.kind == SessionKind::Smtps {
            self.handshake().await?;
        }
        // the greeting has its whole limit from the end of the connect (or handshake)
        self.link.expect_more(1, Phase::Greeting);
        let greeting = self.read_only_reply().await?;
        self.greetings.on_greeting(greeting).inspect_err(|_| self.close())
    }

    fn reset_connection_state(&mut self) {
        self.closed_because = None;
        self.forget_capabilities();
        self.greetings.reset();
        self.transaction = Default::default();
    }

    /// Forget HELO/EHLO results and capabilities (after QUIT, and after STARTTLS).
    fn forget_capabilities(&mut self) {
        self.authenticated = false;
        self.greetings.forget_capabilities();
    }

    /// smtplib's `close()`: drop the connection without sending anything. Every way of losing
    /// the connection (a 421, an I/O or protocol error, QUIT) comes through here, so what
    /// described the connection (TLS, authentication, a refused STARTTLS) goes with it.
    pub fn close(&mut self) {
        self.tls_info = None;
        self.authenticated = false;
        self.starttls_refused = false;
        if std::mem::take(&mut self.connected) {
            self.link.request_close();
            self.debug(DebugKind::Info, b"connection closed");
        }
    }

    /// smtplib's `quit()`: QUIT, then close whatever the reply (capabilities are forgotten).
    pub async fn quit(&mut self) -> Result<Reply> {
        let res = self.docmd("QUIT", "").await;
        self.forget_capabilities();
        self.close();
        res
    }

    // ---------------------------------------------------------------- commands

    /// smtplib's `docmd(cmd, args)`: send a command, return its reply whatever its code.
    /// A command that carries mail or credentials (MAIL, RCPT, DATA, BDAT, VRFY, EXPN, AUTH)
    /// passes the TLS policy first, as every other way of sending one does.
    pub async fn docmd(&mut self, cmd: &str, args: &str) -> Result<Reply> {
        self.command(cmd, args).await
    }

    /// smtplib's `helo(name)`. `name` (default: the local hostname) follows the rule of
    /// [`Client::set_local_hostname`].
    pub async fn helo(&mut self, name: Option<&str>) -> Result<Reply> {
        let name = self.hello_name(name)?;
        let reply = self.command("HELO", &name).await?;
        self.greetings.on_helo(&reply);
        Ok(reply)
    }

    /// smtplib's `ehlo(name)` (LHLO for LMTP): on 250 the features are parsed and
    /// `does_esmtp` becomes true; any reply is returned.
    pub async fn ehlo(&mut self, name: Option<&str>) -> Result<Reply> {
        let name = self.hello_name(name)?;
        self.greetings.begin_ehlo();
        let reply = self.command(Greetings::ehlo_verb(self.kind == SessionKind::Lmtp), &name).await?;
        self.greetings.on_ehlo(&reply);
        Ok(reply)
    }

    fn hello_name(&mut self, name: Option<&str>) -> Result<String> {
        match name {
            Some(n) => {
                check_hello_name("HELO name", n)?;
                Ok(n.to_owned())
            }
            None => Ok(self.local_hostname().to_owned()),
        }
    }

    /// smtplib's `ehlo_or_helo_if_needed`: EHLO (LHLO) unless already done, falling back to
    /// HELO (not for LMTP, which has none); [`ErrorKind::Helo`] if both fail.
    pub async fn ehlo_or_helo_if_needed(&mut self) -> Result<()> {
        if !self.greetings.greeted() {
            let reply = self.ehlo(None).await?;
            if !reply.is_positive() {
                if self.kind == SessionKind::Lmtp || !self.is_connected() {
                    return Err(Error::with_reply(ErrorKind::Helo, reply));
                }
                if self.tls_policy == TlsPolicy::Required && self.tls_info.is_none() {
                    return Err(self.tls_required("the server refused EHLO, so it cannot offer STARTTLS").await);
                }
                let reply = self.helo(None).await?;
                if !reply.is_positive() {
                    return Err(Error::with_reply(ErrorKind::Helo, reply));
                }
            }
        }
        // also when the caller greeted by hand: the policy must not be bypassed that way
        self.apply_tls_policy().await
    }

    /// smtplib's `verify(address)`: VRFY with the bare address, as smtplib's `_addr_only`
    /// finds it (`"Bob <bob@example.test>"` sends `VRFY bob@example.test`); a user or list
    /// name that is not a mailbox (`postmaster`) is sent as given. What is sent follows the
    /// rule for every address ([`ErrorKind::InvalidArgument`], nothing sent: empty, `<` or `>`,
    /// an unquoted space, more than one address).
    pub async fn verify(&mut self, address: &str) -> Result<Reply> {
        let address = address_only(address)?;
        self.command("VRFY", &address).await
    }

    /// smtplib's `expn(address)`: EXPN with the bare address or list name, as for
    /// [`Client::verify`].
    pub async fn expn(&mut self, address: &str) -> Result<Reply> {
        let address = address_only(address)?;
        self.command("EXPN", &address).await
    }

    /// smtplib's `help(args)`: HELP.
    pub async fn help(&mut self, args: &str) -> Result<Reply> {
        self.command("HELP", args).await
    }

    /// smtplib's `rset()`: RSET; the transaction's recipients are forgotten.
    pub async fn rset(&mut self) -> Result<Reply> {
        self.transaction.clear();
        self.command("RSET", "").await
    }

    /// smtplib's `noop()`: NOOP.
    pub async fn noop(&mut self) -> Result<Reply> {
        self.command("NOOP", "").await
    }

    /// smtplib's `mail(sender, options)`: MAIL FROM, returning the reply whatever its code.
    /// The sender is the bare address (`<` or `>` anywhere is [`ErrorKind::InvalidArgument`];
    /// the library adds the brackets); `""` is the null reverse-path `MAIL FROM:<>`.
    /// Options are sent only to an ESMTP server (as smtplib does); SMTPUTF8 among them needs
    /// the extension advertised ([`ErrorKind::NotSupported`] otherwise, nothing sent; also
    /// after HELO, so a non-ASCII sender never goes out with the option silently dropped).
    pub async fn mail(&mut self, sender: &str, options: &[&str]) -> Result<Reply> {
        let addr = quote_reverse_path(sender)?;
        // before the options are chosen: STARTTLS changes the capabilities they depend on
        self.enforce_tls_policy_before(b"MAIL").await?;
        let args = self.greetings.envelope_args(format!("FROM:{addr}"), options, true, self.transaction.smtputf8())?;
        let utf8 = options.iter().any(|o| o.eq_ignore_ascii_case("smtputf8"));
        self.transaction.begin(sender, utf8);
        let reply = self.command("MAIL", &args).await?;
        self.transaction.set_sender_reply(reply.clone());
        Ok(reply)
    }

    /// smtplib's `rcpt(recipient, options)`: RCPT TO, returning the reply whatever its code.
    /// The recipient is the bare address, never empty and without `<` or `>`
    /// ([`ErrorKind::InvalidArgument`], nothing sent). The result is kept per recipient (see
    /// [`Client::recipients`]).
    pub async fn rcpt(&mut self, recipient: &str, options: &[&str]) -> Result<Reply> {
        let addr = quote_forward_path(recipient)?;
        self.enforce_tls_policy_before(b"RCPT").await?;
        let args = self.greetings.envelope_args(format!("TO:{addr}"), options, false, self.transaction.smtputf8())?;
        let reply = self.command("RCPT", &args).await?;
        self.transaction.add_recipient(recipient, reply.clone());
        Ok(reply)
    }
}

/// smtplib's `_addr_only`: the address `email.utils.parseaddr` finds in `arg` (`Bob
/// <bob@example.test>` gives `bob@example.test`), or `arg` itself when it holds no mailbox (a
/// user or list name such as `postmaster`). Either way the result must pass the address rule
/// ([`check_address`]: not empty, no `<` or `>`, no unquoted space...); more than one address
/// is [`ErrorKind::InvalidArgument`] too.
fn address_only(arg: &str) -> Result<String> {
    check_line_safe("address", arg)?;
    let address = match parse_address_list(arg) {
        Ok(found) if found.len() > 1 => {
            return Err(Error::invalid(format!("one address expected, {} given: {arg:?}", found.len())))
        }
        Ok(mut found) if found.len() == 1 => found.remove(0),
        _ => arg.trim().to_owned(),
    };
    check_address(&address, false)?;
    Ok(address)
}
