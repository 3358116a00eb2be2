//! `smtp_send_options`: what a send may carry beyond its envelope and message (ESMTP options
//! for MAIL and RCPT, the size of a streamed message), in an object of its own so that new
//! options never change the signature of `smtp_client_sendmail()` and its siblings.

use std::ffi::c_char;

use super::args::str_arg;
use super::handle::Handle;
use super::result::{refusal_code, smtp_result, Failure};
use super::unwind::plain_call;
use crate::protocol::check_esmtp_param;

/// Options for `smtp_client_sendmail()`, `smtp_client_sendmail_stream()` and
/// `smtp_client_send_message()`: an opaque object made by `smtp_send_options_new()` and
/// released with `smtp_send_options_free()`. One options object may serve many sends, on any
/// session; a send reads it and keeps nothing. Passing NULL instead means no options.
#[allow(non_camel_case_types)]
pub struct smtp_send_options {
    _private: [u8; 0],
}

/// What an options object holds.
#[derive(Debug, Default, Clone)]
pub(crate) struct SendOptions {
    pub(crate) mail_options: Vec<String>,
    pub(crate) rcpt_options: Vec<String>,
    pub(crate) size_estimate: Option<u64>,
}

/// An options object has no state beyond what sends read: everything is in the view.
struct Stateless;

type OptionsHandle = Handle<Stateless, SendOptions>;

/// Run `f` on the options behind `options` (NULL: the defaults).
pub(crate) fn with_send_options<R>(
    options: *const smtp_send_options,
    f: impl FnOnce(&SendOptions) -> R,
) -> Result<R, smtp_result> {
    if options.is_null() {
        return Ok(f(&SendOptions::default()));
    }
    let view = OptionsHandle::enter_shared(options.cast()).map_err(refusal_code)?;
    Ok(f(&view))
}

/// Change the options behind `options` (inside the export's panic guard).
fn update(options: *mut smtp_send_options, f: impl FnOnce(&mut SendOptions) -> smtp_result) -> smtp_result {
    match OptionsHandle::enter_exclusive(options.cast()) {
        Ok(mut guard) => f(guard.parts().1),
        Err(refusal) => refusal_code(refusal),
    }
}

/// Add one option, checked as an ESMTP parameter now (the same check a send makes), so that a
/// bad option fails where it is given.
fn push_option(list: &mut Vec<String>, option: *const c_char) -> smtp_result {
    let option = match str_arg(option, "option") {
        Ok(o) => o,
        Err(Failure::Usage(code, _)) => return code,
        Err(Failure::Core(_)) => return smtp_result::InvalidArgument,
    };
    if check_esmtp_param(option).is_err() {
        return smtp_result::InvalidArgument;
    }
    list.push(option.to_owned());
    smtp_result::Ok
}

/// Create an options object with no options. The caller owns it and releases it with
/// `smtp_send_options_free()`. Returns NULL only when out of memory is reported as a panic.
#[no_mangle]
pub extern "C" fn smtp_send_options_new() -> *mut smtp_send_options {
    plain_call(std::ptr::null_mut(), || OptionsHandle::into_raw(Stateless, SendOptions::default()).cast())
}

/// Free an options object. NULL is a no-op; it must not be freed twice, nor while a send on
/// another thread reads it (ignored then).
#[no_mangle]
pub extern "C" fn smtp_send_options_free(options: *mut smtp_send_options) {
    plain_call((), || {
        let _ = OptionsHandle::free(options.cast());
    })
}

/// Add an ESMTP option for MAIL FROM (smtplib's `mail_options` item), e.g. `"BODY=8BITMIME"`
/// or `"SMTPUTF8"`. Options are sent only to an ESMTP server, after the library's own (SIZE).
/// Errors: `INVALID_ARGUMENT` (not `KEYWORD` or `KEYWORD=VALUE` of RFC 5321 §4.1.2: empty, a
/// space, CR, LF, a control character), `NULL_ARGUMENT`, `INVALID_UTF8`, `BAD_HANDLE`.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_send_options_add_mail_option(
    options: *mut smtp_send_options,
    option: *const c_char,
) -> smtp_result {
    plain_call(smtp_result::Panic, || update(options, |o| push_option(&mut o.mail_options, option)))
}

/// Add an ESMTP option sent with every RCPT TO (smtplib's `rcpt_options` item), e.g.
/// `"NOTIFY=FAILURE"`. Errors as `smtp_send_options_add_mail_option()`.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_send_options_add_rcpt_option(
    options: *mut smtp_send_options,
    option: *const c_char,
) -> smtp_result {
    plain_call(smtp_result::Panic, || update(options, |o| push_option(&mut o.rcpt_options, option)))
}

/// For `smtp_client_sendmail_stream()`: the message size in octets with CRLF line ends, sent as
/// SIZE and checked against the server's limit before anything is sent; -1 (the default) when
/// unknown. Sends of a whole message in memory compute the size themselves and ignore this.
/// Errors: `INVALID_ARGUMENT` (below -1), `NULL_ARGUMENT`, `BAD_HANDLE`.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_send_options_set_size_estimate(options: *mut smtp_send_options, size: i64) -> smtp_result {
    plain_call(smtp_result::Panic, || {
        update(options, |o| match size {
            -1 => {
                o.size_estimate = None;
                smtp_result::Ok
            }
            s if s >= 0 => {
                o.size_estimate = u64::try_from(s).ok();
                smtp_result::Ok
            }
            _ => smtp_result::InvalidArgument,
        })
    })
}
