#!/usr/bin/env bash
# tests/c/run.sh - the C library as a C user gets it, end to end against the test bed.
#
#   1. builds the library (`make`) and installs it into a scratch DESTDIR (PREFIX=/usr);
#   2. builds tests/c/api_test.c and examples/send.c (through a copy of examples/Makefile) with
#      -std=c99 -Wall -Wextra -Wpedantic -Werror, finding the library ONLY through pkg-config
#      pointed at that install;
#   3. runs api_test, sigpipe_test (a server gone mid-body must give an error code, not SIGPIPE)
#      and several `send` runs (SMTP to Postfix, LMTP over the Unix socket) under
#      valgrind: any memory error or leak of any kind fails;
#   4. links api_test against the static library (pkg-config --static) and runs it once;
#   5. builds api_test with -fsanitize=address,undefined and runs it once (leak checking on);
#   6. generates the borrowed-string matrix from the installed header (tests/c/gen_borrow_matrix.py:
#      every borrowed string passed back into every string argument) and runs it under valgrind
#      and ASan;
#   7. drives 100 sessions from one thread with epoll through the non-blocking API (Postfix plain
#      and STARTTLS, smtp-sink; 10 again under valgrind), and runs examples/nonblocking (poll,
#      epoll with STARTTLS, libuv, the sender over pooled connections, also under valgrind),
#      finding every message in the Maildir.
#
# Usage: bash tests/c/run.sh
#   SMTPENV_DIR   the running test bed (default /tmp/smtpclient-testbed; start it with
#                 `bash tests/servers/up.sh`)
#   CC            C compiler (default gcc; the sanitizer build needs gcc or clang)
#   KEEP_TMP=1    keep the scratch directory (installed tree, binaries, logs) for inspection
#
# Exits 0 only when every step passed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SMTPENV_DIR=${SMTPENV_DIR:-/tmp/smtpclient-testbed}
CC=${CC:-gcc}
CSTD_FLAGS=(-std=c99 -Wall -Wextra -Wpedantic -Werror -g -O1)
VALGRIND=(valgrind --leak-check=full --show-leak-kinds=all --errors-for-leak-kinds=all --error-exitcode=99
          --track-origins=yes --num-callers=30)
if [ -f "$ROOT/tests/c/valgrind.supp" ]; then
  VALGRIND+=(--suppressions="$ROOT/tests/c/valgrind.supp")
fi

