//! Hostile servers: one or more tests per adversarial case of `docs/hostile-servers.md` that no
//! other test file already covers completely. Every test plays the server (the scripted
//! server, a TLS-capable scripted server built here, or a raw socket where resets are needed)
//! and asserts the error kind, the session's state afterwards and the exact bytes the client
//! wrote, with nothing after the point of failure.
//!
//! Tests named `caseNN_…` belong to case NN of the table. Tests marked `#[ignore]` assert the
//! secure behaviour where the library currently differs; the reason names the difference.

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use openssl::ssl::{
    NameType, SslAcceptor, SslAcceptorBuilder, SslConnector, SslMethod, SslOptions, SslVerifyMode, SslVersion,
};

use smtpclient::auth::{AuthStep, OAuthMechanism};
use smtpclient::session::{CredentialPolicy, SessionKind};
use smtpclient::tls::TlsPolicy;
use smtpclient::{ErrorKind, Session};
use support::certs::{leaf, new_ca, Ca, Identity};
use support::{contains, ehlo_reply, greet_and_ehlo, lines, stream, ScriptResult, ScriptedServer, Step, TempDir};

// =============================================================================================
// Common helpers
// =============================================================================================

const HELLO: &str = "client.example.test";
const EHLO: &str = "EHLO client.example.test\r\n";
const MSG: &[u8] = b"Subject: t\r\n\r\nhi\r\n";
const FROM: &str = "a@example.test";
const TO: &str = "b@example.test";
const USER: &str = "alice";
const PASS: &str = "alice-pass";

fn session() -> Session {
    let mut s = support::new_session(SessionKind::Smtp);
    s.set_local_hostname(Some(HELLO)).unwrap();
    s.set_timeout(Some(Duration::from_secs(3)));
    s
}

fn lmtp_session() -> Session {
    let mut s = support::new_session(SessionKind::Lmtp);
    s.set_local_hostname(Some(HELLO)).unwrap();
    s.set_timeout(Some(Duration::from_secs(3)));
    s
}

/// Play `steps`, give `f` a session connected to it, drop the session (closing the
/// connection) and return `f`'s result and what the server saw.
fn scripted<T>(steps: Vec<Step>, f: impl FnOnce(&mut Session) -> T) -> (T, ScriptResult) {
    scripted_with(steps, session(), f)
}

fn scripted_with<T>(steps: Vec<Step>, mut s: Session, f: impl FnOnce(&mut Session) -> T) -> (T, ScriptResult) {
    let server = ScriptedServer::tcp(steps);
    s.connect(&server.addr(), 0).expect("connect to the scripted server");
    let out = f(&mut s);
    drop(s);
    (out, server.finish())
}

/// Like [`scripted`], but `f` connects itself (for greeting failures).
fn scripted_unconnected<T>(
    steps: Vec<Step>,
    mut s: Session,
    f: impl FnOnce(&mut Session, &str) -> T,
) -> (T, ScriptResult) {
    let server = ScriptedServer::tcp(steps);
    let out = f(&mut s, &server.addr());
    drop(s);
    (out, server.finish())
}

fn with(mut steps: Vec<Step>, more: impl IntoIterator<Item = Step>) -> Vec<Step> {
    steps.extend(more);
    steps
}

/// The server's side of one lock-step transaction that succeeds.
fn lockstep_ok() -> Vec<Step> {
    vec![
        Step::expect("MAIL FROM:"),
        Step::reply("250 2.1.0 ok"),
        Step::expect("RCPT TO:"),
        Step::reply("250 2.1.5 ok"),
        Step::expect("DATA"),
        Step::reply("354 go ahead"),
        Step::ExpectData,
        Step::reply("250 2.0.0 queued"),
    ]
}

fn b64(data: &[u8]) -> String {
    B64.encode(data)
}

fn plain_blob(user: &str, pass: &str) -> String {
    b64(format!("\0{user}\0{pass}").as_bytes())
}

fn txt(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Asserts the bytes have no bare CR, bare LF or NUL.
#[track_caller]
fn assert_clean_lines(wire: &[u8]) {
    for (i, &b) in wire.iter().enumerate() {
        match b {
            b'\r' => assert_eq!(wire.get(i + 1), Some(&b'\n'), "bare CR at {i}: {:?}", txt(wire)),
            b'\n' => assert!(i > 0 && wire[i - 1] == b'\r', "bare LF at {i}: {:?}", txt(wire)),
            0 => panic!("NUL at {i}: {:?}", txt(wire)),
            _ => {}
        }
    }
}

/// A raw loopback server for one connection, for what the scripted server cannot do (resets,
/// non-SMTP peers). The handler gets the stream and a record of every byte the client sent.
struct RawServer {
    addr: String,
    listener: TcpListener,
    handle: thread::JoinHandle<Vec<u8>>,
}

impl RawServer {
    fn start(handler: impl FnOnce(TcpStream, &mut Vec<u8>) + Send + 'static) -> RawServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let l = listener.try_clone().unwrap();
        let handle = thread::spawn(move || {
            let (tcp, _) = l.accept().unwrap();
            tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut wire = Vec::new();
            handler(tcp, &mut wire);
            wire
        });
        RawServer { addr, listener, handle }
    }

    /// What the client sent, once the handler is done; and whether the client tried a second
    /// connection (it never may: nothing is retried behind the caller's back).
    fn finish(self) -> (Vec<u8>, bool) {
        let wire = self.handle.join().unwrap();
        thread::sleep(Duration::from_millis(150));
        self.listener.set_nonblocking(true).unwrap();
        let again = self.listener.accept().is_ok();
        (wire, again)
    }
}

/// One line from a raw stream, byte by byte (so nothing after it is consumed), recorded.
fn raw_line(tcp: &mut TcpStream, wire: &mut Vec<u8>) -> Option<Vec<u8>> {
    let mut line = Vec::new();
    let mut b = [0u8; 1];
    loop {
        match tcp.read(&mut b) {
            Ok(1) => {
                wire.push(b[0]);
                line.push(b[0]);
                if b[0] == b'\n' {
                    return Some(line);
                }
            }
            _ => return if line.is_empty() { None } else { Some(line) },
        }
    }
}

/// Everything until EOF, error or timeout, recorded.
fn raw_drain(tcp: &mut impl Read, wire: &mut Vec<u8>) {
    let mut buf = [0u8; 16 * 1024];
    while let Ok(n) = tcp.read(&mut buf) {
        if n == 0 {
            break;
        }
        wire.extend_from_slice(&buf[..n]);
    }
}

/// Close with a TCP reset instead of a FIN.
fn reset(tcp: TcpStream) {
    socket2::SockRef::from(&tcp).set_linger(Some(Duration::ZERO)).unwrap();
    drop(tcp);
}

// =============================================================================================
// TLS helpers: certificates and a scripted server that speaks STARTTLS or implicit TLS
// =============================================================================================

/// The trusted test CA (written to a file the client is pointed at) and a valid leaf for
/// localhost, 127.0.0.1 and ::1.
struct Pki {
    ca: Ca,
    ca_file: PathBuf,
    good: Identity,
    _dir: TempDir,
}

fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        let dir = TempDir::new("smtpclient-hostile-pki");
        let ca = new_ca("hostile test CA");
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, ca.cert.to_pem().unwrap()).unwrap();
        let good = leaf("localhost", &["DNS:localhost", "IP:127.0.0.1", "IP:::1"], Some(&ca), -1, 30);
        Pki { ca, ca_file, good, _dir: dir }
    })
}

fn trusting(kind: SessionKind) -> Session {
    let mut s = if kind == SessionKind::Lmtp { lmtp_session() } else { session() };
    if kind == SessionKind::Smtps {
        s = support::new_session(SessionKind::Smtps);
        s.set_local_hostname(Some(HELLO)).unwrap();
        s.set_timeout(Some(Duration::from_secs(3)));
    }
    s.tls_config_mut().ca_file = Some(pki().ca_file.clone());
    s
}

fn acceptor(id: &Identity, tweak: impl FnOnce(&mut SslAcceptorBuilder)) -> SslAcceptor {
    let mut acc = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server()).unwrap();
    acc.set_certificate(&id.0).unwrap();
    acc.set_private_key(&id.1).unwrap();
    tweak(&mut acc);
    acc.build()
}

/// One step of the TLS part of a [`TlsServer`] script.
enum T {
    /// Write these bytes (`lines()` applied: LF becomes CRLF, a final CRLF added).
    Send(String),
    /// Read a line; a mismatch unless it starts with this (ASCII case-insensitive).
    Expect(String),
    /// Read DATA content up to and including CRLF.CRLF.
    Data,
}

fn t_send(text: &str) -> T {
    T::Send(text.to_owned())
}

fn t_expect(prefix: &str) -> T {
    T::Expect(prefix.to_owned())
}

enum Mode {
    /// Greet with this line, answer EHLO with these extensions, expect STARTTLS, say 220, then
    /// the handshake.
    Starttls { greeting: String, ehlo: Vec<u8> },
    /// Handshake first, then greet with this line.
    Implicit { greeting: String },
}

/// What a [`TlsServer`] saw.
#[derive(Debug, Default)]
struct TlsRun {
    /// Plain-text bytes before the handshake (EHLO, STARTTLS).
    plain: Vec<u8>,
    /// Plain-text bytes that arrived after STARTTLS and before our 220 (must be none).
    behind_starttls: Vec<u8>,
    /// The server side of the handshake.
    handshake: Option<Result<(), String>>,
    /// The SNI name the client sent.
    sni: Option<String>,
    /// Every application byte received over TLS.
    tls: Vec<u8>,
    data: Vec<Vec<u8>>,
    mismatches: Vec<String>,
}

impl TlsRun {
    #[track_caller]
    fn assert_ok(&self) {
        assert!(
            self.mismatches.is_empty(),
            "{:?}\nplain: {:?}\ntls: {:?}",
            self.mismatches,
            txt(&self.plain),
            txt(&self.tls)
        );
    }
}

struct TlsServer {
    port: u16,
    handle: thread::JoinHandle<TlsRun>,
}

impl TlsServer {
    fn start(mode: Mode, acc: SslAcceptor, post: Vec<T>) -> TlsServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let handle = thread::spawn(move || {
            let mut run = TlsRun::default();
            let (mut tcp, _) = listener.accept().unwrap();
            tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let greeting = match mode {
                Mode::Starttls { greeting, ehlo } => {
                    tcp.write_all(&lines(&greeting)).unwrap();
                    let mut plain = Vec::new();
                    if raw_line(&mut tcp, &mut plain).is_none() {
                        run.mismatches.push("no EHLO".into());
                    }
                    tcp.write_all(&ehlo).unwrap();
                    let line = raw_line(&mut tcp, &mut plain).unwrap_or_default();
                    run.plain = plain;
                    if !line.eq_ignore_ascii_case(b"STARTTLS\r\n") {
                        run.mismatches.push(format!("expected STARTTLS, got {:?}", txt(&line)));
                        let mut rest = Vec::new();
                        raw_drain(&mut tcp, &mut rest);
                        run.plain.extend(rest);
                        return run;
                    }
                    // anything queued behind STARTTLS shows up within this pause
                    thread::sleep(Duration::from_millis(60));
                    tcp.set_nonblocking(true).unwrap();
                    let mut buf = [0u8; 4096];
                    while let Ok(n) = tcp.read(&mut buf) {
                        if n == 0 {
                            break;
                        }
                        run.behind_starttls.extend_from_slice(&buf[..n]);
                    }
                    tcp.set_nonblocking(false).unwrap();
                    tcp.write_all(b"220 2.0.0 Ready to start TLS\r\n").unwrap();
                    None
                }
                Mode::Implicit { greeting } => Some(greeting),
            };
            let mut tls = match acc.accept(tcp) {
                Ok(t) => t,
                Err(e) => {
                    run.handshake = Some(Err(e.to_string()));
                    return run;
                }
            };
            run.handshake = Some(Ok(()));
            run.sni = tls.ssl().servername(NameType::HOST_NAME).map(str::to_owned);
            if let Some(g) = greeting {
                let _ = tls.write_all(&lines(&g));
            }
            let mut buf: Vec<u8> = Vec::new();
            let fill = |tls: &mut openssl::ssl::SslStream<TcpStream>, buf: &mut Vec<u8>, run: &mut TlsRun| -> bool {
                let mut tmp = [0u8; 16 * 1024];
                match tls.read(&mut tmp) {
                    Ok(n) if n > 0 => {
                        buf.extend_from_slice(&tmp[..n]);
                        run.tls.extend_from_slice(&tmp[..n]);
                        true
                    }
                    _ => false,
                }
            };
            for (i, step) in post.into_iter().enumerate() {
                match step {
                    T::Send(text) => {
                        if tls.write_all(&lines(&text)).is_err() {
                            run.mismatches.push(format!("step {i}: write failed"));
                            break;
                        }
                    }
                    T::Expect(prefix) => loop {
                        if let Some(p) = buf.iter().position(|&b| b == b'\n') {
                            let line: Vec<u8> = buf.drain(..=p).collect();
                            if line.len() < prefix.len()
                                || !line[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
                            {
                                run.mismatches.push(format!("step {i}: expected {prefix:?}, got {:?}", txt(&line)));
                            }
                            break;
                        }
                        if !fill(&mut tls, &mut buf, &mut run) {
                            run.mismatches.push(format!("step {i}: no line for {prefix:?}"));
                            break;
                        }
                    },
                    T::Data => loop {
                        if let Some(p) = buf.windows(5).position(|w| w == b"\r\n.\r\n") {
                            run.data.push(buf.drain(..p + 5).collect());
                            break;
                        }
                        if !fill(&mut tls, &mut buf, &mut run) {
                            run.mismatches.push(format!("step {i}: no end of data"));
                            break;
                        }
                    },
                }
            }
            // whatever else the client sends, until it closes
            let mut rest = Vec::new();
            raw_drain(&mut tls, &mut rest);
            run.tls.extend(rest);
            run
        });
        TlsServer { port, handle }
    }

    fn starttls(ext: &[&str], id: &Identity, post: Vec<T>) -> TlsServer {
        let mut all = vec!["STARTTLS"];
        all.extend_from_slice(ext);
        let mode = Mode::Starttls { greeting: "220 mx.tls.test ESMTP".into(), ehlo: ehlo_reply("mx.tls.test", &all) };
        TlsServer::start(mode, acceptor(id, |_| {}), post)
    }

    fn finish(self) -> TlsRun {
        self.handle.join().expect("TLS server thread")
    }
}

// =============================================================================================
// A. STARTTLS transition
// =============================================================================================

