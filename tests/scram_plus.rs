//! SCRAM-SHA-256-PLUS and SCRAM-SHA-1-PLUS (RFC 5802 §6, RFC 7677) with TLS channel binding:
//! `tls-exporter` (RFC 9266) on TLS 1.3 and `tls-server-end-point` (RFC 5929) on TLS 1.2.
//!
//! The scripted server here is an SMTPS server (OpenSSL's acceptor) that implements SCRAM
//! itself: it computes the channel-binding data on ITS side of the connection (the exporter,
//! or the hash of its own certificate), checks the client's GS2 header and `c=` attribute
//! against it, checks the client proof, and signs. It also plays a server that supports
//! channel binding but whose advertisement was stripped of `-PLUS` (it must then refuse the
//! client's `y`), and servers whose binding check is wrong. Without TLS, or with an
//! unverified peer, the client must not offer channel binding (`n,,`).

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::{hash, MessageDigest};
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::sign::Signer;
use openssl::ssl::{SslAcceptor, SslMethod, SslRef, SslVersion};
use openssl::x509::extension::SubjectAlternativeName;
use openssl::x509::{X509NameBuilder, X509};
use smtpclient::session::SessionKind;
use smtpclient::{ErrorKind, Session};
use support::certs::{new_ca, Ca};
use support::{ehlo_reply, TempDir};

const USER: &str = "alice";
const PASS: &str = "alice-pass";
const SALT: &[u8] = b"plus-salt-16byte";
const SERVER_NONCE: &str = "SrvPlus%y";

/// The connection the scripted server offers.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Channel {
    /// No TLS (SMTP on plain TCP).
    Plain,
    /// SMTPS limited to TLS 1.2: `tls-server-end-point`.
    Tls12,
    /// SMTPS limited to TLS 1.3: `tls-exporter`.
    Tls13,
}

/// How the server treats channel binding.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Server {
    /// Implements channel binding correctly.
    Honest,
    /// Supports channel binding but does not know it (refuses nothing for `y`).
    NoBindingSupport,
    /// Expects other binding data than the connection's (one byte changed): it answers the
    /// client-final message with `e=channel-bindings-dont-match`.
    WrongBindingCheck,
    /// Ignores the client's `c=` and signs an AuthMessage holding other binding data (a relay
    /// between two TLS connections would): the client must refuse the signature.
    SignsOtherBinding,
}

/// What the server saw and did.
#[derive(Debug)]
struct Seen {
    /// Lines read from the client, in order (AUTH responses base64-decoded after the AUTH
    /// line itself, which is kept as sent).
    lines: Vec<String>,
    /// The client-first message, decoded.
    client_first: Option<String>,
    /// The client-final message without its proof, decoded.
    client_final: Option<String>,
    /// The binding data the server computed on its side of the connection.
    server_binding: Option<Vec<u8>>,
    /// How the exchange ended on the server: "235", or the reason of the refusal.
    outcome: String,
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

/// (expected client proof, server signature) for an AuthMessage.
fn server_side(sha1: bool, auth_message: &str) -> (Vec<u8>, Vec<u8>) {
    let mut salted = vec![0u8; md(sha1).size()];
    openssl::pkcs5::pbkdf2_hmac(PASS.as_bytes(), SALT, 4096, md(sha1), &mut salted).unwrap();
    let client_key = hmac(sha1, &salted, b"Client Key");
    let stored_key = hash(md(sha1), &client_key).unwrap();
    let client_sig = hmac(sha1, &stored_key, auth_message.as_bytes());
    let proof: Vec<u8> = client_key.iter().zip(&client_sig).map(|(a, b)| a ^ b).collect();
    let server_sig = hmac(sha1, &hmac(sha1, &salted, b"Server Key"), auth_message.as_bytes());
    (proof, server_sig)
}

/// The channel-binding data on the server's side: RFC 9266's exporter on TLS 1.3; on TLS 1.2
/// RFC 5929's hash of the server's own certificate with `cert_hash` (the certificate's
/// signature hash, which the test chose when it signed it).
fn binding_on_server(ssl: &SslRef, cert_hash: MessageDigest) -> (&'static str, Vec<u8>) {
    if ssl.version2() == Some(SslVersion::TLS1_3) {
        let mut out = vec![0u8; 32];
        ssl.export_keying_material(&mut out, "EXPORTER-Channel-Binding", Some(b"")).unwrap();
        ("tls-exporter", out)
    } else {
        let der = ssl.certificate().expect("the server's certificate").to_der().unwrap();
        ("tls-server-end-point", hash(cert_hash, &der).unwrap().to_vec())
    }
}

/// A leaf for localhost signed by `ca` with `sign_with` (the CA helper signs with SHA-256).
fn leaf_signed(ca: &Ca, sign_with: MessageDigest) -> (X509, PKey<Private>) {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    let key = PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", "localhost").unwrap();
    let name = name.build();
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    b.set_serial_number(&BigNum::from_u32(7).unwrap().to_asn1_integer().unwrap()).unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(ca.cert.subject_name()).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap()).unwrap();
    b.set_not_after(&Asn1Time::days_from_now(2).unwrap()).unwrap();
    let san = SubjectAlternativeName::new()
        .dns("localhost")
        .ip("127.0.0.1")
        .build(&b.x509v3_context(Some(&ca.cert), None))
        .unwrap();
    b.append_extension(san).unwrap();
    b.sign(&ca.key, sign_with).unwrap();
    (b.build(), key)
}

