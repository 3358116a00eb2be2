//! Mail transactions: DATA, `sendmail` and `send_message`, with one result per recipient.

use std::time::Instant;

use super::{Session, SessionKind};
use crate::error::{Error, ErrorKind, Result};
use crate::message::{
    complete_envelope, needs_smtputf8, normalized_len, strip_bcc, strip_mbox_from_line, DataEncoder, HeaderEnvelope,
};
use crate::protocol::{check_esmtp_param, command_line, quote_forward_path, quote_reverse_path, EnhancedStatus, Reply};

/// How much of the message is encoded per write (and per BDAT chunk): bounds the memory a
/// message of any size needs while being sent.
const DATA_CHUNK: usize = 256 * 1024;

/// Room kept in front of a BDAT chunk for its command line (`BDAT <20 digits> LAST\r\n`).
const BDAT_HEADER_ROOM: usize = 32;

/// Most BDAT chunk replies left unread while more chunks go out (with PIPELINING): the
/// replies are tiny, so this bounds nothing but how far the two sides may drift apart.
const BDAT_IN_FLIGHT: usize = 32;

/// What a streaming body callback returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyRead {
    /// This many bytes were written to the start of the buffer (at least 1).
    Data(usize),
    /// The message is complete.
    End,
    /// Stop: the message must not be sent. The value is kept on the error.
    Abort(i32),
}

/// A message body: in memory, or pulled chunk by chunk from a callback (any size, bounded memory).
pub enum Body<'a> {
    /// The whole message in memory.
    Bytes(&'a [u8]),
    /// A callback filling the buffer it is given.
    Stream(&'a mut dyn FnMut(&mut [u8]) -> BodyRead),
}

/// Hands out a body in chunks of at most [`DATA_CHUNK`] bytes; a streamed body is gathered into
/// full chunks whatever sizes the callback returns, so writes and BDAT chunks stay large.
struct BodyReader<'a> {
    body: Body<'a>,
    pos: usize,
    buf: Vec<u8>,
    /// A chunk read ahead (streams) and not yet handed out: its length and whether it ended the body.
    ahead: Option<(usize, bool)>,
    ended: bool,
}

impl<'a> BodyReader<'a> {
    fn new(body: Body<'a>) -> Self {
        BodyReader { body, pos: 0, buf: Vec::new(), ahead: None, ended: false }
    }

    /// Fill the buffer from the callback until it is full or the body ends.
    fn fill(&mut self) -> Result<(usize, bool)> {
        let Body::Stream(read) = &mut self.body else { return Ok((0, true)) };
        if self.ended {
            return Ok((0, true));
        }
        self.buf.resize(DATA_CHUNK, 0);
        let mut filled = 0;
        while filled < DATA_CHUNK {
            let room = DATA_CHUNK - filled;
            match read(&mut self.buf[filled..]) {
                BodyRead::Data(n) if n > 0 && n <= room => filled += n,
                BodyRead::Data(n) => {
                    return Err(Error::invalid(format!("body callback returned {n} bytes for a buffer of {room}")))
                }
                BodyRead::End => {
                    self.ended = true;
                    break;
                }
                BodyRead::Abort(v) => return Err(Error::callback_aborted(v, "body")),
            }
        }
        Ok((filled, self.ended))
    }

    fn is_stream(&self) -> bool {
        matches!(self.body, Body::Stream(_))
    }

    /// The size of the largest chunk [`BodyReader::next`] may hand out.
    fn chunk_hint(&self) -> usize {
        match &self.body {
            Body::Bytes(data) => (data.len() - self.pos).min(DATA_CHUNK),
            Body::Stream(_) => DATA_CHUNK,
        }
    }

    /// Read the first chunk before anything is sent, so an immediate abort sends nothing.
    fn prefetch(&mut self) -> Result<()> {
        if matches!(self.body, Body::Stream(_)) && self.ahead.is_none() {
            self.ahead = Some(self.fill()?);
        }
        Ok(())
    }

