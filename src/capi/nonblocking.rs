//! The non-blocking interface: start an operation, wait in the caller's event loop for what
//! it needs, drive it with `smtp_client_step()` until it ends.

use std::ffi::{c_char, c_int, c_void};
use std::time::Instant;

use super::args::{bytes_arg, opt_str_arg, str_arg, str_array};
use super::auth::initial_response_arg;
use super::guard::{session_call, session_call_driving, session_get, smtp_client};
use super::options::smtp_send_options;
use super::result::{smtp_result, CResult, Failure};
use super::session::{options_arg, smtp_read_callback, BodyCallback, CallerPointer};
use super::state::SessionState;
use crate::engine::{Body, Client};
use crate::nonblocking::{millis_until, Operation, Running, Step};

/// What `smtp_client_events()` says an operation in progress waits for: a mask of these. The
/// values are ABI.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum smtp_event {
    /// The descriptor `smtp_client_fd()` must become readable (`POLLIN`, `EPOLLIN`, `UV_READABLE`).
    Read = 1,
    /// The descriptor `smtp_client_fd()` must become writable (`POLLOUT`, `EPOLLOUT`, `UV_WRITABLE`).
    Write = 2,
    /// The body callback of `smtp_client_start_sendmail_stream()` returned `SMTP_READ_PENDING`:
    /// call `smtp_client_step()` when it may have data.
    Body = 4,
}

/// `SMTP_READ_PENDING` of the header (written there as `INT64_MIN`).
pub(crate) const SMTP_READ_PENDING: i64 = i64::MIN;

/// Start `operation` on the session: lend it the client and connection, and take the first
/// step at once (an operation that needs no network, or fails its argument checks, ends there).
fn start(state: &mut SessionState, operation: impl FnOnce(Client) -> Running) -> CResult<()> {
    let (client, conn, tls_config) = state.core.lend();
    let link = client.link();
    state.running = Some(Operation::new(operation(client), link, conn, tls_config));
    step(state)
}

/// One step of the operation under way: `IN_PROGRESS` while it runs, its result once it ends.
fn step(state: &mut SessionState) -> CResult<()> {
    let Some(operation) = state.running.as_mut() else {
        return Err(Failure::Usage(smtp_result::BadState, "no operation is in progress".into()));
    };
    match operation.step(Instant::now()) {
        Step::Wait(wait) => {
            state.wait = Some(wait);
            Err(Failure::Usage(smtp_result::InProgress, "the operation is in progress".into()))
        }
        Step::Done(client, conn, result) => {
            state.running = None;
            state.wait = None;
            state.core.restore(*client, conn.map(|c| *c));
            Ok(result?)
        }
    }
}

/// Start `smtp_client_connect()` without blocking: the name is resolved on the library's
/// resolver threads, the connection made, TLS negotiated for an SMTPS session, and the
/// greeting read, each as the event loop says the descriptor is ready. A NULL `host` with
/// `port` 0 connects to the URL of `smtp_client_set_url()`, as `smtp_client_connect()` does.
///
/// Every `smtp_client_start_*()` function checks its arguments, copies them (nothing is
/// borrowed past the call, except a stream's callback and userdata), and takes the first step
/// at once. It returns `SMTP_RESULT_IN_PROGRESS` when the operation waits: poll
/// `smtp_client_fd()` for `smtp_client_events()`, at most `smtp_client_timeout_ms()`, then call
/// `smtp_client_step()`, until it returns anything else: the operation's result, with the same
/// codes and last-error details as the blocking call. Until then every other mutating call on
/// the session is refused with `BAD_STATE`, except `smtp_client_close()` (which cancels the
/// operation) and `smtp_client_free()`; getters show the session as it was when the operation
/// started. `BAD_STATE` when an operation is already in progress.
/// Errors as `smtp_client_connect()`.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_client_start_connect(client: *mut smtp_client, host: *const c_char, port: u16) -> smtp_result {
    session_call(client, |h| {
        if host.is_null() && h.core.has_url() {
            if port != 0 {
                return Err(Failure::Usage(
                    smtp_result::InvalidArgument,
                    "port must be 0 with a NULL host: the session's URL gives the port".to_owned(),
                ));
            }
            return start(h, |mut c| {
                Box::pin(async move {
                    let r = c.connect_url().await.map(drop);
                    (c, r)
                })
            });
        }
        let host = str_arg(host, "host")?.to_owned();
        start(h, |mut c| {
            Box::pin(async move {
                let r = c.connect(&host, port).await.map(drop);
                (c, r)
            })
        })
    })
}

/// Start `smtp_client_ehlo_or_helo_if_needed()` without blocking (see
/// `smtp_client_start_connect()`): `IN_PROGRESS` while it runs, `BAD_STATE` when an operation
/// is already in progress. Errors as `smtp_client_ehlo_or_helo_if_needed()`.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_client_start_ehlo_or_helo_if_needed(client: *mut smtp_client) -> smtp_result {
    session_call(client, |h| {
        start(h, |mut c| {
            Box::pin(async move {
                let r = c.ehlo_or_helo_if_needed().await;
                (c, r)
            })
        })
    })
}

