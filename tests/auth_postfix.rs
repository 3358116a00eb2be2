//! SMTP AUTH: `login`, `auth` with a callback, `login_oauth`, and the credential policy.
//!
//! Against the real Postfix of the test bed (SASL through Dovecot: SCRAM-SHA-256, SCRAM-SHA-1,
//! PLAIN, LOGIN, CRAM-MD5 before TLS on the loopback port; AUTH only after STARTTLS on submission), and against the
//! scripted server for the exact wire bytes and for hostile or broken exchanges. The C API
//! (`smtp_client_login`, `smtp_client_auth` with a C callback, the policy setters) is exercised through
//! the exported symbols.

mod support;

use std::ffi::{c_char, c_void, CStr, CString};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use smtpclient::auth::{AuthStep, OAuthMechanism};
use smtpclient::capi::auth::{smtp_cleartext_credentials, smtp_initial_response, smtp_local_peer};
use smtpclient::session::{CredentialPolicy, DebugKind, SessionKind};
use smtpclient::{ErrorKind, Session};
use support::{contains, greet_and_ehlo, unique_marker, ScriptResult, ScriptedServer, Step, TestBed};

const HELLO: &str = "client.example.test";
const WAIT: Duration = Duration::from_secs(15);
const USER: &str = "alice";
const PASS: &str = "alice-pass";

fn b64(data: &[u8]) -> String {
    B64.encode(data)
}

/// A loopback source address of its own for every connection. The authentication server
/// slows down every login from an address after failed ones from it (to the point where
/// Postfix gives up with 454), and tests here and elsewhere fail logins on purpose.
fn own_source_address() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let seed = u64::from(std::process::id()).wrapping_mul(2_654_435_761) ^ u64::from(nanos / 1000);
    static SEED: OnceLock<u64> = OnceLock::new();
    let seed = *SEED.get_or_init(|| seed);
    format!("127.{}.{}.{}", 1 + seed % 250, 1 + (seed / 250) % 250, 1 + n % 250)
}

fn new_session() -> Session {
    let mut s = support::new_session(SessionKind::Smtp);
    s.set_local_hostname(Some(HELLO)).unwrap();
    s.set_source_address(Some((&own_source_address(), 0))).unwrap();
    s.set_timeout(Some(Duration::from_secs(20)));
    s
}

fn postfix() -> Session {
    let mut s = new_session();
    s.connect(&TestBed::get().smtp_addr(), 0).expect("connect to Postfix");
    s
}

fn message(marker: &str, to: &str) -> Vec<u8> {
    format!("From: alice@example.test\r\nTo: {to}\r\nSubject: {marker}\r\n\r\nbody of {marker}\r\n").into_bytes()
}

fn delivered(user: &str, marker: &str) -> Vec<u8> {
    let bed = TestBed::get();
    bed.wait_for_postfix_mail(user, marker, WAIT)
        .unwrap_or_else(|| panic!("{marker} not delivered to {user}\n{}", bed.postfix_log_tail(20)))
}

/// A closure for `auth()` that computes one built-in mechanism from fixed credentials, the
/// way a caller would write it.
fn mechanism_callback(
    mech: &'static str,
    user: &'static str,
    pass: &'static str,
) -> impl FnMut(Option<&[u8]>, bool) -> AuthStep {
    let mut calls = 0;
    move |challenge, _tls| {
        calls += 1;
        match mech {
            "PLAIN" => AuthStep::Respond(format!("\0{user}\0{pass}").into_bytes()),
            "LOGIN" => {
                if calls == 1 {
                    AuthStep::Respond(user.as_bytes().to_vec())
                } else {
                    AuthStep::Respond(pass.as_bytes().to_vec())
                }
            }
            "CRAM-MD5" => match challenge {
                None => AuthStep::NoInitialResponse,
                Some(c) => {
                    let digest = smtpclient::auth::cram_md5_digest(pass, c);
                    AuthStep::Respond(format!("{user} {}", digest.as_str()).into_bytes())
                }
            },
            _ => AuthStep::Abort(-99),
        }
    }
}

/// Debug events collected from a session.
type Events = Arc<Mutex<Vec<(DebugKind, Vec<u8>)>>>;

fn capture_debug(s: &mut Session, level: u8) -> Events {
    let events: Events = Arc::default();
    let sink = events.clone();
    s.set_debug_level(level);
    s.set_debug_sink(Some(Box::new(move |e| sink.lock().unwrap().push((e.kind, e.data.to_vec())))));
    events
}

fn assert_no_secret(events: &Events, secrets: &[&str]) {
    let ev = events.lock().unwrap();
    assert!(!ev.is_empty(), "no debug events");
    for (kind, data) in ev.iter() {
        for secret in secrets {
            assert!(
                !contains(data, secret.as_bytes()),
                "debug event {kind:?} {:?} contains {secret:?}",
                String::from_utf8_lossy(data)
            );
        }
    }
}

/// Connect a session to `server`, run `f`, drop the session (closing the connection) and
/// return what the server saw.
fn scripted<T>(server: ScriptedServer, f: impl FnOnce(&mut Session) -> T) -> (T, ScriptResult) {
    scripted_with(server, |_| {}, f)
}

fn scripted_with<T>(
    server: ScriptedServer,
    setup: impl FnOnce(&mut Session),
    f: impl FnOnce(&mut Session) -> T,
) -> (T, ScriptResult) {
    let mut s = new_session();
    s.set_timeout(Some(Duration::from_secs(5)));
    setup(&mut s);
    s.connect(&server.addr(), 0).expect("connect to the scripted server");
    let out = f(&mut s);
    drop(s);
    (out, server.finish())
}

fn script(ext: &[&str], rest: Vec<Step>) -> ScriptedServer {
    let mut steps = greet_and_ehlo(ext);
    steps.extend(rest);
    ScriptedServer::tcp(steps)
}

fn auth_lines(r: &ScriptResult) -> Vec<String> {
    r.wire_str().split("\r\n").filter(|l| l.to_ascii_uppercase().starts_with("AUTH")).map(str::to_owned).collect()
}

// =============================================================================================
// Postfix
// =============================================================================================

