//! The plain socket under every connection, and the deadline it enforces.
//!
//! The deadline belongs to the operation under way (one reply, one write, the TLS handshake)
//! and lives here, in the stream OpenSSL reads from and writes to, so that each system call
//! waits only for what is left of it however many calls the operation takes: a server that
//! drips a reply, a TLS record or its handshake one byte at a time cannot stretch it.
//!
//! In non-blocking mode (the non-blocking driver, which keeps the clock itself) there is no
//! deadline here: a call that would block ends at once with `io::ErrorKind::WouldBlock`, passed
//! through to the caller (and to OpenSSL, which reports it as `WANT_READ` / `WANT_WRITE`).

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use socket2::{Domain, SockAddr, SockRef, Socket, Type};

/// How far the socket's timeout may be from what is left of the deadline. It is changed only
/// when they differ by more than this, so the common case (one operation after another, each
/// with the whole timeout) needs no extra system call. A call may end this much after the
/// deadline; one that ends before it is simply made again.
const DEADLINE_SLACK: Duration = Duration::from_millis(20);

#[derive(Debug)]
enum Kind {
    Tcp(TcpStream),
    Unix(UnixStream),
}

/// A connected TCP or Unix-domain socket whose reads and writes end, with
/// `io::ErrorKind::TimedOut`, at the deadline of the operation under way.
#[derive(Debug)]
pub(super) struct PlainSocket {
    kind: Kind,
    deadline: Option<Instant>,
    /// `SO_RCVTIMEO` and `SO_SNDTIMEO` as last set: a system call is made only to change them.
    read_timeout_set: Option<Duration>,
    write_timeout_set: Option<Duration>,
    /// `O_NONBLOCK` as last set.
    nonblocking: bool,
    /// Bytes read so far, TLS records included; shared so the count outlives a failed TLS
    /// handshake, which consumes the socket.
    received: Arc<AtomicU64>,
}

#[derive(Clone, Copy)]
enum Direction {
    Read,
    Write,
}

impl PlainSocket {
    pub(super) fn tcp(s: TcpStream) -> PlainSocket {
        PlainSocket::new(Kind::Tcp(s))
    }

    pub(super) fn unix(s: UnixStream) -> PlainSocket {
        PlainSocket::new(Kind::Unix(s))
    }

    fn new(kind: Kind) -> PlainSocket {
        PlainSocket {
            kind,
            deadline: None,
            read_timeout_set: None,
            write_timeout_set: None,
            nonblocking: false,
            received: Arc::default(),
        }
    }

    /// Blocking (under the deadline) or non-blocking (`WouldBlock` passed through) from now
    /// on; a system call only when the mode changes.
    pub(super) fn set_nonblocking(&mut self, nonblocking: bool) -> io::Result<()> {
        if self.nonblocking != nonblocking {
            self.sock_ref().set_nonblocking(nonblocking)?;
            self.nonblocking = nonblocking;
        }
        Ok(())
    }

    pub(super) fn raw_fd(&self) -> RawFd {
        match &self.kind {
            Kind::Tcp(s) => s.as_raw_fd(),
            Kind::Unix(s) => s.as_raw_fd(),
        }
    }

    /// The count of bytes read from this socket, kept up to date by every later read.
    pub(super) fn received(&self) -> Arc<AtomicU64> {
        self.received.clone()
    }

