//! Mail transactions: DATA, `sendmail` and `send_message`, with one result per recipient.

use super::{Session, SessionKind};
use crate::error::{Error, ErrorKind, Result};
use crate::message::{envelope_from_headers, needs_smtputf8, normalized_len, strip_bcc, DataEncoder};
use crate::protocol::{check_esmtp_param, quote_address, Reply};

/// How much of the message is encoded per write: bounds the extra memory dot-stuffing needs.
const DATA_CHUNK: usize = 256 * 1024;

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

    /// Whether RCPT TO was accepted (250 or 251, as smtplib counts it).
    pub fn rcpt_accepted(&self) -> bool {
        matches!(self.rcpt_reply.code(), 250 | 251)
    }

    /// The reply that refused this recipient, if one did: its RCPT reply, or its LMTP
    /// per-recipient reply after the data.
    pub fn refusal(&self) -> Option<&Reply> {
        if !self.rcpt_accepted() {
            Some(&self.rcpt_reply)
        } else {
            self.data_reply.as_ref().filter(|r| !r.is_positive())
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

    /// smtplib's `data(msg)`: DATA, then the message with line endings normalised to CRLF and
    /// dot-stuffed, then the end-of-data mark. A DATA reply other than 354 is
    /// [`ErrorKind::Data`] (nothing of the message sent). The final reply is returned whatever
    /// its code; for LMTP one reply is read per accepted recipient and kept per recipient
    /// (the first is returned). Losing the connection after the end-of-data mark and before
    /// the reply is [`ErrorKind::DeliveryUnknown`].
    pub fn data(&mut self, msg: &[u8]) -> Result<Reply> {
        let reply = self.command("DATA", "")?;
        if reply.code() != 354 {
            return Err(Error::with_reply(ErrorKind::Data, reply));
        }
        if self.conn()?.has_buffered_input() {
            self.close();
            return Err(Error::protocol("server sent more after its 354 reply: refusing to send the message"));
        }
        let mut encoder = DataEncoder::new();
        let mut out = Vec::with_capacity(msg.len().min(DATA_CHUNK) + DATA_CHUNK / 32 + 8);
        let mut chunks = msg.chunks(DATA_CHUNK).peekable();
        loop {
            out.clear();
            if let Some(chunk) = chunks.next() {
                encoder.encode(chunk, &mut out);
            }
            let last = chunks.peek().is_none();
            if last {
                encoder.finish(&mut out);
            }
            self.send_bytes(&out)
                .map_err(|e| e.context("connection lost while sending the message (not delivered)"))?;
            if last {
                break;
            }
        }
        self.read_data_replies()
    }

    /// Read the reply (SMTP) or replies (LMTP) to the end of data.
    fn read_data_replies(&mut self) -> Result<Reply> {
        let unknown = |e: Error| {
            Error::new(
                ErrorKind::DeliveryUnknown,
                format!("connection lost after the end of the message and before the server's reply: delivery unknown ({e})"),
            )
        };
        let accepted: Vec<usize> = (0..self.transaction.recipients.len())
            .filter(|&i| self.transaction.recipients[i].rcpt_accepted())
            .collect();
        if self.kind != SessionKind::Lmtp || accepted.is_empty() {
            let reply = self.read_reply().map_err(unknown)?;
            self.transaction.clear();
            return Ok(reply);
        }
        let mut first = None;
        for i in accepted {
            let reply = self.read_reply().map_err(unknown)?;
            self.transaction.recipients[i].data_reply = Some(reply.clone());
            first.get_or_insert(reply);
        }
        self.transaction.clear();
        Ok(first.expect("at least one accepted recipient"))
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
    /// before MAIL when it exceeds the advertised limit); MAIL; RCPT for each recipient; DATA.
    /// Returns normally when at least one recipient was accepted; the refused ones are in
    /// [`Session::refused`]. Errors: [`ErrorKind::SenderRefused`], [`ErrorKind::RecipientsRefused`]
    /// (every recipient refused), [`ErrorKind::Data`]; after each the transaction is reset with
    /// RSET, or the connection closed when the server said 421. Every argument is checked
    /// before anything is sent.
    pub fn sendmail(
        &mut self,
        from: &str,
        to: &[&str],
        msg: &[u8],
        mail_options: &[&str],
        rcpt_options: &[&str],
    ) -> Result<()> {
        if to.is_empty() {
            return Err(Error::invalid("no recipients"));
        }
        quote_address(from)?;
        for r in to {
            quote_address(r)?;
        }
        for o in mail_options.iter().chain(rcpt_options) {
            check_esmtp_param(o)?;
        }
        let utf8 = mail_options.iter().any(|o| o.eq_ignore_ascii_case("smtputf8"));
        if !utf8 && (!from.is_ascii() || to.iter().any(|r| !r.is_ascii())) {
            return Err(Error::invalid("an address is not ASCII: it needs the SMTPUTF8 mail option"));
        }
        self.conn()?;
        self.ehlo_or_helo_if_needed()?;

        let mut options: Vec<String> = Vec::new();
        if self.does_esmtp {
            let size = normalized_len(msg);
            if let Some(limit) = self.features.size_limit() {
                if size > limit {
                    return Err(Error::new(
                        ErrorKind::MessageTooLarge,
                        format!("message of {size} bytes exceeds the server's SIZE limit of {limit} bytes"),
                    ));
                }
            }
            if self.has_extn("size") {
                options.push(format!("SIZE={size}"));
            }
            options.extend(mail_options.iter().map(|s| s.to_string()));
        }
        let options: Vec<&str> = options.iter().map(String::as_str).collect();

        let reply = self.mail(from, &options)?;
        if reply.code() != 250 {
            self.rset_quietly();
            return Err(Error::sender_refused(reply, from));
        }
        for r in to {
            let reply = self.rcpt(r, rcpt_options)?;
            if reply.code() == 421 {
                return Err(Error::with_reply_message(
                    ErrorKind::RecipientsRefused,
                    reply,
                    "server closing the connection (421) during RCPT",
                ));
            }
        }
        if !self.recipients().iter().any(RecipientStatus::rcpt_accepted) {
            let last = self.recipients().last().map(|r| r.rcpt_reply.clone()).expect("recipients sent");
            self.rset_quietly();
            return Err(Error::with_reply_message(
                ErrorKind::RecipientsRefused,
                last,
                format!("all {} recipients refused", to.len()),
            ));
        }
        let reply = match self.data(msg) {
            Ok(r) => r,
            Err(e) if e.kind() == ErrorKind::Data => {
                self.rset_quietly();
                return Err(e);
            }
            Err(e) => return Err(e),
        };
        if self.kind == SessionKind::Lmtp {
            let accepted: Vec<&RecipientStatus> = self.recipients().iter().filter(|r| r.rcpt_accepted()).collect();
            if accepted.iter().all(|r| r.refusal().is_some()) {
                let first = accepted[0].refusal().cloned().unwrap_or(reply);
                return Err(Error::with_reply_message(
                    ErrorKind::Data,
                    first,
                    "the message was refused for every recipient after the data",
                ));
            }
            return Ok(());
        }
        if reply.code() != 250 {
            self.rset_quietly();
            return Err(Error::with_reply(ErrorKind::Data, reply));
        }
        Ok(())
    }

    /// smtplib's `send_message`: the envelope comes from the message's headers unless given
    /// (Sender over From; To, Bcc, Cc; one `Resent-*` block wins, more than one is
    /// [`ErrorKind::InvalidArgument`]); Bcc and Resent-Bcc fields are not transmitted;
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
        let derived = if from.is_none() || to.is_none() { Some(envelope_from_headers(msg)?) } else { None };
        let from: String = match from {
            Some(f) => f.to_owned(),
            None => derived.as_ref().map(|e| e.from.clone()).unwrap_or_default(),
        };
        let to: Vec<String> = match to {
            Some(t) => t.iter().map(|s| s.to_string()).collect(),
            None => derived.map(|e| e.to).unwrap_or_default(),
        };
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
