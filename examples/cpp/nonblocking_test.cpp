// Tests of the C++ wrapper's non-blocking calls (start_*(), step(), fd(), events(), timeout()):
// one thread drives several sessions to the test bed's Postfix at once with poll(2), each
// through connect, STARTTLS, login, a send and QUIT; one streams its message from a reader
// that has no data every other time (SMTP_READ_PENDING); failures come out of step() as the
// blocking calls' exceptions.
//
// Settings from the environment (defaults for the test bed of tests/servers/up.sh): SMTP_HOST,
// SMTP_PORT, SMTP_CA_FILE, SMTP_USER, SMTP_PASS, POSTFIX_MAILDIR.
// Build: g++ -std=c++17 -Wall -Wextra -o nonblocking-test nonblocking_test.cpp $(pkg-config --cflags --libs smtpclient)
// Exit status: 0 when every check passed, 1 otherwise (each failure is printed).

#include <smtpclient.hpp>

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
using namespace std::chrono_literals;

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
    auto deadline = std::chrono::steady_clock::now() + 30s;
    do {
        std::error_code ec;
        for (const auto &entry : fs::directory_iterator(bob_new, ec)) {
            std::ifstream in(entry.path(), std::ios::binary);
            std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
            if (text.find(marker) != std::string::npos) {
                return true;
            }
        }
        std::this_thread::sleep_for(200ms);
    } while (std::chrono::steady_clock::now() < deadline);
    return false;
}

static std::string unique_marker(const std::string &test)
{
    return "cpp-nb-" + test + "-" + std::to_string(getpid()) + "-" +
           std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
}

static std::string message(const std::string &marker)
{
    return "From: <alice@example.test>\r\nTo: <bob@example.test>\r\nSubject: " + marker +
           "\r\n\r\nSent by the C++ wrapper's non-blocking tests.\r\n";
}

// One session and the operations still to start on it, each a start_*() call.
struct Job {
    std::string name;
    smtpclient::Session session;
    std::vector<std::function<smtpclient::Status(smtpclient::Session &)>> ops;
    size_t next = 0;                 // the operation to start next
    std::exception_ptr failure;      // what ended the job early, if anything
    std::vector<smtpclient::Recipient> sent;
    bool done = false;
};

// Start operations on `job` until one waits or all are done.
static void advance(Job &job)
{
    try {
        while (job.next < job.ops.size()) {
            auto &op = job.ops[job.next++];
            if (op(job.session) == smtpclient::Status::in_progress) {
                return;
            }
        }
        job.done = true;
    } catch (...) {
        job.failure = std::current_exception();
        job.done = true;
    }
}

struct LoopStats {
    size_t polls = 0;
    size_t max_in_progress = 0; // sessions waiting at the same time
    size_t body_waits = 0;      // steps taken for events().body()
};

// The event loop: poll every waiting session's fd for its events, at most until the nearest
// deadline; step the ready ones (and the ones waiting for their reader); start each session's
// next operation when one is done.
static LoopStats run(std::vector<std::unique_ptr<Job>> &jobs)
{
    LoopStats stats;
    for (auto &job : jobs) {
        advance(*job);
    }
    auto step = [](Job &job) {
        try {
            if (job.session.step() == smtpclient::Status::done) {
                job.sent = job.session.recipients();
                advance(job);
            }
        } catch (...) {
            job.failure = std::current_exception();
            job.done = true;
        }
    };
    for (;;) {
        std::vector<pollfd> fds;
        std::vector<Job *> owners;
        std::vector<Job *> body;
        int timeout_ms = -1;
        for (auto &job : jobs) {
            if (job->done) {
                continue;
            }
            CHECK(job->session.in_progress());
            smtpclient::Events ev = job->session.events();
            if (ev.body()) {
                body.push_back(job.get());
                continue;
            }
            int fd = job->session.fd();
            CHECK(fd >= 0 && (ev.read() || ev.write()));
            short want = static_cast<short>((ev.read() ? POLLIN : 0) | (ev.write() ? POLLOUT : 0));
            fds.push_back(pollfd{fd, want, 0});
            owners.push_back(job.get());
            if (auto t = job->session.timeout()) {
                int ms = static_cast<int>(std::min<int64_t>(t->count(), 60000));
                timeout_ms = timeout_ms < 0 ? ms : std::min(timeout_ms, ms);
            }
        }
        stats.max_in_progress = std::max(stats.max_in_progress, owners.size() + body.size());
        if (owners.empty() && body.empty()) {
            return stats;
        }
        if (!body.empty()) {
            timeout_ms = 0; // a reader that had no data may have some now
        }
        int n = ::poll(fds.data(), fds.size(), timeout_ms);
        stats.polls++;
        CHECK(n >= 0);
        for (size_t i = 0; i < fds.size(); i++) {
            // Stepped when ready, and also when nothing was: a passed deadline fails it there.
            if (fds[i].revents != 0 || n == 0) {
                step(*owners[i]);
            }
        }
        for (Job *job : body) {
            stats.body_waits++;
            step(*job);
        }
    }
}