#[test]
fn login_uses_scram_sha256_and_mail_carries_the_authenticated_sender() {
    let mut s = postfix();
    assert!(!s.is_authenticated());
    s.login(USER, PASS, true).expect("login alice");
    assert_eq!(s.last_reply().unwrap().code(), 235);
    assert!(s.is_authenticated());
    // one AUTH per connection: a second login is refused before anything is sent
    assert_eq!(s.login("bob", "bob-pass", true).unwrap_err().kind(), smtpclient::ErrorKind::BadState);
    let marker = unique_marker("auth-login");
    s.sendmail("alice@example.test", &["alice@example.test"], &message(&marker, "alice@example.test"), &[], &[])
        .unwrap();
    s.quit().unwrap();
    let mail = String::from_utf8_lossy(&delivered("alice", &marker)).into_owned();
    assert!(mail.contains("Authenticated sender: alice"), "no authenticated sender in:\n{mail}");
    // Postfix logs the mechanism against the queue id named in the Received header
    let queue_id = mail
        .split("with ESMTPSA id ")
        .nth(1)
        .or_else(|| mail.split("with ESMTPA id ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no ESMTPA queue id in:\n{mail}"))
        .trim_end_matches(';')
        .to_owned();
    let bed = TestBed::get();
    let needle = format!("{queue_id}: client=");
    let log = std::fs::read_to_string(&bed.postfix_log).unwrap_or_default();
    let line = log.lines().find(|l| l.contains(&needle)).unwrap_or_else(|| panic!("{needle} not in the Postfix log"));
    assert!(line.contains("sasl_method=SCRAM-SHA-256") && line.contains("sasl_username=alice"), "{line}");
}

#[test]
fn each_mechanism_through_auth_right_and_wrong_credentials() {
    for mech in ["PLAIN", "LOGIN", "CRAM-MD5"] {
        for initial_response_ok in [true, false] {
            let mut s = postfix();
            let mut cb = mechanism_callback(mech, USER, PASS);
            s.auth(mech, &mut cb, initial_response_ok)
                .unwrap_or_else(|e| panic!("{mech} (initial response {initial_response_ok}): {e}"));
            assert_eq!(s.last_reply().unwrap().code(), 235, "{mech}");
            s.quit().unwrap();

            let mut s = postfix();
            let mut cb = mechanism_callback(mech, USER, "wrong-password-123");
            let e = s.auth(mech, &mut cb, initial_response_ok).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Authentication, "{mech}: {e}");
            assert_eq!(e.reply().unwrap().code(), 535, "{mech}: {e}");
            assert!(!e.message().contains("wrong-password-123"), "{}", e.message());
            assert!(e.message().contains("535"), "{}", e.message());
            // the session is still usable: the right password now works
            assert!(s.is_connected());
            let mut cb = mechanism_callback(mech, USER, PASS);
            s.auth(mech, &mut cb, initial_response_ok).unwrap();
            s.quit().unwrap();
        }
    }
}

#[test]
fn login_with_wrong_password_is_authentication_error_without_the_password() {
    let mut s = postfix();
    let e = s.login(USER, "not-alices-password", true).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Authentication, "{e}");
    assert_eq!(e.reply().unwrap().code(), 535);
    assert!(e.message().contains("SCRAM-SHA-256"), "the failing mechanism is named: {}", e.message());
    assert!(!e.message().contains("not-alices-password"));
    // plain loopback TCP is not verified TLS: no fallback to PLAIN / LOGIN was attempted
    assert!(s.is_connected());
    s.login(USER, PASS, true).unwrap();
    s.quit().unwrap();
}

#[test]
fn utf8_credentials_via_plain_and_login() {
    let mut s = postfix();
    let mut cb = mechanism_callback("PLAIN", "utf8", "pässwörd ✓");
    s.auth("plain", &mut cb, true).expect("UTF-8 PLAIN");
    s.quit().unwrap();
    let mut s = postfix();
    s.login("utf8", "pässwörd ✓", true).expect("UTF-8 login (SCRAM-SHA-256, sent unnormalised)");
    s.quit().unwrap();
    let mut s = postfix();
    let mut cb = mechanism_callback("PLAIN", "utf8", "passwörd ✓");
    assert_eq!(s.auth("PLAIN", &mut cb, true).unwrap_err().kind(), ErrorKind::Authentication);
}

#[test]
fn relay_needs_authentication() {
    let marker = unique_marker("auth-relay");
    let msg = message(&marker, "x@elsewhere.test");
    let mut s = postfix();
    let e = s.sendmail("alice@example.test", &["x@elsewhere.test"], &msg, &[], &[]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RecipientsRefused, "{e}");
    assert_eq!(s.recipients()[0].rcpt_reply().code(), 554);
    s.login(USER, PASS, true).unwrap();
    s.sendmail("alice@example.test", &["x@elsewhere.test"], &msg, &[], &[]).expect("authenticated relay");
    s.quit().unwrap();
}

#[test]
fn debug_output_never_shows_credentials() {
    let plain_blob = b64(b"\0alice\0alice-pass");
    let pass_b64 = b64(PASS.as_bytes());
    // login (SCRAM-SHA-256, the strongest offered) at level 2
    let mut s = new_session();
    let events = capture_debug(&mut s, 2);
    s.connect(&TestBed::get().smtp_addr(), 0).unwrap();
    let cram: Arc<Mutex<Vec<String>>> = Arc::default();
    s.login(USER, PASS, true).unwrap();
    s.quit().unwrap();
    {
        let ev = events.lock().unwrap();
        assert!(ev.iter().any(|(k, d)| *k == DebugKind::Sent && d == b"AUTH SCRAM-SHA-256 [redacted]\r\n"));
        assert!(ev.iter().any(|(k, d)| *k == DebugKind::Sent && d == b"[redacted]\r\n"));
        assert!(ev.iter().any(|(k, d)| *k == DebugKind::Received && d.starts_with(b"334 [challenge redacted]")));
        assert!(ev.iter().any(|(k, d)| *k == DebugKind::Received && d.starts_with(b"235 ")));
    }
    assert_no_secret(&events, &[PASS, &plain_blob, &pass_b64]);

    // PLAIN with an initial response, LOGIN in two steps, CRAM-MD5 by callback
    for (mech, iro) in [("PLAIN", true), ("PLAIN", false), ("LOGIN", false), ("LOGIN", true), ("CRAM-MD5", true)] {
        let mut s = new_session();
        let events = capture_debug(&mut s, 2);
        s.connect(&TestBed::get().smtp_addr(), 0).unwrap();
        let seen = cram.clone();
        let mut inner = mechanism_callback(mech, USER, PASS);
        let mut cb = move |c: Option<&[u8]>, tls: bool| {
            let step = inner(c, tls);
            if let AuthStep::Respond(r) = &step {
                seen.lock().unwrap().push(b64(r));
                seen.lock().unwrap().push(String::from_utf8_lossy(r).into_owned());
            }
            step
        };
        s.auth(mech, &mut cb, iro).unwrap();
        s.quit().unwrap();
        if mech == "PLAIN" && iro {
            let ev = events.lock().unwrap();
            assert!(ev.iter().any(|(k, d)| *k == DebugKind::Sent && d == b"AUTH PLAIN [redacted]\r\n"), "{mech}");
        }
        let responses = cram.lock().unwrap().clone();
        let mut secrets: Vec<&str> = vec![PASS, &plain_blob, &pass_b64];
        secrets.extend(responses.iter().map(String::as_str).filter(|r| r.contains("alice-pass") || r.len() > 20));
        assert_no_secret(&events, &secrets);
        cram.lock().unwrap().clear();
    }
}

