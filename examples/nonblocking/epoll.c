/*
 * epoll: send N messages over N concurrent sessions from one thread, with epoll(7) and the
 * non-blocking libsmtpclient API.
 *
 *   epoll HOST PORT FROM TO N SUBJECT [CA_FILE]
 *
 * The same program as poll.c (see there), on Linux's epoll: each session's descriptor is
 * registered once and changed only when the session asks for something else. A session's
 * descriptor can change between steps (the resolver's while a name is resolved, then the
 * socket's), so it is compared after every step.
 *
 * Build: cc -std=c99 epoll.c $(pkg-config --cflags --libs smtpclient) -o epoll
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
    smtp_result result;
    char message[512];
    char body[256];
    int registered_fd; /* the descriptor in the epoll set for this job, or -1 */
    uint32_t registered_events;
};

static const char *host, *from_addr, *to_addr;
static uint16_t port;
static int epfd;

static smtp_result start_stage(struct job *job)
{
    switch (job->stage) {
    case CONNECTING:
        return smtp_client_start_connect(job->client, host, port);
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

/* Make the epoll set say what the job waits for now (nothing once it is done). */
static int watch(struct job *job)
{
    int fd = job->stage == DONE ? -1 : smtp_client_fd(job->client);
    uint32_t want = job->stage == DONE ? 0 : smtp_client_events(job->client);
    uint32_t events = ((want & SMTP_EVENT_READ) ? EPOLLIN : 0) | ((want & SMTP_EVENT_WRITE) ? EPOLLOUT : 0);
    /* MOD even when nothing seems to have changed: the same number may be a new descriptor
     * (the old one closed, as when connect moves on to the next address), which epoll then no
     * longer holds: MOD fails with ENOENT and ADD is needed */
    if (job->registered_fd >= 0 && fd != job->registered_fd) {
        /* the old descriptor may be closed already (the resolver's): epoll then dropped it */
        if (epoll_ctl(epfd, EPOLL_CTL_DEL, job->registered_fd, NULL) < 0 && errno != EBADF && errno != ENOENT) {
            return -1;
        }
        job->registered_fd = -1;
    }
    if (fd >= 0) {
        struct epoll_event ev = { .events = events, .data.ptr = job };
        int op = fd == job->registered_fd ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
        if (epoll_ctl(epfd, op, fd, &ev) < 0 && (op != EPOLL_CTL_MOD || errno != ENOENT ||
                                                   epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0)) {
            return -1;
        }
    }
    job->registered_fd = fd;
    job->registered_events = events;
    return 0;
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
        }
        job->stage++;
        rc = start_stage(job);
    }
    if (watch(job) < 0) {
        perror("epoll_ctl");
        exit(1);
    }
}

int main(int argc, char **argv)
{
    if (argc != 7 && argc != 8) {
        fprintf(stderr, "usage: epoll HOST PORT FROM TO N SUBJECT [CA_FILE]\n");
        return 2;
    }
    host = argv[1];
    port = (uint16_t)atoi(argv[2]);
    from_addr = argv[3];
    to_addr = argv[4];
    int n = atoi(argv[5]);
    const char *ca_file = argc == 8 ? argv[7] : NULL;
    epfd = epoll_create1(EPOLL_CLOEXEC);
    struct job *jobs = n > 0 ? calloc((size_t)n, sizeof *jobs) : NULL;
    if (jobs == NULL || epfd < 0) {
        fprintf(stderr, "epoll: bad N, or out of resources\n");
        return 2;
    }

    for (int i = 0; i < n; i++) {
        struct job *job = &jobs[i];
        snprintf(job->body, sizeof job->body, "From: <%s>\r\nTo: <%s>\r\nSubject: %s #%d\r\n\r\nMessage %d.\r\n",
                 from_addr, to_addr, argv[6], i, i);
        job->result = SMTP_RESULT_IN_PROGRESS;
        job->registered_fd = -1;
        job->client = smtp_client_new(SMTP_CLIENT_KIND_SMTP);
        if (job->client == NULL || smtp_client_set_timeout_ms(job->client, 30000) != SMTP_RESULT_OK) {
            return 1;
        }
        if (ca_file != NULL && (smtp_client_set_tls_ca_file(job->client, ca_file) != SMTP_RESULT_OK ||
                                smtp_client_set_tls_policy(job->client, SMTP_TLS_POLICY_REQUIRED) != SMTP_RESULT_OK)) {
            fprintf(stderr, "epoll: %s\n", smtp_client_last_error_message(job->client));
            return 1;
        }
        advance(job, start_stage(job));
    }

    int running = n;
    struct epoll_event ready[64];
    while (running > 0) {
        int timeout = -1;
        running = 0;
        for (int i = 0; i < n; i++) {
            if (jobs[i].stage == DONE) {
                continue;
            }
            running++;
            int64_t ms = smtp_client_timeout_ms(jobs[i].client);
            if (ms >= 0 && (timeout < 0 || ms < timeout)) {
                timeout = ms > 60000 ? 60000 : (int)ms;
            }
        }
        if (running == 0) {
            break;
        }
        int k = epoll_wait(epfd, ready, 64, timeout);
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
        /* sessions whose deadline passed: their step fails them with SMTP_RESULT_TIMEOUT */
        for (int i = 0; i < n; i++) {
            if (jobs[i].stage != DONE && smtp_client_timeout_ms(jobs[i].client) == 0) {
                advance(&jobs[i], smtp_client_step(jobs[i].client));
            }
        }
    }

    int failed = 0;
    for (int i = 0; i < n; i++) {
        if (jobs[i].result == SMTP_RESULT_OK) {
            printf("session %d: sent\n", i);
        } else {
            printf("session %d: %s: %s\n", i, smtp_result_name(jobs[i].result), jobs[i].message);
            failed++;
        }
        smtp_client_free(jobs[i].client);
    }
    free(jobs);
    return failed == 0 ? 0 : 1;
}
