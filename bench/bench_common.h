/* Common pieces of the benchmark's C clients: the test message, timing, peak RSS, output. */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

/* The small message: the shape of smtp-source's default (From, To, Date, Message-Id, four lines). */
static const char BENCH_SMALL_MSG[] =
    "From: <a@example.test>\r\n"
    "To: <b@example.test>\r\n"
    "Date: Sun, 29 Nov 2026 14:55:54 +0000 (UTC)\r\n"
    "Message-Id: <59df.0003.0000@bench.example.test>\r\n"
    "\r\n"
    "La de da de da 1.\r\n"
    "La de da de da 2.\r\n"
    "La de da de da 3.\r\n"
    "La de da de da 4.\r\n";

#define BENCH_FROM "a@example.test"
#define BENCH_RCPT "b@example.test"
#define BENCH_EHLO "bench.example.test"

/* The large message: this header, then 76 'x' and CRLF per line, up to the target size. */
static const char BENCH_BIG_HEADER[] =
    "From: <a@example.test>\r\nTo: <b@example.test>\r\nSubject: big\r\n\r\n";
#define BENCH_LINE_LEN 78

/* Build a large message of about `target` bytes (whole lines); *len receives its size. */
static inline char *bench_big_message(size_t target, size_t *len) {
    size_t hlen = sizeof BENCH_BIG_HEADER - 1;
    size_t lines = (target - hlen) / BENCH_LINE_LEN;
    size_t n = hlen + lines * BENCH_LINE_LEN;
    char *m = malloc(n);
    if (!m) { perror("malloc"); exit(1); }
    memcpy(m, BENCH_BIG_HEADER, hlen);
    char *p = m + hlen;
    for (size_t i = 0; i < lines; i++, p += BENCH_LINE_LEN) {
        memset(p, 'x', BENCH_LINE_LEN - 2);
        p[BENCH_LINE_LEN - 2] = '\r';
        p[BENCH_LINE_LEN - 1] = '\n';
    }
    *len = n;
    return m;
}

static inline double bench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One machine-readable line:
 *   RESULT msgs=N bytes=B seconds=S rate=MSGS_PER_S mbps=MB_PER_S rss_kb=PEAK_RSS cpu=CPU_SECONDS
 * rss_kb is the peak resident set size of the process (KiB), cpu its user + system time. */
static inline void bench_report(long msgs, double bytes, double seconds) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
                 (double)ru.ru_stime.tv_usec / 1e6;
    printf("RESULT msgs=%ld bytes=%.0f seconds=%.6f rate=%.1f mbps=%.2f rss_kb=%ld cpu=%.3f\n", msgs, bytes, seconds,
           (double)msgs / seconds, bytes / 1e6 / seconds, ru.ru_maxrss, cpu);
    fflush(stdout);
}

#endif
