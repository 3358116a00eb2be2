// smtpclient.js: a small Node.js binding of libsmtpclient with koffi (npm).
//
// Copy this file into your project (npm install koffi). The library is loaded by its SONAME
// (libsmtpclient.so.0.2, what the runtime package ships), found by the dynamic loader
// (LD_LIBRARY_PATH for a private prefix); SMTPCLIENT_LIBRARY=/path/to/libsmtpclient.so.0.2
// overrides it.
//
// Rules this binding follows, and that code extending it must follow too:
// - A Session owns its C handle: close() frees it (call it, e.g. in `finally`: nothing frees it
//   on garbage collection).
// - Every call is synchronous and runs on the main thread: never use koffi's `.async` on a
//   session (a session must not be used by two threads at once, and callbacks must run on the
//   calling thread during the call).
// - Every string argument goes through cString(), which throws a TypeError naming the argument
//   when the string holds a NUL character (C would read it only up to the NUL), before any C
//   call.
// - Strings the library returns are borrowed from the session: koffi copies `const char *`
//   results and outputs into JS strings at once.
// - The AUTH callback is registered with koffi.register() for the duration of smtp_client_auth() (the
//   library keeps nothing after the call) and unregistered right after. A JS exception inside it
//   would reach C as the return value 0, which means "respond": the callback catches
//   everything, cancels the exchange (-1) and auth() rethrows once the library has returned.
'use strict';

const koffi = require('koffi');

const lib = koffi.load(process.env.SMTPCLIENT_LIBRARY || 'libsmtpclient.so.0.2');

koffi.opaque('smtp_client');
koffi.opaque('smtp_auth_response');
koffi.opaque('smtp_send_options');
const AuthCallback = koffi.proto(
  'int32_t smtp_auth_callback(void *userdata, const uint8_t *challenge, size_t challenge_len, ' +
    'bool is_initial, bool tls_active, smtp_auth_response *response)');

const C = {
  smtp_lib_version: lib.func('const char *smtp_lib_version(void)'),
  smtp_lib_version_number: lib.func('uint32_t smtp_lib_version_number(void)'),
  smtp_result_name: lib.func('const char *smtp_result_name(int32_t code)'),
  smtp_result_is_a: lib.func('bool smtp_result_is_a(int32_t code, int32_t base)'),
  smtp_client_new: lib.func('smtp_client *smtp_client_new(int32_t kind)'),
  smtp_client_free: lib.func('void smtp_client_free(smtp_client *session)'),
  smtp_client_set_timeout_ms: lib.func('int32_t smtp_client_set_timeout_ms(smtp_client *session, uint32_t ms)'),
  smtp_client_set_tls_ca_file: lib.func('int32_t smtp_client_set_tls_ca_file(smtp_client *session, const char *path)'),
  smtp_client_connect: lib.func('int32_t smtp_client_connect(smtp_client *session, const char *host, uint16_t port)'),
  smtp_client_starttls: lib.func('int32_t smtp_client_starttls(smtp_client *session)'),
  smtp_client_login: lib.func('int32_t smtp_client_login(smtp_client *client, const char *user, const char *password, int32_t initial_response)'),
  smtp_client_auth: lib.func('int32_t smtp_client_auth(smtp_client *client, const char *mechanism, smtp_auth_callback *callback, void *userdata, int32_t initial_response)'),
  smtp_auth_response_set: lib.func('int32_t smtp_auth_response_set(smtp_auth_response *response, const uint8_t *data, size_t len)'),
  smtp_client_sendmail: lib.func('int32_t smtp_client_sendmail(smtp_client *session, const char *from, const char **to, size_t n_to, ' +
    'const uint8_t *msg, size_t len, const smtp_send_options *options)'),
  smtp_client_noop: lib.func('int32_t smtp_client_noop(smtp_client *session)'),
  smtp_client_quit: lib.func('int32_t smtp_client_quit(smtp_client *session)'),
  smtp_client_refused_count: lib.func('size_t smtp_client_refused_count(const smtp_client *session)'),
  smtp_client_refused_get: lib.func('int32_t smtp_client_refused_get(const smtp_client *session, size_t index, ' +
    '_Out_ const char **address_out, _Out_ int32_t *code_out, _Out_ const char **text_out)'),
  smtp_client_last_error_message: lib.func('const char *smtp_client_last_error_message(const smtp_client *session)'),
  smtp_client_last_error_reply_code: lib.func('int32_t smtp_client_last_error_reply_code(const smtp_client *session)'),
  smtp_client_last_error_reply_text: lib.func('const char *smtp_client_last_error_reply_text(const smtp_client *session)'),
  smtp_client_last_reply_code: lib.func('int32_t smtp_client_last_reply_code(const smtp_client *session)'),
  smtp_client_last_reply_text: lib.func('const char *smtp_client_last_reply_text(const smtp_client *session)'),
  smtp_client_tls_active: lib.func('bool smtp_client_tls_active(const smtp_client *session)'),
  smtp_client_tls_peer_verified: lib.func('bool smtp_client_tls_peer_verified(const smtp_client *session)'),
  smtp_client_tls_version: lib.func('const char *smtp_client_tls_version(const smtp_client *session)'),
  smtp_client_tls_cipher: lib.func('const char *smtp_client_tls_cipher(const smtp_client *session)'),
};

