#!/usr/bin/env bash
# tests/packaging/check-build-systems.sh: CMake and Meson projects built against a DESTDIR install
# of libsmtpclient, each sending a real message to the test bed's Postfix.
#
#   1. make install DESTDIR=<scratch> PREFIX=/usr LIBDIR=/usr/lib/<multiarch> (the Debian layout);
#   2. CMake (tests/packaging/cmake): find_package(smtpclient MAJOR.MINOR CONFIG REQUIRED) with
#      CMAKE_PREFIX_PATH=<scratch>/usr, three times: smtpclient::smtpclient shared (NEEDs the
#      SONAME), static through COMPONENTS static and static through SMTPCLIENT_USE_STATIC (no
#      NEEDED libsmtpclient, runs without LD_LIBRARY_PATH); each build's program sends a message
#      whose marker must then arrive in bob's Maildir. The version file is checked too: the next
#      minor (next major from 1.0) and a higher patch are refused, as is the previous minor;
#   3. C++ (tests/packaging/cmake-cxx): the installed wrapper <smtpclient.hpp> through the target
#      smtpclient::cxx, its test program run against the test bed (sends, refusals, LMTP, AUTH and
#      debug callbacks, TLS settings, the exception classes against smtp_result_is_a);
#   4. Meson (tests/packaging/meson): dependency('smtpclient') through pkg-config
#      (PKG_CONFIG_SYSROOT_DIR=<scratch>), shared, same delivery check.
#
# Needs the test bed (tests/servers/up.sh; make test starts it). Usage:
#   bash tests/packaging/check-build-systems.sh     (KEEP_TMP=1 keeps the scratch directory)
# Exits 0 only when every check passed.
# `test && pass ... || fail ...` is an if/else here: pass and fail only print and count.
# shellcheck disable=SC2015
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
log() { printf '%s\n' "check-build-systems: $*" >&2; }
die() { log "error: $*"; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }
T_START=$(now)

ENVF=${SMTPENV_DIR:-/tmp/smtpclient-testbed}/env
[ -f "$ENVF" ] || die "$ENVF missing: start the test bed (bash tests/servers/up.sh)"
set -a
# shellcheck disable=SC1090
. "$ENVF"
set +a
for v in SMTP_HOST SMTP_PORT POSTFIX_MAILDIR; do [ -n "${!v:-}" ] || die "$ENVF does not set $v"; done
(exec 3<>"/dev/tcp/$SMTP_HOST/$SMTP_PORT") 2>/dev/null || die "nothing listens on $SMTP_HOST:$SMTP_PORT: start the test bed"
for cmd in make cmake meson ninja pkg-config readelf; do command -v "$cmd" >/dev/null || die "$cmd not found (scripts/install-deps.sh)"; done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/smtpclient-buildsys.XXXXXX")
if [ "${KEEP_TMP:-0}" = 1 ]; then trap 'log "scratch directory kept: $TMP"' EXIT; else trap 'rm -rf "$TMP"' EXIT; fi

PASSED=0
FAILED=0
pass() { PASSED=$((PASSED + 1)); echo "PASS  $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL  $*"; }
show() { sed 's/^/      /' "$@" | tail -n 30; }

VERSION=$(sed -n '/^\[package\]/,/^\[/s/^version[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' "$ROOT/Cargo.toml" | head -n 1)
[[ "$VERSION" =~ ^([0-9]+)\.([0-9]+)\.([0-9]+) ]] || die "cannot read the version from Cargo.toml (got '$VERSION')"
MAJOR=${BASH_REMATCH[1]} MINOR=${BASH_REMATCH[2]} PATCH=${BASH_REMATCH[3]}
if [ "$MAJOR" = 0 ]; then SOVERSION=0.$MINOR; WANT=0.$MINOR; NEXT_ABI=0.$((MINOR + 1)); PREV_ABI=$([ "$MINOR" -gt 0 ] && echo "0.$((MINOR - 1))" || true)
else SOVERSION=$MAJOR; WANT=$MAJOR.$MINOR; NEXT_ABI=$((MAJOR + 1)).0; PREV_ABI=$((MAJOR - 1)).0; fi
SONAME=libsmtpclient.so.$SOVERSION
MA=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
STAGE=$TMP/stage
LIBDIR=$STAGE/usr/lib/$MA

