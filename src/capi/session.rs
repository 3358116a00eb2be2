//! `smtp_client`: creation, settings, and one function per smtplib method.
//!
//! Conventions (also in the README and the header's overview): a `const smtp_client *` function
//! reads the session's view and changes nothing; strings returned are borrowed from the session
//! and stay valid until the next call that takes a non-const `smtp_client *` returns, or
//! `smtp_client_free`; every mutating call resets the last error at entry.

use std::ffi::{c_char, c_void};
use std::time::Duration;

use super::args::{bytes_arg, opt_str_arg, put, str_arg, str_array};
pub use super::guard::smtp_client;
use super::guard::{new_session, session_call, session_call_driving, session_get, session_get_last_error};
use super::options::{smtp_send_options, with_send_options, SendOptions};
use super::result::{smtp_result, CResult, Failure};
use super::state::UserData;
use super::unwind::plain_call;
use super::view::opt_ptr;
use crate::session::{Body, BodyRead, DebugEvent, DebugKind, Phase, Session, SessionKind};

/// Session kinds for `smtp_client_new()`. The values are ABI.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum smtp_client_kind {
    /// SMTP / ESMTP (smtplib's `SMTP`), default port 25.
    Smtp = 0,
    /// SMTP over implicit TLS (smtplib's `SMTP_SSL`), default port 465; the handshake, with
    /// the session's TLS settings, happens in `smtp_client_connect()` before the greeting.
    Smtps = 1,
    /// LMTP (smtplib's `LMTP`): LHLO, one reply per recipient after the data; default port
    /// 2003; a host starting with `/` is a Unix socket.
    Lmtp = 2,
}

/// A phase of the conversation, each with its own timeout
/// (`smtp_client_set_phase_timeout_ms()`). The values are ABI.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum smtp_phase {
    /// Opening the connection, name resolution included (the whole opening).
    Connect = 0,
    /// A TLS handshake, implicit or after STARTTLS (the whole handshake).
    TlsHandshake = 1,
    /// Waiting for the server's 220 greeting (RFC 5321: 5 minutes).
    Greeting = 2,
    /// EHLO, LHLO or HELO and its reply.
    Ehlo = 3,
    /// MAIL and its reply (RFC 5321: 5 minutes).
    Mail = 4,
    /// RCPT and its reply (RFC 5321: 5 minutes).
    Rcpt = 5,
    /// DATA and its 354 reply (RFC 5321's DATA initiation: 2 minutes).
    Data = 6,
    /// Each write of the message, and the reply to each BDAT chunk but the last (RFC 5321's
    /// data block: 3 minutes).
    DataBlock = 7,
    /// The reply (LMTP: the replies) to the end of the message (RFC 5321's DATA
    /// termination: 10 minutes).
    DataEnd = 8,
    /// Every other command and its reply (STARTTLS, AUTH, RSET, NOOP, QUIT, VRFY...).
    Other = 9,
}

/// What a debug event reports (the `kind` argument of `smtp_debug_callback`). Values are ABI.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum smtp_debug_kind {
    /// A connection attempt; the data is the endpoint (`host:port` or socket path).
    Connect = 0,
    /// Bytes written to the server (message bodies over 4 KiB are summarised).
    Sent = 1,
    /// One reply line from the server, line end included, escaped: printable ASCII as is with
    /// `\` doubled, CR, LF and TAB as `\r`, `\n`, `\t`, every other byte as `\xNN` (the same
    /// escaping as the stderr output), so no control byte from the server reaches a terminal
    /// or log through the callback.
    Received = 2,
    /// A remark from the library.
    Info = 3,
}

/// Receives debug events when the debug level is above 0: `userdata` first, the event kind
/// (`smtp_debug_kind`), and `len` bytes at `data`, borrowed for the duration of the call.
/// Runs on the calling thread, during the session call that produced the event; it must not
/// call functions on the same session (they return `SMTP_RESULT_REENTRANT_CALL`, or their
/// default value for getters) and must not unwind (no C++ exception, longjmp or Go panic).
#[allow(non_camel_case_types)]
pub type smtp_debug_callback =
    Option<unsafe extern "C" fn(userdata: *mut c_void, kind: i32, data: *const u8, len: usize)>;

/// Releases callback userdata: called once, when the callback is replaced or the session freed.
#[allow(non_camel_case_types)]
pub type smtp_userdata_free = Option<unsafe extern "C" fn(userdata: *mut c_void)>;

// ---------------------------------------------------------------- lifecycle

/// Create an unconnected session of `kind` (`SMTP_CLIENT_KIND_SMTP`,
/// `SMTP_CLIENT_KIND_SMTPS` or `SMTP_CLIENT_KIND_LMTP`). Returns NULL for an unknown kind. The caller owns the session
/// and releases it with `smtp_client_free()`.
#[no_mangle]
pub extern "C" fn smtp_client_new(kind: i32) -> *mut smtp_client {
    plain_call(std::ptr::null_mut(), || {
        let kind = match kind {
            k if k == smtp_client_kind::Smtp as i32 => SessionKind::Smtp,
            k if k == smtp_client_kind::Smtps as i32 => SessionKind::Smtps,
            k if k == smtp_client_kind::Lmtp as i32 => SessionKind::Lmtp,
            _ => return std::ptr::null_mut(),
        };
        new_session(Session::new(kind))
    })
}

/// Free a session: closes the connection without sending QUIT (smtplib's `close()`), calls
/// the debug userdata's destructor, and releases everything. NULL is a no-op. Must not be
/// called twice, nor from inside one of the session's callbacks (ignored there).
#[no_mangle]
pub extern "C" fn smtp_client_free(client: *mut smtp_client) {
    plain_call((), || super::guard::free_session(client))
}

// ---------------------------------------------------------------- settings

/// Set the name sent with HELO / EHLO / LHLO; NULL restores the default (this host's fully
/// qualified name, or `[address]`). The name is one non-empty word of visible ASCII (0x21 to
/// 0x7E; an internationalised name goes in its `xn--` form). Errors: `INVALID_ARGUMENT`,
/// `INVALID_UTF8`.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_client_set_local_hostname(client: *mut smtp_client, name: *const c_char) -> smtp_result {
    session_call(client, |h| {
        let name = opt_str_arg(name, "name")?;
        Ok(h.core.set_local_hostname(name)?)
    })
}

