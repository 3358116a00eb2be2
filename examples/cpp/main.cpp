// The C++ consumer: STARTTLS, login, a message to two recipients of which one is refused, the
// refused list, delivery checked in the Maildir, then AUTH PLAIN through a callback.
//
// Settings from the environment (defaults for the test bed of tests/servers/up.sh):
//   SMTP_HOST (localhost), SMTP_PORT (2525), SMTP_CA_FILE, SMTP_USER (alice),
//   SMTP_PASS (alice-pass), POSTFIX_MAILDIR (where bob's Maildir is: $POSTFIX_MAILDIR/bob)
//
// Build: g++ -std=c++17 -Wall -Wextra -o smtp-cpp main.cpp $(pkg-config --cflags --libs smtpclient)
// Exit status: 0 when every step worked, 1 otherwise.

#include <smtpclient.hpp> // installed by make install, beside smtpclient.h

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;

static std::string env_or(const char *name, const std::string &fallback)
{
    const char *v = std::getenv(name);
    return (v != nullptr && *v != '\0') ? std::string(v) : fallback;
}

// Wait until a file in `dir` contains `marker`; returns its path, or "" after `seconds`.
static std::string wait_for_marker(const fs::path &dir, const std::string &marker, int seconds)
{
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    do {
        std::error_code ec;
        for (const auto &entry : fs::directory_iterator(dir, ec)) {
            std::ifstream in(entry.path(), std::ios::binary);
            std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
            if (content.find(marker) != std::string::npos) {
                return entry.path().string();
            }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    } while (std::chrono::steady_clock::now() < deadline);
    return "";
}

static void fail(const std::string &what)
{
    throw std::runtime_error(what);
}

int main()
{
    const std::string host = env_or("SMTP_HOST", "localhost");
    const int port = std::stoi(env_or("SMTP_PORT", "2525"));
    const std::string ca = env_or("SMTP_CA_FILE", "/tmp/smtpclient-testbed/tls/ca.crt");
    const std::string user = env_or("SMTP_USER", "alice");
    const std::string pass = env_or("SMTP_PASS", "alice-pass");
    const std::string maildir = env_or("POSTFIX_MAILDIR", "/tmp/smtpclient-testbed/mail/postfix");
    const std::string marker =
        "cpp-" + std::to_string(getpid()) + "-" + std::to_string(std::time(nullptr));

    try {
        std::cout << "library " << smtpclient::library_version() << ", header "
                  << SMTPCLIENT_VERSION_STRING << "\n";
        if (smtp_lib_version_number() != SMTPCLIENT_VERSION_NUMBER) {
            fail("the library's version is not the header's");
        }

        {
            smtpclient::Session s; // freed at the end of this block, even after a throw
            s.set_timeout_ms(30000);
            s.set_tls_ca_file(ca);
            s.connect(host, static_cast<uint16_t>(port));
            std::cout << "connected to " << host << ":" << port << "\n";
            s.starttls();
            if (!s.tls_active() || !s.tls_peer_verified()) {
                fail("STARTTLS: TLS not active or peer not verified");
            }
            std::cout << "STARTTLS: " << s.tls_version() << " " << s.tls_cipher()
                      << ", certificate verified against " << ca << "\n";
            s.login(user, pass);
            std::cout << "logged in as " << user << " (smtp_client_login)\n";

            const std::string msg = "From: <alice@example.test>\r\n"
                                    "To: <bob@example.test>, <reject550@example.test>\r\n"
                                    "Subject: libsmtpclient C++ example " + marker + "\r\n"
                                    "\r\n"
                                    "Sent by examples/cpp through the RAII wrapper.\r\n";
            s.sendmail("alice@example.test", {"bob@example.test", "reject550@example.test"}, msg);
            auto refused = s.refused();
            for (const auto &r : refused) {
                std::cout << "refused: " << r.address << " " << r.code << " " << r.text << "\n";
            }
            if (refused.size() != 1 || refused[0].address != "reject550@example.test" ||
                refused[0].code != 550) {
                fail("expected exactly reject550@example.test refused with 550");
            }
            std::cout << "sent to bob@example.test (marker " << marker << ")\n";
            s.quit();

            std::string file = wait_for_marker(fs::path(maildir) / "bob" / "new", marker, 30);
            if (file.empty()) {
                fail("the message did not arrive in bob's Maildir within 30 s");
            }
            std::cout << "delivered: " << file << "\n";
        }

        {
            smtpclient::Session s;
            s.set_timeout_ms(30000);
            s.set_tls_ca_file(ca);
            s.connect(host, static_cast<uint16_t>(port));
            s.starttls();
            int calls = 0;
            s.auth("PLAIN", [&](const std::string &, bool is_initial, bool tls_active,
                                std::string &response) {
                calls++;
                if (!is_initial || !tls_active) {
                    return smtpclient::AuthStep::Abort;
                }
                response = std::string(1, '\0') + user + std::string(1, '\0') + pass;
                return smtpclient::AuthStep::Respond;
            });
            std::cout << "AUTH PLAIN through a callback: " << s.last_reply_code() << " "
                      << s.last_reply_text() << " (callback called " << calls << " time(s))\n";
            if (calls != 1 || s.last_reply_code() != 235) {
                fail("AUTH PLAIN through the callback: want one call and 235");
            }
            s.quit();
        }
    } catch (const smtpclient::Error &e) {
        std::cerr << "FAILED: " << e.what() << " [code " << e.code() << "]\n";
        return 1;
    } catch (const std::exception &e) {
        std::cerr << "FAILED: " << e.what() << "\n";
        return 1;
    }
    std::cout << "C++ example: all steps passed\n";
    return 0;
}
