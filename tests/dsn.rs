//! DSN (RFC 3461) and REQUIRETLS (RFC 8689): the exact MAIL / RCPT bytes on the scripted server
//! (pipelined and lock-step, per-recipient NOTIFY and ORCPT, the not-advertised policy both
//! ways, bad input refused before anything is sent), delivery status notifications from the
//! test bed's Postfix, and REQUIRETLS only over verified TLS to a server that advertises it
//! (an OpenSSL server answering as an SMTP server, since Postfix has no REQUIRETLS), also
//! through the C API.

mod support;

use std::ffi::CString;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use openssl::ssl::{SslAcceptor, SslMethod};

use smtpclient::protocol::xtext_decode;
use smtpclient::session::{Body, SessionKind};
use smtpclient::{DsnPolicy, DsnRet, ErrorKind, Notify, Session, TransactionParams};
use support::certs::{leaf, new_ca};
use support::{ehlo_reply, greet_and_ehlo, unique_marker, ScriptedServer, Step, TempDir, TestBed};

const MSG: &[u8] = b"From: a@x\r\nTo: b@x\r\nSubject: dsn\r\n\r\nhello\r\n";

fn session() -> Session {
    let mut s = support::new_session(SessionKind::Smtp);
    s.set_local_hostname(Some("client.example.test")).unwrap();
    s.set_timeout(Some(Duration::from_secs(10)));
    s
}

/// RET=HDRS, an ENVID that needs xtext, and three recipients: b with SUCCESS,FAILURE and an
/// ORCPT, c with NEVER, d with nothing.
fn params() -> TransactionParams {
    let mut p = TransactionParams::default();
    p.dsn.set_ret(Some(DsnRet::Headers));
    p.dsn.set_envid(Some("env id=1+2")).unwrap();
    p.dsn.set_notify("b@x", Some(Notify::SUCCESS.union(Notify::FAILURE).unwrap())).unwrap();
    p.dsn.set_orcpt("b@x", Some("orig+1@x")).unwrap();
    p.dsn.set_notify("C@X", Some(Notify::NEVER)).unwrap();
    p
}

const MAIL: &str = "MAIL FROM:<a@x> SIZE=43 RET=HDRS ENVID=env+20id+3D1+2B2";
const RCPT_B: &str = "RCPT TO:<b@x> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;orig+2B1@x";
const RCPT_C: &str = "RCPT TO:<c@x> NOTIFY=NEVER";
const RCPT_D: &str = "RCPT TO:<d@x>";

fn sendmail(s: &mut Session, to: &[&str], p: &TransactionParams) -> smtpclient::Result<()> {
    s.sendmail_with("a@x", to, Body::Bytes(MSG), None, &[], &[], p)
}

#[test]
fn each_recipient_gets_its_own_notify_and_orcpt_pipelined() {
    let mut steps = greet_and_ehlo(&["PIPELINING", "SIZE 1000", "DSN"]);
    steps.extend([
        Step::expect(MAIL),
        Step::expect(RCPT_B),
        Step::expect(RCPT_C),
        Step::expect(RCPT_D),
        Step::expect("DATA"),
        Step::reply("250 ok\n250 ok\n250 ok\n250 ok\n354 go"),
        Step::ExpectData,
        Step::reply("250 queued"),
        Step::expect("QUIT"),
        Step::reply("221 bye"),
    ]);
    let server = ScriptedServer::tcp(steps);
    let mut s = session();
    s.connect("127.0.0.1", server.port()).unwrap();
    sendmail(&mut s, &["b@x", "c@x", "d@x"], &params()).unwrap();
    s.quit().unwrap();
    let r = server.finish();
    r.assert_ok();
    // exact lines, not prefixes
    assert_eq!(&r.lines[1..5], [MAIL, RCPT_B, RCPT_C, RCPT_D], "{}", r.wire_str());
    // the ENVID on the wire decodes to what was set
    let envid = MAIL.split("ENVID=").nth(1).unwrap();
    assert_eq!(xtext_decode(envid).unwrap(), "env id=1+2");
}

