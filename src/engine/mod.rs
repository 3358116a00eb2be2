//! The sans-I/O protocol engine (see docs/engine.md): the SMTP / LMTP conversation as a state
//! machine that never touches a socket, a clock or a thread. It is fed the bytes the server
//! sent, asked for the bytes to send, and says by when it next needs to be woken; drivers
//! (the blocking `Session`, the non-blocking C API) move the bytes.
//!
//! - [`Client`]: the session's operations (smtplib's methods), each an `async` function that
//!   waits only on its [`Link`], which a driver serves;
//! - [`Conversation`]: the wire of one connection: queued output, received bytes framed into
//!   replies by the one reply parser, replies owed, deadlines;
//! - [`Greetings`]: the greeting, HELO / EHLO and the extensions, and what follows from them
//!   (MAIL / RCPT arguments, DATA or BDAT, SIZE);
//! - [`SaslExchange`]: one AUTH exchange, reply by reply, bounded and redacted;
//!   [`CredentialPolicy`]: when secrets may go out, and when login may try another mechanism;
//! - [`TlsPolicy`] and its decisions: which commands it guards, when STARTTLS is due, when the
//!   policy fails;
//! - [`Transaction`] and its helpers: the per-recipient results, the body framed for DATA or
//!   BDAT ([`BodyFramer`]), the replies to a pipelined envelope matched to their commands
//!   ([`EnvelopeReplies`]), LMTP's replies after the data ([`FinalReplies`]), the outcome
//!   ([`Verdict`]);
//! - [`Timeouts`], [`Phase`], [`Deadline`]: the limit of each phase of the conversation
//!   (RFC 5321 §4.5.3.2's as a preset) and the deadline that applies to a wait.

mod client;
mod conversation;
mod credentials;
mod greetings;
mod sasl;
mod timeouts;
mod tls_policy;
mod transaction;

pub use client::{
    Body, BodyRead, Client, DebugEvent, DebugKind, DebugSink, Link, Opened, SessionKind, Want, DEFAULT_TIMEOUT,
};
pub use conversation::Conversation;
pub use credentials::{mechanism_failed, naming_every_attempt, CredentialPolicy};
pub use greetings::Greetings;
pub use sasl::{SaslExchange, SaslLine, SaslNext, SaslStep};
pub use timeouts::{Deadline, Phase, Timeouts};
pub use tls_policy::{
    carries_mail_or_credentials, policy_satisfied, policy_step, ChannelBindingData, PolicyInputs, PolicyStep, TlsInfo,
    TlsPolicy, TLS_EXPORTER, TLS_SERVER_END_POINT,
};
pub use transaction::{
    delivery_unknown, rcpt_421, refuse_nul, BodyFramer, EnvelopeReplies, EnvelopeStep, FinalReplies, RecipientStatus,
    Transaction, Transfer, Verdict,
};

