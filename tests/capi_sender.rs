//! The sender's C API (`smtp_sender_*`), through the exported functions: many messages to the
//! test bed's Postfix over pooled connections, run to completion or driven with poll(2) on the
//! sender's descriptor; STARTTLS and a login from the URL on every connection; the outcomes as
//! a completion queue (each id exactly once, per-recipient results of a refused recipient);
//! settings fixed at the first add; NULL and foreign handles; bad messages refused at add; a
//! second thread refused while run holds the sender.

mod support;

use std::collections::BTreeMap;
use std::ffi::{c_char, CStr, CString};
use std::ptr::{null, null_mut};
use std::time::{Duration, Instant};

use smtpclient::capi::{options::*, result::*, sender::*, session::smtp_client_kind};
use support::{unique_marker, TestBed};

/// An owned `smtp_sender*`, freed on drop (also when an assertion fails).
struct Sender(*mut smtp_sender);

impl Sender {
    fn new(url: &str) -> Sender {
        let s = Sender(smtp_sender_new(smtp_client_kind::Smtp as i32));
        assert!(!s.0.is_null());
        let url = CString::new(url).unwrap();
        assert_eq!(smtp_sender_set_url(s.0, url.as_ptr()), smtp_result::Ok, "{}", s.message());
        s
    }
    fn message(&self) -> String {
        text(smtp_sender_last_error_message(self.0))
    }
    /// Add one message; its id.
    fn add(&self, from: &str, to: &[&str], body: &[u8]) -> u64 {
        let mut id = 0;
        assert_eq!(self.try_add(from, to, body, &mut id), smtp_result::Ok, "{}", self.message());
        assert_ne!(id, 0);
        id
    }
    fn try_add(&self, from: &str, to: &[&str], body: &[u8], id: &mut u64) -> smtp_result {
        let from = CString::new(from).unwrap();
        let to: Vec<CString> = to.iter().map(|t| CString::new(*t).unwrap()).collect();
        let ptrs: Vec<*const c_char> = to.iter().map(|t| t.as_ptr()).collect();
        smtp_sender_add(self.0, from.as_ptr(), ptrs.as_ptr(), ptrs.len(), body.as_ptr(), body.len(), null(), id)
    }
    /// Every outcome now in the queue.
    fn outcomes(&self) -> Vec<Outcome> {
        let mut out = Vec::new();
        while smtp_sender_next_outcome(self.0) {
            out.push(Outcome::current(self.0));
        }
        assert_eq!(smtp_sender_outcome_id(self.0), 0, "no current outcome once the queue is empty");
        assert_eq!(smtp_sender_outcome_kind(self.0), -1);
        out
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        smtp_sender_free(self.0);
    }
}

fn text(p: *const c_char) -> String {
    assert!(!p.is_null());
    // SAFETY: a borrowed NUL-terminated string, read before the next mutating call.
    unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_owned()
}

/// The current outcome, copied out through the getters.
#[derive(Debug)]
struct Outcome {
    id: u64,
    kind: i32,
    result: i32,
    error: String,
    reply_code: i32,
    /// (address, RCPT code, data code, text)
    recipients: Vec<(String, i32, i32, String)>,
}

impl Outcome {
    fn current(s: *mut smtp_sender) -> Outcome {
        let n = smtp_sender_outcome_recipient_count(s);
        let recipients = (0..n)
            .map(|i| {
                let (mut a, mut r, mut d, mut t) = (null(), 0, 0, null());
                assert_eq!(smtp_sender_outcome_recipient_get(s, i, &mut a, &mut r, &mut d, &mut t), smtp_result::Ok);
                (text(a), r, d, text(t))
            })
            .collect();
        assert_eq!(
            smtp_sender_outcome_recipient_get(s, n, null_mut(), null_mut(), null_mut(), null_mut()),
            smtp_result::InvalidArgument,
            "one past the last recipient"
        );
        Outcome {
            id: smtp_sender_outcome_id(s),
            kind: smtp_sender_outcome_kind(s),
            result: smtp_sender_outcome_result(s),
            error: text(smtp_sender_outcome_error_message(s)),
            reply_code: smtp_sender_outcome_reply_code(s),
            recipients,
        }
    }
}

