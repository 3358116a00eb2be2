//! `smtp_sender`: many messages to one server over up to K pooled connections from one thread
//! (the pure-Rust [`Sender`](crate::sender::Sender)), with its outcomes as a completion queue.
//!
//! The handle is the generic `Handle` with the sender's own state and view: mutating calls
//! (settings, add, step, run, next_outcome) work on the state, and the view (the last error,
//! the descriptor and deadline, the current outcome with NUL-terminated strings) is brought up
//! to date only when such a call's work is done, so a string borrowed from the view may be
//! passed straight back in (re-adding a refused recipient's address, say). Every export goes
//! through `plain_call` (no panic crosses the boundary); inside it, `sender_call` and
//! `sender_get` do for a sender what the session guards do for a session.

use std::ffi::{c_char, c_int, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::time::{Duration, Instant};

use super::args::{bytes_arg, opt_str_arg, put, str_arg, str_array};
use super::handle::Handle;
use super::options::{smtp_send_options, with_send_options};
use super::result::{code_of, refusal_code, smtp_result, CResult, Failure};
use super::session::smtp_client_kind;
use super::state::LastError;
use super::unwind::{panic_message, plain_call};
use super::view::{c_string, update, RecipientView};
use crate::engine::SessionKind;
use crate::nonblocking::millis_until;
use crate::sender::{Message, Outcome, OutcomeKind, Sender, SenderConfig};

/// Many messages to one server over up to K pooled connections, driven from one thread: an
/// opaque handle made by `smtp_sender_new()` and released with `smtp_sender_free()`.
///
/// Configure it (`smtp_sender_set_url()` and the other setters), add messages
/// (`smtp_sender_add()`), then run it (`smtp_sender_run()`) or drive it from an event loop
/// (`smtp_sender_fd()`, `smtp_sender_timeout_ms()`, `smtp_sender_step()`). Every pooled
/// connection is made from the one configuration, which is fixed once the first message is
/// added, so reuse never crosses credentials or TLS settings. A connection is reused (with
/// RSET) for up to `smtp_sender_set_max_messages_per_connection()` messages. Each message gets
/// exactly one outcome, taken in completion order with `smtp_sender_next_outcome()` and read
/// with the `smtp_sender_outcome_*()` getters. One thread at a time may make mutating calls (as
/// on a session); strings it returns are borrowed until the next mutating call on the sender
/// returns.
#[allow(non_camel_case_types)]
pub struct smtp_sender {
    _private: [u8; 0],
}

/// What became of a message (`smtp_sender_outcome_kind()`). The values are ABI.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum smtp_outcome_kind {
    /// The server took it for at least one recipient (the others' refusals are in the
    /// outcome's recipients).
    Delivered = 0,
    /// The server refused it (the sender, every recipient or the data: 4xx may be tried again
    /// later, 5xx not), or it could not be sent as given (too large, an extension the server
    /// lacks).
    Refused = 1,
    /// None of its data reached the server: every connection tried for it failed before
    /// (after the sender's retries). Safe to send again.
    FailedBeforeData = 2,
    /// The connection was lost after the end of the data and before the server's answer: the
    /// server may have delivered it. It is not sent again.
    DeliveryUnknown = 3,
}

impl From<OutcomeKind> for smtp_outcome_kind {
    fn from(kind: OutcomeKind) -> Self {
        match kind {
            OutcomeKind::Delivered => smtp_outcome_kind::Delivered,
            OutcomeKind::Refused => smtp_outcome_kind::Refused,
            OutcomeKind::FailedBeforeData => smtp_outcome_kind::FailedBeforeData,
            OutcomeKind::DeliveryUnknown => smtp_outcome_kind::DeliveryUnknown,
        }
    }
}

/// What a sender's mutating calls work on. Getters never see it.
struct SenderState {
    /// The configuration, until the first message is added; then the sender's own.
    config: SenderConfig,
    /// Whether `smtp_sender_set_url()` succeeded.
    has_url: bool,
    /// Made from `config` when the first message is added.
    sender: Option<Sender>,
    /// The outcome `smtp_sender_next_outcome()` moved out of the queue last, and a number that
    /// changes with each one (so the view rebuilds its strings only then).
    current: Option<Outcome>,
    current_serial: u64,
    /// Messages were added since the last step: the caller must step before waiting.
    step_due: bool,
    last: LastError,
}

