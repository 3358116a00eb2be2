//! The guard every export goes through: panics never cross the C boundary, NULL and foreign
//! handles become result codes, re-entrant calls from callbacks are refused, and the last
//! error is reset at the start of every mutating call and recorded at its end.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::result::{code_of, smtp_result};
use crate::error::Error;
use crate::protocol::Reply;
use crate::session::Session;

/// One SMTP, SMTPS or LMTP client session (smtplib's `SMTP` object): an opaque handle made by
/// `smtp_session_new()` and released with `smtp_session_free()`. (Not called `smtp_session`:
/// libESMTP's header already declares `struct smtp_session`, and a program must be able to
/// include both headers without mixing the two libraries' handles up.)
#[allow(non_camel_case_types)]
pub struct smtp_client {
    _private: [u8; 0],
}

/// Marks a live handle (checked on entry, cleared on free): catches most freed and foreign
/// pointers. Best effort, as curl's `GOOD_EASY_HANDLE`.
const MAGIC: u32 = 0x534d_5450; // "SMTP"

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

/// Which borrowed string a getter handed out, so asking twice returns the same pointer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum StrSlot {
    LastReplyText,
    ErrorMessage,
    ErrorReplyText,
    ErrorSender,
    HeloResp,
    EhloResp,
    Feature(usize),
    FeatureName(usize),
    FeatureParams(usize),
    RecipientAddress(usize),
    RecipientText(usize),
    TlsVersion,
    TlsCipher,
}

/// The detail of the last error, kept on the session (never thread-local).
#[derive(Default)]
pub(crate) struct LastError {
    pub(crate) code: i32,
    pub(crate) message: String,
    pub(crate) reply: Option<Reply>,
    pub(crate) sender: Option<String>,
    pub(crate) callback_value: i32,
}

/// A C callback and its userdata, with the destructor the library calls when it is replaced
/// or the session freed.
pub(crate) struct UserData {
    pub(crate) ptr: *mut std::ffi::c_void,
    pub(crate) free: Option<unsafe extern "C" fn(*mut std::ffi::c_void)>,
}

impl Drop for UserData {
    fn drop(&mut self) {
        if let Some(f) = self.free {
            // SAFETY: the caller gave us this destructor for this pointer, to call once.
            unsafe { f(self.ptr) };
        }
    }
}

/// What an `smtp_client*` really points to. `repr(C)` keeps `magic` first.
#[repr(C)]
pub(crate) struct SessionHandle {
    magic: u32,
    in_call: Cell<bool>,
    poisoned: Cell<bool>,
    pub(crate) core: Session,
    pub(crate) last: LastError,
    /// Borrowed strings handed to C, valid until the next mutating call.
    strings: RefCell<HashMap<StrSlot, CString>>,
    /// The refused recipients' indices into `core.recipients()`, computed on demand.
    pub(crate) refused_index: RefCell<Option<Vec<usize>>>,
    pub(crate) debug_userdata: Option<UserData>,
}

impl SessionHandle {
    pub(crate) fn new(core: Session) -> Box<Self> {
        Box::new(SessionHandle {
            magic: MAGIC,
            in_call: Cell::new(false),
            poisoned: Cell::new(false),
            core,
            last: LastError::default(),
            strings: RefCell::new(HashMap::new()),
            refused_index: RefCell::new(None),
            debug_userdata: None,
        })
    }