fn body(marker: &str, i: usize) -> Vec<u8> {
    format!("From: <sender@example.test>\r\nSubject: {marker} #{i}\r\nX-Marker: {marker}-{i}\r\n\r\nmessage {i}\r\n")
        .into_bytes()
}

fn postfix_url(bed: &TestBed) -> String {
    format!("smtp://{}:{}", bed.smtp_host, bed.smtp_port)
}

/// Each id has exactly one outcome: the outcomes by id.
fn by_id(outcomes: Vec<Outcome>, ids: &[u64]) -> BTreeMap<u64, Outcome> {
    let n = outcomes.len();
    let map: BTreeMap<u64, Outcome> = outcomes.into_iter().map(|o| (o.id, o)).collect();
    assert_eq!(map.len(), n, "an id had two outcomes");
    assert_eq!(map.keys().copied().collect::<Vec<_>>(), ids, "every message has exactly one outcome");
    map
}

/// 60 messages to bob, one to bob and a refused recipient, one to the refused recipient only.
fn add_batch(s: &Sender, marker: &str) -> (Vec<u64>, u64, u64) {
    let mut ids: Vec<u64> =
        (0..60).map(|i| s.add("sender@example.test", &["bob@example.test"], &body(marker, i))).collect();
    let mixed = s.add("sender@example.test", &["bob@example.test", "nobody-here@example.test"], &body(marker, 60));
    let refused = s.add("sender@example.test", &["nobody-here@example.test"], &body(marker, 61));
    ids.extend([mixed, refused]);
    (ids, mixed, refused)
}

fn check_batch(bed: &TestBed, marker: &str, outcomes: BTreeMap<u64, Outcome>, mixed: u64, refused: u64) {
    for (id, o) in &outcomes {
        if *id == refused {
            assert_eq!(o.kind, smtp_outcome_kind::Refused as i32, "{o:?}");
            assert_eq!(o.result, smtp_result::RecipientsRefused as i32, "{o:?}");
            assert!(!o.error.is_empty());
            assert_eq!(o.recipients.len(), 1);
            assert_eq!(o.recipients[0].0, "nobody-here@example.test");
            assert_eq!(o.recipients[0].1, 550, "{o:?}");
        } else {
            assert_eq!(o.kind, smtp_outcome_kind::Delivered as i32, "{o:?}");
            assert_eq!((o.result, o.reply_code, o.error.as_str()), (0, 0, ""), "{o:?}");
        }
    }
    let m = &outcomes[&mixed];
    assert_eq!(m.recipients.len(), 2, "{m:?}");
    assert_eq!((m.recipients[0].0.as_str(), m.recipients[0].1, m.recipients[0].2), ("bob@example.test", 250, 0));
    assert_eq!((m.recipients[1].0.as_str(), m.recipients[1].1), ("nobody-here@example.test", 550));
    assert!(m.recipients[1].3.contains("nobody-here"), "the refusal's text: {m:?}");
    let found = bed.wait_for_count(&bed.postfix_maildir, "bob", marker, 61, Duration::from_secs(60));
    assert_eq!(found, 61, "each delivered message is in bob's Maildir");
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(bed.count_mail_with(&bed.postfix_maildir, "bob", marker), 61, "and only once");
}