struct ScramServer {
    port: u16,
    ca_file: std::path::PathBuf,
    _dir: TempDir,
    seen: mpsc::Receiver<Seen>,
}

/// Write a line; read one (without CRLF), or None at the end of the stream.
fn exchange<S: Read + Write>(conn: &mut BufReader<S>, reply: &str, lines: &mut Vec<String>) -> Option<String> {
    if !reply.is_empty() {
        conn.get_mut().write_all(reply.as_bytes()).ok()?;
    }
    let mut line = String::new();
    if conn.read_line(&mut line).unwrap_or(0) == 0 {
        return None;
    }
    let line = line.trim_end_matches("\r\n").to_owned();
    lines.push(line.clone());
    Some(line)
}

/// The SCRAM exchange after the AUTH line; fills `seen` and returns the final reply.
fn scram<S: Read + Write>(
    conn: &mut BufReader<S>,
    auth_line: &str,
    binding: Option<(&'static str, Vec<u8>)>,
    server: Server,
    seen: &mut Seen,
) -> Option<String> {
    let mut words = auth_line.split(' ');
    let mechanism = words.nth(1).unwrap_or("").to_owned();
    let sha1 = mechanism.starts_with("SCRAM-SHA-1");
    let plus = mechanism.ends_with("-PLUS");
    let first_b64 = match words.next() {
        Some(ir) => ir.to_owned(),
        None => exchange(conn, "334 \r\n", &mut seen.lines)?, // no initial response
    };
    let first = String::from_utf8(B64.decode(first_b64).ok()?).ok()?;
    seen.client_first = Some(first.clone());
    // the GS2 header: flag, empty authzid
    let (flag, rest) = first.split_once(',')?;
    let (authzid, bare) = rest.split_once(',')?;
    if !authzid.is_empty() {
        seen.outcome = "authzid".into();
        return Some("535 5.7.8 no authzid here\r\n".into());
    }
    let gs2 = format!("{flag},,");
    // what a server supporting channel binding requires (RFC 5802 §6)
    let refusal = match (flag, plus, &binding) {
        (f, true, Some((name, _))) if f.strip_prefix("p=") != Some(name) => Some("unsupported-channel-binding-type"),
        (f, true, _) if !f.starts_with("p=") => Some("channel-binding-not-supported"),
        ("y", false, Some(_)) if server != Server::NoBindingSupport => Some("server-does-support-channel-binding"),
        (f, false, _) if f.starts_with("p=") => Some("channel-binding-not-supported"),
        _ => None,
    };
    let nonce = bare.split(",r=").nth(1)?.to_owned();
    let server_first = format!("r={nonce}{SERVER_NONCE},s={},i=4096", B64.encode(SALT));
    if let Some(e) = refusal {
        seen.outcome = e.into();
        let star = exchange(conn, &format!("334 {}\r\n", B64.encode(format!("e={e}"))), &mut seen.lines)?;
        return Some(if star == "*" { "501 5.7.0 aborted\r\n" } else { "535 5.7.8 refused\r\n" }.into());
    }
    let final_b64 = exchange(conn, &format!("334 {}\r\n", B64.encode(&server_first)), &mut seen.lines)?;
    let client_final = String::from_utf8(B64.decode(&final_b64).ok()?).ok()?;
    let (without_proof, proof) = client_final.rsplit_once(",p=")?;
    seen.client_final = Some(without_proof.to_owned());
    // the server's c=: the GS2 header, then its own binding data for p=
    let mut cbind = gs2.as_bytes().to_vec();
    if flag.starts_with("p=") {
        let mut data = binding.as_ref().map(|(_, d)| d.clone()).unwrap_or_default();
        if matches!(server, Server::WrongBindingCheck | Server::SignsOtherBinding) {
            data[0] ^= 0x5a;
        }
        cbind.extend_from_slice(&data);
    }
    let expected_without_proof = format!("c={},r={nonce}{SERVER_NONCE}", B64.encode(&cbind));
    if without_proof != expected_without_proof && server != Server::SignsOtherBinding {
        seen.outcome = "channel-bindings-dont-match".into();
        let star =
            exchange(conn, &format!("334 {}\r\n", B64.encode("e=channel-bindings-dont-match")), &mut seen.lines)?;
        return Some(if star == "*" { "501 5.7.0 aborted\r\n" } else { "535 5.7.8 refused\r\n" }.into());
    }
    let signed_part = if server == Server::SignsOtherBinding { &expected_without_proof } else { without_proof };
    let (expected_proof, server_sig) = server_side(sha1, &format!("{bare},{server_first},{signed_part}"));
    if server != Server::SignsOtherBinding && B64.decode(proof).ok()? != expected_proof {
        seen.outcome = "invalid-proof".into();
        return Some("535 5.7.8 invalid proof\r\n".into());
    }
    let answer =
        exchange(conn, &format!("334 {}\r\n", B64.encode(format!("v={}", B64.encode(server_sig)))), &mut seen.lines)?;
    if answer.is_empty() {
        seen.outcome = "235".into();
        Some("235 2.7.0 ok\r\n".into())
    } else {
        seen.outcome = format!("client answered the signature with {answer:?}");
        Some("501 5.7.0 aborted\r\n".into())
    }
}

/// A one-connection server advertising `auth` over `channel`.
fn start(channel: Channel, auth: &'static str, server: Server, cert_hash: MessageDigest) -> ScramServer {
    let dir = TempDir::new("scram-plus");
    let ca = new_ca("scram-plus test CA");
    let (cert, key) = leaf_signed(&ca, cert_hash);
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.cert.to_pem().unwrap()).unwrap();
    let acceptor = (channel != Channel::Plain).then(|| {
        let mut acc = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server()).unwrap();
        acc.set_certificate(&cert).unwrap();
        acc.set_private_key(&key).unwrap();
        let v = if channel == Channel::Tls12 { SslVersion::TLS1_2 } else { SslVersion::TLS1_3 };
        acc.set_min_proto_version(Some(v)).unwrap();
        acc.set_max_proto_version(Some(v)).unwrap();
        acc.build()
    });
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut seen = Seen {
            lines: Vec::new(),
            client_first: None,
            client_final: None,
            server_binding: None,
            outcome: "no AUTH".into(),
        };
        match acceptor {
            Some(acc) => match acc.accept(tcp) {
                Ok(tls) => {
                    let binding = binding_on_server(tls.ssl(), cert_hash);
                    seen.server_binding = Some(binding.1.clone());
                    serve(BufReader::new(tls), auth, Some(binding), server, &mut seen);
                }
                Err(e) => seen.outcome = format!("handshake failed: {e}"),
            },
            None => serve(BufReader::new(tcp), auth, None, server, &mut seen),
        }
        let _ = tx.send(seen);
    });
    ScramServer { port, ca_file, _dir: dir, seen: rx }
}