log() { printf '%s\n' "run.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------------------- preconditions
ENVF=$SMTPENV_DIR/env
[ -s "$ENVF" ] || die "the test bed is not running ($ENVF does not exist): start it with 'bash tests/servers/up.sh'"
set -a
# shellcheck disable=SC1090
. "$ENVF"
set +a
for v in SMTP_HOST SMTP_PORT LMTP_SOCKET POSTFIX_MAILDIR LMTP_MAILDIR; do
  [ -n "${!v:-}" ] || die "$ENVF does not set $v: restart the test bed (tests/servers/down.sh; tests/servers/up.sh)"
done
(exec 3<>"/dev/tcp/$SMTP_HOST/$SMTP_PORT") 2>/dev/null \
  || die "nothing listens on $SMTP_HOST:$SMTP_PORT (Postfix): the test bed is down; run 'bash tests/servers/up.sh'"
[ -S "$LMTP_SOCKET" ] || die "LMTP socket $LMTP_SOCKET missing: the test bed is down; run 'bash tests/servers/up.sh'"
for cmd in make pkg-config valgrind readelf "$CC"; do
  command -v "$cmd" >/dev/null || die "$cmd not found"
done

# libuv (for examples/nonblocking/uv.c) from the system, before pkg-config is pointed at the stage
UV_CFLAGS=$(pkg-config --cflags libuv) || die "libuv not found (Debian: libuv1-dev; scripts/install-deps.sh installs it)"
UV_LIBS=$(pkg-config --libs libuv)

TMP=$(mktemp -d "${TMPDIR:-/tmp}/smtpclient-ctest.XXXXXX")
if [ "${KEEP_TMP:-0}" = 1 ]; then
  trap 'log "scratch directory kept: $TMP"' EXIT
else
  trap 'rm -rf "$TMP"' EXIT
fi
STAGE=$TMP/stage
BIN=$TMP/bin
LOGS=$TMP/logs
mkdir -p "$BIN" "$LOGS"

# ---------------------------------------------------------------------------- bookkeeping
declare -a SUMMARY=()
FAILED=0
pass() { SUMMARY+=("PASS  $1"); log "PASS: $1"; }
fail() { SUMMARY+=("FAIL  $1"); FAILED=$((FAILED + 1)); log "FAIL: $1"; }
print_summary() {
  echo
  echo "==================== tests/c/run.sh summary ===================="
  printf '%s\n' "${SUMMARY[@]}"
  echo "================================================================"
  if [ "$FAILED" -eq 0 ]; then
    echo "all ${#SUMMARY[@]} steps passed"
  else
    echo "$FAILED of ${#SUMMARY[@]} steps FAILED"
  fi
}
# A step that later steps cannot do without: stop at once when it fails.
fatal() { fail "$1"; print_summary; exit 1; }

# Print a log file's tail to stderr (after a failure).
show_log() { log "---- last lines of $1:"; tail -n "${2:-40}" "$1" | sed 's/^/    /' >&2; }

# run_valgrind NAME CMD... : run CMD under valgrind; fails on any error or leak.
run_valgrind() {
  local name=$1; shift
  local vlog="$LOGS/valgrind-$name.log" rc=0
  "${VALGRIND[@]}" --log-file="$vlog" "$@" || rc=$?
  if [ "$rc" -eq 99 ]; then
    log "valgrind found errors or leaks in $name:"
    show_log "$vlog" 80
  elif ! grep -q 'ERROR SUMMARY: 0 errors' "$vlog"; then
    log "valgrind log of $name has no clean error summary (exit $rc):"
    show_log "$vlog" 80
    [ "$rc" -ne 0 ] || rc=98
  fi
  return "$rc"
}

# wait_for_marker DIR MARKER SECONDS : wait until exactly one file under DIR contains MARKER.
wait_for_marker() {
  local dir=$1 marker=$2 seconds=$3 n=0 i
  for ((i = 0; i <= seconds * 5; i++)); do
    n=$( (grep -rlF -- "$marker" "$dir" 2>/dev/null || true) | wc -l)
    [ "$n" -ge 1 ] && break
    sleep 0.2
  done
  [ "$n" -eq 1 ] || { log "$n files under $dir contain $marker (want 1)"; return 1; }
}

new_message() { # new_message MARKER FILE
  printf 'From: run.sh <sender@example.test>\nTo: <undisclosed@example.test>\nSubject: libsmtpclient send example %s\n\nBody of %s.\n.leading dot\n' \
    "$1" "$1" > "$2"
}

# ---------------------------------------------------------------------------- build and install
log "building the library (make)"
make -C "$ROOT" > "$LOGS/make.log" 2>&1 || { show_log "$LOGS/make.log"; fatal "make"; }
pass "make"

log "installing into $STAGE (make install DESTDIR=$STAGE PREFIX=/usr)"
make -C "$ROOT" install DESTDIR="$STAGE" PREFIX=/usr > "$LOGS/install.log" 2>&1 \
  || { show_log "$LOGS/install.log"; fatal "make install DESTDIR PREFIX=/usr"; }
missing=()
for f in usr/include/smtpclient.h usr/lib/libsmtpclient.so usr/lib/libsmtpclient.a usr/lib/pkgconfig/smtpclient.pc; do
  [ -e "$STAGE/$f" ] || missing+=("$f")
done
[ ${#missing[@]} -eq 0 ] || fatal "make install: missing from the staged tree: ${missing[*]}"
pass "make install DESTDIR PREFIX=/usr ($(cd "$STAGE" && find . -type f -o -type l | sort | tr '\n' ' '))"

# Only the staged install: the .pc holds prefix=/usr, the sysroot makes pkg-config prefix -I/-L
# with the staging root. PKG_CONFIG_LIBDIR keeps any system-wide smtpclient.pc out of reach.
export PKG_CONFIG_PATH=$STAGE/usr/lib/pkgconfig
export PKG_CONFIG_LIBDIR=$STAGE/usr/lib/pkgconfig
export PKG_CONFIG_SYSROOT_DIR=$STAGE
PC_CFLAGS=$(pkg-config --cflags smtpclient) || fatal "pkg-config --cflags smtpclient"
PC_LIBS=$(pkg-config --libs smtpclient) || fatal "pkg-config --libs smtpclient"
PC_STATIC_LIBS=$(pkg-config --static --libs smtpclient) || fatal "pkg-config --static --libs smtpclient"
log "pkg-config --cflags: $PC_CFLAGS"
log "pkg-config --libs: $PC_LIBS"
log "pkg-config --static --libs: $PC_STATIC_LIBS"
case " $PC_CFLAGS " in *" -I$STAGE/usr/include "*) ;; *) fatal "pkg-config --cflags does not point into the staged tree: $PC_CFLAGS" ;; esac
case " $PC_LIBS " in *" -L$STAGE/usr/lib "*) ;; *) fatal "pkg-config --libs does not point into the staged tree: $PC_LIBS" ;; esac
CARGO_VERSION=$(sed -n '/^\[package\]/,/^\[/s/^version[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' "$ROOT/Cargo.toml" | head -n 1)
[ "$(pkg-config --modversion smtpclient)" = "$CARGO_VERSION" ] \
  || fatal "pkg-config --modversion $(pkg-config --modversion smtpclient) != Cargo.toml version $CARGO_VERSION"
