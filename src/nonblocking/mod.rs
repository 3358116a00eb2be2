//! The non-blocking driver: an [`Operation`] runs one of the engine's operations (connect,
//! login, sendmail...) as far as it can without blocking, then says what it waits for: a file
//! descriptor to become readable or writable, a deadline, or the body callback's data. The
//! caller's event loop (poll, epoll, libuv...) waits and calls [`Operation::step`] again. The
//! same engine code runs as under the blocking driver: the same bytes, results and errors.
//!
//! Sockets are non-blocking and OpenSSL runs over them directly: its `WANT_READ` /
//! `WANT_WRITE` are the events asked of the loop (docs/engine.md says why not memory BIOs).
//! Names are resolved on the resolver threads, which wake the loop through a socket pair.

use std::ffi::c_int;
use std::future::Future;
use std::os::fd::RawFd;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::engine::{Client, Deadline, Link, Opened, Want};
use crate::error::{Error, ErrorKind, Result};
use crate::tls::TlsConfig;
pub use crate::transport::Interest;
use crate::transport::{explain_deadline, Connection, Opening, TimeoutPhase};

/// An engine operation owning its client: it gives the client back when it ends.
pub type Running = Pin<Box<dyn Future<Output = (Client, Result<()>)> + Send>>;

/// What [`Operation::step`] says.
pub enum Step {
    /// Call `step` again when `fd` is ready for `interest`, when `deadline` passes, or (for
    /// `body`) when the body callback may have data.
    Wait(Wait),
    /// The operation ended: the client, the connection (if still open) and the result.
    Done(Box<Client>, Option<Box<Connection>>, Result<()>),
}

/// What an operation waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wait {
    /// The descriptor and the event, or `None` (waiting for the body callback only).
    pub fd: Option<(RawFd, Interest)>,
    /// By when to call `step` even if nothing happened (`None`: no deadline).
    pub deadline: Option<Instant>,
    /// The body callback said it has no data yet.
    pub body: bool,
}

/// One engine operation being driven without blocking, with the socket it uses.
pub struct Operation {
    running: Option<Running>,
    /// The first step was taken (the operation's total runs from it).
    started: bool,
    link: Arc<Mutex<Link>>,
    io: Io,
}

/// The non-blocking I/O under one client: its connection, and the opening or handshake under
/// way. It serves what the client's operation waits for as far as it can without blocking.
pub struct Io {
    conn: Option<Connection>,
    tls_config: TlsConfig,
    opening: Option<(Opening, Option<Deadline>)>,
    /// A handshake under way, and its deadline.
    handshake: Option<Option<Deadline>>,
    /// The reply waited for and the socket's byte count when the wait began (timeout messages).
    reply_wait: Option<(u64, u64)>,
    write_total: Option<usize>,
}

impl Operation {
    /// Drive `running`, whose client's link is `link`, over `conn` (the connection the client
    /// has open, if any), handshaking with `tls_config`.
    pub fn new(running: Running, link: Arc<Mutex<Link>>, conn: Option<Connection>, tls_config: TlsConfig) -> Self {
        lock(&link).set_body_may_wait(true);
        Operation { running: Some(running), started: false, link, io: Io::new(conn, tls_config) }
    }

    /// Cancel the operation: its connection is closed at once and the operation runs to its
    /// end without the network (every wait fails), so the client comes back, unconnected,
    /// with its settings. The caller's callbacks are not called again.
    pub fn cancel(mut self, now: Instant) -> (Box<Client>, Option<Connection>) {
        self.io.abandon();
        lock(&self.link).set_cancelled(true);
        loop {
            if let Step::Done(mut client, _, _) = self.step(now) {
                client.close();
                let mut link = lock(&self.link);
                link.take_close();
                link.set_cancelled(false);
                return (client, None);
            }
        }
    }

    /// Make all the progress possible now without blocking.
    ///
    /// # Panics
    /// When called again after it returned [`Step::Done`].
    pub fn step(&mut self, now: Instant) -> Step {
        let mut cx = Context::from_waker(Waker::noop());
        if !std::mem::replace(&mut self.started, true) {
            lock(&self.link).begin_operation(now);
        }
        loop {
            lock(&self.link).set_now(now);
            let running = self.running.as_mut().expect("step after the operation ended");
            let polled = running.as_mut().poll(&mut cx);
            self.io.settle(&self.link);
            if let Poll::Ready((client, result)) = polled {
                self.running = None;
                let mut link = lock(&self.link);
                link.set_body_may_wait(false);
                link.end_operation();
                drop(link);
                return Step::Done(Box::new(client), self.io.conn.take().map(Box::new), result);
            }
            if let Some(wait) = self.io.serve(&self.link, now) {
                return Step::Wait(wait);
            }
        }
    }
}

impl Io {
    /// The I/O of a client whose connection is `conn` (if open), handshaking with `tls_config`.
    pub fn new(conn: Option<Connection>, tls_config: TlsConfig) -> Self {
        Io { conn, tls_config, opening: None, handshake: None, reply_wait: None, write_total: None }
    }

