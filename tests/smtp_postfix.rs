//! The SMTP session against a real Postfix on loopback (the test bed): every smtplib method,
//! delivery checked in the Maildir, refusals with their codes, and the session's state after
//! each failure.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use smtpclient::session::{DebugKind, SessionKind};
use smtpclient::{ErrorKind, Session};
use support::{contains, unique_marker, TestBed};

const WAIT: Duration = Duration::from_secs(15);

fn connected() -> Session {
    let bed = TestBed::get();
    let mut s = support::new_session(SessionKind::Smtp);
    s.set_local_hostname(Some("client.example.test")).unwrap();
    s.set_timeout(Some(Duration::from_secs(20)));
    let greeting = s.connect(&bed.smtp_addr(), 0).expect("connect to Postfix");
    assert_eq!(greeting.code(), 220);
    s
}

fn message(marker: &str, to: &str) -> Vec<u8> {
    format!(
        "From: alice@example.test\r\nTo: {to}\r\nSubject: {marker}\r\nMessage-ID: <{marker}@client.example.test>\r\n\r\nbody of {marker}\r\n"
    )
    .into_bytes()
}

fn delivered(user: &str, marker: &str) -> Vec<u8> {
    let bed = TestBed::get();
    bed.wait_for_postfix_mail(user, marker, WAIT)
        .unwrap_or_else(|| panic!("{marker} not delivered to {user}\n{}", bed.postfix_log_tail(20)))
}

#[test]
fn ehlo_parses_postfix_features() {
    let mut s = connected();
    assert!(s.greeting().unwrap().text().contains("mx.example.test"));
    let reply = s.ehlo(None).unwrap();
    assert_eq!(reply.code(), 250);
    assert!(s.does_esmtp());
    assert_eq!(s.ehlo_resp().unwrap().lines()[0], "mx.example.test");
    for ext in ["PIPELINING", "size", "8bitmime", "SmtpUtf8", "dsn", "enhancedstatuscodes", "chunking", "starttls"] {
        assert!(s.has_extn(ext), "{ext} not advertised");
    }
    assert!(!s.has_extn("x-nonexistent"));
    assert_eq!(s.features().get("size"), Some("10485760"));
    assert_eq!(s.features().size_limit(), Some(10_485_760));
    let auth = s.features().get("auth").unwrap();
    for m in ["PLAIN", "LOGIN", "CRAM-MD5"] {
        assert!(auth.split(' ').any(|x| x == m), "{m} missing from {auth:?}");
    }
    s.quit().unwrap();
    assert!(!s.is_connected());
    assert!(!s.does_esmtp() && s.features().is_empty(), "quit forgets capabilities");
}

#[test]
fn sendmail_delivers_to_every_recipient() {
    let marker = unique_marker("sendmail");
    let mut s = connected();
    s.sendmail(
        "alice@example.test",
        &["alice@example.test", "bob@example.test"],
        &message(&marker, "alice, bob"),
        &[],
        &[],
    )
    .unwrap();
    assert_eq!(s.refused().count(), 0);
    assert_eq!(s.last_reply().unwrap().code(), 250);
    assert!(s.recipients().iter().all(|r| r.rcpt_accepted() && r.refusal().is_none()));
    for user in ["alice", "bob"] {
        let m = delivered(user, &marker);
        assert!(contains(&m, format!("Delivered-To: {user}@example.test").as_bytes()));
        assert!(contains(&m, b"client.example.test"), "EHLO name in Received");
    }
    s.quit().unwrap();
}

