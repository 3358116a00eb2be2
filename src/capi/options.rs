//! `smtp_send_options`: what a send may carry beyond its envelope and message (ESMTP options
//! for MAIL and RCPT, the size of a streamed message), in an object of its own so that new
//! options never change the signature of `smtp_client_sendmail()` and its siblings.

use std::ffi::c_char;

use super::args::{opt_str_arg, str_arg};
use super::handle::Handle;
use super::result::{refusal_code, smtp_result, Failure};
use super::unwind::plain_call;
use crate::protocol::{check_esmtp_param, DsnPolicy, DsnRet, Notify, TransactionParams};

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
    /// DSN and REQUIRETLS.
    pub(crate) params: TransactionParams,
}

impl SendOptions {
    /// Whether the typed parameters agree with the raw options (no parameter set both ways).
    fn consistent(&self) -> bool {
        let mail: Vec<&str> = self.mail_options.iter().map(String::as_str).collect();
        let rcpt: Vec<&str> = self.rcpt_options.iter().map(String::as_str).collect();
        self.params.check_options(&mail, &rcpt).is_ok()
    }
}

/// What a DSN returns of a failed message (`smtp_send_options_set_dsn_ret()`). Values are ABI.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum smtp_dsn_ret {
    /// No `RET=`: the server chooses (the default).
    Unset = 0,
    /// `RET=FULL`: the whole message.
    Full = 1,
    /// `RET=HDRS`: the headers only.
    Hdrs = 2,
}

/// When a recipient's DSN is sent (`smtp_send_options_set_dsn_notify()`): flags combined with
/// `|`, `SMTP_DSN_NOTIFY_NEVER` alone or any of the other three. Values are ABI.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum smtp_dsn_notify {
    /// On delivery (`NOTIFY=SUCCESS`).
    Success = 1,
    /// On failure (`NOTIFY=FAILURE`).
    Failure = 2,
    /// On delay (`NOTIFY=DELAY`).
    Delay = 4,
    /// Never (`NOTIFY=NEVER`); combines with no other flag.
    Never = 8,
}

/// What a send with DSN settings does when the server does not advertise DSN
/// (`smtp_send_options_set_dsn_policy()`). Values are ABI.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum smtp_dsn_policy {
    /// Fail with `SMTP_RESULT_NOT_SUPPORTED` before MAIL, nothing of the transaction sent
    /// (the default).
    Require = 0,
    /// Send the message without the DSN parameters.
    Optional = 1,
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

/// Apply a change of the typed parameters; a setting refused by its own check, or one that
/// conflicts with a raw option, is `INVALID_ARGUMENT` and leaves the options unchanged.
fn set_params(o: &mut SendOptions, f: impl FnOnce(&mut TransactionParams) -> crate::error::Result<()>) -> smtp_result {
    let before = o.params.clone();
    if f(&mut o.params).is_err() || !o.consistent() {
        o.params = before;
        return smtp_result::InvalidArgument;
    }
    smtp_result::Ok
}

/// A string argument of an options setter (NULL allowed when `optional`).
fn text_arg(value: *const c_char, what: &str, optional: bool) -> Result<Option<String>, smtp_result> {
    let got = if optional { opt_str_arg(value, what) } else { str_arg(value, what).map(Some) };
    match got {
        Ok(v) => Ok(v.map(str::to_owned)),
        Err(Failure::Usage(code, _)) => Err(code),
        Err(Failure::Core(_)) => Err(smtp_result::InvalidArgument),
    }
}

/// Add a MAIL (`mail`) or RCPT option, refused when it repeats a typed DSN / REQUIRETLS setting.
fn push_checked(o: &mut SendOptions, option: *const c_char, mail: bool) -> smtp_result {
    let list = if mail { &mut o.mail_options } else { &mut o.rcpt_options };
    let rc = push_option(list, option);
    if rc == smtp_result::Ok && !o.consistent() {
        let list = if mail { &mut o.mail_options } else { &mut o.rcpt_options };
        list.pop();
        return smtp_result::InvalidArgument;
    }
    rc
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
/// space, CR, LF, a control character; or `RET`, `ENVID` or `REQUIRETLS` when the typed
/// setting is made, see `smtp_send_options_set_dsn_ret()`), `NULL_ARGUMENT`, `INVALID_UTF8`,
/// `BAD_HANDLE`.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_send_options_add_mail_option(
    options: *mut smtp_send_options,
    option: *const c_char,
) -> smtp_result {
    plain_call(smtp_result::Panic, || update(options, |o| push_checked(o, option, true)))
}

