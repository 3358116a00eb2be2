//! SCRAM-SHA-256 and SCRAM-SHA-1 in `login`: against the real Dovecot behind Postfix
//! submission (after STARTTLS, verified with the test CA), and against a scripted SCRAM server
//! (computed here with OpenSSL, independently of the library) that misbehaves on purpose: a
//! wrong server signature, a low iteration count, a nonce that does not extend the client's,
//! an `e=` error, and a 235 without any signature.

mod support;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use openssl::hash::{hash, MessageDigest};
use openssl::pkey::PKey;
use openssl::sign::Signer;
use smtpclient::session::{CredentialPolicy, DebugKind, SessionKind};
use smtpclient::{ErrorKind, Session};
use support::{greet_and_ehlo, unique_marker, Responder, ScriptResult, ScriptedServer, Step, TestBed};

const HELLO: &str = "client.example.test";
const USER: &str = "alice";
const PASS: &str = "alice-pass";

/// A loopback source address of its own per connection: the authentication server slows down
/// logins from an address after failed ones (tests elsewhere fail logins on purpose).
fn own_source_address() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    static SEED: OnceLock<u64> = OnceLock::new();
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let seed = *SEED.get_or_init(|| {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
        u64::from(std::process::id()).wrapping_mul(2_654_435_761) ^ u64::from(nanos / 1000) ^ 0x5c5c
    });
    format!("127.{}.{}.{}", 1 + seed % 250, 1 + (seed / 250) % 250, 1 + n % 250)
}

fn new_session() -> Session {
    let mut s = support::new_session(SessionKind::Smtp);
    s.set_local_hostname(Some(HELLO)).unwrap();
    s.set_source_address(Some((&own_source_address(), 0))).unwrap();
    s.set_timeout(Some(Duration::from_secs(20)));
    s
}

type Events = Arc<Mutex<Vec<(DebugKind, Vec<u8>)>>>;

fn capture_debug(s: &mut Session) -> Events {
    let events: Events = Arc::default();
    let sink = events.clone();
    s.set_debug_level(2);
    s.set_debug_sink(Some(Box::new(move |e| sink.lock().unwrap().push((e.kind, e.data.to_vec())))));
    events
}

fn sent_lines(events: &Events) -> Vec<String> {
    let ev = events.lock().unwrap();
    ev.iter().filter(|(k, _)| *k == DebugKind::Sent).map(|(_, d)| String::from_utf8_lossy(d).into_owned()).collect()
}

/// A session on Postfix submission after STARTTLS with a verified peer.
fn submission() -> Session {
    let bed = TestBed::get();
    let mut s = new_session();
    s.tls_config_mut().ca_file = Some(bed.smtp_ca_file.clone());
    s.connect(&format!("localhost:{}", bed.smtp_submission_port), 0).unwrap();
    s.set_credential_policy(CredentialPolicy { allow_cleartext: false, local_peer_is_safe: false });
    s.starttls().expect("STARTTLS with the test CA");
    assert!(s.tls_info().unwrap().verified);
    s
}

// =============================================================================================
// Dovecot through Postfix submission
// =============================================================================================

#[test]
fn dovecot_login_picks_scram_sha256_and_delivers() {
    let mut s = submission();
    let auth = s.features().get("auth").map(str::to_owned).unwrap_or_default();
    assert!(auth.contains("SCRAM-SHA-256"), "the test bed should offer SCRAM-SHA-256: {auth}");
    let events = capture_debug(&mut s);
    s.login(USER, PASS, true).expect("SCRAM-SHA-256 login");
    assert!(s.is_authenticated());
    assert_eq!(s.last_reply().unwrap().code(), 235);
    let auth_lines: Vec<String> = sent_lines(&events).into_iter().filter(|l| l.starts_with("AUTH")).collect();
    assert_eq!(auth_lines, ["AUTH SCRAM-SHA-256 [redacted]\r\n"], "one AUTH, SCRAM-SHA-256 first");
    for (_, d) in events.lock().unwrap().iter() {
        assert!(!support::contains(d, PASS.as_bytes()), "the password in debug output");
    }
    let marker = unique_marker("scram-submission");
    let msg = format!("From: alice@example.test\r\nTo: alice@example.test\r\nSubject: {marker}\r\n\r\n{marker}\r\n");
    s.sendmail("alice@example.test", &["alice@example.test"], msg.as_bytes(), &[], &[]).unwrap();
    s.quit().unwrap();
    let bed = TestBed::get();
    let mail = bed.wait_for_postfix_mail("alice", &marker, Duration::from_secs(15)).expect("delivered");
    assert!(String::from_utf8_lossy(&mail).contains("Authenticated sender: alice"));
}

