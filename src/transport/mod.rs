//! Connections: TCP (the name resolved under the timeout, every resolved address tried,
//! optional source address) and Unix sockets, bytes in and out under deadlines (`socket`).
//!
//! The stream is an enum so a TLS layer can replace a plain stream in place (STARTTLS).
//!
//! Two ways to drive it. The blocking driver calls [`Connection::open`], `read_some`,
//! `write_some` and `start_tls`, each bounded by a deadline the socket enforces. The
//! non-blocking driver opens with an [`Opening`] and then calls [`Connection::try_read`],
//! [`Connection::try_write`], [`Connection::start_tls_nonblocking`] and
//! [`Connection::continue_tls`], which never wait: when one would, it says what to wait for
//! ([`Interest`]) on [`Connection::raw_fd`], and the driver keeps the clock, turning a deadline
//! that passes into the same message the blocking calls give with
//! [`Connection::timeout_error`]. Each family puts the socket in its mode (`O_NONBLOCK` on or
//! off) when called, so one connection may be handed from one driver to the other.

mod resolve;
mod socket;

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::os::fd::RawFd;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::engine::Deadline;
use crate::error::{Error, ErrorKind, Result};
pub use crate::protocol::Endpoint;
use crate::tls::{self, TlsConfig, TlsInfo};
use openssl::ssl::{ErrorCode, SslStream};
use socket::{connect_tcp_addr, connect_unix, try_connect_unix, PlainSocket, RetryTimer, TcpConnect};

/// The byte stream under a connection: plain, or TLS over the plain socket.
#[derive(Debug)]
enum Stream {
    Plain(PlainSocket),
    Tls(Box<SslStream<PlainSocket>>),
    /// A TLS handshake begun without blocking and not finished yet.
    Handshaking(Box<tls::MidHandshake<PlainSocket>>),
    /// Only while the TLS handshake owns the socket, or after it failed.
    Gone,
}

/// What a non-blocking step waits for on its file descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interest {
    /// The descriptor becoming readable (`POLLIN`).
    Read,
    /// The descriptor becoming writable (`POLLOUT`).
    Write,
}

/// The step that was waiting when a non-blocking driver's deadline passed: what
/// [`Connection::timeout_error`] needs to word the timeout as the blocking calls do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutPhase {
    /// Writing `total` bytes, of which `written` went out (as [`Connection::explain_write_error`]).
    Write {
        /// Bytes written before the deadline passed.
        written: usize,
        /// Bytes the write was to send.
        total: usize,
    },
    /// Waiting for a reply that began when [`Connection::received`] was `received_before` (as
    /// [`Connection::explain_reply_error`]).
    Reply {
        /// [`Connection::received`] when the wait began.
        received_before: u64,
    },
    /// The TLS handshake begun by [`Connection::start_tls_nonblocking`] (the connection
    /// remembers how many bytes had arrived when it began).
    TlsHandshake,
}

/// The interest an OpenSSL error on a non-blocking socket waits for: `WANT_READ` / `WANT_WRITE`
/// because the socket would block (`None` for anything else, including a `WANT_*` without
/// `WouldBlock`, which means "call again").
fn tls_would_block(e: &openssl::ssl::Error) -> Option<Interest> {
    let would_block = e.io_error().is_some_and(|io| io.kind() == io::ErrorKind::WouldBlock);
    match e.code() {
        _ if !would_block => None,
        ErrorCode::WANT_READ => Some(Interest::Read),
        ErrorCode::WANT_WRITE => Some(Interest::Write),
        _ => None,
    }
}

impl Stream {
    fn plain(&self) -> Option<&PlainSocket> {
        match self {
            Stream::Plain(p) => Some(p),
            Stream::Tls(t) => Some(t.get_ref()),
            Stream::Handshaking(h) => Some(h.get_ref()),
            Stream::Gone => None,
        }
    }

    fn plain_mut(&mut self) -> Option<&mut PlainSocket> {
        match self {
            Stream::Plain(p) => Some(p),
            Stream::Tls(t) => Some(t.get_mut()),
            Stream::Handshaking(h) => Some(h.get_mut()),
            Stream::Gone => None,
        }
    }

    /// Put the socket in non-blocking or blocking mode (see [`PlainSocket::set_nonblocking`]).
    fn set_nonblocking(&mut self, nonblocking: bool) -> Result<()> {
        match self.plain_mut() {
            Some(p) => p.set_nonblocking(nonblocking).map_err(|e| {
                Error::from_io(
                    &e,
                    if nonblocking { "setting the socket non-blocking" } else { "setting the socket blocking" },
                )
            }),
            None => Ok(()),
        }
    }

