#!/usr/bin/env bash
# tests/packaging/check-install.sh: check what `make install` lays out, as a distribution would
# package it. Needs no server and installs nothing system-wide.
#
# For two installs, `make install PREFIX=<scratch>` and the Debian-style
# `make install DESTDIR=<scratch> PREFIX=/usr LIBDIR=/usr/lib/<multiarch>`:
#   - exactly these files: lib/libsmtpclient.so.X.Y.Z (the real file), lib/libsmtpclient.so.N
#     (SONAME link to it), lib/libsmtpclient.so (link to the SONAME), lib/libsmtpclient.a,
#     include/smtpclient.h, include/smtpclient.hpp, lib/pkgconfig/smtpclient.pc, lib/cmake/smtpclient/smtpclientConfig.cmake
#     and smtpclientConfigVersion.cmake, and share/man/man3/<page>.3 for every page `make man`
#     generates (build/man/pages.txt); modes 0755 / 0644;
#   - the shared library's SONAME is libsmtpclient.so.N (readelf), N = 0.<minor> before 1.0,
#     the major from 1.0 on;
#   - the header's SMTPCLIENT_VERSION_* macros and pkg-config --modversion equal Cargo.toml's
#     version; the .pc file's paths are the install's;
#   - tests/packaging/consumer.c built with `pkg-config --cflags --libs` needs libsmtpclient.so.N
#     and runs; built with `pkg-config --static --libs` and `-Wl,-Bstatic -lsmtpclient
#     -Wl,-Bdynamic` it needs no libsmtpclient at all and runs without LD_LIBRARY_PATH; both
#     compare the macros with smtp_lib_version() / smtp_lib_version_number() at run time;
#   - `make uninstall` removes every file again.
#
# Usage: bash tests/packaging/check-install.sh       (KEEP_TMP=1 keeps the scratch directory)
# Exits 0 only when every check passed.
# `test && pass ... || fail ...` is an if/else here: pass and fail only print and count.
# shellcheck disable=SC2015
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CC=${CC:-cc}

log() { printf '%s\n' "check-install: $*" >&2; }
die() { log "error: $*"; exit 1; }
for cmd in make pkg-config readelf "$CC"; do command -v "$cmd" >/dev/null || die "$cmd not found"; done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/smtpclient-install.XXXXXX")
if [ "${KEEP_TMP:-0}" = 1 ]; then trap 'log "scratch directory kept: $TMP"' EXIT; else trap 'rm -rf "$TMP"' EXIT; fi

PASSED=0
FAILED=0
pass() { PASSED=$((PASSED + 1)); echo "PASS  $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL  $*"; }

# ---------------------------------------------------------------------------- expected names
VERSION=$(sed -n '/^\[package\]/,/^\[/s/^version[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' "$ROOT/Cargo.toml" | head -n 1)
[[ "$VERSION" =~ ^([0-9]+)\.([0-9]+)\.([0-9]+)([-+].*)?$ ]] || die "cannot read the version from Cargo.toml (got '$VERSION')"
MAJOR=${BASH_REMATCH[1]} MINOR=${BASH_REMATCH[2]} PATCH=${BASH_REMATCH[3]}
if [ "$MAJOR" = 0 ]; then SOVERSION=0.$MINOR; else SOVERSION=$MAJOR; fi
REAL=libsmtpclient.so.$VERSION
SONAME=libsmtpclient.so.$SOVERSION
MULTIARCH=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
log "Cargo.toml version $VERSION: expecting $REAL, SONAME $SONAME"

log "building (make)"
make -C "$ROOT" > "$TMP/make.log" 2>&1 || { tail -n 30 "$TMP/make.log" >&2; die "make failed"; }

