//! The non-blocking interface through the C ABI, as an event loop uses it: many sessions
//! driven from one thread with `poll(2)` (plain SMTP and STARTTLS with a login, to Postfix,
//! each message found in the Maildir); a streamed body whose callback has no data yet
//! (`SMTP_READ_PENDING`, `SMTP_EVENT_BODY`); `smtp_client_close()` cancelling an operation;
//! every other mutating call refused with `BAD_STATE` while one runs, the getters unchanged;
//! `smtp_client_free()` while one runs (run under AddressSanitizer by scripts/test.sh); a
//! server that never answers (`TIMEOUT` after the deadline, with the blocking call's
//! message); and a host name, resolved on the resolver threads (the descriptor is first the
//! resolver's, then the socket's).
//!
//! Which code each export may return is `tests/capi_error_lists.rs`'s business; this file
//! checks the driver's own rules.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{c_char, c_void, CStr, CString};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::ptr::{null, null_mut};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use smtpclient::capi::{auth::*, nonblocking::*, result::*, session::*, tls::*};
use support::{unique_marker, TestBed};

const WAIT: Duration = Duration::from_secs(20);
const READ: u32 = smtp_event::Read as u32;
const WRITE: u32 = smtp_event::Write as u32;
const BODY: u32 = smtp_event::Body as u32;
/// `SMTP_READ_PENDING` of the header.
const READ_PENDING: i64 = i64::MIN;

// ------------------------------------------------------------------------------- helpers

/// An owned `smtp_client*`, freed on drop.
struct Session(*mut smtp_client);

impl Session {
    fn new() -> Session {
        let s = Session(smtp_client_new(smtp_client_kind::Smtp as i32));
        assert!(!s.0.is_null());
        s.ok(smtp_client_set_local_hostname(s.0, c"client.example.test".as_ptr()), "local hostname");
        s.ok(smtp_client_set_timeout_ms(s.0, 20_000), "timeout");
        s
    }
    /// A session that trusts the test bed's CA.
    fn with_ca() -> Session {
        let s = Session::new();
        let ca = CString::new(TestBed::get().smtp_ca_file.to_str().unwrap()).unwrap();
        s.ok(smtp_client_set_tls_ca_file(s.0, ca.as_ptr()), "CA file");
        s
    }
    fn message(&self) -> String {
        // SAFETY: a NUL-terminated string borrowed from the session, copied at once.
        unsafe { CStr::from_ptr(smtp_client_last_error_message(self.0)) }.to_string_lossy().into_owned()
    }
    #[track_caller]
    fn ok(&self, rc: smtp_result, what: &str) {
        assert_eq!(rc, smtp_result::Ok, "{what}: {}", self.message());
    }
    /// What the session waits for now: (fd, events, timeout_ms, in_progress).
    fn wait(&self) -> (i32, u32, i64, bool) {
        (
            smtp_client_fd(self.0),
            smtp_client_events(self.0),
            smtp_client_timeout_ms(self.0),
            smtp_client_in_progress(self.0),
        )
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        smtp_client_free(self.0);
    }
}

/// `poll(2)` on `fd` for the `smtp_event`s in `events`, at most `timeout_ms` (-1: no limit);
/// whether `fd` became ready.
fn poll_one(fd: i32, events: u32, timeout_ms: i64) -> bool {
    let mut pfd = libc::pollfd { fd, events: poll_events(events), revents: 0 };
    // SAFETY: one valid pollfd for the duration of the call.
    unsafe { libc::poll(&mut pfd, 1, poll_timeout(timeout_ms)) > 0 }
}

fn poll_events(events: u32) -> libc::c_short {
    let mut out = 0;
    if events & READ != 0 {
        out |= libc::POLLIN;
    }
    if events & WRITE != 0 {
        out |= libc::POLLOUT;
    }
    out
}

/// `smtp_client_timeout_ms()` as poll's timeout: -1 (none) becomes a bounded wait, so that a
/// stuck operation fails the test rather than hanging it.
fn poll_timeout(timeout_ms: i64) -> i32 {
    if timeout_ms < 0 {
        30_000
    } else {
        timeout_ms.min(30_000) as i32
    }
}

/// Drive the operation `started` began to its end: poll what it waits for, step. Each wait
/// seen on the way (fd, events) is passed to `seen`. The final code.
fn drive(s: &Session, started: smtp_result, mut seen: impl FnMut(i32, u32)) -> smtp_result {
    let mut rc = started;
    let deadline = Instant::now() + Duration::from_secs(40);
    while rc == smtp_result::InProgress {
        assert!(Instant::now() < deadline, "an operation still in progress after 40 s");
        let (fd, events, timeout, in_progress) = s.wait();
        assert!(in_progress, "IN_PROGRESS but smtp_client_in_progress() is false");
        assert!(fd >= 0 && events & (READ | WRITE) != 0, "waiting for nothing: fd {fd}, events {events}");
        seen(fd, events);
        poll_one(fd, events, timeout);
        rc = smtp_client_step(s.0);
    }
    assert_eq!(s.wait(), (-1, 0, -1, false), "the getters once the operation ended");
    rc
}

