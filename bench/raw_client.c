/* raw_client: the ceiling for a large message, with no SMTP client library at all.
 *
 *   raw_client HOST PORT MBYTES data|bdat
 *
 * Builds the same large message as `client big` (its lines need no dot-stuffing, so the bytes
 * are already what goes on the wire), then a hand-written lock-step EHLO / MAIL / RCPT exchange
 * and either DATA + the bytes + ".\r\n", or one `BDAT n LAST` + the bytes, written straight
 * into the socket. Prints one RESULT line (see bench_common.h); timing covers connect to QUIT.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_common.h"

static int fd;
static char rbuf[65536];
static size_t rlen;

static void send_all(const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            perror("raw_client: write");
            exit(1);
        }
        p += w;
        n -= (size_t)w;
    }
}

/* Read one whole reply and return its code; fail unless it is `want`. */
static int reply(int want) {
    for (;;) {
        /* a reply is complete when a line "ddd " ... CRLF has arrived */
        size_t start = 0;
        for (size_t i = 0; i + 1 < rlen; i++) {
            if (rbuf[i] == '\r' && rbuf[i + 1] == '\n') {
                if (i - start >= 3 && rbuf[start + 3] != '-') {
                    int code = atoi(rbuf + start);
                    memmove(rbuf, rbuf + i + 2, rlen - (i + 2));
                    rlen -= i + 2;
                    if (code != want) {
                        fprintf(stderr, "raw_client: expected %d, got %d\n", want, code);
                        exit(1);
                    }
                    return code;
                }
                start = i + 2;
            }
        }
        if (rlen == sizeof rbuf) {
            fprintf(stderr, "raw_client: reply too long\n");
            exit(1);
        }
        ssize_t r = read(fd, rbuf + rlen, sizeof rbuf - rlen);
        if (r <= 0) {
            fprintf(stderr, "raw_client: connection closed\n");
            exit(1);
        }
        rlen += (size_t)r;
    }
}

static void cmd(const char *line, int want) {
    send_all(line, strlen(line));
    reply(want);
}

int main(int argc, char **argv) {
    if (argc != 5 || (strcmp(argv[4], "data") != 0 && strcmp(argv[4], "bdat") != 0)) {
        fprintf(stderr, "usage: %s HOST PORT MBYTES data|bdat\n", argv[0]);
        return 2;
    }
    int bdat = strcmp(argv[4], "bdat") == 0;
    size_t len;
    char *msg = bench_big_message((size_t)atol(argv[3]) * 1000000u, &len);

    double t0 = bench_now();
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2])) };
    if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) {
        fprintf(stderr, "raw_client: HOST must be an IPv4 address\n");
        return 2;
    }
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        perror("raw_client: connect");
        return 1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    reply(220);
    cmd("EHLO " BENCH_EHLO "\r\n", 250);
    cmd("MAIL FROM:<" BENCH_FROM ">\r\n", 250);
    cmd("RCPT TO:<" BENCH_RCPT ">\r\n", 250);
    if (bdat) {
        char verb[64];
        snprintf(verb, sizeof verb, "BDAT %zu LAST\r\n", len);
        send_all(verb, strlen(verb));
        send_all(msg, len);
    } else {
        cmd("DATA\r\n", 354);
        send_all(msg, len);
        send_all(".\r\n", 3);
    }
    reply(250);
    cmd("QUIT\r\n", 221);
    double dt = bench_now() - t0;
    close(fd);
    bench_report(1, (double)len, dt);
    free(msg);
    return 0;
}
