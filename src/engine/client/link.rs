//! The link between a [`Client`](super::Client) and the driver that moves its bytes.
//!
//! The client's operations are `async` functions, so each is compiled into a state machine
//! that stops wherever it needs something from outside: bytes written, a reply received, a
//! connection opened, a TLS handshake done, a chunk of the body. It asks through the
//! [`Link`], and the driver answers through it: the driver reads [`Link::want`], does that
//! with its socket (blocking on it, or when the caller's event loop says it is ready), reports
//! back, and polls the operation again. The operations never touch a socket, a clock or a
//! thread; they register no waker, because their drivers poll again after every event.
//!
//! Every wait of an operation goes through the few futures here, and every byte it sends or
//! receives passes through the link's [`Conversation`]: this is where an I/O or framing error
//! reaches the operation, which then closes the connection (see `Client::close`).

use std::future::poll_fn;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Poll;
use std::time::{Duration, Instant};

use crate::engine::{Conversation, Deadline, Phase, Timeouts, TlsInfo};
use crate::error::{Error, Result};
use crate::protocol::Endpoint;
use crate::reply::Reply;

/// What an operation waits for, as its driver sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Want {
    /// Nothing: the operation is done, or no operation runs.
    Nothing,
    /// A connection to this endpoint (bind `source` first when given); answer with
    /// [`Link::opened`]. The connect limit bounds the whole opening (see [`Link::deadline`]).
    Open {
        /// Where to connect.
        endpoint: Endpoint,
        /// Local address and port (0: any) to bind first.
        source: Option<(String, u16)>,
    },
    /// The TLS client handshake on the open connection, verifying `host` unless the TLS
    /// settings name another server; answer with [`Link::handshake_done`].
    Handshake {
        /// The host the session connected to.
        host: String,
    },
    /// Write [`Link::pending_output`]; report with [`Link::written`].
    Write,
    /// Read into [`Link::receive_buffer`]; report with [`Link::received`] (0: end of stream).
    Read,
    /// The caller's body callback has no data yet (non-blocking drivers only): poll again
    /// when it may have some.
    Body,
}

/// What a driver knows about the peer of a connection it opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opened {
    /// Whether the peer is on this machine (a loopback address or a Unix socket).
    pub peer_is_local: bool,
}

/// The shared state between one client and its driver (see the module documentation).
#[derive(Debug)]
pub struct Link {
    conversation: Conversation,
    now: Instant,
    timeouts: Timeouts,
    /// The total of each operation, and the deadline of the operation under way.
    operation_timeout: Option<Duration>,
    operation_deadline: Option<Instant>,
    /// When the opening or TLS handshake waited for began.
    waiting_since: Instant,
    want: Want,
    opened: Option<Result<Opened>>,
    handshake: Option<Result<TlsInfo>>,
    /// The driver's I/O failed for the write or read under way.
    failed: Option<Error>,
    end_of_stream: bool,
    /// The client dropped the connection: the driver closes its socket.
    close: bool,
    /// The driver can return to its caller while a body callback has no data yet.
    body_may_wait: bool,
    /// The operation is being cancelled: none of the caller's callbacks may run again.
    cancelled: bool,
}

impl Link {
    fn new(timeouts: Timeouts, now: Instant) -> Self {
        Link {
            conversation: Conversation::new(timeouts, now),
            now,
            timeouts,
            operation_timeout: None,
            operation_deadline: None,
            waiting_since: now,
            want: Want::Nothing,
            opened: None,
            handshake: None,
            failed: None,
            end_of_stream: false,
            close: false,
            body_may_wait: false,
            cancelled: false,
        }
    }

    // ------------------------------------------------------------------ the driver's side

    /// Set the clock before polling an operation: the engine never reads it.
    pub fn set_now(&mut self, now: Instant) {
        self.now = now;
    }

    /// What the operation waits for (after a poll that returned `Pending`). A read is wanted
    /// whenever the operation waits on the conversation without output pending.
    pub fn want(&self) -> Want {
        match &self.want {
            Want::Write | Want::Read if self.conversation.wants_write() => Want::Write,
            other => other.clone(),
        }
    }

    /// An operation (one call of the session: connect, login, sendmail...) begins at `now`:
    /// its total, when set, bounds every wait until [`Link::end_operation`].
    pub fn begin_operation(&mut self, now: Instant) {
        self.now = now;
        self.operation_deadline = self.operation_timeout.map(|t| now + t);
    }

    /// The operation under way ended: its total no longer applies.
    pub fn end_operation(&mut self) {
        self.operation_deadline = None;
    }

