//! SMTP AUTH from C: `smtp_client_login`, `smtp_client_login_oauth`, `smtp_client_auth` with a callback, and the
//! credential policy setters.
//!
//! The `smtp_client_auth` callback hands its response back through an opaque writer
//! (`smtp_auth_response_set`) that copies the bytes: the caller never guesses a buffer size,
//! and bindings (Go, Ruby, Node) only pass a pointer and a length.

use std::ffi::{c_char, c_void};

use zeroize::Zeroizing;

use super::args::{bytes_arg, opt_str_arg, str_arg};
use super::guard::{session_call, session_get, smtp_client};
use super::result::smtp_result;
use super::result::{CResult, Failure};
use super::unwind::plain_call;
use crate::auth::{AuthStep, OAuthMechanism, MAX_RESPONSE_LEN};
use crate::session::CredentialPolicy;

/// The bearer-token mechanisms of `smtp_client_login_oauth()`. Values are ABI.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum smtp_oauth_mechanism {
    /// `XOAUTH2`: `user=U^Aauth=Bearer T^A^A`.
    Xoauth2 = 0,
    /// `OAUTHBEARER` (RFC 7628): `n,a=U,^Aauth=Bearer T^A^A`.
    Oauthbearer = 1,
}

/// What an `smtp_auth_callback` returns. Values are ABI.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum smtp_auth_step {
    /// Send the response set with `smtp_auth_response_set()` (an empty response when it was
    /// not called).
    Respond = 0,
    /// Only when `is_initial` is true: send `AUTH <mechanism>` without an initial response and
    /// wait for the server's first challenge. Returned for a challenge, it cancels the exchange
    /// (`SMTP_RESULT_CALLBACK_ABORTED`, callback value 1).
    NoInitialResponse = 1,
    /// Cancel the exchange. Any negative value (and any value other than 0 and 1) does the
    /// same, and `smtp_client_last_callback_value()` gives back the value returned.
    #[allow(dead_code)] // a constant for C: every value but 0 and 1 aborts
    Abort = -1,
}

/// The response writer an `smtp_auth_callback` receives: opaque, valid only during that
/// callback; fill it with `smtp_auth_response_set()`.
#[allow(non_camel_case_types)]
pub struct smtp_auth_response {
    _private: [u8; 0],
}

/// Marks a live writer: catches writers used after their callback returned (best effort).
const WRITER_MAGIC: u32 = 0x5341_534c; // "SASL"

/// What an `smtp_auth_response*` really points to. `repr(C)` keeps `magic` first.
#[repr(C)]
struct ResponseWriter {
    magic: u32,
    data: Option<Zeroizing<Vec<u8>>>,
}

/// One step of an `smtp_client_auth()` exchange, called synchronously from inside `smtp_client_auth()`:
/// `userdata` as given to `smtp_client_auth()`; `challenge` / `challenge_len`: the server's challenge,
/// base64-decoded (it may contain any byte, is not NUL-terminated, and is borrowed for the
/// duration of the call; at most 16384 bytes), or NULL and 0 when `is_initial` is true (the
/// library asks for an initial response); `tls_active`: whether the connection is protected by
/// TLS; `response`: where to put the answer with `smtp_auth_response_set()`, valid only
/// during this call.
///
/// Returns `SMTP_AUTH_STEP_RESPOND` (0), `SMTP_AUTH_STEP_NO_INITIAL_RESPONSE` (1, initial call
/// only), or a negative value (e.g. `SMTP_AUTH_STEP_ABORT`) to cancel.
///
/// The callback must not call functions on the session (they return
/// `SMTP_RESULT_REENTRANT_CALL`, or their default value for getters) and must not unwind (no
/// C++ exception, longjmp or Go panic).
#[allow(non_camel_case_types)]
pub type smtp_auth_callback = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        challenge: *const u8,
        challenge_len: usize,
        is_initial: bool,
        tls_active: bool,
        response: *mut smtp_auth_response,
    ) -> i32,
>;

/// Whether an AUTH exchange may send its first response on the `AUTH` line (RFC 4954 initial
/// response; smtplib's `initial_response_ok`). The values are ABI.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum smtp_initial_response {
    /// Send the first response on the `AUTH` line (smtplib's default, one round trip less).
    Send = 0,
    /// Send `AUTH <mechanism>` alone and answer the server's first challenge.
    Wait = 1,
}