/// The current outcome, as lent to C.
#[derive(Default)]
struct OutcomeView {
    id: u64,
    kind: i32,
    result: i32,
    error_message: CString,
    reply_code: i32,
    recipients: Vec<RecipientView>,
}

/// What a sender's getters read, as of the end of the last mutating call.
#[derive(Default)]
struct SenderView {
    /// A panic was caught in a mutating call: every later call returns `PANIC` (the last-error
    /// getter still answers).
    poisoned: bool,
    error_message: CString,
    fd: c_int,
    step_due: bool,
    deadline: Option<Instant>,
    outcome: Option<OutcomeView>,
    outcome_serial: u64,
}

impl SenderView {
    fn refresh(&mut self, state: &SenderState) {
        update(&mut self.error_message, &state.last.message);
        self.fd = state.sender.as_ref().map_or(-1, Sender::fd);
        self.step_due = state.step_due;
        self.deadline = state.sender.as_ref().and_then(Sender::next_deadline);
        if self.outcome_serial != state.current_serial {
            self.outcome_serial = state.current_serial;
            self.outcome = state.current.as_ref().map(outcome_view);
        }
    }
}

fn outcome_view(o: &Outcome) -> OutcomeView {
    let mut recipients: Vec<RecipientView> = Vec::with_capacity(o.recipients.len());
    for r in &o.recipients {
        let mut view = RecipientView::default();
        view.fill(r);
        recipients.push(view);
    }
    OutcomeView {
        id: o.id,
        kind: smtp_outcome_kind::from(o.kind) as i32,
        result: o.error.as_ref().map_or(smtp_result::Ok, |e| code_of(e.kind())) as i32,
        error_message: c_string(o.error.as_ref().map_or("", |e| e.message())),
        reply_code: o.error.as_ref().and_then(|e| e.reply()).map_or(0, |r| i32::from(r.code())),
        recipients,
    }
}

type SenderHandle = Handle<SenderState, SenderView>;

/// The body of a mutating sender call (inside the export's `plain_call`): enters the handle
/// exclusively, runs `f` on the state, records its failure as the last error, catches a panic
/// (poisoning the sender and closing its connections), and only then refreshes the view.
fn sender_call(s: *mut smtp_sender, f: impl FnOnce(&mut SenderState) -> CResult<()>) -> smtp_result {
    let mut guard = match SenderHandle::enter_exclusive(s.cast()) {
        Ok(g) => g,
        Err(refusal) => return refusal_code(refusal),
    };
    let (state, view) = guard.parts();
    if view.poisoned {
        return smtp_result::Panic;
    }
    let (code, last) = match catch_unwind(AssertUnwindSafe(|| f(state))) {
        Ok(Ok(())) => (smtp_result::Ok, LastError::default()),
        Ok(Err(failure)) => LastError::of(failure),
        Err(payload) => {
            view.poisoned = true;
            state.sender = None;
            LastError::of(Failure::Usage(smtp_result::Panic, panic_message(&payload)))
        }
    };
    state.last = last;
    view.refresh(state);
    code
}

/// The body of a sender getter: reads the view only; NULL, a foreign pointer, a poisoned
/// sender or a mutating call running on another thread give `default`.
fn sender_get<R>(s: *const smtp_sender, default: R, f: impl FnOnce(&SenderView) -> R) -> R {
    match SenderHandle::enter_shared(s.cast()) {
        Ok(view) if !view.poisoned => f(&view),
        _ => default,
    }
}

/// Settings are refused once the first message was added.
fn configure(s: *mut smtp_sender, f: impl FnOnce(&mut SenderConfig) -> CResult<()>) -> smtp_result {
    sender_call(s, |state| {
        if state.sender.is_some() {
            return Err(Failure::Usage(
                smtp_result::BadState,
                "the sender's settings are fixed once a message was added: make a new sender".into(),
            ));
        }
        f(&mut state.config)
    })
}