    /// The next chunk and whether it is known to be the last; `None` once the body is done.
    fn next(&mut self) -> Result<Option<(&[u8], bool)>> {
        match &self.body {
            Body::Bytes(data) => {
                let data: &'a [u8] = data;
                if self.pos >= data.len() {
                    return Ok(None);
                }
                let end = (self.pos + DATA_CHUNK).min(data.len());
                let chunk = &data[self.pos..end];
                self.pos = end;
                Ok(Some((chunk, end == data.len())))
            }
            Body::Stream(_) => {
                let (n, last) = match self.ahead.take() {
                    Some(a) => a,
                    None => self.fill()?,
                };
                if n == 0 {
                    return Ok(None);
                }
                Ok(Some((&self.buf[..n], last)))
            }
        }
    }
}

/// How the body is put on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transfer {
    /// DATA: dot-stuffed, `.` terminator.
    Data,
    /// BDAT: counted chunks, line ends normalised.
    Bdat,
    /// BDAT with BODY=BINARYMIME: the bytes exactly as given.
    BdatBinary,
}

/// What happened to one recipient of the current (or last) transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientStatus {
    address: String,
    rcpt_reply: Reply,
    data_reply: Option<Reply>,
}

impl RecipientStatus {
    /// The recipient address as given.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The reply to its RCPT TO.
    pub fn rcpt_reply(&self) -> &Reply {
        &self.rcpt_reply
    }

    /// Its own reply after the data (LMTP only: one reply per accepted recipient).
    pub fn data_reply(&self) -> Option<&Reply> {
        self.data_reply.as_ref()
    }

    /// The RFC 3463 enhanced status (`class.subject.detail`) of its RCPT reply, when the
    /// server sent one.
    pub fn rcpt_enhanced_status(&self) -> Option<EnhancedStatus> {
        self.rcpt_reply.enhanced_status()
    }

    /// The RFC 3463 enhanced status of its own reply after the data (LMTP), when the server
    /// sent one.
    pub fn data_enhanced_status(&self) -> Option<EnhancedStatus> {
        self.data_reply.as_ref().and_then(Reply::enhanced_status)
    }

    /// Whether RCPT TO was accepted (250 or 251, as smtplib counts it).
    pub fn rcpt_accepted(&self) -> bool {
        matches!(self.rcpt_reply.code(), 250 | 251)
    }

    /// Whether the server counts this recipient as accepted: any 2xx RCPT reply. An LMTP
    /// server sends one reply after the data for each of these (RFC 2033 §4.2), 252 included.
    fn counted_by_server(&self) -> bool {
        self.rcpt_reply.is_positive()
    }

    /// The reply that refused this recipient, if one did: its RCPT reply, or its LMTP
    /// per-recipient reply after the data. Without a reply after the data, a RCPT reply other
    /// than 250 or 251 is a refusal (smtplib's rule); with one (LMTP), that reply decides.
    pub fn refusal(&self) -> Option<&Reply> {
        match &self.data_reply {
            Some(data) if self.counted_by_server() => Some(data).filter(|r| !r.is_positive()),
            _ if self.rcpt_accepted() => None,
            _ => Some(&self.rcpt_reply),
        }
    }
}

/// The transaction in progress (from MAIL to the end of data or RSET).
#[derive(Debug, Default)]
pub(super) struct Transaction {
    pub(super) sender: Option<String>,
    pub(super) smtputf8: bool,
    pub(super) sender_reply: Option<Reply>,
    pub(super) recipients: Vec<RecipientStatus>,
}

impl Transaction {
    pub(super) fn begin(&mut self, sender: &str, smtputf8: bool) {
        *self = Transaction { sender: Some(sender.to_owned()), smtputf8, ..Default::default() };
    }

    pub(super) fn clear(&mut self) {
        self.sender = None;
        self.smtputf8 = false;
        self.sender_reply = None;
    }

    pub(super) fn add_recipient(&mut self, address: &str, reply: Reply) {
        self.recipients.push(RecipientStatus { address: address.to_owned(), rcpt_reply: reply, data_reply: None });
    }
}

impl Session {
    /// Per-recipient results of the current or last transaction, in RCPT order.
    pub fn recipients(&self) -> &[RecipientStatus] {
        &self.transaction.recipients
    }

    /// The refused recipients of the current or last transaction with the reply that refused
    /// each (smtplib's `sendmail` result dict, plus LMTP's per-recipient refusals).
    pub fn refused(&self) -> impl Iterator<Item = (&str, &Reply)> {
        self.transaction.recipients.iter().filter_map(|r| r.refusal().map(|reply| (r.address(), reply)))
    }

