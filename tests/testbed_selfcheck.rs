//! Self-check of the test infrastructure: the loopback test bed (tests/servers/up.sh) answers as
//! the integration tests expect, and the scripted fault-injection server records faithfully.
//! Raw bytes over std sockets only: nothing here uses the library.

mod support;

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use support::{lines, unique_marker, ScriptedServer, Step, TestBed};

const T: Duration = Duration::from_secs(10);

/// Minimal line-level client over any stream.
struct Raw<S: Read + Write> {
    r: BufReader<S>,
}

impl<S: Read + Write> Raw<S> {
    fn new(s: S) -> Self {
        Raw { r: BufReader::new(s) }
    }
    fn send(&mut self, bytes: &[u8]) {
        self.r.get_mut().write_all(bytes).expect("write");
    }
    fn cmd(&mut self, line: &str) -> (u16, Vec<String>) {
        self.send(format!("{line}\r\n").as_bytes());
        self.reply()
    }
    /// Reads one (possibly multi-line) reply: code and the text of each line.
    fn reply(&mut self) -> (u16, Vec<String>) {
        let mut texts = Vec::new();
        loop {
            let mut l = String::new();
            let n = self.r.read_line(&mut l).expect("read reply line");
            assert!(n > 0, "server closed the connection mid-reply (so far: {texts:?})");
            assert!(l.ends_with("\r\n"), "reply line without CRLF: {l:?}");
            assert!(l.len() >= 4, "short reply line {l:?}");
            let code: u16 = l[..3].parse().unwrap_or_else(|_| panic!("bad reply line {l:?}"));
            texts.push(l[4..].trim_end().to_string());
            if l.as_bytes()[3] == b' ' {
                return (code, texts);
            }
            assert_eq!(l.as_bytes()[3], b'-', "bad reply line {l:?}");
        }
    }
}

fn tcp(addr: &str) -> Raw<TcpStream> {
    let s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    s.set_read_timeout(Some(T)).unwrap();
    s.set_write_timeout(Some(T)).unwrap();
    Raw::new(s)
}

fn unix(path: &std::path::Path) -> Raw<UnixStream> {
    let s = UnixStream::connect(path).unwrap_or_else(|e| panic!("connect {}: {e}", path.display()));
    s.set_read_timeout(Some(T)).unwrap();
    s.set_write_timeout(Some(T)).unwrap();
    Raw::new(s)
}

// ------------------------------------------------------------------------------- the test bed

#[test]
fn testbed_loads() {
    let bed = TestBed::get();
    assert!(bed.smtp_ca_file.is_file(), "CA file {}", bed.smtp_ca_file.display());
    assert!(bed.lmtp_socket.exists(), "LMTP socket {}", bed.lmtp_socket.display());
    assert!(bed.postfix_maildir.is_dir());
    assert!(bed.lmtp_maildir.is_dir());
    assert_eq!(bed.smtp_host, "127.0.0.1");
    let ports = [
        bed.smtp_port,
        bed.smtp_submission_port,
        bed.smtp_minimal_port,
        bed.smtp_smtps_port,
        bed.smtp_sink_port,
        bed.lmtp_port,
    ];
    assert!(ports.iter().all(|&p| p != 0));
    assert_eq!(bed.vars.get("SMTPENV_DIR").map(String::as_str), bed.dir.to_str());
}

#[test]
fn every_plain_tcp_port_greets_220() {
    let bed = TestBed::get();
    let mut addrs = vec![
        ("smtp", bed.smtp_addr()),
        ("submission", bed.submission_addr()),
        ("minimal", bed.minimal_addr()),
        ("sink", bed.sink_addr()),
        ("lmtp", bed.lmtp_addr()),
    ];
    if let Some(h6) = &bed.smtp_host6 {
        addrs.push(("smtp v6", format!("[{h6}]:{}", bed.smtp_port)));
        addrs.push(("lmtp v6", format!("[{h6}]:{}", bed.lmtp_port)));
    }
    for (name, addr) in addrs {
        let mut c = tcp(&addr);
        let (code, text) = c.reply();
        assert_eq!(code, 220, "{name} {addr} greeting {text:?}");
        let (code, text) = c.cmd("QUIT");
        assert_eq!(code, 221, "{name} {addr} QUIT {text:?}");
    }
}

