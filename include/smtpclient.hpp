// smtpclient.hpp: the C++17 wrapper of libsmtpclient's C API (header only, installed beside
// smtpclient.h by `make install`).
//
// CMake:      find_package(smtpclient 0.2 CONFIG REQUIRED)
//             target_link_libraries(app PRIVATE smtpclient::cxx)
// pkg-config: g++ -std=c++17 app.cpp $(pkg-config --cflags --libs smtpclient)
//
// It adds no behaviour of its own, only C++ idioms:
// - smtpclient::Session owns one smtp_client and SendOptions one smtp_send_options: freed on
//   scope exit; not copyable, movable (a moved-from object holds no handle).
// - Every failing call throws an smtpclient::Error, or the subclass of it named after the
//   result's place in the library's hierarchy (SenderRefused is a ResponseError is an Error;
//   catch the most specific one you handle). It carries the result code, the library's
//   message, the server's reply code, text and enhanced status, and the errno (copied: the
//   library's strings are borrowed and would not survive the next call).
// - Borrowed strings are copied into std::string before the wrapper returns them.
// - A std::string argument holding a NUL byte throws std::invalid_argument naming the argument,
//   before anything reaches the library: C would read it only up to that NUL, silently
//   sending other data than the caller gave. (Every string goes through detail::c_string().)
// - Callbacks (AUTH, debug) are std::functions. A C++ exception thrown inside one never crosses
//   the C library (which must not be unwound through): it is caught there and rethrown by the
//   Session call during which it happened, once the library has returned.
// - A Session is used by one thread at a time (the library refuses a concurrent call with
//   ConcurrentCall); it may move between threads between calls.
// - Non-blocking use (the C API's smtp_client_start_*, for event loops): start_*() returns
//   Status::in_progress while the operation runs; wait until fd() is ready for events(), or
//   timeout() has passed, then call step(), until it returns Status::done (or throws the
//   operation's failure, exactly as the blocking call would). Many sessions can be driven from
//   one thread this way. See "Non-blocking use" in smtpclient.h.

#ifndef SMTPCLIENT_HPP
#define SMTPCLIENT_HPP

#include <smtpclient.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <istream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace smtpclient {

// An RFC 3463 enhanced status code (class.subject.detail, e.g. 5.1.1).
struct EnhancedStatus {
    int32_t klass = 0; // "class" is a keyword
    int32_t subject = 0;
    int32_t detail = 0;

    std::string str() const
    {
        return std::to_string(klass) + "." + std::to_string(subject) + "." + std::to_string(detail);
    }
    friend bool operator==(const EnhancedStatus &a, const EnhancedStatus &b)
    {
        return a.klass == b.klass && a.subject == b.subject && a.detail == b.detail;
    }
};

// What the session kept about a failure, copied out of it.
struct ErrorDetail {
    std::string message;                   // the library's description of this failure
    int32_t reply_code = 0;                // the server reply behind it, 0 when none
    std::string reply_text;                // its text, "" when none
    std::optional<EnhancedStatus> enhanced_status;
    int32_t os_error = 0;                  // errno behind it, 0 when none
    std::string sender;                    // the refused sender of a SenderRefused
    int32_t callback_value = 0;            // what a callback returned when it aborted the call
};

// A failed call: what smtplib would raise as an exception.
class Error : public std::runtime_error {
public:
    Error(int32_t code, ErrorDetail detail)
        : std::runtime_error(describe(code, detail)), code_(code), detail_(std::move(detail))
    {
    }

    int32_t code() const noexcept { return code_; }                       // SMTP_RESULT_*
    std::string name() const { return smtp_result_name(code_); }          // "SMTP_RESULT_..."
    const std::string &message() const noexcept { return detail_.message; }
    int32_t reply_code() const noexcept { return detail_.reply_code; }    // 0 when no reply
    const std::string &reply_text() const noexcept { return detail_.reply_text; }
    const std::optional<EnhancedStatus> &enhanced_status() const noexcept { return detail_.enhanced_status; }
    int32_t os_error() const noexcept { return detail_.os_error; }
    const std::string &sender() const noexcept { return detail_.sender; }
    int32_t callback_value() const noexcept { return detail_.callback_value; }
    // The library's hierarchy, for codes without a class of their own: e.is_a(SMTP_RESULT_IO_ERROR).
    bool is_a(int32_t base) const noexcept { return smtp_result_is_a(code_, base); }

private:
    static std::string describe(int32_t code, const ErrorDetail &d)
    {
        std::string s = std::string(smtp_result_name(code)) + ": " + d.message;
        // The library's message usually quotes the reply already.
        if (d.reply_code != 0 && d.message.find(d.reply_text) == std::string::npos) {
            s += " (server said " + std::to_string(d.reply_code) + " " + d.reply_text + ")";
        }
        return s;
    }

    int32_t code_;
    ErrorDetail detail_;
};

// The exception classes, one per class of smtplib's hierarchy (and the library's own kinds).
// Each derives from the class of the code smtp_result_is_a() names as its base.
#define SMTPCLIENT_ERROR_CLASS(Name, Base)                                                          \
    class Name : public Base {                                                                     \
    public:                                                                                        \
        using Base::Base;                                                                          \
    };
SMTPCLIENT_ERROR_CLASS(ServerDisconnected, Error)        // SERVER_DISCONNECTED: session closed
SMTPCLIENT_ERROR_CLASS(DeliveryUnknown, ServerDisconnected) // lost after the data, before the reply
SMTPCLIENT_ERROR_CLASS(NotSupported, Error)              // NOT_SUPPORTED
SMTPCLIENT_ERROR_CLASS(TlsRequired, NotSupported)        // TLS_REQUIRED
SMTPCLIENT_ERROR_CLASS(ResponseError, Error)             // RESPONSE_ERROR: an unexpected reply
SMTPCLIENT_ERROR_CLASS(SenderRefused, ResponseError)     // SENDER_REFUSED
SMTPCLIENT_ERROR_CLASS(DataError, ResponseError)         // DATA_ERROR
SMTPCLIENT_ERROR_CLASS(ConnectError, ResponseError)      // CONNECT_ERROR: greeting not 220
SMTPCLIENT_ERROR_CLASS(HeloError, ResponseError)         // HELO_ERROR
SMTPCLIENT_ERROR_CLASS(AuthenticationError, ResponseError) // AUTHENTICATION_ERROR
SMTPCLIENT_ERROR_CLASS(RecipientsRefused, Error)         // RECIPIENTS_REFUSED: every recipient
SMTPCLIENT_ERROR_CLASS(IoError, Error)                   // IO_ERROR and its kinds (os_error())
SMTPCLIENT_ERROR_CLASS(Timeout, IoError)                 // TIMEOUT
SMTPCLIENT_ERROR_CLASS(TlsError, Error)                  // TLS_ERROR: the handshake failed
SMTPCLIENT_ERROR_CLASS(TlsCertificate, TlsError)         // TLS_CERTIFICATE: verification failed
SMTPCLIENT_ERROR_CLASS(UsageError, Error)                // INVALID_ARGUMENT and its kinds: nothing sent
#undef SMTPCLIENT_ERROR_CLASS

