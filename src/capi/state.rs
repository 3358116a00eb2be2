//! What a session's mutating calls work on beside the protocol engine: the last error and the
//! registered callback userdata.

use super::result::{code_of, smtp_result, Failure};
use crate::nonblocking::{Operation, Wait};
use crate::protocol::Reply;
use crate::session::Session;

/// The detail of the last error, kept on the session (never thread-local).
#[derive(Default)]
pub(crate) struct LastError {
    pub(crate) code: i32,
    pub(crate) message: String,
    pub(crate) reply: Option<Reply>,
    pub(crate) sender: Option<String>,
    pub(crate) callback_value: i32,
    /// The OS error number behind the failure (`errno`), 0 when none.
    pub(crate) os_error: i32,
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
    /// The non-blocking operation in progress, which holds the client and its connection
    /// (`core` holds an unconnected stand-in meanwhile), and what it waits for.
    pub(crate) running: Option<Operation>,
    pub(crate) wait: Option<Wait>,
    pub(crate) last: LastError,
    /// Declared after `core`, so dropped after it: closing the connection on free may still
    /// call the debug callback, which may use its userdata.
    pub(crate) debug_userdata: Option<UserData>,
}

impl SessionState {
    pub(crate) fn new(core: Session) -> Self {
        SessionState { core, running: None, wait: None, last: LastError::default(), debug_userdata: None }
    }

    /// Cancel the operation in progress, if any: its connection is closed, the client comes
    /// back (unconnected) with its settings.
    pub(crate) fn cancel_operation(&mut self) {
        if let Some(operation) = self.running.take() {
            let (client, conn) = operation.cancel(std::time::Instant::now());
            self.core.restore(*client, conn);
            self.wait = None;
        }
    }

    /// Keep `failure` as the last error; its result code.
    pub(crate) fn record(&mut self, failure: Failure) -> smtp_result {
        let (code, last) = LastError::of(failure);
        self.last = last;
        code
    }
}

impl LastError {
    /// The result code of `failure` and the detail kept of it.
    pub(crate) fn of(failure: Failure) -> (smtp_result, LastError) {
        match failure {
            Failure::Core(e) => {
                let code = code_of(e.kind());
                let last = LastError {
                    code: code as i32,
                    message: e.message().to_owned(),
                    reply: e.reply().cloned(),
                    sender: e.sender().map(str::to_owned),
                    callback_value: e.callback_value(),
                    os_error: e.os_error().unwrap_or(0),
                };
                (code, last)
            }
            Failure::Usage(code, message) => (code, LastError { code: code as i32, message, ..Default::default() }),
        }
    }
}