#[test]
fn smtps_port_accepts_and_waits_for_tls() {
    let bed = TestBed::get();
    let s = TcpStream::connect(bed.smtps_addr()).expect("connect smtps");
    s.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    let mut b = [0u8; 64];
    match (&s).read(&mut b) {
        Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut => {}
        other => panic!("implicit-TLS port sent plaintext or closed: {other:?}"),
    }
}

#[test]
fn main_port_advertises_extensions() {
    let bed = TestBed::get();
    let mut c = tcp(&bed.smtp_addr());
    assert_eq!(c.reply().0, 220);
    let (code, ext) = c.cmd("EHLO client.example.test");
    assert_eq!(code, 250);
    for want in ["PIPELINING", "STARTTLS", "CHUNKING", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES"] {
        assert!(ext.iter().any(|e| e == want), "{want} missing from {ext:?}");
    }
    assert!(ext.iter().any(|e| *e == format!("SIZE {}", bed.msg_size_limit)), "{ext:?}");
    assert!(ext.iter().any(|e| e.starts_with("AUTH ") && e.contains("PLAIN")), "{ext:?}");
    c.cmd("QUIT");
}

#[test]
fn minimal_port_advertises_nothing() {
    let bed = TestBed::get();
    let mut c = tcp(&bed.minimal_addr());
    assert_eq!(c.reply().0, 220);
    let (code, ext) = c.cmd("EHLO client.example.test");
    assert_eq!((code, ext.len()), (250, 1), "{ext:?}");
    c.cmd("QUIT");
}

#[test]
fn lmtp_socket_greets_220() {
    let bed = TestBed::get();
    let mut c = unix(&bed.lmtp_socket);
    let (code, text) = c.reply();
    assert_eq!(code, 220, "{text:?}");
    let (code, ext) = c.cmd("LHLO client.example.test");
    assert_eq!(code, 250, "{ext:?}");
    assert!(ext.iter().any(|e| e == "PIPELINING"), "{ext:?}");
    assert_eq!(c.cmd("QUIT").0, 221);
}

#[test]
fn forced_sender_reject() {
    let bed = TestBed::get();
    let mut c = tcp(&bed.smtp_addr());
    c.reply();
    c.cmd("EHLO client.example.test");
    let (code, text) = c.cmd("MAIL FROM:<reject553@example.test>");
    assert_eq!(code, 553, "{text:?}");
    c.cmd("QUIT");
}

fn message(marker: &str) -> Vec<u8> {
    lines(&format!(
        "From: alice@example.test\nTo: bob@example.test\nSubject: {marker}\n\nbody {marker}\n..leading dot\n.\n"
    ))
}

#[test]
fn postfix_delivers_into_maildir() {
    let bed = TestBed::get();
    let marker = unique_marker("selfcheck-postfix");
    let mut c = tcp(&bed.smtp_addr());
    c.reply();
    c.cmd("EHLO client.example.test");
    assert_eq!(c.cmd("MAIL FROM:<alice@example.test>").0, 250);
    assert_eq!(c.cmd("RCPT TO:<bob@example.test>").0, 250);
    assert_eq!(c.cmd("DATA").0, 354);
    c.send(&message(&marker));
    let (code, text) = c.reply();
    assert_eq!(code, 250, "{text:?}");
    c.cmd("QUIT");
    let mail = bed
        .wait_for_mail(&bed.postfix_maildir, "bob", &marker, T)
        .unwrap_or_else(|| panic!("not delivered; postfix log:\n{}", bed.postfix_log_tail(20)));
    let text = String::from_utf8_lossy(&mail);
    assert!(text.contains("Delivered-To: bob@example.test"), "{text}");
    assert!(text.contains("\n.leading dot\n"), "dot-unstuffed line missing: {text}");
    assert_eq!(bed.count_mail_with(&bed.postfix_maildir, "bob", &marker), 1);
    assert_eq!(bed.count_mail_with(&bed.postfix_maildir, "alice", &marker), 0);
}

#[test]
fn lmtp_delivers_into_maildir() {
    let bed = TestBed::get();
    let marker = unique_marker("selfcheck-lmtp");
    let mut c = unix(&bed.lmtp_socket);
    c.reply();
    c.cmd("LHLO client.example.test");
    assert_eq!(c.cmd("MAIL FROM:<alice@example.test>").0, 250);
    assert_eq!(c.cmd("RCPT TO:<alice@example.test>").0, 250);
    assert_eq!(c.cmd("RCPT TO:<full@example.test>").0, 250);
    assert_eq!(c.cmd("DATA").0, 354);
    c.send(&message(&marker));
    // LMTP: one reply per accepted recipient
    assert_eq!(c.reply().0, 250);
    assert_eq!(c.reply().0, 552, "quota-full user must be refused after DATA");
    c.cmd("QUIT");
    assert!(
        bed.wait_for_lmtp_mail("alice", &marker, T).is_some(),
        "not delivered; dovecot log:\n{}",
        bed.dovecot_log_tail(20)
    );
    assert_eq!(bed.count_mail_with(&bed.lmtp_maildir, "full", &marker), 0);
}