#[test]
fn refused_recipients_are_reported_with_their_codes() {
    let marker = unique_marker("partial");
    let mut s = connected();
    s.sendmail(
        "alice@example.test",
        &["reject550@example.test", "carol@example.test", "tempfail@example.test"],
        &message(&marker, "carol"),
        &[],
        &[],
    )
    .expect("one recipient accepted is success");
    let refused: Vec<(String, u16, String)> = s.refused().map(|(a, r)| (a.to_owned(), r.code(), r.text())).collect();
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert_eq!((refused[0].0.as_str(), refused[0].1), ("reject550@example.test", 550));
    assert!(refused[0].2.contains("User unknown (forced)"));
    assert_eq!((refused[1].0.as_str(), refused[1].1), ("tempfail@example.test", 450));
    let first = s.refused().next().unwrap().1.enhanced_status().unwrap();
    assert_eq!((first.class, first.subject, first.detail), (5, 1, 1));
    delivered("carol", &marker);
    s.quit().unwrap();
}

#[test]
fn refused_sender_keeps_sender_and_session_recovers() {
    let marker = unique_marker("after-sender-refused");
    let mut s = connected();
    let e = s
        .sendmail("reject553@example.test", &["alice@example.test"], b"Subject: x\r\n\r\nx\r\n", &[], &[])
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::SenderRefused);
    assert_eq!(e.sender(), Some("reject553@example.test"));
    let reply = e.reply().unwrap();
    assert_eq!(reply.code(), 553);
    let es = reply.enhanced_status().unwrap();
    assert_eq!((es.class, es.subject, es.detail), (5, 7, 1));
    assert!(s.is_connected(), "a refused sender leaves the session usable (RSET sent)");
    assert_eq!(s.last_reply().unwrap().code(), 250, "the RSET's reply");

    let e =
        s.sendmail("tempfail@example.test", &["alice@example.test"], b"Subject: x\r\n\r\nx\r\n", &[], &[]).unwrap_err();
    assert_eq!((e.kind(), e.reply().unwrap().code()), (ErrorKind::SenderRefused, 451));

    s.sendmail("alice@example.test", &["alice@example.test"], &message(&marker, "alice"), &[], &[]).unwrap();
    delivered("alice", &marker);
    s.quit().unwrap();
}

#[test]
fn all_recipients_refused_then_next_message_goes() {
    let marker = unique_marker("after-all-refused");
    let mut s = connected();
    let e = s
        .sendmail(
            "alice@example.test",
            &["reject550@example.test", "nobody-here@example.test"],
            b"Subject: x\r\n\r\nx\r\n",
            &[],
            &[],
        )
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RecipientsRefused);
    let refused: Vec<(&str, u16)> = s.refused().map(|(a, r)| (a, r.code())).collect();
    assert_eq!(refused, [("reject550@example.test", 550), ("nobody-here@example.test", 550)]);
    assert!(s.is_connected());
    s.sendmail("alice@example.test", &["bob@example.test"], &message(&marker, "bob"), &[], &[]).unwrap();
    delivered("bob", &marker);
    s.quit().unwrap();
}

#[test]
fn data_refused_at_end_of_data_then_next_message_goes() {
    let marker = unique_marker("after-data-refused");
    let mut s = connected();
    // body_checks rejection
    let e = s
        .sendmail("alice@example.test", &["alice@example.test"], b"Subject: x\r\n\r\nX-REJECT-ME-IN-BODY\r\n", &[], &[])
        .unwrap_err();
    assert_eq!((e.kind(), e.reply().unwrap().code()), (ErrorKind::Data, 550));
    let e = s
        .sendmail(
            "alice@example.test",
            &["alice@example.test"],
            b"Subject: x\r\n\r\nX-TEMPFAIL-ME-IN-BODY\r\n",
            &[],
            &[],
        )
        .unwrap_err();
    assert_eq!((e.kind(), e.reply().unwrap().code()), (ErrorKind::Data, 451));
    // end-of-data restriction: Postfix keeps the transaction open unless the client resets it
    let e = s
        .sendmail("reject-after-data@example.test", &["alice@example.test"], b"Subject: x\r\n\r\nx\r\n", &[], &[])
        .unwrap_err();
    assert_eq!((e.kind(), e.reply().unwrap().code()), (ErrorKind::Data, 554));
    s.sendmail("alice@example.test", &["alice@example.test"], &message(&marker, "alice"), &[], &[])
        .expect("RSET after the refusal keeps the session in step");
    delivered("alice", &marker);
    s.quit().unwrap();
}

