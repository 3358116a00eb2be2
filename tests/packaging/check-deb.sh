#!/usr/bin/env bash
# tests/packaging/check-deb.sh: build the Debian packages from debian/ and check them, without
# installing anything system-wide and without writing next to the work tree.
#
#   1. copies the source tree (git's tracked and unignored files; no target/, build/,
#      node_modules) to a scratch directory and runs `dpkg-buildpackage -us -uc -d` there (source
#      and binary packages), so the .dsc/.deb/.buildinfo/.changes files dpkg-buildpackage writes
#      into the parent directory land in scratch space (-d: Debian 12's rustc/cargo are too old
#      for this crate, the rustup toolchain on PATH is used instead, and -d skips the
#      Build-Depends check; see debian/rules). dpkg-gensymbols runs at check level 4 there
#      (debian/rules), so an export missing from or new to debian/<runtime>.symbols fails it;
#   2. checks each package's name, version, dependencies, symbols file and file list: the runtime
#      package libsmtpclient<SOVERSION> (named after the SONAME libsmtpclient.so.<SOVERSION>)
#      holds the real .so.X.Y.Z and the SONAME link; libsmtpclient-dev the header, the .so link,
#      the .a, the .pc, the CMake package and a man page for every page `make man` generates;
#      then lintian on the .changes (source and binaries): no error and no warning (every
#      accepted one is overridden in debian/*lintian-overrides with its reason);
#   3. extracts both with `dpkg-deb -x` into a scratch root, builds tests/packaging/consumer.c
#      against it through pkg-config (PKG_CONFIG_SYSROOT_DIR) and runs it with only the runtime
#      package's files on LD_LIBRARY_PATH; a static build against the -dev package's .a too.
#
# Usage: bash tests/packaging/check-deb.sh     (as root on Debian 12; installs debhelper if missing)
#   DEB_OUT=DIR   copy the built packages into DIR (default: they go away with the scratch dir)
#   KEEP_TMP=1    keep the scratch directory (source copy, build log, extracted trees)
# Exits 0 only when every check passed; prints the package file names.
# `test && pass ... || fail ...` is an if/else here: pass and fail only print and count.
# shellcheck disable=SC2015
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CC=${CC:-cc}

log() { printf '%s\n' "check-deb: $*" >&2; }
die() { log "error: $*"; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }
T_START=$(now)

# ---------------------------------------------------------------------------- tools
T0=$(now)
pkg_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'; }
missing=()
for p in debhelper dpkg-dev pkg-config lintian python3; do pkg_installed "$p" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]} (apt)"
  export DEBIAN_FRONTEND=noninteractive
  if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } > "${TMPDIR:-/tmp}/smtpclient-deb-apt.log" 2>&1; then
    tail -n 30 "${TMPDIR:-/tmp}/smtpclient-deb-apt.log" >&2
    die "apt-get install ${missing[*]} failed (log: ${TMPDIR:-/tmp}/smtpclient-deb-apt.log)"
  fi
  rm -f "${TMPDIR:-/tmp}/smtpclient-deb-apt.log"
fi
T_TOOLS=$(since "$T0")
for cmd in dpkg-buildpackage dpkg-deb dh lintian readelf pkg-config "$CC"; do command -v "$cmd" >/dev/null || die "$cmd not found"; done
command -v cargo >/dev/null || [ -x "$HOME/.cargo/bin/cargo" ] || die "cargo not found (the rustup toolchain builds the package)"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/smtpclient-deb.XXXXXX")
if [ "${KEEP_TMP:-0}" = 1 ]; then trap 'log "scratch directory kept: $TMP"' EXIT; else trap 'rm -rf "$TMP"' EXIT; fi

PASSED=0
FAILED=0
pass() { PASSED=$((PASSED + 1)); echo "PASS  $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL  $*"; }

VERSION=$(sed -n '/^\[package\]/,/^\[/s/^version[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' "$ROOT/Cargo.toml" | head -n 1)
[[ "$VERSION" =~ ^([0-9]+)\.([0-9]+)\.([0-9]+)$ ]] || die "cannot read a plain X.Y.Z version from Cargo.toml (got '$VERSION')"
MAJOR=${BASH_REMATCH[1]} MINOR=${BASH_REMATCH[2]}
if [ "$MAJOR" = 0 ]; then SOVERSION=0.$MINOR; else SOVERSION=$MAJOR; fi
SONAME=libsmtpclient.so.$SOVERSION
RUNTIME_PKG=libsmtpclient$SOVERSION       # Debian policy 8.1: name + SONAME version
DEV_PKG=libsmtpclient-dev
MA=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
ARCH=$(dpkg-architecture -qDEB_HOST_ARCH)

