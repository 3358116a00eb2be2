//! Deadlines through the C API: a phase's own timeout (`smtp_client_set_phase_timeout_ms()`)
//! and the operation's total (`smtp_client_set_operation_timeout_ms()`), in a blocking call and
//! in `smtp_client_start_sendmail()` driven with `poll(2)`, where `smtp_client_timeout_ms()`
//! counts down to the nearer of the two. Scripted servers that stall or drip.

mod support;

use std::ffi::{c_char, CStr};
use std::time::{Duration, Instant};

use smtpclient::capi::nonblocking::*;
use smtpclient::capi::result::smtp_result;
use smtpclient::capi::session::*;
use support::{greet_and_ehlo, ScriptedServer, Step};

/// An owned `smtp_client*`, freed on drop.
struct Client(*mut smtp_client);

impl Client {
    fn new() -> Client {
        let s = Client(smtp_client_new(smtp_client_kind::Smtp as i32));
        assert_eq!(smtp_client_set_local_hostname(s.0, c"client.example.test".as_ptr()), smtp_result::Ok);
        s
    }
    fn message(&self) -> String {
        // SAFETY: a borrowed string, read before the next mutating call.
        unsafe { CStr::from_ptr(smtp_client_last_error_message(self.0)) }.to_string_lossy().into_owned()
    }
    fn connect(&self, server: &ScriptedServer) {
        assert_eq!(
            smtp_client_connect(self.0, c"127.0.0.1".as_ptr(), server.port()),
            smtp_result::Ok,
            "{}",
            self.message()
        );
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        smtp_client_free(self.0);
    }
}

const TO: [*const c_char; 1] = [c"b@example.test".as_ptr()];
const MSG: &[u8] = b"Subject: t\r\n\r\nbody\r\n";

fn sendmail(s: &Client) -> smtp_result {
    smtp_client_sendmail(s.0, c"a@example.test".as_ptr(), TO.as_ptr(), 1, MSG.as_ptr(), MSG.len(), std::ptr::null())
}

/// The server answers MAIL after 100 ms (a wait under MAIL's limit) and stalls after RCPT.
fn stall_at_rcpt() -> ScriptedServer {
    let mut steps = greet_and_ehlo(&[]);
    steps.extend([
        Step::expect("MAIL FROM:"),
        Step::sleep_ms(100),
        Step::reply("250 ok"),
        Step::expect("RCPT TO:"),
        Step::sleep_ms(1000),
    ]);
    ScriptedServer::tcp(steps)
}

#[test]
fn a_phase_timeout_in_a_blocking_call() {
    let server = stall_at_rcpt();
    let s = Client::new();
    assert_eq!(smtp_client_set_timeout_ms(s.0, 5000), smtp_result::Ok);
    assert_eq!(smtp_client_set_phase_timeout_ms(s.0, smtp_phase::Rcpt as i32, 200), smtp_result::Ok);
    s.connect(&server);
    let start = Instant::now();
    assert_eq!(sendmail(&s), smtp_result::Timeout, "{}", s.message());
    let elapsed = start.elapsed();
    let wanted = format!(
        "timed out after 200 ms waiting for the reply from 127.0.0.1:{} (0 bytes received) during RCPT (the RCPT \
         timeout)",
        server.port()
    );
    assert_eq!(s.message(), wanted);
    assert!(elapsed >= Duration::from_millis(290) && elapsed < Duration::from_millis(1000), "{elapsed:?}");
    drop(server.finish());
}

#[test]
fn the_preset_and_unknown_phases() {
    let s = Client::new();
    assert_eq!(smtp_client_set_rfc5321_timeouts(s.0), smtp_result::Ok);
    assert_eq!(smtp_client_set_phase_timeout_ms(s.0, 10, 100), smtp_result::InvalidArgument);
    assert_eq!(s.message(), "unknown phase 10");
    assert_eq!(smtp_client_set_phase_timeout_ms(s.0, -1, 100), smtp_result::InvalidArgument);
    for phase in 0..10 {
        assert_eq!(smtp_client_set_phase_timeout_ms(s.0, phase, 0), smtp_result::Ok, "phase {phase}");
    }
}

/// Drive the operation started on `s` with `poll(2)` until it ends; every
/// `smtp_client_timeout_ms()` seen on the way (each checked against `max_ms`).
fn drive(s: &Client, first: smtp_result, max_ms: i64) -> (smtp_result, Vec<i64>) {
    let mut result = first;
    let mut seen = Vec::new();
    while result == smtp_result::InProgress {
        let timeout = smtp_client_timeout_ms(s.0);
        assert!((0..=max_ms).contains(&timeout), "smtp_client_timeout_ms() = {timeout}, at most {max_ms} expected");
        seen.push(timeout);
        let events = smtp_client_events(s.0);
        let mut pfd = libc::pollfd {
            fd: smtp_client_fd(s.0),
            events: if events & smtp_event::Read as u32 != 0 { libc::POLLIN } else { 0 }
                | if events & smtp_event::Write as u32 != 0 { libc::POLLOUT } else { 0 },
            revents: 0,
        };
        // SAFETY: one valid pollfd for the duration of the call.
        unsafe { libc::poll(&mut pfd, 1, i32::try_from(timeout).unwrap()) };
        result = smtp_client_step(s.0);
    }
    (result, seen)
}

