//! Connections: TCP (the name resolved under the timeout, every resolved address tried,
//! optional source address) and Unix sockets, bytes in and out under deadlines (`socket`).
//!
//! The stream is an enum so a TLS layer can replace a plain stream in place (STARTTLS).

mod resolve;
mod socket;

use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{Error, ErrorKind, Result};
pub use crate::protocol::Endpoint;
use crate::tls::{self, TlsConfig, TlsInfo};
use openssl::ssl::SslStream;
use socket::{connect_tcp_addr, connect_unix, PlainSocket};

/// The byte stream under a connection: plain, or TLS over the plain socket.
#[derive(Debug)]
enum Stream {
    Plain(PlainSocket),
    Tls(Box<SslStream<PlainSocket>>),
    /// Only while the TLS handshake owns the socket, or after it failed.
    Gone,
}

impl Stream {
    fn plain(&self) -> Option<&PlainSocket> {
        match self {
            Stream::Plain(p) => Some(p),
            Stream::Tls(t) => Some(t.get_ref()),
            Stream::Gone => None,
        }
    }

    /// The deadline of the operation starting now: every system call under it, TLS records
    /// included, ends by then.
    fn set_deadline(&mut self, deadline: Option<Instant>) {
        match self {
            Stream::Plain(p) => p.set_deadline(deadline),
            Stream::Tls(t) => t.get_mut().set_deadline(deadline),
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
    /// Connect to `endpoint`. TCP tries every resolved address in order until one connects
    /// within `timeout`; `source` binds the local end first (port 0 = any).
    pub fn open(endpoint: &Endpoint, timeout: Option<Duration>, source: Option<&(String, u16)>) -> Result<Self> {
        let (socket, peer, name) = match endpoint {
            Endpoint::Tcp { host, port } => {
                let (s, addr) = connect_tcp(host, *port, timeout, source)?;
                let name = if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") };
                (PlainSocket::tcp(s), Peer::Ip(addr), name)
            }
            Endpoint::Unix(path) => {
                let s = connect_unix(Path::new(path), timeout).map_err(|e| {
                    explain_timeout(Error::from_io(&e, &format!("connect to {path}")), || {
                        format!("connect to {path} timed out after {}", limit(timeout))
                    })
                })?;
                (PlainSocket::unix(s), Peer::Unix, path.clone())
            }
        };
        let received = socket.received();
        Ok(Connection { stream: Stream::Plain(socket), timeout, peer, name, received })
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
        self.stream.set_deadline(deadline);
        self.stream.write(data)
    }

    /// Read some bytes by `deadline`; `Ok(0)` at the end of the stream.
    pub fn read_some(&mut self, buf: &mut [u8], deadline: Option<Instant>) -> Result<usize> {
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
        let mut plain = match std::mem::replace(&mut self.stream, Stream::Gone) {
            Stream::Plain(p) => p,
            other => {
                self.stream = other;
                return Err(Error::bad_state("TLS is already active"));
            }
        };
        // one deadline for the whole handshake, however many reads and writes it takes
        plain.set_deadline(self.deadline());
        let received_before = self.received();
        let (tls, info) = config.handshake(plain, host).map_err(|e| {
            explain_timeout(e, || {
                let (name, after) = (&self.name, limit(self.timeout));
                let received = self.received() - received_before;
                format!("TLS handshake with {name} timed out after {after} ({received} bytes received)")
            })
        })?;
        self.stream = Stream::Tls(Box::new(tls));
        Ok(info)
    }

    /// Close both directions now; nothing more is sent.
    pub fn shutdown(&self) {
        self.stream.shutdown();
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

/// Resolve `host` within `timeout` (see [`resolve`] for what becomes of a resolution that
/// outlives it); `what` prefixes the host in messages.
fn resolve_within(host: &str, port: u16, timeout: Option<Duration>, what: &str) -> Result<Vec<SocketAddr>> {
    resolve::resolve(host, port, timeout.map(|t| Instant::now() + t)).map_err(|e| {
        if e.kind() == io::ErrorKind::TimedOut {
            Error::new(ErrorKind::Timeout, format!("resolving {what}{host} timed out after {}", limit(timeout)))
        } else {
            Error::new(ErrorKind::NameResolution, format!("cannot resolve {what}{host}: {e}"))
        }
    })
}

fn connect_tcp(
    host: &str,
    port: u16,
    timeout: Option<Duration>,
    source: Option<&(String, u16)>,
) -> Result<(TcpStream, SocketAddr)> {
    let addrs = resolve_within(host, port, timeout, "")?;
    let source_addrs = match source {
        Some((h, p)) => Some(resolve_within(h, *p, timeout, "source address ")?),
        None => None,
    };
    let mut last_err = Error::new(ErrorKind::NameResolution, format!("{host} resolved to no address"));
    for addr in addrs {
        let bind = match &source_addrs {
            Some(list) => match list.iter().find(|s| s.is_ipv4() == addr.is_ipv4()) {
                Some(s) => Some(*s),
                None => {
                    last_err = Error::new(ErrorKind::Io, format!("no source address of the family of {addr}"));
                    continue;
                }
            },
            None => None,
        };
        match connect_tcp_addr(addr, timeout, bind) {
            Ok(s) => return Ok((s, addr)),
            Err(e) => {
                last_err = explain_timeout(Error::from_io(&e, &format!("connect to {host} ({addr})")), || {
                    format!("connect to {host} ({addr}) timed out after {}", limit(timeout))
                });
            }
        }
    }
    Err(last_err)
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
