#!/usr/bin/env bash
# tests/packaging/check-man.sh: check the generated man pages (make man; make check-man runs this).
#
#   - every exported symbol (tests/abi/symbols.txt) has its page man3/<symbol>.3, and so does
#     libsmtpclient(3), the overview;
#   - every page renders with `groff -ww -man -Tutf8` without a single warning or error, and
#     through man(1) itself (`man -l`, which also runs preconv);
#   - lexgrog reads a whatis entry "<name> - <text>" from every page's NAME section (what
#     mandb and lintian's manpage checks rely on);
#   - every cross-reference \fBname\fP(3) in a page names a page that exists.
#
# Usage: bash tests/packaging/check-man.sh [MAN_BUILD_DIR]   (default build/man)
# Exits 0 only when every check passed.
set -euo pipefail
export LC_ALL=C.UTF-8

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DIR=${1:-$ROOT/build/man}
MAN3=$DIR/man3
SYMBOLS=$ROOT/tests/abi/symbols.txt

log() { printf '%s\n' "check-man: $*" >&2; }
for cmd in groff man lexgrog; do command -v "$cmd" >/dev/null || { log "error: $cmd not found (scripts/install-deps.sh)"; exit 1; }; done
[ -d "$MAN3" ] || { log "error: $MAN3 missing: run make man"; exit 1; }

failed=0
fail() { failed=$((failed + 1)); echo "FAIL  $*"; }

missing=()
while read -r sym; do
  [ -n "$sym" ] && [ ! -f "$MAN3/$sym.3" ] && missing+=("$sym")
done < "$SYMBOLS"
[ -f "$MAN3/libsmtpclient.3" ] || missing+=(libsmtpclient)
if [ ${#missing[@]} -eq 0 ]; then
  echo "PASS  a page for each of the $(grep -c . "$SYMBOLS") exports in tests/abi/symbols.txt, and libsmtpclient(3)"
else
  fail "no man page for: ${missing[*]}"
fi

n=0 bad_render=() bad_whatis=() bad_refs=()
for page in "$MAN3"/*.3; do
  n=$((n + 1))
  name=$(basename "$page" .3)
  # -z: format but discard the output; -ww: every warning. Any output on stderr is a failure.
  out=$(groff -ww -man -Tutf8 -z "$page" 2>&1) || out="groff exit status $? $out"
  out2=$(MANWIDTH=80 man -l "$page" 2>&1 >/dev/null) || out2="man exit status $? $out2"
  [ -z "$out$out2" ] || bad_render+=("$name: $out $out2")
  whatis=$(lexgrog -w "$page" 2>&1 || true)
  [[ "$whatis" == *": \"$name - "?* ]] || bad_whatis+=("$name: $whatis")
  for ref in $(grep -o '\\fB[A-Za-z0-9_]*\\fP(3)' "$page" | sed 's/^\\fB\(.*\)\\fP(3)$/\1/' | sort -u); do
    [ -f "$MAN3/$ref.3" ] || bad_refs+=("$name -> $ref(3)")
  done
done
[ ${#bad_render[@]} -eq 0 ] && echo "PASS  all $n pages render with groff -ww -man -Tutf8 and man -l, no warnings" \
  || fail "pages with warnings: $(printf '\n      %s' "${bad_render[@]}")"
[ ${#bad_whatis[@]} -eq 0 ] && echo "PASS  lexgrog finds a whatis entry in all $n pages" \
  || fail "no whatis entry: $(printf '\n      %s' "${bad_whatis[@]}")"
[ ${#bad_refs[@]} -eq 0 ] && echo "PASS  every (3) cross-reference names a generated page" \
  || fail "references to missing pages: $(printf '\n      %s' "${bad_refs[@]}")"

[ "$failed" -eq 0 ]
