//! The C boundary's argument checks, through the exported symbols themselves.
//!
//! Every export is called with NULL for each pointer argument in turn, with foreign and
//! misaligned handles, with invalid UTF-8, and with CR / LF in every string that ends up on a
//! command line; each call must give its exact documented result and never crash. The tables
//! below are checked against the exports parsed from `src/capi`, so a new export cannot be
//! added without being added here.
//!
//! The functions are the crate's own `smtpclient::capi` items (the `#[no_mangle]` exports
//! themselves), so their Rust signatures cannot drift from what the library exports.

use std::collections::BTreeSet;
use std::ffi::{c_char, c_void, CStr};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::ptr::{null, null_mut};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use smtpclient::capi::{auth::*, nonblocking::*, result::*, session::*, tls::*, version::*};

/// What `smtp_client_last_result` and the index getters (`smtp_client_feature_get`,
/// `_refused_get`, `_recipient_get`) return when there is no usable session (NULL, foreign):
/// their `session_get` default. Not documented in their doc comments (see the report).
const GETTER_RESULT_DEFAULT: smtp_result = smtp_result::BadHandle;

/// A sentinel written into output parameters to prove a call left them untouched.
const UNTOUCHED_INT: i32 = -7777;
fn untouched_ptr() -> *const c_char {
    c"untouched".as_ptr()
}

const MSG: &[u8] = b"From: a@example.org\r\nTo: b@example.org\r\nSubject: t\r\n\r\nhello\r\n";

// ------------------------------------------------------------------------------- helpers

/// An owned `smtp_client*`, freed on drop (also when an assertion fails).
struct Session(*mut smtp_client);

impl Session {
    fn new() -> Self {
        let s = smtp_client_new(smtp_client_kind::Smtp as i32);
        assert!(!s.is_null());
        Session(s)
    }
    fn connected(server: &Server) -> Self {
        let s = Session::new();
        assert_eq!(smtp_client_set_timeout_ms(s.0, 10_000), smtp_result::Ok);
        assert_eq!(smtp_client_connect(s.0, c"127.0.0.1".as_ptr(), server.port), smtp_result::Ok, "{}", s.message());
        s
    }
    fn last_result(&self) -> i32 {
        smtp_client_last_result(self.0)
    }
    fn message(&self) -> String {
        let p = smtp_client_last_error_message(self.0);
        assert!(!p.is_null(), "smtp_client_last_error_message returned NULL");
        unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_owned()
    }
    /// The last call's code and message agree with `code`, and the message contains every word.
    fn assert_error(&self, code: smtp_result, words: &[&str], call: &str) {
        assert_eq!(self.last_result(), code as i32, "{call}: last_result");
        let m = self.message();
        for w in words {
            assert!(m.contains(w), "{call}: last error message {m:?} does not name {w:?}");
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        smtp_client_free(self.0)
    }
}

/// `Some(text)` for a non-NULL C string.
fn text(p: *const c_char) -> Option<String> {
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_owned())
}

/// A loopback server for the calls that need a connection: replies by verb (EHLO with three
/// extensions, 235 to AUTH PLAIN with an initial response, `550 5.7.1` to MAIL FROM:<refused…>, `550 5.1.1` to RCPT TO:<bad…>) and logs
/// every line received, so a test can check a refused call put nothing on the wire.
struct Server {
    port: u16,
    log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let log = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&log);
        thread::spawn(move || {
            let Ok((stream, _)) = listener.accept() else { return };
            let mut w = stream.try_clone().unwrap();
            let mut r = BufReader::new(stream);
            let _ = w.write_all(b"220 test\r\n");
            let (mut line, mut in_data) = (String::new(), false);
            loop {
                line.clear();
                if r.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                seen.lock().unwrap().push(line.clone());
                let up = line.to_ascii_uppercase();
                let reply: &[u8] = if in_data {
                    if line != ".\r\n" {
                        continue;
                    }
                    in_data = false;
                    b"250 2.0.0 queued\r\n"
                } else if up.starts_with("EHLO") {
                    b"250-test\r\n250-SIZE 100000\r\n250-8BITMIME\r\n250 AUTH PLAIN\r\n"
                } else if up.starts_with("AUTH PLAIN ") {
                    b"235 2.7.0 ok\r\n"
                } else if up.starts_with("MAIL FROM:<REFUSED") {
                    b"550 5.7.1 sender refused\r\n"
                } else if up.starts_with("RCPT TO:<BAD") {
                    b"550 5.1.1 no such user\r\n"
                } else if up.starts_with("DATA") {
                    in_data = true;
                    b"354 go ahead\r\n"
                } else if up.starts_with("QUIT") {
                    let _ = w.write_all(b"221 bye\r\n");
                    return;
                } else {
                    b"250 ok\r\n"
                };
                if w.write_all(reply).is_err() {
                    return;
                }
            }
        });
        Server { port, log }
    }

    /// The lines received so far, after a NOOP round trip (so everything sent before is in).
    fn lines(&self, s: &Session) -> Vec<String> {
        assert_eq!(smtp_client_noop(s.0), smtp_result::Ok, "{}", s.message());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let log = self.log.lock().unwrap().clone();
            if log.last().is_some_and(|l| l == "NOOP\r\n") || Instant::now() > deadline {
                return log;
            }
            drop(log);
            thread::sleep(Duration::from_millis(5));
        }
    }
}

/// Counts calls of the userdata destructor (the userdata points to an AtomicUsize).
unsafe extern "C" fn count_free(userdata: *mut c_void) {
    unsafe { &*(userdata as *const AtomicUsize) }.fetch_add(1, Ordering::SeqCst);
}

unsafe extern "C" fn ignore_event(_: *mut c_void, _: i32, _: *const u8, _: usize) {}

/// A read callback that must not be reached (the calls using it fail before the body).
unsafe extern "C" fn read_nothing(_: *mut c_void, _: *mut u8, _: usize) -> i64 {
    -99
}

/// An auth callback that must not be reached.
unsafe extern "C" fn auth_abort(
    _: *mut c_void,
    _: *const u8,
    _: usize,
    _: bool,
    _: bool,
    _: *mut smtp_auth_response,
) -> i32 {
    -99
}

// ------------------------------------------------------------------------------- tables

