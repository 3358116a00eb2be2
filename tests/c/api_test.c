/*
 * api_test: the C API of libsmtpclient, exercised from C against the real test-bed servers
 * (Postfix for SMTP, Dovecot for LMTP; see tests/servers/up.sh).
 *
 *   api_test [SMTP_HOST SMTP_PORT LMTP_SOCKET POSTFIX_MAILDIR LMTP_MAILDIR]
 *
 * Each argument not given comes from the environment variable of the same name (as written to
 * $SMTPENV_DIR/env by up.sh). Prints TAP lines ("ok N - ...", "not ok N - ...") and a plan,
 * and exits 1 if any check failed (2 on a usage error).
 *
 * Built with -std=c99 -Wall -Wextra -Wpedantic -Werror; run under valgrind and ASan by
 * tests/c/run.sh, so everything allocated here is released.
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <smtpclient.h>

/* ------------------------------------------------------------------------------ TAP helpers */

static int tests_run;
static int tests_failed;

/* Record one check; returns cond so callers can skip dependent checks. */
static int ok(int cond, const char *fmt, ...)
{
    va_list ap;
    tests_run++;
    if (!cond) {
        tests_failed++;
    }
    printf("%s %d - ", cond ? "ok" : "not ok", tests_run);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    return cond;
}