namespace detail {

// The one conversion of a std::string argument to the C API's NUL-terminated string. A
// std::string may contain NUL, which C would take for the end of the string: refuse it. The
// message names the argument, never its value (it may be a password).
inline const char *c_string(const std::string &value, std::string_view argument)
{
    if (auto at = value.find('\0'); at != std::string::npos) {
        throw std::invalid_argument("smtpclient: " + std::string(argument) +
                                    " contains a NUL byte at offset " + std::to_string(at) +
                                    " (the C API would truncate it there)");
    }
    return value.c_str();
}

// The most specific class for `code`, found by asking the library (smtp_result_is_a), so the
// C++ classes cannot drift from its hierarchy for codes they know.
[[noreturn]] inline void throw_error(int32_t code, ErrorDetail detail)
{
    auto is = [code](int32_t base) { return smtp_result_is_a(code, base); };
    if (is(SMTP_RESULT_SENDER_REFUSED)) throw SenderRefused(code, std::move(detail));
    if (is(SMTP_RESULT_DATA_ERROR)) throw DataError(code, std::move(detail));
    if (is(SMTP_RESULT_CONNECT_ERROR)) throw ConnectError(code, std::move(detail));
    if (is(SMTP_RESULT_HELO_ERROR)) throw HeloError(code, std::move(detail));
    if (is(SMTP_RESULT_AUTHENTICATION_ERROR)) throw AuthenticationError(code, std::move(detail));
    if (is(SMTP_RESULT_RESPONSE_ERROR)) throw ResponseError(code, std::move(detail));
    if (is(SMTP_RESULT_RECIPIENTS_REFUSED)) throw RecipientsRefused(code, std::move(detail));
    if (is(SMTP_RESULT_DELIVERY_UNKNOWN)) throw DeliveryUnknown(code, std::move(detail));
    if (is(SMTP_RESULT_SERVER_DISCONNECTED)) throw ServerDisconnected(code, std::move(detail));
    if (is(SMTP_RESULT_TLS_REQUIRED)) throw TlsRequired(code, std::move(detail));
    if (is(SMTP_RESULT_NOT_SUPPORTED)) throw NotSupported(code, std::move(detail));
    if (is(SMTP_RESULT_TIMEOUT)) throw Timeout(code, std::move(detail));
    if (is(SMTP_RESULT_IO_ERROR)) throw IoError(code, std::move(detail));
    if (is(SMTP_RESULT_TLS_CERTIFICATE)) throw TlsCertificate(code, std::move(detail));
    if (is(SMTP_RESULT_TLS_ERROR)) throw TlsError(code, std::move(detail));
    if (is(SMTP_RESULT_INVALID_ARGUMENT)) throw UsageError(code, std::move(detail));
    throw Error(code, std::move(detail));
}

// An error of a call that has no session to keep its detail (the options object).
inline void check_without_session(int32_t rc)
{
    if (rc != SMTP_RESULT_OK) {
        ErrorDetail d;
        d.message = smtp_result_str(rc);
        throw_error(rc, std::move(d));
    }
}

inline std::string copy(const char *borrowed) { return borrowed != nullptr ? borrowed : ""; }

} // namespace detail

enum class Kind : int32_t {
    smtp = SMTP_CLIENT_KIND_SMTP,   // SMTP / ESMTP, STARTTLS on request
    smtps = SMTP_CLIENT_KIND_SMTPS, // SMTP over implicit TLS
    lmtp = SMTP_CLIENT_KIND_LMTP,   // LMTP: one reply per recipient after the data
};

enum class TlsPolicy : int32_t {
    none = SMTP_TLS_POLICY_NONE,                   // TLS only when starttls() is called
    opportunistic = SMTP_TLS_POLICY_OPPORTUNISTIC, // STARTTLS when offered (strippable)
    required = SMTP_TLS_POLICY_REQUIRED,           // STARTTLS before mail or credentials, or TlsRequired
};

enum class DsnRet : int32_t {
    unset = SMTP_DSN_RET_UNSET, // no RET=: the server chooses
    full = SMTP_DSN_RET_FULL,   // RET=FULL: the whole message
    hdrs = SMTP_DSN_RET_HDRS,   // RET=HDRS: the headers only
};

// Flags for SendOptions::set_dsn_notify(), combined with |: never alone, or any of the others.
namespace DsnNotify {
constexpr uint32_t success = SMTP_DSN_NOTIFY_SUCCESS;
constexpr uint32_t failure = SMTP_DSN_NOTIFY_FAILURE;
constexpr uint32_t delay = SMTP_DSN_NOTIFY_DELAY;
constexpr uint32_t never = SMTP_DSN_NOTIFY_NEVER;
} // namespace DsnNotify

enum class DsnPolicy : int32_t {
    require = SMTP_DSN_POLICY_REQUIRE,   // no DSN advertised: NotSupported before MAIL
    optional = SMTP_DSN_POLICY_OPTIONAL, // no DSN advertised: send without the DSN parameters
};

enum class TlsVersion : int32_t { tls12 = SMTP_TLS_VERSION_TLS12, tls13 = SMTP_TLS_VERSION_TLS13 };

// A phase of the conversation with its own timeout (Session::set_phase_timeout_ms).
enum class Phase : int32_t {
    connect = SMTP_PHASE_CONNECT,             // opening the connection, name resolution included
    tls_handshake = SMTP_PHASE_TLS_HANDSHAKE, // a TLS handshake, implicit or after STARTTLS
    greeting = SMTP_PHASE_GREETING,           // the 220 greeting
    ehlo = SMTP_PHASE_EHLO,                   // EHLO, LHLO or HELO
    mail = SMTP_PHASE_MAIL,                   // MAIL
    rcpt = SMTP_PHASE_RCPT,                   // RCPT
    data = SMTP_PHASE_DATA,                   // DATA and its 354
    data_block = SMTP_PHASE_DATA_BLOCK,       // each write of the message, each non-LAST BDAT reply
    data_end = SMTP_PHASE_DATA_END,           // the reply (LMTP: replies) to the end of the message
    other = SMTP_PHASE_OTHER,                 // every other command
};

