//! Faults no real server produces, played by the scripted server: bad greetings, 421 at each
//! stage, disconnects, malformed and oversized replies, stalls. Each test asserts the error
//! kind, the session's state afterwards, and the exact bytes the client wrote.

mod support;

use std::time::{Duration, Instant};

use smtpclient::session::SessionKind;
use smtpclient::{ErrorKind, Session};
use support::{ehlo_reply, greet_and_ehlo, ScriptedServer, Step};

const HELLO: &str = "client.example.test";

fn session() -> Session {
    let mut s = support::new_session(SessionKind::Smtp);
    s.set_local_hostname(Some(HELLO)).unwrap();
    s.set_timeout(Some(Duration::from_secs(3)));
    s
}

fn send_one(s: &mut Session) -> smtpclient::Result<()> {
    s.sendmail("a@example.test", &["b@example.test"], b"Subject: t\r\n\r\nhi\r\n", &[], &[])
}

#[test]
fn greeting_not_220_is_connect_error() {
    for (greeting, code) in [("554 go away", 554), ("421 too busy", 421)] {
        let server = ScriptedServer::tcp(vec![Step::reply(greeting), Step::ReadUntilClose]);
        let mut s = session();
        let e = s.connect(&server.addr(), 0).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Connect);
        assert_eq!(e.reply().unwrap().code(), code);
        assert!(!s.is_connected());
        let r = server.finish();
        assert_eq!(r.wire, b"", "nothing is sent after a refused greeting");
    }
}

#[test]
fn silent_server_times_out() {
    let server = ScriptedServer::tcp(vec![Step::sleep_ms(1500), Step::ReadUntilClose]);
    let mut s = session();
    s.set_timeout(Some(Duration::from_millis(300)));
    let start = Instant::now();
    let e = s.connect(&server.addr(), 0).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    assert!(start.elapsed() < Duration::from_secs(2));
    assert!(!s.is_connected());
    drop(server.finish());
}

#[test]
fn dripping_server_cannot_extend_the_deadline() {
    // one byte every 100 ms: each read succeeds, the reply as a whole must still time out
    let drip: Vec<Vec<u8>> = b"220 slowly but surely, one byte at a time\r\n".iter().map(|b| vec![*b]).collect();
    let mut steps = Vec::new();
    for piece in drip {
        steps.push(Step::Send(piece));
        steps.push(Step::sleep_ms(100));
    }
    let server = ScriptedServer::tcp(steps);
    let mut s = session();
    s.set_timeout(Some(Duration::from_millis(800)));
    let e = s.connect(&server.addr(), 0).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    drop(server.finish());
}

#[test]
fn close_before_greeting_is_server_disconnected() {
    let server = ScriptedServer::tcp(vec![Step::Close]);
    let mut s = session();
    let e = s.connect(&server.addr(), 0).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ServerDisconnected);
    assert!(!s.is_connected());
    server.finish();
}

#[test]
fn malformed_replies_are_protocol_errors() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("garbage greeting", b"hello there\r\n".to_vec()),
        ("bad code", b"2_0 ok\r\n".to_vec()),
        ("mixed codes", b"220-mx\r\n250 ok\r\n".to_vec()),
        ("NUL", b"220 ok\0evil\r\n".to_vec()),
        ("overlong line", [vec![b'2', b'2', b'0', b' '], vec![b'a'; 9000], b"\r\n".to_vec()].concat()),
        ("endless multi-line", b"220-x\r\n".repeat(1000)),
    ];
    for (what, bytes) in cases {
        let server = ScriptedServer::tcp(vec![Step::Send(bytes), Step::ReadUntilClose]);
        let mut s = session();
        let e = s.connect(&server.addr(), 0).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Protocol, "{what}: {e}");
        assert!(!s.is_connected(), "{what}: session closed");
        assert_eq!(server.finish().wire, b"", "{what}");
    }
}

