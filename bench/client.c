/* client: the libsmtpclient side of the benchmark, through the public C API only.
 *
 *   client HOST PORT small  COUNT  PIPELINING CHUNKING THREADS
 *       COUNT small messages in total, split over THREADS threads, one session each,
 *       smtp_client_sendmail() in a loop on that one connection.
 *   client HOST PORT big    MBYTES PIPELINING CHUNKING 1
 *       one message of MBYTES MB from memory with smtp_client_sendmail().
 *   client HOST PORT stream MBYTES PIPELINING CHUNKING 1
 *       one message of MBYTES MB with smtp_client_sendmail_stream(), generated line by line in the
 *       read callback (no message buffer); reports the peak RSS.
 *
 * PIPELINING and CHUNKING (0/1) are the session settings; the server must offer the extension
 * for it to be used. Prints one RESULT line (see bench_common.h). Timing covers connect to QUIT.
 */
#include <pthread.h>
#include <smtpclient.h>

#include "bench_common.h"

struct job {
    const char *host;
    int port;
    const char *mode;
    long count;
    int pipelining, chunking;
    const char *msg;
    size_t len;
    int failed;
};

static void fail(smtp_client *c, const char *what, smtp_result r) {
    fprintf(stderr, "client: %s: %s: %s\n", what, smtp_result_name(r), smtp_client_last_error_message(c));
}

/* End a session the way every client in the benchmark does: QUIT (its reply does not change
   what was measured), then free. */
static void quit_and_free(smtp_client *c) {
    if (smtp_client_quit(c) != SMTP_RESULT_OK)
        fprintf(stderr, "client: QUIT: %s\n", smtp_client_last_error_message(c));
    smtp_client_free(c);
}

static smtp_client *open_session(struct job *j) {
    smtp_client *c = smtp_client_new(SMTP_CLIENT_KIND_SMTP);
    if (!c) {
        fprintf(stderr, "client: smtp_client_new failed\n");
        return NULL;
    }
    smtp_result r;
    if ((r = smtp_client_set_local_hostname(c, BENCH_EHLO)) != SMTP_RESULT_OK ||
        (r = smtp_client_set_pipelining(c, j->pipelining ? SMTP_EXTENSION_USE_WHEN_OFFERED : SMTP_EXTENSION_USE_NEVER)) != SMTP_RESULT_OK ||
        (r = smtp_client_set_chunking(c, j->chunking ? SMTP_EXTENSION_USE_WHEN_OFFERED : SMTP_EXTENSION_USE_NEVER)) != SMTP_RESULT_OK ||
        (r = smtp_client_connect(c, j->host, (uint16_t)j->port)) != SMTP_RESULT_OK) {
        fail(c, "setup/connect", r);
        smtp_client_free(c);
        return NULL;
    }
    return c;
}

static void *run_small(void *arg) {
    struct job *j = arg;
    smtp_client *c = open_session(j);
    if (!c) {
        j->failed = 1;
        return NULL;
    }
    const char *to[] = { BENCH_RCPT };
    for (long i = 0; i < j->count; i++) {
        smtp_result r = smtp_client_sendmail(c, BENCH_FROM, to, 1, (const uint8_t *)j->msg, j->len, NULL);
        if (r != SMTP_RESULT_OK) {
            fail(c, "smtp_client_sendmail", r);
            j->failed = 1;
            break;
        }
    }
    quit_and_free(c);
    return NULL;
}

/* stream mode: the message is generated here, a header then 78-byte lines, `left` bytes in all */
struct gen {
    size_t left;     /* bytes still to produce */
    size_t hdr_pos;  /* position in the header */
    size_t line_pos; /* position within the current body line */
};