/// The address family of the socket `fd` (AF_UNIX, AF_INET, AF_INET6), or -1.
fn family(fd: i32) -> i32 {
    // SAFETY: getsockname writes at most `len` bytes into the storage.
    unsafe {
        let mut addr: libc::sockaddr_storage = std::mem::zeroed();
        let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        if libc::getsockname(fd, (&raw mut addr).cast(), &mut len) != 0 {
            return -1;
        }
        i32::from(addr.ss_family)
    }
}

/// A TCP port on which the kernel completes connections that nobody ever accepts or
/// answers, while the returned listener lives.
fn silent_port() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

/// A server for one connection on a fresh port: it sends `greeting` (if any) `greet_after` the
/// connection, answers the first lines it reads with `replies` (one each, CRLF added), then
/// reads on and never answers again, until the client closes. What it read, and the port.
fn mute_after(
    greeting: Option<&'static str>,
    greet_after: Duration,
    replies: &'static [&'static str],
) -> (thread::JoinHandle<String>, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let t = thread::spawn(move || {
        let Ok((mut tcp, _)) = listener.accept() else { return String::new() };
        tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        thread::sleep(greet_after);
        if let Some(g) = greeting {
            let _ = tcp.write_all(format!("{g}\r\n").as_bytes());
        }
        let (mut seen, mut answered, mut lines) = (Vec::new(), 0, 0);
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = tcp.read(&mut buf) {
            seen.extend_from_slice(&buf[..n]);
            // answer lines while there are replies (TLS records after a STARTTLS reply are read,
            // never answered)
            while answered < replies.len() {
                let Some(end) = seen[lines..].windows(2).position(|w| w == b"\r\n") else { break };
                lines += end + 2;
                let _ = tcp.write_all(format!("{}\r\n", replies[answered]).as_bytes());
                answered += 1;
            }
        }
        String::from_utf8_lossy(&seen).into_owned()
    });
    (t, port)
}

fn message(marker: &str) -> Vec<u8> {
    format!(
        "From: alice@example.test\r\nTo: alice@example.test\r\nSubject: {marker}\r\n\r\nsent without blocking\r\n{marker}\r\n"
    )
    .into_bytes()
}

const ALICE: &CStr = c"alice@example.test";

/// A debug callback counting its calls in an `AtomicUsize`.
unsafe extern "C" fn count_debug(userdata: *mut c_void, _: i32, _: *const u8, _: usize) {
    // SAFETY: the test's AtomicUsize, alive as long as the session.
    unsafe { &*userdata.cast::<AtomicUsize>() }.fetch_add(1, Ordering::SeqCst);
}

// ------------------------------------------------------------------------------- many sessions

/// One session's way through its operations.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    Connect,
    Starttls,
    Login,
    Sendmail,
    Quit,
}

struct Job {
    s: Session,
    tls: bool,
    marker: String,
    ops: Vec<Op>,
    next: usize,
    /// The operation under way, if any.
    running: Option<Op>,
    steps: usize,
}

impl Job {
    /// Start operations until one is in progress or all are done.
    fn start_next(&mut self) {
        while self.next < self.ops.len() {
            let op = self.ops[self.next];
            self.next += 1;
            let bed = TestBed::get();
            let port = if self.tls { bed.smtp_submission_port } else { bed.smtp_port };
            let rc = match op {
                Op::Connect => smtp_client_start_connect(self.s.0, c"127.0.0.1".as_ptr(), port),
                Op::Starttls => smtp_client_start_starttls(self.s.0),
                Op::Login => smtp_client_start_login(
                    self.s.0,
                    c"alice".as_ptr(),
                    c"alice-pass".as_ptr(),
                    smtp_initial_response::Send as i32,
                ),
                Op::Sendmail => {
                    let msg = message(&self.marker);
                    let to = [ALICE.as_ptr()];
                    // the message is copied: it may go at once
                    smtp_client_start_sendmail(
                        self.s.0,
                        ALICE.as_ptr(),
                        to.as_ptr(),
                        1,
                        msg.as_ptr(),
                        msg.len(),
                        null(),
                    )
                }
                Op::Quit => smtp_client_start_quit(self.s.0),
            };
            match rc {
                smtp_result::InProgress => {
                    self.running = Some(op);
                    return;
                }
                other => self.ended(op, other),
            }
        }
    }
    fn ended(&mut self, op: Op, rc: smtp_result) {
        assert_eq!(rc, smtp_result::Ok, "{} {op:?}: {}", self.marker, self.s.message());
        if op == Op::Starttls {
            assert!(smtp_client_tls_active(self.s.0) && smtp_client_tls_peer_verified(self.s.0));
        }
        self.running = None;
    }
}