#[test]
fn sixty_messages_over_three_connections_with_run() {
    let bed = TestBed::get();
    let marker = unique_marker("capi-sender-run");
    let s = Sender::new(&postfix_url(bed));
    assert_eq!(smtp_sender_set_max_connections(s.0, 3), smtp_result::Ok);
    assert_eq!(smtp_sender_set_max_messages_per_connection(s.0, 25), smtp_result::Ok);
    assert_eq!(smtp_sender_set_timeout_ms(s.0, 30_000), smtp_result::Ok);
    assert_eq!(smtp_sender_fd(s.0), -1, "no descriptor before the first message");
    let (ids, mixed, refused) = add_batch(&s, &marker);
    assert!(smtp_sender_fd(s.0) >= 0);
    assert!(!smtp_sender_next_outcome(s.0), "nothing is sent before the sender runs");
    let started = Instant::now();
    assert_eq!(smtp_sender_run(s.0), smtp_result::Ok, "{}", s.message());
    eprintln!("62 messages over 3 connections: {:?}", started.elapsed());
    assert_eq!(smtp_sender_step(s.0), smtp_result::Ok, "done");
    assert_eq!(smtp_sender_timeout_ms(s.0), -1, "nothing waits once done");
    let outcomes = by_id(s.outcomes(), &ids);
    check_batch(bed, &marker, outcomes, mixed, refused);
}

#[test]
fn driven_with_poll_on_the_senders_descriptor() {
    let bed = TestBed::get();
    let marker = unique_marker("capi-sender-poll");
    let s = Sender::new(&postfix_url(bed));
    assert_eq!(smtp_sender_set_max_connections(s.0, 3), smtp_result::Ok);
    let (ids, mixed, refused) = add_batch(&s, &marker);
    assert_eq!(smtp_sender_timeout_ms(s.0), 0, "step first after adding");
    let (mut outcomes, mut steps, mut waits) = (Vec::new(), 0, 0);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        steps += 1;
        let rc = smtp_sender_step(s.0);
        // outcomes are taken while the sender still runs
        outcomes.extend(s.outcomes());
        if rc == smtp_result::Ok {
            break;
        }
        assert_eq!(rc, smtp_result::InProgress, "{}", s.message());
        assert!(Instant::now() < deadline, "the sender did not finish");
        let timeout = smtp_sender_timeout_ms(s.0);
        assert!(timeout != 0 || steps > 1, "a deadline already passed after the first step");
        let mut pfd = libc::pollfd { fd: smtp_sender_fd(s.0), events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut pfd, 1, i32::try_from(timeout).unwrap_or(i32::MAX)) };
        assert!(n >= 0);
        waits += 1;
    }
    eprintln!("{steps} steps, {waits} waits");
    assert!(waits > 0, "the sender waited on its descriptor");
    let outcomes = by_id(outcomes, &ids);
    check_batch(bed, &marker, outcomes, mixed, refused);
}

#[test]
fn starttls_and_login_from_the_url() {
    let bed = TestBed::get();
    let marker = unique_marker("capi-sender-tls");
    let url =
        format!("smtp+starttls://{}:{}@{}:{}", bed.smtp_user, bed.smtp_pass, bed.smtp_host, bed.smtp_submission_port);
    let s = Sender::new(&url);
    let ca = CString::new(bed.smtp_ca_file.to_str().unwrap()).unwrap();
    assert_eq!(smtp_sender_set_tls_ca_file(s.0, ca.as_ptr()), smtp_result::Ok, "{}", s.message());
    assert_eq!(smtp_sender_set_max_connections(s.0, 2), smtp_result::Ok);
    assert_eq!(smtp_sender_set_max_messages_per_connection(s.0, 4), smtp_result::Ok);
    // the submission port relays only after STARTTLS and AUTH: delivery proves both
    let ids: Vec<u64> =
        (0..10).map(|i| s.add("alice@example.test", &["bob@example.test"], &body(&marker, i))).collect();
    assert_eq!(smtp_sender_run(s.0), smtp_result::Ok);
    for o in by_id(s.outcomes(), &ids).values() {
        assert_eq!(o.kind, smtp_outcome_kind::Delivered as i32, "{o:?}");
    }
    assert_eq!(bed.wait_for_count(&bed.postfix_maildir, "bob", &marker, 10, Duration::from_secs(60)), 10);
}