/// A chosen mechanism list against the real server: smtplib's order makes `login` use
/// CRAM-MD5 although Dovecot offers SCRAM-SHA-256 first, and Postfix logs the mechanism.
#[test]
fn chosen_login_mechanisms_are_what_the_server_sees() {
    let mut s = postfix();
    s.set_login_mechanisms(Some("CRAM-MD5 PLAIN LOGIN")).unwrap();
    s.login(USER, PASS, true).expect("login alice with smtplib's order");
    let marker = unique_marker("auth-chosen");
    s.sendmail("alice@example.test", &["alice@example.test"], &message(&marker, "alice@example.test"), &[], &[])
        .unwrap();
    s.quit().unwrap();
    let mail = String::from_utf8_lossy(&delivered("alice", &marker)).into_owned();
    let queue_id = mail
        .split("with ESMTPSA id ")
        .nth(1)
        .or_else(|| mail.split("with ESMTPA id ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no ESMTPA queue id in:\n{mail}"))
        .trim_end_matches(';')
        .to_owned();
    let needle = format!("{queue_id}: client=");
    let log = std::fs::read_to_string(&TestBed::get().postfix_log).unwrap_or_default();
    let line = log.lines().find(|l| l.contains(&needle)).unwrap_or_else(|| panic!("{needle} not in the Postfix log"));
    assert!(line.contains("sasl_method=CRAM-MD5"), "{line}");
}

#[test]
fn submission_offers_auth_only_after_starttls() {
    let bed = TestBed::get();
    let mut s = new_session();
    s.connect(&bed.submission_addr(), 0).unwrap();
    let e = s.login(USER, PASS, true).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotSupported, "{e}");
    assert_eq!(e.message(), "SMTP AUTH extension not supported by server.");
    s.quit().unwrap();
}

#[test]
fn starttls_then_login_then_deliver_on_submission() {
    let bed = TestBed::get();
    let mut s = new_session();
    s.tls_config_mut().ca_file = Some(bed.smtp_ca_file.clone());
    s.connect(&format!("localhost:{}", bed.smtp_submission_port), 0).unwrap();
    s.set_credential_policy(CredentialPolicy { allow_cleartext: false, local_peer_is_safe: false });
    s.starttls().expect("STARTTLS with the test CA");
    assert!(s.tls_info().unwrap().verified);
    assert!(s.may_send_credentials());
    s.login(USER, PASS, true).expect("login over TLS");
    let marker = unique_marker("auth-submission");
    s.sendmail("alice@example.test", &["alice@example.test"], &message(&marker, "alice@example.test"), &[], &[])
        .unwrap();
    s.quit().unwrap();
    let mail = String::from_utf8_lossy(&delivered("alice", &marker)).into_owned();
    assert!(mail.contains("Authenticated sender: alice"), "{mail}");
}

#[test]
fn wrong_password_over_verified_tls_is_one_attempt() {
    // a 535 ends login even over TLS with a verified peer: PLAIN and LOGIN would only add two
    // more failures to the account's lockout counter on the server
    let bed = TestBed::get();
    let mut s = new_session();
    s.tls_config_mut().ca_file = Some(bed.smtp_ca_file.clone());
    let events = capture_debug(&mut s, 1);
    s.connect(&format!("localhost:{}", bed.smtp_submission_port), 0).unwrap();
    s.starttls().unwrap();
    assert!(s.tls_info().unwrap().verified);
    let e = s.login(USER, "wrong-password-789", true).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Authentication, "{e}");
    assert_eq!(e.reply().unwrap().code(), 535);
    assert!(e.message().contains("AUTH SCRAM-SHA-256 failed: 535"), "the mechanism and its reply: {e}");
    assert!(!e.message().contains("PLAIN") && !e.message().contains("AUTH LOGIN"), "{e}");
    s.quit().unwrap();
    let sent: Vec<String> = events
        .lock()
        .unwrap()
        .iter()
        .filter(|(k, d)| *k == DebugKind::Sent && d.starts_with(b"AUTH"))
        .map(|(_, d)| String::from_utf8_lossy(d).trim_end().to_owned())
        .collect();
    assert_eq!(sent, ["AUTH SCRAM-SHA-256 [redacted]"], "one attempt only");
    assert_no_secret(&events, &["wrong-password-789"]);
}

#[test]
fn bearer_tokens_against_postfix_are_not_offered() {
    let mut s = postfix();
    let e = s.login_oauth(OAuthMechanism::XOAuth2, USER, "ya29.token").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Smtp, "{e}");
    assert!(e.message().starts_with("No suitable authentication method found"), "{e}");
    s.quit().unwrap();
}

// =============================================================================================
// Scripted server: exact wire and hostile exchanges
// =============================================================================================

