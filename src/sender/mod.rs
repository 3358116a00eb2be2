//! A sender: many messages to one server over up to K pooled connections, from one thread,
//! on the non-blocking driver (curl's multi interface, lettre's and nodemailer's pools are the
//! models).
//!
//! - Every connection is made from the sender's one configuration (a URL: endpoint, TLS policy,
//!   credentials; the TLS settings; the timeout), so reuse can never cross credentials, TLS
//!   settings or TLS policy: there is nothing else to cross to.
//! - A connection is reused for at most `max_messages_per_connection` messages, with RSET
//!   before each reuse: a connection the server closed while it sat idle fails its RSET, and
//!   the message goes to a new connection instead, untouched.
//! - Each message gets exactly one [`Outcome`]: delivered (with per-recipient results),
//!   refused, failed before its data was sent (after `retries` new attempts on fresh
//!   connections), or delivery unknown (the connection was lost after the end of the data:
//!   the server may have it; it is never sent again).
//! - It runs on the caller's event loop ([`Sender::step`], [`Sender::fd`],
//!   [`Sender::next_deadline`]) or on its own ([`Sender::run`]).

use std::collections::VecDeque;
use std::ffi::c_int;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use crate::engine::{Client, RecipientStatus, SessionKind};
use crate::error::{Error, ErrorKind, Result};
use crate::nonblocking::{Interest, Operation, Running, Step, Wait};
use crate::tls::TlsConfig;
use crate::transport::Connection;

/// One message handed to a [`Sender`].
#[derive(Debug, Clone)]
pub struct Message {
    /// The reverse-path (`""` for the null sender).
    pub from: String,
    /// The recipients.
    pub to: Vec<String>,
    /// The message (headers and body), line ends as given.
    pub body: Vec<u8>,
    /// ESMTP options for MAIL and for every RCPT, as `sendmail` takes them.
    pub mail_options: Vec<String>,
    /// ESMTP options for every RCPT.
    pub rcpt_options: Vec<String>,
}

impl Message {
    /// The checks its send would make before anything goes on the wire (at least one
    /// recipient, the address rules, the ESMTP options: `protocol::check_envelope`), made now,
    /// so that a message that can never be sent is refused when it is added rather than
    /// reported as an outcome ([`ErrorKind::InvalidArgument`]).
    pub fn check(&self) -> Result<()> {
        let to: Vec<&str> = self.to.iter().map(String::as_str).collect();
        let mail: Vec<&str> = self.mail_options.iter().map(String::as_str).collect();
        let rcpt: Vec<&str> = self.rcpt_options.iter().map(String::as_str).collect();
        crate::protocol::check_envelope(&self.from, &to, &mail, &rcpt).map(drop)
    }
}

/// What became of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutcomeKind {
    /// The server took it for at least one recipient (the others' refusals are in
    /// [`Outcome::recipients`]).
    Delivered,
    /// The server refused it: the sender, every recipient, or the data (the error says which,
    /// with the reply: 4xx may be retried later, 5xx not), or the message could not be sent as
    /// given (an invalid address, too large, an extension the server lacks).
    Refused,
    /// Nothing of its data reached the server: the connection failed before (after the
    /// sender's retries on new connections). Safe to send again.
    FailedBeforeData,
    /// The connection was lost after the end of the data and before the server's answer: the
    /// server may have delivered it. Not sent again.
    DeliveryUnknown,
}

/// The one report of what became of a message.
#[derive(Debug)]
pub struct Outcome {
    /// The message's id, as [`Sender::add`] returned it.
    pub id: u64,
    /// What became of it.
    pub kind: OutcomeKind,
    /// Why it was not delivered (`None` when it was).
    pub error: Option<Error>,
    /// Each recipient's result, in the order given (empty when no RCPT was answered).
    pub recipients: Vec<RecipientStatus>,
}

/// How a sender connects and how far it goes.
#[derive(Debug, Clone)]
pub struct SenderConfig {
    /// SMTP, SMTPS or LMTP.
    pub kind: SessionKind,
    /// The server, TLS policy and credentials, as `Client::set_url` takes them.
    pub url: String,
    /// TLS settings of every connection.
    pub tls: TlsConfig,
    /// The timeout of every wait (see `Client::set_timeout`).
    pub timeout: Option<Duration>,
    /// The EHLO name (default: this host's name).
    pub local_hostname: Option<String>,
    /// Most connections open at once (at least 1).
    pub max_connections: usize,
    /// Most messages sent over one connection before it is closed with QUIT (at least 1).
    pub max_messages_per_connection: u32,
    /// New connections tried for a message whose connection failed before its data.
    pub retries: u32,
}

