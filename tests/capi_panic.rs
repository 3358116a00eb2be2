//! The guard's panic path, through the exported symbols.
//!
//! Needs the `test-panic` feature, with which `smtp_docmd` panics inside its guard when the
//! command is exactly `__SMTPCLIENT_TEST_PANIC__` (nothing else can make the library panic on
//! purpose). Run: `cargo test --features test-panic --test capi_panic`.
//!
//! A panic must give PANIC (900), close the connection, poison the session (every later
//! mutating call PANIC, getters their defaults), leave other sessions alone, and still let
//! the session be freed, its userdata destructor called once.
#![cfg(feature = "test-panic")]
#![allow(non_camel_case_types)]

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::ffi::{c_char, c_void, CStr};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::ptr::{null, null_mut};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use smtpclient as _; // link the rlib that defines the exports

#[repr(C)]
struct smtp_client {
    _private: [u8; 0],
}

type smtp_debug_callback = Option<unsafe extern "C" fn(*mut c_void, i32, *const u8, usize)>;
type smtp_userdata_free = Option<unsafe extern "C" fn(*mut c_void)>;
type smtp_read_callback = Option<unsafe extern "C" fn(*mut c_void, *mut u8, usize) -> i64>;
type smtp_auth_callback = Option<unsafe extern "C" fn(*mut c_void, *const u8, usize, bool, bool, *mut c_void) -> i32>;

extern "C" {
    fn smtp_session_new(kind: i32) -> *mut smtp_client;
    fn smtp_session_free(s: *mut smtp_client);
    fn smtp_session_set_local_hostname(s: *mut smtp_client, name: *const c_char) -> i32;
    fn smtp_session_set_timeout_ms(s: *mut smtp_client, ms: u32) -> i32;
    fn smtp_session_set_source_address(s: *mut smtp_client, host: *const c_char, port: u16) -> i32;
    fn smtp_session_set_debuglevel(s: *mut smtp_client, level: i32) -> i32;
    fn smtp_session_set_debug_callback(
        s: *mut smtp_client,
        cb: smtp_debug_callback,
        userdata: *mut c_void,
        userdata_free: smtp_userdata_free,
    ) -> i32;
    fn smtp_connect(s: *mut smtp_client, host: *const c_char, port: u16) -> i32;
    fn smtp_quit(s: *mut smtp_client) -> i32;
    fn smtp_close(s: *mut smtp_client) -> i32;
    fn smtp_session_is_connected(s: *const smtp_client) -> bool;
    fn smtp_docmd(s: *mut smtp_client, cmd: *const c_char, args: *const c_char) -> i32;
    fn smtp_helo(s: *mut smtp_client, name: *const c_char) -> i32;
    fn smtp_ehlo(s: *mut smtp_client, name: *const c_char) -> i32;
    fn smtp_ehlo_or_helo_if_needed(s: *mut smtp_client) -> i32;
    fn smtp_verify(s: *mut smtp_client, address: *const c_char) -> i32;
    fn smtp_expn(s: *mut smtp_client, address: *const c_char) -> i32;
    fn smtp_help(s: *mut smtp_client, args: *const c_char) -> i32;
    fn smtp_rset(s: *mut smtp_client) -> i32;
    fn smtp_noop(s: *mut smtp_client) -> i32;
    fn smtp_mail(s: *mut smtp_client, sender: *const c_char, options: *const *const c_char, n: usize) -> i32;
    fn smtp_rcpt(s: *mut smtp_client, recipient: *const c_char, options: *const *const c_char, n: usize) -> i32;
    fn smtp_data(s: *mut smtp_client, msg: *const u8, len: usize) -> i32;
    fn smtp_sendmail(
        s: *mut smtp_client,
        from: *const c_char,
        to: *const *const c_char,
        n_to: usize,
        msg: *const u8,
        len: usize,
        mail_options: *const *const c_char,
        n_mail_options: usize,
        rcpt_options: *const *const c_char,
        n_rcpt_options: usize,
    ) -> i32;
    fn smtp_send_message(
        s: *mut smtp_client,
        msg: *const u8,
        len: usize,
        from: *const c_char,
        to: *const *const c_char,
        n_to: usize,
        mail_options: *const *const c_char,
        n_mail_options: usize,
        rcpt_options: *const *const c_char,
        n_rcpt_options: usize,
    ) -> i32;
    fn smtp_session_set_tls_ca_file(s: *mut smtp_client, path: *const c_char) -> i32;
    fn smtp_session_set_tls_ca_dir(s: *mut smtp_client, path: *const c_char) -> i32;
    fn smtp_session_set_tls_client_cert(s: *mut smtp_client, chain: *const c_char, key: *const c_char) -> i32;
    fn smtp_session_set_tls_min_version(s: *mut smtp_client, version: i32) -> i32;
    fn smtp_session_set_tls_server_name(s: *mut smtp_client, name: *const c_char) -> i32;
    fn smtp_session_set_tls_insecure_skip_verify(s: *mut smtp_client, insecure: bool) -> i32;
    fn smtp_session_set_tls_policy(s: *mut smtp_client, policy: i32) -> i32;
    fn smtp_starttls(s: *mut smtp_client) -> i32;
    fn smtp_sendmail_stream(
        s: *mut smtp_client,
        from: *const c_char,
        to: *const *const c_char,
        n_to: usize,
        read: smtp_read_callback,
        userdata: *mut c_void,
        size_estimate: i64,
        mail_options: *const *const c_char,
        n_mail_options: usize,
        rcpt_options: *const *const c_char,
        n_rcpt_options: usize,
    ) -> i32;
    fn smtp_session_set_pipelining(s: *mut smtp_client, enabled: bool) -> i32;
    fn smtp_session_set_chunking(s: *mut smtp_client, enabled: bool) -> i32;
    fn smtp_login(s: *mut smtp_client, user: *const c_char, password: *const c_char, initial_response_ok: bool) -> i32;
    fn smtp_login_oauth(s: *mut smtp_client, mechanism: i32, user: *const c_char, token: *const c_char) -> i32;
    fn smtp_auth(
        s: *mut smtp_client,
        mechanism: *const c_char,
        callback: smtp_auth_callback,
        userdata: *mut c_void,
        initial_response_ok: bool,
    ) -> i32;
    fn smtp_session_set_allow_cleartext_credentials(s: *mut smtp_client, allow: bool) -> i32;
    fn smtp_session_set_local_peer_is_safe(s: *mut smtp_client, safe: bool) -> i32;
    fn smtp_session_last_reply_code(s: *const smtp_client) -> i32;
    fn smtp_session_last_result(s: *const smtp_client) -> i32;
    fn smtp_session_last_error_message(s: *const smtp_client) -> *const c_char;
    fn smtp_session_feature_count(s: *const smtp_client) -> usize;
}