#[test]
fn without_the_test_ca_every_message_fails_before_its_data() {
    let bed = TestBed::get();
    let url =
        format!("smtp+starttls://{}:{}@{}:{}", bed.smtp_user, bed.smtp_pass, bed.smtp_host, bed.smtp_submission_port);
    let s = Sender::new(&url);
    assert_eq!(smtp_sender_set_retries(s.0, 0), smtp_result::Ok);
    let ids: Vec<u64> = (0..3).map(|i| s.add("alice@example.test", &["bob@example.test"], &body("x", i))).collect();
    assert_eq!(smtp_sender_run(s.0), smtp_result::Ok);
    for o in by_id(s.outcomes(), &ids).values() {
        assert_eq!(o.kind, smtp_outcome_kind::FailedBeforeData as i32, "{o:?}");
        assert_eq!(o.result, smtp_result::TlsCertificate as i32, "{o:?}");
        assert!(o.recipients.is_empty());
    }
}

#[test]
fn a_port_nobody_listens_on_is_connection_refused_for_each_message() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let s = Sender::new(&format!("smtp://127.0.0.1:{port}"));
    assert_eq!(smtp_sender_set_retries(s.0, 2), smtp_result::Ok);
    let ids: Vec<u64> = (0..4).map(|i| s.add("a@example.test", &["b@example.test"], &body("x", i))).collect();
    assert_eq!(smtp_sender_run(s.0), smtp_result::Ok);
    for o in by_id(s.outcomes(), &ids).values() {
        assert_eq!(o.kind, smtp_outcome_kind::FailedBeforeData as i32, "{o:?}");
        assert_eq!(o.result, smtp_result::ConnectionRefused as i32, "{o:?}");
        assert!(o.error.contains("refused"), "{o:?}");
    }
}

#[test]
fn settings_are_checked_and_fixed_at_the_first_add() {
    let s = Sender(smtp_sender_new(smtp_client_kind::Smtp as i32));
    let mut id = 0;
    assert_eq!(s.try_add("a@example.test", &["b@example.test"], b"x\r\n", &mut id), smtp_result::BadState);
    assert!(s.message().contains("smtp_sender_set_url"), "{}", s.message());
    assert_eq!(id, 0, "no id on failure");
    assert_eq!(smtp_sender_set_url(s.0, c"smtp://host:99999".as_ptr()), smtp_result::InvalidArgument);
    assert!(s.message().contains("port"), "the message names the port: {}", s.message());
    assert_eq!(smtp_sender_set_url(s.0, c"lmtp://host".as_ptr()), smtp_result::InvalidArgument, "another kind");
    assert_eq!(smtp_sender_set_url(s.0, null()), smtp_result::NullArgument);
    assert_eq!(smtp_sender_set_url(s.0, c"smtp://\xff".as_ptr()), smtp_result::InvalidUtf8);
    assert_eq!(smtp_sender_set_tls_ca_file(s.0, c"/nonexistent/ca.pem".as_ptr()), smtp_result::InvalidArgument);
    assert!(s.message().contains("/nonexistent/ca.pem"), "{}", s.message());
    assert_eq!(smtp_sender_set_max_connections(s.0, 0), smtp_result::InvalidArgument);
    assert_eq!(smtp_sender_set_max_messages_per_connection(s.0, 0), smtp_result::InvalidArgument);
    assert_eq!(smtp_sender_set_url(s.0, c"smtp://127.0.0.1:1".as_ptr()), smtp_result::Ok);
    assert_eq!(s.message(), "", "a success clears the last error");
    assert_eq!(s.try_add("a@example.test", &["b@example.test"], b"x\r\n", &mut id), smtp_result::Ok);
    assert_eq!(id, 1);
    let fixed = [
        smtp_sender_set_url(s.0, c"smtp://127.0.0.1:2".as_ptr()),
        smtp_sender_set_tls_ca_file(s.0, null()),
        smtp_sender_set_timeout_ms(s.0, 1000),
        smtp_sender_set_max_connections(s.0, 2),
        smtp_sender_set_max_messages_per_connection(s.0, 2),
        smtp_sender_set_retries(s.0, 0),
    ];
    assert_eq!(fixed, [smtp_result::BadState; 6]);
    assert!(s.message().contains("fixed"), "{}", s.message());
    assert!(smtp_sender_new(7).is_null(), "an unknown kind");
    smtp_sender_free(null_mut());
}