#[test]
fn policy_refuses_cleartext_without_any_auth_byte() {
    // the exemption for local peers turned off: plain TCP to loopback is like any other peer
    let server = script(&["AUTH PLAIN LOGIN", "PIPELINING"], vec![Step::expect("QUIT"), Step::reply("221 bye")]);
    let (res, r) = scripted_with(
        server,
        |s| s.set_credential_policy(CredentialPolicy { allow_cleartext: false, local_peer_is_safe: false }),
        |s| {
            assert!(!s.may_send_credentials());
            let login = s.login(USER, PASS, true);
            let mut cb = mechanism_callback("PLAIN", USER, PASS);
            let custom = s.auth("PLAIN", &mut cb, true);
            let oauth = s.login_oauth(OAuthMechanism::XOAuth2, USER, "tok");
            assert!(s.is_connected(), "a refusal before sending keeps the connection");
            s.quit().unwrap();
            (login, custom, oauth)
        },
    );
    let (login, custom, oauth) = res;
    let e = login.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::CredentialsPolicy, "{e}");
    assert!(!e.message().contains(PASS));
    assert_eq!(custom.unwrap_err().kind(), ErrorKind::CredentialsPolicy);
    // XOAUTH2 is not advertised here: that is reported first
    assert_eq!(oauth.unwrap_err().kind(), ErrorKind::Smtp);
    r.assert_ok();
    assert!(auth_lines(&r).is_empty(), "wire: {}", r.wire_str());
    assert!(!r.wire_str().contains(&b64(b"\0alice\0alice-pass")));
}

#[test]
fn policy_external_needs_no_tls() {
    let server = script(&["AUTH EXTERNAL"], vec![Step::expect("AUTH EXTERNAL ="), Step::reply("235 2.7.0 ok")]);
    let (res, r) = scripted_with(
        server,
        |s| s.set_credential_policy(CredentialPolicy { allow_cleartext: false, local_peer_is_safe: false }),
        |s| s.auth("external", &mut |_, _| AuthStep::Respond(Vec::new()), true),
    );
    res.unwrap();
    r.assert_ok();
}

#[test]
fn allow_cleartext_lets_credentials_through() {
    let blob = b64(b"\0alice\0alice-pass");
    let server = script(
        &["AUTH PLAIN"],
        vec![Step::expect(&format!("AUTH PLAIN {blob}")), Step::reply("235 2.7.0 Authentication successful")],
    );
    let (res, r) = scripted_with(
        server,
        |s| s.set_credential_policy(CredentialPolicy { allow_cleartext: true, local_peer_is_safe: false }),
        |s| s.login(USER, PASS, true),
    );
    res.unwrap();
    r.assert_ok();
}

#[test]
fn loopback_is_allowed_by_default() {
    let server = script(&["AUTH PLAIN"], vec![Step::expect("AUTH PLAIN "), Step::reply("235 ok")]);
    let (res, r) = scripted(server, |s| {
        assert_eq!(s.credential_policy(), CredentialPolicy::default());
        assert!(s.may_send_credentials());
        s.login(USER, PASS, true)
    });
    res.unwrap();
    r.assert_ok();
}

#[test]
fn endless_challenges_are_cancelled_after_five() {
    let mut steps = vec![Step::expect("AUTH PLAIN")];
    for _ in 0..6 {
        steps.push(Step::reply("334 eA=="));
        steps.push(Step::ReadLine);
    }
    steps.push(Step::reply("501 5.7.0 cancelled"));
    let server = script(&["AUTH PLAIN"], steps);
    let calls = Arc::new(Mutex::new(0));
    let seen = calls.clone();
    let (res, r) = scripted(server, |s| {
        s.auth(
            "PLAIN",
            &mut |c, _| {
                *seen.lock().unwrap() += 1;
                assert_eq!(c, Some(&b"x"[..]));
                AuthStep::Respond(b"resp".to_vec())
            },
            false,
        )
    });
    let e = res.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Authentication, "{e}");
    assert!(e.message().contains("infinite loop"), "{e}");
    r.assert_ok();
    assert_eq!(*calls.lock().unwrap(), 5);
    let lines = &r.lines;
    assert_eq!(lines.len(), 1 + 1 + 6, "{lines:?}"); // EHLO, AUTH, 5 responses and '*'
    assert!(lines[2..7].iter().all(|l| l == &b64(b"resp")), "{lines:?}");
    assert_eq!(lines[7], "*");
}

#[test]
fn bogus_challenge_is_cancelled_and_never_falls_back() {
    // CRAM-MD5 gets rubbish; without verified TLS, PLAIN must not be tried next
    let server = script(
        &["AUTH CRAM-MD5 PLAIN LOGIN"],
        vec![
            Step::expect("AUTH CRAM-MD5"),
            Step::reply("334 !!!notbase64"),
            Step::expect("*"),
            Step::reply("501 5.7.0 Authentication aborted"),
            Step::expect("QUIT"),
            Step::reply("221 bye"),
        ],
    );
    let (res, r) = scripted(server, |s| {
        let e = s.login(USER, PASS, true).unwrap_err();
        assert!(s.is_connected(), "after a clean cancel the session stays open");
        s.quit().unwrap();
        e
    });
    assert_eq!(res.kind(), ErrorKind::Authentication, "{res}");
    assert!(res.message().contains("not valid base64"), "{res}");
    r.assert_ok();
    assert_eq!(auth_lines(&r), ["AUTH CRAM-MD5"], "one AUTH only; wire: {}", r.wire_str());
}

#[test]
fn malformed_challenges_are_refused() {
    for bad in ["334 YQ", "334 YR==", "334 Y Q==", "334 ====", "334 -_-_"] {
        let server = script(
            &["AUTH X-TEST"],
            vec![Step::expect("AUTH X-TEST"), Step::reply(bad), Step::expect("*"), Step::reply("501 aborted")],
        );
        let (res, r) = scripted(server, |s| {
            s.auth("X-TEST", &mut |_, _| panic!("the callback must not see a bad challenge"), false)
        });
        assert_eq!(res.unwrap_err().kind(), ErrorKind::Authentication, "{bad}");
        r.assert_ok();
    }
}

#[test]
fn empty_cram_md5_challenge_is_cancelled() {
    let server = script(
        &["AUTH CRAM-MD5"],
        vec![Step::expect("AUTH CRAM-MD5"), Step::reply("334 "), Step::expect("*"), Step::reply("501 aborted")],
    );
    let (res, r) = scripted(server, |s| s.login(USER, PASS, true));
    let e = res.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Authentication, "{e}");
    r.assert_ok();
}