    /// Use PIPELINING (RFC 2920) when the server offers it (default on): MAIL, every RCPT and
    /// DATA / the first BDAT go out in one write. Never across STARTTLS, AUTH or EHLO.
    pub fn set_pipelining(&mut self, enabled: bool) {
        self.pipelining = enabled;
    }

    /// Use CHUNKING / BDAT (RFC 3030) when the server offers it (default on).
    pub fn set_chunking(&mut self, enabled: bool) {
        self.chunking = enabled;
    }

    /// smtplib's `data(msg)`: DATA, then the message with line endings normalised to CRLF and
    /// dot-stuffed, then the end-of-data mark. A DATA reply other than 354 is
    /// [`ErrorKind::Data`] (nothing of the message sent). The final reply is returned whatever
    /// its code; for LMTP one reply is read per recipient whose RCPT got a 2xx reply (252
    /// included, as the server counts them) and kept per recipient (the first is returned). Losing the connection after the end-of-data mark and before
    /// the reply is [`ErrorKind::DeliveryUnknown`].
    pub fn data(&mut self, msg: &[u8]) -> Result<Reply> {
        refuse_nul(msg)?;
        let mut reader = BodyReader::new(Body::Bytes(msg));
        let reply = self.command("DATA", "")?;
        self.after_data_command(reply, &mut reader)
    }

    /// Given the reply to DATA: refuse anything but 354, then send the body and read the
    /// final reply or replies.
    fn after_data_command(&mut self, reply: Reply, reader: &mut BodyReader<'_>) -> Result<Reply> {
        if reply.code() != 354 {
            return Err(Error::with_reply(ErrorKind::Data, reply));
        }
        self.conn()?;
        if self.conversation.has_unread_input() {
            self.close();
            return Err(Error::protocol("server sent more after its 354 reply: refusing to send the message"));
        }
        let mut encoder = DataEncoder::new();
        let mut out = Vec::with_capacity(reader.chunk_hint() + reader.chunk_hint() / 32 + 8);
        loop {
            out.clear();
            let checked = reader.is_stream(); // an in-memory body was checked before anything was sent
            let last = match reader.next().and_then(|c| match c {
                Some((chunk, _)) if checked => refuse_nul(chunk).map(|()| c),
                c => Ok(c),
            }) {
                Ok(Some((chunk, last))) => {
                    encoder.encode(chunk, &mut out);
                    last
                }
                Ok(None) => true,
                Err(e) => {
                    // no terminator may follow a partial body: closing is the only way to cancel
                    self.close();
                    return Err(e.context("message not sent, connection closed"));
                }
            };
            if last {
                encoder.finish(&mut out);
            }
            // the server owes a reply only for the end-of-data mark
            self.send_bytes(&out, usize::from(last))
                .map_err(|e| e.context("connection lost while sending the message (not delivered)"))?;
            if last {
                return self.read_data_replies();
            }
        }
    }

    /// Encode the next chunk into `frame` behind room for its `BDAT n [LAST]` line, then write
    /// that line just before it, so the chunk is sent without another copy. Returns where the
    /// frame starts in `frame`, and whether it is the LAST chunk.
    fn next_bdat_frame(
        reader: &mut BodyReader<'_>,
        encoder: &mut Option<DataEncoder>,
        frame: &mut Vec<u8>,
    ) -> Result<(usize, bool)> {
        frame.clear();
        frame.resize(BDAT_HEADER_ROOM, 0);
        let last = loop {
            match reader.next()? {
                Some((chunk, last)) => {
                    match encoder {
                        Some(e) => e.encode(chunk, frame),
                        None => frame.extend_from_slice(chunk),
                    }
                    // a chunk can encode to nothing (an LF completing a CR): BDAT 0 is only valid as LAST
                    if last || frame.len() > BDAT_HEADER_ROOM {
                        break last;
                    }
                }
                None => break true,
            }
        };
        if last {
            if let Some(e) = encoder {
                e.finish(frame);
            }
        }
        let size = frame.len() - BDAT_HEADER_ROOM;
        let verb = if last { format!("BDAT {size} LAST\r\n") } else { format!("BDAT {size}\r\n") };
        let start = BDAT_HEADER_ROOM - verb.len();
        frame[start..BDAT_HEADER_ROOM].copy_from_slice(verb.as_bytes());
        Ok((start, last))
    }