log "make install DESTDIR=$STAGE PREFIX=/usr LIBDIR=/usr/lib/$MA"
make -C "$ROOT" install DESTDIR="$STAGE" PREFIX=/usr LIBDIR="/usr/lib/$MA" > "$TMP/install.log" 2>&1 \
  || { show "$TMP/install.log"; die "make install failed"; }

# wait_for_marker DIR MARKER SECONDS: exactly one file under DIR contains MARKER (Postfix delivers
# asynchronously after its 250).
wait_for_marker() {
  local dir=$1 marker=$2 seconds=$3 n=0 i
  for ((i = 0; i <= seconds * 5; i++)); do
    n=$( (grep -rlF -- "$marker" "$dir" 2>/dev/null || true) | wc -l)
    [ "$n" -ge 1 ] && break
    sleep 0.2
  done
  [ "$n" -eq 1 ]
}

# send_and_check LABEL BINARY [LD_LIBRARY_PATH]: the program sends a marked message to bob.
send_and_check() {
  local label=$1 bin=$2 ldpath=${3:-} marker runner
  marker="$label-$$-$(date +%s%N)"
  if [ -n "$ldpath" ]; then runner=(env LD_LIBRARY_PATH="$ldpath"); else runner=(env -u LD_LIBRARY_PATH); fi
  if "${runner[@]}" "$bin" "$SMTP_HOST" "$SMTP_PORT" sender@example.test bob@example.test "$marker" > "$TMP/$label.run" 2>&1 \
     && wait_for_marker "$POSTFIX_MAILDIR/bob/new" "$marker" 30; then
    pass "$label: sent through $SMTP_HOST:$SMTP_PORT, marker delivered to bob's Maildir ($(head -n 1 "$TMP/$label.run"))"
  else
    fail "$label: no delivery of $marker:"; show "$TMP/$label.run"
  fi
}

# needs BINARY: the libsmtpclient NEEDED entry of a program ("" when linked statically).
needs() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(libsmtpclient[^]]*\)\].*/\1/p'; }

# ---------------------------------------------------------------------------- CMake
T0=$(now)
# cmake_build LABEL CMAKE-ARGS...: configure and build tests/packaging/cmake against the stage only.
cmake_build() {
  local label=$1; shift
  cmake -S "$ROOT/tests/packaging/cmake" -B "$TMP/$label" -G Ninja -DCMAKE_PREFIX_PATH="$STAGE/usr" \
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF "$@" > "$TMP/$label.log" 2>&1 \
    && cmake --build "$TMP/$label" >> "$TMP/$label.log" 2>&1
}

if cmake_build cmake-shared -DSMTPCLIENT_WANTED_VERSION="$WANT"; then
  n=$(needs "$TMP/cmake-shared/send_marker")
  [ "$n" = "$SONAME" ] && pass "cmake-shared: find_package(smtpclient $WANT CONFIG REQUIRED), smtpclient::smtpclient NEEDs $n" \
    || fail "cmake-shared: NEEDs '$n', want $SONAME"
  send_and_check cmake-shared "$TMP/cmake-shared/send_marker" "$LIBDIR"
else
  fail "cmake-shared: configure or build failed:"; show "$TMP/cmake-shared.log"
