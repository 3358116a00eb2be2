//! Every result code a function's documentation lists can really be produced by that function.
//!
//! The other direction (a function never returns a code its documentation does not list) is
//! checked by `tests/capi_null.rs` and the borrowed-string matrix; this file proves that the
//! lists hold no code that cannot happen. It reads the (function, code) pairs from the header
//! with `tests/c/documented_codes.py --own` (the one parser of the error lists), adds the codes
//! the header's overview gives every function of a shape (NULL and foreign handles, re-entry,
//! a second thread), and then:
//!
//! * every pair must have a scenario here: a new code in a doc comment fails this test until a
//!   scenario provokes it;
//! * every scenario must be for a listed pair, and must make its call through the C ABI return
//!   exactly that code.
//!
//! Scenarios are built by families: bad arguments, handles and state with no server; refusals,
//! TLS and authentication outcomes from the real test bed (Postfix, smtp-sink); disconnects,
//! stalls, garbage, plain text inside TLS and refused greetings from a small scripted server
//! below; an OS error other than a reset or a timeout by swapping the client's socket for
//! `/dev/null` under it (from its debug callback, while the call runs).
//!
//! The non-blocking `smtp_client_start_*()` functions run every scenario of their blocking
//! twin again, started and driven to the end with `poll(2)` on `smtp_client_fd()` /
//! `smtp_client_events()` / `smtp_client_timeout_ms()` and `smtp_client_step()`, and must
//! end with the same code; their connections go over a slow link (a relay that holds the
//! server's replies a little), so that the operations end in a step rather than in their
//! start. `smtp_client_step()`'s own list (every outcome of an operation) counts as provoked
//! by what the steps of those scenarios returned, and a step must return nothing unlisted.
//! A start's first `IN_PROGRESS`, a start while an operation runs and a step with none have
//! scenarios of their own. `PANIC` is the one code
//! of the overview not provoked here: only the `test-panic` feature can make the library panic,
//! and `tests/capi_panic.rs` checks that every mutating export then returns it.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{c_char, c_void, CStr, CString};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::ptr::{null, null_mut};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use openssl::ssl::{SslAcceptor, SslMethod, SslStream, SslVersion};

use smtpclient::capi::{auth::*, nonblocking::*, options::*, result::*, sender::*, session::*, tls::*};
use support::certs::{leaf, Identity};
use support::TestBed;

type Client = *mut smtp_client;
/// One call through the C ABI, on a session prepared by the scenario.
type Call = fn(Client) -> smtp_result;

const MSG: &[u8] = b"From: a@example.test\r\nTo: x@discard.test\r\nSubject: lists\r\n\r\nhello\r\n";
const FROM: &CStr = c"a@example.test";
const TO: [*const c_char; 1] = [c"x@discard.test".as_ptr()];
const HOSTNAME: &CStr = c"client.example.test";
/// The session timeout of every scenario, except those that wait for a stall.
const TIMEOUT_MS: u32 = 5_000;
const STALL_TIMEOUT_MS: u32 = 300;

// ------------------------------------------------------------------------------- the lists

/// `code` for a result name such as `TLS_ERROR`.
fn code_named(name: &str) -> i32 {
    (0..1000)
        .find(|&c| {
            // SAFETY: a static string for every code.
            unsafe { CStr::from_ptr(smtp_result_name(c)) }.to_str().unwrap() == format!("SMTP_RESULT_{name}")
        })
        .unwrap_or_else(|| panic!("{name} is not a result code"))
}

fn name_of(code: i32) -> String {
    // SAFETY: a static string for every value.
    let n = unsafe { CStr::from_ptr(smtp_result_name(code)) }.to_str().unwrap();
    n.trim_start_matches("SMTP_RESULT_").to_owned()
}

/// Each function returning `smtp_result` with the codes its own documentation lists.
fn own_lists() -> BTreeMap<String, BTreeSet<i32>> {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = std::process::Command::new("python3")
        .arg(format!("{root}/tests/c/documented_codes.py"))
        .arg("--own")
        .arg(format!("{root}/include/smtpclient.h"))
        .output()
        .expect("python3 runs tests/c/documented_codes.py");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let mut words = l.split_whitespace();
            (words.next().unwrap().to_owned(), words.map(code_named).collect())
        })
        .collect()
}

/// Getters that return a result code: a NULL or foreign handle gives their default, BAD_HANDLE.
const INDEX_GETTERS: [&str; 3] = ["smtp_client_feature_get", "smtp_client_refused_get", "smtp_client_recipient_get"];
/// Functions on objects other than a session: NULL is NULL_ARGUMENT, a foreign pointer BAD_HANDLE.
const OTHER_OBJECTS: [&str; 10] = [
    "smtp_send_options_add_mail_option",
    "smtp_send_options_add_rcpt_option",
    "smtp_send_options_set_size_estimate",
    "smtp_send_options_set_dsn_ret",
    "smtp_send_options_set_dsn_envid",
    "smtp_send_options_set_dsn_notify",
    "smtp_send_options_set_dsn_orcpt",
    "smtp_send_options_set_dsn_policy",
    "smtp_send_options_set_requiretls",
    "smtp_auth_response_set",
];

/// The sender's functions that return a result code: NULL is NULL_ARGUMENT, a foreign pointer
/// BAD_HANDLE (it has no callbacks, so no re-entry).
const SENDER_FUNCTIONS: [&str; 10] = [
    "smtp_sender_set_url",
    "smtp_sender_set_tls_ca_file",
    "smtp_sender_set_timeout_ms",
    "smtp_sender_set_max_connections",
    "smtp_sender_set_max_messages_per_connection",
    "smtp_sender_set_retries",
    "smtp_sender_add",
    "smtp_sender_step",
    "smtp_sender_run",
    "smtp_sender_outcome_recipient_get",
];

/// The codes the header's overview gives every function of its shape (besides PANIC, see the
/// top of the file).
fn shape_codes(function: &str) -> Vec<smtp_result> {
    use smtp_result::*;
    if INDEX_GETTERS.contains(&function) {
        vec![BadHandle]
    } else if OTHER_OBJECTS.contains(&function) || SENDER_FUNCTIONS.contains(&function) {
        vec![NullArgument, BadHandle]
    } else {
        vec![NullArgument, BadHandle, ReentrantCall, ConcurrentCall]
    }
}

// ------------------------------------------------------------------------------- sessions

/// An owned session, freed on drop.
struct Session(Client);

impl Session {
    fn new(kind: smtp_client_kind) -> Session {
        let s = smtp_client_new(kind as i32);
        assert!(!s.is_null());
        ok(smtp_client_set_local_hostname(s, HOSTNAME.as_ptr()));
        ok(smtp_client_set_timeout_ms(s, TIMEOUT_MS));
        // lockstep, so that a scripted fault answers the command it is meant for
        ok(smtp_client_set_pipelining(s, smtp_extension_use::Never as i32));
        Session(s)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        smtp_client_free(self.0);
    }
}

fn ok(rc: smtp_result) {
    assert_eq!(rc, smtp_result::Ok, "a setup call failed");
}

/// The last error message of `s`, for failure reports.
fn message(s: Client) -> String {
    // SAFETY: a NUL-terminated string borrowed from the session.
    unsafe { CStr::from_ptr(smtp_client_last_error_message(s)) }.to_string_lossy().into_owned()
}

fn testbed_host() -> CString {
    CString::new(TestBed::get().smtp_host.clone()).unwrap()
}

fn ca_file() -> CString {
    CString::new(TestBed::get().smtp_ca_file.to_str().unwrap()).unwrap()
}

/// A failed setup step ends the scenario with its code, so the report shows it.
macro_rules! step {
    ($e:expr) => {
        match $e {
            smtp_result::Ok => {}
            other => return other,
        }
    };
}

// ------------------------------------------------------------------------------- callbacks

/// An AUTH callback answering PLAIN for the test bed's user.
unsafe extern "C" fn auth_plain(
    _: *mut c_void,
    _: *const u8,
    _: usize,
    _: bool,
    _: bool,
    response: *mut smtp_auth_response,
) -> i32 {
    let blob = format!("\0{}\0{}", TestBed::get().smtp_user, TestBed::get().smtp_pass);
    match smtp_auth_response_set(response, blob.as_ptr(), blob.len()) {
        smtp_result::Ok => smtp_auth_step::Respond as i32,
        _ => smtp_auth_step::Abort as i32,
    }
}

/// An AUTH callback answering PLAIN with a wrong password.
unsafe extern "C" fn auth_wrong(
    _: *mut c_void,
    _: *const u8,
    _: usize,
    _: bool,
    _: bool,
    response: *mut smtp_auth_response,
) -> i32 {
    let blob = b"\0alice\0not-the-password";
    let _ = smtp_auth_response_set(response, blob.as_ptr(), blob.len());
    smtp_auth_step::Respond as i32
}

unsafe extern "C" fn auth_abort(
    _: *mut c_void,
    _: *const u8,
    _: usize,
    _: bool,
    _: bool,
    _: *mut smtp_auth_response,
) -> i32 {
    -7
}

/// An AUTH callback that tries a response over the limit, keeps that result in `*userdata`
/// (an `AtomicI32`), and cancels.
unsafe extern "C" fn auth_oversized(
    userdata: *mut c_void,
    _: *const u8,
    _: usize,
    _: bool,
    _: bool,
    response: *mut smtp_auth_response,
) -> i32 {
    let big = vec![b'x'; 8193];
    let rc = smtp_auth_response_set(response, big.as_ptr(), big.len());
    // SAFETY: the scenario passes an AtomicI32 that outlives the call.
    unsafe { &*userdata.cast::<AtomicI32>() }.store(rc as i32, Ordering::SeqCst);
    smtp_auth_step::Abort as i32
}

/// A message body read callback: `userdata` is a `usize` offset into `MSG`.
unsafe extern "C" fn read_msg(userdata: *mut c_void, buf: *mut u8, capacity: usize) -> i64 {
    // SAFETY: the scenario passes a usize that outlives the call; buf holds capacity bytes.
    let pos = unsafe { &mut *userdata.cast::<usize>() };
    let n = capacity.min(MSG.len() - *pos);
    unsafe { std::ptr::copy_nonoverlapping(MSG.as_ptr().add(*pos), buf, n) };
    *pos += n;
    n as i64
}

unsafe extern "C" fn read_abort(_: *mut c_void, _: *mut u8, _: usize) -> i64 {
    -5
}

/// `smtp_client_sendmail_stream` of `MSG` with `options`.
fn stream_msg(s: Client, from: &CStr, to: &CStr, options: *const smtp_send_options) -> smtp_result {
    let mut pos = 0usize;
    let to = [to.as_ptr()];
    sendmail_stream(s, from.as_ptr(), to.as_ptr(), 1, Some(read_msg), (&raw mut pos).cast(), options)
}

// ------------------------------------------------------------------------------- the twins

/// The blocking exports that have a non-blocking twin, and the twin of each. A twin's list is
/// its blocking export's list plus `IN_PROGRESS` and `BAD_STATE`; every scenario of the
/// blocking export runs again for the twin ([`driven_twins`]), started and driven to its end
/// with `poll(2)` and `smtp_client_step()` ([`drive`]), and must end with the same code.
const TWINS: [(&str, &str); 8] = [
    ("smtp_client_connect", "smtp_client_start_connect"),
    ("smtp_client_ehlo_or_helo_if_needed", "smtp_client_start_ehlo_or_helo_if_needed"),
    ("smtp_client_starttls", "smtp_client_start_starttls"),
    ("smtp_client_login", "smtp_client_start_login"),
    ("smtp_client_sendmail", "smtp_client_start_sendmail"),
    ("smtp_client_sendmail_stream", "smtp_client_start_sendmail_stream"),
    ("smtp_client_send_message", "smtp_client_start_send_message"),
    ("smtp_client_quit", "smtp_client_start_quit"),
];