static void diag(const char *fmt, ...)
{
    va_list ap;
    printf("# ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

static int streq(const char *a, const char *b)
{
    return a != NULL && b != NULL && strcmp(a, b) == 0;
}

static const char *show(const char *s)
{
    return s == NULL ? "(NULL)" : s;
}

/* Check a call's result; on failure also print the session's error detail. */
static int ok_rc(const smtp_client *s, smtp_result got, smtp_result want, const char *what)
{
    int pass = ok(got == want, "%s returns %s (got %s)", what, smtp_result_name(want), smtp_result_name(got));
    if (!pass && s != NULL) {
        diag("  last error: %s; reply %d %s", smtp_client_last_error_message(s),
             (int)smtp_client_last_error_reply_code(s), smtp_client_last_error_reply_text(s));
    }
    return pass;
}

/* ------------------------------------------------------------------------------ configuration */

static const char *smtp_host;
static uint16_t smtp_port;
static const char *lmtp_socket;
static const char *postfix_maildir;
static const char *lmtp_maildir;
/* Unique per run: put in every Subject so delivered files can be found. */
static char run_id[64];

static const char *arg_or_env(int argc, char **argv, int index, const char *name)
{
    const char *v = index < argc ? argv[index] : getenv(name);
    if (v == NULL || *v == '\0') {
        fprintf(stderr, "api_test: %s not given (argument %d or environment variable %s)\n", name, index, name);
        exit(2);
    }
    return v;
}

/* ------------------------------------------------------------------------------ messages */

/* A message with a unique marker in its Subject, in a static buffer (one at a time). */
static const char *make_message(const char *tag, char *marker, size_t marker_size)
{
    static char msg[1024];
    snprintf(marker, marker_size, "%s-%s", run_id, tag);
    snprintf(msg, sizeof msg,
             "From: api_test <sender@example.test>\n"
             "To: test recipients <undisclosed@example.test>\n"
             "Subject: libsmtpclient api_test %s\n"
             "Message-ID: <%s@api-test.example.test>\n"
             "\n"
             "Test message %s.\n"
             ".A line starting with a dot (dot-stuffed on the wire).\n"
             "Last line without a line end",
             marker, marker, tag);
    return msg;
}

/* Number of files in DIR/USER/new and DIR/USER/cur whose contents contain MARKER. */
static int count_delivered(const char *dir, const char *user, const char *marker)
{
    static const char *const subdirs[] = { "new", "cur" };
    int found = 0;
    for (size_t d = 0; d < sizeof subdirs / sizeof subdirs[0]; d++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s/%s", dir, user, subdirs[d]);
        DIR *dh = opendir(path);
        if (dh == NULL) {
            continue; /* no mail delivered to this user yet */
        }
        struct dirent *e;
        while ((e = readdir(dh)) != NULL) {
            if (e->d_name[0] == '.') {
                continue;
            }
            char file[8192];
            snprintf(file, sizeof file, "%s/%s", path, e->d_name);
            FILE *f = fopen(file, "rb");
            if (f == NULL) {
                continue;
            }
            char buf[65536];
            size_t n = fread(buf, 1, sizeof buf - 1, f);
            fclose(f);
            buf[n] = '\0';
            if (strstr(buf, marker) != NULL) {
                found++;
            }
        }
        closedir(dh);
    }
    return found;
}

/* Whether the delivered copy of MARKER in DIR/USER/new contains NEEDLE. */
static int delivered_contains(const char *dir, const char *user, const char *marker, const char *needle)
{
    char path[4096];
    int found = 0;
    snprintf(path, sizeof path, "%s/%s/new", dir, user);
    DIR *dh = opendir(path);
    if (dh == NULL) {
        return 0;
    }
    struct dirent *e;
    while ((e = readdir(dh)) != NULL) {
        char file[8192];
        char buf[65536];
        snprintf(file, sizeof file, "%s/%s", path, e->d_name);
        FILE *f = e->d_name[0] == '.' ? NULL : fopen(file, "rb");
        if (f == NULL) {
            continue;
        }
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        found |= strstr(buf, marker) != NULL && strstr(buf, needle) != NULL;
    }
    closedir(dh);
    return found;
}

/* Wait up to `seconds` for exactly one delivered copy (Postfix delivers from its queue,
 * asynchronously after the 250 reply; Dovecot LMTP before its reply). */
static int wait_delivered(const char *dir, const char *user, const char *marker, int seconds)
{
    int n = 0;
    for (int i = 0; i <= seconds * 10; i++) {
        n = count_delivered(dir, user, marker);
        if (n > 0) {
            break;
        }
        struct timespec ts = { 0, 100 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    return n;
}

/* ------------------------------------------------------------------------------ tests */

struct code_name {
    smtp_result code;
    const char *name;
};

#define CODE(c) { c, #c }
static const struct code_name all_codes[] = {
    CODE(SMTP_RESULT_OK),
    CODE(SMTP_RESULT_IN_PROGRESS),
    CODE(SMTP_RESULT_SMTP_ERROR),
    CODE(SMTP_RESULT_SERVER_DISCONNECTED),
    CODE(SMTP_RESULT_NOT_SUPPORTED),
    CODE(SMTP_RESULT_RESPONSE_ERROR),
    CODE(SMTP_RESULT_SENDER_REFUSED),
    CODE(SMTP_RESULT_RECIPIENTS_REFUSED),
    CODE(SMTP_RESULT_DATA_ERROR),
    CODE(SMTP_RESULT_CONNECT_ERROR),
    CODE(SMTP_RESULT_HELO_ERROR),
    CODE(SMTP_RESULT_AUTHENTICATION_ERROR),
    CODE(SMTP_RESULT_DELIVERY_UNKNOWN),
    CODE(SMTP_RESULT_PROTOCOL_ERROR),
    CODE(SMTP_RESULT_MESSAGE_TOO_LARGE),
    CODE(SMTP_RESULT_CREDENTIALS_POLICY),
    CODE(SMTP_RESULT_TLS_REQUIRED),
    CODE(SMTP_RESULT_IO_ERROR),
    CODE(SMTP_RESULT_TIMEOUT),
    CODE(SMTP_RESULT_NAME_RESOLUTION),
    CODE(SMTP_RESULT_CONNECTION_REFUSED),
    CODE(SMTP_RESULT_HOST_UNREACHABLE),
    CODE(SMTP_RESULT_TLS_ERROR),
    CODE(SMTP_RESULT_TLS_CERTIFICATE),
    CODE(SMTP_RESULT_TLS_RECORD),
    CODE(SMTP_RESULT_INVALID_ARGUMENT),
    CODE(SMTP_RESULT_NULL_ARGUMENT),
    CODE(SMTP_RESULT_INVALID_UTF8),
    CODE(SMTP_RESULT_BAD_STATE),
    CODE(SMTP_RESULT_BAD_HANDLE),
    CODE(SMTP_RESULT_REENTRANT_CALL),
    CODE(SMTP_RESULT_CALLBACK_ABORTED),
    CODE(SMTP_RESULT_CONCURRENT_CALL),
    CODE(SMTP_RESULT_PANIC),
};
#undef CODE

static void test_version(void)
{
    ok(smtp_lib_version_number() == SMTPCLIENT_VERSION_NUMBER,
       "smtp_lib_version_number() %u == SMTPCLIENT_VERSION_NUMBER %u", (unsigned)smtp_lib_version_number(),
       (unsigned)SMTPCLIENT_VERSION_NUMBER);
    ok(smtp_lib_version_number()
           == SMTPCLIENT_VERSION_MAJOR * 10000u + SMTPCLIENT_VERSION_MINOR * 100u + SMTPCLIENT_VERSION_PATCH,
       "version number == MAJOR*10000 + MINOR*100 + PATCH");
#ifdef SMTPCLIENT_VERSION_STRING
    ok(streq(smtp_lib_version(), SMTPCLIENT_VERSION_STRING), "smtp_lib_version() \"%s\" == SMTPCLIENT_VERSION_STRING \"%s\"",
       show(smtp_lib_version()), SMTPCLIENT_VERSION_STRING);
#else
    ok(smtp_lib_version() != NULL && smtp_lib_version()[0] != '\0', "smtp_lib_version() is a non-empty string");
#endif
}

static void test_result_codes(void)
{
    int names_ok = 1, strs_ok = 1, self_ok = 1;
    for (size_t i = 0; i < sizeof all_codes / sizeof all_codes[0]; i++) {
        smtp_result c = all_codes[i].code;
        const char *name = smtp_result_name(c), *str = smtp_result_str(c);
        if (!streq(name, all_codes[i].name)) {
            names_ok = 0;
            diag("smtp_result_name(%d) = %s, want %s", (int)c, show(name), all_codes[i].name);
        }
        if (str == NULL || str[0] == '\0' || streq(str, "unknown result code")) {
            strs_ok = 0;
            diag("smtp_result_str(%d) = %s", (int)c, show(str));
        }
        if (!smtp_result_is_a(c, c)) {
            self_ok = 0;
            diag("smtp_result_is_a(%d, %d) is false", (int)c, (int)c);
        }
    }
    ok(names_ok, "smtp_result_name() gives each code's own constant name");
    ok(strs_ok, "smtp_result_str() gives a description for each code");
    ok(self_ok, "smtp_result_is_a(code, code) for each code");

    /* Every code the library defines at run time (including ones newer than this list):
     * scan the numbers and check each one that has a name. */
    int defined = 0, scan_ok = 1;
    for (int32_t c = -10; c < 1100; c++) {
        const char *name = smtp_result_name(c), *str = smtp_result_str(c);
        if (name == NULL || str == NULL) {
            scan_ok = 0;
            diag("code %d: NULL name or description", (int)c);
            continue;
        }
        if (streq(name, "SMTP_RESULT_UNKNOWN")) {
            continue;
        }
        defined++;
        if (strncmp(name, "SMTP_RESULT_", 12) != 0 || streq(str, "unknown result code") || !smtp_result_is_a(c, c)) {
            scan_ok = 0;
            diag("code %d: name %s, description %s", (int)c, name, str);
        }
        for (int32_t d = -10; d < c; d++) {
            if (streq(smtp_result_name(d), name)) {
                scan_ok = 0;
                diag("codes %d and %d share the name %s", (int)d, (int)c, name);
            }
        }
    }
    ok(scan_ok && defined >= (int)(sizeof all_codes / sizeof all_codes[0]),
       "codes -10..1099: %d defined, each with its own SMTP_RESULT_* name and a description", defined);

    static const int32_t unknown[] = { -1, 2, 99, 999, 1100, 12345, INT32_MAX, INT32_MIN }; /* 1 is IN_PROGRESS */
    int unknown_ok = 1;
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        if (!streq(smtp_result_name(unknown[i]), "SMTP_RESULT_UNKNOWN")
            || !streq(smtp_result_str(unknown[i]), "unknown result code")
            || smtp_result_is_a(unknown[i], unknown[i]) || smtp_result_is_a(unknown[i], SMTP_RESULT_SMTP_ERROR)) {
            unknown_ok = 0;
            diag("unknown code %d: name %s, str %s", (int)unknown[i], show(smtp_result_name(unknown[i])),
                 show(smtp_result_str(unknown[i])));
        }
    }
    ok(unknown_ok, "unknown codes: SMTP_RESULT_UNKNOWN / \"unknown result code\", is-a nothing");

    ok(smtp_result_is_a(SMTP_RESULT_SENDER_REFUSED, SMTP_RESULT_RESPONSE_ERROR), "SENDER_REFUSED is-a RESPONSE_ERROR");
    ok(smtp_result_is_a(SMTP_RESULT_RESPONSE_ERROR, SMTP_RESULT_SMTP_ERROR), "RESPONSE_ERROR is-a SMTP_ERROR");
    ok(smtp_result_is_a(SMTP_RESULT_SENDER_REFUSED, SMTP_RESULT_SMTP_ERROR), "SENDER_REFUSED is-a SMTP_ERROR");
    ok(smtp_result_is_a(SMTP_RESULT_DELIVERY_UNKNOWN, SMTP_RESULT_SERVER_DISCONNECTED),
       "DELIVERY_UNKNOWN is-a SERVER_DISCONNECTED");
    ok(smtp_result_is_a(SMTP_RESULT_DELIVERY_UNKNOWN, SMTP_RESULT_SMTP_ERROR), "DELIVERY_UNKNOWN is-a SMTP_ERROR");
    ok(smtp_result_is_a(SMTP_RESULT_DATA_ERROR, SMTP_RESULT_RESPONSE_ERROR), "DATA_ERROR is-a RESPONSE_ERROR");
    ok(smtp_result_is_a(SMTP_RESULT_TIMEOUT, SMTP_RESULT_IO_ERROR), "TIMEOUT is-a IO_ERROR");
    ok(smtp_result_is_a(SMTP_RESULT_NULL_ARGUMENT, SMTP_RESULT_INVALID_ARGUMENT), "NULL_ARGUMENT is-a INVALID_ARGUMENT");
    ok(!smtp_result_is_a(SMTP_RESULT_SERVER_DISCONNECTED, SMTP_RESULT_DELIVERY_UNKNOWN),
       "SERVER_DISCONNECTED is not a DELIVERY_UNKNOWN (the hierarchy is not symmetric)");
    ok(!smtp_result_is_a(SMTP_RESULT_RECIPIENTS_REFUSED, SMTP_RESULT_RESPONSE_ERROR),
       "RECIPIENTS_REFUSED is not a RESPONSE_ERROR (as smtplib)");
    ok(!smtp_result_is_a(SMTP_RESULT_OK, SMTP_RESULT_SMTP_ERROR), "OK is not an SMTP_ERROR");
    ok(!smtp_result_is_a(SMTP_RESULT_TIMEOUT, SMTP_RESULT_SMTP_ERROR), "TIMEOUT is not an SMTP_ERROR");
}

static void test_without_connection(void)
{
    ok(smtp_client_new(12345) == NULL, "smtp_client_new(unknown kind) returns NULL");
    smtp_client_free(NULL); /* documented no-op */
    ok(1, "smtp_client_free(NULL) is a no-op");
    ok(smtp_client_connect(NULL, "127.0.0.1", 25) == SMTP_RESULT_NULL_ARGUMENT, "smtp_client_connect(NULL session) -> NULL_ARGUMENT");
    ok(streq(smtp_client_last_reply_text(NULL), ""), "getters on a NULL session give their fallback (\"\")");
    ok(smtp_client_last_result(NULL) == SMTP_RESULT_BAD_HANDLE, "smtp_client_last_result(NULL) -> BAD_HANDLE");

    smtp_client *s = smtp_client_new(SMTP_CLIENT_KIND_SMTP);
    if (!ok(s != NULL, "smtp_client_new(SMTP_CLIENT_KIND_SMTP)")) {
        return;
    }
    ok(!smtp_client_is_connected(s), "a new session is not connected");
    ok_rc(s, smtp_client_noop(s), SMTP_RESULT_SERVER_DISCONNECTED, "smtp_client_noop() before connect");
    ok(smtp_client_last_result(s) == SMTP_RESULT_SERVER_DISCONNECTED, "last_result records it");
    ok_rc(s, smtp_client_connect(s, NULL, 25), SMTP_RESULT_NULL_ARGUMENT, "smtp_client_connect(host NULL)");
    ok_rc(s, smtp_client_set_debuglevel(s, 3), SMTP_RESULT_INVALID_ARGUMENT, "smtp_client_set_debuglevel(3)");
    ok_rc(s, smtp_client_set_local_hostname(s, "bad name"), SMTP_RESULT_INVALID_ARGUMENT,
          "smtp_client_set_local_hostname(\"bad name\")");
    ok_rc(s, smtp_client_set_local_hostname(s, "\xff\xfe"), SMTP_RESULT_INVALID_UTF8,
          "smtp_client_set_local_hostname(invalid UTF-8)");
    ok_rc(s, smtp_client_set_timeout_ms(s, 10000), SMTP_RESULT_OK, "smtp_client_set_timeout_ms(10000)");
    ok(streq(smtp_client_last_error_message(s), ""), "last error message is \"\" after a success");
    ok(smtp_client_feature_count(s) == 0 && smtp_client_feature(s, "size") == NULL,
       "no features before EHLO");
    ok(smtp_client_recipient_count(s) == 0 && smtp_client_refused_count(s) == 0, "no recipients yet");
    smtp_client_free(s);
}

/* Debug callback state: counts events, checks re-entry is refused, and records its release. */
struct debug_state {
    smtp_client *session;
    int events[4];
    int reentry_refused;
    int reentry_tried;
    int freed;
};

static void debug_cb(void *userdata, int32_t kind, const uint8_t *data, size_t len)
{
    struct debug_state *st = userdata;
    (void)data;
    (void)len;
    if (kind >= 0 && kind < 4) {
        st->events[kind]++;
    }
    if (!st->reentry_tried) {
        st->reentry_tried = 1;
        st->reentry_refused = smtp_client_noop(st->session) == SMTP_RESULT_REENTRANT_CALL;
    }
}

static void debug_free(void *userdata)
{
    ((struct debug_state *)userdata)->freed++;
}

static void print_refused(const smtp_client *s)
{
    for (size_t i = 0; i < smtp_client_refused_count(s); i++) {
        const char *addr = NULL, *text = NULL;
        int32_t code = 0;
        if (smtp_client_refused_get(s, i, &addr, &code, &text) == SMTP_RESULT_OK) {
            diag("  refused %s: %d %s", show(addr), (int)code, show(text));
        }
    }
}

static void test_smtp(void)
{
    char marker[128];
    const char *msg;
    smtp_result rc;

    smtp_client *s = smtp_client_new(SMTP_CLIENT_KIND_SMTP);
    if (!ok(s != NULL, "SMTP session created")) {
        return;
    }
    rc = smtp_client_set_timeout_ms(s, 20000);
    ok_rc(s, rc, SMTP_RESULT_OK, "set_timeout_ms");

    struct debug_state dbg;
    memset(&dbg, 0, sizeof dbg);
    dbg.session = s;
    ok_rc(s, smtp_client_set_debuglevel(s, 1), SMTP_RESULT_OK, "set_debuglevel(1)");
    ok_rc(s, smtp_client_set_debug_callback(s, debug_cb, &dbg, debug_free), SMTP_RESULT_OK, "set_debug_callback");

    rc = smtp_client_connect(s, smtp_host, smtp_port);
    if (!ok_rc(s, rc, SMTP_RESULT_OK, "smtp_client_connect to Postfix")) {
        smtp_client_free(s);
        return;
    }
    ok(smtp_client_is_connected(s), "connected");
    ok(smtp_client_last_reply_code(s) == 220, "greeting 220 is the last reply (got %d)",
       (int)smtp_client_last_reply_code(s));
    ok_rc(s, smtp_client_connect(s, smtp_host, smtp_port), SMTP_RESULT_BAD_STATE, "smtp_client_connect while connected");
    ok(smtp_client_is_connected(s), "still connected after the refused second connect");

    ok(dbg.events[SMTP_DEBUG_KIND_CONNECT] >= 1 && dbg.events[SMTP_DEBUG_KIND_RECEIVED] >= 1,
       "debug callback saw the connect and the greeting (%d connect, %d received)",
       dbg.events[SMTP_DEBUG_KIND_CONNECT], dbg.events[SMTP_DEBUG_KIND_RECEIVED]);
    ok(dbg.reentry_tried && dbg.reentry_refused, "a session call from inside its debug callback -> REENTRANT_CALL");
    /* Back to no debug output; the userdata stays until replaced or freed. */
    ok_rc(s, smtp_client_set_debuglevel(s, 0), SMTP_RESULT_OK, "set_debuglevel(0)");

    /* EHLO and the features */
    rc = smtp_client_ehlo(s, NULL);
    ok_rc(s, rc, SMTP_RESULT_OK, "smtp_client_ehlo");
    ok(smtp_client_last_reply_code(s) == 250, "EHLO reply 250");
    ok(smtp_client_does_esmtp(s), "does_esmtp");
    ok(smtp_client_ehlo_resp(s) != NULL && strstr(smtp_client_ehlo_resp(s), "PIPELINING") != NULL,
       "ehlo_resp holds the EHLO text");
    ok(smtp_client_has_extn(s, "pipelining"), "has_extn(\"pipelining\")");
    ok(smtp_client_has_extn(s, "PIPELINING"), "has_extn(\"PIPELINING\") (any case)");
    ok(!smtp_client_has_extn(s, "x-no-such-extension"), "!has_extn(\"x-no-such-extension\")");
    ok(!smtp_client_has_extn(s, NULL), "!has_extn(NULL)");
    ok(streq(smtp_client_feature(s, "size"), "10485760"), "feature(\"size\") == \"10485760\" (got %s)",
       show(smtp_client_feature(s, "size")));
    ok(streq(smtp_client_feature(s, "SIZE"), "10485760"), "feature(\"SIZE\") == \"10485760\"");
    ok(streq(smtp_client_feature(s, "pipelining"), ""), "feature(\"pipelining\") == \"\" (keyword without params)");
    ok(smtp_client_feature(s, "x-no-such-extension") == NULL, "feature(unknown) == NULL");

    size_t nf = smtp_client_feature_count(s);
    ok(nf >= 5, "feature_count %zu", nf);
    int enum_ok = 1, saw_size = 0, saw_pipelining = 0;
    for (size_t i = 0; i < nf; i++) {
        const char *name = NULL, *params = NULL;
        if (smtp_client_feature_get(s, i, &name, &params) != SMTP_RESULT_OK || name == NULL || params == NULL) {
            enum_ok = 0;
            continue;
        }
        for (const char *p = name; *p; p++) {
            if (*p >= 'A' && *p <= 'Z') {
                enum_ok = 0; /* keywords are lower-case */
            }
        }
        if (!smtp_client_has_extn(s, name) || !streq(smtp_client_feature(s, name), params)) {
            enum_ok = 0;
        }
        saw_size |= streq(name, "size") && streq(params, "10485760");
        saw_pipelining |= streq(name, "pipelining");
        diag("  feature %zu: %s [%s]", i, name, params);
    }
    ok(enum_ok, "feature_get enumerates lower-case keywords consistent with has_extn/feature");
    ok(saw_size && saw_pipelining, "enumeration includes size=10485760 and pipelining");
    {
        const char *name = "untouched", *params = "untouched";
        ok(smtp_client_feature_get(s, nf, &name, &params) == SMTP_RESULT_INVALID_ARGUMENT
               && streq(name, "untouched") && streq(params, "untouched"),
           "feature_get(out of range) -> INVALID_ARGUMENT, outputs untouched");
    }

    /* sendmail: one accepted, one refused recipient */
    msg = make_message("smtp-partial", marker, sizeof marker);
    {
        const char *to[] = { "alice@example.test", "reject550@example.test" };
        rc = smtp_client_sendmail(s, "sender@example.test", to, 2, (const uint8_t *)msg, strlen(msg), NULL);
        ok_rc(s, rc, SMTP_RESULT_OK, "sendmail to alice + reject550");
        ok(smtp_client_recipient_count(s) == 2, "recipient_count == 2 (got %zu)", smtp_client_recipient_count(s));
        size_t nr = smtp_client_refused_count(s);
        if (ok(nr == 1, "exactly one refused recipient (got %zu)", nr)) {
            const char *addr = NULL, *text = NULL;
            int32_t code = 0;
            ok(smtp_client_refused_get(s, 0, &addr, &code, &text) == SMTP_RESULT_OK, "refused_get(0)");
            ok(streq(addr, "reject550@example.test"), "refused address reject550@example.test (got %s)", show(addr));
            ok(code == 550, "refused code 550 (got %d)", (int)code);
            ok(text != NULL && strstr(text, "5.1.1") != NULL, "refused text contains 5.1.1 (got %s)", show(text));
        } else {
            print_refused(s);
        }
        {
            const char *addr = NULL, *text = NULL;
            int32_t rcpt = -1, data = -1;
            ok(smtp_client_recipient_get(s, 0, &addr, &rcpt, &data, &text) == SMTP_RESULT_OK
                   && streq(addr, "alice@example.test") && rcpt == 250 && data == 0,
               "recipient_get(0): alice, RCPT 250, no after-data code (got %s %d %d)", show(addr), (int)rcpt, (int)data);
            ok(smtp_client_recipient_get(s, 1, &addr, &rcpt, &data, &text) == SMTP_RESULT_OK
                   && streq(addr, "reject550@example.test") && rcpt == 550 && data == 0,
               "recipient_get(1): reject550, RCPT 550 (got %s %d %d)", show(addr), (int)rcpt, (int)data);
            {
                int32_t cls = -1, subject = -1, detail = -1;
                bool found = smtp_client_recipient_enhanced_status(s, 1, &cls, &subject, &detail);
                ok(found && cls == 5 && subject == 1 && detail == 1,
                   "recipient_enhanced_status(1): 5.1.1 (got %d.%d.%d)", (int)cls, (int)subject, (int)detail);
                found = smtp_client_recipient_enhanced_status(s, 0, &cls, &subject, &detail);
                ok(found && cls == 2, "recipient_enhanced_status(0): 2.x.x (got %d.%d.%d)", (int)cls, (int)subject,
                   (int)detail);
                cls = -1;
                found = smtp_client_recipient_enhanced_status(s, 2, &cls, NULL, NULL);
                ok(!found && cls == -1, "recipient_enhanced_status(out of range): false, outputs untouched");
            }
            /* NULL outputs are skipped */
            ok(smtp_client_recipient_get(s, 0, NULL, NULL, NULL, NULL) == SMTP_RESULT_OK,
               "recipient_get with NULL outputs");
            ok(smtp_client_recipient_get(s, 2, &addr, &rcpt, &data, &text) == SMTP_RESULT_INVALID_ARGUMENT,
               "recipient_get(out of range) -> INVALID_ARGUMENT");
            ok(smtp_client_refused_get(s, 1, NULL, NULL, NULL) == SMTP_RESULT_INVALID_ARGUMENT,
               "refused_get(out of range) -> INVALID_ARGUMENT");
        }
        ok(wait_delivered(postfix_maildir, "alice", marker, 30) == 1, "message delivered once to alice's Maildir");
    }

    /* sender refused */
    msg = make_message("smtp-sender-refused", marker, sizeof marker);
    {
        const char *to[] = { "bob@example.test" };
        rc = smtp_client_sendmail(s, "reject553@example.test", to, 1, (const uint8_t *)msg, strlen(msg), NULL);
        ok_rc(s, rc, SMTP_RESULT_SENDER_REFUSED, "sendmail from reject553");
        ok(smtp_result_is_a(rc, SMTP_RESULT_RESPONSE_ERROR), "  which is-a RESPONSE_ERROR");
        ok(smtp_client_last_result(s) == SMTP_RESULT_SENDER_REFUSED, "last_result == SENDER_REFUSED");
        ok(smtp_client_last_error_reply_code(s) == 553, "last_error_reply_code 553 (got %d)",
           (int)smtp_client_last_error_reply_code(s));
        ok(strstr(smtp_client_last_error_reply_text(s), "Sender not allowed") != NULL,
           "last_error_reply_text has the server's text (got %s)", smtp_client_last_error_reply_text(s));
        ok(streq(smtp_client_last_error_sender(s), "reject553@example.test"), "last_error_sender (got %s)",
           show(smtp_client_last_error_sender(s)));
        int32_t cl = 0, su = 0, de = 0;
        ok(smtp_client_last_error_enhanced_status(s, &cl, &su, &de) && cl == 5 && su == 7 && de == 1,
           "enhanced status 5.7.1 (got %d.%d.%d)", (int)cl, (int)su, (int)de);
        ok(smtp_client_last_error_message(s)[0] != '\0', "last_error_message set: %s",
           smtp_client_last_error_message(s));
        ok(smtp_client_is_connected(s), "still connected after SENDER_REFUSED");
    }

    /* every recipient refused */
    msg = make_message("smtp-all-refused", marker, sizeof marker);
    {
        const char *to[] = { "reject550@example.test" };
        rc = smtp_client_sendmail(s, "sender@example.test", to, 1, (const uint8_t *)msg, strlen(msg), NULL);
        ok_rc(s, rc, SMTP_RESULT_RECIPIENTS_REFUSED, "sendmail to reject550 only");
        ok(smtp_client_last_error_sender(s) == NULL, "last_error_sender NULL for RECIPIENTS_REFUSED");
        ok(smtp_client_last_error_reply_code(s) == 550, "last_error_reply_code 550 (got %d)",
           (int)smtp_client_last_error_reply_code(s));
        ok(smtp_client_refused_count(s) == 1, "refused_count 1 (got %zu)", smtp_client_refused_count(s));
    }

    /* message refused after the data (Postfix end-of-data restriction) */
    msg = make_message("smtp-data-refused", marker, sizeof marker);
    {
        const char *to[] = { "bob@example.test" };
        rc = smtp_client_sendmail(s, "reject-after-data@example.test", to, 1, (const uint8_t *)msg, strlen(msg), NULL);
        ok_rc(s, rc, SMTP_RESULT_DATA_ERROR, "sendmail refused after DATA");
        ok(smtp_client_last_error_reply_code(s) == 554, "last_error_reply_code 554 (got %d)",
           (int)smtp_client_last_error_reply_code(s));
    }

    /* the same session still sends after all those failures */
    msg = make_message("smtp-after-failures", marker, sizeof marker);
    {
        const char *to[] = { "carol@example.test" };
        rc = smtp_client_sendmail(s, "sender@example.test", to, 1, (const uint8_t *)msg, strlen(msg), NULL);
        ok_rc(s, rc, SMTP_RESULT_OK, "the same session sends again after the failures");
        ok(smtp_client_refused_count(s) == 0 && smtp_client_recipient_count(s) == 1,
           "one recipient, none refused");
        ok(streq(smtp_client_last_error_message(s), "") && smtp_client_last_error_reply_code(s) == 0,
           "last error cleared by the successful call");
        ok(wait_delivered(postfix_maildir, "carol", marker, 30) == 1, "delivered to carol's Maildir");
    }

    /* send_message: the envelope from the headers, Bcc not transmitted */
    {
        char sm_marker[128];
        char sm_msg[1024];
        snprintf(sm_marker, sizeof sm_marker, "%s-send-message", run_id);
        snprintf(sm_msg, sizeof sm_msg,
                 "From: Sender <sender@example.test>\r\n"
                 "To: Alice <alice@example.test>\r\n"
                 "Bcc: Bob <bob@example.test>\r\n"
                 "Subject: libsmtpclient api_test %s\r\n"
                 "\r\n"
                 "send_message body.\r\n",
                 sm_marker);
        rc = smtp_client_send_message(s, (const uint8_t *)sm_msg, strlen(sm_msg), NULL, NULL, 0, NULL);
        ok_rc(s, rc, SMTP_RESULT_OK, "send_message with the envelope taken from From/To/Bcc");
        ok(smtp_client_recipient_count(s) == 2, "send_message: 2 recipients (To + Bcc) (got %zu)",
           smtp_client_recipient_count(s));
        ok(wait_delivered(postfix_maildir, "alice", sm_marker, 30) == 1, "send_message delivered to alice (To)");
        ok(wait_delivered(postfix_maildir, "bob", sm_marker, 30) == 1, "send_message delivered to bob (Bcc)");
        ok(!delivered_contains(postfix_maildir, "bob", sm_marker, "Bcc:"), "the Bcc field was not transmitted");
    }

    /* too large for the advertised SIZE: refused before anything is sent */
    {
        size_t big_len = 10485760 + 1024;
        uint8_t *big = malloc(big_len);
        if (ok(big != NULL, "allocated an 10 MiB message")) {
            memset(big, 'x', big_len);
            for (size_t i = 99; i < big_len; i += 100) {
                big[i] = '\n';
            }
            const char *to[] = { "bob@example.test" };
            rc = smtp_client_sendmail(s, "sender@example.test", to, 1, big, big_len, NULL);
            ok_rc(s, rc, SMTP_RESULT_MESSAGE_TOO_LARGE, "sendmail of a message over SIZE");
            free(big);
        }
        ok(smtp_client_is_connected(s), "still connected after MESSAGE_TOO_LARGE");
    }

    /* invalid arguments: refused before anything is sent, the session stays usable */
    {
        const char *to[] = { "bob@example.test\r\nRCPT TO:<carol@example.test>" };
        rc = smtp_client_sendmail(s, "sender@example.test", to, 1, (const uint8_t *)"x", 1, NULL);
        ok_rc(s, rc, SMTP_RESULT_INVALID_ARGUMENT, "sendmail with CR LF in a recipient");
        rc = smtp_client_sendmail(s, "sender@example.test", NULL, 1, (const uint8_t *)"x", 1, NULL);
        ok_rc(s, rc, SMTP_RESULT_NULL_ARGUMENT, "sendmail with to == NULL and n_to 1");
        rc = smtp_client_sendmail(s, "sender@example.test", to, 0, (const uint8_t *)"x", 1, NULL);
        ok_rc(s, rc, SMTP_RESULT_INVALID_ARGUMENT, "sendmail with no recipients");
        rc = smtp_client_docmd(s, "NOOP", "a\r\nQUIT");
        ok_rc(s, rc, SMTP_RESULT_INVALID_ARGUMENT, "docmd with CR LF in args");
        ok(smtp_client_is_connected(s), "still connected after the refused arguments");
    }

    /* mail / rcpt / data step by step */
    msg = make_message("smtp-steps", marker, sizeof marker);
    {
        const char *mail_opts[] = { "BODY=8BITMIME" };
        rc = smtp_client_mail(s, "sender@example.test", mail_opts, 1);
        ok_rc(s, rc, SMTP_RESULT_OK, "smtp_client_mail with BODY=8BITMIME");
        ok(smtp_client_last_reply_code(s) == 250, "MAIL reply 250 (got %d %s)", (int)smtp_client_last_reply_code(s),
           smtp_client_last_reply_text(s));
        ok(smtp_client_recipient_count(s) == 0, "smtp_client_mail starts with no recipients");
        rc = smtp_client_rcpt(s, "bob@example.test", NULL, 0);
        ok_rc(s, rc, SMTP_RESULT_OK, "smtp_client_rcpt bob");
        ok(smtp_client_last_reply_code(s) == 250, "RCPT bob reply 250");
        rc = smtp_client_rcpt(s, "reject550@example.test", NULL, 0);
        ok_rc(s, rc, SMTP_RESULT_OK, "smtp_client_rcpt reject550 (returns OK: the reply is the last reply)");
        ok(smtp_client_last_reply_code(s) == 550, "RCPT reject550 reply 550 (got %d)",
           (int)smtp_client_last_reply_code(s));
        ok(smtp_client_recipient_count(s) == 2 && smtp_client_refused_count(s) == 1,
           "2 recipients so far, 1 refused");
        rc = smtp_client_data(s, (const uint8_t *)msg, strlen(msg));
        ok_rc(s, rc, SMTP_RESULT_OK, "smtp_client_data");
        ok(smtp_client_last_reply_code(s) == 250, "end-of-data reply 250 (got %d %s)",
           (int)smtp_client_last_reply_code(s), smtp_client_last_reply_text(s));
        ok(wait_delivered(postfix_maildir, "bob", marker, 30) == 1, "step-by-step message delivered to bob");
        rc = smtp_client_data(s, (const uint8_t *)msg, strlen(msg));
        ok_rc(s, rc, SMTP_RESULT_DATA_ERROR, "smtp_client_data without MAIL/RCPT");
        ok(smtp_client_last_error_reply_code(s) == 503 || smtp_client_last_error_reply_code(s) == 554,
           "  refused by the server with %d", (int)smtp_client_last_error_reply_code(s));
    }

    /* other commands */
    ok_rc(s, smtp_client_noop(s), SMTP_RESULT_OK, "smtp_client_noop");
    ok(smtp_client_last_reply_code(s) == 250, "NOOP reply 250");
    ok_rc(s, smtp_client_rset(s), SMTP_RESULT_OK, "smtp_client_rset");
    ok(smtp_client_last_reply_code(s) == 250, "RSET reply 250");
    ok_rc(s, smtp_client_help(s, NULL), SMTP_RESULT_OK, "smtp_client_help (any reply code)");
    diag("  HELP: %d %s", (int)smtp_client_last_reply_code(s), smtp_client_last_reply_text(s));
    ok(smtp_client_last_reply_code(s) >= 200, "HELP got a reply (%d)", (int)smtp_client_last_reply_code(s));
    ok_rc(s, smtp_client_verify(s, "alice@example.test"), SMTP_RESULT_OK, "smtp_client_verify");
    diag("  VRFY: %d %s", (int)smtp_client_last_reply_code(s), smtp_client_last_reply_text(s));
    ok(smtp_client_last_reply_code(s) / 100 == 2, "VRFY alice reply 2xx (got %d)", (int)smtp_client_last_reply_code(s));
    ok_rc(s, smtp_client_expn(s, "alice@example.test"), SMTP_RESULT_OK, "smtp_client_expn (any reply code)");
    ok_rc(s, smtp_client_docmd(s, "NOOP", NULL), SMTP_RESULT_OK, "smtp_client_docmd(\"NOOP\", NULL)");
    ok(smtp_client_last_reply_code(s) == 250 && strstr(smtp_client_last_reply_text(s), "Ok") != NULL,
       "docmd NOOP reply 250 Ok (got %d %s)", (int)smtp_client_last_reply_code(s), smtp_client_last_reply_text(s));
    ok_rc(s, smtp_client_docmd(s, "XNOSUCHCOMMAND", "arg"), SMTP_RESULT_OK, "smtp_client_docmd(unknown command)");
    ok(smtp_client_last_reply_code(s) / 100 == 5, "unknown command reply 5xx (got %d)",
       (int)smtp_client_last_reply_code(s));

    /* quit, then the session can be connected again */
    ok_rc(s, smtp_client_quit(s), SMTP_RESULT_OK, "smtp_client_quit");
    ok(!smtp_client_is_connected(s), "not connected after quit");
    ok(smtp_client_last_reply_code(s) == 221, "QUIT reply 221 (got %d)", (int)smtp_client_last_reply_code(s));
    ok_rc(s, smtp_client_noop(s), SMTP_RESULT_SERVER_DISCONNECTED, "smtp_client_noop after quit");
    ok_rc(s, smtp_client_quit(s), SMTP_RESULT_SERVER_DISCONNECTED, "smtp_client_quit after quit");
    ok_rc(s, smtp_client_close(s), SMTP_RESULT_OK, "smtp_client_close on a closed session");
    ok_rc(s, smtp_client_connect(s, smtp_host, smtp_port), SMTP_RESULT_OK, "the same session connects again");
    ok_rc(s, smtp_client_ehlo_or_helo_if_needed(s), SMTP_RESULT_OK, "ehlo_or_helo_if_needed");
    ok(smtp_client_has_extn(s, "size"), "features known again after the new EHLO");
    ok_rc(s, smtp_client_close(s), SMTP_RESULT_OK, "smtp_client_close (no QUIT)");
    ok(!smtp_client_is_connected(s), "not connected after close");

    ok(dbg.freed == 0, "debug userdata not released while the session lives");
    smtp_client_free(s);
    ok(dbg.freed == 1, "debug userdata_free called once by smtp_client_free (got %d)", dbg.freed);
}

static void test_helo(void)
{
    smtp_client *s = smtp_client_new(SMTP_CLIENT_KIND_SMTP);
    if (!ok(s != NULL, "SMTP session for HELO")) {
        return;
    }
    ok_rc(s, smtp_client_set_local_hostname(s, "client.example.test"), SMTP_RESULT_OK, "set_local_hostname");
    /* bind to the server's own (loopback) address, any port */
    ok_rc(s, smtp_client_set_source_address(s, smtp_host, 0), SMTP_RESULT_OK, "set_source_address(SMTP_HOST, 0)");
    ok_rc(s, smtp_client_connect(s, smtp_host, smtp_port), SMTP_RESULT_OK, "connect from the source address");
    ok_rc(s, smtp_client_helo(s, NULL), SMTP_RESULT_OK, "smtp_client_helo");
    ok(smtp_client_last_reply_code(s) == 250, "HELO reply 250");
    ok(smtp_client_helo_resp(s) != NULL && smtp_client_ehlo_resp(s) == NULL, "helo_resp set, ehlo_resp NULL");
    ok(!smtp_client_does_esmtp(s) && !smtp_client_has_extn(s, "size") && smtp_client_feature_count(s) == 0,
       "no ESMTP after HELO");
    ok_rc(s, smtp_client_quit(s), SMTP_RESULT_OK, "quit");
    smtp_client_free(s);
}

static void test_lmtp(void)
{
    char marker[128];
    const char *msg = make_message("lmtp", marker, sizeof marker);
    smtp_result rc;

    smtp_client *s = smtp_client_new(SMTP_CLIENT_KIND_LMTP);
    if (!ok(s != NULL, "smtp_client_new(SMTP_CLIENT_KIND_LMTP)")) {
        return;
    }
    ok_rc(s, smtp_client_set_timeout_ms(s, 20000), SMTP_RESULT_OK, "set_timeout_ms");
    rc = smtp_client_connect(s, lmtp_socket, 0);
    if (!ok_rc(s, rc, SMTP_RESULT_OK, "smtp_client_connect to Dovecot LMTP over the Unix socket")) {
        smtp_client_free(s);
        return;
    }
    ok(smtp_client_last_reply_code(s) == 220, "LMTP greeting 220");

    const char *to[] = { "alice@example.test", "bob@example.test", "full@example.test" };
    rc = smtp_client_sendmail(s, "sender@example.test", to, 3, (const uint8_t *)msg, strlen(msg), NULL);
    ok_rc(s, rc, SMTP_RESULT_OK, "LMTP sendmail to alice, bob and full");
    ok(smtp_client_does_esmtp(s) && smtp_client_ehlo_resp(s) != NULL, "LHLO accepted (does_esmtp, ehlo_resp)");
    ok(smtp_client_recipient_count(s) == 3, "recipient_count 3 (got %zu)", smtp_client_recipient_count(s));
    static const int32_t want_data[] = { 250, 250, 552 };
    for (size_t i = 0; i < 3; i++) {
        const char *addr = NULL, *text = NULL;
        int32_t rcpt = -1, data = -1;
        rc = smtp_client_recipient_get(s, i, &addr, &rcpt, &data, &text);
        ok(rc == SMTP_RESULT_OK && streq(addr, to[i]) && rcpt == 250 && data == want_data[i],
           "recipient %zu: %s RCPT 250, after data %d (got %s %d %d: %s)", i, to[i], (int)want_data[i], show(addr),
           (int)rcpt, (int)data, show(text));
    }
    size_t nr = smtp_client_refused_count(s);
    if (ok(nr == 1, "LMTP refused_count 1 (got %zu)", nr)) {
        const char *addr = NULL, *text = NULL;
        int32_t code = 0;
        ok(smtp_client_refused_get(s, 0, &addr, &code, &text) == SMTP_RESULT_OK && streq(addr, "full@example.test")
               && code == 552,
           "refused: full@example.test 552 (got %s %d %s)", show(addr), (int)code, show(text));
        int32_t cls = -1, subject = -1, detail = -1;
        bool found = smtp_client_recipient_enhanced_status(s, 2, &cls, &subject, &detail);
        ok(found && cls == 5 && subject == 2 && detail == 2,
           "recipient_enhanced_status(2): full's after-data 5.2.2 (got %d.%d.%d)", (int)cls, (int)subject, (int)detail);
    } else {
        print_refused(s);
    }
    ok(count_delivered(lmtp_maildir, "alice", marker) == 1, "LMTP message in alice's Maildir");
    ok(count_delivered(lmtp_maildir, "bob", marker) == 1, "LMTP message in bob's Maildir");
    ok(count_delivered(lmtp_maildir, "full", marker) == 0, "LMTP message not in full's Maildir");

    /* every recipient refused after the data -> DATA_ERROR */
    {
        char marker2[128];
        const char *msg2 = make_message("lmtp-all-full", marker2, sizeof marker2);
        const char *to2[] = { "full@example.test" };
        rc = smtp_client_sendmail(s, "sender@example.test", to2, 1, (const uint8_t *)msg2, strlen(msg2), NULL);
        ok_rc(s, rc, SMTP_RESULT_DATA_ERROR, "LMTP sendmail to full only");
        ok(smtp_client_last_error_reply_code(s) == 552, "last_error_reply_code 552 (got %d)",
           (int)smtp_client_last_error_reply_code(s));
        ok(smtp_client_refused_count(s) == 1, "refused_count 1");
    }

    ok_rc(s, smtp_client_quit(s), SMTP_RESULT_OK, "LMTP quit");
    smtp_client_free(s);
}

static void test_url(void)
{
    char marker[128], url[512];
    const char *msg = make_message("url", marker, sizeof marker);
    smtp_result rc;

    /* a plain SMTP URL: the endpoint for smtp_client_connect(s, NULL, 0) */
    smtp_client *s = smtp_client_new(SMTP_CLIENT_KIND_SMTP);
    if (!ok(s != NULL, "smtp_client_new(SMTP_CLIENT_KIND_SMTP) for a URL")) {
        return;
    }
    ok_rc(s, smtp_client_set_timeout_ms(s, 20000), SMTP_RESULT_OK, "set_timeout_ms");
    snprintf(url, sizeof url, "smtp://%s:%u/?tls=none", smtp_host, (unsigned)smtp_port);
    ok_rc(s, smtp_client_set_url(s, url), SMTP_RESULT_OK, "smtp_client_set_url smtp://");
    /* refused URLs name the part and leave the endpoint as it was */
    ok_rc(s, smtp_client_set_url(s, "smtp://u:p@mx:0"), SMTP_RESULT_INVALID_ARGUMENT, "set_url with port 0");
    ok(strncmp(show(smtp_client_last_error_message(s)), "URL port", 8) == 0, "the error names the port (%s)",
       show(smtp_client_last_error_message(s)));
    ok_rc(s, smtp_client_set_url(s, "lmtp+unix:///run/lmtp"), SMTP_RESULT_INVALID_ARGUMENT,
          "set_url of another kind");
    ok_rc(s, smtp_client_login(s, NULL, NULL, 1), SMTP_RESULT_NULL_ARGUMENT, "login(NULL, NULL): the URL had none");
    rc = smtp_client_connect(s, NULL, 0);
    if (ok_rc(s, rc, SMTP_RESULT_OK, "smtp_client_connect(s, NULL, 0) to the URL's endpoint")) {
        const char *to[] = { "bob@example.test" };
        rc = smtp_client_sendmail(s, "sender@example.test", to, 1, (const uint8_t *)msg, strlen(msg), NULL);
        ok_rc(s, rc, SMTP_RESULT_OK, "sendmail after connecting by URL");
        ok_rc(s, smtp_client_set_url(s, url), SMTP_RESULT_BAD_STATE, "set_url while connected");
        ok_rc(s, smtp_client_quit(s), SMTP_RESULT_OK, "quit");
        ok(wait_delivered(postfix_maildir, "bob", marker, 15), "URL message in bob's Maildir");
    }
    /* credentials kept by the session, replaced by the next URL (checked under valgrind/ASan) */
    ok_rc(s, smtp_client_set_url(s, "smtp://alice:p%40ss%3Aword@localhost:2525"), SMTP_RESULT_OK,
          "set_url with a percent-encoded password");
    ok_rc(s, smtp_client_set_url(s, url), SMTP_RESULT_OK, "set_url replacing it");
    smtp_client_free(s);

    /* LMTP over the Unix socket */
    char lmarker[128];
    const char *lmsg = make_message("url-lmtp", lmarker, sizeof lmarker);
    s = smtp_client_new(SMTP_CLIENT_KIND_LMTP);
    if (!ok(s != NULL, "smtp_client_new(SMTP_CLIENT_KIND_LMTP) for a URL")) {
        return;
    }
    snprintf(url, sizeof url, "lmtp+unix://%s", lmtp_socket);
    ok_rc(s, smtp_client_set_url(s, url), SMTP_RESULT_OK, "smtp_client_set_url lmtp+unix://");
    rc = smtp_client_connect(s, NULL, 0);
    if (ok_rc(s, rc, SMTP_RESULT_OK, "connect to the URL's Unix socket")) {
        const char *to[] = { "bob@example.test" };
        rc = smtp_client_sendmail(s, "sender@example.test", to, 1, (const uint8_t *)lmsg, strlen(lmsg), NULL);
        ok_rc(s, rc, SMTP_RESULT_OK, "LMTP sendmail after connecting by URL");
        ok_rc(s, smtp_client_quit(s), SMTP_RESULT_OK, "LMTP quit");
        ok(count_delivered(lmtp_maildir, "bob", lmarker) == 1, "LMTP URL message in bob's Maildir");
    }
    smtp_client_free(s);
}

/* DSN from C: RET, ENVID, and NOTIFY / ORCPT for one recipient of two; Postfix sends alice a
 * success notification for bob (with the ENVID and ORCPT) and none for carol (NEVER). */
static void test_dsn(void)
{
    char marker[128], envid[160], orcpt_bob[200], orcpt_carol[200];
    const char *msg = make_message("dsn", marker, sizeof marker);
    snprintf(envid, sizeof envid, "env=%s", marker);
    snprintf(orcpt_bob, sizeof orcpt_bob, "orig+bob.%s@example.test", marker);
    snprintf(orcpt_carol, sizeof orcpt_carol, "orig+carol.%s@example.test", marker);

    smtp_send_options *o = smtp_send_options_new();
    if (!ok(o != NULL, "smtp_send_options_new for DSN")) {
        return;
    }
    ok_rc(NULL, smtp_send_options_set_dsn_ret(o, SMTP_DSN_RET_HDRS), SMTP_RESULT_OK, "set_dsn_ret HDRS");
    ok_rc(NULL, smtp_send_options_set_dsn_envid(o, envid), SMTP_RESULT_OK, "set_dsn_envid");
    ok_rc(NULL, smtp_send_options_set_dsn_notify(o, "bob@example.test", SMTP_DSN_NOTIFY_SUCCESS | SMTP_DSN_NOTIFY_FAILURE),
          SMTP_RESULT_OK, "set_dsn_notify SUCCESS|FAILURE for bob");
    ok_rc(NULL, smtp_send_options_set_dsn_orcpt(o, "bob@example.test", orcpt_bob), SMTP_RESULT_OK, "set_dsn_orcpt for bob");
    ok_rc(NULL, smtp_send_options_set_dsn_notify(o, "carol@example.test", SMTP_DSN_NOTIFY_NEVER), SMTP_RESULT_OK,
          "set_dsn_notify NEVER for carol");
    ok_rc(NULL, smtp_send_options_set_dsn_orcpt(o, "carol@example.test", orcpt_carol), SMTP_RESULT_OK,
          "set_dsn_orcpt for carol");
    ok_rc(NULL, smtp_send_options_set_dsn_notify(o, "carol@example.test", SMTP_DSN_NOTIFY_NEVER | SMTP_DSN_NOTIFY_DELAY),
          SMTP_RESULT_INVALID_ARGUMENT, "NEVER with DELAY is refused");
    ok_rc(NULL, smtp_send_options_add_mail_option(o, "RET=FULL"), SMTP_RESULT_INVALID_ARGUMENT,
          "a raw RET as well is refused");

    smtp_client *s = smtp_client_new(SMTP_CLIENT_KIND_SMTP);
    if (ok(s != NULL, "smtp_client_new for DSN")) {
        ok_rc(s, smtp_client_set_timeout_ms(s, 20000), SMTP_RESULT_OK, "set_timeout_ms");
        if (ok_rc(s, smtp_client_connect(s, smtp_host, smtp_port), SMTP_RESULT_OK, "connect for DSN")) {
            const char *to[] = { "bob@example.test", "carol@example.test" };
            smtp_result rc =
                smtp_client_sendmail(s, "alice@example.test", to, 2, (const uint8_t *)msg, strlen(msg), o);
            ok_rc(s, rc, SMTP_RESULT_OK, "sendmail with DSN settings");
            ok_rc(s, smtp_client_quit(s), SMTP_RESULT_OK, "quit");
            ok(wait_delivered(postfix_maildir, "alice", orcpt_bob, 30) == 1,
               "one success notification for bob in alice's Maildir");
            char field[256];
            snprintf(field, sizeof field, "Original-Envelope-Id: %s", envid);
            ok(delivered_contains(postfix_maildir, "alice", orcpt_bob, field), "it carries %s", field);
            snprintf(field, sizeof field, "Original-Recipient: rfc822;%s", orcpt_bob);
            ok(delivered_contains(postfix_maildir, "alice", orcpt_bob, field), "it carries %s", field);
            ok(count_delivered(postfix_maildir, "alice", orcpt_carol) == 0, "none for carol (NEVER)");
        }
        smtp_client_free(s);
    }
    smtp_send_options_free(o);
}

int main(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        fprintf(stderr, "usage: api_test [SMTP_HOST SMTP_PORT LMTP_SOCKET POSTFIX_MAILDIR LMTP_MAILDIR]\n");
        return 2;
    }
    smtp_host = arg_or_env(argc, argv, 1, "SMTP_HOST");
    long port = strtol(arg_or_env(argc, argv, 2, "SMTP_PORT"), NULL, 10);
    if (port <= 0 || port > 65535) {
        fprintf(stderr, "api_test: bad SMTP_PORT\n");
        return 2;
    }
    smtp_port = (uint16_t)port;
    lmtp_socket = arg_or_env(argc, argv, 3, "LMTP_SOCKET");
    postfix_maildir = arg_or_env(argc, argv, 4, "POSTFIX_MAILDIR");
    lmtp_maildir = arg_or_env(argc, argv, 5, "LMTP_MAILDIR");
    snprintf(run_id, sizeof run_id, "apitest-%ld-%ld", (long)getpid(), (long)time(NULL));
    diag("libsmtpclient %s; marker prefix %s", show(smtp_lib_version()), run_id);

    test_version();
    test_result_codes();
    test_without_connection();
    test_smtp();
    test_helo();
    test_lmtp();
    test_url();
    test_dsn();

    printf("1..%d\n", tests_run);
    if (tests_failed) {
        printf("# FAILED %d of %d checks\n", tests_failed, tests_run);
        return 1;
    }
    printf("# all %d checks passed\n", tests_run);
    return 0;
}
