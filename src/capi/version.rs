//! The library's version at run time (compare with the header's `SMTPCLIENT_VERSION_*`).

use std::ffi::c_char;

use super::unwind::plain_call;

const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");

/// The library version as a static string, e.g. "0.2.0". Thread-safe.
#[no_mangle]
pub extern "C" fn smtp_lib_version() -> *const c_char {
    plain_call(c"".as_ptr(), || VERSION.as_ptr().cast())
}

/// The library version as MAJOR*10000 + MINOR*100 + PATCH (equal to the header's
/// `SMTPCLIENT_VERSION_NUMBER` when header and library match). Thread-safe.
#[no_mangle]
pub extern "C" fn smtp_lib_version_number() -> u32 {
    plain_call(0, || {
        let part = |s: &str| s.parse::<u32>().unwrap_or(0);
        part(env!("CARGO_PKG_VERSION_MAJOR")) * 10_000
            + part(env!("CARGO_PKG_VERSION_MINOR")) * 100
            + part(env!("CARGO_PKG_VERSION_PATCH"))
    })
}