/// Set the timeout in milliseconds for connecting and for every read and write (each reply
/// must arrive whole within it): the timeout of every phase (`smtp_phase`). 0 means wait
/// forever. Default: 60000.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_client_set_timeout_ms(client: *mut smtp_client, timeout_ms: u32) -> smtp_result {
    session_call(client, |h| {
        h.core.set_timeout(millis(timeout_ms));
        Ok(())
    })
}

/// A timeout from C: 0 is none.
fn millis(ms: u32) -> Option<Duration> {
    (ms != 0).then(|| Duration::from_millis(u64::from(ms)))
}

/// Set the timeout in milliseconds of one phase of the conversation (an `smtp_phase` value;
/// 0 means wait forever). A write has it from its last progress, a reply from the moment the
/// session began waiting for it (its command written, or the reply before it complete), an
/// opening and a TLS handshake from their start. `smtp_client_set_timeout_ms()` sets every
/// phase at once; the operation timeout (`smtp_client_set_operation_timeout_ms()`) bounds
/// them all. A timeout's message names the phase, the host, the limit that applied and the
/// bytes received. Errors: `INVALID_ARGUMENT` for an unknown phase.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_client_set_phase_timeout_ms(
    client: *mut smtp_client,
    phase: i32,
    timeout_ms: u32,
) -> smtp_result {
    session_call(client, |h| {
        let p = match phase {
            p if p == smtp_phase::Connect as i32 => Phase::Connect,
            p if p == smtp_phase::TlsHandshake as i32 => Phase::TlsHandshake,
            p if p == smtp_phase::Greeting as i32 => Phase::Greeting,
            p if p == smtp_phase::Ehlo as i32 => Phase::Ehlo,
            p if p == smtp_phase::Mail as i32 => Phase::Mail,
            p if p == smtp_phase::Rcpt as i32 => Phase::Rcpt,
            p if p == smtp_phase::Data as i32 => Phase::Data,
            p if p == smtp_phase::DataBlock as i32 => Phase::DataBlock,
            p if p == smtp_phase::DataEnd as i32 => Phase::DataEnd,
            p if p == smtp_phase::Other as i32 => Phase::Other,
            _ => return Err(Failure::Usage(smtp_result::InvalidArgument, format!("unknown phase {phase}"))),
        };
        h.core.set_phase_timeout(p, millis(timeout_ms));
        Ok(())
    })
}

/// Set the timeouts RFC 5321 §4.5.3.2 gives the phases it names: greeting, MAIL and RCPT 5
/// minutes, DATA initiation 2, each data block 3, DATA termination 10. The others (connect,
/// TLS handshake, EHLO, other commands) keep theirs.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_client_set_rfc5321_timeouts(client: *mut smtp_client) -> smtp_result {
    session_call(client, |h| {
        h.core.set_rfc5321_timeouts();
        Ok(())
    })
}

/// Set the total time in milliseconds one operation may take, whatever the phases' timeouts
/// and however slowly the server sends (0, the default: no total). An operation is one call
/// that talks to the server (`smtp_client_connect()`, `smtp_client_login()`,
/// `smtp_client_sendmail()`, ... or one `smtp_client_start_*()` until its result); every wait
/// of it ends at the nearer of its phase's deadline and this one, and
/// `smtp_client_timeout_ms()` counts down to the nearer.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_client_set_operation_timeout_ms(client: *mut smtp_client, timeout_ms: u32) -> smtp_result {
    session_call(client, |h| {
        h.core.set_operation_timeout(millis(timeout_ms));
        Ok(())
    })
}

/// Bind the local end to `host` (an address or name) and `port` (0 = any) before connecting
/// (smtplib's `source_address`). NULL `host` removes the setting; the name is resolved when
/// connecting. Errors: `INVALID_ARGUMENT` (CR, LF or NUL in `host`).
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_client_set_source_address(
    client: *mut smtp_client,
    host: *const c_char,
    port: u16,
) -> smtp_result {
    session_call(client, |h| {
        let host = opt_str_arg(host, "host")?;
        Ok(h.core.set_source_address(host.map(|h| (h, port)))?)
    })
}

/// smtplib's `set_debuglevel`: 0 off, 1 commands and replies, 2 the same with timestamps.
/// Events go to stderr unless a callback is set. Errors: `INVALID_ARGUMENT` outside 0–2.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_client_set_debuglevel(client: *mut smtp_client, level: i32) -> smtp_result {
    session_call(client, |h| {
        let level = u8::try_from(level).ok().filter(|l| *l <= 2).ok_or_else(|| {
            Failure::Usage(smtp_result::InvalidArgument, format!("debug level {level} is not 0, 1 or 2"))
        })?;
        h.core.set_debug_level(level);
        Ok(())
    })
}

/// Send debug events to `callback` instead of stderr (NULL `callback`: back to stderr).
/// `userdata_free`, when not NULL, is called with `userdata` once the callback is replaced or
/// the session freed.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_client_set_debug_callback(
    client: *mut smtp_client,
    callback: smtp_debug_callback,
    userdata: *mut c_void,
    userdata_free: smtp_userdata_free,
) -> smtp_result {
    session_call(client, |h| {
        match callback {
            Some(cb) => {
                struct Target(*mut c_void);
                // SAFETY: the userdata is only used on the thread that calls into the session,
                // one thread at a time (the documented contract).
                unsafe impl Send for Target {}
                let target = Target(userdata);
                h.core.set_debug_sink(Some(Box::new(move |event: &DebugEvent<'_>| {
                    let kind = match event.kind {
                        DebugKind::Connect => smtp_debug_kind::Connect,
                        DebugKind::Sent => smtp_debug_kind::Sent,
                        DebugKind::Received => smtp_debug_kind::Received,
                        DebugKind::Info => smtp_debug_kind::Info,
                    };
                    let t = &target;
                    // SAFETY: calling the caller's callback with its userdata and a buffer valid for the call.
                    unsafe { cb(t.0, kind as i32, event.data.as_ptr(), event.data.len()) };
                })));
            }
            None => h.core.set_debug_sink(None),
        }
        UserData::replace(&mut h.debug_userdata, UserData { ptr: userdata, free: userdata_free });
        Ok(())
    })
}