#[test]
fn twenty_sessions_from_one_thread_half_with_starttls() {
    let bed = TestBed::get();
    let run = unique_marker("nb-many");
    let mut jobs: Vec<Job> = (0..20)
        .map(|i| {
            let tls = i % 2 == 1;
            let ops = if tls {
                vec![Op::Connect, Op::Starttls, Op::Login, Op::Sendmail, Op::Quit]
            } else {
                vec![Op::Connect, Op::Sendmail, Op::Quit]
            };
            let s = if tls { Session::with_ca() } else { Session::new() };
            Job { s, tls, marker: format!("{run}-{i:02}"), ops, next: 0, running: None, steps: 0 }
        })
        .collect();
    let started = Instant::now();
    for j in &mut jobs {
        j.start_next();
    }
    let mut polls = 0;
    let mut most_waiting = 0;
    loop {
        let waiting: Vec<usize> = (0..jobs.len()).filter(|&i| jobs[i].running.is_some()).collect();
        if waiting.is_empty() {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(45), "20 sessions still running after 45 s");
        most_waiting = most_waiting.max(waiting.len());
        let mut pfds: Vec<libc::pollfd> = waiting
            .iter()
            .map(|&i| {
                let (fd, events, _, in_progress) = jobs[i].s.wait();
                assert!(
                    in_progress && fd >= 0 && events & (READ | WRITE) != 0,
                    "{}: fd {fd} events {events}",
                    jobs[i].marker
                );
                libc::pollfd { fd, events: poll_events(events), revents: 0 }
            })
            .collect();
        let timeout =
            waiting.iter().map(|&i| smtp_client_timeout_ms(jobs[i].s.0)).filter(|&t| t >= 0).min().unwrap_or(-1);
        // SAFETY: pfds is a valid array of pfds.len() entries for the duration of the call.
        unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, poll_timeout(timeout)) };
        polls += 1;
        for (k, &i) in waiting.iter().enumerate() {
            let expired = smtp_client_timeout_ms(jobs[i].s.0) == 0;
            if pfds[k].revents == 0 && !expired {
                continue;
            }
            let job = &mut jobs[i];
            job.steps += 1;
            let rc = smtp_client_step(job.s.0);
            if rc != smtp_result::InProgress {
                let op = job.running.unwrap();
                job.ended(op, rc);
                job.start_next();
            }
        }
    }
    let elapsed = started.elapsed();
    for j in &jobs {
        assert_eq!(j.next, j.ops.len(), "{} did not run every operation", j.marker);
        assert!(!smtp_client_is_connected(j.s.0));
        let mail = bed.wait_for_postfix_mail("alice", &j.marker, WAIT);
        assert!(mail.is_some(), "{} not delivered: {}", j.marker, bed.postfix_log_tail(20));
    }
    let steps: usize = jobs.iter().map(|j| j.steps).sum();
    eprintln!(
        "20 sessions (10 with STARTTLS and login) in {elapsed:?}: {polls} polls, {steps} steps, up to {most_waiting} waiting at once"
    );
}

// ------------------------------------------------------------------------------- streamed body

/// The body callback's state: the message, how far it got, and whether the test has said
/// "data is ready" since the callback last returned `SMTP_READ_PENDING`.
struct Body {
    msg: Vec<u8>,
    pos: usize,
    ready: bool,
    /// How many times the callback may still say it has no data.
    pending_left: u32,
    pendings: u32,
    calls: usize,
}

unsafe extern "C" fn read_body(userdata: *mut c_void, buf: *mut u8, capacity: usize) -> i64 {
    // SAFETY: the test's Body, alive until the operation has ended or been cancelled.
    let body = unsafe { &mut *userdata.cast::<Body>() };
    body.calls += 1;
    if !body.ready && body.pending_left > 0 {
        body.pending_left -= 1;
        body.pendings += 1;
        return READ_PENDING;
    }
    // one small piece at a time, then "no data yet" again
    let n = capacity.min(body.msg.len() - body.pos).min(40);
    // SAFETY: buf holds capacity bytes.
    unsafe { std::ptr::copy_nonoverlapping(body.msg.as_ptr().add(body.pos), buf, n) };
    body.pos += n;
    body.ready = false;
    n as i64
}

#[test]
fn a_streamed_body_with_no_data_yet_waits_for_the_next_step() {
    let bed = TestBed::get();
    let marker = unique_marker("nb-pending");
    let s = Session::new();
    s.ok(smtp_client_connect(s.0, c"127.0.0.1".as_ptr(), bed.smtp_port), "connect");
    let mut body = Body { msg: message(&marker), pos: 0, ready: false, pending_left: u32::MAX, pendings: 0, calls: 0 };
    let to = [ALICE.as_ptr()];
    let mut rc = smtp_client_start_sendmail_stream(
        s.0,
        ALICE.as_ptr(),
        to.as_ptr(),
        1,
        Some(read_body),
        (&raw mut body).cast(),
        null(),
    );
    let mut body_waits = 0;
    while rc == smtp_result::InProgress {
        let (fd, events, timeout, in_progress) = s.wait();
        assert!(in_progress);
        if events & BODY != 0 {
            // waiting for the callback only: no descriptor, no deadline
            assert_eq!((fd, events, timeout), (-1, BODY, -1), "the wait for the body callback");
            body_waits += 1;
            // every other time, still no data: the callback is asked again at the next step
            body.ready = body_waits % 2 == 0;
        } else {
            assert!(fd >= 0 && events & (READ | WRITE) != 0);
            poll_one(fd, events, timeout);
        }
        rc = smtp_client_step(s.0);
    }
    s.ok(rc, "sendmail_stream");
    // one piece of at most 40 bytes per "data is ready", each after two waits; a "no data yet"
    // just after a piece sends what was gathered instead of waiting
    // (the end of the body, 0, is one more answer after two waits)
    let pieces = body.msg.len().div_ceil(40);
    assert_eq!(body_waits, 2 * (pieces + 1), "two SMTP_EVENT_BODY waits for each piece and for the end");
    assert!(body.pendings as usize >= body_waits, "{} SMTP_READ_PENDING for {body_waits} waits", body.pendings);
    assert_eq!(body.pos, body.msg.len(), "the whole message was read");
    s.ok(smtp_client_quit(s.0), "quit");
    let mail = bed.wait_for_postfix_mail("alice", &marker, WAIT).expect("delivered");
    // the whole body, in order (the Maildir has LF line ends)
    let mail = String::from_utf8_lossy(&mail).replace("\r\n", "\n");
    assert!(mail.contains(&format!("\n\nsent without blocking\n{marker}\n")), "{mail}");
    eprintln!("{} body callback calls, {body_waits} waits for the body", body.calls);
}

