#!/usr/bin/env bash
# tests/servers/up.sh - start the loopback-only SMTP/LMTP test bed used by the integration tests.
#
#   Postfix (a private instance with its own config directory; the system's default instance is
#   never touched or started):
#     127.0.0.1:2525 + [::1]:2525  SMTP, STARTTLS optional, AUTH allowed before TLS
#     127.0.0.1:2587               submission: STARTTLS required, AUTH required to relay
#     127.0.0.1:2526               "minimal": EHLO advertises no extension at all
#     127.0.0.1:4650               implicit TLS (wrapper mode), AUTH
#     AUTH through Dovecot SASL: PLAIN LOGIN CRAM-MD5 SCRAM-SHA-1 SCRAM-SHA-256
#     delivery: @example.test (alice, bob, carol) -> Maildir $SMTPENV_DIR/mail/postfix/<user>/
#               @discard.test -> discarded; anything else (authenticated relay) -> discarded
#   Dovecot LMTP on unix socket $SMTPENV_DIR/dovecot/lmtp.sock, 127.0.0.1:2424 and [::1]:2424
#     (users alice, bob, full (1-byte quota), utf8; Maildir $SMTPENV_DIR/mail/lmtp/<user>/)
#   smtp-sink on 127.0.0.1:2626 (accepts and discards everything)
#
# Nothing listens on anything but loopback and nothing is ever delivered off the machine.
#
# Usage: bash tests/servers/up.sh        (as root; Debian 12; installs missing packages with apt)
#   SMTPENV_DIR     base directory (default /tmp/smtpclient-testbed)
#   SMTP_PORT SMTP_SUBMISSION_PORT SMTP_MINIMAL_PORT SMTP_SMTPS_PORT SMTP_SINK_PORT LMTP_PORT
#                   override the default ports
#   MSG_SIZE_LIMIT  Postfix message_size_limit (default 10485760)
#   SINK_OPTS       extra smtp-sink switches, e.g. "-p" (hide PIPELINING)
#
# Writes $SMTPENV_DIR/pids ("name pid" lines) and $SMTPENV_DIR/env (shell-sourceable KEY=VALUE).
# Idempotent: when the recorded daemons are all alive it says so and exits 0. A stale pids file or
# daemons left behind by an interrupted run are cleaned up first. On failure everything this run
# started is stopped again. Stop with tests/servers/down.sh.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BASE=${SMTPENV_DIR:-/tmp/smtpclient-testbed}
PF_PORT=${SMTP_PORT:-2525}
PF_SUB_PORT=${SMTP_SUBMISSION_PORT:-2587}
PF_MIN_PORT=${SMTP_MINIMAL_PORT:-2526}
PF_SMTPS_PORT=${SMTP_SMTPS_PORT:-4650}
LMTP_TCP_PORT=${LMTP_PORT:-2424}
SINK_PORT=${SMTP_SINK_PORT:-2626}
SINK_OPTS=${SINK_OPTS:-}
MSG_SIZE_LIMIT=${MSG_SIZE_LIMIT:-10485760}

log() { echo "up.sh: $*" >&2; }
fail() { log "$*"; exit 1; }