fn serve<S: Read + Write>(
    mut conn: BufReader<S>,
    auth: &str,
    binding: Option<(&'static str, Vec<u8>)>,
    server: Server,
    seen: &mut Seen,
) {
    let mut reply = "220 scram.test ESMTP\r\n".to_owned();
    while let Some(line) = exchange(&mut conn, &reply, &mut seen.lines) {
        let verb = line.split(' ').next().unwrap_or("").to_ascii_uppercase();
        reply = match verb.as_str() {
            "EHLO" => String::from_utf8(ehlo_reply("scram.test", &[auth])).unwrap(),
            "AUTH" => match scram(&mut conn, &line, binding.clone(), server, seen) {
                Some(r) => r,
                None => break,
            },
            "QUIT" => {
                let _ = conn.get_mut().write_all(b"221 bye\r\n");
                break;
            }
            _ => "250 ok\r\n".to_owned(),
        };
    }
}

/// A session connected to `srv` (SMTPS with the test CA, or plain SMTP), verification on
/// unless `verify` is false.
fn connect(srv: &ScramServer, channel: Channel, verify: bool) -> Session {
    let kind = if channel == Channel::Plain { SessionKind::Smtp } else { SessionKind::Smtps };
    let mut s = support::new_session(kind);
    s.set_local_hostname(Some("client.example.test")).unwrap();
    s.set_timeout(Some(Duration::from_secs(10)));
    s.tls_config_mut().ca_file = Some(srv.ca_file.clone());
    s.tls_config_mut().insecure_skip_verify = !verify;
    s.connect(&format!("localhost:{}", srv.port), 0).expect("connect");
    s
}

fn finish(srv: ScramServer, s: Session) -> Seen {
    drop(s);
    srv.seen.recv_timeout(Duration::from_secs(15)).expect("the server thread reports")
}

/// `AUTH <mechanism>` of each AUTH line the server read.
fn auth_lines(seen: &Seen) -> Vec<String> {
    seen.lines
        .iter()
        .filter(|l| l.starts_with("AUTH "))
        .map(|l| l.split(' ').take(2).collect::<Vec<_>>().join(" "))
        .collect()
}

const ALL: &str = "AUTH PLAIN SCRAM-SHA-1 SCRAM-SHA-256 SCRAM-SHA-1-PLUS SCRAM-SHA-256-PLUS";

// =============================================================================================
// -PLUS over verified TLS
// =============================================================================================

#[test]
fn tls13_uses_scram_sha256_plus_with_tls_exporter() {
    let srv = start(Channel::Tls13, ALL, Server::Honest, MessageDigest::sha256());
    let mut s = connect(&srv, Channel::Tls13, true);
    let info = s.tls_info().unwrap().clone();
    assert_eq!(info.version, "TLSv1.3");
    assert!(info.verified);
    let cb = info.channel_binding.clone().expect("binding data on TLS 1.3");
    assert_eq!(cb.kind, "tls-exporter");
    assert!(!format!("{cb:?}").contains(&format!("{:?}", &cb.data[..4])), "Debug hides the data: {cb:?}");
    s.login(USER, PASS, true).expect("SCRAM-SHA-256-PLUS login");
    assert!(s.is_authenticated());
    let seen = finish(srv, s);
    assert_eq!(seen.outcome, "235", "{seen:?}");
    assert_eq!(auth_lines(&seen), ["AUTH SCRAM-SHA-256-PLUS"], "the strongest first");
    assert!(seen.client_first.as_deref().unwrap().starts_with("p=tls-exporter,,n=alice,r="), "{seen:?}");
    // the client's binding data is the server's, computed on the server's side of the channel
    let server_cb = seen.server_binding.clone().unwrap();
    assert_eq!(server_cb.len(), 32);
    assert_eq!(cb.data.as_slice(), server_cb.as_slice());
    let mut cbind = b"p=tls-exporter,,".to_vec();
    cbind.extend_from_slice(&server_cb);
    assert!(seen.client_final.as_deref().unwrap().starts_with(&format!("c={},r=", B64.encode(&cbind))));
}

#[test]
fn tls12_uses_tls_server_end_point_with_the_certificate_signature_hash() {
    // a certificate signed with SHA-384: the end-point hash is SHA-384 of the certificate
    let srv = start(Channel::Tls12, ALL, Server::Honest, MessageDigest::sha384());
    let mut s = connect(&srv, Channel::Tls12, true);
    let cb = s.tls_info().unwrap().channel_binding.clone().expect("binding data on TLS 1.2");
    assert_eq!(cb.kind, "tls-server-end-point");
    assert_eq!(cb.data.len(), 48, "SHA-384");
    s.login(USER, PASS, false).expect("SCRAM-SHA-256-PLUS login without an initial response");
    let seen = finish(srv, s);
    assert_eq!(seen.outcome, "235", "{seen:?}");
    assert!(seen.lines.iter().any(|l| l == "AUTH SCRAM-SHA-256-PLUS"), "no initial response: {:?}", seen.lines);
    assert_eq!(cb.data.as_slice(), seen.server_binding.as_deref().unwrap());
    assert!(seen.client_first.as_deref().unwrap().starts_with("p=tls-server-end-point,,"));
}

#[test]
fn scram_sha1_plus_when_it_is_the_strongest_offered() {
    for (channel, kind) in [(Channel::Tls13, "tls-exporter"), (Channel::Tls12, "tls-server-end-point")] {
        let srv = start(channel, "AUTH SCRAM-SHA-1 SCRAM-SHA-1-PLUS CRAM-MD5", Server::Honest, MessageDigest::sha256());
        let mut s = connect(&srv, channel, true);
        s.login(USER, PASS, true).unwrap_or_else(|e| panic!("{channel:?}: {e}"));
        let seen = finish(srv, s);
        assert_eq!(seen.outcome, "235", "{seen:?}");
        assert_eq!(auth_lines(&seen), ["AUTH SCRAM-SHA-1-PLUS"]);
        assert!(seen.client_first.as_deref().unwrap().starts_with(&format!("p={kind},,")), "{seen:?}");
    }
}

#[test]
fn chosen_plus_mechanism_is_accepted_by_name() {
    let srv = start(Channel::Tls13, ALL, Server::Honest, MessageDigest::sha256());
    let mut s = connect(&srv, Channel::Tls13, true);
    s.set_login_mechanisms(Some("scram-sha-1-plus, SCRAM-SHA-256")).unwrap();
    s.login(USER, PASS, true).unwrap();
    let seen = finish(srv, s);
    assert_eq!(auth_lines(&seen), ["AUTH SCRAM-SHA-1-PLUS"]);
    assert_eq!(seen.outcome, "235");
}

// =============================================================================================
// Downgrade protection: y when -PLUS is not advertised
// =============================================================================================

#[test]
fn stripped_plus_advertisement_sends_y_and_a_binding_server_refuses_it() {
    for channel in [Channel::Tls13, Channel::Tls12] {
        // the server supports channel binding, but its advertisement lost the -PLUS names
        let srv = start(channel, "AUTH PLAIN SCRAM-SHA-256", Server::Honest, MessageDigest::sha256());
        let mut s = connect(&srv, channel, true);
        let e = s.login(USER, PASS, true).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Authentication, "{e}");
        assert!(e.message().contains("server-does-support-channel-binding"), "{e}");
        assert!(!s.is_authenticated());
        let seen = finish(srv, s);
        assert!(seen.client_first.as_deref().unwrap().starts_with("y,,n=alice,r="), "{channel:?}: {seen:?}");
        // the SCRAM failure is the server's: no PLAIN after it
        assert_eq!(auth_lines(&seen), ["AUTH SCRAM-SHA-256"], "{seen:?}");
        assert_eq!(seen.lines.last().map(String::as_str), Some("*"), "cancelled: {seen:?}");
    }
}