/// Add an ESMTP option sent with every RCPT TO (smtplib's `rcpt_options` item), e.g.
/// `"NOTIFY=FAILURE"`. Errors as `smtp_send_options_add_mail_option()` (`INVALID_ARGUMENT`
/// also for `NOTIFY` or `ORCPT` when a recipient has the typed setting).
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_send_options_add_rcpt_option(
    options: *mut smtp_send_options,
    option: *const c_char,
) -> smtp_result {
    plain_call(smtp_result::Panic, || update(options, |o| push_checked(o, option, false)))
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

/// DSN (RFC 3461): what a delivery status notification returns of a failed message
/// (`smtp_dsn_ret`: `SMTP_DSN_RET_FULL`, `SMTP_DSN_RET_HDRS`, or `SMTP_DSN_RET_UNSET`, the
/// default, for no `RET=`). Sent on MAIL only when the server advertises DSN (see
/// `smtp_send_options_set_dsn_policy()`). A raw `RET=` option as well is refused, whichever
/// comes first. Errors: `INVALID_ARGUMENT` (unknown value, or a raw `RET` option is set),
/// `NULL_ARGUMENT`, `BAD_HANDLE`.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_send_options_set_dsn_ret(options: *mut smtp_send_options, ret: i32) -> smtp_result {
    plain_call(smtp_result::Panic, || {
        let ret = match ret {
            r if r == smtp_dsn_ret::Unset as i32 => None,
            r if r == smtp_dsn_ret::Full as i32 => Some(DsnRet::Full),
            r if r == smtp_dsn_ret::Hdrs as i32 => Some(DsnRet::Headers),
            _ => return smtp_result::InvalidArgument,
        };
        update(options, |o| {
            set_params(o, |p| {
                p.dsn.set_ret(ret);
                Ok(())
            })
        })
    })
}

/// DSN: the envelope identifier returned in every notification (`Original-Envelope-Id`),
/// sent as `ENVID=` in xtext (RFC 3461 §4); NULL: none (the default). Printable ASCII (space
/// allowed), at most 100 characters once encoded (each character other than `!`..`~`, `+`
/// and `=` takes three). Errors: `INVALID_ARGUMENT` (empty, a control or non-ASCII character,
/// too long, or a raw `ENVID` option is set), `INVALID_UTF8`, `NULL_ARGUMENT` (options),
/// `BAD_HANDLE`. The setting is unchanged on error.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_send_options_set_dsn_envid(
    options: *mut smtp_send_options,
    envid: *const c_char,
) -> smtp_result {
    plain_call(smtp_result::Panic, || {
        update(options, |o| match text_arg(envid, "envid", true) {
            Ok(envid) => set_params(o, |p| p.dsn.set_envid(envid.as_deref())),
            Err(code) => code,
        })
    })
}

/// DSN: when the server reports on the recipient `recipient` (the address exactly as passed
/// to the send, or as found in the message's headers by `smtp_client_send_message()`,
/// compared ignoring ASCII case): `flags` is `SMTP_DSN_NOTIFY_NEVER`, or any of
/// `SMTP_DSN_NOTIFY_SUCCESS | SMTP_DSN_NOTIFY_FAILURE | SMTP_DSN_NOTIFY_DELAY`; 0 removes the
/// recipient's setting (the server's default, failures and delays). Each recipient has its own
/// setting, sent as `NOTIFY=` on its RCPT only. A send whose recipients do not include an
/// address given here fails with `INVALID_ARGUMENT` before anything is sent. Errors:
/// `INVALID_ARGUMENT` (NEVER combined with another flag, an unknown flag, an empty recipient
/// or one with a control character, or a raw `NOTIFY` RCPT option is set), `INVALID_UTF8`,
/// `NULL_ARGUMENT`, `BAD_HANDLE`. The setting is unchanged on error.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_send_options_set_dsn_notify(
    options: *mut smtp_send_options,
    recipient: *const c_char,
    flags: u32,
) -> smtp_result {
    plain_call(smtp_result::Panic, || {
        update(options, |o| {
            let recipient = match text_arg(recipient, "recipient", false) {
                Ok(r) => r.unwrap_or_default(),
                Err(code) => return code,
            };
            let notify = match flags {
                0 => None,
                f => match Notify::from_bits(f) {
                    Ok(n) => Some(n),
                    Err(_) => return smtp_result::InvalidArgument,
                },
            };
            set_params(o, |p| p.dsn.set_notify(&recipient, notify))
        })
    })
}

