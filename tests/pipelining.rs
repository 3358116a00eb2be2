//! PIPELINING, CHUNKING / BDAT and streaming bodies: the batch really is one write, results are
//! the same as lock-step, refusals in a batch are matched to their commands, and a streamed or
//! aborted body never leaves a partial message behind.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use smtpclient::session::{BodyRead, DebugKind, SessionKind};
use smtpclient::{ErrorKind, Session};
use support::{contains, ehlo_reply, stream, unique_marker, ScriptedServer, Step, TestBed};

const WAIT: Duration = Duration::from_secs(20);

type Events = Arc<Mutex<Vec<(DebugKind, Vec<u8>)>>>;

/// A session on Postfix recording every write it makes.
fn recorded(pipelining: bool, chunking: bool) -> (Session, Events) {
    let events: Events = Arc::default();
    let sink = events.clone();
    let mut s = support::new_session(SessionKind::Smtp);
    s.set_local_hostname(Some("client.example.test")).unwrap();
    s.set_timeout(Some(Duration::from_secs(20)));
    s.set_pipelining(pipelining);
    s.set_chunking(chunking);
    s.set_debug_level(1);
    s.set_debug_sink(Some(Box::new(move |e| sink.lock().unwrap().push((e.kind, e.data.to_vec())))));
    s.connect(&TestBed::get().smtp_addr(), 0).unwrap();
    (s, events)
}

fn writes(events: &Events) -> Vec<String> {
    let ev = events.lock().unwrap();
    ev.iter().filter(|(k, _)| *k == DebugKind::Sent).map(|(_, d)| String::from_utf8_lossy(d).into_owned()).collect()
}

fn msg(marker: &str) -> Vec<u8> {
    format!("From: alice@example.test\r\nSubject: {marker}\r\n\r\n.a line starting with a dot\r\n.\r\nend\r\n")
        .into_bytes()
}

#[test]
fn one_write_per_transaction_with_bdat_and_pipelining() {
    let bed = TestBed::get();
    let marker = unique_marker("bdat-pipe");
    let (mut s, events) = recorded(true, true);
    s.sendmail("alice@example.test", &["alice@example.test", "bob@example.test"], &msg(&marker), &[], &[]).unwrap();
    let w = writes(&events);
    assert_eq!(w.len(), 2, "EHLO, then everything else in one write: {w:#?}");
    let batch = &w[1];
    let body_len = msg(&marker).len();
    let expected_head = format!(
        "MAIL FROM:<alice@example.test> SIZE={body_len}\r\nRCPT TO:<alice@example.test>\r\nRCPT TO:<bob@example.test>\r\nBDAT {body_len} LAST\r\n"
    );
    assert!(batch.starts_with(&expected_head), "{batch}");
    assert!(batch.ends_with("\r\n.\r\nend\r\n"), "BDAT bodies are not dot-stuffed: {batch}");
    for user in ["alice", "bob"] {
        let m = bed.wait_for_postfix_mail(user, &marker, WAIT).expect("delivered");
        let text = String::from_utf8_lossy(&m).replace("\r\n", "\n");
        assert!(text.contains("\n.a line starting with a dot\n.\nend\n"), "{text}");
    }
    s.quit().unwrap();
}

#[test]
fn pipelined_data_without_chunking() {
    let bed = TestBed::get();
    let marker = unique_marker("data-pipe");
    let (mut s, events) = recorded(true, false);
    s.sendmail("alice@example.test", &["carol@example.test"], &msg(&marker), &[], &[]).unwrap();
    let w = writes(&events);
    assert_eq!(w.len(), 3, "EHLO, MAIL+RCPT+DATA, body: {w:#?}");
    assert!(
        w[1].starts_with("MAIL FROM:<alice@example.test> SIZE=")
            && w[1].ends_with("RCPT TO:<carol@example.test>\r\nDATA\r\n")
    );
    assert!(w[2].contains("\r\n..a line starting with a dot\r\n..\r\nend\r\n.\r\n"), "DATA is dot-stuffed: {}", w[2]);
    assert!(bed.wait_for_postfix_mail("carol", &marker, WAIT).is_some());
    s.quit().unwrap();
}