#[test]
fn each_recipient_gets_its_own_notify_and_orcpt_in_lockstep() {
    let mut steps = greet_and_ehlo(&["SIZE 1000", "DSN"]);
    for line in [MAIL, RCPT_B, RCPT_C, RCPT_D] {
        steps.extend([Step::expect(line), Step::reply("250 ok")]);
    }
    steps.extend([Step::expect("DATA"), Step::reply("354 go"), Step::ExpectData, Step::reply("250 queued")]);
    let server = ScriptedServer::tcp(steps);
    let mut s = session();
    s.set_pipelining(false);
    s.connect("127.0.0.1", server.port()).unwrap();
    sendmail(&mut s, &["b@x", "c@x", "d@x"], &params()).unwrap();
    s.close();
    let r = server.finish();
    r.assert_ok();
    assert_eq!(&r.lines[1..5], [MAIL, RCPT_B, RCPT_C, RCPT_D]);
}

#[test]
fn a_non_ascii_orcpt_is_utf8_typed_raw_with_smtputf8_and_escaped_without() {
    let mut p = TransactionParams::default();
    p.dsn.set_orcpt("b@x", Some("jörg+1@x")).unwrap();
    let mut steps = greet_and_ehlo(&["DSN", "SMTPUTF8"]);
    for line in ["MAIL FROM:<a@x> SMTPUTF8", "RCPT TO:<b@x> ORCPT=utf-8;jörg\\x{2B}1@x"] {
        steps.extend([Step::expect(line), Step::reply("250 ok")]);
    }
    steps.extend([Step::expect("DATA"), Step::reply("354 go"), Step::ExpectData, Step::reply("250 queued")]);
    for line in ["MAIL FROM:<a@x>", "RCPT TO:<b@x> ORCPT=utf-8;j\\x{F6}rg\\x{2B}1@x"] {
        steps.extend([Step::expect(line), Step::reply("250 ok")]);
    }
    steps.extend([Step::expect("DATA"), Step::reply("354 go"), Step::ExpectData, Step::reply("250 queued")]);
    let server = ScriptedServer::tcp(steps);
    let mut s = session();
    s.connect("127.0.0.1", server.port()).unwrap();
    s.sendmail_with("a@x", &["b@x"], Body::Bytes(MSG), None, &["SMTPUTF8"], &[], &p).unwrap();
    s.sendmail_with("a@x", &["b@x"], Body::Bytes(MSG), None, &[], &[], &p).unwrap();
    s.close();
    let r = server.finish();
    r.assert_ok();
    assert_eq!(r.lines[1], "MAIL FROM:<a@x> SMTPUTF8");
    assert_eq!(r.lines[2], "RCPT TO:<b@x> ORCPT=utf-8;jörg\\x{2B}1@x");
    assert_eq!(r.lines[5], "RCPT TO:<b@x> ORCPT=utf-8;j\\x{F6}rg\\x{2B}1@x");
}

#[test]
fn without_dsn_advertised_the_policy_fails_before_mail_or_sends_without() {
    let mut steps = greet_and_ehlo(&["PIPELINING"]);
    steps.extend([
        // the first send (policy REQUIRE) sends nothing; the second goes without DSN
        Step::expect("MAIL FROM:<a@x>"),
        Step::expect("RCPT TO:<b@x>"),
        Step::expect("RCPT TO:<c@x>"),
        Step::expect("DATA"),
        Step::reply("250 ok\n250 ok\n250 ok\n354 go"),
        Step::ExpectData,
        Step::reply("250 queued"),
        Step::expect("QUIT"),
        Step::reply("221 bye"),
    ]);
    let server = ScriptedServer::tcp(steps);
    let mut s = session();
    s.connect("127.0.0.1", server.port()).unwrap();
    let mut p = params();
    let e = sendmail(&mut s, &["b@x", "c@x"], &p).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotSupported, "{e}");
    assert!(e.to_string().contains("DSN"), "{e}");
    assert!(s.is_connected());
    p.dsn.set_policy(DsnPolicy::Optional);
    sendmail(&mut s, &["b@x", "c@x"], &p).unwrap();
    s.quit().unwrap();
    let r = server.finish();
    r.assert_ok();
    assert_eq!(&r.lines[1..4], ["MAIL FROM:<a@x>", "RCPT TO:<b@x>", "RCPT TO:<c@x>"]);
}

