//! One session, several threads, through the C API (against the test bed's Postfix).
//!
//! The header promises: const getters may run on any number of threads at once (they only read
//! the session's view); mutating calls are one thread at a time, and a second thread that tries
//! gets `SMTP_RESULT_CONCURRENT_CALL` (and a getter its default) instead of a data race; a
//! callback that calls back into its own session gets `SMTP_RESULT_REENTRANT_CALL`. `make test`
//! also runs this file under ThreadSanitizer, which fails on any data race these provoke.

mod support;

use std::ffi::{c_char, c_void, CStr, CString};
use std::ptr::null;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Barrier};

use smtpclient::capi::{result::*, session::*};
use support::TestBed;

const MSG: &[u8] = b"From: a@example.test\r\nTo: bob@example.test\r\nSubject: threads\r\n\r\nhello\r\n";

/// A session pointer shared between threads, as C code shares it.
#[derive(Clone, Copy)]
struct Shared(*mut smtp_client);
// SAFETY: the library's handle guards every access; this only carries the pointer.
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

fn connected_session() -> *mut smtp_client {
    let bed = TestBed::get();
    let s = smtp_client_new(smtp_client_kind::Smtp as i32);
    let host = CString::new(bed.smtp_addr()).unwrap();
    assert_eq!(smtp_client_set_timeout_ms(s, 20_000), smtp_result::Ok);
    assert_eq!(smtp_client_connect(s, host.as_ptr(), 0), smtp_result::Ok);
    s
}

fn text(p: *const c_char) -> String {
    assert!(!p.is_null());
    // SAFETY: a borrowed string from the session, valid until its next mutating call.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// Everything the const getters say about a session, read on the calling thread.
fn read_everything(s: *const smtp_client) -> Vec<String> {
    let mut out = vec![
        text(smtp_client_last_reply_text(s)),
        text(smtp_client_ehlo_resp(s)),
        smtp_client_last_reply_code(s).to_string(),
        smtp_client_does_esmtp(s).to_string(),
        smtp_client_has_extn(s, c"pipelining".as_ptr()).to_string(),
    ];
    for i in 0..smtp_client_feature_count(s) {
        let (mut name, mut params) = (null(), null());
        assert_eq!(smtp_client_feature_get(s, i, &mut name, &mut params), smtp_result::Ok);
        out.push(format!("{}={}", text(name), text(params)));
    }
    for i in 0..smtp_client_recipient_count(s) {
        let (mut address, mut rcpt, mut data, mut reply) = (null(), 0, 0, null());
        assert_eq!(smtp_client_recipient_get(s, i, &mut address, &mut rcpt, &mut data, &mut reply), smtp_result::Ok);
        out.push(format!("{} {rcpt} {data} {}", text(address), text(reply)));
    }
    for i in 0..smtp_client_refused_count(s) {
        let (mut address, mut code, mut reply) = (null(), 0, null());
        assert_eq!(smtp_client_refused_get(s, i, &mut address, &mut code, &mut reply), smtp_result::Ok);
        out.push(format!("refused {} {code} {}", text(address), text(reply)));
    }
    out
}

#[test]
fn const_getters_on_two_threads_at_once_agree() {
    let s = connected_session();
    let to = [c"bob@example.test".as_ptr(), c"reject550@example.test".as_ptr()];
    let rc = smtp_client_sendmail(s, c"a@example.test".as_ptr(), to.as_ptr(), 2, MSG.as_ptr(), MSG.len(), null());
    assert_eq!(rc, smtp_result::Ok);
    let expected = read_everything(s);
    assert!(expected.iter().any(|l| l.starts_with("refused reject550@example.test 550")), "{expected:?}");
    let shared = Shared(s);
    let start = Arc::new(Barrier::new(2));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let start = start.clone();
            std::thread::spawn(move || {
                let s = { shared }.0;
                start.wait();
                (0..200).map(|_| read_everything(s)).collect::<Vec<_>>()
            })
        })
        .collect();
    for r in readers {
        for seen in r.join().unwrap() {
            assert_eq!(seen, expected);
        }
    }
    assert_eq!(smtp_client_quit(s), smtp_result::Ok);
    smtp_client_free(s);
}

