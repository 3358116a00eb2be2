//! Deadlines that apply: each phase of the conversation has its own limit (connect, TLS
//! handshake, greeting, EHLO, MAIL, RCPT, DATA, each data block, the final reply, other
//! commands), an operation's total bounds every wait of one call however the server drips,
//! and each timeout message names the phase, the host, the limit that applied and the bytes
//! received. Scripted servers stall in one phase with a short limit on that phase only (every
//! other phase has a long one, which must not be what applies). Runs on both drivers
//! (`SMTPCLIENT_TEST_DRIVER=nonblocking`).

mod support;

use std::time::{Duration, Instant};

use socket2::{Domain, Socket, Type};

use smtpclient::session::{Phase, SessionKind};
use smtpclient::{Error, ErrorKind, Session};
use support::{greet_and_ehlo, ScriptedServer, Step};

/// The limit of the phase under test.
const SHORT: Duration = Duration::from_millis(200);
/// Every other phase's limit: a test whose wait ended by it would take this long.
const LONG: Duration = Duration::from_secs(5);
/// How long a scripted server stalls before closing: longer than SHORT, so a wait not ended
/// by SHORT ends as a disconnection, not a timeout.
const STALL_MS: u64 = 1000;

fn session(kind: SessionKind) -> Session {
    let mut s = support::new_session(kind);
    s.set_local_hostname(Some("client.example.test")).unwrap();
    s.set_timeout(Some(LONG));
    s
}

/// A session where only `phase` has the short limit.
fn short_in(kind: SessionKind, phase: Phase) -> Session {
    let mut s = session(kind);
    s.set_phase_timeout(phase, Some(SHORT));
    s
}

/// A timeout of the short limit, ended by it (not by a long limit, nor by the server closing),
/// whose message ends by naming `phase` and its limit.
#[track_caller]
fn assert_short_timeout(e: &Error, elapsed: Duration, during: &str, limit: &str) {
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert_names(e, during, limit);
    assert!(elapsed >= SHORT - Duration::from_millis(10), "{elapsed:?}");
    assert!(elapsed < Duration::from_millis(STALL_MS - 100), "{elapsed:?}: not ended by the short limit");
}

/// The message says the short limit ran out in `during`, `limit` applying.
#[track_caller]
fn assert_names(e: &Error, during: &str, limit: &str) {
    assert!(e.message().contains("timed out after 200 ms"), "{e}");
    let suffix = format!(" during {during} (the {limit} timeout)");
    assert!(e.message().trim_end_matches(')').ends_with(suffix.trim_end_matches(')')), "{e}\nwanted {suffix:?}");
}

/// Time `f`.
fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed())
}

fn send(s: &mut Session) -> Result<(), Error> {
    s.sendmail("a@example.test", &["b@example.test"], b"Subject: t\r\n\r\nbody\r\n", &[], &[])
}

// ------------------------------------------------------------------------------ each phase

#[test]
fn the_greeting_has_its_own_limit() {
    let server = ScriptedServer::tcp(vec![Step::sleep_ms(STALL_MS)]);
    let mut s = short_in(SessionKind::Smtp, Phase::Greeting);
    let (r, elapsed) = timed(|| s.connect(&server.addr(), 0));
    let e = r.unwrap_err();
    assert_short_timeout(&e, elapsed, "the greeting", "greeting");
    // the whole message, as the transport words it and the phase appended
    assert_eq!(
        e.message(),
        format!(
            "timed out after 200 ms waiting for the reply from {} (0 bytes received) during the greeting \
             (the greeting timeout)",
            server.addr()
        )
    );
    assert!(!s.is_connected());
    drop(server.finish());
}

#[test]
fn ehlo_has_its_own_limit() {
    let server =
        ScriptedServer::tcp(vec![Step::reply("220 mx ESMTP"), Step::expect("EHLO "), Step::sleep_ms(STALL_MS)]);
    let mut s = short_in(SessionKind::Smtp, Phase::Ehlo);
    s.connect(&server.addr(), 0).unwrap();
    let (r, elapsed) = timed(|| s.ehlo(None));
    assert_short_timeout(&r.unwrap_err(), elapsed, "EHLO", "EHLO");
    assert!(!s.is_connected());
    drop(server.finish());
}

