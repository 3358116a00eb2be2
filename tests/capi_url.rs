//! `smtp_client_set_url` through the C API against the test bed: plain SMTP to Postfix (IPv4
//! and IPv6), STARTTLS required on the submission port with the URL's login, implicit TLS,
//! and Dovecot LMTP over its Unix socket, each delivering to a Maildir; then what a refused
//! URL leaves behind (nothing), and where the password does not go (errors, debug output).

mod support;

use std::ffi::{c_void, CStr, CString};
use std::ptr::null;
use std::sync::Mutex;
use std::time::Duration;

use smtpclient::capi::{auth::*, result::*, session::*, tls::*};
use support::{unique_marker, TestBed};

const WAIT: Duration = Duration::from_secs(15);

/// An owned `smtp_client*`, freed on drop.
struct Client(*mut smtp_client);

impl Client {
    fn new(kind: smtp_client_kind) -> Client {
        let c = Client(smtp_client_new(kind as i32));
        let name = cs("client.example.test");
        assert_eq!(smtp_client_set_local_hostname(c.0, name.as_ptr()), smtp_result::Ok);
        assert_eq!(smtp_client_set_timeout_ms(c.0, 20_000), smtp_result::Ok);
        c
    }
    fn with_ca(kind: smtp_client_kind) -> Client {
        let c = Client::new(kind);
        let ca = cs(TestBed::get().smtp_ca_file.to_str().unwrap());
        assert_eq!(smtp_client_set_tls_ca_file(c.0, ca.as_ptr()), smtp_result::Ok);
        c
    }
    fn message(&self) -> String {
        // SAFETY: a borrowed string, read before the next mutating call.
        unsafe { CStr::from_ptr(smtp_client_last_error_message(self.0)) }.to_string_lossy().into_owned()
    }
    fn set_url(&self, url: &str) -> smtp_result {
        let url = cs(url);
        smtp_client_set_url(self.0, url.as_ptr())
    }
    #[track_caller]
    fn ok(&self, rc: smtp_result, what: &str) {
        assert_eq!(rc, smtp_result::Ok, "{what}: {}", self.message());
    }
    fn sendmail(&self, to: &str, marker: &str) -> smtp_result {
        let from = cs("alice@example.test");
        let to = cs(to);
        let list = [to.as_ptr()];
        let msg =
            format!("From: alice@example.test\r\nTo: alice@example.test\r\nSubject: {marker}\r\n\r\nvia a URL\r\n");
        smtp_client_sendmail(self.0, from.as_ptr(), list.as_ptr(), 1, msg.as_ptr(), msg.len(), null())
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        smtp_client_free(self.0);
    }
}

fn cs(s: &str) -> CString {
    CString::new(s).unwrap()
}

fn plain_delivery(url: &str) {
    let bed = TestBed::get();
    let marker = unique_marker("url-plain");
    let c = Client::new(smtp_client_kind::Smtp);
    c.ok(c.set_url(url), "set_url");
    c.ok(smtp_client_connect(c.0, null(), 0), "connect to the URL");
    c.ok(c.sendmail("alice@example.test", &marker), "sendmail");
    assert!(!smtp_client_tls_active(c.0));
    c.ok(smtp_client_quit(c.0), "quit");
    assert!(bed.wait_for_postfix_mail("alice", &marker, WAIT).is_some(), "{}", bed.postfix_log_tail(20));
}

#[test]
fn smtp_url_delivers_to_postfix() {
    let bed = TestBed::get();
    plain_delivery(&format!("smtp://{}:{}", bed.smtp_host, bed.smtp_port));
}

#[test]
fn smtp_url_with_an_ipv6_literal_delivers_to_postfix() {
    let bed = TestBed::get();
    let Some(host6) = &bed.smtp_host6 else {
        eprintln!("SKIPPED: the test bed has no IPv6 address");
        return;
    };
    plain_delivery(&format!("smtp://[{host6}]:{}/", bed.smtp_port));
}

