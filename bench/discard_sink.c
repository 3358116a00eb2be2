/* discard_sink: a minimal SMTP server that accepts and throws away every message, as a
 * measuring instrument for the benchmark (not part of the library).
 *
 *   discard_sink PORT [LIFETIME_SECONDS]
 *
 * Listens on 127.0.0.1:PORT only, one thread per connection. Advertises PIPELINING, CHUNKING,
 * 8BITMIME and SIZE. Every command line in a read batch is answered in order and the replies
 * of one batch go out in one write. DATA bodies are scanned for CRLF.CRLF across read
 * boundaries; `BDAT n [LAST]` skips n bytes. Reads are 256 KiB. The process exits by itself
 * after LIFETIME_SECONDS (default 1800) so a forgotten sink cannot linger.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define READ_SIZE (256 * 1024)
#define MAX_LINE 4096

enum mode { CMD, DATA, BDAT };

struct conn {
    int fd;
    enum mode mode;
    unsigned long long bdat_left; /* BDAT: bytes of the chunk still to skip */
    int bdat_last;                /* BDAT: the chunk was flagged LAST */
    char tail[8];                 /* DATA: the last bytes seen (at most 4) */
    size_t tail_len;
    char line[MAX_LINE];          /* CMD: a command line split across reads */
    size_t line_len;
    int line_overflow;
    char *out;                    /* replies of the current batch */
    size_t out_len, out_cap;
    int quit;
};

static void out_add(struct conn *c, const char *s) {
    size_t n = strlen(s);
    if (c->out_len + n > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap * 2 : 4096;
        while (cap < c->out_len + n) cap *= 2;
        char *p = realloc(c->out, cap);
        if (!p) abort();
        c->out = p;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, s, n);
    c->out_len += n;
}

static int write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int verb_is(const char *line, size_t len, const char *verb) {
    size_t n = strlen(verb);
    return len >= n && strncasecmp(line, verb, n) == 0 && (len == n || line[n] == ' ');
}

/* One complete command line (without CRLF). */
static void command(struct conn *c, const char *line, size_t len) {
    if (verb_is(line, len, "EHLO") || verb_is(line, len, "LHLO")) {
        out_add(c, "250-discard.bench.test\r\n250-PIPELINING\r\n250-CHUNKING\r\n"
                   "250-8BITMIME\r\n250 SIZE 10737418240\r\n");
    } else if (verb_is(line, len, "HELO")) {
        out_add(c, "250 discard.bench.test\r\n");
    } else if (verb_is(line, len, "MAIL") || verb_is(line, len, "RCPT")) {
        out_add(c, "250 2.1.0 Ok\r\n");
    } else if (verb_is(line, len, "DATA")) {
        out_add(c, "354 End data with <CR><LF>.<CR><LF>\r\n");
        c->mode = DATA;
        memcpy(c->tail, "\r\n", 2); /* the DATA line's CRLF starts the first body line */
        c->tail_len = 2;
    } else if (verb_is(line, len, "BDAT")) {
        char tmp[64];
        size_t n = len < sizeof tmp - 1 ? len : sizeof tmp - 1;
        memcpy(tmp, line, n);
        tmp[n] = 0;
        char *end;
        unsigned long long size = strtoull(tmp + 4, &end, 10);
        while (*end == ' ') end++;
        if (end == tmp + 4 || (*end && strcasecmp(end, "LAST") != 0)) {
            out_add(c, "501 5.5.4 Syntax: BDAT size [LAST]\r\n");
            return;
        }
        c->bdat_left = size;
        c->bdat_last = *end != 0;
        c->mode = BDAT;
    } else if (verb_is(line, len, "RSET") || verb_is(line, len, "NOOP")) {
        out_add(c, "250 2.0.0 Ok\r\n");
    } else if (verb_is(line, len, "VRFY")) {
        out_add(c, "252 2.0.0 Ok\r\n");
    } else if (verb_is(line, len, "QUIT")) {
        out_add(c, "221 2.0.0 Bye\r\n");
        c->quit = 1;
    } else {
        out_add(c, "500 5.5.2 Error: command not recognized\r\n");
    }
}

static void bdat_done(struct conn *c) {
    out_add(c, c->bdat_last ? "250 2.0.0 Ok: queued\r\n" : "250 2.0.0 Ok: chunk received\r\n");
    c->mode = CMD;
}

