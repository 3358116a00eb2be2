//! One mail transaction without the wire: the per-recipient results, the body as it goes out
//! (DATA dot-stuffed, or BDAT chunks), the replies to a pipelined envelope matched to their
//! commands, LMTP's one reply per recipient after the data, and the transaction's outcome.
//! The driver reads the body and the replies and hands them in; every decision is made here.

use crate::error::{Error, ErrorKind, Result};
use crate::message::DataEncoder;
use crate::reply::{EnhancedStatus, Reply};

/// Room kept in front of a BDAT chunk for its command line (`BDAT <20 digits> LAST\r\n`).
const BDAT_HEADER_ROOM: usize = 32;

/// How the body is put on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transfer {
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
    pub fn counted_by_server(&self) -> bool {
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

/// The transaction in progress (from MAIL to the end of data or RSET), and the per-recipient
/// results of the last one.
#[derive(Debug, Default)]
pub struct Transaction {
    sender: Option<String>,
    smtputf8: bool,
    sender_reply: Option<Reply>,
    recipients: Vec<RecipientStatus>,
}

impl Transaction {
    /// MAIL is going out for `sender`: the last transaction's results are forgotten.
    pub fn begin(&mut self, sender: &str, smtputf8: bool) {
        *self = Transaction { sender: Some(sender.to_owned()), smtputf8, ..Default::default() };
    }

    /// The transaction is over (end of data, RSET); the per-recipient results stay readable.
    pub fn clear(&mut self) {
        self.sender = None;
        self.smtputf8 = false;
        self.sender_reply = None;
    }

    /// The server's reply to MAIL.
    pub fn set_sender_reply(&mut self, reply: Reply) {
        self.sender_reply = Some(reply);
    }

    /// The server's reply to RCPT for `address`.
    pub fn add_recipient(&mut self, address: &str, reply: Reply) {
        self.recipients.push(RecipientStatus { address: address.to_owned(), rcpt_reply: reply, data_reply: None });
    }

    /// The sender of the transaction in progress (`None` once it is over).
    pub fn sender(&self) -> Option<&str> {
        self.sender.as_deref()
    }

    /// The server's reply to the transaction's MAIL.
    pub fn sender_reply(&self) -> Option<&Reply> {
        self.sender_reply.as_ref()
    }

    /// Whether the transaction's MAIL asked for SMTPUTF8.
    pub fn smtputf8(&self) -> bool {
        self.smtputf8
    }

    /// Per-recipient results, in RCPT order.
    pub fn recipients(&self) -> &[RecipientStatus] {
        &self.recipients
    }

    /// Whether a recipient was accepted (250 or 251): the message may be sent.
    pub fn any_accepted(&self) -> bool {
        self.recipients.iter().any(RecipientStatus::rcpt_accepted)
    }

    /// Whether the server counted a recipient (any 2xx): a message sent anyway is answered as
    /// a message, and may be delivered.
    pub fn any_counted(&self) -> bool {
        self.recipients.iter().any(RecipientStatus::counted_by_server)
    }

    /// [`ErrorKind::RecipientsRefused`] for a transaction whose every recipient was refused at RCPT.
    pub fn all_refused(&self) -> Error {
        let refusals: Vec<(&str, &Reply)> = self.recipients.iter().map(|r| (r.address(), &r.rcpt_reply)).collect();
        summarise_refusals(ErrorKind::RecipientsRefused, "at RCPT", &refusals)
    }

    /// The replies the server owes to the end of data: one per recipient it counted for LMTP
    /// (RFC 2033 §4.2), else one.
    pub fn final_replies(&self, lmtp: bool) -> FinalReplies {
        let recipients: Vec<usize> = if lmtp {
            (0..self.recipients.len()).filter(|&i| self.recipients[i].counted_by_server()).collect()
        } else {
            Vec::new()
        };
        FinalReplies { recipients, received: 0, first: None }
    }

    /// The outcome of a transaction from its final reply (SMTP) or the per-recipient replies
    /// recorded after the data (LMTP).
    pub fn verdict(&self, lmtp: bool, reply: Reply) -> Verdict {
        if lmtp {
            // the recipients the server answered after the data decide the outcome
            let answered: Vec<&RecipientStatus> = self.recipients.iter().filter(|r| r.data_reply.is_some()).collect();
            let refusals: Vec<(&str, &Reply)> =
                answered.iter().filter_map(|r| r.refusal().map(|reply| (r.address(), reply))).collect();
            if !answered.is_empty() && refusals.len() == answered.len() {
                return Verdict::Refused {
                    error: summarise_refusals(ErrorKind::Data, "after the data", &refusals),
                    reset: false,
                };
            }
            if answered.is_empty() && reply.code() != 250 {
                return Verdict::Refused { error: Error::with_reply(ErrorKind::Data, reply), reset: true };
            }
            return Verdict::Delivered;
        }
        if reply.code() != 250 {
            return Verdict::Refused { error: Error::with_reply(ErrorKind::Data, reply), reset: true };
        }
        Verdict::Delivered
    }
}

/// What became of a transaction once its final reply or replies were read.
#[derive(Debug)]
pub enum Verdict {
    /// The server took the message (for LMTP: for at least one recipient).
    Delivered,
    /// It did not; `reset`: RSET goes out before the error is reported (smtplib's `_rset`).
    Refused {
        /// The error to report.
        error: Error,
        /// Whether RSET is sent first.
        reset: bool,
    },
}

/// The replies owed to the end of data, recorded as they arrive.
#[derive(Debug)]
pub struct FinalReplies {
    /// For LMTP: the recipients (indexes) the replies belong to, in order; empty for one reply.
    recipients: Vec<usize>,
    received: usize,
    first: Option<Reply>,
}

impl FinalReplies {
    /// How many replies the server owes.
    pub fn owed(&self) -> usize {
        self.recipients.len().max(1)
    }

    /// Record the next reply (for LMTP, as its recipient's own); once the last has arrived,
    /// the transaction is over and the first reply is returned.
    pub fn on_reply(&mut self, transaction: &mut Transaction, reply: Reply) -> Option<Reply> {
        if let Some(&i) = self.recipients.get(self.received) {
            transaction.recipients[i].data_reply = Some(reply.clone());
        }
        self.received += 1;
        self.first.get_or_insert(reply);
        if self.received < self.owed() {
            return None;
        }
        transaction.clear();
        self.first.take()
    }
}

/// The replies to a pipelined MAIL and its RCPTs, matched to their commands in order, with the
/// outcomes of the lock-step dialogue.
#[derive(Debug)]
pub struct EnvelopeReplies {
    sender: String,
    recipients: Vec<String>,
    mail_reply: Option<Reply>,
    rcpt_replies: usize,
}

/// What the next envelope reply leaves to do.
#[derive(Debug)]
pub enum EnvelopeStep {
    /// More envelope replies are owed.
    More,
    /// Every envelope reply is in: the reply to DATA or the first BDAT chunk comes next.
    Done,
    /// The server is closing the connection (421): this error ends the transaction.
    Closing(Error),
}

impl EnvelopeReplies {
    /// The envelope of a batch: MAIL for `sender`, then one RCPT per recipient.
    pub fn new(sender: &str, recipients: &[&str]) -> Self {
        EnvelopeReplies {
            sender: sender.to_owned(),
            recipients: recipients.iter().map(|r| (*r).to_owned()).collect(),
            mail_reply: None,
            rcpt_replies: 0,
        }
    }

    /// Replies owed for the envelope (MAIL and each RCPT).
    pub fn owed(&self) -> usize {
        1 + self.recipients.len()
    }

    fn mail_ok(&self) -> bool {
        self.mail_reply.as_ref().is_some_and(|r| r.code() == 250)
    }

    /// Take the next reply: MAIL's, then each RCPT's (recorded per recipient only when MAIL
    /// was accepted: otherwise the server refuses them for want of a transaction).
    pub fn on_reply(&mut self, transaction: &mut Transaction, reply: Reply) -> EnvelopeStep {
        let Some(mail_reply) = &self.mail_reply else {
            transaction.set_sender_reply(reply.clone());
            let closing = reply.code() == 421;
            self.mail_reply = Some(reply);
            if closing {
                return EnvelopeStep::Closing(self.refusal(transaction));
            }
            return if self.recipients.is_empty() { EnvelopeStep::Done } else { EnvelopeStep::More };
        };
        let mail_ok = mail_reply.code() == 250;
        let address = &self.recipients[self.rcpt_replies];
        self.rcpt_replies += 1;
        if mail_ok {
            transaction.add_recipient(address, reply.clone());
        }
        if reply.code() == 421 {
            return EnvelopeStep::Closing(if mail_ok { rcpt_421(reply) } else { self.refusal(transaction) });
        }
        if self.rcpt_replies < self.recipients.len() {
            EnvelopeStep::More
        } else {
            EnvelopeStep::Done
        }
    }

    /// Whether the message may be sent: MAIL accepted and at least one recipient too.
    pub fn accepted(&self, transaction: &Transaction) -> bool {
        self.mail_ok() && transaction.any_accepted()
    }

    /// Why the message may not be sent: the sender refused, or every recipient.
    pub fn refusal(&self, transaction: &Transaction) -> Error {
        match &self.mail_reply {
            Some(reply) if reply.code() != 250 => Error::sender_refused(reply.clone(), &self.sender),
            _ => transaction.all_refused(),
        }
    }
}

/// The body on its way out: each chunk the driver reads is encoded for the transfer, DATA
/// dot-stuffed and ended by the end-of-data mark, BDAT framed behind its `BDAT n [LAST]` line.
#[derive(Debug)]
pub struct BodyFramer {
    transfer: Transfer,
    encoder: Option<DataEncoder>,
    frame: Vec<u8>,
    /// Where the output handed out starts in `frame`, once a push made one.
    ready: Option<usize>,
}

impl BodyFramer {
    /// A framer for a body sent by `transfer`.
    pub fn new(transfer: Transfer) -> Self {
        let encoder = match transfer {
            Transfer::Data => Some(DataEncoder::new()),
            Transfer::Bdat => Some(DataEncoder::new_unstuffed()),
            Transfer::BdatBinary => None,
        };
        BodyFramer { transfer, encoder, frame: Vec::new(), ready: Some(0) }
    }

    /// Room for the output of a chunk of `chunk` bytes, so framing never reallocates.
    pub fn reserve(&mut self, chunk: usize) {
        self.frame.reserve(chunk + chunk / 32 + BDAT_HEADER_ROOM);
    }

    /// Add the next chunk of the body (`last`: it ends the body). Returns whether output is
    /// ready ([`BodyFramer::ready`]): for DATA always, the encoded chunk (with the end-of-data
    /// mark after the last); for BDAT a whole `BDAT n [LAST]` frame, but not while the chunks
    /// so far encode to no byte (`BDAT 0` is valid only as LAST).
    pub fn push(&mut self, chunk: &[u8], last: bool) -> bool {
        if self.ready.take().is_some() {
            self.frame.clear();
            if self.transfer != Transfer::Data {
                self.frame.resize(BDAT_HEADER_ROOM, 0);
            }
        }
        match &mut self.encoder {
            Some(e) => e.encode(chunk, &mut self.frame),
            None => self.frame.extend_from_slice(chunk),
        }
        if self.transfer != Transfer::Data && !last && self.frame.len() == BDAT_HEADER_ROOM {
            return false;
        }
        if last {
            if let Some(e) = &mut self.encoder {
                e.finish(&mut self.frame);
            }
        }
        if self.transfer == Transfer::Data {
            self.ready = Some(0);
            return true;
        }
        let size = self.frame.len() - BDAT_HEADER_ROOM;
        let verb = if last { format!("BDAT {size} LAST\r\n") } else { format!("BDAT {size}\r\n") };
        let start = BDAT_HEADER_ROOM - verb.len();
        self.frame[start..BDAT_HEADER_ROOM].copy_from_slice(verb.as_bytes());
        self.ready = Some(start);
        true
    }

    /// The output the last [`BodyFramer::push`] made ready (empty when it made none).
    pub fn ready(&self) -> &[u8] {
        match self.ready {
            Some(start) => &self.frame[start..],
            None => &[],
        }
    }
}

/// DATA cannot carry NUL: a relay that drops NULs would see `CRLF NUL . CRLF` as the end of
/// the data (SMTP smuggling). BDAT counts octets, so it can (and BINARYMIME says so).
pub fn refuse_nul(bytes: &[u8]) -> Result<()> {
    if bytes.contains(&0) {
        return Err(Error::invalid("the message holds a NUL byte, which DATA cannot carry (BDAT can)"));
    }
    Ok(())
}

/// `e`, lost after the end of the message and before its reply, as
/// [`ErrorKind::DeliveryUnknown`]: the server may or may not have taken the message.
pub fn delivery_unknown(e: Error) -> Error {
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

/// The error for a 421 (the server closing the connection) in answer to RCPT.
pub fn rcpt_421(reply: Reply) -> Error {
    Error::with_reply_message(ErrorKind::RecipientsRefused, reply, "server closing the connection (421) during RCPT")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(code: u16, text: &str) -> Reply {
        Reply::new(code, vec![text.to_owned()])
    }

    /// Everything a framer hands out for `chunks`, the last one ending the body.
    fn framed(transfer: Transfer, chunks: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut framer = BodyFramer::new(transfer);
        let mut out = Vec::new();
        for (i, chunk) in chunks.iter().enumerate() {
            if framer.push(chunk, i + 1 == chunks.len()) {
                out.push(framer.ready().to_vec());
            }
        }
        out
    }

    #[test]
    fn data_is_dot_stuffed_and_ended_whatever_the_chunking() {
        let out = framed(Transfer::Data, &[b"Subject: x\n\n.hidden\r", b"\nend"]);
        assert_eq!(out, [b"Subject: x\r\n\r\n..hidden\r\n".to_vec(), b"end\r\n.\r\n".to_vec()]);
        // an empty last chunk still ends the data
        assert_eq!(framed(Transfer::Data, &[b"x\r\n", b""]), [b"x\r\n".to_vec(), b".\r\n".to_vec()]);
    }

    #[test]
    fn bdat_frames_count_octets_and_never_send_an_empty_middle_chunk() {
        let out = framed(Transfer::Bdat, &[b"a\n.b", b"", b"c"]);
        assert_eq!(out, [b"BDAT 5\r\na\r\n.b".to_vec(), b"BDAT 3 LAST\r\nc\r\n".to_vec()]);
        // the LF completing a CR of the chunk before encodes to nothing: no frame for it alone
        let out = framed(Transfer::Bdat, &[b"x\r", b"\n", b"y"]);
        assert_eq!(out, [b"BDAT 3\r\nx\r\n".to_vec(), b"BDAT 3 LAST\r\ny\r\n".to_vec()]);
        // an empty body still ends with a line end
        assert_eq!(framed(Transfer::Bdat, &[b""]), [b"BDAT 2 LAST\r\n\r\n".to_vec()]);
        // BINARYMIME: the bytes exactly as given
        let out = framed(Transfer::BdatBinary, &[b"\0\r\n.\n", b"z"]);
        assert_eq!(out, [b"BDAT 5\r\n\0\r\n.\n".to_vec(), b"BDAT 1 LAST\r\nz".to_vec()]);
    }

    #[test]
    fn pipelined_envelope_replies_are_matched_in_order() {
        let mut t = Transaction::default();
        t.begin("a@x", false);
        let mut env = EnvelopeReplies::new("a@x", &["b@x", "c@x", "d@x"]);
        assert_eq!(env.owed(), 4);
        assert!(matches!(env.on_reply(&mut t, reply(250, "ok")), EnvelopeStep::More));
        assert!(matches!(env.on_reply(&mut t, reply(550, "5.1.1 no")), EnvelopeStep::More));
        assert!(matches!(env.on_reply(&mut t, reply(251, "forward")), EnvelopeStep::More));
        assert!(matches!(env.on_reply(&mut t, reply(450, "later")), EnvelopeStep::Done));
        assert!(env.accepted(&t));
        assert_eq!((t.sender(), t.sender_reply().map(Reply::code)), (Some("a@x"), Some(250)));
        let codes: Vec<(&str, u16)> = t.recipients().iter().map(|r| (r.address(), r.rcpt_reply().code())).collect();
        assert_eq!(codes, [("b@x", 550), ("c@x", 251), ("d@x", 450)]);
    }

    #[test]
    fn a_refused_sender_refuses_the_transaction_and_records_no_recipient() {
        let mut t = Transaction::default();
        let mut env = EnvelopeReplies::new("a@x", &["b@x"]);
        assert!(matches!(env.on_reply(&mut t, reply(553, "no")), EnvelopeStep::More));
        assert!(matches!(env.on_reply(&mut t, reply(503, "need MAIL")), EnvelopeStep::Done));
        assert!(!env.accepted(&t) && t.recipients().is_empty());
        let e = env.refusal(&t);
        assert_eq!((e.kind(), e.sender()), (ErrorKind::SenderRefused, Some("a@x")));
        assert_eq!(e.reply().map(Reply::code), Some(553));
    }

    #[test]
    fn every_recipient_refused_reports_the_most_permanent_refusal() {
        let mut t = Transaction::default();
        let mut env = EnvelopeReplies::new("a@x", &["b@x", "c@x"]);
        env.on_reply(&mut t, reply(250, "ok"));
        env.on_reply(&mut t, reply(450, "busy"));
        assert!(matches!(env.on_reply(&mut t, reply(550, "unknown")), EnvelopeStep::Done));
        assert!(!env.accepted(&t));
        let e = env.refusal(&t);
        assert_eq!(e.kind(), ErrorKind::RecipientsRefused);
        assert_eq!(e.reply().map(Reply::code), Some(550));
        assert!(e.message().contains("all 2 recipients"), "{e}");
    }

    #[test]
    fn a_421_ends_the_envelope_at_once() {
        let mut t = Transaction::default();
        let mut env = EnvelopeReplies::new("a@x", &["b@x", "c@x"]);
        match env.on_reply(&mut t, reply(421, "bye")) {
            EnvelopeStep::Closing(e) => assert_eq!(e.kind(), ErrorKind::SenderRefused),
            other => panic!("{other:?}"),
        }
        let mut t = Transaction::default();
        let mut env = EnvelopeReplies::new("a@x", &["b@x", "c@x"]);
        env.on_reply(&mut t, reply(250, "ok"));
        match env.on_reply(&mut t, reply(421, "bye")) {
            EnvelopeStep::Closing(e) => assert_eq!(e.kind(), ErrorKind::RecipientsRefused),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn lmtp_answers_once_per_counted_recipient_after_the_data() {
        let mut t = Transaction::default();
        t.begin("a@x", false);
        t.add_recipient("b@x", reply(250, "ok"));
        t.add_recipient("c@x", reply(550, "no"));
        t.add_recipient("d@x", reply(252, "cannot verify, will try"));
        let mut finals = t.final_replies(true);
        assert_eq!(finals.owed(), 2);
        assert!(finals.on_reply(&mut t, reply(250, "2.0.0 saved")).is_none());
        let first = finals.on_reply(&mut t, reply(552, "5.2.2 over quota")).unwrap();
        assert_eq!(first.code(), 250);
        let data: Vec<Option<u16>> = t.recipients().iter().map(|r| r.data_reply().map(Reply::code)).collect();
        assert_eq!(data, [Some(250), None, Some(552)]);
        let refused: Vec<&str> =
            t.recipients().iter().filter(|r| r.refusal().is_some()).map(RecipientStatus::address).collect();
        assert_eq!(refused, ["c@x", "d@x"]);
        assert!(matches!(t.verdict(true, first), Verdict::Delivered));
        // SMTP owes one reply, whoever was accepted
        assert_eq!(t.final_replies(false).owed(), 1);
    }

    #[test]
    fn verdicts() {
        let mut t = Transaction::default();
        t.add_recipient("b@x", reply(250, "ok"));
        assert!(matches!(t.verdict(false, reply(250, "queued")), Verdict::Delivered));
        assert!(matches!(t.verdict(false, reply(554, "no")), Verdict::Refused { reset: true, .. }));
        let mut finals = t.final_replies(true);
        let first = finals.on_reply(&mut t, reply(452, "4.2.2 full")).unwrap();
        match t.verdict(true, first) {
            Verdict::Refused { error, reset: false } => assert_eq!(error.kind(), ErrorKind::Data),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn delivery_unknown_wraps_once() {
        let e = delivery_unknown(Error::disconnected("connection unexpectedly closed"));
        assert_eq!(e.kind(), ErrorKind::DeliveryUnknown);
        assert_eq!(delivery_unknown(e.clone()).message(), e.message());
        assert!(refuse_nul(b"a\0b").is_err() && refuse_nul(b"ab").is_ok());
    }
}