    /// Read without blocking: see [`Connection::try_read`].
    fn try_read(&mut self, buf: &mut [u8]) -> Result<std::result::Result<usize, Interest>> {
        match self {
            Stream::Plain(p) => match p.read(buf) {
                Ok(n) => Ok(Ok(n)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(Err(Interest::Read)),
                Err(e) => Err(Error::from_io(&e, "read")),
            },
            Stream::Tls(t) => loop {
                match t.ssl_read(buf) {
                    Ok(n) => return Ok(Ok(n)),
                    Err(e) => {
                        if let Some(interest) = tls_would_block(&e) {
                            return Ok(Err(interest));
                        }
                        if let Some(n) = tls::after_handshake(e, "read")? {
                            return Ok(Ok(n));
                        }
                    }
                }
            },
            Stream::Handshaking(_) => Err(Error::bad_state("the TLS handshake is still in progress")),
            Stream::Gone => Err(Error::disconnected("not connected")),
        }
    }

    /// Write without blocking: see [`Connection::try_write`].
    fn try_write(&mut self, buf: &[u8]) -> Result<std::result::Result<usize, Interest>> {
        match self {
            Stream::Plain(p) => match p.write(buf) {
                Ok(n) => Ok(Ok(n)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(Err(Interest::Write)),
                Err(e) => Err(Error::from_io(&e, "write")),
            },
            Stream::Tls(t) => loop {
                match t.ssl_write(buf) {
                    Ok(n) => return Ok(Ok(n)),
                    Err(e) => {
                        if let Some(interest) = tls_would_block(&e) {
                            return Ok(Err(interest));
                        }
                        if let Some(n) = tls::after_handshake(e, "write")? {
                            return Ok(Ok(n));
                        }
                    }
                }
            },
            Stream::Handshaking(_) => Err(Error::bad_state("the TLS handshake is still in progress")),
            Stream::Gone => Err(Error::disconnected("not connected")),
        }
    }

    /// The deadline of the operation starting now: every system call under it, TLS records
    /// included, ends by then.
    fn set_deadline(&mut self, deadline: Option<Instant>) {
        match self {
            Stream::Plain(p) => p.set_deadline(deadline),
            Stream::Tls(t) => t.get_mut().set_deadline(deadline),
            Stream::Handshaking(h) => h.get_mut().set_deadline(deadline),
            Stream::Gone => {}
        }
    }

    /// Read some bytes; `Ok(0)` at the end of the stream.
    fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        match self {
            Stream::Plain(p) => p.read(buf).map_err(|e| Error::from_io(&e, "read")),
            Stream::Tls(t) => loop {
                match t.ssl_read(buf) {
                    Ok(n) => return Ok(n),
                    Err(e) => {
                        if let Some(n) = tls::after_handshake(e, "read")? {
                            return Ok(n);
                        }
                    }
                }
            },
            Stream::Handshaking(_) => Err(Error::bad_state("the TLS handshake is still in progress")),
            Stream::Gone => Err(Error::disconnected("not connected")),
        }
    }

    /// Write some of `buf`; `Ok(0)` when the peer has closed the stream.
    fn write(&mut self, buf: &[u8]) -> Result<usize> {
        match self {
            Stream::Plain(p) => p.write(buf).map_err(|e| Error::from_io(&e, "write")),
            Stream::Tls(t) => loop {
                match t.ssl_write(buf) {
                    Ok(n) => return Ok(n),
                    Err(e) => {
                        if let Some(n) = tls::after_handshake(e, "write")? {
                            return Ok(n);
                        }
                    }
                }
            },
            Stream::Handshaking(_) => Err(Error::bad_state("the TLS handshake is still in progress")),
            Stream::Gone => Err(Error::disconnected("not connected")),
        }
    }

    fn shutdown(&self) {
        if let Some(p) = self.plain() {
            p.shutdown();
        }
    }
}

/// An open connection to a server: bytes in and out under the deadline the caller (the
/// engine, through its driver) gives; no framing here.
#[derive(Debug)]
pub struct Connection {
    stream: Stream,
    timeout: Option<Duration>,
    peer: Peer,
    /// The endpoint as messages name it: `host:port` or the socket path.
    name: String,
    /// Bytes read from the socket so far (see `PlainSocket::received`).
    received: Arc<AtomicU64>,
    /// [`Connection::received`] when the last non-blocking TLS handshake began.
    handshake_received_before: u64,
}

/// What kind of peer a connection reaches: used by policies such as "credentials only over TLS
/// unless the peer is on this machine".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Peer {
    /// A TCP peer at this address.
    Ip(SocketAddr),
    /// A Unix-domain socket.
    Unix,
}

impl Peer {
    /// Whether the peer is on this machine: a loopback address or a Unix socket.
    pub fn is_local(&self) -> bool {
        match self {
            Peer::Ip(a) => match a.ip() {
                IpAddr::V4(v4) => v4.is_loopback(),
                IpAddr::V6(v6) => v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
            },
            Peer::Unix => true,
        }
    }
}

