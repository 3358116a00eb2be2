/*
 * smtpclient.h: the C API of libsmtpclient, an SMTP, ESMTP and LMTP client library.
 *
 * Link with `pkg-config --cflags --libs smtpclient`.
 *
 * Thread safety
 * -------------
 * libsmtpclient needs no initialisation call; its only global state is a small pool of threads
 * that resolve host names under the session timeout (see the README). Different handles are
 * fully independent and may be used on different threads at the same time. A handle may be
 * created on one thread and used on another. On one session:
 * - Mutating calls (every function taking a non-const `smtp_client *`, setters included) are
 *   made by one thread at a time. A call from a second thread while one is running is refused
 *   with SMTP_RESULT_CONCURRENT_CALL and does nothing: detected, never a data race, but a
 *   diagnostic, not a lock (callers that share a session serialise access themselves).
 * - Const getters (functions taking `const smtp_client *`) may run on any number of threads at
 *   once: they only read what the last mutating call left. While a mutating call runs on the
 *   session they return their fallback value (0, false, "" or NULL as documented).
 * The result-string and version functions are thread-safe and may be called at any time. Error
 * details are stored per session, never per thread, so they can be read after a goroutine or
 * green thread has moved to another OS thread.
 *
 * Borrowed strings
 * ----------------
 * Strings returned by a session (getters and `const char **` outputs) are borrowed from it. A
 * borrowed string stays valid until the next mutating call on that session *returns*, or until
 * the session is freed; copy it to keep it longer. Every call reads its arguments before it
 * releases any borrowed string, so a borrowed string may be passed straight back in:
 * `smtp_client_rcpt(s, address_from_smtp_session_refused_get, NULL, 0)` is correct. Do not free them.
 *
 * Non-blocking use
 * ----------------
 * Every call that talks to the server blocks its thread until the server has answered or the
 * session timeout has passed. For event loops, the main operations also come as
 * smtp_client_start_*() (connect, EHLO, STARTTLS, login, sendmail, sendmail_stream,
 * send_message, quit): each returns at once, SMTP_RESULT_IN_PROGRESS while the operation runs.
 * Then: wait until smtp_client_fd() is ready for smtp_client_events() (SMTP_EVENT_READ or
 * _WRITE), or smtp_client_timeout_ms() has passed, and call smtp_client_step(); repeat until it
 * returns anything but SMTP_RESULT_IN_PROGRESS: the operation's result, exactly as the blocking
 * call would give it, with the same getters after it. The descriptor can change between steps
 * (the resolver's while a host name is resolved, then the socket's): register it again after
 * every step. Names are resolved on the library's resolver threads, never on the caller's.
 * Many sessions can be driven from one thread this way (poll, epoll, libuv, libevent: see
 * examples/nonblocking/). While an operation is in progress the session refuses every other
 * mutating call with SMTP_RESULT_BAD_STATE, except smtp_client_close(), which cancels it, and
 * smtp_client_free().
 * To send many messages to one server, an smtp_sender keeps up to K pooled connections and
 * drives them itself: smtp_sender_add() the messages, then smtp_sender_run(), or poll
 * smtp_sender_fd() (readable) with smtp_sender_timeout_ms() and call smtp_sender_step() until
 * it returns SMTP_RESULT_OK; each message's one outcome comes from smtp_sender_next_outcome().
 *
 * Callbacks
 * ---------
 * Callbacks (debug, AUTH steps, message body reads) run synchronously, on the thread that made
 * the call, while that call is in progress. Inside a callback no function of the same session
 * may be used: mutating calls return SMTP_RESULT_REENTRANT_CALL and do nothing, getters return
 * their fallback value, and smtp_client_free() is ignored. Functions of other sessions, and
 * smtp_auth_response_set() on the writer the AUTH callback was given, may be called. Data a
 * callback receives is borrowed for the duration of that callback. A callback must not unwind
 * into the library (no C++ exception, longjmp or Go panic may cross it). Userdata given with a
 * destructor (`smtp_userdata_free`) is released exactly once: when a different registration
 * replaces it, or when the session is freed; registering the same userdata with the same
 * destructor again keeps it and does not release it.
 *
 * API conventions
 * ---------------
 * - Names: functions are `smtp_<object>_<verb>`, macros are `SMTPCLIENT_*`, and enum constants
 *   carry their type's name as a prefix (type `smtp_foo` gives `SMTP_FOO_*`). The objects:
 *   client (a session), send_options, auth_response, sender (many messages over pooled
 *   connections), result (the codes), lib (the version).
 * - Handles are opaque. `*_new` returns a handle the caller owns and releases with the matching
 *   `*_free`; `*_free(NULL)` is a no-op; a handle must not be freed twice.
 * - Results: fallible functions return an `int32_t` result code; 0 means success, so
 *   `if (rc)` tests for failure. Codes are stable: never renumbered or reused.
 * - Errors: the detail of the last failure (server reply code and text, enhanced status code, a
 *   human-readable message, the OS error number) is kept on the session, and every mutating
 *   call resets it on entry. Each function lists the codes it returns; a listed code also covers
 *   its kinds (smtp_result_is_a()). Besides those, any session function may return
 *   SMTP_RESULT_NULL_ARGUMENT, _INVALID_UTF8 (a string argument), _BAD_HANDLE,
 *   _REENTRANT_CALL, _CONCURRENT_CALL and _PANIC. "Connection errors" in a list means
 *   SMTP_RESULT_SERVER_DISCONNECTED, _TIMEOUT, _IO_ERROR (with its kinds _NAME_RESOLUTION,
 *   _CONNECTION_REFUSED, _HOST_UNREACHABLE), _PROTOCOL_ERROR and _TLS_RECORD; each of them
 *   closes the session.
 * - NULL: a NULL handle or required pointer gives an error code, never a crash. Getters that
 *   cannot fail return a documented fallback: "" for strings, except the few documented to
 *   return NULL for "none" (smtp_client_helo_resp(), _ehlo_resp(), _feature(),
 *   _last_error_sender()).
 * - Strings passed in are NUL-terminated UTF-8 and are copied; the library keeps no pointer to
 *   them after the call returns. Message data and arrays are passed as (pointer, count); a
 *   count no real buffer can have is SMTP_RESULT_INVALID_ARGUMENT, never a read.
 * - Strings returned are NUL-terminated and borrowed (see "Borrowed strings" above).
 * - Output parameters come last and are written only on success.
 * - Callbacks take `void *userdata` as their first argument (see "Callbacks" above).
 * - Panics inside the library are caught at the boundary and reported as an error code.
 * - ABI: the SONAME is libsmtpclient.so.N, where N changes only on an ABI break; before 1.0,
 *   N is 0.<minor> and every 0.x minor release may break the ABI. Functions are never changed in
 *   place: new behaviour comes as new functions.
 */

#ifndef SMTPCLIENT_H
#define SMTPCLIENT_H

/*
 * This file is generated by cbindgen from the Rust sources and cbindgen.toml. Do not edit it.
 * Regenerate it with `make header`; `make check-header` verifies it is up to date.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

/**
 * What a body callback (smtp_read_callback) returns when it has no data yet, for a send
 * started with smtp_client_start_sendmail_stream(): the operation waits (SMTP_EVENT_BODY) and
 * the callback is called again at the next smtp_client_step(). Refused with
 * SMTP_RESULT_INVALID_ARGUMENT by the blocking smtp_client_sendmail_stream().
 */
#define SMTP_READ_PENDING INT64_MIN

/** Major version of the libsmtpclient this header belongs to. */
#define SMTPCLIENT_VERSION_MAJOR 0
/** Minor version of the libsmtpclient this header belongs to. */
#define SMTPCLIENT_VERSION_MINOR 2
/** Patch version of the libsmtpclient this header belongs to. */
#define SMTPCLIENT_VERSION_PATCH 0
/** MAJOR * 10000 + MINOR * 100 + PATCH, e.g. 10203 for 1.2.3: compare with `>=`. */
#define SMTPCLIENT_VERSION_NUMBER 200
/** The full version as a string literal, e.g. "1.2.3". */
#define SMTPCLIENT_VERSION_STRING "0.2.0"

/*
 * Marks every function that returns a result code: ignoring one is a compiler warning.
 * [[nodiscard]] in C++17 and C23 (a cast to void silences it), GCC's and Clang's
 * warn_unused_result before that (which a cast to void does not silence: test the result, or
 * define SMTPCLIENT_WARN_UNUSED as empty before including this header).
 */
#ifndef SMTPCLIENT_WARN_UNUSED
#if defined(__cplusplus) && __cplusplus >= 201703L
#define SMTPCLIENT_WARN_UNUSED [[nodiscard]]
#elif !defined(__cplusplus) && defined(__STDC_VERSION__) && __STDC_VERSION__ > 201710L && defined(__has_c_attribute)
#if __has_c_attribute(nodiscard)
#define SMTPCLIENT_WARN_UNUSED [[nodiscard]]
#endif
#endif
#endif
#ifndef SMTPCLIENT_WARN_UNUSED
#if defined(__GNUC__) || defined(__clang__)
#define SMTPCLIENT_WARN_UNUSED __attribute__((warn_unused_result))
#else
#define SMTPCLIENT_WARN_UNUSED
#endif
#endif

/** Marks deprecated functions. Define it before including to override. */
#ifndef SMTPCLIENT_DEPRECATED
#if defined(__GNUC__) || defined(__clang__)
#define SMTPCLIENT_DEPRECATED(note) __attribute__((deprecated(note)))
#elif defined(_MSC_VER)
#define SMTPCLIENT_DEPRECATED(note) __declspec(deprecated(note))
#else
#define SMTPCLIENT_DEPRECATED(note)
#endif
#endif


/**
 * The result of every fallible function: `SMTP_RESULT_OK` (0) or an error code.
 *
 * The numbers are ABI and never change or get reused. They are grouped: 100s mirror smtplib's
 * exception classes, 200s operating-system errors, 300s TLS, 400s usage errors, 900s internal
 * errors. `smtp_result_is_a()` answers "is this error a kind of that one", following
 * smtplib's class hierarchy (e.g. `SENDER_REFUSED` is-a `RESPONSE_ERROR` is-a `SMTP_ERROR`).
 */
enum smtp_result
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : int32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
    /**
     * Success.
     */
    SMTP_RESULT_OK = 0,
    /**
     * Not an error: the non-blocking operation is under way (`smtp_client_start_*()`,
     * `smtp_client_step()`); wait for `smtp_client_events()` and step again.
     */
    SMTP_RESULT_IN_PROGRESS = 1,
    /**
     * `SMTPException`: an SMTP failure with no more specific class (base of the 100s).
     */
    SMTP_RESULT_SMTP_ERROR = 100,
    /**
     * `SMTPServerDisconnected`: not connected, or the connection was lost or closed by the
     * server (including after a 421 reply). The session is closed.
     */
    SMTP_RESULT_SERVER_DISCONNECTED = 101,
    /**
     * `SMTPNotSupportedError`: the server does not support what was asked (e.g. SMTPUTF8).
     */
    SMTP_RESULT_NOT_SUPPORTED = 102,
    /**
     * `SMTPResponseException`: the server answered with an unexpected reply.
     */
    SMTP_RESULT_RESPONSE_ERROR = 103,
    /**
     * `SMTPSenderRefused`: MAIL FROM was refused; the sender and reply are kept.
     */
    SMTP_RESULT_SENDER_REFUSED = 104,
    /**
     * `SMTPRecipientsRefused`: every recipient was refused (see the refused list).
     */
    SMTP_RESULT_RECIPIENTS_REFUSED = 105,
    /**
     * `SMTPDataError`: the server refused the message data.
     */
    SMTP_RESULT_DATA_ERROR = 106,
    /**
     * `SMTPConnectError`: the server's greeting was not 220.
     */
    SMTP_RESULT_CONNECT_ERROR = 107,
    /**
     * `SMTPHeloError`: the server refused HELO / EHLO / LHLO.
     */
    SMTP_RESULT_HELO_ERROR = 108,
    /**
     * `SMTPAuthenticationError`: the server refused the credentials.
     */
    SMTP_RESULT_AUTHENTICATION_ERROR = 109,
    /**
     * The connection was lost after the end of the message and before the server's reply:
     * the message may or may not have been delivered. Is-a `SERVER_DISCONNECTED`.
     */
    SMTP_RESULT_DELIVERY_UNKNOWN = 110,
    /**
     * The server broke the protocol (malformed or oversized reply, unexpected bytes). The
     * session is closed.
     */
    SMTP_RESULT_PROTOCOL_ERROR = 111,
    /**
     * The message exceeds the server's advertised SIZE limit; nothing was sent.
     */
    SMTP_RESULT_MESSAGE_TOO_LARGE = 112,
    /**
     * Credentials were not sent: the connection is not protected by TLS (see the credential
     * policy setters). Nothing secret left the process. Is-a `SMTP_ERROR`.
     */
    SMTP_RESULT_CREDENTIALS_POLICY = 113,
    /**
     * TLS was required but is not available: STARTTLS not offered or refused, or the server
     * fell back to HELO. Nothing but QUIT was sent. Is-a `NOT_SUPPORTED`.
     */
    SMTP_RESULT_TLS_REQUIRED = 114,
    /**
     * An operating-system error: name resolution, connect, read or write (base of the
     * 200s; the more specific codes below are kinds of it). Session closed.
     */
    SMTP_RESULT_IO_ERROR = 200,
    /**
     * A deadline expired. Is-a `IO_ERROR`. Session closed.
     */
    SMTP_RESULT_TIMEOUT = 201,
    /**
     * The host name could not be resolved (no such name, no address, or the resolver
     * failed). Is-a `IO_ERROR`.
     */
    SMTP_RESULT_NAME_RESOLUTION = 202,
    /**
     * The connection was refused: nothing listens on that port or Unix socket. Is-a `IO_ERROR`.
     */
    SMTP_RESULT_CONNECTION_REFUSED = 203,
    /**
     * No route to the host or its network. Is-a `IO_ERROR`.
     */
    SMTP_RESULT_HOST_UNREACHABLE = 204,
    /**
     * The TLS handshake failed (protocol version, cipher, alert, not TLS). Session closed.
     */
    SMTP_RESULT_TLS_ERROR = 300,
    /**
     * The server's certificate failed verification (untrusted chain, expired, wrong host
     * name). Nothing was sent over the connection after the handshake. Is-a `TLS_ERROR`.
     */
    SMTP_RESULT_TLS_CERTIFICATE = 301,
    /**
     * TLS failed after the handshake: a record that does not authenticate (bad MAC), plain
     * text injected into the TLS stream, a fatal alert. Session closed. Is-a `TLS_ERROR`.
     */
    SMTP_RESULT_TLS_RECORD = 302,
    /**
     * An argument was refused before anything was sent (smtplib's `ValueError`), e.g. CR or
     * LF in an address, or an index out of range.
     */
    SMTP_RESULT_INVALID_ARGUMENT = 400,
    /**
     * A required pointer argument was NULL. Is-a `INVALID_ARGUMENT`.
     */
    SMTP_RESULT_NULL_ARGUMENT = 401,
    /**
     * A string argument was not valid UTF-8. Is-a `INVALID_ARGUMENT`.
     */
    SMTP_RESULT_INVALID_UTF8 = 402,
    /**
     * The call is not valid in the session's state (e.g. connect while connected).
     */
    SMTP_RESULT_BAD_STATE = 403,
    /**
     * The handle is not a live `smtp_client` (freed or foreign; best-effort detection).
     */
    SMTP_RESULT_BAD_HANDLE = 404,
    /**
     * A session function was called from inside one of that session's callbacks.
     */
    SMTP_RESULT_REENTRANT_CALL = 405,
    /**
     * A callback asked to abort; `smtp_client_last_callback_value()` gives its value.
     */
    SMTP_RESULT_CALLBACK_ABORTED = 406,
    /**
     * Another thread is inside a call on this session right now (a mutating call, or a
     * getter while this is a mutating call). Nothing was done: one thread at a time may make
     * mutating calls on a session.
     */
    SMTP_RESULT_CONCURRENT_CALL = 407,
    /**
     * An internal error (a bug): the library caught a panic. The session is unusable
     * afterwards and every later call on it returns this code.
     */
    SMTP_RESULT_PANIC = 900,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum smtp_result smtp_result;
