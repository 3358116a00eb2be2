//! The client's wire: commands go into the link's conversation and out through the driver,
//! replies come back framed. Every byte a client sends or receives passes here, so this is
//! where an I/O or framing error closes the connection, and where a 421 does.

use super::{debug, Client, DebugKind};
use crate::auth::Redactor;
use crate::engine::Phase;
use crate::error::{Error, Result};
use crate::protocol::{command_line, Reply};

impl Client {
    /// The error for a call that needs a connection when there is none (the reason the
    /// session closed it itself after a call that succeeded, reported once).
    pub(super) fn need_connection(&mut self) -> Result<()> {
        if self.connected {
            return Ok(());
        }
        Err(self.closed_because.take().unwrap_or_else(|| Error::disconnected("not connected; call connect first")))
    }

    /// Write bytes in `phase` for which the server owes one reply per phase of `replies`,
    /// logging them at debug level.
    pub(super) async fn send_bytes(&mut self, data: &[u8], phase: Phase, replies: &[Phase]) -> Result<()> {
        self.need_connection()?;
        if self.debug_level > 0 {
            if data.len() > debug::MAX_LOGGED_DATA {
                let note = format!("[{} bytes]", data.len());
                self.debug(DebugKind::Sent, note.as_bytes());
            } else {
                self.debug(DebugKind::Sent, data);
            }
        }
        self.link.queue(data, phase, replies, false);
        self.flush().await
    }

    /// Wait until everything queued is written; a failure closes the connection.
    pub(super) async fn flush(&mut self) -> Result<()> {
        let res = self.link.flush().await;
        if res.is_err() {
            self.close();
        }
        res
    }

    /// Read one reply; it becomes the last reply. A 421 closes the connection (the server is
    /// going away; RFC 5321 §3.8), after the reply is recorded.
    pub(super) async fn read_reply(&mut self) -> Result<Reply> {
        self.read_reply_scrubbed(None).await
    }

    /// [`Client::read_reply`], with the secrets `red` knows removed from the copy kept as the
    /// last reply before it is stored, so no later failure can leave an echoed secret there.
    /// The reply returned is the raw one (an AUTH challenge is needed as sent).
    pub(super) async fn read_reply_scrubbed(&mut self, red: Option<&Redactor>) -> Result<Reply> {
        self.need_connection()?;
        let mut lines: Vec<Vec<u8>> = Vec::new();
        let want_lines = self.debug_level > 0;
        let res = self
            .link
            .next_reply(&mut |l| {
                if want_lines {
                    lines.push(l.to_vec());
                }
            })
            .await;
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

    /// Send one command line and read its reply.
    pub(super) async fn command(&mut self, verb: &str, args: &str) -> Result<Reply> {
        let line = command_line(verb, args, self.greetings.features())?;
        self.need_connection()?;
        let phase = Phase::of_command(verb);
        self.send_command(&line, phase, &[phase]).await?;
        self.read_only_reply().await
    }

    /// Write command lines (one, or a pipelined batch that starts with one; a BDAT chunk
    /// behind its command line). Every command goes out through here, so this is where the
    /// TLS policy is enforced (see [`Client::enforce_tls_policy_before`]).
    /// They are written in `phase`; the server owes one reply per phase of `replies`.
    pub(super) async fn send_command(&mut self, lines: &[u8], phase: Phase, replies: &[Phase]) -> Result<()> {
        Box::pin(self.enforce_tls_policy_before(lines)).await?;
        self.send_bytes(lines, phase, replies).await
    }

    /// Read the reply to the one command outstanding: anything the server sent beyond it is
    /// unsolicited, and would otherwise be taken as the reply to the next command.
    pub(super) async fn read_only_reply(&mut self) -> Result<Reply> {
        self.read_only_reply_scrubbed(None).await
    }

    /// [`Client::read_only_reply`], keeping a copy scrubbed by `red` as the last reply.
    pub(super) async fn read_only_reply_scrubbed(&mut self, red: Option<&Redactor>) -> Result<Reply> {
        let reply = self.read_reply_scrubbed(red).await?;
        self.expect_no_more_input()?;
        Ok(reply)
    }

    /// Fail closed if bytes the server sent are waiting where it must be silent.
    pub(super) fn expect_no_more_input(&mut self) -> Result<()> {
        if self.connected && self.link.has_unread_input() {
            self.close();
            return Err(Error::protocol("the server sent more than the reply to the command (unsolicited bytes)"));
        }
        Ok(())
    }

    /// Write a line that carries a secret (AUTH) and read its reply with debug output
    /// suppressed: the caller logs a redacted form of both (`auth.rs`). The last reply
    /// is kept scrubbed of what `red` knows, whatever happens after the reply is read.
    pub(crate) async fn command_secret(&mut self, line: &[u8], red: &Redactor) -> Result<Reply> {
        let one_line =
            line.strip_suffix(b"\r\n").is_some_and(|body| !body.iter().any(|b| matches!(b, b'\r' | b'\n' | 0)));
        if !one_line {
            return Err(Error::invalid("a command line must be one line ending in CRLF"));
        }
        self.need_connection()?;
        Box::pin(self.enforce_tls_policy_before(line)).await?;
        let level = std::mem::replace(&mut self.debug_level, 0);
        self.link.queue(line, Phase::Other, &[Phase::Other], true);
        let res = match self.flush().await {
            Ok(()) => self.read_only_reply_scrubbed(Some(red)).await,
            Err(e) => Err(e),
        };
        self.debug_level = level;
        res
    }
}
