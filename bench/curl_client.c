/* curl_client: libcurl's SMTP as a point of comparison.
 *
 *   curl_client HOST PORT small COUNT THREADS   COUNT small messages split over THREADS threads
 *   curl_client HOST PORT big   MBYTES 1        one MBYTES MB message from memory
 *
 * Each thread reuses one easy handle for all its messages, so libcurl keeps the connection
 * (EHLO once, then MAIL / RCPT / DATA per message; libcurl neither pipelines nor uses BDAT).
 * Prints one RESULT line (see bench_common.h).
 */
#include <curl/curl.h>
#include <pthread.h>

#include "bench_common.h"

struct job {
    char url[256];
    long count;
    const char *msg;
    size_t len;
    int failed;
};

struct src {
    const char *p;
    size_t left;
};

static size_t read_cb(char *buf, size_t size, size_t nitems, void *userdata) {
    struct src *s = userdata;
    size_t n = size * nitems < s->left ? size * nitems : s->left;
    memcpy(buf, s->p, n);
    s->p += n;
    s->left -= n;
    return n;
}

static void *run(void *arg) {
    struct job *j = arg;
    CURL *h = curl_easy_init();
    if (!h) {
        j->failed = 1;
        return NULL;
    }
    struct curl_slist *rcpt = curl_slist_append(NULL, "<" BENCH_RCPT ">");
    struct src s;
    curl_easy_setopt(h, CURLOPT_URL, j->url);
    curl_easy_setopt(h, CURLOPT_MAIL_FROM, "<" BENCH_FROM ">");
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(h, CURLOPT_READDATA, &s);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)j->len);
    curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, 2L * 1024 * 1024); /* the largest libcurl allows */
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    for (long i = 0; i < j->count; i++) {
        s.p = j->msg;
        s.left = j->len;
        CURLcode rc = curl_easy_perform(h);
        if (rc != CURLE_OK) {
            fprintf(stderr, "curl_client: %s\n", curl_easy_strerror(rc));
            j->failed = 1;
            break;
        }
    }
    curl_easy_cleanup(h); /* sends QUIT */
    curl_slist_free_all(rcpt);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: %s HOST PORT small|big COUNT|MBYTES THREADS\n", argv[0]);
        return 2;
    }
    int threads = atoi(argv[5]);
    long count = atol(argv[4]);
    if (threads < 1 || count < 1) return 2;
    curl_global_init(CURL_GLOBAL_DEFAULT);

    struct job base = { .count = count };
    snprintf(base.url, sizeof base.url, "smtp://%s:%s/%s", argv[1], argv[2], BENCH_EHLO);
    long msgs;
    if (strcmp(argv[3], "small") == 0) {
        base.msg = BENCH_SMALL_MSG;
        base.len = sizeof BENCH_SMALL_MSG - 1;
        msgs = count;
    } else if (strcmp(argv[3], "big") == 0) {
        base.msg = bench_big_message((size_t)count * 1000000u, &base.len);
        base.count = 1;
        threads = 1;
        msgs = 1;
    } else {
        return 2;
    }

    struct job *jobs = calloc((size_t)threads, sizeof *jobs);
    pthread_t *tids = calloc((size_t)threads, sizeof *tids);
    double t0 = bench_now();
    for (int i = 0; i < threads; i++) {
        jobs[i] = base;
        if (msgs > 1) jobs[i].count = count / threads + (i < count % threads);
        pthread_create(&tids[i], NULL, run, &jobs[i]);
    }
    int failed = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(tids[i], NULL);
        failed |= jobs[i].failed;
    }
    double dt = bench_now() - t0;
    if (failed) return 1;
    bench_report(msgs, (double)msgs * (double)base.len, dt);
    curl_global_cleanup();
    return 0;
}
