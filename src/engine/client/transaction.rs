//! Mail transactions: DATA, `sendmail` and `send_message`, with one result per recipient.

use super::{Client, LinkRef, SessionKind};
use crate::engine::{
    delivery_unknown, rcpt_421, refuse_nul, BodyFramer, EnvelopeReplies, EnvelopeStep, Phase, RecipientStatus,
    Transfer, Verdict,
};
use crate::error::{Error, ErrorKind, Result};
use crate::message::{
    complete_envelope, needs_smtputf8, normalized_len, strip_bcc, strip_mbox_from_line, HeaderEnvelope,
};
use crate::protocol::{
    check_envelope, check_esmtp_param, command_line, quote_forward_path, quote_reverse_path, Reply, TransactionParams,
};

/// How much of the message is encoded per write (and per BDAT chunk): bounds the memory a
/// message of any size needs while being sent.
const DATA_CHUNK: usize = 256 * 1024;

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
    /// No data yet: the callback is called again later. Only a non-blocking driver can wait
    /// (it returns to the caller's event loop until the caller says data may be there); for
    /// the blocking driver this is an invalid answer.
    Pending,
}

/// A message body: in memory, or pulled chunk by chunk from a callback (any size, bounded memory).
pub enum Body<'a> {
    /// The whole message in memory.
    Bytes(&'a [u8]),
    /// A callback filling the buffer it is given.
    Stream(&'a mut (dyn FnMut(&mut [u8]) -> BodyRead + Send)),
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
    async fn fill(&mut self, link: &LinkRef) -> Result<(usize, bool)> {
        let Body::Stream(read) = &mut self.body else { return Ok((0, true)) };
        if self.ended {
            return Ok((0, true));
        }
        self.buf.resize(DATA_CHUNK, 0);
        let mut filled = 0;
        while filled < DATA_CHUNK {
            if link.cancelled() {
                return Err(Error::disconnected("the operation was cancelled"));
            }
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
                // what was gathered goes out; waiting with a partial chunk only when there is none
                BodyRead::Pending if filled > 0 => break,
                BodyRead::Pending => link.wait_for_body().await?,
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
    async fn prefetch(&mut self, link: &LinkRef) -> Result<()> {
        if matches!(self.body, Body::Stream(_)) && self.ahead.is_none() {
            self.ahead = Some(self.fill(link).await?);
        }
        Ok(())
    }

    /// The next chunk and whether it is known to be the last; `None` once the body is done.
    async fn next(&mut self, link: &LinkRef) -> Result<Option<(&[u8], bool)>> {
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
                    None => self.fill(link).await?,
                };
                if n == 0 {
                    return Ok(None);
                }
                Ok(Some((&self.buf[..n], last)))
            }
        }
    }
}

impl Client {
    /// Per-recipient results of the current or last transaction, in RCPT order.
    pub fn recipients(&self) -> &[RecipientStatus] {
        self.transaction.recipients()
    }