impl Connection {
    /// Connect to `endpoint`. TCP tries every resolved address in order until one connects,
    /// the whole opening (name resolution included) within `timeout`; `source` binds the
    /// local end first (port 0 = any).
    pub fn open(endpoint: &Endpoint, timeout: Option<Duration>, source: Option<&(String, u16)>) -> Result<Self> {
        Connection::open_until(endpoint, timeout.map(|t| Instant::now() + t), timeout, source)
    }

    /// [`Connection::open`] with the whole opening bounded by `deadline`; `limit` is the
    /// limit timeout messages state (the one that set the deadline), and the connection's
    /// timeout (see [`Connection::set_timeout`]).
    pub fn open_until(
        endpoint: &Endpoint,
        deadline: Option<Instant>,
        limit: Option<Duration>,
        source: Option<&(String, u16)>,
    ) -> Result<Self> {
        match endpoint {
            Endpoint::Tcp { host, port } => {
                let (s, addr) = connect_tcp(host, *port, deadline, limit, source)?;
                Ok(Connection::new(PlainSocket::tcp(s), Peer::Ip(addr), tcp_name(host, *port), limit))
            }
            Endpoint::Unix(path) => {
                let s = connect_unix(Path::new(path), deadline).map_err(|e| unix_connect_error(&e, path, limit))?;
                Ok(Connection::new(PlainSocket::unix(s), Peer::Unix, path.clone(), limit))
            }
        }
    }

    fn new(socket: PlainSocket, peer: Peer, name: String, timeout: Option<Duration>) -> Connection {
        let received = socket.received();
        Connection { stream: Stream::Plain(socket), timeout, peer, name, received, handshake_received_before: 0 }
    }

    /// Bytes read from the socket so far, TLS records included.
    pub fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    /// The peer this connection reaches.
    pub fn peer(&self) -> &Peer {
        &self.peer
    }

    /// The timeout messages state (the deadlines themselves come with each call).
    pub fn set_timeout(&mut self, timeout: Option<Duration>) {
        self.timeout = timeout;
    }

    /// The deadline of an operation starting now.
    fn deadline(&self) -> Option<Instant> {
        self.timeout.map(|t| Instant::now() + t)
    }

    /// Write some of `data` by `deadline`; `Ok(0)` when the peer has closed the stream. For
    /// TLS one such write is at most one record.
    pub fn write_some(&mut self, data: &[u8], deadline: Option<Instant>) -> Result<usize> {
        self.stream.set_nonblocking(false)?;
        self.stream.set_deadline(deadline);
        self.stream.write(data)
    }

    /// Read some bytes by `deadline`; `Ok(0)` at the end of the stream.
    pub fn read_some(&mut self, buf: &mut [u8], deadline: Option<Instant>) -> Result<usize> {
        self.stream.set_nonblocking(false)?;
        self.stream.set_deadline(deadline);
        self.stream.read(buf)
    }

    /// `e` from a write of `total` bytes of which `written` went out, its message naming the
    /// peer, the limit and the progress when it is a timeout.
    pub fn explain_write_error(&self, e: Error, written: usize, total: usize) -> Error {
        explain_timeout(e, || {
            let (name, after) = (&self.name, limit(self.timeout));
            format!("writing to {name} timed out after {after} ({written} of {total} bytes written)")
        })
    }

    /// `e` from waiting for a reply that began when [`Connection::received`] was
    /// `received_before`, its message naming the peer, the limit and the bytes that did arrive
    /// when it is a timeout.
    pub fn explain_reply_error(&self, e: Error, received_before: u64) -> Error {
        explain_timeout(e, || {
            let (name, after) = (&self.name, limit(self.timeout));
            let received = self.received() - received_before;
            format!("timed out after {after} waiting for the reply from {name} ({received} bytes received)")
        })
    }

    /// Whether the stream is TLS.
    pub fn is_tls(&self) -> bool {
        matches!(self.stream, Stream::Tls(_))
    }

    /// Run the TLS client handshake on the open plain connection (implicit TLS, or after a
    /// 220 to STARTTLS). The caller has checked that no byte the server sent is waiting
    /// unread: anything sent before the handshake must not be read as if it came over TLS.
    pub fn start_tls(&mut self, config: &TlsConfig, host: &str) -> Result<TlsInfo> {
        self.start_tls_until(config, host, self.deadline())
    }