#else
typedef int32_t smtp_result;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * Session kinds for `smtp_client_new()`. The values are ABI.
 */
enum smtp_client_kind
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : int32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
    /**
     * SMTP / ESMTP (smtplib's `SMTP`), default port 25.
     */
    SMTP_CLIENT_KIND_SMTP = 0,
    /**
     * SMTP over implicit TLS (smtplib's `SMTP_SSL`), default port 465; the handshake, with
     * the session's TLS settings, happens in `smtp_client_connect()` before the greeting.
     */
    SMTP_CLIENT_KIND_SMTPS = 1,
    /**
     * LMTP (smtplib's `LMTP`): LHLO, one reply per recipient after the data; default port
     * 2003; a host starting with `/` is a Unix socket.
     */
    SMTP_CLIENT_KIND_LMTP = 2,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum smtp_client_kind smtp_client_kind;
#else
typedef int32_t smtp_client_kind;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * What a debug event reports (the `kind` argument of `smtp_debug_callback`). Values are ABI.
 */
enum smtp_debug_kind
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : int32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
    /**
     * A connection attempt; the data is the endpoint (`host:port` or socket path).
     */
    SMTP_DEBUG_KIND_CONNECT = 0,
    /**
     * Bytes written to the server (message bodies over 4 KiB are summarised).
     */
    SMTP_DEBUG_KIND_SENT = 1,
    /**
     * One reply line from the server, line end included, escaped: printable ASCII as is with
     * `\` doubled, CR, LF and TAB as `\r`, `\n`, `\t`, every other byte as `\xNN` (the same
     * escaping as the stderr output), so no control byte from the server reaches a terminal
     * or log through the callback.
     */
    SMTP_DEBUG_KIND_RECEIVED = 2,
    /**
     * A remark from the library.
     */
    SMTP_DEBUG_KIND_INFO = 3,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum smtp_debug_kind smtp_debug_kind;
#else
typedef int32_t smtp_debug_kind;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * TLS policy for a plain SMTP or LMTP session (`smtp_client_set_tls_policy()`). Values are ABI.
 */
enum smtp_tls_policy
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : int32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
    /**
     * TLS only when `smtp_client_starttls()` is called (smtplib's behaviour). The default.
     */
    SMTP_TLS_POLICY_NONE = 0,
    /**
     * STARTTLS before any command that carries mail or credentials (MAIL, RCPT, DATA, BDAT,
     * VRFY, EXPN, AUTH, however they are sent) when the server offers it, plain text
     * otherwise. An attacker on the path can strip it: never the default.
     */
    SMTP_TLS_POLICY_OPPORTUNISTIC = 1,
    /**
     * STARTTLS before any command that carries mail or credentials (MAIL, RCPT, DATA, BDAT,
     * VRFY, EXPN, AUTH, however they are sent, `smtp_client_docmd()` included), or fail with
     * `SMTP_RESULT_TLS_REQUIRED`
     * having sent nothing but QUIT.
     */
    SMTP_TLS_POLICY_REQUIRED = 2,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum smtp_tls_policy smtp_tls_policy;
#else
typedef int32_t smtp_tls_policy;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * Minimum TLS protocol version (`smtp_client_set_tls_min_version()`). Values are ABI.
 */
enum smtp_tls_version
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : int32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
    /**
     * TLS 1.2, the default.
     */
    SMTP_TLS_VERSION_TLS12 = 12,
    /**
     * TLS 1.3.
     */
    SMTP_TLS_VERSION_TLS13 = 13,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum smtp_tls_version smtp_tls_version;
#else
typedef int32_t smtp_tls_version;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * What an `smtp_auth_callback` returns. Values are ABI.
 */
enum smtp_auth_step
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : int32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
    /**
     * Send the response set with `smtp_auth_response_set()` (an empty response when it was
     * not called).
     */
    SMTP_AUTH_STEP_RESPOND = 0,
    /**
     * Only when `is_initial` is true: send `AUTH <mechanism>` without an initial response and
     * wait for the server's first challenge. Returned for a challenge, it cancels the exchange
     * (`SMTP_RESULT_CALLBACK_ABORTED`, callback value 1).
     */
    SMTP_AUTH_STEP_NO_INITIAL_RESPONSE = 1,
    /**
     * Cancel the exchange. Any negative value (and any value other than 0 and 1) does the
     * same, and `smtp_client_last_callback_value()` gives back the value returned.
     */
    SMTP_AUTH_STEP_ABORT = -1,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum smtp_auth_step smtp_auth_step;
#else
typedef int32_t smtp_auth_step;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * The bearer-token mechanisms of `smtp_client_login_oauth()`. Values are ABI.
 */
enum smtp_oauth_mechanism
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : int32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
    /**
     * `XOAUTH2`: `user=U^Aauth=Bearer T^A^A`.
     */
    SMTP_OAUTH_MECHANISM_XOAUTH2 = 0,
    /**
     * `OAUTHBEARER` (RFC 7628): `n,a=U,^Aauth=Bearer T^A^A`.
     */
    SMTP_OAUTH_MECHANISM_OAUTHBEARER = 1,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum smtp_oauth_mechanism smtp_oauth_mechanism;
