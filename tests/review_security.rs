//! Security review of the session: the TLS policy on every entry point, secrets in the last
//! reply, address and hello-name syntax, SMTPUTF8 without the extension, VRFY / EXPN
//! arguments, AUTH outcomes and `login`'s attempts, debug escaping and command-line lengths.
//!
//! Each test plays the server with the scripted server of `tests/support` (which records the
//! exact bytes the client wrote) or uses the real Postfix of the test bed where a real server
//! shows the behaviour.

mod support;

use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use smtpclient::auth::AuthStep;
use smtpclient::session::{DebugKind, SessionKind};
use smtpclient::tls::TlsPolicy;
use smtpclient::{ErrorKind, Session};
use support::{greet_and_ehlo, unique_marker, ScriptResult, ScriptedServer, Step, TestBed};

const HELLO: &str = "client.example.test";
const EHLO: &str = "EHLO client.example.test\r\n";
const FROM: &str = "a@example.test";
const TO: &str = "b@example.test";
const MSG: &[u8] = b"Subject: t\r\n\r\nhi\r\n";
const USER: &str = "alice";
const PASS: &str = "alice-pass";

fn session() -> Session {
    let mut s = support::new_session(SessionKind::Smtp);
    s.set_local_hostname(Some(HELLO)).unwrap();
    s.set_timeout(Some(Duration::from_secs(3)));
    s
}

/// Play `steps`, give `f` a connected session, drop it (closing the connection) and return
/// `f`'s result and what the server saw.
fn scripted<T>(steps: Vec<Step>, mut s: Session, f: impl FnOnce(&mut Session) -> T) -> (T, ScriptResult) {
    let server = ScriptedServer::tcp(steps);
    s.connect(&server.addr(), 0).expect("connect to the scripted server");
    let out = f(&mut s);
    drop(s);
    (out, server.finish())
}

fn with(mut steps: Vec<Step>, more: impl IntoIterator<Item = Step>) -> Vec<Step> {
    steps.extend(more);
    steps
}

fn quit() -> [Step; 2] {
    [Step::expect("QUIT"), Step::reply("221 bye")]
}

fn plain_blob(user: &str, pass: &str) -> String {
    B64.encode(format!("\0{user}\0{pass}"))
}

// =============================================================================================
// 1. Required TLS on every command that carries mail or credentials
// =============================================================================================

