/*
 * uv: send N messages over N concurrent sessions on a libuv loop, with the non-blocking
 * libsmtpclient API.
 *
 *   uv HOST PORT FROM TO N SUBJECT [CA_FILE]
 *
 * The same program as poll.c (see there), on libuv (Debian's libuv1-dev): each session has a
 * uv_poll_t on its descriptor and a uv_timer_t for its deadline. A session's descriptor can
 * change between steps (the resolver's while a name is resolved, then the socket's): a new
 * descriptor gets a new uv_poll_t, as libuv requires.
 *
 * Build: cc -std=c99 uv.c $(pkg-config --cflags --libs smtpclient libuv) -o uv
 */
#define _POSIX_C_SOURCE 200809L /* uv.h needs POSIX threads' types */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <smtpclient.h>
#include <uv.h>

struct job {
    smtp_client *client;
    enum { CONNECTING, SENDING, QUITTING, DONE } stage;
    smtp_result result;
    char message[512];
    char body[256];
    uv_poll_t *poll; /* on `poll_fd`, or NULL */
    int poll_fd;
    uv_timer_t timer;
};

static const char *host, *from_addr, *to_addr;
static uint16_t port;
static uv_loop_t *loop;

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

static void on_poll(uv_poll_t *handle, int status, int events);
static void on_timer(uv_timer_t *timer);

static void free_handle(uv_handle_t *handle)
{
    free(handle);
}

/* Stop watching the job's descriptor (the handle is freed once libuv is done with it). */
static void unwatch(struct job *job)
{
    if (job->poll != NULL) {
        uv_close((uv_handle_t *)job->poll, free_handle);
        job->poll = NULL;
        job->poll_fd = -1;
    }
}

/* Make the loop watch what the job waits for now: its descriptor, and its deadline. */
static void watch(struct job *job)
{
    if (job->stage == DONE) {
        unwatch(job);
        uv_close((uv_handle_t *)&job->timer, NULL);
        return;
    }
    int fd = smtp_client_fd(job->client);
    uint32_t want = smtp_client_events(job->client);
    if (fd != job->poll_fd) {
        unwatch(job);
    }
    if (fd >= 0) {
        if (job->poll == NULL) {
            job->poll = malloc(sizeof *job->poll);
            if (job->poll == NULL || uv_poll_init(loop, job->poll, fd) != 0) {
                fprintf(stderr, "uv: cannot watch descriptor %d\n", fd);
                exit(1);
            }
            job->poll->data = job;
            job->poll_fd = fd;
        }
        int events = ((want & SMTP_EVENT_READ) ? UV_READABLE : 0) | ((want & SMTP_EVENT_WRITE) ? UV_WRITABLE : 0);
        uv_poll_start(job->poll, events, on_poll);
    }
    int64_t ms = smtp_client_timeout_ms(job->client);
    if (ms >= 0) {
        uv_timer_start(&job->timer, on_timer, (uint64_t)ms, 0);
    } else {
        uv_timer_stop(&job->timer);
    }
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
    watch(job);
}

static void on_poll(uv_poll_t *handle, int status, int events)
{
    (void)status; /* an error on the descriptor: the step finds it and reports it */
    (void)events;
    struct job *job = handle->data;
    advance(job, smtp_client_step(job->client));
}

static void on_timer(uv_timer_t *timer)
{
    struct job *job = timer->data;
    /* the deadline passed: this step fails the operation with SMTP_RESULT_TIMEOUT */
    advance(job, smtp_client_step(job->client));
}

int main(int argc, char **argv)
{
    if (argc != 7 && argc != 8) {
        fprintf(stderr, "usage: uv HOST PORT FROM TO N SUBJECT [CA_FILE]\n");
        return 2;
    }
    host = argv[1];
    port = (uint16_t)atoi(argv[2]);
    from_addr = argv[3];
    to_addr = argv[4];
    int n = atoi(argv[5]);
    const char *ca_file = argc == 8 ? argv[7] : NULL;
    struct job *jobs = n > 0 ? calloc((size_t)n, sizeof *jobs) : NULL;
    if (jobs == NULL) {
        fprintf(stderr, "uv: N must be positive\n");
        return 2;
    }
    loop = uv_default_loop();

    for (int i = 0; i < n; i++) {
        struct job *job = &jobs[i];
        snprintf(job->body, sizeof job->body, "From: <%s>\r\nTo: <%s>\r\nSubject: %s #%d\r\n\r\nMessage %d.\r\n",
                 from_addr, to_addr, argv[6], i, i);
        job->result = SMTP_RESULT_IN_PROGRESS;
        job->poll_fd = -1;
        uv_timer_init(loop, &job->timer);
        job->timer.data = job;
        job->client = smtp_client_new(SMTP_CLIENT_KIND_SMTP);
        if (job->client == NULL || smtp_client_set_timeout_ms(job->client, 30000) != SMTP_RESULT_OK) {
            return 1;
        }
        if (ca_file != NULL && (smtp_client_set_tls_ca_file(job->client, ca_file) != SMTP_RESULT_OK ||
                                smtp_client_set_tls_policy(job->client, SMTP_TLS_POLICY_REQUIRED) != SMTP_RESULT_OK)) {
            fprintf(stderr, "uv: %s\n", smtp_client_last_error_message(job->client));
            return 1;
        }
        advance(job, start_stage(job));
    }

    uv_run(loop, UV_RUN_DEFAULT);

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
    uv_loop_close(loop);
    return failed == 0 ? 0 : 1;
}