/// How the wrappers below make their call, on this thread.
#[derive(Clone)]
enum Twin {
    /// The blocking export.
    Blocking,
    /// The non-blocking twin, driven to its end; the scenario's name, for the step report.
    Driven(String),
    /// The non-blocking twin, its first return only (the operation is left in progress).
    Started,
}

thread_local! {
    static TWIN: std::cell::RefCell<Twin> = const { std::cell::RefCell::new(Twin::Blocking) };
}

/// `f` with the wrappers of this thread set to `twin`.
fn with_twin<R>(twin: Twin, f: impl FnOnce() -> R) -> R {
    let before = TWIN.replace(twin);
    let out = f();
    TWIN.set(before);
    out
}

/// Every code `smtp_client_step()` returned in a driven scenario, with one scenario that got it.
static STEP_CODES: Mutex<BTreeMap<i32, String>> = Mutex::new(BTreeMap::new());

/// Drive the operation `started` began to its end as an event loop does: while it is
/// `IN_PROGRESS`, poll `smtp_client_fd()` for `smtp_client_events()` up to
/// `smtp_client_timeout_ms()`, then `smtp_client_step()`. The final code.
fn drive(s: Client, started: smtp_result) -> smtp_result {
    let mut rc = started;
    while rc == smtp_result::InProgress {
        assert!(smtp_client_in_progress(s), "IN_PROGRESS, but smtp_client_in_progress() is false");
        let (fd, events, timeout) = (smtp_client_fd(s), smtp_client_events(s), smtp_client_timeout_ms(s));
        if events & smtp_event::Body as u32 == 0 {
            assert!(fd >= 0 && events != 0, "IN_PROGRESS, waiting for nothing (fd {fd}, events {events})");
            let mut pfd = libc::pollfd { fd, events: poll_events(events), revents: 0 };
            // no deadline would wait for ever: a stuck operation fails the scenario instead
            let wait = if timeout < 0 { 30_000 } else { timeout.min(30_000) as i32 };
            // SAFETY: one valid pollfd for the duration of the call.
            unsafe { libc::poll(&mut pfd, 1, wait) };
        }
        rc = smtp_client_step(s);
        if let Twin::Driven(name) = TWIN.with_borrow(Twin::clone) {
            STEP_CODES.lock().unwrap().entry(rc as i32).or_insert(name);
        }
    }
    rc
}

/// The `poll(2)` events for a mask of `smtp_event`s.
fn poll_events(events: u32) -> libc::c_short {
    let mut out = 0;
    if events & smtp_event::Read as u32 != 0 {
        out |= libc::POLLIN;
    }
    if events & smtp_event::Write as u32 != 0 {
        out |= libc::POLLOUT;
    }
    out
}

/// Whether the twins of this thread are driven.
fn driven() -> bool {
    TWIN.with_borrow(|t| matches!(t, Twin::Driven(_)))
}

/// How long the slow link holds each chunk the server sends.
const LATENCY: Duration = Duration::from_millis(20);

/// A slow link to the server on `target`: a relay for one connection, on a fresh port, that
/// holds every chunk from the server for [`LATENCY`] before passing it on. A loopback server
/// can answer between a start's write and its first read, and the operation then ends in
/// its start; over this link each reply comes after the start (or step) that asked for it has
/// returned, so the operation's end comes from `smtp_client_step()`. The relay's port.
fn slow_link(target: u16) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(20);
        let client = loop {
            match listener.accept() {
                Ok((tcp, _)) => break tcp,
                Err(_) if Instant::now() < deadline => thread::sleep(Duration::from_millis(2)),
                Err(_) => return,
            }
        };
        client.set_nonblocking(false).unwrap();
        let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else { return };
        let (client2, server2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
        let up = thread::spawn(move || pump(client2, server2, Duration::ZERO));
        pump(server, client, LATENCY);
        let _ = up.join();
    });
    port
}

/// Copy `from` to `to`, each chunk after `delay`, until either side ends.
fn pump(mut from: TcpStream, mut to: TcpStream, delay: Duration) {
    let _ = from.set_read_timeout(Some(Duration::from_secs(30)));
    let mut buf = vec![0u8; 64 * 1024];
    while let Ok(n @ 1..) = from.read(&mut buf) {
        thread::sleep(delay);
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Write);
}

/// A wrapper named after a blocking export: that export, or its twin started (and driven).
macro_rules! twin {
    ($name:ident, $blocking:ident, $start:ident, ($($arg:ident: $ty:ty),*)) => {
        #[doc = concat!("`", stringify!($blocking), "()`, or `", stringify!($start), "()` (see [`Twin`]).")]
        fn $name(s: Client, $($arg: $ty),*) -> smtp_result {
            match TWIN.with_borrow(Twin::clone) {
                Twin::Blocking => $blocking(s, $($arg),*),
                Twin::Driven(_) => drive(s, $start(s, $($arg),*)),
                Twin::Started => $start(s, $($arg),*),
            }
        }
    };
}

twin!(connect, smtp_client_connect, smtp_client_start_connect, (host: *const c_char, port: u16));
twin!(ehlo_or_helo_if_needed, smtp_client_ehlo_or_helo_if_needed, smtp_client_start_ehlo_or_helo_if_needed, ());
twin!(starttls, smtp_client_starttls, smtp_client_start_starttls, ());
twin!(login, smtp_client_login, smtp_client_start_login, (user: *const c_char, password: *const c_char, initial: i32));
twin!(
    sendmail,
    smtp_client_sendmail,
    smtp_client_start_sendmail,
    (from: *const c_char, to: *const *const c_char, n_to: usize, msg: *const u8, len: usize, options: *const smtp_send_options)
);
twin!(
    sendmail_stream,
    smtp_client_sendmail_stream,
    smtp_client_start_sendmail_stream,
    (
        from: *const c_char,
        to: *const *const c_char,
        n_to: usize,
        read: smtp_read_callback,
        userdata: *mut c_void,
        options: *const smtp_send_options
    )
);
twin!(
    send_message,
    smtp_client_send_message,
    smtp_client_start_send_message,
    (msg: *const u8, len: usize, from: *const c_char, to: *const *const c_char, n_to: usize, options: *const smtp_send_options)
);
twin!(quit, smtp_client_quit, smtp_client_start_quit, ());

// ------------------------------------------------------------------------------- valid calls

fn m(name: &'static str, call: Call) -> (&'static str, Call) {
    (name, call)
}

/// Every mutating export (through the session guard) with valid arguments: the calls the
/// handle, re-entry and second-thread scenarios make, and the commands the connection
/// families below make.
fn mutating_calls() -> Vec<(&'static str, Call)> {
    vec![
        m("smtp_client_set_local_hostname", |s| smtp_client_set_local_hostname(s, HOSTNAME.as_ptr())),
        m("smtp_client_set_timeout_ms", |s| smtp_client_set_timeout_ms(s, TIMEOUT_MS)),
        m("smtp_client_set_phase_timeout_ms", |s| {
            smtp_client_set_phase_timeout_ms(s, smtp_phase::Rcpt as i32, TIMEOUT_MS)
        }),
        m("smtp_client_set_rfc5321_timeouts", |s| smtp_client_set_rfc5321_timeouts(s)),
        m("smtp_client_set_operation_timeout_ms", |s| smtp_client_set_operation_timeout_ms(s, TIMEOUT_MS)),
        m("smtp_client_set_source_address", |s| smtp_client_set_source_address(s, null(), 0)),
        m("smtp_client_set_url", |s| smtp_client_set_url(s, c"smtp://127.0.0.1".as_ptr())),
        m("smtp_client_set_debuglevel", |s| smtp_client_set_debuglevel(s, 0)),
        m("smtp_client_set_url", |s| smtp_client_set_url(s, c"smtp://127.0.0.1".as_ptr())),
        m("smtp_client_set_debug_callback", |s| smtp_client_set_debug_callback(s, None, null_mut(), None)),
        m("smtp_client_set_tls_ca_file", |s| smtp_client_set_tls_ca_file(s, null())),
        m("smtp_client_set_tls_ca_dir", |s| smtp_client_set_tls_ca_dir(s, null())),
        m("smtp_client_set_tls_client_cert", |s| smtp_client_set_tls_client_cert(s, null(), null())),
        m("smtp_client_set_tls_min_version", |s| smtp_client_set_tls_min_version(s, 12)),
        m("smtp_client_set_tls_server_name", |s| smtp_client_set_tls_server_name(s, null())),
        m("smtp_client_set_tls_verify", |s| smtp_client_set_tls_verify(s, 0)),
        m("smtp_client_set_tls_policy", |s| smtp_client_set_tls_policy(s, 0)),
        m("smtp_client_set_pipelining", |s| smtp_client_set_pipelining(s, 1)),
        m("smtp_client_set_chunking", |s| smtp_client_set_chunking(s, 1)),
        m("smtp_client_set_cleartext_credentials", |s| smtp_client_set_cleartext_credentials(s, 0)),
        m("smtp_client_set_local_peer", |s| smtp_client_set_local_peer(s, 0)),
        m("smtp_client_set_login_mechanisms", |s| smtp_client_set_login_mechanisms(s, null())),
        m("smtp_client_connect", |s| connect(s, testbed_host().as_ptr(), TestBed::get().smtp_port)),
        m("smtp_client_set_url", |s| smtp_client_set_url(s, c"smtp://127.0.0.1:2525".as_ptr())),
        m("smtp_client_quit", quit),
        m("smtp_client_close", |s| smtp_client_close(s)),
        m("smtp_client_step", |s| smtp_client_step(s)),
    ]
    .into_iter()
    .chain(commands())
    .collect()
}

/// The exports that talk to the server, with valid arguments.
fn commands() -> Vec<(&'static str, Call)> {
    vec![
        // VRFY goes through the TLS policy, NOOP would not
        m("smtp_client_docmd", |s| smtp_client_docmd(s, c"VRFY".as_ptr(), c"postmaster".as_ptr())),
        m("smtp_client_helo", |s| smtp_client_helo(s, null())),
        m("smtp_client_ehlo", |s| smtp_client_ehlo(s, null())),
        m("smtp_client_ehlo_or_helo_if_needed", ehlo_or_helo_if_needed),
        m("smtp_client_verify", |s| smtp_client_verify(s, c"postmaster".as_ptr())),
        m("smtp_client_expn", |s| smtp_client_expn(s, c"list@example.test".as_ptr())),
        m("smtp_client_help", |s| smtp_client_help(s, null())),
        m("smtp_client_rset", |s| smtp_client_rset(s)),
        m("smtp_client_noop", |s| smtp_client_noop(s)),
        m("smtp_client_mail", |s| smtp_client_mail(s, FROM.as_ptr(), null(), 0)),
        m("smtp_client_rcpt", |s| smtp_client_rcpt(s, c"alice@example.test".as_ptr(), null(), 0)),
        m("smtp_client_data", |s| smtp_client_data(s, MSG.as_ptr(), MSG.len())),
        m("smtp_client_sendmail", |s| sendmail(s, FROM.as_ptr(), TO.as_ptr(), 1, MSG.as_ptr(), MSG.len(), null())),
        m("smtp_client_send_message", |s| send_message(s, MSG.as_ptr(), MSG.len(), null(), null(), 0, null())),
        m("smtp_client_sendmail_stream", |s| stream_msg(s, FROM, c"x@discard.test", null())),
        m("smtp_client_login", |s| {
            let (user, pass) = credentials();
            login(s, user.as_ptr(), pass.as_ptr(), smtp_initial_response::Send as i32)
        }),
        m("smtp_client_login_oauth", |s| {
            smtp_client_login_oauth(s, smtp_oauth_mechanism::Xoauth2 as i32, c"alice".as_ptr(), c"token-1".as_ptr())
        }),
        m("smtp_client_auth", |s| {
            smtp_client_auth(s, c"PLAIN".as_ptr(), Some(auth_plain), null_mut(), smtp_initial_response::Send as i32)
        }),
        m("smtp_client_starttls", starttls),
    ]
}

