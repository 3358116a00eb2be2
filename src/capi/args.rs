//! Arguments from C: strings, arrays and buffers checked and borrowed for the call, and
//! output parameters written only when given.

use std::ffi::{c_char, CStr};

use super::result::{smtp_result, CResult, Failure};

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