pass "pkg-config finds the staged install (version $CARGO_VERSION)"

export LD_LIBRARY_PATH=$STAGE/usr/lib

# ---------------------------------------------------------------------------- compile
log "compiling api_test (shared)"
# shellcheck disable=SC2086  # pkg-config output is a list of flags
"$CC" "${CSTD_FLAGS[@]}" $PC_CFLAGS -o "$BIN/api_test" "$ROOT/tests/c/api_test.c" $PC_LIBS \
  > "$LOGS/cc-api_test.log" 2>&1 || { show_log "$LOGS/cc-api_test.log"; fatal "compile api_test.c (shared)"; }
pass "compile api_test.c with pkg-config --cflags --libs, -std=c99 -Wall -Wextra -Wpedantic -Werror"

log "compiling sigpipe_test (shared)"
# shellcheck disable=SC2086  # pkg-config output is a list of flags
"$CC" "${CSTD_FLAGS[@]}" -pthread $PC_CFLAGS -o "$BIN/sigpipe_test" "$ROOT/tests/c/sigpipe_test.c" $PC_LIBS \
  > "$LOGS/cc-sigpipe_test.log" 2>&1 || { show_log "$LOGS/cc-sigpipe_test.log"; fatal "compile sigpipe_test.c"; }
pass "compile sigpipe_test.c with pkg-config --cflags --libs, -std=c99 -Wall -Wextra -Wpedantic -Werror"

log "compiling examples/send.c with a copy of examples/Makefile"
mkdir -p "$TMP/examples"
cp "$ROOT/examples/send.c" "$ROOT/examples/Makefile" "$TMP/examples/"
make -C "$TMP/examples" CC="$CC" CFLAGS="-g -O1" > "$LOGS/make-examples.log" 2>&1 \
  || { show_log "$LOGS/make-examples.log"; fatal "build examples (examples/Makefile)"; }
SEND=$TMP/examples/send
pass "build examples/send.c with examples/Makefile (pkg-config only)"

log "compiling api_test against the static library"
# `-l:libsmtpclient.a` instead of `-lsmtpclient`, because the .so sits next to the .a; every
# other flag, in particular the Libs.private system libraries, is pkg-config's.
STATIC_LIBS=$(sed 's/-lsmtpclient\b/-l:libsmtpclient.a/' <<<"$PC_STATIC_LIBS")
# shellcheck disable=SC2086
"$CC" "${CSTD_FLAGS[@]}" $PC_CFLAGS -o "$BIN/api_test_static" "$ROOT/tests/c/api_test.c" $STATIC_LIBS \
  > "$LOGS/cc-api_test_static.log" 2>&1 \
  || { show_log "$LOGS/cc-api_test_static.log"; fatal "compile api_test.c (static, pkg-config --static)"; }