static int64_t gen_read(void *userdata, uint8_t *buf, size_t cap) {
    struct gen *g = userdata;
    size_t n = 0;
    size_t hlen = sizeof BENCH_BIG_HEADER - 1;
    while (n < cap && g->left > 0) {
        size_t room = cap - n < g->left ? cap - n : g->left;
        size_t k;
        if (g->hdr_pos < hlen) {
            k = hlen - g->hdr_pos < room ? hlen - g->hdr_pos : room;
            memcpy(buf + n, BENCH_BIG_HEADER + g->hdr_pos, k);
            g->hdr_pos += k;
        } else {
            static char line[BENCH_LINE_LEN];
            if (!line[0]) {
                memset(line, 'x', BENCH_LINE_LEN - 2);
                line[BENCH_LINE_LEN - 2] = '\r';
                line[BENCH_LINE_LEN - 1] = '\n';
            }
            k = BENCH_LINE_LEN - g->line_pos < room ? BENCH_LINE_LEN - g->line_pos : room;
            memcpy(buf + n, line + g->line_pos, k);
            g->line_pos = (g->line_pos + k) % BENCH_LINE_LEN;
        }
        n += k;
        g->left -= k;
    }
    return (int64_t)n;
}

int main(int argc, char **argv) {
    if (argc != 8) {
        fprintf(stderr, "usage: %s HOST PORT small|big|stream COUNT|MBYTES PIPELINING CHUNKING THREADS\n", argv[0]);
        return 2;
    }
    struct job base = { .host = argv[1], .port = atoi(argv[2]), .mode = argv[3], .count = atol(argv[4]),
                        .pipelining = atoi(argv[5]), .chunking = atoi(argv[6]) };
    int threads = atoi(argv[7]);
    if (threads < 1 || base.count < 1) {
        fprintf(stderr, "client: COUNT and THREADS must be positive\n");
        return 2;
    }
    const char *to[] = { BENCH_RCPT };

    if (strcmp(base.mode, "small") == 0) {
        base.msg = BENCH_SMALL_MSG;
        base.len = sizeof BENCH_SMALL_MSG - 1;
        struct job *jobs = calloc((size_t)threads, sizeof *jobs);
        pthread_t *tids = calloc((size_t)threads, sizeof *tids);
        double t0 = bench_now();
        for (int i = 0; i < threads; i++) {
            jobs[i] = base;
            jobs[i].count = base.count / threads + (i < base.count % threads);
            if (pthread_create(&tids[i], NULL, run_small, &jobs[i]) != 0) {
                perror("pthread_create");
                return 1;
            }
        }
        int failed = 0;
        for (int i = 0; i < threads; i++) {
            pthread_join(tids[i], NULL);
            failed |= jobs[i].failed;
        }
        double dt = bench_now() - t0;
        if (failed) return 1;
        bench_report(base.count, (double)base.count * (double)base.len, dt);
        return 0;
    }

    if (strcmp(base.mode, "big") == 0) {
        size_t len;
        char *msg = bench_big_message((size_t)base.count * 1000000u, &len);
        double t0 = bench_now();
        smtp_client *c = open_session(&base);
        if (!c) return 1;
        smtp_result r = smtp_client_sendmail(c, BENCH_FROM, to, 1, (const uint8_t *)msg, len, NULL);
        if (r != SMTP_RESULT_OK) {
            fail(c, "smtp_client_sendmail", r);
            return 1;
        }
        quit_and_free(c);
        double dt = bench_now() - t0;
        bench_report(1, (double)len, dt);
        free(msg);
        return 0;
    }

    if (strcmp(base.mode, "stream") == 0) {
        size_t hlen = sizeof BENCH_BIG_HEADER - 1;
        size_t target = (size_t)base.count * 1000000u;
        struct gen g = { .left = hlen + (target - hlen) / BENCH_LINE_LEN * BENCH_LINE_LEN };
        size_t total = g.left;
        double t0 = bench_now();
        smtp_client *c = open_session(&base);
        if (!c) return 1;
        smtp_send_options *options = smtp_send_options_new();
        smtp_result r = options ? smtp_send_options_set_size_estimate(options, (int64_t)total) : SMTP_RESULT_PANIC;
        if (r == SMTP_RESULT_OK)
            r = smtp_client_sendmail_stream(c, BENCH_FROM, to, 1, gen_read, &g, options);
        smtp_send_options_free(options);
        if (r != SMTP_RESULT_OK) {
            fail(c, "smtp_client_sendmail_stream", r);
            return 1;
        }
        quit_and_free(c);
        double dt = bench_now() - t0;
        bench_report(1, (double)total, dt);
        return 0;
    }

    fprintf(stderr, "client: unknown mode %s\n", base.mode);
    return 2;
}