#[test]
fn message_over_size_limit_is_refused_before_mail() {
    let mut s = connected();
    let big = vec![b'x'; 10_485_761];
    let e = s.sendmail("alice@example.test", &["alice@example.test"], &big, &[], &[]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::MessageTooLarge);
    assert!(s.is_connected());
    assert_eq!(s.noop().unwrap().code(), 250);
    s.quit().unwrap();
}

#[test]
fn several_messages_on_one_connection() {
    let marker = unique_marker("several");
    let mut s = connected();
    for i in 0..5 {
        let m = format!("{marker}-{i}");
        s.sendmail("alice@example.test", &["bob@example.test"], &message(&m, "bob"), &[], &[]).unwrap();
    }
    let bed = TestBed::get();
    assert_eq!(bed.wait_for_count(&bed.postfix_maildir, "bob", &marker, 5, WAIT), 5);
    s.quit().unwrap();
}

#[test]
fn step_by_step_mail_rcpt_data() {
    let marker = unique_marker("steps");
    let mut s = connected();
    assert_eq!(s.ehlo(Some("steps.example.test")).unwrap().code(), 250);
    assert_eq!(s.mail("alice@example.test", &["BODY=8BITMIME"]).unwrap().code(), 250);
    assert_eq!(s.rcpt("reject550@example.test", &[]).unwrap().code(), 550);
    assert_eq!(s.rcpt("carol@example.test", &["NOTIFY=NEVER"]).unwrap().code(), 250);
    // lines starting with '.', a lone '.', bare LF and bare CR line ends: all must arrive intact
    let body = format!("Subject: {marker}\n\n.leading dot\n.\n..two\rbare cr line\r\nend");
    let reply = s.data(body.as_bytes()).unwrap();
    assert_eq!(reply.code(), 250);
    let m = delivered("carol", &marker);
    let text = String::from_utf8_lossy(&m).replace("\r\n", "\n");
    assert!(text.contains("\n.leading dot\n.\n..two\nbare cr line\nend\n"), "{text}");
    assert_eq!(s.rset().unwrap().code(), 250);
    assert_eq!(s.noop().unwrap().code(), 250);
    s.quit().unwrap();
}

#[test]
fn helo_then_sendmail_uses_no_extensions() {
    let marker = unique_marker("helo");
    let mut s = connected();
    let reply = s.helo(Some("helo.example.test")).unwrap();
    assert_eq!(reply.code(), 250);
    assert_eq!(s.helo_resp().unwrap().code(), 250);
    assert!(!s.does_esmtp());
    s.sendmail("alice@example.test", &["alice@example.test"], &message(&marker, "alice"), &[], &[]).unwrap();
    let m = delivered("alice", &marker);
    assert!(contains(&m, b"helo.example.test"));
    assert!(contains(&m, b"with SMTP"), "HELO session is plain SMTP");
    s.quit().unwrap();
}

#[test]
fn verify_expn_help_noop_rset_docmd() {
    let mut s = connected();
    s.ehlo(None).unwrap();
    let v = s.verify("alice@example.test").unwrap();
    assert!(matches!(v.code(), 250 | 252), "VRFY {}", v.code());
    let e = s.expn("alice@example.test").unwrap();
    assert_eq!(e.code(), 500, "Postfix has no EXPN");
    let h = s.help("").unwrap();
    assert_eq!(h.code(), 500, "Postfix has no HELP");
    assert_eq!(s.noop().unwrap().code(), 250);
    assert_eq!(s.rset().unwrap().code(), 250);
    let r = s.docmd("NOOP", "").unwrap();
    assert_eq!(r.code(), 250);
    assert_eq!(s.last_reply().unwrap().code(), 250);
    // smtplib users put the arguments in the command
    assert_eq!(s.docmd("MAIL FROM:<alice@example.test>", "").unwrap().code(), 250);
    assert_eq!(s.docmd("RSET", "").unwrap().code(), 250);
    let q = s.quit().unwrap();
    assert_eq!(q.code(), 221);
}

