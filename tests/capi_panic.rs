//! The guard's panic path, through the exported symbols.
//!
//! Needs the `test-panic` feature, with which `smtp_client_docmd` panics inside its guard when the
//! command is exactly `__SMTPCLIENT_TEST_PANIC__` (nothing else can make the library panic on
//! purpose). Run: `cargo test --features test-panic --test capi_panic`.
//!
//! A panic must give PANIC (900), close the connection, poison the session (every later
//! mutating call PANIC, getters their defaults), leave other sessions alone, and still let
//! the session be freed, its userdata destructor called once.
#![cfg(feature = "test-panic")]

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::ffi::{c_char, c_void, CStr};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::ptr::{null, null_mut};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use smtpclient::capi::{auth::*, nonblocking::*, result::*, sender::*, session::*, tls::*};

const PANIC_CMD: &CStr = c"__SMTPCLIENT_TEST_PANIC__";

const MSG: &[u8] = b"From: a@example.org\r\nTo: b@example.org\r\n\r\nhello\r\n";

/// Callbacks that must not be reached: a poisoned session refuses the call first.
unsafe extern "C" fn read_nothing(_: *mut c_void, _: *mut u8, _: usize) -> i64 {
    -99
}
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

type Mutating = (&'static str, fn(*mut smtp_client) -> smtp_result);

/// Every mutating export, with valid arguments.
fn mutating_calls() -> Vec<Mutating> {
    const TO: [*const c_char; 1] = [c"b@example.org".as_ptr()];
    let m = |n: &'static str, f: fn(*mut smtp_client) -> smtp_result| -> Mutating { (n, f) };
    vec![
        m("smtp_client_set_local_hostname", |s| smtp_client_set_local_hostname(s, c"x.example".as_ptr())),
        m("smtp_client_set_timeout_ms", |s| smtp_client_set_timeout_ms(s, 1)),
        m("smtp_client_set_phase_timeout_ms", |s| smtp_client_set_phase_timeout_ms(s, smtp_phase::Data as i32, 1)),
        m("smtp_client_set_rfc5321_timeouts", |s| smtp_client_set_rfc5321_timeouts(s)),
        m("smtp_client_set_operation_timeout_ms", |s| smtp_client_set_operation_timeout_ms(s, 1)),
        m("smtp_client_set_source_address", |s| smtp_client_set_source_address(s, null(), 0)),
        m("smtp_client_set_debuglevel", |s| smtp_client_set_debuglevel(s, 0)),
        m("smtp_client_set_debug_callback", |s| smtp_client_set_debug_callback(s, None, null_mut(), None)),
        m("smtp_client_connect", |s| smtp_client_connect(s, c"127.0.0.1".as_ptr(), 1)),
        m("smtp_client_quit", |s| smtp_client_quit(s)),
        m("smtp_client_close", |s| smtp_client_close(s)),
        m("smtp_client_docmd", |s| smtp_client_docmd(s, c"NOOP".as_ptr(), null())),
        m("smtp_client_helo", |s| smtp_client_helo(s, null())),
        m("smtp_client_ehlo", |s| smtp_client_ehlo(s, null())),
        m("smtp_client_ehlo_or_helo_if_needed", |s| smtp_client_ehlo_or_helo_if_needed(s)),
        m("smtp_client_verify", |s| smtp_client_verify(s, c"a@example.org".as_ptr())),
        m("smtp_client_expn", |s| smtp_client_expn(s, c"a@example.org".as_ptr())),
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
        m("smtp_client_set_tls_ca_file", |s| smtp_client_set_tls_ca_file(s, null())),
        m("smtp_client_set_tls_ca_dir", |s| smtp_client_set_tls_ca_dir(s, null())),
        m("smtp_client_set_tls_client_cert", |s| smtp_client_set_tls_client_cert(s, null(), null())),
        m("smtp_client_set_tls_min_version", |s| smtp_client_set_tls_min_version(s, 12)),
        m("smtp_client_set_tls_server_name", |s| smtp_client_set_tls_server_name(s, null())),
        m("smtp_client_set_tls_verify", |s| smtp_client_set_tls_verify(s, smtp_tls_verify::Peer as i32)),
        m("smtp_client_set_tls_policy", |s| smtp_client_set_tls_policy(s, 0)),
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
        m("smtp_client_set_login_mechanisms", |s| smtp_client_set_login_mechanisms(s, c"PLAIN".as_ptr())),
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
        m("smtp_client_set_url", |s| smtp_client_set_url(s, c"smtp://127.0.0.1".as_ptr())),
    ]
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
    from_callback: RefCell<Vec<smtp_result>>,
}

unsafe extern "C" fn on_event(ud: *mut c_void, kind: i32, _: *const u8, _: usize) {
    let ctx = unsafe { &*(ud as *const Ctx) };
    if kind == smtp_debug_kind::Info as i32 {
        let rc = smtp_client_noop(ctx.session.get() as *mut smtp_client);
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
    let other = smtp_client_new(smtp_client_kind::Smtp as i32);
    let s = smtp_client_new(smtp_client_kind::Smtp as i32);
    ctx.session.set(s as usize);
    let ud = &ctx as *const Ctx as *mut c_void;
    assert_eq!(smtp_client_set_debug_callback(s, None, ud, Some(count_free)), smtp_result::Ok);
    assert_eq!(smtp_client_connect(s, c"127.0.0.1".as_ptr(), port), smtp_result::Ok);
    assert_eq!(smtp_client_noop(s), smtp_result::Ok);

    assert_eq!(smtp_client_docmd(s, PANIC_CMD.as_ptr(), null()), smtp_result::Panic);

    // The connection was closed by the guard (the server sees EOF, not a QUIT).
    let seen = closed.recv_timeout(Duration::from_secs(10)).expect("the connection was not closed");
    assert_eq!(seen, ["NOOP"]);
    // Every later mutating call is PANIC and does nothing.
    for (name, call) in mutating_calls() {
        assert_eq!(call(s), smtp_result::Panic, "{name} after a panic");
    }
    assert_eq!(smtp_client_docmd(s, PANIC_CMD.as_ptr(), null()), smtp_result::Panic);
    // Getters give their defaults.
    assert!(!smtp_client_is_connected(s));
    assert_eq!(smtp_client_last_reply_code(s), 0);
    assert_eq!(smtp_client_feature_count(s), 0);
    // Other sessions are unaffected.
    assert_eq!(smtp_client_set_timeout_ms(other, 5), smtp_result::Ok);
    assert_eq!(smtp_client_last_result(other), smtp_result::Ok as i32);
    // Free still works, and releases the userdata exactly once.
    assert_eq!(ctx.frees.load(Ordering::SeqCst), 0);
    smtp_client_free(s);
    assert_eq!(ctx.frees.load(Ordering::SeqCst), 1);
    smtp_client_free(other);
}

/// After the panic, the session's last result and message say so (the guard records them).
#[test]
fn panic_is_reported_by_last_result_and_message() {
    // The numbers are ABI: C compares results with the header's constants.
    assert_eq!([smtp_result::Ok, smtp_result::ReentrantCall, smtp_result::Panic].map(|r| r as i32), [0, 405, 900]);
    let s = smtp_client_new(smtp_client_kind::Smtp as i32);
    assert_eq!(smtp_client_docmd(s, PANIC_CMD.as_ptr(), null()), smtp_result::Panic);
    assert_eq!(smtp_client_last_result(s), 900);
    let m = text(smtp_client_last_error_message(s));
    assert!(m.contains("panic") && m.contains("can no longer be used"), "{m:?}");
    assert_eq!(smtp_client_noop(s), smtp_result::Panic);
    assert_eq!(smtp_client_last_result(s), smtp_result::Panic as i32);
    smtp_client_free(s);
}

/// The guard closes the connection after a panic; the debug event that close emits must still
/// see the session as busy: calls from that callback are REENTRANT_CALL, and the session is
/// not freed under the guard.
#[test]
fn debug_callback_during_the_panic_close_cannot_reenter() {
    assert_eq!(smtp_debug_kind::Info as i32, 3, "the debug kinds are ABI");
    let (port, _closed) = start_server();
    let ctx = Ctx::default();
    let s = smtp_client_new(smtp_client_kind::Smtp as i32);
    ctx.session.set(s as usize);
    let ud = &ctx as *const Ctx as *mut c_void;
    assert_eq!(smtp_client_set_debug_callback(s, Some(on_event), ud, Some(count_free)), smtp_result::Ok);
    assert_eq!(smtp_client_connect(s, c"127.0.0.1".as_ptr(), port), smtp_result::Ok);
    assert_eq!(smtp_client_set_debuglevel(s, 1), smtp_result::Ok);
    assert_eq!(smtp_client_docmd(s, PANIC_CMD.as_ptr(), null()), smtp_result::Panic);
    assert_eq!(ctx.from_callback.borrow().as_slice(), [smtp_result::ReentrantCall], "calls from the close event");
    assert_eq!(ctx.frees.load(Ordering::SeqCst), 0);
    smtp_client_free(s);
    assert_eq!(ctx.frees.load(Ordering::SeqCst), 1);
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

/// A panic inside a sender call (`smtp_sender_add` with the test sender) is caught: that call
/// returns PANIC, the sender is poisoned (every later mutating call returns PANIC, getters give
/// their fallbacks), its last error message still says what happened, and free works.
#[test]
fn a_panic_in_a_sender_call_poisons_the_sender() {
    let s = smtp_sender_new(smtp_client_kind::Smtp as i32);
    assert_eq!(smtp_sender_set_url(s, c"smtp://127.0.0.1:1".as_ptr()), smtp_result::Ok);
    let to = [c"b@example.org".as_ptr()];
    let add =
        |from: &CStr| smtp_sender_add(s, from.as_ptr(), to.as_ptr(), 1, MSG.as_ptr(), MSG.len(), null(), null_mut());
    assert_eq!(add(c"a@example.org"), smtp_result::Ok);
    assert!(smtp_sender_fd(s) >= 0);
    assert_eq!(add(PANIC_CMD), smtp_result::Panic);
    // SAFETY: a borrowed string, read before the next mutating call.
    let message = unsafe { CStr::from_ptr(smtp_sender_last_error_message(s)) }.to_str().unwrap().to_owned();
    assert!(message.contains("deliberate panic"), "{message}");
    assert_eq!(add(c"a@example.org"), smtp_result::Panic);
    assert_eq!(smtp_sender_step(s), smtp_result::Panic);
    assert_eq!(smtp_sender_run(s), smtp_result::Panic);
    assert_eq!(smtp_sender_set_retries(s, 1), smtp_result::Panic);
    assert!(!smtp_sender_next_outcome(s));
    assert_eq!(smtp_sender_fd(s), -1);
    assert_eq!(
        smtp_sender_outcome_recipient_get(s, 0, null_mut(), null_mut(), null_mut(), null_mut()),
        smtp_result::Panic
    );
    smtp_sender_free(s);
}
