//! Errors where they happen, through the C API: TLS files checked when they are set (with the
//! file, the reason and the errno), the OS error behind a failed connect, and the send options
//! object (checked when an option is added, carried onto the wire).

mod support;

use std::ffi::{c_char, CStr, CString};
use std::net::TcpListener;
use std::ptr::{null, null_mut};

use smtpclient::capi::{auth::*, options::*, result::*, session::*, tls::*};
use support::certs::{leaf, new_ca};
use support::{greet_and_ehlo, ScriptedServer, Step, TempDir};

/// An owned `smtp_client*`, freed on drop.
struct Client(*mut smtp_client);

impl Client {
    fn new() -> Client {
        Client(smtp_client_new(smtp_client_kind::Smtp as i32))
    }
    fn message(&self) -> String {
        // SAFETY: a borrowed string, read before the next mutating call.
        unsafe { CStr::from_ptr(smtp_client_last_error_message(self.0)) }.to_string_lossy().into_owned()
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        smtp_client_free(self.0);
    }
}

fn c(s: &str) -> CString {
    CString::new(s).unwrap()
}

fn write(dir: &TempDir, name: &str, bytes: &[u8]) -> CString {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    c(path.to_str().unwrap())
}

#[test]
fn ca_file_is_checked_when_it_is_set() {
    let dir = TempDir::new("smtpclient-settings-ca");
    let s = Client::new();
    let missing = c(&format!("{}/no-such-ca.pem", dir.path().display()));
    assert_eq!(smtp_client_set_tls_ca_file(s.0, missing.as_ptr()), smtp_result::InvalidArgument);
    let message = s.message();
    assert!(message.contains("no-such-ca.pem") && message.contains("No such file"), "{message}");
    assert_eq!(smtp_client_last_os_error(s.0), libc::ENOENT);

    let not_pem = write(&dir, "notes.txt", b"this is not a certificate\n");
    assert_eq!(smtp_client_set_tls_ca_file(s.0, not_pem.as_ptr()), smtp_result::InvalidArgument);
    assert!(s.message().contains("notes.txt"), "{}", s.message());
    assert_eq!(smtp_client_last_os_error(s.0), 0, "not an OS refusal");

    let ca = new_ca("settings test CA");
    let good = write(&dir, "ca.pem", &ca.cert.to_pem().unwrap());
    assert_eq!(smtp_client_set_tls_ca_file(s.0, good.as_ptr()), smtp_result::Ok);
    assert_eq!(smtp_client_last_os_error(s.0), 0, "reset by the successful call");
    assert_eq!(smtp_client_set_tls_ca_file(s.0, null()), smtp_result::Ok, "NULL: back to the system store");
}

#[test]
fn ca_dir_is_checked_when_it_is_set() {
    let dir = TempDir::new("smtpclient-settings-cadir");
    let s = Client::new();
    let missing = c(&format!("{}/nowhere", dir.path().display()));
    assert_eq!(smtp_client_set_tls_ca_dir(s.0, missing.as_ptr()), smtp_result::InvalidArgument);
    assert!(s.message().contains("nowhere"), "{}", s.message());
    assert_eq!(smtp_client_last_os_error(s.0), libc::ENOENT);
    let file = write(&dir, "plain-file", b"x");
    assert_eq!(smtp_client_set_tls_ca_dir(s.0, file.as_ptr()), smtp_result::InvalidArgument);
    assert_eq!(smtp_client_last_os_error(s.0), libc::ENOTDIR);
    let ok = c(dir.path().to_str().unwrap());
    assert_eq!(smtp_client_set_tls_ca_dir(s.0, ok.as_ptr()), smtp_result::Ok);
}