/// Configure the session from a connection string, as lettre's and curl's URLs do:
///
/// - `smtp://[user:password@]host[:port]`, then an optional `/` and an optional
///   `?tls=none|opportunistic|required`: SMTP, port 25; the TLS policy `none` unless `tls=`
///   says otherwise (see `smtp_client_set_tls_policy()`);
/// - `smtp+starttls://[user:password@]host[:port]`: SMTP with STARTTLS required, port 587;
/// - `smtps://[user:password@]host[:port]`: implicit TLS, port 465;
/// - `lmtp://host[:port]`, `?tls=` as for `smtp://`: LMTP over TCP, port 2003;
/// - `lmtp+unix:///absolute/path`: LMTP over a Unix socket (percent-decoded path).
///
/// The host is a name, an IPv4 address, or an IPv6 address in brackets (`[::1]:2525`); an
/// internationalised name goes in its `xn--` form. The user and the password are
/// percent-decoded (`%40` for `@`, `%3A` for `:`, `%2F` for `/`, UTF-8 after decoding) and
/// come together or not at all.
///
/// What the call sets: the TLS policy, at once; the endpoint that `smtp_client_connect()`
/// with a NULL host (and port 0) connects to; and the user and password that
/// `smtp_client_login()` with a NULL user and a NULL password sends. The password is copied
/// into memory that is zeroed when a later URL replaces it or the session is freed, and is
/// never logged, shown in debug output or quoted in an error message. Nothing connects or
/// logs in by itself. A later URL replaces all three (its credentials, or none).
///
/// The session's kind is fixed by `smtp_client_new()`, and the scheme must match it:
/// `smtp://` and `smtp+starttls://` need `SMTP_CLIENT_KIND_SMTP`, `smtps://`
/// `SMTP_CLIENT_KIND_SMTPS`, `lmtp://` and `lmtp+unix://` `SMTP_CLIENT_KIND_LMTP`. A URL of
/// another kind is refused rather than changing the protocol under the handle.
///
/// Errors, each leaving the session as it was: `INVALID_ARGUMENT` (a malformed URL, the
/// message naming the part that is wrong: scheme, user, password, host, port, path, query or
/// fragment; or a scheme of another kind), `BAD_STATE` (connected: set the URL before
/// connecting), `NULL_ARGUMENT`, `INVALID_UTF8`.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_client_set_url(client: *mut smtp_client, url: *const c_char) -> smtp_result {
    session_call(client, |h| {
        let url = str_arg(url, "url")?;
        h.core.set_url(url)?;
        Ok(())
    })
}

// ---------------------------------------------------------------- connection

/// smtplib's `connect(host, port)`: connect and read the greeting. `port` 0 means the
/// `host:port` suffix (or `[v6]:port`) when present, else 25 (SMTP) / 465 (SMTPS) / 2003 (LMTP). A host
/// starting with `/` is a Unix socket. Every address the name resolves to is tried. The
/// greeting is the last reply. An SMTPS session does the TLS handshake first. Errors:
/// `CONNECT_ERROR` (greeting not 220; closed), `TLS_CERTIFICATE`, `TLS_ERROR`,
/// `IO_ERROR`, `TIMEOUT`, `SERVER_DISCONNECTED`, `PROTOCOL_ERROR`, `BAD_STATE` (already
/// connected), `INVALID_ARGUMENT`.
///
/// After `smtp_client_set_url()`, a NULL `host` with `port` 0 connects to the URL's host and
/// port (or its Unix socket); without a URL, a NULL `host` is `NULL_ARGUMENT`.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_client_connect(client: *mut smtp_client, host: *const c_char, port: u16) -> smtp_result {
    session_call(client, |h| {
        if host.is_null() && h.core.has_url() {
            if port != 0 {
                return Err(Failure::Usage(
                    smtp_result::InvalidArgument,
                    "port must be 0 with a NULL host: the session's URL gives the port".to_owned(),
                ));
            }
            h.core.connect_url()?;
            return Ok(());
        }
        let host = str_arg(host, "host")?;
        h.core.connect(host, port)?;
        Ok(())
    })
}

/// smtplib's `quit()`: send QUIT and close, whatever the reply. Errors:
/// `SERVER_DISCONNECTED` when not connected; the session is closed in every case.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_client_quit(client: *mut smtp_client) -> smtp_result {
    session_call(client, |h| {
        h.core.quit()?;
        Ok(())
    })
}

/// smtplib's `close()`: close the connection without sending anything. Closing a closed
/// session is not an error.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_client_close(client: *mut smtp_client) -> smtp_result {
    session_call_driving(client, |h| {
        h.cancel_operation();
        h.core.close();
        Ok(())
    })
}

/// Whether the session has an open connection.
#[no_mangle]
pub extern "C" fn smtp_client_is_connected(client: *const smtp_client) -> bool {
    session_get(client, false, |v| v.connected)
}

// ---------------------------------------------------------------- commands