#[test]
fn bad_messages_are_refused_at_add_and_get_no_outcome() {
    let s = Sender::new("smtp://127.0.0.1:1");
    let mut id = 0;
    let cases: [(&str, &[&str], &str); 8] = [
        ("a@example.test", &[], "no recipients"),
        ("a@example.test", &["b@example.test\r\nRCPT TO:<c@example.test>"], "CR"),
        ("a@example.test", &["<b@example.test>"], "'<'"),
        ("a@example.test", &["-oQ/tmp@example.test"], "-"),
        ("a@example.test", &["b c@example.test"], "space"),
        ("a\n@example.test", &["b@example.test"], "LF"),
        ("a@example.test", &["j\u{f6}rg@example.test"], "SMTPUTF8"),
        ("a@example.test", &[""], "empty"),
    ];
    for (from, to, word) in cases {
        assert_eq!(s.try_add(from, to, b"x\r\n", &mut id), smtp_result::InvalidArgument, "{from:?} {to:?}");
        assert!(s.message().contains(word), "{from:?} {to:?}: {:?} does not name {word:?}", s.message());
    }
    // a SIZE option, given through the options object
    let o = smtp_send_options_new();
    assert_eq!(smtp_send_options_add_mail_option(o, c"SIZE=10".as_ptr()), smtp_result::Ok);
    let to = [c"b@example.test".as_ptr()];
    let rc = smtp_sender_add(s.0, c"a@example.test".as_ptr(), to.as_ptr(), 1, b"x".as_ptr(), 1, o, &mut id);
    assert_eq!(rc, smtp_result::InvalidArgument);
    assert!(s.message().contains("SIZE"), "{}", s.message());
    // SMTPUTF8 makes the non-ASCII address acceptable
    assert_eq!(smtp_send_options_add_mail_option(o, c"SMTPUTF8".as_ptr()), smtp_result::Ok);
    let utf8 = [c"j\u{f6}rg@example.test".as_ptr()];
    let rc = smtp_sender_add(s.0, c"a@example.test".as_ptr(), utf8.as_ptr(), 1, b"x".as_ptr(), 1, o, &mut id);
    assert_eq!(rc, smtp_result::InvalidArgument, "still the SIZE option");
    smtp_send_options_free(o);
    // pointers and counts
    let ok_to = [c"b@example.test".as_ptr()];
    let add = |from: *const c_char, to: *const *const c_char, n: usize, msg: *const u8, len: usize| {
        smtp_sender_add(s.0, from, to, n, msg, len, null(), null_mut())
    };
    assert_eq!(add(null(), ok_to.as_ptr(), 1, b"x".as_ptr(), 1), smtp_result::NullArgument);
    assert_eq!(add(c"a@example.test".as_ptr(), null(), 1, b"x".as_ptr(), 1), smtp_result::NullArgument);
    assert_eq!(add(c"a@example.test".as_ptr(), ok_to.as_ptr(), 1, null(), 1), smtp_result::NullArgument);
    assert_eq!(
        add(c"a@example.test".as_ptr(), ok_to.as_ptr(), usize::MAX, b"x".as_ptr(), 1),
        smtp_result::InvalidArgument
    );
    let bad_utf8 = [c"\xff@example.test".as_ptr()];
    assert_eq!(add(c"a@example.test".as_ptr(), bad_utf8.as_ptr(), 1, b"x".as_ptr(), 1), smtp_result::InvalidUtf8);
    let mut foreign = [0u64; 16];
    let rc = smtp_sender_add(
        s.0,
        c"a@example.test".as_ptr(),
        ok_to.as_ptr(),
        1,
        b"x".as_ptr(),
        1,
        foreign.as_mut_ptr().cast(),
        null_mut(),
    );
    assert_eq!(rc, smtp_result::BadHandle, "foreign options");
    // none of them was queued: the sender has nothing to do (and, refused before the first
    // add succeeded, the settings are still open)
    assert_eq!(smtp_sender_step(s.0), smtp_result::Ok);
    assert!(!smtp_sender_next_outcome(s.0));
    assert_eq!(smtp_sender_set_retries(s.0, 3), smtp_result::Ok);
    // the null sender is allowed
    assert_eq!(s.try_add("", &["b@example.test"], b"x\r\n", &mut id), smtp_result::Ok, "{}", s.message());
}