    /// Send the (rest of the) body as BDAT chunks. With PIPELINING, chunks follow each other
    /// without waiting (at most [`BDAT_IN_FLIGHT`] replies outstanding); without it, each is
    /// answered before the next goes. `first_sent_last` is the first chunk already sent in a
    /// pipelined batch (and whether it was LAST).
    fn send_bdat(
        &mut self,
        reader: &mut BodyReader<'_>,
        mut encoder: Option<DataEncoder>,
        first_sent_last: Option<bool>,
    ) -> Result<Reply> {
        let in_flight = if self.pipelining && self.has_extn("pipelining") { BDAT_IN_FLIGHT } else { 1 };
        let mut pending = 0usize;
        match first_sent_last {
            Some(true) => return self.read_data_replies(),
            Some(false) => pending = 1,
            None => {}
        }
        let mut frame = Vec::new();
        loop {
            while pending >= in_flight {
                self.read_bdat_chunk_reply(&mut pending)?;
            }
            let (start, last) = match Self::next_bdat_frame(reader, &mut encoder, &mut frame) {
                Ok(f) => f,
                Err(e) => {
                    // a BDAT chunk cannot be taken back: close so no partial message is delivered
                    self.close();
                    return Err(e.context("message not sent, connection closed"));
                }
            };
            self.send_command(&frame[start..], 1)
                .map_err(|e| e.context("connection lost while sending the message (not delivered)"))?;
            if last {
                while pending > 0 {
                    match self.read_bdat_chunk_reply(&mut pending) {
                        Ok(()) => {}
                        Err(e) if e.kind() == ErrorKind::Data => {
                            // the transaction failed: the server discards the LAST chunk and
                            // answers it once, LMTP too (RFC 3030 §4.2; Dovecot: 503 "Previous
                            // data chunk failed"); read that answer so RSET finds the session in step
                            let _ = self.read_reply();
                            return Err(e);
                        }
                        Err(e) => return Err(delivery_unknown(e)),
                    }
                }
                return self.read_data_replies();
            }
            pending += 1;
        }
    }

    /// Read the reply to one non-LAST BDAT chunk; a refusal drains the other outstanding
    /// non-LAST chunk replies (so the session stays in step) and is [`ErrorKind::Data`].
    fn read_bdat_chunk_reply(&mut self, pending: &mut usize) -> Result<()> {
        let reply = self.read_reply()?;
        *pending -= 1;
        if reply.code() == 250 {
            return Ok(());
        }
        while *pending > 0 {
            self.read_reply()?;
            *pending -= 1;
        }
        Err(Error::with_reply(ErrorKind::Data, reply))
    }

    /// Read the reply (SMTP) or replies (LMTP: one per recipient the server counted) to the
    /// end of data.
    fn read_data_replies(&mut self) -> Result<Reply> {
        let counted: Vec<usize> = (0..self.transaction.recipients.len())
            .filter(|&i| self.transaction.recipients[i].counted_by_server())
            .collect();
        if self.kind != SessionKind::Lmtp || counted.is_empty() {
            let reply = self.read_reply().map_err(delivery_unknown)?;
            self.transaction.clear();
            self.close_if_more_input();
            return Ok(reply);
        }
        // the end of data was queued owing one reply; LMTP answers once per counted recipient
        self.conversation.expect_more(counted.len() - 1, Instant::now());
        let mut first = None;
        for i in counted {
            let reply = self.read_reply().map_err(delivery_unknown)?;
            self.transaction.recipients[i].data_reply = Some(reply.clone());
            first.get_or_insert(reply);
        }
        self.transaction.clear();
        self.close_if_more_input();
        Ok(first.expect("at least one counted recipient"))
    }