    fn sock_ref(&self) -> SockRef<'_> {
        match &self.kind {
            Kind::Tcp(s) => SockRef::from(s),
            Kind::Unix(s) => SockRef::from(s),
        }
    }

    /// Every later read and write ends by `deadline` (`None`: they wait forever).
    pub(super) fn set_deadline(&mut self, deadline: Option<Instant>) {
        self.deadline = deadline;
    }

    /// Make the next system call in `direction` wait no longer than the deadline allows.
    fn arm(&mut self, direction: Direction) -> io::Result<()> {
        if self.nonblocking {
            // the socket never waits: the caller's clock bounds the operation
            return Ok(());
        }
        let want = match self.deadline {
            None => None,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(io::ErrorKind::TimedOut.into());
                }
                Some(left)
            }
        };
        let set = match direction {
            Direction::Read => self.read_timeout_set,
            Direction::Write => self.write_timeout_set,
        };
        let close_enough = match (set, want) {
            (None, None) => true,
            (Some(set), Some(left)) => set.max(left) - set.min(left) <= DEADLINE_SLACK,
            _ => false,
        };
        if !close_enough {
            let socket = self.sock_ref();
            match direction {
                Direction::Read => {
                    socket.set_read_timeout(want)?;
                    self.read_timeout_set = want;
                }
                Direction::Write => {
                    socket.set_write_timeout(want)?;
                    self.write_timeout_set = want;
                }
            }
        }
        Ok(())
    }

    /// Whether `result` is to be retried: interrupted by a signal (OpenSSL must never see
    /// EINTR), or a socket timeout that ended before the deadline. In non-blocking mode
    /// `WouldBlock` is the answer, not a timeout: it is passed through.
    fn again<T>(&self, result: &io::Result<T>) -> bool {
        match result {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => true,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                !self.nonblocking && self.deadline.is_some_and(|d| Instant::now() < d)
            }
            _ => false,
        }
    }

    pub(super) fn shutdown(&self) {
        let _ = self.sock_ref().shutdown(Shutdown::Both);
    }
}

impl Read for PlainSocket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            self.arm(Direction::Read)?;
            let result = match &mut self.kind {
                Kind::Tcp(s) => s.read(buf),
                Kind::Unix(s) => s.read(buf),
            };
            if let Ok(n) = result {
                self.received.fetch_add(n as u64, Ordering::Relaxed);
            }
            if !self.again(&result) {
                return result;
            }
        }
    }
}