/// A string borrowed from the current outcome may be passed straight back in: the refused
/// recipient's address, added again as a new message's recipient.
#[test]
fn a_borrowed_address_passed_back_to_add() {
    let bed = TestBed::get();
    let s = Sender::new(&postfix_url(bed));
    let marker = unique_marker("capi-sender-borrow");
    let first = s.add("sender@example.test", &["bob@example.test", "nobody-here@example.test"], &body(&marker, 0));
    assert_eq!(smtp_sender_run(s.0), smtp_result::Ok);
    assert!(smtp_sender_next_outcome(s.0));
    assert_eq!(smtp_sender_outcome_id(s.0), first);
    let mut address = null();
    let rc = smtp_sender_outcome_recipient_get(s.0, 0, &mut address, null_mut(), null_mut(), null_mut());
    assert_eq!(rc, smtp_result::Ok);
    let to = [address];
    let msg = body(&marker, 1);
    let mut id = 0;
    let rc =
        smtp_sender_add(s.0, c"sender@example.test".as_ptr(), to.as_ptr(), 1, msg.as_ptr(), msg.len(), null(), &mut id);
    assert_eq!(rc, smtp_result::Ok, "{}", s.message());
    assert_eq!(id, first + 1);
    assert_eq!(smtp_sender_run(s.0), smtp_result::Ok);
    assert!(smtp_sender_next_outcome(s.0));
    let o = Outcome::current(s.0);
    assert_eq!((o.id, o.kind), (id, smtp_outcome_kind::Delivered as i32), "{o:?}");
    assert_eq!(o.recipients[0].0, "bob@example.test");
    assert_eq!(bed.wait_for_count(&bed.postfix_maildir, "bob", &marker, 2, Duration::from_secs(60)), 2);
}

