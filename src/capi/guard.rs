//! The guard every export goes through: panics never cross the C boundary, NULL and foreign
//! handles become result codes, re-entry from a callback and use from a second thread are
//! refused (each with its own code), and the last error is reset at the start of every mutating
//! call and recorded, with the getters' view, at its end.

use std::any::Any;
use std::ffi::{c_char, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::handle::{Handle, Refusal};
use super::result::{code_of, smtp_result};
use super::view::View;
use crate::error::Error;
use crate::protocol::Reply;
use crate::session::Session;

/// One SMTP, SMTPS or LMTP client session (smtplib's `SMTP` object): an opaque handle made by
/// `smtp_client_new()` and released with `smtp_client_free()`. (Not called `smtp_session`:
/// libESMTP's header already declares `struct smtp_session`, and a program must be able to
/// include both headers without mixing the two libraries' handles up.)
#[allow(non_camel_case_types)]
pub struct smtp_client {
    _private: [u8; 0],
}

/// A failure at the C layer: a core error, or a usage error the core never sees.
pub(crate) enum Failure {
    Core(Error),
    Usage(smtp_result, String),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Core(e)
    }
}

pub(crate) type CResult<T> = Result<T, Failure>;

/// The detail of the last error, kept on the session (never thread-local).
#[derive(Default)]
pub(crate) struct LastError {
    pub(crate) code: i32,
    pub(crate) message: String,
    pub(crate) reply: Option<Reply>,
    pub(crate) sender: Option<String>,
    pub(crate) callback_value: i32,
}

/// A C callback's userdata, with the destructor the library calls when the registration is
/// replaced by a different one or the session is freed.
pub(crate) struct UserData {
    pub(crate) ptr: *mut std::ffi::c_void,
    pub(crate) free: Option<unsafe extern "C" fn(*mut std::ffi::c_void)>,
}

// SAFETY: the pointer is only handed back to the caller's own callbacks and destructor, on the
// thread that is in a mutating call on the session (the documented contract).
unsafe impl Send for UserData {}

impl UserData {
    /// Register `new` in `slot`. The registration it replaces is released (its destructor runs
    /// once), unless it is the same userdata with the same destructor: that one is still in
    /// use by the new registration, and will be released once, later.
    pub(crate) fn replace(slot: &mut Option<UserData>, new: UserData) {
        let old = slot.replace(new);
        if let (Some(old), Some(new)) = (old, slot.as_ref()) {
            // C passed both destructors: the same address means the same registration
            let same_free = match (old.free, new.free) {
                (Some(a), Some(b)) => std::ptr::fn_addr_eq(a, b),
                (a, b) => a.is_none() && b.is_none(),
            };
            if old.ptr == new.ptr && same_free {
                std::mem::forget(old); // the same ownership, carried over: no destructor
            }
        }
    }
}

impl Drop for UserData {
    fn drop(&mut self) {
        if let Some(f) = self.free {
            // SAFETY: the caller gave us this destructor for this pointer, to call once.
            unsafe { f(self.ptr) };
        }
    }
}

/// What mutating calls work on: the protocol engine and what the C layer keeps beside it.
/// Getters never see this (they read the [`View`]).
pub(crate) struct SessionState {
    pub(crate) core: Session,
    pub(crate) last: LastError,
    /// Declared after `core`, so dropped after it: closing the connection on free may still
    /// call the debug callback, which may use its userdata.
    pub(crate) debug_userdata: Option<UserData>,
}

impl SessionState {
    pub(crate) fn new(core: Session) -> Self {
        SessionState { core, last: LastError::default(), debug_userdata: None }
    }