impl Write for PlainSocket {
    /// `send(MSG_NOSIGNAL)` on every socket kind: a peer that has gone away gives `EPIPE`,
    /// never a SIGPIPE that would kill a C program keeping the default disposition. (Rust's
    /// `UnixStream::write` is a plain `write(2)` before Rust 1.89, and TLS writes come here too.)
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        loop {
            self.arm(Direction::Write)?;
            let result = self.sock_ref().send_with_flags(buf, libc::MSG_NOSIGNAL);
            if !self.again(&result) {
                return result;
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Connect to a Unix-domain socket within `timeout`.
///
/// A listener whose backlog is full makes a blocking connect wait for room; on Linux a
/// non-blocking connect fails at once with `EAGAIN` instead and `poll` cannot wait for room.
/// So the connect blocks, bounded by `SO_SNDTIMEO`, which the kernel applies to that wait and
/// which ends it with `EAGAIN` (reported as a timeout).
pub(super) fn connect_unix(path: &Path, deadline: Option<Instant>) -> io::Result<UnixStream> {
    let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
    let addr = SockAddr::unix(path)?;
    loop {
        if let Some(d) = deadline {
            let left = d.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::ErrorKind::TimedOut.into());
            }
            socket.set_write_timeout(Some(left))?;
        }
        match socket.connect(&addr) {
            Ok(()) => {
                // the connect's bound is not a bound on writes: those get their own deadlines
                socket.set_write_timeout(None)?;
                return Ok(socket.into());
            }
            // a signal ended the wait: a Unix-socket connect can simply be tried again
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Connect to one TCP address within `timeout` (non-blocking connect and poll), from `bind`
/// when given.
pub(super) fn connect_tcp_addr(
    addr: SocketAddr,
    timeout: Option<Duration>,
    bind: Option<SocketAddr>,
) -> io::Result<TcpStream> {
    let socket = tcp_socket(addr, bind)?;
    match timeout {
        Some(t) => socket.connect_timeout(&addr.into(), t)?,
        None => socket.connect(&addr.into())?,
    }
    let stream: TcpStream = socket.into();
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// A TCP socket for `addr`'s family, bound to `bind` when given.
fn tcp_socket(addr: SocketAddr, bind: Option<SocketAddr>) -> io::Result<Socket> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    if let Some(b) = bind {
        socket.bind(&b.into())?;
    }
    Ok(socket)
}

/// A TCP connect under way without blocking: the socket becomes writable when it has
/// connected or failed.
#[derive(Debug)]
pub(super) struct TcpConnect {
    socket: Socket,
}

impl TcpConnect {
    /// Start connecting to `addr` (from `bind` when given) on a non-blocking socket.
    pub(super) fn start(addr: SocketAddr, bind: Option<SocketAddr>) -> io::Result<TcpConnect> {
        let socket = tcp_socket(addr, bind)?;
        socket.set_nonblocking(true)?;
        match socket.connect(&addr.into()) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
            // a signal ended connect(): the connection goes on in the background (EINTR is
            // EINPROGRESS for a non-blocking socket on Linux, but POSIX allows either)
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
        Ok(TcpConnect { socket })
    }

    pub(super) fn raw_fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }

    /// Whether the connect has succeeded (`Ok(false)`: still under way), or its error. Safe
    /// to call at any time: it only asks the socket.
    pub(super) fn connected(&self) -> io::Result<bool> {
        if let Some(e) = self.socket.take_error()? {
            return Err(e);
        }
        match self.socket.peer_addr() {
            Ok(_) => Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::ENOTCONN) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The connected stream, still non-blocking, with `TCP_NODELAY` as the blocking connect
    /// sets it.
    pub(super) fn into_stream(self) -> io::Result<TcpStream> {
        let stream: TcpStream = self.socket.into();
        stream.set_nodelay(true)?;
        Ok(stream)
    }
}

/// Try once, without blocking, to connect to the Unix-domain socket at `path`: the stream
/// (non-blocking), or `Ok(None)` when the listener's backlog is full (`EAGAIN`: on Linux
/// neither `connect` nor `poll` can wait for room, so the caller retries later).
pub(super) fn try_connect_unix(socket: &mut Option<Socket>, path: &Path) -> io::Result<Option<UnixStream>> {
    let addr = SockAddr::unix(path)?;
    let s = match socket {
        Some(s) => s,
        None => {
            let s = Socket::new(Domain::UNIX, Type::STREAM, None)?;
            s.set_nonblocking(true)?;
            socket.insert(s)
        }
    };
    loop {
        match s.connect(&addr) {
            Ok(()) => return Ok(socket.take().map(UnixStream::from)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// A timer descriptor (Linux `timerfd`, monotonic clock) that becomes readable once the delay
/// it was last armed with has passed: what a caller polls while a Unix-socket connect waits
/// for room in a full backlog, which no socket event announces.
#[derive(Debug)]
pub(super) struct RetryTimer {
    fd: OwnedFd,
}

impl RetryTimer {
    pub(super) fn new() -> io::Result<RetryTimer> {
        // SAFETY: no pointer arguments; the result is checked before it is owned
        let fd = unsafe { libc::timerfd_create(libc::CLOCK_MONOTONIC, libc::TFD_NONBLOCK | libc::TFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a new descriptor nothing else owns
        Ok(RetryTimer { fd: unsafe { OwnedFd::from_raw_fd(fd) } })
    }

    /// Readable after `delay` (at least a microsecond: a zero delay would disarm it), and not
    /// before: arming again forgets an earlier expiry.
    pub(super) fn arm(&self, delay: Duration) -> io::Result<()> {
        let delay = delay.max(Duration::from_micros(1));
        let spec = libc::itimerspec {
            it_interval: libc::timespec { tv_sec: 0, tv_nsec: 0 },
            it_value: libc::timespec {
                tv_sec: delay.as_secs().try_into().unwrap_or(libc::time_t::MAX),
                tv_nsec: delay.subsec_nanos().into(),
            },
        };
        // SAFETY: `spec` outlives the call; a null old value is allowed
        let rc = unsafe { libc::timerfd_settime(self.fd.as_raw_fd(), 0, &spec, std::ptr::null_mut()) };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    pub(super) fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}