static std::unique_ptr<Job> new_job(const std::string &name)
{
    auto job = std::make_unique<Job>(Job{name, smtpclient::Session(), {}, 0, nullptr, {}, false});
    job->session.set_timeout_ms(30000);
    job->session.set_tls_ca_file(ca_file);
    return job;
}

// Five sessions at once: three plain sends, one send whose body is streamed from a reader that
// has no data every other call, one session configured from a URL (connect and login without
// arguments, STARTTLS by its policy).
static void test_many_sessions()
{
    std::vector<std::unique_ptr<Job>> jobs;
    std::vector<std::string> markers;
    for (int i = 0; i < 3; i++) {
        auto job = new_job("plain" + std::to_string(i));
        std::string marker = unique_marker("plain" + std::to_string(i));
        markers.push_back(marker);
        job->ops = {
            [](smtpclient::Session &s) { return s.start_connect(host, port); },
            [](smtpclient::Session &s) { return s.start_starttls(); },
            [](smtpclient::Session &s) { return s.start_login(user, password); },
            [marker](smtpclient::Session &s) {
                return s.start_sendmail("alice@example.test", {"bob@example.test", "reject550@example.test"},
                                        message(marker));
            },
            [](smtpclient::Session &s) { return s.start_quit(); },
        };
        jobs.push_back(std::move(job));
    }

    auto stream = new_job("stream");
    std::string stream_marker = unique_marker("stream");
    markers.push_back("last line " + stream_marker);
    auto body = std::make_shared<std::string>(message(stream_marker));
    while (body->size() < (1u << 20)) {
        *body += std::string(70, 'y') + "\r\n";
    }
    *body += "last line " + stream_marker + "\r\n";
    auto offset = std::make_shared<size_t>(0);
    auto reads = std::make_shared<size_t>(0);
    stream->ops = {
        [](smtpclient::Session &s) { return s.start_connect(host, port); },
        [](smtpclient::Session &s) { return s.start_starttls(); },
        [](smtpclient::Session &s) { return s.start_login(user, password); },
        [body, offset, reads](smtpclient::Session &s) {
            return s.start_sendmail_stream(
                "alice@example.test", {"bob@example.test"},
                [body, offset, reads](char *buf, size_t capacity) -> std::optional<size_t> {
                    if ((*reads)++ % 2 == 0) {
                        return std::nullopt; // "no data yet": the session waits for its reader
                    }
                    size_t n = std::min(capacity, body->size() - *offset);
                    body->copy(buf, n, *offset);
                    *offset += n;
                    return n;
                });
        },
        [](smtpclient::Session &s) { return s.start_quit(); },
    };
    jobs.push_back(std::move(stream));

    auto from_url = std::make_unique<Job>(Job{"url",
                                              smtpclient::Session::from_url("smtp+starttls://" + user + ":" + password +
                                                                            "@" + host + ":" + std::to_string(port)),
                                              {}, 0, nullptr, {}, false});
    from_url->session.set_timeout_ms(30000);
    from_url->session.set_tls_ca_file(ca_file);
    std::string url_marker = unique_marker("url");
    markers.push_back(url_marker);
    from_url->ops = {
        [](smtpclient::Session &s) { return s.start_connect(); },
        [](smtpclient::Session &s) { return s.start_login(); },
        [url_marker](smtpclient::Session &s) {
            return s.start_send_message("From: <alice@example.test>\r\nTo: <bob@example.test>\r\nSubject: " +
                                        url_marker + "\r\n\r\nfrom the headers\r\n");
        },
        [](smtpclient::Session &s) { return s.start_quit(); },
    };
    jobs.push_back(std::move(from_url));

    auto started = std::chrono::steady_clock::now();
    LoopStats stats = run(jobs);
    auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
    std::cout << "     " << jobs.size() << " sessions on one thread: " << elapsed.count() << " ms, " << stats.polls
              << " polls, up to " << stats.max_in_progress << " operations in progress at once, "
              << stats.body_waits << " steps for a reader without data\n";

    for (auto &job : jobs) {
        if (job->failure) {
            try {
                std::rethrow_exception(job->failure);
            } catch (const std::exception &e) {
                std::cerr << "FAIL " << job->name << ": " << e.what() << "\n";
                failures++;
            }
        }
        CHECK(job->done && job->next == job->ops.size());
        CHECK(!job->session.in_progress() && job->session.fd() == -1 && job->session.events().mask == 0);
        CHECK(!job->session.timeout());
        CHECK(!job->session.is_connected()); // after QUIT
    }
    CHECK(stats.max_in_progress == jobs.size()); // they really ran side by side
    CHECK(stats.body_waits > 0);
    CHECK(*offset == body->size());
    for (int i = 0; i < 3; i++) {
        // the send's recipients, read once it was done
        const auto &sent = jobs[i]->sent;
        CHECK(sent.size() == 2 && sent[0].accepted() && sent[1].rcpt_code == 550);
    }
    for (const auto &marker : markers) {
        CHECK(delivered(marker));
    }
}