[ "$(id -u)" = 0 ] || fail "must run as root (it installs packages and starts Postfix/Dovecot)"
case "$BASE" in /*) ;; *) BASE="$(pwd)/$BASE" ;; esac
BASE=$(realpath -m "$BASE")
# Postfix and Dovecot configs and the env file are not quoted: keep the path simple.
[[ "$BASE" =~ ^/[A-Za-z0-9._/+-]+$ ]] || fail "SMTPENV_DIR must be an absolute path of [A-Za-z0-9._/+-] (got '$BASE')"
[ "$BASE" != / ] || fail "SMTPENV_DIR must not be /"
for p in "$PF_PORT" "$PF_SUB_PORT" "$PF_MIN_PORT" "$PF_SMTPS_PORT" "$LMTP_TCP_PORT" "$SINK_PORT" "$MSG_SIZE_LIMIT"; do
  [[ "$p" =~ ^[0-9]+$ ]] || fail "not a number: '$p'"
done

# Serialize concurrent up.sh/down.sh runs on the same base directory. The lock file sits next to
# the base directory so that `down.sh --purge` can remove the directory itself.
mkdir -p "$(dirname "$BASE")"
exec 9>"$BASE.lock"
flock -w 300 9 || fail "could not lock $BASE.lock within 300 s (another up.sh/down.sh running?)"
export SMTPENV_LOCK_HELD=1   # down.sh, when called from here, must not wait for our own lock

PIDS="$BASE/pids"
ENVF="$BASE/env"

# ------------------------------------------------------------------------------------ packages
# The maintainer scripts of postfix/dovecot would start the system's default instances (Postfix on
# *:25). A policy-rc.d that exits 101 forbids that; put one in place for the install and restore
# whatever was there before.
POLICY=/usr/sbin/policy-rc.d
POLICY_BACKUP=
POLICY_INSTALLED=0
restore_policy() {
  [ "$POLICY_INSTALLED" = 1 ] || return 0
  if [ -n "$POLICY_BACKUP" ]; then mv -f "$POLICY_BACKUP" "$POLICY"; else rm -f "$POLICY"; fi
  POLICY_INSTALLED=0
}
pkg_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'; }
missing=()
for pkg in postfix dovecot-core dovecot-lmtpd openssl; do pkg_installed "$pkg" || missing+=("$pkg"); done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  t0=$SECONDS
  if [ -e "$POLICY" ]; then POLICY_BACKUP=$(mktemp "$POLICY.saved.XXXXXX"); cp -p "$POLICY" "$POLICY_BACKUP"; fi
  POLICY_INSTALLED=1
  trap restore_policy EXIT
  printf '#!/bin/sh\nexit 101\n' > "$POLICY"; chmod 755 "$POLICY"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=300 update -qq
  apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  restore_policy
  trap - EXIT
  log "installed in $((SECONDS - t0)) s"
fi
for cmd in postfix postconf smtp-sink dovecot openssl; do
  command -v "$cmd" >/dev/null 2>&1 || fail "$cmd not found after installing packages"
done
[ -x /usr/lib/dovecot/lmtp ] || fail "/usr/lib/dovecot/lmtp missing (package dovecot-lmtpd)"

# ------------------------------------------------------------------------------------ state
# a zombie (exited, not yet reaped by init: takes a second or two on some machines) counts as gone
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null && ! grep -qs '^State:[[:space:]]*Z' "/proc/$1/status"; }
# the process name a recorded daemon must have (guards against a recycled PID)
expected_comm() { case "$1" in postfix) echo master ;; dovecot) echo dovecot ;; smtp-sink) echo smtp-sink ;; *) echo "" ;; esac; }
ours() {  # ours NAME PID: alive and has the expected process name
  alive "$2" || return 1
  local want; want=$(expected_comm "$1")
  [ -z "$want" ] || [ "$(cat "/proc/$2/comm" 2>/dev/null)" = "$want" ]
}

if [ -s "$PIDS" ]; then
  all_up=1
  while read -r name pid; do
    [ -n "${pid:-}" ] || continue
    ours "$name" "$pid" || all_up=0
  done < "$PIDS"
  if [ "$all_up" = 1 ] && [ -s "$ENVF" ]; then
    log "already up ($(tr '\n' ' ' < "$PIDS" | sed 's/ $//'); env: $ENVF); run down.sh first to restart with other settings"
    exit 0
  fi
  log "stale $PIDS (not every recorded daemon is running): cleaning up"
fi

P="$BASE/postfix"; C="$P/etc"; D="$BASE/dovecot"; T="$BASE/tls"

# Daemons of an earlier run that was interrupted before it recorded them: adopt them into the pids
# file so down.sh stops them (only processes found through this base directory's own pid files).
adopt_leftovers() {
  local pid
  if [ -s "$P/spool/pid/master.pid" ]; then
    pid=$(tr -d ' \n' < "$P/spool/pid/master.pid")
    if ours postfix "$pid" && ! grep -qs "^postfix $pid\$" "$PIDS"; then echo "postfix $pid" >> "$PIDS"; fi
  fi
  if [ -s "$D/run/master.pid" ]; then
    pid=$(tr -d ' \n' < "$D/run/master.pid")
    if ours dovecot "$pid" && ! grep -qs "^dovecot $pid\$" "$PIDS"; then echo "dovecot $pid" >> "$PIDS"; fi
  fi
  if [ -s "$BASE/smtp-sink.pid" ]; then
    pid=$(tr -d ' \n' < "$BASE/smtp-sink.pid")
    if ours smtp-sink "$pid" && ! grep -qs "^smtp-sink $pid\$" "$PIDS"; then echo "smtp-sink $pid" >> "$PIDS"; fi
  fi
  return 0
}
mkdir -p "$BASE"
had=$(cat "$PIDS" 2>/dev/null || true)
adopt_leftovers
[ "$(cat "$PIDS" 2>/dev/null || true)" = "$had" ] || log "found daemons of an earlier run of this test bed: stopping them"
if [ -e "$PIDS" ]; then bash "$HERE/down.sh" >&2 || true; fi
rm -f "$PIDS" "$ENVF"

# ------------------------------------------------------------------------------------ failure handling
STARTED=0
cleanup_on_failure() {
  local rc=$?
  trap - ERR EXIT INT TERM
  restore_policy
  if [ "$STARTED" = 1 ] && [ "$rc" != 0 ]; then
    log "FAILED (exit $rc); stopping whatever this run started"
    adopt_leftovers
    [ -e "$PIDS" ] && bash "$HERE/down.sh" >&2
    rm -f "$ENVF"
    [ -s "$P/maillog" ] && { log "last lines of $P/maillog:"; tail -n 8 "$P/maillog" >&2; }
    [ -s "$D/dovecot.log" ] && { log "last lines of $D/dovecot.log:"; tail -n 8 "$D/dovecot.log" >&2; }
  fi
  exit "$rc"
}
trap cleanup_on_failure EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# IPv6 loopback is optional: without it the [::1] listeners are left out and SMTP_HOST6 is empty.
HAVE_V6=0
grep -qs '^00000000000000000000000000000001 ' /proc/net/if_inet6 && HAVE_V6=1

# Refuse to start when some other process already holds one of our ports: Postfix would fail to
# bind and the readiness check would then talk to the wrong server.
port_busy() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
for port in "$PF_PORT" "$PF_SUB_PORT" "$PF_MIN_PORT" "$PF_SMTPS_PORT" "$LMTP_TCP_PORT" "$SINK_PORT"; do
  port_busy 127.0.0.1 "$port" && fail "127.0.0.1:$port is already in use by another process (another test bed with a different SMTPENV_DIR?)"
done
if [ "$HAVE_V6" = 1 ]; then
  for port in "$PF_PORT" "$LMTP_TCP_PORT"; do
    port_busy ::1 "$port" && fail "[::1]:$port is already in use by another process"
  done
fi

# A queue left behind under another postfix uid (packages reinstalled since) is unusable; the
# test bed's queue is disposable, so start it afresh.
if [ -d "$P/spool/active" ] && [ "$(stat -c %U "$P/spool/active")" != postfix ]; then
  log "discarding $P/spool (owned by another uid than postfix)"; rm -rf "$P/spool" "$P/data"
fi
mkdir -p "$T" "$C" "$P/data" "$P/spool" "$D/run" "$BASE/mail/postfix" "$BASE/mail/lmtp"
chmod 755 "$BASE" "$BASE/mail" "$P" "$D"
chown -R postfix:postfix "$P/data"
# both Postfix virtual(8) and Dovecot deliver as nobody:nogroup
chown 65534:65534 "$BASE/mail/postfix" "$BASE/mail/lmtp"
# Pid files left by a killed run: the readiness checks below read them, and a recycled PID in an
# old dovecot master.pid would make dovecot refuse to start.
for f in "$D/run/master.pid:dovecot" "$P/spool/pid/master.pid:postfix"; do
  if [ -e "${f%:*}" ]; then
    ! ours "${f##*:}" "$(tr -d ' \n' < "${f%:*}")" || fail "${f##*:} from an earlier run is still running (pid file ${f%:*})"
    rm -f "${f%:*}"
  fi
done

# ------------------------------------------------------------------------------------ TLS
# test CA + server certificate for localhost / 127.0.0.1 / ::1 (kept across runs while valid)
tls_ok() {
  [ -s "$T/ca.crt" ] && [ -s "$T/server.crt" ] && [ -s "$T/server.key" ] && [ -s "$T/server-chain.crt" ] &&
    openssl verify -CAfile "$T/ca.crt" "$T/server.crt" >/dev/null 2>&1 &&
    openssl x509 -checkend 86400 -noout -in "$T/server.crt" >/dev/null 2>&1 &&
    openssl x509 -checkend 86400 -noout -in "$T/ca.crt" >/dev/null 2>&1
}
if ! tls_ok; then
  rm -f "$T"/*
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/ca.key" -out "$T/ca.crt" -days 3650 \
    -subj "/CN=libsmtpclient test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -keyout "$T/server.key" -out "$T/server.csr" -subj "/CN=localhost" 2>/dev/null
  printf '%s\n' 'basicConstraints=critical,CA:FALSE' 'keyUsage=critical,digitalSignature,keyEncipherment' \
    'extendedKeyUsage=serverAuth' 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1' \
    'authorityKeyIdentifier=keyid' 'subjectKeyIdentifier=hash' > "$T/server.ext"
  openssl x509 -req -in "$T/server.csr" -CA "$T/ca.crt" -CAkey "$T/ca.key" -CAcreateserial \
    -out "$T/server.crt" -days 825 -extfile "$T/server.ext" 2>/dev/null
  cat "$T/server.crt" "$T/ca.crt" > "$T/server-chain.crt"
fi
chmod 755 "$T"; chmod 644 "$T"/*.crt; chmod 600 "$T"/*.key
tls_ok || fail "TLS material in $T does not verify"

# Run a daemon with stdin from /dev/null, stdout/stderr into a log file and every other inherited
# descriptor closed, so that no daemon keeps the caller's pipes open: a caller reading our output
# to EOF (`up.sh | tee`, a CI runner, a test harness) would otherwise hang until the daemons exit.
detach() {  # detach LOGFILE CMD...   (call in a subshell; it execs CMD)
  local logf=$1 fd; shift
  exec </dev/null >>"$logf" 2>&1
  for fd in "/proc/$BASHPID/fd/"*; do
    fd=${fd##*/}
    [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null
  done
  exec "$@"
}
wait_for() {  # wait_for SECONDS DESCRIPTION TEST-COMMAND...
  local secs=$1 what=$2 i; shift 2
  for ((i = 0; i < secs * 10; i++)); do "$@" && return 0; sleep 0.1; done
  fail "$what not ready after $secs s"
}
sock_ready() { [ -S "$1" ]; }
pidfile_ready() { [ -s "$1" ] && alive "$(tr -d ' \n' < "$1")"; }