/// Case 1 (b, c, and a through the policy path): bytes that arrive together with the 220 to
/// STARTTLS, whether whole lines, a fragment without CRLF, or lines after a multi-line 220,
/// fail the session before the handshake; nothing follows STARTTLS on the wire.
#[test]
fn case01_anything_buffered_behind_the_220_to_starttls_is_refused() {
    for (what, payload) in [
        ("complete lines", &b"220 Go ahead\r\n250-evil\r\n250 AUTH PLAIN\r\n"[..]),
        ("fragment without CRLF", b"220 Go\r\n250-AUTH PL"),
        ("after a multi-line 220", b"220-a\r\n220 b\r\n250 AUTH PLAIN\r\n"),
    ] {
        let steps = with(
            greet_and_ehlo(&["STARTTLS", "PIPELINING", "AUTH PLAIN LOGIN"]),
            [Step::expect("STARTTLS"), Step::send(payload), Step::ReadUntilClose],
        );
        let mut s = session();
        s.set_tls_policy(TlsPolicy::Required);
        let (res, r) = scripted_with(steps, s, |s| {
            let e = s.sendmail(FROM, &[TO], MSG, &[], &[]).unwrap_err();
            (e, s.is_connected())
        });
        assert_eq!(res.0.kind(), ErrorKind::Protocol, "{what}: {}", res.0);
        assert!(!res.1, "{what}: closed");
        r.assert_ok();
        assert_eq!(r.wire_str(), format!("{EHLO}STARTTLS\r\n"), "{what}: no handshake, nothing after STARTTLS");
    }
}

/// Case 2: bytes that arrive in a later segment, once the client is in its handshake, go to
/// TLS, which fails; they are never read as SMTP.
#[test]
fn case02_plain_text_in_a_later_segment_fails_the_handshake() {
    let steps = with(
        greet_and_ehlo(&["STARTTLS"]),
        [
            Step::expect("STARTTLS"),
            Step::reply("220 2.0.0 go ahead"),
            // the ClientHello's record header: the client is in its handshake now
            Step::ReadBytes(5),
            Step::reply("250-evil\n250 AUTH PLAIN"),
            Step::ReadUntilClose,
        ],
    );
    let (res, r) = scripted(steps, |s| (s.starttls().unwrap_err(), s.is_connected()));
    assert_eq!(res.0.kind(), ErrorKind::Tls, "{}", res.0);
    assert!(!res.1);
    // (the server may see a reset: the client closes with the plain text unread)
    let prefix = format!("{EHLO}STARTTLS\r\n");
    assert!(r.wire.starts_with(prefix.as_bytes()), "{}", r.wire_str());
    let rest = &r.wire[prefix.len()..];
    assert_eq!(&rest[..2], &[0x16, 0x03], "a TLS handshake record follows STARTTLS");
    for word in [&b"EHLO"[..], b"AUTH", b"MAIL", b"QUIT"] {
        assert!(!contains(rest, word), "no SMTP after STARTTLS: {:?}", txt(rest));
    }
}

/// Case 3: with PIPELINING offered, STARTTLS still goes alone; the first command over TLS is
/// EHLO, and the transaction follows it.
#[test]
fn case03_nothing_is_pipelined_behind_starttls() {
    let server = TlsServer::starttls(
        &["PIPELINING", "AUTH PLAIN", "SIZE 1000"],
        &pki().good,
        vec![
            t_expect("EHLO "),
            T::Send(txt(&ehlo_reply("mx.tls.test", &["PIPELINING"]))),
            t_expect("MAIL FROM:<a@example.test>"),
            t_expect("RCPT TO:<b@example.test>"),
            t_expect("DATA"),
            t_send("250 ok\n250 ok\n354 go"),
            T::Data,
            t_send("250 queued"),
        ],
    );
    let mut s = trusting(SessionKind::Smtp);
    s.set_tls_policy(TlsPolicy::Required);
    s.connect(&format!("localhost:{}", server.port), 0).unwrap();
    s.sendmail(FROM, &[TO], MSG, &[], &[]).unwrap();
    assert!(s.tls_info().unwrap().verified);
    drop(s);
    let run = server.finish();
    run.assert_ok();
    assert_eq!(txt(&run.plain), format!("{EHLO}STARTTLS\r\n"));
    assert_eq!(run.behind_starttls, b"", "nothing queued behind STARTTLS");
    assert_eq!(
        txt(&run.tls),
        format!(
            "{EHLO}MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\nSubject: t\r\n\r\nhi\r\n.\r\n"
        )
    );
}

/// Case 4 (login path; the sendmail path is tls::stripped_starttls_with_required_policy_sends_only_quit).
#[test]
fn case04_login_with_stripped_starttls_and_required_tls_sends_no_auth() {
    let steps = with(greet_and_ehlo(&["AUTH PLAIN LOGIN"]), [Step::expect("QUIT"), Step::reply("221 bye")]);
    let mut s = session();
    s.set_tls_policy(TlsPolicy::Required);
    let (res, r) = scripted_with(steps, s, |s| (s.login(USER, PASS, true).unwrap_err(), s.is_connected()));
    assert_eq!(res.0.kind(), ErrorKind::TlsRequired, "{}", res.0);
    assert!(!res.1);
    r.assert_ok();
    assert_eq!(r.wire_str(), format!("{EHLO}QUIT\r\n"));
}

/// Case 5: every refusal or odd answer to STARTTLS, with TLS required, ends in TlsRequired
/// after QUIT; nothing of the transaction is sent in plain text.
#[test]
fn case05_starttls_refused_or_answered_oddly_never_continues_in_plain_text() {
    for reply in
        ["501 5.5.4 Syntax error", "502 5.5.1 Not implemented", "554 5.7.0 No", "200 no TLS today", "354 go on"]
    {
        let steps = with(
            greet_and_ehlo(&["STARTTLS", "AUTH PLAIN"]),
            [Step::expect("STARTTLS"), Step::reply(reply), Step::expect("QUIT"), Step::reply("221 bye")],
        );
        let mut s = session();
        s.set_tls_policy(TlsPolicy::Required);
        let (res, r) = scripted_with(steps, s, |s| {
            let send = s.sendmail(FROM, &[TO], MSG, &[], &[]).unwrap_err();
            (send, s.is_connected())
        });
        assert_eq!(res.0.kind(), ErrorKind::TlsRequired, "{reply}: {}", res.0);
        assert!(!res.1, "{reply}");
        r.assert_ok();
        assert_eq!(r.wire_str(), format!("{EHLO}STARTTLS\r\nQUIT\r\n"), "{reply}");
    }
}

/// Case 5, 421: the session closes at once (no QUIT) and nothing more is sent.
#[test]
fn case05_starttls_answered_421_closes_without_anything_more() {
    let steps = with(
        greet_and_ehlo(&["STARTTLS"]),
        [Step::expect("STARTTLS"), Step::reply("421 4.3.2 closing"), Step::ReadUntilClose],
    );
    let mut s = session();
    s.set_tls_policy(TlsPolicy::Required);
    let (res, r) = scripted_with(steps, s, |s| (s.sendmail(FROM, &[TO], MSG, &[], &[]).unwrap_err(), s.is_connected()));
    assert_eq!(res.0.kind(), ErrorKind::TlsRequired, "{}", res.0);
    assert!(!res.1);
    r.assert_ok();
    assert_eq!(r.wire_str(), format!("{EHLO}STARTTLS\r\n"));
}

/// Case 5, 421: the error says the service is closing (it carries the 421 reply).
#[test]
fn case05_starttls_answered_421_reports_the_421() {
    let steps = with(
        greet_and_ehlo(&["STARTTLS"]),
        [Step::expect("STARTTLS"), Step::reply("421 4.3.2 closing"), Step::ReadUntilClose],
    );
    let mut s = session();
    s.set_tls_policy(TlsPolicy::Required);
    let (e, _) = scripted_with(steps, s, |s| s.sendmail(FROM, &[TO], MSG, &[], &[]).unwrap_err());
    assert_eq!(e.reply().map(|r| r.code()), Some(421), "{e}");
}

/// Case 7: a greeting that is not a usable 220, with TLS required: the error fits the class,
/// the session is closed, and nothing at all is sent (later calls included).
#[test]
fn case07_bad_greetings_with_tls_required_send_nothing() {
    let cases: Vec<(&str, Vec<Step>, ErrorKind, Option<u16>)> = vec![
        ("554", vec![Step::reply("554 5.7.1 go away"), Step::ReadUntilClose], ErrorKind::Connect, Some(554)),
        ("421", vec![Step::reply("421 4.3.2 busy"), Step::ReadUntilClose], ErrorKind::Connect, Some(421)),
        ("199", vec![Step::reply("199 x"), Step::ReadUntilClose], ErrorKind::Protocol, None),
        ("garbage", vec![Step::reply("hello, I am a mail server"), Step::ReadUntilClose], ErrorKind::Protocol, None),
        ("empty line", vec![Step::send("\r\n"), Step::ReadUntilClose], ErrorKind::Protocol, None),
        ("immediate EOF", vec![Step::Close], ErrorKind::ServerDisconnected, None),
    ];
    for (what, steps, kind, code) in cases {
        let mut s = session();
        s.set_tls_policy(TlsPolicy::Required);
        let ((e, later), r) = scripted_unconnected(steps, s, |s, addr| {
            let e = s.connect(addr, 0).unwrap_err();
            assert!(!s.is_connected(), "{what}");
            let later = [
                s.sendmail(FROM, &[TO], MSG, &[], &[]).unwrap_err().kind(),
                s.login(USER, PASS, true).unwrap_err().kind(),
            ];
            (e, later)
        });
        assert_eq!(e.kind(), kind, "{what}: {e}");
        assert_eq!(e.reply().map(|r| r.code()), code, "{what}");
        assert_eq!(later, [ErrorKind::ServerDisconnected; 2], "{what}");
        assert_eq!(r.wire_str(), "", "{what}: nothing sent");
    }
}

/// Case 8: after STARTTLS the client asks again and uses only what the server says over TLS:
/// no PLAIN/LOGIN from before, no SIZE limit from before, no 8BITMIME.
#[test]
fn case08_capabilities_from_before_tls_are_forgotten() {
    let server = TlsServer::starttls(
        &["AUTH PLAIN LOGIN", "SIZE 10", "8BITMIME"],
        &pki().good,
        vec![
            t_expect("EHLO "),
            // a mechanism the library does not implement: only what was said before TLS would match
            T::Send(txt(&ehlo_reply("mx.tls.test", &["AUTH GSSAPI"]))),
            t_expect("MAIL FROM:"),
            t_send("250 ok"),
            t_expect("RCPT TO:"),
            t_send("250 ok"),
            t_expect("DATA"),
            t_send("354 go"),
            T::Data,
            t_send("250 queued"),
        ],
    );
    let mut s = trusting(SessionKind::Smtp);
    s.connect("localhost", server.port).unwrap();
    s.ehlo(None).unwrap();
    assert_eq!(s.features().size_limit(), Some(10));
    s.starttls().unwrap();
    assert!(!s.has_extn("size") && !s.has_extn("8bitmime") && !s.has_extn("starttls"), "{:?}", s.features());
    assert_eq!(s.features().get("auth"), Some("GSSAPI"));
    let e = s.login(USER, PASS, true).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Smtp, "no mechanism in common over TLS: {e}");
    // 18 bytes: over the SIZE 10 heard before TLS, which no longer counts
    s.sendmail(FROM, &[TO], MSG, &[], &[]).unwrap();
    drop(s);
    let run = server.finish();
    run.assert_ok();
    assert_eq!(txt(&run.plain), format!("{EHLO}STARTTLS\r\n"));
    assert_eq!(
        txt(&run.tls),
        format!(
            "{EHLO}MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\nSubject: t\r\n\r\nhi\r\n.\r\n"
        ),
        "EHLO first, no AUTH, no SIZE= or BODY= parameter"
    );
}

/// Case 9: opportunistic TLS is never the default; when STARTTLS is stripped the mail may go
/// in plain text, credentials do not, and the session says it has no TLS.
#[test]
fn case09_opportunistic_tls_is_explicit_and_keeps_credentials_back() {
    assert_eq!(TlsPolicy::default(), TlsPolicy::None);
    assert_eq!(support::new_session(SessionKind::Smtp).tls_policy(), TlsPolicy::None);
    let steps = with(
        greet_and_ehlo(&["AUTH PLAIN LOGIN", "PIPELINING"]),
        [
            Step::expect("MAIL FROM:<a@example.test>"),
            Step::expect("RCPT TO:<b@example.test>"),
            Step::expect("DATA"),
            Step::reply("250 ok\n250 ok\n354 go"),
            Step::ExpectData,
            Step::reply("250 queued"),
        ],
    );
    let mut s = session();
    s.set_tls_policy(TlsPolicy::Opportunistic);
    // a peer that is not on this machine, as far as the policy is concerned
    s.set_credential_policy(CredentialPolicy { allow_cleartext: false, local_peer_is_safe: false });
    let (res, r) = scripted_with(steps, s, |s| {
        let login = s.login(USER, PASS, true).unwrap_err();
        let sent = s.sendmail(FROM, &[TO], MSG, &[], &[]);
        (login, sent, s.tls_info().is_none())
    });
    assert_eq!(res.0.kind(), ErrorKind::CredentialsPolicy, "{}", res.0);
    res.1.unwrap();
    assert!(res.2, "the session reports no TLS");
    r.assert_ok();
    assert_eq!(
        r.wire_str(),
        format!(
            "{EHLO}MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\nSubject: t\r\n\r\nhi\r\n.\r\n"
        )
    );
}

// =============================================================================================
// B. Certificates and TLS parameters
// =============================================================================================