/// smtplib's `docmd(cmd, args)`: send `cmd` (and ` args` unless NULL or empty) and read the
/// reply, available through `smtp_client_last_reply_code()` / `_text()` whatever its code.
/// A command line is at most 512 octets with CRLF (RFC 5321 §4.5.3.1.4), plus the allowance of
/// each advertised extension whose parameter the line carries. MAIL, RCPT, DATA, BDAT, VRFY,
/// EXPN and AUTH go through the TLS policy (see below). Errors: `INVALID_ARGUMENT` (CR, LF or
/// NUL; the line too long: nothing sent), connection errors.
/// When the TLS policy is not `SMTP_TLS_POLICY_NONE` and TLS is not up yet, this call first
/// greets and runs STARTTLS (or fails with `TLS_REQUIRED` having sent nothing but QUIT), so it
/// may also return `TLS_REQUIRED`, `TLS_ERROR`, `TLS_CERTIFICATE` and `TLS_RECORD`.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_client_docmd(client: *mut smtp_client, cmd: *const c_char, args: *const c_char) -> smtp_result {
    session_call(client, |h| {
        let cmd = str_arg(cmd, "cmd")?;
        #[cfg(feature = "test-panic")]
        assert!(cmd != "__SMTPCLIENT_TEST_PANIC__", "test-panic feature: deliberate panic in smtp_client_docmd");
        let args = opt_str_arg(args, "args")?.unwrap_or("");
        h.core.docmd(cmd, args)?;
        Ok(())
    })
}

/// smtplib's `helo(name)`: NULL `name` uses the local hostname. The reply is the last reply
/// and `smtp_client_helo_resp()`, whatever its code. Errors: `INVALID_ARGUMENT` (a name that
/// is not one word of visible ASCII), connection errors.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_client_helo(client: *mut smtp_client, name: *const c_char) -> smtp_result {
    session_call(client, |h| {
        let name = opt_str_arg(name, "name")?;
        h.core.helo(name)?;
        Ok(())
    })
}

/// smtplib's `ehlo(name)` (LHLO for LMTP): NULL `name` uses the local hostname. On 250 the
/// extensions are parsed (`smtp_client_has_extn()`); the reply is the last reply and
/// `smtp_client_ehlo_resp()`, whatever its code. Errors: `INVALID_ARGUMENT` (a name that is not
/// one word of visible ASCII), connection errors.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_client_ehlo(client: *mut smtp_client, name: *const c_char) -> smtp_result {
    session_call(client, |h| {
        let name = opt_str_arg(name, "name")?;
        h.core.ehlo(name)?;
        Ok(())
    })
}

/// smtplib's `ehlo_or_helo_if_needed()`: EHLO (LHLO) unless done already, HELO if EHLO is
/// refused (not for LMTP). Errors: `HELO_ERROR` with the refusing reply, connection errors.
/// When the TLS policy is not `SMTP_TLS_POLICY_NONE` and TLS is not up yet, this call first
/// greets and runs STARTTLS (or fails with `TLS_REQUIRED` having sent nothing but QUIT), so it
/// may also return `TLS_REQUIRED`, `TLS_ERROR`, `TLS_CERTIFICATE` and `TLS_RECORD`.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_client_ehlo_or_helo_if_needed(client: *mut smtp_client) -> smtp_result {
    session_call(client, |h| Ok(h.core.ehlo_or_helo_if_needed()?))
}

/// smtplib's `verify(address)`: VRFY with the bare address, as smtplib's `_addr_only` extracts it
/// (`"Bob <bob@example.org>"` sends `VRFY bob@example.org`; a plain name such as `postmaster`
/// is sent as given); the reply is the last reply whatever its code. Errors:
/// `INVALID_ARGUMENT` (not one address), connection errors.
/// When the TLS policy is not `SMTP_TLS_POLICY_NONE` and TLS is not up yet, this call first
/// greets and runs STARTTLS (or fails with `TLS_REQUIRED` having sent nothing but QUIT), so it
/// may also return `TLS_REQUIRED`, `TLS_ERROR`, `TLS_CERTIFICATE` and `TLS_RECORD`.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_client_verify(client: *mut smtp_client, address: *const c_char) -> smtp_result {
    session_call(client, |h| {
        let address = str_arg(address, "address")?;
        h.core.verify(address)?;
        Ok(())
    })
}

/// smtplib's `expn(address)`: EXPN with the bare address, as `smtp_client_verify()`; the reply is
/// the last reply whatever its code. Errors as `smtp_client_verify()`.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_client_expn(client: *mut smtp_client, address: *const c_char) -> smtp_result {
    session_call(client, |h| {
        let address = str_arg(address, "address")?;
        h.core.expn(address)?;
        Ok(())
    })
}

/// smtplib's `help(args)`: HELP (NULL `args`: none); the reply is the last reply. Errors:
/// `INVALID_ARGUMENT` (CR, LF or NUL in `args`), connection errors.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_client_help(client: *mut smtp_client, args: *const c_char) -> smtp_result {
    session_call(client, |h| {
        let args = opt_str_arg(args, "args")?.unwrap_or("");
        h.core.help(args)?;
        Ok(())
    })
}

/// smtplib's `rset()`: RSET; the reply is the last reply whatever its code. Errors:
/// connection errors.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_client_rset(client: *mut smtp_client) -> smtp_result {
    session_call(client, |h| {
        h.core.rset()?;
        Ok(())
    })
}

/// smtplib's `noop()`: NOOP; the reply is the last reply whatever its code. Errors:
/// connection errors.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_client_noop(client: *mut smtp_client) -> smtp_result {
    session_call(client, |h| {
        h.core.noop()?;
        Ok(())
    })
}

/// smtplib's `mail(sender, options)`: MAIL FROM with `n_options` ESMTP options (sent only to
/// an ESMTP server). The reply is the last reply whatever its code: check
/// `smtp_client_last_reply_code()`. Starts a new transaction (the recipient list is reset).
/// The sender `""` is the null reverse-path, sent as `MAIL FROM:<>`. Errors: `INVALID_ARGUMENT`
/// (CR/LF/NUL, `<` or `>` anywhere in the address, a non-ASCII address without the SMTPUTF8
/// option, a malformed option, the line over 512 octets plus the allowances of the advertised
/// extensions it uses), `NOT_SUPPORTED` (the SMTPUTF8 option without SMTPUTF8 advertised,
/// also after HELO), connection errors.
/// When the TLS policy is not `SMTP_TLS_POLICY_NONE` and TLS is not up yet, this call first
/// greets and runs STARTTLS (or fails with `TLS_REQUIRED` having sent nothing but QUIT), so it
/// may also return `TLS_REQUIRED`, `TLS_ERROR`, `TLS_CERTIFICATE` and `TLS_RECORD`.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_client_mail(
    client: *mut smtp_client,
    sender: *const c_char,
    options: *const *const c_char,
    n_options: usize,
) -> smtp_result {
    session_call(client, |h| {
        let sender = str_arg(sender, "sender")?;
        let options = str_array(options, n_options, "options")?;
        h.core.mail(sender, &options)?;
        Ok(())
    })
}