#[test]
fn disconnect_mid_reply_is_server_disconnected() {
    let server = ScriptedServer::tcp(vec![
        Step::reply("220 mx"),
        Step::expect("EHLO"),
        Step::send("250-mx\r\n250-SIZE 10"),
        Step::Close,
    ]);
    let mut s = session();
    s.connect(&server.addr(), 0).unwrap();
    let e = s.ehlo(None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ServerDisconnected);
    assert!(!s.is_connected());
    assert_eq!(s.noop().unwrap_err().kind(), ErrorKind::ServerDisconnected);
    server.finish().assert_ok();
}

#[test]
fn ehlo_refused_falls_back_to_helo() {
    let server = ScriptedServer::tcp(vec![
        Step::reply("220 old.example"),
        Step::expect("EHLO client.example.test"),
        Step::reply("502 5.5.2 what?"),
        Step::expect("HELO client.example.test"),
        Step::reply("250 old.example"),
        Step::expect("MAIL FROM:<a@example.test>"),
        Step::reply("250 ok"),
        Step::expect("RCPT TO:<b@example.test>"),
        Step::reply("250 ok"),
        Step::expect("DATA"),
        Step::reply("354 go"),
        Step::ExpectData,
        Step::reply("250 queued"),
    ]);
    let mut s = session();
    s.connect(&server.addr(), 0).unwrap();
    send_one(&mut s).unwrap();
    assert!(!s.does_esmtp());
    let r = server.finish();
    r.assert_ok();
    assert_eq!(
        r.wire_str(),
        "EHLO client.example.test\r\nHELO client.example.test\r\nMAIL FROM:<a@example.test>\r\n\
         RCPT TO:<b@example.test>\r\nDATA\r\nSubject: t\r\n\r\nhi\r\n.\r\n"
    );
}

#[test]
fn ehlo_and_helo_refused_is_helo_error() {
    let server = ScriptedServer::tcp(vec![
        Step::reply("220 picky"),
        Step::expect("EHLO"),
        Step::reply("550 no"),
        Step::expect("HELO"),
        Step::reply("550 5.7.1 still no"),
        Step::ReadUntilClose,
    ]);
    let mut s = session();
    s.connect(&server.addr(), 0).unwrap();
    let e = send_one(&mut s).unwrap_err();
    assert_eq!((e.kind(), e.reply().unwrap().code()), (ErrorKind::Helo, 550));
    assert!(s.is_connected(), "a refused HELO leaves the connection open");
    s.close();
    let r = server.finish();
    assert_eq!(r.wire_str(), "EHLO client.example.test\r\nHELO client.example.test\r\n");
}

#[test]
fn lmtp_lhlo_refused_is_helo_error_without_helo() {
    let server = ScriptedServer::tcp(vec![
        Step::reply("220 lmtp"),
        Step::expect("LHLO"),
        Step::reply("500 no"),
        Step::ReadUntilClose,
    ]);
    let mut s = support::new_session(SessionKind::Lmtp);
    s.set_local_hostname(Some(HELLO)).unwrap();
    s.connect(&server.addr(), 0).unwrap();
    let e = s.ehlo_or_helo_if_needed().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Helo);
    s.close();
    assert_eq!(server.finish().wire_str(), "LHLO client.example.test\r\n");
}