/* Consume a read batch; returns when the buffer is used up or the client said QUIT. */
static void consume(struct conn *c, const char *p, size_t n) {
    static const char END[] = "\r\n.\r\n";
    while (n > 0 && !c->quit) {
        if (c->mode == BDAT) {
            size_t take = c->bdat_left < n ? (size_t)c->bdat_left : n;
            c->bdat_left -= take;
            p += take;
            n -= take;
            if (c->bdat_left == 0) bdat_done(c);
        } else if (c->mode == DATA) {
            /* an end mark across the boundary starts in the tail and ends in p's first 4 bytes */
            char join[16];
            size_t head = n < 4 ? n : 4;
            memcpy(join, c->tail, c->tail_len);
            memcpy(join + c->tail_len, p, head);
            const char *m = memmem(join, c->tail_len + head, END, 5);
            size_t used;
            if (m) {
                used = (size_t)(m - join) + 5 - c->tail_len;
            } else {
                m = memmem(p, n, END, 5);
                used = m ? (size_t)(m - p) + 5 : 0;
            }
            if (m) {
                out_add(c, "250 2.0.0 Ok: queued\r\n");
                c->mode = CMD;
                p += used;
                n -= used;
            } else {
                /* keep the last 4 bytes seen */
                if (n >= 4) {
                    memcpy(c->tail, p + n - 4, 4);
                    c->tail_len = 4;
                } else {
                    size_t total = c->tail_len + n;
                    size_t keep = total < 4 ? total : 4;
                    memcpy(join + c->tail_len, p, n); /* join already holds tail + these bytes */
                    memcpy(c->tail, join + total - keep, keep);
                    c->tail_len = keep;
                }
                n = 0;
            }
        } else {
            const char *lf = memchr(p, '\n', n);
            if (!lf) {
                if (c->line_len + n < MAX_LINE) {
                    memcpy(c->line + c->line_len, p, n);
                    c->line_len += n;
                } else {
                    c->line_overflow = 1;
                }
                n = 0;
                break;
            }
            size_t seg = (size_t)(lf - p) + 1;
            const char *line = p;
            size_t len = seg - 1;
            if (c->line_len > 0 || c->line_overflow) {
                if (!c->line_overflow && c->line_len + len < MAX_LINE) {
                    memcpy(c->line + c->line_len, p, len);
                    c->line_len += len;
                } else {
                    c->line_overflow = 1;
                }
                line = c->line;
                len = c->line_len;
            }
            if (len > 0 && line[len - 1] == '\r') len--;
            if (c->line_overflow)
                out_add(c, "500 5.5.0 Error: line too long\r\n");
            else
                command(c, line, len);
            c->line_len = 0;
            c->line_overflow = 0;
            p += seg;
            n -= seg;
            if (c->mode == BDAT && c->bdat_left == 0) bdat_done(c);
        }
    }
}

static void *serve(void *arg) {
    struct conn *c = arg;
    char *buf = malloc(READ_SIZE);
    if (!buf) abort();
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    static const char greeting[] = "220 discard.bench.test ESMTP discard sink\r\n";
    if (write_all(c->fd, greeting, sizeof greeting - 1) == 0) {
        for (;;) {
            ssize_t r = read(c->fd, buf, READ_SIZE);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) break;
            consume(c, buf, (size_t)r);
            if (c->out_len > 0) {
                if (write_all(c->fd, c->out, c->out_len) < 0) break;
                c->out_len = 0;
            }
            if (c->quit) break;
        }
    }
    close(c->fd);
    free(buf);
    free(c->out);
    free(c);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s PORT [LIFETIME_SECONDS]\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[1]);
    unsigned lifetime = argc > 2 ? (unsigned)atoi(argv[2]) : 1800;
    signal(SIGPIPE, SIG_IGN);
    alarm(lifetime); /* default action of SIGALRM: terminate */

    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) { perror("socket"); return 1; }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) { perror("bind"); return 1; }
    if (listen(fd, 256) < 0) { perror("listen"); return 1; }

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    for (;;) {
        int cfd = accept(fd, NULL, NULL);
        if (cfd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            perror("accept");
            return 1;
        }
        struct conn *c = calloc(1, sizeof *c);
        if (!c) abort();
        c->fd = cfd;
        pthread_t t;
        if (pthread_create(&t, &attr, serve, c) != 0) {
            close(cfd);
            free(c);
        }
    }
}
