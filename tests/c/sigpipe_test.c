/*
 * sigpipe_test: writing to a server that has gone away gives an error code, never SIGPIPE.
 *
 *   sigpipe_test
 *
 * The program keeps the default SIGPIPE disposition (terminate), as most C programs do, runs
 * a one-connection LMTP server on a Unix socket in a thread, and sends a 16 MiB message
 * through it. The server answers up to DATA with 354, reads a little of the body and closes
 * the connection, so the library's next writes hit a closed socket. Were any of them a plain
 * write(2), the kernel would kill this process with SIGPIPE; every write must use
 * send(MSG_NOSIGNAL) and report SMTP_RESULT_SERVER_DISCONNECTED instead. (The library
 * passes the flag itself: Rust's own Unix-socket write is a plain write(2) before Rust 1.89,
 * and this crate builds with older toolchains.) A Rust test cannot see this: the Rust runtime
 * ignores SIGPIPE in Rust programs.
 *
 * Prints TAP lines and exits 1 if a check failed. Built with -std=c99 -Wall -Wextra -Wpedantic
 * -Werror and run under valgrind by tests/c/run.sh.
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* mkdtemp */

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <smtpclient.h>

static int tests_run;
static int tests_failed;

static int ok(int cond, const char *what)
{
    tests_run++;
    if (!cond) {
        tests_failed++;
    }
    printf("%s %d - %s\n", cond ? "ok" : "not ok", tests_run, what);
    fflush(stdout);
    return cond;
}

/* ------------------------------------------------------------------ the LMTP server */

static int write_text(int fd, const char *text)
{
    size_t len = strlen(text);
    while (len > 0) {
        ssize_t n = write(fd, text, len);
        if (n <= 0) {
            return -1;
        }
        text += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Read one line (up to LF) and discard it; -1 on EOF or error. */
static int read_line(int fd)
{
    char c;
    for (;;) {
        if (read(fd, &c, 1) != 1) {
            return -1;
        }
        if (c == '\n') {
            return 0;
        }
    }
}

struct server {
    int listener;
    int ok; /* the server reached the close in the middle of the body */
};

static void *serve(void *arg)
{
    struct server *srv = arg;
    static const char *const replies[] = { "250 lmtp.sigpipe.test\r\n", "250 2.1.0 ok\r\n", "250 2.1.5 ok\r\n",
                                           "354 go ahead\r\n" };
    char body[4096];
    size_t i;
    int fd = accept(srv->listener, NULL, NULL);
    if (fd < 0) {
        return NULL;
    }
    if (write_text(fd, "220 lmtp.sigpipe.test LMTP\r\n") != 0) {
        close(fd);
        return NULL;
    }
    /* LHLO, MAIL, RCPT, DATA, each answered in turn */
    for (i = 0; i < sizeof replies / sizeof replies[0]; i++) {
        if (read_line(fd) != 0 || write_text(fd, replies[i]) != 0) {
            close(fd);
            return NULL;
        }
    }
    /* a little of the body, then the connection goes away */
    if (read(fd, body, sizeof body) > 0) {
        srv->ok = 1;
    }
    close(fd);
    return NULL;
}

/* ------------------------------------------------------------------ the test */

int main(void)
{
    char dir[] = "/tmp/smtpclient-sigpipe.XXXXXX";
    struct sockaddr_un addr;
    struct server srv = { -1, 0 };
    pthread_t thread;
    struct sigaction current;
    const char *to[] = { "alice@example.test" };
    const size_t msg_len = 16u << 20;
    uint8_t *msg;
    smtp_client *s;
    int32_t rc;
    size_t i;

    /* the point of the test: SIGPIPE kills the process unless the library avoids it */
    sigaction(SIGPIPE, NULL, &current);
    ok(current.sa_handler == SIG_DFL, "SIGPIPE has its default disposition (terminate)");

    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 2;
    }
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s/lmtp.sock", dir);
    srv.listener = socket(AF_UNIX, SOCK_STREAM, 0);
    if (srv.listener < 0 || bind(srv.listener, (struct sockaddr *)&addr, sizeof addr) != 0
        || listen(srv.listener, 1) != 0) {
        perror("listening socket");
        return 2;
    }
    if (pthread_create(&thread, NULL, serve, &srv) != 0) {
        fprintf(stderr, "pthread_create failed\n");
        return 2;
    }

    msg = malloc(msg_len);
    if (msg == NULL) {
        return 2;
    }
    memcpy(msg, "Subject: sigpipe\r\n\r\n", 20);
    for (i = 20; i < msg_len; i++) {
        msg[i] = (i % 64 == 63) ? '\n' : 'x';
    }

    s = smtp_client_new(SMTP_CLIENT_KIND_LMTP);
    ok(smtp_client_set_local_hostname(s, "client.sigpipe.test") == SMTP_RESULT_OK
           && smtp_client_set_timeout_ms(s, 10000) == SMTP_RESULT_OK,
       "settings");
    rc = smtp_client_connect(s, addr.sun_path, 0);
    ok(rc == SMTP_RESULT_OK, "connect over the Unix socket");
    if (rc == SMTP_RESULT_OK) {
        rc = smtp_client_sendmail(s, "sender@example.test", to, 1, msg, msg_len, NULL);
        /* still running: no SIGPIPE */
        printf("# sendmail: %s: %s\n", smtp_result_name(rc), smtp_client_last_error_message(s));
        ok(rc == SMTP_RESULT_SERVER_DISCONNECTED, "a server gone mid-body gives SERVER_DISCONNECTED");
    }
    smtp_client_free(s);
    free(msg);

    pthread_join(thread, NULL);
    ok(srv.ok, "the server closed the connection in the middle of the body");
    close(srv.listener);
    unlink(addr.sun_path);
    rmdir(dir);

    printf("1..%d\n", tests_run);
    if (tests_failed == 0) {
        printf("# all %d checks passed\n", tests_run);
        return 0;
    }
    printf("# FAILED %d of %d checks\n", tests_failed, tests_run);
    return 1;
}
