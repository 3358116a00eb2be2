/*
 * poll: send N messages over N concurrent sessions from one thread, with poll(2) and the
 * non-blocking libsmtpclient API.
 *
 *   poll HOST PORT FROM TO N SUBJECT [CA_FILE]
 *
 * Each session connects, sends one message (Subject: SUBJECT #i) and quits, all at the same
 * time. With CA_FILE, every session requires STARTTLS and verifies the server against CA_FILE.
 * Prints one line per session; the exit status is 0 only when every message was accepted.
 *
 * Build: cc -std=c99 poll.c $(pkg-config --cflags --libs smtpclient) -o poll
 */
#define _POSIX_C_SOURCE 200809L
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <smtpclient.h>

/* One session and where it is: connect, then sendmail, then quit. */
struct job {
    smtp_client *client;
    enum { CONNECTING, SENDING, QUITTING, DONE } stage;
    smtp_result result; /* of the send */
    char message[512];
    char body[256];
};

static const char *from_addr, *to_addr;

/* Start the job's next operation: connect, sendmail or quit. */
static smtp_result start_stage(struct job *job, const char *host, uint16_t port)
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

/* An operation of `job` ended with `rc`: start the next one, until one is in progress or the
 * job is done. */
static void advance(struct job *job, smtp_result rc, const char *host, uint16_t port)
{
    while (rc != SMTP_RESULT_IN_PROGRESS && job->stage != DONE) {
        if (job->stage != QUITTING && rc != SMTP_RESULT_OK) {
            job->result = rc; /* the error details are read now: the next call resets them */
            snprintf(job->message, sizeof job->message, "%s",
                     smtp_client_last_error_message(job->client));
            job->stage = DONE;
            break;
        }
        if (job->stage == SENDING) {
            job->result = SMTP_RESULT_OK;
        }
        job->stage++;
        rc = start_stage(job, host, port);
    }
}

int main(int argc, char **argv)
{
    if (argc != 7 && argc != 8) {
        fprintf(stderr, "usage: poll HOST PORT FROM TO N SUBJECT [CA_FILE]\n");
        return 2;
    }
    const char *host = argv[1];
    uint16_t port = (uint16_t)atoi(argv[2]);
    from_addr = argv[3];
    to_addr = argv[4];
    int n = atoi(argv[5]);
    const char *ca_file = argc == 8 ? argv[7] : NULL;
    if (n <= 0) {
        fprintf(stderr, "poll: N must be positive\n");
        return 2;
    }
    struct job *jobs = calloc((size_t)n, sizeof *jobs);
    struct pollfd *fds = calloc((size_t)n, sizeof *fds);
    if (jobs == NULL || fds == NULL) {
        return 1;
    }

    for (int i = 0; i < n; i++) {
        struct job *job = &jobs[i];
        snprintf(job->body, sizeof job->body, "From: <%s>\r\nTo: <%s>\r\nSubject: %s #%d\r\n\r\nMessage %d.\r\n",
                 from_addr, to_addr, argv[6], i, i);
        job->result = SMTP_RESULT_IN_PROGRESS;
        job->client = smtp_client_new(SMTP_CLIENT_KIND_SMTP);
        if (job->client == NULL || smtp_client_set_timeout_ms(job->client, 30000) != SMTP_RESULT_OK) {
            return 1;
        }
        if (ca_file != NULL && (smtp_client_set_tls_ca_file(job->client, ca_file) != SMTP_RESULT_OK ||
                                smtp_client_set_tls_policy(job->client, SMTP_TLS_POLICY_REQUIRED) != SMTP_RESULT_OK)) {
            fprintf(stderr, "poll: %s\n", smtp_client_last_error_message(job->client));
            return 1;
        }
        advance(job, start_stage(job, host, port), host, port);
    }

    for (;;) {
        /* Wait for every session in progress: its descriptor and events, its deadline. */
        nfds_t count = 0;
        int timeout = -1;
        for (int i = 0; i < n; i++) {
            fds[i].fd = -1; /* poll ignores negative descriptors */
            fds[i].revents = 0;
            if (jobs[i].stage == DONE) {
                continue;
            }
            uint32_t events = smtp_client_events(jobs[i].client);
            fds[i].fd = smtp_client_fd(jobs[i].client);
            fds[i].events = (short)(((events & SMTP_EVENT_READ) ? POLLIN : 0) |
                                    ((events & SMTP_EVENT_WRITE) ? POLLOUT : 0));
            int64_t ms = smtp_client_timeout_ms(jobs[i].client);
            if (ms >= 0 && (timeout < 0 || ms < timeout)) {
                timeout = ms > 60000 ? 60000 : (int)ms;
            }
            count++;
        }
        if (count == 0) {
            break;
        }
        if (poll(fds, (nfds_t)n, timeout) < 0) {
            perror("poll");
            return 1;
        }
        /* Step every session whose descriptor is ready or whose deadline has passed. */
        for (int i = 0; i < n; i++) {
            if (jobs[i].stage == DONE) {
                continue;
            }
            if (fds[i].revents != 0 || smtp_client_timeout_ms(jobs[i].client) == 0) {
                advance(&jobs[i], smtp_client_step(jobs[i].client), host, port);
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
    free(fds);
    return failed == 0 ? 0 : 1;
}