type Mutating = (&'static str, fn(*mut smtp_client) -> smtp_result);
type Getter = (&'static str, fn(*mut smtp_client) -> Result<(), String>);

fn m(name: &'static str, f: fn(*mut smtp_client) -> smtp_result) -> Mutating {
    (name, f)
}
fn g(name: &'static str, f: fn(*mut smtp_client) -> Result<(), String>) -> Getter {
    (name, f)
}
fn want<T: PartialEq + std::fmt::Debug>(got: T, expected: T) -> Result<(), String> {
    if got == expected {
        Ok(())
    } else {
        Err(format!("returned {got:?}, expected {expected:?}"))
    }
}

/// Every export that goes through `session_call`, with otherwise valid arguments.
fn mutating_calls() -> Vec<Mutating> {
    const TO: [*const c_char; 1] = [c"b@example.org".as_ptr()];
    vec![
        m("smtp_client_set_local_hostname", |s| smtp_client_set_local_hostname(s, c"client.example".as_ptr())),
        m("smtp_client_set_timeout_ms", |s| smtp_client_set_timeout_ms(s, 1000)),
        m("smtp_client_set_phase_timeout_ms", |s| smtp_client_set_phase_timeout_ms(s, smtp_phase::Rcpt as i32, 1000)),
        m("smtp_client_set_rfc5321_timeouts", |s| smtp_client_set_rfc5321_timeouts(s)),
        m("smtp_client_set_operation_timeout_ms", |s| smtp_client_set_operation_timeout_ms(s, 1000)),
        m("smtp_client_set_source_address", |s| smtp_client_set_source_address(s, c"127.0.0.1".as_ptr(), 0)),
        m("smtp_client_set_debuglevel", |s| smtp_client_set_debuglevel(s, 1)),
        m("smtp_client_set_debug_callback", |s| {
            smtp_client_set_debug_callback(s, Some(ignore_event), null_mut(), None)
        }),
        m("smtp_client_connect", |s| smtp_client_connect(s, c"127.0.0.1".as_ptr(), 1)),
        m("smtp_client_quit", |s| smtp_client_quit(s)),
        m("smtp_client_close", |s| smtp_client_close(s)),
        m("smtp_client_docmd", |s| smtp_client_docmd(s, c"NOOP".as_ptr(), null())),
        m("smtp_client_helo", |s| smtp_client_helo(s, c"client.example".as_ptr())),
        m("smtp_client_ehlo", |s| smtp_client_ehlo(s, c"client.example".as_ptr())),
        m("smtp_client_ehlo_or_helo_if_needed", |s| smtp_client_ehlo_or_helo_if_needed(s)),
        m("smtp_client_verify", |s| smtp_client_verify(s, c"a@example.org".as_ptr())),
        m("smtp_client_expn", |s| smtp_client_expn(s, c"list@example.org".as_ptr())),
        m("smtp_client_help", |s| smtp_client_help(s, null())),
        m("smtp_client_rset", |s| smtp_client_rset(s)),
        m("smtp_client_noop", |s| smtp_client_noop(s)),
        m("smtp_client_mail", |s| smtp_client_mail(s, c"a@example.org".as_ptr(), null(), 0)),
        m("smtp_client_rcpt", |s| smtp_client_rcpt(s, c"b@example.org".as_ptr(), null(), 0)),
        m("smtp_client_data", |s| smtp_client_data(s, MSG.as_ptr(), MSG.len())),
        m("smtp_client_sendmail", |s| {
            smtp_client_sendmail(s, c"a@example.org".as_ptr(), TO.as_ptr(), 1, MSG.as_ptr(), MSG.len(), null())
        }),
        m("smtp_client_send_message", |s| {
            smtp_client_send_message(s, MSG.as_ptr(), MSG.len(), null(), null(), 0, null())
        }),
        // NULL unsets: a real path is read when set (tests/capi_settings.rs covers that)
        m("smtp_client_set_tls_ca_file", |s| smtp_client_set_tls_ca_file(s, null())),
        m("smtp_client_set_tls_ca_dir", |s| smtp_client_set_tls_ca_dir(s, null())),
        m("smtp_client_set_tls_client_cert", |s| smtp_client_set_tls_client_cert(s, null(), null())),
        m("smtp_client_set_tls_min_version", |s| smtp_client_set_tls_min_version(s, 13)),
        m("smtp_client_set_tls_server_name", |s| smtp_client_set_tls_server_name(s, c"mail.example".as_ptr())),
        m("smtp_client_set_tls_verify", |s| smtp_client_set_tls_verify(s, smtp_tls_verify::Peer as i32)),
        m("smtp_client_set_tls_policy", |s| smtp_client_set_tls_policy(s, 2)),
        m("smtp_client_starttls", |s| smtp_client_starttls(s)),
        m("smtp_client_sendmail_stream", |s| {
            smtp_client_sendmail_stream(
                s,
                c"a@example.org".as_ptr(),
                TO.as_ptr(),
                1,
                Some(read_nothing),
                null_mut(),
                null(),
            )
        }),
        m("smtp_client_set_pipelining", |s| smtp_client_set_pipelining(s, smtp_extension_use::Never as i32)),
        m("smtp_client_set_chunking", |s| smtp_client_set_chunking(s, smtp_extension_use::Never as i32)),
        m("smtp_client_login", |s| {
            smtp_client_login(s, c"user".as_ptr(), c"secret".as_ptr(), smtp_initial_response::Send as i32)
        }),
        m("smtp_client_login_oauth", |s| smtp_client_login_oauth(s, 0, c"user".as_ptr(), c"token".as_ptr())),
        m("smtp_client_auth", |s| {
            smtp_client_auth(s, c"PLAIN".as_ptr(), Some(auth_abort), null_mut(), smtp_initial_response::Send as i32)
        }),
        m("smtp_client_set_cleartext_credentials", |s| {
            smtp_client_set_cleartext_credentials(s, smtp_cleartext_credentials::Refuse as i32)
        }),
        m("smtp_client_set_local_peer", |s| smtp_client_set_local_peer(s, smtp_local_peer::Trusted as i32)),
        m("smtp_client_set_login_mechanisms", |s| smtp_client_set_login_mechanisms(s, c"PLAIN LOGIN".as_ptr())),
        m("smtp_client_start_connect", |s| smtp_client_start_connect(s, c"127.0.0.1".as_ptr(), 1)),
        m("smtp_client_start_ehlo_or_helo_if_needed", |s| smtp_client_start_ehlo_or_helo_if_needed(s)),
        m("smtp_client_start_starttls", |s| smtp_client_start_starttls(s)),
        m("smtp_client_start_login", |s| {
            smtp_client_start_login(s, c"user".as_ptr(), c"secret".as_ptr(), smtp_initial_response::Send as i32)
        }),
        m("smtp_client_start_sendmail", |s| {
            smtp_client_start_sendmail(s, c"a@example.org".as_ptr(), TO.as_ptr(), 1, MSG.as_ptr(), MSG.len(), null())
        }),
        m("smtp_client_start_sendmail_stream", |s| {
            smtp_client_start_sendmail_stream(
                s,
                c"a@example.org".as_ptr(),
                TO.as_ptr(),
                1,
                Some(read_nothing),
                null_mut(),
                null(),
            )
        }),
        m("smtp_client_start_send_message", |s| {
            smtp_client_start_send_message(s, MSG.as_ptr(), MSG.len(), null(), null(), 0, null())
        }),
        m("smtp_client_start_quit", |s| smtp_client_start_quit(s)),
        m("smtp_client_step", |s| smtp_client_step(s)),
        m("smtp_client_set_url", |s| smtp_client_set_url(s, c"smtp://127.0.0.1:2525".as_ptr())),
    ]
}

/// Every export that goes through `session_get`, checking it returns its default for a
/// handle that is not a usable session (output parameters untouched).
fn getter_calls() -> Vec<Getter> {
    vec![
        g("smtp_client_is_connected", |s| want(smtp_client_is_connected(s), false)),
        g("smtp_client_is_authenticated", |s| want(smtp_client_is_authenticated(s), false)),
        g("smtp_client_has_extn", |s| want(smtp_client_has_extn(s, c"size".as_ptr()), false)),
        g("smtp_client_feature", |s| want(smtp_client_feature(s, c"size".as_ptr()), null())),
        g("smtp_client_feature_count", |s| want(smtp_client_feature_count(s), 0)),
        g("smtp_client_feature_get", |s| {
            let (mut n, mut p) = (untouched_ptr(), untouched_ptr());
            want(smtp_client_feature_get(s, 0, &mut n, &mut p), GETTER_RESULT_DEFAULT)?;
            want((n, p), (untouched_ptr(), untouched_ptr()))
        }),
        g("smtp_client_does_esmtp", |s| want(smtp_client_does_esmtp(s), false)),
        g("smtp_client_helo_resp", |s| want(smtp_client_helo_resp(s), null())),
        g("smtp_client_ehlo_resp", |s| want(smtp_client_ehlo_resp(s), null())),
        g("smtp_client_last_reply_code", |s| want(smtp_client_last_reply_code(s), 0)),
        g("smtp_client_last_reply_text", |s| want(text(smtp_client_last_reply_text(s)), Some(String::new()))),
        g("smtp_client_last_result", |s| want(smtp_client_last_result(s), GETTER_RESULT_DEFAULT as i32)),
        g("smtp_client_last_error_message", |s| want(text(smtp_client_last_error_message(s)), Some(String::new()))),
        g("smtp_client_last_error_reply_code", |s| want(smtp_client_last_error_reply_code(s), 0)),
        g("smtp_client_last_error_reply_text", |s| {
            want(text(smtp_client_last_error_reply_text(s)), Some(String::new()))
        }),
        g("smtp_client_last_error_enhanced_status", |s| {
            let mut v = [UNTOUCHED_INT; 3];
            let [a, b, c] = &mut v;
            want(smtp_client_last_error_enhanced_status(s, a, b, c), false)?;
            want(v, [UNTOUCHED_INT; 3])
        }),
        g("smtp_client_recipient_enhanced_status", |s| {
            let mut v = [UNTOUCHED_INT; 3];
            let [a, b, c] = &mut v;
            want(smtp_client_recipient_enhanced_status(s, 0, a, b, c), false)?;
            want(v, [UNTOUCHED_INT; 3])
        }),
        g("smtp_client_last_error_sender", |s| want(smtp_client_last_error_sender(s), null())),
        g("smtp_client_last_callback_value", |s| want(smtp_client_last_callback_value(s), 0)),
        g("smtp_client_last_os_error", |s| want(smtp_client_last_os_error(s), 0)),
        g("smtp_client_refused_count", |s| want(smtp_client_refused_count(s), 0)),
        g("smtp_client_refused_get", |s| {
            let (mut a, mut c, mut t) = (untouched_ptr(), UNTOUCHED_INT, untouched_ptr());
            want(smtp_client_refused_get(s, 0, &mut a, &mut c, &mut t), GETTER_RESULT_DEFAULT)?;
            want((a, c, t), (untouched_ptr(), UNTOUCHED_INT, untouched_ptr()))
        }),
        g("smtp_client_recipient_count", |s| want(smtp_client_recipient_count(s), 0)),
        g("smtp_client_recipient_get", |s| {
            let (mut a, mut r, mut d, mut t) = (untouched_ptr(), UNTOUCHED_INT, UNTOUCHED_INT, untouched_ptr());
            want(smtp_client_recipient_get(s, 0, &mut a, &mut r, &mut d, &mut t), GETTER_RESULT_DEFAULT)?;
            want((a, r, d, t), (untouched_ptr(), UNTOUCHED_INT, UNTOUCHED_INT, untouched_ptr()))
        }),
        g("smtp_client_tls_active", |s| want(smtp_client_tls_active(s), false)),
        g("smtp_client_tls_peer_verified", |s| want(smtp_client_tls_peer_verified(s), false)),
        g("smtp_client_tls_version", |s| want(text(smtp_client_tls_version(s)), Some(String::new()))),
        g("smtp_client_tls_cipher", |s| want(text(smtp_client_tls_cipher(s)), Some(String::new()))),
        g("smtp_client_fd", |s| want(smtp_client_fd(s), -1)),
        g("smtp_client_events", |s| want(smtp_client_events(s), 0)),
        g("smtp_client_timeout_ms", |s| want(smtp_client_timeout_ms(s), -1)),
        g("smtp_client_in_progress", |s| want(smtp_client_in_progress(s), false)),
    ]
}

/// Exports without a session argument, tested one by one in `plain_functions` and
/// `auth_response_writer`.
/// (The `smtp_send_options_*` functions' NULL, foreign and invalid arguments are tested in
/// tests/capi_settings.rs, the `smtp_sender_*` functions' in tests/capi_sender.rs.)
const PLAIN: [&str; 41] = [
    "smtp_auth_response_set",
    "smtp_result_str",
    "smtp_result_name",
    "smtp_result_is_a",
    "smtp_lib_version",
    "smtp_lib_version_number",
    "smtp_client_new",
    "smtp_client_free",
    "smtp_send_options_new",
    "smtp_send_options_free",
    "smtp_send_options_add_mail_option",
    "smtp_send_options_add_rcpt_option",
    "smtp_send_options_set_size_estimate",
    "smtp_send_options_set_dsn_ret",
    "smtp_send_options_set_dsn_envid",
    "smtp_send_options_set_dsn_notify",
    "smtp_send_options_set_dsn_orcpt",
    "smtp_send_options_set_dsn_policy",
    "smtp_send_options_set_requiretls",
    "smtp_sender_new",
    "smtp_sender_free",
    "smtp_sender_set_url",
    "smtp_sender_set_tls_ca_file",
    "smtp_sender_set_timeout_ms",
    "smtp_sender_set_max_connections",
    "smtp_sender_set_max_messages_per_connection",
    "smtp_sender_set_retries",
    "smtp_sender_add",
    "smtp_sender_step",
    "smtp_sender_run",
    "smtp_sender_fd",
    "smtp_sender_timeout_ms",
    "smtp_sender_next_outcome",
    "smtp_sender_outcome_id",
    "smtp_sender_outcome_kind",
    "smtp_sender_outcome_result",
    "smtp_sender_outcome_error_message",
    "smtp_sender_outcome_reply_code",
    "smtp_sender_outcome_recipient_count",
    "smtp_sender_outcome_recipient_get",
    "smtp_sender_last_error_message",
];

/// `(name, guard)` of every `#[no_mangle]` fn in src/capi: the guard is the first identifier
/// of the body (`session_call`, `session_get`, `plain_call`, or something else).
fn exports_in_source() -> Vec<(String, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/capi");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let src = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for (i, _) in src.match_indices("#[no_mangle]") {
            let rest = &src[i..];
            let f = rest.find("fn ").expect("an fn after #[no_mangle]");
            let name: String = rest[f + 3..].chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            let body = &rest[rest.find('{').unwrap() + 1..];
            let guard: String = body
                .trim_start()
                .trim_start_matches("super::guard::")
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            out.push((name, guard));
        }
    }
    out
}

