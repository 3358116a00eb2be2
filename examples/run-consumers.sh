#!/usr/bin/env bash
# examples/run-consumers.sh: build and run the C++, Go, Ruby and Node consumers in examples/
# against a scratch install of the library, the way a user would: found through pkg-config
# (PKG_CONFIG_PATH) and the dynamic loader (LD_LIBRARY_PATH), never a system-wide install.
#
# Each consumer connects to the test bed's Postfix (localhost:2525), does STARTTLS verified
# against the test CA, logs in as alice, sends one message to bob@example.test and
# reject550@example.test, reads the refused recipient back, waits for the message in bob's
# Maildir, and authenticates a second session with AUTH PLAIN through a callback written in its
# own language. Before it, each language's NUL test checks that its binding refuses a string
# argument holding a NUL instead of letting C truncate it (cpp/nul_test.cpp, go test of
# go/smtpclient, ruby/smtpclient/test/nul_test.rb, node/test/nul.test.js). For Go, that test is one of the binding
# module's tests (go/smtpclient/*_test.go: errors, sends, LMTP, AUTH, contexts, debug, TLS), run
# with the race detector against the test bed.
#
# Usage: bash examples/run-consumers.sh           (as root on Debian 12)
#   The test bed must be running: bash tests/servers/up.sh (this script does not start it).
#   CONSUMERS="cpp go ruby node"   which consumers to run (default: all four)
#   SMTPENV_DIR                    the test bed's directory (default /tmp/smtpclient-testbed)
#   KEEP_TMP=1                     keep the scratch directory (install, builds, logs)
#
# First, examples/check-coverage.py checks that every function of include/smtpclient.h is called
# by each binding or listed as not wrapped with its reason. The C++ consumer also runs
# cpp/api_test.cpp (streamed sends, low-level commands, capabilities, settings, connection
# strings) and cpp/nonblocking_test.cpp (several sessions driven by one poll(2) loop); Node's
# index.d.ts is type-checked with TypeScript (node/types/check.ts) against the installed package.
#
# Installs what is missing: apt packages g++, golang-go, ruby, ruby-ffi (nodejs and npm too if
# node is absent), and from npm koffi, typescript and @types/node (npm ci from
# examples/node/package-lock.json, in a scratch copy of examples/node: the work tree is not
# written to).
# Exits 0 only when every consumer passed; prints a summary with timings.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SMTPENV_DIR=${SMTPENV_DIR:-/tmp/smtpclient-testbed}
CONSUMERS=${CONSUMERS:-cpp go ruby node}

log() { printf '%s\n' "run-consumers: $*" >&2; }
die() { log "error: $*"; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }

T_START=$(now)

# ---------------------------------------------------------------------------- API coverage
# Every function of smtpclient.h is called by each binding or listed, with the reason, as not
# wrapped (examples/check-coverage.py): no toolchain needed, so it runs first.
command -v python3 >/dev/null || die "python3 is needed for examples/check-coverage.py (apt-get install python3)"
python3 "$ROOT/examples/check-coverage.py" || die "a binding does not cover the whole C API (examples/check-coverage.py)"

# ---------------------------------------------------------------------------- the test bed
ENVF=$SMTPENV_DIR/env
if [ ! -s "$ENVF" ]; then
  die "the test bed is not running ($ENVF does not exist).
    This script needs it and does not start it: run 'bash tests/servers/up.sh' first
    (and 'bash tests/servers/down.sh' afterwards)."
fi
set -a
# shellcheck disable=SC1090
. "$ENVF"
set +a
for v in SMTP_PORT SMTP_CA_FILE SMTP_USER SMTP_PASS POSTFIX_MAILDIR; do
  [ -n "${!v:-}" ] || die "$ENVF does not set $v: restart the test bed (tests/servers/down.sh; tests/servers/up.sh)"
done
# shellcheck disable=SC2153  # SMTP_PORT comes from the env file
(exec 3<>"/dev/tcp/127.0.0.1/$SMTP_PORT") 2>/dev/null \
  || die "nothing listens on 127.0.0.1:$SMTP_PORT: the test bed (Postfix) is not running; start it with 'bash tests/servers/up.sh'"
[ -r "$SMTP_CA_FILE" ] || die "the test CA $SMTP_CA_FILE is missing: restart the test bed"
# The server certificate names localhost, 127.0.0.1 and ::1: connect by name so that host-name
# verification is exercised.
export SMTP_HOST=localhost

# ---------------------------------------------------------------------------- toolchains
T0=$(now)
pkg_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'; }
want=()
for c in $CONSUMERS; do
  case $c in
    cpp) want+=(g++ pkg-config) ;;
    go) want+=(golang-go pkg-config) ;;
    ruby) want+=(ruby ruby-ffi) ;;
    node) command -v node >/dev/null && command -v npm >/dev/null || want+=(nodejs npm) ;;
    *) die "unknown consumer '$c' in CONSUMERS (cpp, go, ruby, node)" ;;
  esac