/// An entry point that sends mail or credentials, by name.
type EntryPoint = (&'static str, fn(&mut Session) -> Result<(), ErrorKind>);

fn entry_points() -> Vec<EntryPoint> {
    fn kind<T>(r: smtpclient::Result<T>) -> Result<(), ErrorKind> {
        r.map(drop).map_err(|e| e.kind())
    }
    vec![
        ("mail", |s| kind(s.mail(FROM, &[]))),
        ("rcpt", |s| kind(s.rcpt(TO, &[]))),
        ("data", |s| kind(s.data(MSG))),
        ("docmd MAIL", |s| kind(s.docmd("MAIL", "FROM:<a@example.test>"))),
        ("docmd whole line", |s| kind(s.docmd("rcpt TO:<b@example.test>", ""))),
        ("verify", |s| kind(s.verify(TO))),
        ("expn", |s| kind(s.expn("list"))),
        ("sendmail (BDAT)", |s| kind(s.sendmail(FROM, &[TO], MSG, &[], &[]))),
        ("send_message", |s| {
            kind(s.send_message(b"From: a@example.test\r\nTo: b@example.test\r\n\r\nhi\r\n", None, None, &[], &[]))
        }),
        ("login", |s| kind(s.login(USER, PASS, true))),
        ("auth", |s| kind(s.auth("PLAIN", &mut |_, _| AuthStep::Respond(b"\0alice\0alice-pass".to_vec()), true))),
    ]
}

/// The server's EHLO reply: everything but STARTTLS (CHUNKING, so sendmail would use BDAT).
const NO_STARTTLS: [&str; 4] = ["PIPELINING", "CHUNKING", "AUTH PLAIN", "SMTPUTF8"];

#[track_caller]
fn assert_refused_before_anything(name: &str, res: Result<(), ErrorKind>, r: &ScriptResult, expected_wire: &str) {
    assert_eq!(res, Err(ErrorKind::TlsRequired), "{name}: wire {:?}", r.wire_str());
    assert_eq!(r.wire_str(), expected_wire, "{name}: only the greeting, STARTTLS and QUIT may go out");
    r.assert_ok();
}

/// After a hand-made EHLO whose reply offers no STARTTLS, every entry point fails with
/// TlsRequired having sent nothing but QUIT.
#[test]
fn required_tls_after_a_hand_made_ehlo_without_starttls_sends_only_quit() {
    for (name, call) in entry_points() {
        let steps = with(greet_and_ehlo(&NO_STARTTLS), quit());
        let mut s = session();
        s.set_tls_policy(TlsPolicy::Required);
        let (res, r) = scripted(steps, s, |s| {
            s.ehlo(None).unwrap();
            call(s)
        });
        assert_refused_before_anything(name, res, &r, &format!("{EHLO}QUIT\r\n"));
    }
}

/// After a hand-made HELO (which cannot offer STARTTLS) the same.
#[test]
fn required_tls_after_a_hand_made_helo_sends_only_quit() {
    for (name, call) in entry_points() {
        let steps = with(vec![Step::reply("220 mx ESMTP"), Step::expect("HELO "), Step::reply("250 mx")], quit());
        let mut s = session();
        s.set_tls_policy(TlsPolicy::Required);
        let (res, r) = scripted(steps, s, |s| {
            s.helo(None).unwrap();
            call(s)
        });
        assert_refused_before_anything(name, res, &r, "HELO client.example.test\r\nQUIT\r\n");
    }
}

/// Without any greeting, the low-level calls greet first and then apply the policy.
#[test]
fn required_tls_without_a_greeting_greets_then_sends_only_quit() {
    for (name, call) in entry_points() {
        let steps = with(greet_and_ehlo(&NO_STARTTLS), quit());
        let mut s = session();
        s.set_tls_policy(TlsPolicy::Required);
        let (res, r) = scripted(steps, s, call);
        assert_refused_before_anything(name, res, &r, &format!("{EHLO}QUIT\r\n"));
    }
}

/// When the server offers STARTTLS after a hand-made EHLO, STARTTLS comes first; refused, the
/// call fails having sent nothing but QUIT.
#[test]
fn required_tls_sends_starttls_before_any_envelope() {
    let mut ext = vec!["STARTTLS"];
    ext.extend(NO_STARTTLS);
    for (name, call) in entry_points() {
        let steps = with(
            greet_and_ehlo(&ext),
            with(vec![Step::expect("STARTTLS"), Step::reply("454 4.7.0 TLS not available")], quit()),
        );
        let mut s = session();
        s.set_tls_policy(TlsPolicy::Required);
        let (res, r) = scripted(steps, s, |s| {
            s.ehlo(None).unwrap();
            call(s)
        });
        assert_refused_before_anything(name, res, &r, &format!("{EHLO}STARTTLS\r\nQUIT\r\n"));
    }
}

/// Against Postfix with a verified certificate: a hand-made EHLO, then MAIL, RCPT and DATA
/// by hand go out over TLS (STARTTLS is done by the first of them) and the message arrives.
#[test]
fn required_tls_low_level_transaction_goes_over_tls_with_postfix() {
    let bed = TestBed::get();
    let mut s = session();
    s.set_timeout(Some(Duration::from_secs(20)));
    s.tls_config_mut().ca_file = Some(bed.smtp_ca_file.clone());
    s.set_tls_policy(TlsPolicy::Required);
    s.connect(&format!("localhost:{}", bed.smtp_port), 0).unwrap();
    s.ehlo(None).unwrap();
    assert!(s.has_extn("starttls") && s.tls_info().is_none());
    assert_eq!(s.mail("alice@example.test", &[]).unwrap().code(), 250);
    assert!(s.tls_info().is_some_and(|t| t.verified), "MAIL went out without TLS");
    assert_eq!(s.rcpt("alice@example.test", &[]).unwrap().code(), 250);
    let marker = unique_marker("review-required-tls");
    let msg = format!("From: alice@example.test\r\nTo: alice@example.test\r\nSubject: {marker}\r\n\r\n{marker}\r\n");
    assert_eq!(s.data(msg.as_bytes()).unwrap().code(), 250);
    s.quit().unwrap();
    assert!(bed.wait_for_postfix_mail("alice", &marker, Duration::from_secs(15)).is_some(), "{marker} not delivered");
}

// =============================================================================================
// 2. A secret echoed in a reply never stays in the last reply
// =============================================================================================

/// The server echoes the password in its 535 and sends more bytes behind it: the session
/// fails on the surplus, and the last reply it keeps is the scrubbed one.
#[test]
fn echoed_password_is_scrubbed_from_the_last_reply_even_when_surplus_bytes_follow() {
    let steps = with(
        greet_and_ehlo(&["AUTH PLAIN"]),
        [
            Step::expect("AUTH PLAIN"),
            Step::send(format!("535 5.7.8 bad password {PASS} for {}\r\n250 surplus\r\n", plain_blob(USER, PASS))),
        ],
    );
    let (res, r) = scripted(steps, session(), |s| {
        let e = s.login(USER, PASS, true).unwrap_err();
        let last = s.last_reply().map(|r| (r.code(), r.text())).unwrap();
        (e, last)
    });
    let (e, (code, text)) = res;
    assert_eq!(e.kind(), ErrorKind::Protocol, "{e}");
    assert!(!e.message().contains(PASS), "{e}");
    assert_eq!(code, 535);
    assert!(!text.contains(PASS), "the password survives in the last reply: {text:?}");
    assert!(!text.contains(&plain_blob(USER, PASS)), "the response survives in the last reply: {text:?}");
    assert!(text.contains("[redacted]"), "{text:?}");
    r.assert_ok();
}

// =============================================================================================
// 3. Quotes in an address
// =============================================================================================

/// An unbalanced quote does not make the rest of the address, parameters included, "quoted".
#[test]
fn unbalanced_quotes_never_reach_the_wire() {
    let bad = ["\"a@victim.test NOTIFY=NEVER", "\"a b@c.test", "x\"@y z@w.test", "\"a\"b@c.test"];
    let steps = with(greet_and_ehlo(&["DSN"]), [Step::expect("NOOP"), Step::reply("250 ok")]);
    let (kinds, r) = scripted(steps, session(), |s| {
        s.ehlo(None).unwrap();
        let mut kinds = Vec::new();
        for b in bad {
            kinds.push(s.mail(b, &[]).map(drop).map_err(|e| e.kind()));
            kinds.push(s.rcpt(b, &[]).map(drop).map_err(|e| e.kind()));
            kinds.push(s.sendmail(FROM, &[b], MSG, &[], &[]).map_err(|e| e.kind()));
            kinds.push(s.sendmail(b, &[TO], MSG, &[], &[]).map_err(|e| e.kind()));
        }
        s.noop().unwrap();
        kinds
    });
    assert!(kinds.iter().all(|k| *k == Err(ErrorKind::InvalidArgument)), "{kinds:?}");
    assert_eq!(r.wire_str(), format!("{EHLO}NOOP\r\n"));
    r.assert_ok();
}

/// A properly quoted local part with a space still goes out, quotes and all.
#[test]
fn a_quoted_local_part_is_sent_as_given() {
    let steps = with(greet_and_ehlo(&[]), [Step::expect("RCPT TO:<\"a b\"@c.test>"), Step::reply("250 ok")]);
    let (res, r) = scripted(steps, session(), |s| {
        s.ehlo(None).unwrap();
        s.rcpt("\"a b\"@c.test", &[]).map(|r| r.code())
    });
    assert_eq!(res.unwrap(), 250);
    r.assert_ok();
}

// =============================================================================================
// 7. AUTH outcomes: only 235 is success
// =============================================================================================

/// A 503 to AUTH is a failed exchange, for `login` and for `auth`.
#[test]
fn reply_503_to_auth_is_an_authentication_failure() {
    for use_login in [true, false] {
        let steps = with(
            greet_and_ehlo(&["AUTH PLAIN"]),
            [Step::expect("AUTH PLAIN"), Step::reply("503 5.5.1 Error: already authenticated")],
        );
        let (res, r) = scripted(steps, session(), |s| {
            let res = if use_login {
                s.login(USER, PASS, true)
            } else {
                s.auth("PLAIN", &mut |_, _| AuthStep::Respond(format!("\0{USER}\0{PASS}").into_bytes()), true)
            };
            (res, s.is_authenticated())
        });
        let (res, authenticated) = res;
        let e = res.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Authentication, "{e}");
        assert_eq!(e.reply().map(|r| r.code()), Some(503));
        assert!(!authenticated);
        r.assert_ok();
    }
}