# ------------------------------------------------------------------------------------ Dovecot
# LMTP + the SASL socket Postfix authenticates against.
# users: name:{PLAIN}password:uid:gid:gecos:home:shell:extra (plaintext so CRAM-MD5/SCRAM work);
# 'full' has a 1-byte quota, so LMTP rejects mail for it after DATA (per-recipient 552).
cat > "$D/users" <<'USERS'
alice:{PLAIN}alice-pass::::::
bob:{PLAIN}bob-pass::::::
full:{PLAIN}full-pass::::::userdb_quota_rule=*:storage=1B
utf8:{PLAIN}pässwörd ✓::::::
USERS
chown root:dovecot "$D/users"; chmod 640 "$D/users"
if [ "$HAVE_V6" = 1 ]; then DC_LISTEN="127.0.0.1, ::1"; else DC_LISTEN="127.0.0.1"; fi
cat > "$D/dovecot.conf" <<CONF
# Dovecot 2.3 for the libsmtpclient test bed: LMTP + auth socket for Postfix; loopback only
instance_name = smtpclient-testbed
hostname = lmtp.example.test
base_dir = $D/run
protocols = lmtp
listen = $DC_LISTEN
log_path = $D/dovecot.log
ssl = no
first_valid_uid = 1
mail_uid = 65534
mail_gid = 65534
mail_location = maildir:$BASE/mail/lmtp/%n
mail_plugins = quota
auth_mechanisms = plain login cram-md5 scram-sha-1 scram-sha-256
auth_username_format = %Ln
disable_plaintext_auth = no
passdb {
  driver = passwd-file
  args = scheme=PLAIN $D/users
}
userdb {
  driver = passwd-file
  args = $D/users
  default_fields = uid=65534 gid=65534 home=$BASE/mail/lmtp/%n
}
plugin {
  quota = maildir:User quota
  quota_rule = *:storage=1G
}
service lmtp {
  unix_listener $D/lmtp.sock {
    mode = 0666
  }
  inet_listener lmtp {
    address = $DC_LISTEN
    port = $LMTP_TCP_PORT
  }
}
service auth {
  unix_listener $D/auth-postfix {
    mode = 0660
    user = postfix
    group = postfix
  }
}
CONF
STARTED=1
( detach "$D/dovecot.stderr" dovecot -c "$D/dovecot.conf" ) || { cat "$D/dovecot.stderr" >&2; fail "dovecot failed to start"; }
wait_for 10 "dovecot (master.pid)" pidfile_ready "$D/run/master.pid"
echo "dovecot $(tr -d ' \n' < "$D/run/master.pid")" >> "$PIDS"
wait_for 10 "dovecot LMTP socket $D/lmtp.sock" sock_ready "$D/lmtp.sock"
wait_for 10 "dovecot auth socket $D/auth-postfix" sock_ready "$D/auth-postfix"