// ------------------------------------------------------------------------------- tests

/// The tables above cover every export: a new export fails here until it is added.
#[test]
fn tables_cover_every_export() {
    let exports = exports_in_source();
    assert!(exports.len() >= 40, "parsed only {} exports from src/capi", exports.len());
    // By guard family: `session_get*` guards (e.g. a variant for the last-error getters) are getters.
    let by = |guard: &str| -> BTreeSet<String> {
        exports.iter().filter(|(_, g)| g.starts_with(guard)).map(|(n, _)| n.clone()).collect()
    };
    let mutating: BTreeSet<String> = mutating_calls().into_iter().map(|(n, _)| n.to_owned()).collect();
    let getters: BTreeSet<String> = getter_calls().into_iter().map(|(n, _)| n.to_owned()).collect();
    assert_eq!(mutating, by("session_call"), "mutating_calls() vs the exports guarded by session_call");
    assert_eq!(getters, by("session_get"), "getter_calls() vs the exports guarded by session_get");
    let plain: BTreeSet<String> = exports
        .iter()
        .filter(|(_, g)| !g.starts_with("session_call") && !g.starts_with("session_get"))
        .map(|(n, _)| n.clone())
        .collect();
    assert_eq!(plain, PLAIN.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>());
}

#[test]
fn null_session_mutating_calls_return_null_argument() {
    for (name, call) in mutating_calls() {
        assert_eq!(call(null_mut()), smtp_result::NullArgument, "{name}(NULL, ...)");
    }
}

#[test]
fn null_session_getters_return_defaults() {
    for (name, call) in getter_calls() {
        call(null_mut()).unwrap_or_else(|e| panic!("{name}(NULL, ...) {e}"));
    }
}

/// A zeroed 256-byte buffer, a junk-filled one, and a misaligned pointer into a real session
/// are not sessions: BAD_HANDLE for mutating calls, defaults for getters, no-op free; and the
/// library writes nothing into them.
#[test]
fn foreign_handles_return_bad_handle_and_are_not_written() {
    #[repr(C, align(16))]
    struct Foreign([u8; 256]);
    for fill in [0x00u8, 0xA5] {
        let mut buf = Foreign([fill; 256]);
        let p = &mut buf as *mut Foreign as *mut smtp_client;
        for (name, call) in mutating_calls() {
            assert_eq!(call(p), smtp_result::BadHandle, "{name}(foreign {fill:#x})");
        }
        for (name, call) in getter_calls() {
            call(p).unwrap_or_else(|e| panic!("{name}(foreign {fill:#x}) {e}"));
        }
        smtp_client_free(p);
        assert!(buf.0.iter().all(|b| *b == fill), "the library wrote into a foreign buffer");
    }
    // A pointer one byte into a live session: refused on alignment, the session unharmed.
    let s = Session::new();
    let skewed = unsafe { (s.0 as *mut u8).add(1) } as *mut smtp_client;
    for (name, call) in mutating_calls() {
        assert_eq!(call(skewed), smtp_result::BadHandle, "{name}(misaligned)");
    }
    for (name, call) in getter_calls() {
        call(skewed).unwrap_or_else(|e| panic!("{name}(misaligned) {e}"));
    }
    smtp_client_free(skewed);
    assert_eq!(smtp_client_set_timeout_ms(s.0, 5), smtp_result::Ok, "the real session still works");
    assert_eq!(s.last_result(), smtp_result::Ok as i32);
}

/// A failed set_debug_callback does not take ownership of the userdata: no destructor call.
#[test]
fn refused_set_debug_callback_does_not_free_userdata() {
    let frees = AtomicUsize::new(0);
    let ud = &frees as *const AtomicUsize as *mut c_void;
    let mut buf = [0u64; 32];
    for s in [null_mut(), buf.as_mut_ptr() as *mut smtp_client] {
        let rc = smtp_client_set_debug_callback(s, Some(ignore_event), ud, Some(count_free));
        assert!(rc == smtp_result::NullArgument || rc == smtp_result::BadHandle, "{rc:?}");
    }
    assert_eq!(frees.load(Ordering::SeqCst), 0);
    // NULL callback with a destructor: accepted, and the destructor runs once at free.
    let s = Session::new();
    assert_eq!(smtp_client_set_debug_callback(s.0, None, ud, Some(count_free)), smtp_result::Ok);
    assert_eq!(frees.load(Ordering::SeqCst), 0);
    drop(s);
    assert_eq!(frees.load(Ordering::SeqCst), 1);
}

#[test]
fn plain_functions() {
    smtp_client_free(null_mut()); // no-op, no crash
    for kind in [3, -1, i32::MIN, i32::MAX] {
        assert!(smtp_client_new(kind).is_null(), "smtp_client_new({kind})");
    }
    for kind in [smtp_client_kind::Smtp, smtp_client_kind::Smtps, smtp_client_kind::Lmtp] {
        let s = smtp_client_new(kind as i32);
        assert!(!s.is_null(), "smtp_client_new({kind:?})");
        assert_eq!(smtp_client_last_result(s), smtp_result::Ok as i32);
        smtp_client_free(s);
    }
    assert_eq!(text(smtp_lib_version()).as_deref(), Some(env!("CARGO_PKG_VERSION")));
    let (maj, min, pat): (u32, u32, u32) = (
        env!("CARGO_PKG_VERSION_MAJOR").parse().unwrap(),
        env!("CARGO_PKG_VERSION_MINOR").parse().unwrap(),
        env!("CARGO_PKG_VERSION_PATCH").parse().unwrap(),
    );
    assert_eq!(smtp_lib_version_number(), maj * 10_000 + min * 100 + pat);
    for code in [-1, 2, 99, 402_000, i32::MIN, i32::MAX] {
        assert_eq!(text(smtp_result_str(code)).as_deref(), Some("unknown result code"), "{code}");
        assert_eq!(text(smtp_result_name(code)).as_deref(), Some("SMTP_RESULT_UNKNOWN"), "{code}");
        assert!(!smtp_result_is_a(code, code));
    }
    assert_eq!(text(smtp_result_name(401)).as_deref(), Some("SMTP_RESULT_NULL_ARGUMENT"));
    assert_eq!(text(smtp_result_name(404)).as_deref(), Some("SMTP_RESULT_BAD_HANDLE"));
    assert_eq!(text(smtp_result_name(405)).as_deref(), Some("SMTP_RESULT_REENTRANT_CALL"));
    assert_eq!(text(smtp_result_name(900)).as_deref(), Some("SMTP_RESULT_PANIC"));
    assert!(smtp_result_is_a(smtp_result::NullArgument as i32, smtp_result::InvalidArgument as i32));
    assert!(smtp_result_is_a(smtp_result::InvalidUtf8 as i32, smtp_result::InvalidArgument as i32));
    assert!(!smtp_result_is_a(smtp_result::BadHandle as i32, smtp_result::InvalidArgument as i32));
    assert!(!smtp_result_is_a(smtp_result::Ok as i32, smtp_result::InvalidArgument as i32));
    // The numbers are ABI: every code this file expects, as C sees it, with its name.
    for (code, number, name) in [
        (smtp_result::Ok, 0, "SMTP_RESULT_OK"),
        (smtp_result::ServerDisconnected, 101, "SMTP_RESULT_SERVER_DISCONNECTED"),
        (smtp_result::SenderRefused, 104, "SMTP_RESULT_SENDER_REFUSED"),
        (smtp_result::InvalidArgument, 400, "SMTP_RESULT_INVALID_ARGUMENT"),
        (smtp_result::NullArgument, 401, "SMTP_RESULT_NULL_ARGUMENT"),
        (smtp_result::InvalidUtf8, 402, "SMTP_RESULT_INVALID_UTF8"),
        (smtp_result::BadState, 403, "SMTP_RESULT_BAD_STATE"),
        (smtp_result::BadHandle, 404, "SMTP_RESULT_BAD_HANDLE"),
    ] {
        assert_eq!(code as i32, number, "{name}");
        assert_eq!(text(smtp_result_name(number)).as_deref(), Some(name), "{number}");
    }
    let kinds = [smtp_client_kind::Smtp, smtp_client_kind::Smtps, smtp_client_kind::Lmtp];
    assert_eq!(kinds.map(|k| k as i32), [0, 1, 2], "the session kinds are ABI");
}

