#!/usr/bin/env bash
# tests/abi/check-abi.sh BASELINE LIBRARY: compare a built libsmtpclient.so with the committed
# libabigail baseline of the last release (tests/abi/libsmtpclient.abi, written by
# `make update-abi-baseline`). `make check-abi` runs it on the library built with full debug
# information (cargo's `abi` profile), so abidiff sees every exported function's parameter and
# return types, not only its name.
#
# - Same SONAME: any change abidiff reports is a failure: a function removed, a parameter or
#   return type changed, a type's layout changed. Functions added are allowed (--no-added-syms):
#   old programs keep working.
# - Different SONAME: the ABI may break, that is what the new SONAME says; the differences are
#   shown, and the release updates the baseline (README, "ABI baseline").
set -euo pipefail
baseline=${1:?usage: check-abi.sh BASELINE LIBRARY}
lib=${2:?usage: check-abi.sh BASELINE LIBRARY}
log() { printf '%s\n' "check-abi: $*" >&2; }
command -v abidiff >/dev/null || { log "error: abidiff not found (abigail-tools; scripts/install-deps.sh)"; exit 1; }
[ -f "$baseline" ] || { log "error: $baseline missing: make update-abi-baseline"; exit 1; }
[ -f "$lib" ] || { log "error: $lib missing"; exit 1; }

old_soname=$(sed -n "1s/.*soname='\([^']*\)'.*/\1/p" "$baseline")
new_soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ -n "$old_soname" ] && [ -n "$new_soname" ] || { log "error: no SONAME in $baseline ('$old_soname') or $lib ('$new_soname')"; exit 1; }

rc=0
abidiff --no-added-syms "$baseline" "$lib" > "${TMPDIR:-/tmp}/check-abi.$$" 2>&1 || rc=$?
report=$(cat "${TMPDIR:-/tmp}/check-abi.$$"); rm -f "${TMPDIR:-/tmp}/check-abi.$$"
# abidiff's exit status is a bit field: 1 tool error, 2 usage error, 4 ABI change, 8 incompatible.
if [ $((rc & 3)) -ne 0 ]; then
  log "error: abidiff failed (exit $rc):"; printf '%s\n' "$report" >&2; exit 1
fi
if [ "$old_soname" != "$new_soname" ]; then
  echo "check-abi: SONAME $old_soname -> $new_soname: the ABI may change (abidiff exit $rc);" \
       "update the baseline when releasing (make update-abi-baseline)"
  exit 0
fi
if [ "$rc" -ne 0 ]; then
  log "error: the ABI of $lib differs from the baseline $baseline with the same SONAME $new_soname:"
  printf '%s\n' "$report" | sed 's/^/    /' >&2
  log "a break needs a new SONAME (the next 0.x minor, or the next major from 1.0)"
  exit 1
fi
echo "check-abi: ok: $lib has the ABI of $baseline (SONAME $new_soname; additions allowed)"