# ------------------------------------------------------------------------------------ Postfix
if [ "$HAVE_V6" = 1 ]; then PF_PROTOCOLS=all; PF_NETWORKS="127.0.0.0/8 [::1]/128"; else PF_PROTOCOLS=ipv4; PF_NETWORKS="127.0.0.0/8"; fi
cat > "$C/main.cf" <<CONF
# private Postfix instance of the libsmtpclient test bed (postfix -c $C)
compatibility_level = 3.6
queue_directory = $P/spool
data_directory = $P/data
mail_owner = postfix
setgid_group = postdrop
# Postfix logs to syslog (absent here) and to stderr only when it is a tty: log to a file instead
maillog_file = $P/maillog
maillog_file_prefixes = $BASE
myhostname = mx.example.test
mydomain = example.test
myorigin = \$myhostname
mydestination =
inet_interfaces = loopback-only
inet_protocols = $PF_PROTOCOLS
mynetworks = $PF_NETWORKS
# never deliver anywhere off this machine
local_transport = error:5.1.1 local delivery disabled
default_transport = discard:relayed mail discarded (test server)
relay_transport = discard:relayed mail discarded (test server)
relayhost =
smtputf8_enable = yes
message_size_limit = $MSG_SIZE_LIMIT
mailbox_size_limit = 0
virtual_mailbox_limit = 0
recipient_delimiter = +
# rcpt @example.test -> Maildir (trailing /) as nobody; unknown users -> 550 5.1.1
virtual_mailbox_domains = example.test
virtual_mailbox_base = $BASE/mail/postfix
virtual_mailbox_maps = texthash:$C/vmailbox
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
transport_maps = texthash:$C/transport
relay_domains = discard.test
# TLS
smtpd_tls_cert_file = $T/server-chain.crt
smtpd_tls_key_file = $T/server.key
smtpd_tls_security_level = may
smtpd_tls_auth_only = no
smtpd_tls_loglevel = 1
smtpd_tls_received_header = yes
# SASL via Dovecot
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = $D/auth-postfix
smtpd_sasl_security_options = noanonymous
smtpd_sasl_tls_security_options = noanonymous
smtpd_sasl_authenticated_header = yes
# restrictions; smtpd_delay_reject=no so a sender reject comes at MAIL FROM, not at RCPT TO
smtpd_delay_reject = no
smtpd_helo_required = no
smtpd_sender_restrictions = check_sender_access texthash:$C/sender_access
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination
smtpd_recipient_restrictions = check_recipient_access texthash:$C/recipient_access
smtpd_end_of_data_restrictions = check_sender_access texthash:$C/eod_sender_access
body_checks = regexp:$C/body_checks
# quick failures, no DNS dependence
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
smtpd_client_connection_rate_limit = 0
smtpd_client_message_rate_limit = 0
smtpd_client_recipient_rate_limit = 0
smtpd_error_sleep_time = 0
smtpd_soft_error_limit = 1000
smtpd_hard_error_limit = 1000
smtpd_junk_command_limit = 1000
smtpd_recipient_limit = 1000
smtpd_timeout = 60s
biff = no
alias_maps =
alias_database =
CONF
cat > "$C/vmailbox" <<'MAP'
alice@example.test  alice/
bob@example.test    bob/
carol@example.test  carol/
MAP
cat > "$C/transport" <<'MAP'
discard.test  discard:discard.test
MAP
cat > "$C/recipient_access" <<'MAP'
reject550@example.test    550 5.1.1 User unknown (forced)
tempfail@example.test     450 4.2.1 Mailbox busy, try later (forced)
MAP
cat > "$C/sender_access" <<'MAP'
reject553@example.test    553 5.7.1 Sender not allowed (forced)
tempfail@example.test     451 4.3.0 Sender temporarily rejected (forced)
MAP
# Postfix 3.7: after an smtpd_end_of_data_restrictions reject the MAIL transaction is NOT reset
# (the next MAIL gets '503 5.5.1 Error: nested MAIL command' unless the client sends RSET);
# body_checks rejects do reset the transaction.
cat > "$C/eod_sender_access" <<'MAP'
reject-after-data@example.test    554 5.7.1 Message rejected after DATA (forced)
tempfail-after-data@example.test  451 4.3.0 Message deferred after DATA (forced)
MAP
cat > "$C/body_checks" <<'MAP'
/^X-REJECT-ME-IN-BODY/   REJECT 5.7.1 body_checks rejected the message (forced)
/^X-TEMPFAIL-ME-IN-BODY/ REJECT 4.7.1 body_checks deferred the message (forced)
MAP
V6_LISTENER=
[ "$HAVE_V6" = 1 ] && V6_LISTENER="[::1]:$PF_PORT       inet n - n - - smtpd"
# every service runs with chroot = n: Debian's default chroot would hide the Dovecot auth socket
cat > "$C/master.cf" <<CONF
# service  type  private unpriv chroot wakeup maxproc command
127.0.0.1:$PF_PORT   inet n - n - - smtpd
$V6_LISTENER
127.0.0.1:$PF_SUB_PORT inet n - n - - smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_security_level=encrypt
  -o smtpd_tls_auth_only=yes
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
127.0.0.1:$PF_MIN_PORT inet n - n - - smtpd
  -o syslog_name=postfix/minimal
  -o smtpd_discard_ehlo_keywords=silent-discard,pipelining,chunking,8bitmime,smtputf8,dsn,enhancedstatuscodes,size,starttls,auth,vrfy,etrn