pub(crate) fn initial_response_arg(value: i32) -> CResult<bool> {
    match value {
        v if v == smtp_initial_response::Send as i32 => Ok(true),
        v if v == smtp_initial_response::Wait as i32 => Ok(false),
        v => Err(Failure::Usage(smtp_result::InvalidArgument, format!("unknown initial-response setting {v}"))),
    }
}

/// smtplib's `login(user, password, initial_response_ok)`.
///
/// EHLO (or HELO) if not done yet, then SCRAM-SHA-256-PLUS, SCRAM-SHA-256, SCRAM-SHA-1-PLUS,
/// SCRAM-SHA-1, CRAM-MD5, PLAIN and LOGIN in that order (strongest first; smtplib starts at
/// CRAM-MD5; `smtp_client_set_login_mechanisms()` chooses another list or order) among the
/// mechanisms the server advertises.
///
/// The `-PLUS` mechanisms bind the login to the TLS channel (RFC 5802 §6): `tls-exporter`
/// (RFC 9266) on TLS 1.3, `tls-server-end-point` (RFC 5929, the hash of the server
/// certificate) on TLS 1.2. They are used only over TLS with a verified peer and skipped
/// otherwise (plain text, or `smtp_client_set_insecure_skip_verify()`). On such a connection,
/// a server advertising SCRAM without its `-PLUS` form gets the GS2 flag `y`, so that a server
/// that does support channel binding (its advertisement stripped on the way) refuses the
/// login; without TLS or a verified peer, SCRAM sends `n`.
///
/// `SMTP_INITIAL_RESPONSE_SEND` sends SCRAM's client-first message, PLAIN's
/// response and LOGIN's user name on the `AUTH` line. 235 is success (for SCRAM only once the
/// server's signature was verified; a 235 without it closes the connection and fails); any
/// other final reply is a failure. A SCRAM server that breaks the protocol (iterations below
/// 4096, a foreign nonce, `e=`, a wrong signature) is not offered a weaker mechanism.
/// One deliberate difference from smtplib: the first 535 (credentials refused) ends the login,
/// since another mechanism cannot make wrong credentials right and each try counts against
/// the account's lockout; the next mechanism is tried only when the mechanism itself failed
/// (504, 534, 538, a malformed challenge). The error message names each mechanism tried with
/// its reply. `user` and `password` are UTF-8, borrowed for the duration of the call only; the
/// library's copies (responses and their base64) are zeroed when done.
///
/// Security, beyond smtplib:
/// - Credentials are not sent over a connection without TLS unless the server is loopback or
///   a Unix socket (see `smtp_client_set_local_peer()`) or cleartext credentials were
///   allowed (`smtp_client_set_cleartext_credentials()`): `SMTP_RESULT_CREDENTIALS_POLICY`,
///   and nothing of AUTH is sent.
/// - After a mechanism fails, the next one is tried only over TLS with a verified peer;
///   otherwise the first mechanism's error is returned (no downgrade from CRAM-MD5 to PLAIN).
/// - Debug output never shows the credentials; server text that echoes them is scrubbed
///   (`[redacted]`) in the debug output, the last reply and the error.
///
/// Errors: `AUTHENTICATION_ERROR` (the server refused: the reply is the last error's reply;
/// or a malformed exchange was cancelled with `*`), `NOT_SUPPORTED` (no AUTH advertised),
/// `SMTP_ERROR` (none of these mechanisms advertised), `CREDENTIALS_POLICY`, `BAD_STATE`
/// (already authenticated on this connection; nothing sent),
/// `HELO_ERROR`, `INVALID_ARGUMENT` (empty user or password, NUL / CR / LF in them, over 8192
/// bytes, or a control character when SCRAM is tried; nothing sent), `NULL_ARGUMENT`, `INVALID_UTF8`, and connection errors
/// (`SERVER_DISCONNECTED`, `TIMEOUT`, `IO_ERROR`, `PROTOCOL_ERROR`).
/// When the TLS policy is not `SMTP_TLS_POLICY_NONE` and TLS is not up yet, this call first
/// greets and runs STARTTLS (or fails with `TLS_REQUIRED` having sent nothing but QUIT), so it
/// may also return `TLS_REQUIRED`, `TLS_ERROR`, `TLS_CERTIFICATE` and `TLS_RECORD`.
///
/// With a NULL `user` and a NULL `password`, the user and password of the URL given to
/// `smtp_client_set_url()` are sent; without such a URL, NULL is `NULL_ARGUMENT`.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_client_login(
    client: *mut smtp_client,
    user: *const c_char,
    password: *const c_char,
    initial_response: i32,
) -> smtp_result {
    session_call(client, |h| {
        let initial_response_ok = initial_response_arg(initial_response)?;
        if user.is_null() && password.is_null() && h.core.has_url_credentials() {
            return Ok(h.core.login_url(initial_response_ok)?);
        }
        let user = str_arg(user, "user")?;
        let password = str_arg(password, "password")?;
        Ok(h.core.login(user, password, initial_response_ok)?)
    })
}

