//! The wire state of one connection, without the wire: bytes to send, bytes received framed into
//! replies, how many replies the server owes, and by when the next thing must happen.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use zeroize::Zeroize;

use crate::engine::{Deadline, Phase, Timeouts};
use crate::error::{Error, Result};
use crate::protocol::{ReplyParser, MAX_LINE};
use crate::reply::Reply;

/// Size of the receive buffer: a whole maximal reply line fits, and large reads stay cheap.
const RECEIVE_BUFFER: usize = 16 * 1024;

/// One connection's conversation: commands queued by the session, replies framed from the bytes
/// a driver hands in. It never reads a socket or a clock: drivers pass `now` where time matters
/// and ask [`Conversation::next_deadline`] how long they may wait.
#[derive(Debug)]
pub struct Conversation {
    /// Bytes to send; `output[sent..]` are still waiting for the driver.
    output: Vec<u8>,
    sent: usize,
    /// The queued output holds a secret (AUTH): zeroed once written.
    output_secret: bool,
    /// Received bytes; `input[start..end]` are not yet consumed, `input[start..scanned]` hold no LF.
    input: Box<[u8]>,
    start: usize,
    scanned: usize,
    end: usize,
    parser: ReplyParser,
    /// The phase of each reply the server owes for what was queued (and for the greeting), in
    /// order.
    owed: VecDeque<Phase>,
    /// The phase of the write under way.
    write_phase: Phase,
    timeouts: Timeouts,
    /// When the write under way last made progress, and when the client began waiting for the
    /// reply it waits for: each has its phase's whole limit from then.
    write_clock: Instant,
    reply_clock: Instant,
    /// Replies framed so far.
    framed: u64,
}

impl Conversation {
    /// A conversation on a new connection; `timeouts` bound each write's progress and each
    /// reply by their phase's limit (`None`: no deadline).
    pub fn new(timeouts: Timeouts, now: Instant) -> Self {
        Conversation {
            output: Vec::new(),
            sent: 0,
            output_secret: false,
            input: vec![0; RECEIVE_BUFFER].into_boxed_slice(),
            start: 0,
            scanned: 0,
            end: 0,
            parser: ReplyParser::new(),
            owed: VecDeque::new(),
            write_phase: Phase::Other,
            timeouts,
            write_clock: now,
            reply_clock: now,
            framed: 0,
        }
    }

    /// Change the limits; they apply to the deadlines computed from now on.
    pub fn set_timeouts(&mut self, timeouts: Timeouts) {
        self.timeouts = timeouts;
    }

    // ------------------------------------------------------------------------------ sending

    /// Queue command lines (or a body chunk), written in `phase`, for which the server owes
    /// one reply per phase of `replies` (a pipelined batch: MAIL, each RCPT, DATA).
    pub fn queue(&mut self, bytes: &[u8], phase: Phase, replies: &[Phase], now: Instant) {
        if self.sent == self.output.len() {
            self.output.clear();
            self.sent = 0;
            self.write_clock = now;
        }
        self.write_phase = phase;
        self.output.extend_from_slice(bytes);
        self.owed.extend(replies);
    }

    /// [`Conversation::queue`] for a line carrying a secret: the buffer is zeroed once written.
    pub fn queue_secret(&mut self, bytes: &[u8], phase: Phase, replies: &[Phase], now: Instant) {
        self.output_secret = true;
        self.queue(bytes, phase, replies, now);
    }

    /// The bytes waiting to be written.
    pub fn pending_output(&self) -> &[u8] {
        &self.output[self.sent..]
    }

    /// The driver wrote the first `n` bytes of [`Conversation::pending_output`] at `now`.
    pub fn consumed(&mut self, n: usize, now: Instant) {
        self.sent = (self.sent + n).min(self.output.len());
        if n > 0 {
            self.write_clock = now;
        }
        if self.sent == self.output.len() {
            if self.output_secret {
                self.output.zeroize();
                self.output_secret = false;
            }
            self.output.clear();
            self.sent = 0;
            // the client begins waiting for what it owes now that everything is out
            self.reply_clock = now;
        }
    }