#[test]
fn dovecot_without_plus_gets_y_after_starttls_and_accepts_it() {
    // Debian's Dovecot offers SCRAM without -PLUS: over verified TLS with binding data, the
    // client sends the GS2 flag y (it could bind, the server does not seem to), which a server
    // without channel binding accepts
    let mut s = submission();
    let info = s.tls_info().unwrap().clone();
    let cb = info.channel_binding.as_ref().expect("channel-binding data after STARTTLS");
    let expected_kind = if info.version == "TLSv1.3" { "tls-exporter" } else { "tls-server-end-point" };
    assert_eq!(cb.kind, expected_kind, "{info:?}");
    let advertised = smtpclient::auth::advertised_mechanisms(s.features().get("auth").unwrap());
    assert!(advertised.iter().any(|m| m == "SCRAM-SHA-256"), "{advertised:?}");
    assert!(
        !advertised.iter().any(|m| m.ends_with("-PLUS")),
        "the test bed's Dovecot offers -PLUS now: {advertised:?}"
    );
    // the flag login chooses for this connection and advertisement
    let flag = smtpclient::auth::login_channel_binding(
        smtpclient::auth::Mechanism::ScramSha256,
        &advertised,
        &smtpclient::auth::login_order(),
        Some((cb.kind, cb.data.as_slice())),
    );
    assert_eq!(flag, Some(smtpclient::auth::scram::ChannelBinding::ServerLacksIt));
    let events = capture_debug(&mut s);
    s.login(USER, PASS, true).expect("SCRAM-SHA-256 with y,, accepted by Dovecot");
    assert!(s.is_authenticated());
    let auth_lines: Vec<String> = sent_lines(&events).into_iter().filter(|l| l.starts_with("AUTH")).collect();
    assert_eq!(auth_lines, ["AUTH SCRAM-SHA-256 [redacted]\r\n"]);
    s.quit().unwrap();
}

#[test]
fn dovecot_wrong_password_stops_at_the_535() {
    let mut s = submission();
    let events = capture_debug(&mut s);
    let e = s.login(USER, "not-alice-pass", true).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Authentication, "{e}");
    assert_eq!(e.reply().map(|r| r.code()), Some(535), "{e}");
    assert!(!s.is_authenticated());
    // no weaker mechanism after the credentials were refused
    let auth_lines: Vec<String> = sent_lines(&events).into_iter().filter(|l| l.starts_with("AUTH")).collect();
    assert_eq!(auth_lines, ["AUTH SCRAM-SHA-256 [redacted]\r\n"]);
}

// =============================================================================================
// The scripted SCRAM server
// =============================================================================================

const SALT: &[u8] = b"scripted-salt-16";
const SERVER_NONCE: &str = "SrvPart%x";

/// How the scripted server misbehaves.
#[derive(Clone, Copy, PartialEq)]
enum Fault {
    None,
    WrongSignature,
    LowIterations,
    ForeignNonce,
    ErrorAttribute,
    Success235WithoutSignature,
}

fn md(sha1: bool) -> MessageDigest {
    if sha1 {
        MessageDigest::sha1()
    } else {
        MessageDigest::sha256()
    }
}

fn hmac(sha1: bool, key: &[u8], data: &[u8]) -> Vec<u8> {
    let pkey = PKey::hmac(key).unwrap();
    let mut signer = Signer::new(md(sha1), &pkey).unwrap();
    signer.update(data).unwrap();
    signer.sign_to_vec().unwrap()
}