// ------------------------------------------------------------------------------- cancel

#[test]
fn close_cancels_an_operation_and_the_session_keeps_its_settings() {
    let bed = TestBed::get();
    let s = Session::with_ca();
    let events = AtomicUsize::new(0);
    s.ok(smtp_client_set_debuglevel(s.0, 1), "debuglevel");
    s.ok(smtp_client_set_debug_callback(s.0, Some(count_debug), (&raw const events).cast_mut().cast(), None), "debug");

    // mid-way through a send on the submission port: after STARTTLS and the login, the body
    // callback has no data yet
    s.ok(smtp_client_connect(s.0, c"127.0.0.1".as_ptr(), bed.smtp_submission_port), "connect");
    s.ok(smtp_client_starttls(s.0), "starttls");
    s.ok(
        smtp_client_login(s.0, c"alice".as_ptr(), c"alice-pass".as_ptr(), smtp_initial_response::Send as i32),
        "login",
    );
    let marker = unique_marker("nb-cancelled");
    let mut body = Body { msg: message(&marker), pos: 0, ready: false, pending_left: u32::MAX, pendings: 0, calls: 0 };
    let to = [ALICE.as_ptr()];
    let mut rc = smtp_client_start_sendmail_stream(
        s.0,
        ALICE.as_ptr(),
        to.as_ptr(),
        1,
        Some(read_body),
        (&raw mut body).cast(),
        null(),
    );
    // feed it twice, so that the transaction is under way, then leave it waiting for data
    let mut fed = 0;
    while rc == smtp_result::InProgress && !(fed == 2 && smtp_client_events(s.0) == BODY) {
        let (fd, ev, timeout, _) = s.wait();
        if ev & BODY != 0 {
            fed += 1;
            body.ready = true;
        } else {
            poll_one(fd, ev, timeout);
        }
        rc = smtp_client_step(s.0);
    }
    assert_eq!(rc, smtp_result::InProgress, "the send ended before it was cancelled: {}", s.message());
    assert!(body.pos > 0, "the transaction had begun");
    let (calls, debug_events) = (body.calls, events.load(Ordering::SeqCst));

    s.ok(smtp_client_close(s.0), "close while the send runs");
    assert_eq!(s.wait(), (-1, 0, -1, false), "no operation after close");
    assert!(!smtp_client_is_connected(s.0), "unconnected after close");
    assert!(!smtp_client_tls_active(s.0));
    assert_eq!(smtp_client_step(s.0), smtp_result::BadState, "a step with nothing to drive");
    assert_eq!((body.calls, events.load(Ordering::SeqCst)), (calls, debug_events), "a callback ran after the cancel");
    thread::sleep(Duration::from_millis(300));
    assert_eq!(bed.count_mail_with(&bed.postfix_maildir, "alice", &marker), 0, "the cancelled message was delivered");

    // the same session again, blocking: its CA file, hostname and debug callback are still
    // set (STARTTLS verifies Postfix's certificate with that CA)
    s.ok(smtp_client_connect(s.0, c"127.0.0.1".as_ptr(), bed.smtp_submission_port), "connect after the cancel");
    s.ok(smtp_client_starttls(s.0), "starttls after the cancel");
    assert!(smtp_client_tls_peer_verified(s.0), "verified with the session's CA file");
    s.ok(
        smtp_client_login(s.0, c"alice".as_ptr(), c"alice-pass".as_ptr(), smtp_initial_response::Send as i32),
        "login after the cancel",
    );
    let marker = unique_marker("nb-after-cancel");
    let msg = message(&marker);
    s.ok(smtp_client_sendmail(s.0, ALICE.as_ptr(), to.as_ptr(), 1, msg.as_ptr(), msg.len(), null()), "sendmail");
    s.ok(smtp_client_quit(s.0), "quit");
    assert!(events.load(Ordering::SeqCst) > debug_events, "the debug callback is still registered");
    assert_eq!(body.calls, calls, "the cancelled send's body callback was never called again");
    assert!(bed.wait_for_postfix_mail("alice", &marker, WAIT).is_some(), "{}", bed.postfix_log_tail(20));
}

// ------------------------------------------------------------------------------- BAD_STATE

type Call = Box<dyn Fn(*mut smtp_client) -> smtp_result>;

fn c(name: &'static str, f: impl Fn(*mut smtp_client) -> smtp_result + 'static) -> (&'static str, Call) {
    (name, Box::new(f))
}

unsafe extern "C" fn read_nothing(_: *mut c_void, _: *mut u8, _: usize) -> i64 {
    0
}