/// smtplib's `rcpt(recipient, options)`: RCPT TO. The reply is the last reply whatever its
/// code, and is kept per recipient (`smtp_client_recipient_get()`). Errors: `INVALID_ARGUMENT`
/// (an empty recipient, CR/LF/NUL, `<` or `>` anywhere in the address, a non-ASCII address
/// when the transaction's MAIL did not ask for SMTPUTF8, a malformed option, the line too
/// long), connection errors.
/// When the TLS policy is not `SMTP_TLS_POLICY_NONE` and TLS is not up yet, this call first
/// greets and runs STARTTLS (or fails with `TLS_REQUIRED` having sent nothing but QUIT), so it
/// may also return `TLS_REQUIRED`, `TLS_ERROR`, `TLS_CERTIFICATE` and `TLS_RECORD`.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_client_rcpt(
    client: *mut smtp_client,
    recipient: *const c_char,
    options: *const *const c_char,
    n_options: usize,
) -> smtp_result {
    session_call(client, |h| {
        let recipient = str_arg(recipient, "recipient")?;
        let options = str_array(options, n_options, "options")?;
        h.core.rcpt(recipient, &options)?;
        Ok(())
    })
}

/// smtplib's `data(msg)`: DATA, then the `len` bytes at `msg` with every line ending
/// normalised to CRLF and lines starting with `.` dot-stuffed, then the end mark. The final
/// reply is the last reply whatever its code; for LMTP one reply is read after the data for
/// each recipient whose RCPT got any 2xx reply (RFC 2033 §4.2), and kept per recipient (`smtp_client_recipient_get()`). Errors: `DATA_ERROR` (DATA
/// not answered with 354; nothing of the message sent), `DELIVERY_UNKNOWN` (connection lost
/// after the end mark, before the reply), connection errors.
/// When the TLS policy is not `SMTP_TLS_POLICY_NONE` and TLS is not up yet, this call first
/// greets and runs STARTTLS (or fails with `TLS_REQUIRED` having sent nothing but QUIT), so it
/// may also return `TLS_REQUIRED`, `TLS_ERROR`, `TLS_CERTIFICATE` and `TLS_RECORD`.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_client_data(client: *mut smtp_client, msg: *const u8, len: usize) -> smtp_result {
    session_call(client, |h| {
        let msg = bytes_arg(msg, len, "msg")?;
        h.core.data(msg)?;
        Ok(())
    })
}

/// smtplib's `sendmail(from, to_addrs, msg, mail_options, rcpt_options)`, the ESMTP options in
/// `options` (`smtp_send_options`; NULL for none).
///
/// EHLO/HELO if needed; `SIZE=` when offered (refused with `MESSAGE_TOO_LARGE` before MAIL
/// if over the server's limit); MAIL; RCPT for each of the `n_to` recipients; DATA with the
/// message normalised and dot-stuffed. Returns `SMTP_RESULT_OK` if at least one recipient
/// was accepted; the refused ones are listed by `smtp_client_refused_get()`. Errors:
/// `SENDER_REFUSED` (sender kept, `smtp_client_last_error_sender()`), `RECIPIENTS_REFUSED`
/// (all refused: the message says how many, and the last error's reply, code and enhanced
/// status are the most permanent refusal: the first 5xx, else the first 4xx; the per-recipient
/// list stays the whole truth), `DATA_ERROR` (for LMTP also when every recipient was refused
/// after the data, with the same choice of reply): after each the transaction is reset with RSET, unless the
/// server said 421 (then the session is closed). `INVALID_ARGUMENT` (an empty recipient, `<`
/// or `>` in an address, a line too long), `NULL_ARGUMENT`, `NOT_SUPPORTED`: nothing was sent.
/// The DSN settings of `options` (`smtp_send_options_set_dsn_notify()` and the others) are
/// checked against the recipients first (`INVALID_ARGUMENT`) and give `NOT_SUPPORTED` before
/// MAIL when the server lacks DSN under the default policy; `smtp_send_options_set_requiretls()`
/// gives `TLS_REQUIRED` before MAIL without verified TLS or REQUIRETLS advertised.
/// When the TLS policy is not `SMTP_TLS_POLICY_NONE` and TLS is not up yet, this call first
/// greets and runs STARTTLS (or fails with `TLS_REQUIRED` having sent nothing but QUIT), so it
/// may also return `TLS_REQUIRED`, `TLS_ERROR`, `TLS_CERTIFICATE` and `TLS_RECORD`. `DELIVERY_UNKNOWN` and connection errors close the session.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_client_sendmail(
    client: *mut smtp_client,
    from: *const c_char,
    to: *const *const c_char,
    n_to: usize,
    msg: *const u8,
    len: usize,
    options: *const smtp_send_options,
) -> smtp_result {
    session_call(client, |h| {
        let from = str_arg(from, "from")?;
        let to = str_array(to, n_to, "to")?;
        let msg = bytes_arg(msg, len, "msg")?;
        let options = options_arg(options)?;
        let (mail_options, rcpt_options) = (as_strs(&options.mail_options), as_strs(&options.rcpt_options));
        Ok(h.core.sendmail_with(from, &to, Body::Bytes(msg), None, &mail_options, &rcpt_options, &options.params)?)
    })
}

/// A caller's pointer (callback userdata) carried through the library.
#[derive(Clone, Copy)]
pub(crate) struct CallerPointer(pub(crate) *mut c_void);

// SAFETY: the pointer is only handed back to the caller's own callback, on the thread that is in
// a call on the session (the documented contract); the library never dereferences it.
unsafe impl Send for CallerPointer {}