const OK: i32 = 0;
const REENTRANT_CALL: i32 = 405;
const PANIC: i32 = 900;
const DEBUG_INFO: i32 = 3;
const PANIC_CMD: &CStr = c"__SMTPCLIENT_TEST_PANIC__";

const MSG: &[u8] = b"From: a@example.org\r\nTo: b@example.org\r\n\r\nhello\r\n";

/// Callbacks that must not be reached: a poisoned session refuses the call first.
unsafe extern "C" fn read_nothing(_: *mut c_void, _: *mut u8, _: usize) -> i64 {
    -99
}
unsafe extern "C" fn auth_abort(_: *mut c_void, _: *const u8, _: usize, _: bool, _: bool, _: *mut c_void) -> i32 {
    -99
}

/// Every mutating export, with valid arguments.
fn mutating_calls() -> Vec<(&'static str, fn(*mut smtp_client) -> i32)> {
    const TO: [*const c_char; 1] = [c"b@example.org".as_ptr()];
    let m = |n: &'static str, f: fn(*mut smtp_client) -> i32| (n, f);
    unsafe {
        vec![
            m("smtp_session_set_local_hostname", |s| smtp_session_set_local_hostname(s, c"x.example".as_ptr())),
            m("smtp_session_set_timeout_ms", |s| smtp_session_set_timeout_ms(s, 1)),
            m("smtp_session_set_source_address", |s| smtp_session_set_source_address(s, null(), 0)),
            m("smtp_session_set_debuglevel", |s| smtp_session_set_debuglevel(s, 0)),
            m("smtp_session_set_debug_callback", |s| smtp_session_set_debug_callback(s, None, null_mut(), None)),
            m("smtp_connect", |s| smtp_connect(s, c"127.0.0.1".as_ptr(), 1)),
            m("smtp_quit", |s| smtp_quit(s)),
            m("smtp_close", |s| smtp_close(s)),
            m("smtp_docmd", |s| smtp_docmd(s, c"NOOP".as_ptr(), null())),
            m("smtp_helo", |s| smtp_helo(s, null())),
            m("smtp_ehlo", |s| smtp_ehlo(s, null())),
            m("smtp_ehlo_or_helo_if_needed", |s| smtp_ehlo_or_helo_if_needed(s)),
            m("smtp_verify", |s| smtp_verify(s, c"a@example.org".as_ptr())),
            m("smtp_expn", |s| smtp_expn(s, c"a@example.org".as_ptr())),
            m("smtp_help", |s| smtp_help(s, null())),
            m("smtp_rset", |s| smtp_rset(s)),
            m("smtp_noop", |s| smtp_noop(s)),
            m("smtp_mail", |s| smtp_mail(s, c"a@example.org".as_ptr(), null(), 0)),
            m("smtp_rcpt", |s| smtp_rcpt(s, c"b@example.org".as_ptr(), null(), 0)),
            m("smtp_data", |s| smtp_data(s, MSG.as_ptr(), MSG.len())),
            m("smtp_sendmail", |s| {
                smtp_sendmail(
                    s,
                    c"a@example.org".as_ptr(),
                    TO.as_ptr(),
                    1,
                    MSG.as_ptr(),
                    MSG.len(),
                    null(),
                    0,
                    null(),
                    0,
                )
            }),
            m("smtp_send_message", |s| {
                smtp_send_message(s, MSG.as_ptr(), MSG.len(), null(), null(), 0, null(), 0, null(), 0)
            }),
            m("smtp_session_set_tls_ca_file", |s| smtp_session_set_tls_ca_file(s, null())),
            m("smtp_session_set_tls_ca_dir", |s| smtp_session_set_tls_ca_dir(s, null())),
            m("smtp_session_set_tls_client_cert", |s| smtp_session_set_tls_client_cert(s, null(), null())),
            m("smtp_session_set_tls_min_version", |s| smtp_session_set_tls_min_version(s, 12)),
            m("smtp_session_set_tls_server_name", |s| smtp_session_set_tls_server_name(s, null())),
            m("smtp_session_set_tls_insecure_skip_verify", |s| smtp_session_set_tls_insecure_skip_verify(s, false)),
            m("smtp_session_set_tls_policy", |s| smtp_session_set_tls_policy(s, 0)),
            m("smtp_starttls", |s| smtp_starttls(s)),
            m("smtp_sendmail_stream", |s| {
                smtp_sendmail_stream(
                    s,
                    c"a@example.org".as_ptr(),
                    TO.as_ptr(),
                    1,
                    Some(read_nothing),
                    null_mut(),
                    -1,
                    null(),
                    0,
                    null(),
                    0,
                )
            }),
            m("smtp_session_set_pipelining", |s| smtp_session_set_pipelining(s, false)),
            m("smtp_session_set_chunking", |s| smtp_session_set_chunking(s, false)),
            m("smtp_login", |s| smtp_login(s, c"user".as_ptr(), c"secret".as_ptr(), true)),
            m("smtp_login_oauth", |s| smtp_login_oauth(s, 0, c"user".as_ptr(), c"token".as_ptr())),
            m("smtp_auth", |s| smtp_auth(s, c"PLAIN".as_ptr(), Some(auth_abort), null_mut(), true)),
            m("smtp_session_set_allow_cleartext_credentials", |s| {
                smtp_session_set_allow_cleartext_credentials(s, false)
            }),
            m("smtp_session_set_local_peer_is_safe", |s| smtp_session_set_local_peer_is_safe(s, true)),
        ]
    }
}

