/*
 * nonblocking_test: many sessions driven from one thread with epoll through the non-blocking
 * API, to several servers at once, part of them over STARTTLS.
 *
 *   nonblocking_test N SUBJECT
 *
 * Reads the test bed from the environment (SMTP_HOST, SMTP_PORT, SMTP_SINK_PORT,
 * SMTP_CA_FILE). Of the N sessions, 4 in 10 send to Postfix in plain text, 3 in 10 to Postfix
 * with STARTTLS required and verified against the test bed's CA, and 3 in 10 to smtp-sink;
 * each connects, sends one message to bob@example.test (Subject: SUBJECT #i) and quits. Every
 * session must succeed, with TLS active exactly where it was required, and the descriptor of
 * each must be reported consistently (events only with a descriptor). Prints how many went
 * to Postfix (the caller counts them in the Maildir) and exits 0 only if all is well.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include <smtpclient.h>

struct job {
    smtp_client *client;
    enum { CONNECTING, SENDING, QUITTING, DONE } stage;
    int port;
    int tls;
    int postfix;
    smtp_result result;
    int tls_seen;
    char message[512];
    char body[256];
    int registered_fd;
    uint32_t registered_events;
};

static const char *host;
static const char *from_addr = "nonblocking@example.test";
static const char *to_addr = "bob@example.test";
static int epfd;
static int problems;

static void problem(const struct job *job, const char *what)
{
    fprintf(stderr, "nonblocking_test: session on port %d: %s\n", job->port, what);
    problems++;
}

static smtp_result start_stage(struct job *job)
{
    switch (job->stage) {
    case CONNECTING:
        return smtp_client_start_connect(job->client, host, (uint16_t)job->port);
    case SENDING:
        return smtp_client_start_sendmail(job->client, from_addr, &to_addr, 1,
                                          (const uint8_t *)job->body, strlen(job->body), NULL);
    case QUITTING:
        return smtp_client_start_quit(job->client);
    case DONE:
        break;
    }
    return SMTP_RESULT_OK;
}

static void watch(struct job *job)
{
    int fd = job->stage == DONE ? -1 : smtp_client_fd(job->client);
    uint32_t want = job->stage == DONE ? 0 : smtp_client_events(job->client);
    if (job->stage != DONE && !smtp_client_in_progress(job->client)) {
        problem(job, "an operation returned SMTP_RESULT_IN_PROGRESS but smtp_client_in_progress() is false");
    }
    if (fd < 0 && (want & (SMTP_EVENT_READ | SMTP_EVENT_WRITE)) != 0) {
        problem(job, "read or write events without a descriptor");
    }
    uint32_t events = ((want & SMTP_EVENT_READ) ? EPOLLIN : 0) | ((want & SMTP_EVENT_WRITE) ? EPOLLOUT : 0);
    /* MOD even when nothing seems to have changed: the same number may be a new descriptor
     * (the old one closed, as when connect moves on to the next address), which epoll then no
     * longer holds: MOD fails with ENOENT and ADD is needed */
    if (job->registered_fd >= 0 && fd != job->registered_fd) {
        (void)epoll_ctl(epfd, EPOLL_CTL_DEL, job->registered_fd, NULL); /* may be closed already */
        job->registered_fd = -1;
    }
    if (fd >= 0) {
        struct epoll_event ev = { .events = events, .data.ptr = job };
        int op = fd == job->registered_fd ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
        if (epoll_ctl(epfd, op, fd, &ev) < 0 &&
            (op != EPOLL_CTL_MOD || errno != ENOENT || epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0)) {
            perror("epoll_ctl");
            exit(1);
        }
    }
    job->registered_fd = fd;
    job->registered_events = events;
}