#[test]
fn lockstep_when_pipelining_is_off() {
    let bed = TestBed::get();
    let marker = unique_marker("lockstep");
    let (mut s, events) = recorded(false, false);
    s.sendmail("alice@example.test", &["bob@example.test"], &msg(&marker), &[], &[]).unwrap();
    let w = writes(&events);
    assert_eq!(w.len(), 5, "EHLO, MAIL, RCPT, DATA, body: {w:#?}");
    assert!(bed.wait_for_postfix_mail("bob", &marker, WAIT).is_some());
    s.quit().unwrap();
}

/// The same refusals, codes and session state in every mode.
#[test]
fn mixed_refusals_are_identical_in_every_mode() {
    let bed = TestBed::get();
    let mut outcomes = Vec::new();
    for (pipelining, chunking) in [(false, false), (true, false), (false, true), (true, true)] {
        let marker = unique_marker("mixed");
        let (mut s, _) = recorded(pipelining, chunking);
        s.sendmail(
            "alice@example.test",
            &["reject550@example.test", "alice@example.test", "tempfail@example.test", "nosuch@example.test"],
            &msg(&marker),
            &[],
            &[],
        )
        .unwrap();
        let refused: Vec<(String, u16)> = s.refused().map(|(a, r)| (a.to_owned(), r.code())).collect();
        let rcpt: Vec<u16> = s.recipients().iter().map(|r| r.rcpt_reply().code()).collect();
        assert!(bed.wait_for_postfix_mail("alice", &marker, WAIT).is_some());
        // refused sender with RCPTs queued behind it
        let e = s.sendmail("reject553@example.test", &["alice@example.test"], b"x\r\n", &[], &[]).unwrap_err();
        let sender = (e.kind(), e.reply().unwrap().code(), e.sender().map(str::to_owned), s.recipients().len());
        // every recipient refused
        let e = s.sendmail("alice@example.test", &["reject550@example.test"], b"x\r\n", &[], &[]).unwrap_err();
        let all = (e.kind(), s.refused().count());
        // data refused
        let e = s
            .sendmail("alice@example.test", &["alice@example.test"], b"X-REJECT-ME-IN-BODY\r\n", &[], &[])
            .unwrap_err();
        let data = (e.kind(), e.reply().unwrap().code());
        // and the session is in step afterwards
        assert_eq!(s.noop().unwrap().code(), 250);
        outcomes.push(((pipelining, chunking), refused, rcpt, sender, all, data));
        s.quit().unwrap();
    }
    let first = &outcomes[0];
    assert_eq!(
        first.1,
        [
            ("reject550@example.test".to_owned(), 550),
            ("tempfail@example.test".to_owned(), 450),
            ("nosuch@example.test".to_owned(), 550)
        ]
    );
    assert_eq!(first.3, (ErrorKind::SenderRefused, 553, Some("reject553@example.test".to_owned()), 0));
    assert_eq!(first.4, (ErrorKind::RecipientsRefused, 1));
    assert_eq!(first.5, (ErrorKind::Data, 550));
    for o in &outcomes[1..] {
        assert_eq!(
            (&o.1, &o.2, &o.3, &o.4, &o.5),
            (&first.1, &first.2, &first.3, &first.4, &first.5),
            "mode {:?}",
            o.0
        );
    }
}

#[test]
fn lmtp_bdat_per_recipient_replies() {
    let bed = TestBed::get();
    let marker = unique_marker("lmtp-bdat");
    let mut s = support::new_session(SessionKind::Lmtp);
    s.connect(bed.lmtp_socket.to_str().unwrap(), 0).unwrap();
    let big = format!("Subject: {marker}\r\n\r\n{}\r\n", "q".repeat(600_000));
    s.sendmail(
        "alice@example.test",
        &["alice@example.test", "full@example.test", "bob@example.test"],
        big.as_bytes(),
        &[],
        &[],
    )
    .unwrap();
    let codes: Vec<Option<u16>> = s.recipients().iter().map(|r| r.data_reply().map(|d| d.code())).collect();
    assert_eq!(codes, [Some(250), Some(552), Some(250)]);
    for u in ["alice", "bob"] {
        assert!(bed.wait_for_lmtp_mail(u, &marker, WAIT).is_some());
    }
    assert_eq!(s.noop().unwrap().code(), 250);
    s.quit().unwrap();
}