/// Log in with an OAuth 2.0 bearer token: `mechanism` is `SMTP_OAUTH_MECHANISM_XOAUTH2` or
/// `SMTP_OAUTH_MECHANISM_OAUTHBEARER` (RFC 7628). EHLO if needed; the mechanism must be
/// advertised; the token goes in the initial response. When the server answers with an error
/// challenge (a JSON status), the library acknowledges it as the mechanism requires and the
/// server's final reply is the error; the JSON status is added to the error message. `user`
/// and `token` are borrowed for the call only; the same credential policy as `smtp_client_login()`
/// applies.
///
/// Errors: `AUTHENTICATION_ERROR`, `NOT_SUPPORTED` (no AUTH), `SMTP_ERROR` (the mechanism is
/// not advertised), `CREDENTIALS_POLICY`, `BAD_STATE` (already authenticated), `HELO_ERROR`,
/// `INVALID_ARGUMENT` (unknown
/// `mechanism`; `token` not an RFC 6750 bearer token; `user` empty (allowed for OAUTHBEARER),
/// with NUL / CR / LF / 0x01, or over 8192 bytes), `NULL_ARGUMENT`, `INVALID_UTF8`, and
/// connection errors.
/// When the TLS policy is not `SMTP_TLS_POLICY_NONE` and TLS is not up yet, this call first
/// greets and runs STARTTLS (or fails with `TLS_REQUIRED` having sent nothing but QUIT), so it
/// may also return `TLS_REQUIRED`, `TLS_ERROR`, `TLS_CERTIFICATE` and `TLS_RECORD`.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_client_login_oauth(
    client: *mut smtp_client,
    mechanism: i32,
    user: *const c_char,
    token: *const c_char,
) -> smtp_result {
    session_call(client, |h| {
        let mechanism = match mechanism {
            m if m == smtp_oauth_mechanism::Xoauth2 as i32 => OAuthMechanism::XOAuth2,
            m if m == smtp_oauth_mechanism::Oauthbearer as i32 => OAuthMechanism::OAuthBearer,
            m => return Err(Failure::Usage(smtp_result::InvalidArgument, format!("unknown OAuth mechanism {m}"))),
        };
        let user = str_arg(user, "user")?;
        let token = str_arg(token, "token")?;
        Ok(h.core.login_oauth(mechanism, user, token)?)
    })
}