    /// [`Connection::start_tls`] with the whole handshake bounded by `deadline` (the limit
    /// messages state is the connection's timeout, see [`Connection::set_timeout`]).
    pub fn start_tls_until(&mut self, config: &TlsConfig, host: &str, deadline: Option<Instant>) -> Result<TlsInfo> {
        let mut plain = match std::mem::replace(&mut self.stream, Stream::Gone) {
            Stream::Plain(p) => p,
            other => {
                self.stream = other;
                return Err(Error::bad_state("TLS is already active"));
            }
        };
        if let Err(e) = plain.set_nonblocking(false) {
            self.stream = Stream::Plain(plain);
            return Err(Error::from_io(&e, "setting the socket blocking"));
        }
        // one deadline for the whole handshake, however many reads and writes it takes
        plain.set_deadline(deadline);
        let received_before = self.received();
        let (tls, info) =
            config.handshake(plain, host).map_err(|e| self.explain_handshake_error(e, received_before))?;
        self.stream = Stream::Tls(Box::new(tls));
        Ok(info)
    }

    /// `e` from a TLS handshake that began when [`Connection::received`] was
    /// `received_before`, its message naming the peer, the limit and the bytes that arrived
    /// when it is a timeout.
    fn explain_handshake_error(&self, e: Error, received_before: u64) -> Error {
        explain_timeout(e, || {
            let (name, after) = (&self.name, limit(self.timeout));
            let received = self.received() - received_before;
            format!("TLS handshake with {name} timed out after {after} ({received} bytes received)")
        })
    }

    /// The socket's descriptor, to wait on between non-blocking calls: the same for the
    /// connection's life, TLS included (`-1` once a failed TLS handshake has closed it).
    pub fn raw_fd(&self) -> RawFd {
        self.stream.plain().map_or(-1, PlainSocket::raw_fd)
    }

    /// Read without blocking (the socket is put in non-blocking mode): `Ok(Ok(n))` bytes read
    /// (`0`: the end of the stream), `Ok(Err(interest))` when it would block, until the
    /// descriptor is ready for `interest` (for TLS this can be [`Interest::Write`]: a key
    /// update or renegotiation wants to write), or the error as [`Connection::read_some`]
    /// classifies it (a timeout excepted: the driver keeps the clock, see
    /// [`Connection::timeout_error`]).
    ///
    /// Call again until it would block before waiting: TLS may hold decrypted bytes that no
    /// socket event announces.
    pub fn try_read(&mut self, buf: &mut [u8]) -> Result<std::result::Result<usize, Interest>> {
        self.stream.set_nonblocking(true)?;
        self.stream.try_read(buf)
    }

    /// Write some of `data` without blocking, with the convention of [`Connection::try_read`]
    /// (`Ok(Ok(0))`: the peer has closed the stream; for TLS at most one record, and
    /// [`Interest::Read`] is possible). After a TLS write that would block, the next call
    /// must offer the same bytes again (OpenSSL has begun a record of them).
    pub fn try_write(&mut self, data: &[u8]) -> Result<std::result::Result<usize, Interest>> {
        self.stream.set_nonblocking(true)?;
        self.stream.try_write(data)
    }

    /// Start the TLS client handshake on the open plain connection without blocking (the
    /// socket is put in non-blocking mode): the checks, verification, SNI and errors of
    /// [`Connection::start_tls`] ([`ErrorKind::TlsCertificate`] when verification fails,
    /// [`ErrorKind::Tls`] otherwise). `Ok(Ok(info))`: done; `Ok(Err(interest))`: wait until
    /// [`Connection::raw_fd`] is ready for `interest`, then call [`Connection::continue_tls`].
    /// On an error the connection is closed. The caller has checked that no byte the server
    /// sent is waiting unread, as for `start_tls`.
    pub fn start_tls_nonblocking(
        &mut self,
        config: &TlsConfig,
        host: &str,
    ) -> Result<std::result::Result<TlsInfo, Interest>> {
        let mut plain = match std::mem::replace(&mut self.stream, Stream::Gone) {
            Stream::Plain(p) => p,
            other => {
                let message = match other {
                    Stream::Handshaking(_) => "a TLS handshake is already in progress",
                    _ => "TLS is already active",
                };
                self.stream = other;
                return Err(Error::bad_state(message));
            }
        };
        if let Err(e) = plain.set_nonblocking(true) {
            self.stream = Stream::Plain(plain);
            return Err(Error::from_io(&e, "setting the socket non-blocking"));
        }
        self.handshake_received_before = self.received();
        let step = config.begin_handshake(plain, host);
        self.after_handshake_step(step)
    }

    /// Continue the TLS handshake begun by [`Connection::start_tls_nonblocking`], with the
    /// same convention; call when the descriptor is ready for what the last call asked (or at
    /// any time: a call too early asks again).
    pub fn continue_tls(&mut self) -> Result<std::result::Result<TlsInfo, Interest>> {
        match std::mem::replace(&mut self.stream, Stream::Gone) {
            Stream::Handshaking(mid) => {
                let step = mid.resume();
                self.after_handshake_step(step)
            }
            other => {
                self.stream = other;
                Err(Error::bad_state("no TLS handshake is in progress"))
            }
        }
    }