fn credentials() -> (CString, CString) {
    let bed = TestBed::get();
    (CString::new(bed.smtp_user.clone()).unwrap(), CString::new(bed.smtp_pass.clone()).unwrap())
}

// ------------------------------------------------------------------------------- scripted server

/// Whether and how the scripted server speaks TLS.
#[derive(Clone, Copy, PartialEq)]
enum Tls {
    /// Plain text; STARTTLS advertised and done.
    Starttls,
    /// Plain text; no STARTTLS.
    Plain,
    /// TLS from the first byte (SMTPS).
    Implicit,
}

/// Which command line the fault answers.
#[derive(Clone, Copy)]
enum When {
    /// The first line.
    First,
    /// The first line that is not EHLO, HELO, LHLO or STARTTLS.
    AfterGreeting,
    /// The first line received over STARTTLS.
    AfterTls,
    /// Every line with one of these verbs.
    Verbs(&'static [&'static str]),
}

/// What the fault does.
#[derive(Clone, Copy)]
enum Act {
    /// Close the connection without a reply.
    Close,
    /// Never answer (the client's timeout ends it).
    Stall,
    /// Answer these bytes and go on.
    Reply(&'static str),
    /// Write plain text straight into the TCP stream under TLS.
    Inject,
    /// DATA: 354, read the message, then close before the final reply.
    CloseAfterData,
}

/// The scripted server's behaviour: a greeting, ordinary answers to everything, one fault.
#[derive(Clone, Copy)]
struct Script {
    tls: Tls,
    /// The greeting; None closes at once, Some("") never greets.
    greeting: Option<&'static str>,
    extensions: &'static [&'static str],
    fault: Option<(When, Act)>,
    /// The TLS server stops at TLS 1.2 (the client is set to need 1.3: a handshake failure).
    old_tls: bool,
}

const EXTENSIONS: &[&str] = &["8BITMIME", "SIZE 1000000", "AUTH PLAIN XOAUTH2"];

impl Script {
    fn new(tls: Tls) -> Script {
        Script { tls, greeting: Some("220 fake.test ESMTP\r\n"), extensions: EXTENSIONS, fault: None, old_tls: false }
    }
    fn fault(mut self, when: When, act: Act) -> Script {
        self.fault = Some((when, act));
        self
    }
}

fn identity() -> &'static Identity {
    static ID: OnceLock<Identity> = OnceLock::new();
    ID.get_or_init(|| leaf("fake.test", &["DNS:fake.test", "IP:127.0.0.1"], None, -1, 30))
}

fn acceptor(old: bool) -> SslAcceptor {
    let (cert, key) = identity();
    let mut b = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server()).unwrap();
    b.set_certificate(cert).unwrap();
    b.set_private_key(key).unwrap();
    if old {
        b.set_max_proto_version(Some(SslVersion::TLS1_2)).unwrap();
    }
    b.build()
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<SslStream<TcpStream>>),
}

impl Stream {
    fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(t) => t,
            Stream::Tls(t) => t.get_ref(),
        }
    }
    fn write(&mut self, bytes: &[u8]) -> bool {
        match self {
            Stream::Plain(t) => t.write_all(bytes).is_ok(),
            Stream::Tls(t) => t.write_all(bytes).is_ok(),
        }
    }
    fn line(&mut self) -> Option<String> {
        let mut line = Vec::new();
        let mut byte = [0u8];
        loop {
            let n = match self {
                Stream::Plain(t) => t.read(&mut byte),
                Stream::Tls(t) => t.read(&mut byte),
            };
            match n {
                Ok(1) => line.push(byte[0]),
                _ => return None,
            }
            if byte[0] == b'\n' {
                return Some(String::from_utf8_lossy(&line).into_owned());
            }
        }
    }
    /// Read until the client closes (or 10 s pass).
    fn drain(&mut self) {
        let _ = self.tcp().set_read_timeout(Some(Duration::from_secs(10)));
        while self.line().is_some() {}
    }
    fn data(&mut self) -> bool {
        loop {
            match self.line() {
                Some(l) if l == ".\r\n" => return true,
                Some(_) => {}
                None => return false,
            }
        }
    }
}

/// Serve one connection of `script` on a fresh port; the port.
fn serve(script: Script) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(20);
        let tcp = loop {
            match listener.accept() {
                Ok((tcp, _)) => break tcp,
                Err(_) if Instant::now() < deadline => thread::sleep(Duration::from_millis(5)),
                Err(_) => return,
            }
        };
        tcp.set_nonblocking(false).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        play(script, tcp);
    });
    port
}

fn play(script: Script, tcp: TcpStream) {
    let mut conn = if script.tls == Tls::Implicit {
        match acceptor(script.old_tls).accept(tcp) {
            Ok(tls) => Stream::Tls(Box::new(tls)),
            Err(_) => return,
        }
    } else {
        Stream::Plain(tcp)
    };
    let Some(greeting) = script.greeting else { return };
    if greeting.is_empty() {
        return conn.drain();
    }
    conn.write(greeting.as_bytes());
    let (mut first, mut fired) = (true, false);
    while let Some(line) = conn.line() {
        let verb = line.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
        let greeting_verb = ["EHLO", "HELO", "LHLO", "STARTTLS"].contains(&verb.as_str());
        let over_starttls = matches!(conn, Stream::Tls(_)) && script.tls == Tls::Starttls;
        let hit = match script.fault {
            Some((When::First, _)) => first,
            Some((When::AfterGreeting, _)) => !fired && !greeting_verb,
            Some((When::AfterTls, _)) => !fired && over_starttls,
            Some((When::Verbs(verbs), _)) => verbs.contains(&verb.as_str()),
            None => false,
        };
        first = false;
        if hit {
            fired = true;
            match script.fault.unwrap().1 {
                Act::Close => return,
                Act::Stall => return conn.drain(),
                Act::Reply(text) => {
                    conn.write(text.as_bytes());
                    continue;
                }
                Act::Inject => {
                    let _ = conn.tcp().write_all(b"250 plain text inside TLS\r\n");
                    return conn.drain();
                }
                Act::CloseAfterData => {
                    conn.write(b"354 go ahead\r\n");
                    conn.data();
                    return;
                }
            }
        }
        let reply = match verb.as_str() {
            "EHLO" | "LHLO" => {
                let mut r = String::from("250-fake.test\r\n");
                let mut ext: Vec<&str> = script.extensions.to_vec();
                if script.tls == Tls::Starttls && !matches!(conn, Stream::Tls(_)) {
                    ext.push("STARTTLS");
                }
                for (i, e) in ext.iter().enumerate() {
                    r += &format!("250{}{e}\r\n", if i + 1 == ext.len() { ' ' } else { '-' });
                }
                r
            }
            "STARTTLS" if script.tls == Tls::Starttls && !matches!(conn, Stream::Tls(_)) => {
                conn.write(b"220 go ahead\r\n");
                let Stream::Plain(tcp) = conn else { unreachable!() };
                match acceptor(script.old_tls).accept(tcp) {
                    Ok(tls) => conn = Stream::Tls(Box::new(tls)),
                    Err(_) => return,
                }
                continue;
            }
            "STARTTLS" => "454 4.7.0 not now\r\n".into(),
            "DATA" => {
                conn.write(b"354 go ahead\r\n");
                if !conn.data() {
                    return;
                }
                "250 2.0.0 queued\r\n".into()
            }
            "AUTH" => "235 2.7.0 ok\r\n".into(),
            "QUIT" => {
                conn.write(b"221 bye\r\n");
                return;
            }
            _ => "250 ok\r\n".into(),
        };
        if !conn.write(reply.as_bytes()) {
            return;
        }
    }
}

// ------------------------------------------------------------------------------- the OS error

/// Replace the client's socket to `port` by `/dev/null` (read-only): the library's next send
/// fails with ENOTSOCK, an OS error that is neither a reset, an end of stream nor a timeout.
fn swap_socket_for_dev_null(port: u16) -> bool {
    for entry in std::fs::read_dir("/proc/self/fd").unwrap().flatten() {
        let Ok(fd) = entry.file_name().to_string_lossy().parse::<i32>() else { continue };
        // SAFETY: getpeername writes at most `len` bytes into the storage.
        unsafe {
            let mut addr: libc::sockaddr_storage = std::mem::zeroed();
            let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            if libc::getpeername(fd, (&raw mut addr).cast(), &mut len) != 0 || addr.ss_family != libc::AF_INET as u16 {
                continue;
            }
            let sin = &*(&raw const addr).cast::<libc::sockaddr_in>();
            if u16::from_be(sin.sin_port) != port {
                continue;
            }
            let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
            assert!(null >= 0);
            let swapped = libc::dup2(null, fd) == fd;
            libc::close(null);
            return swapped;
        }
    }
    false
}

/// Debug callback userdata: swap the socket at the `at`-th command the call sends (1: the
/// first).
struct IoFault {
    port: u16,
    at: u32,
    sent: AtomicU32,
}

unsafe extern "C" fn io_fault_event(userdata: *mut c_void, kind: i32, _: *const u8, _: usize) {
    // SAFETY: the IoFault registered with this callback, alive until its destructor runs.
    let fault = unsafe { &*userdata.cast::<IoFault>() };
    if kind == smtp_debug_kind::Sent as i32 && fault.sent.fetch_add(1, Ordering::SeqCst) + 1 == fault.at {
        assert!(swap_socket_for_dev_null(fault.port), "the client's socket to {} was not found", fault.port);
    }
}

unsafe extern "C" fn free_io_fault(userdata: *mut c_void) {
    // SAFETY: made by Box::into_raw below, released once by the library.
    drop(unsafe { Box::from_raw(userdata.cast::<IoFault>()) });
}

fn arm_io_fault(s: Client, port: u16, at: u32) -> smtp_result {
    let fault = Box::into_raw(Box::new(IoFault { port, at, sent: AtomicU32::new(0) }));
    step!(smtp_client_set_debuglevel(s, 1));
    smtp_client_set_debug_callback(s, Some(io_fault_event), fault.cast(), Some(free_io_fault))
}

// ------------------------------------------------------------------------------- re-entry

/// Debug callback userdata: make `call` on the session from inside its own callback, on this
/// thread or on another one, once.
struct Inside {
    call: Call,
    session: Client,
    other_thread: bool,
    got: AtomicI32,
    done: AtomicBool,
}

struct SendPtr(Client);
// SAFETY: the session is only used by the guard's refusal path on the other thread.
unsafe impl Send for SendPtr {}

unsafe extern "C" fn call_inside(userdata: *mut c_void, _: i32, _: *const u8, _: usize) {
    // SAFETY: the Inside of the scenario, alive for the whole call.
    let inside = unsafe { &*userdata.cast::<Inside>() };
    if inside.done.swap(true, Ordering::SeqCst) {
        return;
    }
    let rc = if inside.other_thread {
        let (call, s, twin) = (inside.call, SendPtr(inside.session), TWIN.with_borrow(Twin::clone));
        thread::spawn(move || {
            let s = s;
            with_twin(twin, || call(s.0))
        })
        .join()
        .unwrap()
    } else {
        (inside.call)(inside.session)
    };
    inside.got.store(rc as i32, Ordering::SeqCst);
}

/// `call` from inside a debug callback of a connect in progress (to a port nothing listens on).
fn inside_callback(call: Call, other_thread: bool) -> i32 {
    let s = Session::new(smtp_client_kind::Smtp);
    let inside = Inside { call, session: s.0, other_thread, got: AtomicI32::new(-1), done: AtomicBool::new(false) };
    ok(smtp_client_set_debuglevel(s.0, 1));
    ok(smtp_client_set_debug_callback(s.0, Some(call_inside), (&raw const inside).cast_mut().cast(), None));
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let _ = smtp_client_connect(s.0, c"127.0.0.1".as_ptr(), port);
    drop(s);
    inside.got.load(Ordering::SeqCst)
}