done
missing=()
for p in "${want[@]}"; do pkg_installed "$p" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]} (apt)"
  export DEBIAN_FRONTEND=noninteractive
  APT_LOG=$(mktemp "${TMPDIR:-/tmp}/smtpclient-consumers-apt.XXXXXX")
  if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } > "$APT_LOG" 2>&1; then
    tail -n 30 "$APT_LOG" >&2
    die "apt-get install ${missing[*]} failed"
  fi
  rm -f "$APT_LOG"
fi
T_TOOLCHAINS=$(since "$T0")
log "toolchains ready (${missing[*]:-nothing to install}) in $T_TOOLCHAINS"

# ---------------------------------------------------------------------------- scratch install
TMP=$(mktemp -d "${TMPDIR:-/tmp}/smtpclient-consumers.XXXXXX")
if [ "${KEEP_TMP:-0}" = 1 ]; then
  trap 'log "scratch directory kept: $TMP"' EXIT
else
  trap 'rm -rf "$TMP"' EXIT
fi
PREFIX=$TMP/prefix
LOGS=$TMP/logs
mkdir -p "$LOGS"

T0=$(now)
log "building and installing the library into $PREFIX (make install PREFIX=...)"
if ! make -C "$ROOT" install PREFIX="$PREFIX" > "$LOGS/make-install.log" 2>&1; then
  tail -n 30 "$LOGS/make-install.log" >&2
  die "make install PREFIX=$PREFIX failed"
fi
T_INSTALL=$(since "$T0")
export PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig
export PKG_CONFIG_LIBDIR=$PREFIX/lib/pkgconfig   # only this install, never a system-wide one
export LD_LIBRARY_PATH=$PREFIX/lib
pkg-config --exists smtpclient || die "pkg-config does not find smtpclient in $PKG_CONFIG_PATH"
log "installed libsmtpclient $(pkg-config --modversion smtpclient) in $T_INSTALL"

# ---------------------------------------------------------------------------- consumers
# Each consumer is built from a copy of its directory, as a user would copy it.
build_cpp() {
  cp -r "$ROOT/examples/cpp" "$TMP/cpp"
  cd "$TMP/cpp"
  # shellcheck disable=SC2046  # pkg-config prints a list of flags
  g++ -std=c++17 -Wall -Wextra -Wpedantic -Werror -O1 -g -o smtp-cpp main.cpp \
    $(pkg-config --cflags --libs smtpclient)
  # shellcheck disable=SC2046
  g++ -std=c++17 -Wall -Wextra -Wpedantic -Werror -O1 -g -o smtp-cpp-nul-test nul_test.cpp \
    $(pkg-config --cflags --libs smtpclient)
  # shellcheck disable=SC2046
  g++ -std=c++17 -Wall -Wextra -Wpedantic -Werror -O1 -g -o smtp-cpp-api-test api_test.cpp \
    $(pkg-config --cflags --libs smtpclient)
  # shellcheck disable=SC2046
  g++ -std=c++17 -Wall -Wextra -Wpedantic -Werror -O1 -g -o smtp-cpp-nonblocking-test nonblocking_test.cpp \
    $(pkg-config --cflags --libs smtpclient)
}
run_cpp() {
  "$TMP/cpp/smtp-cpp-nul-test" && "$TMP/cpp/smtp-cpp-api-test" && "$TMP/cpp/smtp-cpp-nonblocking-test" \
    && "$TMP/cpp/smtp-cpp"
}

build_go() {
  cp -r "$ROOT/examples/go" "$TMP/go"
  cd "$TMP/go"
  # Offline: neither module has a dependency outside the standard library; the example uses the
  # binding module next to it through a replace directive.
  export GOPROXY=off GOTOOLCHAIN=local
  go version
  go vet ./...
  (cd smtpclient && go vet ./...)
  go build -o smtp-go .
  # The binding's tests, one file per area, with the race detector.
  (cd smtpclient && go test -race -c -o "$TMP/go/smtpclient.test" .)
}
# cgocheck=2: the runtime checks every pointer handed to C (Go 1.19; GOEXPERIMENT from 1.21).
run_go() {
  (cd "$TMP/go/smtpclient" && GODEBUG=cgocheck=2 "$TMP/go/smtpclient.test" -test.v) \
    && GODEBUG=cgocheck=2 "$TMP/go/smtp-go"
}