/// Any final reply but 235 is a failure: 2xx others, 3xx other than 334, 4xx, 5xx.
#[test]
fn only_235_ends_an_auth_exchange_successfully() {
    for reply in ["250 2.0.0 ok", "220 hello", "354 go on", "454 4.7.0 try later", "501 5.5.2 cannot decode"] {
        let steps = with(greet_and_ehlo(&["AUTH PLAIN"]), [Step::expect("AUTH PLAIN"), Step::reply(reply)]);
        let (res, r) = scripted(steps, session(), |s| (s.login(USER, PASS, true), s.is_authenticated()));
        let e = res.0.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Authentication, "{reply}: {e}");
        assert!(!res.1, "{reply}");
        r.assert_ok();
    }
}

// =============================================================================================
// 11. login: one attempt on wrong credentials; the next mechanism only when the mechanism failed
// =============================================================================================

/// The test CA (in a file the session is pointed at) and a leaf for 127.0.0.1 it signed.
struct Pki {
    ca_file: std::path::PathBuf,
    leaf: support::certs::Identity,
    _dir: support::TempDir,
}

fn pki() -> &'static Pki {
    static PKI: std::sync::OnceLock<Pki> = std::sync::OnceLock::new();
    PKI.get_or_init(|| {
        let dir = support::TempDir::new("smtpclient-review-pki");
        let ca = support::certs::new_ca("review test CA");
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, ca.cert.to_pem().unwrap()).unwrap();
        let leaf = support::certs::leaf("localhost", &["DNS:localhost", "IP:127.0.0.1"], Some(&ca), -1, 30);
        Pki { ca_file, leaf, _dir: dir }
    })
}

