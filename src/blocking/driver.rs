//! The blocking driver's loop: poll the operation; serve what it waits for with the socket,
//! blocking up to the engine's deadline; poll again, until it is done.

use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use crate::engine::{Link, Opened, Want};
use crate::error::Error;
use crate::nonblocking;
use crate::tls::TlsConfig;
use crate::transport::{explain_deadline, Connection};

/// The socket and TLS settings of one blocking session, and what timeout messages need.
pub(super) struct Driver {
    link: Arc<Mutex<Link>>,
    conn: Option<Connection>,
    pub(super) tls_config: TlsConfig,
    /// The reply waited for (replies framed before it) and the socket's byte count when the
    /// wait began: a timeout message says how much arrived.
    reply_wait: Option<(u64, u64)>,
    /// The bytes of the write under way, for a timeout message.
    write_total: Option<usize>,
    /// Set when operations run on the non-blocking driver, waiting with `poll(2)`: the
    /// connection is then its.
    polling: Option<nonblocking::Io>,
}

impl Driver {
    pub(super) fn new(link: Arc<Mutex<Link>>) -> Self {
        Driver {
            link,
            conn: None,
            tls_config: TlsConfig::default(),
            reply_wait: None,
            write_total: None,
            polling: None,
        }
    }

    /// Hand the connection to another driver (each call on a connection sets the socket's
    /// mode it needs: blocking here, non-blocking there).
    pub(super) fn lend(&mut self) -> Option<Connection> {
        self.reply_wait = None;
        self.write_total = None;
        match self.polling.as_mut() {
            Some(io) => io.take_connection(),
            None => self.conn.take(),
        }
    }

    /// Take a client's link and connection back.
    pub(super) fn restore(&mut self, link: Arc<Mutex<Link>>, conn: Option<Connection>) {
        self.link = link;
        self.reply_wait = None;
        self.write_total = None;
        match self.polling.as_mut() {
            Some(io) => *io = nonblocking::Io::new(conn, self.tls_config.clone()),
            None => self.conn = conn,
        }
    }

    fn link(&self) -> MutexGuard<'_, Link> {
        // the engine holds the lock only inside one synchronous step, which leaves it whole
        self.link.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Run operations on the non-blocking driver, waiting with `poll(2)` (or back on this one).
    pub(super) fn set_polling(&mut self, on: bool) {
        match (on, self.polling.take()) {
            (true, None) => self.polling = Some(nonblocking::Io::new(self.lend(), self.tls_config.clone())),
            (false, Some(mut io)) => self.conn = io.take_connection(),
            (_, polling) => self.polling = polling,
        }
    }

    /// Whether operations run on the non-blocking driver.
    pub(super) fn is_polling(&self) -> bool {
        self.polling.is_some()
    }

    /// Run `operation` to its end.
    pub(super) fn block_on<F: Future>(&mut self, operation: F) -> F::Output {
        if let Some(io) = self.polling.as_mut() {
            io.set_tls_config(self.tls_config.clone());
            return io.block_on(&self.link, operation);
        }
        let mut operation = pin!(operation);
        // the engine's futures register no waker: this loop polls again after each event
        let mut cx = Context::from_waker(Waker::noop());
        self.link().begin_operation(Instant::now());
        loop {
            self.link().set_now(Instant::now());
            let polled = operation.as_mut().poll(&mut cx);
            self.settle();
            match polled {
                Poll::Ready(out) => {
                    self.link().end_operation();
                    return out;
                }
                Poll::Pending => self.serve(),
            }
        }
    }

    /// Close the socket if the client dropped the connection.
    pub(super) fn settle(&mut self) {
        if let Some(io) = self.polling.as_mut() {
            if self.link.lock().unwrap_or_else(|p| p.into_inner()).take_close() {
                if let Some(conn) = io.take_connection() {
                    conn.shutdown();
                }
            }
            return;
        }
        if self.link().take_close() {
            if let Some(conn) = self.conn.take() {
                conn.shutdown();
            }
            self.reply_wait = None;
            self.write_total = None;
        }
    }

    /// Do what the operation waits for, blocking until it is done or has failed.
    fn serve(&mut self) {
        let want = self.link().want();
        match want {
            Want::Open { endpoint, source } => {
                let deadline = self.link().deadline();
                let (at, limit) = (deadline.map(|d| d.at), deadline.map(|d| d.limit));
                let opened = Connection::open_until(&endpoint, at, limit, source.as_ref())
                    .map(|conn| {
                        let peer_is_local = conn.peer().is_local();
                        self.conn = Some(conn);
                        Opened { peer_is_local }
                    })
                    .map_err(|e| explain_deadline(e, deadline.as_ref()));
                self.reply_wait = None;
                self.write_total = None;
                self.link().opened(opened);
            }
            Want::Handshake { host } => {
                let deadline = self.link().deadline();
                let result = match self.conn.as_mut() {
                    Some(conn) => {
                        conn.set_timeout(deadline.map(|d| d.limit));
                        conn.start_tls_until(&self.tls_config, &host, deadline.map(|d| d.at))
                            .map_err(|e| explain_deadline(e, deadline.as_ref()))
                    }
                    None => Err(Error::disconnected("not connected")),
                };
                self.link().handshake_done(result);
            }
            Want::Write => self.write(),
            Want::Read => self.read(),
            // the link refuses a body wait to this driver; nothing else leaves an operation
            // pending without a want
            Want::Body | Want::Nothing => {
                self.link().failed(Error::bad_state("internal: an operation waits for nothing the driver can do"));
            }
        }
    }

    fn write(&mut self) {
        let Driver { link, conn, write_total, .. } = self;
        let mut link = link.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let Some(conn) = conn.as_mut() else {
            link.failed(Error::disconnected("not connected"));
            return;
        };
        let deadline = link.deadline();
        conn.set_timeout(deadline.map(|d| d.limit));
        let total = *write_total.get_or_insert(link.pending_output().len());
        let written = total.saturating_sub(link.pending_output().len());
        match conn.write_some(link.pending_output(), deadline.map(|d| d.at)) {
            Ok(0) => link.failed(Error::disconnected("connection closed while writing")),
            Ok(n) => {
                link.written(n);
                if link.pending_output().is_empty() {
                    *write_total = None;
                }
            }
            Err(e) => {
                *write_total = None;
                link.failed(explain_deadline(conn.explain_write_error(e, written, total), deadline.as_ref()));
            }
        }
    }

    fn read(&mut self) {
        let Driver { link, conn, reply_wait, .. } = self;
        let mut link = link.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let Some(conn) = conn.as_mut() else {
            link.failed(Error::disconnected("not connected"));
            return;
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
        match conn.read_some(link.receive_buffer(), deadline.map(|d| d.at)) {
            Ok(n) => link.received(n),
            Err(e) => link.failed(explain_deadline(conn.explain_reply_error(e, received_before), deadline.as_ref())),
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // dropping closes without QUIT (smtplib's close): a destructor must not block on the network
        if let Some(conn) = self.conn.take() {
            conn.shutdown();
        }
    }
}