/// smtplib's `auth(mechanism, authobject, initial_response_ok)`: any SASL mechanism, its
/// steps computed by `callback`.
///
/// `mechanism` (1 to 20 of `A-Z a-z 0-9 - _`) is sent upper-cased; it need not be advertised.
/// EHLO if needed, then the credential policy of `smtp_client_login()` (not for `EXTERNAL`). With
/// `SMTP_INITIAL_RESPONSE_SEND` the callback is first called with `is_initial` true: a
/// response is sent on the `AUTH` line (base64; an empty one as `=`), or
/// `SMTP_AUTH_STEP_NO_INITIAL_RESPONSE` sends `AUTH <mechanism>` alone. Then for each 334
/// challenge the callback gets the decoded bytes and its response is sent base64-encoded.
/// At most 5 challenges are answered. 235 is success; any other final reply (a 503 too: the
/// library itself refuses a second AUTH, so a 503 can only mean the exchange failed) is
/// `AUTHENTICATION_ERROR`.
/// `userdata` is passed to the callback as is; the library keeps nothing after the call.
///
/// Errors: `AUTHENTICATION_ERROR` (any other final reply; a challenge that is not strict
/// base64, or a 6th challenge, which the library cancels with `*`), `CALLBACK_ABORTED` (the
/// callback returned a value other than 0 and 1, or 1 for a challenge; `*` was sent if the
/// exchange had started; `smtp_client_last_callback_value()` gives the value),
/// `INVALID_ARGUMENT` (bad mechanism name; a response over 8192 bytes, after which the
/// exchange is cancelled), `CREDENTIALS_POLICY`, `BAD_STATE` (already authenticated on this
/// connection; nothing sent), `HELO_ERROR`, `NULL_ARGUMENT` (`mechanism` or
/// `callback` NULL), `INVALID_UTF8`, and connection errors.
/// When the TLS policy is not `SMTP_TLS_POLICY_NONE` and TLS is not up yet, this call first
/// greets and runs STARTTLS (or fails with `TLS_REQUIRED` having sent nothing but QUIT), so it
/// may also return `TLS_REQUIRED`, `TLS_ERROR`, `TLS_CERTIFICATE` and `TLS_RECORD`.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_client_auth(
    client: *mut smtp_client,
    mechanism: *const c_char,
    callback: smtp_auth_callback,
    userdata: *mut c_void,
    initial_response: i32,
) -> smtp_result {
    session_call(client, |h| {
        let mechanism = str_arg(mechanism, "mechanism")?;
        let initial_response_ok = initial_response_arg(initial_response)?;
        let Some(cb) = callback else {
            return Err(Failure::Usage(smtp_result::NullArgument, "callback is NULL".into()));
        };
        let mut step = |challenge: Option<&[u8]>, tls_active: bool| -> AuthStep {
            let mut writer = ResponseWriter { magic: WRITER_MAGIC, data: None };
            let (ptr, len) = match challenge {
                Some([]) => (b"".as_ptr(), 0), // non-NULL even when empty
                Some(c) => (c.as_ptr(), c.len()),
                None => (std::ptr::null(), 0),
            };
            let out = std::ptr::addr_of_mut!(writer).cast::<smtp_auth_response>();
            // SAFETY: the caller's callback, with its userdata, a challenge valid for the call
            // and a writer that lives until the callback returns.
            let rc = unsafe { cb(userdata, ptr, len, challenge.is_none(), tls_active, out) };
            // volatile: the store must happen although nothing in Rust reads it again
            // SAFETY: a plain write to a live local.
            unsafe { std::ptr::write_volatile(std::ptr::addr_of_mut!(writer.magic), 0) };
            match rc {
                r if r == smtp_auth_step::Respond as i32 => {
                    AuthStep::Respond(writer.data.take().map(|mut z| std::mem::take(&mut *z)).unwrap_or_default())
                }
                r if r == smtp_auth_step::NoInitialResponse as i32 => AuthStep::NoInitialResponse,
                v => AuthStep::Abort(v),
            }
        };
        Ok(h.core.auth(mechanism, &mut step, initial_response_ok)?)
    })
}