/// What the callback saw when the other thread called in while it ran.
struct Probe {
    session: Shared,
    inside: Barrier,
    resume: Barrier,
    own_call: AtomicI32,
    body_sent: AtomicBool,
}

unsafe extern "C" fn read_body(userdata: *mut c_void, buf: *mut u8, capacity: usize) -> i64 {
    // SAFETY: userdata is the Probe the test passed; it outlives the call.
    let probe = unsafe { &*(userdata as *const Probe) };
    if probe.body_sent.swap(true, Ordering::SeqCst) {
        return 0;
    }
    // re-entry from this thread is told apart from the other thread's concurrent use
    probe.own_call.store(smtp_client_noop(probe.session.0) as i32, Ordering::SeqCst);
    probe.inside.wait(); // the other thread calls in now
    probe.resume.wait();
    let n = MSG.len().min(capacity);
    // SAFETY: buf has room for capacity bytes.
    unsafe { std::ptr::copy_nonoverlapping(MSG.as_ptr(), buf, n) };
    n as i64
}

#[test]
fn a_second_thread_is_refused_while_a_call_runs() {
    let s = connected_session();
    let probe = Arc::new(Probe {
        session: Shared(s),
        inside: Barrier::new(2),
        resume: Barrier::new(2),
        own_call: AtomicI32::new(-1),
        body_sent: AtomicBool::new(false),
    });
    let sender = {
        let probe = probe.clone();
        std::thread::spawn(move || {
            let s = probe.session.0;
            let to = [c"bob@example.test".as_ptr()];
            let userdata = Arc::as_ptr(&probe) as *mut c_void;
            smtp_client_sendmail_stream(
                s,
                c"a@example.test".as_ptr(),
                to.as_ptr(),
                1,
                Some(read_body),
                userdata,
                null(),
            )
        })
    };
    probe.inside.wait();
    // the sender thread is inside smtp_client_sendmail_stream, blocked in its read callback
    assert_eq!(smtp_client_noop(s), smtp_result::ConcurrentCall);
    assert_eq!(smtp_client_set_timeout_ms(s, 1), smtp_result::ConcurrentCall);
    assert_eq!(smtp_client_last_reply_code(s), 0, "a getter gives its default while a call runs");
    assert!(smtp_client_last_reply_text(s) == c"".as_ptr() || text(smtp_client_last_reply_text(s)).is_empty());
    probe.resume.wait();
    assert_eq!(sender.join().unwrap(), smtp_result::Ok);
    assert_eq!(probe.own_call.load(Ordering::SeqCst), smtp_result::ReentrantCall as i32);
    assert_eq!(smtp_client_last_reply_code(s), 250, "the session is whole again");
    assert_eq!(smtp_client_noop(s), smtp_result::Ok);
    assert_eq!(smtp_client_quit(s), smtp_result::Ok);
    smtp_client_free(s);
}

/// Two threads racing mutating calls on one session: every call either runs or is refused
/// with CONCURRENT_CALL, and the session stays consistent.
#[test]
fn racing_mutating_calls_are_run_or_refused_never_interleaved() {
    let s = connected_session();
    let shared = Shared(s);
    let workers: Vec<_> = (0..2)
        .map(|_| {
            std::thread::spawn(move || {
                let s = { shared }.0;
                let (mut ran, mut refused) = (0, 0);
                for _ in 0..100 {
                    match smtp_client_noop(s) {
                        smtp_result::Ok => ran += 1,
                        smtp_result::ConcurrentCall => refused += 1,
                        other => panic!("unexpected {other:?}"),
                    }
                    let _ = smtp_client_last_reply_code(s);
                }
                (ran, refused)
            })
        })
        .collect();
    let ran: i32 = workers.into_iter().map(|w| w.join().unwrap().0).sum();
    assert!(ran > 0, "no call ran");
    // every NOOP that ran was answered in order: the connection is still in step
    assert_eq!(smtp_client_noop(s), smtp_result::Ok);
    assert_eq!(smtp_client_last_reply_code(s), 250);
    assert_eq!(smtp_client_quit(s), smtp_result::Ok);
    smtp_client_free(s);
}