/// The server's view of the exchange: (expected client proof, server signature).
fn server_side(sha1: bool, client_first_bare: &str, server_first: &str, without_proof: &str) -> (Vec<u8>, Vec<u8>) {
    let mut salted = vec![0u8; md(sha1).size()];
    openssl::pkcs5::pbkdf2_hmac(PASS.as_bytes(), SALT, 4096, md(sha1), &mut salted).unwrap();
    let client_key = hmac(sha1, &salted, b"Client Key");
    let stored_key = hash(md(sha1), &client_key).unwrap();
    let auth_message = format!("{client_first_bare},{server_first},{without_proof}");
    let client_sig = hmac(sha1, &stored_key, auth_message.as_bytes());
    let proof: Vec<u8> = client_key.iter().zip(&client_sig).map(|(a, b)| a ^ b).collect();
    let server_sig = hmac(sha1, &hmac(sha1, &salted, b"Server Key"), auth_message.as_bytes());
    (proof, server_sig)
}

fn b64_of_auth_line(line: &str) -> Vec<u8> {
    let arg = line.rsplit(' ').next().unwrap();
    B64.decode(arg).unwrap_or_else(|_| panic!("not base64: {line:?}"))
}

/// The client-first message's bare part (after `n,,`) and nonce, from the `AUTH` line.
fn client_first(lines: &[String]) -> (String, String) {
    let first = String::from_utf8(b64_of_auth_line(&lines[1])).unwrap();
    let bare = first.strip_prefix("n,,").expect("gs2 header n,,").to_owned();
    let nonce = bare.split(",r=").nth(1).unwrap().to_owned();
    (bare, nonce)
}

fn server_first_for(lines: &[String], fault: Fault) -> String {
    let (_, nonce) = client_first(lines);
    // a foreign nonce: the client's with its first character changed (to one it is not)
    let nonce = if fault == Fault::ForeignNonce {
        let other = if nonce.starts_with('X') { 'Y' } else { 'X' };
        format!("{other}{}", &nonce[1..])
    } else {
        nonce
    };
    let iterations = if fault == Fault::LowIterations { 4095 } else { 4096 };
    format!("r={nonce}{SERVER_NONCE},s={},i={iterations}", B64.encode(SALT))
}

/// EHLO, `AUTH <mechanism> <client-first>`, server-first; then, unless the client gives up on
/// the server-first message, client-final and the (possibly faulty) server-final step.
fn scram_script(mechanism: &'static str, fault: Fault) -> ScriptedServer {
    let sha1 = mechanism == "SCRAM-SHA-1";
    // SCRAM-SHA-1 alone when it is the mechanism under test, else both: login picks the strongest
    let offer = if sha1 { "AUTH PLAIN SCRAM-SHA-1 CRAM-MD5" } else { "AUTH PLAIN SCRAM-SHA-1 CRAM-MD5 SCRAM-SHA-256" };
    let mut steps = greet_and_ehlo(&[offer]);
    steps.push(Step::expect(&format!("AUTH {mechanism} ")));
    steps.push(Step::Compute(Responder(Arc::new(move |lines: &[String]| {
        let sf = server_first_for(lines, fault);
        format!("334 {}\r\n", B64.encode(sf)).into_bytes()
    }))));
    steps.push(Step::ReadLine);
    match fault {
        Fault::LowIterations | Fault::ForeignNonce => {
            // the client cancels instead of answering: lines[2] must be "*"
            steps.push(Step::reply("501 5.7.0 Authentication aborted"));
        }
        _ => {
            steps.push(Step::Compute(Responder(Arc::new(move |lines: &[String]| {
                let (bare, _) = client_first(lines);
                let sf = server_first_for(lines, fault);
                let client_final = String::from_utf8(B64.decode(&lines[2]).unwrap()).unwrap();
                let (without_proof, proof) = client_final.rsplit_once(",p=").unwrap();
                let (expected, server_sig) = server_side(sha1, &bare, &sf, without_proof);
                if B64.decode(proof).unwrap() != expected {
                    return b"535 5.7.8 client proof wrong\r\n".to_vec();
                }
                let v = match fault {
                    Fault::WrongSignature => {
                        let mut bad = server_sig.clone();
                        bad[0] ^= 1;
                        format!("v={}", B64.encode(bad))
                    }
                    Fault::ErrorAttribute => "e=other-error".to_owned(),
                    Fault::Success235WithoutSignature => return b"235 2.7.0 Authentication successful\r\n".to_vec(),
                    _ => format!("v={}", B64.encode(server_sig)),
                };
                format!("334 {}\r\n", B64.encode(v)).into_bytes()
            }))));
            if fault != Fault::Success235WithoutSignature {
                // an empty line after a verified signature, "*" after a refused one
                steps.push(Step::ReadLine);
                let last = if fault == Fault::None { "235 2.7.0 ok" } else { "501 5.7.0 Authentication aborted" };
                steps.push(Step::reply(last));
            }
        }
    }
    steps.push(Step::ReadUntilClose);
    ScriptedServer::tcp(steps)
}