#[test]
fn bad_dsn_input_is_refused_before_anything_is_sent() {
    let mut p = TransactionParams::default();
    // an ENVID over 100 characters (as xtext), NOTIFY=NEVER with another condition
    let e = p.dsn.set_envid(Some(&"x".repeat(101))).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.to_string().contains("100"), "{e}");
    assert!(p.dsn.set_envid(Some(&"=".repeat(34))).is_err(), "34 '=' are 102 characters of xtext");
    assert_eq!(
        Notify::from_bits(Notify::NEVER.bits() | Notify::DELAY.bits()).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    assert!(Notify::NEVER.union(Notify::SUCCESS).is_err());
    assert!(p.dsn.set_envid(Some("tab\there")).is_err());
    assert!(p.dsn.set_orcpt("b@x", Some("x\r\nRSET")).is_err());
    assert_eq!(p, TransactionParams::default(), "a refused setting leaves the parameters as they were");

    // settings for a recipient the message does not have, a raw option repeating a typed one
    let server = ScriptedServer::tcp(vec![Step::reply("220 mx ESMTP"), Step::expect("QUIT"), Step::reply("221 bye")]);
    let mut s = session();
    s.connect("127.0.0.1", server.port()).unwrap();
    let mut typo = TransactionParams::default();
    typo.dsn.set_notify("bob@x", Some(Notify::FAILURE)).unwrap();
    let e = sendmail(&mut s, &["b@x"], &typo).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.to_string().contains("bob@x"), "{e}");
    let mut twice = TransactionParams::default();
    twice.dsn.set_ret(Some(DsnRet::Full));
    let e = s.sendmail_with("a@x", &["b@x"], Body::Bytes(MSG), None, &["RET=HDRS"], &[], &twice).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    let e = s.sendmail_with("a@x", &["b@x"], Body::Bytes(MSG), None, &[], &["NOTIFY=NEVER"], &typo).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    let e = s.send_message_with(MSG, None, None, &[], &[], &typo).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    s.quit().unwrap();
    let r = server.finish();
    r.assert_ok();
    assert_eq!(r.wire_str(), "QUIT\r\n", "not even EHLO went out");
}

// ------------------------------------------------------------------------------ Postfix

/// The Maildir message of alice's that holds `marker`, with the DSN report's fields unfolded.
fn wait_for_report(marker: &str) -> String {
    let tb = TestBed::get();
    let Some(m) = tb.wait_for_postfix_mail("alice", marker, Duration::from_secs(30)) else {
        panic!("no delivery status notification with {marker} for alice:\n{}", tb.postfix_log_tail(30));
    };
    String::from_utf8_lossy(&m).into_owned()
}

