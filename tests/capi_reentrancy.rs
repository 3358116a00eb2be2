//! Callbacks calling back into their own session, and the debug userdata destructor.
//!
//! From inside a callback (debug, and also the `smtp_client_auth` and `smtp_client_sendmail_stream`
//! callbacks) every mutating call must return REENTRANT_CALL (405) and do nothing, every
//! getter its default, and `smtp_client_free` must be ignored. The debug userdata destructor
//! runs exactly once: when the callback is replaced, or when the session is freed.
//! A tiny loopback server in this file produces the debug events (this tests the C boundary,
//! not SMTP).

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::ffi::{c_char, c_void, CStr};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::ptr::{null, null_mut};
use std::sync::atomic::{AtomicUsize, Ordering};

use smtpclient::capi::{auth::*, nonblocking::*, result::*, session::*, tls::*};

/// The `session_get` default of `smtp_client_last_result` and of the index getters.
const GETTER_RESULT_DEFAULT: smtp_result = smtp_result::BadHandle;
const UNTOUCHED_INT: i32 = -7777;
fn untouched_ptr() -> *const c_char {
    c"untouched".as_ptr()
}

const MSG: &[u8] = b"From: a@example.org\r\nTo: b@example.org\r\n\r\nhello\r\n";

/// Greets, answers `250 ok` to every line, `221 bye` to QUIT, `235` to AUTH, and `354` to
/// DATA (then `250 ok` after the final dot). Returns the port.
fn start_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let Ok((stream, _)) = listener.accept() else { return };
        let mut w = stream.try_clone().unwrap();
        let _ = w.write_all(b"220 test\r\n");
        let mut in_data = false;
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { return };
            let reply: &[u8] = match line.to_ascii_uppercase().as_str() {
                _ if in_data && line != "." => continue,
                "QUIT" => {
                    let _ = w.write_all(b"221 bye\r\n");
                    return;
                }
                "DATA" => b"354 go ahead\r\n",
                l if l.starts_with("AUTH ") => b"235 ok\r\n",
                _ => b"250 ok\r\n",
            };
            in_data = line.eq_ignore_ascii_case("DATA");
            if w.write_all(reply).is_err() {
                return;
            }
        }
    });
    port
}

// ------------------------------------------------------------------------------- the callback

/// The callback's userdata. The callback runs on the calling thread, during the session call.
#[derive(Default)]
struct Ctx {
    session: Cell<usize>,
    /// Re-enter the session from each event.
    reenter: Cell<bool>,
    events: RefCell<Vec<(i32, Vec<u8>)>>,
    /// What went wrong inside the callback (it must not panic: it is `extern "C"`).
    problems: RefCell<Vec<String>>,
    reentries: Cell<usize>,
    /// Destructor calls for this userdata.
    frees: AtomicUsize,
    /// Destructor calls for the userdata offered by a refused re-entrant set_debug_callback.
    stray_frees: AtomicUsize,
    /// The read callback gave the message already.
    body_given: Cell<bool>,
}

impl Ctx {
    fn ud(&self) -> *mut c_void {
        self as *const Ctx as *mut c_void
    }
    fn problem(&self, p: String) {
        self.problems.borrow_mut().push(p);
    }
}

unsafe extern "C" fn on_event(ud: *mut c_void, kind: i32, data: *const u8, len: usize) {
    let ctx = unsafe { &*(ud as *const Ctx) };
    if ctx.frees.load(Ordering::SeqCst) != 0 {
        ctx.problem("callback called after its userdata destructor".into());
    }
    let bytes = if len == 0 { Vec::new() } else { unsafe { std::slice::from_raw_parts(data, len) }.to_vec() };
    ctx.events.borrow_mut().push((kind, bytes));
    if ctx.reenter.get() {
        reenter(ctx, ctx.session.get() as *mut smtp_client);
    }
}