    /// The deadline of what is wanted now, with its phase and the limit that sets it (`None`:
    /// nothing to wait for, or no limit): the phase's limit (for a read or write, from the
    /// conversation; for an opening or a handshake, the whole connect or TLS handshake limit
    /// from its start), or the operation's total deadline when that comes first. A body the
    /// caller has not supplied yet waits under the total only.
    pub fn deadline(&self) -> Option<Deadline> {
        let total = self.operation_deadline.zip(self.operation_timeout);
        let (phase, limit) = match &self.want {
            Want::Open { .. } => (Phase::Connect, self.timeouts.get(Phase::Connect)),
            Want::Handshake { .. } => (Phase::TlsHandshake, self.timeouts.get(Phase::TlsHandshake)),
            Want::Body => (Phase::DataBlock, None),
            Want::Write | Want::Read => return self.conversation.deadline(total),
            Want::Nothing => return None,
        };
        Deadline::nearest(phase, self.waiting_since, limit, total)
    }

    /// The instant of [`Link::deadline`].
    pub fn next_deadline(&self) -> Option<Instant> {
        self.deadline().map(|d| d.at)
    }

    /// The bytes to write.
    pub fn pending_output(&self) -> &[u8] {
        self.conversation.pending_output()
    }

    /// `n` bytes of [`Link::pending_output`] were written.
    pub fn written(&mut self, n: usize) {
        self.conversation.consumed(n, self.now);
    }

    /// Where received bytes go.
    pub fn receive_buffer(&mut self) -> &mut [u8] {
        self.conversation.receive_buffer()
    }

    /// `n` bytes were put at the start of [`Link::receive_buffer`]; 0 is the end of the stream.
    pub fn received(&mut self, n: usize) {
        if n == 0 {
            self.end_of_stream = true;
        } else {
            self.conversation.received(n);
        }
    }

    /// Replies framed so far on this connection: a driver sees a new wait for a reply begin
    /// when it changes (timeout messages count the bytes received during the wait).
    pub fn replies_framed(&self) -> u64 {
        self.conversation.replies_framed()
    }

    /// The write or read under way failed (a timeout, a reset, a TLS record error).
    pub fn failed(&mut self, e: Error) {
        self.failed = Some(e);
    }

    /// The answer to [`Want::Open`].
    pub fn opened(&mut self, result: Result<Opened>) {
        self.opened = Some(result);
    }

    /// The answer to [`Want::Handshake`].
    pub fn handshake_done(&mut self, result: Result<TlsInfo>) {
        self.handshake = Some(result);
    }

    /// Whether a body callback may say it has no data yet ([`Want::Body`]): only a driver that
    /// returns to an event loop can wait for it.
    pub fn set_body_may_wait(&mut self, may_wait: bool) {
        self.body_may_wait = may_wait;
    }

    /// While `cancelled`, the operation runs to its end without calling the caller's callbacks
    /// (debug output, the body callback): a wait for the body fails at once, and no debug event
    /// is given. The driver sets it while it cancels an operation, and clears it after.
    pub fn set_cancelled(&mut self, cancelled: bool) {
        self.cancelled = cancelled;
    }

    /// Whether the operation is being cancelled: a driver then fails every wait at once.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled
    }

    /// Whether the client dropped the connection since the last call: the driver closes its
    /// socket (nothing more is sent).
    pub fn take_close(&mut self) -> bool {
        std::mem::take(&mut self.close)
    }
}

/// A client's handle on its link (shared with the driver).
#[derive(Debug, Clone)]
pub(crate) struct LinkRef(Arc<Mutex<Link>>);

impl LinkRef {
    pub(crate) fn new(timeouts: Timeouts) -> Self {
        LinkRef(Arc::new(Mutex::new(Link::new(timeouts, Instant::now()))))
    }