#[test]
fn starttls_url_logs_in_on_the_submission_port() {
    let bed = TestBed::get();
    let marker = unique_marker("url-starttls");
    let c = Client::with_ca(smtp_client_kind::Smtp);
    // the password percent-encoded: "alice-pass" with its '-' as %2D
    c.ok(c.set_url(&format!("smtp+starttls://alice:alice%2Dpass@localhost:{}", bed.smtp_submission_port)), "set_url");
    c.ok(smtp_client_connect(c.0, null(), 0), "connect");
    c.ok(smtp_client_login(c.0, null(), null(), 1), "login with the URL's credentials");
    assert!(smtp_client_tls_active(c.0), "STARTTLS required by the URL");
    assert!(smtp_client_tls_peer_verified(c.0));
    assert!(smtp_client_is_authenticated(c.0));
    c.ok(c.sendmail("alice@example.test", &marker), "sendmail");
    c.ok(smtp_client_quit(c.0), "quit");
    let mail = bed.wait_for_postfix_mail("alice", &marker, WAIT).expect("delivered");
    let text = String::from_utf8_lossy(&mail);
    assert!(text.contains("Authenticated sender: alice"), "{text}");
}

#[test]
fn starttls_url_without_starttls_offered_fails_closed() {
    let bed = TestBed::get();
    let c = Client::with_ca(smtp_client_kind::Smtp);
    c.ok(c.set_url(&format!("smtp://{}:{}?tls=required", bed.smtp_host, bed.smtp_minimal_port)), "set_url");
    c.ok(smtp_client_connect(c.0, null(), 0), "connect");
    assert_eq!(c.sendmail("alice@example.test", "never-sent"), smtp_result::TlsRequired, "{}", c.message());
}

#[test]
fn smtps_url_logs_in_over_implicit_tls() {
    let bed = TestBed::get();
    let marker = unique_marker("url-smtps");
    let c = Client::with_ca(smtp_client_kind::Smtps);
    c.ok(c.set_url(&format!("smtps://alice:alice-pass@localhost:{}", bed.smtp_smtps_port)), "set_url");
    c.ok(smtp_client_connect(c.0, null(), 0), "connect");
    assert!(smtp_client_tls_active(c.0) && smtp_client_tls_peer_verified(c.0));
    c.ok(smtp_client_login(c.0, null(), null(), 1), "login");
    c.ok(c.sendmail("alice@example.test", &marker), "sendmail");
    c.ok(smtp_client_quit(c.0), "quit");
    assert!(bed.wait_for_postfix_mail("alice", &marker, WAIT).is_some(), "{}", bed.postfix_log_tail(20));
}

#[test]
fn lmtp_unix_url_delivers_to_dovecot() {
    let bed = TestBed::get();
    let marker = unique_marker("url-lmtp");
    let c = Client::new(smtp_client_kind::Lmtp);
    c.ok(c.set_url(&format!("lmtp+unix://{}", bed.lmtp_socket.display())), "set_url");
    c.ok(smtp_client_connect(c.0, null(), 0), "connect to the socket");
    c.ok(c.sendmail("bob@example.test", &marker), "sendmail");
    c.ok(smtp_client_quit(c.0), "quit");
    assert!(bed.wait_for_lmtp_mail("bob", &marker, WAIT).is_some(), "{}", bed.dovecot_log_tail(20));
}

#[test]
fn lmtp_tcp_url_delivers_to_dovecot() {
    let bed = TestBed::get();
    let marker = unique_marker("url-lmtp-tcp");
    let c = Client::new(smtp_client_kind::Lmtp);
    c.ok(c.set_url(&format!("lmtp://{}:{}", bed.smtp_host, bed.lmtp_port)), "set_url");
    c.ok(smtp_client_connect(c.0, null(), 0), "connect");
    c.ok(c.sendmail("bob@example.test", &marker), "sendmail");
    c.ok(smtp_client_quit(c.0), "quit");
    assert!(bed.wait_for_lmtp_mail("bob", &marker, WAIT).is_some(), "{}", bed.dovecot_log_tail(20));
}

