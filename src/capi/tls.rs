//! TLS on a session from C: settings, policy, `smtp_client_starttls`, and what was negotiated.

use std::ffi::c_char;
use std::path::Path;

use super::args::{opt_str_arg, str_arg};
use super::guard::{session_call, session_get, smtp_client};
use super::result::smtp_result;
use super::result::Failure;
use crate::tls::{TlsPolicy, TlsVersion};

/// TLS policy for a plain SMTP or LMTP session (`smtp_client_set_tls_policy()`). Values are ABI.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum smtp_tls_policy {
    /// TLS only when `smtp_client_starttls()` is called (smtplib's behaviour). The default.
    None = 0,
    /// STARTTLS before any command that carries mail or credentials (MAIL, RCPT, DATA, BDAT,
    /// VRFY, EXPN, AUTH, however they are sent) when the server offers it, plain text
    /// otherwise. An attacker on the path can strip it: never the default.
    Opportunistic = 1,
    /// STARTTLS before any command that carries mail or credentials (MAIL, RCPT, DATA, BDAT,
    /// VRFY, EXPN, AUTH, however they are sent, `smtp_client_docmd()` included), or fail with
    /// `SMTP_RESULT_TLS_REQUIRED`
    /// having sent nothing but QUIT.
    Required = 2,
}

/// Minimum TLS protocol version (`smtp_client_set_tls_min_version()`). Values are ABI.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum smtp_tls_version {
    /// TLS 1.2, the default.
    Tls12 = 12,
    /// TLS 1.3.
    Tls13 = 13,
}

/// Trust the CA certificates in the PEM file at `path` instead of the system trust store
/// (NULL: back to the system store unless a CA directory is set). The file is read now, so a
/// problem shows here and not at the first handshake; it is read again at each handshake.
/// Errors: `INVALID_ARGUMENT` (missing, unreadable, not PEM or holding no certificate: the
/// message names the file and the reason, `smtp_client_last_os_error()` the errno when the
/// system refused), `INVALID_UTF8`. The setting is unchanged on error.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_client_set_tls_ca_file(client: *mut smtp_client, path: *const c_char) -> smtp_result {
    session_call(client, |h| {
        let path = opt_str_arg(path, "path")?.map(Path::new);
        Ok(h.core.tls_config_mut().set_ca_file(path)?)
    })
}

/// Trust the CA certificates in the hashed directory at `path` (`c_rehash` layout) instead
/// of the system trust store (NULL: unset). The directory must be readable now. Errors:
/// `INVALID_ARGUMENT` (missing or not a readable directory; errno in
/// `smtp_client_last_os_error()`), `INVALID_UTF8`. The setting is unchanged on error.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_client_set_tls_ca_dir(client: *mut smtp_client, path: *const c_char) -> smtp_result {
    session_call(client, |h| {
        let path = opt_str_arg(path, "path")?.map(Path::new);
        Ok(h.core.tls_config_mut().set_ca_dir(path)?)
    })
}

/// Present a client certificate: `chain_file` (PEM, leaf first) and `key_file` (PEM private
/// key). Both NULL removes it; one NULL is `NULL_ARGUMENT`. Both files are read now and the
/// key must match the leaf certificate. Errors: `INVALID_ARGUMENT` (a file missing or
/// unreadable, not PEM, no certificate, or the key not the certificate's: the message names
/// the file; errno in `smtp_client_last_os_error()`), `NULL_ARGUMENT`, `INVALID_UTF8`. The
/// setting is unchanged on error.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_client_set_tls_client_cert(
    client: *mut smtp_client,
    chain_file: *const c_char,
    key_file: *const c_char,
) -> smtp_result {
    session_call(client, |h| {
        let files = if chain_file.is_null() && key_file.is_null() {
            None
        } else {
            Some((Path::new(str_arg(chain_file, "chain_file")?), Path::new(str_arg(key_file, "key_file")?)))
        };
        Ok(h.core.tls_config_mut().set_client_cert(files)?)
    })
}

/// Set the lowest TLS version accepted: `SMTP_TLS_VERSION_TLS12` (default) or
/// `SMTP_TLS_VERSION_TLS13`. Errors: `INVALID_ARGUMENT` for another value.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_client_set_tls_min_version(client: *mut smtp_client, version: i32) -> smtp_result {
    session_call(client, |h| {
        h.core.tls_config_mut().min_version = match version {
            v if v == smtp_tls_version::Tls12 as i32 => TlsVersion::Tls12,
            v if v == smtp_tls_version::Tls13 as i32 => TlsVersion::Tls13,
            _ => return Err(Failure::Usage(smtp_result::InvalidArgument, format!("unknown TLS version {version}"))),
        };
        Ok(())
    })
}