/// Create a sender of `kind` (`SMTP_CLIENT_KIND_SMTP`, `_SMTPS` or `_LMTP`) with the defaults:
/// 4 connections, 100 messages per connection, one retry, a 60 s timeout. It has no server
/// until `smtp_sender_set_url()`. The caller owns it and releases it with
/// `smtp_sender_free()`. Returns NULL for an unknown kind.
#[no_mangle]
pub extern "C" fn smtp_sender_new(kind: i32) -> *mut smtp_sender {
    plain_call(std::ptr::null_mut(), || {
        let kind = match kind {
            k if k == smtp_client_kind::Smtp as i32 => SessionKind::Smtp,
            k if k == smtp_client_kind::Smtps as i32 => SessionKind::Smtps,
            k if k == smtp_client_kind::Lmtp as i32 => SessionKind::Lmtp,
            _ => return std::ptr::null_mut(),
        };
        let state = SenderState {
            config: SenderConfig::new(kind, ""),
            has_url: false,
            sender: None,
            current: None,
            current_serial: 0,
            step_due: false,
            last: LastError::default(),
        };
        let mut view = SenderView::default();
        view.refresh(&state);
        SenderHandle::into_raw(state, view).cast()
    })
}

/// Free a sender: its connections are closed at once, without QUIT, and the messages without
/// an outcome are dropped (run it until `smtp_sender_step()` returns `SMTP_RESULT_OK` first to
/// send them). NULL is a no-op; it must not be freed twice.
#[no_mangle]
pub extern "C" fn smtp_sender_free(sender: *mut smtp_sender) {
    plain_call((), || {
        let _ = SenderHandle::free(sender.cast());
    })
}

/// The server, the TLS policy and the credentials of every connection, as a URL (see
/// `smtp_client_set_url()`: `smtp://`, `smtp+starttls://`, `smtps://`, `lmtp://`,
/// `lmtp+unix://`, with `user:password@` for a login on each connection). Required before the
/// first `smtp_sender_add()`. Errors: `INVALID_ARGUMENT` (a malformed URL, the message naming
/// the part that is wrong, or a scheme of another kind than the sender's), `BAD_STATE` (a
/// message was added already), `NULL_ARGUMENT`, `INVALID_UTF8`. The setting is unchanged on
/// error.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_sender_set_url(sender: *mut smtp_sender, url: *const c_char) -> smtp_result {
    plain_call(smtp_result::Panic, || {
        sender_call(sender, |state| {
            if state.sender.is_some() {
                return Err(Failure::Usage(
                    smtp_result::BadState,
                    "the sender's settings are fixed once a message was added: make a new sender".into(),
                ));
            }
            let mut config = state.config.clone();
            config.url = str_arg(url, "url")?.to_owned();
            config.check()?;
            state.config = config;
            state.has_url = true;
            Ok(())
        })
    })
}

/// Trust the CA certificates in the PEM file at `path` instead of the system trust store, on
/// every connection (NULL: back to the system store). The file is read now, as by
/// `smtp_client_set_tls_ca_file()`. Errors: `INVALID_ARGUMENT` (missing, unreadable, not PEM
/// or holding no certificate: the message names the file and the reason), `BAD_STATE` (a
/// message was added already), `INVALID_UTF8`. The setting is unchanged on error.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_sender_set_tls_ca_file(sender: *mut smtp_sender, path: *const c_char) -> smtp_result {
    plain_call(smtp_result::Panic, || {
        configure(sender, |config| {
            let path = opt_str_arg(path, "path")?.map(Path::new);
            Ok(config.tls.set_ca_file(path)?)
        })
    })
}

/// The timeout in milliseconds of every connect, read and write on every connection, as
/// `smtp_client_set_timeout_ms()`; 0 means wait forever. Default: 60000. Errors: `BAD_STATE`
/// (a message was added already).
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_sender_set_timeout_ms(sender: *mut smtp_sender, timeout_ms: u32) -> smtp_result {
    plain_call(smtp_result::Panic, || {
        configure(sender, |config| {
            config.timeout = (timeout_ms != 0).then(|| Duration::from_millis(u64::from(timeout_ms)));
            Ok(())
        })
    })
}