/// A NULL required string, or a NULL array with a non-zero count, is NULL_ARGUMENT, and the
/// message names the argument.
#[test]
fn null_required_arguments_return_null_argument() {
    let s = Session::new();
    let p = s.0;
    let a = c"a@example.org".as_ptr();
    let one: [*const c_char; 1] = [a];
    let with_null: [*const c_char; 2] = [a, null()];
    let msg = (MSG.as_ptr(), MSG.len());
    type Case<'a> = (&'a str, Box<dyn Fn() -> smtp_result + 'a>, &'a str);
    let cases: Vec<Case> = vec![
        ("smtp_client_connect host", Box::new(|| smtp_client_connect(p, null(), 25)), "host is NULL"),
        ("smtp_client_docmd cmd", Box::new(|| smtp_client_docmd(p, null(), c"x".as_ptr())), "cmd is NULL"),
        ("smtp_client_verify", Box::new(|| smtp_client_verify(p, null())), "address is NULL"),
        ("smtp_client_expn", Box::new(|| smtp_client_expn(p, null())), "address is NULL"),
        ("smtp_client_mail sender", Box::new(|| smtp_client_mail(p, null(), null(), 0)), "sender is NULL"),
        ("smtp_client_mail options", Box::new(|| smtp_client_mail(p, a, null(), 1)), "options is NULL"),
        (
            "smtp_client_mail options[1]",
            Box::new(|| smtp_client_mail(p, a, with_null.as_ptr(), 2)),
            "options[1] is NULL",
        ),
        ("smtp_client_rcpt recipient", Box::new(|| smtp_client_rcpt(p, null(), null(), 0)), "recipient is NULL"),
        ("smtp_client_rcpt options", Box::new(|| smtp_client_rcpt(p, a, null(), 3)), "options is NULL"),
        (
            "smtp_client_rcpt options[1]",
            Box::new(|| smtp_client_rcpt(p, a, with_null.as_ptr(), 2)),
            "options[1] is NULL",
        ),
        ("smtp_client_data msg", Box::new(|| smtp_client_data(p, null(), 5)), "msg is NULL"),
        (
            "smtp_client_login user",
            Box::new(|| smtp_client_login(p, null(), c"pw".as_ptr(), smtp_initial_response::Send as i32)),
            "user is NULL",
        ),
        (
            "smtp_client_login password",
            Box::new(|| smtp_client_login(p, c"u".as_ptr(), null(), smtp_initial_response::Send as i32)),
            "password is NULL",
        ),
        (
            "smtp_client_login_oauth user",
            Box::new(|| smtp_client_login_oauth(p, 0, null(), c"t".as_ptr())),
            "user is NULL",
        ),
        (
            "smtp_client_login_oauth token",
            Box::new(|| smtp_client_login_oauth(p, 1, c"u".as_ptr(), null())),
            "token is NULL",
        ),
        (
            "smtp_client_auth mechanism",
            Box::new(|| smtp_client_auth(p, null(), Some(auth_abort), null_mut(), smtp_initial_response::Send as i32)),
            "mechanism is NULL",
        ),
        (
            "smtp_client_auth callback",
            Box::new(|| smtp_client_auth(p, c"PLAIN".as_ptr(), None, null_mut(), smtp_initial_response::Send as i32)),
            "callback is NULL",
        ),
        (
            "smtp_client_sendmail_stream from",
            Box::new(|| {
                smtp_client_sendmail_stream(p, null(), one.as_ptr(), 1, Some(read_nothing), null_mut(), null())
            }),
            "from is NULL",
        ),
        (
            "smtp_client_sendmail_stream to",
            Box::new(|| smtp_client_sendmail_stream(p, a, null(), 1, Some(read_nothing), null_mut(), null())),
            "to is NULL",
        ),
        (
            "smtp_client_sendmail_stream read",
            Box::new(|| smtp_client_sendmail_stream(p, a, one.as_ptr(), 1, None, null_mut(), null())),
            "read callback is NULL",
        ),
        (
            "smtp_client_set_tls_client_cert chain_file",
            Box::new(|| smtp_client_set_tls_client_cert(p, null(), c"/k.pem".as_ptr())),
            "chain_file is NULL",
        ),
        (
            "smtp_client_set_tls_client_cert key_file",
            Box::new(|| smtp_client_set_tls_client_cert(p, c"/c.pem".as_ptr(), null())),
            "key_file is NULL",
        ),
        ("smtp_client_set_url", Box::new(|| smtp_client_set_url(p, null())), "url is NULL"),
        (
            "smtp_client_sendmail from",
            Box::new(|| smtp_client_sendmail(p, null(), one.as_ptr(), 1, msg.0, msg.1, null())),
            "from is NULL",
        ),
        (
            "smtp_client_sendmail to",
            Box::new(|| smtp_client_sendmail(p, a, null(), 1, msg.0, msg.1, null())),
            "to is NULL",
        ),
        (
            "smtp_client_sendmail to[1]",
            Box::new(|| smtp_client_sendmail(p, a, with_null.as_ptr(), 2, msg.0, msg.1, null())),
            "to[1] is NULL",
        ),
        (
            "smtp_client_sendmail msg",
            Box::new(|| smtp_client_sendmail(p, a, one.as_ptr(), 1, null(), 3, null())),
            "msg is NULL",
        ),
        (
            "smtp_client_send_message msg",
            Box::new(|| smtp_client_send_message(p, null(), 4, a, one.as_ptr(), 1, null())),
            "msg is NULL",
        ),
        (
            "smtp_client_send_message to[1]",
            Box::new(|| smtp_client_send_message(p, msg.0, msg.1, a, with_null.as_ptr(), 2, null())),
            "to[1] is NULL",
        ),
    ];
    for (what, call, words) in &cases {
        assert_eq!(call(), smtp_result::NullArgument, "{what}");
        s.assert_error(smtp_result::NullArgument, &[words], what);
        // A NULL_ARGUMENT carries no reply.
        assert_eq!(smtp_client_last_error_reply_code(p), 0, "{what}");
    }
}

