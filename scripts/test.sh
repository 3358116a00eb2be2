#!/usr/bin/env bash
# The whole test suite (`make test`): installs what is missing, starts the loopback test bed,
# runs the Rust tests, the header / symbol checks and the C consumers, and stops the test bed
# again if this script started it. Runs as root on Debian 12.
set -euo pipefail
cd "$(dirname "$0")/.."

export SMTPENV_DIR=${SMTPENV_DIR:-/tmp/smtpclient-testbed}
step() { printf '\n==== %s\n' "$*"; }

step "dependencies"
bash scripts/install-deps.sh

step "gates: formatting, lints, documentation, rust-version"
cargo fmt --check
cargo clippy --locked --all-targets -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --locked --no-deps
bash scripts/check-rust-version.sh
# the fuzz targets are a crate of their own: check they still build against the library
cargo check --locked --manifest-path fuzz/Cargo.toml --bins

step "test bed"
started_here=0
if [ ! -s "$SMTPENV_DIR/pids" ]; then started_here=1; fi
bash tests/servers/up.sh
if [ "$started_here" = 1 ]; then
  trap 'step "stopping the test bed"; bash tests/servers/down.sh' EXIT
else
  echo "test bed was already running: leaving it up"
fi

step "build"
make all

step "Rust tests (unit, Postfix, Dovecot LMTP, scripted faults, C API guards)"
cargo test --locked --release --all-targets
# the panic boundary, through a test-only hook that makes one export panic inside its guard
cargo test --locked --release --features test-panic --test capi_panic

step "the protocol suites again on the non-blocking driver (same results, same bytes on the wire)"
# tests/support's new_session() runs every session of these suites on src/nonblocking, waiting
# with poll(2): every scripted test asserts the exact client bytes, so both drivers must agree
SMTPCLIENT_TEST_DRIVER=nonblocking cargo test --locked --release \
  --test hostile --test faults --test pipelining --test smtp_postfix --test lmtp_dovecot --test tls \
  --test transport_faults --test review_results --test review_security --test scram --test scram_plus \
  --test auth_postfix --test envelope_smtplib --test soak --test dsn --test deadlines

step "Rust tests under AddressSanitizer + LeakSanitizer (C API guards and error lists, the non-blocking driver, faults, pipelining)"
# -Zsanitizer needs a nightly compiler: the machine's nightly, or stable with RUSTC_BOOTSTRAP.
toolchain=()
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then toolchain=(+nightly); else export RUSTC_BOOTSTRAP=1; fi
RUSTFLAGS=-Zsanitizer=address CARGO_TARGET_DIR=target/asan \
  cargo "${toolchain[@]}" test --target x86_64-unknown-linux-gnu --lib \
  --test capi_null --test capi_reentrancy --test capi_error_lists --test capi_nonblocking --test faults --test pipelining --test tls
unset RUSTC_BOOTSTRAP

step "the C boundary's handle under Miri (scripts/miri.sh)"
bash scripts/miri.sh

step "one session on several threads under ThreadSanitizer (tests/capi_threads.rs)"
# std is rebuilt with the sanitizer (-Zbuild-std), so its own synchronisation is seen too.
if rustup toolchain list | grep -q '^nightly' \
  && { rustup +nightly component list --installed | grep -q '^rust-src' || rustup +nightly component add rust-src; }; then
  RUSTFLAGS=-Zsanitizer=thread CARGO_TARGET_DIR=target/tsan \
    cargo +nightly test -Zbuild-std --target x86_64-unknown-linux-gnu --test capi_threads
else
  # rust-src comes from the Rust distribution server: say so loudly rather than fail the suite
  # for a download (the same tests ran above, natively)
  echo "test.sh: SKIPPED: ThreadSanitizer run (no nightly toolchain, or its rust-src component could not be installed)" >&2
fi

step "fuzzing: every target for 30 s, and every past crash replayed (scripts/fuzz.sh)"
bash scripts/fuzz.sh "${FUZZ_SECONDS:-30}"

step "header, exported symbols and man pages"
make check-header
make check-symbols
make check-man

step "ABI against the last release's baseline (abidiff, tests/abi/libsmtpclient.abi)"
make check-abi

step "C programs against the installed library (pkg-config, valgrind, ASan, static)"
bash tests/c/run.sh

step "consumers in C++, Go, Ruby and Node (examples/run-consumers.sh)"
bash examples/run-consumers.sh

step "packaging: make install layout, static link, version macros"
bash tests/packaging/check-install.sh

step "packaging: CMake (find_package) and Meson (pkg-config) consumers send through Postfix"
bash tests/packaging/check-build-systems.sh

step "packaging: Debian packages built in a scratch copy and checked (symbols, lintian)"
bash tests/packaging/check-deb.sh

step "all tests passed"
