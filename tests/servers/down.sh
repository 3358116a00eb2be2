#!/usr/bin/env bash
# tests/servers/down.sh - stop the test bed started by up.sh, by the PIDs recorded in
# $SMTPENV_DIR/pids ("name pid" lines): SIGTERM to all of them at once, wait up to 10 s, then
# SIGKILL whatever is left. Postfix: the master PID (its children exit with it); Dovecot: the
# master PID; smtp-sink: its PID. A recorded PID is only signalled while it still carries the
# expected process name, so a PID recycled after a reboot is left alone.
#
# Usage: bash tests/servers/down.sh [--purge]
#   --purge  also delete $SMTPENV_DIR (mail, queues, logs, certificates)
set -uo pipefail

BASE=${SMTPENV_DIR:-/tmp/smtpclient-testbed}
case "$BASE" in /*) ;; *) BASE="$(pwd)/$BASE" ;; esac
BASE=$(realpath -m "$BASE")
PURGE=0
for arg in "$@"; do
  case "$arg" in
    --purge) PURGE=1 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "down.sh: unknown argument '$arg' (usage: down.sh [--purge])" >&2; exit 2 ;;
  esac
done
[ "$BASE" != / ] || { echo "down.sh: SMTPENV_DIR must not be /" >&2; exit 2; }

log() { echo "down.sh: $*" >&2; }
# a zombie (exited, not yet reaped by init: takes a second or two on some machines) counts as gone
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null && ! grep -qs '^State:[[:space:]]*Z' "/proc/$1/status"; }
expected_comm() { case "$1" in postfix) echo master ;; dovecot) echo dovecot ;; smtp-sink) echo smtp-sink ;; *) echo "" ;; esac; }
ours() {
  alive "$2" || return 1
  local want; want=$(expected_comm "$1")
  [ -z "$want" ] || [ "$(cat "/proc/$2/comm" 2>/dev/null)" = "$want" ]
}

# up.sh holds the lock itself when it calls us
if [ "${SMTPENV_LOCK_HELD:-0}" != 1 ] && [ -d "$(dirname "$BASE")" ]; then
  exec 9>"$BASE.lock"
  flock -w 60 9 || log "could not lock $BASE.lock within 60 s; going on anyway"
fi

PIDS="$BASE/pids"
if [ -f "$PIDS" ]; then
  names=(); pids=()
  while read -r name pid _; do
    [ -n "${pid:-}" ] || continue
    [[ "$pid" =~ ^[0-9]+$ ]] || { log "ignoring bad line '$name $pid'"; continue; }
    if ours "$name" "$pid"; then
      kill -TERM "$pid" 2>/dev/null; names+=("$name"); pids+=("$pid")
    else
      log "$name ($pid) was not running"
    fi
  done < "$PIDS"
  for _ in $(seq 100); do
    left=0
    for p in "${pids[@]}"; do alive "$p" && left=1; done
    [ "$left" = 0 ] && break
    sleep 0.1
  done
  for k in "${!pids[@]}"; do
    if alive "${pids[$k]}"; then
      log "${names[$k]} (${pids[$k]}) still alive after 10 s: SIGKILL"
      kill -KILL "${pids[$k]}" 2>/dev/null
    else
      log "${names[$k]} (${pids[$k]}) stopped"
    fi
  done
  rm -f "$PIDS" "$BASE/env" "$BASE/smtp-sink.pid"
else
  log "no $PIDS (nothing recorded as running)"
  rm -f "$BASE/env"
fi

if [ "$PURGE" = 1 ] && [ -e "$BASE" ]; then
  rm -rf "$BASE" && log "removed $BASE"
fi
exit 0