fn run(server: ScriptedServer) -> (smtpclient::Result<()>, bool, ScriptResult) {
    let mut s = new_session();
    s.set_timeout(Some(Duration::from_secs(5)));
    s.connect(&server.addr(), 0).expect("connect to the scripted server");
    let res = s.login(USER, PASS, true);
    let authenticated = s.is_authenticated();
    drop(s);
    (res, authenticated, server.finish())
}

fn auth_failure(fault: Fault, why: &str) -> ScriptResult {
    let (res, authenticated, r) = run(scram_script("SCRAM-SHA-256", fault));
    let e = res.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Authentication, "{e}");
    assert!(e.message().contains(why), "{e}");
    assert!(!e.message().contains(PASS), "{e}");
    assert!(!authenticated);
    r.assert_ok();
    // login stopped there: no CRAM-MD5 or PLAIN to a server that broke SCRAM
    assert_eq!(r.wire_str().matches("AUTH ").count(), 1, "{}", r.wire_str());
    r
}

#[test]
fn scripted_scram_sha256_and_sha1_succeed_with_a_verified_signature() {
    for mech in ["SCRAM-SHA-256", "SCRAM-SHA-1"] {
        let (res, authenticated, r) = run(scram_script(mech, Fault::None));
        res.unwrap_or_else(|e| panic!("{mech}: {e}\n{}", r.wire_str()));
        assert!(authenticated, "{mech}");
        r.assert_ok();
        assert_eq!(r.lines[3], "", "{mech}: an empty response after the verified signature");
    }
}

#[test]
fn scripted_wrong_server_signature_fails() {
    let r = auth_failure(Fault::WrongSignature, "server signature is wrong");
    assert_eq!(r.lines[3], "*", "the exchange is cancelled");
}

#[test]
fn scripted_low_iteration_count_is_refused() {
    let r = auth_failure(Fault::LowIterations, "fewer than 4096");
    assert_eq!(r.lines[2], "*", "no proof is computed or sent");
}

#[test]
fn scripted_nonce_not_extending_ours_is_refused() {
    let r = auth_failure(Fault::ForeignNonce, "does not extend the client nonce");
    assert_eq!(r.lines[2], "*");
}

#[test]
fn scripted_server_error_attribute_fails() {
    let r = auth_failure(Fault::ErrorAttribute, "server reports an error: other-error");
    assert_eq!(r.lines[3], "*");
}

#[test]
fn scripted_235_without_server_signature_is_not_a_login() {
    let (res, authenticated, r) = run(scram_script("SCRAM-SHA-256", Fault::Success235WithoutSignature));
    let e = res.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Authentication, "{e}");
    assert!(e.message().contains("without proving its SCRAM signature"), "{e}");
    assert_eq!(e.reply().map(|r| r.code()), Some(235));
    assert!(!authenticated, "a 235 without a verified signature must not count");
    r.assert_ok();
    assert_eq!(r.wire_str().matches("AUTH ").count(), 1);
}