/// A body callback and its userdata (`smtp_read_callback`).
pub(crate) struct BodyCallback {
    pub(crate) read: unsafe extern "C" fn(userdata: *mut c_void, buf: *mut u8, capacity: usize) -> i64,
    pub(crate) userdata: CallerPointer,
}

impl BodyCallback {
    /// Ask the callback for the next part of the body, into `buf`.
    pub(crate) fn call(&self, buf: &mut [u8]) -> BodyRead {
        // SAFETY: the caller's callback with its userdata (valid for the call or, for a
        // non-blocking send, until the operation ends, as documented) and a writable buffer of
        // buf.len() bytes that lives for the call.
        body_read(unsafe { (self.read)(self.userdata.0, buf.as_mut_ptr(), buf.len()) })
    }
}

/// What a body callback's return value means (see `smtp_read_callback`).
fn body_read(n: i64) -> BodyRead {
    match n {
        0 => BodyRead::End,
        super::nonblocking::SMTP_READ_PENDING => BodyRead::Pending,
        n if n < 0 => BodyRead::Abort(i32::try_from(n).unwrap_or(i32::MIN)),
        n => BodyRead::Data(usize::try_from(n).unwrap_or(usize::MAX)),
    }
}

/// A copy of the send options (the defaults for NULL), read before the send starts.
pub(crate) fn options_arg(options: *const smtp_send_options) -> CResult<SendOptions> {
    with_send_options(options, SendOptions::clone)
        .map_err(|code| Failure::Usage(code, "options is not a live smtp_send_options".into()))
}

fn as_strs(list: &[String]) -> Vec<&str> {
    list.iter().map(String::as_str).collect()
}

/// Fills `buf` (capacity `capacity` bytes) with the next part of the message for
/// `smtp_client_sendmail_stream()`: returns the number of bytes written (1..=capacity), 0 at the end
/// of the message, a negative value to abort (kept, `smtp_client_last_callback_value()`), or,
/// for a send started with `smtp_client_start_sendmail_stream()` only, `SMTP_READ_PENDING`
/// (no data yet; the blocking send refuses it with `INVALID_ARGUMENT`).
/// `userdata` comes first. Runs on the calling thread during `smtp_client_sendmail_stream()`; it must
/// not call functions of the same session and must not unwind.
#[allow(non_camel_case_types)]
pub type smtp_read_callback = Option<unsafe extern "C" fn(userdata: *mut c_void, buf: *mut u8, capacity: usize) -> i64>;

/// `smtp_client_sendmail()` (same results, same choice of reply when all recipients are refused) with
/// the message pulled from `read` in chunks, so a message of any size
/// goes out in bounded memory (line ends normalised and dot-stuffed, or sent as BDAT chunks).
/// The size estimate of `options` (`smtp_send_options_set_size_estimate()`), when set, is sent
/// as SIZE and checked against the server's limit. An abort before the transaction starts sends
/// nothing; an abort later closes the session so no partial message can be delivered
/// (`CALLBACK_ABORTED`). Other errors as `smtp_client_sendmail()`.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_client_sendmail_stream(
    client: *mut smtp_client,
    from: *const c_char,
    to: *const *const c_char,
    n_to: usize,
    read: smtp_read_callback,
    userdata: *mut c_void,
    options: *const smtp_send_options,
) -> smtp_result {
    session_call(client, |h| {
        let from = str_arg(from, "from")?;
        let to = str_array(to, n_to, "to")?;
        let Some(read) = read else {
            return Err(Failure::Usage(smtp_result::NullArgument, "read callback is NULL".into()));
        };
        let options = options_arg(options)?;
        let (mail_options, rcpt_options) = (as_strs(&options.mail_options), as_strs(&options.rcpt_options));
        let size = options.size_estimate;
        let body = BodyCallback { read, userdata: CallerPointer(userdata) };
        let mut pull = move |buf: &mut [u8]| body.call(buf);
        Ok(h.core.sendmail_with(
            from,
            &to,
            Body::Stream(&mut pull),
            size,
            &mail_options,
            &rcpt_options,
            &options.params,
        )?)
    })
}

/// Whether the library uses an ESMTP extension the server offers (`smtp_client_set_pipelining()`,
/// `smtp_client_set_chunking()`). The values are ABI.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum smtp_extension_use {
    /// Use it when the server advertises it (the default).
    WhenOffered = 0,
    /// Never use it, even when advertised.
    Never = 1,
}

fn extension_use_arg(value: i32) -> CResult<bool> {
    match value {
        v if v == smtp_extension_use::WhenOffered as i32 => Ok(true),
        v if v == smtp_extension_use::Never as i32 => Ok(false),
        v => Err(Failure::Usage(smtp_result::InvalidArgument, format!("unknown extension use {v}"))),
    }
}

/// Use PIPELINING when the server offers it (`SMTP_EXTENSION_USE_WHEN_OFFERED`, the default):
/// MAIL, every RCPT and DATA (or the first BDAT chunk) in one write, with the same results as
/// without; or never (`SMTP_EXTENSION_USE_NEVER`). Errors: `INVALID_ARGUMENT` (unknown value).
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_client_set_pipelining(client: *mut smtp_client, pipelining: i32) -> smtp_result {
    session_call(client, |h| {
        h.core.set_pipelining(extension_use_arg(pipelining)?);
        Ok(())
    })
}

/// Use CHUNKING / BDAT when the server offers it (`SMTP_EXTENSION_USE_WHEN_OFFERED`, the
/// default), or never. BODY=BINARYMIME among the mail options needs it and sends the message
/// bytes unchanged. Errors: `INVALID_ARGUMENT` (unknown value).
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_client_set_chunking(client: *mut smtp_client, chunking: i32) -> smtp_result {
    session_call(client, |h| {
        h.core.set_chunking(extension_use_arg(chunking)?);
        Ok(())
    })
}

