/*
 * send: send one message with libsmtpclient.
 *
 *   send [--lmtp] [--debug] HOST[:PORT]|/socket FROM TO... < message
 *
 * Reads a complete RFC 5322 message (headers, blank line, body) from standard input and sends
 * it from FROM to every TO over SMTP (default port 25) or, with --lmtp, over LMTP (default port
 * 2003; a path starting with '/' is a Unix socket). --debug prints the protocol dialogue on
 * standard error.
 *
 * Prints one line per recipient, then the refused recipients, then the error if the send
 * failed. Exit status: 0 if at least one recipient accepted the message, 1 if none did, 2 on a
 * usage error.
 *
 * Build: cc -std=c99 send.c $(pkg-config --cflags --libs smtpclient) -o send
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <smtpclient.h>

static void usage(void)
{
    fprintf(stderr, "usage: send [--lmtp] [--debug] HOST[:PORT]|/socket FROM TO... < message\n");
}

/* Read all of standard input into a malloc'ed buffer (the caller frees it). */
static unsigned char *read_stdin(size_t *len_out)
{
    size_t cap = 64 * 1024, len = 0;
    unsigned char *buf = malloc(cap);

    while (buf != NULL) {
        size_t n = fread(buf + len, 1, cap - len, stdin);
        len += n;
        if (n == 0) {
            if (ferror(stdin)) {
                break;
            }
            *len_out = len;
            return buf;
        }
        if (len == cap) {
            unsigned char *bigger = realloc(buf, cap * 2);
            if (bigger == NULL) {
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    free(buf);
    return NULL;
}

/* Print why the last call on `session` failed. */
static void print_error(const smtp_client *session, const char *what, smtp_result rc)
{
    /* The strings below are borrowed from the session (valid until its next non-const call):
     * print them, or copy them if you need them later. Never free them. */
    fflush(stdout); /* keep the order of stdout and stderr lines when both go to one file */
    fprintf(stderr, "%s failed: %s: %s\n", what, smtp_result_name(rc),
            smtp_client_last_error_message(session));
    if (smtp_client_last_error_reply_code(session) != 0) {
        fprintf(stderr, "  server replied: %d %s\n", (int)smtp_client_last_error_reply_code(session),
                smtp_client_last_error_reply_text(session));
    }
}

int main(int argc, char **argv)
{
    int kind = SMTP_CLIENT_KIND_SMTP;
    int debug = 0;
    int i = 1;

    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (strcmp(argv[i], "--lmtp") == 0) {
            kind = SMTP_CLIENT_KIND_LMTP;
        } else if (strcmp(argv[i], "--debug") == 0) {
            debug = 1;
        } else if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        } else {
            usage();
            return 2;
        }
    }
    if (argc - i < 3) {
        usage();
        return 2;
    }
    const char *server = argv[i];
    const char *from = argv[i + 1];
    /* The recipients are already an array of strings in argv: pass it as it is, with its
     * length. The library copies what it needs and keeps no pointer to its arguments. */
    const char *const *to = (const char *const *)&argv[i + 2];
    size_t n_to = (size_t)(argc - i - 2);

    size_t len = 0;
    unsigned char *msg = read_stdin(&len);
    if (msg == NULL) {
        fprintf(stderr, "send: cannot read the message from standard input\n");
        return 1;
    }

    /* The caller owns the session and must release it with smtp_client_free(). */
    smtp_client *session = smtp_client_new(kind);
    if (session == NULL) {
        fprintf(stderr, "send: cannot create a session\n");
        free(msg);
        return 1;
    }

    size_t accepted = 0;
    smtp_result rc = SMTP_RESULT_OK;
    if (debug) {
        rc = smtp_client_set_debuglevel(session, 1); /* dialogue on stderr */
    }
    if (rc == SMTP_RESULT_OK) {
        rc = smtp_client_set_timeout_ms(session, 30000);
    }
    if (rc == SMTP_RESULT_OK) {
        /* Port 0: take it from a HOST:PORT suffix, else the protocol's default. */
        rc = smtp_client_connect(session, server, 0);
        if (rc != SMTP_RESULT_OK) {
            print_error(session, "connect", rc);
        }
    }
    if (rc == SMTP_RESULT_OK) {
        /* EHLO (LHLO), MAIL, one RCPT per recipient, DATA. The message is sent as it is, with
         * line endings normalised to CRLF and dot-stuffing done by the library. No mail or
         * RCPT options: NULL with a count of 0. */
        rc = smtp_client_sendmail(session, from, to, n_to, msg, len, NULL);

        /* One entry per RCPT sent, accepted or not (also after a failure). rcpt_code is the
         * reply to RCPT TO; data_code is, for LMTP, the recipient's own reply after the
         * message (0 for SMTP, where one reply after the message covers everyone). */
        size_t n = smtp_client_recipient_count(session);
        for (size_t r = 0; r < n; r++) {
            const char *address = NULL, *text = NULL;
            int32_t rcpt_code = 0, data_code = 0;
            if (smtp_client_recipient_get(session, r, &address, &rcpt_code, &data_code, &text)
                != SMTP_RESULT_OK) {
                continue;
            }
            int ok = rc == SMTP_RESULT_OK
                     && (data_code != 0 ? data_code / 100 == 2 : (rcpt_code == 250 || rcpt_code == 251));
            accepted += ok;
            printf("recipient %s: %s (RCPT %d", address, ok ? "accepted" : "refused", (int)rcpt_code);
            if (data_code != 0) {
                printf(", after data %d", (int)data_code);
            }
            printf("): %s\n", text);
        }

        /* The refused recipients alone (smtplib's sendmail() result), with the refusing reply. */
        size_t n_refused = smtp_client_refused_count(session);
        for (size_t r = 0; r < n_refused; r++) {
            const char *address = NULL, *text = NULL;
            int32_t code = 0;
            if (smtp_client_refused_get(session, r, &address, &code, &text) == SMTP_RESULT_OK) {
                printf("refused: %s: %d %s\n", address, (int)code, text);
            }
        }

        if (rc != SMTP_RESULT_OK) {
            print_error(session, "sendmail", rc);
        }
    }

    /* QUIT politely if still connected (some errors close the connection). The session is
     * closed afterwards whatever QUIT returns, so a failure here changes nothing. */
    if (smtp_client_is_connected(session)) {
        smtp_result quit_rc = smtp_client_quit(session);
        if (quit_rc != SMTP_RESULT_OK) {
            print_error(session, "quit", quit_rc);
        }
    }
    /* Frees the session and every string borrowed from it. */
    smtp_client_free(session);
    free(msg);

    printf("%zu of %zu recipient(s) accepted the message\n", accepted, n_to);
    return accepted > 0 ? 0 : 1;
}