/// Case 10 on the STARTTLS path (tls::certificate_matrix covers implicit TLS): every bad
/// certificate fails the handshake with TlsCertificate, nothing is sent over TLS; the
/// explicit insecure switch lets it through and says the peer is not verified.
#[test]
fn case10_certificate_failures_on_starttls_send_nothing_over_tls() {
    let p = pki();
    let other = new_ca("some other CA");
    let cases: Vec<(&str, Identity)> = vec![
        ("self-signed", leaf("localhost", &["DNS:localhost"], None, -1, 30)),
        ("unknown root", leaf("localhost", &["DNS:localhost"], Some(&other), -1, 30)),
        ("chain for another name", leaf("other.example.org", &["DNS:other.example.org"], Some(&p.ca), -1, 30)),
        ("expired", leaf("localhost", &["DNS:localhost"], Some(&p.ca), -30, -1)),
    ];
    for (what, id) in &cases {
        let server = TlsServer::starttls(&[], id, vec![]);
        let mut s = trusting(SessionKind::Smtp);
        s.connect("localhost", server.port).unwrap();
        let e = s.starttls().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TlsCertificate, "{what}: {e}");
        assert!(!s.is_connected(), "{what}");
        drop(s);
        let run = server.finish();
        assert!(matches!(run.handshake, Some(Err(_))), "{what}: {:?}", run.handshake);
        assert_eq!(txt(&run.plain), format!("{EHLO}STARTTLS\r\n"), "{what}");
        assert_eq!(run.tls, b"", "{what}");
    }
    for (what, id) in &cases {
        let server = TlsServer::starttls(
            &[],
            id,
            vec![t_expect("EHLO "), T::Send(txt(&ehlo_reply("mx.tls.test", &["PIPELINING"])))],
        );
        let mut s = trusting(SessionKind::Smtp);
        s.tls_config_mut().insecure_skip_verify = true;
        s.connect("localhost", server.port).unwrap();
        s.starttls().unwrap_or_else(|e| panic!("{what}, insecure: {e}"));
        assert!(!s.tls_info().unwrap().verified, "{what}: never silently");
        drop(s);
        let run = server.finish();
        run.assert_ok();
        assert_eq!(txt(&run.tls), EHLO, "{what}");
    }
}

/// Case 11: the name verified is the one the caller connected to, never the one in the
/// greeting or the EHLO reply.
#[test]
fn case11_names_the_server_announces_are_not_trusted() {
    let id = leaf("mail.example.org", &["DNS:mail.example.org"], Some(&pki().ca), -1, 30);
    let mode = Mode::Starttls {
        greeting: "220 mail.example.org ESMTP".into(),
        ehlo: ehlo_reply("mail.example.org", &["STARTTLS"]),
    };
    let server = TlsServer::start(mode, acceptor(&id, |_| {}), vec![]);
    let mut s = trusting(SessionKind::Smtp);
    s.connect("127.0.0.1", server.port).unwrap();
    let e = s.starttls().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TlsCertificate, "{e}");
    drop(s);
    assert_eq!(server.finish().tls, b"");
}

/// Case 11: an empty name to verify is a caller error, before anything goes over TLS.
#[test]
fn case11_empty_server_name_is_invalid_argument() {
    let mut s = session();
    assert_eq!(s.connect("", 25).unwrap_err().kind(), ErrorKind::InvalidArgument);
    // an explicit empty name over STARTTLS
    let server = TlsServer::starttls(&[], &pki().good, vec![]);
    let mut s = trusting(SessionKind::Smtp);
    s.tls_config_mut().server_name = Some(String::new());
    s.connect("localhost", server.port).unwrap();
    let e = s.starttls().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    assert!(!s.is_connected());
    drop(s);
    let run = server.finish();
    assert_eq!(txt(&run.plain), format!("{EHLO}STARTTLS\r\n"));
    assert!(matches!(run.handshake, Some(Err(_))), "no ClientHello was sent");
    // implicit TLS on a Unix socket has no name at all
    let server = ScriptedServer::unix(vec![Step::ReadUntilClose]);
    let mut s = trusting(SessionKind::Smtps);
    let e = s.connect(server.path().to_str().unwrap(), 0).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    assert!(!s.is_connected());
    drop(s);
    assert_eq!(server.finish().wire, b"", "no byte, not even a ClientHello");
}

fn smtps_once(id: &Identity, host: &str, server_name: Option<&str>) -> (Result<bool, ErrorKind>, TlsRun) {
    let server =
        TlsServer::start(Mode::Implicit { greeting: "220 tls.test ESMTP".into() }, acceptor(id, |_| {}), vec![]);
    let mut s = trusting(SessionKind::Smtps);
    s.tls_config_mut().server_name = server_name.map(str::to_owned);
    let res = s.connect(host, server.port).map(|_| s.tls_info().unwrap().verified).map_err(|e| e.kind());
    drop(s);
    (res, server.finish())
}

/// Case 11: an IP literal is checked against the IP SANs and sends no SNI; a name sends SNI.
#[test]
fn case11_ip_literals_use_ip_sans_and_send_no_sni() {
    let p = pki();
    let (res, run) = smtps_once(&p.good, "127.0.0.1", None);
    assert_eq!(res, Ok(true));
    assert_eq!(run.sni, None, "no SNI for an IP address");
    let (res, run) = smtps_once(&p.good, "localhost", None);
    assert_eq!(res, Ok(true));
    assert_eq!(run.sni.as_deref(), Some("localhost"));
    let other_ip = leaf("x", &["IP:127.0.0.2", "DNS:localhost"], Some(&p.ca), -1, 30);
    let (res, run) = smtps_once(&other_ip, "127.0.0.1", None);
    assert_eq!(res, Err(ErrorKind::TlsCertificate));
    assert_eq!(run.tls, b"");
}

/// Case 11: wildcards match exactly one whole left-most label.
#[test]
fn case11_wildcards_follow_the_rules() {
    let p = pki();
    let id = leaf("x", &["DNS:*.example.test", "DNS:m*.partial.test", "DNS:*.test"], Some(&p.ca), -1, 30);
    for (name, ok) in [
        ("mx.example.test", true),
        ("a.b.example.test", false),
        ("example.test", false),
        ("mx.partial.test", false),
        ("other.test", false),
    ] {
        let (res, run) = smtps_once(&id, "127.0.0.1", Some(name));
        if ok {
            assert_eq!(res, Ok(true), "{name}");
            assert_eq!(run.sni.as_deref(), Some(name));
        } else {
            assert_eq!(res, Err(ErrorKind::TlsCertificate), "{name}");
            assert_eq!(run.tls, b"", "{name}");
        }
    }
}

/// A raw client with a permissive configuration, to show a server really speaks what it is
/// meant to (so the library's refusal is its own).
fn permissive_client_connects(port: u16, tweak: impl FnOnce(&mut openssl::ssl::SslConnectorBuilder)) -> bool {
    let mut b = SslConnector::builder(SslMethod::tls_client()).unwrap();
    b.set_verify(SslVerifyMode::NONE);
    tweak(&mut b);
    let c = b.build();
    let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    match c.configure().unwrap().verify_hostname(false).connect("localhost", tcp) {
        Ok(mut t) => {
            let mut buf = [0u8; 64];
            let _ = t.read(&mut buf);
            let _ = t.write_all(b"QUIT\r\n");
            true
        }
        Err(_) => false,
    }
}

/// Case 12: by default the client refuses TLS 1.0/1.1 and NULL ciphers.
#[test]
fn case12_old_versions_and_null_ciphers_are_refused_by_default() {
    let id = &pki().good;
    let old = |acc: &mut SslAcceptorBuilder| {
        acc.set_cipher_list("DEFAULT:@SECLEVEL=0").unwrap();
        acc.clear_options(SslOptions::NO_TLSV1 | SslOptions::NO_TLSV1_1);
        acc.set_min_proto_version(Some(SslVersion::TLS1)).unwrap();
        acc.set_max_proto_version(Some(SslVersion::TLS1_1)).unwrap();
    };
    let null = |acc: &mut SslAcceptorBuilder| {
        acc.set_cipher_list("eNULL:@SECLEVEL=0").unwrap();
        acc.set_max_proto_version(Some(SslVersion::TLS1_2)).unwrap();
    };
    // the servers are what they claim to be
    let server = TlsServer::start(Mode::Implicit { greeting: "220 old".into() }, acceptor(id, old), vec![]);
    assert!(
        permissive_client_connects(server.port, |b| {
            b.set_cipher_list("DEFAULT:@SECLEVEL=0").unwrap();
            b.set_min_proto_version(Some(SslVersion::TLS1)).unwrap();
        }),
        "a TLS 1.0/1.1 client gets through"
    );
    server.finish();
    let server = TlsServer::start(Mode::Implicit { greeting: "220 null".into() }, acceptor(id, null), vec![]);
    assert!(
        permissive_client_connects(server.port, |b| b.set_cipher_list("eNULL:@SECLEVEL=0").unwrap()),
        "a NULL-cipher client gets through"
    );
    server.finish();
    // the library does not
    for (what, tweak) in [("TLS 1.0/1.1 only", &old as &dyn Fn(&mut SslAcceptorBuilder)), ("NULL ciphers only", &null)]
    {
        let server = TlsServer::start(Mode::Implicit { greeting: "220 x".into() }, acceptor(id, tweak), vec![]);
        let mut s = trusting(SessionKind::Smtps);
        let e = s.connect("localhost", server.port).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Tls, "{what}: {e}");
        assert!(!s.is_connected());
        drop(s);
        let run = server.finish();
        assert!(matches!(run.handshake, Some(Err(_))), "{what}");
        assert_eq!(run.tls, b"", "{what}");
    }
}

/// Case 13: implicit TLS to a peer that answers in plain text fails with Tls; the client
/// never falls back to plain text or STARTTLS, on this connection or another.
#[test]
fn case13_implicit_tls_failure_never_falls_back() {
    let server = RawServer::start(|mut tcp, wire| {
        tcp.write_all(b"220 plain.example ESMTP\r\n").unwrap();
        raw_drain(&mut tcp, wire);
    });
    let mut s = trusting(SessionKind::Smtps);
    let e = s.connect(&server.addr, 0).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Tls, "{e}");
    assert!(!s.is_connected());
    drop(s);
    let (wire, again) = server.finish();
    assert_eq!(&wire[..2], &[0x16, 0x03], "only a ClientHello: {:?}", txt(&wire));
    for word in [&b"EHLO"[..], b"HELO", b"STARTTLS", b"QUIT"] {
        assert!(!contains(&wire, word), "{:?}", txt(&wire));
    }
    assert!(!again, "no second connection");
}

/// Case 14: settings are per connection: a stricter TLS policy set after a plain-text
/// session is closed applies to the next connection.
#[test]
fn case14_reconnecting_applies_the_new_tls_policy() {
    let first = with(
        greet_and_ehlo(&["PIPELINING"]),
        [
            Step::expect("MAIL"),
            Step::expect("RCPT"),
            Step::expect("DATA"),
            Step::reply("250 ok\n250 ok\n354 go"),
            Step::ExpectData,
            Step::reply("250 queued"),
            Step::expect("QUIT"),
            Step::reply("221 bye"),
        ],
    );
    let second = with(greet_and_ehlo(&["PIPELINING"]), [Step::expect("QUIT"), Step::reply("221 bye")]);
    let server = ScriptedServer::tcp_sessions(vec![first, second]);
    let mut s = session();
    s.connect(&server.addr(), 0).unwrap();
    s.sendmail(FROM, &[TO], MSG, &[], &[]).unwrap();
    s.quit().unwrap();
    s.set_tls_policy(TlsPolicy::Required);
    s.connect(&server.addr(), 0).unwrap();
    assert_eq!(s.sendmail(FROM, &[TO], MSG, &[], &[]).unwrap_err().kind(), ErrorKind::TlsRequired);
    drop(s);
    let runs = server.finish_sessions();
    runs[0].assert_ok();
    runs[1].assert_ok();
    assert_eq!(runs[1].wire_str(), format!("{EHLO}QUIT\r\n"));
}