#[test]
fn mail_has_its_own_limit() {
    let mut steps = greet_and_ehlo(&[]);
    steps.extend([Step::expect("MAIL FROM:<a@example.test>"), Step::sleep_ms(STALL_MS)]);
    let server = ScriptedServer::tcp(steps);
    let mut s = short_in(SessionKind::Smtp, Phase::Mail);
    s.connect(&server.addr(), 0).unwrap();
    let (r, elapsed) = timed(|| send(&mut s));
    assert_short_timeout(&r.unwrap_err(), elapsed, "MAIL", "MAIL");
    drop(server.finish());
}

#[test]
fn rcpt_has_its_own_limit() {
    let mut steps = greet_and_ehlo(&[]);
    steps.extend([
        Step::expect("MAIL FROM:"),
        Step::reply("250 ok"),
        Step::expect("RCPT TO:<b@example.test>"),
        Step::sleep_ms(STALL_MS),
    ]);
    let server = ScriptedServer::tcp(steps);
    let mut s = short_in(SessionKind::Smtp, Phase::Rcpt);
    s.connect(&server.addr(), 0).unwrap();
    let (r, elapsed) = timed(|| send(&mut s));
    let e = r.unwrap_err();
    assert_short_timeout(&e, elapsed, "RCPT", "RCPT");
    assert!(e.message().contains(&format!("from {} (0 bytes received)", server.addr())), "{e}");
    drop(server.finish());
}

#[test]
fn data_initiation_has_its_own_limit() {
    let mut steps = greet_and_ehlo(&[]);
    steps.extend([
        Step::expect("MAIL FROM:"),
        Step::reply("250 ok"),
        Step::expect("RCPT TO:"),
        Step::reply("250 ok"),
        Step::expect("DATA"),
        // half a reply, then nothing: the bytes received are counted
        Step::send("35"),
        Step::sleep_ms(STALL_MS),
    ]);
    let server = ScriptedServer::tcp(steps);
    let mut s = short_in(SessionKind::Smtp, Phase::Data);
    s.connect(&server.addr(), 0).unwrap();
    let (r, elapsed) = timed(|| send(&mut s));
    let e = r.unwrap_err();
    assert_short_timeout(&e, elapsed, "DATA", "DATA");
    assert!(e.message().contains("(2 bytes received)"), "{e}");
    drop(server.finish());
}

#[test]
fn each_data_block_has_its_own_limit() {
    let mut steps = greet_and_ehlo(&[]);
    steps.extend([
        Step::expect("MAIL FROM:"),
        Step::reply("250 ok"),
        Step::expect("RCPT TO:"),
        Step::reply("250 ok"),
        Step::expect("DATA"),
        Step::reply("354 go"),
        // never reads the body
        Step::sleep_ms(3000),
    ]);
    let server = ScriptedServer::tcp(steps);
    let mut s = short_in(SessionKind::Smtp, Phase::DataBlock);
    s.connect(&server.addr(), 0).unwrap();
    // more than the loopback socket buffers hold
    let body = vec![b'x'; 32 << 20];
    let (r, elapsed) = timed(|| s.sendmail("a@example.test", &["b@example.test"], &body, &[], &[]));
    let e = r.unwrap_err();
    // writing what the socket buffers take is progress: the limit runs from the last of it
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert_names(&e, "a data block", "data block");
    assert!(elapsed < Duration::from_millis(2500), "{elapsed:?}: not ended by the short limit");
    let wanted = format!("writing to {} timed out after 200 ms (", server.addr());
    assert!(e.message().contains(&wanted) && e.message().contains(" bytes written)"), "{e}");
    drop(server.finish());
}

#[test]
fn the_final_reply_has_its_own_limit() {
    let mut steps = greet_and_ehlo(&[]);
    steps.extend([
        Step::expect("MAIL FROM:"),
        Step::reply("250 ok"),
        Step::expect("RCPT TO:"),
        Step::reply("250 ok"),
        Step::expect("DATA"),
        Step::reply("354 go"),
        Step::ExpectData,
        Step::sleep_ms(STALL_MS),
    ]);
    let server = ScriptedServer::tcp(steps);
    let mut s = short_in(SessionKind::Smtp, Phase::DataEnd);
    s.connect(&server.addr(), 0).unwrap();
    let (r, elapsed) = timed(|| send(&mut s));
    let e = r.unwrap_err();
    // the message may have been delivered: the caller is told so, and why
    assert_eq!(e.kind(), ErrorKind::DeliveryUnknown, "{e}");
    assert_names(&e, "the final reply", "final reply");
    assert!(elapsed >= SHORT && elapsed < Duration::from_millis(STALL_MS - 100), "{elapsed:?}");
    drop(server.finish());
}