/// The smtp_client_auth callback: re-enters, then responds (PLAIN, user "u", password "p").
unsafe extern "C" fn auth_reenter(
    ud: *mut c_void,
    _: *const u8,
    _: usize,
    _: bool,
    _: bool,
    response: *mut smtp_auth_response,
) -> i32 {
    let ctx = unsafe { &*(ud as *const Ctx) };
    reenter(ctx, ctx.session.get() as *mut smtp_client);
    // OK (0) is SMTP_AUTH_STEP_RESPOND; an error code aborts the exchange.
    smtp_auth_response_set(response, b"\0u\0p".as_ptr(), 4) as i32
}

/// The smtp_client_sendmail_stream callback: re-enters, then gives the message once, then the end.
unsafe extern "C" fn read_reenter(ud: *mut c_void, buf: *mut u8, capacity: usize) -> i64 {
    let ctx = unsafe { &*(ud as *const Ctx) };
    reenter(ctx, ctx.session.get() as *mut smtp_client);
    if ctx.body_given.replace(true) || capacity < MSG.len() {
        return 0;
    }
    unsafe { std::ptr::copy_nonoverlapping(MSG.as_ptr(), buf, MSG.len()) };
    MSG.len() as i64
}

/// Callbacks that must not be reached (the re-entrant calls using them are refused first).
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

unsafe extern "C" fn count_free(ud: *mut c_void) {
    unsafe { &*(ud as *const Ctx) }.frees.fetch_add(1, Ordering::SeqCst);
}

unsafe extern "C" fn count_stray_free(ud: *mut c_void) {
    unsafe { &*(ud as *const Ctx) }.stray_frees.fetch_add(1, Ordering::SeqCst);
}

