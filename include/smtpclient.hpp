// smtpclient.hpp: a thin C++17 RAII wrapper around libsmtpclient's C API (header only).
//
// Copy this file into your project. It adds no behaviour of its own, only C++ idioms:
// - smtpclient::Session owns one smtp_client: freed when the Session goes out of scope;
//   not copyable, movable (a moved-from Session holds no handle).
// - Every failing call throws smtpclient::Error, which carries the result code, its name, the
//   library's message and the server's reply code and text (copied: the library's strings are
//   borrowed and would not survive the next call).
// - Borrowed strings are copied into std::string before the wrapper returns them.
// - A std::string argument holding a NUL byte throws std::invalid_argument naming the argument,
//   before anything reaches the library: C would read it only up to that NUL, silently
//   sending other data than the caller gave. (Every string goes through c_string().)
// - The AUTH callback is a std::function; a C++ exception thrown inside it never crosses the
//   C library (which must not be unwound through): it is caught, the exchange is cancelled and
//   the exception is rethrown from Session::auth() once the library has returned.
//
// Build: g++ -std=c++17 app.cpp $(pkg-config --cflags --libs smtpclient)

#ifndef SMTPCLIENT_HPP
#define SMTPCLIENT_HPP

#include <smtpclient.h>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace smtpclient {

// A failed call: what smtplib would raise as an exception.
class Error : public std::runtime_error {
public:
    Error(int32_t code, std::string name, const std::string &message, int32_t reply_code,
          std::string reply_text)
        : std::runtime_error(name + ": " + message +
                             (reply_code != 0 ? " (server said " + std::to_string(reply_code) + " " +
                                                    reply_text + ")"
                                              : std::string())),
          code_(code), name_(std::move(name)), reply_code_(reply_code),
          reply_text_(std::move(reply_text))
    {
    }

    int32_t code() const noexcept { return code_; }                    // SMTP_RESULT_*
    const std::string &name() const noexcept { return name_; }         // "SMTP_RESULT_..."
    int32_t reply_code() const noexcept { return reply_code_; }        // 0 when no reply
    const std::string &reply_text() const noexcept { return reply_text_; }
    // smtplib's exception hierarchy: e.is_a(SMTP_RESULT_RESPONSE_ERROR) etc.
    bool is_a(int32_t base) const noexcept { return smtp_result_is_a(code_, base); }

private:
    int32_t code_;
    std::string name_;
    int32_t reply_code_;
    std::string reply_text_;
};

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

} // namespace detail

// A recipient the server refused (smtplib's refused-recipients dict, one entry).
struct Refused {
    std::string address;
    int32_t code;
    std::string text;
};

// What an AUTH callback returns (the C API's smtp_auth_step).
enum class AuthStep : int32_t {
    Respond = SMTP_AUTH_STEP_RESPOND,                       // send the response written
    NoInitialResponse = SMTP_AUTH_STEP_NO_INITIAL_RESPONSE, // first call only: "AUTH <mech>" alone
    Abort = SMTP_AUTH_STEP_ABORT,                           // cancel the exchange
};

// One step of an AUTH exchange: `challenge` is the decoded server challenge (empty when
// `is_initial`); write the answer into `response`.
using AuthFunction = std::function<AuthStep(const std::string &challenge, bool is_initial,
                                            bool tls_active, std::string &response)>;

class Session {
public:
    explicit Session(int32_t kind = SMTP_CLIENT_KIND_SMTP) : s_(smtp_client_new(kind))
    {
        if (s_ == nullptr) {
            throw std::invalid_argument("smtp_client_new: unknown session kind " +
                                        std::to_string(kind));
        }
    }
    ~Session() { smtp_client_free(s_); } // closes without QUIT; NULL is a no-op

    Session(const Session &) = delete;
    Session &operator=(const Session &) = delete;
    Session(Session &&other) noexcept : s_(std::exchange(other.s_, nullptr)) {}
    Session &operator=(Session &&other) noexcept
    {
        if (this != &other) {
            smtp_client_free(s_);
            s_ = std::exchange(other.s_, nullptr);
        }
        return *this;
    }

    // The C handle, for functions this wrapper does not cover. Still owned by the Session.
    smtp_client *get() const noexcept { return s_; }

    void set_timeout_ms(uint32_t ms) { check(smtp_client_set_timeout_ms(s_, ms)); }
    void set_tls_ca_file(const std::string &path)
    {
        check(smtp_client_set_tls_ca_file(s_, detail::c_string(path, "path")));
    }
    void set_tls_policy(int32_t policy) { check(smtp_client_set_tls_policy(s_, policy)); }

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

    // smtplib's sendmail(): returns normally when at least one recipient was accepted; the
    // refused ones are then in refused(). Throws when all were refused or the send failed.
    void sendmail(const std::string &from, const std::vector<std::string> &to,
                  const std::string &message)
    {
        const char *c_from = detail::c_string(from, "from");
        std::vector<const char *> rcpts;
        rcpts.reserve(to.size());
        for (size_t i = 0; i < to.size(); i++) {
            rcpts.push_back(detail::c_string(to[i], "to[" + std::to_string(i) + "]"));
        }
        check(smtp_client_sendmail(s_, c_from, rcpts.data(), rcpts.size(),
                            reinterpret_cast<const uint8_t *>(message.data()), message.size(), NULL));
    }

    std::vector<Refused> refused() const
    {
        std::vector<Refused> out;
        size_t n = smtp_client_refused_count(s_);
        for (size_t i = 0; i < n; i++) {
            const char *address = nullptr, *text = nullptr;
            int32_t code = 0;
            if (smtp_client_refused_get(s_, i, &address, &code, &text) == SMTP_RESULT_OK) {
                out.push_back(Refused{address, code, text}); // copies the borrowed strings
            }
        }
        return out;
    }

    void noop() { check(smtp_client_noop(s_)); }
    void quit() { check(smtp_client_quit(s_)); }

    bool tls_active() const noexcept { return smtp_client_tls_active(s_); }
    bool tls_peer_verified() const noexcept { return smtp_client_tls_peer_verified(s_); }
    std::string tls_version() const { return smtp_client_tls_version(s_); }
    std::string tls_cipher() const { return smtp_client_tls_cipher(s_); }
    int32_t last_reply_code() const noexcept { return smtp_client_last_reply_code(s_); }
    std::string last_reply_text() const { return smtp_client_last_reply_text(s_); }

private:
    struct AuthContext {
        AuthFunction fn;
        std::exception_ptr exception;
    };

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

    void check(int32_t rc) const
    {
        if (rc == SMTP_RESULT_OK) {
            return;
        }
        // The session's strings are borrowed: copied into the exception right away.
        throw Error(rc, smtp_result_name(rc), smtp_client_last_error_message(s_),
                    smtp_client_last_error_reply_code(s_), smtp_client_last_error_reply_text(s_));
    }

    smtp_client *s_;
};

// The library this program runs with (may differ from the header it was compiled with).
inline std::string library_version() { return smtp_lib_version(); }

} // namespace smtpclient

#endif // SMTPCLIENT_HPP