// ------------------------------------------------------------------------------- scenarios

/// How the session is prepared before the call.
#[derive(Clone, Copy)]
enum Peer {
    /// Not connected.
    None,
    /// The scripted server.
    Scripted(Script),
    /// The scripted server, the client's socket swapped under the call at its n-th command.
    ScriptedIoFault(Script, u32),
    /// A test bed port.
    TestBed(fn(&TestBed) -> u16),
}

/// One (function, code) pair and how to provoke it.
struct Scenario {
    function: &'static str,
    code: smtp_result,
    what: String,
    run: Box<dyn FnOnce() -> (i32, String) + Send>,
}

/// `call` on a session of `kind` prepared by `setup` and connected to `peer`.
fn on(
    function: &'static str,
    code: smtp_result,
    what: &str,
    kind: smtp_client_kind,
    peer: Peer,
    setup: fn(Client) -> smtp_result,
    call: Call,
) -> Scenario {
    let run = move || {
        let s = Session::new(kind);
        let rc = (|| {
            step!(setup(s.0));
            let port = match peer {
                Peer::None => return call(s.0),
                Peer::Scripted(script) | Peer::ScriptedIoFault(script, _) => serve(script),
                Peer::TestBed(port) => port(TestBed::get()),
            };
            let port = if driven() { slow_link(port) } else { port };
            step!(smtp_client_connect(s.0, c"127.0.0.1".as_ptr(), port));
            if let Peer::ScriptedIoFault(_, at) = peer {
                step!(arm_io_fault(s.0, port, at));
            }
            call(s.0)
        })();
        (rc as i32, message(s.0))
    };
    Scenario { function, code, what: what.to_owned(), run: Box::new(run) }
}

/// `call` with no session preparation and no server (arguments, other objects).
fn bare(function: &'static str, code: smtp_result, what: &str, call: Call) -> Scenario {
    on(function, code, what, smtp_client_kind::Smtp, Peer::None, |_| smtp_result::Ok, call)
}

fn scenario(
    function: &'static str,
    code: smtp_result,
    what: &str,
    run: impl FnOnce() -> i32 + Send + 'static,
) -> Scenario {
    Scenario { function, code, what: what.to_owned(), run: Box::new(move || (run(), String::new())) }
}

fn nothing(_: Client) -> smtp_result {
    smtp_result::Ok
}
fn required_tls(s: Client) -> smtp_result {
    smtp_client_set_tls_policy(s, smtp_tls_policy::Required as i32)
}
fn required_tls13(s: Client) -> smtp_result {
    step!(required_tls(s));
    smtp_client_set_tls_min_version(s, smtp_tls_version::Tls13 as i32)
}
fn unverified(s: Client) -> smtp_result {
    smtp_client_set_tls_verify(s, smtp_tls_verify::NoneInsecure as i32)
}
/// Dovecot delays the answer to a wrong password, longer after each failure from the same
/// address (other tests on this machine fail logins too).
fn patient(s: Client) -> smtp_result {
    smtp_client_set_timeout_ms(s, 30_000)
}
fn stall_timeout(s: Client) -> smtp_result {
    smtp_client_set_timeout_ms(s, STALL_TIMEOUT_MS)
}
fn untrusted_local(s: Client) -> smtp_result {
    smtp_client_set_local_peer(s, smtp_local_peer::Untrusted as i32)
}
fn postfix(b: &TestBed) -> u16 {
    b.smtp_port
}
fn minimal(b: &TestBed) -> u16 {
    b.smtp_minimal_port
}
fn sink(b: &TestBed) -> u16 {
    b.smtp_sink_port
}

/// The scripted fault a command meets: the EHLO family at its first line, the others at the
/// first line after the greeting.
fn first_command(function: &str) -> When {
    match function {
        "smtp_client_helo" | "smtp_client_ehlo" | "smtp_client_ehlo_or_helo_if_needed" => When::First,
        "smtp_client_starttls" => When::Verbs(&["STARTTLS"]),
        _ => When::AfterGreeting,
    }
}

const EHLO_AND_HELO_REFUSED: (When, Act) = (When::Verbs(&["EHLO", "HELO", "LHLO"]), Act::Reply("500 5.5.1 no\r\n"));

/// The families of connection and TLS outcomes, for each command whose list has the code.
fn connection_families(lists: &BTreeMap<String, BTreeSet<i32>>) -> Vec<Scenario> {
    use smtp_result::*;
    let smtp = smtp_client_kind::Smtp;
    let mut out = Vec::new();
    for (function, call) in commands() {
        let listed = &lists[function];
        let has = |c: smtp_result| listed.contains(&(c as i32));
        let fault = |act| Script::new(Tls::Starttls).fault(first_command(function), act);
        if has(ServerDisconnected) {
            out.push(on(
                function,
                ServerDisconnected,
                "the server closes",
                smtp,
                Peer::Scripted(fault(Act::Close)),
                nothing,
                call,
            ));
        }
        if has(Timeout) {
            out.push(on(
                function,
                Timeout,
                "the server stalls",
                smtp,
                Peer::Scripted(fault(Act::Stall)),
                stall_timeout,
                call,
            ));
        }
        if has(ProtocolError) {
            let garbage = fault(Act::Reply("hello there\r\n"));
            out.push(on(
                function,
                ProtocolError,
                "a reply without a code",
                smtp,
                Peer::Scripted(garbage),
                nothing,
                call,
            ));
        }
        if has(IoError) {
            let script = Script::new(Tls::Starttls);
            out.push(on(
                function,
                IoError,
                "send() fails (ENOTSOCK)",
                smtp,
                Peer::ScriptedIoFault(script, 1),
                nothing,
                call,
            ));
        }
        if has(TlsRecord) {
            let (kind, script) = if function == "smtp_client_starttls" {
                (smtp, Script::new(Tls::Starttls).fault(When::AfterTls, Act::Inject))
            } else {
                (smtp_client_kind::Smtps, Script::new(Tls::Implicit).fault(first_command(function), Act::Inject))
            };
            out.push(on(function, TlsRecord, "plain text inside TLS", kind, Peer::Scripted(script), unverified, call));
        }
        if has(TlsRequired) {
            let plain = Script::new(Tls::Plain);
            out.push(on(function, TlsRequired, "no STARTTLS offered", smtp, Peer::Scripted(plain), required_tls, call));
        }
        if has(TlsError) {
            let old = Script { old_tls: true, ..Script::new(Tls::Starttls) };
            out.push(on(function, TlsError, "no common TLS version", smtp, Peer::Scripted(old), required_tls13, call));
        }
        if has(TlsCertificate) {
            let what = "Postfix's certificate, not in the system store";
            out.push(on(function, TlsCertificate, what, smtp, Peer::TestBed(postfix), required_tls, call));
        }
    }
    out
}