#[test]
fn other_commands_have_their_own_limit() {
    let server = ScriptedServer::tcp(vec![Step::reply("220 mx ESMTP"), Step::expect("NOOP"), Step::sleep_ms(STALL_MS)]);
    let mut s = short_in(SessionKind::Smtp, Phase::Other);
    s.connect(&server.addr(), 0).unwrap();
    let (r, elapsed) = timed(|| s.noop());
    assert_short_timeout(&r.unwrap_err(), elapsed, "a command", "command");
    drop(server.finish());
}

#[test]
fn the_tls_handshake_has_its_own_limit() {
    let server = ScriptedServer::tcp(vec![Step::sleep_ms(STALL_MS)]);
    let mut s = short_in(SessionKind::Smtps, Phase::TlsHandshake);
    let (r, elapsed) = timed(|| s.connect(&server.addr(), 0));
    let e = r.unwrap_err();
    assert_short_timeout(&e, elapsed, "the TLS handshake", "TLS handshake");
    assert!(e.message().starts_with(&format!("TLS handshake with {} timed out after 200 ms (", server.addr())), "{e}");
    drop(server.finish());
}

/// A listener with a full backlog on 127.0.0.1 (Linux then drops further SYNs): a connect to it
/// can only time out. Holds the queued connections open.
fn wedged_tcp_listener() -> (Socket, std::net::SocketAddr, Vec<Socket>) {
    let listener = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    listener.bind(&"127.0.0.1:0".parse::<std::net::SocketAddr>().unwrap().into()).unwrap();
    listener.listen(0).unwrap();
    let addr = listener.local_addr().unwrap().as_socket().unwrap();
    let mut queued = Vec::new();
    loop {
        let c = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        if c.connect_timeout(&addr.into(), Duration::from_millis(200)).is_err() {
            break;
        }
        queued.push(c);
        assert!(queued.len() < 16, "the backlog of listen(0) never filled");
    }
    (listener, addr, queued)
}

#[test]
fn connecting_has_its_own_limit() {
    let (_listener, addr, _queued) = wedged_tcp_listener();
    let mut s = short_in(SessionKind::Smtp, Phase::Connect);
    let (r, elapsed) = timed(|| s.connect("127.0.0.1", addr.port()));
    let e = r.unwrap_err();
    assert_short_timeout(&e, elapsed, "connect", "connect");
    assert!(e.message().starts_with(&format!("connect to 127.0.0.1 ({addr}) timed out after 200 ms")), "{e}");
}

// ------------------------------------------------------------------------------ per phase, not the least

#[test]
fn a_phase_with_a_longer_limit_keeps_it_when_the_others_are_short() {
    let mut steps = greet_and_ehlo(&[]);
    steps.extend([
        Step::expect("MAIL FROM:"),
        Step::reply("250 ok"),
        Step::expect("RCPT TO:"),
        Step::reply("250 ok"),
        Step::expect("DATA"),
        Step::reply("354 go"),
        Step::ExpectData,
        // longer than every other phase's limit, within the final reply's
        Step::sleep_ms(600),
        Step::reply("250 queued"),
        Step::expect("QUIT"),
        Step::reply("221 bye"),
    ]);
    let server = ScriptedServer::tcp(steps);
    let mut s = session(SessionKind::Smtp);
    s.set_timeout(Some(SHORT));
    s.set_phase_timeout(Phase::DataEnd, Some(Duration::from_millis(2000)));
    s.connect(&server.addr(), 0).unwrap();
    send(&mut s).unwrap();
    s.quit().unwrap();
    server.finish().assert_ok();
}

#[test]
fn each_reply_of_a_pipelined_batch_has_its_phase_limit() {
    let mut steps = greet_and_ehlo(&["PIPELINING"]);
    steps.extend([
        Step::expect("MAIL FROM:"),
        Step::expect("RCPT TO:"),
        Step::expect("DATA"),
        // MAIL is answered after longer than RCPT's limit: MAIL's own applies to it
        Step::sleep_ms(400),
        Step::reply("250 sender ok"),
        Step::sleep_ms(STALL_MS),
    ]);
    let server = ScriptedServer::tcp(steps);
    let mut s = short_in(SessionKind::Smtp, Phase::Rcpt);
    s.connect(&server.addr(), 0).unwrap();
    let start = Instant::now();
    let e = send(&mut s).unwrap_err();
    let elapsed = start.elapsed();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(e.message().ends_with(" during RCPT (the RCPT timeout)"), "{e}");
    // MAIL's reply after 400 ms, then RCPT's 200 ms from there
    assert!(elapsed >= Duration::from_millis(590) && elapsed < Duration::from_millis(STALL_MS + 300), "{elapsed:?}");
    drop(server.finish());
}