    /// The TLS settings for the next handshake.
    pub fn set_tls_config(&mut self, tls_config: TlsConfig) {
        self.tls_config = tls_config;
    }

    /// Take the connection (to hand it to another driver).
    pub fn take_connection(&mut self) -> Option<Connection> {
        self.reply_wait = None;
        self.write_total = None;
        self.conn.take()
    }

    /// Run `operation` to its end on this thread, waiting with `poll(2)` for what it needs: the
    /// non-blocking driver behind a blocking call (what an event loop does, for one session).
    pub fn block_on<F: Future>(&mut self, link: &Mutex<Link>, operation: F) -> F::Output {
        let mut operation = std::pin::pin!(operation);
        let mut cx = Context::from_waker(Waker::noop());
        lock(link).begin_operation(Instant::now());
        loop {
            let now = Instant::now();
            lock(link).set_now(now);
            let polled = operation.as_mut().poll(&mut cx);
            self.settle(link);
            if let Poll::Ready(out) = polled {
                lock(link).end_operation();
                return out;
            }
            if let Some(wait) = self.serve(link, now) {
                wait_with_poll(&wait);
            }
        }
    }

    /// Drop the connection and whatever opening or handshake is under way.
    fn abandon(&mut self) {
        if let Some(conn) = self.conn.take() {
            conn.shutdown();
        }
        self.opening = None;
        self.handshake = None;
    }

    /// Close the socket if the client dropped the connection.
    fn settle(&mut self, link: &Mutex<Link>) {
        if lock(link).take_close() {
            if let Some(conn) = self.conn.take() {
                conn.shutdown();
            }
            self.handshake = None;
            self.reply_wait = None;
            self.write_total = None;
        }
    }

    /// Serve what the operation waits for as far as possible: `None` when there is progress
    /// (poll the operation again), or what to wait for.
    fn serve(&mut self, link: &Mutex<Link>, now: Instant) -> Option<Wait> {
        let (want, cancelled) = {
            let link = lock(link);
            (link.want(), link.is_cancelled())
        };
        // a cancelled operation runs to its end without the network: every wait fails
        if cancelled {
            let cancelled = || Error::disconnected("the operation was cancelled");
            let mut link = lock(link);
            match want {
                Want::Open { .. } => link.opened(Err(cancelled())),
                Want::Handshake { .. } => link.handshake_done(Err(cancelled())),
                _ => link.failed(cancelled()),
            }
            return None;
        }
        match want {
            Want::Open { endpoint, source } => self.open(link, now, &endpoint, source.as_ref()),
            Want::Handshake { host } => self.handshake(link, now, &host),
            Want::Write => self.write(link, now),
            Want::Read => self.read(link, now),
            Want::Body => self.body(link, now),
            Want::Nothing => {
                lock(link).failed(Error::bad_state("internal: an operation waits for nothing the driver can do"));
                None
            }
        }
    }

    fn open(
        &mut self,
        link: &Mutex<Link>,
        now: Instant,
        endpoint: &crate::protocol::Endpoint,
        source: Option<&(String, u16)>,
    ) -> Option<Wait> {
        if self.opening.is_none() {
            let deadline = lock(link).deadline();
            match Opening::start(endpoint, source, deadline.map(|d| d.at), deadline.map(|d| d.limit)) {
                Ok(opening) => self.opening = Some((opening, deadline)),
                Err(e) => {
                    lock(link).opened(Err(explain_deadline(e, deadline.as_ref())));
                    return None;
                }
            }
        }
        let (opening, deadline) = self.opening.as_mut().expect("an opening under way");
        let deadline = *deadline;
        let answer = match opening.advance(now) {
            Ok(None) => {
                return Some(Wait { fd: Some(opening.wait_for()), deadline: deadline.map(|d| d.at), body: false })
            }
            Ok(Some(conn)) => {
                let peer_is_local = conn.peer().is_local();
                self.conn = Some(conn);
                self.reply_wait = None;
                self.write_total = None;
                Ok(Opened { peer_is_local })
            }
            Err(e) => Err(explain_deadline(e, deadline.as_ref())),
        };
        self.opening = None;
        lock(link).opened(answer);
        None
    }

    fn handshake(&mut self, link: &Mutex<Link>, now: Instant, host: &str) -> Option<Wait> {
        let wanted = lock(link).deadline();
        let Some(conn) = self.conn.as_mut() else {
            lock(link).handshake_done(Err(Error::disconnected("not connected")));
            return None;
        };
        let progress = match self.handshake {
            None => {
                self.handshake = Some(wanted);
                conn.set_timeout(wanted.map(|d| d.limit));
                conn.start_tls_nonblocking(&self.tls_config, host)
            }
            Some(_) => conn.continue_tls(),
        };
        let deadline = self.handshake.flatten();
        let at = deadline.map(|d| d.at);
        let answer = match progress {
            Ok(Err(interest)) if at.is_none_or(|d| now < d) => {
                return Some(Wait { fd: Some((conn.raw_fd(), interest)), deadline: at, body: false });
            }
            Ok(Err(_)) => Err(explain_deadline(conn.timeout_error(TimeoutPhase::TlsHandshake), deadline.as_ref())),
            Ok(Ok(info)) => Ok(info),
            Err(e) => Err(e),
        };
        self.handshake = None;
        lock(link).handshake_done(answer);
        None
    }