/// Start `smtp_client_starttls()` without blocking (see `smtp_client_start_connect()`):
/// `IN_PROGRESS` while it runs, `BAD_STATE` when an operation is already in progress.
/// Errors as `smtp_client_starttls()`.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_client_start_starttls(client: *mut smtp_client) -> smtp_result {
    session_call(client, |h| {
        start(h, |mut c| {
            Box::pin(async move {
                let r = c.starttls().await;
                (c, r)
            })
        })
    })
}

/// Start `smtp_client_login()` without blocking (see `smtp_client_start_connect()`); `user`
/// and `password` (NULL and NULL: the URL's, as for `smtp_client_login()`) are copied (and the copies zeroed when the operation ends): `IN_PROGRESS`
/// while it runs, `BAD_STATE` when an operation is already in progress.
/// Errors as `smtp_client_login()`.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_client_start_login(
    client: *mut smtp_client,
    user: *const c_char,
    password: *const c_char,
    initial_response: i32,
) -> smtp_result {
    session_call(client, |h| {
        if user.is_null() && password.is_null() && h.core.has_url_credentials() {
            let initial_response_ok = initial_response_arg(initial_response)?;
            return start(h, |mut c| {
                Box::pin(async move {
                    let r = c.login_url(initial_response_ok).await;
                    (c, r)
                })
            });
        }
        let user = zeroize::Zeroizing::new(str_arg(user, "user")?.to_owned());
        let password = zeroize::Zeroizing::new(str_arg(password, "password")?.to_owned());
        let initial_response_ok = initial_response_arg(initial_response)?;
        start(h, |mut c| {
            Box::pin(async move {
                let r = c.login(&user, &password, initial_response_ok).await;
                (c, r)
            })
        })
    })
}

/// Start `smtp_client_sendmail()` without blocking (see `smtp_client_start_connect()`). The
/// message is copied; for a large message use `smtp_client_start_sendmail_stream()`.
/// `IN_PROGRESS` while it runs, `BAD_STATE` when an operation is already in progress; the
/// per-recipient results through the same getters once it ends.
/// Errors as `smtp_client_sendmail()`.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_client_start_sendmail(
    client: *mut smtp_client,
    from: *const c_char,
    to: *const *const c_char,
    n_to: usize,
    msg: *const u8,
    len: usize,
    options: *const smtp_send_options,
) -> smtp_result {
    session_call(client, |h| {
        let from = str_arg(from, "from")?.to_owned();
        let to: Vec<String> = str_array(to, n_to, "to")?.into_iter().map(str::to_owned).collect();
        let msg = bytes_arg(msg, len, "msg")?.to_vec();
        let options = options_arg(options)?;
        start(h, |mut c| {
            Box::pin(async move {
                let to: Vec<&str> = to.iter().map(String::as_str).collect();
                let (mail, rcpt) = (strs(&options.mail_options), strs(&options.rcpt_options));
                let r = c.sendmail_with(&from, &to, Body::Bytes(&msg), None, &mail, &rcpt, &options.params).await;
                (c, r)
            })
        })
    })
}

/// Start `smtp_client_sendmail_stream()` without blocking (see `smtp_client_start_connect()`).
/// `read` and `userdata` must stay valid until the operation ends; `read` is called during
/// `smtp_client_step()` calls, on the thread making them, and may return
/// `SMTP_READ_PENDING` when it has no data yet: the operation then waits with
/// `SMTP_EVENT_BODY` until the next `smtp_client_step()`. `IN_PROGRESS` while it runs,
/// `BAD_STATE` when an operation is already in progress.
/// Errors as `smtp_client_sendmail_stream()`.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_client_start_sendmail_stream(
    client: *mut smtp_client,
    from: *const c_char,
    to: *const *const c_char,
    n_to: usize,
    read: smtp_read_callback,
    userdata: *mut c_void,
    options: *const smtp_send_options,
) -> smtp_result {
    session_call(client, |h| {
        let from = str_arg(from, "from")?.to_owned();
        let to: Vec<String> = str_array(to, n_to, "to")?.into_iter().map(str::to_owned).collect();
        let Some(read) = read else {
            return Err(Failure::Usage(smtp_result::NullArgument, "read callback is NULL".into()));
        };
        let options = options_arg(options)?;
        let body = BodyCallback { read, userdata: CallerPointer(userdata) };
        start(h, |c| {
            Box::pin(async move {
                let mut c = c;
                let to: Vec<&str> = to.iter().map(String::as_str).collect();
                let (mail, rcpt) = (strs(&options.mail_options), strs(&options.rcpt_options));
                let mut pull = move |buf: &mut [u8]| body.call(buf);
                let size = options.size_estimate;
                let r = c.sendmail_with(&from, &to, Body::Stream(&mut pull), size, &mail, &rcpt, &options.params).await;
                (c, r)
            })
        })
    })
}