#[test]
fn unique_markers_differ() {
    let a = unique_marker("m");
    let b = unique_marker("m");
    assert_ne!(a, b);
    assert!(a.starts_with("m-"));
    assert!(a.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-'), "{a}");
}

// ------------------------------------------------------------------------------- scripted server

#[test]
fn lines_helper_normalises_line_ends() {
    assert_eq!(lines("250-mx\n250 PIPELINING"), b"250-mx\r\n250 PIPELINING\r\n");
    assert_eq!(lines("220 hi\r\n"), b"220 hi\r\n");
    assert_eq!(lines(""), b"");
    assert_eq!(support::ehlo_reply("mx", &["A", "B"]), b"250-mx\r\n250-A\r\n250 B\r\n");
}

#[test]
fn scripted_server_records_what_the_client_writes() {
    let server = ScriptedServer::tcp(vec![
        Step::send("220 mx ESMTP\r\n"),
        Step::expect("EHLO "),
        Step::send("250-mx\r\n250 PIPELINING\r\n"),
        Step::expect("MAIL FROM:"),
        Step::expect("rcpt to:"), // case-insensitive prefix
        Step::send("250 ok\r\n250 ok\r\n"),
        Step::expect("DATA"),
        Step::send("354 go\r\n"),
        Step::ExpectData,
        Step::send("250 queued\r\n"),
        Step::expect("BDAT 5 LAST"),
        Step::ReadBytes(5),
        Step::send("250 ok\r\n"),
        Step::expect("QUIT"),
        Step::send("221 bye\r\n"),
    ]);
    assert!(server.addr().starts_with("127.0.0.1:"));
    assert_eq!(server.addr(), format!("127.0.0.1:{}", server.port()));

    let mut c = tcp(&server.addr());
    assert_eq!(c.reply().0, 220);
    assert_eq!(c.cmd("EHLO me").1, vec!["mx", "PIPELINING"]);
    c.send(b"MAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\n"); // pipelined in one write
    assert_eq!(c.reply().0, 250);
    assert_eq!(c.reply().0, 250);
    assert_eq!(c.cmd("DATA").0, 354);
    c.send(b"Subject: t\r\n\r\n..dot\r\n.\r\n");
    assert_eq!(c.reply().0, 250);
    c.send(b"BDAT 5 LAST\r\nhello");
    assert_eq!(c.reply().0, 250);
    assert_eq!(c.cmd("QUIT").0, 221);
    // the server closes after its script
    let mut rest = Vec::new();
    c.r.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());
    drop(c);

    let r = server.finish();
    r.assert_ok();
    assert!(r.connected);
    assert_eq!(
        r.wire_str(),
        "EHLO me\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\nSubject: t\r\n\r\n..dot\r\n.\r\n\
         BDAT 5 LAST\r\nhelloQUIT\r\n"
    );
    assert_eq!(r.lines, vec!["EHLO me", "MAIL FROM:<a@x>", "RCPT TO:<b@x>", "DATA", "BDAT 5 LAST", "QUIT"]);
    assert_eq!(r.data, vec![b"Subject: t\r\n\r\n..dot\r\n.\r\n".to_vec(), b"hello".to_vec()]);
}

#[test]
fn scripted_server_reports_unexpected_client_lines() {
    let server = ScriptedServer::tcp(vec![
        Step::reply("220 mx"),
        Step::expect("EHLO"),
        Step::reply("250 mx"),
        Step::expect("QUIT"),
        Step::reply("221 bye"),
    ]);
    let mut c = tcp(&server.addr());
    c.reply();
    assert_eq!(c.cmd("HELO me").0, 250);
    c.send(b"NOOP\n"); // wrong command and a bare LF
    c.reply();
    drop(c);
    let r = server.finish();
    assert_eq!(r.wire, b"HELO me\r\nNOOP\n");
    assert_eq!(r.mismatches.len(), 3, "{:#?}", r.mismatches);
    assert!(r.mismatches[0].contains("\"EHLO\"") && r.mismatches[0].contains("HELO me"), "{:?}", r.mismatches);
    assert!(r.mismatches.iter().any(|m| m.contains("bare LF")), "{:?}", r.mismatches);
    assert!(r.mismatches.iter().any(|m| m.contains("\"QUIT\"") && m.contains("NOOP")), "{:?}", r.mismatches);
    let panicked = std::panic::catch_unwind(|| r.assert_ok()).is_err();
    assert!(panicked, "assert_ok must panic on mismatches");
}

