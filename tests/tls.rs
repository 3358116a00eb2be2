//! TLS: STARTTLS and implicit TLS against Postfix with the test CA; the TLS policy; the
//! certificate matrix against a real OpenSSL server with generated certificates; and the
//! STARTTLS transition attacks (response injection, stripping, downgrade) on the scripted server.

mod support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use openssl::pkey::{PKey, Private};
use openssl::ssl::{SslAcceptor, SslMethod};
use openssl::x509::X509;

use smtpclient::session::SessionKind;
use smtpclient::tls::TlsPolicy;
use smtpclient::{ErrorKind, Session};
use support::certs::{leaf, new_ca, Ca};
use support::{contains, ehlo_reply, greet_and_ehlo, unique_marker, ScriptedServer, Step, TempDir, TestBed};

const WAIT: Duration = Duration::from_secs(15);

fn session(kind: SessionKind) -> Session {
    let mut s = support::new_session(kind);
    s.set_local_hostname(Some("client.example.test")).unwrap();
    s.set_timeout(Some(Duration::from_secs(10)));
    s
}

fn trusting_test_ca(kind: SessionKind) -> Session {
    let mut s = session(kind);
    s.tls_config_mut().ca_file = Some(TestBed::get().smtp_ca_file.clone());
    s
}

// ------------------------------------------------------------------------------ Postfix

#[test]
fn starttls_verified_with_the_test_ca_then_delivers() {
    let bed = TestBed::get();
    for host in ["localhost", "127.0.0.1"] {
        let marker = unique_marker("starttls");
        let mut s = trusting_test_ca(SessionKind::Smtp);
        s.connect(host, bed.smtp_port).unwrap();
        s.ehlo(None).unwrap();
        assert!(s.has_extn("starttls"));
        s.starttls().unwrap();
        let info = s.tls_info().unwrap().clone();
        assert!(info.verified, "{host}");
        assert!(info.version == "TLSv1.3" || info.version == "TLSv1.2", "{info:?}");
        assert!(!info.cipher.is_empty());
        // capabilities were forgotten and EHLO sent again over TLS: Postfix no longer offers STARTTLS
        assert!(s.does_esmtp() && !s.has_extn("starttls"), "{host}: {:?}", s.features());
        assert_eq!(s.starttls().unwrap_err().kind(), ErrorKind::BadState);
        s.sendmail(
            "alice@example.test",
            &["bob@example.test"],
            format!("Subject: {marker}\r\n\r\nx\r\n").as_bytes(),
            &[],
            &[],
        )
        .unwrap();
        let m = bed.wait_for_postfix_mail("bob", &marker, WAIT).expect("delivered");
        assert!(contains(&m, b"using TLSv1."), "Received: shows TLS");
        s.quit().unwrap();
    }
}

#[test]
fn implicit_tls_smtps() {
    let bed = TestBed::get();
    let marker = unique_marker("smtps");
    let mut s = trusting_test_ca(SessionKind::Smtps);
    let greeting = s.connect("localhost", bed.smtp_smtps_port).unwrap();
    assert_eq!(greeting.code(), 220);
    assert!(s.tls_info().unwrap().verified);
    s.sendmail(
        "alice@example.test",
        &["alice@example.test"],
        format!("Subject: {marker}\r\n\r\nx\r\n").as_bytes(),
        &[],
        &[],
    )
    .unwrap();
    assert!(bed.wait_for_postfix_mail("alice", &marker, WAIT).is_some());
    s.quit().unwrap();

    // the system trust store does not know the test CA
    let mut s = session(SessionKind::Smtps);
    let e = s.connect("localhost", bed.smtp_smtps_port).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TlsCertificate, "{e}");
    assert!(!s.is_connected());
}

#[test]
fn verification_failures_against_postfix() {
    let bed = TestBed::get();
    // system store: unknown issuer
    let mut s = session(SessionKind::Smtp);
    s.connect("localhost", bed.smtp_port).unwrap();
    let e = s.starttls().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TlsCertificate, "{e}");
    assert!(!s.is_connected(), "a failed handshake closes the session");
    // a name the certificate does not carry
    let mut s = trusting_test_ca(SessionKind::Smtp);
    s.tls_config_mut().server_name = Some("mx.example.test".into());
    s.connect("localhost", bed.smtp_port).unwrap();
    let e = s.starttls().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TlsCertificate, "{e}");
    // the insecure switch lets it through, and says the peer is not verified
    let mut s = session(SessionKind::Smtp);
    s.tls_config_mut().insecure_skip_verify = true;
    s.connect("localhost", bed.smtp_port).unwrap();
    s.starttls().unwrap();
    assert!(!s.tls_info().unwrap().verified);
    s.quit().unwrap();
}