/// Everything else, function by function.
fn specific() -> Vec<Scenario> {
    use smtp_result::*;
    let smtp = smtp_client_kind::Smtp;
    let scripted = |script: Script| Peer::Scripted(script);
    let refuse_greeting = Script::new(Tls::Starttls).fault(EHLO_AND_HELO_REFUSED.0, EHLO_AND_HELO_REFUSED.1);
    let xoauth = Script::new(Tls::Plain);
    vec![
        // ---- URL
        bare("smtp_client_set_url", InvalidArgument, "an unknown scheme", |s| {
            smtp_client_set_url(s, c"ftp://127.0.0.1".as_ptr())
        }),
        bare("smtp_client_set_url", InvalidUtf8, "not UTF-8", |s| smtp_client_set_url(s, c"smtp://\xff".as_ptr())),
        on("smtp_client_set_url", BadState, "connected", smtp, Peer::TestBed(postfix), nothing, |s| {
            smtp_client_set_url(s, c"smtp://127.0.0.1".as_ptr())
        }),
        // ---- connect
        on("smtp_client_connect", BadState, "connected already", smtp, Peer::TestBed(postfix), nothing, |s| {
            connect(s, testbed_host().as_ptr(), TestBed::get().smtp_port)
        }),
        bare("smtp_client_connect", ConnectError, "greeting 554", |s| {
            let script = Script { greeting: Some("554 5.3.2 go away\r\n"), ..Script::new(Tls::Plain) };
            connect(s, c"127.0.0.1".as_ptr(), serve(script))
        }),
        bare("smtp_client_connect", InvalidArgument, "CR in the host", |s| connect(s, c"a\rb".as_ptr(), 25)),
        bare("smtp_client_connect", IoError, "a Unix socket path that does not exist (ENOENT)", |s| {
            connect(s, c"/nonexistent-smtpclient-dir/lmtp.sock".as_ptr(), 0)
        }),
        bare("smtp_client_connect", ProtocolError, "a greeting without a code", |s| {
            let script = Script { greeting: Some("hello there\r\n"), ..Script::new(Tls::Plain) };
            connect(s, c"127.0.0.1".as_ptr(), serve(script))
        }),
        bare("smtp_client_connect", ServerDisconnected, "closed before the greeting", |s| {
            let script = Script { greeting: None, ..Script::new(Tls::Plain) };
            connect(s, c"127.0.0.1".as_ptr(), serve(script))
        }),
        bare("smtp_client_connect", Timeout, "no greeting", |s| {
            step!(stall_timeout(s));
            let script = Script { greeting: Some(""), ..Script::new(Tls::Plain) };
            connect(s, c"127.0.0.1".as_ptr(), serve(script))
        }),
        on(
            "smtp_client_connect",
            TlsCertificate,
            "SMTPS, Postfix's certificate not trusted",
            smtp_client_kind::Smtps,
            Peer::None,
            nothing,
            |s| connect(s, testbed_host().as_ptr(), TestBed::get().smtp_smtps_port),
        ),
        on(
            "smtp_client_connect",
            TlsError,
            "SMTPS, no common TLS version",
            smtp_client_kind::Smtps,
            Peer::None,
            nothing,
            |s| {
                step!(smtp_client_set_tls_min_version(s, smtp_tls_version::Tls13 as i32));
                let script = Script { old_tls: true, ..Script::new(Tls::Implicit) };
                connect(s, c"127.0.0.1".as_ptr(), serve(script))
            },
        ),
        bare("smtp_client_quit", ServerDisconnected, "not connected", quit),
        // ---- arguments of the commands (checked before anything is sent)
        bare("smtp_client_docmd", InvalidArgument, "CR in the command", |s| {
            smtp_client_docmd(s, c"NO\rOP".as_ptr(), null())
        }),
        bare("smtp_client_helo", InvalidArgument, "two words", |s| smtp_client_helo(s, c"a b".as_ptr())),
        bare("smtp_client_ehlo", InvalidArgument, "two words", |s| smtp_client_ehlo(s, c"a b".as_ptr())),
        bare("smtp_client_verify", InvalidArgument, "LF in the address", |s| smtp_client_verify(s, c"a\n@b".as_ptr())),
        bare("smtp_client_expn", InvalidArgument, "LF in the address", |s| smtp_client_expn(s, c"a\n@b".as_ptr())),
        bare("smtp_client_help", InvalidArgument, "CR in the argument", |s| smtp_client_help(s, c"a\rb".as_ptr())),
        bare("smtp_client_mail", InvalidArgument, "< in the address", |s| {
            smtp_client_mail(s, c"<a@b>".as_ptr(), null(), 0)
        }),
        bare("smtp_client_rcpt", InvalidArgument, "empty recipient", |s| smtp_client_rcpt(s, c"".as_ptr(), null(), 0)),
        on(
            "smtp_client_mail",
            NotSupported,
            "the SMTPUTF8 option, not advertised",
            smtp,
            Peer::TestBed(minimal),
            nothing,
            |s| {
                let options = [c"SMTPUTF8".as_ptr()];
                smtp_client_mail(s, c"j\u{f6}rg@example.test".as_ptr(), options.as_ptr(), 1)
            },
        ),
        // ---- data and the sends
        on("smtp_client_data", DataError, "DATA with no recipient (503)", smtp, Peer::TestBed(postfix), nothing, |s| {
            smtp_client_data(s, MSG.as_ptr(), MSG.len())
        }),
        on(
            "smtp_client_data",
            DeliveryUnknown,
            "closed after the end mark",
            smtp,
            scripted(Script::new(Tls::Plain).fault(When::Verbs(&["DATA"]), Act::CloseAfterData)),
            nothing,
            |s| smtp_client_data(s, MSG.as_ptr(), MSG.len()),
        ),
    ]
    .into_iter()
    .chain(sends())
    .chain([
        // ---- login
        on(
            "smtp_client_login",
            AuthenticationError,
            "wrong password (535)",
            smtp,
            Peer::TestBed(postfix),
            patient,
            |s| login(s, c"alice".as_ptr(), c"not-the-password".as_ptr(), 0),
        ),
        on("smtp_client_login", BadState, "authenticated already", smtp, Peer::TestBed(postfix), patient, |s| {
            let (user, pass) = credentials();
            step!(login(s, user.as_ptr(), pass.as_ptr(), 0));
            login(s, user.as_ptr(), pass.as_ptr(), 0)
        }),
        on(
            "smtp_client_login",
            CredentialsPolicy,
            "loopback not trusted, no TLS",
            smtp,
            Peer::TestBed(postfix),
            untrusted_local,
            |s| {
                let (user, pass) = credentials();
                login(s, user.as_ptr(), pass.as_ptr(), 0)
            },
        ),
        on("smtp_client_login", HeloError, "EHLO and HELO refused", smtp, scripted(refuse_greeting), nothing, |s| {
            login(s, c"alice".as_ptr(), c"pw".as_ptr(), 0)
        }),
        bare("smtp_client_login", InvalidArgument, "empty user", |s| login(s, c"".as_ptr(), c"pw".as_ptr(), 0)),
        bare("smtp_client_login", InvalidUtf8, "user not UTF-8", |s| login(s, c"\xff".as_ptr(), c"pw".as_ptr(), 0)),
        bare("smtp_client_login", NullArgument, "NULL password", |s| login(s, c"alice".as_ptr(), null(), 0)),
        on("smtp_client_login", NotSupported, "no AUTH advertised", smtp, Peer::TestBed(minimal), nothing, |s| {
            login(s, c"alice".as_ptr(), c"pw".as_ptr(), 0)
        }),
        on(
            "smtp_client_login",
            SmtpError,
            "no mechanism in common",
            smtp,
            Peer::TestBed(sink),
            |s| smtp_client_set_login_mechanisms(s, c"CRAM-MD5".as_ptr()),
            |s| login(s, c"alice".as_ptr(), c"pw".as_ptr(), 0),
        ),
        // ---- login_oauth (Postfix offers no bearer-token mechanism: the scripted server does)
        on(
            "smtp_client_login_oauth",
            AuthenticationError,
            "token refused (535)",
            smtp,
            scripted(xoauth.fault(When::Verbs(&["AUTH"]), Act::Reply("535 5.7.8 bad token\r\n"))),
            nothing,
            |s| smtp_client_login_oauth(s, 0, c"alice".as_ptr(), c"token-1".as_ptr()),
        ),
        on("smtp_client_login_oauth", BadState, "authenticated already", smtp, scripted(xoauth), nothing, |s| {
            step!(login(s, c"alice".as_ptr(), c"pw".as_ptr(), 0));
            smtp_client_login_oauth(s, 0, c"alice".as_ptr(), c"token-1".as_ptr())
        }),
        on(
            "smtp_client_login_oauth",
            CredentialsPolicy,
            "loopback not trusted, no TLS",
            smtp,
            scripted(xoauth),
            untrusted_local,
            |s| smtp_client_login_oauth(s, 0, c"alice".as_ptr(), c"token-1".as_ptr()),
        ),
        on(
            "smtp_client_login_oauth",
            HeloError,
            "EHLO and HELO refused",
            smtp,
            scripted(refuse_greeting),
            nothing,
            |s| smtp_client_login_oauth(s, 0, c"alice".as_ptr(), c"token-1".as_ptr()),
        ),
        bare("smtp_client_login_oauth", InvalidArgument, "unknown mechanism", |s| {
            smtp_client_login_oauth(s, 7, c"alice".as_ptr(), c"token-1".as_ptr())
        }),
        bare("smtp_client_login_oauth", InvalidUtf8, "user not UTF-8", |s| {
            smtp_client_login_oauth(s, 0, c"\xff".as_ptr(), c"token-1".as_ptr())
        }),
        bare("smtp_client_login_oauth", NullArgument, "NULL token", |s| {
            smtp_client_login_oauth(s, 0, c"alice".as_ptr(), null())
        }),
        on("smtp_client_login_oauth", NotSupported, "no AUTH advertised", smtp, Peer::TestBed(minimal), nothing, |s| {
            smtp_client_login_oauth(s, 0, c"alice".as_ptr(), c"token-1".as_ptr())
        }),
        on(
            "smtp_client_login_oauth",
            SmtpError,
            "XOAUTH2 not advertised",
            smtp,
            Peer::TestBed(postfix),
            nothing,
            |s| smtp_client_login_oauth(s, 0, c"alice".as_ptr(), c"token-1".as_ptr()),
        ),
        // ---- auth
        on(
            "smtp_client_auth",
            AuthenticationError,
            "wrong password (535)",
            smtp,
            Peer::TestBed(postfix),
            patient,
            |s| smtp_client_auth(s, c"PLAIN".as_ptr(), Some(auth_wrong), null_mut(), 0),
        ),
        on("smtp_client_auth", BadState, "authenticated already", smtp, Peer::TestBed(postfix), patient, |s| {
            step!(smtp_client_auth(s, c"PLAIN".as_ptr(), Some(auth_plain), null_mut(), 0));
            smtp_client_auth(s, c"PLAIN".as_ptr(), Some(auth_plain), null_mut(), 0)
        }),
        on("smtp_client_auth", CallbackAborted, "the callback aborts", smtp, Peer::TestBed(postfix), nothing, |s| {
            smtp_client_auth(s, c"PLAIN".as_ptr(), Some(auth_abort), null_mut(), 0)
        }),
        on(
            "smtp_client_auth",
            CredentialsPolicy,
            "loopback not trusted, no TLS",
            smtp,
            Peer::TestBed(postfix),
            untrusted_local,
            |s| smtp_client_auth(s, c"PLAIN".as_ptr(), Some(auth_plain), null_mut(), 0),
        ),
        on("smtp_client_auth", HeloError, "EHLO and HELO refused", smtp, scripted(refuse_greeting), nothing, |s| {
            smtp_client_auth(s, c"PLAIN".as_ptr(), Some(auth_plain), null_mut(), 0)
        }),
        bare("smtp_client_auth", InvalidArgument, "a space in the mechanism", |s| {
            smtp_client_auth(s, c"BAD NAME".as_ptr(), Some(auth_plain), null_mut(), 0)
        }),
        bare("smtp_client_auth", InvalidUtf8, "mechanism not UTF-8", |s| {
            smtp_client_auth(s, c"\xff".as_ptr(), Some(auth_plain), null_mut(), 0)
        }),
        bare("smtp_client_auth", NullArgument, "NULL callback", |s| {
            smtp_client_auth(s, c"PLAIN".as_ptr(), None, null_mut(), 0)
        }),
        // ---- the response writer
        bare("smtp_auth_response_set", NullArgument, "NULL writer", |_| smtp_auth_response_set(null_mut(), null(), 0)),
        bare("smtp_auth_response_set", BadHandle, "not the writer of a running callback", |_| {
            let mut foreign = [0u64; 8];
            smtp_auth_response_set(foreign.as_mut_ptr().cast(), b"x".as_ptr(), 1)
        }),
        scenario("smtp_auth_response_set", InvalidArgument, "a response over 8192 bytes", move || {
            let s = Session::new(smtp);
            let rc = smtp_client_connect(s.0, testbed_host().as_ptr(), TestBed::get().smtp_port);
            if rc != Ok {
                return rc as i32;
            }
            let got = AtomicI32::new(-1);
            let _ =
                smtp_client_auth(s.0, c"PLAIN".as_ptr(), Some(auth_oversized), (&raw const got).cast_mut().cast(), 0);
            got.load(Ordering::SeqCst)
        }),
        // ---- starttls and the EHLO family
        on(
            "smtp_client_starttls",
            BadState,
            "SMTPS: TLS from the start",
            smtp_client_kind::Smtps,
            Peer::None,
            |s| smtp_client_set_tls_ca_file(s, ca_file().as_ptr()),
            |s| {
                step!(smtp_client_connect(s, testbed_host().as_ptr(), TestBed::get().smtp_smtps_port));
                starttls(s)
            },
        ),
        on("smtp_client_starttls", NotSupported, "STARTTLS not offered", smtp, Peer::TestBed(minimal), nothing, |s| {
            starttls(s)
        }),
        on(
            "smtp_client_starttls",
            ResponseError,
            "STARTTLS refused (454)",
            smtp,
            scripted(Script::new(Tls::Starttls).fault(When::Verbs(&["STARTTLS"]), Act::Reply("454 4.7.0 not now\r\n"))),
            nothing,
            starttls,
        ),
        on("smtp_client_starttls", HeloError, "EHLO and HELO refused", smtp, scripted(refuse_greeting), nothing, |s| {
            starttls(s)
        }),
        on(
            "smtp_client_ehlo_or_helo_if_needed",
            HeloError,
            "EHLO and HELO refused",
            smtp,
            scripted(refuse_greeting),
            nothing,
            ehlo_or_helo_if_needed,
        ),
    ])
    .chain(settings())
    .collect()
}

