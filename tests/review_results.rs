//! What a transaction reports, and the state it leaves: LMTP replies counted as the server
//! counts them, refusals summarised without hiding the permanent ones, enhanced status per
//! recipient, opportunistic TLS falling back to plain text, the message `send_message`
//! transmits, a refused BDAT chunk keeping the session in step, and per-connection flags
//! forgotten with the connection. Scripted server (exact wire bytes) and the real servers.

mod support;

use std::time::Duration;

use smtpclient::session::SessionKind;
use smtpclient::{ErrorKind, Session};
use support::{ehlo_reply, ScriptedServer, Step};

const HELLO: &str = "client.example.test";

fn session(kind: SessionKind) -> Session {
    let mut s = support::new_session(kind);
    s.set_local_hostname(Some(HELLO)).unwrap();
    s.set_timeout(Some(Duration::from_secs(5)));
    s
}

/// LMTP greeting and LHLO answered with `extensions`.
fn lmtp_greeting(extensions: &[&str]) -> Vec<Step> {
    vec![Step::reply("220 lmtp.scripted.test LMTP"), Step::expect("LHLO "), Step::Send(ehlo_reply("lmtp", extensions))]
}

/// (address, RCPT code, after-data code) of each recipient.
fn per_recipient(s: &Session) -> Vec<(String, u16, Option<u16>)> {
    s.recipients()
        .iter()
        .map(|r| (r.address().to_owned(), r.rcpt_reply().code(), r.data_reply().map(|d| d.code())))
        .collect()
}

fn refused_codes(s: &Session) -> Vec<(String, u16)> {
    s.refused().map(|(a, r)| (a.to_owned(), r.code())).collect()
}

// ------------------------------------------------------------------------------------------
// 1. LMTP: one reply after the data for every 2xx RCPT, 252 included (RFC 2033 §4.2)

/// RCPT replies 252 then 250: two replies after the data, each credited to its own recipient,
/// and the session in step afterwards, with and without PIPELINING.
#[test]
fn lmtp_252_rcpt_gets_its_own_reply_after_the_data() {
    for pipelining in [false, true] {
        let mut steps = lmtp_greeting(if pipelining { &["PIPELINING"] } else { &[] });
        if pipelining {
            steps.extend([
                Step::expect("MAIL FROM:<s@x.test>"),
                Step::expect("RCPT TO:<a@x.test>"),
                Step::expect("RCPT TO:<b@x.test>"),
                Step::expect("DATA"),
                Step::reply("250 2.1.0 ok\n252 2.1.5 cannot verify <a@x.test>, will try\n250 2.1.5 ok\n354 go"),
            ]);
        } else {
            steps.extend([
                Step::expect("MAIL FROM:<s@x.test>"),
                Step::reply("250 2.1.0 ok"),
                Step::expect("RCPT TO:<a@x.test>"),
                Step::reply("252 2.1.5 cannot verify <a@x.test>, will try"),
                Step::expect("RCPT TO:<b@x.test>"),
                Step::reply("250 2.1.5 ok"),
                Step::expect("DATA"),
                Step::reply("354 go"),
            ]);
        }
        steps.extend([
            Step::ExpectData,
            Step::reply("250 2.0.0 <a@x.test> saved\n452 4.2.2 <b@x.test> mailbox full"),
            Step::expect("NOOP"),
            Step::reply("250 2.0.0 ok"),
        ]);
        let server = ScriptedServer::tcp(steps);
        let mut s = session(SessionKind::Lmtp);
        s.set_pipelining(pipelining);
        s.connect(&server.addr(), 0).unwrap();
        s.sendmail("s@x.test", &["a@x.test", "b@x.test"], b"hi\r\n", &[], &[]).expect("delivered to a@x.test");
        assert_eq!(
            per_recipient(&s),
            [("a@x.test".to_owned(), 252, Some(250)), ("b@x.test".to_owned(), 250, Some(452))],
            "pipelining {pipelining}"
        );
        assert_eq!(refused_codes(&s), [("b@x.test".to_owned(), 452)], "pipelining {pipelining}");
        assert_eq!(s.noop().unwrap().code(), 250, "pipelining {pipelining}: in step afterwards");
        s.close();
        server.finish().assert_ok();
    }
}