/// Start `smtp_client_send_message()` without blocking (see `smtp_client_start_connect()`).
/// The message, `from` and `to` are copied. `IN_PROGRESS` while it runs, `BAD_STATE` when an
/// operation is already in progress. Errors as `smtp_client_send_message()`.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_client_start_send_message(
    client: *mut smtp_client,
    msg: *const u8,
    len: usize,
    from: *const c_char,
    to: *const *const c_char,
    n_to: usize,
    options: *const smtp_send_options,
) -> smtp_result {
    session_call(client, |h| {
        let msg = bytes_arg(msg, len, "msg")?.to_vec();
        let from = opt_str_arg(from, "from")?.map(str::to_owned);
        let to: Option<Vec<String>> =
            if to.is_null() { None } else { Some(str_array(to, n_to, "to")?.into_iter().map(str::to_owned).collect()) };
        let options = options_arg(options)?;
        start(h, |mut c| {
            Box::pin(async move {
                let to: Option<Vec<&str>> = to.as_ref().map(|t| t.iter().map(String::as_str).collect());
                let (mail, rcpt) = (strs(&options.mail_options), strs(&options.rcpt_options));
                let r = c.send_message_with(&msg, from.as_deref(), to.as_deref(), &mail, &rcpt, &options.params).await;
                (c, r)
            })
        })
    })
}

/// Start `smtp_client_quit()` without blocking (see `smtp_client_start_connect()`):
/// `IN_PROGRESS` while it runs, `BAD_STATE` when an operation is already in progress.
/// Errors as `smtp_client_quit()`.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_client_start_quit(client: *mut smtp_client) -> smtp_result {
    session_call(client, |h| {
        start(h, |mut c| {
            Box::pin(async move {
                let r = c.quit().await.map(drop);
                (c, r)
            })
        })
    })
}

/// Drive the operation in progress as far as it can go without blocking: call it when
/// `smtp_client_fd()` is ready for `smtp_client_events()`, when `smtp_client_timeout_ms()` has
/// passed, or (for `SMTP_EVENT_BODY`) when the body callback may have data; calling it early
/// is harmless. Returns `SMTP_RESULT_IN_PROGRESS` while the operation runs, then its result
/// (once): what the blocking call would have returned, with the same last-error details,
/// except for the checks of its arguments, which the `smtp_client_start_*()` function made and
/// returned at once. That is `OK` or one of `CONNECT_ERROR`, `HELO_ERROR`, `RESPONSE_ERROR`,
/// `NOT_SUPPORTED`, `TLS_REQUIRED`, `TLS_CERTIFICATE`, `TLS_ERROR`, `AUTHENTICATION_ERROR`,
/// `CREDENTIALS_POLICY`, `SMTP_ERROR`, `SENDER_REFUSED`, `RECIPIENTS_REFUSED`, `DATA_ERROR`,
/// `MESSAGE_TOO_LARGE`, `DELIVERY_UNKNOWN`, `CALLBACK_ABORTED` (the body callback),
/// `INVALID_ARGUMENT` (what is checked once connected, such as a message whose headers name no
/// recipient), `BAD_STATE` and the connection errors. `BAD_STATE` also when no operation is in
/// progress.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_client_step(client: *mut smtp_client) -> smtp_result {
    session_call_driving(client, step)
}

/// The file descriptor the operation in progress waits on, or -1 (no operation, or it waits
/// only for the body callback). It may change between steps (the resolver's pipe while a name
/// is resolved, then the socket): register it again after each `smtp_client_step()`.
#[no_mangle]
pub extern "C" fn smtp_client_fd(client: *const smtp_client) -> c_int {
    session_get(client, -1, |v| v.wait_fd)
}

/// What the operation in progress waits for: a mask of `SMTP_EVENT_READ` or
/// `SMTP_EVENT_WRITE` (on `smtp_client_fd()`) and `SMTP_EVENT_BODY`; 0 when no operation is in
/// progress. A TLS connection may want to write while reading, or the reverse: wait for the
/// event named, not the one the protocol step suggests.
#[no_mangle]
pub extern "C" fn smtp_client_events(client: *const smtp_client) -> u32 {
    session_get(client, 0, |v| v.wait_events)
}

/// Milliseconds until the operation in progress times out, rounded up (0: it has; call
/// `smtp_client_step()` now, which fails it with `TIMEOUT`): the nearer of the deadline of
/// the phase under way (`smtp_client_set_phase_timeout_ms()`) and the operation's total
/// (`smtp_client_set_operation_timeout_ms()`; the only one while waiting for the body
/// callback). -1 when there is none (no operation, or no timeout applies).
#[no_mangle]
pub extern "C" fn smtp_client_timeout_ms(client: *const smtp_client) -> i64 {
    session_get(client, -1, |v| {
        v.wait_deadline.map_or(-1, |d| i64::try_from(millis_until(d, Instant::now())).unwrap_or(i64::MAX))
    })
}

/// Whether an operation started with a `smtp_client_start_*()` function is in progress.
#[no_mangle]
pub extern "C" fn smtp_client_in_progress(client: *const smtp_client) -> bool {
    session_get(client, false, |v| v.in_progress)
}

fn strs(list: &[String]) -> Vec<&str> {
    list.iter().map(String::as_str).collect()
}