#[test]
fn no_fallback_after_535_without_verified_tls() {
    let server = script(
        &["AUTH PLAIN LOGIN CRAM-MD5"],
        vec![
            Step::expect("AUTH CRAM-MD5"),
            Step::reply(&format!("334 {}", b64(b"<1.2@mx>"))),
            Step::ReadLine,
            Step::reply("535 5.7.8 Error: authentication failed"),
            Step::expect("QUIT"),
            Step::reply("221 bye"),
        ],
    );
    let (res, r) = scripted(server, |s| {
        let e = s.login(USER, PASS, true).unwrap_err();
        s.quit().unwrap();
        e
    });
    assert_eq!(res.kind(), ErrorKind::Authentication);
    assert_eq!(res.reply().unwrap().code(), 535);
    r.assert_ok();
    assert_eq!(auth_lines(&r), ["AUTH CRAM-MD5"]);
    let digest = smtpclient::auth::cram_md5_digest(PASS, b"<1.2@mx>");
    assert_eq!(r.lines[2], b64(format!("alice {}", digest.as_str()).as_bytes()));
}

#[test]
fn plain_without_initial_response_waits_for_334() {
    let blob = b64(b"\0alice\0alice-pass");
    let server = script(
        &["AUTH=PLAIN", "AUTH PLAIN"],
        vec![Step::expect("AUTH PLAIN"), Step::reply("334 "), Step::expect(&blob), Step::reply("235 2.7.0 ok")],
    );
    let (res, r) = scripted(server, |s| s.login(USER, PASS, false));
    res.unwrap();
    r.assert_ok();
    assert_eq!(r.lines[1], "AUTH PLAIN", "no initial response");
    assert_eq!(r.lines[2], blob);
}

#[test]
fn login_mechanism_steps_with_and_without_initial_response() {
    let (u, p) = (b64(b"alice"), b64(b"alice-pass"));
    let server = script(
        &["AUTH LOGIN"],
        vec![
            Step::expect("AUTH LOGIN"),
            Step::reply("334 VXNlcm5hbWU6"),
            Step::expect(&u),
            Step::reply("334 UGFzc3dvcmQ6"),
            Step::expect(&p),
            Step::reply("235 ok"),
        ],
    );
    let (res, r) = scripted(server, |s| s.login(USER, PASS, false));
    res.unwrap();
    r.assert_ok();
    assert_eq!(r.lines[1], "AUTH LOGIN");
    let server = script(
        &["AUTH LOGIN"],
        vec![
            Step::expect(&format!("AUTH LOGIN {u}")),
            Step::reply("334 UGFzc3dvcmQ6"),
            Step::expect(&p),
            Step::reply("235 ok"),
        ],
    );
    let (res, r) = scripted(server, |s| s.login(USER, PASS, true));
    res.unwrap();
    r.assert_ok();
}

#[test]
fn auth_not_advertised_is_not_supported_and_sends_nothing() {
    let server = script(&["PIPELINING", "8BITMIME"], vec![]);
    let (res, r) = scripted(server, |s| s.login(USER, PASS, true));
    let e = res.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotSupported);
    assert_eq!(e.message(), "SMTP AUTH extension not supported by server.");
    r.assert_ok();
    assert_eq!(r.lines.len(), 1, "EHLO only: {}", r.wire_str());
    assert!(auth_lines(&r).is_empty());
}

#[test]
fn no_common_mechanism_is_smtp_error() {
    let server = script(&["AUTH SCRAM-SHA-256-PLUS GSSAPI XOAUTH2"], vec![]);
    let (res, r) = scripted(server, |s| s.login(USER, PASS, true));
    let e = res.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Smtp);
    assert!(e.message().starts_with("No suitable authentication method found."), "{e}");
    r.assert_ok();
    assert!(auth_lines(&r).is_empty());
}

#[test]
fn invalid_credentials_are_refused_before_anything_is_sent() {
    let server = ScriptedServer::tcp(vec![Step::reply("220 mx.scripted.test ESMTP"), Step::ReadUntilClose]);
    let (res, r) = scripted(server, |s| {
        let mut out = vec![];
        for (u, p) in [("", "x"), ("alice", ""), ("a\0b", "x"), ("alice", "pa\rss"), ("alice", "pa\nss")] {
            out.push(s.login(u, p, true).unwrap_err());
        }
        out.push(s.auth("PLAIN LOGIN", &mut |_, _| AuthStep::Abort(-1), true).unwrap_err());
        out.push(s.auth("PLAIN\r\nRSET", &mut |_, _| AuthStep::Abort(-1), true).unwrap_err());
        out.push(s.login_oauth(OAuthMechanism::XOAuth2, USER, "bad token").unwrap_err());
        out.push(s.login_oauth(OAuthMechanism::XOAuth2, "", "tok").unwrap_err());
        out
    });
    for e in res {
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
        assert!(!e.message().contains("pa\rss") && !e.message().contains("bad token"), "{e}");
    }
    r.assert_ok();
    assert_eq!(r.wire_str(), "", "nothing was sent, not even EHLO");
}

#[test]
fn reply_503_to_auth_is_a_failure() {
    // smtplib reads 503 as "already authenticated"; this session never sends a second AUTH, so
    // a 503 can only mean the exchange failed
    let server = script(
        &["AUTH PLAIN"],
        vec![Step::expect("AUTH PLAIN"), Step::reply("503 5.5.1 Error: already authenticated")],
    );
    let (res, r) = scripted(server, |s| (s.login(USER, PASS, true), s.is_authenticated()));
    assert_eq!(res.0.unwrap_err().kind(), ErrorKind::Authentication);
    assert!(!res.1);
    r.assert_ok();
}

#[test]
fn empty_initial_response_is_sent_as_equals_sign() {
    let server = script(&["AUTH X-EMPTY"], vec![Step::expect("AUTH X-EMPTY ="), Step::reply("235 ok")]);
    let (res, r) = scripted(server, |s| s.auth("x-empty", &mut |_, _| AuthStep::Respond(vec![]), true));
    res.unwrap();
    r.assert_ok();
    assert_eq!(r.lines[1], "AUTH X-EMPTY =");
}

#[test]
fn custom_callback_sees_challenges_and_tls_state() {
    let server = script(
        &["AUTH X-ECHO"],
        vec![
            Step::expect("AUTH X-ECHO"),
            Step::reply(&format!("334 {}", b64(b"\0one\xff"))),
            Step::expect(&b64(b"\xffeno\0")),
            Step::reply("334 "),
            Step::expect(""),
            Step::reply("235 ok"),
        ],
    );
    type Seen = Vec<(Option<Vec<u8>>, bool)>;
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let log = seen.clone();
    let (res, r) = scripted(server, |s| {
        s.auth(
            "X-ECHO",
            &mut |c, tls| {
                log.lock().unwrap().push((c.map(<[u8]>::to_vec), tls));
                match c {
                    None => AuthStep::NoInitialResponse,
                    Some(c) => AuthStep::Respond(c.iter().rev().copied().collect()),
                }
            },
            true,
        )
    });
    res.unwrap();
    r.assert_ok();
    assert_eq!(r.lines[3], "", "an empty response is an empty line");
    let seen = seen.lock().unwrap();
    assert_eq!(*seen, [(None, false), (Some(b"\0one\xff".to_vec()), false), (Some(Vec::new()), false)]);
}