# check_tree BASE PCROOT PREFIX RELLIB RELINC RELMAN LABEL: the layout of one install under BASE
# (a directory holding nothing else), with the library in BASE/RELLIB, the header in BASE/RELINC
# and the man pages in BASE/RELMAN; the .pc file must say prefix=PREFIX, libdir=PCROOT/RELLIB,
# includedir=PCROOT/RELINC.
check_tree() {
  local base=$1 pcroot=$2 prefix=$3 rellib=$4 relinc=$5 relman=$6 label=$7
  local lib=$base/$rellib inc=$base/$relinc libdir=$pcroot/$rellib incdir=$pcroot/$relinc

  local want got pages
  pages=$(sed "s|^|$relman/man3/|" "$ROOT/build/man/pages.txt")
  want=$(printf '%s\n' "$relinc/smtpclient.h" "$relinc/smtpclient.hpp" "$rellib/$REAL" "$rellib/$SONAME" "$rellib/libsmtpclient.so" \
    "$rellib/libsmtpclient.a" "$rellib/pkgconfig/smtpclient.pc" "$rellib/cmake/smtpclient/smtpclientConfig.cmake" \
    "$rellib/cmake/smtpclient/smtpclientConfigVersion.cmake" "$pages" | sort)
  got=$(cd "$base" && find . \( -type f -o -type l \) | sed 's|^\./||' | sort)
  if [ "$want" = "$got" ]; then
    pass "$label: exactly the expected files (library, header, .pc, CMake package, $(wc -l <<<"$pages") man pages)"
  else
    fail "$label: file list differs:"
    diff <(echo "$want") <(echo "$got") | sed 's/^/      /' || true
  fi

  if [ -f "$lib/$REAL" ] && [ ! -L "$lib/$REAL" ] && [ "$(stat -c %a "$lib/$REAL")" = 755 ] \
     && [ "$(readlink "$lib/$SONAME")" = "$REAL" ] && [ "$(readlink "$lib/libsmtpclient.so")" = "$SONAME" ]; then
    pass "$label: $REAL (0755), $SONAME -> $REAL, libsmtpclient.so -> $SONAME"
  else
    fail "$label: real file and links: $(ls -l "$lib" | tr '\n' ';')"
  fi
  # Everything but the shared library and its links is data: 0644.
  local odd
  odd=$(cd "$base" && find . -type f ! -name "$REAL" ! -perm 0644 | sed 's|^\./||')
  [ -z "$odd" ] && pass "$label: .a, header, .pc, CMake files and man pages are 0644" || fail "$label: not 0644: $odd"

  local soname
  soname=$(readelf -d "$lib/$REAL" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
  [ "$soname" = "$SONAME" ] && pass "$label: readelf SONAME is $soname" || fail "$label: SONAME is '$soname', want $SONAME"

  local hv=() k
  for k in MAJOR=$MAJOR MINOR=$MINOR PATCH=$PATCH NUMBER=$((MAJOR * 10000 + MINOR * 100 + PATCH)) "STRING=\"$VERSION\""; do
    grep -qxF "#define SMTPCLIENT_VERSION_${k%%=*} ${k#*=}" "$inc/smtpclient.h" || hv+=("${k%%=*}")
  done
  [ ${#hv[@]} -eq 0 ] && pass "$label: header SMTPCLIENT_VERSION_* macros say $VERSION" \
    || fail "$label: header macros differ from Cargo.toml's $VERSION: ${hv[*]}"

  local pcf=$lib/pkgconfig/smtpclient.pc
  if grep -qx "prefix=$prefix" "$pcf" && [ "$(PKG_CONFIG_PATH=$lib/pkgconfig PKG_CONFIG_LIBDIR=$lib/pkgconfig pkg-config --variable=libdir smtpclient)" = "$libdir" ] \
     && [ "$(PKG_CONFIG_PATH=$lib/pkgconfig PKG_CONFIG_LIBDIR=$lib/pkgconfig pkg-config --variable=includedir smtpclient)" = "$incdir" ] \
     && [ "$(PKG_CONFIG_PATH=$lib/pkgconfig PKG_CONFIG_LIBDIR=$lib/pkgconfig pkg-config --modversion smtpclient)" = "$VERSION" ]; then
    pass "$label: smtpclient.pc: prefix=$prefix, libdir=$libdir, includedir=$incdir, version $VERSION"
  else
    fail "$label: smtpclient.pc:"; sed 's/^/      /' "$pcf"
  fi
}

# build_consumers ROOTDIR LIBDIR LABEL [SYSROOT]: shared and static consumers against one install.
build_consumers() {
  local root=$1 libdir=$2 label=$3 sysroot=${4:-}
  local out=$TMP/bin-${label%%=*}
  mkdir -p "$out"
  export PKG_CONFIG_PATH=$root$libdir/pkgconfig PKG_CONFIG_LIBDIR=$root$libdir/pkgconfig
  if [ -n "$sysroot" ]; then export PKG_CONFIG_SYSROOT_DIR=$sysroot; else unset PKG_CONFIG_SYSROOT_DIR; fi
  local cflags libs slibs
  cflags=$(pkg-config --cflags smtpclient) libs=$(pkg-config --libs smtpclient) slibs=$(pkg-config --static --libs smtpclient)

  # shellcheck disable=SC2086  # pkg-config prints lists of flags
  if "$CC" -std=c99 -Wall -Wextra -Wpedantic -Werror $cflags -o "$out/consumer" "$ROOT/tests/packaging/consumer.c" $libs \
       > "$out/cc.log" 2>&1; then
    local needed
    needed=$(readelf -d "$out/consumer" | sed -n 's/.*(NEEDED).*\[\(libsmtpclient[^]]*\)\].*/\1/p')
    [ "$needed" = "$SONAME" ] && pass "$label: shared consumer (pkg-config --cflags --libs) NEEDs $needed" \
      || fail "$label: shared consumer NEEDs '$needed', want $SONAME"
    if LD_LIBRARY_PATH=$root$libdir "$out/consumer" "$VERSION" > "$out/run.log" 2>&1; then
      pass "$label: shared consumer runs: $(head -n 1 "$out/run.log")"
    else
      fail "$label: shared consumer failed:"; sed 's/^/      /' "$out/run.log"
    fi
  else
    fail "$label: shared consumer does not build: $libs"; sed 's/^/      /' "$out/cc.log"
  fi

  # `-lsmtpclient` alone would pick the .so next to the .a: ask for the archive explicitly and
  # keep every other flag, in particular Libs.private's system libraries, from pkg-config.
  local static_libs
  static_libs=$(sed 's/\(^\|[[:space:]]\)-lsmtpclient\b/\1-Wl,-Bstatic -lsmtpclient -Wl,-Bdynamic/' <<<"$slibs")
  # shellcheck disable=SC2086
  if "$CC" -std=c99 -Wall -Wextra -Wpedantic -Werror $cflags -o "$out/consumer-static" "$ROOT/tests/packaging/consumer.c" \
       $static_libs > "$out/cc-static.log" 2>&1; then
    if readelf -d "$out/consumer-static" | grep -q 'NEEDED.*libsmtpclient'; then
      fail "$label: static consumer still NEEDs libsmtpclient"
    else
      pass "$label: static consumer (pkg-config --static --libs: $static_libs) has no NEEDED libsmtpclient"
    fi
    if env -u LD_LIBRARY_PATH "$out/consumer-static" "$VERSION" > "$out/run-static.log" 2>&1; then
      pass "$label: static consumer runs without LD_LIBRARY_PATH: $(tail -n 1 "$out/run-static.log")"
    else
      fail "$label: static consumer failed:"; sed 's/^/      /' "$out/run-static.log"
    fi
  else
    fail "$label: static consumer does not build: $static_libs"; sed 's/^/      /' "$out/cc-static.log"
  fi
  unset PKG_CONFIG_PATH PKG_CONFIG_LIBDIR PKG_CONFIG_SYSROOT_DIR
}

# ---------------------------------------------------------------------------- 1: PREFIX only
P=$TMP/prefix
log "make install PREFIX=$P"
make -C "$ROOT" install PREFIX="$P" > "$TMP/install1.log" 2>&1 || { tail -n 30 "$TMP/install1.log" >&2; die "make install PREFIX failed"; }
check_tree "$P" "$P" "$P" lib include share/man "PREFIX=<tmp>"
build_consumers "" "$P/lib" "PREFIX=<tmp>"
make -C "$ROOT" uninstall PREFIX="$P" > "$TMP/uninstall1.log" 2>&1 || true
left=$(find "$P" \( -type f -o -type l \) | sed "s|^$P/||" | tr '\n' ' ')
[ -z "$left" ] && pass "PREFIX=<tmp>: make uninstall removes every file" || fail "PREFIX=<tmp>: make uninstall left: $left"

# ---------------------------------------------------------------------------- 2: DESTDIR, multiarch
S=$TMP/stage
log "make install DESTDIR=$S PREFIX=/usr LIBDIR=/usr/lib/$MULTIARCH"
make -C "$ROOT" install DESTDIR="$S" PREFIX=/usr LIBDIR="/usr/lib/$MULTIARCH" > "$TMP/install2.log" 2>&1 \
  || { tail -n 30 "$TMP/install2.log" >&2; die "make install DESTDIR failed"; }
check_tree "$S" "" /usr "usr/lib/$MULTIARCH" usr/include usr/share/man "DESTDIR=<tmp> PREFIX=/usr LIBDIR=/usr/lib/$MULTIARCH"
# The .pc says prefix=/usr: pkg-config prefixes -I/-L with the staging root (PKG_CONFIG_SYSROOT_DIR).
build_consumers "$S" "/usr/lib/$MULTIARCH" "DESTDIR" "$S"

echo
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
