#!/usr/bin/env bash
# The main job (`make demo`): install what is missing, build and install the library into a
# scratch prefix, start the loopback test bed, send a real message through the C example
# (linked via pkg-config) to Postfix, and print the message as it was delivered to the Maildir.
# Runs as root on Debian 12. Stops the test bed again if it started it.
set -euo pipefail
cd "$(dirname "$0")/.."

export SMTPENV_DIR=${SMTPENV_DIR:-/tmp/smtpclient-testbed}
step() { printf '\n==== %s\n' "$*"; }

step "dependencies"
bash scripts/install-deps.sh

step "build and install into build/demo-prefix"
prefix=$PWD/build/demo-prefix
make all
make install PREFIX="$prefix" >/dev/null
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
echo "pkg-config --cflags --libs smtpclient: $(pkg-config --cflags --libs smtpclient)"
cc -std=c99 -Wall -Wextra -Werror examples/send.c $(pkg-config --cflags --libs smtpclient) \
   -Wl,-rpath,"$prefix/lib" -o build/send

step "test bed (Postfix, Dovecot LMTP on loopback)"
if [ ! -s "$SMTPENV_DIR/pids" ]; then
  trap 'step "stopping the test bed"; bash tests/servers/down.sh' EXIT
fi
bash tests/servers/up.sh
set -a; . "$SMTPENV_DIR/env"; set +a

marker="demo-$(date +%s)-$$"
step "sending through libsmtpclient to Postfix at $SMTP_HOST:$SMTP_PORT"
printf 'From: Alice <alice@example.test>\r\nTo: Bob <bob@example.test>\r\nSubject: Hello from libsmtpclient (%s)\r\n\r\nThis message went through the C API: EHLO, MAIL, RCPT, BDAT or DATA.\r\n' "$marker" \
  | build/send --debug "$SMTP_HOST:$SMTP_PORT" alice@example.test bob@example.test

step "delivered to bob's Maildir"
for _ in $(seq 100); do
  file=$(grep -rl "$marker" "$POSTFIX_MAILDIR/bob/new" 2>/dev/null | head -n 1 || true)
  [ -n "$file" ] && break
  sleep 0.1
done
[ -n "${file:-}" ] || { echo "the message did not arrive" >&2; exit 1; }
echo "$file"
echo "----------------------------------------------------------------"
cat "$file"
echo "----------------------------------------------------------------"
