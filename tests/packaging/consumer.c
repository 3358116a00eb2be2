/*
 * consumer: the smallest program built against an installed libsmtpclient (make install, or the
 * Debian packages) to check that the installed header, library and pkg-config file fit together.
 * Needs no server.
 *
 *   consumer EXPECTED_VERSION
 *
 * Checks that the header's SMTPCLIENT_VERSION_* macros, smtp_lib_version() and
 * smtp_lib_version_number() of the library it runs with all say EXPECTED_VERSION (Cargo.toml's
 * version), then creates and frees a session and looks up a result code. Exit status 0 when
 * everything matches, 1 otherwise.
 *
 * Build: cc -std=c99 consumer.c $(pkg-config --cflags --libs smtpclient) -o consumer
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <smtpclient.h>

static int failures = 0;

static void check(int ok, const char *what)
{
    printf("%s %s\n", ok ? "ok" : "FAILED:", what);
    if (!ok) {
        failures++;
    }
}

int main(int argc, char **argv)
{
    char header_version[64];

    if (argc != 2) {
        fprintf(stderr, "usage: consumer EXPECTED_VERSION\n");
        return 2;
    }
    snprintf(header_version, sizeof header_version, "%d.%d.%d", SMTPCLIENT_VERSION_MAJOR,
             SMTPCLIENT_VERSION_MINOR, SMTPCLIENT_VERSION_PATCH);
    printf("header %s (number %d), library %s (number %u), expected %s\n", SMTPCLIENT_VERSION_STRING,
           SMTPCLIENT_VERSION_NUMBER, smtp_lib_version(), (unsigned)smtp_lib_version_number(), argv[1]);

    check(strcmp(SMTPCLIENT_VERSION_STRING, argv[1]) == 0, "SMTPCLIENT_VERSION_STRING == expected version");
    check(strncmp(argv[1], header_version, strlen(header_version)) == 0 &&
              (argv[1][strlen(header_version)] == '\0' || argv[1][strlen(header_version)] == '-' ||
               argv[1][strlen(header_version)] == '+'),
          "SMTPCLIENT_VERSION_MAJOR.MINOR.PATCH == expected version");
    check(SMTPCLIENT_VERSION_NUMBER ==
              SMTPCLIENT_VERSION_MAJOR * 10000 + SMTPCLIENT_VERSION_MINOR * 100 + SMTPCLIENT_VERSION_PATCH,
          "SMTPCLIENT_VERSION_NUMBER == MAJOR*10000 + MINOR*100 + PATCH");
    check(strcmp(smtp_lib_version(), SMTPCLIENT_VERSION_STRING) == 0,
          "smtp_lib_version() == SMTPCLIENT_VERSION_STRING");
    check(smtp_lib_version_number() == SMTPCLIENT_VERSION_NUMBER,
          "smtp_lib_version_number() == SMTPCLIENT_VERSION_NUMBER");

    smtp_client *s = smtp_client_new(SMTP_CLIENT_KIND_SMTP);
    check(s != NULL, "smtp_client_new(SMTP_CLIENT_KIND_SMTP)");
    check(!smtp_client_is_connected(s), "a new session is not connected");
    smtp_client_free(s);
    check(strcmp(smtp_result_name(SMTP_RESULT_RECIPIENTS_REFUSED), "SMTP_RESULT_RECIPIENTS_REFUSED") == 0,
          "smtp_result_name(SMTP_RESULT_RECIPIENTS_REFUSED)");
    check(smtp_result_is_a(SMTP_RESULT_SENDER_REFUSED, SMTP_RESULT_RESPONSE_ERROR),
          "smtp_result_is_a(SENDER_REFUSED, RESPONSE_ERROR)");

    if (failures != 0) {
        printf("%d check(s) FAILED\n", failures);
        return 1;
    }
    printf("all checks passed\n");
    return 0;
}