// Failures come out of step() (or start_*()) as the blocking calls' exceptions; while an
// operation is in progress every other mutating call is refused with BAD_STATE; close()
// cancels it; a reader's exception aborts the stream and is rethrown by step().
static void test_failures()
{
    // every recipient refused: RecipientsRefused from step(); the session is still usable
    auto refused = new_job("refused");
    refused->ops = {
        [](smtpclient::Session &s) { return s.start_connect(host, port); },
        [](smtpclient::Session &s) { return s.start_starttls(); },
        [](smtpclient::Session &s) { return s.start_login(user, password); },
        [](smtpclient::Session &s) {
            return s.start_sendmail("alice@example.test", {"reject550@example.test"}, message("refused"));
        },
    };
    // nothing listens on port 1: IoError (CONNECTION_REFUSED)
    auto unreachable = new_job("unreachable");
    unreachable->ops = {[](smtpclient::Session &s) { return s.start_connect("127.0.0.1", 1); }};
    // the reader throws after the transaction started
    auto aborted = new_job("aborted");
    aborted->ops = {
        [](smtpclient::Session &s) { return s.start_connect(host, port); },
        [](smtpclient::Session &s) { return s.start_starttls(); },
        [](smtpclient::Session &s) { return s.start_login(user, password); },
        [](smtpclient::Session &s) {
            return s.start_sendmail_stream("alice@example.test", {"bob@example.test"},
                                           [n = 0](char *buf, size_t capacity) mutable -> std::optional<size_t> {
                                               if (n++ == 3) {
                                                   throw std::runtime_error("the source went away");
                                               }
                                               std::fill(buf, buf + capacity, 'x');
                                               return capacity;
                                           });
        },
    };
    std::vector<std::unique_ptr<Job>> jobs;
    jobs.push_back(std::move(refused));
    jobs.push_back(std::move(unreachable));
    jobs.push_back(std::move(aborted));
    run(jobs);

    bool recipients_refused = false;
    try {
        std::rethrow_exception(jobs[0]->failure);
    } catch (const smtpclient::RecipientsRefused &e) {
        recipients_refused = jobs[0]->session.refused().size() == 1 && jobs[0]->session.is_connected();
    } catch (...) {
    }
    CHECK(recipients_refused);
    bool io_error = false;
    try {
        std::rethrow_exception(jobs[1]->failure);
    } catch (const smtpclient::IoError &e) {
        io_error = e.code() == SMTP_RESULT_CONNECTION_REFUSED && e.os_error() == ECONNREFUSED;
    } catch (...) {
    }
    CHECK(io_error);
    bool reader_exception = false;
    try {
        std::rethrow_exception(jobs[2]->failure);
    } catch (const std::runtime_error &e) {
        reader_exception = std::string(e.what()) == "the source went away";
    } catch (...) {
    }
    CHECK(reader_exception);
    CHECK(!jobs[2]->session.is_connected()); // no partial message can be delivered

    // BAD_STATE while in progress; close() cancels; the session can connect again
    smtpclient::Session s;
    s.set_timeout_ms(30000);
    CHECK(s.start_connect(host, port) == smtpclient::Status::in_progress);
    CHECK(s.in_progress() && s.timeout() && *s.timeout() <= 30000ms);
    int32_t code = 0;
    for (auto call : std::vector<std::function<void()>>{[&] { s.noop(); }, [&] { (void)s.start_quit(); },
                                                         [&] { s.set_url("smtp://" + host); }}) {
        try {
            call();
        } catch (const smtpclient::Error &e) {
            code = e.code();
        }
        CHECK(code == SMTP_RESULT_BAD_STATE);
        code = 0;
    }
    s.close();
    CHECK(!s.in_progress() && s.fd() == -1);
    try {
        (void)s.step();
    } catch (const smtpclient::Error &e) {
        code = e.code();
    }
    CHECK(code == SMTP_RESULT_BAD_STATE);
    std::vector<std::unique_ptr<Job>> again;
    again.push_back(std::make_unique<Job>(Job{"again", std::move(s), {}, 0, nullptr, {}, false}));
    again[0]->ops = {[](smtpclient::Session &t) { return t.start_connect(host, port); },
                     [](smtpclient::Session &t) { return t.start_ehlo_or_helo_if_needed(); }};
    run(again);
    CHECK(!again[0]->failure && again[0]->session.does_esmtp() && again[0]->session.has_extension("STARTTLS"));
    again[0]->session.quit(); // the blocking calls work again once nothing is in progress
}

int main()
{
    struct {
        const char *name;
        void (*fn)();
    } tests[] = {
        {"many sessions on one poll loop", test_many_sessions},
        {"failures, BAD_STATE and cancelling", test_failures},
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
    std::cout << (failures ? "nonblocking_test: FAILED" : "nonblocking_test: all passed") << "\n";
    return failures ? 1 : 0;
}