    fn record(&mut self, failure: Failure) -> smtp_result {
        let (code, last) = match failure {
            Failure::Core(e) => {
                let code = code_of(e.kind());
                let last = LastError {
                    code: code as i32,
                    message: e.message().to_owned(),
                    reply: e.reply().cloned(),
                    sender: e.sender().map(str::to_owned),
                    callback_value: e.callback_value(),
                };
                (code, last)
            }
            Failure::Usage(code, message) => (code, LastError { code: code as i32, message, ..Default::default() }),
        };
        self.last = last;
        code
    }
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

fn refusal_code(refusal: Refusal) -> smtp_result {
    match refusal {
        Refusal::Null => smtp_result::NullArgument,
        Refusal::NotAHandle => smtp_result::BadHandle,
        Refusal::Reentrant => smtp_result::ReentrantCall,
        Refusal::Concurrent => smtp_result::ConcurrentCall,
    }
}

/// The guard of a mutating session call: enters the handle exclusively, resets the last
/// error, runs `f` on the session state, catches a panic (poisoning the session), records the
/// failure, and only then brings the getters' view up to date, so that strings borrowed from
/// the view and passed back in as arguments stay valid for all of `f`.
pub(crate) fn session_call(s: *mut smtp_client, f: impl FnOnce(&mut SessionState) -> CResult<()>) -> smtp_result {
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

/// The guard of functions without a session: only catches panics.
pub(crate) fn plain_call<R>(default: R, f: impl FnOnce() -> R) -> R {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(default)
}

fn panic_message(payload: &Box<dyn Any + Send>) -> String {
    let detail = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    format!("internal error (panic): {detail}; the session can no longer be used")
}

// ---------------------------------------------------------------- argument helpers

/// A required string argument: NUL-terminated UTF-8.
pub(crate) fn str_arg<'a>(p: *const c_char, what: &str) -> CResult<&'a str> {
    opt_str_arg(p, what)?.ok_or_else(|| Failure::Usage(smtp_result::NullArgument, format!("{what} is NULL")))
}

/// An optional string argument (NULL = none).
pub(crate) fn opt_str_arg<'a>(p: *const c_char, what: &str) -> CResult<Option<&'a str>> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: the caller passes a NUL-terminated string valid for this call (API contract).
    let c = unsafe { CStr::from_ptr(p) };
    c.to_str().map(Some).map_err(|_| Failure::Usage(smtp_result::InvalidUtf8, format!("{what} is not valid UTF-8")))
}

/// `n` items of `T` at `p`: every (pointer, count) pair from C goes through here. NULL is allowed
/// only when `n` is 0; a count whose size in bytes overflows or exceeds `isize::MAX` (no real
/// buffer can be that large), or a misaligned pointer, is `INVALID_ARGUMENT`, never a read.
pub(crate) fn slice_arg<'a, T>(p: *const T, n: usize, what: &str) -> CResult<&'a [T]> {
    if n == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(Failure::Usage(smtp_result::NullArgument, format!("{what} is NULL but its count is {n}")));
    }
    let fits = n.checked_mul(std::mem::size_of::<T>()).is_some_and(|bytes| bytes <= isize::MAX as usize);
    if !fits {
        return Err(Failure::Usage(
            smtp_result::InvalidArgument,
            format!("{what}: count {n} is larger than any buffer"),
        ));
    }
    if !p.is_aligned() {
        return Err(Failure::Usage(smtp_result::InvalidArgument, format!("{what} is not aligned for its type")));
    }
    // SAFETY: non-NULL, aligned, a size that fits isize; the caller passes n readable items
    // valid for this call (API contract).
    Ok(unsafe { std::slice::from_raw_parts(p, n) })
}

/// An array of `n` strings; NULL is allowed only when `n` is 0.
pub(crate) fn str_array<'a>(p: *const *const c_char, n: usize, what: &str) -> CResult<Vec<&'a str>> {
    let items = slice_arg(p, n, what)?;
    items.iter().enumerate().map(|(i, &s)| str_arg(s, &format!("{what}[{i}]"))).collect()
}

/// A byte buffer of `len`; NULL is allowed only when `len` is 0.
pub(crate) fn bytes_arg<'a>(p: *const u8, len: usize, what: &str) -> CResult<&'a [u8]> {
    slice_arg(p, len, what)
}

/// Write an output parameter when the caller gave one.
pub(crate) fn put<T>(out: *mut T, value: T) {
    if !out.is_null() {
        // SAFETY: a non-NULL output pointer is writable for one T (API contract).
        unsafe { out.write(value) };
    }
}