/// Pipelined LMTP where every RCPT got a 252: no recipient is accepted as smtplib counts, but
/// the server counted both and answers the (empty) message twice; both answers are read and
/// the session stays in step.
#[test]
fn lmtp_pipelined_252_only_reads_one_answer_per_counted_recipient() {
    let mut steps = lmtp_greeting(&["PIPELINING"]);
    steps.extend([
        Step::expect("MAIL FROM:<s@x.test>"),
        Step::expect("RCPT TO:<a@x.test>"),
        Step::expect("RCPT TO:<b@x.test>"),
        Step::expect("DATA"),
        Step::reply("250 ok\n252 2.1.5 will try <a@x.test>\n252 2.1.5 will try <b@x.test>\n354 go"),
        Step::expect("."),
        Step::reply("250 2.0.0 <a@x.test> saved\n250 2.0.0 <b@x.test> saved"),
        Step::expect("RSET"),
        Step::reply("250 2.0.0 reset"),
        Step::expect("NOOP"),
        Step::reply("250 2.0.0 noop"),
    ]);
    let server = ScriptedServer::tcp(steps);
    let mut s = session(SessionKind::Lmtp);
    s.connect(&server.addr(), 0).unwrap();
    let e = s.sendmail("s@x.test", &["a@x.test", "b@x.test"], b"secret body\r\n", &[], &[]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RecipientsRefused, "{e}");
    assert_eq!(s.noop().unwrap().text(), "2.0.0 noop", "in step afterwards");
    s.close();
    let r = server.finish();
    r.assert_ok();
    assert!(!r.wire_str().contains("secret body"), "{}", r.wire_str());
}

/// SMTP keeps smtplib's rule: only 250 and 251 accept a recipient, a 252 is in the refused list.
#[test]
fn smtp_252_rcpt_is_refused_as_smtplib_counts_it() {
    let server = ScriptedServer::tcp(vec![
        Step::reply("220 mx ESMTP"),
        Step::expect("EHLO "),
        Step::Send(ehlo_reply("mx", &[])),
        Step::expect("MAIL FROM:<s@x.test>"),
        Step::reply("250 ok"),
        Step::expect("RCPT TO:<a@x.test>"),
        Step::reply("252 2.1.5 will try"),
        Step::expect("RCPT TO:<b@x.test>"),
        Step::reply("250 ok"),
        Step::expect("DATA"),
        Step::reply("354 go"),
        Step::ExpectData,
        Step::reply("250 2.0.0 queued"),
    ]);
    let mut s = session(SessionKind::Smtp);
    s.connect(&server.addr(), 0).unwrap();
    s.sendmail("s@x.test", &["a@x.test", "b@x.test"], b"hi\r\n", &[], &[]).unwrap();
    assert_eq!(refused_codes(&s), [("a@x.test".to_owned(), 252)]);
    assert!(!s.recipients()[0].rcpt_accepted() && s.recipients()[1].rcpt_accepted());
    s.close();
    server.finish().assert_ok();
}

// ------------------------------------------------------------------------------------------
// 2. Opportunistic TLS: a refused STARTTLS means plain text, remembered for the connection

/// 454 to STARTTLS: the message goes in plain text, the next one does not ask again, and a
/// new connection asks again.
#[test]
fn opportunistic_starttls_refused_goes_on_in_plain_text() {
    let one_message = |n: &str| {
        vec![
            Step::expect("MAIL FROM:<s@x.test>"),
            Step::reply("250 ok"),
            Step::expect("RCPT TO:<r@x.test>"),
            Step::reply("250 ok"),
            Step::expect("DATA"),
            Step::reply("354 go"),
            Step::ExpectData,
            Step::reply(&format!("250 2.0.0 queued {n}")),
        ]
    };
    let connection = |messages: &[&str]| {
        let mut steps = vec![
            Step::reply("220 mx ESMTP"),
            Step::expect("EHLO "),
            Step::Send(ehlo_reply("mx", &["STARTTLS"])),
            Step::expect("STARTTLS"),
            Step::reply("454 4.7.0 TLS not available due to temporary reason"),
        ];
        for m in messages {
            steps.extend(one_message(m));
        }
        steps.extend([Step::expect("QUIT"), Step::reply("221 bye")]);
        steps
    };
    let server = ScriptedServer::tcp_sessions(vec![connection(&["1", "2"]), connection(&["3"])]);
    let mut s = session(SessionKind::Smtp);
    s.set_tls_policy(smtpclient::tls::TlsPolicy::Opportunistic);
    s.connect(&server.addr(), 0).unwrap();
    s.sendmail("s@x.test", &["r@x.test"], b"one\r\n", &[], &[]).expect("plain text after the refusal");
    assert!(s.tls_info().is_none());
    s.sendmail("s@x.test", &["r@x.test"], b"two\r\n", &[], &[]).expect("no second STARTTLS");
    s.quit().unwrap();
    s.connect(&server.addr(), 0).unwrap();
    s.sendmail("s@x.test", &["r@x.test"], b"three\r\n", &[], &[]).expect("asked again on a new connection");
    s.quit().unwrap();
    for r in server.finish_sessions() {
        r.assert_ok();
        assert_eq!(r.wire_str().matches("STARTTLS").count(), 1, "{}", r.wire_str());
    }
}