#[test]
fn postfix_returns_a_success_notification_with_the_envid_and_original_recipient() {
    let tb = TestBed::get();
    for pipelining in [true, false] {
        let marker = unique_marker("dsn");
        let envid = format!("dsn+id={marker}");
        let orcpt_bob = format!("orig+bob.{marker}@example.test");
        let orcpt_carol = format!("orig+carol.{marker}@example.test");
        let mut p = TransactionParams::default();
        p.dsn.set_ret(Some(DsnRet::Headers));
        p.dsn.set_envid(Some(&envid)).unwrap();
        p.dsn.set_notify("bob@example.test", Some(Notify::SUCCESS)).unwrap();
        p.dsn.set_orcpt("bob@example.test", Some(&orcpt_bob)).unwrap();
        // carol's delivery, and the refusal of reject550, must produce no notification
        p.dsn.set_notify("carol@example.test", Some(Notify::NEVER)).unwrap();
        p.dsn.set_orcpt("carol@example.test", Some(&orcpt_carol)).unwrap();
        p.dsn.set_notify("reject550@example.test", Some(Notify::NEVER)).unwrap();
        let msg = format!(
            "From: alice@example.test\r\nTo: bob@example.test, carol@example.test\r\nSubject: dsn {marker}\r\n\r\nX-Marker: {marker}\r\n"
        );
        let mut s = session();
        s.set_pipelining(pipelining);
        s.connect(&tb.smtp_host, tb.smtp_port).unwrap();
        let to = ["bob@example.test", "carol@example.test", "reject550@example.test"];
        s.sendmail_with("alice@example.test", &to, Body::Bytes(msg.as_bytes()), None, &[], &[], &p).unwrap();
        let refused: Vec<_> = s.refused().map(|(a, r)| (a.to_owned(), r.code())).collect();
        assert_eq!(refused, [("reject550@example.test".to_owned(), 550)]);
        s.quit().unwrap();
        assert!(tb.wait_for_postfix_mail("bob", &marker, Duration::from_secs(30)).is_some());
        assert!(tb.wait_for_postfix_mail("carol", &marker, Duration::from_secs(30)).is_some());
        let report = wait_for_report(&format!("Original-Envelope-Id: {envid}"));
        assert!(report.contains("report-type=delivery-status"), "{report}");
        assert!(report.contains(&format!("Original-Recipient: rfc822;{orcpt_bob}")), "{report}");
        assert!(report.contains("Action: delivered"), "{report}");
        // one notification, for bob only: carol and reject550 asked for NEVER
        assert!(!report.contains(&orcpt_carol), "{report}");
        assert!(!report.contains("reject550"), "{report}");
        // give a stray notification time to arrive, then count
        thread::sleep(Duration::from_secs(2));
        let dir = &tb.postfix_maildir;
        assert_eq!(tb.count_mail_with(dir, "alice", &envid), 1, "pipelining {pipelining}");
        assert_eq!(tb.count_mail_with(dir, "alice", &orcpt_carol), 0);
    }
}

// ------------------------------------------------------------------------------ REQUIRETLS

/// An OpenSSL server on loopback (SMTPS) that answers like an SMTP server advertising
/// `extensions` (250 to everything, 354 to DATA, 221 to QUIT) and reports the lines it read.
fn tls_responder(
    extensions: &'static [&'static str],
    dir: &TempDir,
) -> (u16, std::path::PathBuf, mpsc::Receiver<Vec<String>>) {
    let ca = new_ca("requiretls test CA");
    let (cert, key) = leaf("localhost", &["DNS:localhost", "IP:127.0.0.1"], Some(&ca), -1, 30);
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.cert.to_pem().unwrap()).unwrap();
    let mut acc = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server()).unwrap();
    acc.set_certificate(&cert).unwrap();
    acc.set_private_key(&key).unwrap();
    let acc = acc.build();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let Ok(tls) = acc.accept(tcp) else {
            let _ = tx.send(vec!["handshake failed".to_owned()]);
            return;
        };
        let mut lines = Vec::new();
        let mut conn = BufReader::new(tls);
        conn.get_mut().write_all(b"220 tls.test ESMTP\r\n").unwrap();
        let mut in_data = false;
        loop {
            let mut line = String::new();
            if conn.read_line(&mut line).unwrap_or(0) == 0 {
                break;
            }
            let line = line.trim_end_matches("\r\n").to_owned();
            if in_data {
                if line == "." {
                    in_data = false;
                    conn.get_mut().write_all(b"250 queued\r\n").unwrap();
                }
                continue;
            }
            let verb = line.split(' ').next().unwrap_or("").to_ascii_uppercase();
            lines.push(line);
            let reply = match verb.as_str() {
                "EHLO" => ehlo_reply("tls.test", extensions),
                "DATA" => {
                    in_data = true;
                    b"354 go\r\n".to_vec()
                }
                "QUIT" => {
                    let _ = conn.get_mut().write_all(b"221 bye\r\n");
                    break;
                }
                _ => b"250 ok\r\n".to_vec(),
            };
            conn.get_mut().write_all(&reply).unwrap();
        }
        let mut rest = Vec::new();
        let _ = conn.read_to_end(&mut rest);
        let _ = tx.send(lines);
    });
    (port, ca_file, rx)
}