readelf -d "$BIN/api_test_static" > "$LOGS/readelf-api_test_static.txt"
if grep -q 'NEEDED.*libsmtpclient' "$LOGS/readelf-api_test_static.txt"; then
  fatal "api_test_static still needs libsmtpclient.so"
fi
pass "compile api_test.c against libsmtpclient.a with pkg-config --static --libs"

log "compiling api_test with -fsanitize=address,undefined"
# shellcheck disable=SC2086
"$CC" "${CSTD_FLAGS[@]}" -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all \
  $PC_CFLAGS -o "$BIN/api_test_asan" "$ROOT/tests/c/api_test.c" $PC_LIBS \
  > "$LOGS/cc-api_test_asan.log" 2>&1 || { show_log "$LOGS/cc-api_test_asan.log"; fatal "compile api_test.c (ASan/UBSan)"; }
pass "compile api_test.c with -fsanitize=address,undefined"

API_ARGS=("$SMTP_HOST" "$SMTP_PORT" "$LMTP_SOCKET" "$POSTFIX_MAILDIR" "$LMTP_MAILDIR")

# api_test's output ends with "# all N checks passed" or "# FAILED n of N checks".
api_result() { grep -E '^# (all [0-9]+ checks passed|FAILED)' "$1" | tail -n 1 | sed 's/^# //'; }
api_failures() { grep '^not ok' "$1" | head -n 30 | sed 's/^/    /' >&2 || true; }

# ---------------------------------------------------------------------------- api_test under valgrind
log "running api_test under valgrind"
rc=0
run_valgrind api_test "$BIN/api_test" "${API_ARGS[@]}" > "$LOGS/api_test.out" 2>&1 || rc=$?
if [ "$rc" -eq 0 ]; then
  pass "api_test under valgrind: $(api_result "$LOGS/api_test.out"); no memory errors, no leaks"
else
  api_failures "$LOGS/api_test.out"
  fail "api_test under valgrind (exit $rc: $(api_result "$LOGS/api_test.out"))"
fi

# ---------------------------------------------------------------------------- borrowed-string matrix
# Every borrowed string the API lends, passed back into every string argument of every session
# function (generated from the installed header): a string freed before the call read it shows
# up as an invalid read under valgrind and ASan.
log "generating and compiling the borrowed-string matrix"
python3 "$ROOT/tests/c/gen_borrow_matrix.py" "$STAGE/usr/include/smtpclient.h" "$TMP/borrow_matrix.c" \
  > "$LOGS/gen-borrow_matrix.log" 2>&1 || { show_log "$LOGS/gen-borrow_matrix.log"; fatal "generate borrow_matrix.c"; }
# shellcheck disable=SC2086
"$CC" "${CSTD_FLAGS[@]}" $PC_CFLAGS -o "$BIN/borrow_matrix" "$TMP/borrow_matrix.c" $PC_LIBS \
  > "$LOGS/cc-borrow_matrix.log" 2>&1 || { show_log "$LOGS/cc-borrow_matrix.log"; fatal "compile borrow_matrix.c"; }
# shellcheck disable=SC2086
"$CC" "${CSTD_FLAGS[@]}" -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all \
  $PC_CFLAGS -o "$BIN/borrow_matrix_asan" "$TMP/borrow_matrix.c" $PC_LIBS \
  > "$LOGS/cc-borrow_matrix_asan.log" 2>&1 || { show_log "$LOGS/cc-borrow_matrix_asan.log"; fatal "compile borrow_matrix.c (ASan)"; }
pass "$(cat "$LOGS/gen-borrow_matrix.log"): compiled plain and with ASan"
matrix_result() { grep -E '^# [0-9]+ of [0-9]+ failed' "$1" | tail -n 1 | sed 's/^# //'; }
rc=0
run_valgrind borrow_matrix "$BIN/borrow_matrix" > "$LOGS/borrow_matrix.out" 2>&1 || rc=$?
if [ "$rc" -eq 0 ]; then
  pass "borrowed-string matrix under valgrind: $(matrix_result "$LOGS/borrow_matrix.out"); no memory errors, no leaks"
