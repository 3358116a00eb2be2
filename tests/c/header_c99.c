/*
 * Compile-only check: smtpclient.h is valid C99 on its own, with -Wall -Wextra -Wpedantic -Werror
 * (`make check-header`), and its version macros are consistent.
 */
#include <smtpclient.h>

#ifndef SMTPCLIENT_H
#error "smtpclient.h has no SMTPCLIENT_H include guard"
#endif

/* The header must survive being included twice. */
#include <smtpclient.h>

#if !defined(SMTPCLIENT_VERSION_MAJOR) || !defined(SMTPCLIENT_VERSION_MINOR) \
    || !defined(SMTPCLIENT_VERSION_PATCH) || !defined(SMTPCLIENT_VERSION_NUMBER) \
    || !defined(SMTPCLIENT_VERSION_STRING)
#error "smtpclient.h lacks a SMTPCLIENT_VERSION_* macro"
#endif

/* Usable in #if, as callers will use them. */
#if SMTPCLIENT_VERSION_NUMBER != \
    (SMTPCLIENT_VERSION_MAJOR * 10000 + SMTPCLIENT_VERSION_MINOR * 100 + SMTPCLIENT_VERSION_PATCH)
#error "SMTPCLIENT_VERSION_NUMBER does not match MAJOR/MINOR/PATCH"
#endif

#if SMTPCLIENT_VERSION_MINOR > 99 || SMTPCLIENT_VERSION_PATCH > 99
#error "SMTPCLIENT_VERSION_NUMBER needs MINOR and PATCH below 100"
#endif

/* C99 has no _Static_assert: a negative array size fails the compile instead. */
typedef char smtpclient_version_number_matches[
    (SMTPCLIENT_VERSION_NUMBER ==
     SMTPCLIENT_VERSION_MAJOR * 10000 + SMTPCLIENT_VERSION_MINOR * 100 + SMTPCLIENT_VERSION_PATCH)
        ? 1 : -1];

/* The version string is a string literal of at least "0.0.0". */
typedef char smtpclient_version_string_is_literal[(sizeof(SMTPCLIENT_VERSION_STRING) > 5) ? 1 : -1];

/* The fixed-width and size types the header relies on come with it. */
typedef char smtpclient_header_types_available[
    (sizeof(int32_t) == 4 && sizeof(uint32_t) == 4 && sizeof(size_t) > 0 && sizeof(bool) > 0)
        ? 1 : -1];

int main(void)
{
    static const char version[] = SMTPCLIENT_VERSION_STRING;
    return version[0] == '\0';
}