/// smtplib's `send_message(msg, from_addr, to_addrs, mail_options, rcpt_options)` for a raw
/// RFC 5322 message, the ESMTP options in `options` (NULL for none). NULL `from` takes the sender from the headers (Sender, else From); NULL
/// `to` takes the recipients from To, Bcc and Cc; each half is read from the headers only when
/// it is not given, as smtplib does. A single `Resent-*` block takes precedence; more than one
/// is always `INVALID_ARGUMENT`, even with both halves given. Bcc and Resent-Bcc fields, and a
/// leading mbox `From ` line, are removed from what is sent. Non-ASCII addresses add SMTPUTF8 and BODY=8BITMIME (`NOT_SUPPORTED` if the server
/// lacks SMTPUTF8). Then as `smtp_client_sendmail()`.
///
/// The header addresses give the envelope smtplib gives (with `email.policy.default`): display
/// names, comments, groups, encoded words, folded fields, source routes are read past; names
/// without a domain are addresses (`To: John, Dinsdale` sends `RCPT TO:<John>` and
/// `RCPT TO:<Dinsdale>`); a quoted local part is sent quoted only when it needs quotes. Where
/// it differs, on purpose: an empty address (empty field, group without members, `<>`) gives
/// no RCPT, where smtplib sends `RCPT TO:<>`; an explicit `<>` in From is the null sender, an
/// empty From is `INVALID_ARGUMENT`; and `INVALID_ARGUMENT`, with the field named, for what
/// cannot be sent safely, which smtplib sends: a field that parses more than one way
/// (unbalanced `(` `"` `<` `[`, two addresses without a comma, a multi-word name or a quoted
/// name without `@`, two `@`: smtplib guesses, CVE-2023-27043), `<` or `>` inside an address,
/// control characters, a leading `-`, invisible or full-width characters, over-long addresses.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_client_send_message(
    client: *mut smtp_client,
    msg: *const u8,
    len: usize,
    from: *const c_char,
    to: *const *const c_char,
    n_to: usize,
    options: *const smtp_send_options,
) -> smtp_result {
    session_call(client, |h| {
        let msg = bytes_arg(msg, len, "msg")?;
        let from = opt_str_arg(from, "from")?;
        let to = if to.is_null() { None } else { Some(str_array(to, n_to, "to")?) };
        let options = options_arg(options)?;
        let (mail_options, rcpt_options) = (as_strs(&options.mail_options), as_strs(&options.rcpt_options));
        Ok(h.core.send_message_with(msg, from, to.as_deref(), &mail_options, &rcpt_options, &options.params)?)
    })
}

// ---------------------------------------------------------------- capabilities

/// smtplib's `has_extn(name)`: whether the server advertised the extension (any case).
#[no_mangle]
pub extern "C" fn smtp_client_has_extn(client: *const smtp_client, name: *const c_char) -> bool {
    session_get(client, false, |v| str_arg(name, "name").is_ok_and(|n| v.feature(n).is_some()))
}

/// The parameters advertised with extension `name` (any case), "" for a keyword without
/// parameters, NULL when not advertised (smtplib's `esmtp_features[name]`). Borrowed.
#[no_mangle]
pub extern "C" fn smtp_client_feature(client: *const smtp_client, name: *const c_char) -> *const c_char {
    session_get(client, std::ptr::null(), |v| {
        let feature = str_arg(name, "name").ok().and_then(|n| v.feature(n));
        opt_ptr(feature.map(|f| &f.params))
    })
}

/// Number of extensions the server advertised.
#[no_mangle]
pub extern "C" fn smtp_client_feature_count(client: *const smtp_client) -> usize {
    session_get(client, 0, |v| v.features.len())
}

/// The `index`th advertised extension: its lower-case keyword and its parameters (borrowed).
/// Errors: `INVALID_ARGUMENT` when `index` is out of range (outputs untouched).
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_client_feature_get(
    client: *const smtp_client,
    index: usize,
    name_out: *mut *const c_char,
    params_out: *mut *const c_char,
) -> smtp_result {
    session_get(client, smtp_result::BadHandle, |v| {
        let Some(f) = v.features.get(index) else { return smtp_result::InvalidArgument };
        put(name_out, f.name.as_ptr());
        put(params_out, f.params.as_ptr());
        smtp_result::Ok
    })
}

/// smtplib's `does_esmtp`: whether the server accepted EHLO / LHLO.
#[no_mangle]
pub extern "C" fn smtp_client_does_esmtp(client: *const smtp_client) -> bool {
    session_get(client, false, |v| v.does_esmtp)
}

/// smtplib's `helo_resp`: the text of the reply to the last HELO, NULL if none. Borrowed.
#[no_mangle]
pub extern "C" fn smtp_client_helo_resp(client: *const smtp_client) -> *const c_char {
    session_get(client, std::ptr::null(), |v| opt_ptr(v.helo_resp.as_ref()))
}

/// smtplib's `ehlo_resp`: the text of the reply to the last EHLO / LHLO, NULL if none. Borrowed.
#[no_mangle]
pub extern "C" fn smtp_client_ehlo_resp(client: *const smtp_client) -> *const c_char {
    session_get(client, std::ptr::null(), |v| opt_ptr(v.ehlo_resp.as_ref()))
}

// ---------------------------------------------------------------- last reply and last error

/// The code of the last reply received (e.g. 250), 0 if none yet.
#[no_mangle]
pub extern "C" fn smtp_client_last_reply_code(client: *const smtp_client) -> i32 {
    session_get(client, 0, |v| v.last_reply_code)
}

/// The text of the last reply received, lines joined with `\n` (as smtplib returns it); ""
/// if none. Borrowed.
#[no_mangle]
pub extern "C" fn smtp_client_last_reply_text(client: *const smtp_client) -> *const c_char {
    session_get(client, c"".as_ptr(), |v| v.last_reply_text.as_ptr())
}

/// The result code of the last mutating call on this session (`SMTP_RESULT_OK` after a
/// success; every mutating call resets it at entry).
#[no_mangle]
pub extern "C" fn smtp_client_last_result(client: *const smtp_client) -> i32 {
    session_get_last_error(client, smtp_result::BadHandle as i32, |v| v.last_result)
}

/// A human-readable description of the last error ("" after a success). Borrowed.
#[no_mangle]
pub extern "C" fn smtp_client_last_error_message(client: *const smtp_client) -> *const c_char {
    session_get_last_error(client, c"".as_ptr(), |v| v.error_message.as_ptr())
}