enum class DebugKind : int32_t {
    connect = SMTP_DEBUG_KIND_CONNECT,   // a connection attempt: the endpoint
    sent = SMTP_DEBUG_KIND_SENT,         // bytes written (large bodies summarised)
    received = SMTP_DEBUG_KIND_RECEIVED, // one reply line, control bytes escaped
    info = SMTP_DEBUG_KIND_INFO,         // a remark from the library
};

// What an AUTH callback returns (the C API's smtp_auth_step).
enum class AuthStep : int32_t {
    Respond = SMTP_AUTH_STEP_RESPOND,                       // send the response written
    NoInitialResponse = SMTP_AUTH_STEP_NO_INITIAL_RESPONSE, // first call only: "AUTH <mech>" alone
    Abort = SMTP_AUTH_STEP_ABORT,                           // cancel the exchange
};

// One step of an AUTH exchange: `challenge` is the decoded server challenge (empty when
// `is_initial`); write the answer into `response`. Must not use the Session.
using AuthFunction = std::function<AuthStep(const std::string &challenge, bool is_initial,
                                            bool tls_active, std::string &response)>;

// Fills `buf` (room for `capacity` bytes) with the next part of a streamed message and returns
// how many bytes it wrote, 0 at the end. Throw to abort the send (the exception is rethrown by
// sendmail_stream()). Must not use the Session.
using ReadFunction = std::function<std::size_t(char *buf, std::size_t capacity)>;

// The reader of start_sendmail_stream(): like ReadFunction, or std::nullopt when no data is
// ready yet (the operation then waits with events().body() until the next step()). Runs inside
// step(), on its thread. Must not use the Session.
using PendingReadFunction = std::function<std::optional<std::size_t>(char *buf, std::size_t capacity)>;

// What a non-blocking call says: the operation has finished (successfully: a failure is
// thrown), or it waits (SMTP_RESULT_IN_PROGRESS, which is not an error).
enum class Status : int32_t {
    done = SMTP_RESULT_OK,
    in_progress = SMTP_RESULT_IN_PROGRESS,
};

// What an operation in progress waits for (smtp_client_events()).
struct Events {
    uint32_t mask = 0; // SMTP_EVENT_* bits; 0: nothing in progress
    bool read() const noexcept { return (mask & SMTP_EVENT_READ) != 0; }   // fd() readable (POLLIN)
    bool write() const noexcept { return (mask & SMTP_EVENT_WRITE) != 0; } // fd() writable (POLLOUT)
    bool body() const noexcept { return (mask & SMTP_EVENT_BODY) != 0; }   // the reader had no data
};

// A server reply: its code and text (lines joined with '\n', as smtplib).
struct Reply {
    int32_t code = 0;
    std::string text;
};

// The bearer-token mechanisms of login_oauth().
enum class OAuthMechanism : int32_t {
    xoauth2 = SMTP_OAUTH_MECHANISM_XOAUTH2,         // Google's and Microsoft's
    oauthbearer = SMTP_OAUTH_MECHANISM_OAUTHBEARER, // RFC 7628
};

// Receives debug events during the Session's calls; `data` is borrowed for the call. Must not
// use the Session.
using DebugFunction = std::function<void(DebugKind kind, std::string_view data)>;

// A recipient the server refused (smtplib's refused-recipients dict, one entry).
struct Refused {
    std::string address;
    int32_t code;
    std::string text;
};

// The outcome of one recipient of the last transaction.
struct Recipient {
    std::string address;
    int32_t rcpt_code = 0; // the reply to RCPT TO
    int32_t data_code = 0; // LMTP: its own reply after the data; 0 when none
    std::string text;      // the deciding reply's text (after the data when there is one)
    std::optional<EnhancedStatus> enhanced_status;

    // Whether the server took the message for this recipient: the after-data reply when there
    // is one (LMTP), else the RCPT reply (250 or 251, as smtplib).
    bool accepted() const noexcept
    {
        return data_code != 0 ? data_code / 100 == 2 : (rcpt_code == 250 || rcpt_code == 251);
    }
};

// The TLS of the current connection.
struct TlsState {
    bool active = false;
    bool peer_verified = false;
    std::string version; // e.g. "TLSv1.3"; "" without TLS
    std::string cipher;
};

// ESMTP options of a send (smtplib's mail_options and rcpt_options). One object may serve
// many sends, on any session.
class SendOptions {
public:
    SendOptions() : p_(smtp_send_options_new())
    {
        if (!p_) {
            throw std::bad_alloc();
        }
    }
    SendOptions &add_mail_option(const std::string &option) // e.g. "BODY=8BITMIME"
    {
        detail::check_without_session(smtp_send_options_add_mail_option(p_.get(), detail::c_string(option, "option")));
        return *this;
    }
    SendOptions &add_rcpt_option(const std::string &option) // e.g. "NOTIFY=FAILURE"
    {
        detail::check_without_session(smtp_send_options_add_rcpt_option(p_.get(), detail::c_string(option, "option")));
        return *this;
    }
    // For streamed sends: the message size in octets, sent as SIZE; -1 when unknown.
    SendOptions &set_size_estimate(int64_t size)
    {
        detail::check_without_session(smtp_send_options_set_size_estimate(p_.get(), size));
        return *this;
    }
    // DSN (RFC 3461): RET (DsnRet::unset for none), ENVID ("" for none), and per recipient
    // NOTIFY (DsnNotify flags combined with |, 0 to unset) and ORCPT ("" for none); sent only
    // when the server advertises DSN, else as set_dsn_policy() says.
    SendOptions &set_dsn_ret(DsnRet ret)
    {
        detail::check_without_session(smtp_send_options_set_dsn_ret(p_.get(), static_cast<int32_t>(ret)));
        return *this;
    }
    SendOptions &set_dsn_envid(const std::string &envid)
    {
        const char *c = envid.empty() ? nullptr : detail::c_string(envid, "envid");
        detail::check_without_session(smtp_send_options_set_dsn_envid(p_.get(), c));
        return *this;
    }
    SendOptions &set_dsn_notify(const std::string &recipient, uint32_t flags)
    {
        detail::check_without_session(
            smtp_send_options_set_dsn_notify(p_.get(), detail::c_string(recipient, "recipient"), flags));
        return *this;
    }
    SendOptions &set_dsn_orcpt(const std::string &recipient, const std::string &original)
    {
        const char *c = original.empty() ? nullptr : detail::c_string(original, "original");
        detail::check_without_session(
            smtp_send_options_set_dsn_orcpt(p_.get(), detail::c_string(recipient, "recipient"), c));
        return *this;
    }
    SendOptions &set_dsn_policy(DsnPolicy policy)
    {
        detail::check_without_session(smtp_send_options_set_dsn_policy(p_.get(), static_cast<int32_t>(policy)));
        return *this;
    }
    // REQUIRETLS (RFC 8689): only over verified TLS to a server advertising it, else TlsRequired.
    SendOptions &set_requiretls(bool requiretls)
    {
        detail::check_without_session(smtp_send_options_set_requiretls(p_.get(), requiretls));
        return *this;
    }
    const smtp_send_options *get() const noexcept { return p_.get(); }

private:
    struct Free {
        void operator()(smtp_send_options *p) const noexcept { smtp_send_options_free(p); }
    };
    std::unique_ptr<smtp_send_options, Free> p_;
};