/// The send family: the same outcomes for the three ways of sending.
fn sends() -> Vec<Scenario> {
    use smtp_result::*;
    let smtp = smtp_client_kind::Smtp;
    let close_after_data = Peer::Scripted(Script::new(Tls::Plain).fault(When::Verbs(&["DATA"]), Act::CloseAfterData));
    vec![
        // sendmail
        on("smtp_client_sendmail", Ok, "delivered", smtp, Peer::TestBed(postfix), nothing, |s| {
            sendmail(s, FROM.as_ptr(), TO.as_ptr(), 1, MSG.as_ptr(), MSG.len(), null())
        }),
        on("smtp_client_sendmail", SenderRefused, "sender refused (553)", smtp, Peer::TestBed(postfix), nothing, |s| {
            sendmail(s, c"reject553@example.test".as_ptr(), TO.as_ptr(), 1, MSG.as_ptr(), MSG.len(), null())
        }),
        on(
            "smtp_client_sendmail",
            RecipientsRefused,
            "recipient refused (550)",
            smtp,
            Peer::TestBed(postfix),
            nothing,
            |s| {
                let to = [c"reject550@example.test".as_ptr()];
                sendmail(s, FROM.as_ptr(), to.as_ptr(), 1, MSG.as_ptr(), MSG.len(), null())
            },
        ),
        on("smtp_client_sendmail", DataError, "body refused (550)", smtp, Peer::TestBed(postfix), nothing, |s| {
            let m = b"Subject: r\r\n\r\nX-REJECT-ME-IN-BODY\r\n";
            sendmail(s, FROM.as_ptr(), TO.as_ptr(), 1, m.as_ptr(), m.len(), null())
        }),
        on(
            "smtp_client_sendmail",
            MessageTooLarge,
            "over Postfix's SIZE",
            smtp,
            Peer::TestBed(postfix),
            nothing,
            |s| {
                let m = big_message();
                sendmail(s, FROM.as_ptr(), TO.as_ptr(), 1, m.as_ptr(), m.len(), null())
            },
        ),
        on(
            "smtp_client_sendmail",
            NotSupported,
            "the SMTPUTF8 option, not advertised",
            smtp,
            Peer::TestBed(minimal),
            nothing,
            |s| {
                let o = smtputf8_options();
                let rc = sendmail(s, c"j\u{f6}rg@example.test".as_ptr(), TO.as_ptr(), 1, MSG.as_ptr(), MSG.len(), o);
                smtp_send_options_free(o);
                rc
            },
        ),
        on(
            "smtp_client_sendmail",
            DeliveryUnknown,
            "closed after the end mark",
            smtp,
            close_after_data,
            nothing,
            |s| sendmail(s, FROM.as_ptr(), TO.as_ptr(), 1, MSG.as_ptr(), MSG.len(), null()),
        ),
        // after EHLO: a non-blocking send meets it in a step, not in its start
        on(
            "smtp_client_sendmail",
            IoError,
            "send() fails at MAIL, after EHLO (ENOTSOCK)",
            smtp,
            Peer::ScriptedIoFault(Script::new(Tls::Plain), 2),
            nothing,
            |s| sendmail(s, FROM.as_ptr(), TO.as_ptr(), 1, MSG.as_ptr(), MSG.len(), null()),
        ),
        bare("smtp_client_sendmail", InvalidArgument, "empty recipient", |s| {
            let to = [c"".as_ptr()];
            sendmail(s, FROM.as_ptr(), to.as_ptr(), 1, MSG.as_ptr(), MSG.len(), null())
        }),
        bare("smtp_client_sendmail", NullArgument, "NULL sender", |s| {
            sendmail(s, null(), TO.as_ptr(), 1, MSG.as_ptr(), MSG.len(), null())
        }),
        // send_message
        on("smtp_client_send_message", Ok, "delivered", smtp, Peer::TestBed(postfix), nothing, |s| {
            send_message(s, MSG.as_ptr(), MSG.len(), null(), null(), 0, null())
        }),
        on(
            "smtp_client_send_message",
            SenderRefused,
            "sender refused (553)",
            smtp,
            Peer::TestBed(postfix),
            nothing,
            |s| send_message(s, MSG.as_ptr(), MSG.len(), c"reject553@example.test".as_ptr(), null(), 0, null()),
        ),
        on(
            "smtp_client_send_message",
            RecipientsRefused,
            "recipient refused (550)",
            smtp,
            Peer::TestBed(postfix),
            nothing,
            |s| {
                let to = [c"reject550@example.test".as_ptr()];
                send_message(s, MSG.as_ptr(), MSG.len(), null(), to.as_ptr(), 1, null())
            },
        ),
        on("smtp_client_send_message", DataError, "body refused (550)", smtp, Peer::TestBed(postfix), nothing, |s| {
            let m = b"From: a@example.test\r\nTo: x@discard.test\r\n\r\nX-REJECT-ME-IN-BODY\r\n";
            send_message(s, m.as_ptr(), m.len(), null(), null(), 0, null())
        }),
        on(
            "smtp_client_send_message",
            MessageTooLarge,
            "over Postfix's SIZE",
            smtp,
            Peer::TestBed(postfix),
            nothing,
            |s| {
                let m = big_message();
                send_message(s, m.as_ptr(), m.len(), FROM.as_ptr(), TO.as_ptr(), 1, null())
            },
        ),
        on(
            "smtp_client_send_message",
            NotSupported,
            "non-ASCII From, no SMTPUTF8",
            smtp,
            Peer::TestBed(minimal),
            nothing,
            |s| {
                let m = "From: j\u{f6}rg@example.test\r\nTo: x@discard.test\r\n\r\nhi\r\n";
                send_message(s, m.as_ptr(), m.len(), null(), null(), 0, null())
            },
        ),
        on(
            "smtp_client_send_message",
            DeliveryUnknown,
            "closed after the end mark",
            smtp,
            close_after_data,
            nothing,
            |s| send_message(s, MSG.as_ptr(), MSG.len(), null(), null(), 0, null()),
        ),
        on(
            "smtp_client_send_message",
            InvalidArgument,
            "two Resent- blocks",
            smtp,
            Peer::TestBed(postfix),
            nothing,
            |s| {
                let m = b"Resent-From: a@example.test\r\nResent-To: x@discard.test\r\nResent-From: b@example.test\r\nResent-To: y@discard.test\r\nFrom: a@example.test\r\n\r\nhi\r\n";
                send_message(s, m.as_ptr(), m.len(), null(), null(), 0, null())
            },
        ),
        bare("smtp_client_send_message", NullArgument, "NULL message with a length", |s| {
            send_message(s, null(), 5, null(), null(), 0, null())
        }),
        // sendmail_stream
        on("smtp_client_sendmail_stream", Ok, "delivered", smtp, Peer::TestBed(postfix), nothing, |s| {
            stream_msg(s, FROM, c"x@discard.test", null())
        }),
        on(
            "smtp_client_sendmail_stream",
            SenderRefused,
            "sender refused (553)",
            smtp,
            Peer::TestBed(postfix),
            nothing,
            |s| stream_msg(s, c"reject553@example.test", c"x@discard.test", null()),
        ),
        on(
            "smtp_client_sendmail_stream",
            RecipientsRefused,
            "recipient refused (550)",
            smtp,
            Peer::TestBed(postfix),
            nothing,
            |s| stream_msg(s, FROM, c"reject550@example.test", null()),
        ),
        on(
            "smtp_client_sendmail_stream",
            DataError,
            "DATA refused (554)",
            smtp,
            Peer::Scripted(Script::new(Tls::Plain).fault(When::Verbs(&["DATA"]), Act::Reply("554 5.7.1 no\r\n"))),
            nothing,
            |s| stream_msg(s, FROM, c"x@discard.test", null()),
        ),
        on(
            "smtp_client_sendmail_stream",
            MessageTooLarge,
            "size estimate over Postfix's SIZE",
            smtp,
            Peer::TestBed(postfix),
            nothing,
            |s| {
                let o = smtp_send_options_new();
                let rc = match smtp_send_options_set_size_estimate(o, 20_000_000) {
                    Ok => stream_msg(s, FROM, c"x@discard.test", o),
                    other => other,
                };
                smtp_send_options_free(o);
                rc
            },
        ),
        on(
            "smtp_client_sendmail_stream",
            NotSupported,
            "the SMTPUTF8 option, not advertised",
            smtp,
            Peer::TestBed(minimal),
            nothing,
            |s| {
                let o = smtputf8_options();
                let rc = stream_msg(s, c"j\u{f6}rg@example.test", c"x@discard.test", o);
                smtp_send_options_free(o);
                rc
            },
        ),
        on(
            "smtp_client_sendmail_stream",
            DeliveryUnknown,
            "closed after the end mark",
            smtp,
            close_after_data,
            nothing,
            |s| stream_msg(s, FROM, c"x@discard.test", null()),
        ),
        on(
            "smtp_client_sendmail_stream",
            CallbackAborted,
            "the read callback aborts",
            smtp,
            Peer::TestBed(postfix),
            nothing,
            |s| sendmail_stream(s, FROM.as_ptr(), TO.as_ptr(), 1, Some(read_abort), null_mut(), null()),
        ),
        bare("smtp_client_sendmail_stream", InvalidArgument, "empty recipient", |s| stream_msg(s, FROM, c"", null())),
        bare("smtp_client_sendmail_stream", NullArgument, "NULL read callback", |s| {
            sendmail_stream(s, FROM.as_ptr(), TO.as_ptr(), 1, None, null_mut(), null())
        }),
    ]
}

/// Send options asking for SMTPUTF8.
fn smtputf8_options() -> *mut smtp_send_options {
    let o = smtp_send_options_new();
    ok(smtp_send_options_add_mail_option(o, c"SMTPUTF8".as_ptr()));
    o
}

fn big_message() -> &'static [u8] {
    static BIG: OnceLock<Vec<u8>> = OnceLock::new();
    BIG.get_or_init(|| {
        let mut m = b"From: a@example.test\r\nTo: x@discard.test\r\n\r\n".to_vec();
        m.resize(11 * 1024 * 1024, b'x');
        m.extend_from_slice(b"\r\n");
        m
    })
}