    /// Read the answer to the end of a message that went out in a pipelined batch although
    /// no recipient was accepted (250 or 251). A server that counted a recipient anyway (any
    /// 2xx, e.g. 252) answers as for any message, once per such recipient for LMTP, and may
    /// deliver it; one that counted none answers once and delivers nothing.
    fn read_replies_to_unwanted_message(&mut self) -> Result<()> {
        if self.transaction.recipients.iter().any(RecipientStatus::counted_by_server) {
            self.read_data_replies().map(drop)
        } else {
            self.read_reply().map(drop)
        }
    }

    /// After the replies to the end of data the server must be silent. Extra bytes close the
    /// connection, but the replies read stand: a delivered message must not be reported as
    /// failed (a caller would send it twice); the next call reports the protocol error.
    fn close_if_more_input(&mut self) {
        if let Err(e) = self.expect_no_more_input() {
            self.closed_because = Some(e);
        }
    }

    /// RSET after a failed transaction, ignoring its outcome (smtplib's `_rset`): the
    /// session is left either ready for a new transaction or closed.
    fn rset_quietly(&mut self) {
        if self.is_connected() {
            let _ = self.rset();
        }
    }

    /// smtplib's `sendmail(from, to, msg, mail_options, rcpt_options)`.
    ///
    /// EHLO/HELO if needed; `SIZE=` when the server offers SIZE (and the message is refused
    /// before MAIL when it exceeds the advertised limit); MAIL; RCPT for each recipient; the
    /// data (BDAT when the server offers CHUNKING, else DATA; MAIL, RCPTs and DATA or the first
    /// BDAT in one write when it offers PIPELINING). Returns normally when at least one
    /// recipient was accepted; the refused ones are in [`Session::refused`]. Errors:
    /// [`ErrorKind::SenderRefused`], [`ErrorKind::RecipientsRefused`] (every recipient
    /// refused), [`ErrorKind::Data`]; after each the transaction is reset with RSET, or the
    /// connection closed when the server said 421. Every argument is checked before anything
    /// is sent.
    ///
    /// When every recipient was refused (at RCPT, or for LMTP after the data), the error says
    /// how many and carries the most permanent refusal: the first 5xx if there is one, else
    /// the first 4xx, so that a caller choosing between retrying and bouncing never retries
    /// what a server refused for good. [`Session::recipients`] keeps every recipient's own reply.
    pub fn sendmail(
        &mut self,
        from: &str,
        to: &[&str],
        msg: &[u8],
        mail_options: &[&str],
        rcpt_options: &[&str],
    ) -> Result<()> {
        self.transfer(from, to, Body::Bytes(msg), None, mail_options, rcpt_options)
    }

    /// `sendmail` with the message pulled from `read` in chunks, so a message of any size
    /// goes out in bounded memory. `size_estimate` (octets, CRLF line ends) is sent as SIZE
    /// and checked against the server's limit. An abort before the first byte of the
    /// transaction sends nothing; an abort later closes the connection so that no partial
    /// message can be delivered. Errors as `sendmail`, plus [`ErrorKind::CallbackAborted`].
    pub fn sendmail_stream(
        &mut self,
        from: &str,
        to: &[&str],
        read: &mut dyn FnMut(&mut [u8]) -> BodyRead,
        size_estimate: Option<u64>,
        mail_options: &[&str],
        rcpt_options: &[&str],
    ) -> Result<()> {
        self.transfer(from, to, Body::Stream(read), size_estimate, mail_options, rcpt_options)
    }