/// NULL where the documentation allows it is not an error: the call gets past its argument
/// checks (to SERVER_DISCONNECTED for commands, as the session is not connected).
#[test]
fn null_optional_arguments_are_accepted() {
    let s = Session::new();
    let p = s.0;
    let a = c"a@example.org".as_ptr();
    let one: [*const c_char; 1] = [a];
    assert_eq!(smtp_client_set_local_hostname(p, null()), smtp_result::Ok);
    assert_eq!(smtp_client_set_source_address(p, null(), 0), smtp_result::Ok);
    assert_eq!(smtp_client_set_debug_callback(p, None, null_mut(), None), smtp_result::Ok);
    assert_eq!(smtp_client_set_tls_ca_file(p, null()), smtp_result::Ok);
    assert_eq!(smtp_client_set_tls_ca_dir(p, null()), smtp_result::Ok);
    assert_eq!(smtp_client_set_tls_client_cert(p, null(), null()), smtp_result::Ok);
    assert_eq!(smtp_client_set_tls_server_name(p, null()), smtp_result::Ok);
    assert_eq!(smtp_client_docmd(p, c"NOOP".as_ptr(), null()), smtp_result::ServerDisconnected);
    assert_eq!(smtp_client_helo(p, null()), smtp_result::ServerDisconnected);
    assert_eq!(smtp_client_ehlo(p, null()), smtp_result::ServerDisconnected);
    assert_eq!(smtp_client_help(p, null()), smtp_result::ServerDisconnected);
    assert_eq!(smtp_client_mail(p, a, null(), 0), smtp_result::ServerDisconnected);
    assert_eq!(smtp_client_rcpt(p, a, null(), 0), smtp_result::ServerDisconnected);
    assert_eq!(smtp_client_data(p, null(), 0), smtp_result::ServerDisconnected);
    assert_eq!(smtp_client_sendmail(p, a, one.as_ptr(), 1, null(), 0, null()), smtp_result::ServerDisconnected);
    // NULL from and to: taken from the headers.
    assert_eq!(
        smtp_client_send_message(p, MSG.as_ptr(), MSG.len(), null(), null(), 7, null()),
        smtp_result::ServerDisconnected
    );
    // NULL to with no recipients is "no recipients", not a NULL argument.
    assert_eq!(smtp_client_sendmail(p, a, null(), 0, MSG.as_ptr(), MSG.len(), null()), smtp_result::InvalidArgument);
    s.assert_error(smtp_result::InvalidArgument, &["no recipients"], "sendmail without recipients");
    let rc = smtp_client_sendmail_stream(p, a, null(), 0, Some(read_nothing), null_mut(), null());
    assert_eq!(rc, smtp_result::InvalidArgument);
    s.assert_error(smtp_result::InvalidArgument, &["no recipients"], "sendmail_stream without recipients");
    // NULL userdata is passed through as is.
    let rc = smtp_client_sendmail_stream(p, a, one.as_ptr(), 1, Some(read_nothing), null_mut(), null());
    assert_eq!(rc, smtp_result::ServerDisconnected);
    assert_eq!(
        smtp_client_auth(p, c"PLAIN".as_ptr(), Some(auth_abort), null_mut(), smtp_initial_response::Wait as i32),
        smtp_result::ServerDisconnected
    );
    // NULL optional strings in getters: the default.
    assert!(!smtp_client_has_extn(p, null()));
    assert!(smtp_client_feature(p, null()).is_null());
}

/// Getters with NULL output pointers skip them (one at a time) and still fill the others.
#[test]
fn null_output_pointers_are_skipped() {
    let server = Server::start();
    let s = Session::connected(&server);
    let p = s.0;
    let to: [*const c_char; 2] = [c"good@example.org".as_ptr(), c"bad@example.org".as_ptr()];
    assert_eq!(smtp_client_ehlo(p, c"client.example".as_ptr()), smtp_result::Ok);
    assert_eq!(smtp_client_feature_count(p), 3);
    assert_eq!(text(smtp_client_feature(p, c"SIZE".as_ptr())).as_deref(), Some("100000"));
    assert_eq!(text(smtp_client_feature(p, c"8bitmime".as_ptr())).as_deref(), Some(""));
    for skip in 0..3 {
        let (mut n, mut pa) = (untouched_ptr(), untouched_ptr());
        let name_out: *mut *const c_char = if skip == 0 { null_mut() } else { &mut n };
        let params_out: *mut *const c_char = if skip == 1 { null_mut() } else { &mut pa };
        assert_eq!(smtp_client_feature_get(p, 0, name_out, params_out), smtp_result::Ok);
        if skip != 0 {
            assert_eq!(text(n).as_deref(), Some("size"));
        }
        if skip != 1 {
            assert_eq!(text(pa).as_deref(), Some("100000"));
        }
    }

    let rc = smtp_client_sendmail(p, c"a@example.org".as_ptr(), to.as_ptr(), 2, MSG.as_ptr(), MSG.len(), null());
    assert_eq!(rc, smtp_result::Ok, "{}", s.message());
    assert_eq!(smtp_client_refused_count(p), 1);
    assert_eq!(smtp_client_recipient_count(p), 2);
    for skip in 0..4 {
        let (mut a, mut c, mut t) = (untouched_ptr(), UNTOUCHED_INT, untouched_ptr());
        let rc = smtp_client_refused_get(
            p,
            0,
            if skip == 0 { null_mut() } else { &mut a },
            if skip == 1 { null_mut() } else { &mut c },
            if skip == 2 { null_mut() } else { &mut t },
        );
        assert_eq!(rc, smtp_result::Ok);
        assert_eq!(text(a).as_deref(), Some(if skip == 0 { "untouched" } else { "bad@example.org" }));
        assert_eq!(c, if skip == 1 { UNTOUCHED_INT } else { 550 });
        assert_eq!(text(t).as_deref(), Some(if skip == 2 { "untouched" } else { "5.1.1 no such user" }));
    }
    for skip in 0..5 {
        let (mut a, mut r, mut d, mut t) = (untouched_ptr(), UNTOUCHED_INT, UNTOUCHED_INT, untouched_ptr());
        let rc = smtp_client_recipient_get(
            p,
            1,
            if skip == 0 { null_mut() } else { &mut a },
            if skip == 1 { null_mut() } else { &mut r },
            if skip == 2 { null_mut() } else { &mut d },
            if skip == 3 { null_mut() } else { &mut t },
        );
        assert_eq!(rc, smtp_result::Ok);
        assert_eq!(text(a).as_deref(), Some(if skip == 0 { "untouched" } else { "bad@example.org" }));
        assert_eq!(r, if skip == 1 { UNTOUCHED_INT } else { 550 });
        assert_eq!(d, if skip == 2 { UNTOUCHED_INT } else { 0 });
        assert_eq!(text(t).as_deref(), Some(if skip == 3 { "untouched" } else { "5.1.1 no such user" }));
    }

    // An error with an enhanced status: each output NULL in turn.
    let rc = smtp_client_sendmail(p, c"refused@example.org".as_ptr(), to.as_ptr(), 1, MSG.as_ptr(), MSG.len(), null());
    assert_eq!(rc, smtp_result::SenderRefused);
    for skip in 0..4 {
        let mut v = [UNTOUCHED_INT; 3];
        let [c, sub, d] = &mut v;
        let c: *mut i32 = if skip == 0 { null_mut() } else { c };
        let sub: *mut i32 = if skip == 1 { null_mut() } else { sub };
        let d: *mut i32 = if skip == 2 { null_mut() } else { d };
        assert!(smtp_client_last_error_enhanced_status(p, c, sub, d));
        let mut expected = [5, 7, 1];
        if skip < 3 {
            expected[skip] = UNTOUCHED_INT;
        }
        assert_eq!(v, expected, "skip {skip}");
    }
}

/// Index getters out of range: INVALID_ARGUMENT, outputs untouched; on a fresh session and on
/// one with features and recipients.
#[test]
fn out_of_range_index_getters_return_invalid_argument() {
    fn check(p: *mut smtp_client, features: usize, refused: usize, recipients: usize) {
        assert_eq!(smtp_client_feature_count(p), features);
        assert_eq!(smtp_client_refused_count(p), refused);
        assert_eq!(smtp_client_recipient_count(p), recipients);
        for i in [features, features + 1, usize::MAX] {
            let (mut n, mut pa) = (untouched_ptr(), untouched_ptr());
            assert_eq!(smtp_client_feature_get(p, i, &mut n, &mut pa), smtp_result::InvalidArgument, "feature {i}");
            assert_eq!((n, pa), (untouched_ptr(), untouched_ptr()));
        }
        for i in [refused, refused + 1, usize::MAX] {
            let (mut a, mut c, mut t) = (untouched_ptr(), UNTOUCHED_INT, untouched_ptr());
            assert_eq!(
                smtp_client_refused_get(p, i, &mut a, &mut c, &mut t),
                smtp_result::InvalidArgument,
                "refused {i}"
            );
            assert_eq!((a, c, t), (untouched_ptr(), UNTOUCHED_INT, untouched_ptr()));
        }
        for i in [recipients, recipients + 1, usize::MAX] {
            let (mut a, mut r, mut d, mut t) = (untouched_ptr(), UNTOUCHED_INT, UNTOUCHED_INT, untouched_ptr());
            let rc = smtp_client_recipient_get(p, i, &mut a, &mut r, &mut d, &mut t);
            assert_eq!(rc, smtp_result::InvalidArgument, "recipient {i}");
            assert_eq!((a, r, d, t), (untouched_ptr(), UNTOUCHED_INT, UNTOUCHED_INT, untouched_ptr()));
        }
        // Getters do not change the last result.
        assert_eq!(smtp_client_last_result(p), smtp_result::Ok as i32);
    }
    let fresh = Session::new();
    check(fresh.0, 0, 0, 0);

    let server = Server::start();
    let s = Session::connected(&server);
    let to: [*const c_char; 2] = [c"good@example.org".as_ptr(), c"bad@example.org".as_ptr()];
    assert_eq!(smtp_client_ehlo(s.0, null()), smtp_result::Ok);
    let rc = smtp_client_sendmail(s.0, c"a@example.org".as_ptr(), to.as_ptr(), 2, MSG.as_ptr(), MSG.len(), null());
    assert_eq!(rc, smtp_result::Ok, "{}", s.message());
    check(s.0, 3, 1, 2);
}