class Session {
public:
    explicit Session(Kind kind = Kind::smtp) : s_(smtp_client_new(static_cast<int32_t>(kind)))
    {
        if (s_ == nullptr) {
            throw std::invalid_argument("smtp_client_new: unknown session kind " +
                                        std::to_string(static_cast<int32_t>(kind)));
        }
    }
    ~Session() { smtp_client_free(s_); } // closes without QUIT, releases the debug callback

    Session(const Session &) = delete;
    Session &operator=(const Session &) = delete;
    Session(Session &&other) noexcept
        : s_(std::exchange(other.s_, nullptr)), debug_(std::exchange(other.debug_, nullptr)),
          pending_read_(std::move(other.pending_read_))
    {
    }
    Session &operator=(Session &&other) noexcept
    {
        if (this != &other) {
            smtp_client_free(s_);
            s_ = std::exchange(other.s_, nullptr);
            debug_ = std::exchange(other.debug_, nullptr);
            pending_read_ = std::move(other.pending_read_);
        }
        return *this;
    }

    // A session configured from a connection string (see set_url()), of the kind its scheme
    // needs: smtp:// and smtp+starttls:// SMTP, smtps:// SMTPS, lmtp:// and lmtp+unix:// LMTP.
    // Nothing is sent yet: make the other settings (a CA file, say), then connect() and, when
    // the URL carries credentials, login(). UsageError for a malformed URL.
    //   auto s = smtpclient::Session::from_url("smtp+starttls://alice:secret@mail.example.org");
    static Session from_url(const std::string &url)
    {
        Session s(kind_of_url(url));
        s.set_url(url);
        return s;
    }

    // The C handle, for functions this wrapper does not cover. Still owned by the Session.
    smtp_client *get() const noexcept { return s_; }

    // ---------------------------------------------------------------- settings
    void set_timeout_ms(uint32_t ms) { check(smtp_client_set_timeout_ms(s_, ms)); }
    // One phase's own timeout (0: none); RFC 5321's per-phase values; a total per call (0: none).
    void set_phase_timeout_ms(Phase phase, uint32_t ms)
    {
        check(smtp_client_set_phase_timeout_ms(s_, static_cast<int32_t>(phase), ms));
    }
    void set_rfc5321_timeouts() { check(smtp_client_set_rfc5321_timeouts(s_)); }
    void set_operation_timeout_ms(uint32_t ms) { check(smtp_client_set_operation_timeout_ms(s_, ms)); }
    void set_local_hostname(const std::string &name)
    {
        check(smtp_client_set_local_hostname(s_, detail::c_string(name, "name")));
    }
    // Debug level (0 off, 1 commands and replies, 2 with timestamps) and where events go (an
    // empty function: stderr). The library releases the function when it is replaced or the
    // session freed.
    void set_debug(int32_t level, DebugFunction fn)
    {
        if (fn) {
            auto ctx = std::make_unique<DebugContext>(DebugContext{std::move(fn), nullptr});
            check(smtp_client_set_debug_callback(s_, &Session::debug_trampoline, ctx.get(),
                                                 &Session::debug_free));
            debug_ = ctx.release(); // owned by the library from here on
        } else {
            check(smtp_client_set_debug_callback(s_, nullptr, nullptr, nullptr));
            debug_ = nullptr;
        }
        check(smtp_client_set_debuglevel(s_, level));
    }

    // ---------------------------------------------------------------- TLS settings
    // An empty path or name restores the default (system trust store, the connect host).
    void set_tls_ca_file(const std::string &path)
    {
        check(smtp_client_set_tls_ca_file(s_, path.empty() ? nullptr : detail::c_string(path, "path")));
    }
    void set_tls_ca_dir(const std::string &path)
    {
        check(smtp_client_set_tls_ca_dir(s_, path.empty() ? nullptr : detail::c_string(path, "path")));
    }
    void set_tls_client_cert(const std::string &chain_file, const std::string &key_file)
    {
        if (chain_file.empty() && key_file.empty()) {
            check(smtp_client_set_tls_client_cert(s_, nullptr, nullptr));
        } else {
            check(smtp_client_set_tls_client_cert(s_, detail::c_string(chain_file, "chain_file"),
                                                  detail::c_string(key_file, "key_file")));
        }
    }
    void set_tls_min_version(TlsVersion v) { check(smtp_client_set_tls_min_version(s_, static_cast<int32_t>(v))); }
    void set_tls_server_name(const std::string &name)
    {
        check(smtp_client_set_tls_server_name(s_, name.empty() ? nullptr : detail::c_string(name, "name")));
    }
    // INSECURE when true: anyone on the path can read and change the session. Testing only.
    void set_tls_insecure_skip_verify(bool skip)
    {
        check(smtp_client_set_tls_verify(s_, skip ? SMTP_TLS_VERIFY_NONE_INSECURE : SMTP_TLS_VERIFY_PEER));
    }
    void set_tls_policy(TlsPolicy policy) { check(smtp_client_set_tls_policy(s_, static_cast<int32_t>(policy))); }