impl SenderConfig {
    /// A configuration for `url` with the defaults: 4 connections, 100 messages per
    /// connection, one retry, the session's default timeout.
    pub fn new(kind: SessionKind, url: &str) -> Self {
        SenderConfig {
            kind,
            url: url.to_owned(),
            tls: TlsConfig::default(),
            timeout: Some(crate::engine::DEFAULT_TIMEOUT),
            local_hostname: None,
            max_connections: 4,
            max_messages_per_connection: 100,
            retries: 1,
        }
    }
}

impl SenderConfig {
    /// Whether a sender can be made from this configuration: the URL (for this kind) and the
    /// EHLO name, as [`Sender::new`] checks them ([`ErrorKind::InvalidArgument`]).
    pub fn check(&self) -> Result<()> {
        configured_client(self).map(drop)
    }
}

/// A message waiting, or being sent.
struct Queued {
    id: u64,
    message: Message,
    /// Connections it failed on before its data.
    attempts: u32,
}

/// What a busy connection is doing.
enum Work {
    /// Connecting (and logging in when the URL has credentials), for this message if any.
    Connecting(Option<Queued>),
    /// RSET before the connection is reused for this message.
    Resetting(Queued),
    /// Sending this message.
    Sending(Queued),
    /// QUIT: the connection has sent its share, or nothing is left to send.
    Quitting,
}

/// One pooled connection.
enum Slot {
    /// Open and idle, `sent` messages sent over it so far.
    Idle { client: Box<Client>, conn: Option<Box<Connection>>, sent: u32 },
    /// An operation runs on it; what it waits for.
    Busy { operation: Box<Operation>, work: Work, sent: u32, wait: Option<Wait> },
}

/// Many messages to one server over pooled connections (see the module documentation).
pub struct Sender {
    config: SenderConfig,
    queue: VecDeque<Queued>,
    /// The pool; `None` is a free place (a slot's index is its key in the epoll set).
    slots: Vec<Option<Slot>>,
    outcomes: VecDeque<Outcome>,
    next_id: u64,
    /// Readable when a busy connection's descriptor is ready (a level-triggered epoll set).
    epoll: OwnedFd,
    /// What each slot's descriptor is registered for in the epoll set.
    registered: Vec<Option<(RawFd, Interest)>>,
}