    fn write(&mut self, link: &Mutex<Link>, now: Instant) -> Option<Wait> {
        let Io { conn, write_total, .. } = self;
        let mut link = lock(link);
        let Some(conn) = conn.as_mut() else {
            link.failed(Error::disconnected("not connected"));
            return None;
        };
        let deadline = link.deadline();
        conn.set_timeout(deadline.map(|d| d.limit));
        let total = *write_total.get_or_insert(link.pending_output().len());
        match conn.try_write(link.pending_output()) {
            Ok(Ok(0)) => link.failed(Error::disconnected("connection closed while writing")),
            Ok(Ok(n)) => {
                link.written(n);
                if link.pending_output().is_empty() {
                    *write_total = None;
                }
            }
            Ok(Err(interest)) => {
                let at = deadline.map(|d| d.at);
                if at.is_none_or(|d| now < d) {
                    return Some(Wait { fd: Some((conn.raw_fd(), interest)), deadline: at, body: false });
                }
                let written = total.saturating_sub(link.pending_output().len());
                *write_total = None;
                let e = conn.timeout_error(TimeoutPhase::Write { written, total });
                link.failed(explain_deadline(e, deadline.as_ref()));
            }
            Err(e) => {
                *write_total = None;
                link.failed(e);
            }
        }
        None
    }

    fn read(&mut self, link: &Mutex<Link>, now: Instant) -> Option<Wait> {
        let Io { conn, reply_wait, .. } = self;
        let mut link = lock(link);
        let Some(conn) = conn.as_mut() else {
            link.failed(Error::disconnected("not connected"));
            return None;
        };
        let deadline = link.deadline();
        conn.set_timeout(deadline.map(|d| d.limit));
        let framed = link.replies_framed();
        let received_before = match *reply_wait {
            Some((f, before)) if f == framed => before,
            _ => {
                let before = conn.received();
                *reply_wait = Some((framed, before));
                before
            }
        };
        match conn.try_read(link.receive_buffer()) {
            Ok(Ok(n)) => link.received(n),
            Ok(Err(interest)) => {
                let at = deadline.map(|d| d.at);
                if at.is_none_or(|d| now < d) {
                    return Some(Wait { fd: Some((conn.raw_fd(), interest)), deadline: at, body: false });
                }
                let e = conn.timeout_error(TimeoutPhase::Reply { received_before });
                link.failed(explain_deadline(e, deadline.as_ref()));
            }
            Err(e) => link.failed(e),
        }
        None
    }
}

impl Io {
    /// The body callback has no data yet: wait for the caller, under the operation's total
    /// deadline only.
    fn body(&mut self, link: &Mutex<Link>, now: Instant) -> Option<Wait> {
        let mut link = lock(link);
        let deadline = link.deadline();
        match deadline {
            Some(d) if now >= d.at => {
                let limit = d.limit.as_millis();
                let e =
                    Error::new(ErrorKind::Timeout, format!("timed out after {limit} ms waiting for the message body"));
                link.failed(explain_deadline(e, deadline.as_ref()));
                None
            }
            _ => Some(Wait { fd: None, deadline: deadline.map(|d| d.at), body: true }),
        }
    }
}

impl Drop for Operation {
    fn drop(&mut self) {
        // an operation dropped before its end (cancelled) leaves no half-used connection
        if self.running.is_some() {
            self.io.abandon();
        }
    }
}

/// Wait with `poll(2)` until `wait` is satisfied or its deadline passes (a signal or an
/// early wake-up only means one more step).
fn wait_with_poll(wait: &Wait) {
    let Some((fd, interest)) = wait.fd else { return };
    let events = match interest {
        Interest::Read => libc::POLLIN,
        Interest::Write => libc::POLLOUT,
    };
    let mut pfd = libc::pollfd { fd, events, revents: 0 };
    let timeout = match wait.deadline {
        Some(d) => c_int::try_from(millis_until(d, Instant::now())).unwrap_or(c_int::MAX),
        None => -1,
    };
    // SAFETY: one valid pollfd for the duration of the call.
    unsafe { libc::poll(&mut pfd, 1, timeout) };
}

fn lock(link: &Mutex<Link>) -> MutexGuard<'_, Link> {
    // the engine holds the lock only inside one synchronous step, which leaves it whole
    link.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// How long until `deadline` from `now`, in whole milliseconds rounded up (0 once passed).
pub fn millis_until(deadline: Instant, now: Instant) -> u64 {
    let left = deadline.saturating_duration_since(now);
    let ms = left.as_millis() + u128::from(left.subsec_nanos() % 1_000_000 != 0);
    u64::try_from(ms).unwrap_or(u64::MAX).max(u64::from(left > Duration::ZERO))
}