/// Case 14: a TLS policy raised while a plain-text connection is open is not satisfied by
/// that connection: the next transaction is not sent in plain text.
#[test]
fn case14_tls_policy_raised_on_an_open_connection_is_enforced() {
    let steps = with(
        with(greet_and_ehlo(&[]), lockstep_ok()),
        [Step::ReadTimeout(Duration::from_millis(1500)), Step::ReadUntilClose],
    );
    let (res, r) = scripted(steps, |s| {
        s.sendmail(FROM, &[TO], MSG, &[], &[]).unwrap();
        s.set_tls_policy(TlsPolicy::Required);
        s.set_timeout(Some(Duration::from_millis(500)));
        s.sendmail(FROM, &[TO], MSG, &[], &[])
    });
    let after_first = r.wire_str().split_once("\r\n.\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    assert!(!after_first.contains("MAIL FROM"), "second transaction went in plain text: {after_first:?}");
    assert_eq!(res.unwrap_err().kind(), ErrorKind::TlsRequired);
}

/// Case 14: verification turned on while an unverified TLS connection is open is not
/// satisfied by that connection.
#[test]
fn case14_verification_raised_on_an_open_connection_is_enforced() {
    let self_signed = leaf("localhost", &["DNS:localhost"], None, -1, 30);
    let server = TlsServer::starttls(
        &[],
        &self_signed,
        vec![
            t_expect("EHLO "),
            T::Send(txt(&ehlo_reply("mx.tls.test", &[]))),
            t_expect("MAIL"),
            t_send("250 ok"),
            t_expect("RCPT"),
            t_send("250 ok"),
            t_expect("DATA"),
            t_send("354 go"),
            T::Data,
            t_send("250 queued"),
        ],
    );
    let mut s = trusting(SessionKind::Smtp);
    s.tls_config_mut().insecure_skip_verify = true;
    s.connect("localhost", server.port).unwrap();
    s.starttls().unwrap();
    s.sendmail(FROM, &[TO], MSG, &[], &[]).unwrap();
    s.tls_config_mut().insecure_skip_verify = false;
    s.set_timeout(Some(Duration::from_millis(500)));
    let second = s.sendmail(FROM, &[TO], MSG, &[], &[]);
    drop(s);
    let run = server.finish();
    let after_first = txt(&run.tls).split_once("\r\n.\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    assert!(!after_first.contains("MAIL FROM"), "sent over the unverified connection: {after_first:?}");
    assert!(second.is_err());
}

/// Case 14: credentials for another user on a session already authenticated are not taken
/// as a successful login (the server's 503 means the session is still the first user's).
#[test]
fn case14_login_as_another_user_is_not_reported_as_success() {
    let steps = with(
        greet_and_ehlo(&["AUTH PLAIN"]),
        [
            Step::expect(&format!("AUTH PLAIN {}", plain_blob(USER, PASS))),
            Step::reply("235 2.7.0 Authentication successful"),
            Step::ReadLine,
            Step::reply("503 5.5.1 Error: already authenticated"),
        ],
    );
    let (res, r) = scripted(steps, |s| {
        s.login(USER, PASS, true).unwrap();
        s.login("bob", "bob-pass", true)
    });
    let auths = r.wire_str().matches("AUTH ").count();
    assert!(res.is_err(), "login as bob on alice's session reported success");
    assert_eq!(auths, 1, "bob's credentials were sent: {}", r.wire_str());
}

// =============================================================================================
// C. Credentials
// =============================================================================================

/// Case 15: CRAM-MD5 over plain text to a peer that is not local is refused like PLAIN.
#[test]
fn case15_cram_md5_is_a_credential_too() {
    let steps = with(greet_and_ehlo(&["AUTH CRAM-MD5"]), [Step::expect("QUIT"), Step::reply("221 bye")]);
    let mut s = session();
    s.set_credential_policy(CredentialPolicy { allow_cleartext: false, local_peer_is_safe: false });
    let (res, r) = scripted_with(steps, s, |s| {
        let login = s.login(USER, PASS, true).unwrap_err();
        let mut called = false;
        let custom = s
            .auth(
                "CRAM-MD5",
                &mut |_, _| {
                    called = true;
                    AuthStep::NoInitialResponse
                },
                true,
            )
            .unwrap_err();
        s.quit().unwrap();
        (login, custom, called)
    });
    assert_eq!(res.0.kind(), ErrorKind::CredentialsPolicy, "{}", res.0);
    assert_eq!(res.1.kind(), ErrorKind::CredentialsPolicy, "{}", res.1);
    assert!(!res.2, "the callback was not even asked");
    r.assert_ok();
    assert_eq!(r.wire_str(), format!("{EHLO}QUIT\r\n"));
}

/// Case 15: over verified TLS credentials go to a peer that is not local.
#[test]
fn case15_verified_tls_lets_credentials_through() {
    let blob = plain_blob(USER, PASS);
    let server = TlsServer::starttls(
        &[],
        &pki().good,
        vec![
            t_expect("EHLO "),
            T::Send(txt(&ehlo_reply("mx.tls.test", &["AUTH PLAIN"]))),
            t_expect(&format!("AUTH PLAIN {blob}")),
            t_send("235 2.7.0 ok"),
        ],
    );
    let mut s = trusting(SessionKind::Smtp);
    s.set_credential_policy(CredentialPolicy { allow_cleartext: false, local_peer_is_safe: false });
    s.connect("localhost", server.port).unwrap();
    s.starttls().unwrap();
    s.login(USER, PASS, true).unwrap();
    drop(s);
    let run = server.finish();
    run.assert_ok();
    assert_eq!(txt(&run.plain), format!("{EHLO}STARTTLS\r\n"), "no AUTH in plain text");
}

/// Case 15: TLS whose peer was not verified (the insecure switch) protects nothing against
/// an active attacker: credentials are held back as over plain text.
#[test]
fn case15_unverified_tls_does_not_carry_credentials() {
    let self_signed = leaf("localhost", &["DNS:localhost"], None, -1, 30);
    let server = TlsServer::starttls(
        &[],
        &self_signed,
        vec![t_expect("EHLO "), T::Send(txt(&ehlo_reply("mx.tls.test", &["AUTH PLAIN"])))],
    );
    let mut s = trusting(SessionKind::Smtp);
    s.tls_config_mut().insecure_skip_verify = true;
    s.set_credential_policy(CredentialPolicy { allow_cleartext: false, local_peer_is_safe: false });
    s.connect("localhost", server.port).unwrap();
    s.starttls().unwrap();
    s.set_timeout(Some(Duration::from_millis(500)));
    let res = s.login(USER, PASS, true);
    drop(s);
    let run = server.finish();
    assert!(!contains(&run.tls, b"AUTH"), "credentials sent over unverified TLS: {:?}", txt(&run.tls));
    assert_eq!(res.unwrap_err().kind(), ErrorKind::CredentialsPolicy);
}

/// Case 17: more malformed challenges: a bare `334`, `334 =` for CRAM-MD5, and a challenge
/// spread over many lines that decodes to more than the 16 KiB a mechanism may see. Each is
/// cancelled with `*`; the password never goes out.
#[test]
fn case17_more_malformed_challenges_are_cancelled() {
    let big: Vec<String> = (0..4).map(|_| "QUFB".repeat(2000)).collect();
    let big_reply = big
        .iter()
        .enumerate()
        .map(|(i, l)| format!("334{}{l}\r\n", if i == 3 { ' ' } else { '-' }))
        .collect::<String>();
    let cases: Vec<(&str, &str, Vec<u8>)> = vec![
        ("bare 334", "CRAM-MD5", b"334\r\n".to_vec()),
        ("334 =", "CRAM-MD5", b"334 =\r\n".to_vec()),
        ("24 KiB multi-line challenge", "X-BIG", big_reply.into_bytes()),
    ];
    for (what, mech, challenge) in cases {
        let steps = with(
            greet_and_ehlo(&[&format!("AUTH {mech}")]),
            [
                Step::expect(&format!("AUTH {mech}")),
                Step::Send(challenge),
                Step::expect("*"),
                Step::reply("501 5.7.0 aborted"),
            ],
        );
        let (res, r) = scripted(steps, |s| {
            if mech == "CRAM-MD5" {
                s.login(USER, PASS, true)
            } else {
                s.auth(
                    mech,
                    &mut |c, _| if c.is_none() { AuthStep::NoInitialResponse } else { panic!("{what}: too big") },
                    true,
                )
            }
        });
        let e = res.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Authentication, "{what}: {e}");
        r.assert_ok();
        assert_eq!(r.wire_str(), format!("{EHLO}AUTH {mech}\r\n*\r\n"), "{what}");
    }
}

/// Case 17: a CRAM-MD5 challenge that decodes to NUL and control bytes is not a challenge to
/// answer: cancelled with `*`, no digest of the password sent.
#[test]
fn case17_control_byte_cram_md5_challenge_is_cancelled() {
    let steps = with(
        greet_and_ehlo(&["AUTH CRAM-MD5"]),
        [
            Step::expect("AUTH CRAM-MD5"),
            Step::reply(&format!("334 {}", b64(b"\0\x1b[2J\x07\r\n"))),
            Step::ReadLine,
            Step::reply("501 5.7.0 aborted"),
        ],
    );
    let (res, r) = scripted(steps, |s| s.login(USER, PASS, true));
    assert_eq!(res.unwrap_err().kind(), ErrorKind::Authentication);
    assert_eq!(r.lines[2], "*", "the exchange is cancelled: {}", r.wire_str());
}

/// Case 18 (login path; auth() is auth_postfix::endless_challenges_are_cancelled_after_five):
/// LOGIN challenged without end answers five times, then cancels.
#[test]
fn case18_endless_login_challenges_stop_after_five() {
    let mut rest = vec![Step::expect("AUTH LOGIN")];
    for _ in 0..6 {
        rest.push(Step::reply("334 UGFzc3dvcmQ6"));
        rest.push(Step::ReadLine);
    }
    rest.push(Step::reply("501 5.7.0 cancelled"));
    let steps = with(greet_and_ehlo(&["AUTH LOGIN"]), rest);
    let (res, r) = scripted(steps, |s| s.login(USER, PASS, false));
    let e = res.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Authentication, "{e}");
    r.assert_ok();
    let (u, p) = (b64(USER.as_bytes()), b64(PASS.as_bytes()));
    assert_eq!(r.lines[1..], ["AUTH LOGIN".to_owned(), u, p.clone(), p.clone(), p.clone(), p, "*".to_owned()]);
    assert!(r.wire.len() < 200, "bounded: {} bytes", r.wire.len());
}

/// Case 20: credentials are checked before any byte: NUL, CR, LF, and lengths over the cap,
/// on a session that is not even connected, and on one that is.
#[test]
fn case20_credentials_are_checked_before_any_byte() {
    let long = "u".repeat(8193);
    let huge = "p".repeat(64 * 1024 + 1);
    let bad: Vec<(&str, &str)> = vec![
        ("al\0ice", PASS),
        (USER, "pa\0ss"),
        ("al\rice", PASS),
        ("al\nice", PASS),
        (USER, "pa\r\nss"),
        (long.as_str(), PASS),
        (USER, huge.as_str()),
        ("", PASS),
        (USER, ""),
    ];
    let mut unconnected = session();
    for (u, p) in &bad {
        assert_eq!(unconnected.login(u, p, true).unwrap_err().kind(), ErrorKind::InvalidArgument, "{u:?}");
    }
    let steps = vec![Step::reply("220 mx ESMTP"), Step::expect("NOOP"), Step::reply("250 ok")];
    let (res, r) = scripted(steps, |s| {
        let mut kinds: Vec<ErrorKind> = bad.iter().map(|(u, p)| s.login(u, p, true).unwrap_err().kind()).collect();
        kinds.push(s.login_oauth(OAuthMechanism::XOAuth2, "us\x01er", "tok").unwrap_err().kind());
        kinds.push(s.login_oauth(OAuthMechanism::OAuthBearer, USER, "tok en").unwrap_err().kind());
        kinds.push(s.login_oauth(OAuthMechanism::XOAuth2, USER, &"t".repeat(8193)).unwrap_err().kind());
        s.noop().unwrap();
        kinds
    });
    assert!(res.iter().all(|k| *k == ErrorKind::InvalidArgument), "{res:?}");
    r.assert_ok();
    assert_eq!(r.wire_str(), "NOOP\r\n");
}

// ------------------------------------------------------------------------------ case 21

/// Scans every heap block the marked thread frees for secrets: a secret left in freed memory
/// survives the session (core dumps, reuse by other code). Blocks the marked thread allocates
/// are zeroed first, so stale bytes of an earlier owner are never mistaken for a leak.
struct ScanningAllocator;

#[global_allocator]
static ALLOC: ScanningAllocator = ScanningAllocator;

thread_local! {
    static SCAN_THIS_THREAD: Cell<bool> = const { Cell::new(false) };
}

static NEEDLES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
static FOUND: AtomicUsize = AtomicUsize::new(0);
static FOUND_NEEDLE: AtomicUsize = AtomicUsize::new(usize::MAX);
static FOUND_SIZE: AtomicUsize = AtomicUsize::new(0);

fn scanning() -> bool {
    SCAN_THIS_THREAD.try_with(Cell::get).unwrap_or(false)
}

/// # Safety
/// `ptr` is valid for reads of `size` bytes.
unsafe fn scan_block(ptr: *const u8, size: usize) {
    let Some(needles) = NEEDLES.get() else { return };
    // SAFETY: the block is still allocated and `size` long; spare capacity may be
    // uninitialised, which only matters to a search for bytes that are not there.
    let block = unsafe { std::slice::from_raw_parts(ptr, size) };
    for (i, n) in needles.iter().enumerate() {
        if !n.is_empty() && size >= n.len() && block.windows(n.len()).any(|w| w == n.as_slice()) {
            FOUND.fetch_add(1, Ordering::SeqCst);
            FOUND_NEEDLE.store(i, Ordering::SeqCst);
            FOUND_SIZE.store(size, Ordering::SeqCst);
        }
    }
}

// SAFETY: every method forwards to the system allocator; scanning only reads live blocks.
unsafe impl GlobalAlloc for ScanningAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if scanning() {
            // a block reused from another thread may hold that thread's old bytes: start clean,
            // so whatever a scan finds was written while the session ran
            return unsafe { System.alloc_zeroed(layout) };
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if scanning() {
            unsafe { scan_block(ptr, layout.size()) };
        }
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !scanning() {
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        // a moving realloc frees the old block without wiping it: do it by hand, scanning it
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        let new = unsafe { System.alloc_zeroed(new_layout) };
        if !new.is_null() {
            unsafe {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                scan_block(ptr, layout.size());
                System.dealloc(ptr, layout);
            }
        }
        new
    }
}

const SECRET_USER: &str = "hostile-user";
const SECRET_PASS: &str = "Secr3t-Pa55-Zq9w";
const SECRET_TOKEN: &str = "tok.Zq9w-Secr3t-bearer";

/// Case 21: after login (PLAIN, LOGIN, CRAM-MD5), a custom mechanism and a bearer token, no
/// freed heap block holds the password, the token, or their encodings; Debug output of the
/// session, the callback step and errors shows none of them.
#[test]
fn case21_secrets_do_not_outlive_their_use() {
    let plain = format!("\0{SECRET_USER}\0{SECRET_PASS}");
    let xoauth = format!("user={SECRET_USER}\x01auth=Bearer {SECRET_TOKEN}\x01\x01");
    NEEDLES.get_or_init(|| {
        vec![
            SECRET_PASS.as_bytes().to_vec(),
            b64(SECRET_PASS.as_bytes()).into_bytes(),
            plain.clone().into_bytes(),
            b64(plain.as_bytes()).trim_end_matches('=').as_bytes().to_vec(),
            SECRET_TOKEN.as_bytes().to_vec(),
            b64(xoauth.as_bytes()).trim_end_matches('=').as_bytes()[..40].to_vec(),
        ]
    });
    // control: the scan sees a secret left in a freed block
    let before = FOUND.load(Ordering::SeqCst);
    SCAN_THIS_THREAD.with(|c| c.set(true));
    drop(std::hint::black_box(SECRET_PASS.to_owned()));
    SCAN_THIS_THREAD.with(|c| c.set(false));
    assert_eq!(FOUND.load(Ordering::SeqCst) - before, 1, "the scanner works");
    type Run = Box<dyn FnOnce(&mut Session) -> String>;
    let cases: Vec<(&str, Vec<Step>, Run)> = vec![
        (
            "PLAIN",
            with(greet_and_ehlo(&["AUTH PLAIN"]), [Step::expect("AUTH PLAIN "), Step::reply("235 ok")]),
            Box::new(|s: &mut Session| format!("{:?}", s.login(SECRET_USER, SECRET_PASS, true))),
        ),
        (
            "LOGIN",
            with(
                greet_and_ehlo(&["AUTH LOGIN"]),
                [
                    Step::expect("AUTH LOGIN"),
                    Step::reply("334 VXNlcm5hbWU6"),
                    Step::ReadLine,
                    Step::reply("334 UGFzc3dvcmQ6"),
                    Step::ReadLine,
                    Step::reply("235 ok"),
                ],
            ),
            Box::new(|s: &mut Session| format!("{:?}", s.login(SECRET_USER, SECRET_PASS, false))),
        ),
        (
            "CRAM-MD5",
            with(
                greet_and_ehlo(&["AUTH CRAM-MD5"]),
                [
                    Step::expect("AUTH CRAM-MD5"),
                    Step::reply("334 PDEyMzQ1QG14Pg=="),
                    Step::ReadLine,
                    Step::reply("235 ok"),
                ],
            ),
            Box::new(|s: &mut Session| format!("{:?}", s.login(SECRET_USER, SECRET_PASS, true))),
        ),
        (
            "wrong password, refused",
            with(greet_and_ehlo(&["AUTH PLAIN"]), [Step::expect("AUTH PLAIN "), Step::reply("535 5.7.8 no")]),
            Box::new(|s: &mut Session| {
                let e = s.login(SECRET_USER, SECRET_PASS, true).unwrap_err();
                format!("{e:?} {e}")
            }),
        ),
        (
            "custom callback",
            with(greet_and_ehlo(&["AUTH X-CUSTOM"]), [Step::expect("AUTH X-CUSTOM "), Step::reply("235 ok")]),
            Box::new(|s: &mut Session| {
                let mut cb = |_: Option<&[u8]>, _: bool| {
                    // sized exactly, so building it leaves no copy behind in test code
                    let mut v = Vec::with_capacity(SECRET_PASS.len());
                    v.extend_from_slice(SECRET_PASS.as_bytes());
                    let step = AuthStep::Respond(v);
                    assert!(!format!("{step:?}").contains(SECRET_PASS));
                    step
                };
                format!("{:?}", s.auth("X-CUSTOM", &mut cb, true))
            }),
        ),
        (
            "XOAUTH2",
            with(greet_and_ehlo(&["AUTH XOAUTH2"]), [Step::expect("AUTH XOAUTH2 "), Step::reply("235 ok")]),
            Box::new(|s: &mut Session| {
                format!("{:?}", s.login_oauth(OAuthMechanism::XOAuth2, SECRET_USER, SECRET_TOKEN))
            }),
        ),
    ];
    for (what, steps, run) in cases {
        let server = ScriptedServer::tcp(steps);
        let before = FOUND.load(Ordering::SeqCst);
        SCAN_THIS_THREAD.with(|c| c.set(true));
        let mut s = session();
        s.connect(&server.addr(), 0).unwrap();
        let shown = run(&mut s);
        let debug = format!("{s:?}");
        drop(s);
        SCAN_THIS_THREAD.with(|c| c.set(false));
        let found = FOUND.load(Ordering::SeqCst) - before;
        let r = server.finish();
        r.assert_ok();
        assert_eq!(
            found,
            0,
            "{what}: a freed block of {} bytes held secret #{}",
            FOUND_SIZE.load(Ordering::SeqCst),
            FOUND_NEEDLE.load(Ordering::SeqCst)
        );
        for text in [&shown, &debug] {
            assert!(!text.contains(SECRET_PASS) && !text.contains(SECRET_TOKEN), "{what}: {text}");
        }
    }
}