impl Sender {
    /// A sender for `config`; the URL and the EHLO name are checked now
    /// ([`ErrorKind::InvalidArgument`]).
    pub fn new(mut config: SenderConfig) -> Result<Self> {
        configured_client(&config)?;
        config.max_connections = config.max_connections.max(1);
        config.max_messages_per_connection = config.max_messages_per_connection.max(1);
        // SAFETY: epoll_create1 has no preconditions; its result is checked before use.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(Error::from_io(&std::io::Error::last_os_error(), "epoll_create1"));
        }
        // SAFETY: fd is a new descriptor that this sender alone owns from here on.
        let epoll = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Sender {
            config,
            queue: VecDeque::new(),
            slots: Vec::new(),
            outcomes: VecDeque::new(),
            next_id: 1,
            epoll,
            registered: Vec::new(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &SenderConfig {
        &self.config
    }

    /// Queue `message`; its id (see [`Outcome::id`]). Nothing is sent before the sender is
    /// stepped or run.
    pub fn add(&mut self, message: Message) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.queue.push_back(Queued { id, message, attempts: 0 });
        id
    }

    /// Messages without an outcome yet (queued, or on a connection).
    pub fn pending(&self) -> usize {
        let on_connections = self
            .slots
            .iter()
            .flatten()
            .filter(|s| {
                matches!(s, Slot::Busy { work: Work::Sending(_) | Work::Resetting(_) | Work::Connecting(Some(_)), .. })
            })
            .count();
        self.queue.len() + on_connections
    }

    /// Connections open (idle or busy).
    pub fn connections(&self) -> usize {
        self.slots.iter().flatten().count()
    }

    /// Whether nothing is left to do: every message has its outcome and every connection has
    /// been closed (with QUIT once nothing was left to send).
    pub fn is_done(&self) -> bool {
        self.queue.is_empty() && self.slots.iter().all(Option::is_none)
    }

    /// The oldest outcome not yet taken.
    pub fn next_outcome(&mut self) -> Option<Outcome> {
        self.outcomes.pop_front()
    }

    /// A descriptor that is readable whenever a connection can make progress (an epoll set of
    /// the connections' descriptors): wait for it to be readable, or for
    /// [`Sender::next_deadline`], then call [`Sender::step`].
    pub fn fd(&self) -> RawFd {
        self.epoll.as_raw_fd()
    }

    /// The nearest deadline of the connections' operations (`None`: none).
    pub fn next_deadline(&self) -> Option<Instant> {
        self.slots
            .iter()
            .flatten()
            .filter_map(|s| match s {
                Slot::Busy { wait, .. } => wait.and_then(|w| w.deadline),
                Slot::Idle { .. } => None,
            })
            .min()
    }

    /// Make all the progress possible now without blocking: drive every connection, give
    /// queued messages to idle connections or open new ones (up to the limit), close the
    /// connections nothing is left for.
    pub fn step(&mut self, now: Instant) {
        loop {
            let mut progress = false;
            for i in 0..self.slots.len() {
                progress |= self.drive(i, now);
            }
            progress |= self.dispatch(now);
            if !progress {
                break;
            }
        }
        self.register();
    }

    /// Send everything queued, blocking until every message has its outcome and every
    /// connection is closed.
    pub fn run(&mut self) {
        loop {
            self.step(Instant::now());
            if self.is_done() {
                return;
            }
            let timeout = match self.next_deadline() {
                Some(d) => c_int::try_from(crate::nonblocking::millis_until(d, Instant::now())).unwrap_or(c_int::MAX),
                None => -1,
            };
            let mut pfd = libc::pollfd { fd: self.fd(), events: libc::POLLIN, revents: 0 };
            // SAFETY: one valid pollfd for the call; an interrupted poll only means one more step.
            unsafe { libc::poll(&mut pfd, 1, timeout) };
        }
    }

    // ------------------------------------------------------------------ the pool

    /// Step the operation of slot `i` if it is busy; whether it ended.
    fn drive(&mut self, i: usize, now: Instant) -> bool {
        let Some(Slot::Busy { operation, wait, .. }) = self.slots[i].as_mut() else { return false };
        match operation.step(now) {
            Step::Wait(w) => {
                *wait = Some(w);
                false
            }
            Step::Done(client, conn, result) => {
                let Some(Slot::Busy { work, sent, .. }) = self.slots[i].take() else { unreachable!() };
                // its descriptor may be closed now, and its number reused by the next connection:
                // the registration is made again from scratch
                self.unregister(i);
                self.finished(i, work, sent, client, conn, result, now);
                true
            }
        }
    }

    /// Give queued messages to idle connections, open connections for the rest (up to the
    /// limit), and QUIT idle connections when nothing is left to send; whether anything began.
    fn dispatch(&mut self, now: Instant) -> bool {
        let mut began = false;
        while !self.queue.is_empty() {
            if let Some(i) = self.slots.iter().position(|s| matches!(s, Some(Slot::Idle { .. }))) {
                let Some(Slot::Idle { client, conn, sent }) = self.slots[i].take() else { unreachable!() };
                let queued = self.queue.pop_front().expect("the queue is not empty");
                // a connection that has sent before is reset first (and so found dead if the
                // server closed it while it was idle); a new one goes straight to the message
                let work = if sent == 0 { Work::Sending(queued) } else { Work::Resetting(queued) };
                self.begin(i, client, conn, work, sent, now);
            } else if self.connections() < self.config.max_connections {
                let queued = self.queue.pop_front().expect("the queue is not empty");
                let client = match configured_client(&self.config) {
                    Ok(c) => Box::new(c),
                    Err(e) => {
                        self.outcome(queued, OutcomeKind::FailedBeforeData, Some(e), Vec::new());
                        continue;
                    }
                };
                let i = self.free_slot();
                self.begin(i, client, None, Work::Connecting(Some(queued)), 0, now);
            } else {
                break;
            }
            began = true;
        }
        if self.queue.is_empty() && self.pending() == 0 {
            for i in 0..self.slots.len() {
                if matches!(self.slots[i], Some(Slot::Idle { .. })) {
                    let Some(Slot::Idle { client, conn, sent }) = self.slots[i].take() else { unreachable!() };
                    self.begin(i, client, conn, Work::Quitting, sent, now);
                    began = true;
                }
            }
        }
        began
    }

    fn free_slot(&mut self) -> usize {
        match self.slots.iter().position(Option::is_none) {
            Some(i) => i,
            None => {
                self.slots.push(None);
                self.registered.push(None);
                self.slots.len() - 1
            }
        }
    }

    /// Start `work` on a connection in slot `i`.
    fn begin(
        &mut self,
        i: usize,
        client: Box<Client>,
        conn: Option<Box<Connection>>,
        work: Work,
        sent: u32,
        now: Instant,
    ) {
        let mut client = *client;
        client.set_tls_verification_off(self.config.tls.insecure_skip_verify);
        let link = client.link();
        let running: Running = match &work {
            Work::Connecting(_) => Box::pin(async move {
                let mut r = client.connect_url().await.map(drop);
                if r.is_ok() && client.has_url_credentials() {
                    r = client.login_url(true).await;
                }
                (client, r)
            }),
            Work::Resetting(_) => Box::pin(async move {
                let r = client.rset().await.and_then(|reply| {
                    if reply.code() == 250 {
                        Ok(())
                    } else {
                        Err(Error::with_reply(ErrorKind::Response, reply))
                    }
                });
                (client, r)
            }),
            Work::Sending(queued) => {
                let m = queued.message.clone();
                Box::pin(async move {
                    let to: Vec<&str> = m.to.iter().map(String::as_str).collect();
                    let mail: Vec<&str> = m.mail_options.iter().map(String::as_str).collect();
                    let rcpt: Vec<&str> = m.rcpt_options.iter().map(String::as_str).collect();
                    let r = client.sendmail(&m.from, &to, &m.body, &mail, &rcpt).await;
                    (client, r)
                })
            }
            Work::Quitting => Box::pin(async move {
                let r = client.quit().await.map(drop);
                (client, r)
            }),
        };
        let operation = Operation::new(running, link, conn.map(|c| *c), self.config.tls.clone());
        self.slots[i] = Some(Slot::Busy { operation: Box::new(operation), work, sent, wait: None });
        self.drive(i, now);
    }

    /// The operation of slot `i` ended: what it means for its message and its connection.
    #[allow(clippy::too_many_arguments)]
    fn finished(
        &mut self,
        i: usize,
        work: Work,
        sent: u32,
        client: Box<Client>,
        conn: Option<Box<Connection>>,
        result: Result<()>,
        now: Instant,
    ) {
        let open = client.is_connected();
        match (work, result) {
            (Work::Connecting(queued), Ok(())) => {
                self.slots[i] = Some(Slot::Idle { client, conn, sent: 0 });
                if let Some(q) = queued {
                    self.queue.push_front(q);
                }
            }
            (Work::Connecting(queued), Err(e)) => {
                if let Some(q) = queued {
                    self.retry_or_fail(q, e);
                }
            }
            (Work::Resetting(queued), Ok(())) => self.begin(i, client, conn, Work::Sending(queued), sent, now),
            // closed by the server while idle, most likely: the message goes to another connection
            (Work::Resetting(queued), Err(_)) => self.queue.push_front(queued),
            (Work::Sending(queued), result) => {
                let recipients = client.recipients().to_vec();
                match result {
                    Ok(()) => self.outcome(queued, OutcomeKind::Delivered, None, recipients),
                    Err(e) => match classify(&e) {
                        OutcomeKind::FailedBeforeData => self.retry_or_fail(queued, e),
                        kind => self.outcome(queued, kind, Some(e), recipients),
                    },
                }
                let sent = sent + 1;
                if open && sent >= self.config.max_messages_per_connection {
                    self.begin(i, client, conn, Work::Quitting, sent, now);
                } else if open {
                    self.slots[i] = Some(Slot::Idle { client, conn, sent });
                }
            }
            (Work::Quitting, _) => {}
        }
    }

    /// A message whose connection failed before its data: to a new connection, or its outcome
    /// once it has had its retries.
    fn retry_or_fail(&mut self, mut queued: Queued, e: Error) {
        queued.attempts += 1;
        if queued.attempts > self.config.retries {
            self.outcome(queued, OutcomeKind::FailedBeforeData, Some(e), Vec::new());
        } else {
            self.queue.push_front(queued);
        }
    }

    fn outcome(&mut self, queued: Queued, kind: OutcomeKind, error: Option<Error>, recipients: Vec<RecipientStatus>) {
        self.outcomes.push_back(Outcome { id: queued.id, kind, error, recipients });
    }

    /// Take slot `i`'s descriptor out of the epoll set.
    fn unregister(&mut self, i: usize) {
        if let Some((fd, _)) = self.registered[i].take() {
            // SAFETY: plain epoll_ctl; a descriptor closed meanwhile was dropped from the set by
            // the kernel already, and that error is ignored.
            unsafe { libc::epoll_ctl(self.epoll.as_raw_fd(), libc::EPOLL_CTL_DEL, fd, std::ptr::null_mut()) };
        }
    }

    /// Make the epoll set hold each busy connection's descriptor for what it waits for, and
    /// nothing else (an idle connection's descriptor would wake the loop when the server
    /// closes it).
    fn register(&mut self) {
        for i in 0..self.slots.len() {
            let want = match &self.slots[i] {
                Some(Slot::Busy { wait: Some(Wait { fd: Some(fd), .. }), .. }) => Some(*fd),
                _ => None,
            };
            if want.is_none() && self.registered[i].is_none() {
                continue;
            }
            // MOD even when nothing seems to have changed: the number may be a new descriptor
            // (the last one closed and the number reused, as when connect moves on to the next
            // address), which the set no longer holds; then MOD fails and ADD is needed
            let epfd = self.epoll.as_raw_fd();
            if let (Some((old, _)), Some((fd, interest))) = (self.registered[i], want) {
                if old == fd && epoll_ctl(epfd, libc::EPOLL_CTL_MOD, fd, interest, i) {
                    continue;
                }
            }
            self.unregister(i);
            if let Some((fd, interest)) = want {
                if epoll_ctl(epfd, libc::EPOLL_CTL_ADD, fd, interest, i)
                    || epoll_ctl(epfd, libc::EPOLL_CTL_MOD, fd, interest, i)
                {
                    self.registered[i] = want;
                }
            }
        }
    }
}

/// `epoll_ctl(op)` of `fd` for `interest`, keyed by slot `i`; whether it worked.
fn epoll_ctl(epfd: RawFd, op: c_int, fd: RawFd, interest: Interest, i: usize) -> bool {
    let events = match interest {
        Interest::Read => libc::EPOLLIN,
        Interest::Write => libc::EPOLLOUT,
    };
    let mut event = libc::epoll_event { events: events as u32, u64: i as u64 };
    // SAFETY: a valid epoll_event for the call.
    unsafe { libc::epoll_ctl(epfd, op, fd, &mut event) == 0 }
}

/// A client configured as `config` says.
fn configured_client(config: &SenderConfig) -> Result<Client> {
    let mut client = Client::new(config.kind);
    client.set_url(&config.url)?;
    client.set_timeout(config.timeout);
    client.set_local_hostname(config.local_hostname.as_deref())?;
    Ok(client)
}

/// What a failed send means for its message.
fn classify(e: &Error) -> OutcomeKind {
    match e.kind() {
        ErrorKind::DeliveryUnknown => OutcomeKind::DeliveryUnknown,
        // 421: the server is going away before it took the message: another connection may
        ErrorKind::SenderRefused | ErrorKind::RecipientsRefused | ErrorKind::Data
            if e.reply().is_some_and(|r| r.code() == 421) =>
        {
            OutcomeKind::FailedBeforeData
        }
        ErrorKind::SenderRefused
        | ErrorKind::RecipientsRefused
        | ErrorKind::Data
        | ErrorKind::MessageTooLarge
        | ErrorKind::NotSupported
        | ErrorKind::InvalidArgument
        | ErrorKind::Response
        | ErrorKind::Smtp => OutcomeKind::Refused,
        // the connection failed (or its TLS, greeting or login): nothing was taken
        _ => OutcomeKind::FailedBeforeData,
    }
}
