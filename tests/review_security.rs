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
use smtpclient::session::SessionKind;
use smtpclient::{ErrorKind, Session};
use support::{greet_and_ehlo, ScriptResult, ScriptedServer, Step};

const HELLO: &str = "client.example.test";
const EHLO: &str = "EHLO client.example.test\r\n";
const FROM: &str = "a@example.test";
const TO: &str = "b@example.test";
const MSG: &[u8] = b"Subject: t\r\n\r\nhi\r\n";
const USER: &str = "alice";
const PASS: &str = "alice-pass";

fn session() -> Session {
    let mut s = Session::new(SessionKind::Smtp);
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

fn plain_blob(user: &str, pass: &str) -> String {
    B64.encode(format!("\0{user}\0{pass}"))
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