/// The engine's parts together, with no socket: a whole LMTP delivery (greeting, LHLO, a
/// pipelined envelope with the first and only BDAT chunk, one reply per recipient) driven by
/// feeding server bytes in and taking client bytes out, as any driver would.
#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::error::Result;
    use crate::protocol::command_line;
    use crate::reply::Reply;

    /// A driver with no socket: what the client writes is collected, the server's bytes are fed.
    struct Wire {
        conversation: Conversation,
        written: Vec<u8>,
        now: Instant,
    }

    impl Wire {
        fn send(&mut self, bytes: &[u8], replies: usize) {
            self.conversation.queue(bytes, Phase::Other, &vec![Phase::Other; replies], self.now);
            // a driver writes what it can; here everything, in two writes
            let half = self.conversation.pending_output().len() / 2;
            self.written.extend_from_slice(&self.conversation.pending_output()[..half]);
            self.conversation.consumed(half, self.now);
            self.written.extend_from_slice(self.conversation.pending_output());
            self.conversation.consumed(self.conversation.pending_output().len(), self.now);
            assert!(!self.conversation.wants_write());
        }

        /// Feed `server` one byte at a time (the worst split) until a reply is framed.
        fn reply(&mut self, server: &mut &[u8]) -> Result<Reply> {
            loop {
                if let Some(r) = self.conversation.next_reply(self.now, &mut |_| {})? {
                    return Ok(r);
                }
                let (first, rest) = server.split_first().expect("the server script has the reply");
                self.conversation.receive_buffer()[0] = *first;
                self.conversation.received(1);
                *server = rest;
            }
        }
    }

    #[test]
    fn an_lmtp_delivery_without_a_socket() {
        let now = Instant::now();
        let mut wire = Wire {
            conversation: Conversation::new(Timeouts::uniform(Some(Duration::from_secs(30))), now),
            written: Vec::new(),
            now,
        };
        let mut server: &[u8] = b"220 lmtp.test LMTP\r\n\
            250-lmtp.test\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 SIZE 1000\r\n\
            250 2.1.0 sender ok\r\n250 2.1.5 b ok\r\n550 5.1.1 c unknown\r\n250 2.1.5 d ok\r\n\
            250 2.0.0 b saved\r\n452 4.2.2 d over quota\r\n";

        let mut greetings = Greetings::default();
        wire.conversation.expect_more(1, Phase::Greeting, now);
        greetings.on_greeting(wire.reply(&mut server).unwrap()).unwrap();
        greetings.begin_ehlo();
        wire.send(&command_line(Greetings::ehlo_verb(true), "client.test", greetings.features()).unwrap(), 1);
        greetings.on_ehlo(&wire.reply(&mut server).unwrap());
        assert!(greetings.has_extn("pipelining") && greetings.has_extn("chunking"));

        let body = b"Subject: hi\n\nline\n";
        let transfer = greetings.transfer(true, false).unwrap();
        let options =
            greetings.mail_options(Some(crate::message::normalized_len(body)), &[], &Default::default(), None).unwrap();
        let options: Vec<&str> = options.iter().map(String::as_str).collect();
        let to = ["b@x", "c@x", "d@x"];
        let mut batch = command_line(
            "MAIL",
            &greetings.envelope_args("FROM:<a@x>".into(), &options, true, false).unwrap(),
            greetings.features(),
        )
        .unwrap();
        for r in to {
            let args = greetings.append_options(format!("TO:<{r}>"), &[], false).unwrap();
            batch.extend_from_slice(&command_line("RCPT", &args, greetings.features()).unwrap());
        }
        let mut framer = BodyFramer::new(transfer);
        assert!(framer.push(body, true));
        batch.extend_from_slice(framer.ready());
        let mut transaction = Transaction::default();
        transaction.begin("a@x", false);
        let mut envelope = EnvelopeReplies::new("a@x", &to);
        wire.send(&batch, envelope.owed() + 1);
        assert_eq!(wire.conversation.replies_owed(), 5);
        loop {
            match envelope.on_reply(&mut transaction, wire.reply(&mut server).unwrap()) {
                EnvelopeStep::More => {}
                EnvelopeStep::Done => break,
                EnvelopeStep::Closing(e) => panic!("{e}"),
            }
        }
        assert!(envelope.accepted(&transaction));
        let mut finals = transaction.final_replies(true);
        wire.conversation.expect_more(finals.owed() - 1, Phase::DataEnd, now);
        let first = loop {
            if let Some(first) = finals.on_reply(&mut transaction, wire.reply(&mut server).unwrap()) {
                break first;
            }
        };
        assert!(server.is_empty() && !wire.conversation.wants_read() && !wire.conversation.has_unread_input());
        assert!(matches!(transaction.verdict(true, first), Verdict::Delivered));
        let refused: Vec<(&str, u16)> =
            transaction.recipients().iter().filter_map(|r| r.refusal().map(|x| (r.address(), x.code()))).collect();
        assert_eq!(refused, [("c@x", 550), ("d@x", 452)]);
        assert_eq!(
            String::from_utf8(wire.written).unwrap(),
            "LHLO client.test\r\n\
             MAIL FROM:<a@x> SIZE=21\r\nRCPT TO:<b@x>\r\nRCPT TO:<c@x>\r\nRCPT TO:<d@x>\r\n\
             BDAT 21 LAST\r\nSubject: hi\r\n\r\nline\r\n"
        );
    }
}