CHANGELOG_VERSION=$(dpkg-parsechangelog -l "$ROOT/debian/changelog" -S Version)
[ "$CHANGELOG_VERSION" = "$VERSION" ] && pass "debian/changelog version $CHANGELOG_VERSION == Cargo.toml version" \
  || fail "debian/changelog says $CHANGELOG_VERSION, Cargo.toml $VERSION: add a changelog entry (dch -v $VERSION)"
grep -qx "Package: $RUNTIME_PKG" "$ROOT/debian/control" && [ -f "$ROOT/debian/$RUNTIME_PKG.install" ] \
  && pass "debian/control names the runtime package $RUNTIME_PKG after the SONAME $SONAME" \
  || fail "debian/control or debian/$RUNTIME_PKG.install does not name the runtime package $RUNTIME_PKG (SONAME $SONAME)"
# The symbols file belongs to the runtime package of this SONAME and lists exactly the exports
# of tests/abi/symbols.txt (make check-symbols holds that list to the built library).
SYMBOLS_FILE=$ROOT/debian/$RUNTIME_PKG.symbols
if [ -f "$SYMBOLS_FILE" ] && [ "$(head -n 1 "$SYMBOLS_FILE")" = "$SONAME $RUNTIME_PKG #MINVER#" ] \
   && diff <(sed -n 's/^ \([^@ ]*\)@Base .*/\1/p' "$SYMBOLS_FILE" | sort) <(grep . "$ROOT/tests/abi/symbols.txt" | sort) >/dev/null \
   && [ "$(ls "$ROOT"/debian/*.symbols)" = "$SYMBOLS_FILE" ]; then
  pass "debian/$RUNTIME_PKG.symbols: $SONAME, the $(grep -c '^ ' "$SYMBOLS_FILE") exports of tests/abi/symbols.txt"
else
  fail "debian/$RUNTIME_PKG.symbols missing, for another SONAME, or not tests/abi/symbols.txt: run make update-symbols"
fi
# debian/copyright names every crate the build links into the library, with its license.
HOST_TRIPLE=$(rustc -vV 2>/dev/null | sed -n 's/^host: //p')
if (cd "$ROOT" && cargo metadata --format-version 1 --locked --offline ${HOST_TRIPLE:+--filter-platform "$HOST_TRIPLE"} 2>/dev/null \
      | python3 tests/packaging/linked-crates.py debian/copyright) > "$TMP/crates.log" 2>&1; then
  pass "$(cat "$TMP/crates.log")"
else
  fail "debian/copyright:"; sed 's/^/      /' "$TMP/crates.log"
fi
# The man pages the -dev package must hold: what the header generates.
make -C "$ROOT" man > /dev/null || die "make man failed"
MAN_PAGES=$(sed 's|^|./usr/share/man/man3/|; s|$|.gz|' "$ROOT/build/man/pages.txt")

# ---------------------------------------------------------------------------- source copy
SRC=$TMP/build/libsmtpclient-$VERSION
mkdir -p "$SRC"
if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  # Tracked and new-but-not-ignored files, as they are in the work tree (deleted ones skipped).
  (cd "$ROOT" && git ls-files -z --cached --others --exclude-standard \
     | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
     | tar --null -T - -cf -) | tar -xf - -C "$SRC"
else
  tar -C "$ROOT" --exclude=./target --exclude=./build --exclude=./.git --exclude=node_modules \
    --exclude=./fuzz/target -cf - . | tar -xf - -C "$SRC"
fi
[ -x "$SRC/debian/rules" ] || die "the copy has no executable debian/rules"
log "source copied to $SRC ($(du -sh "$SRC" | cut -f1))"

