// Compile-only check: smtpclient.h is valid C++11 (declarations inside extern "C"), with
// -Wall -Wextra -Wpedantic -Werror (`make check-header`), and its version macros are consistent.
#include <smtpclient.h>
#include <smtpclient.h> // the include guard makes a second include harmless

#include <cstddef>

static_assert(SMTPCLIENT_VERSION_NUMBER ==
                  SMTPCLIENT_VERSION_MAJOR * 10000 + SMTPCLIENT_VERSION_MINOR * 100 +
                      SMTPCLIENT_VERSION_PATCH,
              "SMTPCLIENT_VERSION_NUMBER does not match MAJOR/MINOR/PATCH");
static_assert(SMTPCLIENT_VERSION_MINOR < 100 && SMTPCLIENT_VERSION_PATCH < 100,
              "SMTPCLIENT_VERSION_NUMBER needs MINOR and PATCH below 100");

namespace {

#define SMTPCLIENT_TEST_STR2(x) #x
#define SMTPCLIENT_TEST_STR(x) SMTPCLIENT_TEST_STR2(x)

// The expected "MAJOR.MINOR.PATCH", built from the numeric macros.
constexpr char expected_version[] = SMTPCLIENT_TEST_STR(SMTPCLIENT_VERSION_MAJOR) "." SMTPCLIENT_TEST_STR(
    SMTPCLIENT_VERSION_MINOR) "." SMTPCLIENT_TEST_STR(SMTPCLIENT_VERSION_PATCH);

// True when `prefix` is a prefix of `s` and `s` continues with NUL, '-' or '+' (a pre-release or
// build suffix may follow the numbers in the version string).
constexpr bool version_prefix(const char *s, const char *prefix)
{
    return *prefix == '\0' ? (*s == '\0' || *s == '-' || *s == '+')
                           : (*s == *prefix && version_prefix(s + 1, prefix + 1));
}

static_assert(version_prefix(SMTPCLIENT_VERSION_STRING, expected_version),
              "SMTPCLIENT_VERSION_STRING does not match MAJOR.MINOR.PATCH");

} // namespace

int main()
{
    return SMTPCLIENT_VERSION_STRING[0] == '\0';
}
