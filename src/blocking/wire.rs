//! The blocking driver's wire loop: commands go into the engine's
//! [`Conversation`](crate::engine::Conversation), out to the socket under the engine's deadline,
//! and replies come back framed by the engine. Every byte a `Session` sends or receives passes
//! here, so this is where an I/O or framing error closes the connection, and where a 421 does.

use std::time::Instant;

use super::{debug, DebugKind, Session};
use crate::auth::Redactor;
use crate::error::{Error, Result};
use crate::protocol::{command_line, Reply};
use crate::transport::Connection;

impl Session {
    /// The open connection, or the error saying why there is none (the reason the session
    /// closed it itself after a call that succeeded, reported once).
    pub(super) fn conn(&mut self) -> Result<&mut Connection> {
        match self.conn.as_mut() {
            Some(c) => Ok(c),
            None => Err(self
                .closed_because
                .take()
                .unwrap_or_else(|| Error::disconnected("not connected; call connect first"))),
        }
    }

    /// Run `f` on the connection; any error from it closes the session (the stream can no
    /// longer be trusted to be in step).
    pub(super) fn on_conn<T>(&mut self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        let conn = self.conn()?;
        match f(conn) {
            Ok(v) => Ok(v),
            Err(e) => {
                self.close();
                Err(e)
            }
        }
    }

    /// Write bytes for which the server owes `replies` replies, logging them at debug level.
    pub(super) fn send_bytes(&mut self, data: &[u8], replies: usize) -> Result<()> {
        if self.debug_level > 0 {
            if data.len() > debug::MAX_LOGGED_DATA {
                let note = format!("[{} bytes]", data.len());
                self.debug(DebugKind::Sent, note.as_bytes());
            } else {
                self.debug(DebugKind::Sent, data);
            }
        }
        self.conn()?;
        self.conversation.queue(data, replies, Instant::now());
        self.flush()
    }

    /// Write everything the conversation has queued, each write under the engine's deadline.
    pub(super) fn flush(&mut self) -> Result<()> {
        let conversation = &mut self.conversation;
        let total = conversation.pending_output().len();
        let res = self.conn.as_mut().map_or_else(
            || Err(Error::disconnected("not connected; call connect first")),
            |conn| {
                while conversation.wants_write() {
                    let written = total - conversation.pending_output().len();
                    match conn.write_some(conversation.pending_output(), conversation.next_deadline()) {
                        Ok(0) => return Err(Error::disconnected("connection closed while writing")),
                        Ok(n) => conversation.consumed(n, Instant::now()),
                        Err(e) => return Err(conn.explain_write_error(e, written, total)),
                    }
                }
                Ok(())
            },
        );
        if res.is_err() {
            self.close();
        }
        res
    }

    /// Read one reply; it becomes the last reply. A 421 closes the connection (the server is
    /// going away; RFC 5321 §3.8), after the reply is recorded.
    pub(super) fn read_reply(&mut self) -> Result<Reply> {
        self.read_reply_scrubbed(None)
    }

    /// [`Session::read_reply`], with the secrets `red` knows removed from the copy kept as the
    /// last reply before it is stored, so no later failure can leave an echoed secret there.
    /// The reply returned is the raw one (an AUTH challenge is needed as sent).
    pub(super) fn read_reply_scrubbed(&mut self, red: Option<&Redactor>) -> Result<Reply> {
        let mut lines: Vec<Vec<u8>> = Vec::new();
        let want_lines = self.debug_level > 0;
        let res = self.receive_reply(&mut |l| {
            if want_lines {
                lines.push(l.to_vec());
            }
        });
        for l in &lines {
            self.debug(DebugKind::Received, l);
        }
        let reply = match res {
            Ok(r) => r,
            Err(e) => {
                // the stream can no longer be trusted to be in step
                self.close();
                return Err(e);
            }
        };
        self.last_reply = Some(match red {
            Some(red) => red.scrub_reply(&reply),
            None => reply.clone(),
        });
        if reply.code() == 421 {
            self.close();
        }
        Ok(reply)
    }