else
  grep '^not ok' "$LOGS/borrow_matrix.out" | head -n 20 | sed 's/^/    /' >&2 || true
  fail "borrowed-string matrix under valgrind (exit $rc: $(matrix_result "$LOGS/borrow_matrix.out"))"
fi
rc=0
ASAN_OPTIONS=detect_leaks=1 "$BIN/borrow_matrix_asan" > "$LOGS/borrow_matrix_asan.out" 2>&1 || rc=$?
if [ "$rc" -eq 0 ]; then
  pass "borrowed-string matrix under ASan: $(matrix_result "$LOGS/borrow_matrix_asan.out")"
else
  show_log "$LOGS/borrow_matrix_asan.out"
  fail "borrowed-string matrix under ASan (exit $rc)"
fi

# ---------------------------------------------------------------------------- SIGPIPE
# A server that closes in the middle of the body, and the default SIGPIPE disposition: an
# error code, not a killed process (exit 141 from the shell would mean SIGPIPE).
log "running sigpipe_test under valgrind"
rc=0
run_valgrind sigpipe_test "$BIN/sigpipe_test" > "$LOGS/sigpipe_test.out" 2>&1 || rc=$?
if [ "$rc" -eq 0 ]; then
  pass "sigpipe_test under valgrind: $(api_result "$LOGS/sigpipe_test.out"); no SIGPIPE, no memory errors"
else
  api_failures "$LOGS/sigpipe_test.out"
  fail "sigpipe_test under valgrind (exit $rc: $(api_result "$LOGS/sigpipe_test.out"))"
fi

# ---------------------------------------------------------------------------- send example
RUN_ID="sendex-$$-$(date +%s)"

marker="$RUN_ID-smtp-bob"
new_message "$marker" "$TMP/msg-smtp"
rc=0
run_valgrind send-smtp "$SEND" "$SMTP_HOST:$SMTP_PORT" sender@example.test bob@example.test \
  < "$TMP/msg-smtp" > "$LOGS/send-smtp.out" 2>&1 || rc=$?
if [ "$rc" -eq 0 ] && grep -q '^recipient bob@example.test: accepted (RCPT 250)' "$LOGS/send-smtp.out" \
   && wait_for_marker "$POSTFIX_MAILDIR/bob/new" "$marker" 30; then
  pass "send (SMTP) to bob@example.test under valgrind; delivered to bob's Maildir"
else
  show_log "$LOGS/send-smtp.out"
  fail "send (SMTP) to bob@example.test (exit $rc)"
fi

marker="$RUN_ID-smtp-refused"
new_message "$marker" "$TMP/msg-refused"
rc=0
run_valgrind send-refused "$SEND" "$SMTP_HOST:$SMTP_PORT" sender@example.test reject550@example.test \
  < "$TMP/msg-refused" > "$LOGS/send-refused.out" 2>&1 || rc=$?
if [ "$rc" -eq 1 ] && grep -q '^refused: reject550@example.test: 550 5.1.1' "$LOGS/send-refused.out" \
   && grep -q 'SMTP_RESULT_RECIPIENTS_REFUSED' "$LOGS/send-refused.out"; then
  pass "send (SMTP) to a refused recipient under valgrind: exit 1, refusal and error printed"
else
  show_log "$LOGS/send-refused.out"
  fail "send (SMTP) to reject550@example.test (exit $rc, want 1)"
fi

rc=0
"$SEND" > "$LOGS/send-usage.out" 2>&1 < /dev/null || rc=$?
rc2=0
"$SEND" --no-such-option host a@b c@d > "$LOGS/send-usage2.out" 2>&1 < /dev/null || rc2=$?
if [ "$rc" -eq 2 ] && [ "$rc2" -eq 2 ] && grep -q '^usage:' "$LOGS/send-usage.out"; then
  pass "send usage errors: exit 2"
else
  fail "send usage errors (exit $rc and $rc2, want 2)"