#[test]
fn client_certificate_and_key_are_read_and_matched_when_set() {
    let dir = TempDir::new("smtpclient-settings-client");
    let s = Client::new();
    let (cert, key) = leaf("client.example.test", &["DNS:client.example.test"], None, -1, 30);
    let (_, other_key) = leaf("other.example.test", &[], None, -1, 30);
    let cert_pem = write(&dir, "client.pem", &cert.to_pem().unwrap());
    let key_pem = write(&dir, "client.key", &key.private_key_to_pem_pkcs8().unwrap());
    let other_pem = write(&dir, "other.key", &other_key.private_key_to_pem_pkcs8().unwrap());
    let missing = c(&format!("{}/missing.key", dir.path().display()));

    assert_eq!(smtp_client_set_tls_client_cert(s.0, cert_pem.as_ptr(), missing.as_ptr()), smtp_result::InvalidArgument);
    assert!(s.message().contains("missing.key"), "{}", s.message());
    assert_eq!(smtp_client_last_os_error(s.0), libc::ENOENT);

    assert_eq!(
        smtp_client_set_tls_client_cert(s.0, cert_pem.as_ptr(), other_pem.as_ptr()),
        smtp_result::InvalidArgument
    );
    assert!(s.message().contains("does not match"), "{}", s.message());

    assert_eq!(smtp_client_set_tls_client_cert(s.0, key_pem.as_ptr(), key_pem.as_ptr()), smtp_result::InvalidArgument);
    assert!(s.message().contains("client.key"), "a key is not a certificate: {}", s.message());

    assert_eq!(smtp_client_set_tls_client_cert(s.0, cert_pem.as_ptr(), key_pem.as_ptr()), smtp_result::Ok);
    assert_eq!(smtp_client_set_tls_client_cert(s.0, null(), null()), smtp_result::Ok, "both NULL: removed");
    assert_eq!(smtp_client_set_tls_client_cert(s.0, cert_pem.as_ptr(), null()), smtp_result::NullArgument);
}

#[test]
fn a_refused_connection_gives_its_errno() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let s = Client::new();
    assert_eq!(smtp_client_connect(s.0, c"127.0.0.1".as_ptr(), port), smtp_result::ConnectionRefused);
    assert!(smtp_result_is_a(smtp_result::ConnectionRefused as i32, smtp_result::IoError as i32));
    assert_eq!(smtp_client_last_os_error(s.0), libc::ECONNREFUSED);
    assert!(s.message().contains(&port.to_string()), "the message names the peer: {}", s.message());
}

#[test]
fn send_options_are_checked_when_added() {
    let o = smtp_send_options_new();
    assert!(!o.is_null());
    assert_eq!(smtp_send_options_add_mail_option(o, c"BODY=8BITMIME".as_ptr()), smtp_result::Ok);
    assert_eq!(smtp_send_options_add_rcpt_option(o, c"NOTIFY=SUCCESS,FAILURE".as_ptr()), smtp_result::Ok);
    for bad in [c"", c"TWO WORDS", c"X=a\r\nRSET", c"=value", c"K=", c"K=a=b"] {
        assert_eq!(smtp_send_options_add_mail_option(o, bad.as_ptr()), smtp_result::InvalidArgument, "{bad:?}");
        assert_eq!(smtp_send_options_add_rcpt_option(o, bad.as_ptr()), smtp_result::InvalidArgument, "{bad:?}");
    }
    assert_eq!(smtp_send_options_add_mail_option(o, null()), smtp_result::NullArgument);
    let not_utf8 = b"K=\xff\0";
    assert_eq!(smtp_send_options_add_mail_option(o, not_utf8.as_ptr().cast::<c_char>()), smtp_result::InvalidUtf8);
    assert_eq!(smtp_send_options_set_size_estimate(o, -2), smtp_result::InvalidArgument);
    assert_eq!(smtp_send_options_set_size_estimate(o, 1234), smtp_result::Ok);
    assert_eq!(smtp_send_options_set_size_estimate(o, -1), smtp_result::Ok);
    assert_eq!(smtp_send_options_add_mail_option(null_mut(), c"SMTPUTF8".as_ptr()), smtp_result::NullArgument);
    let mut not_options = [0u64; 8];
    let foreign = not_options.as_mut_ptr().cast::<smtp_send_options>();
    assert_eq!(smtp_send_options_add_mail_option(foreign, c"SMTPUTF8".as_ptr()), smtp_result::BadHandle);
    smtp_send_options_free(o);
    smtp_send_options_free(null_mut()); // a no-op
}