    fn transfer(
        &mut self,
        from: &str,
        to: &[&str],
        body: Body<'_>,
        size_estimate: Option<u64>,
        mail_options: &[&str],
        rcpt_options: &[&str],
    ) -> Result<()> {
        if to.is_empty() {
            return Err(Error::invalid("no recipients"));
        }
        let quoted_from = quote_reverse_path(from)?;
        let quoted_to = to.iter().map(|r| quote_forward_path(r)).collect::<Result<Vec<_>>>()?;
        for o in mail_options.iter().chain(rcpt_options) {
            check_esmtp_param(o)?;
        }
        if mail_options.iter().any(|o| o.len() >= 5 && o[..5].eq_ignore_ascii_case("size=")) {
            return Err(Error::invalid("SIZE is computed by the library: do not pass it as a mail option"));
        }
        let utf8 = mail_options.iter().any(|o| o.eq_ignore_ascii_case("smtputf8"));
        if !utf8 && (!from.is_ascii() || to.iter().any(|r| !r.is_ascii())) {
            return Err(Error::invalid("an address is not ASCII: it needs the SMTPUTF8 mail option"));
        }
        let binary = mail_options.iter().any(|o| o.eq_ignore_ascii_case("body=binarymime"));
        self.conn()?;
        self.ehlo_or_helo_if_needed()?;

        let transfer = if self.chunking && self.has_extn("chunking") {
            if binary {
                Transfer::BdatBinary
            } else {
                Transfer::Bdat
            }
        } else if binary {
            return Err(Error::new(ErrorKind::NotSupported, "BODY=BINARYMIME needs CHUNKING, which is not available"));
        } else {
            Transfer::Data
        };
        if let (Transfer::Data, Body::Bytes(msg)) = (transfer, &body) {
            refuse_nul(msg)?;
        }
        let size = match &body {
            Body::Bytes(msg) if transfer == Transfer::BdatBinary => Some(msg.len() as u64),
            Body::Bytes(msg) => Some(normalized_len(msg)),
            Body::Stream(_) => size_estimate,
        };
        let mut options: Vec<String> = Vec::new();
        if self.does_esmtp {
            if let (Some(size), Some(limit)) = (size, self.features.size_limit()) {
                if size > limit {
                    return Err(Error::new(
                        ErrorKind::MessageTooLarge,
                        format!("message of {size} bytes exceeds the server's SIZE limit of {limit} bytes"),
                    ));
                }
            }
            if let (Some(size), true) = (size, self.has_extn("size")) {
                options.push(format!("SIZE={size}"));
            }
            options.extend(mail_options.iter().map(|s| s.to_string()));
        }
        let options: Vec<&str> = options.iter().map(String::as_str).collect();
        let mut reader = BodyReader::new(body);
        reader.prefetch()?;

        let final_reply = if self.pipelining && self.has_extn("pipelining") {
            self.pipelined(from, to, &quoted_from, &quoted_to, &options, rcpt_options, &mut reader, transfer)?
        } else {
            self.lockstep(from, to, &options, rcpt_options, &mut reader, transfer)?
        };
        self.judge_final(final_reply)
    }

    /// MAIL, each RCPT, then the data, each command waiting for its reply.
    fn lockstep(
        &mut self,
        from: &str,
        to: &[&str],
        options: &[&str],
        rcpt_options: &[&str],
        reader: &mut BodyReader<'_>,
        transfer: Transfer,
    ) -> Result<Reply> {
        let reply = self.mail(from, options)?;
        if reply.code() != 250 {
            self.rset_quietly();
            return Err(Error::sender_refused(reply, from));
        }
        for r in to {
            let reply = self.rcpt(r, rcpt_options)?;
            if reply.code() == 421 {
                return Err(rcpt_421(reply));
            }
        }
        if !self.recipients().iter().any(RecipientStatus::rcpt_accepted) {
            self.rset_quietly();
            return Err(self.all_refused());
        }
        let res = match transfer {
            Transfer::Data => {
                let reply = self.command("DATA", "")?;
                self.after_data_command(reply, reader)
            }
            Transfer::Bdat => self.send_bdat(reader, Some(DataEncoder::new_unstuffed()), None),
            Transfer::BdatBinary => self.send_bdat(reader, None, None),
        };
        res.map_err(|e| self.after_data_error(e))
    }