#[test]
fn code_421_closes_at_every_stage() {
    // at MAIL
    let mut steps = greet_and_ehlo(&["SIZE 1000"]);
    steps.extend([
        Step::expect("MAIL FROM:<a@example.test> SIZE=18"),
        Step::reply("421 4.3.2 shutting down"),
        Step::ReadUntilClose,
    ]);
    let server = ScriptedServer::tcp(steps);
    let mut s = session();
    s.connect(&server.addr(), 0).unwrap();
    let e = send_one(&mut s).unwrap_err();
    assert_eq!((e.kind(), e.reply().unwrap().code()), (ErrorKind::SenderRefused, 421));
    assert!(!s.is_connected());
    let r = server.finish();
    r.assert_ok();
    assert!(!r.wire_str().contains("RSET"), "no RSET after 421: {}", r.wire_str());

    // at RCPT
    let mut steps = greet_and_ehlo(&[]);
    steps.extend([
        Step::expect("MAIL"),
        Step::reply("250 ok"),
        Step::expect("RCPT TO:<b@example.test>"),
        Step::reply("421 4.3.2 bye"),
        Step::ReadUntilClose,
    ]);
    let server = ScriptedServer::tcp(steps);
    let mut s = session();
    s.connect(&server.addr(), 0).unwrap();
    let e = s.sendmail("a@example.test", &["b@example.test", "c@example.test"], b"x", &[], &[]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RecipientsRefused);
    assert!(!s.is_connected());
    let r = server.finish();
    assert!(!r.wire_str().contains("c@example.test"), "nothing after 421: {}", r.wire_str());

    // at DATA
    let mut steps = greet_and_ehlo(&[]);
    steps.extend(up_to_data());
    steps.extend([Step::reply("421 4.3.2 bye"), Step::ReadUntilClose]);
    let server = ScriptedServer::tcp(steps);
    let mut s = session();
    s.connect(&server.addr(), 0).unwrap();
    let e = send_one(&mut s).unwrap_err();
    assert_eq!((e.kind(), e.reply().unwrap().code()), (ErrorKind::Data, 421));
    assert!(!s.is_connected());
    let r = server.finish();
    assert!(r.wire_str().ends_with("DATA\r\n"), "no body, no RSET: {}", r.wire_str());

    // at the end of data
    let mut steps = greet_and_ehlo(&[]);
    steps.extend(up_to_data());
    steps.extend([Step::reply("354 go"), Step::ExpectData, Step::reply("421 4.3.2 bye"), Step::ReadUntilClose]);
    let server = ScriptedServer::tcp(steps);
    let mut s = session();
    s.connect(&server.addr(), 0).unwrap();
    let e = send_one(&mut s).unwrap_err();
    assert_eq!((e.kind(), e.reply().unwrap().code()), (ErrorKind::Data, 421));
    assert!(!s.is_connected());
    assert!(server.finish().wire_str().ends_with("\r\n.\r\n"));
}

#[test]
fn data_not_354_sends_no_body_and_resets() {
    let mut steps = greet_and_ehlo(&[]);
    steps.extend(up_to_data());
    steps.extend([Step::reply("554 5.5.1 no valid recipients"), Step::expect("RSET"), Step::reply("250 ok")]);
    let server = ScriptedServer::tcp(steps);
    let mut s = session();
    s.connect(&server.addr(), 0).unwrap();
    let e = send_one(&mut s).unwrap_err();
    assert_eq!((e.kind(), e.reply().unwrap().code()), (ErrorKind::Data, 554));
    s.close();
    let r = server.finish();
    r.assert_ok();
    assert!(!r.wire_str().contains("Subject"), "no body: {}", r.wire_str());
}

#[test]
fn bytes_after_354_are_refused_before_the_body() {
    let mut steps = greet_and_ehlo(&[]);
    steps.extend(up_to_data());
    steps.extend([Step::send("354 go\r\n250 injected\r\n"), Step::ReadUntilClose]);
    let server = ScriptedServer::tcp(steps);
    let mut s = session();
    s.connect(&server.addr(), 0).unwrap();
    let e = send_one(&mut s).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Protocol);
    assert!(!s.is_connected());
    let r = server.finish();
    assert!(r.wire_str().ends_with("DATA\r\n"), "{}", r.wire_str());
}