/// What `verified_tls_server` reports: the lines the client sent over TLS, and the mismatches.
type TlsTranscript = std::thread::JoinHandle<(Vec<String>, Vec<String>)>;

/// A one-connection server that offers STARTTLS, does the handshake with a certificate the
/// session verifies, answers EHLO over TLS with `extensions`, then for each `(prefix, reply)`
/// reads a line (a mismatch unless it starts with `prefix`) and sends `reply`. It returns every
/// line the client sent over TLS, and the mismatches.
fn verified_tls_server(
    extensions: &'static [&'static str],
    exchange: Vec<(&'static str, String)>,
) -> (String, TlsTranscript) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let mut acceptor =
        openssl::ssl::SslAcceptor::mozilla_intermediate_v5(openssl::ssl::SslMethod::tls_server()).unwrap();
    acceptor.set_certificate(&pki().leaf.0).unwrap();
    acceptor.set_private_key(&pki().leaf.1).unwrap();
    let acceptor = acceptor.build();
    let handle = std::thread::spawn(move || {
        let (mut tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut plain = BufReader::new(tcp.try_clone().unwrap());
        let mut line = String::new();
        tcp.write_all(b"220 mx.review.test ESMTP\r\n").unwrap();
        plain.read_line(&mut line).unwrap();
        tcp.write_all(&support::ehlo_reply("mx.review.test", &["STARTTLS"])).unwrap();
        line.clear();
        plain.read_line(&mut line).unwrap();
        assert_eq!(line, "STARTTLS\r\n");
        tcp.write_all(b"220 2.0.0 go ahead\r\n").unwrap();
        let mut tls = BufReader::new(acceptor.accept(tcp).unwrap());
        let mut lines = Vec::new();
        let mut mismatches = Vec::new();
        let mut read = |tls: &mut BufReader<openssl::ssl::SslStream<std::net::TcpStream>>| {
            let mut l = String::new();
            tls.read_line(&mut l).ok().filter(|&n| n > 0)?;
            lines.push(l.trim_end().to_owned());
            Some(l)
        };
        read(&mut tls);
        tls.get_mut().write_all(&support::ehlo_reply("mx.review.test", extensions)).unwrap();
        for (prefix, reply) in exchange {
            match read(&mut tls) {
                Some(l) if l.starts_with(prefix) => {}
                other => mismatches.push(format!("expected {prefix:?}, got {other:?}")),
            }
            tls.get_mut().write_all(support::lines(&reply).as_slice()).unwrap();
        }
        while read(&mut tls).is_some() {}
        (lines, mismatches)
    });
    (addr, handle)
}

/// Log in over verified TLS against `verified_tls_server`; the result and the AUTH lines sent.
fn login_over_verified_tls(
    extensions: &'static [&'static str],
    exchange: Vec<(&'static str, String)>,
    password: &str,
) -> (smtpclient::Result<()>, Vec<String>) {
    let (addr, server) = verified_tls_server(extensions, exchange);
    let mut s = session();
    s.tls_config_mut().ca_file = Some(pki().ca_file.clone());
    s.connect(&addr, 0).unwrap();
    s.starttls().unwrap();
    assert!(s.tls_info().is_some_and(|t| t.verified));
    let res = s.login(USER, password, true);
    drop(s);
    let (lines, mismatches) = server.join().unwrap();
    assert!(mismatches.is_empty(), "{mismatches:?}\nclient sent: {lines:?}");
    (res, lines.into_iter().filter(|l| l.starts_with("AUTH")).collect())
}

const ALL_THREE: &[&str] = &["AUTH CRAM-MD5 PLAIN LOGIN"];

fn challenge() -> String {
    format!("334 {}", B64.encode("<1896.697170952@mx.review.test>"))
}