#[test]
fn callback_abort_keeps_its_value() {
    // before anything is sent: no AUTH line, no '*'
    let server = script(&["AUTH X-ABORT"], vec![Step::expect("QUIT"), Step::reply("221 bye")]);
    let (res, r) = scripted(server, |s| {
        let e = s.auth("X-ABORT", &mut |_, _| AuthStep::Abort(-7), true).unwrap_err();
        s.quit().unwrap();
        e
    });
    assert_eq!(res.kind(), ErrorKind::CallbackAborted);
    assert_eq!(res.callback_value(), -7);
    r.assert_ok();
    assert!(auth_lines(&r).is_empty());

    // during a challenge: '*' cancels, the server's reply is read, the session stays usable
    let server = script(
        &["AUTH X-ABORT"],
        vec![
            Step::expect("AUTH X-ABORT"),
            Step::reply("334 Zm9v"),
            Step::expect("*"),
            Step::reply("501 5.7.0 Authentication aborted"),
            Step::expect("NOOP"),
            Step::reply("250 ok"),
        ],
    );
    let (res, r) = scripted(server, |s| {
        let e = s
            .auth(
                "X-ABORT",
                &mut |c, _| if c.is_some() { AuthStep::Abort(-42) } else { AuthStep::NoInitialResponse },
                true,
            )
            .unwrap_err();
        assert_eq!(s.last_reply().unwrap().code(), 501);
        s.noop().unwrap();
        e
    });
    assert_eq!(res.kind(), ErrorKind::CallbackAborted);
    assert_eq!(res.callback_value(), -42);
    r.assert_ok();

    // NoInitialResponse to a challenge aborts with value 1
    let server = script(
        &["AUTH X-ABORT"],
        vec![Step::expect("AUTH X-ABORT"), Step::reply("334 Zm9v"), Step::expect("*"), Step::reply("501 aborted")],
    );
    let (res, r) = scripted(server, |s| s.auth("X-ABORT", &mut |_, _| AuthStep::NoInitialResponse, true));
    let e = res.unwrap_err();
    assert_eq!((e.kind(), e.callback_value()), (ErrorKind::CallbackAborted, 1));
    r.assert_ok();
}

#[test]
fn cancel_not_acknowledged_closes_the_connection() {
    let server = script(
        &["AUTH X-T"],
        vec![Step::expect("AUTH X-T"), Step::reply("334 Zm9v"), Step::expect("*"), Step::reply("334 Zm9v")],
    );
    let (res, r) = scripted(server, |s| {
        let e = s.auth(
            "X-T",
            &mut |c, _| if c.is_some() { AuthStep::Abort(-1) } else { AuthStep::NoInitialResponse },
            true,
        );
        (e.unwrap_err(), s.is_connected())
    });
    assert_eq!(res.0.kind(), ErrorKind::CallbackAborted);
    assert!(!res.1, "a server still challenging after '*' is out of step: closed");
    r.assert_ok();
}

#[test]
fn xoauth2_and_oauthbearer_exact_wire() {
    let token = "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg";
    let x = b64(format!("user=alice@example.test\x01auth=Bearer {token}\x01\x01").as_bytes());
    let server = script(&["AUTH XOAUTH2 OAUTHBEARER"], vec![Step::expect("AUTH"), Step::reply("235 2.7.0 Accepted")]);
    let (res, r) = scripted(server, |s| s.login_oauth(OAuthMechanism::XOAuth2, "alice@example.test", token));
    res.unwrap();
    r.assert_ok();
    assert_eq!(r.lines[1], format!("AUTH XOAUTH2 {x}"));

    let o = b64(format!("n,a=alice@example.test,\x01auth=Bearer {token}\x01\x01").as_bytes());
    let server = script(&["AUTH XOAUTH2 OAUTHBEARER"], vec![Step::expect("AUTH"), Step::reply("235 2.7.0 Accepted")]);
    let (res, r) = scripted(server, |s| s.login_oauth(OAuthMechanism::OAuthBearer, "alice@example.test", token));
    res.unwrap();
    r.assert_ok();
    assert_eq!(r.lines[1], format!("AUTH OAUTHBEARER {o}"));
}

#[test]
fn oauth_error_challenge_is_acknowledged_then_fails() {
    let token = "ya29.secret-token-value";
    let status = r#"{"status":"invalid_token","schemes":"bearer","scope":"https://mail.example/"}"#;
    for (mech, ack) in [(OAuthMechanism::XOAuth2, ""), (OAuthMechanism::OAuthBearer, "AQ==")] {
        let server = script(
            &["AUTH XOAUTH2 OAUTHBEARER"],
            vec![
                Step::expect(&format!("AUTH {}", mech.name())),
                Step::reply(&format!("334 {}", b64(status.as_bytes()))),
                Step::ReadLine,
                Step::reply("535 5.7.8 Username and Password not accepted"),
            ],
        );
        let mut s = new_session();
        let events = capture_debug(&mut s, 1);
        let (res, r) =
            scripted_with(server, |x| std::mem::swap(x, &mut s), |s| s.login_oauth(mech, "alice@example.test", token));
        let e = res.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Authentication, "{mech:?}: {e}");
        assert_eq!(e.reply().unwrap().code(), 535);
        assert!(e.message().contains("invalid_token"), "the server's status is reported: {e}");
        assert!(!e.message().contains(token));
        r.assert_ok();
        assert_eq!(r.lines[2], ack, "{mech:?}");
        assert_no_secret(&events, &[token, &b64(token.as_bytes())]);
    }
}