/// DSN: the original recipient address of `recipient` (matched as in
/// `smtp_send_options_set_dsn_notify()`), returned in notifications as `Original-Recipient`
/// and sent as `ORCPT=rfc822;` and its xtext, or for a non-ASCII address as RFC 6533's
/// `ORCPT=utf-8;` (the characters as they are when the message goes with SMTPUTF8, else as
/// `\x{HEX}`); NULL: none (the default). At most 500 characters encoded. Errors:
/// `INVALID_ARGUMENT` (an empty address or recipient, a control character, too long, or a raw
/// `ORCPT` RCPT option is set), `INVALID_UTF8`, `NULL_ARGUMENT` (options, recipient),
/// `BAD_HANDLE`. The setting is unchanged on error.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_send_options_set_dsn_orcpt(
    options: *mut smtp_send_options,
    recipient: *const c_char,
    original: *const c_char,
) -> smtp_result {
    plain_call(smtp_result::Panic, || {
        update(options, |o| {
            let (recipient, original) =
                match (text_arg(recipient, "recipient", false), text_arg(original, "original", true)) {
                    (Ok(r), Ok(orig)) => (r.unwrap_or_default(), orig),
                    (Err(code), _) | (_, Err(code)) => return code,
                };
            set_params(o, |p| p.dsn.set_orcpt(&recipient, original.as_deref()))
        })
    })
}

/// DSN: what a send with DSN settings (`smtp_send_options_set_dsn_*`) does when the server
/// does not advertise DSN (or was greeted with HELO): `SMTP_DSN_POLICY_REQUIRE` (the default)
/// makes the send fail with SMTP_RESULT_NOT_SUPPORTED before MAIL, nothing of the transaction sent;
/// `SMTP_DSN_POLICY_OPTIONAL` sends the message without the DSN parameters. Errors:
/// `INVALID_ARGUMENT` (unknown value), `NULL_ARGUMENT`, `BAD_HANDLE`.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_send_options_set_dsn_policy(options: *mut smtp_send_options, policy: i32) -> smtp_result {
    plain_call(smtp_result::Panic, || {
        let policy = match policy {
            p if p == smtp_dsn_policy::Require as i32 => DsnPolicy::Require,
            p if p == smtp_dsn_policy::Optional as i32 => DsnPolicy::Optional,
            _ => return smtp_result::InvalidArgument,
        };
        update(options, |o| {
            set_params(o, |p| {
                p.dsn.set_policy(policy);
                Ok(())
            })
        })
    })
}

/// REQUIRETLS (RFC 8689): when true, MAIL FROM carries `REQUIRETLS`, which asks every server
/// on the way to relay the message only over verified TLS. Sent only over TLS whose peer was
/// verified (STARTTLS or SMTPS with verification on) to a server that advertises REQUIRETLS;
/// otherwise the send fails with SMTP_RESULT_TLS_REQUIRED before MAIL, nothing of the transaction sent
/// (the connection stays open). Default false. A raw `REQUIRETLS` mail option as well is
/// refused. Errors: `INVALID_ARGUMENT` (a raw `REQUIRETLS` option is set), `NULL_ARGUMENT`,
/// `BAD_HANDLE`.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_send_options_set_requiretls(options: *mut smtp_send_options, requiretls: bool) -> smtp_result {
    plain_call(smtp_result::Panic, || {
        update(options, |o| {
            set_params(o, |p| {
                p.requiretls = requiretls;
                Ok(())
            })
        })
    })
}