#[test]
fn slow_pipelining_server_is_matched_reply_by_reply() {
    let mut steps = vec![
        Step::reply("220 slow"),
        Step::expect("EHLO"),
        Step::Send(ehlo_reply("slow", &["PIPELINING"])),
        Step::expect("MAIL FROM:<a@example.test>"),
        Step::expect("RCPT TO:<b@example.test>"),
        Step::expect("RCPT TO:<c@example.test>"),
        Step::expect("RCPT TO:<d@example.test>"),
        Step::expect("DATA"),
    ];
    for r in ["250 mail ok", "250 b ok", "550 5.1.1 c unknown", "451 4.3.0 d later", "354 go on"] {
        steps.push(Step::sleep_ms(150));
        steps.push(Step::reply(r));
    }
    steps.extend([Step::ExpectData, Step::sleep_ms(150), Step::reply("250 queued")]);
    let server = ScriptedServer::tcp(steps);
    let mut s = support::new_session(SessionKind::Smtp);
    s.set_local_hostname(Some("client.example.test")).unwrap();
    s.set_timeout(Some(Duration::from_secs(5)));
    s.connect(&server.addr(), 0).unwrap();
    s.sendmail("a@example.test", &["b@example.test", "c@example.test", "d@example.test"], b"hi\r\n", &[], &[]).unwrap();
    let refused: Vec<(&str, u16)> = s.refused().map(|(a, r)| (a, r.code())).collect();
    assert_eq!(refused, [("c@example.test", 550), ("d@example.test", 451)]);
    s.close();
    let r = server.finish();
    r.assert_ok();
    assert_eq!(
        r.wire_str(),
        "EHLO client.example.test\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nRCPT TO:<c@example.test>\r\n\
         RCPT TO:<d@example.test>\r\nDATA\r\nhi\r\n.\r\n"
    );
}

#[test]
fn data_accepted_with_no_recipient_gets_an_empty_body() {
    let server = ScriptedServer::tcp(vec![
        Step::reply("220 broken"),
        Step::expect("EHLO"),
        Step::Send(ehlo_reply("broken", &["PIPELINING"])),
        Step::expect("MAIL"),
        Step::expect("RCPT"),
        Step::expect("DATA"),
        Step::reply("250 ok\r\n550 no such user\r\n354 go ahead anyway"),
        Step::expect("."),
        Step::reply("554 no valid recipients"),
        Step::expect("RSET"),
        Step::reply("250 ok"),
    ]);
    let mut s = support::new_session(SessionKind::Smtp);
    s.set_local_hostname(Some("c.example.test")).unwrap();
    s.connect(&server.addr(), 0).unwrap();
    let e = s.sendmail("a@example.test", &["x@example.test"], b"secret body\r\n", &[], &[]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RecipientsRefused);
    s.close();
    let r = server.finish();
    r.assert_ok();
    assert!(!r.wire_str().contains("secret body"), "{}", r.wire_str());
}

#[test]
fn binarymime_sends_bytes_unchanged_in_bdat() {
    let body = b"bare\nlf and NUL \x00 and a\r\n.\r\nline".to_vec();
    let server = ScriptedServer::tcp(vec![
        Step::reply("220 bin"),
        Step::expect("EHLO"),
        Step::Send(ehlo_reply("bin", &["CHUNKING", "BINARYMIME"])),
        Step::expect("MAIL FROM:<a@example.test> BODY=BINARYMIME"),
        Step::reply("250 ok"),
        Step::expect("RCPT"),
        Step::reply("250 ok"),
        Step::expect(&format!("BDAT {} LAST", body.len())),
        Step::ReadBytes(body.len()),
        Step::reply("250 ok"),
    ]);
    let mut s = support::new_session(SessionKind::Smtp);
    s.set_local_hostname(Some("c.example.test")).unwrap();
    s.connect(&server.addr(), 0).unwrap();
    s.sendmail("a@example.test", &["b@example.test"], &body, &["BODY=BINARYMIME"], &[]).unwrap();
    s.close();
    let r = server.finish();
    r.assert_ok();
    assert_eq!(r.data.last().unwrap(), &body);

    // without CHUNKING, BINARYMIME cannot be sent: nothing of the transaction goes out
    let server = ScriptedServer::tcp(vec![
        Step::reply("220 x"),
        Step::expect("EHLO"),
        Step::Send(ehlo_reply("x", &["BINARYMIME"])),
        Step::ReadUntilClose,
    ]);
    let mut s = support::new_session(SessionKind::Smtp);
    s.set_local_hostname(Some("c.example.test")).unwrap();
    s.connect(&server.addr(), 0).unwrap();
    let e = s.sendmail("a@example.test", &["b@example.test"], &body, &["BODY=BINARYMIME"], &[]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotSupported);
    s.close();
    assert_eq!(server.finish().wire_str(), "EHLO c.example.test\r\n");
}