# Ruby: the gem is built (gem build, offline) and installed into a scratch GEM_HOME without
# its dependency (ffi comes from Debian's ruby-ffi), then its minitest suite (copied without
# lib/, so it loads the installed gem) and the example run against the test bed.
build_ruby() {
  cp -r "$ROOT/examples/ruby" "$TMP/ruby"
  cd "$TMP/ruby/smtpclient"
  gem build smtpclient.gemspec
  gem install --local --ignore-dependencies --no-document --install-dir "$TMP/gems" smtpclient-*.gem
  rm -rf lib
  for f in ../main.rb test/*.rb; do ruby -w -c "$f"; done
}
run_ruby() {
  export GEM_PATH="$TMP/gems:$(gem env gempath)"
  (cd "$TMP/ruby/smtpclient" && ruby -w -e 'Dir["test/*_test.rb"].sort.each { |f| require_relative f }' -- -v) \
    && ruby -w "$TMP/ruby/main.rb"
}

# Node: the package is packed (npm pack, offline) and installed into a scratch project next to
# a copy of its tests and example, which then load the installed package, never the work tree.
build_node() {
  mkdir -p "$TMP/node"
  cd "$TMP/node"
  node --version
  npm pack --silent --pack-destination "$TMP/node" "$ROOT/examples/node" > pack.txt
  mkdir project
  cp "$ROOT/examples/node/package-lock.json" project/
  cp -r "$ROOT/examples/node/test" "$ROOT/examples/node/types" "$ROOT/examples/node/main.js" project/
  mkdir project/node_modules
  tar -xzf "$TMP/node/$(cat pack.txt)" -C project/node_modules && mv project/node_modules/package project/node_modules/smtpclient
  # koffi exactly as the committed package-lock.json pins it (npm ci in the package's copy).
  cp "$ROOT/examples/node/package.json" "$ROOT/examples/node/package-lock.json" "$TMP/node/"
  npm ci --prefix "$TMP/node" --no-audit --no-fund --loglevel=error
  mv "$TMP/node/node_modules/koffi" project/node_modules/
  # TypeScript and Node's types (devDependencies, pinned): index.d.ts of the installed package
  # is type-checked with a strict program using the whole API (types/check.ts).
  mv "$TMP/node/node_modules/typescript" project/node_modules/
  mkdir -p project/node_modules/@types
  mv "$TMP/node/node_modules/@types/node" project/node_modules/@types/
  # here 'smtpclient' is the installed package, not the work tree's directory
  sed -i 's#"paths": { "smtpclient": \[".."\] }#"paths": {}#' project/types/tsconfig.json
  (cd project && node node_modules/typescript/bin/tsc --version && node node_modules/typescript/bin/tsc --noEmit -p types)
  # The tests and the example require the package by name.
  sed -i "s#require('\.\.')#require('smtpclient')#" project/test/helpers.js
  sed -i "s#require('\.')#require('smtpclient')#" project/main.js
}
# node --test sets a failing exit status when a test fails.
run_node() { cd "$TMP/node/project" && node --test test/ && node main.js; }

declare -a SUMMARY=()
FAILED=0
for c in $CONSUMERS; do
  echo
  echo "==================== $c"
  T0=$(now)
  # Each step runs as a background job and is waited for: in the condition of an `if` (or
  # after `||`) bash would ignore `set -e` inside the function, so a failing command in the
  # middle of a build would go unnoticed.
  (build_"$c") > "$LOGS/build-$c.log" 2>&1 &
  if ! wait $!; then
    sed 's/^/    /' "$LOGS/build-$c.log" | tail -n 40
    SUMMARY+=("FAIL  $c: build failed ($(since "$T0"))")
    FAILED=$((FAILED + 1))
    continue
  fi
  T_BUILD=$(since "$T0")
  T0=$(now)
  rc=0
  (run_"$c") > "$LOGS/run-$c.log" 2>&1 &
  wait $! || rc=$?
  T_RUN=$(since "$T0")
  sed 's/^/    /' "$LOGS/run-$c.log"
  if [ "$rc" -eq 0 ]; then
    SUMMARY+=("PASS  $c (build $T_BUILD, run $T_RUN)")
  else
    SUMMARY+=("FAIL  $c: exit $rc (build $T_BUILD, run $T_RUN)")
    FAILED=$((FAILED + 1))
  fi
done

echo
echo "==================== examples/run-consumers.sh summary"
echo "toolchains: $T_TOOLCHAINS${missing[*]:+ (installed ${missing[*]})}; make install: $T_INSTALL"
printf '%s\n' "${SUMMARY[@]}"
n=$(wc -w <<<"$CONSUMERS")
echo "$((n - FAILED)) passed, $FAILED failed"
echo "total: $(since "$T_START")"
[ "$FAILED" -eq 0 ]