fn text(p: *const c_char) -> String {
    assert!(!p.is_null());
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// Greets and answers `250 ok` to each line; reports on `closed` when the client hangs up.
fn start_server() -> (u16, mpsc::Receiver<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let Ok((stream, _)) = listener.accept() else { return };
        let mut w = stream.try_clone().unwrap();
        let _ = w.write_all(b"220 test\r\n");
        let mut seen = Vec::new();
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            seen.push(line);
            if w.write_all(b"250 ok\r\n").is_err() {
                break;
            }
        }
        let _ = tx.send(seen);
    });
    (port, rx)
}

#[derive(Default)]
struct Ctx {
    session: std::cell::Cell<usize>,
    frees: AtomicUsize,
    /// What calls made from inside the callback returned, for Info events.
    from_callback: RefCell<Vec<i32>>,
}

unsafe extern "C" fn on_event(ud: *mut c_void, kind: i32, _: *const u8, _: usize) {
    let ctx = unsafe { &*(ud as *const Ctx) };
    if kind == DEBUG_INFO {
        let rc = unsafe { smtp_noop(ctx.session.get() as *mut smtp_client) };
        ctx.from_callback.borrow_mut().push(rc);
    }
}

unsafe extern "C" fn count_free(ud: *mut c_void) {
    unsafe { &*(ud as *const Ctx) }.frees.fetch_add(1, Ordering::SeqCst);
}