    /// Whether bytes are waiting to be written.
    pub fn wants_write(&self) -> bool {
        self.sent < self.output.len()
    }

    // ------------------------------------------------------------------------------ receiving

    /// The server owes `n` more replies, in `phase`, than was counted when the commands were
    /// queued (the greeting; LMTP's one reply per recipient to the end of data, known only
    /// after RCPT).
    pub fn expect_more(&mut self, n: usize, phase: Phase, now: Instant) {
        if self.owed.is_empty() {
            self.reply_clock = now;
        }
        self.owed.extend(std::iter::repeat_n(phase, n));
    }

    /// Replies the server still owes.
    pub fn replies_owed(&self) -> usize {
        self.owed.len()
    }

    /// Replies framed so far on this conversation.
    pub fn replies_framed(&self) -> u64 {
        self.framed
    }

    /// Whether the conversation waits for bytes from the server.
    pub fn wants_read(&self) -> bool {
        !self.owed.is_empty()
    }

    /// Where the driver puts received bytes (then calls [`Conversation::received`]).
    pub fn receive_buffer(&mut self) -> &mut [u8] {
        if self.start == self.end {
            self.start = 0;
            self.scanned = 0;
            self.end = 0;
        } else if self.end == self.input.len() {
            // the partial line moves to the front
            self.input.copy_within(self.start..self.end, 0);
            self.scanned -= self.start;
            self.end -= self.start;
            self.start = 0;
        }
        &mut self.input[self.end..]
    }

    /// `n` bytes were put at the start of [`Conversation::receive_buffer`].
    pub fn received(&mut self, n: usize) {
        self.end = (self.end + n).min(self.input.len());
    }

    /// Bytes received and not consumed by a reply: at points where the server must be silent,
    /// unsolicited input (a desync, or an injection attempt).
    pub fn has_unread_input(&self) -> bool {
        self.start < self.end
    }

    /// The error for the server closing its side now.
    pub fn end_of_stream(&self) -> Error {
        Error::disconnected(if self.has_unread_input() {
            "connection closed in the middle of a reply"
        } else {
            "connection unexpectedly closed"
        })
    }

    /// The next complete reply among the bytes received, each of its raw lines (CRLF included)
    /// shown to `on_line` as it is framed; `None` until more bytes arrive. Every line goes
    /// through the one reply parser; a line must end in CRLF. Asking when no reply is owed is
    /// a driver error.
    pub fn next_reply(&mut self, now: Instant, on_line: &mut dyn FnMut(&[u8])) -> Result<Option<Reply>> {
        if self.owed.is_empty() {
            return Err(Error::bad_state("internal: a reply was read where the server owes none"));
        }
        loop {
            let Some(lf) = self.input[self.scanned..self.end].iter().position(|&b| b == b'\n') else {
                self.scanned = self.end;
                if self.end - self.start > MAX_LINE + 2 {
                    return Err(Error::protocol(format!("reply line longer than {MAX_LINE} bytes")));
                }
                return Ok(None);
            };
            let line_end = self.scanned + lf + 1;
            let raw = &self.input[self.start..line_end];
            on_line(raw);
            // CRLF only: a bare LF ending a line would let reply text carry a second reply
            let Some(line) = raw.strip_suffix(b"\r\n") else {
                return Err(Error::protocol("reply line ended by a bare LF"));
            };
            let done = self.parser.push_line(line)?;
            self.start = line_end;
            self.scanned = line_end;
            if let Some(reply) = done {
                self.owed.pop_front();
                self.framed += 1;
                self.reply_clock = now;
                return Ok(Some(reply));
            }
        }
    }

    // ------------------------------------------------------------------------------ time

    /// The phase of the wait under way: the write's, else the reply's (`None`: neither).
    pub fn phase(&self) -> Option<Phase> {
        if self.wants_write() {
            Some(self.write_phase)
        } else {
            self.owed.front().copied()
        }
    }