#[test]
fn server_without_channel_binding_accepts_y() {
    let srv =
        start(Channel::Tls13, "AUTH SCRAM-SHA-256 SCRAM-SHA-1", Server::NoBindingSupport, MessageDigest::sha256());
    let mut s = connect(&srv, Channel::Tls13, true);
    s.login(USER, PASS, true).expect("y is accepted by a server without channel binding");
    let seen = finish(srv, s);
    assert_eq!(seen.outcome, "235");
    assert!(seen.client_first.as_deref().unwrap().starts_with("y,,"));
    // c= is base64 of "y,," alone
    assert!(seen.client_final.as_deref().unwrap().starts_with("c=eSws,r="), "{seen:?}");
}

#[test]
fn caller_leaving_out_plus_sends_n() {
    let srv = start(Channel::Tls13, ALL, Server::Honest, MessageDigest::sha256());
    let mut s = connect(&srv, Channel::Tls13, true);
    s.set_login_mechanisms(Some("SCRAM-SHA-256")).unwrap();
    s.login(USER, PASS, true).unwrap();
    let seen = finish(srv, s);
    assert!(seen.client_first.as_deref().unwrap().starts_with("n,,"), "{seen:?}");
    assert!(seen.client_final.as_deref().unwrap().starts_with("c=biws,"), "{seen:?}");
}

