/*
 * Compiled by tests/c/check-warn-unused.sh, never run: ignoring a result code must be a
 * compiler diagnostic (-Werror makes it fail), in C99 (GCC's warn_unused_result), C2x/C23 and
 * C++17 ([[nodiscard]]). With IGNORE_WITH_VOID defined, the result is cast to void, which
 * [[nodiscard]] accepts: that build must succeed.
 */
#include <smtpclient.h>

int main(void)
{
    smtp_client *client = smtp_client_new(SMTP_CLIENT_KIND_SMTP);
#ifdef IGNORE_WITH_VOID
    (void)smtp_client_connect(client, "127.0.0.1", 25);
#else
    smtp_client_connect(client, "127.0.0.1", 25);
#endif
    smtp_client_free(client);
    return 0;
}
