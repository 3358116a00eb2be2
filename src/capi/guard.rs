//! The guard every session export goes through: panics never cross the C boundary, NULL and
//! foreign handles become result codes, re-entry from a callback and use from a second thread
//! are refused (each with its own code), and the last error is reset at the start of every
//! mutating call and recorded, with the getters' view, at its end.

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::handle::Handle;
use super::result::{refusal_code, smtp_result, CResult, Failure};
use super::state::{LastError, SessionState};
use super::unwind::panic_message;
use super::view::View;
use crate::session::Session;

/// One SMTP, SMTPS or LMTP client session (smtplib's `SMTP` object): an opaque handle made by
/// `smtp_client_new()` and released with `smtp_client_free()`. (Not called `smtp_session`:
/// libESMTP's header already declares `struct smtp_session`, and a program must be able to
/// include both headers without mixing the two libraries' handles up.)
#[allow(non_camel_case_types)]
pub struct smtp_client {
    _private: [u8; 0],
}

/// What an `smtp_client*` really points to.
pub(crate) type SessionHandle = Handle<SessionState, View>;

/// A new session handle, owned by the caller.
pub(crate) fn new_session(core: Session) -> *mut smtp_client {
    let state = SessionState::new(core);
    let mut view = View::default();
    view.refresh(&state);
    SessionHandle::into_raw(state, view).cast()
}

/// Free a handle made by [`new_session`]. NULL, bad handles, and a handle in use (a callback
/// freeing the session whose call runs it; another thread inside it) are ignored.
pub(crate) fn free_session(s: *mut smtp_client) {
    let _ = SessionHandle::free(s.cast());
}

/// The guard of a mutating session call: enters the handle exclusively, resets the last
/// error, runs `f` on the session state, catches a panic (poisoning the session), records the
/// failure, and only then brings the getters' view up to date, so that strings borrowed from
/// the view and passed back in as arguments stay valid for all of `f`.
pub(crate) fn session_call(s: *mut smtp_client, f: impl FnOnce(&mut SessionState) -> CResult<()>) -> smtp_result {
    enter(s, |state| {
        if state.running.is_some() {
            return Err(Failure::Usage(
                smtp_result::BadState,
                "a non-blocking operation is in progress: drive it with smtp_client_step() or cancel it with \
                 smtp_client_close()"
                    .into(),
            ));
        }
        f(state)
    })
}

/// [`session_call`] for the calls that drive or cancel a non-blocking operation in progress
/// (every other mutating call is refused while one runs).
pub(crate) fn session_call_driving(
    s: *mut smtp_client,
    f: impl FnOnce(&mut SessionState) -> CResult<()>,
) -> smtp_result {
    enter(s, f)
}

fn enter(s: *mut smtp_client, f: impl FnOnce(&mut SessionState) -> CResult<()>) -> smtp_result {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let mut guard = match SessionHandle::enter_exclusive(s.cast()) {
            Ok(g) => g,
            Err(refusal) => return refusal_code(refusal),
        };
        let (state, view) = guard.parts();
        if view.poisoned {
            return smtp_result::Panic;
        }
        state.last = LastError::default();
        let code = match catch_unwind(AssertUnwindSafe(|| f(state))) {
            Ok(Ok(())) => smtp_result::Ok,
            Ok(Err(failure)) => state.record(failure),
            Err(payload) => {
                view.poisoned = true;
                // the handle stays locked through close(), which may call the debug callback:
                // it cannot re-enter or free the session under us
                state.running = None;
                state.wait = None;
                state.core.close();
                state.record(Failure::Usage(smtp_result::Panic, panic_message(&payload)))
            }
        };
        view.refresh(state);
        code
    }));
    outcome.unwrap_or(smtp_result::Panic)
}

/// The guard of a read-only getter: reads the view only. NULL, bad handles, a poisoned
/// session, a call from inside a callback and a mutating call running on another thread give
/// `default`.
pub(crate) fn session_get<R>(s: *const smtp_client, default: R, f: impl FnOnce(&View) -> R) -> R {
    match SessionHandle::enter_shared(s.cast()) {
        Ok(view) if !view.poisoned => catch_unwind(AssertUnwindSafe(|| f(&view))).unwrap_or(default),
        _ => default,
    }
}

/// The guard of the last-error getters: like [`session_get`], but a poisoned session still
/// answers, so the panic that poisoned it can be read.
pub(crate) fn session_get_last_error<R>(s: *const smtp_client, default: R, f: impl FnOnce(&View) -> R) -> R {
    match SessionHandle::enter_shared(s.cast()) {
        Ok(view) => catch_unwind(AssertUnwindSafe(|| f(&view))).unwrap_or(default),
        Err(_) => default,
    }
}