/// Case 22 (after TLS; "never offered" is auth_postfix::auth_not_advertised_is_not_supported_and_sends_nothing):
/// credentials but no AUTH over TLS is NotSupported, and nothing else is sent.
#[test]
fn case22_no_auth_offered_after_tls_is_not_supported() {
    let server = TlsServer::starttls(
        &["AUTH PLAIN LOGIN"],
        &pki().good,
        vec![t_expect("EHLO "), T::Send(txt(&ehlo_reply("mx.tls.test", &["PIPELINING", "SIZE 1000"])))],
    );
    let mut s = trusting(SessionKind::Smtp);
    s.connect("localhost", server.port).unwrap();
    s.starttls().unwrap();
    let e = s.login(USER, PASS, true).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotSupported, "{e}");
    assert!(s.is_connected());
    drop(s);
    let run = server.finish();
    run.assert_ok();
    assert_eq!(txt(&run.tls), EHLO);
}

// =============================================================================================
// D. Injection through caller data
// =============================================================================================

/// A server that greets, expects one NOOP (the proof that nothing else was sent) and answers it.
fn greet_then_noop() -> Vec<Step> {
    vec![Step::reply("220 mx.scripted.test ESMTP"), Step::expect("NOOP"), Step::reply("250 ok")]
}

/// Case 23: CR, LF or NUL in an envelope address, bracketed or not, through every entry
/// point: InvalidArgument and nothing on the wire.
#[test]
fn case23_line_breaks_and_nul_in_addresses_never_reach_the_wire() {
    let bad = [
        "a@b.test\r\nRCPT TO:<x@y.test>",
        "a@b.test\nDATA",
        "a@b.test\rX",
        "a@b.test\0",
        "<a@b.test\r\nRCPT TO:<x@y.test>>",
        "<a@b.test\nDATA>",
        "<a@b.test\rX>",
        "<a@b.test\0>",
    ];
    let (kinds, r) = scripted(greet_then_noop(), |s| {
        let mut kinds = Vec::new();
        for b in bad {
            kinds.push(s.sendmail(b, &[TO], MSG, &[], &[]).unwrap_err().kind());
            kinds.push(s.sendmail(FROM, &[b], MSG, &[], &[]).unwrap_err().kind());
            kinds.push(s.sendmail(FROM, &[TO, b], MSG, &[], &[]).unwrap_err().kind());
            kinds.push(s.send_message(MSG, Some(b), Some(&[TO][..]), &[], &[]).unwrap_err().kind());
            kinds.push(s.send_message(MSG, Some(FROM), Some(&[b]), &[], &[]).unwrap_err().kind());
            let mut read = stream(MSG, 4);
            kinds.push(s.sendmail_stream(FROM, &[b], &mut read, None, &[], &[]).unwrap_err().kind());
            kinds.push(s.mail(b, &[]).unwrap_err().kind());
            kinds.push(s.rcpt(b, &[]).unwrap_err().kind());
            kinds.push(s.verify(b).unwrap_err().kind());
            kinds.push(s.expn(b).unwrap_err().kind());
        }
        s.noop().unwrap();
        kinds
    });
    assert!(kinds.iter().all(|k| *k == ErrorKind::InvalidArgument), "{kinds:?}");
    r.assert_ok();
    assert_eq!(r.wire_str(), "NOOP\r\n");
}

/// Case 24: CR, LF or NUL (or a space, or nothing) in the HELO/EHLO/LHLO name.
#[test]
fn case24_line_breaks_in_the_hello_name_are_refused() {
    let bad = ["c.test\r\nMAIL FROM:<x@y.test>", "c.test\n", "c.test\r", "c.test\0", "c test", ""];
    for kind in [SessionKind::Smtp, SessionKind::Lmtp] {
        let mut s = if kind == SessionKind::Lmtp { lmtp_session() } else { session() };
        for b in bad {
            assert_eq!(s.set_local_hostname(Some(b)).unwrap_err().kind(), ErrorKind::InvalidArgument, "{b:?}");
        }
        let (kinds, r) = scripted_with(greet_then_noop(), s, |s| {
            let mut kinds = Vec::new();
            for b in bad {
                kinds.push(s.ehlo(Some(b)).unwrap_err().kind());
                if kind == SessionKind::Smtp {
                    kinds.push(s.helo(Some(b)).unwrap_err().kind());
                }
            }
            s.noop().unwrap();
            kinds
        });
        assert!(kinds.iter().all(|k| *k == ErrorKind::InvalidArgument), "{kind:?}: {kinds:?}");
        r.assert_ok();
        assert_eq!(r.wire_str(), "NOOP\r\n", "{kind:?}");
    }
    // the name chosen when none is set is one plain word
    let mut s = support::new_session(SessionKind::Smtp);
    let name = s.local_hostname().to_owned();
    assert!(!name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic()), "{name:?}");
}

/// Case 25: ESMTP parameters that are not `KEYWORD[=VALUE]` with a valid keyword and a value
/// free of controls, SP and `=`, through sendmail, mail() and rcpt().
#[test]
fn case25_malformed_esmtp_parameters_are_refused() {
    let bad = [
        "",
        "-X",
        "A B",
        "A=b c",
        "A=b=c",
        "SIZE=",
        "X=\x01",
        "ENVID=a\0b",
        "K\u{e9}Y=1",
        "ORCPT=rfc822;a b",
        "NOTIFY=SUCCESS\r\nRCPT TO:<x@y.test>",
        "BODY=8BITMIME\n",
    ];
    let (kinds, r) = scripted(greet_then_noop(), |s| {
        let mut kinds = Vec::new();
        for b in bad {
            kinds.push(s.sendmail(FROM, &[TO], MSG, &[b], &[]).unwrap_err().kind());
            kinds.push(s.sendmail(FROM, &[TO], MSG, &[], &[b]).unwrap_err().kind());
            kinds.push(s.mail(FROM, &[b]).unwrap_err().kind());
            kinds.push(s.rcpt(TO, &[b]).unwrap_err().kind());
        }
        s.noop().unwrap();
        kinds
    });
    assert!(kinds.iter().all(|k| *k == ErrorKind::InvalidArgument), "{kinds:?}");
    r.assert_ok();
    assert_eq!(r.wire_str(), "NOOP\r\n");
}

/// Case 25: SIZE is the library's count of the message, never a caller's string.
#[test]
fn case25_size_is_never_taken_from_the_caller() {
    let steps = with(
        greet_and_ehlo(&["SIZE 1000"]),
        [
            Step::ReadLine,
            Step::reply("250 ok"),
            Step::ReadLine,
            Step::reply("250 ok"),
            Step::ReadLine,
            Step::reply("354 go"),
            Step::ExpectData,
            Step::reply("250 ok"),
        ],
    );
    let (res, r) = scripted(steps, |s| s.sendmail(FROM, &[TO], MSG, &["SIZE=1"], &[]));
    match res {
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
            assert_eq!(r.wire_str(), "", "refused before anything is sent, EHLO included");
        }
        Ok(()) => {
            let mail = r.lines.iter().find(|l| l.starts_with("MAIL")).unwrap();
            assert_eq!(mail, "MAIL FROM:<a@example.test> SIZE=18", "{mail}");
        }
    }
}

/// Run `bad` addresses through sendmail as sender and recipient: InvalidArgument each time
/// and nothing on the wire.
fn refused_addresses(bad: &[&str]) {
    let (kinds, r) = scripted(greet_then_noop(), |s| {
        let mut kinds = Vec::new();
        for b in bad {
            kinds.push((b.to_string(), s.sendmail(b, &[TO], MSG, &[], &[]).map_err(|e| e.kind())));
            kinds.push((b.to_string(), s.sendmail(FROM, &[b], MSG, &[], &[]).map_err(|e| e.kind())));
        }
        let _ = s.noop();
        kinds
    });
    for (b, k) in &kinds {
        assert_eq!(*k, Err(ErrorKind::InvalidArgument), "{b:?} (wire: {:?})", r.wire_str());
    }
    assert_eq!(r.wire_str(), "NOOP\r\n");
}

/// Case 26: angle brackets inside the mailbox.
#[test]
fn case26_angle_brackets_inside_an_address_are_refused() {
    refused_addresses(&["a<b>@c.test", "<a>b@c.test>", "a>@c.test", "<<a@c.test>>", "a@c.test>"]);
}

/// Case 26: a space outside a quoted local part.
#[test]
fn case26_unquoted_spaces_in_an_address_are_refused() {
    refused_addresses(&["a b@c.test", "a@c.test SIZE=1", "a@c .test"]);
}

/// Case 26: a leading '-' (an option to a sendmail program; harmless over SMTP itself).
#[test]
fn case26_leading_dash_is_refused() {
    refused_addresses(&["-oQ/tmp/x@c.test", "-f@c.test"]);
}

/// Case 26: a local part over 64 octets, a path over 256 octets.
#[test]
fn case26_overlong_addresses_are_refused() {
    let local = format!("{}@c.test", "l".repeat(65));
    let path = format!("a@{}.test", "d".repeat(250));
    refused_addresses(&[&local, &path]);
}

/// Case 26: a command line over 512 octets (RFC 5321 §4.5.3.1.4).
#[test]
fn case26_command_lines_over_512_octets_are_refused() {
    // 512 octets, plus only the allowances of advertised extensions the line uses (none here)
    let value = format!("X-LONG={}", "v".repeat(1000));
    let steps = with(greet_and_ehlo(&[]), [Step::expect("NOOP"), Step::reply("250 ok")]);
    let (res, r) = scripted(steps, |s| {
        s.ehlo(None).unwrap();
        let e = s.mail(FROM, &[&value]).map(|r| r.code()).map_err(|e| e.kind());
        let _ = s.noop();
        e
    });
    assert_eq!(res, Err(ErrorKind::InvalidArgument), "wire: {:?}", r.wire_str());
    assert_eq!(r.wire_str(), format!("{EHLO}NOOP\r\n"));
}

/// Case 27: header addresses that parse two ways are refused, never guessed at.
#[test]
fn case27_ambiguous_header_addresses_are_refused() {
    let bad = [
        "alice@example.org(<bob@example.com>",
        "alice@example.org)<bob@example.com>",
        "\"user\"@example.com(x)evil.com",
        "alice@example.org, <bob@example.com",
        "alice@example.org <bob@example.com>",
    ];
    let (kinds, r) = scripted(greet_then_noop(), |s| {
        let mut kinds = Vec::new();
        for b in bad {
            for field in ["To", "Cc", "Bcc", "From"] {
                let msg = if field == "From" {
                    format!("From: {b}\r\nTo: x@example.test\r\n\r\nbody\r\n")
                } else {
                    format!("From: a@example.test\r\n{field}: {b}\r\n\r\nbody\r\n")
                };
                kinds.push((b, field, s.send_message(msg.as_bytes(), None, None, &[], &[]).map_err(|e| e.kind())));
            }
        }
        s.noop().unwrap();
        kinds
    });
    for (b, field, k) in &kinds {
        assert_eq!(*k, Err(ErrorKind::InvalidArgument), "{field}: {b}");
    }
    r.assert_ok();
    assert_eq!(r.wire_str(), "NOOP\r\n");
}

/// Case 27: a quoted local part holding an '@' is delivered to its own domain or refused,
/// never to the domain inside the quotes.
#[test]
fn case27_quoted_local_part_never_redirects() {
    let steps = with(greet_and_ehlo(&[]), lockstep_ok());
    let msg = b"From: a@example.test\r\nTo: \"xclow3n@gmail.com x\"@internal.domain\r\n\r\nbody\r\n";
    let (res, r) = scripted(steps, |s| s.send_message(msg, None, None, &[], &[]));
    assert!(!r.wire_str().contains("gmail.com>"), "{}", r.wire_str());
    match res {
        Ok(()) => {
            assert!(r.wire_str().contains("RCPT TO:<\"xclow3n@gmail.com x\"@internal.domain>\r\n"), "{}", r.wire_str())
        }
        Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidArgument),
    }
}

