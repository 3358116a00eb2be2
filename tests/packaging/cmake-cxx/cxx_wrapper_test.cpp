// cxx_wrapper_test.cpp: the installed C++ wrapper <smtpclient.hpp> against the test bed.
//
// Settings from the environment (the test bed's env file): SMTP_HOST, SMTP_PORT, SMTP_CA_FILE,
// SMTP_USER, SMTP_PASS, POSTFIX_MAILDIR, LMTP_SOCKET, LMTP_MAILDIR.
// Exit status: 0 when every test passed, 1 otherwise.

#include <smtpclient.hpp>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>

using namespace std::string_literals;
namespace fs = std::filesystem;

namespace {

std::string env_or(const char *name, const std::string &fallback)
{
    const char *v = std::getenv(name);
    return (v != nullptr && *v != '\0') ? std::string(v) : fallback;
}

const std::string host = env_or("SMTP_HOST", "localhost");
const auto port = static_cast<uint16_t>(std::stoi(env_or("SMTP_PORT", "2525")));
const std::string ca_file = env_or("SMTP_CA_FILE", "/tmp/smtpclient-testbed/tls/ca.crt");
const std::string user = env_or("SMTP_USER", "alice");
const std::string password = env_or("SMTP_PASS", "alice-pass");
const std::string maildir = env_or("POSTFIX_MAILDIR", "/tmp/smtpclient-testbed/mail/postfix");
const std::string lmtp_socket = env_or("LMTP_SOCKET", "/tmp/smtpclient-testbed/dovecot/lmtp.sock");
const std::string lmtp_maildir = env_or("LMTP_MAILDIR", "/tmp/smtpclient-testbed/mail/lmtp");

int failures = 0;

void expect(bool ok, const std::string &what)
{
    if (!ok) {
        std::cerr << "    FAIL: " << what << "\n";
        failures++;
    }
}

std::string marker(const std::string &test)
{
    return "cxx-" + test + "-" + std::to_string(getpid()) + "-" +
           std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
}

std::string message(const std::string &subject)
{
    return "From: <alice@example.test>\r\nTo: <bob@example.test>\r\nSubject: " + subject +
           "\r\n\r\nSent by the C++ wrapper's tests.\r\n";
}

// Delivery is asynchronous after the server's 250: wait up to 30 s for a file holding `mark`.
bool delivered(const std::string &dir, const std::string &mark)
{
    for (int i = 0; i < 150; i++) {
        std::error_code ec;
        for (const auto &entry : fs::directory_iterator(dir, ec)) {
            std::ifstream in(entry.path(), std::ios::binary);
            std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
            if (body.find(mark) != std::string::npos) {
                return true;
            }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return false;
}

smtpclient::Session logged_in()
{
    smtpclient::Session s;
    s.set_timeout_ms(30000);
    s.set_tls_ca_file(ca_file);
    s.connect(host, port);
    s.starttls();
    s.login(user, password);
    return s; // movable
}

// Every code's exception class agrees with smtp_result_is_a for every class of the hierarchy.
void test_exception_classes_follow_the_library()
{
    const int32_t codes[] = {100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114,
                             200, 201, 202, 203, 204, 300, 301, 302, 400, 401, 402, 403, 404, 405,
                             406, 407, 900};
    for (int32_t code : codes) {
        try {
            smtpclient::detail::throw_error(code, smtpclient::ErrorDetail{});
        } catch (const smtpclient::Error &e) {
            auto agrees = [&](bool is_instance, int32_t base, const char *cls) {
                expect(is_instance == smtp_result_is_a(code, base),
                       std::string(smtp_result_name(code)) + (is_instance ? " is " : " is not ") + cls +
                           ", but smtp_result_is_a says otherwise");
            };
            agrees(dynamic_cast<const smtpclient::ResponseError *>(&e) != nullptr, SMTP_RESULT_RESPONSE_ERROR, "ResponseError");
            agrees(dynamic_cast<const smtpclient::SenderRefused *>(&e) != nullptr, SMTP_RESULT_SENDER_REFUSED, "SenderRefused");
            agrees(dynamic_cast<const smtpclient::RecipientsRefused *>(&e) != nullptr, SMTP_RESULT_RECIPIENTS_REFUSED, "RecipientsRefused");
            agrees(dynamic_cast<const smtpclient::DataError *>(&e) != nullptr, SMTP_RESULT_DATA_ERROR, "DataError");
            agrees(dynamic_cast<const smtpclient::ConnectError *>(&e) != nullptr, SMTP_RESULT_CONNECT_ERROR, "ConnectError");
            agrees(dynamic_cast<const smtpclient::HeloError *>(&e) != nullptr, SMTP_RESULT_HELO_ERROR, "HeloError");
            agrees(dynamic_cast<const smtpclient::AuthenticationError *>(&e) != nullptr, SMTP_RESULT_AUTHENTICATION_ERROR, "AuthenticationError");
            agrees(dynamic_cast<const smtpclient::ServerDisconnected *>(&e) != nullptr, SMTP_RESULT_SERVER_DISCONNECTED, "ServerDisconnected");
            agrees(dynamic_cast<const smtpclient::DeliveryUnknown *>(&e) != nullptr, SMTP_RESULT_DELIVERY_UNKNOWN, "DeliveryUnknown");
            agrees(dynamic_cast<const smtpclient::NotSupported *>(&e) != nullptr, SMTP_RESULT_NOT_SUPPORTED, "NotSupported");
            agrees(dynamic_cast<const smtpclient::TlsRequired *>(&e) != nullptr, SMTP_RESULT_TLS_REQUIRED, "TlsRequired");
            agrees(dynamic_cast<const smtpclient::IoError *>(&e) != nullptr, SMTP_RESULT_IO_ERROR, "IoError");
            agrees(dynamic_cast<const smtpclient::Timeout *>(&e) != nullptr, SMTP_RESULT_TIMEOUT, "Timeout");
            agrees(dynamic_cast<const smtpclient::TlsError *>(&e) != nullptr, SMTP_RESULT_TLS_ERROR, "TlsError");
            agrees(dynamic_cast<const smtpclient::TlsCertificate *>(&e) != nullptr, SMTP_RESULT_TLS_CERTIFICATE, "TlsCertificate");
            agrees(dynamic_cast<const smtpclient::UsageError *>(&e) != nullptr, SMTP_RESULT_INVALID_ARGUMENT, "UsageError");
            expect(e.code() == code, "code() is not the code thrown");
        }
    }
}

void test_sendmail_reports_every_recipient()
{
    auto s = logged_in();
    std::string mark = marker("sendmail");
    auto rs = s.sendmail("alice@example.test", {"bob@example.test", "reject550@example.test"}, message(mark));
    expect(rs.size() == 2, "two recipients expected");
    if (rs.size() == 2) {
        expect(rs[0].address == "bob@example.test" && rs[0].rcpt_code == 250 && rs[0].accepted(), "bob accepted with 250");
        expect(rs[1].address == "reject550@example.test" && rs[1].rcpt_code == 550 && !rs[1].accepted() &&
                   rs[1].enhanced_status == smtpclient::EnhancedStatus{5, 1, 1},
               "reject550 refused with 550 5.1.1");
    }
    auto refused = s.refused();
    expect(refused.size() == 1 && refused[0].code == 550, "refused() lists reject550 with 550");
    s.quit();
    expect(delivered(maildir + "/bob/new", mark), "the message reached bob's Maildir");
}

void test_sender_refused()
{
    auto s = logged_in();
    try {
        (void)s.sendmail("reject553@example.test", {"bob@example.test"}, message("x"));
        expect(false, "a refused sender did not throw");
    } catch (const smtpclient::SenderRefused &e) {
        expect(e.reply_code() == 553 && e.enhanced_status() && e.enhanced_status()->str() == "5.7.1",
               "SenderRefused carries 553 5.7.1: "s + e.what());
        expect(e.sender() == "reject553@example.test", "SenderRefused names the sender");
        expect(e.is_a(SMTP_RESULT_RESPONSE_ERROR), "SenderRefused is a RESPONSE_ERROR");
    }
    s.noop(); // the transaction was reset: the session goes on
}

void test_all_recipients_refused()
{
    auto s = logged_in();
    try {
        (void)s.sendmail("alice@example.test", {"reject550@example.test"}, message("x"));
        expect(false, "all recipients refused did not throw");
    } catch (const smtpclient::ResponseError &) {
        expect(false, "RecipientsRefused is not a ResponseError (smtplib's SMTPRecipientsRefused)");
    } catch (const smtpclient::RecipientsRefused &e) {
        expect(e.reply_code() == 550, "RecipientsRefused carries the 550");
        auto rs = s.recipients();
        expect(rs.size() == 1 && rs[0].rcpt_code == 550, "recipients() still lists the refusal");
    }
}

void test_send_message_with_options()
{
    auto s = logged_in();
    std::string mark = marker("send-message");
    smtpclient::SendOptions options;
    options.add_mail_option("BODY=8BITMIME");
    auto rs = s.send_message("From: Alice <alice@example.test>\r\nTo: Bob <bob@example.test>\r\n"
                             "Bcc: reject550@example.test\r\nSubject: " + mark + "\r\n\r\nsend_message.\r\n",
                             std::nullopt, std::nullopt, &options);
    expect(rs.size() == 2 && rs[0].accepted() && !rs[1].accepted(), "bob accepted, the Bcc reject550 refused");
    try {
        options.add_mail_option("TWO WORDS");
        expect(false, "a malformed option was accepted");
    } catch (const smtpclient::UsageError &e) {
        expect(e.code() == SMTP_RESULT_INVALID_ARGUMENT, "malformed option: INVALID_ARGUMENT");
    }
    expect(delivered(maildir + "/bob/new", mark), "send_message reached bob's Maildir");
}

void test_lmtp_per_recipient_replies()
{
    smtpclient::Session s(smtpclient::Kind::lmtp);
    s.set_timeout_ms(30000);
    s.connect(lmtp_socket, 0);
    std::string mark = marker("lmtp");
    auto rs = s.sendmail("alice@example.test", {"bob@example.test", "full@example.test"}, message(mark));
    expect(rs.size() == 2, "two LMTP recipients");
    if (rs.size() == 2) {
        expect(rs[0].rcpt_code == 250 && rs[0].data_code == 250 && rs[0].accepted(), "bob: 250 after the data");
        expect(rs[1].rcpt_code == 250 && rs[1].data_code == 552 && !rs[1].accepted(), "full: 552 after the data");
    }
    s.quit();
    expect(delivered(lmtp_maildir + "/bob/new", mark), "LMTP delivery to bob");
}

void test_auth_callback()
{
    smtpclient::Session s;
    s.set_tls_ca_file(ca_file);
    s.connect(host, port);
    s.starttls();
    try {
        s.auth("PLAIN", [](const std::string &, bool, bool, std::string &) -> smtpclient::AuthStep {
            throw std::runtime_error("no credentials here");
        });
        expect(false, "the callback's exception was not rethrown");
    } catch (const std::runtime_error &e) {
        expect(std::string(e.what()) == "no credentials here", "auth() rethrows the callback's exception");
    }
    int calls = 0;
    s.auth("PLAIN", [&](const std::string &, bool is_initial, bool tls_active, std::string &response) {
        calls++;
        response = "\0"s + user + "\0"s + password;
        return is_initial && tls_active ? smtpclient::AuthStep::Respond : smtpclient::AuthStep::Abort;
    });
    expect(calls == 1 && s.is_authenticated() && s.last_reply_code() == 235, "AUTH PLAIN through the callback");
}

void test_login_refused()
{
    smtpclient::Session s;
    s.set_tls_ca_file(ca_file);
    s.connect(host, port);
    s.starttls();
    try {
        s.login(user, "not-" + password);
        expect(false, "a wrong password was accepted");
    } catch (const smtpclient::AuthenticationError &e) {
        expect(e.reply_code() == 535, "AuthenticationError carries 535");
    }
}

void test_debug_callback()
{
    smtpclient::Session s;
    std::string dialogue;
    s.set_debug(1, [&](smtpclient::DebugKind kind, std::string_view data) {
        if (kind == smtpclient::DebugKind::sent || kind == smtpclient::DebugKind::received) {
            dialogue.append(data);
        }
    });
    s.connect(host, port);
    s.noop();
    expect(dialogue.find("220") != std::string::npos && dialogue.find("NOOP") != std::string::npos,
           "the debug callback saw the greeting and NOOP");
    s.set_debug(1, [](smtpclient::DebugKind, std::string_view) { throw std::logic_error("debug bug"); });
    try {
        s.noop();
        expect(false, "the debug callback's exception was not rethrown");
    } catch (const std::logic_error &e) {
        expect(std::string(e.what()) == "debug bug", "noop() rethrows the debug callback's exception");
    }
    s.set_debug(0, nullptr);
    s.noop(); // the session goes on, and nothing is rethrown twice
}

void test_tls_settings()
{
    {
        smtpclient::Session s;
        s.set_tls_ca_file(ca_file);
        s.set_tls_min_version(smtpclient::TlsVersion::tls13);
        s.set_tls_policy(smtpclient::TlsPolicy::required);
        s.connect(host, port);
        s.login(user, password); // STARTTLS first, by policy
        auto tls = s.tls();
        expect(tls.active && tls.peer_verified && tls.version == "TLSv1.3", "TLS 1.3 verified before login");
    }
    {
        smtpclient::Session s;
        s.set_tls_ca_file(ca_file);
        s.set_tls_server_name("not-this-server.example.test");
        s.connect(host, port);
        try {
            s.starttls();
            expect(false, "a certificate for another name was accepted");
        } catch (const smtpclient::TlsCertificate &e) {
            expect(e.is_a(SMTP_RESULT_TLS_ERROR), "TlsCertificate is a TLS_ERROR");
        }
    }
    {
        smtpclient::Session s;
        try {
            s.set_tls_ca_file("/nonexistent/ca.pem");
            expect(false, "a missing CA file was accepted");
        } catch (const smtpclient::UsageError &e) {
            expect(e.os_error() == ENOENT, "the missing CA file's errno is ENOENT");
        }
    }
}

void test_nul_refused()
{
    smtpclient::SendOptions options;
    try {
        options.add_rcpt_option("NOTIFY=FAILURE\0x"s);
        expect(false, "an option holding NUL was accepted");
    } catch (const std::invalid_argument &e) {
        expect(std::string(e.what()).find("option") != std::string::npos, "the error names the argument");
    }
}

} // namespace

int main()
{
    std::cout << "library " << smtpclient::library_version() << ", header " << SMTPCLIENT_VERSION_STRING << "\n";
    const std::pair<const char *, void (*)()> tests[] = {
        {"exception classes follow the library", test_exception_classes_follow_the_library},
        {"sendmail reports every recipient", test_sendmail_reports_every_recipient},
        {"sender refused", test_sender_refused},
        {"all recipients refused", test_all_recipients_refused},
        {"send_message with options", test_send_message_with_options},
        {"LMTP per-recipient replies", test_lmtp_per_recipient_replies},
        {"AUTH callback", test_auth_callback},
        {"login refused", test_login_refused},
        {"debug callback", test_debug_callback},
        {"TLS settings", test_tls_settings},
        {"NUL refused", test_nul_refused},
    };
    for (const auto &[name, test] : tests) {
        int before = failures;
        try {
            test();
        } catch (const std::exception &e) {
            std::cerr << "    FAIL: unexpected exception: " << e.what() << "\n";
            failures++;
        }
        std::cout << (failures == before ? "PASS  " : "FAIL  ") << name << "\n";
    }
    std::cout << (failures == 0 ? "all passed" : std::to_string(failures) + " failure(s)") << "\n";
    return failures == 0 ? 0 : 1;
}