# ---------------------------------------------------------------------------- build
T0=$(now)
log "dpkg-buildpackage -us -uc -d (log: $TMP/build.log)"
PARENT_BEFORE=$(ls -A "$(dirname "$ROOT")")
if ! (cd "$SRC" && dpkg-buildpackage -us -uc -d) > "$TMP/build.log" 2>&1; then
  tail -n 40 "$TMP/build.log" >&2
  die "dpkg-buildpackage failed"
fi
T_BUILD=$(since "$T0")
[ "$(ls -A "$(dirname "$ROOT")")" = "$PARENT_BEFORE" ] && pass "nothing written next to the work tree ($(dirname "$ROOT"))" \
  || fail "files appeared in $(dirname "$ROOT")"

RT_DEB=$TMP/build/${RUNTIME_PKG}_${VERSION}_${ARCH}.deb
DEV_DEB=$TMP/build/${DEV_PKG}_${VERSION}_${ARCH}.deb
[ -f "$RT_DEB" ] && [ -f "$DEV_DEB" ] && pass "dpkg-buildpackage built $(basename "$RT_DEB") and $(basename "$DEV_DEB") in $T_BUILD" \
  || die "expected $RT_DEB and $DEV_DEB; built: $(cd "$TMP/build" && ls -- *.deb *.ddeb 2>/dev/null | tr '\n' ' ')"

# ---------------------------------------------------------------------------- metadata
field() { dpkg-deb -f "$1" "$2"; }
if [ "$(field "$RT_DEB" Package)" = "$RUNTIME_PKG" ] && [ "$(field "$RT_DEB" Version)" = "$VERSION" ] \
   && [ "$(field "$RT_DEB" Multi-Arch)" = same ] && [ "$(field "$RT_DEB" Section)" = libs ]; then
  pass "$RUNTIME_PKG: version $VERSION, Multi-Arch: same, Section: libs; Depends: $(field "$RT_DEB" Depends)"
else
  fail "$RUNTIME_PKG control:"; dpkg-deb -f "$RT_DEB" | sed 's/^/      /'
fi
case ", $(field "$RT_DEB" Depends), " in
  *", libc6 "*libssl3*|*libssl3*", libc6 "*) pass "$RUNTIME_PKG depends on libc6 and libssl3 (dh_shlibdeps)" ;;
  *) fail "$RUNTIME_PKG Depends lacks libc6 or libssl3: $(field "$RT_DEB" Depends)" ;;
esac
case ", $(field "$DEV_DEB" Depends), " in
  *", $RUNTIME_PKG (= $VERSION), "*) pass "$DEV_PKG depends on $RUNTIME_PKG (= $VERSION): $(field "$DEV_DEB" Depends)" ;;
  *) fail "$DEV_PKG Depends: $(field "$DEV_DEB" Depends)" ;;
esac
mkdir -p "$TMP/ctrl"
dpkg-deb -e "$RT_DEB" "$TMP/ctrl"
shlibs=$(cat "$TMP/ctrl/shlibs" 2>/dev/null || true)
[ "$shlibs" = "libsmtpclient $SOVERSION $RUNTIME_PKG (>= $VERSION)" ] && pass "$RUNTIME_PKG shlibs: $shlibs" \
  || fail "$RUNTIME_PKG shlibs: '$shlibs'"
# dh_makeshlibs ships the symbols file dpkg-gensymbols checked: the build fails on a symbol new
# to it. A listed symbol the library lacks fails there only once it was released (dpkg lets a
# symbol first listed for the version being built vanish), so the shipped file is compared with
# the packaged library's exports here as well.
mkdir -p "$TMP/rt-files"
dpkg-deb -x "$RT_DEB" "$TMP/rt-files"
exports=$(nm -D --defined-only --extern-only "$TMP/rt-files/usr/lib/$MA/libsmtpclient.so.$VERSION" | awk 'NF >= 3 { print $3 }' | sed 's/@.*//' | sort -u)
listed=$(sed -n 's/^ \([^@ ]*\)@Base .*/\1/p' "$TMP/ctrl/symbols" 2>/dev/null | sort -u)
if [ "$(head -n 1 "$TMP/ctrl/symbols" 2>/dev/null)" = "$SONAME $RUNTIME_PKG #MINVER#" ] && [ -n "$listed" ] && [ "$listed" = "$exports" ]; then
  pass "$RUNTIME_PKG ships DEBIAN/symbols, exactly the library's $(wc -l <<<"$exports") exports (dpkg-gensymbols -c4)"