/// A refused URL changes nothing: the endpoint, the TLS policy and the credentials of the
/// URL set before stay, and so does the state while connected.
#[test]
fn a_refused_url_leaves_the_session_as_it_was() {
    let bed = TestBed::get();
    let c = Client::with_ca(smtp_client_kind::Smtp);
    // no STARTTLS on the minimal port: with tls=required, a send fails closed
    c.ok(c.set_url(&format!("smtp://{}:{}?tls=required", bed.smtp_host, bed.smtp_minimal_port)), "set_url");
    let refused = [
        ("smtp://u:p@[::1", "URL host"),
        ("smtp://127.0.0.1:99999", "URL port"),
        ("smtp://127.0.0.1?tls=none&tls=none", "URL query"),
        ("smtp://u:p%zz@127.0.0.1", "URL password"),
        ("smtp://127.0.0.1/ehlo.name", "URL path"),
        ("http://127.0.0.1", "URL scheme"),
        ("smtps://127.0.0.1", "URL scheme: smtps:// needs an SMTPS session and this one is SMTP"),
        ("lmtp+unix:///run/lmtp", "URL scheme: lmtp+unix:// needs an LMTP session"),
    ];
    for (url, part) in refused {
        assert_eq!(c.set_url(url), smtp_result::InvalidArgument, "{url}");
        assert!(c.message().starts_with(part), "{url}: {}", c.message());
    }
    assert_eq!(smtp_client_set_url(c.0, null()), smtp_result::NullArgument);
    assert_eq!(smtp_client_connect(c.0, null(), 25), smtp_result::InvalidArgument, "the URL gives the port");
    assert_eq!(smtp_client_login(c.0, null(), null(), 1), smtp_result::NullArgument, "the URL had no credentials");
    c.ok(smtp_client_connect(c.0, null(), 0), "connect to the first URL's endpoint");
    // connected: refused, and the policy stays
    let other = format!("smtp://{}:{}", bed.smtp_host, bed.smtp_port);
    assert_eq!(c.set_url(&other), smtp_result::BadState, "{}", c.message());
    assert_eq!(c.sendmail("alice@example.test", "never-sent"), smtp_result::TlsRequired, "{}", c.message());
    assert!(!smtp_client_is_connected(c.0));
    // once closed, a new URL replaces everything
    c.ok(c.set_url(&other), "set_url after close");
    c.ok(smtp_client_connect(c.0, null(), 0), "connect");
    c.ok(c.sendmail("alice@example.test", &unique_marker("url-replaced")), "sendmail under tls=none");
}

unsafe extern "C" fn record(userdata: *mut c_void, _kind: i32, data: *const u8, len: usize) {
    // SAFETY: userdata is the Mutex the test passed; data/len are valid for the call.
    let log = unsafe { &*(userdata as *const Mutex<Vec<u8>>) };
    log.lock().unwrap().extend_from_slice(unsafe { std::slice::from_raw_parts(data, len) });
}

#[test]
fn the_urls_password_is_not_logged_nor_quoted() {
    let bed = TestBed::get();
    let log = Box::new(Mutex::new(Vec::new()));
    let c = Client::with_ca(smtp_client_kind::Smtp);
    let ud = &*log as *const Mutex<Vec<u8>> as *mut c_void;
    c.ok(smtp_client_set_debug_callback(c.0, Some(record), ud, None), "debug callback");
    c.ok(smtp_client_set_debuglevel(c.0, 2), "debug level");
    // a wrong password, so the server refuses it and the error is built
    c.ok(c.set_url(&format!("smtp+starttls://alice:Wr0ng%2Fsecret@localhost:{}", bed.smtp_submission_port)), "set_url");
    c.ok(smtp_client_connect(c.0, null(), 0), "connect");
    assert_eq!(smtp_client_login(c.0, null(), null(), 1), smtp_result::AuthenticationError, "{}", c.message());
    let error = c.message();
    // a malformed URL holding the password: the error does not quote it
    assert_eq!(c.set_url("smtp://alice:Wr0ng/secret@localhost"), smtp_result::InvalidArgument);
    let malformed = c.message();
    drop(c);
    let logged = String::from_utf8_lossy(&log.lock().unwrap()).into_owned();
    assert!(logged.contains("STARTTLS") && logged.contains("AUTH"), "{logged}");
    for text in [&error, &malformed, &logged] {
        assert!(!text.contains("Wr0ng") && !text.contains("secret"), "{text}");
    }
}