#[test]
fn dsn_and_requiretls_options_are_checked_when_set() {
    let o = smtp_send_options_new();
    let (b, never, success, delay) = (
        c"b@x".as_ptr(),
        smtp_dsn_notify::Never as u32,
        smtp_dsn_notify::Success as u32,
        smtp_dsn_notify::Delay as u32,
    );
    // NULL, foreign handle and bad values for each setter
    let mut not_options = [0u64; 8];
    let foreign = not_options.as_mut_ptr().cast::<smtp_send_options>();
    for handle in [null_mut(), foreign] {
        let want = if handle.is_null() { smtp_result::NullArgument } else { smtp_result::BadHandle };
        assert_eq!(smtp_send_options_set_dsn_ret(handle, 1), want);
        assert_eq!(smtp_send_options_set_dsn_envid(handle, c"x".as_ptr()), want);
        assert_eq!(smtp_send_options_set_dsn_notify(handle, b, success), want);
        assert_eq!(smtp_send_options_set_dsn_orcpt(handle, b, b), want);
        assert_eq!(smtp_send_options_set_dsn_policy(handle, 0), want);
        assert_eq!(smtp_send_options_set_requiretls(handle, true), want);
    }
    assert_eq!(smtp_send_options_set_dsn_notify(o, null(), success), smtp_result::NullArgument);
    assert_eq!(smtp_send_options_set_dsn_orcpt(o, null(), b), smtp_result::NullArgument);
    let not_utf8 = c"\xff".as_ptr();
    assert_eq!(smtp_send_options_set_dsn_envid(o, not_utf8), smtp_result::InvalidUtf8);
    assert_eq!(smtp_send_options_set_dsn_notify(o, not_utf8, success), smtp_result::InvalidUtf8);
    assert_eq!(smtp_send_options_set_dsn_orcpt(o, b, not_utf8), smtp_result::InvalidUtf8);
    for bad in [-1, 3] {
        assert_eq!(smtp_send_options_set_dsn_ret(o, bad), smtp_result::InvalidArgument);
        assert_eq!(smtp_send_options_set_dsn_policy(o, bad - 1), smtp_result::InvalidArgument);
    }
    for bad in [never | success, never | delay, 16, 0x8000_0000] {
        assert_eq!(smtp_send_options_set_dsn_notify(o, b, bad), smtp_result::InvalidArgument, "{bad:#x}");
    }
    let long = CString::new("e".repeat(101)).unwrap();
    for bad in [c"", c"tab\there", c"caf\xc3\xa9", long.as_c_str()] {
        assert_eq!(smtp_send_options_set_dsn_envid(o, bad.as_ptr()), smtp_result::InvalidArgument, "{bad:?}");
    }
    assert_eq!(smtp_send_options_set_dsn_orcpt(o, b, c"".as_ptr()), smtp_result::InvalidArgument);
    assert_eq!(smtp_send_options_set_dsn_orcpt(o, c"".as_ptr(), b), smtp_result::InvalidArgument);
    assert_eq!(smtp_send_options_set_dsn_orcpt(o, b, c"a\r\nRSET".as_ptr()), smtp_result::InvalidArgument);
    // good values, NULL / 0 to unset
    let hundred = CString::new("e".repeat(100)).unwrap();
    assert_eq!(smtp_send_options_set_dsn_envid(o, hundred.as_ptr()), smtp_result::Ok);
    assert_eq!(smtp_send_options_set_dsn_envid(o, null()), smtp_result::Ok);
    assert_eq!(smtp_send_options_set_dsn_notify(o, b, never), smtp_result::Ok);
    assert_eq!(smtp_send_options_set_dsn_notify(o, b, 0), smtp_result::Ok);
    assert_eq!(smtp_send_options_set_dsn_orcpt(o, b, null()), smtp_result::Ok);
    assert_eq!(smtp_send_options_set_dsn_policy(o, smtp_dsn_policy::Optional as i32), smtp_result::Ok);
    // a typed setting and the same raw option conflict, whichever comes first
    assert_eq!(smtp_send_options_add_mail_option(o, c"ENVID=raw".as_ptr()), smtp_result::Ok);
    assert_eq!(smtp_send_options_set_dsn_envid(o, c"typed".as_ptr()), smtp_result::InvalidArgument);
    assert_eq!(smtp_send_options_set_dsn_ret(o, smtp_dsn_ret::Hdrs as i32), smtp_result::Ok);
    assert_eq!(smtp_send_options_add_mail_option(o, c"ret=FULL".as_ptr()), smtp_result::InvalidArgument);
    assert_eq!(smtp_send_options_set_dsn_orcpt(o, b, c"o@x".as_ptr()), smtp_result::Ok);
    assert_eq!(smtp_send_options_add_rcpt_option(o, c"ORCPT=rfc822;o@x".as_ptr()), smtp_result::InvalidArgument);
    assert_eq!(smtp_send_options_add_rcpt_option(o, c"NOTIFY=NEVER".as_ptr()), smtp_result::Ok);
    assert_eq!(smtp_send_options_set_dsn_notify(o, b, success), smtp_result::InvalidArgument);
    smtp_send_options_free(o);
}