    /// The driver's access.
    pub(crate) fn shared(&self) -> Arc<Mutex<Link>> {
        self.0.clone()
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Link> {
        // every lock is held only inside one synchronous step, which leaves the link whole
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn set_timeouts(&self, timeouts: Timeouts) {
        let mut link = self.lock();
        link.timeouts = timeouts;
        link.conversation.set_timeouts(timeouts);
    }

    /// The total of each operation from now on (`None`: none).
    pub(crate) fn set_operation_timeout(&self, timeout: Option<Duration>) {
        self.lock().operation_timeout = timeout;
    }

    /// A new connection's conversation; anything left of the last one is dropped.
    pub(crate) fn reset(&self) {
        let mut link = self.lock();
        let now = link.now;
        link.conversation = Conversation::new(link.timeouts, now);
        link.failed = None;
        link.end_of_stream = false;
    }

    /// Ask the driver to close its socket.
    pub(crate) fn request_close(&self) {
        self.lock().close = true;
    }

    /// Queue bytes written in `phase` for which the server owes one reply per phase of
    /// `replies` (`secret`: zeroed once written).
    pub(crate) fn queue(&self, bytes: &[u8], phase: Phase, replies: &[Phase], secret: bool) {
        let mut link = self.lock();
        let now = link.now;
        if secret {
            link.conversation.queue_secret(bytes, phase, replies, now);
        } else {
            link.conversation.queue(bytes, phase, replies, now);
        }
    }

    /// The server owes `n` more replies in `phase` (the greeting; LMTP's replies after the data).
    pub(crate) fn expect_more(&self, n: usize, phase: Phase) {
        let mut link = self.lock();
        let now = link.now;
        link.conversation.expect_more(n, phase, now);
    }

    /// Whether the operation is being cancelled (see [`Link::set_cancelled`]).
    pub(crate) fn cancelled(&self) -> bool {
        self.lock().cancelled
    }

    pub(crate) fn has_unread_input(&self) -> bool {
        self.lock().conversation.has_unread_input()
    }

    /// Wait until everything queued is written.
    pub(crate) async fn flush(&self) -> Result<()> {
        poll_fn(|_| {
            let mut link = self.lock();
            if let Some(e) = link.failed.take() {
                link.want = Want::Nothing;
                return Poll::Ready(Err(e));
            }
            if link.conversation.wants_write() {
                link.want = Want::Write;
                Poll::Pending
            } else {
                link.want = Want::Nothing;
                Poll::Ready(Ok(()))
            }
        })
        .await
    }

    /// Wait for the next reply; each raw line is shown to `on_line` as it is framed.
    pub(crate) async fn next_reply(&self, on_line: &mut (dyn FnMut(&[u8]) + Send)) -> Result<Reply> {
        poll_fn(|_| {
            let mut link = self.lock();
            let now = link.now;
            let ready = match link.conversation.next_reply(now, on_line) {
                Ok(Some(reply)) => Some(Ok(reply)),
                Err(e) => Some(Err(e)),
                Ok(None) => match link.failed.take() {
                    Some(e) => Some(Err(e)),
                    None if link.end_of_stream => Some(Err(link.conversation.end_of_stream())),
                    None => None,
                },
            };
            match ready {
                Some(r) => {
                    link.want = Want::Nothing;
                    Poll::Ready(r)
                }
                None => {
                    link.want = Want::Read;
                    Poll::Pending
                }
            }
        })
        .await
    }

    /// Wait for the driver to open a connection.
    pub(crate) async fn open(&self, endpoint: Endpoint, source: Option<(String, u16)>) -> Result<Opened> {
        {
            let mut link = self.lock();
            link.opened = None;
            link.waiting_since = link.now;
            link.want = Want::Open { endpoint, source };
        }
        poll_fn(|_| {
            let mut link = self.lock();
            match link.opened.take() {
                Some(r) => {
                    link.want = Want::Nothing;
                    Poll::Ready(r)
                }
                None => Poll::Pending,
            }
        })
        .await
    }

    /// Wait for the driver's TLS handshake.
    pub(crate) async fn handshake(&self, host: String) -> Result<TlsInfo> {
        {
            let mut link = self.lock();
            link.handshake = None;
            link.waiting_since = link.now;
            link.want = Want::Handshake { host };
        }
        poll_fn(|_| {
            let mut link = self.lock();
            match link.handshake.take() {
                Some(r) => {
                    link.want = Want::Nothing;
                    Poll::Ready(r)
                }
                None => Poll::Pending,
            }
        })
        .await
    }

    /// Say that the body has no data yet and wait for the next poll; an error when the driver
    /// cannot wait for it.
    pub(crate) async fn wait_for_body(&self) -> Result<()> {
        if !self.lock().body_may_wait {
            return Err(Error::invalid(
                "the body callback said it has no data yet: only the non-blocking API can wait for a body",
            ));
        }
        let mut asked = false;
        poll_fn(|_| {
            let mut link = self.lock();
            if link.cancelled {
                link.want = Want::Nothing;
                Poll::Ready(Err(Error::disconnected("the operation was cancelled")))
            } else if let Some(e) = link.failed.take() {
                link.want = Want::Nothing;
                Poll::Ready(Err(e))
            } else if asked {
                link.want = Want::Nothing;
                Poll::Ready(Ok(()))
            } else {
                asked = true;
                link.want = Want::Body;
                Poll::Pending
            }
        })
        .await
    }
}