static void advance(struct job *job, smtp_result rc)
{
    while (rc != SMTP_RESULT_IN_PROGRESS && job->stage != DONE) {
        if (job->stage != QUITTING && rc != SMTP_RESULT_OK) {
            job->result = rc;
            snprintf(job->message, sizeof job->message, "%s", smtp_client_last_error_message(job->client));
            job->stage = DONE;
            break;
        }
        if (job->stage == SENDING) {
            job->result = SMTP_RESULT_OK;
            job->tls_seen = smtp_client_tls_active(job->client);
        }
        job->stage++;
        rc = start_stage(job);
    }
    watch(job);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: nonblocking_test N SUBJECT\n");
        return 2;
    }
    int n = atoi(argv[1]);
    host = getenv("SMTP_HOST");
    const char *smtp_port = getenv("SMTP_PORT"), *sink_port = getenv("SMTP_SINK_PORT");
    const char *ca_file = getenv("SMTP_CA_FILE");
    if (n <= 0 || !host || !smtp_port || !sink_port || !ca_file) {
        fprintf(stderr, "nonblocking_test: N > 0 and the test bed's environment are needed\n");
        return 2;
    }
    epfd = epoll_create1(EPOLL_CLOEXEC);
    struct job *jobs = calloc((size_t)n, sizeof *jobs);
    if (jobs == NULL || epfd < 0) {
        return 1;
    }
    int to_postfix = 0;
    for (int i = 0; i < n; i++) {
        struct job *job = &jobs[i];
        int kind = i % 10; /* 0-3 Postfix plain, 4-6 Postfix STARTTLS, 7-9 smtp-sink */
        job->postfix = kind < 7;
        job->tls = kind >= 4 && kind < 7;
        job->port = atoi(job->postfix ? smtp_port : sink_port);
        to_postfix += job->postfix;
        job->registered_fd = -1;
        job->result = SMTP_RESULT_IN_PROGRESS;
        snprintf(job->body, sizeof job->body, "From: <%s>\r\nTo: <%s>\r\nSubject: %s #%d\r\n\r\nMessage %d.\r\n",
                 from_addr, to_addr, argv[2], i, i);
        job->client = smtp_client_new(SMTP_CLIENT_KIND_SMTP);
        if (job->client == NULL || smtp_client_set_timeout_ms(job->client, 60000) != SMTP_RESULT_OK ||
            smtp_client_set_tls_ca_file(job->client, ca_file) != SMTP_RESULT_OK ||
            smtp_client_set_tls_policy(job->client, job->tls ? SMTP_TLS_POLICY_REQUIRED : SMTP_TLS_POLICY_NONE) !=
                SMTP_RESULT_OK) {
            fprintf(stderr, "nonblocking_test: session setup failed\n");
            return 1;
        }
        advance(job, start_stage(job));
    }

    struct epoll_event ready[128];
    for (;;) {
        int timeout = -1, running = 0;
        for (int i = 0; i < n; i++) {
            if (jobs[i].stage == DONE) {
                continue;
            }
            running++;
            int64_t ms = smtp_client_timeout_ms(jobs[i].client);
            if (ms >= 0 && (timeout < 0 || ms < timeout)) {
                timeout = (int)ms;
            }
        }
        if (running == 0) {
            break;
        }
        int k = epoll_wait(epfd, ready, 128, timeout);
        if (k < 0 && errno != EINTR) {
            perror("epoll_wait");
            return 1;
        }
        for (int e = 0; e < k; e++) {
            struct job *job = ready[e].data.ptr;
            if (job->stage != DONE) {
                advance(job, smtp_client_step(job->client));
            }
        }
        for (int i = 0; i < n; i++) {
            if (jobs[i].stage != DONE && smtp_client_timeout_ms(jobs[i].client) == 0) {
                advance(&jobs[i], smtp_client_step(jobs[i].client));
            }
        }
    }

    for (int i = 0; i < n; i++) {
        struct job *job = &jobs[i];
        if (job->result != SMTP_RESULT_OK) {
            char what[700];
            snprintf(what, sizeof what, "#%d failed: %s: %s", i, smtp_result_name(job->result), job->message);
            problem(job, what);
        } else if (job->tls_seen != job->tls) {
            problem(job, job->tls ? "TLS was required but is not active" : "TLS is active but was not asked for");
        }
        if (smtp_client_in_progress(job->client) || smtp_client_fd(job->client) != -1 ||
            smtp_client_events(job->client) != 0 || smtp_client_timeout_ms(job->client) != -1) {
            problem(job, "the getters still report an operation after it ended");
        }
        smtp_client_free(job->client);
    }
    free(jobs);
    printf("%d\n", to_postfix);
    return problems == 0 ? 0 : 1;
}