else
  fail "$RUNTIME_PKG DEBIAN/symbols differs from the packaged library's exports:"
  diff <(echo "$listed") <(echo "$exports") | sed 's/^/      /' || true
fi

# ---------------------------------------------------------------------------- file lists
# dpkg-deb -c: "perms owner size date time ./path[ -> target]"; directories dropped.
contents() { dpkg-deb -c "$1" | awk '$1 !~ /^d/ { $1=$2=$3=$4=$5=""; sub(/^ +/, ""); print }' | sort; }
want_rt=$(printf '%s\n' "./usr/lib/$MA/libsmtpclient.so.$VERSION" "./usr/lib/$MA/$SONAME -> libsmtpclient.so.$VERSION" \
  "./usr/share/doc/$RUNTIME_PKG/changelog.gz" "./usr/share/doc/$RUNTIME_PKG/copyright" | sort)
want_dev=$(printf '%s\n' "./usr/include/smtpclient.h" "./usr/include/smtpclient.hpp" "./usr/lib/$MA/libsmtpclient.a" "$MAN_PAGES" \
  "./usr/lib/$MA/cmake/smtpclient/smtpclientConfig.cmake" "./usr/lib/$MA/cmake/smtpclient/smtpclientConfigVersion.cmake" \
  "./usr/lib/$MA/libsmtpclient.so -> $SONAME" "./usr/lib/$MA/pkgconfig/smtpclient.pc" \
  "./usr/share/doc/$DEV_PKG/changelog.gz" "./usr/share/doc/$DEV_PKG/copyright" | sort)
got_rt=$(contents "$RT_DEB")
got_dev=$(contents "$DEV_DEB")
if [ "$got_rt" = "$want_rt" ]; then
  pass "$RUNTIME_PKG files: $(tr '\n' ' ' <<<"$got_rt")"
else
  fail "$RUNTIME_PKG file list:"; diff <(echo "$want_rt") <(echo "$got_rt") | sed 's/^/      /' || true
fi
if [ "$got_dev" = "$want_dev" ]; then
  pass "$DEV_PKG files: header, .a, .so link, .pc, CMake package, $(grep -c '/man3/' <<<"$got_dev") man pages, doc"
else
  fail "$DEV_PKG file list:"; diff <(echo "$want_dev") <(echo "$got_dev") | sed 's/^/      /' || true
fi

# ---------------------------------------------------------------------------- lintian
# The source package and both binaries. Warnings fail like errors: each one is fixed, or overridden
# in debian/source/lintian-overrides or debian/<package>.lintian-overrides with its reason.
T0=$(now)
CHANGES=$TMP/build/libsmtpclient_${VERSION}_${ARCH}.changes
if lintian --fail-on error,warning --display-info --tag-display-limit 0 "$CHANGES" > "$TMP/lintian.log" 2>&1; then
  pass "lintian $(basename "$CHANGES"): no error or warning ($(grep -c '^I: ' "$TMP/lintian.log" || true) info tags) in $(since "$T0")"
else
  fail "lintian $(basename "$CHANGES"):"; grep -E '^[EWIP]: ' "$TMP/lintian.log" | sed 's/^/      /'
fi
[ -s "$TMP/lintian.log" ] && grep '^I: ' "$TMP/lintian.log" | sed 's/^/      /' || true

# ---------------------------------------------------------------------------- extracted trees
RT_ROOT=$TMP/root-runtime      # the runtime package alone: what a program's users have
ALL_ROOT=$TMP/root-all         # runtime + dev: what a developer has
dpkg-deb -x "$RT_DEB" "$RT_ROOT"
dpkg-deb -x "$RT_DEB" "$ALL_ROOT"
dpkg-deb -x "$DEV_DEB" "$ALL_ROOT"
soname=$(readelf -d "$RT_ROOT/usr/lib/$MA/libsmtpclient.so.$VERSION" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "$SONAME" ] && pass "packaged library SONAME $soname" || fail "packaged library SONAME '$soname', want $SONAME"

