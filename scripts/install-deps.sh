#!/usr/bin/env bash
# scripts/install-deps.sh - install what building and testing libsmtpclient needs (Debian 12, root).
#
#   apt:    postfix dovecot-core dovecot-lmtpd openssl   (the loopback test bed, tests/servers/up.sh)
#           libssl-dev pkg-config gcc g++ make valgrind python3   (build, C/C++ consumers, checks)
#           groff-base man-db          (man pages rendered with groff -ww in the checks)
#           debhelper dpkg-dev lintian (Debian packages built and checked, tests/packaging/check-deb.sh)
#           abigail-tools              (abidw / abidiff against tests/abi/libsmtpclient.abi)
#           cmake meson ninja-build    (the CMake and Meson consumers in tests/packaging/)
#   cargo:  cbindgen 0.29.4 (pinned: the committed C header must not churn between versions)
#
# Idempotent and quick when everything is present: apt-get update/install only run when a package
# is missing, cargo install only when `cbindgen --version` is not 0.29.4.
# Installing postfix/dovecot never starts the system's default instances (a temporary
# /usr/sbin/policy-rc.d forbids it); the test bed runs private instances instead.
set -euo pipefail

CBINDGEN_VERSION=0.29.4
APT_PACKAGES=(postfix dovecot-core dovecot-lmtpd openssl libssl-dev pkg-config gcc g++ make valgrind python3
  groff-base man-db debhelper dpkg-dev lintian abigail-tools cmake meson ninja-build libuv1-dev)

log() { echo "install-deps: $*" >&2; }

# ---------------------------------------------------------------------------------------- apt
pkg_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'; }
missing=()
for pkg in "${APT_PACKAGES[@]}"; do pkg_installed "$pkg" || missing+=("$pkg"); done

if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { log "missing ${missing[*]}; run as root to install them"; exit 1; }
  log "apt: installing ${missing[*]}"
  # Debian's maintainer scripts would start the default postfix (on *:25) and dovecot: a
  # policy-rc.d that exits 101 forbids that. Restore whatever policy was there afterwards.
  POLICY=/usr/sbin/policy-rc.d
  POLICY_BACKUP=
  if [ -e "$POLICY" ]; then POLICY_BACKUP=$(mktemp "$POLICY.saved.XXXXXX"); cp -p "$POLICY" "$POLICY_BACKUP"; fi
  restore_policy() {
    if [ -n "$POLICY_BACKUP" ]; then mv -f "$POLICY_BACKUP" "$POLICY"; else rm -f "$POLICY"; fi
  }
  trap restore_policy EXIT
  printf '#!/bin/sh\nexit 101\n' > "$POLICY"
  chmod 755 "$POLICY"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=300 update -qq
  apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  restore_policy
  trap - EXIT
else
  log "apt: all present (${APT_PACKAGES[*]})"
fi

# ---------------------------------------------------------------------------------------- cbindgen
# cargo installs into ~/.cargo/bin, which may not be on PATH in a non-login shell
CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
case ":$PATH:" in *":$CARGO_BIN:"*) ;; *) [ -d "$CARGO_BIN" ] && PATH="$CARGO_BIN:$PATH" ;; esac

have_cbindgen=$( (cbindgen --version 2>/dev/null || true) | awk '{print $2}')
if [ "$have_cbindgen" = "$CBINDGEN_VERSION" ]; then
  log "cbindgen $CBINDGEN_VERSION present ($(command -v cbindgen))"
else
  command -v cargo >/dev/null 2>&1 || { log "cargo not found (needed to install cbindgen $CBINDGEN_VERSION)"; exit 1; }
  log "cbindgen: ${have_cbindgen:-not installed} -> installing $CBINDGEN_VERSION (about a minute)"
  cargo install cbindgen --locked --version "$CBINDGEN_VERSION"
  got=$(cbindgen --version | awk '{print $2}')
  [ "$got" = "$CBINDGEN_VERSION" ] || { log "cbindgen --version says '$got' after installing $CBINDGEN_VERSION (another cbindgen earlier on PATH?)"; exit 1; }
fi
