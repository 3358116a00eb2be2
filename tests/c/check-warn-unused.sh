#!/usr/bin/env bash
# tests/c/check-warn-unused.sh - ignoring a result code is a compile-time diagnostic, in C and C++.
#
# tests/c/ignored_result.c ignores smtp_client_connect()'s result. Compiled with -Werror it must
# FAIL, naming the function, as C99 (warn_unused_result), C2x and C++17 ([[nodiscard]]); in C2x
# and C++17 a cast to void must silence it (IGNORE_WITH_VOID).
#   usage: check-warn-unused.sh INCLUDE_DIR   (CC and CXX from the environment)
set -euo pipefail
INC=$1
SRC=$(dirname "$0")/ignored_result.c
CC=${CC:-cc}
CXX=${CXX:-c++}
out=$(mktemp)
trap 'rm -f "$out"' EXIT

must_fail() { # must_fail WHAT COMPILER ARGS...
  local what=$1; shift
  if "$@" -Werror -c -o /dev/null -I"$INC" "$SRC" > "$out" 2>&1; then
    echo "error: $what: ignoring smtp_client_connect()'s result compiled without a diagnostic" >&2
    exit 1
  fi
  grep -q "smtp_client_connect" "$out" || { echo "error: $what failed for another reason:" >&2; cat "$out" >&2; exit 1; }
  echo "ok: $what: an ignored result is a diagnostic"
}
must_pass() { # must_pass WHAT COMPILER ARGS...
  local what=$1; shift
  "$@" -Werror -DIGNORE_WITH_VOID -c -o /dev/null -I"$INC" "$SRC" > "$out" 2>&1 \
    || { echo "error: $what: a cast to void should silence it:" >&2; cat "$out" >&2; exit 1; }
  echo "ok: $what: a cast to void silences it"
}

must_fail "C99" "$CC" -std=c99 -Wall
must_fail "C2x" "$CC" -std=c2x -Wall
must_pass "C2x" "$CC" -std=c2x -Wall
must_fail "C++17" "$CXX" -x c++ -std=c++17 -Wall
must_pass "C++17" "$CXX" -x c++ -std=c++17 -Wall