export PKG_CONFIG_PATH=$ALL_ROOT/usr/lib/$MA/pkgconfig PKG_CONFIG_LIBDIR=$ALL_ROOT/usr/lib/$MA/pkgconfig
export PKG_CONFIG_SYSROOT_DIR=$ALL_ROOT
# (--variable output is prefixed with the sysroot too: read the .pc's own value without it.)
pc_libdir=$(env -u PKG_CONFIG_SYSROOT_DIR pkg-config --variable=libdir smtpclient)
[ "$(pkg-config --modversion smtpclient)" = "$VERSION" ] && [ "$pc_libdir" = "/usr/lib/$MA" ] \
  && pass "pkg-config on the extracted tree: smtpclient $VERSION, libdir $pc_libdir; $(pkg-config --cflags --libs smtpclient)" \
  || fail "pkg-config on the extracted tree: version $(pkg-config --modversion smtpclient 2>&1), libdir $pc_libdir"

BIN=$TMP/bin
mkdir -p "$BIN"
# shellcheck disable=SC2046  # pkg-config prints lists of flags
if "$CC" -std=c99 -Wall -Wextra -Wpedantic -Werror $(pkg-config --cflags smtpclient) -o "$BIN/consumer" \
     "$ROOT/tests/packaging/consumer.c" $(pkg-config --libs smtpclient) > "$TMP/cc.log" 2>&1; then
  needed=$(readelf -d "$BIN/consumer" | sed -n 's/.*(NEEDED).*\[\(libsmtpclient[^]]*\)\].*/\1/p')
  [ "$needed" = "$SONAME" ] && pass "consumer built against the extracted -dev tree NEEDs $needed" \
    || fail "consumer NEEDs '$needed', want $SONAME"
  if LD_LIBRARY_PATH=$RT_ROOT/usr/lib/$MA "$BIN/consumer" "$VERSION" > "$TMP/run.log" 2>&1; then
    pass "consumer runs with only $RUNTIME_PKG's files: $(head -n 1 "$TMP/run.log")"
  else
    fail "consumer with $RUNTIME_PKG's files:"; sed 's/^/      /' "$TMP/run.log"
  fi
else
  fail "consumer does not build against the extracted tree"; sed 's/^/      /' "$TMP/cc.log"
fi
# Static: the -dev package's libsmtpclient.a, system libraries from Libs.private.
static_libs=$(pkg-config --static --libs smtpclient | sed 's/\(^\|[[:space:]]\)-lsmtpclient\b/\1-Wl,-Bstatic -lsmtpclient -Wl,-Bdynamic/')
# shellcheck disable=SC2046,SC2086
if "$CC" -std=c99 -Wall -Wextra -Wpedantic -Werror $(pkg-config --cflags smtpclient) -o "$BIN/consumer-static" \
     "$ROOT/tests/packaging/consumer.c" $static_libs > "$TMP/cc-static.log" 2>&1 \
   && ! readelf -d "$BIN/consumer-static" | grep -q 'NEEDED.*libsmtpclient' \
   && env -u LD_LIBRARY_PATH "$BIN/consumer-static" "$VERSION" > "$TMP/run-static.log" 2>&1; then
  pass "consumer linked against $DEV_PKG's libsmtpclient.a (no NEEDED libsmtpclient) runs"
else
  fail "static consumer against $DEV_PKG:"; cat "$TMP/cc-static.log" "$TMP/run-static.log" 2>/dev/null | sed 's/^/      /'
fi
unset PKG_CONFIG_PATH PKG_CONFIG_LIBDIR PKG_CONFIG_SYSROOT_DIR

# ---------------------------------------------------------------------------- report
echo
echo "packages built (dpkg-buildpackage -us -uc -d):"
(cd "$TMP/build" && for f in *.deb *.ddeb; do [ -e "$f" ] && printf '  %s  (%s)\n' "$f" "$(du -h "$f" | cut -f1)"; done) || true
if [ -n "${DEB_OUT:-}" ]; then
  mkdir -p "$DEB_OUT"
  cp "$TMP/build/"*.deb "$DEB_OUT/"
  cp "$TMP/build/"*.ddeb "$DEB_OUT/" 2>/dev/null || true
  log "packages copied to $DEB_OUT"
fi
echo "timings: tools $T_TOOLS${missing[*]:+ (installed ${missing[*]})}, dpkg-buildpackage $T_BUILD, total $(since "$T_START")"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