/// Every export, on NULL and on foreign pointers: the documented code or fallback, no crash,
/// nothing written into the foreign memory.
#[test]
fn null_and_foreign_handles() {
    #[repr(C, align(16))]
    struct Foreign([u8; 256]);
    let mut zeroed = Foreign([0; 256]);
    let mut junk = Foreign([0xA5; 256]);
    let handles: [(*mut smtp_sender, smtp_result); 3] = [
        (null_mut(), smtp_result::NullArgument),
        ((&raw mut zeroed).cast(), smtp_result::BadHandle),
        ((&raw mut junk).cast(), smtp_result::BadHandle),
    ];
    for (h, code) in handles {
        assert_eq!(smtp_sender_set_url(h, c"smtp://127.0.0.1".as_ptr()), code);
        assert_eq!(smtp_sender_set_tls_ca_file(h, null()), code);
        assert_eq!(smtp_sender_set_timeout_ms(h, 1), code);
        assert_eq!(smtp_sender_set_max_connections(h, 1), code);
        assert_eq!(smtp_sender_set_max_messages_per_connection(h, 1), code);
        assert_eq!(smtp_sender_set_retries(h, 1), code);
        let to = [c"b@example.test".as_ptr()];
        let mut id = 77;
        assert_eq!(
            smtp_sender_add(h, c"a@example.test".as_ptr(), to.as_ptr(), 1, b"x".as_ptr(), 1, null(), &mut id),
            code
        );
        assert_eq!(id, 77, "untouched");
        assert_eq!(smtp_sender_step(h), code);
        assert_eq!(smtp_sender_run(h), code);
        assert_eq!(smtp_sender_fd(h), -1);
        assert_eq!(smtp_sender_timeout_ms(h), -1);
        assert!(!smtp_sender_next_outcome(h));
        assert_eq!(smtp_sender_outcome_id(h), 0);
        assert_eq!(smtp_sender_outcome_kind(h), -1);
        assert_eq!(smtp_sender_outcome_result(h), 0);
        assert_eq!(text(smtp_sender_outcome_error_message(h)), "");
        assert_eq!(smtp_sender_outcome_reply_code(h), 0);
        assert_eq!(smtp_sender_outcome_recipient_count(h), 0);
        let (mut a, mut r) = (c"untouched".as_ptr(), -7);
        assert_eq!(smtp_sender_outcome_recipient_get(h, 0, &mut a, &mut r, null_mut(), null_mut()), code);
        assert_eq!((text(a).as_str(), r), ("untouched", -7));
        assert_eq!(text(smtp_sender_last_error_message(h)), "");
        smtp_sender_free(h);
    }
    assert!(zeroed.0.iter().all(|b| *b == 0) && junk.0.iter().all(|b| *b == 0xA5), "nothing written");
    // a session or an options object is not a sender
    let o = smtp_send_options_new();
    assert_eq!(smtp_sender_step(o.cast()), smtp_result::BadHandle);
    smtp_send_options_free(o);
    // a pointer one byte into a live sender: refused on alignment, the sender unharmed
    let s = Sender::new("smtp://127.0.0.1:1");
    // SAFETY: only the address is computed; the library checks alignment before reading.
    let skewed = unsafe { s.0.cast::<u8>().add(1) }.cast::<smtp_sender>();
    assert_eq!(smtp_sender_set_retries(skewed, 1), smtp_result::BadHandle);
    smtp_sender_free(skewed);
    assert_eq!(smtp_sender_set_retries(s.0, 1), smtp_result::Ok);
}

/// A sender pointer moved to another thread, as C code would share it.
#[derive(Clone, Copy)]
struct SendPtr(*mut smtp_sender);
// SAFETY: the handle checks every access itself; this only carries the pointer.
unsafe impl Send for SendPtr {}

/// While `smtp_sender_run()` blocks on one thread (a server that accepts and never greets), a
/// mutating call from another thread is refused with CONCURRENT_CALL and does nothing, and
/// getters give their fallback values; afterwards the sender answers normally.
#[test]
fn a_second_thread_during_run_is_refused() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let s = Sender::new(&format!("smtp://127.0.0.1:{}", listener.local_addr().unwrap().port()));
    assert_eq!(smtp_sender_set_timeout_ms(s.0, 3000), smtp_result::Ok);
    assert_eq!(smtp_sender_set_retries(s.0, 0), smtp_result::Ok);
    let id = s.add("a@example.test", &["b@example.test"], b"x\r\n");
    let fd = smtp_sender_fd(s.0);
    let runner = {
        let p = SendPtr(s.0);
        std::thread::spawn(move || smtp_sender_run({ p }.0))
    };
    // nothing touches the sender until run has surely taken it (a call racing run's entry
    // could make run itself the refused one), and run then holds it for the 3 s timeout
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(smtp_sender_step(s.0), smtp_result::ConcurrentCall, "a step from a second thread during run");
    assert_eq!(smtp_sender_set_retries(s.0, 5), smtp_result::ConcurrentCall);
    assert_eq!(smtp_sender_fd(s.0), -1, "a getter's fallback while run holds the sender");
    assert!(!smtp_sender_next_outcome(s.0));
    assert_eq!(runner.join().unwrap(), smtp_result::Ok);
    assert_eq!(smtp_sender_fd(s.0), fd);
    let outcomes = by_id(s.outcomes(), &[id]);
    assert_eq!(outcomes[&id].kind, smtp_outcome_kind::FailedBeforeData as i32, "{:?}", outcomes[&id]);
    assert_eq!(outcomes[&id].result, smtp_result::Timeout as i32, "{:?}", outcomes[&id]);
}