#[test]
fn streamed_bodies_arrive_identical_at_any_chunking() {
    let bed = TestBed::get();
    for (chunking, chunk) in [(true, 1), (false, 1), (true, 7), (false, 4096), (true, 1 << 20)] {
        let marker = unique_marker("stream");
        let body = format!("Subject: {marker}\n\n.dot\r.\rcr\r\nmixed\n{}\nend", "line\n".repeat(20_000)).into_bytes();
        let mut s = support::new_session(SessionKind::Smtp);
        s.set_chunking(chunking);
        s.connect(&bed.smtp_addr(), 0).unwrap();
        let mut read = stream(&body, chunk);
        s.sendmail_stream("alice@example.test", &["bob@example.test"], &mut read, None, &[], &[]).unwrap();
        let m = bed.wait_for_postfix_mail("bob", &marker, WAIT).expect("delivered");
        let text = String::from_utf8_lossy(&m).replace("\r\n", "\n");
        let sent = String::from_utf8_lossy(&body).replace("\r\n", "\n").replace('\r', "\n");
        let body_part = &sent[sent.find("\n\n").unwrap()..];
        assert!(text.contains(body_part), "chunking={chunking} chunk={chunk}");
        s.quit().unwrap();
    }
}

#[test]
fn stream_abort_before_anything_sends_nothing() {
    let server = ScriptedServer::tcp(vec![
        Step::reply("220 x"),
        Step::expect("EHLO"),
        Step::Send(ehlo_reply("x", &["PIPELINING", "CHUNKING"])),
        Step::ReadUntilClose,
    ]);
    let mut s = support::new_session(SessionKind::Smtp);
    s.set_local_hostname(Some("c.example.test")).unwrap();
    s.connect(&server.addr(), 0).unwrap();
    let mut read = |_: &mut [u8]| BodyRead::Abort(-42);
    let e = s.sendmail_stream("a@example.test", &["b@example.test"], &mut read, None, &[], &[]).unwrap_err();
    assert_eq!((e.kind(), e.callback_value()), (ErrorKind::CallbackAborted, -42));
    assert!(s.is_connected(), "nothing of the transaction was sent: the session is still usable");
    s.close();
    assert_eq!(server.finish().wire_str(), "EHLO c.example.test\r\n");
}

#[test]
fn stream_abort_midway_closes_without_delivering() {
    let bed = TestBed::get();
    for chunking in [true, false] {
        let marker = unique_marker("abort");
        let mut s = support::new_session(SessionKind::Smtp);
        s.set_chunking(chunking);
        s.connect(&bed.smtp_addr(), 0).unwrap();
        // full buffers, so the first part is on the wire before the abort comes
        let mut calls = 0;
        let mut read = |buf: &mut [u8]| {
            calls += 1;
            if calls > 2 {
                return BodyRead::Abort(-7);
            }
            let head = format!("Subject: {marker}\r\n\r\n");
            buf.fill(b'x');
            if calls == 1 {
                buf[..head.len()].copy_from_slice(head.as_bytes());
            }
            BodyRead::Data(buf.len())
        };
        let e =
            s.sendmail_stream("alice@example.test", &["alice@example.test"], &mut read, None, &[], &[]).unwrap_err();
        assert_eq!((e.kind(), e.callback_value()), (ErrorKind::CallbackAborted, -7));
        assert!(!s.is_connected(), "closed, so the partial message cannot be delivered");
        std::thread::sleep(Duration::from_millis(500));
        assert_eq!(bed.count_mail_with(&bed.postfix_maildir, "alice", &marker), 0, "chunking={chunking}");
    }
}