    /// A NUL-terminated copy of `value` that lives until the next mutating call.
    pub(crate) fn borrow_str(&self, slot: StrSlot, value: &str) -> *const c_char {
        let mut strings = self.strings.borrow_mut();
        let c = strings.entry(slot).or_insert_with(|| {
            CString::new(value).unwrap_or_else(|e| {
                // interior NULs cannot come from replies (the parser refuses them); cut there
                let pos = e.nul_position();
                CString::new(&value.as_bytes()[..pos]).unwrap_or_default()
            })
        });
        c.as_ptr()
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

/// Free a handle made by [`SessionHandle::new`] (NULL and bad handles are ignored).
pub(crate) fn free_session(s: *mut smtp_client) {
    let Some(h) = live_handle(s) else { return };
    // SAFETY: live_handle checked the pointer is one of ours and not freed (best effort).
    unsafe {
        if (*h).in_call.get() {
            return; // freeing from inside a callback would pull the session from under us
        }
        (*h).magic = 0;
        drop(Box::from_raw(h));
    }
}

fn live_handle(s: *const smtp_client) -> Option<*mut SessionHandle> {
    if s.is_null() || (s as usize) % std::mem::align_of::<SessionHandle>() != 0 {
        return None;
    }
    let h = s as *mut SessionHandle;
    // SAFETY: best effort: reading the first field of what the caller says is our handle.
    // A dangling pointer is UB in principle; in practice the magic was cleared on free.
    let magic = unsafe { std::ptr::addr_of!((*h).magic).read() };
    (magic == MAGIC).then_some(h)
}

/// The guard of a mutating session call: checks the handle, refuses re-entry, resets the last
/// error, catches panics (poisoning the session), and records the failure.
pub(crate) fn session_call(s: *mut smtp_client, f: impl FnOnce(&mut SessionHandle) -> CResult<()>) -> smtp_result {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        if s.is_null() {
            return smtp_result::NullArgument;
        }
        let Some(h) = live_handle(s) else { return smtp_result::BadHandle };
        // SAFETY: h is a live handle (checked above); in_call is a Cell read through a raw
        // pointer so no reference to the handle exists while a callback may be running.
        let in_call = unsafe { &*std::ptr::addr_of!((*h).in_call) };
        if in_call.get() {
            return smtp_result::ReentrantCall;
        }
        // SAFETY: not in a call, so no other reference to the handle exists (one thread at a
        // time is the documented contract).
        let handle = unsafe { &mut *h };
        if handle.poisoned.get() {
            return smtp_result::Panic;
        }
        handle.in_call.set(true);
        handle.last = LastError::default();
        handle.strings.borrow_mut().clear();
        *handle.refused_index.borrow_mut() = None;
        let res = catch_unwind(AssertUnwindSafe(|| f(handle)));
        let code = match res {
            Ok(Ok(())) => smtp_result::Ok,
            Ok(Err(failure)) => handle.record(failure),
            Err(payload) => {
                handle.poisoned.set(true);
                // close() may still call the debug callback: the session stays "in call" until
                // after it, so the callback cannot re-enter or free the session under us
                handle.core.close();
                handle.record(Failure::Usage(smtp_result::Panic, panic_message(&payload)))
            }
        };
        handle.in_call.set(false);
        code
    }));
    outcome.unwrap_or(smtp_result::Panic)
}

/// The guard of a read-only getter: NULL, bad handles, panics and calls from inside a
/// callback give `default`.
pub(crate) fn session_get<R>(s: *const smtp_client, default: R, f: impl FnOnce(&SessionHandle) -> R) -> R {
    let Some(h) = live_handle(s) else { return default };
    // SAFETY: live handle; see session_call for the in_call read.
    let in_call = unsafe { &*std::ptr::addr_of!((*h).in_call) };
    if in_call.get() {
        return default;
    }
    // SAFETY: not in a mutating call, so only shared access happens now.
    let handle = unsafe { &*h };
    if handle.poisoned.get() {
        return default;
    }
    catch_unwind(AssertUnwindSafe(|| f(handle))).unwrap_or(default)
}

/// The guard of the last-error getters: like [`session_get`], but a poisoned session still
/// answers, so the panic that poisoned it can be read.
pub(crate) fn session_get_last_error<R>(s: *const smtp_client, default: R, f: impl FnOnce(&SessionHandle) -> R) -> R {
    let Some(h) = live_handle(s) else { return default };
    // SAFETY: as in session_get.
    let in_call = unsafe { &*std::ptr::addr_of!((*h).in_call) };
    if in_call.get() {
        return default;
    }
    // SAFETY: not in a mutating call, so only shared access happens now.
    let handle = unsafe { &*h };
    catch_unwind(AssertUnwindSafe(|| f(handle))).unwrap_or(default)
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

/// An array of `n` strings; NULL is allowed only when `n` is 0.
pub(crate) fn str_array<'a>(p: *const *const c_char, n: usize, what: &str) -> CResult<Vec<&'a str>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    if p.is_null() {
        return Err(Failure::Usage(smtp_result::NullArgument, format!("{what} is NULL but its count is {n}")));
    }
    // SAFETY: the caller passes an array of n pointers valid for this call (API contract).
    let items = unsafe { std::slice::from_raw_parts(p, n) };
    items.iter().enumerate().map(|(i, &s)| str_arg(s, &format!("{what}[{i}]"))).collect()
}

/// A byte buffer of `len`; NULL is allowed only when `len` is 0.
pub(crate) fn bytes_arg<'a>(p: *const u8, len: usize, what: &str) -> CResult<&'a [u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(Failure::Usage(smtp_result::NullArgument, format!("{what} is NULL but its length is {len}")));
    }
    // SAFETY: the caller passes len readable bytes valid for this call (API contract).
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// Write an output parameter when the caller gave one.
pub(crate) fn put<T>(out: *mut T, value: T) {
    if !out.is_null() {
        // SAFETY: a non-NULL output pointer is writable for one T (API contract).
        unsafe { out.write(value) };
    }
}