    /// MAIL, every RCPT and DATA (or the first BDAT chunk) in one write; then the replies,
    /// matched to their commands in order, with the same outcomes as [`Session::lockstep`].
    #[allow(clippy::too_many_arguments)]
    fn pipelined(
        &mut self,
        from: &str,
        to: &[&str],
        quoted_from: &str,
        quoted_to: &[String],
        options: &[&str],
        rcpt_options: &[&str],
        reader: &mut BodyReader<'_>,
        transfer: Transfer,
    ) -> Result<Reply> {
        let utf8 = options.iter().any(|o| o.eq_ignore_ascii_case("smtputf8"));
        let mail_args = self.with_options(format!("FROM:{quoted_from}"), options, true)?;
        let mut batch = command_line("MAIL", &mail_args, &self.features)?;
        for r in quoted_to {
            let args = self.with_options_for(format!("TO:{r}"), rcpt_options, utf8)?;
            batch.extend_from_slice(&command_line("RCPT", &args, &self.features)?);
        }
        let mut encoder = match transfer {
            Transfer::Bdat => Some(DataEncoder::new_unstuffed()),
            _ => None,
        };
        let first_last = match transfer {
            Transfer::Data => {
                batch.extend_from_slice(b"DATA\r\n");
                None
            }
            _ => {
                let mut frame = Vec::new();
                let (start, last) = Self::next_bdat_frame(reader, &mut encoder, &mut frame)?;
                batch.extend_from_slice(&frame[start..]);
                Some(last)
            }
        };
        self.transaction.begin(from, utf8);
        // MAIL, each RCPT, and DATA or the first chunk (whose LMTP replies are counted once
        // the RCPT replies say how many recipients the server took)
        self.send_command(&batch, to.len() + 2)?;
        let whole_message_sent = first_last == Some(true);
        let unknown_if_sent = |e: Error| if whole_message_sent { delivery_unknown(e) } else { e };

        let mail_reply = self.read_reply().map_err(unknown_if_sent)?;
        self.transaction.sender_reply = Some(mail_reply.clone());
        let mail_ok = mail_reply.code() == 250;
        if mail_reply.code() == 421 {
            return Err(Error::sender_refused(mail_reply, from));
        }
        for r in to {
            let reply = self.read_reply().map_err(unknown_if_sent)?;
            if mail_ok {
                self.transaction.add_recipient(r, reply.clone());
            }
            if reply.code() == 421 {
                return Err(if mail_ok { rcpt_421(reply) } else { Error::sender_refused(mail_reply, from) });
            }
        }
        let accepted = mail_ok && self.recipients().iter().any(RecipientStatus::rcpt_accepted);
        let refusal =
            |s: &Session| if mail_ok { s.all_refused() } else { Error::sender_refused(mail_reply.clone(), from) };

        match first_last {
            None => {
                let reply = self.read_reply()?;
                if !accepted {
                    if reply.code() == 354 {
                        // a server that takes DATA with no recipient gets an empty message
                        self.send_bytes(b".\r\n", 1)?;
                        self.read_replies_to_unwanted_message()?;
                    }
                    self.rset_quietly();
                    return Err(refusal(self));
                }
                self.after_data_command(reply, reader).map_err(|e| self.after_data_error(e))
            }
            Some(last) => {
                if !accepted {
                    // the server answers the chunk it had to swallow
                    if last {
                        self.read_replies_to_unwanted_message()?;
                    } else {
                        self.read_reply()?;
                    }
                    self.rset_quietly();
                    return Err(refusal(self));
                }
                self.send_bdat(reader, encoder, Some(last)).map_err(|e| self.after_data_error(e))
            }
        }
    }

    /// An error from the data phase: RSET when the server refused and the session is still open.
    fn after_data_error(&mut self, e: Error) -> Error {
        if e.kind() == ErrorKind::Data {
            self.rset_quietly();
        }
        e
    }

    /// [`ErrorKind::RecipientsRefused`] for a transaction whose every recipient was refused at RCPT.
    fn all_refused(&self) -> Error {
        let refusals: Vec<(&str, &Reply)> = self.recipients().iter().map(|r| (r.address(), &r.rcpt_reply)).collect();
        summarise_refusals(ErrorKind::RecipientsRefused, "at RCPT", &refusals)
    }

    /// The outcome of a transaction from its final reply (SMTP) or per-recipient replies (LMTP).
    fn judge_final(&mut self, reply: Reply) -> Result<()> {
        if self.kind == SessionKind::Lmtp {
            // the recipients the server answered after the data decide the outcome
            let accepted: Vec<&RecipientStatus> = self.recipients().iter().filter(|r| r.data_reply.is_some()).collect();
            let refusals: Vec<(&str, &Reply)> =
                accepted.iter().filter_map(|r| r.refusal().map(|reply| (r.address(), reply))).collect();
            if !accepted.is_empty() && refusals.len() == accepted.len() {
                return Err(summarise_refusals(ErrorKind::Data, "after the data", &refusals));
            }
            if accepted.is_empty() && reply.code() != 250 {
                self.rset_quietly();
                return Err(Error::with_reply(ErrorKind::Data, reply));
            }
            return Ok(());
        }
        if reply.code() != 250 {
            self.rset_quietly();
            return Err(Error::with_reply(ErrorKind::Data, reply));
        }
        Ok(())
    }