unsafe extern "C" fn auth_nothing(
    _: *mut c_void,
    _: *const u8,
    _: usize,
    _: bool,
    _: bool,
    _: *mut smtp_auth_response,
) -> i32 {
    smtp_auth_step::Abort as i32
}

/// Every mutating export but `smtp_client_step` and `smtp_client_close`, with valid
/// arguments.
fn mutating_calls() -> Vec<(&'static str, Call)> {
    const MSG: &[u8] = b"From: a@example.test\r\nTo: alice@example.test\r\n\r\nhi\r\n";
    let to = || [ALICE.as_ptr()];
    vec![
        c("smtp_client_set_local_hostname", |s| smtp_client_set_local_hostname(s, c"other.example.test".as_ptr())),
        c("smtp_client_set_timeout_ms", |s| smtp_client_set_timeout_ms(s, 1_000)),
        c("smtp_client_set_phase_timeout_ms", |s| smtp_client_set_phase_timeout_ms(s, smtp_phase::Rcpt as i32, 1_000)),
        c("smtp_client_set_rfc5321_timeouts", |s| smtp_client_set_rfc5321_timeouts(s)),
        c("smtp_client_set_operation_timeout_ms", |s| smtp_client_set_operation_timeout_ms(s, 1_000)),
        c("smtp_client_set_source_address", |s| smtp_client_set_source_address(s, null(), 0)),
        c("smtp_client_set_debuglevel", |s| smtp_client_set_debuglevel(s, 0)),
        c("smtp_client_set_debug_callback", |s| smtp_client_set_debug_callback(s, None, null_mut(), None)),
        c("smtp_client_set_url", |s| smtp_client_set_url(s, c"smtp://127.0.0.1:2525".as_ptr())),
        c("smtp_client_set_tls_ca_file", |s| smtp_client_set_tls_ca_file(s, null())),
        c("smtp_client_set_tls_ca_dir", |s| smtp_client_set_tls_ca_dir(s, null())),
        c("smtp_client_set_tls_client_cert", |s| smtp_client_set_tls_client_cert(s, null(), null())),
        c("smtp_client_set_tls_min_version", |s| smtp_client_set_tls_min_version(s, 13)),
        c("smtp_client_set_tls_server_name", |s| smtp_client_set_tls_server_name(s, c"localhost".as_ptr())),
        c("smtp_client_set_tls_verify", |s| smtp_client_set_tls_verify(s, 0)),
        c("smtp_client_set_tls_policy", |s| smtp_client_set_tls_policy(s, 2)),
        c("smtp_client_set_pipelining", |s| smtp_client_set_pipelining(s, 1)),
        c("smtp_client_set_chunking", |s| smtp_client_set_chunking(s, 1)),
        c("smtp_client_set_cleartext_credentials", |s| smtp_client_set_cleartext_credentials(s, 1)),
        c("smtp_client_set_local_peer", |s| smtp_client_set_local_peer(s, 1)),
        c("smtp_client_set_login_mechanisms", |s| smtp_client_set_login_mechanisms(s, c"PLAIN".as_ptr())),
        c("smtp_client_connect", |s| smtp_client_connect(s, c"127.0.0.1".as_ptr(), 2525)),
        c("smtp_client_quit", |s| smtp_client_quit(s)),
        c("smtp_client_docmd", |s| smtp_client_docmd(s, c"NOOP".as_ptr(), null())),
        c("smtp_client_helo", |s| smtp_client_helo(s, null())),
        c("smtp_client_ehlo", |s| smtp_client_ehlo(s, null())),
        c("smtp_client_ehlo_or_helo_if_needed", |s| smtp_client_ehlo_or_helo_if_needed(s)),
        c("smtp_client_verify", |s| smtp_client_verify(s, c"alice".as_ptr())),
        c("smtp_client_expn", |s| smtp_client_expn(s, c"alice".as_ptr())),
        c("smtp_client_help", |s| smtp_client_help(s, null())),
        c("smtp_client_rset", |s| smtp_client_rset(s)),
        c("smtp_client_noop", |s| smtp_client_noop(s)),
        c("smtp_client_mail", |s| smtp_client_mail(s, ALICE.as_ptr(), null(), 0)),
        c("smtp_client_rcpt", |s| smtp_client_rcpt(s, ALICE.as_ptr(), null(), 0)),
        c("smtp_client_data", |s| smtp_client_data(s, MSG.as_ptr(), MSG.len())),
        c("smtp_client_sendmail", move |s| {
            smtp_client_sendmail(s, ALICE.as_ptr(), to().as_ptr(), 1, MSG.as_ptr(), MSG.len(), null())
        }),
        c("smtp_client_sendmail_stream", move |s| {
            smtp_client_sendmail_stream(s, ALICE.as_ptr(), to().as_ptr(), 1, Some(read_nothing), null_mut(), null())
        }),
        c("smtp_client_send_message", |s| {
            smtp_client_send_message(s, MSG.as_ptr(), MSG.len(), null(), null(), 0, null())
        }),
        c("smtp_client_login", |s| {
            smtp_client_login(s, c"alice".as_ptr(), c"alice-pass".as_ptr(), smtp_initial_response::Send as i32)
        }),
        c("smtp_client_login_oauth", |s| smtp_client_login_oauth(s, 0, c"alice".as_ptr(), c"token".as_ptr())),
        c("smtp_client_auth", |s| smtp_client_auth(s, c"PLAIN".as_ptr(), Some(auth_nothing), null_mut(), 1)),
        c("smtp_client_starttls", |s| smtp_client_starttls(s)),
        c("smtp_client_start_connect", |s| smtp_client_start_connect(s, c"127.0.0.1".as_ptr(), 2525)),
        c("smtp_client_start_ehlo_or_helo_if_needed", |s| smtp_client_start_ehlo_or_helo_if_needed(s)),
        c("smtp_client_start_starttls", |s| smtp_client_start_starttls(s)),
        c("smtp_client_start_login", |s| {
            smtp_client_start_login(s, c"alice".as_ptr(), c"alice-pass".as_ptr(), smtp_initial_response::Send as i32)
        }),
        c("smtp_client_start_sendmail", move |s| {
            smtp_client_start_sendmail(s, ALICE.as_ptr(), to().as_ptr(), 1, MSG.as_ptr(), MSG.len(), null())
        }),
        c("smtp_client_start_sendmail_stream", move |s| {
            smtp_client_start_sendmail_stream(
                s,
                ALICE.as_ptr(),
                to().as_ptr(),
                1,
                Some(read_nothing),
                null_mut(),
                null(),
            )
        }),
        c("smtp_client_start_send_message", |s| {
            smtp_client_start_send_message(s, MSG.as_ptr(), MSG.len(), null(), null(), 0, null())
        }),
        c("smtp_client_start_quit", |s| smtp_client_start_quit(s)),
    ]
}