/// A 535 to the first mechanism ends login, over verified TLS too: one failed attempt only.
#[test]
fn wrong_password_is_one_attempt_even_over_verified_tls() {
    let exchange = vec![("AUTH CRAM-MD5", challenge()), ("", "535 5.7.8 Error: authentication failed".into())];
    let (res, auths) = login_over_verified_tls(ALL_THREE, exchange, "wrong-password");
    let e = res.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Authentication, "{e}");
    assert_eq!(e.reply().map(|r| r.code()), Some(535));
    assert_eq!(auths, ["AUTH CRAM-MD5"]);
    assert!(e.message().contains("CRAM-MD5") && e.message().contains("535"), "{e}");
}

/// When the mechanism itself fails (504, 534, 538), the next one is tried; the error names each
/// mechanism with its reply, and a 535 still stops the sequence.
#[test]
fn a_failed_mechanism_moves_on_and_the_error_names_every_attempt() {
    let exchange = vec![
        ("AUTH CRAM-MD5", "504 5.5.4 mechanism not available".to_owned()),
        ("AUTH PLAIN", "535 5.7.8 Error: authentication failed".to_owned()),
    ];
    let (res, auths) = login_over_verified_tls(ALL_THREE, exchange, "wrong-password");
    let e = res.unwrap_err();
    assert_eq!(auths, ["AUTH CRAM-MD5", &format!("AUTH PLAIN {}", plain_blob(USER, "wrong-password"))]);
    assert_eq!(e.kind(), ErrorKind::Authentication);
    assert_eq!(e.reply().map(|r| r.code()), Some(535));
    let m = e.message();
    assert!(m.contains("CRAM-MD5 failed: 504") && m.contains("PLAIN failed: 535"), "{m}");
    assert!(!m.contains("wrong-password") && !m.contains("LOGIN"), "{m}");

    let exchange = vec![
        ("AUTH CRAM-MD5", "534 5.7.9 too weak".to_owned()),
        ("AUTH PLAIN", "538 5.7.11 encryption required".to_owned()),
        ("AUTH LOGIN", "235 2.7.0 ok".to_owned()),
    ];
    let (res, auths) = login_over_verified_tls(ALL_THREE, exchange, PASS);
    res.unwrap();
    assert_eq!(auths.len(), 3, "{auths:?}");
}

/// A malformed challenge is a broken mechanism: cancelled, then the next one is tried.
#[test]
fn a_malformed_challenge_moves_on_to_the_next_mechanism() {
    let exchange = vec![
        ("AUTH CRAM-MD5", "334 not*base64".to_owned()),
        ("*", "501 5.7.0 cancelled".to_owned()),
        ("AUTH PLAIN", "235 2.7.0 ok".to_owned()),
    ];
    let (res, auths) = login_over_verified_tls(ALL_THREE, exchange, PASS);
    res.unwrap();
    assert_eq!(auths, ["AUTH CRAM-MD5", &format!("AUTH PLAIN {}", plain_blob(USER, PASS))]);
}

/// Without verified TLS a failed mechanism is still the end (no downgrade), and a 454 (a
/// temporary failure, not a mechanism one) ends login over verified TLS too.
#[test]
fn other_refusals_end_login() {
    let exchange = vec![("AUTH CRAM-MD5", "454 4.7.0 temporary authentication failure".to_owned())];
    let (res, auths) = login_over_verified_tls(ALL_THREE, exchange, PASS);
    assert_eq!(res.unwrap_err().reply().map(|r| r.code()), Some(454));
    assert_eq!(auths, ["AUTH CRAM-MD5"]);

    let steps = with(greet_and_ehlo(ALL_THREE), [Step::expect("AUTH CRAM-MD5"), Step::reply("504 5.5.4 no")]);
    let (res, r) = scripted(steps, session(), |s| s.login(USER, PASS, true));
    assert_eq!(res.unwrap_err().reply().map(|r| r.code()), Some(504));
    assert_eq!(r.wire_str().matches("AUTH").count(), 1, "{}", r.wire_str());
    r.assert_ok();
}

// =============================================================================================
// 10. Empty addresses and angle brackets: one rule on every path
// =============================================================================================