#[test]
fn the_rfc5321_preset_leaves_the_other_phases_alone() {
    let mut s = session(SessionKind::Smtp);
    s.set_rfc5321_timeouts();
    let t = s.timeouts();
    let minutes = |p| t.get(p).map(|d| d.as_secs() / 60);
    assert_eq!(
        [Phase::Greeting, Phase::Mail, Phase::Rcpt, Phase::Data, Phase::DataBlock, Phase::DataEnd].map(minutes),
        [Some(5), Some(5), Some(5), Some(2), Some(3), Some(10)]
    );
    for p in [Phase::Connect, Phase::TlsHandshake, Phase::Ehlo, Phase::Other] {
        assert_eq!(t.get(p), Some(LONG), "{p:?}");
    }
    // the single timeout still sets every phase
    s.set_timeout(None);
    assert_eq!(s.timeouts().get(Phase::DataEnd), None);
}

// ------------------------------------------------------------------------------ the operation's total

/// `text` sent one byte every 100 ms.
fn drip(text: &str) -> Vec<Step> {
    support::lines(text).iter().flat_map(|&b| [Step::send([b]), Step::sleep_ms(100)]).collect()
}

#[test]
fn a_server_dripping_a_whole_transaction_is_cut_by_the_operation_timeout() {
    let mut steps = vec![Step::reply("220 mx ESMTP"), Step::expect("EHLO ")];
    // each reply takes under 1.5 s, within every phase's limit (2 s); the transaction takes
    // longer than the operation's total: EHLO's reply is complete at 0.7 s, MAIL's would be
    // at 2.1 s
    steps.extend(drip("250 mx"));
    steps.push(Step::expect("MAIL FROM:"));
    steps.extend(drip("250 sender ok"));
    steps.push(Step::expect("RCPT TO:"));
    steps.extend(drip("250 ok"));
    steps.push(Step::expect("DATA"));
    steps.extend(drip("354 go"));
    let server = ScriptedServer::tcp(steps);
    let mut s = session(SessionKind::Smtp);
    s.set_timeout(Some(Duration::from_secs(2)));
    s.set_operation_timeout(Some(Duration::from_millis(1500)));
    s.connect(&server.addr(), 0).unwrap();
    let (r, elapsed) = timed(|| send(&mut s));
    let e = r.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(e.message().starts_with("timed out after 1500 ms waiting for the reply from "), "{e}");
    // cut in the middle of MAIL's reply, with the bytes that had come
    assert!(e.message().ends_with(" during MAIL (the operation timeout)"), "{e}");
    let received: u64 = e.message().split(" (").nth(1).and_then(|r| r.split(' ').next()?.parse().ok()).unwrap();
    assert!((5..15).contains(&received), "{e}");
    assert!(elapsed >= Duration::from_millis(1450) && elapsed < Duration::from_millis(2000), "{elapsed:?}");
    assert!(!s.is_connected());
    drop(server.finish());
}

#[test]
fn the_operation_timeout_runs_from_the_start_of_each_call() {
    let server = ScriptedServer::tcp(vec![
        Step::reply("220 mx ESMTP"),
        Step::expect("NOOP"),
        Step::sleep_ms(300),
        Step::reply("250 ok"),
        Step::expect("NOOP"),
        Step::sleep_ms(300),
        Step::reply("250 ok"),
        Step::expect("QUIT"),
        Step::reply("221 bye"),
    ]);
    let mut s = session(SessionKind::Smtp);
    s.set_operation_timeout(Some(Duration::from_millis(500)));
    assert_eq!(s.operation_timeout(), Some(Duration::from_millis(500)));
    s.connect(&server.addr(), 0).unwrap();
    // two calls of 300 ms each: 600 ms in all, but each within its own 500 ms
    s.noop().unwrap();
    s.noop().unwrap();
    s.quit().unwrap();
    server.finish().assert_ok();
}

#[test]
fn an_operation_timeout_bounds_connecting_too() {
    let (_listener, addr, _queued) = wedged_tcp_listener();
    let mut s = session(SessionKind::Smtp);
    s.set_operation_timeout(Some(SHORT));
    let (r, elapsed) = timed(|| s.connect("127.0.0.1", addr.port()));
    let e = r.unwrap_err();
    assert_short_timeout(&e, elapsed, "connect", "operation");
}