    fn after_handshake_step(
        &mut self,
        step: Result<tls::Handshake<PlainSocket>>,
    ) -> Result<std::result::Result<TlsInfo, Interest>> {
        match step {
            Ok(tls::Handshake::Done(stream, info)) => {
                self.stream = Stream::Tls(Box::new(stream));
                Ok(Ok(info))
            }
            Ok(tls::Handshake::WouldBlock(mid)) => {
                let interest = if mid.wants_write() { Interest::Write } else { Interest::Read };
                self.stream = Stream::Handshaking(Box::new(mid));
                Ok(Err(interest))
            }
            Err(e) => Err(self.explain_handshake_error(e, self.handshake_received_before)),
        }
    }

    /// The error for a non-blocking step whose deadline passed (the non-blocking driver keeps
    /// the clock): [`ErrorKind::Timeout`] with the very message the blocking call gives,
    /// naming the step, the peer, the limit (the connection's timeout, see
    /// [`Connection::set_timeout`]) and how far it got. The same as passing
    /// `Error::new(ErrorKind::Timeout, ..)` to [`Connection::explain_write_error`] or
    /// [`Connection::explain_reply_error`].
    pub fn timeout_error(&self, what: TimeoutPhase) -> Error {
        let timeout = Error::new(ErrorKind::Timeout, "timed out");
        match what {
            TimeoutPhase::Write { written, total } => self.explain_write_error(timeout, written, total),
            TimeoutPhase::Reply { received_before } => self.explain_reply_error(timeout, received_before),
            TimeoutPhase::TlsHandshake => self.explain_handshake_error(timeout, self.handshake_received_before),
        }
    }

    /// Close both directions now; nothing more is sent.
    pub fn shutdown(&self) {
        self.stream.shutdown();
    }
}

/// `e`, its message naming the phase of the wait and the limit that applied (see
/// [`Deadline::describe`]) when it is a timeout and `deadline` was the wait's deadline: e.g.
/// "timed out after 200 ms waiting for the reply from mx:25 (0 bytes received) during RCPT
/// (the RCPT timeout)".
pub fn explain_deadline(e: Error, deadline: Option<&Deadline>) -> Error {
    match deadline {
        Some(d) if e.kind() == ErrorKind::Timeout => {
            let message = format!("{} {}", e.message(), d.describe());
            e.reworded(message)
        }
        _ => e,
    }
}

/// A timeout as messages state it, e.g. "3000 ms".
fn limit(timeout: Option<Duration>) -> String {
    format!("{} ms", timeout.unwrap_or_default().as_millis())
}

/// `e`, with the message `say()` when it is a timeout: one that names the step, the peer, the
/// limit and how far it got.
fn explain_timeout(e: Error, say: impl FnOnce() -> String) -> Error {
    if e.kind() == ErrorKind::Timeout {
        e.reworded(say())
    } else {
        e
    }
}

