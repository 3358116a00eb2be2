#!/usr/bin/env bash
# scripts/fuzz.sh - run every fuzz target (cargo-fuzz / libFuzzer) for a while, and replay the
# reproducers of crashes found earlier.
#
# Usage: bash scripts/fuzz.sh [SECONDS] [TARGET...]
#   SECONDS       time per target (default: $FUZZ_SECONDS, else 30); 0 only replays
#   TARGET...     only these targets (default: every file in fuzz/fuzz_targets/)
#   FUZZ_SECONDS  default time per target
#   FUZZ_ARGS     extra libFuzzer options, e.g. "-dict=... -max_len=20000"
#   FUZZ_NIGHTLY  0: do not use the nightly toolchain even when it is installed
#
# Targets run one after the other (libFuzzer uses one core each). Every target first replays
# fuzz/regressions/<target>/ (inputs that once crashed; each must pass now), then fuzzes for
# SECONDS starting from the committed seeds in fuzz/corpus/<target>/. New inputs libFuzzer finds
# go to fuzz/target/corpus/<target>/ (ignored by git, kept between runs), so fuzz/corpus/
# stays small. A crash, a leak or a hang (10 s per input) fails the script; its input is in
# fuzz/artifacts/<target>/.
#
# Needs the nightly toolchain (`cargo +nightly`); without one, the stable toolchain is used with
# RUSTC_BOOTSTRAP=1. cargo-fuzz is installed from crates.io when missing.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FUZZ_DIR="$ROOT/fuzz"

SECONDS_PER_TARGET=${FUZZ_SECONDS:-30}
if [ $# -gt 0 ]; then
  SECONDS_PER_TARGET=$1
  shift
fi
[[ "$SECONDS_PER_TARGET" =~ ^[0-9]+$ ]] || { echo "fuzz.sh: not a number of seconds: '$SECONDS_PER_TARGET'" >&2; exit 2; }

log() { echo "fuzz.sh: $*" >&2; }

# --- toolchain -------------------------------------------------------------------------------
CARGO=(cargo)
if [ "${FUZZ_NIGHTLY:-1}" != 0 ] && cargo +nightly --version >/dev/null 2>&1; then
  CARGO=(cargo +nightly)
else
  log "no nightly toolchain: using stable with RUSTC_BOOTSTRAP=1"
  export RUSTC_BOOTSTRAP=1
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
  log "installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

# --- targets ---------------------------------------------------------------------------------
if [ $# -gt 0 ]; then
  TARGETS=("$@")
else
  TARGETS=()
  for f in "$FUZZ_DIR"/fuzz_targets/*.rs; do
    TARGETS+=("$(basename "$f" .rs)")
  done
fi
for t in "${TARGETS[@]}"; do
  [ -f "$FUZZ_DIR/fuzz_targets/$t.rs" ] || { log "no such target: $t"; exit 2; }
done

cd "$FUZZ_DIR"
log "building the fuzz targets"
"${CARGO[@]}" fuzz build >&2

# libFuzzer options used for every run. -timeout: an input that takes 10 s is a hang.
# shellcheck disable=SC2206
COMMON=(-timeout=10 -rss_limit_mb=4096 -print_final_stats=1 ${FUZZ_ARGS:-})

LOGDIR="$FUZZ_DIR/target/fuzz-logs"
mkdir -p "$LOGDIR"
declare -A RESULT EXECS COV REPLAYED
FAILED=0

for t in "${TARGETS[@]}"; do
  # 1. Reproducers of crashes found before: each must pass.
  REPLAYED[$t]=0
  if [ -d "regressions/$t" ] && [ -n "$(ls -A "regressions/$t")" ]; then
    REPLAYED[$t]=$(find "regressions/$t" -type f | wc -l)
    log "$t: replaying ${REPLAYED[$t]} reproducer(s) from fuzz/regressions/$t"
    if ! "${CARGO[@]}" fuzz run "$t" "regressions/$t" -- -runs=0 "${COMMON[@]}" \
      >"$LOGDIR/$t.replay.log" 2>&1; then
      RESULT[$t]="FAIL (a reproducer in fuzz/regressions/$t still crashes; see $LOGDIR/$t.replay.log)"
      EXECS[$t]=-
      COV[$t]=-
      FAILED=1
      grep -E "panicked at|^(Running|Executed)|SUMMARY|ERROR" "$LOGDIR/$t.replay.log" | head -20 >&2 || true
      continue
    fi
  fi

  if [ "$SECONDS_PER_TARGET" = 0 ]; then
    RESULT[$t]=ok
    EXECS[$t]=-
    COV[$t]=-
    continue
  fi

  # 2. Fuzz from the seeds (read-only) and the work corpus (written).
  WORK="$FUZZ_DIR/target/corpus/$t"
  mkdir -p "$WORK"
  SEEDS=()
  [ -d "corpus/$t" ] && SEEDS=("corpus/$t")
  log "$t: fuzzing for ${SECONDS_PER_TARGET}s"
  rc=0
  "${CARGO[@]}" fuzz run "$t" "$WORK" "${SEEDS[@]}" -- \
    -max_total_time="$SECONDS_PER_TARGET" "${COMMON[@]}" >"$LOGDIR/$t.log" 2>&1 || rc=$?
  EXECS[$t]=$(sed -n 's/^stat::number_of_executed_units: *//p' "$LOGDIR/$t.log" | tail -1)
  COV[$t]=$(grep -oE '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED)[[:space:]]+cov: [0-9]+' "$LOGDIR/$t.log" \
    | tail -1 | grep -oE '[0-9]+$' || true)
  if [ "$rc" = 0 ]; then
    RESULT[$t]=ok
  else
    FAILED=1
    ART=$(grep -oE "Test unit written to [^ ]+" "$LOGDIR/$t.log" | tail -1 | sed 's/Test unit written to //')
    RESULT[$t]="FAIL (exit $rc; input: ${ART:-none written}; log: $LOGDIR/$t.log)"
    grep -E "panicked at|^==[0-9]+== ERROR|SUMMARY|deadly signal|timeout after" "$LOGDIR/$t.log" | head -10 >&2 || true
  fi
  log "$t: ${RESULT[$t]}, ${EXECS[$t]:-?} executions, cov ${COV[$t]:-?}"
done

echo
printf '%-16s %12s %8s %10s  %s\n' target executions cov replayed result
for t in "${TARGETS[@]}"; do
  printf '%-16s %12s %8s %10s  %s\n' "$t" "${EXECS[$t]:-?}" "${COV[$t]:-?}" "${REPLAYED[$t]}" "${RESULT[$t]}"
done
exit "$FAILED"