/// Invalid UTF-8 in any string argument: INVALID_UTF8, naming the argument; getters: default.
#[test]
fn invalid_utf8_returns_invalid_utf8() {
    let s = Session::new();
    let p = s.0;
    let bad = c"\xff\xfeabc".as_ptr();
    let a = c"a@example.org".as_ptr();
    let one: [*const c_char; 1] = [a];
    let bad1: [*const c_char; 2] = [a, bad];
    let msg = (MSG.as_ptr(), MSG.len());
    type Case<'a> = (&'a str, Box<dyn Fn() -> smtp_result + 'a>, &'a str);
    let cases: Vec<Case> = vec![
        ("set_local_hostname", Box::new(|| smtp_client_set_local_hostname(p, bad)), "name"),
        ("set_source_address", Box::new(|| smtp_client_set_source_address(p, bad, 0)), "host"),
        ("set_tls_ca_file", Box::new(|| smtp_client_set_tls_ca_file(p, bad)), "path"),
        ("set_tls_ca_dir", Box::new(|| smtp_client_set_tls_ca_dir(p, bad)), "path"),
        ("set_tls_client_cert chain", Box::new(|| smtp_client_set_tls_client_cert(p, bad, a)), "chain_file"),
        ("set_tls_client_cert key", Box::new(|| smtp_client_set_tls_client_cert(p, a, bad)), "key_file"),
        ("set_tls_server_name", Box::new(|| smtp_client_set_tls_server_name(p, bad)), "name"),
        ("set_url", Box::new(|| smtp_client_set_url(p, bad)), "url"),
        ("login user", Box::new(|| smtp_client_login(p, bad, a, smtp_initial_response::Send as i32)), "user"),
        ("login password", Box::new(|| smtp_client_login(p, a, bad, smtp_initial_response::Send as i32)), "password"),
        ("login_oauth user", Box::new(|| smtp_client_login_oauth(p, 0, bad, c"tok".as_ptr())), "user"),
        ("login_oauth token", Box::new(|| smtp_client_login_oauth(p, 0, a, bad)), "token"),
        (
            "auth mechanism",
            Box::new(|| smtp_client_auth(p, bad, Some(auth_abort), null_mut(), smtp_initial_response::Send as i32)),
            "mechanism",
        ),
        (
            "sendmail_stream from",
            Box::new(|| smtp_client_sendmail_stream(p, bad, one.as_ptr(), 1, Some(read_nothing), null_mut(), null())),
            "from",
        ),
        (
            "sendmail_stream to",
            Box::new(|| smtp_client_sendmail_stream(p, a, bad1.as_ptr(), 2, Some(read_nothing), null_mut(), null())),
            "to[1]",
        ),
        ("connect", Box::new(|| smtp_client_connect(p, bad, 25)), "host"),
        ("docmd cmd", Box::new(|| smtp_client_docmd(p, bad, null())), "cmd"),
        ("docmd args", Box::new(|| smtp_client_docmd(p, c"NOOP".as_ptr(), bad)), "args"),
        ("helo", Box::new(|| smtp_client_helo(p, bad)), "name"),
        ("ehlo", Box::new(|| smtp_client_ehlo(p, bad)), "name"),
        ("verify", Box::new(|| smtp_client_verify(p, bad)), "address"),
        ("expn", Box::new(|| smtp_client_expn(p, bad)), "address"),
        ("help", Box::new(|| smtp_client_help(p, bad)), "args"),
        ("mail sender", Box::new(|| smtp_client_mail(p, bad, null(), 0)), "sender"),
        ("mail options", Box::new(|| smtp_client_mail(p, a, bad1.as_ptr(), 2)), "options[1]"),
        ("rcpt recipient", Box::new(|| smtp_client_rcpt(p, bad, null(), 0)), "recipient"),
        ("rcpt options", Box::new(|| smtp_client_rcpt(p, a, bad1.as_ptr(), 2)), "options[1]"),
        ("sendmail from", Box::new(|| smtp_client_sendmail(p, bad, one.as_ptr(), 1, msg.0, msg.1, null())), "from"),
        ("sendmail to", Box::new(|| smtp_client_sendmail(p, a, bad1.as_ptr(), 2, msg.0, msg.1, null())), "to[1]"),
        (
            "send_message from",
            Box::new(|| smtp_client_send_message(p, msg.0, msg.1, bad, one.as_ptr(), 1, null())),
            "from",
        ),
        (
            "send_message to",
            Box::new(|| smtp_client_send_message(p, msg.0, msg.1, a, bad1.as_ptr(), 2, null())),
            "to[1]",
        ),
    ];
    for (what, call, arg) in &cases {
        assert_eq!(call(), smtp_result::InvalidUtf8, "{what}");
        s.assert_error(smtp_result::InvalidUtf8, &[&format!("{arg} is not valid UTF-8")], what);
    }
    assert!(!smtp_client_has_extn(p, bad));
    assert!(smtp_client_feature(p, bad).is_null());
}

/// CR or LF in anything that ends up on a command line: INVALID_ARGUMENT naming the argument
/// and the character, both before connecting and when connected (then nothing is sent).
#[test]
fn cr_and_lf_in_arguments_return_invalid_argument() {
    let server = Server::start();
    let connected = Session::connected(&server);
    let unconnected = Session::new();
    let before = server.lines(&connected);
    for (ch, name) in [("\r", "CR"), ("\n", "LF")] {
        let inject = |prefix: &str| std::ffi::CString::new(format!("{prefix}{ch}RSET")).unwrap();
        let (addr, word, opt) = (inject("x@example.org"), inject("client.example"), inject("SIZE=1"));
        let a = c"a@example.org".as_ptr();
        let one: [*const c_char; 1] = [a];
        let bad_to: [*const c_char; 2] = [a, addr.as_ptr()];
        let bad_opt: [*const c_char; 1] = [opt.as_ptr()];
        let msg = (MSG.as_ptr(), MSG.len());
        for s in [&unconnected, &connected] {
            let p = s.0;
            type Case<'a> = (&'a str, Box<dyn Fn() -> smtp_result + 'a>, &'a str);
            let cases: Vec<Case> = vec![
                ("set_local_hostname", Box::new(|| smtp_client_set_local_hostname(p, word.as_ptr())), "local hostname"),
                (
                    "set_source_address",
                    Box::new(|| smtp_client_set_source_address(p, word.as_ptr(), 0)),
                    "source address",
                ),
                (
                    "set_tls_server_name",
                    Box::new(|| smtp_client_set_tls_server_name(p, word.as_ptr())),
                    "TLS server name",
                ),
                ("docmd cmd", Box::new(|| smtp_client_docmd(p, word.as_ptr(), null())), "command"),
                ("docmd args", Box::new(|| smtp_client_docmd(p, c"NOOP".as_ptr(), word.as_ptr())), "command argument"),
                ("helo", Box::new(|| smtp_client_helo(p, word.as_ptr())), "HELO name"),
                ("ehlo", Box::new(|| smtp_client_ehlo(p, word.as_ptr())), "HELO name"),
                ("verify", Box::new(|| smtp_client_verify(p, addr.as_ptr())), "address"),
                ("expn", Box::new(|| smtp_client_expn(p, addr.as_ptr())), "address"),
                ("help", Box::new(|| smtp_client_help(p, word.as_ptr())), "command argument"),
                ("mail sender", Box::new(|| smtp_client_mail(p, addr.as_ptr(), null(), 0)), "address"),
                ("mail options", Box::new(|| smtp_client_mail(p, a, bad_opt.as_ptr(), 1)), "ESMTP option"),
                ("rcpt recipient", Box::new(|| smtp_client_rcpt(p, addr.as_ptr(), null(), 0)), "address"),
                ("rcpt options", Box::new(|| smtp_client_rcpt(p, a, bad_opt.as_ptr(), 1)), "ESMTP option"),
                (
                    "sendmail from",
                    Box::new(|| smtp_client_sendmail(p, addr.as_ptr(), one.as_ptr(), 1, msg.0, msg.1, null())),
                    "address",
                ),
                (
                    "sendmail to",
                    Box::new(|| smtp_client_sendmail(p, a, bad_to.as_ptr(), 2, msg.0, msg.1, null())),
                    "address",
                ),
                (
                    "sendmail_stream from",
                    Box::new(|| {
                        smtp_client_sendmail_stream(
                            p,
                            addr.as_ptr(),
                            one.as_ptr(),
                            1,
                            Some(read_nothing),
                            null_mut(),
                            null(),
                        )
                    }),
                    "address",
                ),
                (
                    "sendmail_stream to",
                    Box::new(|| {
                        smtp_client_sendmail_stream(p, a, bad_to.as_ptr(), 2, Some(read_nothing), null_mut(), null())
                    }),
                    "address",
                ),
                (
                    "login user",
                    Box::new(|| {
                        smtp_client_login(p, word.as_ptr(), c"pw".as_ptr(), smtp_initial_response::Send as i32)
                    }),
                    "user",
                ),
                (
                    "login password",
                    Box::new(|| smtp_client_login(p, c"u".as_ptr(), word.as_ptr(), smtp_initial_response::Send as i32)),
                    "password",
                ),
                (
                    "login_oauth user",
                    Box::new(|| smtp_client_login_oauth(p, 0, word.as_ptr(), c"tok".as_ptr())),
                    "user",
                ),
            ];
            for (what, call, arg) in &cases {
                assert_eq!(call(), smtp_result::InvalidArgument, "{what} with {name}");
                s.assert_error(smtp_result::InvalidArgument, &[arg, &format!("contains a {name} character")], what);
            }
        }
        // A mechanism name with CR / LF is not a valid name (the message shows it as '?').
        for s in [&unconnected, &connected] {
            assert_eq!(
                smtp_client_auth(s.0, word.as_ptr(), Some(auth_abort), null_mut(), smtp_initial_response::Send as i32),
                smtp_result::InvalidArgument
            );
            s.assert_error(smtp_result::InvalidArgument, &["SASL mechanism name", "client.example?RSET"], "auth");
        }
        // connect's host (unconnected only: connected, it would be BAD_STATE or refused anyway).
        assert_eq!(smtp_client_connect(unconnected.0, word.as_ptr(), 25), smtp_result::InvalidArgument);
        unconnected.assert_error(
            smtp_result::InvalidArgument,
            &["host", &format!("contains a {name} character")],
            "connect",
        );
    }
    // Nothing reached the server: only the NOOP of each `lines` round trip.
    let after = server.lines(&connected);
    assert_eq!(&after[before.len()..], ["NOOP\r\n"], "refused calls sent bytes");
    assert!(smtp_client_is_connected(connected.0));
}