/// An explicit `starttls()` still reports the refusal (smtplib's `SMTPResponseException`),
/// and a required policy still fails closed.
#[test]
fn starttls_refusal_is_still_an_error_when_asked_for_or_required() {
    let refusing = || {
        vec![
            Step::reply("220 mx ESMTP"),
            Step::expect("EHLO "),
            Step::Send(ehlo_reply("mx", &["STARTTLS"])),
            Step::expect("STARTTLS"),
            Step::reply("454 4.7.0 TLS not available"),
        ]
    };
    let mut explicit = refusing();
    explicit.extend([Step::expect("NOOP"), Step::reply("250 ok")]);
    let mut required = refusing();
    required.extend([Step::expect("QUIT"), Step::reply("221 bye")]);
    let server = ScriptedServer::tcp_sessions(vec![explicit, required]);

    let mut s = session(SessionKind::Smtp);
    s.set_tls_policy(smtpclient::tls::TlsPolicy::Opportunistic);
    s.connect(&server.addr(), 0).unwrap();
    let e = s.starttls().unwrap_err();
    assert_eq!((e.kind(), e.reply().map(|r| r.code())), (ErrorKind::Response, Some(454)));
    assert_eq!(s.noop().unwrap().code(), 250);
    s.close();

    s.set_tls_policy(smtpclient::tls::TlsPolicy::Required);
    s.connect(&server.addr(), 0).unwrap();
    let e = s.sendmail("s@x.test", &["r@x.test"], b"x\r\n", &[], &[]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TlsRequired);
    assert!(!s.is_connected());
    for r in server.finish_sessions() {
        r.assert_ok();
    }
}

// ------------------------------------------------------------------------------------------
// 3. and 4. send_message: what it transmits and which headers it reads (as smtplib)

/// One transaction after the greeting: MAIL, each RCPT and DATA accepted, the data recorded.
fn accept_one_message(from: &str, to: &[&str]) -> Vec<Step> {
    let mut steps = vec![
        Step::reply("220 mx ESMTP"),
        Step::expect("EHLO "),
        Step::Send(ehlo_reply("mx", &[])),
        Step::expect(&format!("MAIL FROM:<{from}>")),
        Step::reply("250 ok"),
    ];
    for r in to {
        steps.extend([Step::expect(&format!("RCPT TO:<{r}>")), Step::reply("250 ok")]);
    }
    steps.extend([Step::expect("DATA"), Step::reply("354 go"), Step::ExpectData, Step::reply("250 queued")]);
    steps
}

#[test]
fn send_message_does_not_transmit_an_mbox_from_line() {
    let server = ScriptedServer::tcp(accept_one_message("a@x.test", &["b@x.test"]));
    let mut s = session(SessionKind::Smtp);
    s.connect(&server.addr(), 0).unwrap();
    let msg = b"From a@x.test Thu Jan  1 00:00:00 1970\r\nFrom: a@x.test\r\nTo: b@x.test\r\n\r\nFrom here on\r\n";
    s.send_message(msg, None, None, &[], &[]).unwrap();
    s.close();
    let r = server.finish();
    r.assert_ok();
    assert_eq!(r.data, [b"From: a@x.test\r\nTo: b@x.test\r\n\r\nFrom here on\r\n.\r\n".to_vec()]);
}