    /// By when the driver must next hear from the socket: the write under way must progress,
    /// or the reply waited for must be complete, by then; its phase's limit, or `total` (an
    /// operation's deadline and limit) when that is nearer (`None`: nothing to wait for, or
    /// no limit). Past it, the operation has timed out.
    pub fn deadline(&self, total: Option<(Instant, Duration)>) -> Option<Deadline> {
        let phase = self.phase()?;
        let since = if self.wants_write() { self.write_clock } else { self.reply_clock };
        Deadline::nearest(phase, since, self.timeouts.get(phase), total)
    }

    /// The instant of [`Conversation::deadline`] without an operation's total.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.deadline(None).map(|d| d.at)
    }
}

impl Drop for Conversation {
    fn drop(&mut self) {
        // a connection lost in the middle of writing an AUTH line leaves the secret unsent
        if self.output_secret {
            self.output.zeroize();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn conversation() -> (Conversation, Instant) {
        let now = Instant::now();
        (Conversation::new(Timeouts::uniform(Some(Duration::from_secs(10))), now), now)
    }

    /// Hand `bytes` to the conversation as a driver would, in one read.
    fn feed(c: &mut Conversation, bytes: &[u8]) {
        let buf = c.receive_buffer();
        buf[..bytes.len()].copy_from_slice(bytes);
        c.received(bytes.len());
    }

    fn reply(c: &mut Conversation, now: Instant) -> Result<Option<Reply>> {
        c.next_reply(now, &mut |_| {})
    }

    #[test]
    fn a_pipelined_batch_owes_one_reply_per_command_matched_in_order() {
        let (mut c, now) = conversation();
        assert!(!c.wants_read() && !c.wants_write() && c.next_deadline().is_none());
        c.queue(b"MAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n", Phase::Other, &[Phase::Other; 3], now);
        assert!(c.wants_write());
        assert_eq!(c.pending_output(), b"MAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n");
        c.consumed(5, now);
        assert_eq!(c.pending_output(), b"FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n");
        c.consumed(c.pending_output().len(), now);
        assert!(!c.wants_write() && c.wants_read());
        assert_eq!(c.replies_owed(), 3);
        // the replies arrive split anywhere: each is framed only when complete
        feed(&mut c, b"250 2.1.0 Ok\r\n250 2.1");
        assert_eq!(reply(&mut c, now).unwrap().unwrap().code(), 250);
        assert_eq!(reply(&mut c, now).unwrap(), None);
        feed(&mut c, b".5 Ok\r\n354 go\r");
        let r = reply(&mut c, now).unwrap().unwrap();
        assert_eq!((r.code(), r.text()), (250, "2.1.5 Ok".to_owned()));
        assert_eq!(reply(&mut c, now).unwrap(), None);
        feed(&mut c, b"\n");
        assert_eq!(reply(&mut c, now).unwrap().unwrap().code(), 354);
        assert!(!c.wants_read() && !c.has_unread_input());
        assert_eq!(reply(&mut c, now).unwrap_err().kind(), ErrorKind::BadState);
    }

    #[test]
    fn multi_line_replies_show_each_raw_line() {
        let (mut c, now) = conversation();
        c.expect_more(1, Phase::Other, now);
        feed(&mut c, b"250-mx.test\r\n250-PIPELINING\r\n250 SIZE 10\r\n");
        let mut shown = Vec::new();
        let r = c.next_reply(now, &mut |l| shown.push(l.to_vec())).unwrap().unwrap();
        assert_eq!(r.lines(), ["mx.test", "PIPELINING", "SIZE 10"]);
        assert_eq!(shown, [&b"250-mx.test\r\n"[..], b"250-PIPELINING\r\n", b"250 SIZE 10\r\n"]);
    }

    #[test]
    fn bytes_beyond_the_owed_replies_are_unread_input() {
        let (mut c, now) = conversation();
        c.queue(b"STARTTLS\r\n", Phase::Other, &[Phase::Other; 1], now);
        c.consumed(10, now);
        feed(&mut c, b"220 go ahead\r\n250 injected\r\n");
        assert_eq!(reply(&mut c, now).unwrap().unwrap().code(), 220);
        assert!(c.has_unread_input() && !c.wants_read());
        // a fragment without its line end counts too
        let (mut c, now) = conversation();
        c.expect_more(1, Phase::Other, now);
        feed(&mut c, b"220 go\r\n2");
        reply(&mut c, now).unwrap().unwrap();
        assert!(c.has_unread_input());
    }

    #[test]
    fn framing_errors() {
        let (mut c, now) = conversation();
        c.expect_more(1, Phase::Other, now);
        feed(&mut c, b"250 ok\n");
        assert_eq!(reply(&mut c, now).unwrap_err().kind(), ErrorKind::Protocol);
        // a line that never ends is refused once it is longer than a reply line may be
        let (mut c, now) = conversation();
        c.expect_more(1, Phase::Other, now);
        feed(&mut c, &[b'2'; MAX_LINE]);
        assert_eq!(reply(&mut c, now).unwrap(), None);
        feed(&mut c, b"555");
        let e = reply(&mut c, now).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Protocol);
        assert!(e.message().contains("longer than"), "{e}");
        // the one parser judges every line
        let (mut c, now) = conversation();
        c.expect_more(1, Phase::Other, now);
        feed(&mut c, b"250-a\r\n550 b\r\n");
        assert_eq!(reply(&mut c, now).unwrap_err().kind(), ErrorKind::Protocol);
    }

    #[test]
    fn end_of_stream_says_whether_a_reply_was_cut() {
        let (mut c, now) = conversation();
        c.expect_more(1, Phase::Other, now);
        assert!(c.end_of_stream().message().contains("unexpectedly closed"));
        feed(&mut c, b"250-partial");
        assert_eq!(reply(&mut c, now).unwrap(), None);
        let e = c.end_of_stream();
        assert_eq!(e.kind(), ErrorKind::ServerDisconnected);
        assert!(e.message().contains("middle of a reply"));
    }

    #[test]
    fn many_small_replies_never_fill_the_buffer() {
        let (mut c, now) = conversation();
        for i in 0..10_000 {
            c.expect_more(1, Phase::Other, now);
            feed(&mut c, format!("250 reply {i}\r\n").as_bytes());
            assert_eq!(reply(&mut c, now).unwrap().unwrap().text(), format!("reply {i}"));
        }
        // a partial line that reaches the end of the buffer moves to the front to make room
        let long = format!("250 {}\r\n", "x".repeat(8000));
        c.expect_more(3, Phase::Other, now);
        feed(&mut c, long.as_bytes());
        feed(&mut c, long.as_bytes());
        let rest = RECEIVE_BUFFER - 2 * long.len();
        let partial = format!("251 {}", "y".repeat(rest - 4));
        feed(&mut c, partial.as_bytes());
        assert_eq!(reply(&mut c, now).unwrap().unwrap().code(), 250);
        assert_eq!(reply(&mut c, now).unwrap().unwrap().code(), 250);
        assert_eq!(reply(&mut c, now).unwrap(), None);
        assert_eq!(c.receive_buffer().len(), RECEIVE_BUFFER - rest);
        feed(&mut c, b"z\r\n");
        assert_eq!(reply(&mut c, now).unwrap().unwrap().text(), format!("{}z", "y".repeat(rest - 4)));
    }

    #[test]
    fn deadlines_are_data() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut c = Conversation::new(Timeouts::uniform(Some(s(10))), t0);
        assert_eq!(c.next_deadline(), None);
        c.queue(b"NOOP\r\n", Phase::Other, &[Phase::Other; 1], t0 + s(1));
        assert_eq!(c.next_deadline(), Some(t0 + s(11)));
        // progress restarts the write's clock
        c.consumed(2, t0 + s(5));
        assert_eq!(c.next_deadline(), Some(t0 + s(15)));
        // once everything is out, the reply has the whole timeout from then
        c.consumed(4, t0 + s(6));
        assert_eq!(c.next_deadline(), Some(t0 + s(16)));
        // a server dripping bytes does not move it
        feed(&mut c, b"25");
        assert_eq!(reply(&mut c, t0 + s(9)).unwrap(), None);
        assert_eq!(c.next_deadline(), Some(t0 + s(16)));
        feed(&mut c, b"0 ok\r\n");
        reply(&mut c, t0 + s(9)).unwrap().unwrap();
        assert_eq!(c.next_deadline(), None);
        // in a batch, each reply has the whole timeout from the one before
        c.queue(b"RSET\r\nNOOP\r\n", Phase::Other, &[Phase::Other; 2], t0 + s(20));
        c.consumed(12, t0 + s(20));
        feed(&mut c, b"250 ok\r\n");
        reply(&mut c, t0 + s(25)).unwrap().unwrap();
        assert_eq!(c.next_deadline(), Some(t0 + s(35)));
        c.set_timeouts(Timeouts::uniform(None));
        assert_eq!(c.next_deadline(), None);
    }