/// The exports of src/capi whose guard is `session_call` (every mutating call an operation in
/// progress refuses), parsed from the source as tests/capi_null.rs does.
fn session_call_exports() -> BTreeSet<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/capi");
    let mut out = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let src = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for (i, _) in src.match_indices("#[no_mangle]") {
            let rest = &src[i..];
            let f = rest.find("fn ").unwrap();
            let name: String = rest[f + 3..].chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            let body = rest[rest.find('{').unwrap() + 1..].trim_start().trim_start_matches("super::guard::");
            let guard: String = body.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if guard == "session_call" {
                out.insert(name);
            }
        }
    }
    out
}

/// What the getters say about a session (not its last error, which every call resets).
fn getters(s: *mut smtp_client) -> BTreeMap<&'static str, String> {
    let text = |p: *const c_char| {
        // SAFETY: NULL or a NUL-terminated string borrowed from the session, copied at once.
        if p.is_null() {
            "NULL".to_owned()
        } else {
            unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
        }
    };
    BTreeMap::from([
        ("is_connected", smtp_client_is_connected(s).to_string()),
        ("is_authenticated", smtp_client_is_authenticated(s).to_string()),
        ("has_extn(size)", smtp_client_has_extn(s, c"size".as_ptr()).to_string()),
        ("feature(size)", text(smtp_client_feature(s, c"size".as_ptr()))),
        ("feature_count", smtp_client_feature_count(s).to_string()),
        ("does_esmtp", smtp_client_does_esmtp(s).to_string()),
        ("helo_resp", text(smtp_client_helo_resp(s))),
        ("ehlo_resp", text(smtp_client_ehlo_resp(s))),
        ("last_reply_code", smtp_client_last_reply_code(s).to_string()),
        ("last_reply_text", text(smtp_client_last_reply_text(s))),
        ("refused_count", smtp_client_refused_count(s).to_string()),
        ("recipient_count", smtp_client_recipient_count(s).to_string()),
        ("tls_active", smtp_client_tls_active(s).to_string()),
        ("tls_version", text(smtp_client_tls_version(s))),
    ])
}

#[test]
fn while_an_operation_runs_every_other_mutating_call_is_bad_state_and_the_getters_stand_still() {
    let calls = mutating_calls();
    let listed: BTreeSet<String> = calls.iter().map(|(n, _)| (*n).to_owned()).collect();
    assert_eq!(listed, session_call_exports(), "mutating_calls() vs the exports guarded by session_call");

    // a server that answers EHLO, then never answers MAIL: the send stays in progress for as
    // long as this test needs
    let (server, port) = mute_after(
        Some("220 stall.test ESMTP"),
        Duration::ZERO,
        &["250-stall.test\r\n250-SIZE 1000000\r\n250 8BITMIME"],
    );
    let s = Session::new();
    s.ok(smtp_client_connect(s.0, c"127.0.0.1".as_ptr(), port), "connect");
    s.ok(smtp_client_ehlo(s.0, null()), "ehlo");
    let before = getters(s.0);
    assert_eq!(before["feature(size)"], "1000000");
    let to = [ALICE.as_ptr()];
    let msg = message("nb-bad-state");
    let rc = smtp_client_start_sendmail(s.0, ALICE.as_ptr(), to.as_ptr(), 1, msg.as_ptr(), msg.len(), null());
    assert_eq!(rc, smtp_result::InProgress, "{}", s.message());
    let waiting = s.wait();
    assert!(waiting.0 >= 0 && waiting.1 == READ && waiting.3, "waiting for the reply to MAIL: {waiting:?}");

    for (name, call) in &calls {
        assert_eq!(call(s.0), smtp_result::BadState, "{name} while an operation runs: {}", s.message());
        assert!(s.message().contains("in progress"), "{name}: {}", s.message());
        assert_eq!(getters(s.0), before, "the getters after {name}");
        assert!(s.wait().3, "{name} ended the operation");
    }
    // stepping early is harmless
    assert_eq!(smtp_client_step(s.0), smtp_result::InProgress);
    assert_eq!(getters(s.0), before, "the getters after a step");
    assert_eq!((s.wait().0, s.wait().1), (waiting.0, waiting.1), "still the same wait");

    s.ok(smtp_client_close(s.0), "close");
    assert_eq!(s.wait(), (-1, 0, -1, false));
    assert!(!smtp_client_is_connected(s.0));
    let wire = server.join().unwrap();
    assert!(wire.contains("MAIL FROM:<alice@example.test>"), "{wire}");
    assert!(!wire.contains("RCPT"), "{wire}");
}