/// The most connections open at once. Default: 4. Errors: `INVALID_ARGUMENT` (0),
/// `BAD_STATE` (a message was added already).
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_sender_set_max_connections(sender: *mut smtp_sender, n: u32) -> smtp_result {
    plain_call(smtp_result::Panic, || {
        configure(sender, |config| {
            config.max_connections = positive(n, "max_connections")? as usize;
            Ok(())
        })
    })
}

/// The most messages sent over one connection before it is closed with QUIT (and a new one
/// made for the rest). Default: 100. Errors: `INVALID_ARGUMENT` (0), `BAD_STATE` (a message
/// was added already).
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_sender_set_max_messages_per_connection(sender: *mut smtp_sender, n: u32) -> smtp_result {
    plain_call(smtp_result::Panic, || {
        configure(sender, |config| {
            config.max_messages_per_connection = positive(n, "max_messages_per_connection")?;
            Ok(())
        })
    })
}

/// How many new connections are tried for a message whose connection failed before any of
/// its data was sent (0: none), before its outcome is `SMTP_OUTCOME_KIND_FAILED_BEFORE_DATA`.
/// Default: 1. Errors: `BAD_STATE` (a message was added already).
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_sender_set_retries(sender: *mut smtp_sender, n: u32) -> smtp_result {
    plain_call(smtp_result::Panic, || {
        configure(sender, |config| {
            config.retries = n;
            Ok(())
        })
    })
}

fn positive(n: u32, what: &str) -> CResult<u32> {
    if n == 0 {
        return Err(Failure::Usage(smtp_result::InvalidArgument, format!("{what} must be at least 1")));
    }
    Ok(n)
}

/// Queue a message: from `from` (`""`: the null sender) to the `n_to` recipients `to`, the
/// message `msg` of `len` bytes (headers and body), with the MAIL and RCPT options of
/// `options` (NULL: none). Everything is copied. Nothing is sent before the sender is stepped
/// or run. The envelope is checked now, as `smtp_client_sendmail()` checks it before sending,
/// so a message that could never be sent fails here and gets no outcome. Its id, unique in
/// the sender and given by `smtp_sender_outcome_id()` with its outcome, goes to `*id_out`
/// (NULL: not wanted). The first message fixes the settings and makes the sender's
/// descriptor. Errors: `INVALID_ARGUMENT` (no recipients; an address with CR, LF, `<`, `>`, a
/// space or a leading `-`, or too long; an address that is not ASCII without the `SMTPUTF8`
/// option; a SIZE option), `BAD_STATE` (no URL set), `NULL_ARGUMENT`, `INVALID_UTF8`.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_sender_add(
    sender: *mut smtp_sender,
    from: *const c_char,
    to: *const *const c_char,
    n_to: usize,
    msg: *const u8,
    len: usize,
    options: *const smtp_send_options,
    id_out: *mut u64,
) -> smtp_result {
    plain_call(smtp_result::Panic, || {
        sender_call(sender, |state| {
            let from = str_arg(from, "from")?.to_owned();
            #[cfg(feature = "test-panic")]
            assert!(from != "__SMTPCLIENT_TEST_PANIC__", "test-panic feature: deliberate panic in smtp_sender_add");
            let to: Vec<String> = str_array(to, n_to, "to")?.into_iter().map(str::to_owned).collect();
            let body = bytes_arg(msg, len, "msg")?.to_vec();
            let (mail_options, rcpt_options) =
                with_send_options(options, |o| (o.mail_options.clone(), o.rcpt_options.clone()))
                    .map_err(|code| Failure::Usage(code, "options is not a live smtp_send_options".into()))?;
            let message = Message { from, to, body, mail_options, rcpt_options };
            message.check()?;
            if !state.has_url {
                return Err(Failure::Usage(
                    smtp_result::BadState,
                    "the sender has no server: call smtp_sender_set_url() first".into(),
                ));
            }
            if state.sender.is_none() {
                state.sender = Some(Sender::new(state.config.clone())?);
            }
            let Some(s) = state.sender.as_mut() else { unreachable!("made above") };
            put(id_out, s.add(message));
            state.step_due = true;
            Ok(())
        })
    })
}