    #[test]
    fn each_wait_has_its_phase_limit_and_the_total_when_nearer() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut timeouts = Timeouts::uniform(Some(s(100)));
        timeouts.set(Phase::Mail, Some(s(5)));
        timeouts.set(Phase::Rcpt, Some(s(7)));
        timeouts.set(Phase::Data, None);
        let mut c = Conversation::new(timeouts, t0);
        // a pipelined batch is written in the phase of its first command
        c.queue(
            b"MAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n",
            Phase::Mail,
            &[Phase::Mail, Phase::Rcpt, Phase::Data],
            t0,
        );
        assert_eq!((c.phase(), c.next_deadline()), (Some(Phase::Mail), Some(t0 + s(5))));
        c.consumed(c.pending_output().len(), t0 + s(1));
        assert_eq!(c.next_deadline(), Some(t0 + s(6)));
        feed(&mut c, b"250 ok\r\n");
        reply(&mut c, t0 + s(2)).unwrap().unwrap();
        // each reply has its own phase's limit from the end of the one before
        assert_eq!((c.phase(), c.next_deadline()), (Some(Phase::Rcpt), Some(t0 + s(9))));
        // an operation's total applies when it comes first, and says so
        let d = c.deadline(Some((t0 + s(4), s(4)))).unwrap();
        assert_eq!((d.at, d.phase, d.limit, d.total), (t0 + s(4), Phase::Rcpt, s(4), true));
        feed(&mut c, b"250 ok\r\n");
        reply(&mut c, t0 + s(3)).unwrap().unwrap();
        // DATA has no limit of its own: only the total bounds it
        assert_eq!((c.phase(), c.next_deadline()), (Some(Phase::Data), None));
        assert_eq!(c.deadline(Some((t0 + s(4), s(4)))).map(|d| d.at), Some(t0 + s(4)));
        // the greeting and LMTP's replies are owed in their phase
        c.expect_more(2, Phase::DataEnd, t0 + s(3));
        assert_eq!(c.phase(), Some(Phase::Data));
        feed(&mut c, b"354 go\r\n");
        reply(&mut c, t0 + s(3)).unwrap().unwrap();
        assert_eq!((c.phase(), c.next_deadline()), (Some(Phase::DataEnd), Some(t0 + s(103))));
    }

    #[test]
    fn secrets_are_zeroed_once_written() {
        let (mut c, now) = conversation();
        c.queue_secret(b"AUTH PLAIN c2VjcmV0\r\n", Phase::Other, &[Phase::Other; 1], now);
        c.consumed(21, now);
        assert!(c.output.is_empty());
        // SAFETY: zeroize wrote every byte of the capacity, so all of it is initialised
        assert!(c.output.spare_capacity_mut().iter().all(|b| unsafe { b.assume_init() } == 0));
    }
}