#[test]
fn send_message_with_a_sender_given_needs_no_from_header() {
    let server = ScriptedServer::tcp(accept_one_message("s@x.test", &["t@x.test"]));
    let mut s = session(SessionKind::Smtp);
    s.connect(&server.addr(), 0).unwrap();
    s.send_message(b"To: t@x.test\r\nSubject: no From\r\n\r\nhi\r\n", Some("s@x.test"), None, &[], &[]).unwrap();
    s.close();
    server.finish().assert_ok();
}

#[test]
fn send_message_with_recipients_given_ignores_an_unparsable_cc() {
    let server = ScriptedServer::tcp(accept_one_message("f@x.test", &["r@x.test"]));
    let mut s = session(SessionKind::Smtp);
    s.connect(&server.addr(), 0).unwrap();
    let msg = b"From: f@x.test\r\nCc: Team: a@x.test, b@x.test\r\n\r\nhi\r\n";
    s.send_message(msg, None, Some(&["r@x.test"]), &[], &[]).unwrap();
    s.close();
    server.finish().assert_ok();
}

#[test]
fn send_message_refuses_two_resent_blocks_even_with_the_envelope_given() {
    // refused before anything is sent: the session need not even be connected
    let mut s = session(SessionKind::Smtp);
    let msg = b"From: f@x.test\r\nResent-Date: a\r\nResent-To: b@x.test\r\nResent-Date: b\r\nResent-To: c@x.test\r\n\r\nhi\r\n";
    let e = s.send_message(msg, Some("s@x.test"), Some(&["r@x.test"]), &[], &[]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    assert!(e.message().contains("more than one 'Resent-' header block"), "{e}");
}

// ------------------------------------------------------------------------------------------
// 5. A refused BDAT chunk: every outstanding reply read, then RSET; the session stays open

/// The body size that makes three BDAT chunks: two full ones and a LAST one.
const BDAT_CHUNK: usize = 256 * 1024;

fn bdat_session(pipelining: bool) -> Session {
    let mut s = session(SessionKind::Smtp);
    s.set_pipelining(pipelining);
    s
}

#[test]
fn refused_pipelined_bdat_chunk_keeps_the_session_in_step() {
    let body = vec![b'x'; 2 * BDAT_CHUNK + 1000];
    let last = body.len() - 2 * BDAT_CHUNK + 2; // the final CRLF is added
    let server = ScriptedServer::tcp(vec![
        Step::reply("220 mx ESMTP"),
        Step::expect("EHLO "),
        Step::Send(ehlo_reply("mx", &["PIPELINING", "CHUNKING"])),
        Step::expect("MAIL FROM:<a@x.test>"),
        Step::expect("RCPT TO:<b@x.test>"),
        Step::expect(&format!("BDAT {BDAT_CHUNK}")),
        Step::ReadBytes(BDAT_CHUNK),
        Step::reply("250 ok\n250 ok"),
        Step::expect(&format!("BDAT {BDAT_CHUNK}")),
        Step::ReadBytes(BDAT_CHUNK),
        Step::expect(&format!("BDAT {last} LAST")),
        Step::ReadBytes(last),
        Step::reply("250 2.0.0 chunk 1 ok\n552 5.3.4 message too big\n503 5.5.0 previous data chunk failed"),
        Step::expect("RSET"),
        Step::reply("250 2.0.0 ok"),
        Step::expect("NOOP"),
        Step::reply("250 2.0.0 ok"),
    ]);
    let mut s = bdat_session(true);
    s.connect(&server.addr(), 0).unwrap();
    let e = s.sendmail("a@x.test", &["b@x.test"], &body, &[], &[]).unwrap_err();
    assert_eq!((e.kind(), e.reply().map(|r| r.code())), (ErrorKind::Data, Some(552)), "{e}");
    assert!(s.is_connected(), "open, no transaction");
    assert_eq!(s.noop().unwrap().code(), 250);
    s.close();
    server.finish().assert_ok();
}

#[test]
fn refused_lockstep_bdat_chunk_keeps_the_session_in_step() {
    let body = vec![b'x'; BDAT_CHUNK + 1000];
    let server = ScriptedServer::tcp(vec![
        Step::reply("220 mx ESMTP"),
        Step::expect("EHLO "),
        Step::Send(ehlo_reply("mx", &["CHUNKING"])),
        Step::expect("MAIL FROM:<a@x.test>"),
        Step::reply("250 ok"),
        Step::expect("RCPT TO:<b@x.test>"),
        Step::reply("250 ok"),
        Step::expect(&format!("BDAT {BDAT_CHUNK}")),
        Step::ReadBytes(BDAT_CHUNK),
        Step::reply("552 5.3.4 message too big"),
        Step::expect("RSET"),
        Step::reply("250 2.0.0 ok"),
        Step::expect("NOOP"),
        Step::reply("250 2.0.0 ok"),
    ]);
    let mut s = bdat_session(false);
    s.connect(&server.addr(), 0).unwrap();
    let e = s.sendmail("a@x.test", &["b@x.test"], &body, &[], &[]).unwrap_err();
    assert_eq!((e.kind(), e.reply().map(|r| r.code())), (ErrorKind::Data, Some(552)), "{e}");
    assert_eq!(s.noop().unwrap().code(), 250);
    s.close();
    server.finish().assert_ok();
}

// ------------------------------------------------------------------------------------------
// 6. TLS and authentication describe the connection: they go when it goes

/// `AUTH PLAIN` initial response for `u` / `p`.
const PLAIN_U_P: &str = "AUTH PLAIN AHUAcA==";

/// Logged in (to a loopback peer, where credentials may go without TLS), then the connection
/// is lost to a 421 or to the server closing: not authenticated any more.
#[test]
fn authentication_is_forgotten_when_the_connection_is_lost() {
    let logged_in = |end: Vec<Step>| {
        let mut steps = vec![
            Step::reply("220 mx ESMTP"),
            Step::expect("EHLO "),
            Step::Send(ehlo_reply("mx", &["AUTH PLAIN"])),
            Step::expect(PLAIN_U_P),
            Step::reply("235 2.7.0 Authentication successful"),
        ];
        steps.extend(end);
        steps
    };
    let server = ScriptedServer::tcp_sessions(vec![
        logged_in(vec![Step::expect("NOOP"), Step::reply("421 4.3.2 shutting down")]),
        logged_in(vec![Step::expect("NOOP"), Step::Close]),
    ]);
    for how in ["421", "closed by the server"] {
        let mut s = session(SessionKind::Smtp);
        s.connect(&server.addr(), 0).unwrap();
        s.login("u", "p", true).unwrap();
        assert!(s.is_authenticated());
        let _ = s.noop();
        assert!(!s.is_connected(), "{how}");
        assert!(!s.is_authenticated(), "{how}: still authenticated without a connection");
    }
    for r in server.finish_sessions() {
        r.assert_ok();
    }
}

/// Postfix over STARTTLS, logged in, then ending the session once its hard error limit is
/// passed (a 502 and a 421 in one write, which the session refuses as unsolicited bytes): the
/// session reports neither TLS nor authentication for the connection that is gone.
#[test]
fn tls_and_authentication_are_forgotten_when_postfix_ends_the_session() {
    let bed = support::TestBed::get();
    let mut s = session(SessionKind::Smtp);
    // Dovecot delays logins after other clients' failed ones: leave room for that
    s.set_timeout(Some(Duration::from_secs(30)));
    s.tls_config_mut().ca_file = Some(bed.smtp_ca_file.clone());
    s.set_tls_policy(smtpclient::tls::TlsPolicy::Required);
    s.connect(&bed.smtp_addr(), 0).unwrap();
    s.login(&bed.smtp_user, &bed.smtp_pass, true).unwrap_or_else(|e| panic!("login: {e}"));
    assert!(s.tls_info().is_some_and(|t| t.verified) && s.is_authenticated());
    let mut commands = 0;
    while s.is_connected() && commands < 20_000 {
        let _ = s.docmd("XNOSUCHCOMMAND", "");
        commands += 1;
    }
    assert!(!s.is_connected(), "Postfix never ended the session");
    assert!(s.tls_info().is_none(), "TLS reported for a connection that is gone");
    assert!(!s.is_authenticated(), "authenticated on a connection that is gone");
}

// ------------------------------------------------------------------------------------------
// 7. Every recipient refused: the error carries the most permanent refusal

/// RCPT replies 550, 450 (last), 551: the error says three were refused and carries the
/// first 5xx, not the last reply; a 4xx is carried only when no refusal is permanent.
#[test]
fn all_refused_carries_the_first_permanent_refusal() {
    for (replies, want) in [
        (["550 5.1.1 <a@x.test> unknown", "551 5.1.6 <b@x.test> moved", "450 4.2.1 <c@x.test> try later"], 550),
        (["452 4.2.2 <a@x.test> full", "450 4.2.1 <b@x.test> try later", "553 5.1.3 <c@x.test> bad"], 553),
        (["452 4.2.2 <a@x.test> full", "450 4.2.1 <b@x.test> try later", "451 4.3.0 <c@x.test> error"], 452),
    ] {
        for pipelining in [false, true] {
            let mut steps = vec![
                Step::reply("220 mx ESMTP"),
                Step::expect("EHLO "),
                Step::Send(ehlo_reply("mx", if pipelining { &["PIPELINING"] } else { &[] })),
            ];
            if pipelining {
                steps.extend([
                    Step::expect("MAIL"),
                    Step::expect("RCPT TO:<a@x.test>"),
                    Step::expect("RCPT TO:<b@x.test>"),
                    Step::expect("RCPT TO:<c@x.test>"),
                    Step::expect("DATA"),
                    Step::reply(&format!("250 ok\n{}\n554 5.5.1 no valid recipients", replies.join("\n"))),
                ]);
            } else {
                steps.extend([Step::expect("MAIL"), Step::reply("250 ok")]);
                for (to, reply) in ["a", "b", "c"].iter().zip(replies) {
                    steps.extend([Step::expect(&format!("RCPT TO:<{to}@x.test>")), Step::reply(reply)]);
                }
            }
            steps.extend([Step::expect("RSET"), Step::reply("250 ok")]);
            let server = ScriptedServer::tcp(steps);
            let mut s = session(SessionKind::Smtp);
            s.set_pipelining(pipelining);
            s.connect(&server.addr(), 0).unwrap();
            let e = s.sendmail("s@x.test", &["a@x.test", "b@x.test", "c@x.test"], b"hi\r\n", &[], &[]).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::RecipientsRefused);
            assert_eq!(e.reply().map(|r| r.code()), Some(want), "{replies:?} pipelining {pipelining}: {e}");
            assert!(e.message().contains("all 3 recipients"), "{e}");
            let codes: Vec<u16> = s.refused().map(|(_, r)| r.code()).collect();
            let sent: Vec<u16> = replies.iter().map(|r| r[..3].parse().unwrap()).collect();
            assert_eq!(codes, sent, "the per-recipient list stays the truth");
            s.close();
            server.finish().assert_ok();
        }
    }
}