    // ---------------------------------------------------------------- other settings
    // Use PIPELINING / CHUNKING (BDAT) when the server offers them (true, the default) or never.
    void set_pipelining(bool use)
    {
        check(smtp_client_set_pipelining(s_, use ? SMTP_EXTENSION_USE_WHEN_OFFERED : SMTP_EXTENSION_USE_NEVER));
    }
    void set_chunking(bool use)
    {
        check(smtp_client_set_chunking(s_, use ? SMTP_EXTENSION_USE_WHEN_OFFERED : SMTP_EXTENSION_USE_NEVER));
    }
    // INSECURE when true: credentials may go to any server without TLS. Refused by default.
    void set_cleartext_credentials(bool allow)
    {
        check(smtp_client_set_cleartext_credentials(
            s_, allow ? SMTP_CLEARTEXT_CREDENTIALS_ALLOW : SMTP_CLEARTEXT_CREDENTIALS_REFUSE));
    }
    // Whether a loopback or Unix-socket server is trusted with credentials without TLS (the
    // default) or needs TLS like any other.
    void set_local_peer_trusted(bool trusted)
    {
        check(smtp_client_set_local_peer(s_, trusted ? SMTP_LOCAL_PEER_TRUSTED : SMTP_LOCAL_PEER_UNTRUSTED));
    }
    // The mechanisms login() may use, in the order to try them ({"CRAM-MD5", "PLAIN", "LOGIN"}
    // is smtplib's); empty: the default, strongest first. UsageError for an unknown name.
    void set_login_mechanisms(const std::vector<std::string> &mechanisms)
    {
        std::string list;
        for (size_t i = 0; i < mechanisms.size(); i++) {
            const std::string &m = mechanisms[i];
            if (m.empty() || m.find_first_of(" ,") != std::string::npos) {
                throw std::invalid_argument("smtpclient: mechanisms[" + std::to_string(i) +
                                            "] is not one mechanism name");
            }
            list += (i ? " " : "") + m;
        }
        check(smtp_client_set_login_mechanisms(s_, mechanisms.empty() ? nullptr : detail::c_string(list, "mechanisms")));
    }
    // Bind the local end before connecting (smtplib's source_address); an empty host removes it.
    void set_source_address(const std::string &host, uint16_t port = 0)
    {
        check(smtp_client_set_source_address(s_, host.empty() ? nullptr : detail::c_string(host, "host"), port));
    }

    // A connection string: smtp://[user:password@]host[:port][?tls=none|opportunistic|required],
    // smtp+starttls:// (STARTTLS required, port 587), smtps:// (port 465), lmtp://host[:port]
    // or lmtp+unix:///path; user and password percent-encoded. It sets the TLS policy now, the
    // endpoint connect() (no arguments) uses and the credentials login() (no arguments) sends;
    // a later URL replaces all three. The scheme must match the session's kind. UsageError for
    // a malformed URL (the message names the part that is wrong, never the password); BAD_STATE
    // once connected.
    void set_url(const std::string &url) { check(smtp_client_set_url(s_, detail::c_string(url, "url"))); }

    // ---------------------------------------------------------------- the dialogue
    // connect() to the endpoint of the URL given to set_url() (UsageError without one).
    void connect() { check(smtp_client_connect(s_, nullptr, 0)); }
    // port 0: the host's ":port" suffix or the kind's default. A host starting with "/" is a
    // Unix socket (LMTP).
    void connect(const std::string &host, uint16_t port)
    {
        check(smtp_client_connect(s_, detail::c_string(host, "host"), port));
    }
    void starttls() { check(smtp_client_starttls(s_)); }
    void login(const std::string &user, const std::string &password, bool initial_response_ok = true)
    {
        check(smtp_client_login(s_, detail::c_string(user, "user"), detail::c_string(password, "password"),
                                initial_response_ok ? SMTP_INITIAL_RESPONSE_SEND : SMTP_INITIAL_RESPONSE_WAIT));
    }

    // login() with the user and password of the URL given to set_url() (UsageError when it
    // carried none).
    void login() { check(smtp_client_login(s_, nullptr, nullptr, SMTP_INITIAL_RESPONSE_SEND)); }

    // An OAuth 2.0 bearer token; the mechanism must be advertised (else Error with
    // SMTP_RESULT_SMTP_ERROR). The same credential policy as login() applies.
    void login_oauth(OAuthMechanism mechanism, const std::string &user, const std::string &token)
    {
        check(smtp_client_login_oauth(s_, static_cast<int32_t>(mechanism), detail::c_string(user, "user"),
                                      detail::c_string(token, "token")));
    }

    // smtplib's auth(mechanism, authobject): `fn` computes each step.
    void auth(const std::string &mechanism, AuthFunction fn, bool initial_response_ok = true)
    {
        AuthContext ctx{std::move(fn), nullptr};
        int32_t rc = smtp_client_auth(s_, detail::c_string(mechanism, "mechanism"), &Session::auth_trampoline,
                                      &ctx,
                                      initial_response_ok ? SMTP_INITIAL_RESPONSE_SEND : SMTP_INITIAL_RESPONSE_WAIT);
        if (ctx.exception) {
            std::rethrow_exception(ctx.exception);
        }
        check(rc);
    }

    // smtplib's sendmail(): returns every recipient's outcome when at least one accepted the
    // message. Throws when all were refused (RecipientsRefused: recipients() still lists them)
    // or the send failed.
    std::vector<Recipient> sendmail(const std::string &from, const std::vector<std::string> &to,
                                    std::string_view message, const SendOptions *options = nullptr)
    {
        const char *c_from = detail::c_string(from, "from");
        std::vector<const char *> rcpts = c_strings(to, "to");
        check(smtp_client_sendmail(s_, c_from, rcpts.data(), rcpts.size(),
                                   reinterpret_cast<const uint8_t *>(message.data()), message.size(),
                                   options != nullptr ? options->get() : nullptr));
        return recipients();
    }

    // smtplib's send_message() for a raw RFC 5322 message: no `from` takes the sender from the
    // headers (Sender, else From), no `to` the recipients from To, Cc and Bcc; Bcc is not sent.
    std::vector<Recipient> send_message(std::string_view message,
                                        const std::optional<std::string> &from = std::nullopt,
                                        const std::optional<std::vector<std::string>> &to = std::nullopt,
                                        const SendOptions *options = nullptr)
    {
        const char *c_from = from ? detail::c_string(*from, "from") : nullptr;
        std::vector<const char *> rcpts = to ? c_strings(*to, "to") : std::vector<const char *>{};
        check(smtp_client_send_message(s_, reinterpret_cast<const uint8_t *>(message.data()), message.size(),
                                       c_from, to ? rcpts.data() : nullptr, rcpts.size(),
                                       options != nullptr ? options->get() : nullptr));
        return recipients();
    }