/// The code of the server reply that caused the last error (e.g. 550 for a refused sender),
/// 0 when the error did not come from a reply.
#[no_mangle]
pub extern "C" fn smtp_client_last_error_reply_code(client: *const smtp_client) -> i32 {
    session_get(client, 0, |v| v.error_reply_code)
}

/// The text of the server reply that caused the last error, "" when none. Borrowed.
#[no_mangle]
pub extern "C" fn smtp_client_last_error_reply_text(client: *const smtp_client) -> *const c_char {
    session_get(client, c"".as_ptr(), |v| v.error_reply_text.as_ptr())
}

/// The RFC 3463 enhanced status code (`class.subject.detail`) of the reply that caused the last
/// error, when the server sent one. Returns false (outputs untouched) when there is none.
#[no_mangle]
pub extern "C" fn smtp_client_last_error_enhanced_status(
    client: *const smtp_client,
    class_out: *mut i32,
    subject_out: *mut i32,
    detail_out: *mut i32,
) -> bool {
    session_get(client, false, |v| match v.error_enhanced_status {
        Some(es) => {
            put(class_out, i32::from(es.class));
            put(subject_out, i32::from(es.subject));
            put(detail_out, i32::from(es.detail));
            true
        }
        None => false,
    })
}

/// The refused sender of a `SENDER_REFUSED` error, NULL otherwise. Borrowed.
#[no_mangle]
pub extern "C" fn smtp_client_last_error_sender(client: *const smtp_client) -> *const c_char {
    session_get(client, std::ptr::null(), |v| opt_ptr(v.error_sender.as_ref()))
}

/// The operating system's error number (`errno`, e.g. `ECONNREFUSED`, `ENOENT`) behind the last
/// error, when the system refused something: connecting, reading, writing, or a file named in
/// a setting. 0 when the last error had none (a name that does not resolve has none: its
/// message says why), or after a success.
#[no_mangle]
pub extern "C" fn smtp_client_last_os_error(client: *const smtp_client) -> i32 {
    session_get_last_error(client, 0, |v| v.os_error)
}

/// The value a callback returned when it aborted the last call (`CALLBACK_ABORTED`), else 0.
#[no_mangle]
pub extern "C" fn smtp_client_last_callback_value(client: *const smtp_client) -> i32 {
    session_get(client, 0, |v| v.callback_value)
}

// ---------------------------------------------------------------- recipients

/// Number of refused recipients of the current or last transaction (smtplib's `sendmail`
/// result dict: for SMTP, every RCPT not answered 250 or 251). For LMTP, a recipient with a
/// reply after the data is refused when that reply refused it, and only then. Reset by
/// `smtp_client_mail()` and each send.
#[no_mangle]
pub extern "C" fn smtp_client_refused_count(client: *const smtp_client) -> usize {
    session_get(client, 0, |v| v.refused.len())
}

/// The `index`th refused recipient: address, the refusing reply's code and text (borrowed
/// until the next mutating call). NULL outputs are skipped. Errors: `INVALID_ARGUMENT` when
/// `index` is out of range (outputs untouched).
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_client_refused_get(
    client: *const smtp_client,
    index: usize,
    address_out: *mut *const c_char,
    code_out: *mut i32,
    text_out: *mut *const c_char,
) -> smtp_result {
    session_get(client, smtp_result::BadHandle, |v| {
        let Some(r) = v.refused.get(index).map(|&i| &v.recipients[i]) else { return smtp_result::InvalidArgument };
        // a refused recipient's deciding reply is its refusal: the RCPT reply, or for LMTP
        // the after-data reply
        put(address_out, r.address.as_ptr());
        put(code_out, if r.data_code != 0 { r.data_code } else { r.rcpt_code });
        put(text_out, r.text.as_ptr());
        smtp_result::Ok
    })
}

/// Number of recipients of the current or last transaction, accepted or not, in RCPT order.
#[no_mangle]
pub extern "C" fn smtp_client_recipient_count(client: *const smtp_client) -> usize {
    session_get(client, 0, |v| v.recipients.len())
}

/// The `index`th recipient: address, its RCPT reply code, its own reply code after the data
/// (LMTP; 0 when there is none) and the text of the deciding reply (the after-data reply
/// when there is one, else the RCPT reply). Borrowed; NULL outputs skipped. Errors:
/// `INVALID_ARGUMENT` when `index` is out of range.
#[must_use]
#[no_mangle]
pub extern "C" fn smtp_client_recipient_get(
    client: *const smtp_client,
    index: usize,
    address_out: *mut *const c_char,
    rcpt_code_out: *mut i32,
    data_code_out: *mut i32,
    text_out: *mut *const c_char,
) -> smtp_result {
    session_get(client, smtp_result::BadHandle, |v| {
        let Some(r) = v.recipients.get(index) else { return smtp_result::InvalidArgument };
        put(address_out, r.address.as_ptr());
        put(rcpt_code_out, r.rcpt_code);
        put(data_code_out, r.data_code);
        put(text_out, r.text.as_ptr());
        smtp_result::Ok
    })
}

/// The RFC 3463 enhanced status code (`class.subject.detail`, e.g. 5.1.1) of the `index`th
/// recipient's deciding reply (the after-data reply for LMTP when there is one, else its RCPT
/// reply), parsed, so that a caller deciding to retry or bounce need not parse reply text.
/// Returns false (outputs untouched) when that reply carried none or `index` is out of range.
#[no_mangle]
pub extern "C" fn smtp_client_recipient_enhanced_status(
    client: *const smtp_client,
    index: usize,
    class_out: *mut i32,
    subject_out: *mut i32,
    detail_out: *mut i32,
) -> bool {
    session_get(client, false, |v| match v.recipients.get(index).and_then(|r| r.enhanced_status) {
        Some(es) => {
            put(class_out, i32::from(es.class));
            put(subject_out, i32::from(es.subject));
            put(detail_out, i32::from(es.detail));
            true
        }
        None => false,
    })
}