// Values from smtpclient.h.
const KIND_SMTP = 0;
const RESULT_OK = 0;
const AUTH_STEP_RESPOND = 0;
const AUTH_STEP_NO_INITIAL_RESPONSE = 1;
const AUTH_STEP_ABORT = -1;
// The ABI this binding was written for: libsmtpclient 0.2.x.
const ABI_VERSION_NUMBER = 200;
const INITIAL_RESPONSE_SEND = 0;
const INITIAL_RESPONSE_WAIT = 1;
// Returned by an auth() step function on the initial call: send "AUTH <mechanism>" alone.
const NO_INITIAL_RESPONSE = Symbol('no initial response');

// The one check of a string argument before it reaches C, which would read it only up to its
// first NUL: such a string is refused rather than silently cut short. A TypeError with code
// ERR_INVALID_ARG_VALUE, as Node's own fs functions throw for a path holding a NUL: the value
// has the right type but a form the C API cannot take (RangeError is for values outside a
// range). The message names the argument, never its value (it may be a password). Anything but
// a string is left to koffi's own type check.
function cString(argument, value) {
  const offset = typeof value === 'string' ? value.indexOf('\0') : -1;
  if (offset >= 0) {
    const err = new TypeError(
      `The argument '${argument}' contains a NUL character at index ${offset} (the C API would truncate it there)`);
    err.code = 'ERR_INVALID_ARG_VALUE';
    throw err;
  }
  return value;
}

// A failed call: result code, its name, the library's message and the server's reply.
class SmtpError extends Error {
  constructor(code, name, message, replyCode, replyText) {
    super(replyCode ? `${name}: ${message} (server said ${replyCode} ${replyText})` : `${name}: ${message}`);
    this.name = 'SmtpError';
    this.code = code;
    this.resultName = name;
    this.replyCode = replyCode;
    this.replyText = replyText;
  }

  // smtplib's exception hierarchy, e.g. isA(103) for SMTP_RESULT_RESPONSE_ERROR.
  isA(base) {
    return C.smtp_result_is_a(this.code, base);
  }
}

class Session {
  constructor(kind = KIND_SMTP) {
    this.handle = C.smtp_client_new(kind);
    if (!this.handle) throw new RangeError(`smtp_client_new: unknown session kind ${kind}`);
  }

  // Free the session now (closing the connection without QUIT). Idempotent.
  close() {
    if (this.handle) {
      C.smtp_client_free(this.handle);
      this.handle = null;
    }
  }