#[test]
fn server_echo_of_the_blob_is_scrubbed_everywhere() {
    let blob = b64(b"\0alice\0alice-pass");
    let server = script(
        &["AUTH PLAIN"],
        vec![
            Step::expect("AUTH PLAIN"),
            Step::reply(&format!("535-5.7.8 bad credentials {blob}\n535 5.7.8 for password alice-pass")),
        ],
    );
    let mut s = new_session();
    let events = capture_debug(&mut s, 2);
    let (res, r) = scripted_with(
        server,
        |x| std::mem::swap(x, &mut s),
        |s| {
            let e = s.login(USER, PASS, true).unwrap_err();
            (e, s.last_reply().unwrap().text())
        },
    );
    let (e, last) = res;
    r.assert_ok();
    assert_eq!(e.kind(), ErrorKind::Authentication);
    for text in [e.message().to_owned(), e.reply().unwrap().text(), last] {
        assert!(!text.contains(PASS) && !text.contains(blob.trim_end_matches('=')), "{text}");
        assert!(text.contains("[redacted]"), "{text}");
    }
    assert_no_secret(&events, &[PASS, blob.trim_end_matches('=')]);
}

#[test]
fn oversized_response_is_refused() {
    let server = script(&["AUTH X-BIG"], vec![Step::expect("QUIT"), Step::reply("221 bye")]);
    let (res, r) = scripted(server, |s| {
        let e = s.auth("X-BIG", &mut |_, _| AuthStep::Respond(vec![b'a'; 8193]), true).unwrap_err();
        s.quit().unwrap();
        e
    });
    assert_eq!(res.kind(), ErrorKind::InvalidArgument);
    r.assert_ok();
    assert!(auth_lines(&r).is_empty());
}

#[test]
fn reply_421_during_auth_closes_and_stops() {
    let server = script(
        &["AUTH CRAM-MD5 PLAIN"],
        vec![Step::expect("AUTH CRAM-MD5"), Step::reply("421 4.3.2 Service shutting down"), Step::ReadUntilClose],
    );
    let (res, r) = scripted(server, |s| (s.login(USER, PASS, true), s.is_connected()));
    let e = res.0.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Authentication, "{e}");
    assert_eq!(e.reply().unwrap().code(), 421);
    assert!(!res.1, "421 closes the connection");
    r.assert_ok();
    assert_eq!(auth_lines(&r), ["AUTH CRAM-MD5"]);
}

#[test]
fn huge_challenge_is_a_protocol_error() {
    let server = script(
        &["AUTH X-HUGE"],
        vec![
            Step::expect("AUTH X-HUGE"),
            Step::send(format!("334 {}\r\n", "QUFB".repeat(300_000))),
            Step::ReadUntilClose,
        ],
    );
    let (res, r) = scripted(server, |s| {
        (s.auth("X-HUGE", &mut |_, _| panic!("no challenge reaches the callback"), false), s.is_connected())
    });
    assert_eq!(res.0.unwrap_err().kind(), ErrorKind::Protocol);
    assert!(!res.1);
    // the server's own write may fail as the client hangs up mid-line: only the client matters
    assert_eq!(auth_lines(&r), ["AUTH X-HUGE"]);
}

#[test]
fn connection_lost_mid_exchange_is_server_disconnected() {
    let server = script(&["AUTH PLAIN"], vec![Step::expect("AUTH PLAIN"), Step::Close]);
    let (res, r) = scripted(server, |s| (s.login(USER, PASS, true), s.is_connected()));
    assert_eq!(res.0.unwrap_err().kind(), ErrorKind::ServerDisconnected);
    assert!(!res.1);
    r.assert_ok();
}

// =============================================================================================
// C API
// =============================================================================================

#[allow(non_camel_case_types)]
#[repr(C)]
struct smtp_session {
    _p: [u8; 0],
}
#[allow(non_camel_case_types)]
#[repr(C)]
struct smtp_auth_response {
    _p: [u8; 0],
}
#[allow(non_camel_case_types)]
type smtp_auth_callback =
    Option<unsafe extern "C" fn(*mut c_void, *const u8, usize, bool, bool, *mut smtp_auth_response) -> i32>;

extern "C" {
    fn smtp_client_new(kind: i32) -> *mut smtp_session;
    fn smtp_client_free(s: *mut smtp_session);
    fn smtp_client_set_local_hostname(s: *mut smtp_session, name: *const c_char) -> i32;
    fn smtp_client_set_source_address(s: *mut smtp_session, host: *const c_char, port: u16) -> i32;
    fn smtp_client_connect(s: *mut smtp_session, host: *const c_char, port: u16) -> i32;
    fn smtp_client_quit(s: *mut smtp_session) -> i32;
    fn smtp_client_login(s: *mut smtp_session, user: *const c_char, password: *const c_char, iro: i32) -> i32;
    fn smtp_client_login_oauth(s: *mut smtp_session, mechanism: i32, user: *const c_char, token: *const c_char) -> i32;
    fn smtp_client_auth(
        s: *mut smtp_session,
        mechanism: *const c_char,
        cb: smtp_auth_callback,
        userdata: *mut c_void,
        iro: i32,
    ) -> i32;
    fn smtp_auth_response_set(r: *mut smtp_auth_response, data: *const u8, len: usize) -> i32;
    fn smtp_client_set_cleartext_credentials(s: *mut smtp_session, cleartext: i32) -> i32;
    fn smtp_client_set_local_peer(s: *mut smtp_session, local_peer: i32) -> i32;
    fn smtp_client_last_callback_value(s: *const smtp_session) -> i32;
    fn smtp_client_last_error_reply_code(s: *const smtp_session) -> i32;
    fn smtp_client_last_error_message(s: *const smtp_session) -> *const c_char;
}

const OK: i32 = 0;
const AUTHENTICATION_ERROR: i32 = 109;
const CREDENTIALS_POLICY: i32 = 113;
const INVALID_ARGUMENT: i32 = 400;
const NULL_ARGUMENT: i32 = 401;
const REENTRANT_CALL: i32 = 405;
const CALLBACK_ABORTED: i32 = 406;

struct CSession(*mut smtp_session);

impl CSession {
    fn postfix() -> CSession {
        let s = CSession(unsafe { smtp_client_new(0) });
        assert!(!s.0.is_null());
        let name = CString::new(HELLO).unwrap();
        let host = CString::new(TestBed::get().smtp_addr()).unwrap();
        let source = CString::new(own_source_address()).unwrap();
        unsafe {
            assert_eq!(smtp_client_set_local_hostname(s.0, name.as_ptr()), OK);
            assert_eq!(smtp_client_set_source_address(s.0, source.as_ptr(), 0), OK);
            assert_eq!(smtp_client_connect(s.0, host.as_ptr(), 0), OK);
        }
        s
    }
    fn message(&self) -> String {
        unsafe { CStr::from_ptr(smtp_client_last_error_message(self.0)) }.to_string_lossy().into_owned()
    }
}