    /// Move bytes from the socket into the conversation until it frames the next reply. The
    /// whole reply must arrive by the engine's deadline (a server dripping one byte at a time
    /// cannot hold us beyond it).
    pub(super) fn receive_reply(&mut self, on_line: &mut dyn FnMut(&[u8])) -> Result<Reply> {
        let conversation = &mut self.conversation;
        let Some(conn) = self.conn.as_mut() else {
            return Err(self
                .closed_because
                .take()
                .unwrap_or_else(|| Error::disconnected("not connected; call connect first")));
        };
        let received_before = conn.received();
        loop {
            if let Some(reply) = conversation.next_reply(Instant::now(), on_line)? {
                return Ok(reply);
            }
            let deadline = conversation.next_deadline();
            match conn.read_some(conversation.receive_buffer(), deadline) {
                Ok(0) => return Err(conversation.end_of_stream()),
                Ok(n) => conversation.received(n),
                Err(e) => return Err(conn.explain_reply_error(e, received_before)),
            }
        }
    }

    /// Send one command line and read its reply.
    pub(super) fn command(&mut self, verb: &str, args: &str) -> Result<Reply> {
        let line = command_line(verb, args, self.greetings.features())?;
        self.conn()?;
        self.send_command(&line, 1)?;
        self.read_only_reply()
    }

    /// Write command lines (one, or a pipelined batch that starts with one; a BDAT chunk
    /// behind its command line). Every command goes out through here, so this is where the
    /// TLS policy is enforced (see [`Session::enforce_tls_policy_before`]).
    /// The server owes `replies` replies for them.
    pub(super) fn send_command(&mut self, lines: &[u8], replies: usize) -> Result<()> {
        self.enforce_tls_policy_before(lines)?;
        self.send_bytes(lines, replies)
    }

    /// Read the reply to the one command outstanding: anything the server sent beyond it is
    /// unsolicited, and would otherwise be taken as the reply to the next command.
    pub(super) fn read_only_reply(&mut self) -> Result<Reply> {
        self.read_only_reply_scrubbed(None)
    }

    /// [`Session::read_only_reply`], keeping a copy scrubbed by `red` as the last reply.
    pub(super) fn read_only_reply_scrubbed(&mut self, red: Option<&Redactor>) -> Result<Reply> {
        let reply = self.read_reply_scrubbed(red)?;
        self.expect_no_more_input()?;
        Ok(reply)
    }

    /// Fail closed if bytes the server sent are waiting where it must be silent.
    pub(super) fn expect_no_more_input(&mut self) -> Result<()> {
        if self.conn.is_some() && self.conversation.has_unread_input() {
            self.close();
            return Err(Error::protocol("the server sent more than the reply to the command (unsolicited bytes)"));
        }
        Ok(())
    }

    /// Write a line that carries a secret (AUTH) and read its reply with debug output
    /// suppressed: the caller logs a redacted form of both (`blocking/auth.rs`). The last reply
    /// is kept scrubbed of what `red` knows, whatever happens after the reply is read.
    pub(crate) fn command_secret(&mut self, line: &[u8], red: &Redactor) -> Result<Reply> {
        let one_line =
            line.strip_suffix(b"\r\n").is_some_and(|body| !body.iter().any(|b| matches!(b, b'\r' | b'\n' | 0)));
        if !one_line {
            return Err(Error::invalid("a command line must be one line ending in CRLF"));
        }
        self.conn()?;
        self.enforce_tls_policy_before(line)?;
        let level = std::mem::replace(&mut self.debug_level, 0);
        self.conversation.queue_secret(line, 1, Instant::now());
        let res = self.flush().and_then(|()| self.read_only_reply_scrubbed(Some(red)));
        self.debug_level = level;
        res
    }
}