/// Postfix: a temporary refusal last does not hide the permanent one before it.
#[test]
fn all_refused_by_postfix_carries_the_permanent_refusal() {
    let bed = support::TestBed::get();
    let mut s = session(SessionKind::Smtp);
    s.connect(&bed.smtp_addr(), 0).unwrap();
    let e = s
        .sendmail("alice@example.test", &["reject550@example.test", "tempfail@example.test"], b"x\r\n", &[], &[])
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RecipientsRefused);
    assert_eq!(e.reply().map(|r| r.code()), Some(550), "{e}");
    assert_eq!(
        refused_codes(&s),
        [("reject550@example.test".to_owned(), 550), ("tempfail@example.test".to_owned(), 450)]
    );
    assert_eq!(s.noop().unwrap().code(), 250);
    s.quit().unwrap();
}

/// LMTP, every recipient refused after the data: the same choice (the DATA_ERROR carries the
/// first 5xx, not the first reply).
#[test]
fn lmtp_all_refused_after_data_carries_the_first_permanent_refusal() {
    let mut steps = lmtp_greeting(&[]);
    steps.extend([
        Step::expect("MAIL"),
        Step::reply("250 ok"),
        Step::expect("RCPT TO:<a@x.test>"),
        Step::reply("250 ok"),
        Step::expect("RCPT TO:<b@x.test>"),
        Step::reply("250 ok"),
        Step::expect("DATA"),
        Step::reply("354 go"),
        Step::ExpectData,
        Step::reply("452 4.2.2 <a@x.test> mailbox full\n552 5.2.2 <b@x.test> over quota"),
        Step::expect("NOOP"),
        Step::reply("250 ok"),
    ]);
    let server = ScriptedServer::tcp(steps);
    let mut s = session(SessionKind::Lmtp);
    s.connect(&server.addr(), 0).unwrap();
    let e = s.sendmail("s@x.test", &["a@x.test", "b@x.test"], b"hi\r\n", &[], &[]).unwrap_err();
    assert_eq!((e.kind(), e.reply().map(|r| r.code())), (ErrorKind::Data, Some(552)), "{e}");
    assert!(e.message().contains("all 2 recipients"), "{e}");
    assert_eq!(refused_codes(&s), [("a@x.test".to_owned(), 452), ("b@x.test".to_owned(), 552)]);
    assert_eq!(s.noop().unwrap().code(), 250);
    s.close();
    server.finish().assert_ok();
}