fi

marker="$RUN_ID-lmtp"
new_message "$marker" "$TMP/msg-lmtp"
rc=0
run_valgrind send-lmtp "$SEND" --lmtp "$LMTP_SOCKET" sender@example.test alice@example.test bob@example.test \
  < "$TMP/msg-lmtp" > "$LOGS/send-lmtp.out" 2>&1 || rc=$?
if [ "$rc" -eq 0 ] && grep -q '^recipient alice@example.test: accepted (RCPT 250, after data 250)' "$LOGS/send-lmtp.out" \
   && grep -q '^recipient bob@example.test: accepted (RCPT 250, after data 250)' "$LOGS/send-lmtp.out" \
   && wait_for_marker "$LMTP_MAILDIR/alice/new" "$marker" 5 \
   && wait_for_marker "$LMTP_MAILDIR/bob/new" "$marker" 5; then
  pass "send --lmtp over the Unix socket to alice + bob under valgrind; delivered to both Maildirs"
else
  show_log "$LOGS/send-lmtp.out"
  fail "send --lmtp to alice + bob (exit $rc)"
fi

marker="$RUN_ID-lmtp-full"
new_message "$marker" "$TMP/msg-lmtp-full"
rc=0
run_valgrind send-lmtp-full "$SEND" --lmtp --debug "$LMTP_SOCKET" sender@example.test alice@example.test \
  full@example.test < "$TMP/msg-lmtp-full" > "$LOGS/send-lmtp-full.out" 2>&1 || rc=$?
if [ "$rc" -eq 0 ] && grep -q '^refused: full@example.test: 552' "$LOGS/send-lmtp-full.out" \
   && grep -q '^recipient full@example.test: refused (RCPT 250, after data 552)' "$LOGS/send-lmtp-full.out" \
   && grep -q '^1 of 2 recipient(s) accepted' "$LOGS/send-lmtp-full.out" \
   && grep -q 'LHLO' "$LOGS/send-lmtp-full.out" \
   && wait_for_marker "$LMTP_MAILDIR/alice/new" "$marker" 5; then
  pass "send --lmtp --debug to alice + full under valgrind: full refused with 552 after the data"
else
  show_log "$LOGS/send-lmtp-full.out"
  fail "send --lmtp to alice + full (exit $rc)"
fi

# ---------------------------------------------------------------------------- static
log "running api_test linked statically (no LD_LIBRARY_PATH)"
rc=0
env -u LD_LIBRARY_PATH "$BIN/api_test_static" "${API_ARGS[@]}" > "$LOGS/api_test_static.out" 2>&1 || rc=$?
if [ "$rc" -eq 0 ]; then
  pass "api_test linked against libsmtpclient.a: $(api_result "$LOGS/api_test_static.out")"
else
  api_failures "$LOGS/api_test_static.out"
  fail "api_test (static) exit $rc: $(api_result "$LOGS/api_test_static.out")"
fi

# ---------------------------------------------------------------------------- sanitizers
log "running api_test under ASan/UBSan"
rc=0
ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  "$BIN/api_test_asan" "${API_ARGS[@]}" > "$LOGS/api_test_asan.out" 2>&1 || rc=$?
if [ "$rc" -eq 0 ] && ! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$LOGS/api_test_asan.out"; then
  pass "api_test under ASan+UBSan (detect_leaks=1): $(api_result "$LOGS/api_test_asan.out")"
else
  grep -E -A30 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$LOGS/api_test_asan.out" | head -n 60 | sed 's/^/    /' >&2 || true
  api_failures "$LOGS/api_test_asan.out"
  fail "api_test under ASan+UBSan (exit $rc)"
fi

# ---------------------------------------------------------------------------- non-blocking
# Many sessions from one thread through the non-blocking API: tests/c/nonblocking_test.c (epoll;
# Postfix plain and with STARTTLS, and smtp-sink) and the examples of examples/nonblocking
# (poll, epoll, libuv, and the sender's pool), each message then found in Postfix's Maildir.
log "compiling nonblocking_test and examples/nonblocking"
# shellcheck disable=SC2086
"$CC" "${CSTD_FLAGS[@]}" $PC_CFLAGS -o "$BIN/nonblocking_test" "$ROOT/tests/c/nonblocking_test.c" $PC_LIBS \
  > "$LOGS/cc-nonblocking_test.log" 2>&1 || { show_log "$LOGS/cc-nonblocking_test.log"; fatal "compile nonblocking_test.c"; }