/// `smtp_client_send_message` checks its explicit from / to after it checks the connection and sends
/// EHLO: unconnected, CR/LF in `from` gives SERVER_DISCONNECTED instead of INVALID_ARGUMENT,
/// and connected, EHLO goes out before the refusal ("nothing was sent" is documented).
#[test]
fn send_message_checks_arguments_before_sending() {
    let server = Server::start();
    let connected = Session::connected(&server);
    let unconnected = Session::new();
    let bad = c"x@example.org\r\nRSET".as_ptr();
    let one: [*const c_char; 1] = [c"b@example.org".as_ptr()];
    let before = server.lines(&connected);
    for s in [&unconnected, &connected] {
        let rc = smtp_client_send_message(s.0, MSG.as_ptr(), MSG.len(), bad, one.as_ptr(), 1, null());
        assert_eq!(rc, smtp_result::InvalidArgument);
        s.assert_error(smtp_result::InvalidArgument, &["address", "contains a CR character"], "send_message");
    }
    let after = server.lines(&connected);
    assert_eq!(&after[before.len()..], ["NOOP\r\n"], "send_message sent bytes before refusing its arguments");
}

/// Other argument checks of the settings.
#[test]
fn settings_refuse_bad_values() {
    let s = Session::new();
    for level in [-1, 3, i32::MIN, i32::MAX] {
        assert_eq!(smtp_client_set_debuglevel(s.0, level), smtp_result::InvalidArgument, "level {level}");
        s.assert_error(smtp_result::InvalidArgument, &[&format!("debug level {level}")], "set_debuglevel");
    }
    for level in 0..=2 {
        assert_eq!(smtp_client_set_debuglevel(s.0, level), smtp_result::Ok);
    }
    for name in [c"", c"two words"] {
        assert_eq!(smtp_client_set_local_hostname(s.0, name.as_ptr()), smtp_result::InvalidArgument, "{name:?}");
        s.assert_error(smtp_result::InvalidArgument, &["local hostname"], "set_local_hostname");
    }
    assert_eq!(smtp_client_set_timeout_ms(s.0, 0), smtp_result::Ok);
    for v in [0, 11, 14, -12] {
        assert_eq!(smtp_client_set_tls_min_version(s.0, v), smtp_result::InvalidArgument, "TLS version {v}");
        s.assert_error(smtp_result::InvalidArgument, &[&format!("unknown TLS version {v}")], "set_tls_min_version");
    }
    for v in [12, 13] {
        assert_eq!(smtp_client_set_tls_min_version(s.0, v), smtp_result::Ok);
    }
    for v in [3, -1, i32::MAX] {
        assert_eq!(smtp_client_set_tls_policy(s.0, v), smtp_result::InvalidArgument, "TLS policy {v}");
        s.assert_error(smtp_result::InvalidArgument, &[&format!("unknown TLS policy {v}")], "set_tls_policy");
    }
    for v in 0..=2 {
        assert_eq!(smtp_client_set_tls_policy(s.0, v), smtp_result::Ok);
    }
    for v in [2, -1, i32::MIN] {
        assert_eq!(
            smtp_client_login_oauth(s.0, v, c"u".as_ptr(), c"tok".as_ptr()),
            smtp_result::InvalidArgument,
            "OAuth {v}"
        );
        s.assert_error(smtp_result::InvalidArgument, &[&format!("unknown OAuth mechanism {v}")], "login_oauth");
    }
}

/// last_result reflects the last mutating call, is reset to OK by a successful one, and is
/// not changed by getters, by calls with NULL or foreign handles, or by other sessions.
#[test]
fn last_result_tracks_the_last_mutating_call() {
    let s = Session::new();
    let other = Session::new();
    assert_eq!(s.last_result(), smtp_result::Ok as i32);
    assert_eq!(s.message(), "");
    assert_eq!(smtp_client_noop(s.0), smtp_result::ServerDisconnected);
    s.assert_error(smtp_result::ServerDisconnected, &["not connected"], "noop");
    // getters, NULL sessions and another session leave it alone
    let _ = smtp_client_feature_count(s.0);
    let _ = smtp_client_last_error_message(s.0);
    assert_eq!(smtp_client_noop(null_mut()), smtp_result::NullArgument);
    assert_eq!(smtp_client_set_timeout_ms(other.0, 10), smtp_result::Ok);
    assert_eq!(smtp_client_set_debuglevel(other.0, 9), smtp_result::InvalidArgument);
    assert_eq!(s.last_result(), smtp_result::ServerDisconnected as i32);
    assert_eq!(other.last_result(), smtp_result::InvalidArgument as i32);
    // the next error replaces it
    assert_eq!(smtp_client_verify(s.0, null()), smtp_result::NullArgument);
    s.assert_error(smtp_result::NullArgument, &["address is NULL"], "verify");
    // a success resets code and message
    assert_eq!(smtp_client_set_timeout_ms(s.0, 1000), smtp_result::Ok);
    assert_eq!(s.last_result(), smtp_result::Ok as i32);
    assert_eq!(s.message(), "");
    assert_eq!(smtp_client_helo(s.0, c"bad\nname".as_ptr()), smtp_result::InvalidArgument);
    assert_eq!(smtp_client_close(s.0), smtp_result::Ok); // closing a closed session is not an error
    assert_eq!(s.last_result(), smtp_result::Ok as i32);
    assert_eq!(s.message(), "");
}

/// After an error without a server reply the reply details are empty; after a refusal they
/// are the refusing reply; a success clears them again.
#[test]
fn error_details() {
    fn assert_no_detail(p: *mut smtp_client, when: &str) {
        assert_eq!(smtp_client_last_error_reply_code(p), 0, "{when}");
        assert_eq!(text(smtp_client_last_error_reply_text(p)).as_deref(), Some(""), "{when}");
        let mut v = [UNTOUCHED_INT; 3];
        let [a, b, c] = &mut v;
        assert!(!smtp_client_last_error_enhanced_status(p, a, b, c), "{when}");
        assert_eq!(v, [UNTOUCHED_INT; 3], "{when}");
        assert!(smtp_client_last_error_sender(p).is_null(), "{when}");
        assert_eq!(smtp_client_last_callback_value(p), 0, "{when}");
    }
    let fresh = Session::new();
    assert_no_detail(fresh.0, "fresh session");
    assert_eq!(smtp_client_mail(fresh.0, null(), null(), 0), smtp_result::NullArgument);
    assert_no_detail(fresh.0, "NULL_ARGUMENT");
    assert_eq!(smtp_client_mail(fresh.0, c"a\r@b".as_ptr(), null(), 0), smtp_result::InvalidArgument);
    assert_no_detail(fresh.0, "INVALID_ARGUMENT");
    assert_eq!(smtp_client_noop(fresh.0), smtp_result::ServerDisconnected);
    assert_no_detail(fresh.0, "SERVER_DISCONNECTED");

    let server = Server::start();
    let s = Session::connected(&server);
    let to: [*const c_char; 1] = [c"b@example.org".as_ptr()];
    let from = c"refused@example.org".as_ptr();
    assert_eq!(
        smtp_client_sendmail(s.0, from, to.as_ptr(), 1, MSG.as_ptr(), MSG.len(), null()),
        smtp_result::SenderRefused
    );
    assert_eq!(smtp_client_last_error_reply_code(s.0), 550);
    assert_eq!(text(smtp_client_last_error_reply_text(s.0)).as_deref(), Some("5.7.1 sender refused"));
    assert_eq!(text(smtp_client_last_error_sender(s.0)).as_deref(), Some("refused@example.org"));
    let mut v = [0; 3];
    let [a, b, c] = &mut v;
    assert!(smtp_client_last_error_enhanced_status(s.0, a, b, c));
    assert_eq!(v, [5, 7, 1]);
    // a success clears the detail
    assert_eq!(smtp_client_noop(s.0), smtp_result::Ok);
    assert_eq!(s.last_result(), smtp_result::Ok as i32);
    assert_no_detail(s.0, "after a success");
    assert_eq!(smtp_client_last_reply_code(s.0), 250);
    assert_eq!(text(smtp_client_last_reply_text(s.0)).as_deref(), Some("ok"));
}