/// The options reach the wire as given (after the library's own SIZE), on every send, and a
/// send given something that is not an options object refuses before connecting anything.
#[test]
fn send_options_reach_the_wire_and_a_foreign_object_is_refused() {
    let msg = b"Subject: options\r\n\r\nbody\r\n";
    let mut steps = greet_and_ehlo(&["SIZE 1000000", "DSN", "8BITMIME"]);
    steps.extend([
        Step::expect(&format!("MAIL FROM:<a@example.test> SIZE={} BODY=8BITMIME RET=HDRS", msg.len())),
        Step::reply("250 ok"),
        Step::expect("RCPT TO:<b@example.test> NOTIFY=NEVER"),
        Step::reply("250 ok"),
        Step::expect("DATA"),
        Step::reply("354 go"),
        Step::ExpectData,
        Step::reply("250 queued"),
        Step::expect("QUIT"),
        Step::reply("221 bye"),
    ]);
    let server = ScriptedServer::tcp(steps);
    let o = smtp_send_options_new();
    for option in [c"BODY=8BITMIME", c"RET=HDRS"] {
        assert_eq!(smtp_send_options_add_mail_option(o, option.as_ptr()), smtp_result::Ok);
    }
    assert_eq!(smtp_send_options_add_rcpt_option(o, c"NOTIFY=NEVER".as_ptr()), smtp_result::Ok);
    let s = Client::new();
    let host = c("127.0.0.1");
    let to = [c"b@example.test".as_ptr()];
    let mut not_options = [0u64; 8];
    let foreign = not_options.as_mut_ptr().cast::<smtp_send_options>();
    let from = c"a@example.test".as_ptr();
    assert_eq!(smtp_client_connect(s.0, host.as_ptr(), server.port()), smtp_result::Ok);
    assert_eq!(
        smtp_client_sendmail(s.0, from, to.as_ptr(), 1, msg.as_ptr(), msg.len(), foreign),
        smtp_result::BadHandle,
        "a foreign options object: nothing sent"
    );
    assert_eq!(smtp_client_sendmail(s.0, from, to.as_ptr(), 1, msg.as_ptr(), msg.len(), o), smtp_result::Ok);
    assert_eq!(smtp_client_quit(s.0), smtp_result::Ok);
    smtp_send_options_free(o);
    server.finish().assert_ok();
}

/// A chosen list of login mechanisms restricts and orders what `login` tries: the server's
/// stronger SCRAM-SHA-256 is passed over for the PLAIN the caller chose; a list with nothing
/// in common with the server's offer names both; a bad list is refused when set.
#[test]
fn login_uses_only_the_chosen_mechanisms() {
    let mut steps = greet_and_ehlo(&["AUTH SCRAM-SHA-256 PLAIN"]);
    steps.extend([
        Step::expect("AUTH PLAIN "),
        Step::reply("235 2.7.0 ok"),
        Step::expect("QUIT"),
        Step::reply("221 bye"),
    ]);
    let server = ScriptedServer::tcp(steps);
    let s = Client::new();
    for bad in [c"XOAUTH2", c"PLAIN PLAIN", c"", c"NTLM"] {
        assert_eq!(smtp_client_set_login_mechanisms(s.0, bad.as_ptr()), smtp_result::InvalidArgument, "{bad:?}");
    }
    assert_eq!(smtp_client_set_login_mechanisms(s.0, c"plain, login".as_ptr()), smtp_result::Ok);
    assert_eq!(smtp_client_connect(s.0, c"127.0.0.1".as_ptr(), server.port()), smtp_result::Ok);
    let (user, password) = (c"alice", c"secret");
    let send = smtp_initial_response::Send as i32;
    assert_eq!(smtp_client_login(s.0, user.as_ptr(), password.as_ptr(), send), smtp_result::Ok, "{}", s.message());
    assert_eq!(smtp_client_quit(s.0), smtp_result::Ok);
    server.finish().assert_ok();

    let mut steps = greet_and_ehlo(&["AUTH PLAIN"]);
    steps.extend([Step::expect("QUIT"), Step::reply("221 bye")]);
    let server = ScriptedServer::tcp(steps);
    let s = Client::new();
    assert_eq!(smtp_client_set_login_mechanisms(s.0, c"LOGIN".as_ptr()), smtp_result::Ok);
    assert_eq!(smtp_client_connect(s.0, c"127.0.0.1".as_ptr(), server.port()), smtp_result::Ok);
    assert_eq!(smtp_client_login(s.0, user.as_ptr(), password.as_ptr(), send), smtp_result::SmtpError);
    let message = s.message();
    assert!(message.contains("login uses LOGIN") && message.contains("offers: PLAIN"), "{message}");
    assert_eq!(smtp_client_set_login_mechanisms(s.0, null()), smtp_result::Ok, "NULL: the default order again");
    assert_eq!(smtp_client_quit(s.0), smtp_result::Ok);
    server.finish().assert_ok();
}
