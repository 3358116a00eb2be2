// nul_test.cpp: a std::string argument holding a NUL byte is refused with
// std::invalid_argument naming the argument, before the C library is called; it is never
// truncated at the NUL.
//
// Needs the test bed's Postfix (SMTP_HOST, default localhost; SMTP_PORT, default 2525).
// Build: g++ -std=c++17 -o smtp-cpp-nul-test nul_test.cpp $(pkg-config --cflags --libs smtpclient)
// Exit status: 0 when every test passed, 1 otherwise.

#include <smtpclient.hpp> // installed by make install, beside smtpclient.h

#include <cstdlib>
#include <functional>
#include <iostream>
#include <string>

using namespace std::string_literals;

namespace {

std::string env_or(const char *name, const std::string &fallback)
{
    const char *v = std::getenv(name);
    return (v != nullptr && *v != '\0') ? std::string(v) : fallback;
}

const std::string host = env_or("SMTP_HOST", "localhost");
const auto port = static_cast<uint16_t>(std::stoi(env_or("SMTP_PORT", "2525")));

int failures = 0;

void expect(bool ok, const std::string &what)
{
    if (!ok) {
        std::cerr << "  FAIL: " << what << "\n";
        failures++;
    }
}

// Runs `call`, which must throw std::invalid_argument whose message names `argument`.
void expect_refused(const std::function<void()> &call, const std::string &argument)
{
    try {
        call();
        expect(false, argument + ": no exception (the string was passed on, cut at the NUL)");
    } catch (const std::invalid_argument &e) {
        expect(std::string(e.what()).find(argument + " contains a NUL byte") != std::string::npos,
               argument + ": the message does not name the argument: " + e.what());
    } catch (const std::exception &e) {
        expect(false, argument + ": not std::invalid_argument: " + e.what());
    }
}

// "localhost" is what C would see of this host: without the check, connect() would succeed.
void test_connect_refuses_nul_in_host()
{
    smtpclient::Session s;
    expect_refused([&] { s.connect("localhost\0.invalid"s, port); }, "host");
    expect(!smtp_client_is_connected(s.get()), "connected although the host was refused");
}

// Refused before anything is sent, and the session stays usable.
void test_sendmail_refuses_nul_in_recipient()
{
    smtpclient::Session s;
    s.set_timeout_ms(30000);
    s.connect(host, port);
    expect(s.last_reply_code() == 220, "no 220 greeting");
    expect_refused(
        [&] { s.sendmail("alice@example.test", {"bob@example.test", "a@b\0x"s}, "Subject: x\r\n\r\nx\r\n"); },
        "to[1]");
    // Nothing went out: no EHLO or MAIL, whose replies would have replaced the greeting.
    expect(s.last_reply_code() == 220, "a command was sent: the last reply is no longer the greeting");
    s.noop();
    expect(s.last_reply_code() == 250, "NOOP after the refusal did not get 250");
    s.quit();
}

// Every other string argument of the wrapper goes through the same check.
void test_every_string_argument_is_checked()
{
    smtpclient::Session s;
    const std::string bad = "a@b\0x"s;
    expect_refused([&] { s.set_tls_ca_file(bad); }, "path");
    expect_refused([&] { s.login(bad, "pass"); }, "user");
    expect_refused([&] { s.login("user", bad); }, "password");
    expect_refused([&] { s.auth(bad, [](auto &&...) { return smtpclient::AuthStep::Abort; }); },
                   "mechanism");
    expect_refused([&] { s.sendmail(bad, {"bob@example.test"}, "x"); }, "from");
}

} // namespace

int main()
{
    const std::pair<const char *, void (*)()> tests[] = {
        {"connect_refuses_nul_in_host", test_connect_refuses_nul_in_host},
        {"sendmail_refuses_nul_in_recipient", test_sendmail_refuses_nul_in_recipient},
        {"every_string_argument_is_checked", test_every_string_argument_is_checked},
    };
    for (const auto &[name, test] : tests) {
        const int before = failures;
        try {
            test();
        } catch (const std::exception &e) {
            expect(false, std::string("unexpected exception: ") + e.what());
        }
        std::cout << (failures == before ? "ok   " : "FAIL ") << name << "\n";
    }
    if (failures != 0) {
        std::cerr << failures << " check(s) failed\n";
        return 1;
    }
    std::cout << "C++ NUL tests: all passed\n";
    return 0;
}
