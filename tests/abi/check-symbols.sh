#!/usr/bin/env bash
# Checks the ABI surface of the built shared library:
#   1. every exported (dynamic, defined, global) symbol starts with smtp_;
#   2. the sorted export list equals tests/abi/symbols.txt exactly;
#   3. no export, and no identifier in include/smtpclient.h, is one of libESMTP's names
#      (tests/abi/libesmtp-names.txt), so a program can use both libraries;
#   4. the SONAME is libsmtpclient.so.<ABI> (the major version, or 0.<minor> before 1.0).
#
# Usage: tests/abi/check-symbols.sh [--update] [path/to/libsmtpclient.so]
#   --update   rewrite tests/abi/symbols.txt from the library instead of comparing with it
#              (the other checks still run).
# The default library is target/release/libsmtpclient.so. `make check-symbols` and
# `make update-symbols` run this script; they also pass EXPECTED_SONAME, which must agree.
set -euo pipefail
export LC_ALL=C

cd "$(dirname "$0")/../.."

update=0
if [ "${1:-}" = "--update" ]; then
    update=1
    shift
fi
lib="${1:-target/release/libsmtpclient.so}"
symbols_file=tests/abi/symbols.txt
names_file=tests/abi/libesmtp-names.txt
header=include/smtpclient.h

fail=0
error() {
    echo "check-symbols: error: $*" >&2
    fail=1
}

if [ ! -f "$lib" ]; then
    echo "check-symbols: error: $lib not found: build it first (make)" >&2
    exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Exported symbols: names only, any ELF symbol version suffix (@VER / @@VER) removed.
nm -D --defined-only --extern-only "$lib" | awk 'NF >= 3 { print $3 }' | sed 's/@.*//' |
    sort -u >"$tmp/exported"

if [ ! -s "$tmp/exported" ]; then
    error "$lib exports no symbols at all"
fi

# 1. Prefix.
if grep -v '^smtp_' "$tmp/exported" >"$tmp/bad_prefix"; then
    error "exported symbols without the smtp_ prefix:"
    sed 's/^/    /' "$tmp/bad_prefix" >&2
fi

# 2. Committed list.
if [ "$update" = 1 ]; then
    cp "$tmp/exported" "$symbols_file"
    echo "check-symbols: wrote $symbols_file ($(wc -l <"$symbols_file") symbols)"
elif ! diff -u "$symbols_file" "$tmp/exported" >"$tmp/symbols.diff"; then
    error "exported symbols differ from $symbols_file (- committed, + built):"
    cat "$tmp/symbols.diff" >&2
    echo "    An export was added or removed: update $symbols_file in the same change" >&2
    echo "    (make update-symbols). Removing or renaming an export breaks the ABI." >&2
fi

# 3. libESMTP's names: neither exported nor used as an identifier in our header.
grep -v -e '^#' -e '^[[:space:]]*$' "$names_file" | sort -u >"$tmp/libesmtp"
if [ ! -s "$tmp/libesmtp" ]; then
    error "$names_file lists no names"
fi
if comm -12 "$tmp/exported" "$tmp/libesmtp" >"$tmp/clash" && [ -s "$tmp/clash" ]; then
    error "exported symbols that libESMTP also defines (rename them):"
    sed 's/^/    /' "$tmp/clash" >&2
fi
if [ -f "$header" ]; then
    # Identifiers only: comments are removed first (the preprocessor keeps the directives).
    "${CC:-cc}" -w -fpreprocessed -dD -E -P -x c "$header" >"$tmp/header_code"
    if grep -o -w -F -f "$tmp/libesmtp" "$tmp/header_code" | sort -u >"$tmp/header_clash" &&
        [ -s "$tmp/header_clash" ]; then
        error "$header declares identifiers that libESMTP also defines (rename them):"
        sed 's/^/    /' "$tmp/header_clash" >&2
        echo "    first uses:" >&2
        grep -n -w -F -f "$tmp/header_clash" "$header" | head -n 10 | sed 's/^/    /' >&2
    fi
else
    error "$header not found"
fi

# 4. SONAME.
version=$(sed -n '/^\[package\]/,/^\[/s/^version[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' \
    Cargo.toml | head -n 1)
major=${version%%.*}
rest=${version#*.}
minor=${rest%%.*}
if [ "$major" = 0 ]; then
    expected_soname="libsmtpclient.so.0.$minor"
else
    expected_soname="libsmtpclient.so.$major"
fi
if [ -n "${EXPECTED_SONAME:-}" ] && [ "$EXPECTED_SONAME" != "$expected_soname" ]; then
    error "the Makefile expects SONAME $EXPECTED_SONAME, this script $expected_soname" \
        "(Cargo.toml version $version)"
fi
soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
if [ "$soname" != "$expected_soname" ]; then
    error "SONAME of $lib is '${soname:-none}', expected '$expected_soname'" \
        "(Cargo.toml version $version; build.rs sets it)"
fi

if [ "$fail" != 0 ]; then
    exit 1
fi
echo "check-symbols: ok: $(wc -l <"$tmp/exported") exports, all smtp_*, match $symbols_file," \
    "no libESMTP names, SONAME $soname"