  #h() {
    if (!this.handle) throw new Error('session is closed');
    return this.handle;
  }

  #check(rc) {
    if (rc === RESULT_OK) return;
    const h = this.#h();
    throw new SmtpError(rc, C.smtp_result_name(rc), C.smtp_client_last_error_message(h),
      C.smtp_client_last_error_reply_code(h), C.smtp_client_last_error_reply_text(h));
  }

  setTimeoutMs(ms) { this.#check(C.smtp_client_set_timeout_ms(this.#h(), ms)); }
  setTlsCaFile(path) { this.#check(C.smtp_client_set_tls_ca_file(this.#h(), cString('path', path))); }
  connect(host, port) { this.#check(C.smtp_client_connect(this.#h(), cString('host', host), port)); }
  starttls() { this.#check(C.smtp_client_starttls(this.#h())); }
  login(user, password, initialResponseOk = true) {
    this.#check(C.smtp_client_login(this.#h(), cString('user', user), cString('password', password),
      initialResponseOk ? INITIAL_RESPONSE_SEND : INITIAL_RESPONSE_WAIT));
  }

  // smtplib's auth(mechanism, authobject): step(challenge: Buffer|null, isInitial, tlsActive)
  // returns the response (Buffer or string), or NO_INITIAL_RESPONSE on the initial call.
  auth(mechanism, step, initialResponseOk = true) {
    const cMechanism = cString('mechanism', mechanism);
    let thrown = null;
    const cb = koffi.register((_userdata, challenge, len, isInitial, tlsActive, response) => {
      try {
        // Copy the challenge: it is borrowed for this call only.
        const data = challenge === null ? null
          : (len > 0 ? Buffer.from(koffi.decode(challenge, 'uint8_t', len)) : Buffer.alloc(0));
        const answer = step(data, isInitial, tlsActive);
        if (answer === NO_INITIAL_RESPONSE && isInitial) return AUTH_STEP_NO_INITIAL_RESPONSE;
        const bytes = Buffer.isBuffer(answer) ? answer : Buffer.from(String(answer), 'utf8');
        const rc = C.smtp_auth_response_set(response, bytes, bytes.length);
        bytes.fill(0); // wipe our copy: the library has its own
        return rc === RESULT_OK ? AUTH_STEP_RESPOND : AUTH_STEP_ABORT;
      } catch (e) {
        thrown = e;
        return AUTH_STEP_ABORT;
      }
    }, koffi.pointer(AuthCallback));
    let rc;
    try {
      rc = C.smtp_client_auth(this.#h(), cMechanism, cb, null,
        initialResponseOk ? INITIAL_RESPONSE_SEND : INITIAL_RESPONSE_WAIT);
    } finally {
      koffi.unregister(cb); // the library keeps nothing once smtp_client_auth has returned
    }
    if (thrown) throw thrown;
    this.#check(rc);
  }

  // smtplib's sendmail(): returns when at least one recipient accepted the message (see
  // refused()); throws SmtpError when all were refused or the send failed.
  sendmail(from, to, message) {
    const cFrom = cString('from', from);
    const cTo = to.map((addr, i) => cString(`to[${i}]`, addr));
    const body = Buffer.isBuffer(message) ? message : Buffer.from(message, 'utf8');
    this.#check(C.smtp_client_sendmail(this.#h(), cFrom, cTo, cTo.length, body, body.length, null));
  }

  refused() {
    const h = this.#h();
    const out = [];
    const n = Number(C.smtp_client_refused_count(h));
    for (let i = 0; i < n; i++) {
      const address = [null];
      const code = [0];
      const text = [null];
      if (C.smtp_client_refused_get(h, i, address, code, text) === RESULT_OK) {
        out.push({ address: address[0], code: code[0], text: text[0] });
      }
    }
    return out;
  }

  noop() { this.#check(C.smtp_client_noop(this.#h())); }
  quit() { this.#check(C.smtp_client_quit(this.#h())); }

  get tlsActive() { return C.smtp_client_tls_active(this.#h()); }
  get tlsPeerVerified() { return C.smtp_client_tls_peer_verified(this.#h()); }
  get tlsVersion() { return C.smtp_client_tls_version(this.#h()); }
  get tlsCipher() { return C.smtp_client_tls_cipher(this.#h()); }
  get lastReplyCode() { return C.smtp_client_last_reply_code(this.#h()); }
  get lastReplyText() { return C.smtp_client_last_reply_text(this.#h()); }
}

module.exports = {
  Session,
  SmtpError,
  NO_INITIAL_RESPONSE,
  ABI_VERSION_NUMBER,
  libraryVersion: () => C.smtp_lib_version(),
  libraryVersionNumber: () => C.smtp_lib_version_number(),
  koffiVersion: koffi.version,
};