// ------------------------------------------------------------------------------------------
// 8. Enhanced status (RFC 3463) per recipient: of its RCPT reply and of its LMTP reply

fn numbers(es: Option<smtpclient::EnhancedStatus>) -> Option<(u16, u16, u16)> {
    es.map(|e| (e.class, e.subject, e.detail))
}

/// (RCPT status, after-data status) of each recipient, as numbers.
type StatusPair = (Option<(u16, u16, u16)>, Option<(u16, u16, u16)>);

fn enhanced_per_recipient(s: &Session) -> Vec<StatusPair> {
    s.recipients().iter().map(|r| (numbers(r.rcpt_enhanced_status()), numbers(r.data_enhanced_status()))).collect()
}

#[test]
fn enhanced_status_per_recipient_scripted() {
    let mut steps = lmtp_greeting(&[]);
    steps.extend([
        Step::expect("MAIL"),
        Step::reply("250 2.1.0 ok"),
        Step::expect("RCPT TO:<a@x.test>"),
        Step::reply("250 2.1.5 ok"),
        Step::expect("RCPT TO:<b@x.test>"),
        Step::reply("550 5.1.1 <b@x.test> no such user"),
        Step::expect("RCPT TO:<c@x.test>"),
        Step::reply("250 recipient ok"),
        Step::expect("RCPT TO:<d@x.test>"),
        Step::reply("250 2.1.5 ok"),
        Step::expect("DATA"),
        Step::reply("354 go"),
        Step::ExpectData,
        Step::reply("250 2.0.0 <a@x.test> saved\n452 4.2.2 <c@x.test> mailbox full\n554 5.6.0 <d@x.test> rejected"),
    ]);
    let server = ScriptedServer::tcp(steps);
    let mut s = session(SessionKind::Lmtp);
    s.connect(&server.addr(), 0).unwrap();
    s.sendmail("s@x.test", &["a@x.test", "b@x.test", "c@x.test", "d@x.test"], b"hi\r\n", &[], &[]).unwrap();
    assert_eq!(
        enhanced_per_recipient(&s),
        [
            (Some((2, 1, 5)), Some((2, 0, 0))),
            (Some((5, 1, 1)), None),
            (None, Some((4, 2, 2))),
            (Some((2, 1, 5)), Some((5, 6, 0))),
        ]
    );
    s.close();
    server.finish().assert_ok();
}