/// Every command before smtp_client_connect is SERVER_DISCONNECTED (smtplib's SMTPServerDisconnected).
#[test]
fn commands_before_connect_return_server_disconnected() {
    let skip = [
        "smtp_client_set_local_hostname",
        "smtp_client_set_timeout_ms",
        "smtp_client_set_phase_timeout_ms",
        "smtp_client_set_rfc5321_timeouts",
        "smtp_client_set_operation_timeout_ms",
        "smtp_client_set_source_address",
        "smtp_client_set_debuglevel",
        "smtp_client_set_debug_callback",
        "smtp_client_connect",
        "smtp_client_close",
        "smtp_client_set_tls_ca_file",
        "smtp_client_set_tls_ca_dir",
        "smtp_client_set_tls_client_cert",
        "smtp_client_set_tls_min_version",
        "smtp_client_set_tls_server_name",
        "smtp_client_set_tls_verify",
        "smtp_client_set_tls_policy",
        "smtp_client_set_pipelining",
        "smtp_client_set_chunking",
        "smtp_client_set_cleartext_credentials",
        "smtp_client_set_local_peer",
        "smtp_client_set_login_mechanisms",
        "smtp_client_start_connect",
        // no operation in progress: BAD_STATE (tests/capi_nonblocking.rs)
        "smtp_client_step",
        "smtp_client_set_url",
    ];
    let mut checked = 0;
    for (name, call) in mutating_calls() {
        if skip.contains(&name) {
            continue;
        }
        let s = Session::new();
        assert_eq!(call(s.0), smtp_result::ServerDisconnected, "{name} before connect: {}", s.message());
        s.assert_error(smtp_result::ServerDisconnected, &["not connected"], name);
        assert!(!smtp_client_is_connected(s.0));
        checked += 1;
    }
    assert_eq!(checked, 27);
    // An SMTPS session is TLS by construction: STARTTLS is BAD_STATE even before connecting.
    let smtps = smtp_client_new(smtp_client_kind::Smtps as i32);
    assert_eq!(smtp_client_starttls(smtps), smtp_result::BadState);
    assert_eq!(smtp_client_noop(smtps), smtp_result::ServerDisconnected);
    smtp_client_free(smtps);
    // settings and close work unconnected
    let s = Session::new();
    for (name, call) in mutating_calls() {
        let needs_server = ["smtp_client_connect", "smtp_client_start_connect", "smtp_client_step"];
        if skip.contains(&name) && !needs_server.contains(&name) {
            assert_eq!(call(s.0), smtp_result::Ok, "{name} unconnected: {}", s.message());
        }
    }
}

/// `smtp_auth_response_set`: NULL and foreign writers, and a real writer inside a callback
/// (NULL data with a length, too long, empty, then the response that is sent).
#[test]
fn auth_response_writer() {
    #[repr(C, align(16))]
    struct Foreign([u8; 64]);
    let mut buf = Foreign([0; 64]);
    assert_eq!(smtp_auth_response_set(null_mut(), b"x".as_ptr(), 1), smtp_result::NullArgument);
    let foreign = &mut buf as *mut Foreign as *mut smtp_auth_response;
    assert_eq!(smtp_auth_response_set(foreign, b"x".as_ptr(), 1), smtp_result::BadHandle);
    let misaligned = unsafe { foreign.cast::<u8>().add(1) }.cast::<smtp_auth_response>();
    assert_eq!(smtp_auth_response_set(misaligned, b"x".as_ptr(), 1), smtp_result::BadHandle);
    assert!(buf.0.iter().all(|b| *b == 0), "the library wrote into a foreign writer");

    #[derive(Default)]
    struct Seen {
        calls: Vec<(bool, bool, usize)>,
        results: Vec<smtp_result>,
    }
    unsafe extern "C" fn respond(
        ud: *mut c_void,
        challenge: *const u8,
        len: usize,
        is_initial: bool,
        _tls: bool,
        response: *mut smtp_auth_response,
    ) -> i32 {
        let seen = unsafe { &mut *(ud as *mut Seen) };
        seen.calls.push((is_initial, challenge.is_null(), len));
        let big = vec![b'a'; 8193];
        seen.results.push(smtp_auth_response_set(response, null(), 3));
        seen.results.push(smtp_auth_response_set(response, big.as_ptr(), big.len()));
        seen.results.push(smtp_auth_response_set(response, null(), 0));
        seen.results.push(smtp_auth_response_set(response, b"\0u\0p".as_ptr(), 4));
        0
    }
    let server = Server::start();
    let s = Session::connected(&server);
    let mut seen = Seen::default();
    let rc = smtp_client_auth(
        s.0,
        c"plain".as_ptr(),
        Some(respond),
        &mut seen as *mut Seen as *mut c_void,
        smtp_initial_response::Send as i32,
    );
    assert_eq!(rc, smtp_result::Ok, "{}", s.message());
    assert_eq!(seen.calls, [(true, true, 0)], "one initial call, without a challenge");
    assert_eq!(
        seen.results,
        [smtp_result::NullArgument, smtp_result::InvalidArgument, smtp_result::Ok, smtp_result::Ok]
    );
    let lines = server.lines(&s);
    assert!(lines.contains(&"AUTH PLAIN AHUAcA==\r\n".to_owned()), "{lines:?}");
}

/// Every (pointer, count) pair with a count no real buffer can have: a size in bytes that
/// overflows `usize` or exceeds `isize::MAX`. Each must be INVALID_ARGUMENT before any read
/// (the pointers point to one real element, so a read past it would be out of bounds).
#[test]
fn absurd_counts_are_refused_before_any_read() {
    let s = Session::new();
    let one: [*const c_char; 1] = [c"a@example.org".as_ptr()];
    let byte = [b'x'];
    let pointer_overflow = usize::MAX / std::mem::size_of::<*const c_char>() + 1; // count * 8 overflows
    let pointer_too_big = isize::MAX as usize / std::mem::size_of::<*const c_char>() + 1; // > isize::MAX bytes
    let bytes_too_big = isize::MAX as usize + 1;
    let from = c"a@example.org".as_ptr();
    let (o, b) = (one.as_ptr(), byte.as_ptr());
    let calls: Vec<(String, smtp_result)> = [pointer_overflow, pointer_too_big]
        .into_iter()
        .flat_map(|n| {
            [
                (format!("mail options n={n}"), smtp_client_mail(s.0, from, o, n)),
                (format!("rcpt options n={n}"), smtp_client_rcpt(s.0, from, o, n)),
                (format!("sendmail to n={n}"), smtp_client_sendmail(s.0, from, o, n, b, 1, null())),
                (format!("send_message to n={n}"), smtp_client_send_message(s.0, b, 1, from, o, n, null())),
            ]
        })
        .chain([
            ("data len".to_string(), smtp_client_data(s.0, b, bytes_too_big)),
            ("data len usize::MAX".to_string(), smtp_client_data(s.0, b, usize::MAX)),
            ("sendmail msg len".to_string(), smtp_client_sendmail(s.0, from, o, 1, b, bytes_too_big, null())),
            ("send_message msg len".to_string(), smtp_client_send_message(s.0, b, usize::MAX, from, o, 1, null())),
        ])
        .collect();
    for (what, rc) in calls {
        assert_eq!(rc, smtp_result::InvalidArgument, "{what}");
        let message = text(smtp_client_last_error_message(s.0)).unwrap_or_default();
        assert!(message.contains("larger than any buffer"), "{what}: {message}");
    }
}

/// `(function, listed codes)` from the header's documentation (tests/c/documented_codes.py,
/// the same reading the borrowed-string matrix checks its results with).
fn documented_codes() -> std::collections::HashMap<String, Vec<i32>> {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = std::process::Command::new("python3")
        .arg(format!("{root}/tests/c/documented_codes.py"))
        .arg(format!("{root}/include/smtpclient.h"))
        .output()
        .expect("python3 runs tests/c/documented_codes.py");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let code_of = |name: &str| -> i32 {
        (0..1000)
            .find(|&c| {
                // SAFETY: a static string for every code.
                let n = unsafe { CStr::from_ptr(smtp_result_name(c)) };
                n.to_str().unwrap() == format!("SMTP_RESULT_{name}")
            })
            .unwrap_or_else(|| panic!("{name} is not a result code"))
    };
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let mut words = l.split_whitespace();
            let function = words.next().unwrap().to_owned();
            (function, words.map(code_of).collect())
        })
        .collect()
}

/// Every result the tables above produce, on a NULL, a foreign, a fresh and a poisoned-free
/// unconnected session, is one the function's documentation lists (or a kind of one): the
/// error lists are checked, not trusted. (The borrowed-string matrix does the same for the
/// string-taking functions against a real server.)
#[test]
fn every_result_is_one_its_documentation_lists() {
    let listed = documented_codes();
    let mut unlisted = Vec::new();
    let mut check = |name: &str, rc: smtp_result, when: &str| {
        let codes = listed.get(name).unwrap_or_else(|| panic!("{name} has no documentation"));
        if !codes.iter().any(|&c| smtp_result_is_a(rc as i32, c)) {
            unlisted.push(format!("{name} ({when}) returned {rc:?}, which its documentation does not list"));
        }
    };
    let mut foreign = [0u64; 64];
    let foreign = foreign.as_mut_ptr().cast::<smtp_client>();
    for (name, call) in mutating_calls() {
        check(name, call(null_mut()), "NULL session");
        check(name, call(foreign), "foreign handle");
        let s = Session::new();
        check(name, call(s.0), "unconnected");
        check(name, call(s.0), "unconnected, second call");
    }
    assert!(unlisted.is_empty(), "undocumented results:\n  {}", unlisted.join("\n  "));
}