#[test]
fn required_policy_upgrades_or_fails_closed() {
    let bed = TestBed::get();
    // submission port: TLS comes first, automatically
    let mut s = trusting_test_ca(SessionKind::Smtp);
    s.set_tls_policy(TlsPolicy::Required);
    s.connect("localhost", bed.smtp_submission_port).unwrap();
    s.ehlo_or_helo_if_needed().unwrap();
    assert!(s.tls_info().is_some_and(|t| t.verified));
    assert!(s.has_extn("auth"), "submission offers AUTH after TLS");
    s.quit().unwrap();
    // a server without STARTTLS: TLS_REQUIRED, closed, nothing sent
    let mut s = trusting_test_ca(SessionKind::Smtp);
    s.set_tls_policy(TlsPolicy::Required);
    s.connect("localhost", bed.smtp_minimal_port).unwrap();
    let e = s.sendmail("alice@example.test", &["alice@example.test"], b"x", &[], &[]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TlsRequired);
    assert!(!s.is_connected());
    // opportunistic: plain where not offered, TLS where offered
    let mut s = trusting_test_ca(SessionKind::Smtp);
    s.set_tls_policy(TlsPolicy::Opportunistic);
    s.connect("localhost", bed.smtp_minimal_port).unwrap();
    s.ehlo_or_helo_if_needed().unwrap();
    assert!(s.tls_info().is_none());
    s.quit().unwrap();
    s.connect("localhost", bed.smtp_port).unwrap();
    s.ehlo_or_helo_if_needed().unwrap();
    assert!(s.tls_info().is_some());
    s.quit().unwrap();
}

// ------------------------------------------------------------------------------ certificate matrix

/// A real TLS server (OpenSSL) on loopback for one connection: after a successful handshake it
/// greets as SMTP and reports every application byte it then received.
fn tls_server(cert: &X509, key: &PKey<Private>) -> (u16, mpsc::Receiver<Result<Vec<u8>, String>>) {
    let mut acc = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server()).unwrap();
    acc.set_certificate(cert).unwrap();
    acc.set_private_key(key).unwrap();
    let acc = acc.build();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let result = match acc.accept(tcp) {
            Ok(mut tls) => {
                tls.write_all(b"220 tls.test ESMTP\r\n").unwrap();
                let mut got = Vec::new();
                let mut buf = [0u8; 1024];
                while let Ok(n) = tls.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    got.extend_from_slice(&buf[..n]);
                    if got.ends_with(b"QUIT\r\n") {
                        let _ = tls.write_all(b"221 bye\r\n");
                        break;
                    }
                }
                Ok(got)
            }
            Err(e) => Err(e.to_string()),
        };
        let _ = tx.send(result);
    });
    (port, rx)
}

fn ca_file(dir: &TempDir, ca: &Ca) -> std::path::PathBuf {
    let p = dir.path().join("ca.pem");
    std::fs::write(&p, ca.cert.to_pem().unwrap()).unwrap();
    p
}

/// A server certificate and its private key.
type CertAndKey = (X509, PKey<Private>);

