/*
 * send_marker: the program the CMake and Meson consumers (tests/packaging/cmake, .../meson)
 * build against an installed libsmtpclient. It sends one real message and exits 0 only when the
 * server accepted it, so the build system's way of finding the header and the library is proved
 * by a delivery, not just by a link.
 *
 *   send_marker HOST PORT FROM TO MARKER
 *
 * The message's Subject and body carry MARKER; the caller looks for it in the Maildir.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <smtpclient.h>

int main(int argc, char **argv)
{
    char msg[1024];
    const char *to[1];
    int len;
    int32_t rc;
    smtp_client *s;

    if (argc != 6) {
        fprintf(stderr, "usage: send_marker HOST PORT FROM TO MARKER\n");
        return 2;
    }
    to[0] = argv[4];
    len = snprintf(msg, sizeof msg,
                   "From: <%s>\r\nTo: <%s>\r\nSubject: build-system consumer %s\r\n\r\n"
                   "Sent through libsmtpclient %s (header %s), marker %s.\r\n",
                   argv[3], argv[4], argv[5], smtp_lib_version(), SMTPCLIENT_VERSION_STRING, argv[5]);
    if (len < 0 || (size_t)len >= sizeof msg) {
        fprintf(stderr, "arguments too long\n");
        return 2;
    }

    s = smtp_client_new(SMTP_CLIENT_KIND_SMTP);
    if (s == NULL) {
        fprintf(stderr, "smtp_client_new failed\n");
        return 1;
    }
    rc = smtp_client_set_timeout_ms(s, 20000);
    if (rc == SMTP_RESULT_OK) {
        rc = smtp_client_connect(s, argv[1], (uint16_t)atoi(argv[2]));
    }
    if (rc == SMTP_RESULT_OK) {
        rc = smtp_client_sendmail(s, argv[3], to, 1, (const uint8_t *)msg, (size_t)len, NULL);
    }
    if (rc != SMTP_RESULT_OK) {
        fprintf(stderr, "send failed: %s: %s\n", smtp_result_name(rc), smtp_client_last_error_message(s));
        smtp_client_free(s);
        return 1;
    }
    if (smtp_client_refused_count(s) != 0) {
        fprintf(stderr, "%zu recipient(s) refused\n", smtp_client_refused_count(s));
        smtp_client_free(s);
        return 1;
    }
    rc = smtp_client_quit(s); /* the message is already accepted; a failed QUIT is reported only */
    if (rc != SMTP_RESULT_OK) {
        fprintf(stderr, "quit: %s\n", smtp_result_name(rc));
    }
    smtp_client_free(s);
    printf("sent %s to %s through libsmtpclient %s\n", argv[5], argv[4], smtp_lib_version());
    return 0;
}