/// Setters, getters with an index, and the options object.
fn settings() -> Vec<Scenario> {
    use smtp_result::*;
    let smtp = smtp_client_kind::Smtp;
    vec![
        bare("smtp_client_set_url", InvalidArgument, "a bad port", |s| {
            smtp_client_set_url(s, c"smtp://host:99999".as_ptr())
        }),
        bare("smtp_client_set_url", InvalidUtf8, "not UTF-8", |s| smtp_client_set_url(s, c"smtp://\xff".as_ptr())),
        bare("smtp_client_set_url", NullArgument, "NULL url", |s| smtp_client_set_url(s, null())),
        on("smtp_client_set_url", BadState, "connected", smtp, Peer::TestBed(postfix), nothing, |s| {
            smtp_client_set_url(s, c"smtp://127.0.0.1".as_ptr())
        }),
        bare("smtp_client_set_local_hostname", InvalidArgument, "two words", |s| {
            smtp_client_set_local_hostname(s, c"a b".as_ptr())
        }),
        bare("smtp_client_set_local_hostname", InvalidUtf8, "not UTF-8", |s| {
            smtp_client_set_local_hostname(s, c"\xff".as_ptr())
        }),
        bare("smtp_client_set_source_address", InvalidArgument, "CR in the host", |s| {
            smtp_client_set_source_address(s, c"a\rb".as_ptr(), 0)
        }),
        bare("smtp_client_set_debuglevel", InvalidArgument, "level 3", |s| smtp_client_set_debuglevel(s, 3)),
        bare("smtp_client_set_url", InvalidArgument, "an unknown scheme", |s| {
            smtp_client_set_url(s, c"gopher://127.0.0.1".as_ptr())
        }),
        bare("smtp_client_set_url", InvalidArgument, "a scheme of another kind", |s| {
            smtp_client_set_url(s, c"lmtp://127.0.0.1:2424".as_ptr())
        }),
        bare("smtp_client_set_url", InvalidUtf8, "not UTF-8", |s| smtp_client_set_url(s, c"smtp://\xff".as_ptr())),
        bare("smtp_client_set_url", NullArgument, "NULL URL", |s| smtp_client_set_url(s, null())),
        on(
            "smtp_client_set_url",
            BadState,
            "connected",
            smtp_client_kind::Smtp,
            Peer::TestBed(postfix),
            nothing,
            |s| smtp_client_set_url(s, c"smtp://127.0.0.1:2525".as_ptr()),
        ),
        bare("smtp_client_set_tls_ca_file", InvalidArgument, "no such file", |s| {
            smtp_client_set_tls_ca_file(s, c"/nonexistent/ca.pem".as_ptr())
        }),
        bare("smtp_client_set_tls_ca_file", InvalidUtf8, "not UTF-8", |s| {
            smtp_client_set_tls_ca_file(s, c"/tmp/\xff".as_ptr())
        }),
        bare("smtp_client_set_tls_ca_dir", InvalidArgument, "no such directory", |s| {
            smtp_client_set_tls_ca_dir(s, c"/nonexistent/certs".as_ptr())
        }),
        bare("smtp_client_set_tls_ca_dir", InvalidUtf8, "not UTF-8", |s| {
            smtp_client_set_tls_ca_dir(s, c"/tmp/\xff".as_ptr())
        }),
        bare("smtp_client_set_tls_client_cert", InvalidArgument, "no such file", |s| {
            smtp_client_set_tls_client_cert(s, c"/nonexistent/c.pem".as_ptr(), c"/nonexistent/k.pem".as_ptr())
        }),
        bare("smtp_client_set_tls_client_cert", InvalidUtf8, "not UTF-8", |s| {
            smtp_client_set_tls_client_cert(s, c"/tmp/\xff".as_ptr(), c"/tmp/k.pem".as_ptr())
        }),
        bare("smtp_client_set_tls_client_cert", NullArgument, "a key without a chain", |s| {
            smtp_client_set_tls_client_cert(s, null(), c"/tmp/k.pem".as_ptr())
        }),
        bare("smtp_client_set_tls_min_version", InvalidArgument, "version 11", |s| {
            smtp_client_set_tls_min_version(s, 11)
        }),
        bare("smtp_client_set_phase_timeout_ms", InvalidArgument, "phase 10", |s| {
            smtp_client_set_phase_timeout_ms(s, 10, 1000)
        }),
        bare("smtp_client_set_phase_timeout_ms", InvalidArgument, "phase -1", |s| {
            smtp_client_set_phase_timeout_ms(s, -1, 1000)
        }),
        bare("smtp_client_set_tls_server_name", InvalidArgument, "LF in the name", |s| {
            smtp_client_set_tls_server_name(s, c"a\nb".as_ptr())
        }),
        bare("smtp_client_set_tls_verify", InvalidArgument, "value 2", |s| smtp_client_set_tls_verify(s, 2)),
        bare("smtp_client_set_tls_policy", InvalidArgument, "value 3", |s| smtp_client_set_tls_policy(s, 3)),
        bare("smtp_client_set_pipelining", InvalidArgument, "value 2", |s| smtp_client_set_pipelining(s, 2)),
        bare("smtp_client_set_chunking", InvalidArgument, "value -1", |s| smtp_client_set_chunking(s, -1)),
        bare("smtp_client_set_cleartext_credentials", InvalidArgument, "value 2", |s| {
            smtp_client_set_cleartext_credentials(s, 2)
        }),
        bare("smtp_client_set_local_peer", InvalidArgument, "value 2", |s| smtp_client_set_local_peer(s, 2)),
        bare("smtp_client_set_login_mechanisms", InvalidArgument, "an unknown mechanism", |s| {
            smtp_client_set_login_mechanisms(s, c"PLAIN FOO".as_ptr())
        }),
        bare("smtp_client_set_login_mechanisms", InvalidUtf8, "not UTF-8", |s| {
            smtp_client_set_login_mechanisms(s, c"\xff".as_ptr())
        }),
        bare("smtp_client_feature_get", InvalidArgument, "index out of range", |s| {
            smtp_client_feature_get(s, 0, null_mut(), null_mut())
        }),
        bare("smtp_client_refused_get", InvalidArgument, "index out of range", |s| {
            smtp_client_refused_get(s, 0, null_mut(), null_mut(), null_mut())
        }),
        bare("smtp_client_recipient_get", InvalidArgument, "index out of range", |s| {
            smtp_client_recipient_get(s, 0, null_mut(), null_mut(), null_mut(), null_mut())
        }),
        bare("smtp_send_options_add_mail_option", InvalidArgument, "a space", |_| {
            with_options(|o| smtp_send_options_add_mail_option(o, c"A B".as_ptr()))
        }),
        bare("smtp_send_options_add_mail_option", InvalidUtf8, "not UTF-8", |_| {
            with_options(|o| smtp_send_options_add_mail_option(o, c"\xff".as_ptr()))
        }),
        bare("smtp_send_options_add_rcpt_option", InvalidArgument, "a space", |_| {
            with_options(|o| smtp_send_options_add_rcpt_option(o, c"A B".as_ptr()))
        }),
        bare("smtp_send_options_add_rcpt_option", InvalidUtf8, "not UTF-8", |_| {
            with_options(|o| smtp_send_options_add_rcpt_option(o, c"\xff".as_ptr()))
        }),
        bare("smtp_send_options_set_size_estimate", InvalidArgument, "below -1", |_| {
            with_options(|o| smtp_send_options_set_size_estimate(o, -2))
        }),
        bare("smtp_send_options_set_dsn_ret", InvalidArgument, "value 3", |_| {
            with_options(|o| smtp_send_options_set_dsn_ret(o, 3))
        }),
        bare("smtp_send_options_set_dsn_envid", InvalidArgument, "101 characters", |_| {
            with_options(|o| {
                smtp_send_options_set_dsn_envid(o, c"0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789X".as_ptr())
            })
        }),
        bare("smtp_send_options_set_dsn_envid", InvalidUtf8, "not UTF-8", |_| {
            with_options(|o| smtp_send_options_set_dsn_envid(o, c"\xff".as_ptr()))
        }),
        bare("smtp_send_options_set_dsn_notify", InvalidArgument, "NEVER with FAILURE", |_| {
            with_options(|o| smtp_send_options_set_dsn_notify(o, c"b@x".as_ptr(), 8 | 2))
        }),
        bare("smtp_send_options_set_dsn_notify", InvalidUtf8, "not UTF-8", |_| {
            with_options(|o| smtp_send_options_set_dsn_notify(o, c"\xff".as_ptr(), 1))
        }),
        bare("smtp_send_options_set_dsn_orcpt", InvalidArgument, "an empty address", |_| {
            with_options(|o| smtp_send_options_set_dsn_orcpt(o, c"b@x".as_ptr(), c"".as_ptr()))
        }),
        bare("smtp_send_options_set_dsn_orcpt", InvalidUtf8, "not UTF-8", |_| {
            with_options(|o| smtp_send_options_set_dsn_orcpt(o, c"b@x".as_ptr(), c"\xff".as_ptr()))
        }),
        bare("smtp_send_options_set_dsn_policy", InvalidArgument, "value 2", |_| {
            with_options(|o| smtp_send_options_set_dsn_policy(o, 2))
        }),
        bare("smtp_send_options_set_requiretls", InvalidArgument, "a raw REQUIRETLS option", |_| {
            with_options(|o| {
                assert_eq!(smtp_send_options_add_mail_option(o, c"REQUIRETLS".as_ptr()), smtp_result::Ok);
                smtp_send_options_set_requiretls(o, true)
            })
        }),
    ]
}

fn with_options(f: fn(*mut smtp_send_options) -> smtp_result) -> smtp_result {
    let o = smtp_send_options_new();
    let rc = f(o);
    smtp_send_options_free(o);
    rc
}

/// The codes of the overview, by shape: NULL and foreign handles for every function, re-entry
/// and a second thread for the mutating ones.
fn shape_scenarios() -> Vec<Scenario> {
    use smtp_result::*;
    let mut out = Vec::new();
    for (function, call) in mutating_calls() {
        out.push(scenario(function, NullArgument, "NULL session", move || call(null_mut()) as i32));
        out.push(scenario(function, BadHandle, "foreign handle", move || {
            let mut foreign = [0u64; 64];
            call(foreign.as_mut_ptr().cast()) as i32
        }));
        out.push(scenario(function, ReentrantCall, "from the session's own callback", move || {
            inside_callback(call, false)
        }));
        out.push(scenario(function, ConcurrentCall, "from a second thread during a call", move || {
            inside_callback(call, true)
        }));
    }
    for function in INDEX_GETTERS {
        let call: Call = match function {
            "smtp_client_feature_get" => |s| smtp_client_feature_get(s, 0, null_mut(), null_mut()),
            "smtp_client_refused_get" => |s| smtp_client_refused_get(s, 0, null_mut(), null_mut(), null_mut()),
            _ => |s| smtp_client_recipient_get(s, 0, null_mut(), null_mut(), null_mut(), null_mut()),
        };
        out.push(scenario(function, BadHandle, "NULL session", move || call(null_mut()) as i32));
    }
    type OptionsCall = fn(*mut smtp_send_options) -> smtp_result;
    let options: [(&str, OptionsCall); 9] = [
        ("smtp_send_options_add_mail_option", |o| smtp_send_options_add_mail_option(o, c"SMTPUTF8".as_ptr())),
        ("smtp_send_options_add_rcpt_option", |o| smtp_send_options_add_rcpt_option(o, c"NOTIFY=NEVER".as_ptr())),
        ("smtp_send_options_set_size_estimate", |o| smtp_send_options_set_size_estimate(o, 10)),
        ("smtp_send_options_set_dsn_ret", |o| smtp_send_options_set_dsn_ret(o, smtp_dsn_ret::Full as i32)),
        ("smtp_send_options_set_dsn_envid", |o| smtp_send_options_set_dsn_envid(o, c"id".as_ptr())),
        ("smtp_send_options_set_dsn_notify", |o| smtp_send_options_set_dsn_notify(o, c"b@x".as_ptr(), 1)),
        ("smtp_send_options_set_dsn_orcpt", |o| smtp_send_options_set_dsn_orcpt(o, c"b@x".as_ptr(), c"b@x".as_ptr())),
        ("smtp_send_options_set_dsn_policy", |o| smtp_send_options_set_dsn_policy(o, 1)),
        ("smtp_send_options_set_requiretls", |o| smtp_send_options_set_requiretls(o, true)),
    ];
    for (function, call) in options {
        out.push(scenario(function, NullArgument, "NULL options", move || call(null_mut()) as i32));
        out.push(scenario(function, BadHandle, "foreign options", move || {
            let mut foreign = [0u64; 16];
            call(foreign.as_mut_ptr().cast()) as i32
        }));
    }
    out
}

// ------------------------------------------------------------------------------- non-blocking

/// Every scenario of a blocking export with a twin, again for the twin: the same session, peer
/// and arguments, the call started and driven to its end; the same code expected.
fn driven_twins(scenarios: Vec<Scenario>) -> Vec<Scenario> {
    scenarios
        .into_iter()
        .filter_map(|s| {
            let (_, start) = TWINS.iter().find(|(blocking, _)| *blocking == s.function)?;
            let name = format!("{start} {} ({})", name_of(s.code as i32), s.what);
            let run = s.run;
            Some(Scenario {
                function: start,
                code: s.code,
                what: s.what,
                run: Box::new(move || with_twin(Twin::Driven(name), run)),
            })
        })
        .collect()
}

/// The valid call of the blocking export `function`, from the tables above.
fn valid_call(function: &str) -> Call {
    mutating_calls().into_iter().find(|(f, _)| *f == function).map(|(_, call)| call).unwrap()
}

/// What only the non-blocking functions return: a start's first `IN_PROGRESS`, a start while
/// an operation runs, a step with none.
fn nonblocking() -> Vec<Scenario> {
    use smtp_result::*;
    let mut out = Vec::new();
    for (blocking, start) in TWINS {
        let call = valid_call(blocking);
        // the session is freed under the operation left in progress
        let first_return = move || {
            let s = Session::new(smtp_client_kind::Smtp);
            let port = slow_link(TestBed::get().smtp_port);
            if blocking == "smtp_client_connect" {
                return with_twin(Twin::Started, || connect(s.0, c"127.0.0.1".as_ptr(), port));
            }
            step!(smtp_client_connect(s.0, c"127.0.0.1".as_ptr(), port));
            with_twin(Twin::Started, || call(s.0))
        };
        // over the slow link; a loaded machine can still stall this thread longer: a few tries
        out.push(scenario(start, InProgress, "the first return, against Postfix", move || {
            let mut rc = first_return();
            for _ in 1..5 {
                if rc == InProgress {
                    break;
                }
                rc = first_return();
            }
            rc as i32
        }));
        out.push(scenario(start, BadState, "a connect in progress (no greeting yet)", move || {
            let silent = TcpListener::bind("127.0.0.1:0").unwrap();
            let port = silent.local_addr().unwrap().port();
            let s = Session::new(smtp_client_kind::Smtp);
            let rc = smtp_client_start_connect(s.0, c"127.0.0.1".as_ptr(), port);
            if rc != InProgress {
                return rc as i32;
            }
            with_twin(Twin::Started, || call(s.0)) as i32
        }));
    }
    out.push(bare("smtp_client_step", BadState, "no operation in progress", |s| smtp_client_step(s)));
    out
}

// ------------------------------------------------------------------------------- the sender

type SenderCall = fn(*mut smtp_sender) -> smtp_result;