#[test]
fn certificate_matrix() {
    let dir = TempDir::new("smtpclient-tls-matrix");
    let ca = new_ca("matrix test CA");
    let other_ca = new_ca("some other CA");
    let trusted = ca_file(&dir, &ca);
    let cases: Vec<(&str, CertAndKey, &str, bool)> = vec![
        ("valid name", leaf("localhost", &["DNS:localhost"], Some(&ca), -1, 30), "localhost", true),
        ("valid IP SAN", leaf("x", &["IP:127.0.0.1"], Some(&ca), -1, 30), "127.0.0.1", true),
        ("self-signed", leaf("localhost", &["DNS:localhost"], None, -1, 30), "localhost", false),
        ("unknown CA", leaf("localhost", &["DNS:localhost"], Some(&other_ca), -1, 30), "localhost", false),
        ("wrong host name", leaf("localhost", &["DNS:mail.example.org"], Some(&ca), -1, 30), "localhost", false),
        ("CN only, no SAN", leaf("localhost", &[], Some(&ca), -1, 30), "localhost", false),
        ("IP name, DNS SAN only", leaf("127.0.0.1", &["DNS:127.0.0.1"], Some(&ca), -1, 30), "127.0.0.1", false),
        ("expired", leaf("localhost", &["DNS:localhost"], Some(&ca), -30, -1), "localhost", false),
        ("not yet valid", leaf("localhost", &["DNS:localhost"], Some(&ca), 2, 30), "localhost", false),
    ];
    for (what, (cert, key), host, ok) in cases {
        for insecure in [false, true] {
            let (port, done) = tls_server(&cert, &key);
            let mut s = session(SessionKind::Smtps);
            s.tls_config_mut().ca_file = Some(trusted.clone());
            s.tls_config_mut().insecure_skip_verify = insecure;
            let res = s.connect(host, port);
            if ok || insecure {
                res.unwrap_or_else(|e| panic!("{what} (insecure={insecure}): {e}"));
                assert_eq!(s.tls_info().unwrap().verified, !insecure, "{what}");
                s.quit().unwrap();
                assert_eq!(done.recv_timeout(WAIT).unwrap().unwrap(), b"QUIT\r\n", "{what}");
            } else {
                let e = res.unwrap_err();
                assert_eq!(e.kind(), ErrorKind::TlsCertificate, "{what}: {e}");
                assert!(!s.is_connected());
                // the handshake failed on the server side too: no SMTP byte went over TLS
                assert!(done.recv_timeout(WAIT).unwrap().is_err(), "{what}");
            }
        }
    }
}

#[test]
fn tls13_minimum_against_a_tls12_only_server() {
    let ca = new_ca("v CA");
    let dir = TempDir::new("smtpclient-tls-version");
    let (cert, key) = leaf("localhost", &["DNS:localhost"], Some(&ca), -1, 30);
    let mut acc = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server()).unwrap();
    acc.set_certificate(&cert).unwrap();
    acc.set_private_key(&key).unwrap();
    acc.set_max_proto_version(Some(openssl::ssl::SslVersion::TLS1_2)).unwrap();
    let acc = acc.build();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let t = thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        acc.accept(tcp).is_ok()
    });
    let mut s = session(SessionKind::Smtps);
    s.tls_config_mut().ca_file = Some(ca_file(&dir, &ca));
    s.tls_config_mut().min_version = smtpclient::tls::TlsVersion::Tls13;
    let e = s.connect("localhost", port).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Tls, "{e}");
    assert!(!t.join().unwrap());
}

// ------------------------------------------------------------------------------ STARTTLS attacks

#[test]
fn starttls_response_injection_is_refused() {
    // the 220 and an injected reply in one segment: nothing may be read as if it came over TLS
    let mut steps = greet_and_ehlo(&["STARTTLS"]);
    steps.extend([
        Step::expect("STARTTLS"),
        Step::send("220 2.0.0 go ahead\r\n250 injected\r\n"),
        Step::ReadUntilClose,
    ]);
    let server = ScriptedServer::tcp(steps);
    let mut s = session(SessionKind::Smtp);
    s.connect(&server.addr(), 0).unwrap();
    let e = s.starttls().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Protocol, "{e}");
    assert!(!s.is_connected());
    let r = server.finish();
    assert_eq!(r.wire_str(), "EHLO client.example.test\r\nSTARTTLS\r\n", "no handshake bytes, nothing after");
}

#[test]
fn starttls_followed_by_plain_text_fails_the_handshake() {
    let mut steps = greet_and_ehlo(&["STARTTLS"]);
    steps.extend([
        Step::expect("STARTTLS"),
        Step::reply("220 go ahead"),
        Step::sleep_ms(100),
        Step::reply("250 not tls"),
        Step::ReadUntilClose,
    ]);
    let server = ScriptedServer::tcp(steps);
    let mut s = session(SessionKind::Smtp);
    s.connect(&server.addr(), 0).unwrap();
    let e = s.starttls().unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Tls | ErrorKind::Protocol), "{e}");
    assert!(!s.is_connected());
    drop(server.finish());
}

#[test]
fn stripped_starttls_with_required_policy_sends_only_quit() {
    let mut steps = greet_and_ehlo(&["PIPELINING", "AUTH PLAIN"]);
    steps.extend([Step::expect("QUIT"), Step::reply("221 bye")]);
    let server = ScriptedServer::tcp(steps);
    let mut s = session(SessionKind::Smtp);
    s.set_tls_policy(TlsPolicy::Required);
    s.connect(&server.addr(), 0).unwrap();
    let e = s.sendmail("a@example.test", &["b@example.test"], b"x", &[], &[]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TlsRequired);
    assert!(!s.is_connected());
    let r = server.finish();
    r.assert_ok();
    assert_eq!(r.wire_str(), "EHLO client.example.test\r\nQUIT\r\n");
}