/// Set the response of the current `smtp_auth_callback` step: `len` bytes at `data` (any
/// bytes; NULL is allowed when `len` is 0) are copied, replacing an earlier call's. Only valid
/// on the `response` writer of the callback that is running. The library zeroes its copy once
/// sent; the caller may wipe its own buffer as soon as this returns.
///
/// Errors: `NULL_ARGUMENT` (`response` NULL, or `data` NULL with `len` > 0), `BAD_HANDLE`
/// (`response` is not the writer of a running callback; best-effort detection),
/// `INVALID_ARGUMENT` (`len` over 8192 bytes).
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_auth_response_set(
    response: *mut smtp_auth_response,
    data: *const u8,
    len: usize,
) -> smtp_result {
    plain_call(smtp_result::Panic, || {
        if response.is_null() {
            return smtp_result::NullArgument;
        }
        if (response as usize) % std::mem::align_of::<ResponseWriter>() != 0 {
            return smtp_result::BadHandle;
        }
        let w = response.cast::<ResponseWriter>();
        // SAFETY: best effort, as for session handles: reading the first field of what the
        // caller says is a writer; the magic is cleared when its callback returns.
        let magic = unsafe { std::ptr::addr_of!((*w).magic).read() };
        if magic != WRITER_MAGIC {
            return smtp_result::BadHandle;
        }
        if len > MAX_RESPONSE_LEN {
            return smtp_result::InvalidArgument;
        }
        let bytes = match bytes_arg(data, len, "data") {
            Ok(b) => b,
            Err(Failure::Usage(code, _)) => return code,
            Err(Failure::Core(_)) => return smtp_result::InvalidArgument,
        };
        let mut copy = Zeroizing::new(Vec::with_capacity(bytes.len()));
        copy.extend_from_slice(bytes);
        // SAFETY: a live writer (magic checked) owned by the running callback's caller, which
        // holds no reference to it while the callback runs.
        unsafe { (*w).data = Some(copy) };
        smtp_result::Ok
    })
}

/// Whether credentials may be sent over a connection without TLS (`smtp_client_set_cleartext_credentials()`).
/// The values are ABI.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum smtp_cleartext_credentials {
    /// Never send credentials without TLS, except to a trusted local peer (the default).
    Refuse = 0,
    /// Send them to any server without TLS. Insecure: anyone on the path can read or replay them.
    Allow = 1,
}

/// Allow or refuse (`smtp_cleartext_credentials`; refused by default) sending credentials over a
/// connection that is not protected by TLS to any server. Applies to `smtp_client_login()`,
/// `smtp_client_login_oauth()` and `smtp_client_auth()`. Errors: `INVALID_ARGUMENT` (unknown
/// value), `NULL_ARGUMENT`, `BAD_HANDLE`.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_client_set_cleartext_credentials(client: *mut smtp_client, cleartext: i32) -> smtp_result {
    session_call(client, |h| {
        let allow = match cleartext {
            c if c == smtp_cleartext_credentials::Refuse as i32 => false,
            c if c == smtp_cleartext_credentials::Allow as i32 => true,
            c => return Err(Failure::Usage(smtp_result::InvalidArgument, format!("unknown cleartext setting {c}"))),
        };
        let policy = h.core.credential_policy();
        h.core.set_credential_policy(CredentialPolicy { allow_cleartext: allow, ..policy });
        Ok(())
    })
}

/// Choose the mechanisms `smtp_client_login()` may use, in the order to try them: names
/// separated by spaces or commas, each once, among `SCRAM-SHA-256-PLUS`, `SCRAM-SHA-256`,
/// `SCRAM-SHA-1-PLUS`, `SCRAM-SHA-1`, `CRAM-MD5`, `PLAIN` and `LOGIN` (any case). NULL
/// restores the default, strongest first (see `smtp_client_login()`). A list without the
/// `-PLUS` form of a SCRAM mechanism it names makes that SCRAM send the GS2 flag `n` (no
/// channel binding) instead of `y`. Pass
/// `"CRAM-MD5 PLAIN LOGIN"` for smtplib's exact order, or one name for a server that
/// advertises a mechanism it then fails (curl's `AUTH=` login option). A login whose list and
/// the server's offer have nothing in common fails there (smtplib's SMTPException), naming both. Errors:
/// `INVALID_ARGUMENT` (an unknown or OAuth mechanism, a name listed twice, an empty list;
/// the setting is unchanged), `INVALID_UTF8`.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_client_set_login_mechanisms(client: *mut smtp_client, mechanisms: *const c_char) -> smtp_result {
    session_call(client, |h| {
        let list = opt_str_arg(mechanisms, "mechanisms")?;
        Ok(h.core.set_login_mechanisms(list)?)
    })
}

/// Whether AUTH succeeded on the current connection. It is reset by STARTTLS, QUIT, closing,
/// reconnecting, and losing the connection (a 421 or an I/O error); while it is true, `smtp_client_login()`, `smtp_client_login_oauth()` and `smtp_client_auth()` return `BAD_STATE` without
/// sending anything (one AUTH per session, RFC 4954).
#[no_mangle]
pub extern "C" fn smtp_client_is_authenticated(client: *const smtp_client) -> bool {
    session_get(client, false, |v| v.authenticated)
}