#[test]
fn drop_after_final_dot_is_delivery_unknown() {
    let mut steps = greet_and_ehlo(&[]);
    steps.extend(up_to_data());
    steps.extend([Step::reply("354 go"), Step::ExpectData, Step::Close]);
    let server = ScriptedServer::tcp(steps);
    let mut s = session();
    s.connect(&server.addr(), 0).unwrap();
    let e = send_one(&mut s).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DeliveryUnknown, "{e}");
    assert!(!s.is_connected());
    server.finish().assert_ok();

    // no reply at all within the deadline is just as unknown
    let mut steps = greet_and_ehlo(&[]);
    steps.extend(up_to_data());
    steps.extend([Step::reply("354 go"), Step::ExpectData, Step::sleep_ms(1500)]);
    let server = ScriptedServer::tcp(steps);
    let mut s = session();
    s.connect(&server.addr(), 0).unwrap();
    s.set_timeout(Some(Duration::from_millis(400)));
    assert_eq!(send_one(&mut s).unwrap_err().kind(), ErrorKind::DeliveryUnknown);
    drop(server.finish());
}

#[test]
fn drop_during_a_large_body_is_not_delivered() {
    let mut steps = greet_and_ehlo(&[]);
    steps.extend(up_to_data());
    steps.extend([Step::reply("354 go"), Step::ReadBytes(1000), Step::Close]);
    let server = ScriptedServer::tcp(steps);
    let mut s = session();
    s.connect(&server.addr(), 0).unwrap();
    let body = vec![b'x'; 32 * 1024 * 1024];
    let e = s.sendmail("a@example.test", &["b@example.test"], &body, &[], &[]).unwrap_err();
    assert!(!s.is_connected());
    // The server closes after draining what has arrived. If the client was still writing, the
    // message is not delivered; if the whole message (terminator included) had already
    // arrived, only "delivery unknown" is honest. Which one depends on speed, never on luck:
    let r = server.finish();
    if r.wire.ends_with(b"\r\n.\r\n") {
        assert_eq!(e.kind(), ErrorKind::DeliveryUnknown, "{e}");
    } else {
        assert_eq!(e.kind(), ErrorKind::ServerDisconnected, "{e}");
        assert!(e.message().contains("not delivered"), "{e}");
    }
}

#[test]
fn size_limit_checked_before_mail() {
    let mut steps = greet_and_ehlo(&["SIZE 32"]);
    steps.push(Step::ReadUntilClose);
    let server = ScriptedServer::tcp(steps);
    let mut s = session();
    s.connect(&server.addr(), 0).unwrap();
    let msg = b"Subject: 38 bytes long\r\n\r\nbody\r\n123456";
    assert_eq!(msg.len(), 38);
    let e = s.sendmail("a@example.test", &["b@example.test"], msg, &[], &[]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::MessageTooLarge);
    assert!(s.is_connected());
    s.close();
    assert_eq!(server.finish().wire_str(), "EHLO client.example.test\r\n");
}

#[test]
fn size_and_options_are_sent_as_given() {
    let mut steps = greet_and_ehlo(&["SIZE", "8BITMIME", "DSN"]);
    steps.extend([
        Step::expect("MAIL FROM:<a@example.test> SIZE=25 BODY=8BITMIME"),
        Step::reply("250 ok"),
        Step::expect("RCPT TO:<b@example.test> NOTIFY=SUCCESS"),
        Step::reply("250 ok"),
        Step::expect("DATA"),
        Step::reply("354 go"),
        Step::ExpectData,
        Step::reply("250 ok"),
    ]);
    let server = ScriptedServer::tcp(steps);
    let mut s = session();
    s.connect(&server.addr(), 0).unwrap();
    // SIZE counts the CRLF-normalised message: 12 + 2 + 4 + 7 octets
    s.sendmail(
        "a@example.test",
        &["b@example.test"],
        b"Subject: t\r\n\r\nhi\nthere\n",
        &["BODY=8BITMIME"],
        &["NOTIFY=SUCCESS"],
    )
    .unwrap();
    server.finish().assert_ok();
}

