#!/usr/bin/env bash
# scripts/miri.sh - run the C boundary's handle and guard module (src/capi/handle.rs) under Miri,
# which checks its aliasing claims (no `&mut` to a session's state is ever aliased, not even
# when a callback calls back into the handle) and its data-race freedom across threads.
#
# Only that module runs: it is generic over its state and knows nothing of OpenSSL, whose C
# functions Miri cannot execute. Miri needs the nightly toolchain with the miri and rust-src
# components; they are added when missing (idempotent).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! rustup toolchain list | grep -q '^nightly'; then
  echo "miri.sh: SKIPPED: no nightly toolchain (rustup toolchain install nightly)" >&2
  exit 0
fi
installed=$(rustup +nightly component list --installed)
for component in miri rust-src; do
  if ! grep -q "^$component" <<<"$installed" && ! rustup +nightly component add "$component"; then
    # the component comes from the Rust distribution server; say so loudly rather than fail the
    # whole suite for a download (the handle's tests still run natively, under ASan and TSan)
    echo "miri.sh: SKIPPED: the nightly $component component could not be installed" >&2
    exit 0
  fi
done
CARGO_TARGET_DIR=target/miri cargo +nightly miri test --lib capi::handle