/// Whether a loopback or Unix-socket server is trusted with credentials without TLS
/// (`smtp_client_set_local_peer()`). The values are ABI.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum smtp_local_peer {
    /// A loopback (127.0.0.0/8, ::1) or Unix-socket server is this machine: trusted (the default).
    Trusted = 0,
    /// Such a server needs TLS (or `SMTP_CLEARTEXT_CREDENTIALS_ALLOW`) like any other.
    Untrusted = 1,
}

/// Whether a loopback (127.0.0.0/8, ::1) or Unix-socket server is trusted with credentials
/// without TLS (`smtp_local_peer`; trusted by default). Errors: `INVALID_ARGUMENT` (unknown
/// value), `NULL_ARGUMENT`, `BAD_HANDLE`.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_client_set_local_peer(client: *mut smtp_client, local_peer: i32) -> smtp_result {
    session_call(client, |h| {
        let safe = match local_peer {
            p if p == smtp_local_peer::Trusted as i32 => true,
            p if p == smtp_local_peer::Untrusted as i32 => false,
            p => return Err(Failure::Usage(smtp_result::InvalidArgument, format!("unknown local peer setting {p}"))),
        };
        let policy = h.core.credential_policy();
        h.core.set_credential_policy(CredentialPolicy { local_peer_is_safe: safe, ..policy });
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    unsafe extern "C" fn set_abc(
        _u: *mut c_void,
        _c: *const u8,
        _l: usize,
        _i: bool,
        _t: bool,
        r: *mut smtp_auth_response,
    ) -> i32 {
        assert_eq!(smtp_auth_response_set(r, b"abc".as_ptr(), 3), smtp_result::Ok);
        0
    }

    #[test]
    fn writer_checks() {
        let mut w = ResponseWriter { magic: WRITER_MAGIC, data: None };
        let p = std::ptr::addr_of_mut!(w).cast::<smtp_auth_response>();
        assert_eq!(smtp_auth_response_set(std::ptr::null_mut(), b"x".as_ptr(), 1), smtp_result::NullArgument);
        assert_eq!(smtp_auth_response_set(p, std::ptr::null(), 1), smtp_result::NullArgument);
        assert_eq!(smtp_auth_response_set(p, std::ptr::null(), 0), smtp_result::Ok);
        assert_eq!(w.data.as_deref().map(Vec::as_slice), Some(&b""[..]));
        assert_eq!(smtp_auth_response_set(p, b"secret".as_ptr(), 6), smtp_result::Ok);
        assert_eq!(w.data.as_deref().map(Vec::as_slice), Some(&b"secret"[..]));
        let big = vec![0u8; MAX_RESPONSE_LEN + 1];
        assert_eq!(smtp_auth_response_set(p, big.as_ptr(), big.len()), smtp_result::InvalidArgument);
        w.magic = 0;
        assert_eq!(smtp_auth_response_set(p, b"x".as_ptr(), 1), smtp_result::BadHandle);
        let skewed = unsafe { p.cast::<u8>().add(1) }.cast::<smtp_auth_response>();
        assert_eq!(smtp_auth_response_set(skewed, b"x".as_ptr(), 1), smtp_result::BadHandle);
        // a callback filling its writer
        let mut w = ResponseWriter { magic: WRITER_MAGIC, data: None };
        let rc = unsafe {
            set_abc(std::ptr::null_mut(), std::ptr::null(), 0, true, false, std::ptr::addr_of_mut!(w).cast())
        };
        assert_eq!(rc, 0);
        assert_eq!(w.data.as_deref().map(Vec::as_slice), Some(&b"abc"[..]));
    }

    #[test]
    fn constants_are_abi() {
        assert_eq!(smtp_auth_step::Respond as i32, 0);
        assert_eq!(smtp_auth_step::NoInitialResponse as i32, crate::auth::NO_INITIAL_RESPONSE_VALUE);
        assert!((smtp_auth_step::Abort as i32) < 0);
        assert_eq!(smtp_oauth_mechanism::Xoauth2 as i32, 0);
        assert_eq!(smtp_oauth_mechanism::Oauthbearer as i32, 1);
    }
}