#[test]
fn refused_starttls_with_required_policy_sends_only_quit() {
    let mut steps = greet_and_ehlo(&["STARTTLS"]);
    steps.extend([
        Step::expect("STARTTLS"),
        Step::reply("454 4.7.0 TLS not available"),
        Step::expect("QUIT"),
        Step::reply("221 bye"),
    ]);
    let server = ScriptedServer::tcp(steps);
    let mut s = session(SessionKind::Smtp);
    s.set_tls_policy(TlsPolicy::Required);
    s.connect(&server.addr(), 0).unwrap();
    let e = s.sendmail("a@example.test", &["b@example.test"], b"x", &[], &[]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TlsRequired);
    let r = server.finish();
    r.assert_ok();
    assert_eq!(r.wire_str(), "EHLO client.example.test\r\nSTARTTLS\r\nQUIT\r\n");

    // without the policy, smtplib's behaviour: a response error, the plain session stays open
    let mut steps = greet_and_ehlo(&["STARTTLS"]);
    steps.extend([
        Step::expect("STARTTLS"),
        Step::reply("454 4.7.0 TLS not available"),
        Step::expect("NOOP"),
        Step::reply("250 ok"),
    ]);
    let server = ScriptedServer::tcp(steps);
    let mut s = session(SessionKind::Smtp);
    s.connect(&server.addr(), 0).unwrap();
    let e = s.starttls().unwrap_err();
    assert_eq!((e.kind(), e.reply().unwrap().code()), (ErrorKind::Response, 454));
    assert_eq!(s.noop().unwrap().code(), 250);
    s.close();
    server.finish().assert_ok();
}

#[test]
fn helo_downgrade_with_required_policy_sends_only_quit() {
    let server = ScriptedServer::tcp(vec![
        Step::reply("220 old"),
        Step::expect("EHLO"),
        Step::reply("502 5.5.1 no EHLO here"),
        Step::expect("QUIT"),
        Step::reply("221 bye"),
    ]);
    let mut s = session(SessionKind::Smtp);
    s.set_tls_policy(TlsPolicy::Required);
    s.connect(&server.addr(), 0).unwrap();
    let e = s.sendmail("a@example.test", &["b@example.test"], b"x", &[], &[]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TlsRequired);
    let r = server.finish();
    r.assert_ok();
    assert_eq!(r.wire_str(), "EHLO client.example.test\r\nQUIT\r\n", "no HELO fallback");
}

#[test]
fn starttls_not_offered_is_not_supported() {
    let mut steps = vec![Step::reply("220 x"), Step::expect("EHLO"), Step::Send(ehlo_reply("x", &["SIZE 100"]))];
    steps.push(Step::ReadUntilClose);
    let server = ScriptedServer::tcp(steps);
    let mut s = session(SessionKind::Smtp);
    s.connect(&server.addr(), 0).unwrap();
    assert_eq!(s.starttls().unwrap_err().kind(), ErrorKind::NotSupported);
    assert!(s.is_connected());
    s.close();
    assert_eq!(server.finish().wire_str(), "EHLO client.example.test\r\n");
}

#[test]
fn required_policy_applies_after_a_manual_ehlo_or_helo() {
    for verb in ["EHLO", "HELO"] {
        let server = ScriptedServer::tcp(vec![
            Step::reply("220 x"),
            Step::expect(verb),
            Step::Send(if verb == "EHLO" { ehlo_reply("x", &["PIPELINING"]) } else { b"250 x\r\n".to_vec() }),
            Step::expect("QUIT"),
            Step::reply("221 bye"),
        ]);
        let mut s = session(SessionKind::Smtp);
        s.set_tls_policy(TlsPolicy::Required);
        s.connect(&server.addr(), 0).unwrap();
        if verb == "EHLO" {
            s.ehlo(None).unwrap();
        } else {
            s.helo(None).unwrap();
        }
        let e = s.sendmail("a@example.test", &["b@example.test"], b"x", &[], &[]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TlsRequired, "{verb}");
        let r = server.finish();
        r.assert_ok();
        assert_eq!(r.wire_str(), format!("{verb} client.example.test\r\nQUIT\r\n"));
    }
}