    /// The refused recipients of the current or last transaction with the reply that refused
    /// each (smtplib's `sendmail` result dict, plus LMTP's per-recipient refusals).
    pub fn refused(&self) -> impl Iterator<Item = (&str, &Reply)> {
        self.transaction.recipients().iter().filter_map(|r| r.refusal().map(|reply| (r.address(), reply)))
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
    pub async fn data(&mut self, msg: &[u8]) -> Result<Reply> {
        refuse_nul(msg)?;
        let mut reader = BodyReader::new(Body::Bytes(msg));
        let reply = self.command("DATA", "").await?;
        self.after_data_command(reply, &mut reader).await
    }

    /// Given the reply to DATA: refuse anything but 354, then send the body and read the
    /// final reply or replies.
    async fn after_data_command(&mut self, reply: Reply, reader: &mut BodyReader<'_>) -> Result<Reply> {
        let link = self.link.clone();
        if reply.code() != 354 {
            return Err(Error::with_reply(ErrorKind::Data, reply));
        }
        self.need_connection()?;
        if self.link.has_unread_input() {
            self.close();
            return Err(Error::protocol("server sent more after its 354 reply: refusing to send the message"));
        }
        let mut framer = BodyFramer::new(Transfer::Data);
        framer.reserve(reader.chunk_hint());
        loop {
            let checked = reader.is_stream(); // an in-memory body was checked before anything was sent
            let last = match reader.next(&link).await.and_then(|c| match c {
                Some((chunk, _)) if checked => refuse_nul(chunk).map(|()| c),
                c => Ok(c),
            }) {
                Ok(Some((chunk, last))) => framer.push(chunk, last) && last,
                Ok(None) => framer.push(&[], true),
                Err(e) => {
                    // no terminator may follow a partial body: closing is the only way to cancel
                    self.close();
                    return Err(e.context("message not sent, connection closed"));
                }
            };
            // the server owes a reply only for the end-of-data mark
            let owed: &[Phase] = if last { &[Phase::DataEnd] } else { &[] };
            self.send_bytes(framer.ready(), Phase::DataBlock, owed)
                .await
                .map_err(|e| e.context("connection lost while sending the message (not delivered)"))?;
            if last {
                return self.read_data_replies().await;
            }
        }
    }

    /// Read body chunks until the framer has the next BDAT frame ready; whether it is LAST.
    async fn next_bdat_frame(link: &LinkRef, reader: &mut BodyReader<'_>, framer: &mut BodyFramer) -> Result<bool> {
        loop {
            let (chunk, last) = reader.next(link).await?.unwrap_or((&[], true));
            if framer.push(chunk, last) {
                return Ok(last);
            }
        }
    }

    /// Send the (rest of the) body as BDAT chunks. With PIPELINING, chunks follow each other
    /// without waiting (at most [`BDAT_IN_FLIGHT`] replies outstanding); without it, each is
    /// answered before the next goes. `first_sent_last` is the first chunk already sent in a
    /// pipelined batch (and whether it was LAST).
    async fn send_bdat(
        &mut self,
        reader: &mut BodyReader<'_>,
        framer: &mut BodyFramer,
        first_sent_last: Option<bool>,
    ) -> Result<Reply> {
        let in_flight = if self.pipelining && self.has_extn("pipelining") { BDAT_IN_FLIGHT } else { 1 };
        let mut pending = 0usize;
        match first_sent_last {
            Some(true) => return self.read_data_replies().await,
            Some(false) => pending = 1,
            None => {}
        }
        loop {
            while pending >= in_flight {
                self.read_bdat_chunk_reply(&mut pending).await?;
            }
            let last = match Self::next_bdat_frame(&self.link.clone(), reader, framer).await {
                Ok(last) => last,
                Err(e) => {
                    // a BDAT chunk cannot be taken back: close so no partial message is delivered
                    self.close();
                    return Err(e.context("message not sent, connection closed"));
                }
            };
            let owed = if last { Phase::DataEnd } else { Phase::DataBlock };
            self.send_command(framer.ready(), Phase::DataBlock, &[owed])
                .await
                .map_err(|e| e.context("connection lost while sending the message (not delivered)"))?;
            if last {
                while pending > 0 {
                    match self.read_bdat_chunk_reply(&mut pending).await {
                        Ok(()) => {}
                        Err(e) if e.kind() == ErrorKind::Data => {
                            // the transaction failed: the server discards the LAST chunk and
                            // answers it once, LMTP too (RFC 3030 §4.2; Dovecot: 503 "Previous
                            // data chunk failed"); read that answer so RSET finds the session in step
                            let _ = self.read_reply().await;
                            return Err(e);
                        }
                        Err(e) => return Err(delivery_unknown(e)),
                    }
                }
                return self.read_data_replies().await;
            }
            pending += 1;
        }
    }

    /// Read the reply to one non-LAST BDAT chunk; a refusal drains the other outstanding
    /// non-LAST chunk replies (so the session stays in step) and is [`ErrorKind::Data`].
    async fn read_bdat_chunk_reply(&mut self, pending: &mut usize) -> Result<()> {
        let reply = self.read_reply().await?;
        *pending -= 1;
        if reply.code() == 250 {
            return Ok(());
        }
        while *pending > 0 {
            self.read_reply().await?;
            *pending -= 1;
        }
        Err(Error::with_reply(ErrorKind::Data, reply))
    }

    /// Read the reply (SMTP) or replies (LMTP: one per recipient the server counted) to the
    /// end of data.
    async fn read_data_replies(&mut self) -> Result<Reply> {
        let mut finals = self.transaction.final_replies(self.kind == SessionKind::Lmtp);
        // the end of data was queued owing one reply; LMTP answers once per counted recipient
        self.link.expect_more(finals.owed() - 1, Phase::DataEnd);
        loop {
            let reply = self.read_reply().await.map_err(delivery_unknown)?;
            if let Some(first) = finals.on_reply(&mut self.transaction, reply) {
                self.close_if_more_input();
                return Ok(first);
            }
        }
    }

    /// Read the answer to the end of a message that went out in a pipelined batch although
    /// no recipient was accepted (250 or 251). A server that counted a recipient anyway (any
    /// 2xx, e.g. 252) answers as for any message, once per such recipient for LMTP, and may
    /// deliver it; one that counted none answers once and delivers nothing.
    async fn read_replies_to_unwanted_message(&mut self) -> Result<()> {
        if self.transaction.any_counted() {
            self.read_data_replies().await.map(drop)
        } else {
            self.read_reply().await.map(drop)
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
    async fn rset_quietly(&mut self) {
        if self.is_connected() {
            let _ = self.rset().await;
        }
    }

    /// smtplib's `sendmail(from, to, msg, mail_options, rcpt_options)`.
    ///
    /// EHLO/HELO if needed; `SIZE=` when the server offers SIZE (and the message is refused
    /// before MAIL when it exceeds the advertised limit); MAIL; RCPT for each recipient; the
    /// data (BDAT when the server offers CHUNKING, else DATA; MAIL, RCPTs and DATA or the first
    /// BDAT in one write when it offers PIPELINING). Returns normally when at least one
    /// recipient was accepted; the refused ones are in [`Client::refused`]. Errors:
    /// [`ErrorKind::SenderRefused`], [`ErrorKind::RecipientsRefused`] (every recipient
    /// refused), [`ErrorKind::Data`]; after each the transaction is reset with RSET, or the
    /// connection closed when the server said 421. Every argument is checked before anything
    /// is sent.
    ///
    /// When every recipient was refused (at RCPT, or for LMTP after the data), the error says
    /// how many and carries the most permanent refusal: the first 5xx if there is one, else
    /// the first 4xx, so that a caller choosing between retrying and bouncing never retries
    /// what a server refused for good. [`Client::recipients`] keeps every recipient's own reply.
    pub async fn sendmail(
        &mut self,
        from: &str,
        to: &[&str],
        msg: &[u8],
        mail_options: &[&str],
        rcpt_options: &[&str],
    ) -> Result<()> {
        self.transfer(from, to, Body::Bytes(msg), None, mail_options, rcpt_options, &TransactionParams::default()).await
    }

    /// `sendmail` with the message pulled from `read` in chunks, so a message of any size
    /// goes out in bounded memory. `size_estimate` (octets, CRLF line ends) is sent as SIZE
    /// and checked against the server's limit. An abort before the first byte of the
    /// transaction sends nothing; an abort later closes the connection so that no partial
    /// message can be delivered. Errors as `sendmail`, plus [`ErrorKind::CallbackAborted`].
    pub async fn sendmail_stream(
        &mut self,
        from: &str,
        to: &[&str],
        read: &mut (dyn FnMut(&mut [u8]) -> BodyRead + Send),
        size_estimate: Option<u64>,
        mail_options: &[&str],
        rcpt_options: &[&str],
    ) -> Result<()> {
        let params = TransactionParams::default();
        self.transfer(from, to, Body::Stream(read), size_estimate, mail_options, rcpt_options, &params).await
    }

    /// `sendmail` (a [`Body::Bytes`]) or `sendmail_stream` (a [`Body::Stream`], with its
    /// `size_estimate`) with the typed parameters of `params`: DSN (RFC 3461) and REQUIRETLS
    /// (RFC 8689).
    ///
    /// Before anything of the transaction is sent: a parameter also given as a raw option, or
    /// DSN settings for an address that is not in `to`, is [`ErrorKind::InvalidArgument`];
    /// DSN settings for a server that does not advertise DSN are [`ErrorKind::NotSupported`]
    /// under [`crate::protocol::DsnPolicy::Require`] (the default) and left out under
    /// [`crate::protocol::DsnPolicy::Optional`]; REQUIRETLS without TLS, over TLS whose peer
    /// was not verified, or to a server that does not advertise it is
    /// [`ErrorKind::TlsRequired`] (the connection stays open). Each recipient's RCPT carries
    /// its own `NOTIFY=` and `ORCPT=`, pipelined or not. Other errors as `sendmail`.
    #[allow(clippy::too_many_arguments)]
    pub async fn sendmail_with(
        &mut self,
        from: &str,
        to: &[&str],
        body: Body<'_>,
        size_estimate: Option<u64>,
        mail_options: &[&str],
        rcpt_options: &[&str],
        params: &TransactionParams,
    ) -> Result<()> {
        self.transfer(from, to, body, size_estimate, mail_options, rcpt_options, params).await
    }

    #[allow(clippy::too_many_arguments)]
    async fn transfer(
        &mut self,
        from: &str,
        to: &[&str],
        body: Body<'_>,
        size_estimate: Option<u64>,
        mail_options: &[&str],
        rcpt_options: &[&str],
        params: &TransactionParams,
    ) -> Result<()> {
        if to.is_empty() {
            return Err(Error::invalid("no recipients"));
        }
        params.check(to, mail_options, rcpt_options)?;
        let (quoted_from, quoted_to) = check_envelope(from, to, mail_options, rcpt_options)?;
        let binary = mail_options.iter().any(|o| o.eq_ignore_ascii_case("body=binarymime"));
        self.need_connection()?;
        self.ehlo_or_helo_if_needed().await?;

        let transfer = self.greetings.transfer(self.chunking, binary)?;
        if let (Transfer::Data, Body::Bytes(msg)) = (transfer, &body) {
            refuse_nul(msg)?;
        }
        let size = match &body {
            Body::Bytes(msg) if transfer == Transfer::BdatBinary => Some(msg.len() as u64),
            Body::Bytes(msg) => Some(normalized_len(msg)),
            Body::Stream(_) => size_estimate,
        };
        let tls = self.tls_info.as_ref().map(|t| t.verified);
        let options = self.greetings.mail_options(size, mail_options, params, tls)?;
        let options: Vec<&str> = options.iter().map(String::as_str).collect();
        let utf8 = options.iter().any(|o| o.eq_ignore_ascii_case("smtputf8"));
        let rcpt_options = to
            .iter()
            .map(|r| self.greetings.rcpt_options(rcpt_options, params, r, utf8))
            .collect::<Result<Vec<_>>>()?;
        let mut reader = BodyReader::new(body);
        if let Err(e) = reader.prefetch(&self.link.clone()).await {
            // nothing of the transaction was sent, but a timeout closes the connection
            // whatever was waited for (the operation's total ran out)
            if e.kind() == ErrorKind::Timeout {
                self.close();
            }
            return Err(e);
        }

        let final_reply = if self.pipelining && self.has_extn("pipelining") {
            self.pipelined(from, to, &quoted_from, &quoted_to, &options, &rcpt_options, &mut reader, transfer).await?
        } else {
            self.lockstep(from, to, &options, &rcpt_options, &mut reader, transfer).await?
        };
        self.judge_final(final_reply).await
    }

    /// MAIL, each RCPT, then the data, each command waiting for its reply.
    async fn lockstep(
        &mut self,
        from: &str,
        to: &[&str],
        options: &[&str],
        rcpt_options: &[Vec<String>],
        reader: &mut BodyReader<'_>,
        transfer: Transfer,
    ) -> Result<Reply> {
        let reply = self.mail(from, options).await?;
        if reply.code() != 250 {
            self.rset_quietly().await;
            return Err(Error::sender_refused(reply, from));
        }
        for (r, rcpt_options) in to.iter().zip(rcpt_options) {
            let rcpt_options: Vec<&str> = rcpt_options.iter().map(String::as_str).collect();
            let reply = self.rcpt(r, &rcpt_options).await?;
            if reply.code() == 421 {
                return Err(rcpt_421(reply));
            }
        }
        if !self.transaction.any_accepted() {
            self.rset_quietly().await;
            return Err(self.transaction.all_refused());
        }
        let res = match transfer {
            Transfer::Data => {
                let reply = self.command("DATA", "").await?;
                self.after_data_command(reply, reader).await
            }
            _ => self.send_bdat(reader, &mut BodyFramer::new(transfer), None).await,
        };
        self.after_data_error(res).await
    }

    /// MAIL, every RCPT and DATA (or the first BDAT chunk) in one write; then the replies,
    /// matched to their commands in order, with the same outcomes as [`Client::lockstep`].
    #[allow(clippy::too_many_arguments)]
    async fn pipelined(
        &mut self,
        from: &str,
        to: &[&str],
        quoted_from: &str,
        quoted_to: &[String],
        options: &[&str],
        rcpt_options: &[Vec<String>],
        reader: &mut BodyReader<'_>,
        transfer: Transfer,
    ) -> Result<Reply> {
        let utf8 = options.iter().any(|o| o.eq_ignore_ascii_case("smtputf8"));
        let mail_args =
            self.greetings.envelope_args(format!("FROM:{quoted_from}"), options, true, self.transaction.smtputf8())?;
        let mut batch = command_line("MAIL", &mail_args, self.greetings.features())?;
        for (r, rcpt_options) in quoted_to.iter().zip(rcpt_options) {
            let rcpt_options: Vec<&str> = rcpt_options.iter().map(String::as_str).collect();
            let args = self.greetings.append_options(format!("TO:{r}"), &rcpt_options, utf8)?;
            batch.extend_from_slice(&command_line("RCPT", &args, self.greetings.features())?);
        }
        let mut framer = BodyFramer::new(transfer);
        let first_last = match transfer {
            Transfer::Data => {
                batch.extend_from_slice(b"DATA\r\n");
                None
            }
            _ => {
                let last = Self::next_bdat_frame(&self.link.clone(), reader, &mut framer).await?;
                batch.extend_from_slice(framer.ready());
                Some(last)
            }
        };
        self.transaction.begin(from, utf8);
        let mut envelope = EnvelopeReplies::new(from, to);
        // the envelope, then DATA or the first chunk (whose LMTP replies are counted once the
        // RCPT replies say how many recipients the server took)
        let mut owed = vec![Phase::Rcpt; envelope.owed() + 1];
        owed[0] = Phase::Mail;
        owed[envelope.owed()] = match first_last {
            None => Phase::Data,
            Some(true) => Phase::DataEnd,
            Some(false) => Phase::DataBlock,
        };
        self.send_command(&batch, Phase::Mail, &owed).await?;
        let whole_message_sent = first_last == Some(true);
        let unknown_if_sent = |e: Error| if whole_message_sent { delivery_unknown(e) } else { e };
        loop {
            let reply = self.read_reply().await.map_err(unknown_if_sent)?;
            match envelope.on_reply(&mut self.transaction, reply) {
                EnvelopeStep::More => {}
                EnvelopeStep::Done => break,
                EnvelopeStep::Closing(e) => return Err(e),
            }
        }
        let accepted = envelope.accepted(&self.transaction);
        match first_last {
            None => {
                let reply = self.read_reply().await?;
                if !accepted {
                    if reply.code() == 354 {
                        // a server that takes DATA with no recipient gets an empty message
                        self.send_bytes(b".\r\n", Phase::DataBlock, &[Phase::DataEnd]).await?;
                        self.read_replies_to_unwanted_message().await?;
                    }
                    self.rset_quietly().await;
                    return Err(envelope.refusal(&self.transaction));
                }
                let res = self.after_data_command(reply, reader).await;
                self.after_data_error(res).await
            }
            Some(last) => {
                if !accepted {
                    // the server answers the chunk it had to swallow
                    if last {
                        self.read_replies_to_unwanted_message().await?;
                    } else {
                        self.read_reply().await?;
                    }
                    self.rset_quietly().await;
                    return Err(envelope.refusal(&self.transaction));
                }
                let res = self.send_bdat(reader, &mut framer, Some(last)).await;
                self.after_data_error(res).await
            }
        }
    }

    /// An error from the data phase: RSET when the server refused and the session is still open.
    async fn after_data_error<T>(&mut self, res: Result<T>) -> Result<T> {
        if res.as_ref().is_err_and(|e| e.kind() == ErrorKind::Data) {
            self.rset_quietly().await;
        }
        res
    }

    /// The outcome of a transaction from its final reply (SMTP) or per-recipient replies (LMTP).
    async fn judge_final(&mut self, reply: Reply) -> Result<()> {
        match self.transaction.verdict(self.kind == SessionKind::Lmtp, reply) {
            Verdict::Delivered => Ok(()),
            Verdict::Refused { error, reset } => {
                if reset {
                    self.rset_quietly().await;
                }
                Err(error)
            }
        }
    }

    /// smtplib's `send_message`: the sender and the recipients each come from the message's
    /// headers unless given, and no header is read for a half that is given (Sender over
    /// From; To, Bcc, Cc; one `Resent-*` block wins, more than one is
    /// [`ErrorKind::InvalidArgument`] even with both given); an mbox `From ` first line, Bcc
    /// and Resent-Bcc fields are not transmitted;
    /// non-ASCII addresses add SMTPUTF8 and BODY=8BITMIME, or give
    /// [`ErrorKind::NotSupported`] when the server lacks SMTPUTF8.
    ///
    /// Header addresses are read as smtplib reads them (names without a domain included);
    /// the deliberate differences, and what is refused as unsafe, are those of
    /// [`complete_envelope`]: an empty address gives no recipient instead of `RCPT TO:<>`, and
    /// a field that parses more than one way is [`ErrorKind::InvalidArgument`].
    pub async fn send_message(
        &mut self,
        msg: &[u8],
        from: Option<&str>,
        to: Option<&[&str]>,
        mail_options: &[&str],
        rcpt_options: &[&str],
    ) -> Result<()> {
        self.send_message_with(msg, from, to, mail_options, rcpt_options, &TransactionParams::default()).await
    }

    /// `send_message` with the typed parameters of `params` (DSN, REQUIRETLS), as
    /// [`Client::sendmail_with`]; the addresses of DSN settings are matched against the
    /// recipients found in the headers when `to` is not given.
    pub async fn send_message_with(
        &mut self,
        msg: &[u8],
        from: Option<&str>,
        to: Option<&[&str]>,
        mail_options: &[&str],
        rcpt_options: &[&str],
        params: &TransactionParams,
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
        let to: Vec<&str> = to.iter().map(String::as_str).collect();
        params.check(&to, mail_options, rcpt_options)?;
        let body = strip_bcc(msg);
        self.need_connection()?;
        self.ehlo_or_helo_if_needed().await?;
        let mut options: Vec<&str> = mail_options.to_vec();
        if needs_smtputf8(std::iter::once(from.as_str()).chain(to.iter().copied())) {
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
        self.transfer(&from, &to, Body::Bytes(&body), None, &options, rcpt_options, params).await
    }
}