/// The name sent as SNI and checked against the certificate's subjectAltName (never its
/// CN). Default (NULL): the host given to `smtp_client_connect()`, never a name the server sends.
/// An IP literal is checked against IP SANs and sends no SNI. Needed for Unix sockets.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_client_set_tls_server_name(client: *mut smtp_client, name: *const c_char) -> smtp_result {
    session_call(client, |h| {
        let name = opt_str_arg(name, "name")?;
        if let Some(n) = name {
            crate::protocol::check_line_safe("TLS server name", n)?;
        }
        h.core.tls_config_mut().server_name = name.map(str::to_owned);
        Ok(())
    })
}

/// Whether the server's certificate and host name are verified (`smtp_client_set_tls_verify()`).
/// The values are ABI.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum smtp_tls_verify {
    /// Verify the chain against the trusted CAs and the host name (the default).
    Peer = 0,
    /// INSECURE: verify nothing, so anyone on the network path can read and change the
    /// session, credentials included. For testing only.
    NoneInsecure = 1,
}

/// Set certificate verification (`smtp_tls_verify`): `SMTP_TLS_VERIFY_PEER` (the default) or
/// `SMTP_TLS_VERIFY_NONE_INSECURE`, for testing only. Errors: `INVALID_ARGUMENT` (unknown value).
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_client_set_tls_verify(client: *mut smtp_client, verify: i32) -> smtp_result {
    session_call(client, |h| {
        let insecure = match verify {
            v if v == smtp_tls_verify::Peer as i32 => false,
            v if v == smtp_tls_verify::NoneInsecure as i32 => true,
            v => return Err(Failure::Usage(smtp_result::InvalidArgument, format!("unknown TLS verify setting {v}"))),
        };
        h.core.tls_config_mut().insecure_skip_verify = insecure;
        Ok(())
    })
}

/// Set the TLS policy (`smtp_tls_policy`): with `OPPORTUNISTIC` or `REQUIRED`, the first
/// `smtp_client_ehlo_or_helo_if_needed()` (which sendmail, send_message and login call) also does
/// STARTTLS. Under `OPPORTUNISTIC`, a STARTTLS the server refuses (e.g. 454) is remembered for
/// the connection: the session goes on in plain text and does not ask again until it
/// reconnects (RFC 3207 §4). Errors: `INVALID_ARGUMENT` for an unknown value.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_client_set_tls_policy(client: *mut smtp_client, policy: i32) -> smtp_result {
    session_call(client, |h| {
        let policy = match policy {
            p if p == smtp_tls_policy::None as i32 => TlsPolicy::None,
            p if p == smtp_tls_policy::Opportunistic as i32 => TlsPolicy::Opportunistic,
            p if p == smtp_tls_policy::Required as i32 => TlsPolicy::Required,
            _ => return Err(Failure::Usage(smtp_result::InvalidArgument, format!("unknown TLS policy {policy}"))),
        };
        h.core.set_tls_policy(policy);
        Ok(())
    })
}

/// smtplib's `starttls()`: EHLO if needed, STARTTLS, the handshake with the session's TLS
/// settings (verification on by default), then every capability is forgotten and EHLO is
/// sent again. Errors: `NOT_SUPPORTED` (not offered), `RESPONSE_ERROR` (refused; the reply
/// is the error reply), `TLS_REQUIRED` instead of both under the REQUIRED policy (after
/// QUIT), `PROTOCOL_ERROR` (bytes after the 220 before the handshake: response injection),
/// `TLS_CERTIFICATE`, `TLS_ERROR`, `HELO_ERROR`, `BAD_STATE` (TLS already active), and
/// connection errors. A refusal leaves the plain connection open (as smtplib); every failure
/// after a 220 closes the session.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_client_starttls(client: *mut smtp_client) -> smtp_result {
    session_call(client, |h| Ok(h.core.starttls()?))
}

/// Whether the current connection is protected by TLS (false once the connection is closed or
/// lost: after a 421, an I/O error, QUIT or `smtp_client_close()`).
#[no_mangle]
pub extern "C" fn smtp_client_tls_active(client: *const smtp_client) -> bool {
    session_get(client, false, |v| v.tls_active)
}

/// Whether the peer's certificate chain and host name were verified (false without TLS, and
/// with verification turned off).
#[no_mangle]
pub extern "C" fn smtp_client_tls_peer_verified(client: *const smtp_client) -> bool {
    session_get(client, false, |v| v.tls_verified)
}

/// The negotiated protocol version, e.g. "TLSv1.3"; "" without TLS. Borrowed.
#[no_mangle]
pub extern "C" fn smtp_client_tls_version(client: *const smtp_client) -> *const c_char {
    session_get(client, c"".as_ptr(), |v| v.tls_version.as_ptr())
}

/// The negotiated cipher suite, e.g. "TLS_AES_256_GCM_SHA384"; "" without TLS. Borrowed.
#[no_mangle]
pub extern "C" fn smtp_client_tls_cipher(client: *const smtp_client) -> *const c_char {
    session_get(client, c"".as_ptr(), |v| v.tls_cipher.as_ptr())
}