#[test]
fn smtputf8_option_without_server_support_sends_nothing() {
    let mut steps = greet_and_ehlo(&["8BITMIME"]);
    steps.push(Step::ReadUntilClose);
    let server = ScriptedServer::tcp(steps);
    let mut s = session();
    s.connect(&server.addr(), 0).unwrap();
    let e = s.sendmail("jörg@example.test", &["b@example.test"], b"x", &["SMTPUTF8"], &[]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotSupported);
    let e = s.sendmail("jörg@example.test", &["b@example.test"], b"x", &[], &[]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "non-ASCII address without SMTPUTF8");
    s.close();
    assert_eq!(server.finish().wire_str(), "EHLO client.example.test\r\n");
}

#[test]
fn smuggling_sequences_cannot_end_the_data_early() {
    // (the NUL variant `\r\n\0.\r\n` is refused before sending: see hostile::case30)
    let body = b"Subject: s\r\n\r\na\n.\nb\r.\rc\r.\nd\n.\re\r\n.\nf\r.\r\ng\r\n.\rh\r\nend";
    let mut steps = greet_and_ehlo(&[]);
    steps.extend(up_to_data());
    steps.extend([Step::reply("354 go"), Step::ExpectData, Step::reply("250 ok")]);
    let server = ScriptedServer::tcp(steps);
    let mut s = session();
    s.connect(&server.addr(), 0).unwrap();
    s.sendmail("a@example.test", &["b@example.test"], body, &[], &[]).unwrap();
    let r = server.finish();
    r.assert_ok();
    let data = r.data.last().unwrap();
    let terminators = data.windows(5).filter(|w| w == b"\r\n.\r\n").count();
    assert_eq!(terminators, 1, "{:?}", String::from_utf8_lossy(data));
    assert!(data.ends_with(b"\r\n.\r\n"));
    for (i, &b) in data.iter().enumerate() {
        if b == b'\n' {
            assert_eq!(data[i - 1], b'\r', "bare LF at {i}");
        }
        if b == b'\r' {
            assert_eq!(data[i + 1], b'\n', "bare CR at {i}");
        }
    }
}

#[test]
fn lmtp_too_few_replies_is_delivery_unknown_and_extra_ones_stay_out_of_step() {
    let steps = vec![
        Step::reply("220 lmtp"),
        Step::expect("LHLO"),
        Step::Send(ehlo_reply("lmtp", &["PIPELINING"])),
        Step::expect("MAIL"),
        Step::reply("250 ok"),
        Step::expect("RCPT TO:<a@x.test>"),
        Step::reply("250 ok"),
        Step::expect("RCPT TO:<b@x.test>"),
        Step::reply("250 ok"),
        Step::expect("RCPT TO:<c@x.test>"),
        Step::reply("250 ok"),
        Step::expect("DATA"),
        Step::reply("354 go"),
        Step::ExpectData,
        Step::reply("250 2.0.0 a ok"),
        Step::reply("452 4.2.2 b over quota"),
        Step::sleep_ms(1500),
    ];
    let server = ScriptedServer::tcp(steps);
    let mut s = support::new_session(SessionKind::Lmtp);
    s.set_local_hostname(Some(HELLO)).unwrap();
    s.set_timeout(Some(Duration::from_millis(500)));
    s.connect(&server.addr(), 0).unwrap();
    let e = s.sendmail("s@x.test", &["a@x.test", "b@x.test", "c@x.test"], b"x\r\n", &[], &[]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DeliveryUnknown);
    let got: Vec<Option<u16>> = s.recipients().iter().map(|r| r.data_reply().map(|d| d.code())).collect();
    assert_eq!(got, [Some(250), Some(452), None], "replies read so far are kept");
    drop(server.finish());
}

/// MAIL and RCPT accepted, then the DATA command expected (its reply is the caller's).
fn up_to_data() -> Vec<Step> {
    vec![Step::expect("MAIL"), Step::reply("250 ok"), Step::expect("RCPT"), Step::reply("250 ok"), Step::expect("DATA")]
}