    /// smtplib's `send_message`: the sender and the recipients each come from the message's
    /// headers unless given, and no header is read for a half that is given (Sender over
    /// From; To, Bcc, Cc; one `Resent-*` block wins, more than one is
    /// [`ErrorKind::InvalidArgument`] even with both given); an mbox `From ` first line, Bcc
    /// and Resent-Bcc fields are not transmitted;
    /// non-ASCII addresses add SMTPUTF8 and BODY=8BITMIME, or give
    /// [`ErrorKind::NotSupported`] when the server lacks SMTPUTF8.
    pub fn send_message(
        &mut self,
        msg: &[u8],
        from: Option<&str>,
        to: Option<&[&str]>,
        mail_options: &[&str],
        rcpt_options: &[&str],
    ) -> Result<()> {
        let msg = strip_mbox_from_line(msg);
        let HeaderEnvelope { from, to } = complete_envelope(msg, from, to)?;
        // the envelope is checked before anything is sent, as sendmail would check it
        quote_reverse_path(&from)?;
        for r in &to {
            quote_forward_path(r)?;
        }
        for o in mail_options.iter().chain(rcpt_options) {
            check_esmtp_param(o)?;
        }
        let body = strip_bcc(msg);
        self.conn()?;
        self.ehlo_or_helo_if_needed()?;
        let mut options: Vec<&str> = mail_options.to_vec();
        if needs_smtputf8(std::iter::once(from.as_str()).chain(to.iter().map(String::as_str))) {
            if !self.has_extn("smtputf8") {
                return Err(Error::new(
                    ErrorKind::NotSupported,
                    "one or more addresses need SMTPUTF8, which the server does not support",
                ));
            }
            for o in ["SMTPUTF8", "BODY=8BITMIME"] {
                if !options.iter().any(|x| x.eq_ignore_ascii_case(o)) {
                    options.push(o);
                }
            }
        }
        let to: Vec<&str> = to.iter().map(String::as_str).collect();
        self.sendmail(&from, &to, &body, &options, rcpt_options)
    }
}

/// DATA cannot carry NUL: a relay that drops NULs would see `CRLF NUL . CRLF` as the end of
/// the data (SMTP smuggling). BDAT counts octets, so it can (and BINARYMIME says so).
fn refuse_nul(bytes: &[u8]) -> Result<()> {
    if bytes.contains(&0) {
        return Err(Error::invalid("the message holds a NUL byte, which DATA cannot carry (BDAT can)"));
    }
    Ok(())
}

fn delivery_unknown(e: Error) -> Error {
    if e.kind() == ErrorKind::DeliveryUnknown {
        return e;
    }
    Error::new(
        ErrorKind::DeliveryUnknown,
        format!("connection lost after the end of the message and before the server's reply: delivery unknown ({e})"),
    )
}

/// One error for a transaction every recipient of which was refused: it says how many, and
/// carries the most permanent refusal (the first 5xx, else the first 4xx, else the first).
fn summarise_refusals(kind: ErrorKind, when: &str, refusals: &[(&str, &Reply)]) -> Error {
    let chosen = refusals
        .iter()
        .find(|(_, r)| r.code() >= 500)
        .or_else(|| refusals.iter().find(|(_, r)| r.code() >= 400))
        .or_else(|| refusals.first());
    let Some((address, reply)) = chosen else {
        return Error::new(kind, "no recipient");
    };
    let refused = format!("{address}: {} {}", reply.code(), reply.text());
    let message = match refusals.len() {
        1 => format!("the only recipient was refused {when}: {refused}"),
        n => format!("all {n} recipients were refused {when}; the most permanent refusal: {refused}"),
    };
    Error::with_reply_message(kind, (*reply).clone(), message)
}

fn rcpt_421(reply: Reply) -> Error {
    Error::with_reply_message(ErrorKind::RecipientsRefused, reply, "server closing the connection (421) during RCPT")
}