#[test]
fn connect_forms_and_defaults() {
    let bed = TestBed::get();
    // host and port separately
    let mut s = support::new_session(SessionKind::Smtp);
    s.connect(&bed.smtp_host, bed.smtp_port).unwrap();
    assert_eq!(s.peer_is_local(), Some(true));
    let e = s.connect(&bed.smtp_host, bed.smtp_port).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BadState, "connect while connected");
    s.quit().unwrap();
    // reconnect after quit on the same session; "localhost" resolves to ::1 and 127.0.0.1
    s.connect(&format!("localhost:{}", bed.smtp_port), 0).unwrap();
    assert_eq!(s.noop().unwrap().code(), 250);
    s.close();
    if let Some(a6) = bed.smtp_addr6() {
        s.connect(&a6, 0).unwrap();
        assert_eq!(s.ehlo(None).unwrap().code(), 250);
        s.quit().unwrap();
    }
    // source address
    s.set_source_address(Some(("127.0.0.1", 0))).unwrap();
    s.connect(&bed.smtp_addr(), 0).unwrap();
    s.quit().unwrap();
}

#[test]
fn commands_without_connection_are_server_disconnected() {
    let mut s = support::new_session(SessionKind::Smtp);
    for e in [s.noop().unwrap_err(), s.ehlo(None).unwrap_err(), s.quit().unwrap_err()] {
        assert_eq!(e.kind(), ErrorKind::ServerDisconnected);
    }
    let e = s.sendmail("a@example.test", &["b@example.test"], b"x", &[], &[]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ServerDisconnected);
}

#[test]
fn connection_refused_and_unknown_host_have_their_own_kinds() {
    // a port nobody listens on: bind, read the port, close
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut s = support::new_session(SessionKind::Smtp);
    let e = s.connect("127.0.0.1", port).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConnectionRefused, "{e}");
    assert!(!s.is_connected());
    let e = s.connect("no-such-host.invalid", 25).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NameResolution, "{e}");
}

#[test]
fn send_message_takes_envelope_from_headers_and_strips_bcc() {
    let marker = unique_marker("send-message");
    let mut s = connected();
    let msg = format!(
        "From: Alice <alice@example.test>\r\nTo: \"Bob, B.\" <bob@example.test>\r\nCc: carol@example.test (Carol)\r\nBcc: alice@example.test\r\nSubject: {marker}\r\n\r\nhello\r\n"
    );
    s.send_message(msg.as_bytes(), None, None, &[], &[]).unwrap();
    let addrs: Vec<&str> = s.recipients().iter().map(|r| r.address()).collect();
    assert_eq!(addrs, ["bob@example.test", "alice@example.test", "carol@example.test"], "To, Bcc, Cc as smtplib");
    for user in ["alice", "bob", "carol"] {
        let m = delivered(user, &marker);
        assert!(!contains(&m, b"Bcc:"), "Bcc must not be transmitted ({user})");
    }
    // explicit envelope wins over headers
    let marker2 = unique_marker("send-message-explicit");
    let msg2 = format!("From: x@example.test\r\nTo: y@example.test\r\nSubject: {marker2}\r\n\r\nhi\r\n");
    s.send_message(msg2.as_bytes(), Some("alice@example.test"), Some(&["bob@example.test"]), &[], &[]).unwrap();
    delivered("bob", &marker2);
    // more than one Resent- block is refused before anything is sent
    let e = s
        .send_message(b"Resent-Date: a\r\nResent-Date: b\r\nFrom: a@example.test\r\n\r\nx\r\n", None, None, &[], &[])
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(s.is_connected());
    s.quit().unwrap();
}