#[test]
fn stream_size_estimate_is_sent_and_checked() {
    let server = ScriptedServer::tcp(vec![
        Step::reply("220 x"),
        Step::expect("EHLO"),
        Step::Send(ehlo_reply("x", &["SIZE 1000"])),
        Step::expect("MAIL FROM:<a@example.test> SIZE=900"),
        Step::reply("250 ok"),
        Step::expect("RCPT"),
        Step::reply("250 ok"),
        Step::expect("DATA"),
        Step::reply("354 go"),
        Step::ExpectData,
        Step::reply("250 ok"),
    ]);
    let mut s = support::new_session(SessionKind::Smtp);
    s.set_local_hostname(Some("c.example.test")).unwrap();
    s.connect(&server.addr(), 0).unwrap();
    let mut read = stream(b"hello\r\n", 100);
    s.sendmail_stream("a@example.test", &["b@example.test"], &mut read, Some(900), &[], &[]).unwrap();
    let mut read = stream(b"hello\r\n", 100);
    let e = s.sendmail_stream("a@example.test", &["b@example.test"], &mut read, Some(1001), &[], &[]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::MessageTooLarge);
    s.close();
    server.finish().assert_ok();
}

#[test]
fn received_header_shows_chunking_was_used() {
    // Postfix notes nothing for BDAT, but the delivered text must equal what DATA delivers
    let bed = TestBed::get();
    let mut bodies = Vec::new();
    for chunking in [true, false] {
        let marker = unique_marker("same-content");
        let mut s = support::new_session(SessionKind::Smtp);
        s.set_chunking(chunking);
        s.connect(&bed.smtp_addr(), 0).unwrap();
        let body = format!("Subject: x\n\n{marker}\r\n.\r\n..\n\rlast");
        s.sendmail("alice@example.test", &["carol@example.test"], body.as_bytes(), &[], &[]).unwrap();
        let m = bed.wait_for_postfix_mail("carol", &marker, WAIT).unwrap();
        let at = m.windows(marker.len()).position(|w| w == marker.as_bytes()).unwrap();
        bodies.push(m[at + marker.len()..].to_vec());
        assert!(contains(&m, b"Subject: x"));
        s.quit().unwrap();
    }
    assert_eq!(bodies[0], bodies[1]);
}

#[test]
fn pipelined_bdat_chunks_with_a_refused_chunk() {
    // 700 000 bytes go as chunks of 262 144, 262 144 and the rest (+ the final CRLF) as LAST;
    // after MAIL and RCPT the chunks go without waiting for their replies; the second is refused
    const CHUNK: usize = 256 * 1024;
    let body = vec![b'x'; 700_000];
    let last = body.len() - 2 * CHUNK + 2;
    let server = ScriptedServer::tcp(vec![
        Step::reply("220 x"),
        Step::expect("EHLO"),
        Step::Send(ehlo_reply("x", &["PIPELINING", "CHUNKING"])),
        Step::expect("MAIL FROM:<a@example.test>"),
        Step::expect("RCPT TO:<b@example.test>"),
        Step::expect(&format!("BDAT {CHUNK}")),
        Step::ReadBytes(CHUNK),
        Step::reply("250 mail\n250 rcpt"),
        Step::expect(&format!("BDAT {CHUNK}")),
        Step::ReadBytes(CHUNK),
        Step::expect(&format!("BDAT {last} LAST")),
        Step::ReadBytes(last),
        Step::reply("250 chunk 1\n554 5.6.0 chunk 2 refused\n554 5.6.0 transaction failed"),
        Step::expect("RSET"),
        Step::reply("250 ok"),
    ]);
    let mut s = support::new_session(SessionKind::Smtp);
    s.set_local_hostname(Some("c.example.test")).unwrap();
    s.set_timeout(Some(Duration::from_secs(5)));
    s.connect(&server.addr(), 0).unwrap();
    let e = s.sendmail("a@example.test", &["b@example.test"], &body, &[], &[]).unwrap_err();
    let connected = s.is_connected();
    drop(s);
    server.finish().assert_ok();
    assert_eq!((e.kind(), e.reply().map(|r| r.code())), (ErrorKind::Data, Some(554)), "{e}");
    assert!(connected, "every outstanding reply read, then RSET: open, no transaction");
}