127.0.0.1:$PF_SMTPS_PORT inet n - n - - smtpd
  -o syslog_name=postfix/smtps
  -o smtpd_tls_wrappermode=yes
  -o smtpd_tls_security_level=encrypt
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
CONF
# `postfix check` creates the queue subdirectories; `postfix -c` needs an absolute directory.
postfix -c "$C" check </dev/null >>"$P/start.log" 2>&1 || fail "postfix check failed (see $P/maillog, $P/start.log)"
( detach "$P/start.log" postfix -c "$C" start ) || fail "postfix start failed (see $P/maillog, $P/start.log)"
wait_for 10 "postfix (master.pid)" pidfile_ready "$P/spool/pid/master.pid"
echo "postfix $(tr -d ' \n' < "$P/spool/pid/master.pid")" >> "$PIDS"

# ------------------------------------------------------------------------------------ smtp-sink
# -u nobody: drop root after bind; 256 = listen backlog. setsid: own session, so a terminal's
# Ctrl-C aimed at the caller does not reach it (the other daemons put themselves in one too).
# shellcheck disable=SC2086  # SINK_OPTS is a list of switches
( detach "$BASE/smtp-sink.log" setsid smtp-sink -u nobody $SINK_OPTS "127.0.0.1:$SINK_PORT" 256 ) &
SINK_PID=$!
echo "smtp-sink $SINK_PID" >> "$PIDS"
echo "$SINK_PID" > "$BASE/smtp-sink.pid"