#[test]
fn scripted_server_times_out_instead_of_hanging() {
    let server = ScriptedServer::tcp(vec![
        Step::ReadTimeout(Duration::from_millis(200)),
        Step::reply("220 mx"),
        Step::expect("EHLO"),
        Step::reply("250 mx"),
    ]);
    let mut c = tcp(&server.addr());
    c.reply();
    let t0 = Instant::now();
    let r = server.finish(); // client never sends EHLO
    assert!(t0.elapsed() < Duration::from_secs(5), "took {:?}", t0.elapsed());
    assert!(r.mismatches.iter().any(|m| m.contains("timed out")), "{:?}", r.mismatches);
    assert!(r.mismatches.iter().any(|m| m.contains("not run")), "{:?}", r.mismatches);
    drop(c);
}

#[test]
fn scripted_server_chunks_and_close() {
    let server = ScriptedServer::tcp(vec![
        Step::chunks(&["2", "20 m", "x ESMTP\r", "\n"]),
        Step::ReadLine,
        Step::Sleep(Duration::from_millis(50)),
        Step::Close,
    ]);
    let mut c = tcp(&server.addr());
    let t0 = Instant::now();
    assert_eq!(c.reply(), (220, vec!["mx ESMTP".to_string()]));
    assert!(t0.elapsed() >= Duration::from_millis(40), "chunks came too fast: {:?}", t0.elapsed());
    c.send(b"anything at all\r\n");
    let mut rest = Vec::new();
    let _ = c.r.read_to_end(&mut rest);
    assert!(rest.is_empty());
    let r = server.finish();
    r.assert_ok();
    assert_eq!(r.lines, vec!["anything at all"]);
}

#[test]
fn scripted_server_read_until_close() {
    let server = ScriptedServer::tcp(vec![Step::reply("220 mx"), Step::ReadUntilClose]);
    let mut c = tcp(&server.addr());
    c.reply();
    c.send(b"QUIT\r\nextra bytes");
    drop(c);
    let r = server.finish();
    r.assert_ok();
    assert_eq!(r.wire, b"QUIT\r\nextra bytes");
}

#[test]
fn scripted_server_reports_missing_client() {
    let server = ScriptedServer::tcp(vec![Step::reply("220 mx")]);
    let t0 = Instant::now();
    let r = server.finish_sessions();
    assert!(t0.elapsed() < Duration::from_secs(5), "took {:?}", t0.elapsed());
    assert!(!r[0].connected);
    assert!(!r[0].mismatches.is_empty());
}

#[test]
fn scripted_server_on_unix_socket() {
    let server = ScriptedServer::unix(vec![Step::reply("220 lmtp"), Step::expect("LHLO"), Step::reply("250 ok")]);
    let path = server.path().to_path_buf();
    let mut c = unix(&path);
    assert_eq!(c.reply().0, 220);
    assert_eq!(c.cmd("LHLO me").0, 250);
    drop(c);
    let r = server.finish();
    r.assert_ok();
    assert_eq!(r.wire, b"LHLO me\r\n");
    assert!(!path.exists(), "socket dir is removed with the server");
}

#[test]
fn scripted_server_serves_sessions_in_order() {
    let server = ScriptedServer::tcp_sessions(vec![
        vec![Step::reply("421 busy"), Step::Close],
        vec![Step::reply("220 mx"), Step::expect("QUIT"), Step::reply("221 bye")],
    ]);
    let mut c = tcp(&server.addr());
    assert_eq!(c.reply().0, 421);
    drop(c);
    let mut c = tcp(&server.addr());
    assert_eq!(c.reply().0, 220);
    assert_eq!(c.cmd("QUIT").0, 221);
    drop(c);
    let r = server.finish_sessions();
    assert_eq!(r.len(), 2);
    r[0].assert_ok();
    r[1].assert_ok();
    assert!(r[0].wire.is_empty());
    assert_eq!(r[1].wire, b"QUIT\r\n");
}
