// Tests of the C++ wrapper's calls beyond the consumer's demo path, against the test bed:
// sendmail_stream (a std::function and a std::istream, the size estimate, an exception that
// aborts), smtplib's low-level commands and docmd, the capabilities, login_oauth, the login
// mechanisms, the credential policy, the extension settings and connection strings (from_url).
//
// Settings from the environment (defaults for the test bed of tests/servers/up.sh): SMTP_HOST,
// SMTP_PORT, SMTP_CA_FILE, SMTP_USER, SMTP_PASS, POSTFIX_MAILDIR.
// Build: g++ -std=c++17 -Wall -Wextra -o api-test api_test.cpp $(pkg-config --cflags --libs smtpclient)
// Exit status: 0 when every check passed, 1 otherwise (each failure is printed).

#include <smtpclient.hpp>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;

static int failures = 0;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            std::cerr << "FAIL " << __FILE__ << ":" << __LINE__ << ": " #cond "\n";              \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

static std::string env_or(const char *name, const std::string &fallback)
{
    const char *v = std::getenv(name);
    return (v != nullptr && *v != '\0') ? std::string(v) : fallback;
}

static const std::string host = env_or("SMTP_HOST", "localhost");
static const uint16_t port = static_cast<uint16_t>(std::stoi(env_or("SMTP_PORT", "2525")));
static const std::string ca_file = env_or("SMTP_CA_FILE", "/tmp/smtpclient-testbed/tls/ca.crt");
static const std::string user = env_or("SMTP_USER", "alice");
static const std::string password = env_or("SMTP_PASS", "alice-pass");
static const fs::path bob_new = fs::path(env_or("POSTFIX_MAILDIR", "/tmp/smtpclient-testbed/mail/postfix")) / "bob" / "new";