// =============================================================================================
// No channel binding without verified TLS
// =============================================================================================

#[test]
fn plain_text_skips_plus_and_sends_n() {
    let srv = start(Channel::Plain, ALL, Server::Honest, MessageDigest::sha256());
    let mut s = connect(&srv, Channel::Plain, true);
    assert!(s.tls_info().is_none());
    s.login(USER, PASS, true).expect("SCRAM-SHA-256 on loopback");
    let seen = finish(srv, s);
    assert_eq!(seen.outcome, "235", "{seen:?}");
    assert_eq!(auth_lines(&seen), ["AUTH SCRAM-SHA-256"]);
    assert!(seen.client_first.as_deref().unwrap().starts_with("n,,"), "{seen:?}");
}

#[test]
fn unverified_tls_skips_plus_and_sends_n() {
    for channel in [Channel::Tls13, Channel::Tls12] {
        let srv = start(channel, ALL, Server::Honest, MessageDigest::sha256());
        let mut s = connect(&srv, channel, false);
        assert!(!s.tls_info().unwrap().verified);
        // the data exists; it is not used with a peer that could be anyone
        assert!(s.tls_info().unwrap().channel_binding.is_some());
        s.login(USER, PASS, true).expect("SCRAM-SHA-256");
        let seen = finish(srv, s);
        assert_eq!(seen.outcome, "235", "{seen:?}");
        assert_eq!(auth_lines(&seen), ["AUTH SCRAM-SHA-256"]);
        assert!(seen.client_first.as_deref().unwrap().starts_with("n,,"), "{channel:?}: {seen:?}");
    }
}