# ------------------------------------------------------------------------------------ readiness
port_up() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
for port in "$PF_PORT" "$PF_SUB_PORT" "$PF_MIN_PORT" "$PF_SMTPS_PORT" "$LMTP_TCP_PORT" "$SINK_PORT"; do
  wait_for 10 "127.0.0.1:$port" port_up 127.0.0.1 "$port"
done
if [ "$HAVE_V6" = 1 ]; then
  for port in "$PF_PORT" "$LMTP_TCP_PORT"; do wait_for 10 "[::1]:$port" port_up ::1 "$port"; done
fi
ours smtp-sink "$SINK_PID" || fail "smtp-sink (pid $SINK_PID) is not running (see $BASE/smtp-sink.log)"

SMTP_HOST6_VALUE=
[ "$HAVE_V6" = 1 ] && SMTP_HOST6_VALUE=::1
cat > "$ENVF.tmp" <<ENV
SMTPENV_DIR=$BASE
SMTP_HOST=127.0.0.1
SMTP_HOST6=$SMTP_HOST6_VALUE
SMTP_PORT=$PF_PORT
SMTP_SUBMISSION_PORT=$PF_SUB_PORT
SMTP_MINIMAL_PORT=$PF_MIN_PORT
SMTP_SMTPS_PORT=$PF_SMTPS_PORT
SMTP_SINK_PORT=$SINK_PORT
LMTP_PORT=$LMTP_TCP_PORT
LMTP_SOCKET=$D/lmtp.sock
SMTP_CA_FILE=$T/ca.crt
SMTP_USER=alice
SMTP_PASS=alice-pass
MSG_SIZE_LIMIT=$MSG_SIZE_LIMIT
POSTFIX_MAILDIR=$BASE/mail/postfix
LMTP_MAILDIR=$BASE/mail/lmtp
POSTFIX_LOG=$P/maillog
DOVECOT_LOG=$D/dovecot.log
ENV
mv -f "$ENVF.tmp" "$ENVF"
chmod 644 "$ENVF" "$PIDS"
STARTED=0
trap - EXIT INT TERM
log "up: $(tr '\n' ' ' < "$PIDS" | sed 's/ $//')  (env: $ENVF)"