fn requiretls() -> TransactionParams {
    TransactionParams { requiretls: true, ..TransactionParams::default() }
}

fn smtps(ca_file: &std::path::Path, verify: bool) -> Session {
    let mut s = support::new_session(SessionKind::Smtps);
    s.set_local_hostname(Some("client.example.test")).unwrap();
    s.set_timeout(Some(Duration::from_secs(10)));
    s.tls_config_mut().ca_file = Some(ca_file.to_owned());
    s.tls_config_mut().insecure_skip_verify = !verify;
    s
}

#[test]
fn requiretls_goes_on_mail_over_verified_tls_to_a_server_that_advertises_it() {
    let dir = TempDir::new("smtpclient-requiretls");
    let (port, ca, lines) = tls_responder(&["PIPELINING", "REQUIRETLS", "DSN"], &dir);
    let mut s = smtps(&ca, true);
    s.connect("localhost", port).unwrap();
    assert!(s.tls_info().unwrap().verified);
    sendmail(&mut s, &["b@x"], &requiretls()).unwrap();
    s.quit().unwrap();
    let lines = lines.recv_timeout(Duration::from_secs(15)).unwrap();
    assert_eq!(&lines[1..], ["MAIL FROM:<a@x> REQUIRETLS", "RCPT TO:<b@x>", "DATA", "QUIT"]);
}

#[test]
fn requiretls_is_refused_before_mail_over_unverified_tls_and_when_not_advertised() {
    let dir = TempDir::new("smtpclient-requiretls-refused");
    let cases: [(&'static [&'static str], bool, &str); 2] =
        [(&["REQUIRETLS"], false, "not verified"), (&["PIPELINING", "DSN"], true, "not advertised")];
    for (extensions, verify, why) in cases {
        let (port, ca, lines) = tls_responder(extensions, &dir);
        let mut s = smtps(&ca, verify);
        s.connect("localhost", port).unwrap();
        let e = sendmail(&mut s, &["b@x"], &requiretls()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TlsRequired, "{why}: {e}");
        assert!(e.to_string().contains(why), "{why}: {e}");
        assert!(s.is_connected(), "nothing of the transaction was sent: the session stays usable");
        s.quit().unwrap();
        let lines = lines.recv_timeout(Duration::from_secs(15)).unwrap();
        assert_eq!(lines.len(), 2, "{why}: {lines:?}");
        assert!(lines[0].starts_with("EHLO ") && lines[1] == "QUIT", "{why}: {lines:?}");
    }
}

#[test]
fn requiretls_is_refused_without_tls() {
    let mut steps = greet_and_ehlo(&["PIPELINING", "REQUIRETLS"]);
    steps.extend([Step::expect("QUIT"), Step::reply("221 bye")]);
    let server = ScriptedServer::tcp(steps);
    let mut s = session();
    s.connect("127.0.0.1", server.port()).unwrap();
    let e = sendmail(&mut s, &["b@x"], &requiretls()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TlsRequired, "{e}");
    assert!(e.to_string().contains("not encrypted"), "{e}");
    s.quit().unwrap();
    let r = server.finish();
    r.assert_ok();
    assert_eq!(r.lines.len(), 2, "EHLO and QUIT only: {}", r.wire_str());
}