#[test]
fn only_plus_offered_without_tls_is_no_suitable_mechanism() {
    let srv = start(Channel::Plain, "AUTH SCRAM-SHA-256-PLUS", Server::Honest, MessageDigest::sha256());
    let mut s = connect(&srv, Channel::Plain, true);
    let e = s.login(USER, PASS, true).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Smtp, "{e}");
    assert!(e.message().contains("No suitable authentication method found"), "{e}");
    assert!(e.message().contains("-PLUS mechanisms need TLS with a verified peer"), "{e}");
    let seen = finish(srv, s);
    assert!(auth_lines(&seen).is_empty(), "nothing of AUTH sent: {seen:?}");
}

// =============================================================================================
// A wrong binding fails the login
// =============================================================================================

#[test]
fn server_with_other_binding_data_fails_the_login() {
    for channel in [Channel::Tls13, Channel::Tls12] {
        let srv = start(channel, ALL, Server::WrongBindingCheck, MessageDigest::sha256());
        let mut s = connect(&srv, channel, true);
        let e = s.login(USER, PASS, true).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Authentication, "{e}");
        assert!(e.message().contains("channel-bindings-dont-match"), "{e}");
        assert!(!s.is_authenticated());
        let seen = finish(srv, s);
        // no fallback to SCRAM without binding, PLAIN or anything else
        assert_eq!(auth_lines(&seen), ["AUTH SCRAM-SHA-256-PLUS"], "{seen:?}");
    }
}

#[test]
fn server_signing_other_binding_data_is_refused() {
    // a relay between two TLS connections sees other binding data than the client's: its
    // signature (over the AuthMessage with its c=) cannot match the client's
    for channel in [Channel::Tls13, Channel::Tls12] {
        let srv = start(channel, ALL, Server::SignsOtherBinding, MessageDigest::sha256());
        let mut s = connect(&srv, channel, true);
        let e = s.login(USER, PASS, true).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Authentication, "{e}");
        assert!(e.message().contains("server signature is wrong"), "{e}");
        assert!(!s.is_authenticated());
        let seen = finish(srv, s);
        assert_eq!(auth_lines(&seen), ["AUTH SCRAM-SHA-256-PLUS"], "{seen:?}");
        assert!(seen.outcome.contains("\"*\""), "the client cancelled: {seen:?}");
    }
}