type Mutating = (&'static str, fn(*mut smtp_client, &Ctx) -> smtp_result);
type Getter = (&'static str, fn(*mut smtp_client) -> Result<(), String>);

fn mutating_calls() -> Vec<Mutating> {
    const TO: [*const c_char; 1] = [c"b@example.org".as_ptr()];
    let m = |n: &'static str, f: fn(*mut smtp_client, &Ctx) -> smtp_result| -> Mutating { (n, f) };
    vec![
        m("smtp_client_set_local_hostname", |s, _| smtp_client_set_local_hostname(s, c"x.example".as_ptr())),
        m("smtp_client_set_timeout_ms", |s, _| smtp_client_set_timeout_ms(s, 1)),
        m("smtp_client_set_phase_timeout_ms", |s, _| smtp_client_set_phase_timeout_ms(s, smtp_phase::Mail as i32, 1)),
        m("smtp_client_set_rfc5321_timeouts", |s, _| smtp_client_set_rfc5321_timeouts(s)),
        m("smtp_client_set_operation_timeout_ms", |s, _| smtp_client_set_operation_timeout_ms(s, 1)),
        m("smtp_client_set_source_address", |s, _| smtp_client_set_source_address(s, c"127.0.0.1".as_ptr(), 0)),
        m("smtp_client_set_debuglevel", |s, _| smtp_client_set_debuglevel(s, 0)),
        m("smtp_client_set_debug_callback", |s, ctx| {
            smtp_client_set_debug_callback(s, None, ctx.ud(), Some(count_stray_free))
        }),
        m("smtp_client_connect", |s, _| smtp_client_connect(s, c"127.0.0.1".as_ptr(), 1)),
        m("smtp_client_quit", |s, _| smtp_client_quit(s)),
        m("smtp_client_close", |s, _| smtp_client_close(s)),
        m("smtp_client_docmd", |s, _| smtp_client_docmd(s, c"NOOP".as_ptr(), null())),
        m("smtp_client_helo", |s, _| smtp_client_helo(s, null())),
        m("smtp_client_ehlo", |s, _| smtp_client_ehlo(s, null())),
        m("smtp_client_ehlo_or_helo_if_needed", |s, _| smtp_client_ehlo_or_helo_if_needed(s)),
        m("smtp_client_verify", |s, _| smtp_client_verify(s, c"a@example.org".as_ptr())),
        m("smtp_client_expn", |s, _| smtp_client_expn(s, c"a@example.org".as_ptr())),
        m("smtp_client_help", |s, _| smtp_client_help(s, null())),
        m("smtp_client_rset", |s, _| smtp_client_rset(s)),
        m("smtp_client_noop", |s, _| smtp_client_noop(s)),
        m("smtp_client_mail", |s, _| smtp_client_mail(s, c"a@example.org".as_ptr(), null(), 0)),
        m("smtp_client_rcpt", |s, _| smtp_client_rcpt(s, c"b@example.org".as_ptr(), null(), 0)),
        m("smtp_client_data", |s, _| smtp_client_data(s, MSG.as_ptr(), MSG.len())),
        m("smtp_client_sendmail", |s, _| {
            smtp_client_sendmail(s, c"a@example.org".as_ptr(), TO.as_ptr(), 1, MSG.as_ptr(), MSG.len(), null())
        }),
        m("smtp_client_send_message", |s, _| {
            smtp_client_send_message(s, MSG.as_ptr(), MSG.len(), null(), null(), 0, null())
        }),
        m("smtp_client_set_tls_ca_file", |s, _| smtp_client_set_tls_ca_file(s, null())),
        m("smtp_client_set_tls_ca_dir", |s, _| smtp_client_set_tls_ca_dir(s, null())),
        m("smtp_client_set_tls_client_cert", |s, _| smtp_client_set_tls_client_cert(s, null(), null())),
        m("smtp_client_set_tls_min_version", |s, _| smtp_client_set_tls_min_version(s, 13)),
        m("smtp_client_set_tls_server_name", |s, _| smtp_client_set_tls_server_name(s, null())),
        m("smtp_client_set_tls_verify", |s, _| smtp_client_set_tls_verify(s, smtp_tls_verify::NoneInsecure as i32)),
        m("smtp_client_set_tls_policy", |s, _| smtp_client_set_tls_policy(s, 2)),
        m("smtp_client_starttls", |s, _| smtp_client_starttls(s)),
        m("smtp_client_sendmail_stream", |s, _| {
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
        m("smtp_client_set_pipelining", |s, _| smtp_client_set_pipelining(s, smtp_extension_use::Never as i32)),
        m("smtp_client_set_chunking", |s, _| smtp_client_set_chunking(s, smtp_extension_use::Never as i32)),
        m("smtp_client_login", |s, _| {
            smtp_client_login(s, c"user".as_ptr(), c"secret".as_ptr(), smtp_initial_response::Send as i32)
        }),
        m("smtp_client_login_oauth", |s, _| smtp_client_login_oauth(s, 0, c"user".as_ptr(), c"token".as_ptr())),
        m("smtp_client_auth", |s, _| {
            smtp_client_auth(s, c"PLAIN".as_ptr(), Some(auth_abort), null_mut(), smtp_initial_response::Send as i32)
        }),
        m("smtp_client_set_cleartext_credentials", |s, _| {
            smtp_client_set_cleartext_credentials(s, smtp_cleartext_credentials::Allow as i32)
        }),
        m("smtp_client_set_local_peer", |s, _| smtp_client_set_local_peer(s, smtp_local_peer::Untrusted as i32)),
        m("smtp_client_set_login_mechanisms", |s, _| smtp_client_set_login_mechanisms(s, c"PLAIN".as_ptr())),
        m("smtp_client_start_connect", |s, _| smtp_client_start_connect(s, c"127.0.0.1".as_ptr(), 1)),
        m("smtp_client_start_ehlo_or_helo_if_needed", |s, _| smtp_client_start_ehlo_or_helo_if_needed(s)),
        m("smtp_client_start_starttls", |s, _| smtp_client_start_starttls(s)),
        m("smtp_client_start_login", |s, _| {
            smtp_client_start_login(s, c"user".as_ptr(), c"secret".as_ptr(), smtp_initial_response::Send as i32)
        }),
        m("smtp_client_start_sendmail", |s, _| {
            smtp_client_start_sendmail(s, c"a@example.org".as_ptr(), TO.as_ptr(), 1, MSG.as_ptr(), MSG.len(), null())
        }),
        m("smtp_client_start_sendmail_stream", |s, _| {
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
        m("smtp_client_start_send_message", |s, _| {
            smtp_client_start_send_message(s, MSG.as_ptr(), MSG.len(), null(), null(), 0, null())
        }),
        m("smtp_client_start_quit", |s, _| smtp_client_start_quit(s)),
        m("smtp_client_step", |s, _| smtp_client_step(s)),
        m("smtp_client_set_url", |s, _| smtp_client_set_url(s, c"smtp://127.0.0.1".as_ptr())),
    ]
}

fn want<T: PartialEq + std::fmt::Debug>(got: T, expected: T) -> Result<(), String> {
    if got == expected {
        Ok(())
    } else {
        Err(format!("returned {got:?}, expected {expected:?}"))
    }
}

fn text(p: *const c_char) -> Option<String> {
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
}

/// Every getter, expecting its default (the session is connected and has a last reply, so a
/// getter that does not refuse re-entry gives itself away).
fn getter_calls() -> Vec<Getter> {
    let g = |n: &'static str, f: fn(*mut smtp_client) -> Result<(), String>| -> Getter { (n, f) };
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

/// From inside the callback: every mutating call is refused, every getter gives its default,
/// and freeing the session is ignored.
fn reenter(ctx: &Ctx, s: *mut smtp_client) {
    ctx.reentries.set(ctx.reentries.get() + 1);
    for (name, call) in mutating_calls() {
        let rc = call(s, ctx);
        if rc != smtp_result::ReentrantCall {
            ctx.problem(format!("{name} from the callback returned {rc:?}, expected ReentrantCall"));
        }
    }
    for (name, call) in getter_calls() {
        if let Err(e) = call(s) {
            ctx.problem(format!("{name} from the callback {e}"));
        }
    }
    smtp_client_free(s);
}

fn new_session(ctx: &Ctx) -> *mut smtp_client {
    let s = smtp_client_new(smtp_client_kind::Smtp as i32);
    assert!(!s.is_null());
    ctx.session.set(s as usize);
    assert_eq!(smtp_client_set_timeout_ms(s, 10_000), smtp_result::Ok);
    assert_eq!(smtp_client_set_debug_callback(s, Some(on_event), ctx.ud(), Some(count_free)), smtp_result::Ok);
    assert_eq!(smtp_client_set_debuglevel(s, 1), smtp_result::Ok);
    s
}

// ------------------------------------------------------------------------------- tests

#[test]
fn reentrant_calls_from_the_debug_callback_are_refused() {
    let port = start_server();
    let ctx = Ctx::default();
    let s = new_session(&ctx);
    ctx.reenter.set(true);
    assert_eq!(smtp_client_connect(s, c"127.0.0.1".as_ptr(), port), smtp_result::Ok);
    assert_eq!(smtp_client_noop(s), smtp_result::Ok);
    ctx.reenter.set(false);
    // The refused calls did nothing: still connected, callback and level unchanged, the
    // replies are the real ones, and the session (freed from the callback) still works.
    assert!(smtp_client_is_connected(s));
    assert_eq!(smtp_client_last_result(s), smtp_result::Ok as i32);
    assert_eq!(smtp_client_last_reply_code(s), 250);
    assert_eq!(text(smtp_client_last_reply_text(s)).as_deref(), Some("ok"));
    assert_eq!(smtp_client_noop(s), smtp_result::Ok);
    assert_eq!(ctx.problems.borrow().as_slice(), &[] as &[String]);
    // connect: CONNECT + RECEIVED 220; each noop: SENT + RECEIVED.
    assert_eq!(ctx.reentries.get(), 4, "events during re-entry: {:?}", ctx.events.borrow());
    assert_eq!(ctx.events.borrow().len(), 6);
    assert_eq!(ctx.stray_frees.load(Ordering::SeqCst), 0, "refused set_debug_callback took the userdata");
    assert_eq!(ctx.frees.load(Ordering::SeqCst), 0, "userdata freed while the session lives");
    assert_eq!(smtp_client_quit(s), smtp_result::Ok);
    smtp_client_free(s);
    assert_eq!(ctx.frees.load(Ordering::SeqCst), 1);
    assert_eq!(ctx.problems.borrow().as_slice(), &[] as &[String]);
}

#[test]
fn debug_events_kinds_and_bytes() {
    // The kinds are ABI: C callbacks switch on these numbers.
    let kinds = [smtp_debug_kind::Connect, smtp_debug_kind::Sent, smtp_debug_kind::Received, smtp_debug_kind::Info];
    assert_eq!(kinds.map(|k| k as i32), [0, 1, 2, 3]);
    let port = start_server();
    let ctx = Ctx::default();
    let s = new_session(&ctx);
    let ev = |k: smtp_debug_kind, b: &[u8]| (k as i32, b.to_vec());
    assert_eq!(smtp_client_connect(s, c"127.0.0.1".as_ptr(), port), smtp_result::Ok);
    assert_eq!(smtp_client_noop(s), smtp_result::Ok);
    assert_eq!(
        ctx.events.borrow().as_slice(),
        [
            ev(smtp_debug_kind::Connect, format!("127.0.0.1:{port}").as_bytes()),
            // server bytes arrive escaped as on stderr (CR LF as the four characters \r\n)
            ev(smtp_debug_kind::Received, b"220 test\\r\\n"),
            ev(smtp_debug_kind::Sent, b"NOOP\r\n"),
            ev(smtp_debug_kind::Received, b"250 ok\\r\\n"),
        ]
    );
    // Level 0: no events.
    assert_eq!(smtp_client_set_debuglevel(s, 0), smtp_result::Ok);
    assert_eq!(smtp_client_noop(s), smtp_result::Ok);
    assert_eq!(ctx.events.borrow().len(), 4);
    assert_eq!(smtp_client_set_debuglevel(s, 1), smtp_result::Ok);
    assert_eq!(smtp_client_quit(s), smtp_result::Ok);
    let events = ctx.events.borrow();
    assert_eq!(events[4..6], [ev(smtp_debug_kind::Sent, b"QUIT\r\n"), ev(smtp_debug_kind::Received, b"221 bye\\r\\n")]);
    assert!(events[6..].iter().all(|(k, _)| *k == smtp_debug_kind::Info as i32), "after QUIT: {:?}", &events[6..]);
    drop(events);
    smtp_client_free(s);
    assert_eq!(ctx.frees.load(Ordering::SeqCst), 1);
    assert_eq!(ctx.problems.borrow().as_slice(), &[] as &[String]);
}

#[test]
fn userdata_destructor_runs_once_on_replace_and_once_on_free() {
    let (a, b, c) = (Ctx::default(), Ctx::default(), Ctx::default());
    let frees = |x: &Ctx| x.frees.load(Ordering::SeqCst);
    let s = smtp_client_new(smtp_client_kind::Smtp as i32);
    assert_eq!(smtp_client_set_debug_callback(s, Some(on_event), a.ud(), Some(count_free)), smtp_result::Ok);
    assert_eq!(frees(&a), 0);
    // replaced by another callback: a freed once
    assert_eq!(smtp_client_set_debug_callback(s, Some(on_event), b.ud(), Some(count_free)), smtp_result::Ok);
    assert_eq!((frees(&a), frees(&b)), (1, 0));
    // replaced by NULL: b freed once
    assert_eq!(smtp_client_set_debug_callback(s, None, null_mut(), None), smtp_result::Ok);
    assert_eq!((frees(&a), frees(&b)), (1, 1));
    // a userdata without destructor, then c with one
    assert_eq!(smtp_client_set_debug_callback(s, Some(on_event), a.ud(), None), smtp_result::Ok);
    assert_eq!(smtp_client_set_debug_callback(s, Some(on_event), c.ud(), Some(count_free)), smtp_result::Ok);
    assert_eq!((frees(&a), frees(&b), frees(&c)), (1, 1, 0));
    // other calls do not free it
    assert_eq!(smtp_client_set_debuglevel(s, 2), smtp_result::Ok);
    assert_eq!(smtp_client_noop(s), smtp_result::ServerDisconnected);
    assert_eq!(frees(&c), 0);
    // freed with the session, exactly once
    smtp_client_free(s);
    assert_eq!((frees(&a), frees(&b), frees(&c)), (1, 1, 1));
}

/// The same from the smtp_client_auth and smtp_client_sendmail_stream callbacks.
#[test]
fn reentrant_calls_from_the_auth_and_read_callbacks_are_refused() {
    let port = start_server();
    let ctx = Ctx::default();
    let to: [*const c_char; 1] = [c"b@example.org".as_ptr()];
    let s = smtp_client_new(smtp_client_kind::Smtp as i32);
    ctx.session.set(s as usize);
    assert_eq!(smtp_client_set_timeout_ms(s, 10_000), smtp_result::Ok);
    assert_eq!(smtp_client_connect(s, c"127.0.0.1".as_ptr(), port), smtp_result::Ok);
    assert_eq!(
        smtp_client_auth(s, c"PLAIN".as_ptr(), Some(auth_reenter), ctx.ud(), smtp_initial_response::Send as i32),
        smtp_result::Ok
    );
    assert_eq!(ctx.reentries.get(), 1, "the auth callback ran once (initial response)");
    let rc =
        smtp_client_sendmail_stream(s, c"a@example.org".as_ptr(), to.as_ptr(), 1, Some(read_reenter), ctx.ud(), null());
    assert_eq!(rc, smtp_result::Ok);
    assert!(ctx.body_given.get());
    assert!(ctx.reentries.get() >= 3, "the read callback ran {} times", ctx.reentries.get() - 1);
    assert_eq!(ctx.problems.borrow().as_slice(), &[] as &[String]);
    assert!(smtp_client_is_connected(s), "a refused re-entrant close or quit did something");
    assert_eq!(smtp_client_noop(s), smtp_result::Ok);
    assert_eq!(ctx.stray_frees.load(Ordering::SeqCst), 0);
    smtp_client_free(s);
}

/// The destructor itself calling into the session: refused while replacing (the setter is
/// still running), BAD_HANDLE while the session is being freed, and its free is a no-op.
#[test]
fn userdata_destructor_calling_into_the_session() {
    static SESSION: AtomicUsize = AtomicUsize::new(0);
    static SEEN: std::sync::Mutex<Vec<smtp_result>> = std::sync::Mutex::new(Vec::new());
    unsafe extern "C" fn destructor(_: *mut c_void) {
        let s = SESSION.load(Ordering::SeqCst) as *mut smtp_client;
        let rc = smtp_client_noop(s);
        SEEN.lock().unwrap().push(rc);
        smtp_client_free(s); // must not free twice
    }
    // The result codes are ABI: C compares with the header's numbers.
    let codes = [smtp_result::Ok, smtp_result::ServerDisconnected, smtp_result::BadHandle, smtp_result::ReentrantCall];
    assert_eq!(codes.map(|r| r as i32), [0, 101, 404, 405]);
    let s = smtp_client_new(smtp_client_kind::Smtp as i32);
    SESSION.store(s as usize, Ordering::SeqCst);
    let (first, second) =
        (std::ptr::without_provenance_mut::<c_void>(1), std::ptr::without_provenance_mut::<c_void>(2));
    assert_eq!(smtp_client_set_debug_callback(s, None, first, Some(destructor)), smtp_result::Ok);
    assert_eq!(smtp_client_set_debug_callback(s, None, second, Some(destructor)), smtp_result::Ok);
    assert_eq!(SEEN.lock().unwrap().as_slice(), [smtp_result::ReentrantCall]);
    assert_eq!(smtp_client_set_timeout_ms(s, 5), smtp_result::Ok, "the session survived its destructor's free");
    smtp_client_free(s);
    assert_eq!(SEEN.lock().unwrap().as_slice(), [smtp_result::ReentrantCall, smtp_result::BadHandle]);
}

/// Userdata ownership, counted per userdata: registering the same (userdata, destructor)
/// again does not release it (the new registration still uses it); replacing it with another
/// releases it exactly once; freeing the session releases the live one exactly once.
#[test]
fn userdata_destructors_run_once_per_registration_that_ends() {
    static RELEASED: [AtomicUsize; 3] = [AtomicUsize::new(0), AtomicUsize::new(0), AtomicUsize::new(0)];
    unsafe extern "C" fn release(userdata: *mut c_void) {
        RELEASED[userdata as usize].fetch_add(1, Ordering::SeqCst);
    }
    unsafe extern "C" fn other_release(userdata: *mut c_void) {
        RELEASED[userdata as usize].fetch_add(1, Ordering::SeqCst);
    }
    unsafe extern "C" fn sink(_: *mut c_void, _: i32, _: *const u8, _: usize) {}
    let released = || RELEASED.iter().map(|c| c.load(Ordering::SeqCst)).collect::<Vec<_>>();
    let ud = |i: usize| i as *mut c_void;
    let s = smtp_client_new(smtp_client_kind::Smtp as i32);
    assert_eq!(smtp_client_set_debug_callback(s, Some(sink), ud(1), Some(release)), smtp_result::Ok);
    assert_eq!(smtp_client_set_debug_callback(s, Some(sink), ud(1), Some(release)), smtp_result::Ok);
    assert_eq!(smtp_client_set_debug_callback(s, None, ud(1), Some(release)), smtp_result::Ok);
    assert_eq!(released(), [0, 0, 0], "the same pair registered again is still in use");
    assert_eq!(smtp_client_set_debug_callback(s, Some(sink), ud(1), Some(other_release)), smtp_result::Ok);
    assert_eq!(released(), [0, 1, 0], "same userdata, another destructor: a new registration");
    assert_eq!(smtp_client_set_debug_callback(s, Some(sink), ud(2), Some(release)), smtp_result::Ok);
    assert_eq!(released(), [0, 2, 0], "replaced: the old registration released once");
    assert_eq!(smtp_client_set_debug_callback(s, Some(sink), ud(0), None), smtp_result::Ok);
    assert_eq!(released(), [0, 2, 1]);
    smtp_client_free(s);
    assert_eq!(released(), [0, 2, 1], "a registration without a destructor releases nothing");
    let s = smtp_client_new(smtp_client_kind::Smtp as i32);
    assert_eq!(smtp_client_set_debug_callback(s, Some(sink), ud(2), Some(release)), smtp_result::Ok);
    smtp_client_free(s);
    assert_eq!(released(), [0, 2, 2], "freeing the session released the live registration once");
}

/// The tables above cover every session_call / session_get export of src/capi.
#[test]
fn tables_cover_every_session_export() {
    let mut by_guard: [BTreeSet<String>; 2] = Default::default();
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/src/capi")).unwrap() {
        let src = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for (i, _) in src.match_indices("#[no_mangle]") {
            let rest = &src[i..];
            let f = rest.find("fn ").unwrap() + 3;
            let name: String = rest[f..].chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            let body = rest[rest.find('{').unwrap() + 1..].trim_start().trim_start_matches("super::guard::");
            // By guard family: a `session_get*` variant guard is still a getter.
            for (k, guard) in ["session_call", "session_get"].iter().enumerate() {
                if body.starts_with(guard) {
                    by_guard[k].insert(name.clone());
                }
            }
        }
    }
    let mutating: BTreeSet<String> = mutating_calls().iter().map(|(n, _)| n.to_string()).collect();
    let getters: BTreeSet<String> = getter_calls().iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(mutating, by_guard[0]);
    assert_eq!(getters, by_guard[1]);
}