/// A call that takes an envelope address, by name.
type AddressCall = (&'static str, fn(&mut Session, &str) -> Result<(), ErrorKind>);

/// Every call that takes an envelope address, as sender or as recipient.
fn address_calls() -> Vec<AddressCall> {
    fn kind<T>(r: smtpclient::Result<T>) -> Result<(), ErrorKind> {
        r.map(drop).map_err(|e| e.kind())
    }
    vec![
        ("mail", |s, a| kind(s.mail(a, &[]))),
        ("rcpt", |s, a| kind(s.rcpt(a, &[]))),
        ("sendmail from", |s, a| kind(s.sendmail(a, &[TO], MSG, &[], &[]))),
        ("sendmail to", |s, a| kind(s.sendmail(FROM, &[a], MSG, &[], &[]))),
        ("send_message from", |s, a| kind(s.send_message(MSG, Some(a), Some(&[TO]), &[], &[]))),
        ("send_message to", |s, a| kind(s.send_message(MSG, Some(FROM), Some(&[a]), &[], &[]))),
    ]
}

/// `<` and `>` anywhere in an address given to the library are refused, before any byte.
#[test]
fn angle_brackets_are_refused_on_every_path() {
    let steps = with(greet_and_ehlo(&[]), [Step::expect("NOOP"), Step::reply("250 ok")]);
    let (kinds, r) = scripted(steps, session(), |s| {
        s.ehlo(None).unwrap();
        let mut kinds = Vec::new();
        for (name, call) in address_calls() {
            for a in ["<b@example.test>", "<>", "b@example.test>", "<b@example.test"] {
                kinds.push((name, a, call(s, a)));
            }
        }
        s.noop().unwrap();
        kinds
    });
    for (name, a, k) in kinds {
        assert_eq!(k, Err(ErrorKind::InvalidArgument), "{name} {a:?}");
    }
    assert_eq!(r.wire_str(), format!("{EHLO}NOOP\r\n"));
}

/// An empty recipient is refused everywhere; an empty sender is the null reverse-path.
#[test]
fn empty_recipient_is_refused_and_empty_sender_is_the_null_reverse_path() {
    let steps = with(
        greet_and_ehlo(&[]),
        [
            Step::expect("MAIL FROM:<>"),
            Step::reply("250 ok"),
            Step::expect("RCPT TO:<b@example.test>"),
            Step::reply("250 ok"),
            Step::expect("DATA"),
            Step::reply("354 go"),
            Step::ExpectData,
            Step::reply("250 queued"),
            Step::expect("MAIL FROM:<>"),
            Step::reply("250 ok"),
        ],
    );
    let (kinds, r) = scripted(steps, session(), |s| {
        s.ehlo(None).unwrap();
        let mut kinds = Vec::new();
        for (name, call) in address_calls().into_iter().filter(|(n, _)| !n.contains("from") && *n != "mail") {
            for a in ["", "  "] {
                kinds.push((name, call(s, a)));
            }
        }
        s.sendmail("", &[TO], MSG, &[], &[]).unwrap();
        s.mail("", &[]).unwrap();
        kinds
    });
    for (name, k) in kinds {
        assert_eq!(k, Err(ErrorKind::InvalidArgument), "{name}");
    }
    r.assert_ok();
    assert!(!r.wire_str().contains("RCPT TO:<>"), "{}", r.wire_str());
}

// =============================================================================================
// 9. Command lines: 512 octets plus the allowances of advertised extensions the line uses
// =============================================================================================

/// `SIZE=100` and an `X-PAD` option making a MAIL line of exactly `len` octets (CRLF included).
fn padded_mail_options(len: usize) -> Vec<String> {
    let fixed = format!("MAIL FROM:<{FROM}> SIZE=100 X-PAD=\r\n").len();
    vec!["SIZE=100".to_owned(), format!("X-PAD={}", "p".repeat(len - fixed))]
}

/// Just under and just over the limit with SIZE advertised (512 + 26), and the same line to
/// a server that does not advertise SIZE (512 only): only lines within the limit go out.
#[test]
fn mail_line_length_counts_only_advertised_allowances() {
    let cases = [(&["SIZE 1000000"][..], 538, true), (&["SIZE 1000000"][..], 539, false), (&[][..], 538, false)];
    for (extensions, len, sent) in cases {
        let mut steps = greet_and_ehlo(extensions);
        if sent {
            steps.extend([Step::expect("MAIL FROM:"), Step::reply("250 ok")]);
        }
        steps.extend([Step::expect("NOOP"), Step::reply("250 ok")]);
        let options = padded_mail_options(len);
        let (res, r) = scripted(steps, session(), |s| {
            s.ehlo(None).unwrap();
            let options: Vec<&str> = options.iter().map(String::as_str).collect();
            let res = s.mail(FROM, &options).map(|r| r.code()).map_err(|e| e.kind());
            s.noop().unwrap();
            res
        });
        r.assert_ok();
        if sent {
            assert_eq!(res, Ok(250));
            assert_eq!(r.lines[1].len() + 2, len);
        } else {
            assert_eq!(res, Err(ErrorKind::InvalidArgument), "{extensions:?} {len}");
            assert!(!r.wire_str().contains("MAIL"), "{}", r.wire_str());
        }
    }
}

/// A 600-octet MAIL line made long by a caller's own parameter, which no extension allows
/// for: refused before anything is sent, in the lock-step and the pipelined paths alike.
#[test]
fn a_600_octet_mail_line_is_refused_before_sending() {
    let long = format!("X-LONG={}", "v".repeat(600 - format!("MAIL FROM:<{FROM}> X-LONG=\r\n").len()));
    for extensions in [&["SIZE 1000000", "DSN", "AUTH PLAIN"][..], &["PIPELINING", "SIZE 1000000"][..]] {
        let steps = with(greet_and_ehlo(extensions), [Step::expect("NOOP"), Step::reply("250 ok")]);
        let (res, r) = scripted(steps, session(), |s| {
            s.ehlo(None).unwrap();
            let res = [
                s.mail(FROM, &[&long]).map(drop).map_err(|e| e.kind()),
                s.sendmail(FROM, &[TO], MSG, &[&long], &[]).map_err(|e| e.kind()),
            ];
            s.noop().unwrap();
            res
        });
        assert_eq!(res, [Err(ErrorKind::InvalidArgument); 2], "{extensions:?}");
        assert_eq!(r.wire_str(), format!("{EHLO}NOOP\r\n"));
    }
}

// =============================================================================================
// 4. A non-ASCII address never goes out without SMTPUTF8
// =============================================================================================

/// The server's side of a greeting, the client's, and what the client sends for it.
type Greeting = (Vec<Step>, fn(&mut Session), &'static str);

/// After HELO (nothing advertised), before any greeting, and after an EHLO without SMTPUTF8,
/// MAIL with a UTF-8 sender and the SMTPUTF8 option is NotSupported and nothing is sent.
#[test]
fn utf8_sender_without_the_extension_is_not_supported_before_sending() {
    let greetings: [Greeting; 3] = [
        (
            vec![Step::reply("220 mx ESMTP"), Step::expect("HELO "), Step::reply("250 mx")],
            |s| drop(s.helo(None).unwrap()),
            "HELO client.example.test\r\n",
        ),
        (vec![Step::reply("220 mx ESMTP")], |_| {}, ""),
        (greet_and_ehlo(&["8BITMIME"]), |s| drop(s.ehlo(None).unwrap()), EHLO),
    ];
    for (steps, greet, wire) in greetings {
        let steps = with(steps, [Step::expect("NOOP"), Step::reply("250 ok")]);
        let (res, r) = scripted(steps, session(), |s| {
            greet(s);
            let res = s.mail("jörg@example.test", &["SMTPUTF8"]).map(|r| r.code()).map_err(|e| e.kind());
            s.noop().unwrap();
            res
        });
        assert_eq!(res, Err(ErrorKind::NotSupported), "after {wire:?}");
        assert_eq!(r.wire_str(), format!("{wire}NOOP\r\n"));
    }
}

// =============================================================================================
// 5. The HELO / EHLO name is one word of visible ASCII
// =============================================================================================

/// TAB, ESC, DEL, a non-breaking space and non-ASCII are refused by helo, ehlo and
/// set_local_hostname, before anything is sent.
#[test]
fn hello_names_with_invisible_or_non_ascii_characters_are_refused() {
    let bad = ["a\tb", "mx\x1b[2J.example", "mx\x7f", "a\u{a0}b", "jörg.example", "", "a b"];
    let steps = with(vec![Step::reply("220 mx ESMTP")], [Step::expect("NOOP"), Step::reply("250 ok")]);
    let (kinds, r) = scripted(steps, session(), |s| {
        let mut kinds = Vec::new();
        for b in bad {
            kinds.push((b, s.helo(Some(b)).map(drop).map_err(|e| e.kind())));
            kinds.push((b, s.ehlo(Some(b)).map(drop).map_err(|e| e.kind())));
            kinds.push((b, s.set_local_hostname(Some(b)).map_err(|e| e.kind())));
        }
        s.noop().unwrap();
        kinds
    });
    for (b, k) in kinds {
        assert_eq!(k, Err(ErrorKind::InvalidArgument), "{b:?}");
    }
    assert_eq!(r.wire_str(), "NOOP\r\n");
}

// =============================================================================================
// 6. VRFY and EXPN send the bare address, as smtplib does
// =============================================================================================

/// `verify` and `expn` send what smtplib's `_addr_only` (email.utils.parseaddr) finds.
#[test]
fn verify_and_expn_send_the_bare_address() {
    let sent = [
        ("Bob Smith <bob@example.test>", "VRFY bob@example.test"),
        ("<bob@example.test>", "VRFY bob@example.test"),
        ("  bob@example.test ", "VRFY bob@example.test"),
        ("\"Smith, Bob\" <bob@example.test>", "VRFY bob@example.test"),
        ("postmaster", "VRFY postmaster"),
        // a name without a domain in brackets: smtplib's parseaddr gives "postmaster"
        ("<postmaster>", "VRFY postmaster"),
        ("Postmaster <postmaster>", "EXPN postmaster"),
        ("Staff <staff@example.test>", "EXPN staff@example.test"),
        ("staff", "EXPN staff"),
    ];
    let mut steps = vec![Step::reply("220 mx ESMTP")];
    for (_, line) in sent {
        steps.extend([Step::expect(line), Step::reply("252 cannot verify")]);
    }
    let (res, r) = scripted(steps, session(), |s| {
        sent.iter()
            .map(|(arg, line)| {
                let reply = if line.starts_with("VRFY") { s.verify(arg) } else { s.expn(arg) };
                reply.map(|r| r.code()).map_err(|e| e.kind())
            })
            .collect::<Vec<_>>()
    });
    r.assert_ok();
    assert!(res.iter().all(|r| *r == Ok(252)), "{res:?}");
    let lines: Vec<&str> = sent.iter().map(|(_, l)| *l).collect();
    assert_eq!(r.lines, lines);
}

/// What is left after extraction follows the address rule: no unquoted space, not empty, no
/// brackets, one address.
#[test]
fn verify_and_expn_refuse_what_is_not_one_address() {
    let bad = [
        "Bob Smith",
        "",
        "  ",
        "<>",
        "<post master>",
        "a@example.test, b@example.test",
        "postmaster, abuse",
        "a@b.test\r\nRCPT TO:<x@y>",
    ];
    let steps = with(vec![Step::reply("220 mx ESMTP")], [Step::expect("NOOP"), Step::reply("250 ok")]);
    let (kinds, r) = scripted(steps, session(), |s| {
        let mut kinds = Vec::new();
        for b in bad {
            kinds.push((b, s.verify(b).map(drop).map_err(|e| e.kind())));
            kinds.push((b, s.expn(b).map(drop).map_err(|e| e.kind())));
        }
        s.noop().unwrap();
        kinds
    });
    for (b, k) in kinds {
        assert_eq!(k, Err(ErrorKind::InvalidArgument), "{b:?}");
    }
    assert_eq!(r.wire_str(), "NOOP\r\n");
}

// =============================================================================================
// 8. Server bytes reach a debug callback escaped, as on stderr
// =============================================================================================

/// Debug events a sink collected: kind and data.
type Events = std::sync::Arc<std::sync::Mutex<Vec<(DebugKind, Vec<u8>)>>>;

/// ESC, BEL and other controls in replies (plain commands and AUTH alike) reach the debug
/// callback escaped; the bytes the library sends are passed as they are.
#[test]
fn server_control_bytes_reach_the_debug_callback_escaped() {
    let steps = with(
        greet_and_ehlo(&["AUTH PLAIN"]),
        [
            Step::expect("NOOP"),
            Step::send("250-mx \x1b[2J\x1b]0;pwned\x07\r\n250 ok \x7f\t\\\r\n"),
            Step::expect("AUTH PLAIN"),
            Step::send("535 5.7.8 no \x1b[31mred\r\n"),
        ],
    );
    let events: Events = Default::default();
    let sink = events.clone();
    let mut s = session();
    s.set_debug_level(1);
    s.set_debug_sink(Some(Box::new(move |e| sink.lock().unwrap().push((e.kind, e.data.to_vec())))));
    let (_, r) = scripted(steps, s, |s| {
        s.ehlo(None).unwrap();
        s.noop().unwrap();
        s.login(USER, PASS, true).unwrap_err();
    });
    r.assert_ok();
    let events = events.lock().unwrap();
    let received: Vec<String> = events
        .iter()
        .filter(|(k, _)| *k == DebugKind::Received)
        .map(|(_, d)| String::from_utf8(d.clone()).expect("escaped data is ASCII"))
        .collect();
    for line in &received {
        assert!(line.bytes().all(|b| (0x20..=0x7e).contains(&b)), "unescaped byte in {line:?}");
    }
    assert!(received.contains(&"250-mx \\x1b[2J\\x1b]0;pwned\\x07\\r\\n".to_owned()), "{received:?}");
    assert!(received.contains(&"250 ok \\x7f\\t\\\\\\r\\n".to_owned()), "{received:?}");
    assert!(received.iter().any(|l| l.starts_with("535 5.7.8 no \\x1b[31mred")), "{received:?}");
    assert!(events.iter().any(|(k, d)| *k == DebugKind::Sent && d == b"NOOP\r\n"), "sent bytes stay raw");
}