/// Make all the progress possible now without blocking: drive every connection, give queued
/// messages to idle connections or open new ones (up to the limit), close the connections
/// nothing is left for; new outcomes join the queue of `smtp_sender_next_outcome()`. Returns
/// `SMTP_RESULT_IN_PROGRESS` while a message has no outcome yet or a connection is still
/// open: wait until `smtp_sender_fd()` is readable or `smtp_sender_timeout_ms()` has passed,
/// and step again. Returns `SMTP_RESULT_OK` once everything is done (also when no message was
/// added). A failed message is an outcome, never this call's result.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_sender_step(sender: *mut smtp_sender) -> smtp_result {
    plain_call(smtp_result::Panic, || {
        sender_call(sender, |state| {
            state.step_due = false;
            let Some(s) = state.sender.as_mut() else { return Ok(()) };
            s.step(Instant::now());
            if s.is_done() {
                Ok(())
            } else {
                Err(Failure::Usage(smtp_result::InProgress, "messages are being sent: step again".into()))
            }
        })
    })
}

/// Send everything queued, blocking until every message has its outcome and every connection
/// is closed: `smtp_sender_step()` in a loop, waiting on `smtp_sender_fd()` in between.
/// Returns `SMTP_RESULT_OK` (the outcomes say how each message fared).
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_sender_run(sender: *mut smtp_sender) -> smtp_result {
    plain_call(smtp_result::Panic, || {
        sender_call(sender, |state| {
            state.step_due = false;
            if let Some(s) = state.sender.as_mut() {
                s.run();
            }
            Ok(())
        })
    })
}

/// The sender's descriptor, for an event loop: an epoll set of its connections, readable when
/// one of them can make progress. Wait until it is readable (`POLLIN`, `EPOLLIN`,
/// `UV_READABLE`), or `smtp_sender_timeout_ms()` has passed, then call `smtp_sender_step()`.
/// It stays the same for the sender's life; -1 before the first message is added.
#[no_mangle]
pub extern "C" fn smtp_sender_fd(sender: *const smtp_sender) -> c_int {
    plain_call(-1, || sender_get(sender, -1, |v| v.fd))
}

/// Milliseconds until `smtp_sender_step()` must be called even if `smtp_sender_fd()` is not
/// readable, rounded up: 0 right after `smtp_sender_add()` (step first) or when a connection's
/// timeout has passed; -1 when nothing waits on a clock (no message, all done, or the timeout
/// is 0).
#[no_mangle]
pub extern "C" fn smtp_sender_timeout_ms(sender: *const smtp_sender) -> i64 {
    plain_call(-1, || {
        sender_get(sender, -1, |v| {
            if v.step_due {
                return 0;
            }
            v.deadline.map_or(-1, |d| i64::try_from(millis_until(d, Instant::now())).unwrap_or(i64::MAX))
        })
    })
}

/// Take the oldest outcome not yet taken and make it the sender's current outcome, which the
/// `smtp_sender_outcome_*()` getters read; false (and no current outcome) when there is none
/// yet, or on a NULL or foreign handle. Each message has exactly one outcome.
#[no_mangle]
pub extern "C" fn smtp_sender_next_outcome(sender: *mut smtp_sender) -> bool {
    plain_call(false, || {
        let mut taken = false;
        let _ = sender_call(sender, |state| {
            state.current = state.sender.as_mut().and_then(Sender::next_outcome);
            state.current_serial += 1;
            taken = state.current.is_some();
            Ok(())
        });
        taken
    })
}

/// The id (`smtp_sender_add()`'s `*id_out`) of the current outcome's message; 0 when there is
/// no current outcome.
#[no_mangle]
pub extern "C" fn smtp_sender_outcome_id(sender: *const smtp_sender) -> u64 {
    plain_call(0, || sender_get(sender, 0, |v| v.outcome.as_ref().map_or(0, |o| o.id)))
}