// ------------------------------------------------------------------------------ C API

mod c {
    use super::*;
    use smtpclient::capi::options::*;
    use smtpclient::capi::result::smtp_result;
    use smtpclient::capi::session::*;
    use smtpclient::capi::tls::*;

    fn ok(r: smtp_result) {
        assert_eq!(r, smtp_result::Ok);
    }

    #[test]
    fn requiretls_and_per_recipient_notify_through_the_c_api() {
        let dir = TempDir::new("smtpclient-requiretls-c");
        let (port, ca, lines) = tls_responder(&["PIPELINING", "REQUIRETLS", "DSN"], &dir);
        let o = smtp_send_options_new();
        ok(smtp_send_options_set_requiretls(o, true));
        ok(smtp_send_options_set_dsn_ret(o, smtp_dsn_ret::Full as i32));
        ok(smtp_send_options_set_dsn_envid(o, c"c api".as_ptr()));
        let success_or_failure = smtp_dsn_notify::Success as u32 | smtp_dsn_notify::Failure as u32;
        ok(smtp_send_options_set_dsn_notify(o, c"b@x".as_ptr(), success_or_failure));
        ok(smtp_send_options_set_dsn_notify(o, c"c@x".as_ptr(), smtp_dsn_notify::Never as u32));
        ok(smtp_send_options_set_dsn_orcpt(o, c"c@x".as_ptr(), c"old=c@x".as_ptr()));
        // conflicts and bad flags, whichever comes first
        assert_eq!(smtp_send_options_add_mail_option(o, c"REQUIRETLS".as_ptr()), smtp_result::InvalidArgument);
        assert_eq!(smtp_send_options_add_rcpt_option(o, c"NOTIFY=DELAY".as_ptr()), smtp_result::InvalidArgument);
        let never_and_delay = smtp_dsn_notify::Never as u32 | smtp_dsn_notify::Delay as u32;
        assert_eq!(smtp_send_options_set_dsn_notify(o, c"d@x".as_ptr(), never_and_delay), smtp_result::InvalidArgument);
        assert_eq!(smtp_send_options_set_dsn_notify(o, c"d@x".as_ptr(), 16), smtp_result::InvalidArgument);

        let s = smtp_client_new(smtp_client_kind::Smtps as i32);
        ok(smtp_client_set_local_hostname(s, c"client.example.test".as_ptr()));
        let ca = CString::new(ca.to_str().unwrap()).unwrap();
        ok(smtp_client_set_tls_ca_file(s, ca.as_ptr()));
        ok(smtp_client_connect(s, c"localhost".as_ptr(), port));
        let to = [c"b@x".as_ptr(), c"c@x".as_ptr()];
        ok(smtp_client_sendmail(s, c"a@x".as_ptr(), to.as_ptr(), 2, MSG.as_ptr(), MSG.len(), o));
        ok(smtp_client_quit(s));
        let lines = lines.recv_timeout(Duration::from_secs(15)).unwrap();
        assert_eq!(
            &lines[1..4],
            [
                "MAIL FROM:<a@x> RET=FULL ENVID=c+20api REQUIRETLS",
                "RCPT TO:<b@x> NOTIFY=SUCCESS,FAILURE",
                "RCPT TO:<c@x> NOTIFY=NEVER ORCPT=rfc822;old+3Dc@x",
            ]
        );

        // the same options without TLS: TLS_REQUIRED, nothing of the transaction sent
        let mut steps = greet_and_ehlo(&["PIPELINING", "REQUIRETLS", "DSN"]);
        steps.extend([Step::expect("QUIT"), Step::reply("221 bye")]);
        let server = ScriptedServer::tcp(steps);
        let plain = smtp_client_new(smtp_client_kind::Smtp as i32);
        ok(smtp_client_set_local_hostname(plain, c"client.example.test".as_ptr()));
        ok(smtp_client_connect(plain, c"127.0.0.1".as_ptr(), server.port()));
        let rc = smtp_client_sendmail(plain, c"a@x".as_ptr(), to.as_ptr(), 2, MSG.as_ptr(), MSG.len(), o);
        assert_eq!(rc, smtp_result::TlsRequired);
        // DSN not advertised: NOT_SUPPORTED under the default policy
        ok(smtp_send_options_set_requiretls(o, false));
        ok(smtp_client_quit(plain));
        server.finish().assert_ok();

        let server = ScriptedServer::tcp({
            let mut steps = greet_and_ehlo(&["PIPELINING"]);
            steps.extend([Step::expect("QUIT"), Step::reply("221 bye")]);
            steps
        });
        ok(smtp_client_connect(plain, c"127.0.0.1".as_ptr(), server.port()));
        let rc = smtp_client_sendmail(plain, c"a@x".as_ptr(), to.as_ptr(), 2, MSG.as_ptr(), MSG.len(), o);
        assert_eq!(rc, smtp_result::NotSupported);
        ok(smtp_client_quit(plain));
        server.finish().assert_ok();
        // a recipient with settings that the send does not have
        let rc = smtp_client_sendmail(plain, c"a@x".as_ptr(), to.as_ptr(), 1, MSG.as_ptr(), MSG.len(), o);
        assert_eq!(rc, smtp_result::InvalidArgument);
        smtp_client_free(plain);
        smtp_client_free(s);
        smtp_send_options_free(o);
    }