#[test]
fn send_message_with_utf8_sender_uses_smtputf8() {
    let marker = unique_marker("utf8");
    let mut s = connected();
    let msg = format!("From: jörg@example.test\r\nTo: alice@example.test\r\nSubject: {marker}\r\n\r\nGrüße\r\n");
    s.send_message(msg.as_bytes(), None, None, &[], &[]).unwrap();
    let m = delivered("alice", &marker);
    assert!(contains(&m, "jörg@example.test".as_bytes()));
    assert!(contains(&m, b"UTF8SMTP") || contains(&m, b"UTF8ESMTP"), "Received: says SMTPUTF8 was used");
    s.quit().unwrap();
}

#[test]
fn minimal_server_without_extensions() {
    let bed = TestBed::get();
    let marker = unique_marker("minimal");
    let mut s = support::new_session(SessionKind::Smtp);
    s.connect(&bed.minimal_addr(), 0).unwrap();
    s.ehlo_or_helo_if_needed().unwrap();
    assert!(s.does_esmtp());
    assert!(s.features().is_empty(), "{:?}", s.features());
    // no SMTPUTF8: a UTF-8 address cannot be sent, and nothing is sent
    let e = s
        .send_message("From: jörg@example.test\r\nTo: alice@example.test\r\n\r\nx\r\n".as_bytes(), None, None, &[], &[])
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotSupported);
    let e = s.mail("alice@example.test", &["SMTPUTF8"]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotSupported);
    s.sendmail("alice@example.test", &["alice@example.test"], &message(&marker, "alice"), &[], &[]).unwrap();
    delivered("alice", &marker);
    s.quit().unwrap();
}

/// One debug event as the sink saw it.
type DebugRecord = (DebugKind, Vec<u8>);

#[test]
fn debug_events_reach_the_sink() {
    let events: Arc<Mutex<Vec<DebugRecord>>> = Arc::default();
    let sink = events.clone();
    let mut s = support::new_session(SessionKind::Smtp);
    s.set_debug_level(1);
    s.set_debug_sink(Some(Box::new(move |e| sink.lock().unwrap().push((e.kind, e.data.to_vec())))));
    s.connect(&TestBed::get().smtp_addr(), 0).unwrap();
    s.noop().unwrap();
    s.quit().unwrap();
    let ev = events.lock().unwrap();
    assert_eq!(ev[0].0, DebugKind::Connect);
    assert!(ev.iter().any(|(k, d)| *k == DebugKind::Received && d.starts_with(b"220 ")));
    assert!(ev.iter().any(|(k, d)| *k == DebugKind::Sent && d == b"NOOP\r\n"));
    assert!(ev.iter().any(|(k, d)| *k == DebugKind::Received && d.starts_with(b"250 ")));
    assert!(ev.iter().any(|(k, d)| *k == DebugKind::Sent && d == b"QUIT\r\n"));
}

#[test]
fn injection_is_refused_before_anything_is_sent() {
    let mut s = connected();
    for bad in ["alice@example.test\r\nRCPT TO:<x@y>", "a@b\nDATA", "a@b\rX"] {
        let e = s.sendmail(bad, &["alice@example.test"], b"x", &[], &[]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        let e = s.sendmail("alice@example.test", &[bad], b"x", &[], &[]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        let e = s.sendmail("alice@example.test", &["bob@example.test"], b"x", &[bad], &[]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert_eq!(s.docmd("NOOP", bad).unwrap_err().kind(), ErrorKind::InvalidArgument);
        assert_eq!(s.ehlo(Some(bad)).unwrap_err().kind(), ErrorKind::InvalidArgument);
    }
    // nothing was sent: the session was not even greeted with EHLO, and is in step
    assert!(s.ehlo_resp().is_none());
    assert_eq!(s.noop().unwrap().code(), 250);
    s.quit().unwrap();
}