// ------------------------------------------------------------------------------- free

/// A debug userdata destructor counting its calls in an `AtomicUsize` (a static).
unsafe extern "C" fn count_free(userdata: *mut c_void) {
    // SAFETY: a static AtomicUsize.
    unsafe { &*userdata.cast::<AtomicUsize>() }.fetch_add(1, Ordering::SeqCst);
}

#[test]
fn free_while_operations_run() {
    static FREED: AtomicUsize = AtomicUsize::new(0);
    let bed = TestBed::get();
    let (_silent, silent) = silent_port();
    let ignore: smtp_debug_callback = Some(ignore_debug);
    let mut body =
        Body { msg: message("nb-freed"), pos: 0, ready: false, pending_left: u32::MAX, pendings: 0, calls: 0 };
    let mut sessions = Vec::new();
    let with_free = |s: &Session| {
        s.ok(smtp_client_set_debuglevel(s.0, 2), "debuglevel");
        let ud = (&raw const FREED).cast_mut().cast();
        s.ok(smtp_client_set_debug_callback(s.0, ignore, ud, Some(count_free)), "debug");
    };

    // resolving a name on the resolver threads (a quick resolver can answer within the start:
    // those sessions wait for the greeting instead, and are freed at once)
    let mut extra = 0;
    for _ in 0..40 {
        let s = Session::new();
        with_free(&s);
        assert_eq!(smtp_client_start_connect(s.0, c"localhost".as_ptr(), silent), smtp_result::InProgress);
        if family(smtp_client_fd(s.0)) == libc::AF_UNIX {
            sessions.push(("resolving", s));
            break;
        }
        extra += 1;
    }
    assert_eq!(sessions.len(), 1, "the resolver answered within the start 40 times in a row");
    // waiting for a greeting that never comes
    let s = Session::new();
    with_free(&s);
    assert_eq!(smtp_client_start_connect(s.0, c"127.0.0.1".as_ptr(), silent), smtp_result::InProgress);
    sessions.push(("no greeting", s));
    // in a TLS handshake the server never answers
    let (mute_server, mute) =
        mute_after(Some("220 mute.test ESMTP"), Duration::ZERO, &["250-mute.test\r\n250 STARTTLS", "220 go ahead"]);
    let s = Session::with_ca();
    with_free(&s);
    s.ok(smtp_client_connect(s.0, c"127.0.0.1".as_ptr(), mute), "connect");
    let mut rc = smtp_client_start_starttls(s.0);
    // step through the replies to EHLO and STARTTLS until nothing comes: the ClientHello is out
    // and the server never answers it
    while rc == smtp_result::InProgress {
        let (fd, ev, _, _) = s.wait();
        if !poll_one(fd, ev, 300) {
            break;
        }
        rc = smtp_client_step(s.0);
    }
    assert_eq!(rc, smtp_result::InProgress, "{}", s.message());
    sessions.push(("in the TLS handshake", s));
    // a streamed body waiting for data
    let s = Session::new();
    with_free(&s);
    s.ok(smtp_client_connect(s.0, c"127.0.0.1".as_ptr(), bed.smtp_port), "connect");
    let to = [ALICE.as_ptr()];
    let mut rc = smtp_client_start_sendmail_stream(
        s.0,
        ALICE.as_ptr(),
        to.as_ptr(),
        1,
        Some(read_body),
        (&raw mut body).cast(),
        null(),
    );
    while rc == smtp_result::InProgress && smtp_client_events(s.0) != BODY {
        let (fd, ev, timeout, _) = s.wait();
        poll_one(fd, ev, timeout);
        rc = smtp_client_step(s.0);
    }
    assert_eq!((rc, smtp_client_events(s.0)), (smtp_result::InProgress, BODY));
    sessions.push(("a body with no data yet", s));

    let calls = body.calls;
    for (what, s) in sessions {
        assert!(smtp_client_in_progress(s.0), "{what}: not in progress");
        drop(s);
    }
    assert_eq!(FREED.load(Ordering::SeqCst), 4 + extra, "each session released its debug userdata once");
    assert_eq!(body.calls, calls, "the body callback ran during free");
    let wire = mute_server.join().unwrap();
    let hello = wire.find("STARTTLS\r\n").map(|i| &wire[i + 10..]).unwrap_or_default();
    assert!(hello.starts_with('\u{16}'), "a TLS record after STARTTLS: {wire:?}");
}

unsafe extern "C" fn ignore_debug(_: *mut c_void, _: i32, _: *const u8, _: usize) {}

// ------------------------------------------------------------------------------- timeout