    // sendmail() with the message pulled from `read` in chunks (bounded memory whatever its
    // size). options->set_size_estimate() announces SIZE before anything is sent. An exception
    // thrown by `read` aborts the send and is rethrown here: before the transaction nothing is
    // sent, later the session is closed so that no partial message can be delivered.
    std::vector<Recipient> sendmail_stream(const std::string &from, const std::vector<std::string> &to,
                                           ReadFunction read, const SendOptions *options = nullptr)
    {
        if (!read) {
            throw std::invalid_argument("smtpclient: read is empty");
        }
        const char *c_from = detail::c_string(from, "from");
        std::vector<const char *> rcpts = c_strings(to, "to");
        ReadContext ctx{std::move(read), nullptr};
        int32_t rc = smtp_client_sendmail_stream(s_, c_from, rcpts.data(), rcpts.size(), &Session::read_trampoline,
                                                 &ctx, options != nullptr ? options->get() : nullptr);
        if (ctx.exception) {
            std::rethrow_exception(ctx.exception);
        }
        check(rc);
        return recipients();
    }
    // The same from a std::istream, read to its end (a read error, badbit, aborts the send).
    std::vector<Recipient> sendmail_stream(const std::string &from, const std::vector<std::string> &to,
                                           std::istream &in, const SendOptions *options = nullptr)
    {
        return sendmail_stream(from, to, [&in](char *buf, std::size_t capacity) -> std::size_t {
            in.read(buf, static_cast<std::streamsize>(capacity));
            if (in.bad()) {
                throw std::runtime_error("smtpclient: reading the message stream failed");
            }
            return static_cast<std::size_t>(in.gcount());
        }, options);
    }

    // ---------------------------------------------------------------- smtplib's low-level commands
    // Each returns the server's reply whatever its code (the caller decides what a 5xx means);
    // they throw for failures of the call itself (connection lost, a bad argument, the TLS
    // policy). An empty name or args means none.
    Reply docmd(const std::string &cmd, const std::string &args = {})
    {
        return command(smtp_client_docmd(s_, detail::c_string(cmd, "cmd"), c_optional(args, "args")));
    }
    Reply helo(const std::string &name = {}) { return command(smtp_client_helo(s_, c_optional(name, "name"))); }
    Reply ehlo(const std::string &name = {}) { return command(smtp_client_ehlo(s_, c_optional(name, "name"))); }
    void ehlo_or_helo_if_needed() { check(smtp_client_ehlo_or_helo_if_needed(s_)); }
    // MAIL FROM ("" is the null reverse-path); starts a new transaction.
    Reply mail(const std::string &sender, const std::vector<std::string> &options = {})
    {
        std::vector<const char *> opts = c_strings(options, "options");
        return command(smtp_client_mail(s_, detail::c_string(sender, "sender"), opts.data(), opts.size()));
    }
    Reply rcpt(const std::string &recipient, const std::vector<std::string> &options = {})
    {
        std::vector<const char *> opts = c_strings(options, "options");
        return command(smtp_client_rcpt(s_, detail::c_string(recipient, "recipient"), opts.data(), opts.size()));
    }
    // DATA, the message (line ends normalised, dot-stuffed) and the end mark: the final reply
    // (for LMTP each recipient's own reply is in recipients()). DataError when DATA is refused.
    Reply data(std::string_view message)
    {
        return command(smtp_client_data(s_, reinterpret_cast<const uint8_t *>(message.data()), message.size()));
    }
    Reply rset() { return command(smtp_client_rset(s_)); }
    Reply verify(const std::string &address) { return command(smtp_client_verify(s_, detail::c_string(address, "address"))); }
    Reply expn(const std::string &address) { return command(smtp_client_expn(s_, detail::c_string(address, "address"))); }
    Reply help(const std::string &args = {}) { return command(smtp_client_help(s_, c_optional(args, "args"))); }

    void noop() { check(smtp_client_noop(s_)); }
    void quit() { check(smtp_client_quit(s_)); }
    // Without QUIT; cancels a non-blocking operation in progress.
    void close()
    {
        check(smtp_client_close(s_));
        pending_read_.reset(); // the cancelled stream's reader is no longer called
    }

    // ---------------------------------------------------------------- non-blocking use
    // Each start_*() checks and copies its arguments and takes the first step at once:
    // Status::done when the operation finished already, Status::in_progress while it waits
    // (then drive it with step()); it throws the operation's failure, or Error with
    // SMTP_RESULT_BAD_STATE when another operation is in progress. While one is, every other
    // call that changes the session throws BAD_STATE, except close(), which cancels it.
    // Getters show the session as it was when the operation started.
    Status start_connect(const std::string &host, uint16_t port)
    {
        return started(smtp_client_start_connect(s_, detail::c_string(host, "host"), port));
    }
    // The endpoint of the URL given to set_url().
    Status start_connect() { return started(smtp_client_start_connect(s_, nullptr, 0)); }
    Status start_ehlo_or_helo_if_needed() { return started(smtp_client_start_ehlo_or_helo_if_needed(s_)); }
    Status start_starttls() { return started(smtp_client_start_starttls(s_)); }
    Status start_login(const std::string &user, const std::string &password, bool initial_response_ok = true)
    {
        return started(smtp_client_start_login(s_, detail::c_string(user, "user"), detail::c_string(password, "password"),
                                               initial_response_ok ? SMTP_INITIAL_RESPONSE_SEND : SMTP_INITIAL_RESPONSE_WAIT));
    }
    // The credentials of the URL given to set_url().
    Status start_login() { return started(smtp_client_start_login(s_, nullptr, nullptr, SMTP_INITIAL_RESPONSE_SEND)); }
    // The message is copied; recipients() gives every recipient's outcome once it is done.
    Status start_sendmail(const std::string &from, const std::vector<std::string> &to, std::string_view message,
                          const SendOptions *options = nullptr)
    {
        const char *c_from = detail::c_string(from, "from");
        std::vector<const char *> rcpts = c_strings(to, "to");
        return started(smtp_client_start_sendmail(s_, c_from, rcpts.data(), rcpts.size(),
                                                  reinterpret_cast<const uint8_t *>(message.data()), message.size(),
                                                  options != nullptr ? options->get() : nullptr));
    }
    Status start_send_message(std::string_view message, const std::optional<std::string> &from = std::nullopt,
                              const std::optional<std::vector<std::string>> &to = std::nullopt,
                              const SendOptions *options = nullptr)
    {
        const char *c_from = from ? detail::c_string(*from, "from") : nullptr;
        std::vector<const char *> rcpts = to ? c_strings(*to, "to") : std::vector<const char *>{};
        return started(smtp_client_start_send_message(s_, reinterpret_cast<const uint8_t *>(message.data()),
                                                      message.size(), c_from, to ? rcpts.data() : nullptr,
                                                      rcpts.size(), options != nullptr ? options->get() : nullptr));
    }
    // The message pulled from `read` during step() calls; the Session keeps `read` until the
    // operation ends. An exception thrown by `read` aborts the send and is rethrown by step().
    Status start_sendmail_stream(const std::string &from, const std::vector<std::string> &to,
                                 PendingReadFunction read, const SendOptions *options = nullptr)
    {
        if (!read) {
            throw std::invalid_argument("smtpclient: read is empty");
        }
        const char *c_from = detail::c_string(from, "from");
        std::vector<const char *> rcpts = c_strings(to, "to");
        auto ctx = std::make_unique<PendingReadContext>(PendingReadContext{std::move(read), nullptr});
        int32_t rc = smtp_client_start_sendmail_stream(s_, c_from, rcpts.data(), rcpts.size(),
                                                       &Session::pending_read_trampoline, ctx.get(),
                                                       options != nullptr ? options->get() : nullptr);
        if (rc == SMTP_RESULT_IN_PROGRESS) {
            pending_read_ = std::move(ctx); // no operation was in progress: nothing replaced
            return Status::in_progress;
        }
        if (ctx->exception) {
            std::rethrow_exception(ctx->exception);
        }
        check(rc);
        return Status::done;
    }
    Status start_quit() { return started(smtp_client_start_quit(s_)); }

