/*
 * sender: send N messages to one server over a few pooled connections, from one thread, with
 * poll(2) on the descriptor of an smtp_sender.
 *
 *   sender URL FROM TO N SUBJECT [CONNECTIONS [CA_FILE]]
 *
 * URL names the server, the TLS policy and the credentials (smtp://host:port,
 * smtp+starttls://user:password@host:port, ...). The messages (Subject: SUBJECT #i) go over at
 * most CONNECTIONS connections (default 3), each reused for up to 20 messages. With CA_FILE,
 * the server is verified against it. Prints one line per message as its outcome arrives; the
 * exit status is 0 only when every message was delivered.
 *
 * Build: cc -std=c99 sender.c $(pkg-config --cflags --libs smtpclient) -o sender
 */
#define _POSIX_C_SOURCE 200809L
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <smtpclient.h>

static const char *kind_name(int32_t kind)
{
    switch (kind) {
    case SMTP_OUTCOME_KIND_DELIVERED: return "delivered";
    case SMTP_OUTCOME_KIND_REFUSED: return "refused";
    case SMTP_OUTCOME_KIND_FAILED_BEFORE_DATA: return "failed before its data";
    case SMTP_OUTCOME_KIND_DELIVERY_UNKNOWN: return "delivery unknown";
    }
    return "?";
}

/* Print every outcome that has arrived; the number of them, and of those not delivered. */
static int take_outcomes(smtp_sender *s, int *failed)
{
    int n = 0;
    while (smtp_sender_next_outcome(s)) {
        int32_t kind = smtp_sender_outcome_kind(s);
        n++;
        printf("message %llu: %s", (unsigned long long)smtp_sender_outcome_id(s), kind_name(kind));
        if (kind != SMTP_OUTCOME_KIND_DELIVERED) {
            (*failed)++;
            printf(" (%s: %s)", smtp_result_name(smtp_sender_outcome_result(s)),
                   smtp_sender_outcome_error_message(s));
        }
        printf("\n");
        /* each recipient's own answer, e.g. one refused among others accepted */
        for (size_t i = 0; i < smtp_sender_outcome_recipient_count(s); i++) {
            const char *address, *text;
            int32_t rcpt_code;
            if (smtp_sender_outcome_recipient_get(s, i, &address, &rcpt_code, NULL, &text) == SMTP_RESULT_OK
                && rcpt_code >= 400)
                printf("  %s: %d %s\n", address, (int)rcpt_code, text);
        }
    }
    return n;
}

int main(int argc, char **argv)
{
    if (argc < 6 || argc > 8) {
        fprintf(stderr, "usage: %s URL FROM TO N SUBJECT [CONNECTIONS [CA_FILE]]\n", argv[0]);
        return 2;
    }
    const char *url = argv[1], *from = argv[2], *to = argv[3], *subject = argv[5];
    int n = atoi(argv[4]);
    unsigned connections = argc > 6 ? (unsigned)atoi(argv[6]) : 3;
    const char *ca_file = argc > 7 ? argv[7] : NULL;

    smtp_sender *s = smtp_sender_new(SMTP_CLIENT_KIND_SMTP);
    if (!s) {
        fprintf(stderr, "smtp_sender_new failed\n");
        return 1;
    }
    if (smtp_sender_set_url(s, url) || smtp_sender_set_max_connections(s, connections)
        || smtp_sender_set_max_messages_per_connection(s, 20) || smtp_sender_set_timeout_ms(s, 30000)
        || (ca_file && smtp_sender_set_tls_ca_file(s, ca_file))) {
        fprintf(stderr, "configuration: %s\n", smtp_sender_last_error_message(s));
        smtp_sender_free(s);
        return 2;
    }
    for (int i = 0; i < n; i++) {
        char body[512];
        int len = snprintf(body, sizeof body, "From: <%s>\r\nTo: <%s>\r\nSubject: %s #%d\r\n\r\nmessage %d\r\n",
                           from, to, subject, i, i);
        uint64_t id;
        if (smtp_sender_add(s, from, &to, 1, (const uint8_t *)body, (size_t)len, NULL, &id)) {
            fprintf(stderr, "message %d: %s\n", i, smtp_sender_last_error_message(s));
            smtp_sender_free(s);
            return 2;
        }
    }

    /* The event loop: step, take the outcomes that arrived, wait for the descriptor or the
     * deadline, until the sender says everything is done. */
    int outcomes = 0, failed = 0;
    smtp_result rc;
    while ((rc = smtp_sender_step(s)) == SMTP_RESULT_IN_PROGRESS) {
        outcomes += take_outcomes(s, &failed);
        int64_t timeout = smtp_sender_timeout_ms(s);
        struct pollfd pfd = { .fd = smtp_sender_fd(s), .events = POLLIN };
        if (poll(&pfd, 1, timeout > 60000 ? 60000 : (int)timeout) < 0) {
            perror("poll");
            break;
        }
    }
    outcomes += take_outcomes(s, &failed);
    if (rc != SMTP_RESULT_OK)
        fprintf(stderr, "smtp_sender_step: %s\n", smtp_result_name(rc));
    printf("%d messages, %d outcomes, %d not delivered\n", n, outcomes, failed);
    smtp_sender_free(s);
    return rc == SMTP_RESULT_OK && outcomes == n && failed == 0 ? 0 : 1;
}