fi
for how in "COMPONENTS static:-DSMTPCLIENT_COMPONENTS=static" "SMTPCLIENT_USE_STATIC:-DSMTPCLIENT_USE_STATIC=ON"; do
  label=cmake-static-${how%%:*}; label=${label// /-}
  if cmake_build "$label" -DSMTPCLIENT_WANTED_VERSION="$WANT" "${how#*:}"; then
    n=$(needs "$TMP/$label/send_marker")
    [ -z "$n" ] && pass "$label: ${how%%:*} links libsmtpclient.a (no NEEDED libsmtpclient)" || fail "$label: NEEDs $n"
    send_and_check "$label" "$TMP/$label/send_marker"
  else
    fail "$label: configure or build failed:"; show "$TMP/$label.log"
  fi
done
# smtpclientConfigVersion.cmake: the same ABI and at least the version asked for, nothing else.
for v in "$NEXT_ABI" "$MAJOR.$MINOR.$((PATCH + 1))" ${PREV_ABI:+"$PREV_ABI"}; do
  if cmake_build "cmake-refuse-$v" -DSMTPCLIENT_WANTED_VERSION="$v"; then
    fail "find_package(smtpclient $v) accepted the installed $VERSION"
  elif grep -q 'compatible with requested version "'"$v"'"' "$TMP/cmake-refuse-$v.log" && grep -q "version: $VERSION" "$TMP/cmake-refuse-$v.log"; then
    pass "find_package(smtpclient $v) refuses the installed $VERSION (version file)"
  else
    fail "find_package(smtpclient $v) failed for another reason:"; show "$TMP/cmake-refuse-$v.log"
  fi
done
T_CMAKE=$(since "$T0")

# ---------------------------------------------------------------------------- C++ wrapper
T0=$(now)
if cmake -S "$ROOT/tests/packaging/cmake-cxx" -B "$TMP/cmake-cxx" -G Ninja -DCMAKE_PREFIX_PATH="$STAGE/usr" \
     -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF \
     -DSMTPCLIENT_WANTED_VERSION="$WANT" > "$TMP/cmake-cxx.log" 2>&1 \
   && cmake --build "$TMP/cmake-cxx" >> "$TMP/cmake-cxx.log" 2>&1; then
  if (set -a; . "$ENVF"; set +a; LD_LIBRARY_PATH="$LIBDIR" SMTP_HOST=localhost "$TMP/cmake-cxx/cxx_wrapper_test") > "$TMP/cmake-cxx.run" 2>&1; then
    pass "cmake-cxx: smtpclient::cxx (<smtpclient.hpp>), $(grep -c '^PASS' "$TMP/cmake-cxx.run") wrapper tests passed against the test bed"
  else
    fail "cmake-cxx: the wrapper tests failed:"; show "$TMP/cmake-cxx.run"
  fi
else
  fail "cmake-cxx: configure or build failed:"; show "$TMP/cmake-cxx.log"
fi
T_CXX=$(since "$T0")

# ---------------------------------------------------------------------------- Meson
T0=$(now)
export PKG_CONFIG_PATH=$LIBDIR/pkgconfig PKG_CONFIG_LIBDIR=$LIBDIR/pkgconfig PKG_CONFIG_SYSROOT_DIR=$STAGE
if meson setup "$TMP/meson" "$ROOT/tests/packaging/meson" -Dsmtpclient_version="$WANT" > "$TMP/meson.log" 2>&1 \
   && ninja -C "$TMP/meson" >> "$TMP/meson.log" 2>&1; then
  n=$(needs "$TMP/meson/send_marker")
  [ "$n" = "$SONAME" ] && pass "meson: dependency('smtpclient', version: >=$WANT <$NEXT_ABI) through pkg-config, NEEDs $n" \
    || fail "meson: NEEDs '$n', want $SONAME"
  send_and_check meson "$TMP/meson/send_marker" "$LIBDIR"
else
  fail "meson: setup or build failed:"; show "$TMP/meson.log"
fi
if meson setup "$TMP/meson-next" "$ROOT/tests/packaging/meson" -Dsmtpclient_version="$NEXT_ABI" > "$TMP/meson-next.log" 2>&1; then
  fail "meson: dependency('smtpclient') for $NEXT_ABI accepted the installed $VERSION"
elif grep -q "found $VERSION but need" "$TMP/meson-next.log"; then
  pass "meson: dependency('smtpclient') for $NEXT_ABI refuses the installed $VERSION"
else
  fail "meson setup for $NEXT_ABI failed for another reason:"; show "$TMP/meson-next.log"
fi
unset PKG_CONFIG_PATH PKG_CONFIG_LIBDIR PKG_CONFIG_SYSROOT_DIR
T_MESON=$(since "$T0")

echo
echo "timings: CMake $T_CMAKE, C++ wrapper $T_CXX, Meson $T_MESON, total $(since "$T_START")"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