/// The message with every run of digits as `#` (ports and byte counts differ between runs).
fn shape(message: &str) -> String {
    let mut out = String::new();
    for ch in message.chars() {
        if ch.is_ascii_digit() {
            if !out.ends_with('#') {
                out.push('#');
            }
        } else {
            out.push(ch);
        }
    }
    out
}

#[test]
fn a_server_that_never_answers_times_out_in_the_step_after_the_deadline() {
    const LIMIT: u32 = 300;
    for greeting in [false, true] {
        // the blocking call's message, for comparison
        let (server, port) = mute_after(greeting.then_some("220 mute.test ESMTP"), Duration::ZERO, &[]);
        let blocking = Session::new();
        blocking.ok(smtp_client_set_timeout_ms(blocking.0, LIMIT), "timeout");
        let rc = if greeting {
            blocking.ok(smtp_client_connect(blocking.0, c"127.0.0.1".as_ptr(), port), "connect");
            smtp_client_ehlo_or_helo_if_needed(blocking.0)
        } else {
            smtp_client_connect(blocking.0, c"127.0.0.1".as_ptr(), port)
        };
        assert_eq!(rc, smtp_result::Timeout);
        let expected = blocking.message();
        drop(blocking);
        let _ = server.join().unwrap();

        let (server, port) = mute_after(greeting.then_some("220 mute.test ESMTP"), Duration::ZERO, &[]);
        let s = Session::new();
        s.ok(smtp_client_set_timeout_ms(s.0, LIMIT), "timeout");
        if greeting {
            s.ok(smtp_client_connect(s.0, c"127.0.0.1".as_ptr(), port), "connect");
        }
        let started = Instant::now();
        let mut rc = if greeting {
            smtp_client_start_ehlo_or_helo_if_needed(s.0)
        } else {
            smtp_client_start_connect(s.0, c"127.0.0.1".as_ptr(), port)
        };
        let mut early_steps = 0;
        while rc == smtp_result::InProgress {
            let (fd, events, timeout, _) = s.wait();
            assert!((0..=i64::from(LIMIT)).contains(&timeout), "timeout_ms {timeout}");
            assert_eq!(events, READ, "waiting for the server's reply");
            if timeout > 0 {
                // a step before the deadline leaves it running
                early_steps += 1;
                assert_eq!(smtp_client_step(s.0), smtp_result::InProgress);
            }
            poll_one(fd, events, timeout);
            rc = smtp_client_step(s.0);
        }
        let elapsed = started.elapsed();
        assert_eq!(rc, smtp_result::Timeout, "{}", s.message());
        assert!(elapsed >= Duration::from_millis(u64::from(LIMIT)), "timed out after {elapsed:?}");
        assert!(elapsed < Duration::from_millis(u64::from(LIMIT) + 2_000), "timed out only after {elapsed:?}");
        assert_eq!(shape(&s.message()), shape(&expected), "the blocking call's message");
        assert!(early_steps > 0);
        assert!(!smtp_client_is_connected(s.0), "a timeout closes the session");
        drop(s);
        let _ = server.join().unwrap();
        eprintln!("{} timed out after {elapsed:?}: {expected}", if greeting { "EHLO" } else { "connect" });
    }
}

// ------------------------------------------------------------------------------- resolver

#[test]
fn a_host_name_is_resolved_on_the_resolver_threads_then_the_socket_is_polled() {
    // the resolver often answers before the start's first look (a name from /etc/hosts, a
    // thread waiting for work): tries until it does not
    for attempt in 1..=40 {
        // a greeting 100 ms late: the socket is waited on too
        let (server, port) = mute_after(Some("220 slow.test ESMTP"), Duration::from_millis(100), &["221 bye"]);
        let s = Session::new();
        let rc = smtp_client_start_connect(s.0, c"localhost".as_ptr(), port);
        assert_eq!(rc, smtp_result::InProgress, "{}", s.message());
        let first = smtp_client_fd(s.0);
        if family(first) != libc::AF_UNIX {
            continue;
        }
        let mut waits = Vec::new();
        let rc = drive(&s, rc, |fd, events| {
            let f = family(fd);
            if waits.last() != Some(&(f, events)) {
                waits.push((f, events));
            }
        });
        s.ok(rc, "connect to localhost");
        assert_eq!(waits[0], (libc::AF_UNIX, READ), "first the resolver's socket pair, readable: {waits:?}");
        let inet = |f: i32| f == libc::AF_INET || f == libc::AF_INET6;
        let tcp = waits.iter().position(|&(f, _)| inet(f));
        let tcp = tcp.unwrap_or_else(|| panic!("never waited on the TCP socket: {waits:?}"));
        assert!(waits[..tcp].iter().all(|&(f, _)| f == libc::AF_UNIX), "{waits:?}");
        assert!(waits[tcp..].iter().all(|&(f, _)| inet(f)), "{waits:?}");
        assert_eq!(waits.last().unwrap().1, READ, "last, the greeting: {waits:?}");
        assert!(smtp_client_is_connected(s.0));
        s.ok(smtp_client_quit(s.0), "quit");
        assert!(server.join().unwrap().starts_with("QUIT"));
        eprintln!("attempt {attempt}: waits on the way (family, events): {waits:?}");
        return;
    }
    panic!("the resolver answered within the start 40 times in a row");
}