/// What became of the current outcome's message: an `smtp_outcome_kind` value; -1 when there
/// is no current outcome.
#[no_mangle]
pub extern "C" fn smtp_sender_outcome_kind(sender: *const smtp_sender) -> i32 {
    plain_call(-1, || sender_get(sender, -1, |v| v.outcome.as_ref().map_or(-1, |o| o.kind)))
}

/// Why the current outcome's message was not delivered, as the result code a session's
/// `smtp_client_sendmail()` would have returned (e.g. `SMTP_RESULT_RECIPIENTS_REFUSED`,
/// `SMTP_RESULT_CONNECTION_REFUSED`); `SMTP_RESULT_OK` (0) when it was delivered or there is
/// no current outcome.
#[no_mangle]
pub extern "C" fn smtp_sender_outcome_result(sender: *const smtp_sender) -> i32 {
    plain_call(0, || sender_get(sender, 0, |v| v.outcome.as_ref().map_or(0, |o| o.result)))
}

/// The message of the current outcome's failure (borrowed); "" when it was delivered or
/// there is no current outcome.
#[no_mangle]
pub extern "C" fn smtp_sender_outcome_error_message(sender: *const smtp_sender) -> *const c_char {
    plain_call(c"".as_ptr(), || {
        sender_get(sender, c"".as_ptr(), |v| v.outcome.as_ref().map_or(c"".as_ptr(), |o| o.error_message.as_ptr()))
    })
}

/// The code of the server reply behind the current outcome's failure (e.g. 550); 0 when there
/// is none (delivered, a connection failure, no current outcome).
#[no_mangle]
pub extern "C" fn smtp_sender_outcome_reply_code(sender: *const smtp_sender) -> i32 {
    plain_call(0, || sender_get(sender, 0, |v| v.outcome.as_ref().map_or(0, |o| o.reply_code)))
}

/// The number of recipients of the current outcome's message whose RCPT was answered, in the
/// order given (0 when none was, or there is no current outcome).
#[no_mangle]
pub extern "C" fn smtp_sender_outcome_recipient_count(sender: *const smtp_sender) -> usize {
    plain_call(0, || sender_get(sender, 0, |v| v.outcome.as_ref().map_or(0, |o| o.recipients.len())))
}

/// The `index`th recipient of the current outcome, as `smtp_client_recipient_get()` gives a
/// session's: address, RCPT reply code, its own reply code after the data (LMTP; 0 when there
/// is none) and the text of the deciding reply. Borrowed; NULL outputs skipped. Errors:
/// `INVALID_ARGUMENT` (`index` out of range, or no current outcome), `NULL_ARGUMENT`,
/// `BAD_HANDLE`.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_sender_outcome_recipient_get(
    sender: *const smtp_sender,
    index: usize,
    address_out: *mut *const c_char,
    rcpt_code_out: *mut i32,
    data_code_out: *mut i32,
    text_out: *mut *const c_char,
) -> smtp_result {
    plain_call(smtp_result::Panic, || {
        let view = match SenderHandle::enter_shared(sender.cast()) {
            Ok(v) => v,
            Err(refusal) => return refusal_code(refusal),
        };
        if view.poisoned {
            return smtp_result::Panic;
        }
        let Some(r) = view.outcome.as_ref().and_then(|o| o.recipients.get(index)) else {
            return smtp_result::InvalidArgument;
        };
        put(address_out, r.address.as_ptr());
        put(rcpt_code_out, r.rcpt_code);
        put(data_code_out, r.data_code);
        put(text_out, r.text.as_ptr());
        smtp_result::Ok
    })
}

/// The message of the last mutating call's failure on the sender (borrowed): why a setting or
/// `smtp_sender_add()` was refused, naming the bad argument; "" after a success. It answers
/// also on a sender a panic made unusable.
#[no_mangle]
pub extern "C" fn smtp_sender_last_error_message(sender: *const smtp_sender) -> *const c_char {
    plain_call(c"".as_ptr(), || match SenderHandle::enter_shared(sender.cast()) {
        Ok(view) => view.error_message.as_ptr(),
        Err(_) => c"".as_ptr(),
    })
}