    // Drive the operation in progress as far as it goes without blocking: when fd() is ready
    // for events(), when timeout() has passed, or (events().body()) when the reader may have
    // data; early is harmless. Status::in_progress while it runs; then Status::done once, or
    // the operation's failure thrown (the reader's or the debug function's exception, else the
    // library's Error). Error with SMTP_RESULT_BAD_STATE when nothing is in progress.
    Status step()
    {
        int32_t rc = smtp_client_step(s_);
        if (rc == SMTP_RESULT_IN_PROGRESS) {
            return Status::in_progress;
        }
        std::unique_ptr<PendingReadContext> read = std::move(pending_read_); // the operation ended
        if (read && read->exception) {
            std::rethrow_exception(read->exception);
        }
        check(rc);
        return Status::done;
    }
    // The descriptor the operation waits on, -1 when none (nothing in progress, or it waits for
    // the reader only). It can change between steps: register it again after each step().
    int fd() const noexcept { return smtp_client_fd(s_); }
    Events events() const noexcept { return Events{smtp_client_events(s_)}; }
    // Time left until the operation times out (zero: step() now, which throws Timeout);
    // nullopt when it has no deadline.
    std::optional<std::chrono::milliseconds> timeout() const noexcept
    {
        int64_t ms = smtp_client_timeout_ms(s_);
        return ms < 0 ? std::nullopt : std::optional<std::chrono::milliseconds>(std::chrono::milliseconds(ms));
    }
    bool in_progress() const noexcept { return smtp_client_in_progress(s_); }

    // ---------------------------------------------------------------- results and state
    // Every recipient of the current or last transaction, in RCPT order.
    std::vector<Recipient> recipients() const
    {
        std::vector<Recipient> out;
        size_t n = smtp_client_recipient_count(s_);
        for (size_t i = 0; i < n; i++) {
            const char *address = nullptr, *text = nullptr;
            Recipient r;
            if (smtp_client_recipient_get(s_, i, &address, &r.rcpt_code, &r.data_code, &text) != SMTP_RESULT_OK) {
                continue;
            }
            r.address = detail::copy(address);
            r.text = detail::copy(text);
            EnhancedStatus es;
            if (smtp_client_recipient_enhanced_status(s_, i, &es.klass, &es.subject, &es.detail)) {
                r.enhanced_status = es;
            }
            out.push_back(std::move(r));
        }
        return out;
    }

    std::vector<Refused> refused() const
    {
        std::vector<Refused> out;
        size_t n = smtp_client_refused_count(s_);
        for (size_t i = 0; i < n; i++) {
            const char *address = nullptr, *text = nullptr;
            int32_t code = 0;
            if (smtp_client_refused_get(s_, i, &address, &code, &text) == SMTP_RESULT_OK) {
                out.push_back(Refused{detail::copy(address), code, detail::copy(text)});
            }
        }
        return out;
    }

    TlsState tls() const
    {
        return TlsState{smtp_client_tls_active(s_), smtp_client_tls_peer_verified(s_),
                        detail::copy(smtp_client_tls_version(s_)), detail::copy(smtp_client_tls_cipher(s_))};
    }
    bool tls_active() const noexcept { return smtp_client_tls_active(s_); }
    bool tls_peer_verified() const noexcept { return smtp_client_tls_peer_verified(s_); }
    std::string tls_version() const { return detail::copy(smtp_client_tls_version(s_)); }
    std::string tls_cipher() const { return detail::copy(smtp_client_tls_cipher(s_)); }
    bool is_connected() const noexcept { return smtp_client_is_connected(s_); }
    bool is_authenticated() const noexcept { return smtp_client_is_authenticated(s_); }
    bool has_extension(const std::string &name) const
    {
        return smtp_client_has_extn(s_, detail::c_string(name, "name"));
    }
    // smtplib's does_esmtp, esmtp_features[name] (nullopt when not advertised), every
    // advertised extension (lower-case keyword, parameters), helo_resp and ehlo_resp.
    bool does_esmtp() const noexcept { return smtp_client_does_esmtp(s_); }
    std::optional<std::string> feature(const std::string &name) const
    {
        return optional_copy(smtp_client_feature(s_, detail::c_string(name, "name")));
    }
    std::vector<std::pair<std::string, std::string>> features() const
    {
        std::vector<std::pair<std::string, std::string>> out;
        size_t n = smtp_client_feature_count(s_);
        for (size_t i = 0; i < n; i++) {
            const char *name = nullptr, *params = nullptr;
            if (smtp_client_feature_get(s_, i, &name, &params) == SMTP_RESULT_OK) {
                out.emplace_back(detail::copy(name), detail::copy(params));
            }
        }
        return out;
    }
    std::optional<std::string> helo_resp() const { return optional_copy(smtp_client_helo_resp(s_)); }
    std::optional<std::string> ehlo_resp() const { return optional_copy(smtp_client_ehlo_resp(s_)); }
    int32_t last_reply_code() const noexcept { return smtp_client_last_reply_code(s_); }
    std::string last_reply_text() const { return detail::copy(smtp_client_last_reply_text(s_)); }

private:
    struct AuthContext {
        AuthFunction fn;
        std::exception_ptr exception;
    };
    struct DebugContext {
        DebugFunction fn;
        std::exception_ptr exception; // thrown by fn during the current call
    };

    struct ReadContext {
        ReadFunction fn;
        std::exception_ptr exception;
    };
    struct PendingReadContext {
        PendingReadFunction fn;
        std::exception_ptr exception;
    };