fn start_sendmail(s: &Client) -> smtp_result {
    smtp_client_start_sendmail(
        s.0,
        c"a@example.test".as_ptr(),
        TO.as_ptr(),
        1,
        MSG.as_ptr(),
        MSG.len(),
        std::ptr::null(),
    )
}

#[test]
fn a_phase_timeout_without_blocking() {
    let server = stall_at_rcpt();
    let s = Client::new();
    assert_eq!(smtp_client_set_timeout_ms(s.0, 5000), smtp_result::Ok);
    assert_eq!(smtp_client_set_phase_timeout_ms(s.0, smtp_phase::Rcpt as i32, 300), smtp_result::Ok);
    s.connect(&server);
    let start = Instant::now();
    let first = start_sendmail(&s);
    // the waits before RCPT have the long limit: the loop is told so
    let (result, seen) = drive(&s, first, 5000);
    let elapsed = start.elapsed();
    assert_eq!(result, smtp_result::Timeout, "{}", s.message());
    assert!(s.message().ends_with(" during RCPT (the RCPT timeout)"), "{}", s.message());
    assert!(s.message().contains("timed out after 300 ms"), "{}", s.message());
    assert!(seen.iter().any(|&t| t > 300), "{seen:?}");
    // the last waits count down RCPT's 300 ms
    assert!(*seen.last().unwrap() <= 300, "{seen:?}");
    assert!(elapsed >= Duration::from_millis(390) && elapsed < Duration::from_millis(1000), "{elapsed:?}");
    assert_eq!(smtp_client_timeout_ms(s.0), -1);
    drop(server.finish());
}

/// `text` sent one byte every 100 ms.
fn drip(text: &str) -> Vec<Step> {
    support::lines(text).iter().flat_map(|&b| [Step::send([b]), Step::sleep_ms(100)]).collect()
}

#[test]
fn the_operation_timeout_without_blocking_is_the_nearer_deadline() {
    // every reply dripped within the phase limit (2 s); the whole transaction cannot be
    let mut steps = vec![Step::reply("220 mx ESMTP"), Step::expect("EHLO ")];
    steps.extend(drip("250 mx"));
    steps.push(Step::expect("MAIL FROM:"));
    steps.extend(drip("250 sender ok"));
    let server = ScriptedServer::tcp(steps);
    let s = Client::new();
    assert_eq!(smtp_client_set_timeout_ms(s.0, 2000), smtp_result::Ok);
    assert_eq!(smtp_client_set_operation_timeout_ms(s.0, 1200), smtp_result::Ok);
    s.connect(&server);
    let start = Instant::now();
    let first = start_sendmail(&s);
    // never more than the total: the phase's 2 s is farther
    let (result, seen) = drive(&s, first, 1200);
    let elapsed = start.elapsed();
    assert_eq!(result, smtp_result::Timeout, "{}", s.message());
    assert!(s.message().starts_with("timed out after 1200 ms waiting for the reply from "), "{}", s.message());
    assert!(s.message().ends_with(" during MAIL (the operation timeout)"), "{}", s.message());
    // the loop's timeout counted down the total across the phases
    assert!(seen.windows(2).all(|w| w[1] <= w[0]), "{seen:?}");
    assert!(elapsed >= Duration::from_millis(1150) && elapsed < Duration::from_millis(1800), "{elapsed:?}");
    drop(server.finish());

    // the next operation has its whole total again
    let server = ScriptedServer::tcp(vec![
        Step::reply("220 mx ESMTP"),
        Step::expect("NOOP"),
        Step::sleep_ms(300),
        Step::reply("250 ok"),
    ]);
    s.connect(&server);
    assert_eq!(smtp_client_noop(s.0), smtp_result::Ok, "{}", s.message());
    drop(server.finish());
}

/// A body callback that never has data.
unsafe extern "C" fn never_ready(_: *mut std::ffi::c_void, _: *mut u8, _: usize) -> i64 {
    i64::MIN
}

#[test]
fn a_body_that_never_comes_is_bounded_by_the_operation_timeout() {
    let server = ScriptedServer::tcp(greet_and_ehlo(&[]));
    let s = Client::new();
    assert_eq!(smtp_client_set_operation_timeout_ms(s.0, 300), smtp_result::Ok);
    s.connect(&server);
    let start = Instant::now();
    let first = smtp_client_start_sendmail_stream(
        s.0,
        c"a@example.test".as_ptr(),
        TO.as_ptr(),
        1,
        Some(never_ready),
        std::ptr::null_mut(),
        std::ptr::null(),
    );
    assert_eq!(first, smtp_result::InProgress, "{}", s.message());
    let (result, seen) = drive(&s, first, 300);
    let elapsed = start.elapsed();
    assert_eq!(result, smtp_result::Timeout, "{}", s.message());
    assert_eq!(
        s.message(),
        "timed out after 300 ms waiting for the message body during a data block (the operation timeout)"
    );
    assert!(!seen.is_empty(), "the body wait had no deadline");
    // a timeout closes the connection, whatever was waited for
    assert!(!smtp_client_is_connected(s.0));
    assert!(elapsed >= Duration::from_millis(290) && elapsed < Duration::from_millis(900), "{elapsed:?}");
    drop(server.finish());
}