/// Case 27: invisible or compatibility characters in a header address are refused.
#[test]
fn case27_invisible_characters_in_header_addresses_are_refused() {
    let steps = with(greet_and_ehlo(&["SMTPUTF8", "8BITMIME"]), lockstep_ok());
    let server = ScriptedServer::tcp(steps);
    let mut s = session();
    s.connect(&server.addr(), 0).unwrap();
    s.set_timeout(Some(Duration::from_millis(500)));
    let mut results = Vec::new();
    for to in ["bob@exa\u{200b}mple.test", "bob@\u{ff45}xample.test"] {
        let msg = format!("From: a@example.test\r\nTo: {to}\r\n\r\nbody\r\n");
        results.push(s.send_message(msg.as_bytes(), None, None, &[], &[]).map_err(|e| e.kind()));
    }
    drop(s);
    let r = server.finish();
    assert!(!r.wire_str().contains("RCPT"), "{}", r.wire_str());
    assert_eq!(results, [Err(ErrorKind::InvalidArgument); 2]);
}

/// Case 28: the raw command API refuses CR, LF and NUL in the verb and in the arguments.
#[test]
fn case28_raw_commands_cannot_carry_line_breaks() {
    let bad = ["NOOP\r\nRSET", "NO\nOP", "NO\rOP", "NOOP\0", "MAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>"];
    let (kinds, r) = scripted(greet_then_noop(), |s| {
        let mut kinds = Vec::new();
        for b in bad {
            kinds.push(s.docmd(b, "").unwrap_err().kind());
            kinds.push(s.docmd("NOOP", b).unwrap_err().kind());
            kinds.push(s.docmd("X-CUSTOM", b).unwrap_err().kind());
            kinds.push(s.help(b).unwrap_err().kind());
        }
        kinds.push(s.docmd("", "x").unwrap_err().kind());
        s.noop().unwrap();
        kinds
    });
    assert!(kinds.iter().all(|k| *k == ErrorKind::InvalidArgument), "{kinds:?}");
    r.assert_ok();
    assert_eq!(r.wire_str(), "NOOP\r\n");
}

/// splitmix64.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Case 28, property: whatever the caller passes to any command method, every command that
/// goes out is one line: the wire has exactly one CRLF per command answered, and no bare CR,
/// bare LF or NUL.
#[test]
fn case28_property_no_line_break_inside_any_command() {
    let server = RawServer::start(|mut tcp, wire| {
        tcp.write_all(b"220 echo ESMTP\r\n").unwrap();
        while let Some(line) = raw_line(&mut tcp, wire) {
            if !line.ends_with(b"\n") || tcp.write_all(b"250 ok\r\n").is_err() {
                break;
            }
        }
    });
    let alphabet = ["a", "b", "@", ".", " ", "<", ">", "\r", "\n", "\0", "=", "-", "\u{e9}", ":", "\r\n"];
    let mut rng = Rng(0x5EED_CAFE);
    let mut s = session();
    s.connect(&server.addr, 0).unwrap();
    let mut answered = 0;
    for _ in 0..3000 {
        let len = rng.below(12);
        let input: String = (0..len).map(|_| alphabet[rng.below(alphabet.len())]).collect();
        let res = match rng.below(9) {
            0 => s.docmd(&input, ""),
            1 => s.docmd("X-TEST", &input),
            2 => s.mail(&input, &[]),
            3 => s.rcpt("a@b.test", &[input.as_str()]),
            4 => s.verify(&input),
            5 => s.expn(&input),
            6 => s.help(&input),
            7 => s.ehlo(Some(input.as_str())),
            _ => s.helo(Some(input.as_str())),
        };
        match res {
            Ok(r) => {
                assert_eq!(r.code(), 250);
                answered += 1;
            }
            Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{input:?}: {e}"),
        }
    }
    drop(s);
    let (wire, _) = server.finish();
    assert_clean_lines(&wire);
    assert_eq!(wire.windows(2).filter(|w| w == b"\r\n").count(), answered, "one line per command");
    assert!(answered > 300, "the property saw enough commands: {answered}");
}

// =============================================================================================
// E. DATA phase
// =============================================================================================

/// A server for `n` lock-step transactions on one connection (DATA, no extensions).
fn transactions(ext: &[&str], n: usize) -> Vec<Step> {
    let mut steps = greet_and_ehlo(ext);
    for _ in 0..n {
        steps.extend(lockstep_ok());
    }
    steps
}

const LINE_ENDS_BODY: &[u8] = b"a\n.b\r.c\r\n.d\n\r.e\r\r\n.\n..";
const LINE_ENDS_WIRE: &[u8] = b"a\r\n..b\r\n..c\r\n..d\r\n\r\n..e\r\n\r\n..\r\n...\r\n.\r\n";

/// Cases 29 and 32: bare LF and bare CR become CRLF, and every line starting with '.' is
/// stuffed whatever ended the line before, through sendmail, the raw data() call, pipelining
/// and a stream of 1-byte chunks; BDAT gets the same lines unstuffed.
#[test]
fn case29_bare_line_ends_are_normalised_and_dots_stuffed_on_every_path() {
    // lock-step sendmail, data(), and a 1-byte stream
    let mut steps = transactions(&[], 1);
    steps.extend([
        Step::expect("MAIL FROM:"),
        Step::reply("250 ok"),
        Step::expect("RCPT TO:"),
        Step::reply("250 ok"),
        Step::expect("DATA"),
        Step::reply("354 go"),
        Step::ExpectData,
        Step::reply("250 ok"),
    ]);
    steps.extend(lockstep_ok());
    let (res, r) = scripted(steps, |s| {
        s.sendmail(FROM, &[TO], LINE_ENDS_BODY, &[], &[]).unwrap();
        s.mail(FROM, &[]).unwrap();
        s.rcpt(TO, &[]).unwrap();
        let d = s.data(LINE_ENDS_BODY).unwrap().code();
        let mut read = stream(LINE_ENDS_BODY, 1);
        s.sendmail_stream(FROM, &[TO], &mut read, None, &[], &[]).unwrap();
        d
    });
    assert_eq!(res, 250);
    r.assert_ok();
    assert_eq!(r.data.len(), 3);
    for d in &r.data {
        assert_eq!(txt(d), txt(LINE_ENDS_WIRE));
    }
    assert_clean_lines(&r.wire);

    // pipelined DATA
    let steps = with(
        greet_and_ehlo(&["PIPELINING"]),
        [
            Step::expect("MAIL"),
            Step::expect("RCPT"),
            Step::expect("DATA"),
            Step::reply("250 ok\n250 ok\n354 go"),
            Step::ExpectData,
            Step::reply("250 ok"),
        ],
    );
    let (res, r) = scripted(steps, |s| s.sendmail(FROM, &[TO], LINE_ENDS_BODY, &[], &[]));
    res.unwrap();
    r.assert_ok();
    assert_eq!(txt(&r.data[0]), txt(LINE_ENDS_WIRE));

    // BDAT: the same lines, counted instead of stuffed
    let unstuffed: &[u8] = b"a\r\n.b\r\n.c\r\n.d\r\n\r\n.e\r\n\r\n.\r\n..\r\n";
    let steps = with(
        greet_and_ehlo(&["CHUNKING"]),
        [
            Step::expect("MAIL"),
            Step::reply("250 ok"),
            Step::expect("RCPT"),
            Step::reply("250 ok"),
            Step::expect(&format!("BDAT {} LAST", unstuffed.len())),
            Step::ReadBytes(unstuffed.len()),
            Step::reply("250 ok"),
        ],
    );
    let (res, r) = scripted(steps, |s| s.sendmail(FROM, &[TO], LINE_ENDS_BODY, &[], &[]));
    res.unwrap();
    r.assert_ok();
    assert_eq!(txt(&r.data[0]), txt(unstuffed));
    assert_clean_lines(&r.wire);
}

/// Case 30: NUL in a DATA body (no BINARYMIME) is refused before the body goes out: a server
/// that drops NULs would otherwise turn `CRLF NUL . CRLF` into an early end of data.
#[test]
fn case30_nul_in_a_data_body_is_refused() {
    let body = b"Subject: s\r\n\r\nbefore\r\n\x00.\r\nMAIL FROM:<evil@example.test>\r\n";
    let steps = with(greet_and_ehlo(&[]), lockstep_ok());
    let server = ScriptedServer::tcp(steps);
    let mut s = session();
    s.connect(&server.addr(), 0).unwrap();
    s.set_timeout(Some(Duration::from_millis(500)));
    let bytes = s.sendmail(FROM, &[TO], body, &[], &[]).map_err(|e| e.kind());
    let mut read = stream(body, 3);
    let streamed = s.sendmail_stream(FROM, &[TO], &mut read, None, &[], &[]).map_err(|e| e.kind());
    drop(s);
    let r = server.finish();
    assert!(!contains(&r.wire, b"\x00"), "NUL on the wire: {:?}", r.wire_str());
    assert_eq!(bytes, Err(ErrorKind::InvalidArgument));
    assert!(streamed.is_err());
}

