#!/usr/bin/env bash
# scripts/update-debian-symbols.sh VERSION SOVERSION: write debian/libsmtpclient<SOVERSION>.symbols
# from tests/abi/symbols.txt (`make update-symbols` runs it after rewriting that list).
#
# dpkg-gensymbols compares the built library with this file and, at check level 4 (debian/rules),
# fails the package build on any symbol missing from it or new in the library: adding or removing
# an export is always a deliberate change to both files.
#
# Each symbol keeps the version it first appeared in when the file for this SOVERSION already
# lists it; a new symbol gets VERSION. A new SOVERSION (an ABI break, so a new package name)
# starts a new file in which every symbol is VERSION, and the previous package's file is removed.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."

version=${1:?usage: update-debian-symbols.sh VERSION SOVERSION}
soversion=${2:?usage: update-debian-symbols.sh VERSION SOVERSION}
package=libsmtpclient$soversion
out=debian/$package.symbols

declare -A since=()
if [ -f "$out" ]; then
    while read -r sym ver; do
        [[ "$sym" == *@Base ]] && since[${sym%@Base}]=$ver
    done < <(grep '^ ' "$out")
fi

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
{
    echo "libsmtpclient.so.$soversion $package #MINVER#"
    echo "* Build-Depends-Package: libsmtpclient-dev"
    while read -r sym; do
        [ -n "$sym" ] && echo " $sym@Base ${since[$sym]:-$version}"
    done < tests/abi/symbols.txt
} > "$tmp"
mv "$tmp" "$out"
trap - EXIT
for old in debian/libsmtpclient*.symbols; do
    [ "$old" = "$out" ] || { rm -f "$old"; echo "update-debian-symbols: removed $old (SONAME changed)"; }
done
echo "update-debian-symbols: wrote $out ($(grep -c '^ ' "$out") symbols)"