/// Dovecot LMTP: an unknown user refused at RCPT (5.1.1) and a user over quota refused after
/// the data (5.2.2), each with its own enhanced status.
#[test]
fn enhanced_status_per_recipient_from_dovecot() {
    let bed = support::TestBed::get();
    let marker = support::unique_marker("review-enhanced");
    let mut s = session(SessionKind::Lmtp);
    s.set_timeout(Some(Duration::from_secs(20)));
    s.connect(bed.lmtp_socket.to_str().unwrap(), 0).unwrap();
    // bigger than the 1-byte quota of "full"
    let msg = format!("From: alice@example.test\r\nSubject: {marker}\r\n\r\n{}\r\n", "z".repeat(4000));
    s.sendmail(
        "alice@example.test",
        &["alice@example.test", "nosuch@example.test", "full@example.test"],
        msg.as_bytes(),
        &[],
        &[],
    )
    .expect("delivered to alice");
    let got = enhanced_per_recipient(&s);
    assert_eq!(per_recipient(&s)[1].1, 550);
    assert_eq!(got[1], (Some((5, 1, 1)), None), "unknown user: {got:?}");
    assert_eq!(got[2].1, Some((5, 2, 2)), "over quota after the data: {got:?}");
    assert_eq!(got[0].1.map(|(class, ..)| class), Some(2), "alice delivered: {got:?}");
    assert!(bed.wait_for_lmtp_mail("alice", &marker, Duration::from_secs(15)).is_some());
    s.quit().unwrap();
}
