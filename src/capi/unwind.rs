//! Panics never cross the C boundary: the catch for functions without a handle, and the
//! message a caught panic leaves.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// The guard of functions without a session: only catches panics.
pub(crate) fn plain_call<R>(default: R, f: impl FnOnce() -> R) -> R {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(default)
}

pub(crate) fn panic_message(payload: &Box<dyn Any + Send>) -> String {
    let detail = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    format!("internal error (panic): {detail}; the session can no longer be used")
}