impl Drop for CSession {
    fn drop(&mut self) {
        unsafe { smtp_client_free(self.0) }
    }
}

/// What the C callback below does, through its userdata.
struct CbState {
    session: *mut smtp_session,
    user: &'static str,
    password: &'static str,
    abort_with: Option<i32>,
    calls: Vec<(bool, Option<Vec<u8>>, bool)>,
    reentrant: Vec<i32>,
}

/// A C-style LOGIN callback: the user name first, then the password.
unsafe extern "C" fn login_cb(
    userdata: *mut c_void,
    challenge: *const u8,
    len: usize,
    is_initial: bool,
    tls_active: bool,
    response: *mut smtp_auth_response,
) -> i32 {
    let st = unsafe { &mut *(userdata as *mut CbState) };
    let ch =
        if challenge.is_null() { None } else { Some(unsafe { std::slice::from_raw_parts(challenge, len) }.to_vec()) };
    st.calls.push((is_initial, ch, tls_active));
    st.reentrant.push(unsafe { smtp_client_set_local_peer(st.session, smtp_local_peer::Trusted as i32) });
    if let Some(v) = st.abort_with {
        return v;
    }
    let answer = if st.calls.len() == 1 { st.user } else { st.password };
    unsafe { smtp_auth_response_set(response, answer.as_ptr(), answer.len()) }
}

#[test]
fn c_login_and_auth_against_postfix() {
    let user = CString::new(USER).unwrap();
    let pass = CString::new(PASS).unwrap();
    let wrong = CString::new("wrong-pass-456").unwrap();
    let s = CSession::postfix();
    unsafe {
        assert_eq!(
            smtp_client_login(s.0, user.as_ptr(), wrong.as_ptr(), smtp_initial_response::Send as i32),
            AUTHENTICATION_ERROR
        );
        assert_eq!(smtp_client_last_error_reply_code(s.0), 535);
        assert!(!s.message().contains("wrong-pass-456"), "{}", s.message());
        assert_eq!(
            smtp_client_login(s.0, user.as_ptr(), std::ptr::null(), smtp_initial_response::Send as i32),
            NULL_ARGUMENT
        );
        assert_eq!(smtp_client_login(s.0, user.as_ptr(), pass.as_ptr(), smtp_initial_response::Send as i32), OK);
        assert_eq!(smtp_client_quit(s.0), OK);
    }

    // smtp_client_auth with LOGIN, two challenges, re-entry refused inside the callback
    let s = CSession::postfix();
    let mech = CString::new("login").unwrap();
    let mut st =
        CbState { session: s.0, user: USER, password: PASS, abort_with: None, calls: vec![], reentrant: vec![] };
    let rc = unsafe {
        smtp_client_auth(
            s.0,
            mech.as_ptr(),
            Some(login_cb),
            &mut st as *mut CbState as *mut c_void,
            smtp_initial_response::Wait as i32,
        )
    };
    assert_eq!(rc, OK, "{}", s.message());
    assert_eq!(st.calls, [(false, Some(b"Username:".to_vec()), false), (false, Some(b"Password:".to_vec()), false)]);
    assert_eq!(st.reentrant, [REENTRANT_CALL, REENTRANT_CALL]);
    assert_eq!(unsafe { smtp_client_quit(s.0) }, OK);

    // abort during a challenge: the value is kept
    let s = CSession::postfix();
    let mut st = CbState { session: s.0, abort_with: Some(-1234), ..st };
    st.calls.clear();
    st.reentrant.clear();
    let rc = unsafe {
        smtp_client_auth(
            s.0,
            mech.as_ptr(),
            Some(login_cb),
            &mut st as *mut CbState as *mut c_void,
            smtp_initial_response::Wait as i32,
        )
    };
    assert_eq!(rc, CALLBACK_ABORTED);
    assert_eq!(unsafe { smtp_client_last_callback_value(s.0) }, -1234);
    assert_eq!(st.calls.len(), 1);
    // the exchange was cancelled cleanly: logging in still works
    assert_eq!(unsafe { smtp_client_login(s.0, user.as_ptr(), pass.as_ptr(), smtp_initial_response::Send as i32) }, OK);

    // argument errors
    unsafe {
        assert_eq!(
            smtp_client_auth(s.0, mech.as_ptr(), None, std::ptr::null_mut(), smtp_initial_response::Send as i32),
            NULL_ARGUMENT
        );
        assert_eq!(
            smtp_client_auth(
                s.0,
                std::ptr::null(),
                Some(login_cb),
                std::ptr::null_mut(),
                smtp_initial_response::Send as i32
            ),
            NULL_ARGUMENT
        );
        let tok = CString::new("ya29.t").unwrap();
        assert_eq!(smtp_client_login_oauth(s.0, 7, user.as_ptr(), tok.as_ptr()), INVALID_ARGUMENT);
        assert_eq!(smtp_auth_response_set(std::ptr::null_mut(), std::ptr::null(), 0), NULL_ARGUMENT);
    }
}

#[test]
fn c_credential_policy_setters() {
    let user = CString::new(USER).unwrap();
    let pass = CString::new(PASS).unwrap();
    let s = CSession::postfix();
    unsafe {
        assert_eq!(smtp_client_set_local_peer(s.0, smtp_local_peer::Untrusted as i32), OK);
        assert_eq!(
            smtp_client_login(s.0, user.as_ptr(), pass.as_ptr(), smtp_initial_response::Send as i32),
            CREDENTIALS_POLICY
        );
        assert!(s.message().contains("TLS"), "{}", s.message());
        assert_eq!(smtp_client_set_cleartext_credentials(s.0, smtp_cleartext_credentials::Allow as i32), OK);
        assert_eq!(smtp_client_login(s.0, user.as_ptr(), pass.as_ptr(), smtp_initial_response::Send as i32), OK);
        assert_eq!(smtp_client_quit(s.0), OK);
        assert_eq!(smtp_client_set_local_peer(std::ptr::null_mut(), smtp_local_peer::Trusted as i32), NULL_ARGUMENT);
        assert_eq!(
            smtp_client_set_cleartext_credentials(std::ptr::null_mut(), smtp_cleartext_credentials::Allow as i32),
            NULL_ARGUMENT
        );
    }
}