mkdir -p "$TMP/nonblocking"
cp "$ROOT"/examples/nonblocking/{poll.c,epoll.c,uv.c,sender.c,Makefile} "$TMP/nonblocking/"
make -C "$TMP/nonblocking" CC="$CC" CFLAGS="-g -O1" UV_CFLAGS="$UV_CFLAGS" UV_LIBS="$UV_LIBS" \
  > "$LOGS/make-nonblocking.log" 2>&1 || { show_log "$LOGS/make-nonblocking.log"; fatal "build examples/nonblocking"; }
pass "build tests/c/nonblocking_test.c and examples/nonblocking (poll, epoll, uv, sender) with pkg-config"

# count_delivered SUBJECT: messages in bob's Maildir whose subject carries SUBJECT, once the
# queue has delivered them (up to 30 s)
count_delivered() {
  local n=0 i
  for i in $(seq 60); do
    n=$(grep -l -F -- "Subject: $1 #" "$POSTFIX_MAILDIR"/bob/new/* 2>/dev/null | wc -l)
    [ "$n" -ge "$2" ] && break
    sleep 0.5
  done
  echo "$n"
}

# nonblocking_run NAME EXPECTED CMD... : CMD sends messages with subject $NAME; EXPECTED of them
# must reach the Maildir
nonblocking_run() {
  local name=$1 expected=$2 rc=0 got
  shift 2
  "$@" > "$LOGS/$name.out" 2>&1 || rc=$?
  got=$(count_delivered "$name" "$expected")
  if [ "$rc" -eq 0 ] && [ "$got" -eq "$expected" ]; then
    pass "$name: every session sent, $got of $expected messages in the Maildir"
  else
    show_log "$LOGS/$name.out"
    fail "$name (exit $rc; $got of $expected messages in the Maildir)"
  fi
}

RUNID=$$-$(date +%s)
nonblocking_run "nonblocking-epoll-100-$RUNID" 70 "$BIN/nonblocking_test" 100 "nonblocking-epoll-100-$RUNID"
nonblocking_run "nonblocking-epoll-valgrind-$RUNID" 7 \
  run_valgrind nonblocking_test "$BIN/nonblocking_test" 10 "nonblocking-epoll-valgrind-$RUNID"
nonblocking_run "example-poll-$RUNID" 20 \
  "$TMP/nonblocking/poll" localhost "$SMTP_PORT" sender@example.test bob@example.test 20 "example-poll-$RUNID"
nonblocking_run "example-epoll-tls-$RUNID" 10 \
  "$TMP/nonblocking/epoll" "$SMTP_HOST" "$SMTP_PORT" sender@example.test bob@example.test 10 "example-epoll-tls-$RUNID" \
  "$SMTP_CA_FILE"
nonblocking_run "example-uv-$RUNID" 20 \
  "$TMP/nonblocking/uv" "$SMTP_HOST" "$SMTP_PORT" sender@example.test bob@example.test 20 "example-uv-$RUNID"
# the sender: 60 messages over 3 pooled connections, then (under valgrind) 8 over 2, with
# STARTTLS required and verified against the test bed's CA
nonblocking_run "example-sender-$RUNID" 60 \
  "$TMP/nonblocking/sender" "smtp://$SMTP_HOST:$SMTP_PORT" sender@example.test bob@example.test 60 \
  "example-sender-$RUNID" 3
nonblocking_run "example-sender-valgrind-$RUNID" 8 \
  run_valgrind example-sender "$TMP/nonblocking/sender" "smtp+starttls://$SMTP_HOST:$SMTP_PORT" \
  sender@example.test bob@example.test 8 "example-sender-valgrind-$RUNID" 2 "$SMTP_CA_FILE"

print_summary
[ "$FAILED" -eq 0 ]