/// The model: normalise line ends, stuff dots, terminate (what every path must send).
fn model_wire(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut at_start = true;
    let mut i = 0;
    while i < body.len() {
        let b = body[i];
        if at_start && b == b'.' {
            out.push(b'.');
        }
        match b {
            b'\r' | b'\n' => {
                out.extend_from_slice(b"\r\n");
                if b == b'\r' && body.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                at_start = true;
            }
            _ => {
                out.push(b);
                at_start = false;
            }
        }
        i += 1;
    }
    if !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

/// What DATA must carry for a body, or `None` when only the chunkings must agree.
type ExpectedWire = Option<&'static [u8]>;

/// Case 31: dot-stuffing edge cases give the same wire bytes sent whole and streamed in
/// chunks of 1, 2, 3, 5 and 7 bytes (so CR and LF fall in different chunks), including a
/// 1 MiB line.
#[test]
fn case31_dot_stuffing_edge_cases_are_identical_at_every_chunking() {
    let long_line = [b".".as_slice(), &vec![b'x'; 1 << 20], b"\r\n.\r\nend"].concat();
    let bodies: Vec<(&str, Vec<u8>, ExpectedWire)> = vec![
        (". on the first line", b".hidden\r\nx\r\n".to_vec(), Some(b"..hidden\r\nx\r\n.\r\n")),
        ("dot after two CRLFs", b"a\r\n\r\n.".to_vec(), Some(b"a\r\n\r\n..\r\n.\r\n")),
        ("single dot line", b"a\r\n.\r\nb\r\n".to_vec(), Some(b"a\r\n..\r\nb\r\n.\r\n")),
        ("lines of ..", b"..\r\n..\n..".to_vec(), Some(b"...\r\n...\r\n...\r\n.\r\n")),
        ("ends in CRLF .", b"a\r\n.".to_vec(), Some(b"a\r\n..\r\n.\r\n")),
        ("no final CRLF", b"a\r\nb".to_vec(), Some(b"a\r\nb\r\n.\r\n")),
        ("empty", b"".to_vec(), Some(b"\r\n.\r\n")),
        ("smuggling sequences", b"a\n.\nb\r.\rc\r.\nd\n.\re\n.\r\nf\r\n.\ng\r.\r\nh\r\n.\ri".to_vec(), None),
        ("1 MiB line", long_line, None),
    ];
    let chunks = [1usize, 2, 3, 5, 7];
    let per_body = 1 + chunks.len();
    let steps = transactions(&[], bodies.len() * per_body);
    let (_, r) = scripted(steps, |s| {
        s.set_timeout(Some(Duration::from_secs(20)));
        for (what, body, _) in &bodies {
            s.sendmail(FROM, &[TO], body, &[], &[]).unwrap_or_else(|e| panic!("{what}: {e}"));
            for &c in &chunks {
                if body.len() > 100_000 && c > 1 && c != 7 {
                    // the long line: 1 and 7 are enough
                    let mut read = stream(body, 4096);
                    s.sendmail_stream(FROM, &[TO], &mut read, None, &[], &[]).unwrap();
                    continue;
                }
                let mut read = stream(body, c);
                s.sendmail_stream(FROM, &[TO], &mut read, None, &[], &[]).unwrap_or_else(|e| panic!("{what}/{c}: {e}"));
            }
        }
    });
    r.assert_ok();
    assert_eq!(r.data.len(), bodies.len() * per_body);
    for (i, (what, body, expected)) in bodies.iter().enumerate() {
        let model = model_wire(body);
        if let Some(e) = expected {
            assert_eq!(txt(&model), txt(e), "{what}: model");
        }
        for k in 0..per_body {
            let got = &r.data[i * per_body + k];
            assert!(got == &model, "{what}, send #{k}: {:?}", txt(&got[..got.len().min(200)]));
            assert_eq!(
                got.windows(5).filter(|w| w == b"\r\n.\r\n").count() + usize::from(got.starts_with(b".\r\n")),
                1,
                "{what}"
            );
        }
    }
}

// =============================================================================================
// F. Reply parsing
// =============================================================================================

/// Case 33: a 1 MiB reply line without CRLF mid-session is Protocol at the line cap, the
/// session closed, nothing more sent; the cap is 8192 bytes of line.
#[test]
fn case33_overlong_reply_line_mid_session() {
    let huge = [b"250 ".as_slice(), &vec![b'a'; 1 << 20]].concat();
    let steps = vec![Step::reply("220 mx ESMTP"), Step::expect("EHLO"), Step::Send(huge), Step::ReadUntilClose];
    let start = Instant::now();
    let (res, r) = scripted(steps, |s| (s.ehlo(None).unwrap_err(), s.is_connected()));
    assert_eq!(res.0.kind(), ErrorKind::Protocol, "{}", res.0);
    assert!(!res.1);
    assert!(start.elapsed() < Duration::from_secs(3));
    assert_eq!(r.wire_str(), EHLO);

    // 8192 bytes is a line; 8193 is not
    let ok = format!("250 {}\r\n", "b".repeat(8188));
    let too_long = format!("250 {}\r\n", "c".repeat(8189));
    let steps = vec![
        Step::reply("220 mx ESMTP"),
        Step::expect("NOOP"),
        Step::send(&ok),
        Step::expect("NOOP"),
        Step::send(&too_long),
        Step::ReadUntilClose,
    ];
    let (res, r) =
        scripted(steps, |s| (s.noop().map(|r| r.text().len()), s.noop().map_err(|e| e.kind()), s.is_connected()));
    assert_eq!(res.0.unwrap(), 8188);
    assert_eq!(res.1.unwrap_err(), ErrorKind::Protocol);
    assert!(!res.2);
    r.assert_ok();
    assert_eq!(r.wire_str(), "NOOP\r\nNOOP\r\n");
}

/// Case 35: hostile EHLO replies: too many lines is Protocol (bounded); many extensions and
/// an AUTH line of 65 mechanisms are handled in bounded work and only a mechanism the caller
/// asked for is used.
#[test]
fn case35_hostile_ehlo_content_is_bounded() {
    let many: Vec<String> = (0..10_000).map(|i| format!("X-EXT{i}")).collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    let steps =
        vec![Step::reply("220 mx"), Step::expect("EHLO"), Step::Send(ehlo_reply("mx", &refs)), Step::ReadUntilClose];
    let start = Instant::now();
    let (res, r) = scripted(steps, |s| (s.ehlo(None).unwrap_err().kind(), s.is_connected()));
    assert_eq!(res, (ErrorKind::Protocol, false));
    assert!(start.elapsed() < Duration::from_secs(3));
    assert_eq!(r.wire_str(), EHLO);

    let mechs: Vec<String> = (0..64).map(|i| format!("X-MECH{i}")).collect();
    let mut ext = vec![format!("AUTH {} PLAIN", mechs.join(" "))];
    ext.extend((0..400).map(|i| format!("X-EXT{i} {}", "p".repeat(50))));
    let refs: Vec<&str> = ext.iter().map(String::as_str).collect();
    let steps = with(
        vec![Step::reply("220 mx"), Step::expect("EHLO"), Step::Send(ehlo_reply("mx", &refs))],
        [Step::expect("AUTH PLAIN "), Step::reply("235 ok")],
    );
    let (res, r) = scripted(steps, |s| {
        let l = s.login(USER, PASS, true);
        (l, s.features().len())
    });
    res.0.unwrap();
    assert!(res.1 <= 256, "features kept: {}", res.1);
    r.assert_ok();
    assert_eq!(r.lines[1], format!("AUTH PLAIN {}", plain_blob(USER, PASS)));
}

/// Case 35: SIZE values that do not parse mean "no limit known" (and SIZE= is still counted
/// by the library); a repeated SIZE keeps the first.
#[test]
fn case35_odd_size_values() {
    for size in ["SIZE 99999999999999999999999", "SIZE -1", "SIZE 1e9", "SIZE 0", "SIZE 10 20"] {
        let steps = with(greet_and_ehlo(&[size]), lockstep_ok());
        let (res, r) = scripted(steps, |s| s.sendmail(FROM, &[TO], MSG, &[], &[]));
        res.unwrap_or_else(|e| panic!("{size}: {e}"));
        r.assert_ok();
        assert_eq!(r.lines[1], "MAIL FROM:<a@example.test> SIZE=18", "{size}");
    }
    let steps = greet_and_ehlo(&["SIZE 10", "SIZE 99999"]);
    let (res, r) = scripted(steps, |s| s.sendmail(FROM, &[TO], MSG, &[], &[]).unwrap_err().kind());
    assert_eq!(res, ErrorKind::MessageTooLarge);
    assert_eq!(r.wire_str(), EHLO);
}

/// Case 35: keywords with odd bytes are not extensions: an escape sequence or a DEL glued to
/// STARTTLS does not make it offered.
#[test]
fn case35_keywords_with_odd_bytes_are_ignored() {
    let reply =
        b"250-mx\r\n250-\x1b[31mSTARTTLS\r\n250-STARTTLS\x7f\r\n250-STARTTLS\xff\r\n250 PIPELINING\r\n".to_vec();
    let steps = vec![
        Step::reply("220 mx"),
        Step::expect("EHLO"),
        Step::Send(reply),
        Step::expect("QUIT"),
        Step::reply("221 bye"),
    ];
    let mut s = session();
    s.set_tls_policy(TlsPolicy::Required);
    let (res, r) = scripted_with(steps, s, |s| s.sendmail(FROM, &[TO], MSG, &[], &[]).unwrap_err().kind());
    assert_eq!(res, ErrorKind::TlsRequired);
    r.assert_ok();
    assert_eq!(r.wire_str(), format!("{EHLO}QUIT\r\n"));
}

/// Cases 36 and 37 mid-session: every malformed reply line to EHLO is Protocol, the session
/// closed without QUIT; EOF in the middle of a code is a lost connection.
#[test]
fn case36_malformed_reply_codes_mid_session() {
    let bad: Vec<&[u8]> = vec![
        b"2_5 ok\r\n",
        b" 25 ok\r\n",
        b"+25 ok\r\n",
        b"-25 x\r\n",
        b"25\r\n",
        b"2\r\n",
        b"\r\n",
        b"2500 ok\r\n",
        b"250ok\r\n",
        b"250\t\r\n",
        b"0xx\r\n",
        b"100 x\r\n",
        b"199 x\r\n",
        b"600 x\r\n",
        b"999 x\r\n",
        b"250-a\r\n550 b\r\n",
        b"250-a\r\n251 b\r\n",
    ];
    for line in bad {
        let steps = vec![Step::reply("220 mx"), Step::expect("EHLO"), Step::send(line), Step::ReadUntilClose];
        let (res, r) = scripted(steps, |s| (s.ehlo(None).map_err(|e| e.kind()), s.is_connected()));
        assert_eq!(res.0.unwrap_err(), ErrorKind::Protocol, "{:?}", txt(line));
        assert!(!res.1);
        r.assert_ok();
        assert_eq!(r.wire_str(), EHLO, "{:?}", txt(line));
    }
    let steps = vec![Step::reply("220 mx"), Step::expect("EHLO"), Step::send("25"), Step::Close];
    let (res, r) = scripted(steps, |s| (s.ehlo(None).map_err(|e| e.kind()), s.is_connected()));
    assert_eq!(res, (Err(ErrorKind::ServerDisconnected), false));
    assert_eq!(r.wire_str(), EHLO);
    // a bare code is a complete reply
    let steps = vec![Step::reply("220 mx"), Step::expect("EHLO"), Step::send("250\r\n")];
    let (res, _) = scripted(steps, |s| s.ehlo(None).map(|r| r.code()));
    assert_eq!(res.unwrap(), 250);
}

/// Writes to fd 2 while `f` runs are captured and returned (the default debug output goes
/// straight to the stderr file descriptor).
fn capture_stderr(f: impl FnOnce()) -> Vec<u8> {
    let mut fds = [0; 2];
    // SAFETY: plain POSIX calls on descriptors this function owns; fd 2 is restored before return.
    unsafe {
        assert_eq!(libc::pipe(fds.as_mut_ptr()), 0);
        let saved = libc::dup(2);
        assert!(saved >= 0);
        let reader = {
            let rfd = fds[0];
            thread::spawn(move || {
                let mut out = Vec::new();
                let mut buf = [0u8; 4096];
                loop {
                    let n = libc::read(rfd, buf.as_mut_ptr().cast(), buf.len());
                    if n <= 0 {
                        break;
                    }
                    out.extend_from_slice(&buf[..n as usize]);
                }
                libc::close(rfd);
                out
            })
        };
        libc::dup2(fds[1], 2);
        libc::close(fds[1]);
        f();
        libc::dup2(saved, 2);
        libc::close(saved);
        reader.join().unwrap()
    }
}

/// Case 38: control bytes and invalid UTF-8 in reply text: no panic, the text kept (invalid
/// UTF-8 replaced), and the default debug output escapes every control byte.
#[test]
fn case38_control_bytes_and_invalid_utf8_in_replies() {
    let nasty = b"250 ok \x1b[2J\x1b]0;pwned\x07 \xff\xfe\xc3 end\r\n".to_vec();
    let steps = vec![Step::reply("220 mx"), Step::expect("NOOP"), Step::Send(nasty.clone())];
    let mut out = None;
    let err = capture_stderr(|| {
        let mut s = session();
        s.set_debug_level(1);
        let (res, r) = scripted_with(steps, s, |s| s.noop().unwrap());
        r.assert_ok();
        out = Some(res);
    });
    let reply = out.unwrap();
    assert_eq!(reply.code(), 250);
    let text = reply.text();
    assert!(text.contains("\x1b[2J") && text.contains("end"), "{text:?}");
    assert!(text.contains('\u{fffd}'), "{text:?}");
    assert!(contains(&err, b"\\x1b[2J"), "escaped in the log: {:?}", txt(&err));
    assert!(!err.iter().any(|&b| b == 0x1b || b == 0x07), "raw control bytes reached stderr: {:?}", txt(&err));
}

/// After `setup` (which leaves one surplus reply, "250 extra", queued behind a real one), the
/// next command's reply must be its own ("250 real"), or the surplus must be reported as
/// Protocol; the surplus is never taken as the next command's reply.
fn assert_no_desync(what: &str, steps: Vec<Step>, setup: impl FnOnce(&mut Session) -> smtpclient::Result<()>) {
    let steps = with(steps, [Step::expect("NOOP"), Step::reply("250 real")]);
    let (res, _) = scripted(steps, |s| match setup(s) {
        Err(e) => Err(e.kind()),
        Ok(()) => s.noop().map(|r| r.text()).map_err(|e| e.kind()),
    });
    match res {
        Err(k) => assert_eq!(k, ErrorKind::Protocol, "{what}"),
        Ok(text) => assert_eq!(text, "real", "{what}: a surplus reply was taken as the reply to NOOP"),
    }
}

/// Case 39: two replies to one command.
#[test]
fn case39_surplus_reply_to_a_command_is_not_taken_for_the_next() {
    let steps = vec![Step::reply("220 mx"), Step::expect("NOOP"), Step::reply("250 ok\n250 extra")];
    assert_no_desync("two replies to NOOP", steps, |s| s.noop().map(drop));
}

/// Case 39: a reply whose text holds a bare LF and a second reply.
#[test]
fn case39_reply_embedded_in_reply_text_is_not_taken_for_the_next() {
    let steps = vec![Step::reply("220 mx"), Step::expect("NOOP"), Step::send("250 ok\n250 extra\r\n")];
    assert_no_desync("bare LF in reply text", steps, |s| s.noop().map(drop));
}

/// Case 39: a reply sent behind the greeting, before the client said anything.
#[test]
fn case39_reply_behind_the_greeting_is_not_taken_for_ehlo() {
    let steps = vec![
        Step::send("220 mx ESMTP\r\n250-fake\r\n250 AUTH PLAIN\r\n"),
        Step::expect("EHLO"),
        Step::Send(ehlo_reply("real", &["STARTTLS"])),
        Step::expect("QUIT"),
        Step::reply("221 bye"),
    ];
    let (res, r) = scripted_unconnected(steps, session(), |s, addr| {
        s.connect(addr, 0).and_then(|_| s.ehlo(None)).map(|r| r.lines()[0].clone()).map_err(|e| e.kind())
    });
    match res {
        Err(k) => {
            assert_eq!(k, ErrorKind::Protocol);
            assert_eq!(r.wire_str(), "", "refused at the greeting, before EHLO");
        }
        Ok(first) => assert_eq!(first, "real", "the injected reply was taken as the EHLO reply"),
    }
}

/// Case 39: a surplus reply behind AUTH's 235.
#[test]
fn case39_surplus_reply_after_auth_is_not_taken_for_the_next() {
    let steps = with(greet_and_ehlo(&["AUTH PLAIN"]), [Step::expect("AUTH PLAIN"), Step::reply("235 ok\n250 extra")]);
    assert_no_desync("after 235", steps, |s| s.login(USER, PASS, true));
}

/// Case 39: a surplus reply behind the reply to the end of data.
#[test]
fn case39_surplus_reply_after_the_end_of_data_is_not_taken_for_the_next() {
    let mut steps = greet_and_ehlo(&[]);
    steps.extend(lockstep_ok());
    steps.pop();
    steps.push(Step::reply("250 queued\n250 extra"));
    assert_no_desync("after end of data", steps, |s| s.sendmail(FROM, &[TO], MSG, &[], &[]));
}

// =============================================================================================
// G. Timeouts, disconnects, limits, LMTP
// =============================================================================================

/// Case 40: a server that stalls, or drips, in the middle of its EHLO reply: Timeout once
/// the reply's deadline has passed, counted from when EHLO was sent.
#[test]
fn case40_stall_or_drip_mid_ehlo_times_out() {
    let mut drip = vec![Step::reply("220 mx"), Step::expect("EHLO"), Step::send("250-mx\r\n")];
    for b in b"250-PIPELINING\r\n250 SIZE 1000\r\n" {
        drip.push(Step::sleep_ms(150));
        drip.push(Step::Send(vec![*b]));
    }
    let stall = vec![Step::reply("220 mx"), Step::expect("EHLO"), Step::send("250-mx\r\n"), Step::sleep_ms(1500)];
    for (what, steps) in [("stall", stall), ("drip", drip)] {
        let timeout = Duration::from_millis(800);
        let mut s = session();
        s.set_timeout(Some(timeout));
        let (res, r) = scripted_with(steps, s, |s| {
            let start = Instant::now();
            let e = s.ehlo(None).unwrap_err();
            (e.kind(), start.elapsed(), s.is_connected())
        });
        assert_eq!(res.0, ErrorKind::Timeout, "{what}");
        assert!(res.1 >= timeout && res.1 < timeout + Duration::from_millis(500), "{what}: {:?}", res.1);
        assert!(!res.2);
        assert_eq!(r.wire_str(), EHLO, "{what}");
    }
}

/// Case 41: EOF in the middle of a multi-line reply, and a reset during EHLO and during
/// AUTH: ServerDisconnected, the session closed, nothing more sent, no new connection.
#[test]
fn case41_disconnects_mid_reply_and_resets() {
    // EOF after "250-SIZE 10" (faults::disconnect_mid_reply_is_server_disconnected, with the wire)
    let steps = vec![Step::reply("220 mx"), Step::expect("EHLO"), Step::send("250-mx\r\n250-SIZE 10\r\n"), Step::Close];
    let (res, r) = scripted(steps, |s| {
        let e = s.sendmail(FROM, &[TO], MSG, &[], &[]).unwrap_err().kind();
        (e, s.is_connected())
    });
    assert_eq!(res, (ErrorKind::ServerDisconnected, false));
    assert_eq!(r.wire_str(), EHLO);

    let server = RawServer::start(|mut tcp, wire| {
        tcp.write_all(b"220 mx ESMTP\r\n").unwrap();
        raw_line(&mut tcp, wire);
        tcp.write_all(b"250-mx\r\n250-PIPE").unwrap();
        thread::sleep(Duration::from_millis(50));
        reset(tcp);
    });
    let mut s = session();
    s.connect(&server.addr, 0).unwrap();
    let e = s.ehlo(None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ServerDisconnected, "{e}");
    assert!(!s.is_connected());
    drop(s);
    let (wire, again) = server.finish();
    assert_eq!(txt(&wire), EHLO);
    assert!(!again);

    let server = RawServer::start(|mut tcp, wire| {
        tcp.write_all(b"220 mx ESMTP\r\n").unwrap();
        raw_line(&mut tcp, wire);
        tcp.write_all(&ehlo_reply("mx", &["AUTH PLAIN"])).unwrap();
        raw_line(&mut tcp, wire);
        reset(tcp);
    });
    let mut s = session();
    s.connect(&server.addr, 0).unwrap();
    let e = s.login(USER, PASS, true).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ServerDisconnected, "{e}");
    assert!(!s.is_connected());
    drop(s);
    let (wire, again) = server.finish();
    assert_eq!(txt(&wire), format!("{EHLO}AUTH PLAIN {}\r\n", plain_blob(USER, PASS)));
    assert!(!again);
}