static bool delivered(const std::string &marker)
{
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    do {
        std::error_code ec;
        for (const auto &entry : fs::directory_iterator(bob_new, ec)) {
            std::ifstream in(entry.path(), std::ios::binary);
            std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
            if (text.find(marker) != std::string::npos) {
                return true;
            }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    } while (std::chrono::steady_clock::now() < deadline);
    return false;
}

static std::string unique_marker(const std::string &test)
{
    return "cpp-" + test + "-" + std::to_string(getpid()) + "-" +
           std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
}

static std::string message(const std::string &marker)
{
    return "From: <alice@example.test>\r\nTo: <bob@example.test>\r\nSubject: " + marker +
           "\r\n\r\nSent by the C++ wrapper's tests.\r\n";
}

static void logged_in(smtpclient::Session &s)
{
    s.set_timeout_ms(30000);
    s.set_tls_ca_file(ca_file);
    s.connect(host, port);
    s.starttls();
    s.login(user, password);
}

// A 3 MB body pulled by a std::function in chunks, with its size announced; then from a
// std::istream.
static void test_sendmail_stream()
{
    smtpclient::Session s;
    logged_in(s);
    std::string marker = unique_marker("stream");
    std::string body = message("stream " + marker);
    std::string line = std::string(70, 'z') + "\r\n";
    while (body.size() < (3u << 20)) {
        body += line;
    }
    body += "last line " + marker + "\r\n";
    smtpclient::SendOptions options;
    options.set_size_estimate(static_cast<int64_t>(body.size()));
    size_t offset = 0, calls = 0;
    auto recipients = s.sendmail_stream(
        "alice@example.test", {"bob@example.test", "reject550@example.test"},
        [&](char *buf, size_t capacity) {
            calls++;
            size_t n = std::min(capacity, body.size() - offset);
            body.copy(buf, n, offset);
            offset += n;
            return n;
        },
        &options);
    CHECK(recipients.size() == 2);
    CHECK(recipients.size() == 2 && recipients[0].accepted() && recipients[1].rcpt_code == 550);
    CHECK(calls > 2);
    CHECK(delivered("last line " + marker));

    std::string marker2 = unique_marker("istream");
    std::istringstream in(message(marker2));
    auto r2 = s.sendmail_stream("alice@example.test", {"bob@example.test"}, in);
    CHECK(r2.size() == 1 && r2[0].accepted());
    CHECK(delivered(marker2));
}

// A size estimate over the server's limit; an exception from the read function aborts the
// send after the transaction started (2 MB in), is rethrown, and closes the session.
static void test_sendmail_stream_failures()
{
    smtpclient::Session s;
    logged_in(s);
    smtpclient::SendOptions big;
    big.set_size_estimate(20 << 20);
    bool too_large = false;
    try {
        std::istringstream in("Subject: x\r\n\r\nx\r\n");
        s.sendmail_stream("alice@example.test", {"bob@example.test"}, in, &big);
    } catch (const smtpclient::Error &e) {
        too_large = e.code() == SMTP_RESULT_MESSAGE_TOO_LARGE;
    }
    CHECK(too_large);
    CHECK(s.is_connected());

    struct DiskOnFire : std::runtime_error {
        DiskOnFire() : std::runtime_error("disk on fire") {}
    };
    size_t sent = 0;
    bool rethrown = false;
    try {
        s.sendmail_stream("alice@example.test", {"bob@example.test"}, [&](char *buf, size_t capacity) -> size_t {
            if (sent > (2u << 20)) {
                throw DiskOnFire();
            }
            size_t n = std::min<size_t>(capacity, 100);
            std::string line = std::string(n - 2, 'y') + "\r\n";
            line.copy(buf, n);
            sent += n;
            return n;
        });
    } catch (const DiskOnFire &) {
        rethrown = true;
    }
    CHECK(rethrown);
    CHECK(!s.is_connected());
}

// smtplib's low-level commands: each returns the reply whatever its code.
// DSN settings through SendOptions: Postfix accepts them (bob is told SUCCESS, the refused
// recipient NEVER); bad flags and a raw option repeating a typed one throw InvalidArgument.
static void test_dsn()
{
    smtpclient::Session s;
    logged_in(s);
    std::string marker = unique_marker("dsn");
    smtpclient::SendOptions options;
    options.set_dsn_ret(smtpclient::DsnRet::hdrs)
        .set_dsn_envid("cpp " + marker)
        .set_dsn_notify("bob@example.test", smtpclient::DsnNotify::success | smtpclient::DsnNotify::failure)
        .set_dsn_orcpt("bob@example.test", "orig+" + marker + "@example.test")
        .set_dsn_notify("reject550@example.test", smtpclient::DsnNotify::never);
    auto recipients = s.sendmail("alice@example.test", {"bob@example.test", "reject550@example.test"},
                                 message(marker), &options);
    CHECK(recipients.size() == 2 && recipients[0].accepted() && recipients[1].rcpt_code == 550);
    CHECK(delivered(marker));
    bool refused = false;
    try {
        options.set_dsn_notify("bob@example.test", smtpclient::DsnNotify::never | smtpclient::DsnNotify::delay);
    } catch (const smtpclient::Error &e) {
        refused = e.code() == SMTP_RESULT_INVALID_ARGUMENT;
    }
    CHECK(refused);
    refused = false;
    try {
        options.add_mail_option("ENVID=raw");
    } catch (const smtpclient::Error &e) {
        refused = e.code() == SMTP_RESULT_INVALID_ARGUMENT;
    }
    CHECK(refused);
    // REQUIRETLS: Postfix over verified STARTTLS does not advertise it
    smtpclient::SendOptions tls;
    tls.set_requiretls(true);
    bool tls_required = false;
    try {
        s.sendmail("alice@example.test", {"bob@example.test"}, message(marker), &tls);
    } catch (const smtpclient::Error &e) {
        tls_required = e.code() == SMTP_RESULT_TLS_REQUIRED;
    }
    CHECK(tls_required);
    CHECK(s.is_connected());
}

static void test_commands()
{
    smtpclient::Session s;
    logged_in(s);
    CHECK(s.mail("alice@example.test", {"BODY=8BITMIME"}).code == 250);
    CHECK(s.rcpt("bob@example.test").code == 250);
    smtpclient::Reply refused = s.rcpt("reject550@example.test");
    CHECK(refused.code == 550 && refused.text.find("5.1.1") != std::string::npos);
    std::string marker = unique_marker("data");
    CHECK(s.data(message(marker)).code == 250);
    auto recipients = s.recipients();
    CHECK(recipients.size() == 2 && recipients[0].accepted() && !recipients[1].accepted());
    CHECK(delivered(marker));
    CHECK(s.rset().code == 250);
    CHECK(s.docmd("NOOP").code == 250);
    CHECK(s.docmd("XNOSUCH", "arg").code / 100 == 5);
    bool refused_crlf = false;
    try {
        s.docmd("NOOP", "a\r\nQUIT");
    } catch (const smtpclient::UsageError &) {
        refused_crlf = true;
    }
    CHECK(refused_crlf);
    CHECK(s.verify("Bob <bob@example.test>").code == 252);
    CHECK(s.verify("nobody@example.test").code == 550);
    CHECK(s.expn("bob@example.test").code == 500);
    CHECK(s.help().code == 500);
}

// EHLO / HELO by hand and the capabilities; close() and a new connection.
static void test_greeting_and_features()
{
    smtpclient::Session s;
    s.set_timeout_ms(30000);
    s.set_rfc5321_timeouts();
    s.set_phase_timeout_ms(smtpclient::Phase::other, 20000);
    s.set_operation_timeout_ms(60000);
    s.connect(host, port);
    CHECK(!s.ehlo_resp());
    CHECK(s.ehlo("client.example.test").code == 250);
    CHECK(s.does_esmtp());
    CHECK(s.ehlo_resp() && s.ehlo_resp()->find("PIPELINING") != std::string::npos);
    CHECK(s.feature("size") == std::optional<std::string>("10485760"));
    CHECK(!s.feature("XNOSUCH"));
    bool starttls = false;
    for (const auto &[name, params] : s.features()) {
        starttls = starttls || name == "starttls";
    }
    CHECK(starttls);
    CHECK(s.helo().code == 250);
    CHECK(s.helo_resp() && !s.helo_resp()->empty());
    s.ehlo_or_helo_if_needed();
    s.close();
    CHECK(!s.is_connected());
    s.connect(host, port);
    CHECK(s.is_connected());
}

// Source address, no pipelining or chunking, smtplib's login order seen in the trace.
static void test_settings()
{
    smtpclient::Session s;
    s.set_timeout_ms(30000);
    s.set_source_address("127.0.0.1");
    s.set_pipelining(false);
    s.set_chunking(false);
    s.set_login_mechanisms({"CRAM-MD5", "PLAIN", "LOGIN"});
    bool unknown = false;
    try {
        s.set_login_mechanisms({"PLAIN", "NOSUCH"});
    } catch (const smtpclient::UsageError &) {
        unknown = true;
    }
    CHECK(unknown);
    std::string trace;
    s.set_debug(1, [&](smtpclient::DebugKind, std::string_view data) { trace.append(data).append("\n"); });
    s.set_tls_ca_file(ca_file);
    s.connect(host, port);
    s.starttls();
    s.login(user, password);
    CHECK(trace.find("AUTH CRAM-MD5") != std::string::npos);
    std::string marker = unique_marker("settings");
    CHECK(s.sendmail("alice@example.test", {"bob@example.test"}, message(marker)).size() == 1);
    CHECK(trace.find("BDAT") == std::string::npos);
    CHECK(delivered(marker));
}

// Credentials without TLS to an untrusted local peer; then allowed. OAuth, not offered by
// Postfix: SMTP_ERROR naming the mechanism; a malformed token refused before sending.
static void test_credentials()
{
    smtpclient::Session s;
    s.set_timeout_ms(30000);
    s.set_local_peer_trusted(false);
    s.connect(host, port);
    bool policy = false;
    try {
        s.login(user, password);
    } catch (const smtpclient::Error &e) {
        policy = e.code() == SMTP_RESULT_CREDENTIALS_POLICY;
    }
    CHECK(policy);
    s.set_cleartext_credentials(true);
    s.login(user, password);
    CHECK(s.is_authenticated());

    smtpclient::Session t;
    t.set_timeout_ms(30000);
    t.set_tls_ca_file(ca_file);
    t.connect(host, port);
    t.starttls();
    bool not_offered = false;
    try {
        t.login_oauth(smtpclient::OAuthMechanism::xoauth2, "alice@example.test", "ya29.token");
    } catch (const smtpclient::Error &e) {
        not_offered = e.code() == SMTP_RESULT_SMTP_ERROR && e.message().find("XOAUTH2") != std::string::npos;
    }
    CHECK(not_offered);
    bool malformed = false;
    try {
        t.login_oauth(smtpclient::OAuthMechanism::oauthbearer, "alice", "not a token");
    } catch (const smtpclient::UsageError &) {
        malformed = true;
    }
    CHECK(malformed);
}

static std::string error_of(const std::function<void()> &fn, int32_t *code = nullptr)
{
    try {
        fn();
    } catch (const smtpclient::Error &e) {
        if (code != nullptr) {
            *code = e.code();
        }
        return e.what();
    }
    return "";
}

// Connection strings: Session::from_url() picks the kind, connect() and login() without
// arguments use the URL's endpoint and credentials, smtp+starttls:// does STARTTLS before the
// login; percent-encoded UTF-8 credentials; LMTP over a Unix socket; the errors.
static void test_url()
{
    smtpclient::Session s = smtpclient::Session::from_url(
        "smtp+starttls://" + user + ":" + password + "@" + host + ":" + std::to_string(port));
    s.set_timeout_ms(30000);
    s.set_tls_ca_file(ca_file);
    s.connect();
    CHECK(s.is_connected() && !s.tls_active());
    s.login(); // the policy of smtp+starttls:// (required): STARTTLS first
    CHECK(s.tls_active() && s.tls_peer_verified() && s.is_authenticated());
    std::string marker = unique_marker("url");
    auto r = s.sendmail("alice@example.test", {"bob@example.test"}, message(marker));
    CHECK(r.size() == 1 && r[0].accepted());
    s.quit();
    CHECK(delivered(marker));

    // utf8 / "pässwörd ✓", percent-encoded; the session kind matches the scheme
    smtpclient::Session u = smtpclient::Session::from_url(
        "SMTP+STARTTLS://utf8:p%C3%A4ssw%C3%B6rd%20%E2%9C%93@" + host + ":" + std::to_string(port));
    u.set_timeout_ms(30000);
    u.set_tls_ca_file(ca_file);
    u.connect();
    u.login();
    CHECK(u.is_authenticated());
    u.quit();

    // set_url() on a session made with a kind; a later URL without credentials replaces them
    smtpclient::Session v;
    v.set_timeout_ms(30000);
    v.set_url("smtp://" + user + ":" + password + "@" + host + ":" + std::to_string(port));
    v.set_url("smtp://" + host + ":" + std::to_string(port) + "/?tls=required");
    v.set_tls_ca_file(ca_file);
    v.connect();
    int32_t code = 0;
    CHECK(error_of([&] { v.login(); }, &code) != "" && smtp_result_is_a(code, SMTP_RESULT_INVALID_ARGUMENT));
    v.ehlo_or_helo_if_needed();
    CHECK(v.tls_active()); // ?tls=required: STARTTLS with the greeting
    error_of([&] { v.set_url("smtp://" + host); }, &code);
    CHECK(code == SMTP_RESULT_BAD_STATE);

    // LMTP over the Unix socket of Dovecot
    const std::string lmtp_socket = env_or("LMTP_SOCKET", "/tmp/smtpclient-testbed/dovecot/lmtp.sock");
    smtpclient::Session l = smtpclient::Session::from_url("lmtp+unix://" + lmtp_socket);
    l.set_timeout_ms(30000);
    l.connect();
    auto lr = l.sendmail("alice@example.test", {"bob@example.test"}, message(unique_marker("url-lmtp")));
    CHECK(lr.size() == 1 && lr[0].accepted() && lr[0].data_code == 250);
    l.quit();

    // Malformed: a UsageError naming the part, never quoting the password
    std::string what;
    try {
        smtpclient::Session::from_url("smtp://alice:hunter2-secret@mail.example.org:99999");
    } catch (const smtpclient::UsageError &e) {
        what = e.what();
    }
    CHECK(what.find("port") != std::string::npos);
    CHECK(!what.empty() && what.find("hunter2-secret") == std::string::npos);
    smtpclient::Session k(smtpclient::Kind::smtp);
    what = error_of([&] { k.set_url("smtps://" + host); }, &code);
    CHECK(code == SMTP_RESULT_INVALID_ARGUMENT && what.find("scheme") != std::string::npos);
    what = error_of([&] { smtpclient::Session::from_url("imap://" + host); }, &code);
    CHECK(code == SMTP_RESULT_INVALID_ARGUMENT && what.find("scheme") != std::string::npos);
    CHECK(error_of([&] { k.connect(); }, &code) != "" && smtp_result_is_a(code, SMTP_RESULT_INVALID_ARGUMENT));
    bool nul = false;
    try {
        k.set_url(std::string("smtp://h\0ost", 13));
    } catch (const std::invalid_argument &) {
        nul = true;
    }
    CHECK(nul);
}

int main()
{
    CHECK(smtpclient::library_version_number() == SMTPCLIENT_VERSION_NUMBER);
    struct {
        const char *name;
        void (*fn)();
    } tests[] = {
        {"sendmail_stream", test_sendmail_stream},
        {"sendmail_stream failures", test_sendmail_stream_failures},
        {"dsn", test_dsn},
        {"commands", test_commands},
        {"greeting and features", test_greeting_and_features},
        {"settings", test_settings},
        {"credentials", test_credentials},
        {"connection strings", test_url},
    };
    for (const auto &t : tests) {
        int before = failures;
        try {
            t.fn();
        } catch (const std::exception &e) {
            std::cerr << "FAIL " << t.name << ": unexpected exception: " << e.what() << "\n";
            failures++;
        }
        std::cout << (failures == before ? "ok   " : "FAIL ") << t.name << "\n";
    }
    std::cout << (failures ? "api_test: FAILED" : "api_test: all passed") << "\n";
    return failures ? 1 : 0;
}