/// `call` on a new SMTP sender, with `url` set (when given) and, when `added`, one message
/// added; no message is sent unless `call` steps or runs it.
fn on_sender(url: Option<&'static CStr>, added: bool, call: SenderCall) -> i32 {
    let s = smtp_sender_new(smtp_client_kind::Smtp as i32);
    let rc = (|| {
        if let Some(url) = url {
            step!(smtp_sender_set_url(s, url.as_ptr()));
        }
        if added {
            step!(sender_add_one(s));
        }
        call(s)
    })();
    smtp_sender_free(s);
    rc as i32
}

fn sender_add_one(s: *mut smtp_sender) -> smtp_result {
    smtp_sender_add(s, FROM.as_ptr(), TO.as_ptr(), 1, MSG.as_ptr(), MSG.len(), null(), null_mut())
}

/// A URL nothing is sent to: port 1 of the loopback address (the scenarios that use it never
/// step, except the one that only needs the first step).
const NOWHERE: &CStr = c"smtp://127.0.0.1:1";

fn sender_scenarios() -> Vec<Scenario> {
    use smtp_result::*;
    let mut out = Vec::new();
    let setters: [(&'static str, SenderCall); 6] = [
        ("smtp_sender_set_url", |s| smtp_sender_set_url(s, NOWHERE.as_ptr())),
        ("smtp_sender_set_tls_ca_file", |s| smtp_sender_set_tls_ca_file(s, null())),
        ("smtp_sender_set_timeout_ms", |s| smtp_sender_set_timeout_ms(s, 1000)),
        ("smtp_sender_set_max_connections", |s| smtp_sender_set_max_connections(s, 2)),
        ("smtp_sender_set_max_messages_per_connection", |s| smtp_sender_set_max_messages_per_connection(s, 2)),
        ("smtp_sender_set_retries", |s| smtp_sender_set_retries(s, 2)),
    ];
    let mut shaped: Vec<(&'static str, SenderCall)> = setters.to_vec();
    shaped.extend([
        ("smtp_sender_add", sender_add_one as SenderCall),
        ("smtp_sender_step", |s| smtp_sender_step(s)),
        ("smtp_sender_run", |s| smtp_sender_run(s)),
        ("smtp_sender_outcome_recipient_get", |s| {
            smtp_sender_outcome_recipient_get(s, 0, null_mut(), null_mut(), null_mut(), null_mut())
        }),
    ]);
    for (function, call) in shaped {
        out.push(scenario(function, NullArgument, "NULL sender", move || call(null_mut()) as i32));
        out.push(scenario(function, BadHandle, "foreign sender", move || {
            let mut foreign = [0u64; 64];
            call(foreign.as_mut_ptr().cast()) as i32
        }));
    }
    for (function, call) in setters {
        out.push(scenario(function, BadState, "after the first add", move || on_sender(Some(NOWHERE), true, call)));
    }
    out.extend([
        scenario("smtp_sender_set_url", InvalidArgument, "a bad port", || {
            on_sender(None, false, |s| smtp_sender_set_url(s, c"smtp://host:99999".as_ptr()))
        }),
        scenario("smtp_sender_set_url", InvalidUtf8, "not UTF-8", || {
            on_sender(None, false, |s| smtp_sender_set_url(s, c"smtp://\xff".as_ptr()))
        }),
        scenario("smtp_sender_set_url", NullArgument, "NULL url", || {
            on_sender(None, false, |s| smtp_sender_set_url(s, null()))
        }),
        scenario("smtp_sender_set_tls_ca_file", InvalidArgument, "a missing file", || {
            on_sender(None, false, |s| smtp_sender_set_tls_ca_file(s, c"/nonexistent/ca.pem".as_ptr()))
        }),
        scenario("smtp_sender_set_tls_ca_file", InvalidUtf8, "not UTF-8", || {
            on_sender(None, false, |s| smtp_sender_set_tls_ca_file(s, c"/\xff".as_ptr()))
        }),
        scenario("smtp_sender_set_max_connections", InvalidArgument, "0", || {
            on_sender(None, false, |s| smtp_sender_set_max_connections(s, 0))
        }),
        scenario("smtp_sender_set_max_messages_per_connection", InvalidArgument, "0", || {
            on_sender(None, false, |s| smtp_sender_set_max_messages_per_connection(s, 0))
        }),
        scenario("smtp_sender_add", BadState, "no URL", || on_sender(None, false, sender_add_one)),
        scenario("smtp_sender_add", InvalidArgument, "no recipients", || {
            on_sender(Some(NOWHERE), false, |s| {
                smtp_sender_add(s, FROM.as_ptr(), TO.as_ptr(), 0, MSG.as_ptr(), MSG.len(), null(), null_mut())
            })
        }),
        scenario("smtp_sender_add", InvalidUtf8, "not UTF-8", || {
            on_sender(Some(NOWHERE), false, |s| {
                let to = [c"\xff@example.test".as_ptr()];
                smtp_sender_add(s, FROM.as_ptr(), to.as_ptr(), 1, MSG.as_ptr(), MSG.len(), null(), null_mut())
            })
        }),
        scenario("smtp_sender_add", NullArgument, "NULL from", || {
            on_sender(Some(NOWHERE), false, |s| {
                smtp_sender_add(s, null(), TO.as_ptr(), 1, MSG.as_ptr(), MSG.len(), null(), null_mut())
            })
        }),
        scenario("smtp_sender_step", Ok, "nothing added", || on_sender(Some(NOWHERE), false, |s| smtp_sender_step(s))),
        scenario("smtp_sender_step", InProgress, "a server that has not greeted yet", || {
            // the kernel accepts the connection; nobody answers while the scenario runs
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let url = CString::new(format!("smtp://127.0.0.1:{}", listener.local_addr().unwrap().port())).unwrap();
            let s = smtp_sender_new(smtp_client_kind::Smtp as i32);
            let rc = match smtp_sender_set_url(s, url.as_ptr()) {
                smtp_result::Ok => match sender_add_one(s) {
                    smtp_result::Ok => smtp_sender_step(s),
                    rc => rc,
                },
                rc => rc,
            };
            smtp_sender_free(s);
            rc as i32
        }),
        scenario("smtp_sender_run", Ok, "nothing added", || on_sender(Some(NOWHERE), false, |s| smtp_sender_run(s))),
        scenario("smtp_sender_outcome_recipient_get", InvalidArgument, "no current outcome", || {
            on_sender(None, false, |s| {
                smtp_sender_outcome_recipient_get(s, 0, null_mut(), null_mut(), null_mut(), null_mut())
            })
        }),
    ]);
    out
}

// ------------------------------------------------------------------------------- the test

/// What a scenario gave: function, expected code, what, the code returned, the last error
/// message, how long it took.
type Outcome = (&'static str, smtp_result, String, i32, String, Duration);

/// Run `scenarios`, a few at a time (most wait on a socket).
fn run(scenarios: Vec<Scenario>) -> Vec<Outcome> {
    let total = scenarios.len();
    let queue = Arc::new(Mutex::new(scenarios));
    let results = Arc::new(Mutex::new(Vec::new()));
    let workers: Vec<_> = (0..12)
        .map(|_| {
            let (queue, results) = (Arc::clone(&queue), Arc::clone(&results));
            thread::spawn(move || loop {
                let Some(s) = queue.lock().unwrap().pop() else { return };
                let (function, code, what) = (s.function, s.code, s.what);
                let t = Instant::now();
                let (got, message) = (s.run)();
                results.lock().unwrap().push((function, code, what, got, message, t.elapsed()));
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let results = std::mem::take(&mut *results.lock().unwrap());
    assert_eq!(results.len(), total, "a scenario panicked");
    results
}

#[test]
fn every_listed_code_is_provoked_and_nothing_else_is_returned() {
    let lists = own_lists();
    // what must be provoked: each function's own list, and the codes of its shape
    let mut required: BTreeSet<(String, i32)> = BTreeSet::new();
    for (function, codes) in &lists {
        required.extend(codes.iter().map(|&c| (function.clone(), c)));
        required.extend(shape_codes(function).into_iter().map(|c| (function.clone(), c as i32)));
    }
    let mut tables: BTreeSet<&str> = mutating_calls().iter().map(|(f, _)| *f).collect();
    tables.extend(TWINS.iter().map(|(_, start)| *start));
    for function in lists.keys() {
        let f = function.as_str();
        assert!(
            tables.contains(f)
                || INDEX_GETTERS.contains(&f)
                || OTHER_OBJECTS.contains(&f)
                || SENDER_FUNCTIONS.contains(&f),
            "{f} returns a result code but is in no table of this file"
        );
    }

    let blocking = || {
        let mut scenarios = shape_scenarios();
        scenarios.extend(connection_families(&lists));
        scenarios.extend(specific());
        scenarios
    };
    let mut scenarios = blocking();
    scenarios.extend(driven_twins(blocking()));
    scenarios.extend(nonblocking());
    scenarios.extend(sender_scenarios());

    // every scenario is for a listed pair, every listed pair has a scenario; except that the
    // codes of smtp_client_step's own list (the union of the twins') count as provoked when
    // the step of some driven scenario returned them (checked after the run)
    let mut problems = Vec::new();
    let covered: BTreeSet<(String, i32)> = scenarios.iter().map(|s| (s.function.to_owned(), s.code as i32)).collect();
    let step = "smtp_client_step";
    let by_step = |function: &str, code: i32| function == step && lists[function].contains(&code);
    for s in &scenarios {
        if !required.contains(&(s.function.to_owned(), s.code as i32)) {
            problems.push(format!(
                "{} {}: a scenario for a code its documentation does not list",
                s.function,
                name_of(s.code as i32)
            ));
        }
    }
    for (function, code) in &required {
        if !covered.contains(&(function.clone(), *code)) && !by_step(function, *code) {
            problems.push(format!("{function} {}: listed, but no scenario provokes it", name_of(*code)));
        }
    }

    let started = Instant::now();
    let total = scenarios.len();
    let mut results = run(scenarios);
    // A fast server can answer before the start's first step looks, and the operation then
    // ends in its start, not in a step: the driven scenarios of a code step has not returned
    // yet run again, a few times.
    let step_missing = || -> BTreeSet<i32> {
        let returned = STEP_CODES.lock().unwrap();
        lists[step]
            .iter()
            .copied()
            .filter(|&c| !covered.contains(&(step.to_owned(), c)) && !returned.contains_key(&c))
            .collect()
    };
    let mut reruns = 0;
    for _ in 0..5 {
        let missing = step_missing();
        let again: Vec<Scenario> =
            driven_twins(blocking()).into_iter().filter(|s| missing.contains(&(s.code as i32))).collect();
        if again.is_empty() {
            break;
        }
        reruns += again.len();
        results.extend(run(again));
    }

    for (function, code, what, got, message, _) in &results {
        if *got != *code as i32 {
            // a twin that differs: what the blocking export said in the same scenario
            let blocking = TWINS
                .iter()
                .find(|(_, start)| start == function)
                .and_then(|(b, _)| results.iter().find(|r| r.0 == *b && r.1 == *code && r.2 == *what))
                .map(|r| format!("; {} returned {} ({})", r.0, name_of(r.3), r.4))
                .unwrap_or_default();
            problems.push(format!(
                "{function} {} ({what}): returned {} ({message}){blocking}",
                name_of(*code as i32),
                name_of(*got)
            ));
        }
    }
    // what smtp_client_step returned: each code listed, each listed code returned
    for (code, scenario) in STEP_CODES.lock().unwrap().iter() {
        if !required.contains(&(step.to_owned(), *code)) {
            problems.push(format!("{step} returned {}, not listed ({scenario})", name_of(*code)));
        }
    }
    for code in step_missing() {
        problems.push(format!("{step} {}: listed, but no driven scenario's step returns it", name_of(code)));
    }
    let slowest = results.iter().map(|r| r.5).max().unwrap_or_default();
    eprintln!(
        "{total} scenarios (and {reruns} again) for {} listed pairs in {:?} (slowest {slowest:?})",
        required.len(),
        started.elapsed()
    );
    assert!(problems.is_empty(), "{} problems:\n  {}", problems.len(), problems.join("\n  "));
}