#else
typedef int32_t smtp_oauth_mechanism;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * Whether an AUTH exchange may send its first response on the `AUTH` line (RFC 4954 initial
 * response; smtplib's `initial_response_ok`). The values are ABI.
 */
enum smtp_initial_response
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : int32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
    /**
     * Send the first response on the `AUTH` line (smtplib's default, one round trip less).
     */
    SMTP_INITIAL_RESPONSE_SEND = 0,
    /**
     * Send `AUTH <mechanism>` alone and answer the server's first challenge.
     */
    SMTP_INITIAL_RESPONSE_WAIT = 1,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum smtp_initial_response smtp_initial_response;
#else
typedef int32_t smtp_initial_response;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * Whether the library uses an ESMTP extension the server offers (`smtp_client_set_pipelining()`,
 * `smtp_client_set_chunking()`). The values are ABI.
 */
enum smtp_extension_use
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : int32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
    /**
     * Use it when the server advertises it (the default).
     */
    SMTP_EXTENSION_USE_WHEN_OFFERED = 0,
    /**
     * Never use it, even when advertised.
     */
    SMTP_EXTENSION_USE_NEVER = 1,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum smtp_extension_use smtp_extension_use;
#else
typedef int32_t smtp_extension_use;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * Whether credentials may be sent over a connection without TLS (`smtp_client_set_cleartext_credentials()`).
 * The values are ABI.
 */
enum smtp_cleartext_credentials
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : int32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
    /**
     * Never send credentials without TLS, except to a trusted local peer (the default).
     */
    SMTP_CLEARTEXT_CREDENTIALS_REFUSE = 0,
    /**
     * Send them to any server without TLS. Insecure: anyone on the path can read or replay them.
     */
    SMTP_CLEARTEXT_CREDENTIALS_ALLOW = 1,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum smtp_cleartext_credentials smtp_cleartext_credentials;
#else
typedef int32_t smtp_cleartext_credentials;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * Whether a loopback or Unix-socket server is trusted with credentials without TLS
 * (`smtp_client_set_local_peer()`). The values are ABI.
 */
enum smtp_local_peer
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : int32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
    /**
     * A loopback (127.0.0.0/8, ::1) or Unix-socket server is this machine: trusted (the default).
     */
    SMTP_LOCAL_PEER_TRUSTED = 0,
    /**
     * Such a server needs TLS (or `SMTP_CLEARTEXT_CREDENTIALS_ALLOW`) like any other.
     */
    SMTP_LOCAL_PEER_UNTRUSTED = 1,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum smtp_local_peer smtp_local_peer;
#else
typedef int32_t smtp_local_peer;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * Whether the server's certificate and host name are verified (`smtp_client_set_tls_verify()`).
 * The values are ABI.
 */
enum smtp_tls_verify
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : int32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
    /**
     * Verify the chain against the trusted CAs and the host name (the default).
     */
    SMTP_TLS_VERIFY_PEER = 0,
    /**
     * INSECURE: verify nothing, so anyone on the network path can read and change the
     * session, credentials included. For testing only.
     */
    SMTP_TLS_VERIFY_NONE_INSECURE = 1,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum smtp_tls_verify smtp_tls_verify;
#else
typedef int32_t smtp_tls_verify;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * What `smtp_client_events()` says an operation in progress waits for: a mask of these. The
 * values are ABI.
 */
enum smtp_event
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : int32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
    /**
     * The descriptor `smtp_client_fd()` must become readable (`POLLIN`, `EPOLLIN`, `UV_READABLE`).
     */
    SMTP_EVENT_READ = 1,
    /**
     * The descriptor `smtp_client_fd()` must become writable (`POLLOUT`, `EPOLLOUT`, `UV_WRITABLE`).
     */
    SMTP_EVENT_WRITE = 2,
    /**
     * The body callback of `smtp_client_start_sendmail_stream()` returned `SMTP_READ_PENDING`:
     * call `smtp_client_step()` when it may have data.
     */
    SMTP_EVENT_BODY = 4,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum smtp_event smtp_event;
#else
typedef int32_t smtp_event;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * What a DSN returns of a failed message (`smtp_send_options_set_dsn_ret()`). Values are ABI.
 */
enum smtp_dsn_ret
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : int32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
    /**
     * No `RET=`: the server chooses (the default).
     */
    SMTP_DSN_RET_UNSET = 0,
    /**
     * `RET=FULL`: the whole message.
     */
    SMTP_DSN_RET_FULL = 1,
    /**
     * `RET=HDRS`: the headers only.
     */
    SMTP_DSN_RET_HDRS = 2,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum smtp_dsn_ret smtp_dsn_ret;
#else
typedef int32_t smtp_dsn_ret;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * When a recipient's DSN is sent (`smtp_send_options_set_dsn_notify()`): flags combined with
 * `|`, `SMTP_DSN_NOTIFY_NEVER` alone or any of the other three. Values are ABI.
 */
enum smtp_dsn_notify
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : int32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
    /**
     * On delivery (`NOTIFY=SUCCESS`).
     */
    SMTP_DSN_NOTIFY_SUCCESS = 1,
    /**
     * On failure (`NOTIFY=FAILURE`).
     */
    SMTP_DSN_NOTIFY_FAILURE = 2,
    /**
     * On delay (`NOTIFY=DELAY`).
     */
    SMTP_DSN_NOTIFY_DELAY = 4,
    /**
     * Never (`NOTIFY=NEVER`); combines with no other flag.
     */
    SMTP_DSN_NOTIFY_NEVER = 8,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum smtp_dsn_notify smtp_dsn_notify;
#else
typedef int32_t smtp_dsn_notify;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * What a send with DSN settings does when the server does not advertise DSN
 * (`smtp_send_options_set_dsn_policy()`). Values are ABI.
 */
enum smtp_dsn_policy
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : int32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
    /**
     * Fail with `SMTP_RESULT_NOT_SUPPORTED` before MAIL, nothing of the transaction sent
     * (the default).
     */
    SMTP_DSN_POLICY_REQUIRE = 0,
    /**
     * Send the message without the DSN parameters.
     */
    SMTP_DSN_POLICY_OPTIONAL = 1,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum smtp_dsn_policy smtp_dsn_policy;
#else
typedef int32_t smtp_dsn_policy;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * A phase of the conversation, each with its own timeout
 * (`smtp_client_set_phase_timeout_ms()`). The values are ABI.
 */
enum smtp_phase
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : int32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
    /**
     * Opening the connection, name resolution included (the whole opening).
     */
    SMTP_PHASE_CONNECT = 0,
    /**
     * A TLS handshake, implicit or after STARTTLS (the whole handshake).
     */
    SMTP_PHASE_TLS_HANDSHAKE = 1,
    /**
     * Waiting for the server's 220 greeting (RFC 5321: 5 minutes).
     */
    SMTP_PHASE_GREETING = 2,
    /**
     * EHLO, LHLO or HELO and its reply.
     */
    SMTP_PHASE_EHLO = 3,
    /**
     * MAIL and its reply (RFC 5321: 5 minutes).
     */
    SMTP_PHASE_MAIL = 4,
    /**
     * RCPT and its reply (RFC 5321: 5 minutes).
     */
    SMTP_PHASE_RCPT = 5,
    /**
     * DATA and its 354 reply (RFC 5321's DATA initiation: 2 minutes).
     */
    SMTP_PHASE_DATA = 6,
    /**
     * Each write of the message, and the reply to each BDAT chunk but the last (RFC 5321's
     * data block: 3 minutes).
     */
    SMTP_PHASE_DATA_BLOCK = 7,
    /**
     * The reply (LMTP: the replies) to the end of the message (RFC 5321's DATA
     * termination: 10 minutes).
     */
    SMTP_PHASE_DATA_END = 8,
    /**
     * Every other command and its reply (STARTTLS, AUTH, RSET, NOOP, QUIT, VRFY...).
     */
    SMTP_PHASE_OTHER = 9,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum smtp_phase smtp_phase;
#else
typedef int32_t smtp_phase;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * What became of a message (`smtp_sender_outcome_kind()`). The values are ABI.
 */
enum smtp_outcome_kind
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : int32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
    /**
     * The server took it for at least one recipient (the others' refusals are in the
     * outcome's recipients).
     */
    SMTP_OUTCOME_KIND_DELIVERED = 0,
    /**
     * The server refused it (the sender, every recipient or the data: 4xx may be tried again
     * later, 5xx not), or it could not be sent as given (too large, an extension the server
     * lacks).
     */
    SMTP_OUTCOME_KIND_REFUSED = 1,
    /**
     * None of its data reached the server: every connection tried for it failed before
     * (after the sender's retries). Safe to send again.
     */
    SMTP_OUTCOME_KIND_FAILED_BEFORE_DATA = 2,
    /**
     * The connection was lost after the end of the data and before the server's answer: the
     * server may have delivered it. It is not sent again.
     */
    SMTP_OUTCOME_KIND_DELIVERY_UNKNOWN = 3,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum smtp_outcome_kind smtp_outcome_kind;
#else
typedef int32_t smtp_outcome_kind;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * The response writer an `smtp_auth_callback` receives: opaque, valid only during that
 * callback; fill it with `smtp_auth_response_set()`.
 */
typedef struct smtp_auth_response smtp_auth_response;

/**
 * One SMTP, SMTPS or LMTP client session (smtplib's `SMTP` object): an opaque handle made by
 * `smtp_client_new()` and released with `smtp_client_free()`. (Not called `smtp_session`:
 * libESMTP's header already declares `struct smtp_session`, and a program must be able to
 * include both headers without mixing the two libraries' handles up.)
 */
typedef struct smtp_client smtp_client;

/**
 * Options for `smtp_client_sendmail()`, `smtp_client_sendmail_stream()` and
 * `smtp_client_send_message()`: an opaque object made by `smtp_send_options_new()` and
 * released with `smtp_send_options_free()`. One options object may serve many sends, on any
 * session; a send reads it and keeps nothing. Passing NULL instead means no options.
 */
typedef struct smtp_send_options smtp_send_options;

/**
 * Many messages to one server over up to K pooled connections, driven from one thread: an
 * opaque handle made by `smtp_sender_new()` and released with `smtp_sender_free()`.
 *
 * Configure it (`smtp_sender_set_url()` and the other setters), add messages
 * (`smtp_sender_add()`), then run it (`smtp_sender_run()`) or drive it from an event loop
 * (`smtp_sender_fd()`, `smtp_sender_timeout_ms()`, `smtp_sender_step()`). Every pooled
 * connection is made from the one configuration, which is fixed once the first message is
 * added, so reuse never crosses credentials or TLS settings. A connection is reused (with
 * RSET) for up to `smtp_sender_set_max_messages_per_connection()` messages. Each message gets
 * exactly one outcome, taken in completion order with `smtp_sender_next_outcome()` and read
 * with the `smtp_sender_outcome_*()` getters. One thread at a time may make mutating calls (as
 * on a session); strings it returns are borrowed until the next mutating call on the sender
 * returns.
 */
typedef struct smtp_sender smtp_sender;

/**
 * One step of an `smtp_client_auth()` exchange, called synchronously from inside `smtp_client_auth()`:
 * `userdata` as given to `smtp_client_auth()`; `challenge` / `challenge_len`: the server's challenge,
 * base64-decoded (it may contain any byte, is not NUL-terminated, and is borrowed for the
 * duration of the call; at most 16384 bytes), or NULL and 0 when `is_initial` is true (the
 * library asks for an initial response); `tls_active`: whether the connection is protected by
 * TLS; `response`: where to put the answer with `smtp_auth_response_set()`, valid only
 * during this call.
 *
 * Returns `SMTP_AUTH_STEP_RESPOND` (0), `SMTP_AUTH_STEP_NO_INITIAL_RESPONSE` (1, initial call
 * only), or a negative value (e.g. `SMTP_AUTH_STEP_ABORT`) to cancel.
 *
 * The callback must not call functions on the session (they return
 * `SMTP_RESULT_REENTRANT_CALL`, or their default value for getters) and must not unwind (no
 * C++ exception, longjmp or Go panic).
 */
typedef int32_t (*smtp_auth_callback)(void *userdata,
                                      const uint8_t *challenge,
                                      size_t challenge_len,
                                      bool is_initial,
                                      bool tls_active,
                                      smtp_auth_response *response);

/**
 * Fills `buf` (capacity `capacity` bytes) with the next part of the message for
 * `smtp_client_sendmail_stream()`: returns the number of bytes written (1..=capacity), 0 at the end
 * of the message, a negative value to abort (kept, `smtp_client_last_callback_value()`), or,
 * for a send started with `smtp_client_start_sendmail_stream()` only, `SMTP_READ_PENDING`
 * (no data yet; the blocking send refuses it with `INVALID_ARGUMENT`).
 * `userdata` comes first. Runs on the calling thread during `smtp_client_sendmail_stream()`; it must
 * not call functions of the same session and must not unwind.
 */
typedef int64_t (*smtp_read_callback)(void *userdata, uint8_t *buf, size_t capacity);

/**
 * Receives debug events when the debug level is above 0: `userdata` first, the event kind
 * (`smtp_debug_kind`), and `len` bytes at `data`, borrowed for the duration of the call.
 * Runs on the calling thread, during the session call that produced the event; it must not
 * call functions on the same session (they return `SMTP_RESULT_REENTRANT_CALL`, or their
 * default value for getters) and must not unwind (no C++ exception, longjmp or Go panic).
 */
typedef void (*smtp_debug_callback)(void *userdata, int32_t kind, const uint8_t *data, size_t len);

/**
 * Releases callback userdata: called once, when the callback is replaced or the session freed.
 */
typedef void (*smtp_userdata_free)(void *userdata);

#ifdef __cplusplus
extern "C" {
#endif // __cplusplus

/**
 * smtplib's `login(user, password, initial_response_ok)`.
 *
 * EHLO (or HELO) if not done yet, then SCRAM-SHA-256-PLUS, SCRAM-SHA-256, SCRAM-SHA-1-PLUS,
 * SCRAM-SHA-1, CRAM-MD5, PLAIN and LOGIN in that order (strongest first; smtplib starts at
 * CRAM-MD5; `smtp_client_set_login_mechanisms()` chooses another list or order) among the
 * mechanisms the server advertises.
 *
 * The `-PLUS` mechanisms bind the login to the TLS channel (RFC 5802 §6): `tls-exporter`
 * (RFC 9266) on TLS 1.3, `tls-server-end-point` (RFC 5929, the hash of the server
 * certificate) on TLS 1.2. They are used only over TLS with a verified peer and skipped
 * otherwise (plain text, or `smtp_client_set_insecure_skip_verify()`). On such a connection,
 * a server advertising SCRAM without its `-PLUS` form gets the GS2 flag `y`, so that a server
 * that does support channel binding (its advertisement stripped on the way) refuses the
 * login; without TLS or a verified peer, SCRAM sends `n`.
 *
 * `SMTP_INITIAL_RESPONSE_SEND` sends SCRAM's client-first message, PLAIN's
 * response and LOGIN's user name on the `AUTH` line. 235 is success (for SCRAM only once the
 * server's signature was verified; a 235 without it closes the connection and fails); any
 * other final reply is a failure. A SCRAM server that breaks the protocol (iterations below
 * 4096, a foreign nonce, `e=`, a wrong signature) is not offered a weaker mechanism.
 * One deliberate difference from smtplib: the first 535 (credentials refused) ends the login,
 * since another mechanism cannot make wrong credentials right and each try counts against
 * the account's lockout; the next mechanism is tried only when the mechanism itself failed
 * (504, 534, 538, a malformed challenge). The error message names each mechanism tried with
 * its reply. `user` and `password` are UTF-8, borrowed for the duration of the call only; the
 * library's copies (responses and their base64) are zeroed when done.
 *
 * Security, beyond smtplib:
 * - Credentials are not sent over a connection without TLS unless the server is loopback or
 *   a Unix socket (see `smtp_client_set_local_peer()`) or cleartext credentials were
 *   allowed (`smtp_client_set_cleartext_credentials()`): `SMTP_RESULT_CREDENTIALS_POLICY`,
 *   and nothing of AUTH is sent.
 * - After a mechanism fails, the next one is tried only over TLS with a verified peer;
 *   otherwise the first mechanism's error is returned (no downgrade from CRAM-MD5 to PLAIN).
 * - Debug output never shows the credentials; server text that echoes them is scrubbed
 *   (`[redacted]`) in the debug output, the last reply and the error.
 *
 * Errors: `AUTHENTICATION_ERROR` (the server refused: the reply is the last error's reply;
 * or a malformed exchange was cancelled with `*`), `NOT_SUPPORTED` (no AUTH advertised),
 * `SMTP_ERROR` (none of these mechanisms advertised), `CREDENTIALS_POLICY`, `BAD_STATE`
 * (already authenticated on this connection; nothing sent),
 * `HELO_ERROR`, `INVALID_ARGUMENT` (empty user or password, NUL / CR / LF in them, over 8192
 * bytes, or a control character when SCRAM is tried; nothing sent), `NULL_ARGUMENT`, `INVALID_UTF8`, and connection errors
 * (`SERVER_DISCONNECTED`, `TIMEOUT`, `IO_ERROR`, `PROTOCOL_ERROR`).
 * When the TLS policy is not `SMTP_TLS_POLICY_NONE` and TLS is not up yet, this call first
 * greets and runs STARTTLS (or fails with `TLS_REQUIRED` having sent nothing but QUIT), so it
 * may also return `TLS_REQUIRED`, `TLS_ERROR`, `TLS_CERTIFICATE` and `TLS_RECORD`.
 *
 * With a NULL `user` and a NULL `password`, the user and password of the URL given to
 * `smtp_client_set_url()` are sent; without such a URL, NULL is `NULL_ARGUMENT`.
 */
SMTPCLIENT_WARN_UNUSED
smtp_result smtp_client_login(smtp_client *client,
                              const char *user,
                              const char *password,
                              int32_t initial_response);

/**
 * Log in with an OAuth 2.0 bearer token: `mechanism` is `SMTP_OAUTH_MECHANISM_XOAUTH2` or
 * `SMTP_OAUTH_MECHANISM_OAUTHBEARER` (RFC 7628). EHLO if needed; the mechanism must be
 * advertised; the token goes in the initial response. When the server answers with an error
 * challenge (a JSON status), the library acknowledges it as the mechanism requires and the
 * server's final reply is the error; the JSON status is added to the error message. `user`
 * and `token` are borrowed for the call only; the same credential policy as `smtp_client_login()`
 * applies.
 *
 * Errors: `AUTHENTICATION_ERROR`, `NOT_SUPPORTED` (no AUTH), `SMTP_ERROR` (the mechanism is
 * not advertised), `CREDENTIALS_POLICY`, `BAD_STATE` (already authenticated), `HELO_ERROR`,
 * `INVALID_ARGUMENT` (unknown
 * `mechanism`; `token` not an RFC 6750 bearer token; `user` empty (allowed for OAUTHBEARER),
 * with NUL / CR / LF / 0x01, or over 8192 bytes), `NULL_ARGUMENT`, `INVALID_UTF8`, and
 * connection errors.
 * When the TLS policy is not `SMTP_TLS_POLICY_NONE` and TLS is not up yet, this call first
 * greets and runs STARTTLS (or fails with `TLS_REQUIRED` having sent nothing but QUIT), so it
 * may also return `TLS_REQUIRED`, `TLS_ERROR`, `TLS_CERTIFICATE` and `TLS_RECORD`.
 */
SMTPCLIENT_WARN_UNUSED
smtp_result smtp_client_login_oauth(smtp_client *client,
                                    int32_t mechanism,
                                    const char *user,
                                    const char *token);

/**
 * smtplib's `auth(mechanism, authobject, initial_response_ok)`: any SASL mechanism, its
 * steps computed by `callback`.
 *
 * `mechanism` (1 to 20 of `A-Z a-z 0-9 - _`) is sent upper-cased; it need not be advertised.
 * EHLO if needed, then the credential policy of `smtp_client_login()` (not for `EXTERNAL`). With
 * `SMTP_INITIAL_RESPONSE_SEND` the callback is first called with `is_initial` true: a
 * response is sent on the `AUTH` line (base64; an empty one as `=`), or
 * `SMTP_AUTH_STEP_NO_INITIAL_RESPONSE` sends `AUTH <mechanism>` alone. Then for each 334
 * challenge the callback gets the decoded bytes and its response is sent base64-encoded.
 * At most 5 challenges are answered. 235 is success; any other final reply (a 503 too: the
 * library itself refuses a second AUTH, so a 503 can only mean the exchange failed) is
 * `AUTHENTICATION_ERROR`.
 * `userdata` is passed to the callback as is; the library keeps nothing after the call.
 *
 * Errors: `AUTHENTICATION_ERROR` (any other final reply; a challenge that is not strict
 * base64, or a 6th challenge, which the library cancels with `*`), `CALLBACK_ABORTED` (the
 * callback returned a value other than 0 and 1, or 1 for a challenge; `*` was sent if the
 * exchange had started; `smtp_client_last_callback_value()` gives the value),
 * `INVALID_ARGUMENT` (bad mechanism name; a response over 8192 bytes, after which the
 * exchange is cancelled), `CREDENTIALS_POLICY`, `BAD_STATE` (already authenticated on this
 * connection; nothing sent), `HELO_ERROR`, `NULL_ARGUMENT` (`mechanism` or
 * `callback` NULL), `INVALID_UTF8`, and connection errors.
 * When the TLS policy is not `SMTP_TLS_POLICY_NONE` and TLS is not up yet, this call first
 * greets and runs STARTTLS (or fails with `TLS_REQUIRED` having sent nothing but QUIT), so it
 * may also return `TLS_REQUIRED`, `TLS_ERROR`, `TLS_CERTIFICATE` and `TLS_RECORD`.
 */
SMTPCLIENT_WARN_UNUSED
smtp_result smtp_client_auth(smtp_client *client,
                             const char *mechanism,
                             smtp_auth_callback callback,
                             void *userdata,
                             int32_t initial_response);

/**
 * Set the response of the current `smtp_auth_callback` step: `len` bytes at `data` (any
 * bytes; NULL is allowed when `len` is 0) are copied, replacing an earlier call's. Only valid
 * on the `response` writer of the callback that is running. The library zeroes its copy once
 * sent; the caller may wipe its own buffer as soon as this returns.
 *
 * Errors: `NULL_ARGUMENT` (`response` NULL, or `data` NULL with `len` > 0), `BAD_HANDLE`
 * (`response` is not the writer of a running callback; best-effort detection),
 * `INVALID_ARGUMENT` (`len` over 8192 bytes).
 */
SMTPCLIENT_WARN_UNUSED
smtp_result smtp_auth_response_set(smtp_auth_response *response,
                                   const uint8_t *data,
                                   size_t len);

/**
 * Allow or refuse (`smtp_cleartext_credentials`; refused by default) sending credentials over a
 * connection that is not protected by TLS to any server. Applies to `smtp_client_login()`,
 * `smtp_client_login_oauth()` and `smtp_client_auth()`. Errors: `INVALID_ARGUMENT` (unknown
 * value), `NULL_ARGUMENT`, `BAD_HANDLE`.
 */
SMTPCLIENT_WARN_UNUSED
smtp_result smtp_client_set_cleartext_credentials(smtp_client *client,
                                                  int32_t cleartext);

/**
 * Choose the mechanisms `smtp_client_login()` may use, in the order to try them: names
 * separated by spaces or commas, each once, among `SCRAM-SHA-256-PLUS`, `SCRAM-SHA-256`,
 * `SCRAM-SHA-1-PLUS`, `SCRAM-SHA-1`, `CRAM-MD5`, `PLAIN` and `LOGIN` (any case). NULL
 * restores the default, strongest first (see `smtp_client_login()`). A list without the
 * `-PLUS` form of a SCRAM mechanism it names makes that SCRAM send the GS2 flag `n` (no
 * channel binding) instead of `y`. Pass
 * `"CRAM-MD5 PLAIN LOGIN"` for smtplib's exact order, or one name for a server that
 * advertises a mechanism it then fails (curl's `AUTH=` login option). A login whose list and
 * the server's offer have nothing in common fails there (smtplib's SMTPException), naming both. Errors:
 * `INVALID_ARGUMENT` (an unknown or OAuth mechanism, a name listed twice, an empty list;
 * the setting is unchanged), `INVALID_UTF8`.
 */
SMTPCLIENT_WARN_UNUSED
smtp_result smtp_client_set_login_mechanisms(smtp_client *client,
                                             const char *mechanisms);

/**
 * Whether AUTH succeeded on the current connection. It is reset by STARTTLS, QUIT, closing,
 * reconnecting, and losing the connection (a 421 or an I/O error); while it is true, `smtp_client_login()`, `smtp_client_login_oauth()` and `smtp_client_auth()` return `BAD_STATE` without
 * sending anything (one AUTH per session, RFC 4954).
 */
bool smtp_client_is_authenticated(const smtp_client *client);

/**
 * Whether a loopback (127.0.0.0/8, ::1) or Unix-socket server is trusted with credentials
 * without TLS (`smtp_local_peer`; trusted by default). Errors: `INVALID_ARGUMENT` (unknown
 * value), `NULL_ARGUMENT`, `BAD_HANDLE`.
 */
SMTPCLIENT_WARN_UNUSED
smtp_result smtp_client_set_local_peer(smtp_client *client,
                                       int32_t local_peer);

/**
 * Start `smtp_client_connect()` without blocking: the name is resolved on the library's
 * resolver threads, the connection made, TLS negotiated for an SMTPS session, and the
 * greeting read, each as the event loop says the descriptor is ready. A NULL `host` with
 * `port` 0 connects to the URL of `smtp_client_set_url()`, as `smtp_client_connect()` does.
 *
 * Every `smtp_client_start_*()` function checks its arguments, copies them (nothing is
 * borrowed past the call, except a stream's callback and userdata), and takes the first step
 * at once. It returns `SMTP_RESULT_IN_PROGRESS` when the operation waits: poll
 * `smtp_client_fd()` for `smtp_client_events()`, at most `smtp_client_timeout_ms()`, then call
 * `smtp_client_step()`, until it returns anything else: the operation's result, with the same
 * codes and last-error details as the blocking call. Until then every other mutating call on
 * the session is refused with `BAD_STATE`, except `smtp_client_close()` (which cancels the
 * operation) and `smtp_client_free()`; getters show the session as it was when the operation
 * started. `BAD_STATE` when an operation is already in progress.
 * Errors as `smtp_client_connect()`.
 */
SMTPCLIENT_WARN_UNUSED
smtp_result smtp_client_start_connect(smtp_client *client,
                                      const char *host,
                                      uint16_t port);

/**
 * Start `smtp_client_ehlo_or_helo_if_needed()` without blocking (see
 * `smtp_client_start_connect()`): `IN_PROGRESS` while it runs, `BAD_STATE` when an operation
 * is already in progress. Errors as `smtp_client_ehlo_or_helo_if_needed()`.
 */
SMTPCLIENT_WARN_UNUSED smtp_result smtp_client_start_ehlo_or_helo_if_needed(smtp_client *client);

/**
 * Start `smtp_client_starttls()` without blocking (see `smtp_client_start_connect()`):
 * `IN_PROGRESS` while it runs, `BAD_STATE` when an operation is already in progress.
 * Errors as `smtp_client_starttls()`.
 */
SMTPCLIENT_WARN_UNUSED smtp_result smtp_client_start_starttls(smtp_client *client);

/**
 * Start `smtp_client_login()` without blocking (see `smtp_client_start_connect()`); `user`
 * and `password` (NULL and NULL: the URL's, as for `smtp_client_login()`) are copied (and the copies zeroed when the operation ends): `IN_PROGRESS`
 * while it runs, `BAD_STATE` when an operation is already in progress.
 * Errors as `smtp_client_login()`.
 */
SMTPCLIENT_WARN_UNUSED
smtp_result smtp_client_start_login(smtp_client *client,
                                    const char *user,
                                    const char *password,
                                    int32_t initial_response);

/**
 * Start `smtp_client_sendmail()` without blocking (see `smtp_client_start_connect()`). The
 * message is copied; for a large message use `smtp_client_start_sendmail_stream()`.
 * `IN_PROGRESS` while it runs, `BAD_STATE` when an operation is already in progress; the
 * per-recipient results through the same getters once it ends.
 * Errors as `smtp_client_sendmail()`.
 */
SMTPCLIENT_WARN_UNUSED
smtp_result smtp_client_start_sendmail(smtp_client *client,
                                       const char *from,
                                       const char *const *to,
                                       size_t n_to,
                                       const uint8_t *msg,
                                       size_t len,
                                       const smtp_send_options *options);

/**
 * Start `smtp_client_sendmail_stream()` without blocking (see `smtp_client_start_connect()`).
 * `read` and `userdata` must stay valid until the operation ends; `read` is called during
 * `smtp_client_step()` calls, on the thread making them, and may return
 * `SMTP_READ_PENDING` when it has no data yet: the operation then waits with
 * `SMTP_EVENT_BODY` until the next `smtp_client_step()`. `IN_PROGRESS` while it runs,
 * `BAD_STATE` when an operation is already in progress.
 * Errors as `smtp_client_sendmail_stream()`.
 */
SMTPCLIENT_WARN_UNUSED
smtp_result smtp_client_start_sendmail_stream(smtp_client *client,
                                              const char *from,
                                              const char *const *to,
                                              size_t n_to,
                                              smtp_read_callback read,
                                              void *userdata,
                                              const smtp_send_options *options);

/**
 * Start `smtp_client_send_message()` without blocking (see `smtp_client_start_connect()`).
 * The message, `from` and `to` are copied. `IN_PROGRESS` while it runs, `BAD_STATE` when an
 * operation is already in progress. Errors as `smtp_client_send_message()`.
 */
SMTPCLIENT_WARN_UNUSED
smtp_result smtp_client_start_send_message(smtp_client *client,
                                           const uint8_t *msg,
                                           size_t len,
                                           const char *from,
                                           const char *const *to,
                                           size_t n_to,
                                           const smtp_send_options *options);

/**
 * Start `smtp_client_quit()` without blocking (see `smtp_client_start_connect()`):
 * `IN_PROGRESS` while it runs, `BAD_STATE` when an operation is already in progress.
 * Errors as `smtp_client_quit()`.
 */
SMTPCLIENT_WARN_UNUSED smtp_result smtp_client_start_quit(smtp_client *client);

/**
 * Drive the operation in progress as far as it can go without blocking: call it when
 * `smtp_client_fd()` is ready for `smtp_client_events()`, when `smtp_client_timeout_ms()` has
 * passed, or (for `SMTP_EVENT_BODY`) when the body callback may have data; calling it early
 * is harmless. Returns `SMTP_RESULT_IN_PROGRESS` while the operation runs, then its result
 * (once): what the blocking call would have returned, with the same last-error details,
 * except for the checks of its arguments, which the `smtp_client_start_*()` function made and
 * returned at once. That is `OK` or one of `CONNECT_ERROR`, `HELO_ERROR`, `RESPONSE_ERROR`,
 * `NOT_SUPPORTED`, `TLS_REQUIRED`, `TLS_CERTIFICATE`, `TLS_ERROR`, `AUTHENTICATION_ERROR`,
 * `CREDENTIALS_POLICY`, `SMTP_ERROR`, `SENDER_REFUSED`, `RECIPIENTS_REFUSED`, `DATA_ERROR`,
 * `MESSAGE_TOO_LARGE`, `DELIVERY_UNKNOWN`, `CALLBACK_ABORTED` (the body callback),
 * `INVALID_ARGUMENT` (what is checked once connected, such as a message whose headers name no
 * recipient), `BAD_STATE` and the connection errors. `BAD_STATE` also when no operation is in
 * progress.
 */
SMTPCLIENT_WARN_UNUSED smtp_result smtp_client_step(smtp_client *client);

/**
 * The file descriptor the operation in progress waits on, or -1 (no operation, or it waits
 * only for the body callback). It may change between steps (the resolver's pipe while a name
 * is resolved, then the socket): register it again after each `smtp_client_step()`.
 */
int smtp_client_fd(const smtp_client *client);

/**
 * What the operation in progress waits for: a mask of `SMTP_EVENT_READ` or
 * `SMTP_EVENT_WRITE` (on `smtp_client_fd()`) and `SMTP_EVENT_BODY`; 0 when no operation is in
 * progress. A TLS connection may want to write while reading, or the reverse: wait for the
 * event named, not the one the protocol step suggests.
 */
uint32_t smtp_client_events(const smtp_client *client);

/**
 * Milliseconds until the operation in progress times out, rounded up (0: it has; call
 * `smtp_client_step()` now, which fails it with `TIMEOUT`): the nearer of the deadline of
 * the phase under way (`smtp_client_set_phase_timeout_ms()`) and the operation's total
 * (`smtp_client_set_operation_timeout_ms()`; the only one while waiting for the body
 * callback). -1 when there is none (no operation, or no timeout applies).
 */
int64_t smtp_client_timeout_ms(const smtp_client *client);

/**
 * Whether an operation started with a `smtp_client_start_*()` function is in progress.
 */
bool smtp_client_in_progress(const smtp_client *client);

/**
 * Create an options object with no options. The caller owns it and releases it with
 * `smtp_send_options_free()`. Returns NULL only when out of memory is reported as a panic.
 */
smtp_send_options *smtp_send_options_new(void);

/**
 * Free an options object. NULL is a no-op; it must not be freed twice, nor while a send on
 * another thread reads it (ignored then).
 */
void smtp_send_options_free(smtp_send_options *options);

/**
 * Add an ESMTP option for MAIL FROM (smtplib's `mail_options` item), e.g. `"BODY=8BITMIME"`
 * or `"SMTPUTF8"`. Options are sent only to an ESMTP server, after the library's own (SIZE).
 * Errors: `INVALID_ARGUMENT` (not `KEYWORD` or `KEYWORD=VALUE` of RFC 5321 §4.1.2: empty, a
 * space, CR, LF, a control character; or `RET`, `ENVID` or `REQUIRETLS` when the typed
 * setting is made, see `smtp_send_options_set_dsn_ret()`), `NULL_ARGUMENT`, `INVALID_UTF8`,
 * `BAD_HANDLE`.
 */
SMTPCLIENT_WARN_UNUSED
smtp_result smtp_send_options_add_mail_option(smtp_send_options *options,
                                              const char *option);

/**
 * Add an ESMTP option sent with every RCPT TO (smtplib's `rcpt_options` item), e.g.
 * `"NOTIFY=FAILURE"`. Errors as `smtp_send_options_add_mail_option()` (`INVALID_ARGUMENT`
 * also for `NOTIFY` or `ORCPT` when a recipient has the typed setting).
 */
SMTPCLIENT_WARN_UNUSED
smtp_result smtp_send_options_add_rcpt_option(smtp_send_options *options,
                                              const char *option);

/**
 * For `smtp_client_sendmail_stream()`: the message size in octets with CRLF line ends, sent as
 * SIZE and checked against the server's limit before anything is sent; -1 (the default) when
 * unknown. Sends of a whole message in memory compute the size themselves and ignore this.
 * Errors: `INVALID_ARGUMENT` (below -1), `NULL_ARGUMENT`, `BAD_HANDLE`.
 */
SMTPCLIENT_WARN_UNUSED
smtp_result smtp_send_options_set_size_estimate(smtp_send_options *options,
                                                int64_t size);

/**
 * DSN (RFC 3461): what a delivery status notification returns of a failed message
 * (`smtp_dsn_ret`: `SMTP_DSN_RET_FULL`, `SMTP_DSN_RET_HDRS`, or `SMTP_DSN_RET_UNSET`, the
 * default, for no `RET=`). Sent on MAIL only when the server advertises DSN (see
 * `smtp_send_options_set_dsn_policy()`). A raw `RET=` option as well is refused, whichever
 * comes first. Errors: `INVALID_ARGUMENT` (unknown value, or a raw `RET` option is set),
 * `NULL_ARGUMENT`, `BAD_HANDLE`.
 */
SMTPCLIENT_WARN_UNUSED
smtp_result smtp_send_options_set_dsn_ret(smtp_send_options *options,
                                          int32_t ret);

/**
 * DSN: the envelope identifier returned in every notification (`Original-Envelope-Id`),
 * sent as `ENVID=` in xtext (RFC 3461 §4); NULL: none (the default). Printable ASCII (space
 * allowed), at most 100 characters once encoded (each character other than `!`..`~`, `+`
 * and `=` takes three). Errors: `INVALID_ARGUMENT` (empty, a control or non-ASCII character,
 * too long, or a raw `ENVID` option is set), `INVALID_UTF8`, `NULL_ARGUMENT` (options),
 * `BAD_HANDLE`. The setting is unchanged on error.
 */
SMTPCLIENT_WARN_UNUSED
smtp_result smtp_send_options_set_dsn_envid(smtp_send_options *options,
                                            const char *envid);

/**
 * DSN: when the server reports on the recipient `recipient` (the address exactly as passed
 * to the send, or as found in the message's headers by `smtp_client_send_message()`,
 * compared ignoring ASCII case): `flags` is `SMTP_DSN_NOTIFY_NEVER`, or any of
 * `SMTP_DSN_NOTIFY_SUCCESS | SMTP_DSN_NOTIFY_FAILURE | SMTP_DSN_NOTIFY_DELAY`; 0 removes the
 * recipient's setting (the server's default, failures and delays). Each recipient has its own
 * setting, sent as `NOTIFY=` on its RCPT only. A send whose recipients do not include an
 * address given here fails with `INVALID_ARGUMENT` before anything is sent. Errors:
 * `INVALID_ARGUMENT` (NEVER combined with another flag, an unknown flag, an empty recipient
 * or one with a control character, or a raw `NOTIFY` RCPT option is set), `INVALID_UTF8`,
 * `NULL_ARGUMENT`, `BAD_HANDLE`. The setting is unchanged on error.
 */
SMTPCLIENT_WARN_UNUSED
smtp_result smtp_send_options_set_dsn_notify(smtp_send_options *options,
                                             const char *recipient,
                                             uint32_t flags);

/**
 * DSN: the original recipient address of `recipient` (matched as in
 * `smtp_send_options_set_dsn_notify()`), returned in notifications as `Original-Recipient`
 * and sent as `ORCPT=rfc822;` and its xtext, or for a non-ASCII address as RFC 6533's
 * `ORCPT=utf-8;` (the characters as they are when the message goes with SMTPUTF8, else as
 * `\x{HEX}`); NULL: none (the default). At most 500 characters encoded. Errors:
 * `INVALID_ARGUMENT` (an empty address or recipient, a control character, too long, or a raw
 * `ORCPT` RCPT option is set), `INVALID_UTF8`, `NULL_ARGUMENT` (options, recipient),
 * `BAD_HANDLE`. The setting is unchanged on error.
 */
SMTPCLIENT_WARN_UNUSED
smtp_result smtp_send_options_set_dsn_orcpt(smtp_send_options *options,
                                            const char *recipient,
                                            const char *original);

/**
 * DSN: what a send with DSN settings (`smtp_send_options_set_dsn_*`) does when the server
 * does not advertise DSN (or was greeted with HELO): `SMTP_DSN_POLICY_REQUIRE` (the default)
 * makes the send fail with SMTP_RESULT_NOT_SUPPORTED before MAIL, nothing of the transaction sent;
 * `SMTP_DSN_POLICY_OPTIONAL` sends the message without the DSN parameters. Errors:
 * `INVALID_ARGUMENT` (unknown value), `NULL_ARGUMENT`, `BAD_HANDLE`.
 */
SMTPCLIENT_WARN_UNUSED
smtp_result smtp_send_options_set_dsn_policy(smtp_send_options *options,
                                             int32_t policy);

/**
 * REQUIRETLS (RFC 8689): when true, MAIL FROM carries `REQUIRETLS`, which asks every server
 * on the way to relay the message only over verified TLS. Sent only over TLS whose peer was
 * verified (STARTTLS or SMTPS with verification on) to a server that advertises REQUIRETLS;
 * otherwise the send fails with SMTP_RESULT_TLS_REQUIRED before MAIL, nothing of the transaction sent
 * (the connection stays open). Default false. A raw `REQUIRETLS` mail option as well is
 * refused. Errors: `INVALID_ARGUMENT` (a raw `REQUIRETLS` option is set), `NULL_ARGUMENT`,
 * `BAD_HANDLE`.
 */
SMTPCLIENT_WARN_UNUSED
smtp_result smtp_send_options_set_requiretls(smtp_send_options *options,
                                             bool requiretls);

/**
 * A static, NUL-terminated English description of `code` (never NULL; "unknown result
 * code" for a value this library does not define). Thread-safe.
 */
const char *smtp_result_str(int32_t code);

/**
 * The constant's name for `code`, e.g. "SMTP_RESULT_SENDER_REFUSED" (static, never NULL;
 * "SMTP_RESULT_UNKNOWN" for a value this library does not define). Thread-safe.
 */
const char *smtp_result_name(int32_t code);

/**
 * Whether `code` is `base` or a kind of it, following smtplib's exception hierarchy:
 * e.g. `smtp_result_is_a(SMTP_RESULT_SENDER_REFUSED, SMTP_RESULT_RESPONSE_ERROR)` and
 * `smtp_result_is_a(SMTP_RESULT_SENDER_REFUSED, SMTP_RESULT_SMTP_ERROR)` are true. False for
 * unknown codes and for `SMTP_RESULT_OK` against any error. Thread-safe.
 */
bool smtp_result_is_a(int32_t code, int32_t base);

/**
 * Create a sender of `kind` (`SMTP_CLIENT_KIND_SMTP`, `_SMTPS` or `_LMTP`) with the defaults:
 * 4 connections, 100 messages per connection, one retry, a 60 s timeout. It has no server
 * until `smtp_sender_set_url()`. The caller owns it and releases it with
 * `smtp_sender_free()`. Returns NULL for an unknown kind.
 */
smtp_sender *smtp_sender_new(int32_t kind);

/**
 * Free a sender: its connections are closed at once, without QUIT, and the messages without
 * an outcome are dropped (run it until `smtp_sender_step()` returns `SMTP_RESULT_OK` first to
 * send them). NULL is a no-op; it must not be freed twice.
 */
void smtp_sender_free(smtp_sender *sender);

/**
 * The server, the TLS policy and the credentials of every connection, as a URL (see
 * `smtp_client_set_url()`: `smtp://`, `smtp+starttls://`, `smtps://`, `lmtp://`,
 * `lmtp+unix://`, with `user:password@` for a login on each connection). Required before the
 * first `smtp_sender_add()`. Errors: `INVALID_ARGUMENT` (a malformed URL, the message naming
 * the part that is wrong, or a scheme of another kind than the sender's), `BAD_STATE` (a
 * message was added already), `NULL_ARGUMENT`, `INVALID_UTF8`. The setting is unchanged on
 * error.
 */
SMTPCLIENT_WARN_UNUSED smtp_result smtp_sender_set_url(smtp_sender *sender, const char *url);

/**
 * Trust the CA certificates in the PEM file at `path` instead of the system trust store, on
 * every connection (NULL: back to the system store). The file is read now, as by
 * `smtp_client_set_tls_ca_file()`. Errors: `INVALID_ARGUMENT` (missing, unreadable, not PEM
 * or holding no certificate: the message names the file and the reason), `BAD_STATE` (a
 * message was added already), `INVALID_UTF8`. The setting is unchanged on error.
 */
SMTPCLIENT_WARN_UNUSED
smtp_result smtp_sender_set_tls_ca_file(smtp_sender *sender,
                                        const char *path);

/**
 * The timeout in milliseconds of every connect, read and write on every connection, as
 * `smtp_client_set_timeout_ms()`; 0 means wait forever. Default: 60000. Errors: `BAD_STATE`
 * (a message was added already).
 */
SMTPCLIENT_WARN_UNUSED
smtp_result smtp_sender_set_timeout_ms(smtp_sender *sender,
                                       uint32_t timeout_ms);

/**
 * The most connections open at once. Default: 4. Errors: `INVALID_ARGUMENT` (0),
 * `BAD_STATE` (a message was added already).
 */
SMTPCLIENT_WARN_UNUSED smtp_result smtp_sender_set_max_connections(smtp_sender *sender, uint32_t n);

/**
 * The most messages sent over one connection before it is closed with QUIT (and a new one
 * made for the rest). Default: 100. Errors: `INVALID_ARGUMENT` (0), `BAD_STATE` (a message
 * was added already).
 */
SMTPCLIENT_WARN_UNUSED
smtp_result smtp_sender_set_max_messages_per_connection(smtp_sender *sender,
                                                        uint32_t n);

/**
 * How many new connections are tried for a message whose connection failed before any of
 * its data was sent (0: none), before its outcome is `SMTP_OUTCOME_KIND_FAILED_BEFORE_DATA`.
 * Default: 1. Errors: `BAD_STATE` (a message was added already).
 */
SMTPCLIENT_WARN_UNUSED smtp_result smtp_sender_set_retries(smtp_sender *sender, uint32_t n);

/**
 * Queue a message: from `from` (`""`: the null sender) to the `n_to` recipients `to`, the
 * message `msg` of `len` bytes (headers and body), with the MAIL and RCPT options of
 * `options` (NULL: none). Everything is copied. Nothing is sent before the sender is stepped
 * or run. The envelope is checked now, as `smtp_client_sendmail()` checks it before sending,
 * so a message that could never be sent fails here and gets no outcome. Its id, unique in
 * the sender and given by `smtp_sender_outcome_id()` with its outcome, goes to `*id_out`
 * (NULL: not wanted). The first message fixes the settings and makes the sender's
 * descriptor. Errors: `INVALID_ARGUMENT` (no recipients; an address with CR, LF, `<`, `>`, a
 * space or a leading `-`, or too long; an address that is not ASCII without the `SMTPUTF8`
 * option; a SIZE option), `BAD_STATE` (no URL set), `NULL_ARGUMENT`, `INVALID_UTF8`.
 */
SMTPCLIENT_WARN_UNUSED
smtp_result smtp_sender_add(smtp_sender *sender,
                            const char *from,
                            const char *const *to,
                            size_t n_to,
                            const uint8_t *msg,
                            size_t len,
                            const smtp_send_options *options,
                            uint64_t *id_out);

/**
 * Make all the progress possible now without blocking: drive every connection, give queued
 * messages to idle connections or open new ones (up to the limit), close the connections
 * nothing is left for; new outcomes join the queue of `smtp_sender_next_outcome()`. Returns
 * `SMTP_RESULT_IN_PROGRESS` while a message has no outcome yet or a connection is still
 * open: wait until `smtp_sender_fd()` is readable or `smtp_sender_timeout_ms()` has passed,
 * and step again. Returns `SMTP_RESULT_OK` once everything is done (also when no message was
 * added). A failed message is an outcome, never this call's result.
 */
SMTPCLIENT_WARN_UNUSED smtp_result smtp_sender_step(smtp_sender *sender);

/**
 * Send everything queued, blocking until every message has its outcome and every connection
 * is closed: `smtp_sender_step()` in a loop, waiting on `smtp_sender_fd()` in between.
 * Returns `SMTP_RESULT_OK` (the outcomes say how each message fared).
 */
SMTPCLIENT_WARN_UNUSED smtp_result smtp_sender_run(smtp_sender *sender);

/**
 * The sender's descriptor, for an event loop: an epoll set of its connections, readable when
 * one of them can make progress. Wait until it is readable (`POLLIN`, `EPOLLIN`,
 * `UV_READABLE`), or `smtp_sender_timeout_ms()` has passed, then call `smtp_sender_step()`.
 * It stays the same for the sender's life; -1 before the first message is added.
 */
int smtp_sender_fd(const smtp_sender *sender);

/**
 * Milliseconds until `smtp_sender_step()` must be called even if `smtp_sender_fd()` is not
 * readable, rounded up: 0 right after `smtp_sender_add()` (step first) or when a connection's
 * timeout has passed; -1 when nothing waits on a clock (no message, all done, or the timeout
 * is 0).
 */
int64_t smtp_sender_timeout_ms(const smtp_sender *sender);

/**
 * Take the oldest outcome not yet taken and make it the sender's current outcome, which the
 * `smtp_sender_outcome_*()` getters read; false (and no current outcome) when there is none
 * yet, or on a NULL or foreign handle. Each message has exactly one outcome.
 */
bool smtp_sender_next_outcome(smtp_sender *sender);

/**
 * The id (`smtp_sender_add()`'s `*id_out`) of the current outcome's message; 0 when there is
 * no current outcome.
 */
uint64_t smtp_sender_outcome_id(const smtp_sender *sender);

/**
 * What became of the current outcome's message: an `smtp_outcome_kind` value; -1 when there
 * is no current outcome.
 */
int32_t smtp_sender_outcome_kind(const smtp_sender *sender);

/**
 * Why the current outcome's message was not delivered, as the result code a session's
 * `smtp_client_sendmail()` would have returned (e.g. `SMTP_RESULT_RECIPIENTS_REFUSED`,
 * `SMTP_RESULT_CONNECTION_REFUSED`); `SMTP_RESULT_OK` (0) when it was delivered or there is
 * no current outcome.
 */
int32_t smtp_sender_outcome_result(const smtp_sender *sender);

/**
 * The message of the current outcome's failure (borrowed); "" when it was delivered or
 * there is no current outcome.
 */
const char *smtp_sender_outcome_error_message(const smtp_sender *sender);

/**
 * The code of the server reply behind the current outcome's failure (e.g. 550); 0 when there
 * is none (delivered, a connection failure, no current outcome).
 */
int32_t smtp_sender_outcome_reply_code(const smtp_sender *sender);

/**
 * The number of recipients of the current outcome's message whose RCPT was answered, in the
 * order given (0 when none was, or there is no current outcome).
 */
size_t smtp_sender_outcome_recipient_count(const smtp_sender *sender);

/**
 * The `index`th recipient of the current outcome, as `smtp_client_recipient_get()` gives a
 * session's: address, RCPT reply code, its own reply code after the data (LMTP; 0 when there
 * is none) and the text of the deciding reply. Borrowed; NULL outputs skipped. Errors:
 * `INVALID_ARGUMENT` (`index` out of range, or no current outcome), `NULL_ARGUMENT`,
 * `BAD_HANDLE`.
 */
SMTPCLIENT_WARN_UNUSED
smtp_result smtp_sender_outcome_recipient_get(const smtp_sender *sender,
                                              size_t index,
                                              const char **address_out,
                                              int32_t *rcpt_code_out,
                                              int32_t *data_code_out,
                                              const char **text_out);

/**
 * The message of the last mutating call's failure on the sender (borrowed): why a setting or
 * `smtp_sender_add()` was refused, naming the bad argument; "" after a success. It answers
 * also on a sender a panic made unusable.
 */
const char *smtp_sender_last_error_message(const smtp_sender *sender);

/**
 * Create an unconnected session of `kind` (`SMTP_CLIENT_KIND_SMTP`,
 * `SMTP_CLIENT_KIND_SMTPS` or `SMTP_CLIENT_KIND_LMTP`). Returns NULL for an unknown kind. The caller owns the session
 * and releases it with `smtp_client_free()`.
 */
smtp_client *smtp_client_new(int32_t kind);

/**
 * Free a session: closes the connection without sending QUIT (smtplib's `close()`), calls
 * the debug userdata's destructor, and releases everything. NULL is a no-op. Must not be
 * called twice, nor from inside one of the session's callbacks (ignored there).
 */
void smtp_client_free(smtp_client *client);

/**
 * Set the name sent with HELO / EHLO / LHLO; NULL restores the default (this host's fully
 * qualified name, or `[address]`). The name is one non-empty word of visible ASCII (0x21 to
 * 0x7E; an internationalised name goes in its `xn--` form). Errors: `INVALID_ARGUMENT`,
 * `INVALID_UTF8`.
 */
SMTPCLIENT_WARN_UNUSED
smtp_result smtp_client_set_local_hostname(smtp_client *client,
                                           const char *name);

/**
 * Set the timeout in milliseconds for connecting and for every read and write (each reply
 * must arrive whole within it): the timeout of every phase (`smtp_phase`). 0 means wait
 * forever. Default: 60000.
 */
SMTPCLIENT_WARN_UNUSED
smtp_result smtp_client_set_timeout_ms(smtp_client *client,
                                       uint32_t timeout_ms);

/**
 * Set the timeout in milliseconds of one phase of the conversation (an `smtp_phase` value;
 * 0 means wait forever). A write has it from its last progress, a reply from the moment the
 * session began waiting for it (its command written, or the reply before it complete), an
 * opening and a TLS handshake from their start. `smtp_client_set_timeout_ms()` sets every
 * phase at once; the operation timeout (`smtp_client_set_operation_timeout_ms()`) bounds
 * them all. A timeout's message names the phase, the host, the limit that applied and the
 * bytes received. Errors: `INVALID_ARGUMENT` for an unknown phase.
 */
SMTPCLIENT_WARN_UNUSED
smtp_result smtp_client_set_phase_timeout_ms(smtp_client *client,
                                             int32_t phase,
                                             uint32_t timeout_ms);

/**
 * Set the timeouts RFC 5321 §4.5.3.2 gives the phases it names: greeting, MAIL and RCPT 5
 * minutes, DATA initiation 2, each data block 3, DATA termination 10. The others (connect,
 * TLS handshake, EHLO, other commands) keep theirs.
 */
SMTPCLIENT_WARN_UNUSED smtp_result smtp_client_set_rfc5321_timeouts(smtp_client *client);

/**
 * Set the total time in milliseconds one operation may take, whatever the phases' timeouts
 * and however slowly the server sends (0, the default: no total). An operation is one call
 * that talks to the server (`smtp_client_connect()`, `smtp_client_login()`,
 * `smtp_client_sendmail()`, ... or one `smtp_client_start_*()` until its result); every wait
 * of it ends at the nearer of its phase's deadline and this one, and
 * `smtp_client_timeout_ms()` counts down to the nearer.
 */
SMTPCLIENT_WARN_UNUSED
smtp_result smtp_client_set_operation_timeout_ms(smtp_client *client,
                                                 uint32_t timeout_ms);

/**
 * Bind the local end to `host` (an address or name) and `port` (0 = any) before connecting
 * (smtplib's `source_address`). NULL `host` removes the setting; the name is resolved when
 * connecting. Errors: `INVALID_ARGUMENT` (CR, LF or NUL in `host`).
 */
SMTPCLIENT_WARN_UNUSED
smtp_result smtp_client_set_source_address(smtp_client *client,
                                           const char *host,
                                           uint16_t port);

/**
 * smtplib's `set_debuglevel`: 0 off, 1 commands and replies, 2 the same with timestamps.
 * Events go to stderr unless a callback is set. Errors: `INVALID_ARGUMENT` outside 0–2.
 */
SMTPCLIENT_WARN_UNUSED smtp_result smtp_client_set_debuglevel(smtp_client *client, int32_t level);

/**
 * Send debug events to `callback` instead of stderr (NULL `callback`: back to stderr).
 * `userdata_free`, when not NULL, is called with `userdata` once the callback is replaced or
 * the session freed.
 */
SMTPCLIENT_WARN_UNUSED
smtp_result smtp_client_set_debug_callback(smtp_client *client,
                                           smtp_debug_callback callback,
                                           void *userdata,
                                           smtp_userdata_free userdata_free);

/**
 * Configure the session from a connection string, as lettre's and curl's URLs do:
 *
 * - `smtp://[user:password@]host[:port]`, then an optional `/` and an optional
 *   `?tls=none|opportunistic|required`: SMTP, port 25; the TLS policy `none` unless `tls=`
 *   says otherwise (see `smtp_client_set_tls_policy()`);
 * - `smtp+starttls://[user:password@]host[:port]`: SMTP with STARTTLS required, port 587;
 * - `smtps://[user:password@]host[:port]`: implicit TLS, port 465;
 * - `lmtp://host[:port]`, `?tls=` as for `smtp://`: LMTP over TCP, port 2003;
 * - `lmtp+unix:///absolute/path`: LMTP over a Unix socket (percent-decoded path).
 *
 * The host is a name, an IPv4 address, or an IPv6 address in brackets (`[::1]:2525`); an
 * internationalised name goes in its `xn--` form. The user and the password are
 * percent-decoded (`%40` for `@`, `%3A` for `:`, `%2F` for `/`, UTF-8 after decoding) and
 * come together or not at all.
 *
 * What the call sets: the TLS policy, at once; the endpoint that `smtp_client_connect()`
 * with a NULL host (and port 0) connects to; and the user and password that
 * `smtp_client_login()` with a NULL user and a NULL password sends. The password is copied
 * into memory that is zeroed when a later URL replaces it or the session is freed, and is
 * never logged, shown in debug output or quoted in an error message. Nothing connects or
 * logs in by itself. A later URL replaces all three (its credentials, or none).
 *
 * The session's kind is fixed by `smtp_client_new()`, and the scheme must match it:
 * `smtp://` and `smtp+starttls://` need `SMTP_CLIENT_KIND_SMTP`, `smtps://`
 * `SMTP_CLIENT_KIND_SMTPS`, `lmtp://` and `lmtp+unix://` `SMTP_CLIENT_KIND_LMTP`. A URL of
 * another kind is refused rather than changing the protocol under the handle.
 *
 * Errors, each leaving the session as it was: `INVALID_ARGUMENT` (a malformed URL, the
 * message naming the part that is wrong: scheme, user, password, host, port, path, query or
 * fragment; or a scheme of another kind), `BAD_STATE` (connected: set the URL before
 * connecting), `NULL_ARGUMENT`, `INVALID_UTF8`.
 */
SMTPCLIENT_WARN_UNUSED smtp_result smtp_client_set_url(smtp_client *client, const char *url);

/**
 * smtplib's `connect(host, port)`: connect and read the greeting. `port` 0 means the
 * `host:port` suffix (or `[v6]:port`) when present, else 25 (SMTP) / 465 (SMTPS) / 2003 (LMTP). A host
 * starting with `/` is a Unix socket. Every address the name resolves to is tried. The
 * greeting is the last reply. An SMTPS session does the TLS handshake first. Errors:
 * `CONNECT_ERROR` (greeting not 220; closed), `TLS_CERTIFICATE`, `TLS_ERROR`,
 * `IO_ERROR`, `TIMEOUT`, `SERVER_DISCONNECTED`, `PROTOCOL_ERROR`, `BAD_STATE` (already
 * connected), `INVALID_ARGUMENT`.
 *
 * After `smtp_client_set_url()`, a NULL `host` with `port` 0 connects to the URL's host and
 * port (or its Unix socket); without a URL, a NULL `host` is `NULL_ARGUMENT`.
 */
SMTPCLIENT_WARN_UNUSED
smtp_result smtp_client_connect(smtp_client *client,
                                const char *host,
                                uint16_t port);

/**
 * smtplib's `quit()`: send QUIT and close, whatever the reply. Errors:
 * `SERVER_DISCONNECTED` when not connected; the session is closed in every case.
 */
SMTPCLIENT_WARN_UNUSED smtp_result smtp_client_quit(smtp_client *client);

/**
 * smtplib's `close()`: close the connection without sending anything. Closing a closed
 * session is not an error.
 */
SMTPCLIENT_WARN_UNUSED smtp_result smtp_client_close(smtp_client *client);

/**
 * Whether the session has an open connection.
 */
bool smtp_client_is_connected(const smtp_client *client);

/**
 * smtplib's `docmd(cmd, args)`: send `cmd` (and ` args` unless NULL or empty) and read the
 * reply, available through `smtp_client_last_reply_code()` / `_text()` whatever its code.
 * A command line is at most 512 octets with CRLF (RFC 5321 §4.5.3.1.4), plus the allowance of
 * each advertised extension whose parameter the line carries. MAIL, RCPT, DATA, BDAT, VRFY,
 * EXPN and AUTH go through the TLS policy (see below). Errors: `INVALID_ARGUMENT` (CR, LF or
 * NUL; the line too long: nothing sent), connection errors.
 * When the TLS policy is not `SMTP_TLS_POLICY_NONE` and TLS is not up yet, this call first
 * greets and runs STARTTLS (or fails with `TLS_REQUIRED` having sent nothing but QUIT), so it
 * may also return `TLS_REQUIRED`, `TLS_ERROR`, `TLS_CERTIFICATE` and `TLS_RECORD`.
 */
SMTPCLIENT_WARN_UNUSED
smtp_result smtp_client_docmd(smtp_client *client,
                              const char *cmd,
                              const char *args);

/**
 * smtplib's `helo(name)`: NULL `name` uses the local hostname. The reply is the last reply
 * and `smtp_client_helo_resp()`, whatever its code. Errors: `INVALID_ARGUMENT` (a name that
 * is not one word of visible ASCII), connection errors.
 */
SMTPCLIENT_WARN_UNUSED smtp_result smtp_client_helo(smtp_client *client, const char *name);

/**
 * smtplib's `ehlo(name)` (LHLO for LMTP): NULL `name` uses the local hostname. On 250 the
 * extensions are parsed (`smtp_client_has_extn()`); the reply is the last reply and
 * `smtp_client_ehlo_resp()`, whatever its code. Errors: `INVALID_ARGUMENT` (a name that is not
 * one word of visible ASCII), connection errors.
 */
SMTPCLIENT_WARN_UNUSED smtp_result smtp_client_ehlo(smtp_client *client, const char *name);

/**
 * smtplib's `ehlo_or_helo_if_needed()`: EHLO (LHLO) unless done already, HELO if EHLO is
 * refused (not for LMTP). Errors: `HELO_ERROR` with the refusing reply, connection errors.
 * When the TLS policy is not `SMTP_TLS_POLICY_NONE` and TLS is not up yet, this call first
 * greets and runs STARTTLS (or fails with `TLS_REQUIRED` having sent nothing but QUIT), so it
 * may also return `TLS_REQUIRED`, `TLS_ERROR`, `TLS_CERTIFICATE` and `TLS_RECORD`.
 */
SMTPCLIENT_WARN_UNUSED smtp_result smtp_client_ehlo_or_helo_if_needed(smtp_client *client);

/**
 * smtplib's `verify(address)`: VRFY with the bare address, as smtplib's `_addr_only` extracts it
 * (`"Bob <bob@example.org>"` sends `VRFY bob@example.org`; a plain name such as `postmaster`
 * is sent as given); the reply is the last reply whatever its code. Errors:
 * `INVALID_ARGUMENT` (not one address), connection errors.
 * When the TLS policy is not `SMTP_TLS_POLICY_NONE` and TLS is not up yet, this call first
 * greets and runs STARTTLS (or fails with `TLS_REQUIRED` having sent nothing but QUIT), so it
 * may also return `TLS_REQUIRED`, `TLS_ERROR`, `TLS_CERTIFICATE` and `TLS_RECORD`.
 */
SMTPCLIENT_WARN_UNUSED smtp_result smtp_client_verify(smtp_client *client, const char *address);

/**
 * smtplib's `expn(address)`: EXPN with the bare address, as `smtp_client_verify()`; the reply is
 * the last reply whatever its code. Errors as `smtp_client_verify()`.
 */
SMTPCLIENT_WARN_UNUSED smtp_result smtp_client_expn(smtp_client *client, const char *address);

/**
 * smtplib's `help(args)`: HELP (NULL `args`: none); the reply is the last reply. Errors:
 * `INVALID_ARGUMENT` (CR, LF or NUL in `args`), connection errors.
 */
SMTPCLIENT_WARN_UNUSED smtp_result smtp_client_help(smtp_client *client, const char *args);

/**
 * smtplib's `rset()`: RSET; the reply is the last reply whatever its code. Errors:
 * connection errors.
 */
SMTPCLIENT_WARN_UNUSED smtp_result smtp_client_rset(smtp_client *client);

/**
 * smtplib's `noop()`: NOOP; the reply is the last reply whatever its code. Errors:
 * connection errors.
 */
SMTPCLIENT_WARN_UNUSED smtp_result smtp_client_noop(smtp_client *client);

/**
 * smtplib's `mail(sender, options)`: MAIL FROM with `n_options` ESMTP options (sent only to
 * an ESMTP server). The reply is the last reply whatever its code: check
 * `smtp_client_last_reply_code()`. Starts a new transaction (the recipient list is reset).
 * The sender `""` is the null reverse-path, sent as `MAIL FROM:<>`. Errors: `INVALID_ARGUMENT`
 * (CR/LF/NUL, `<` or `>` anywhere in the address, a non-ASCII address without the SMTPUTF8
 * option, a malformed option, the line over 512 octets plus the allowances of the advertised
 * extensions it uses), `NOT_SUPPORTED` (the SMTPUTF8 option without SMTPUTF8 advertised,
 * also after HELO), connection errors.
 * When the TLS policy is not `SMTP_TLS_POLICY_NONE` and TLS is not up yet, this call first
 * greets and runs STARTTLS (or fails with `TLS_REQUIRED` having sent nothing but QUIT), so it
 * may also return `TLS_REQUIRED`, `TLS_ERROR`, `TLS_CERTIFICATE` and `TLS_RECORD`.
 */
SMTPCLIENT_WARN_UNUSED
smtp_result smtp_client_mail(smtp_client *client,
                             const char *sender,
                             const char *const *options,
                             size_t n_options);

/**
 * smtplib's `rcpt(recipient, options)`: RCPT TO. The reply is the last reply whatever its
 * code, and is kept per recipient (`smtp_client_recipient_get()`). Errors: `INVALID_ARGUMENT`
 * (an empty recipient, CR/LF/NUL, `<` or `>` anywhere in the address, a non-ASCII address
 * when the transaction's MAIL did not ask for SMTPUTF8, a malformed option, the line too
 * long), connection errors.
 * When the TLS policy is not `SMTP_TLS_POLICY_NONE` and TLS is not up yet, this call first
 * greets and runs STARTTLS (or fails with `TLS_REQUIRED` having sent nothing but QUIT), so it
 * may also return `TLS_REQUIRED`, `TLS_ERROR`, `TLS_CERTIFICATE` and `TLS_RECORD`.
 */
SMTPCLIENT_WARN_UNUSED
smtp_result smtp_client_rcpt(smtp_client *client,
                             const char *recipient,
                             const char *const *options,
                             size_t n_options);

/**
 * smtplib's `data(msg)`: DATA, then the `len` bytes at `msg` with every line ending
 * normalised to CRLF and lines starting with `.` dot-stuffed, then the end mark. The final
 * reply is the last reply whatever its code; for LMTP one reply is read after the data for
 * each recipient whose RCPT got any 2xx reply (RFC 2033 §4.2), and kept per recipient (`smtp_client_recipient_get()`). Errors: `DATA_ERROR` (DATA
 * not answered with 354; nothing of the message sent), `DELIVERY_UNKNOWN` (connection lost
 * after the end mark, before the reply), connection errors.
 * When the TLS policy is not `SMTP_TLS_POLICY_NONE` and TLS is not up yet, this call first
 * greets and runs STARTTLS (or fails with `TLS_REQUIRED` having sent nothing but QUIT), so it
 * may also return `TLS_REQUIRED`, `TLS_ERROR`, `TLS_CERTIFICATE` and `TLS_RECORD`.
 */
SMTPCLIENT_WARN_UNUSED
smtp_result smtp_client_data(smtp_client *client,
                             const uint8_t *msg,
                             size_t len);

/**
 * smtplib's `sendmail(from, to_addrs, msg, mail_options, rcpt_options)`, the ESMTP options in
 * `options` (`smtp_send_options`; NULL for none).
 *
 * EHLO/HELO if needed; `SIZE=` when offered (refused with `MESSAGE_TOO_LARGE` before MAIL
 * if over the server's limit); MAIL; RCPT for each of the `n_to` recipients; DATA with the
 * message normalised and dot-stuffed. Returns `SMTP_RESULT_OK` if at least one recipient
 * was accepted; the refused ones are listed by `smtp_client_refused_get()`. Errors:
 * `SENDER_REFUSED` (sender kept, `smtp_client_last_error_sender()`), `RECIPIENTS_REFUSED`
 * (all refused: the message says how many, and the last error's reply, code and enhanced
 * status are the most permanent refusal: the first 5xx, else the first 4xx; the per-recipient
 * list stays the whole truth), `DATA_ERROR` (for LMTP also when every recipient was refused
 * after the data, with the same choice of reply): after each the transaction is reset with RSET, unless the
 * server said 421 (then the session is closed). `INVALID_ARGUMENT` (an empty recipient, `<`
 * or `>` in an address, a line too long), `NULL_ARGUMENT`, `NOT_SUPPORTED`: nothing was sent.
 * The DSN settings of `options` (`smtp_send_options_set_dsn_notify()` and the others) are
 * checked against the recipients first (`INVALID_ARGUMENT`) and give `NOT_SUPPORTED` before
 * MAIL when the server lacks DSN under the default policy; `smtp_send_options_set_requiretls()`
 * gives `TLS_REQUIRED` before MAIL without verified TLS or REQUIRETLS advertised.
 * When the TLS policy is not `SMTP_TLS_POLICY_NONE` and TLS is not up yet, this call first
 * greets and runs STARTTLS (or fails with `TLS_REQUIRED` having sent nothing but QUIT), so it
 * may also return `TLS_REQUIRED`, `TLS_ERROR`, `TLS_CERTIFICATE` and `TLS_RECORD`. `DELIVERY_UNKNOWN` and connection errors close the session.
 */
SMTPCLIENT_WARN_UNUSED
smtp_result smtp_client_sendmail(smtp_client *client,
                                 const char *from,
                                 const char *const *to,
                                 size_t n_to,
                                 const uint8_t *msg,
                                 size_t len,
                                 const smtp_send_options *options);

/**
 * `smtp_client_sendmail()` (same results, same choice of reply when all recipients are refused) with
 * the message pulled from `read` in chunks, so a message of any size
 * goes out in bounded memory (line ends normalised and dot-stuffed, or sent as BDAT chunks).
 * The size estimate of `options` (`smtp_send_options_set_size_estimate()`), when set, is sent
 * as SIZE and checked against the server's limit. An abort before the transaction starts sends
 * nothing; an abort later closes the session so no partial message can be delivered
 * (`CALLBACK_ABORTED`). Other errors as `smtp_client_sendmail()`.
 */
SMTPCLIENT_WARN_UNUSED
smtp_result smtp_client_sendmail_stream(smtp_client *client,
                                        const char *from,
                                        const char *const *to,
                                        size_t n_to,
                                        smtp_read_callback read,
                                        void *userdata,
                                        const smtp_send_options *options);

/**
 * Use PIPELINING when the server offers it (`SMTP_EXTENSION_USE_WHEN_OFFERED`, the default):
 * MAIL, every RCPT and DATA (or the first BDAT chunk) in one write, with the same results as
 * without; or never (`SMTP_EXTENSION_USE_NEVER`). Errors: `INVALID_ARGUMENT` (unknown value).
 */
SMTPCLIENT_WARN_UNUSED
smtp_result smtp_client_set_pipelining(smtp_client *client,
                                       int32_t pipelining);

/**
 * Use CHUNKING / BDAT when the server offers it (`SMTP_EXTENSION_USE_WHEN_OFFERED`, the
 * default), or never. BODY=BINARYMIME among the mail options needs it and sends the message
 * bytes unchanged. Errors: `INVALID_ARGUMENT` (unknown value).
 */
SMTPCLIENT_WARN_UNUSED smtp_result smtp_client_set_chunking(smtp_client *client, int32_t chunking);

/**
 * smtplib's `send_message(msg, from_addr, to_addrs, mail_options, rcpt_options)` for a raw
 * RFC 5322 message, the ESMTP options in `options` (NULL for none). NULL `from` takes the sender from the headers (Sender, else From); NULL
 * `to` takes the recipients from To, Bcc and Cc; each half is read from the headers only when
 * it is not given, as smtplib does. A single `Resent-*` block takes precedence; more than one
 * is always `INVALID_ARGUMENT`, even with both halves given. Bcc and Resent-Bcc fields, and a
 * leading mbox `From ` line, are removed from what is sent. Non-ASCII addresses add SMTPUTF8 and BODY=8BITMIME (`NOT_SUPPORTED` if the server
 * lacks SMTPUTF8). Then as `smtp_client_sendmail()`.
 *
 * The header addresses give the envelope smtplib gives (with `email.policy.default`): display
 * names, comments, groups, encoded words, folded fields, source routes are read past; names
 * without a domain are addresses (`To: John, Dinsdale` sends `RCPT TO:<John>` and
 * `RCPT TO:<Dinsdale>`); a quoted local part is sent quoted only when it needs quotes. Where
 * it differs, on purpose: an empty address (empty field, group without members, `<>`) gives
 * no RCPT, where smtplib sends `RCPT TO:<>`; an explicit `<>` in From is the null sender, an
 * empty From is `INVALID_ARGUMENT`; and `INVALID_ARGUMENT`, with the field named, for what
 * cannot be sent safely, which smtplib sends: a field that parses more than one way
 * (unbalanced `(` `"` `<` `[`, two addresses without a comma, a multi-word name or a quoted
 * name without `@`, two `@`: smtplib guesses, CVE-2023-27043), `<` or `>` inside an address,
 * control characters, a leading `-`, invisible or full-width characters, over-long addresses.
 */
SMTPCLIENT_WARN_UNUSED
smtp_result smtp_client_send_message(smtp_client *client,
                                     const uint8_t *msg,
                                     size_t len,
                                     const char *from,
                                     const char *const *to,
                                     size_t n_to,
                                     const smtp_send_options *options);

/**
 * smtplib's `has_extn(name)`: whether the server advertised the extension (any case).
 */
bool smtp_client_has_extn(const smtp_client *client, const char *name);

/**
 * The parameters advertised with extension `name` (any case), "" for a keyword without
 * parameters, NULL when not advertised (smtplib's `esmtp_features[name]`). Borrowed.
 */
const char *smtp_client_feature(const smtp_client *client, const char *name);

/**
 * Number of extensions the server advertised.
 */
size_t smtp_client_feature_count(const smtp_client *client);

/**
 * The `index`th advertised extension: its lower-case keyword and its parameters (borrowed).
 * Errors: `INVALID_ARGUMENT` when `index` is out of range (outputs untouched).
 */
SMTPCLIENT_WARN_UNUSED
smtp_result smtp_client_feature_get(const smtp_client *client,
                                    size_t index,
                                    const char **name_out,
                                    const char **params_out);

/**
 * smtplib's `does_esmtp`: whether the server accepted EHLO / LHLO.
 */
bool smtp_client_does_esmtp(const smtp_client *client);

/**
 * smtplib's `helo_resp`: the text of the reply to the last HELO, NULL if none. Borrowed.
 */
const char *smtp_client_helo_resp(const smtp_client *client);

/**
 * smtplib's `ehlo_resp`: the text of the reply to the last EHLO / LHLO, NULL if none. Borrowed.
 */
const char *smtp_client_ehlo_resp(const smtp_client *client);

/**
 * The code of the last reply received (e.g. 250), 0 if none yet.
 */
int32_t smtp_client_last_reply_code(const smtp_client *client);

/**
 * The text of the last reply received, lines joined with `\n` (as smtplib returns it); ""
 * if none. Borrowed.
 */
const char *smtp_client_last_reply_text(const smtp_client *client);

/**
 * The result code of the last mutating call on this session (`SMTP_RESULT_OK` after a
 * success; every mutating call resets it at entry).
 */
int32_t smtp_client_last_result(const smtp_client *client);

/**
 * A human-readable description of the last error ("" after a success). Borrowed.
 */
const char *smtp_client_last_error_message(const smtp_client *client);

/**
 * The code of the server reply that caused the last error (e.g. 550 for a refused sender),
 * 0 when the error did not come from a reply.
 */
int32_t smtp_client_last_error_reply_code(const smtp_client *client);

/**
 * The text of the server reply that caused the last error, "" when none. Borrowed.
 */
const char *smtp_client_last_error_reply_text(const smtp_client *client);

/**
 * The RFC 3463 enhanced status code (`class.subject.detail`) of the reply that caused the last
 * error, when the server sent one. Returns false (outputs untouched) when there is none.
 */
bool smtp_client_last_error_enhanced_status(const smtp_client *client,
                                            int32_t *class_out,
                                            int32_t *subject_out,
                                            int32_t *detail_out);

/**
 * The refused sender of a `SENDER_REFUSED` error, NULL otherwise. Borrowed.
 */
const char *smtp_client_last_error_sender(const smtp_client *client);

/**
 * The operating system's error number (`errno`, e.g. `ECONNREFUSED`, `ENOENT`) behind the last
 * error, when the system refused something: connecting, reading, writing, or a file named in
 * a setting. 0 when the last error had none (a name that does not resolve has none: its
 * message says why), or after a success.
 */
int32_t smtp_client_last_os_error(const smtp_client *client);

/**
 * The value a callback returned when it aborted the last call (`CALLBACK_ABORTED`), else 0.
 */
int32_t smtp_client_last_callback_value(const smtp_client *client);

/**
 * Number of refused recipients of the current or last transaction (smtplib's `sendmail`
 * result dict: for SMTP, every RCPT not answered 250 or 251). For LMTP, a recipient with a
 * reply after the data is refused when that reply refused it, and only then. Reset by
 * `smtp_client_mail()` and each send.
 */
size_t smtp_client_refused_count(const smtp_client *client);

/**
 * The `index`th refused recipient: address, the refusing reply's code and text (borrowed
 * until the next mutating call). NULL outputs are skipped. Errors: `INVALID_ARGUMENT` when
 * `index` is out of range (outputs untouched).
 */
SMTPCLIENT_WARN_UNUSED
smtp_result smtp_client_refused_get(const smtp_client *client,
                                    size_t index,
                                    const char **address_out,
                                    int32_t *code_out,
                                    const char **text_out);

/**
 * Number of recipients of the current or last transaction, accepted or not, in RCPT order.
 */
size_t smtp_client_recipient_count(const smtp_client *client);

/**
 * The `index`th recipient: address, its RCPT reply code, its own reply code after the data
 * (LMTP; 0 when there is none) and the text of the deciding reply (the after-data reply
 * when there is one, else the RCPT reply). Borrowed; NULL outputs skipped. Errors:
 * `INVALID_ARGUMENT` when `index` is out of range.
 */
SMTPCLIENT_WARN_UNUSED
smtp_result smtp_client_recipient_get(const smtp_client *client,
                                      size_t index,
                                      const char **address_out,
                                      int32_t *rcpt_code_out,
                                      int32_t *data_code_out,
                                      const char **text_out);

/**
 * The RFC 3463 enhanced status code (`class.subject.detail`, e.g. 5.1.1) of the `index`th
 * recipient's deciding reply (the after-data reply for LMTP when there is one, else its RCPT
 * reply), parsed, so that a caller deciding to retry or bounce need not parse reply text.
 * Returns false (outputs untouched) when that reply carried none or `index` is out of range.
 */
bool smtp_client_recipient_enhanced_status(const smtp_client *client,
                                           size_t index,
                                           int32_t *class_out,
                                           int32_t *subject_out,
                                           int32_t *detail_out);

/**
 * Trust the CA certificates in the PEM file at `path` instead of the system trust store
 * (NULL: back to the system store unless a CA directory is set). The file is read now, so a
 * problem shows here and not at the first handshake; it is read again at each handshake.
 * Errors: `INVALID_ARGUMENT` (missing, unreadable, not PEM or holding no certificate: the
 * message names the file and the reason, `smtp_client_last_os_error()` the errno when the
 * system refused), `INVALID_UTF8`. The setting is unchanged on error.
 */
SMTPCLIENT_WARN_UNUSED
smtp_result smtp_client_set_tls_ca_file(smtp_client *client,
                                        const char *path);

/**
 * Trust the CA certificates in the hashed directory at `path` (`c_rehash` layout) instead
 * of the system trust store (NULL: unset). The directory must be readable now. Errors:
 * `INVALID_ARGUMENT` (missing or not a readable directory; errno in
 * `smtp_client_last_os_error()`), `INVALID_UTF8`. The setting is unchanged on error.
 */
SMTPCLIENT_WARN_UNUSED
smtp_result smtp_client_set_tls_ca_dir(smtp_client *client,
                                       const char *path);

/**
 * Present a client certificate: `chain_file` (PEM, leaf first) and `key_file` (PEM private
 * key). Both NULL removes it; one NULL is `NULL_ARGUMENT`. Both files are read now and the
 * key must match the leaf certificate. Errors: `INVALID_ARGUMENT` (a file missing or
 * unreadable, not PEM, no certificate, or the key not the certificate's: the message names
 * the file; errno in `smtp_client_last_os_error()`), `NULL_ARGUMENT`, `INVALID_UTF8`. The
 * setting is unchanged on error.
 */
SMTPCLIENT_WARN_UNUSED
smtp_result smtp_client_set_tls_client_cert(smtp_client *client,
                                            const char *chain_file,
                                            const char *key_file);

/**
 * Set the lowest TLS version accepted: `SMTP_TLS_VERSION_TLS12` (default) or
 * `SMTP_TLS_VERSION_TLS13`. Errors: `INVALID_ARGUMENT` for another value.
 */
SMTPCLIENT_WARN_UNUSED
smtp_result smtp_client_set_tls_min_version(smtp_client *client,
                                            int32_t version);

/**
 * The name sent as SNI and checked against the certificate's subjectAltName (never its
 * CN). Default (NULL): the host given to `smtp_client_connect()`, never a name the server sends.
 * An IP literal is checked against IP SANs and sends no SNI. Needed for Unix sockets.
 * Errors: `INVALID_ARGUMENT` (CR, LF or NUL in `name`).
 */
SMTPCLIENT_WARN_UNUSED
smtp_result smtp_client_set_tls_server_name(smtp_client *client,
                                            const char *name);

/**
 * Set certificate verification (`smtp_tls_verify`): `SMTP_TLS_VERIFY_PEER` (the default) or
 * `SMTP_TLS_VERIFY_NONE_INSECURE`, for testing only. Errors: `INVALID_ARGUMENT` (unknown value).
 */
SMTPCLIENT_WARN_UNUSED smtp_result smtp_client_set_tls_verify(smtp_client *client, int32_t verify);

/**
 * Set the TLS policy (`smtp_tls_policy`): with `OPPORTUNISTIC` or `REQUIRED`, the first
 * `smtp_client_ehlo_or_helo_if_needed()` (which sendmail, send_message and login call) also does
 * STARTTLS. Under `OPPORTUNISTIC`, a STARTTLS the server refuses (e.g. 454) is remembered for
 * the connection: the session goes on in plain text and does not ask again until it
 * reconnects (RFC 3207 §4). Errors: `INVALID_ARGUMENT` for an unknown value.
 */
SMTPCLIENT_WARN_UNUSED smtp_result smtp_client_set_tls_policy(smtp_client *client, int32_t policy);

/**
 * smtplib's `starttls()`: EHLO if needed, STARTTLS, the handshake with the session's TLS
 * settings (verification on by default), then every capability is forgotten and EHLO is
 * sent again. Errors: `NOT_SUPPORTED` (not offered), `RESPONSE_ERROR` (refused; the reply
 * is the error reply), `TLS_REQUIRED` instead of both under the REQUIRED policy (after
 * QUIT), `PROTOCOL_ERROR` (bytes after the 220 before the handshake: response injection),
 * `TLS_CERTIFICATE`, `TLS_ERROR`, `HELO_ERROR`, `BAD_STATE` (TLS already active), and
 * connection errors. A refusal leaves the plain connection open (as smtplib); every failure
 * after a 220 closes the session.
 */
SMTPCLIENT_WARN_UNUSED smtp_result smtp_client_starttls(smtp_client *client);

/**
 * Whether the current connection is protected by TLS (false once the connection is closed or
 * lost: after a 421, an I/O error, QUIT or `smtp_client_close()`).
 */
bool smtp_client_tls_active(const smtp_client *client);

/**
 * Whether the peer's certificate chain and host name were verified (false without TLS, and
 * with verification turned off).
 */
bool smtp_client_tls_peer_verified(const smtp_client *client);

/**
 * The negotiated protocol version, e.g. "TLSv1.3"; "" without TLS. Borrowed.
 */
const char *smtp_client_tls_version(const smtp_client *client);

/**
 * The negotiated cipher suite, e.g. "TLS_AES_256_GCM_SHA384"; "" without TLS. Borrowed.
 */
const char *smtp_client_tls_cipher(const smtp_client *client);

/**
 * The library version as a static string, e.g. "0.2.0". Thread-safe.
 */
const char *smtp_lib_version(void);

/**
 * The library version as MAJOR*10000 + MINOR*100 + PATCH (equal to the header's
 * `SMTPCLIENT_VERSION_NUMBER` when header and library match). Thread-safe.
 */
uint32_t smtp_lib_version_number(void);

#ifdef __cplusplus
}  // extern "C"
#endif  // __cplusplus

#endif  /* SMTPCLIENT_H */