    /// Run a non-blocking operation to its end (busy stepping is fine against loopback).
    fn finish(s: *mut smtp_client, mut rc: smtp_result) -> smtp_result {
        use smtpclient::capi::nonblocking::smtp_client_step;
        while rc == smtp_result::InProgress {
            thread::sleep(Duration::from_millis(1));
            rc = smtp_client_step(s);
        }
        rc
    }

    #[test]
    fn per_recipient_notify_through_the_non_blocking_c_api() {
        use smtpclient::capi::nonblocking::{smtp_client_start_connect, smtp_client_start_sendmail};
        let mut steps = greet_and_ehlo(&["PIPELINING", "DSN"]);
        steps.extend([
            Step::expect("MAIL FROM:<a@x> ENVID=nb"),
            Step::expect("RCPT TO:<b@x> NOTIFY=DELAY"),
            Step::expect("RCPT TO:<c@x>"),
            Step::expect("DATA"),
            Step::reply("250 ok\n250 ok\n250 ok\n354 go"),
            Step::ExpectData,
            Step::reply("250 queued"),
        ]);
        let server = ScriptedServer::tcp(steps);
        let o = smtp_send_options_new();
        ok(smtp_send_options_set_dsn_envid(o, c"nb".as_ptr()));
        ok(smtp_send_options_set_dsn_notify(o, c"b@x".as_ptr(), smtp_dsn_notify::Delay as u32));
        let s = smtp_client_new(smtp_client_kind::Smtp as i32);
        ok(smtp_client_set_local_hostname(s, c"client.example.test".as_ptr()));
        ok(finish(s, smtp_client_start_connect(s, c"127.0.0.1".as_ptr(), server.port())));
        let to = [c"b@x".as_ptr(), c"c@x".as_ptr()];
        let rc = smtp_client_start_sendmail(s, c"a@x".as_ptr(), to.as_ptr(), 2, MSG.as_ptr(), MSG.len(), o);
        ok(finish(s, rc));
        smtp_client_free(s);
        smtp_send_options_free(o);
        let r = server.finish();
        r.assert_ok();
        assert_eq!(&r.lines[1..4], ["MAIL FROM:<a@x> ENVID=nb", "RCPT TO:<b@x> NOTIFY=DELAY", "RCPT TO:<c@x>"]);
    }
}