#[test]
fn panic_is_caught_poisons_the_session_and_free_still_works() {
    let (port, closed) = start_server();
    let ctx = Ctx::default();
    let other = unsafe { smtp_session_new(0) };
    unsafe {
        let s = smtp_session_new(0);
        ctx.session.set(s as usize);
        assert_eq!(smtp_session_set_debug_callback(s, None, &ctx as *const Ctx as *mut c_void, Some(count_free)), OK);
        assert_eq!(smtp_connect(s, c"127.0.0.1".as_ptr(), port), OK);
        assert_eq!(smtp_noop(s), OK);

        assert_eq!(smtp_docmd(s, PANIC_CMD.as_ptr(), null()), PANIC);

        // The connection was closed by the guard (the server sees EOF, not a QUIT).
        let seen = closed.recv_timeout(Duration::from_secs(10)).expect("the connection was not closed");
        assert_eq!(seen, ["NOOP"]);
        // Every later mutating call is PANIC and does nothing.
        for (name, call) in mutating_calls() {
            assert_eq!(call(s), PANIC, "{name} after a panic");
        }
        assert_eq!(smtp_docmd(s, PANIC_CMD.as_ptr(), null()), PANIC);
        // Getters give their defaults.
        assert!(!smtp_session_is_connected(s));
        assert_eq!(smtp_session_last_reply_code(s), 0);
        assert_eq!(smtp_session_feature_count(s), 0);
        // Other sessions are unaffected.
        assert_eq!(smtp_session_set_timeout_ms(other, 5), OK);
        assert_eq!(smtp_session_last_result(other), OK);
        // Free still works, and releases the userdata exactly once.
        assert_eq!(ctx.frees.load(Ordering::SeqCst), 0);
        smtp_session_free(s);
        assert_eq!(ctx.frees.load(Ordering::SeqCst), 1);
        smtp_session_free(other);
    }
}

/// After the panic, the session's last result and message say so (the guard records them).
#[test]
fn panic_is_reported_by_last_result_and_message() {
    unsafe {
        let s = smtp_session_new(0);
        assert_eq!(smtp_docmd(s, PANIC_CMD.as_ptr(), null()), PANIC);
        assert_eq!(smtp_session_last_result(s), PANIC);
        let m = text(smtp_session_last_error_message(s));
        assert!(m.contains("panic") && m.contains("can no longer be used"), "{m:?}");
        assert_eq!(smtp_noop(s), PANIC);
        assert_eq!(smtp_session_last_result(s), PANIC);
        smtp_session_free(s);
    }
}

/// The guard closes the connection after a panic; the debug event that close emits must still
/// see the session as busy: calls from that callback are REENTRANT_CALL, and the session is
/// not freed under the guard.
#[test]
fn debug_callback_during_the_panic_close_cannot_reenter() {
    let (port, _closed) = start_server();
    let ctx = Ctx::default();
    unsafe {
        let s = smtp_session_new(0);
        ctx.session.set(s as usize);
        let ud = &ctx as *const Ctx as *mut c_void;
        assert_eq!(smtp_session_set_debug_callback(s, Some(on_event), ud, Some(count_free)), OK);
        assert_eq!(smtp_connect(s, c"127.0.0.1".as_ptr(), port), OK);
        assert_eq!(smtp_session_set_debuglevel(s, 1), OK);
        assert_eq!(smtp_docmd(s, PANIC_CMD.as_ptr(), null()), PANIC);
        assert_eq!(ctx.from_callback.borrow().as_slice(), [REENTRANT_CALL], "calls from the close event");
        assert_eq!(ctx.frees.load(Ordering::SeqCst), 0);
        smtp_session_free(s);
        assert_eq!(ctx.frees.load(Ordering::SeqCst), 1);
    }
}

/// The table above covers every session_call export.
#[test]
fn table_covers_every_mutating_export() {
    let mut exported = BTreeSet::new();
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/src/capi")).unwrap() {
        let src = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for (i, _) in src.match_indices("#[no_mangle]") {
            let rest = &src[i..];
            let f = rest.find("fn ").unwrap() + 3;
            let name: String = rest[f..].chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            let body = rest[rest.find('{').unwrap() + 1..].trim_start().trim_start_matches("super::guard::");
            if body.starts_with("session_call") {
                exported.insert(name);
            }
        }
    }
    let table: BTreeSet<String> = mutating_calls().iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(table, exported);
}