/// The endpoint as messages name it: `host:port`, `[v6]:port`.
fn tcp_name(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// A failed resolution of `host` (`what` prefixes it), `timeout` the limit messages state.
fn resolve_error(e: &io::Error, host: &str, timeout: Option<Duration>, what: &str) -> Error {
    if e.kind() == io::ErrorKind::TimedOut {
        Error::new(ErrorKind::Timeout, format!("resolving {what}{host} timed out after {}", limit(timeout)))
    } else {
        Error::new(ErrorKind::NameResolution, format!("cannot resolve {what}{host}: {e}"))
    }
}

/// A failed connect to `addr`, which `host` resolved to.
fn connect_error(e: &io::Error, host: &str, addr: SocketAddr, timeout: Option<Duration>) -> Error {
    explain_timeout(Error::from_io(e, &format!("connect to {host} ({addr})")), || {
        format!("connect to {host} ({addr}) timed out after {}", limit(timeout))
    })
}

/// A failed connect to the Unix-domain socket at `path`.
fn unix_connect_error(e: &io::Error, path: &str, timeout: Option<Duration>) -> Error {
    explain_timeout(Error::from_io(e, &format!("connect to {path}")), || {
        format!("connect to {path} timed out after {}", limit(timeout))
    })
}

/// The error before any address was tried: the name resolved to none.
fn no_address(host: &str) -> Error {
    Error::new(ErrorKind::NameResolution, format!("{host} resolved to no address"))
}

/// The source address to bind before connecting to `addr`: the first of `sources` of its
/// family (`None` when no source was asked for).
fn source_for(sources: Option<&[SocketAddr]>, addr: SocketAddr) -> Result<Option<SocketAddr>> {
    match sources {
        None => Ok(None),
        Some(list) => match list.iter().find(|s| s.is_ipv4() == addr.is_ipv4()) {
            Some(s) => Ok(Some(*s)),
            None => Err(Error::new(ErrorKind::Io, format!("no source address of the family of {addr}"))),
        },
    }
}

/// Resolve `host` by `deadline` (see [`resolve`] for what becomes of a resolution that
/// outlives it); `what` prefixes the host in messages, which state `limit`.
fn resolve_within(
    host: &str,
    port: u16,
    deadline: Option<Instant>,
    limit: Option<Duration>,
    what: &str,
) -> Result<Vec<SocketAddr>> {
    resolve::resolve(host, port, deadline).map_err(|e| resolve_error(&e, host, limit, what))
}

/// Connect to `host`, the whole opening by `deadline` (messages state `limit`).
fn connect_tcp(
    host: &str,
    port: u16,
    deadline: Option<Instant>,
    limit: Option<Duration>,
    source: Option<&(String, u16)>,
) -> Result<(TcpStream, SocketAddr)> {
    let addrs = resolve_within(host, port, deadline, limit, "")?;
    let source_addrs = match source {
        Some((h, p)) => Some(resolve_within(h, *p, deadline, limit, "source address ")?),
        None => None,
    };
    let mut last_err = no_address(host);
    for addr in addrs {
        let bind = match source_for(source_addrs.as_deref(), addr) {
            Ok(bind) => bind,
            Err(e) => {
                last_err = e;
                continue;
            }
        };
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        if left.is_some_and(|l| l.is_zero()) {
            last_err = connect_error(&io::ErrorKind::TimedOut.into(), host, addr, limit);
            break;
        }
        match connect_tcp_addr(addr, left, bind) {
            Ok(s) => return Ok((s, addr)),
            Err(e) => last_err = connect_error(&e, host, addr, limit),
        }
    }
    Err(last_err)
}

/// The first delay before a Unix-socket connect refused for a full backlog is tried again,
/// and the longest: it doubles from one to the other.
const UNIX_RETRY_FIRST: Duration = Duration::from_millis(5);
const UNIX_RETRY_MAX: Duration = Duration::from_millis(100);

/// A connection being opened without blocking.
///
/// TCP: the name is resolved on the resolver pool (at most four reused threads; IP literals
/// never go there), then the source address when one is given, each answer announced on a
/// descriptor the caller polls; then a non-blocking `connect` to each resolved address in
/// order, the next one when it fails, from the source address when given.
///
/// Unix sockets: a non-blocking `connect`. A listener whose backlog is full refuses it with
/// `EAGAIN`, and on Linux no socket event announces room, so the opening waits on a timer
/// descriptor and tries again (after 5 ms, doubling up to 100 ms) until the deadline: the same
/// outcome as the blocking open, which waits for room up to its timeout.
///
/// The deadline bounds the whole opening. Dropping an `Opening` abandons it: its descriptors
/// are closed, and a resolution still running finishes on its thread and is dropped.
#[derive(Debug)]
pub struct Opening {
    target: Target,
    deadline: Option<Instant>,
    timeout: Option<Duration>,
    step: OpeningStep,
}

#[derive(Debug)]
enum Target {
    Tcp { host: String, port: u16, source: Option<(String, u16)> },
    Unix(String),
}

#[derive(Debug)]
enum OpeningStep {
    /// Resolving the host name.
    Host(resolve::Pending),
    /// Resolving the source address; the host's addresses are known.
    Source { addrs: VecDeque<SocketAddr>, pending: resolve::Pending },
    /// Connecting to `addr`; `rest` to try next.
    Connecting { connect: TcpConnect, addr: SocketAddr, rest: VecDeque<SocketAddr>, sources: Option<Vec<SocketAddr>> },
    /// A Unix-socket connect refused for a full backlog, tried again when `timer` fires.
    UnixBacklog { socket: Option<socket2::Socket>, timer: RetryTimer, delay: Duration },
    /// Connected at once; handed over at the next advance.
    Ready(Box<Connection>),
    /// Finished: the connection or the error was returned.
    Spent,
}

impl Opening {
    /// Begin opening `endpoint`: the arguments and errors of [`Connection::open`] (`source`:
    /// the local address and port to bind; `timeout`: the limit messages state), with
    /// `deadline` bounding the whole opening. Fails at once only when no step could begin
    /// (every address refused at once, a resolver thread that cannot be started).
    pub fn start(
        endpoint: &Endpoint,
        source: Option<&(String, u16)>,
        deadline: Option<Instant>,
        timeout: Option<Duration>,
    ) -> Result<Opening> {
        let target = match endpoint {
            Endpoint::Tcp { host, port } => Target::Tcp { host: host.clone(), port: *port, source: source.cloned() },
            Endpoint::Unix(path) => Target::Unix(path.clone()),
        };
        let mut opening = Opening { target, deadline, timeout, step: OpeningStep::Spent };
        opening.step = match &opening.target {
            Target::Tcp { host, port, .. } => match opening.resolve(host, *port, "")? {
                Ok(addrs) => opening.resolved_host(addrs.into())?,
                Err(pending) => OpeningStep::Host(pending),
            },
            Target::Unix(path) => {
                let timer = RetryTimer::new().map_err(|e| unix_connect_error(&e, path, timeout))?;
                opening.try_unix(OpeningStep::UnixBacklog { socket: None, timer, delay: Duration::ZERO })?
            }
        };
        Ok(opening)
    }

    /// The descriptor to wait on now and for what: the resolver's socket pair while resolving
    /// (readable), the socket while connecting (writable), the retry timer while a Unix socket's
    /// backlog is full (readable). `-1` once [`Opening::advance`] has returned the connection
    /// or an error.
    pub fn wait_for(&self) -> (RawFd, Interest) {
        match &self.step {
            OpeningStep::Host(pending) | OpeningStep::Source { pending, .. } => (pending.fd(), Interest::Read),
            OpeningStep::Connecting { connect, .. } => (connect.raw_fd(), Interest::Write),
            OpeningStep::UnixBacklog { timer, .. } => (timer.raw_fd(), Interest::Read),
            OpeningStep::Ready(conn) => (conn.raw_fd(), Interest::Write),
            OpeningStep::Spent => (-1, Interest::Read),
        }
    }

    /// Make progress, after the descriptor of [`Opening::wait_for`] is ready or at any time
    /// (a call with nothing to do is harmless). `Ok(Some(conn))`: connected, the connection in
    /// non-blocking mode and its timeout set; `Ok(None)`: still under way; `Err`: failed, with
    /// the kinds and messages of [`Connection::open`]. At or past the deadline (`now` is the
    /// caller's clock) a step still under way fails with [`ErrorKind::Timeout`] naming it:
    /// "resolving X timed out after N ms", "connect to X (address) timed out after N ms".
    /// After `Ok(Some(_))` or `Err`, further calls are a [`ErrorKind::BadState`] error.
    pub fn advance(&mut self, now: Instant) -> Result<Option<Connection>> {
        let step = std::mem::replace(&mut self.step, OpeningStep::Spent);
        match self.step_from(step, now) {
            Ok(OpeningStep::Ready(conn)) => Ok(Some(*conn)),
            Ok(step) => {
                self.step = step;
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Where `step` leads now: the same step when nothing has happened (or a timeout when
    /// the deadline has passed), the next one, `Ready`, or the error.
    fn step_from(&self, step: OpeningStep, now: Instant) -> Result<OpeningStep> {
        let past_deadline = self.deadline.is_some_and(|d| now >= d);
        match step {
            OpeningStep::Host(mut pending) => match pending.try_answer() {
                Some(answer) => {
                    let addrs = answer.map_err(|e| resolve_error(&e, self.host(), self.timeout, ""))?;
                    let next = self.resolved_host(addrs.into())?;
                    self.step_from(next, now)
                }
                None if past_deadline => Err(self.timed_out_resolving("")),
                None => Ok(OpeningStep::Host(pending)),
            },
            OpeningStep::Source { addrs, mut pending } => match pending.try_answer() {
                Some(answer) => {
                    let Target::Tcp { source: Some((h, _)), .. } = &self.target else {
                        unreachable!("a source is resolved only for a TCP target with one")
                    };
                    let sources = answer.map_err(|e| resolve_error(&e, h, self.timeout, "source address "))?;
                    let next = self.connect_next(addrs, Some(sources), None)?;
                    self.step_from(next, now)
                }
                None if past_deadline => Err(self.timed_out_resolving("source address ")),
                None => Ok(OpeningStep::Source { addrs, pending }),
            },
            OpeningStep::Connecting { connect, addr, rest, sources } => {
                let host = self.host();
                match connect.connected() {
                    Ok(true) => {
                        let stream = connect.into_stream().map_err(|e| connect_error(&e, host, addr, self.timeout))?;
                        Ok(OpeningStep::Ready(Box::new(self.connection(PlainSocket::tcp(stream), Peer::Ip(addr))?)))
                    }
                    Ok(false) if past_deadline => {
                        Err(connect_error(&io::ErrorKind::TimedOut.into(), host, addr, self.timeout))
                    }
                    Ok(false) => Ok(OpeningStep::Connecting { connect, addr, rest, sources }),
                    Err(e) => {
                        let last_err = connect_error(&e, host, addr, self.timeout);
                        let next = self.connect_next(rest, sources, Some(last_err))?;
                        self.step_from(next, now)
                    }
                }
            }
            OpeningStep::UnixBacklog { .. } if past_deadline => {
                let Target::Unix(path) = &self.target else { unreachable!("a Unix target") };
                Err(unix_connect_error(&io::ErrorKind::TimedOut.into(), path, self.timeout))
            }
            step @ OpeningStep::UnixBacklog { .. } => self.try_unix(step),
            OpeningStep::Ready(conn) => Ok(OpeningStep::Ready(conn)),
            OpeningStep::Spent => Err(Error::bad_state("this opening has already finished")),
        }
    }

    /// The host name or address, or the socket path.
    fn host(&self) -> &str {
        match &self.target {
            Target::Tcp { host, .. } => host,
            Target::Unix(path) => path,
        }
    }

    /// The addresses of `host` now (an IP literal), or the resolution submitted to the pool.
    fn resolve(
        &self,
        host: &str,
        port: u16,
        what: &str,
    ) -> Result<std::result::Result<Vec<SocketAddr>, resolve::Pending>> {
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(Ok(vec![SocketAddr::new(ip, port)]));
        }
        resolve::submit_nonblocking(host, port, self.deadline)
            .map(Err)
            .map_err(|e| resolve_error(&e, host, self.timeout, what))
    }

    /// The next step once the host's addresses are known: resolve the source, or connect.
    fn resolved_host(&self, addrs: VecDeque<SocketAddr>) -> Result<OpeningStep> {
        match &self.target {
            Target::Tcp { source: Some((h, p)), .. } => match self.resolve(h, *p, "source address ")? {
                Ok(sources) => self.connect_next(addrs, Some(sources), None),
                Err(pending) => Ok(OpeningStep::Source { addrs, pending }),
            },
            _ => self.connect_next(addrs, None, None),
        }
    }

    /// Start connecting to the first of `addrs` that can be tried; the last error (or "resolved
    /// to no address") when none is left.
    fn connect_next(
        &self,
        mut addrs: VecDeque<SocketAddr>,
        sources: Option<Vec<SocketAddr>>,
        last_err: Option<Error>,
    ) -> Result<OpeningStep> {
        let host = self.host();
        let mut last_err = last_err.unwrap_or_else(|| no_address(host));
        while let Some(addr) = addrs.pop_front() {
            let bind = match source_for(sources.as_deref(), addr) {
                Ok(bind) => bind,
                Err(e) => {
                    last_err = e;
                    continue;
                }
            };
            match TcpConnect::start(addr, bind) {
                Ok(connect) => return Ok(OpeningStep::Connecting { connect, addr, rest: addrs, sources }),
                Err(e) => last_err = connect_error(&e, host, addr, self.timeout),
            }
        }
        Err(last_err)
    }

    /// Try the Unix-socket connect again: `Ready`, or the retry timer armed with the next delay.
    fn try_unix(&self, step: OpeningStep) -> Result<OpeningStep> {
        let Target::Unix(path) = &self.target else { unreachable!("a Unix target") };
        let OpeningStep::UnixBacklog { mut socket, timer, delay } = step else { unreachable!("a Unix step") };
        match try_connect_unix(&mut socket, Path::new(path)).map_err(|e| unix_connect_error(&e, path, self.timeout))? {
            Some(s) => Ok(OpeningStep::Ready(Box::new(self.connection(PlainSocket::unix(s), Peer::Unix)?))),
            None => {
                let delay = if delay.is_zero() { UNIX_RETRY_FIRST } else { (delay * 2).min(UNIX_RETRY_MAX) };
                // never past the deadline: the timer wakes the caller for the timeout too
                let wait = match self.deadline {
                    Some(d) => delay.min(d.saturating_duration_since(Instant::now())),
                    None => delay,
                };
                timer.arm(wait).map_err(|e| unix_connect_error(&e, path, self.timeout))?;
                Ok(OpeningStep::UnixBacklog { socket, timer, delay })
            }
        }
    }

    fn timed_out_resolving(&self, what: &str) -> Error {
        let host = match &self.target {
            Target::Tcp { source: Some((h, _)), .. } if !what.is_empty() => h.clone(),
            _ => self.host().to_owned(),
        };
        resolve_error(&io::ErrorKind::TimedOut.into(), &host, self.timeout, what)
    }

    /// The opened connection, in non-blocking mode.
    fn connection(&self, mut socket: PlainSocket, peer: Peer) -> Result<Connection> {
        let name = match &self.target {
            Target::Tcp { host, port, .. } => tcp_name(host, *port),
            Target::Unix(path) => path.clone(),
        };
        socket.set_nonblocking(true).map_err(|e| Error::from_io(&e, &format!("connect to {name}")))?;
        Ok(Connection::new(socket, peer, name, self.timeout))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_peers() {
        assert!(Peer::Ip("127.0.0.1:25".parse().unwrap()).is_local());
        assert!(Peer::Ip("[::1]:25".parse().unwrap()).is_local());
        assert!(Peer::Ip("[::ffff:127.0.0.1]:25".parse().unwrap()).is_local());
        assert!(!Peer::Ip("192.0.2.1:25".parse().unwrap()).is_local());
        assert!(Peer::Unix.is_local());
    }
}