    // The result of a start_*() call (not the stream's, which keeps its reader).
    Status started(int32_t rc)
    {
        if (rc == SMTP_RESULT_IN_PROGRESS) {
            return Status::in_progress;
        }
        check(rc);
        return Status::done;
    }

    // The kind a URL's scheme needs (case-insensitive); an unknown scheme gives SMTP, whose
    // set_url() then refuses it with the library's message.
    static Kind kind_of_url(const std::string &url)
    {
        std::string scheme = url.substr(0, url.find("://"));
        for (char &c : scheme) {
            c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
        }
        if (scheme == "smtps") return Kind::smtps;
        if (scheme == "lmtp" || scheme == "lmtp+unix") return Kind::lmtp;
        return Kind::smtp;
    }

    static const char *c_optional(const std::string &value, std::string_view argument)
    {
        return value.empty() ? nullptr : detail::c_string(value, argument);
    }
    static std::optional<std::string> optional_copy(const char *borrowed)
    {
        return borrowed != nullptr ? std::optional<std::string>(borrowed) : std::nullopt;
    }
    Reply command(int32_t rc)
    {
        check(rc);
        return Reply{smtp_client_last_reply_code(s_), detail::copy(smtp_client_last_reply_text(s_))};
    }

    static std::vector<const char *> c_strings(const std::vector<std::string> &values, const std::string &name)
    {
        std::vector<const char *> out;
        out.reserve(values.size());
        for (size_t i = 0; i < values.size(); i++) {
            out.push_back(detail::c_string(values[i], name + "[" + std::to_string(i) + "]"));
        }
        return out;
    }

    // Runs on the calling thread, inside smtp_client_auth(). Must not let an exception escape.
    static int32_t auth_trampoline(void *userdata, const uint8_t *challenge, size_t challenge_len,
                                   bool is_initial, bool tls_active,
                                   smtp_auth_response *response) noexcept
    {
        auto *ctx = static_cast<AuthContext *>(userdata);
        try {
            std::string ch(reinterpret_cast<const char *>(challenge), challenge ? challenge_len : 0);
            std::string answer;
            AuthStep step = ctx->fn(ch, is_initial, tls_active, answer);
            if (step == AuthStep::Respond &&
                smtp_auth_response_set(response, reinterpret_cast<const uint8_t *>(answer.data()),
                                       answer.size()) != SMTP_RESULT_OK) {
                return static_cast<int32_t>(AuthStep::Abort);
            }
            return static_cast<int32_t>(step);
        } catch (...) {
            ctx->exception = std::current_exception();
            return static_cast<int32_t>(AuthStep::Abort);
        }
    }

    // Runs on the calling thread during a session call. The first exception is kept and
    // rethrown by check() once that call has returned; later events of the call are dropped.
    static void debug_trampoline(void *userdata, int32_t kind, const uint8_t *data, size_t len) noexcept
    {
        auto *ctx = static_cast<DebugContext *>(userdata);
        if (ctx->exception) {
            return;
        }
        try {
            ctx->fn(static_cast<DebugKind>(kind), std::string_view(reinterpret_cast<const char *>(data), len));
        } catch (...) {
            ctx->exception = std::current_exception();
        }
    }
    // Runs on the calling thread, inside smtp_client_sendmail_stream(): a count, 0 at the end,
    // -1 to abort (an exception, kept and rethrown once the call returned).
    static int64_t read_trampoline(void *userdata, uint8_t *buf, size_t capacity) noexcept
    {
        auto *ctx = static_cast<ReadContext *>(userdata);
        try {
            std::size_t n = ctx->fn(reinterpret_cast<char *>(buf), capacity);
            if (n > capacity) {
                throw std::length_error("smtpclient: the read function returned more than the buffer's capacity");
            }
            return static_cast<int64_t>(n);
        } catch (...) {
            ctx->exception = std::current_exception();
            return -1;
        }
    }
    // Runs inside smtp_client_step() for a stream started with start_sendmail_stream(): a
    // count, 0 at the end, SMTP_READ_PENDING when the reader has no data yet, -1 to abort (an
    // exception, kept and rethrown by step()).
    static int64_t pending_read_trampoline(void *userdata, uint8_t *buf, size_t capacity) noexcept
    {
        auto *ctx = static_cast<PendingReadContext *>(userdata);
        try {
            std::optional<std::size_t> n = ctx->fn(reinterpret_cast<char *>(buf), capacity);
            if (!n) {
                return SMTP_READ_PENDING;
            }
            if (*n > capacity) {
                throw std::length_error("smtpclient: the read function returned more than the buffer's capacity");
            }
            return static_cast<int64_t>(*n);
        } catch (...) {
            ctx->exception = std::current_exception();
            return -1;
        }
    }
    static void debug_free(void *userdata) noexcept { delete static_cast<DebugContext *>(userdata); }

    void check(int32_t rc) const
    {
        if (debug_ != nullptr && debug_->exception) {
            std::rethrow_exception(std::exchange(debug_->exception, nullptr));
        }
        if (rc == SMTP_RESULT_OK) {
            return;
        }
        // The session's strings are borrowed: copied into the exception right away.
        ErrorDetail d;
        d.message = detail::copy(smtp_client_last_error_message(s_));
        d.reply_code = smtp_client_last_error_reply_code(s_);
        d.reply_text = detail::copy(smtp_client_last_error_reply_text(s_));
        EnhancedStatus es;
        if (smtp_client_last_error_enhanced_status(s_, &es.klass, &es.subject, &es.detail)) {
            d.enhanced_status = es;
        }
        d.os_error = smtp_client_last_os_error(s_);
        d.sender = detail::copy(smtp_client_last_error_sender(s_));
        d.callback_value = smtp_client_last_callback_value(s_);
        detail::throw_error(rc, std::move(d));
    }

    smtp_client *s_;
    DebugContext *debug_ = nullptr; // owned by the library (debug_free); kept to rethrow
    // The reader of the start_sendmail_stream() in progress; destroyed after the handle (a
    // member outlives the destructor's body), so the library never calls a freed reader.
    std::unique_ptr<PendingReadContext> pending_read_;
};

// The library this program runs with (may differ from the header it was compiled with).
inline std::string library_version() { return smtp_lib_version(); }
// MAJOR * 10000 + MINOR * 100 + PATCH of that library; SMTPCLIENT_VERSION_NUMBER is the header's.
inline uint32_t library_version_number() noexcept { return smtp_lib_version_number(); }

} // namespace smtpclient

#endif // SMTPCLIENT_HPP