/// Case 42 (a): the connection lost while the body is going out: ServerDisconnected, "not
/// delivered", and no terminator, RSET or QUIT after.
#[test]
fn case42_lost_during_the_body_is_not_delivered() {
    let steps = with(
        greet_and_ehlo(&[]),
        [
            Step::expect("MAIL"),
            Step::reply("250 ok"),
            Step::expect("RCPT"),
            Step::reply("250 ok"),
            Step::expect("DATA"),
            Step::reply("354 go"),
            Step::ReadBytes(1000),
            Step::Close,
        ],
    );
    let body = vec![b'x'; 8 << 20];
    let (res, r) = scripted(steps, |s| (s.sendmail(FROM, &[TO], &body, &[], &[]).unwrap_err(), s.is_connected()));
    assert_eq!(res.0.kind(), ErrorKind::ServerDisconnected, "{}", res.0);
    assert!(res.0.message().contains("not delivered"), "{}", res.0);
    assert!(!res.1);
    let head = format!("{EHLO}MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n");
    assert!(r.wire.starts_with(head.as_bytes()));
    assert!(r.wire[head.len()..].iter().all(|&b| b == b'x'), "only body bytes after DATA");
}

/// Case 42 (b) on the pipelined paths: lost after the final `.` (DATA) or the `BDAT … LAST`
/// chunk and before the reply: DeliveryUnknown, nothing sent after, nothing retried.
#[test]
fn case42_lost_after_the_end_of_the_message_is_delivery_unknown() {
    let data = with(
        greet_and_ehlo(&["PIPELINING"]),
        [
            Step::expect("MAIL"),
            Step::expect("RCPT"),
            Step::expect("DATA"),
            Step::reply("250 ok\n250 ok\n354 go"),
            Step::ExpectData,
            Step::Close,
        ],
    );
    let bdat_no_replies = with(
        greet_and_ehlo(&["PIPELINING", "CHUNKING"]),
        [Step::expect("MAIL"), Step::expect("RCPT"), Step::expect("BDAT 18 LAST"), Step::ReadBytes(18), Step::Close],
    );
    let bdat_after_rcpt = with(
        greet_and_ehlo(&["PIPELINING", "CHUNKING"]),
        [
            Step::expect("MAIL"),
            Step::expect("RCPT"),
            Step::expect("BDAT 18 LAST"),
            Step::ReadBytes(18),
            Step::reply("250 ok\n250 ok"),
            Step::Close,
        ],
    );
    for (what, steps, last) in [
        ("pipelined DATA", data, "\r\n.\r\n"),
        ("BDAT, no reply at all", bdat_no_replies, "BDAT 18 LAST\r\nSubject: t\r\n\r\nhi\r\n"),
        ("BDAT, MAIL and RCPT answered", bdat_after_rcpt, "BDAT 18 LAST\r\nSubject: t\r\n\r\nhi\r\n"),
    ] {
        let (res, r) = scripted(steps, |s| (s.sendmail(FROM, &[TO], MSG, &[], &[]).unwrap_err(), s.is_connected()));
        assert_eq!(res.0.kind(), ErrorKind::DeliveryUnknown, "{what}: {}", res.0);
        assert!(!res.1, "{what}");
        r.assert_ok();
        assert!(r.wire_str().ends_with(last), "{what}: {}", r.wire_str());
        assert_eq!(r.wire_str().matches("MAIL FROM").count(), 1, "{what}: no resend");
    }
}

/// Case 43: 421 at each stage, lock-step and pipelined: the kind carrying the 421, the
/// session closed at once (no RSET, no QUIT), per-recipient results so far kept.
#[test]
fn case43_421_closes_at_once_at_every_stage() {
    // EHLO
    let steps = vec![Step::reply("220 mx"), Step::expect("EHLO"), Step::reply("421 4.3.2 bye"), Step::ReadUntilClose];
    let (res, r) = scripted(steps, |s| (s.sendmail(FROM, &[TO], MSG, &[], &[]).unwrap_err(), s.is_connected()));
    assert_eq!((res.0.kind(), res.0.reply().map(|r| r.code()), res.1), (ErrorKind::Helo, Some(421), false));
    assert_eq!(r.wire_str(), EHLO, "no HELO after 421");

    // lock-step RCPT, second of three
    let steps = with(
        greet_and_ehlo(&[]),
        [
            Step::expect("MAIL"),
            Step::reply("250 ok"),
            Step::expect("RCPT TO:<b@example.test>"),
            Step::reply("250 ok"),
            Step::expect("RCPT TO:<c@example.test>"),
            Step::reply("421 4.3.2 bye"),
            Step::ReadUntilClose,
        ],
    );
    let (res, r) = scripted(steps, |s| {
        let e = s.sendmail(FROM, &[TO, "c@example.test", "d@example.test"], MSG, &[], &[]).unwrap_err();
        let kept: Vec<(String, u16)> =
            s.recipients().iter().map(|r| (r.address().to_owned(), r.rcpt_reply().code())).collect();
        (e, kept, s.is_connected())
    });
    assert_eq!((res.0.kind(), res.0.reply().map(|r| r.code())), (ErrorKind::RecipientsRefused, Some(421)));
    assert_eq!(res.1, [("b@example.test".to_owned(), 250), ("c@example.test".to_owned(), 421)]);
    assert!(!res.2);
    assert_eq!(
        r.wire_str(),
        format!("{EHLO}MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nRCPT TO:<c@example.test>\r\n")
    );

    // pipelined: 421 to MAIL, and to the second RCPT
    let batch = "MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nRCPT TO:<c@example.test>\r\nDATA\r\n";
    for (what, replies, kind, kept) in [
        ("MAIL", "421 4.3.2 bye", ErrorKind::SenderRefused, vec![]),
        ("RCPT", "250 ok\n250 ok\n421 4.3.2 bye", ErrorKind::RecipientsRefused, vec![250, 421]),
    ] {
        let steps = with(
            greet_and_ehlo(&["PIPELINING"]),
            [
                Step::expect("MAIL"),
                Step::expect("RCPT"),
                Step::expect("RCPT"),
                Step::expect("DATA"),
                Step::reply(replies),
                Step::ReadUntilClose,
            ],
        );
        let (res, r) = scripted(steps, |s| {
            let e = s.sendmail(FROM, &[TO, "c@example.test"], MSG, &[], &[]).unwrap_err();
            let codes: Vec<u16> = s.recipients().iter().map(|r| r.rcpt_reply().code()).collect();
            (e, codes, s.is_connected())
        });
        assert_eq!((res.0.kind(), res.0.reply().map(|r| r.code())), (kind, Some(421)), "{what}");
        assert_eq!(res.1, kept, "{what}");
        assert!(!res.2, "{what}");
        r.assert_ok();
        assert_eq!(r.wire_str(), format!("{EHLO}{batch}"), "{what}: nothing after the batch");
    }

    // LMTP: 421 in place of the second recipient's reply after the data
    let steps = vec![
        Step::reply("220 lmtp"),
        Step::expect("LHLO"),
        Step::Send(ehlo_reply("lmtp", &[])),
        Step::expect("MAIL"),
        Step::reply("250 ok"),
        Step::expect("RCPT"),
        Step::reply("250 ok"),
        Step::expect("RCPT"),
        Step::reply("250 ok"),
        Step::expect("RCPT"),
        Step::reply("250 ok"),
        Step::expect("DATA"),
        Step::reply("354 go"),
        Step::ExpectData,
        Step::reply("250 2.0.0 a saved\n421 4.3.2 shutting down"),
        Step::ReadUntilClose,
    ];
    let (res, r) = scripted_with(steps, lmtp_session(), |s| {
        let e = s.sendmail(FROM, &["a@x.test", "b@x.test", "c@x.test"], MSG, &[], &[]).unwrap_err();
        let got: Vec<Option<u16>> = s.recipients().iter().map(|r| r.data_reply().map(|d| d.code())).collect();
        (e.kind(), got, s.is_connected())
    });
    assert_eq!(res, (ErrorKind::DeliveryUnknown, vec![Some(250), Some(421), None], false));
    r.assert_ok();
    assert!(r.wire_str().ends_with("\r\n.\r\n"), "{}", r.wire_str());
}

/// Case 45: DATA answered with anything but 354: no body byte, the refusal reported with its
/// code, RSET; the session stays usable.
#[test]
fn case45_data_answered_without_354_sends_no_body() {
    for reply in ["250 2.0.0 ok", "451 4.3.0 try later", "334 VXNlcm5hbWU6", "554 5.5.1 no"] {
        let steps = with(
            greet_and_ehlo(&[]),
            [
                Step::expect("MAIL"),
                Step::reply("250 ok"),
                Step::expect("RCPT"),
                Step::reply("250 ok"),
                Step::expect("DATA"),
                Step::reply(reply),
                Step::expect("RSET"),
                Step::reply("250 ok"),
                Step::expect("NOOP"),
                Step::reply("250 ok"),
            ],
        );
        let (res, r) = scripted(steps, |s| {
            let e = s.sendmail(FROM, &[TO], MSG, &[], &[]).unwrap_err();
            s.noop().unwrap();
            e
        });
        let code: u16 = reply[..3].parse().unwrap();
        assert_eq!((res.kind(), res.reply().map(|r| r.code())), (ErrorKind::Data, Some(code)), "{reply}");
        r.assert_ok();
        assert_eq!(
            r.wire_str(),
            format!("{EHLO}MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\nRSET\r\nNOOP\r\n"),
            "{reply}"
        );
    }
}

/// Case 46: LMTP, three recipients accepted, per-recipient replies 250, 452, 250; exactly
/// three are read, and the next transaction on the connection is in step.
#[test]
fn case46_lmtp_per_recipient_replies_exact_wire() {
    let steps = vec![
        Step::reply("220 lmtp.test LMTP"),
        Step::expect("LHLO client.example.test"),
        Step::Send(ehlo_reply("lmtp.test", &["ENHANCEDSTATUSCODES"])),
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
        Step::reply("250 2.0.0 <a@x.test> saved\n452 4.2.2 <b@x.test> over quota\n250 2.0.0 <c@x.test> saved"),
        Step::expect("MAIL"),
        Step::reply("250 ok"),
        Step::expect("RCPT TO:<d@x.test>"),
        Step::reply("250 ok"),
        Step::expect("DATA"),
        Step::reply("354 go"),
        Step::ExpectData,
        Step::reply("250 2.0.0 <d@x.test> saved"),
    ];
    let (res, r) = scripted_with(steps, lmtp_session(), |s| {
        s.sendmail(FROM, &["a@x.test", "b@x.test", "c@x.test"], MSG, &[], &[]).unwrap();
        let first: Vec<(String, Option<u16>)> =
            s.recipients().iter().map(|r| (r.address().to_owned(), r.data_reply().map(|d| d.code()))).collect();
        let refused: Vec<(String, u16)> = s.refused().map(|(a, r)| (a.to_owned(), r.code())).collect();
        s.sendmail(FROM, &["d@x.test"], MSG, &[], &[]).unwrap();
        let second: Vec<Option<String>> = s.recipients().iter().map(|r| r.data_reply().map(|d| d.text())).collect();
        (first, refused, second)
    });
    assert_eq!(
        res.0,
        [("a@x.test".to_owned(), Some(250)), ("b@x.test".to_owned(), Some(452)), ("c@x.test".to_owned(), Some(250))]
    );
    assert_eq!(res.1, [("b@x.test".to_owned(), 452)]);
    assert_eq!(res.2, [Some("2.0.0 <d@x.test> saved".to_owned())], "the second transaction is not shifted");
    r.assert_ok();
    let tx = |rcpts: &[&str]| {
        let mut t = "MAIL FROM:<a@example.test>\r\n".to_owned();
        for r in rcpts {
            t.push_str(&format!("RCPT TO:<{r}>\r\n"));
        }
        t + "DATA\r\nSubject: t\r\n\r\nhi\r\n.\r\n"
    };
    assert_eq!(
        r.wire_str(),
        format!("LHLO client.example.test\r\n{}{}", tx(&["a@x.test", "b@x.test", "c@x.test"]), tx(&["d@x.test"]))
    );
}

/// Case 46: more per-recipient replies than accepted recipients is Protocol, never a shift
/// of the next transaction's replies.
#[test]
fn case46_lmtp_surplus_reply_is_protocol() {
    let steps = vec![
        Step::reply("220 lmtp.test LMTP"),
        Step::expect("LHLO"),
        Step::Send(ehlo_reply("lmtp.test", &[])),
        Step::expect("MAIL"),
        Step::reply("250 ok"),
        Step::expect("RCPT"),
        Step::reply("250 ok"),
        Step::expect("RCPT"),
        Step::reply("250 ok"),
        Step::expect("DATA"),
        Step::reply("354 go"),
        Step::ExpectData,
        Step::reply("250 2.0.0 a saved\n250 2.0.0 b saved\n250 extra"),
    ];
    let mut s = lmtp_session();
    s.set_timeout(Some(Duration::from_millis(800)));
    assert_no_desync_with(s, steps, |s| s.sendmail(FROM, &["a@x.test", "b@x.test"], MSG, &[], &[]));
}

fn assert_no_desync_with(s: Session, steps: Vec<Step>, setup: impl FnOnce(&mut Session) -> smtpclient::Result<()>) {
    let steps = with(steps, [Step::expect("NOOP"), Step::reply("250 real")]);
    let (res, _) = scripted_with(steps, s, |s| match setup(s) {
        Err(e) => Err(e.kind()),
        Ok(()) => s.noop().map(|r| r.text()).map_err(|e| e.kind()),
    });
    match res {
        Err(k) => assert_eq!(k, ErrorKind::Protocol),
        Ok(text) => assert_eq!(text, "real", "a surplus reply was taken as the reply to NOOP"),
    }
}
