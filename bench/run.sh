#!/usr/bin/env bash
# bench/run.sh: the client benchmark behind `make bench` (not part of the tests).
#
# Measures libsmtpclient (a C program using the installed library through pkg-config) beside
# Postfix's smtp-source, Python's smtplib and libcurl, all in the same run, each against two
# sinks on loopback: Postfix's smtp-sink and bench/discard_sink.c (PIPELINING + CHUNKING, reads
# and discards with large buffers, so it is not the bottleneck). Clients alternate within each
# repetition; the report takes medians.
#
#   small messages, one connection          msgs/s, unpinned and with client + sinks on one CPU
#   small messages, 4 connections (threads) msgs/s, unpinned
#   one 100 MB message from memory          MB/s, beside raw socket writes of the same bytes
#   one 1 GB message streamed               MB/s and peak RSS (smtp_sendmail_stream)
#   client-side profile                     instructions and system calls per message
#
# Writes bench/results.md, bench/results.png, bench/results.tsv and the table in bench/README.md.
#
# Environment (defaults in brackets):
#   BENCH_REPEAT [3]  BENCH_SMALL [20000] messages per small run  BENCH_BIG_MB [100]
#   BENCH_STREAM_MB [1000]  BENCH_CPU [the least busy CPU at the start] the CPU for pinned runs
#   BENCH_SINK_PORT [2727] smtp-sink  BENCH_DISCARD_PORT [2728] discard sink
#   BENCH_PROFILE [1] run the valgrind/strace profile (skipped when either is missing)
#   BENCH_NO_INSTALL [unset] never call apt-get / pip: fail if something is missing
#   BENCH_KEEP [unset] keep the scratch directory (build, logs, raw output)
#   BENCH_CFLAGS [unset] extra flags for compiling the C programs
#   BENCH_WAIT_IDLE [0] wait up to this many seconds for an idle machine before measuring
#   BENCH_RETRIES [2] runs again a run that other work on the machine disturbed, this many times at
#     most, while the re-runs have taken less than BENCH_RETRY_BUDGET [120] seconds in all
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
H=127.0.0.1
REPEAT=${BENCH_REPEAT:-3}
SMALL=${BENCH_SMALL:-20000}
BIG_MB=${BENCH_BIG_MB:-100}
STREAM_MB=${BENCH_STREAM_MB:-1000}
NCPU=$(nproc)
CPU=${BENCH_CPU:-}
SINK_PORT=${BENCH_SINK_PORT:-2727}
DISCARD_PORT=${BENCH_DISCARD_PORT:-2728}
PROFILE=${BENCH_PROFILE:-1}
CASE_TIMEOUT=300

log() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ------------------------------------------------------------------------ tools

APT_UPDATED=
apt_install() {
    [ -n "${BENCH_NO_INSTALL:-}" ] && die "missing: $* (BENCH_NO_INSTALL is set)"
    command -v apt-get >/dev/null || die "missing $* and no apt-get to install it"
    if [ -z "$APT_UPDATED" ]; then
        log "apt-get update"
        apt-get update -qq >&2
        APT_UPDATED=1
    fi
    log "apt-get install $*"
    # "No configuration": installing postfix must not start a mail server on port 25
    echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections 2>/dev/null || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

need_tools() {
    local pkgs=()
    [ -x /usr/sbin/smtp-sink ] && [ -x /usr/sbin/smtp-source ] || pkgs+=(postfix)
    command -v gcc >/dev/null || pkgs+=(gcc libc6-dev)
    command -v pkg-config >/dev/null || pkgs+=(pkg-config)
    command -v taskset >/dev/null || pkgs+=(util-linux)
    pkg-config --exists libcurl 2>/dev/null || pkgs+=(libcurl4-openssl-dev)
    command -v python3 >/dev/null || pkgs+=(python3)
    if [ "$PROFILE" = 1 ]; then
        command -v valgrind >/dev/null || pkgs+=(valgrind)
        command -v strace >/dev/null || pkgs+=(strace)
    fi
    [ ${#pkgs[@]} -eq 0 ] || apt_install "${pkgs[@]}"

    # the report needs matplotlib: the python3 on PATH, else Debian's, else install it
    REPORT_PY=
    for py in python3 /usr/bin/python3; do
        if command -v "$py" >/dev/null && "$py" -c 'import matplotlib' 2>/dev/null; then REPORT_PY=$py; break; fi
    done
    if [ -z "$REPORT_PY" ]; then
        if [ -x /usr/bin/python3 ] && [ -z "${BENCH_NO_INSTALL:-}" ] && command -v apt-get >/dev/null; then
            apt_install python3-matplotlib
            REPORT_PY=/usr/bin/python3
        elif [ -z "${BENCH_NO_INSTALL:-}" ]; then
            log "pip install matplotlib"
            python3 -m pip install -q matplotlib >&2
            REPORT_PY=python3
        fi
        "$REPORT_PY" -c 'import matplotlib' 2>/dev/null || die "matplotlib is not available"
    fi
}

# ------------------------------------------------------------------------ build

build() {
    log "building the library (make) and installing it into $SCRATCH/prefix"
    make -C "$ROOT" >"$SCRATCH/make.log" 2>&1 || { tail -30 "$SCRATCH/make.log" >&2; die "make failed"; }
    make -C "$ROOT" install PREFIX="$SCRATCH/prefix" >>"$SCRATCH/make.log" 2>&1 \
        || { tail -30 "$SCRATCH/make.log" >&2; die "make install failed"; }
    export PKG_CONFIG_PATH="$SCRATCH/prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
    local cflags=(-O2 -g -Wall -Wextra)
    # shellcheck disable=SC2206
    [ -n "${BENCH_CFLAGS:-}" ] && cflags+=($BENCH_CFLAGS)
    local libdir
    libdir=$(pkg-config --variable=libdir smtpclient)
    log "building the clients and the discard sink"
    mkdir -p "$SCRATCH/bin"
    # shellcheck disable=SC2046
    gcc "${cflags[@]}" -o "$SCRATCH/bin/client" "$BENCH/client.c" \
        $(pkg-config --cflags --libs smtpclient) -Wl,-rpath,"$libdir" -pthread
    # shellcheck disable=SC2046
    gcc "${cflags[@]}" -o "$SCRATCH/bin/curl_client" "$BENCH/curl_client.c" $(pkg-config --cflags --libs libcurl) -pthread
    gcc "${cflags[@]}" -o "$SCRATCH/bin/raw_client" "$BENCH/raw_client.c"
    gcc "${cflags[@]}" -o "$SCRATCH/bin/discard_sink" "$BENCH/discard_sink.c" -pthread
}

# ------------------------------------------------------------------------ sinks

SINK_PID=
DISCARD_PID=
stop_sinks() {
    local pid
    for pid in $SINK_PID $DISCARD_PID; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    SINK_PID=
    DISCARD_PID=
}

# shellcheck disable=SC2317  # run by the EXIT trap
cleanup() {
    stop_sinks
    if [ -n "${SCRATCH:-}" ] && [ -d "$SCRATCH" ]; then
        if [ -n "${BENCH_KEEP:-}" ]; then log "kept $SCRATCH"; else rm -rf "$SCRATCH"; fi
    fi
}

port_busy() { (exec 3<>"/dev/tcp/$H/$1") 2>/dev/null; }

wait_port() {
    local _
    for _ in $(seq 100); do
        port_busy "$1" && return 0
        sleep 0.05
    done
    die "nothing listens on $H:$1"
}

start_sinks() {
    port_busy "$SINK_PORT" && die "$H:$SINK_PORT is in use (set BENCH_SINK_PORT)"
    port_busy "$DISCARD_PORT" && die "$H:$DISCARD_PORT is in use (set BENCH_DISCARD_PORT)"
    local user=()
    [ "$(id -u)" = 0 ] && user=(-u nobody)
    /usr/sbin/smtp-sink "${user[@]}" "$H:$SINK_PORT" 256 >"$SCRATCH/smtp-sink.log" 2>&1 &
    SINK_PID=$!
    "$SCRATCH/bin/discard_sink" "$DISCARD_PORT" 3600 >"$SCRATCH/discard_sink.log" 2>&1 &
    DISCARD_PID=$!
    wait_port "$SINK_PORT"
    wait_port "$DISCARD_PORT"
    log "smtp-sink pid $SINK_PID on $H:$SINK_PORT, discard sink pid $DISCARD_PID on $H:$DISCARD_PORT"
}

# pin_sinks pinned|unpinned: move both sinks (every thread) onto CPU $CPU, or onto all CPUs
pin_sinks() {
    local cpus=0-$((NCPU - 1))
    [ "$1" = pinned ] && cpus=$CPU
    taskset -apc "$cpus" "$SINK_PID" >/dev/null
    taskset -apc "$cpus" "$DISCARD_PID" >/dev/null
}

# ------------------------------------------------------------------------ cases

# client_cmd CLIENT TEST PORT: the command line for one client in one test
client_cmd() {
    local client=$1 test=$2 port=$3 bin=$SCRATCH/bin
    local big_bytes=$((BIG_MB * 1000000))
    case $client/$test in
        smtp-source/small1) echo python3 "$BENCH/timed.py" "$SMALL" 0 /usr/sbin/smtp-source -d -m "$SMALL" -s 1 "$H:$port" ;;
        smtp-source/small4) echo python3 "$BENCH/timed.py" "$SMALL" 0 /usr/sbin/smtp-source -d -m "$SMALL" -s 4 "$H:$port" ;;
        smtp-source/big) echo python3 "$BENCH/timed.py" 1 "$big_bytes" /usr/sbin/smtp-source -l "$big_bytes" "$H:$port" ;;
        smtplib/small1) echo python3 "$BENCH/smtplib_client.py" "$H" "$port" small "$SMALL" 1 ;;
        smtplib/small4) echo python3 "$BENCH/smtplib_client.py" "$H" "$port" small "$SMALL" 4 ;;
        smtplib/big) echo python3 "$BENCH/smtplib_client.py" "$H" "$port" big "$BIG_MB" 1 ;;
        curl/small1) echo "$bin/curl_client" "$H" "$port" small "$SMALL" 1 ;;
        curl/small4) echo "$bin/curl_client" "$H" "$port" small "$SMALL" 4 ;;
        curl/big) echo "$bin/curl_client" "$H" "$port" big "$BIG_MB" 1 ;;
        lib-pipe/small1) echo "$bin/client" "$H" "$port" small "$SMALL" 1 0 1 ;;
        lib-pipe/small4) echo "$bin/client" "$H" "$port" small "$SMALL" 1 0 4 ;;
        lib-pipe/big) echo "$bin/client" "$H" "$port" big "$BIG_MB" 1 0 1 ;;
        lib-pipe/stream) echo "$bin/client" "$H" "$port" stream "$STREAM_MB" 1 0 1 ;;
        lib-nopipe/small1) echo "$bin/client" "$H" "$port" small "$SMALL" 0 0 1 ;;
        lib-nopipe/small4) echo "$bin/client" "$H" "$port" small "$SMALL" 0 0 4 ;;
        lib-bdat/small1) echo "$bin/client" "$H" "$port" small "$SMALL" 1 1 1 ;;
        lib-bdat/small4) echo "$bin/client" "$H" "$port" small "$SMALL" 1 1 4 ;;
        lib-bdat/big) echo "$bin/client" "$H" "$port" big "$BIG_MB" 1 1 1 ;;
        lib-bdat/stream) echo "$bin/client" "$H" "$port" stream "$STREAM_MB" 1 1 1 ;;
        raw-data/big) echo "$bin/raw_client" "$H" "$port" "$BIG_MB" data ;;
        raw-bdat/big) echo "$bin/raw_client" "$H" "$port" "$BIG_MB" bdat ;;
        *) die "no command for $client/$test" ;;
    esac
}

CLK_TCK=$(getconf CLK_TCK)
# utime + stime of a process, all threads, dead ones included (clock ticks)
proc_cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# run_case REP PIN SINK TEST CLIENT: run one case, append a line to results.tsv per attempt.
# Each line carries other=F: the share of the machine's CPU time that went to work other than
# this client and this sink while it ran. A run that other work disturbed (F > OTHER_MAX, over
# a window long enough to tell) is run again, at most RETRIES more times, while the re-runs have
# taken less than RETRY_BUDGET seconds in all; the report keeps the least disturbed attempt.
OTHER_MAX=0.15
RETRIES=${BENCH_RETRIES:-2}
RETRY_BUDGET=${BENCH_RETRY_BUDGET:-120}
RETRY_SPENT=0
run_case() {
    local rep=$1 pin=$2 sink=$3 test=$4 client=$5 port cmd out line attempt
    if [ "$sink" = smtp-sink ]; then port=$SINK_PORT; else port=$DISCARD_PORT; fi
    read -r -a cmd <<<"$(client_cmd "$client" "$test" "$port")"
    [ "$pin" = pinned ] && cmd=(taskset -c "$CPU" "${cmd[@]}")
    local sink_pid=$DISCARD_PID cpu0 cpu1 stat0 stat1 other
    [ "$sink" = smtp-sink ] && sink_pid=$SINK_PID
    local t_start
    for attempt in $(seq 0 "$RETRIES"); do
        t_start=$EPOCHREALTIME
        stat0=$(cpu_ticks)
        cpu0=$(proc_cpu_ticks "$sink_pid")
        if out=$(timeout "$CASE_TIMEOUT" "${cmd[@]}" 2>>"$SCRATCH/clients.err"); then
            line=$(grep '^RESULT ' <<<"$out" | tail -n 1)
        else
            line=
        fi
        cpu1=$(proc_cpu_ticks "$sink_pid")
        stat1=$(cpu_ticks)
        if [ -z "$line" ]; then
            log "FAILED: $test $client -> $sink ($pin), see clients.err"
            printf '%s\t%s\t%s\t%s\t%s\tFAILED\n' "$rep" "$pin" "$sink" "$test" "$client" >>"$TSV"
            return 0
        fi
        # the sink's own CPU time during the run (user + system, all threads), then the share of
        # all CPU time that was neither the client's nor the sink's ("" when the window is too short)
        line="$line sink_cpu=$(awk -v a="$cpu0" -v b="$cpu1" -v t="$CLK_TCK" 'BEGIN{printf "%.3f", (b-a)/t}')"
        other=$(awk -v s0="$stat0" -v s1="$stat1" -v l="$line" -v t="$CLK_TCK" 'BEGIN{
            split(s0, a, " "); split(s1, b, " "); n = split(l, kv, " "); ours = 0
            for (i = 1; i <= n; i++) { split(kv[i], p, "="); if (p[1] == "cpu" || p[1] == "sink_cpu") ours += p[2] * t }
            total = b[2] - a[2]; o = (b[1] - a[1] - ours) / total
            if (total >= 50) printf "%.2f", (o < 0 ? 0 : o) }')
        [ -n "$other" ] && line="$line other=$other"
        printf '%s\t%s\t%s\t%s\t%s\t%s attempt=%s\n' "$rep" "$pin" "$sink" "$test" "$client" "${line#RESULT }" "$attempt" >>"$TSV"
        printf '  %-8s %-9s %-12s %-10s %s\n' "$test" "$pin" "$sink" "$client" "${line#RESULT }" >&2
        [ "$attempt" -gt 0 ] &&
            RETRY_SPENT=$(awk -v s="$RETRY_SPENT" -v a="$t_start" -v b="$EPOCHREALTIME" 'BEGIN{print s + b - a}')
        if [ -z "$other" ] || awk -v o="$other" -v m="$OTHER_MAX" 'BEGIN{exit !(o <= m)}' \
            || awk -v s="$RETRY_SPENT" -v b="$RETRY_BUDGET" 'BEGIN{exit !(s >= b)}'; then
            break
        fi
        log "  other work took $other of the machine during that run: again"
    done
}

SMALL_CLIENTS=(smtp-source smtplib curl lib-nopipe lib-pipe lib-bdat)
BIG_CLIENTS=(raw-data raw-bdat smtp-source smtplib curl lib-pipe lib-bdat)
STREAM_CLIENTS=(lib-pipe lib-bdat)

# clients that apply to a sink: smtp-sink has no CHUNKING, so BDAT cases run on the discard sink only
applies() {
    local client=$1 sink=$2
    [ "$sink" = smtp-sink ] && [[ $client == *bdat ]] && return 1
    return 0
}

# rotate N WORDS...: the words rotated left by N, so no client always runs first or last
rotate() {
    local n=$1
    shift
    local words=("$@")
    n=$((n % ${#words[@]}))
    echo "${words[@]:n}" "${words[@]:0:n}"
}

run_all() {
    local rep pin sink test client clients
    for rep in $(seq "$REPEAT"); do
        log "repetition $rep of $REPEAT"
        for pin in unpinned pinned; do
            pin_sinks "$pin"
            # 4 connections only unpinned: on one CPU they could not run in parallel
            for test in small1 small4; do
                [ "$pin" = pinned ] && [ "$test" = small4 ] && continue
                for sink in smtp-sink discard; do
                    read -r -a clients <<<"$(rotate $((rep - 1)) "${SMALL_CLIENTS[@]}")"
                    for client in "${clients[@]}"; do
                        if applies "$client" "$sink"; then run_case "$rep" "$pin" "$sink" "$test" "$client"; fi
                    done
                done
            done
        done
        pin_sinks unpinned
        for sink in smtp-sink discard; do
            read -r -a clients <<<"$(rotate $((rep - 1)) "${BIG_CLIENTS[@]}")"
            for client in "${clients[@]}"; do
                if applies "$client" "$sink"; then run_case "$rep" unpinned "$sink" big "$client"; fi
            done
            for client in "${STREAM_CLIENTS[@]}"; do
                if applies "$client" "$sink"; then run_case "$rep" unpinned "$sink" stream "$client"; fi
            done
        done
    done
}

# ------------------------------------------------------------------------ profile

# strace -c summary -> "syscall calls" lines, sorted (the errors column may be empty)
strace_calls() { awk '$1 ~ /^[0-9.]+$/ && $NF != "total" {print $NF, $4}' "$1" | sort; }

# Client-side cost per small message, without start-up: (cost of 3N messages - cost of N) / 2N.
# User-space instructions from callgrind; system calls from strace -c.
profile() {
    local n1=1000 n2=3000 client cmd1 cmd2 ir1 ir2 out=$SCRATCH/profile.tsv
    : >"$out"
    for client in smtp-source curl lib-nopipe lib-pipe lib-bdat; do
        local SMALL_SAVED=$SMALL
        SMALL=$n1; read -r -a cmd1 <<<"$(client_cmd "$client" small1 "$DISCARD_PORT")"
        SMALL=$n2; read -r -a cmd2 <<<"$(client_cmd "$client" small1 "$DISCARD_PORT")"
        SMALL=$SMALL_SAVED
        # timed.py is a wrapper: profile the program it runs
        [ "${cmd1[1]:-}" = "$BENCH/timed.py" ] && cmd1=("${cmd1[@]:4}") && cmd2=("${cmd2[@]:4}")
        ir1=$(valgrind --tool=callgrind --callgrind-out-file="$SCRATCH/cg.$client.$n1" "${cmd1[@]}" 2>&1 >/dev/null \
            | sed -n 's/.*I *refs: *//p' | tr -d ,)
        ir2=$(valgrind --tool=callgrind --callgrind-out-file="$SCRATCH/cg.$client.$n2" "${cmd2[@]}" 2>&1 >/dev/null \
            | sed -n 's/.*I *refs: *//p' | tr -d ,)
        strace -f -c -o "$SCRATCH/strace.$client.$n1" "${cmd1[@]}" >/dev/null 2>&1
        strace -f -c -o "$SCRATCH/strace.$client.$n2" "${cmd2[@]}" >/dev/null 2>&1
        printf '%s\tinstructions\t%s\n' "$client" \
            "$(awk -v a="$ir1" -v b="$ir2" -v n=$((n2 - n1)) 'BEGIN{printf "%.0f", (b-a)/n}')" >>"$out"
        # per system call: calls per message
        join -a 2 -e 0 -o 0,1.2,2.2 \
            <(strace_calls "$SCRATCH/strace.$client.$n1") <(strace_calls "$SCRATCH/strace.$client.$n2") \
            | awk -v c="$client" -v n=$((n2 - n1)) '{d=($3-$2)/n; if (d>=0.05) printf "%s\tsyscall:%s\t%.2f\n", c, $1, d}' >>"$out"
        log "profiled $client"
    done
    # where libsmtpclient's own instructions go (pipelined, 3000 messages)
    callgrind_annotate --inclusive=yes "$SCRATCH/cg.lib-pipe.$n2" 2>/dev/null \
        | grep -E '^ *[0-9,]+ ' | head -n 40 >"$SCRATCH/profile-lib-pipe.txt" || true
}

# ------------------------------------------------------------------------ machine noise

# "busy total" ticks of all CPUs from /proc/stat (busy: user nice system irq softirq steal)
cpu_ticks() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat; }

# the CPU with the least busy time over one second
least_busy_cpu() {
    local a b
    a=$(awk '/^cpu[0-9]/{print substr($1,4), $2+$3+$4+$7+$8+$9}' /proc/stat)
    sleep 1
    b=$(awk '/^cpu[0-9]/{print substr($1,4), $2+$3+$4+$7+$8+$9}' /proc/stat)
    join <(sort <<<"$a") <(sort <<<"$b") | awk '{print $3-$2, $1}' | sort -n | head -n 1 | cut -d' ' -f2
}

# With BENCH_WAIT_IDLE=SECONDS, wait up to that long for the machine to be idle (under 10 % busy
# over 2 s) before measuring: other work on a 2-CPU machine moves the figures more than anything.
wait_idle() {
    local limit=${BENCH_WAIT_IDLE:-0} waited=0 a b busy
    [ "$limit" -gt 0 ] || return 0
    while :; do
        a=$(cpu_ticks)
        sleep 2
        b=$(cpu_ticks)
        busy=$(awk -v a="$a" -v b="$b" 'BEGIN{split(a,x," "); split(b,y," "); t=y[2]-x[2]; printf "%d", t ? 100*(y[1]-x[1])/t : 0}')
        [ "$busy" -lt 10 ] && { log "machine idle (${busy} % busy)"; return 0; }
        waited=$((waited + 2))
        if [ "$waited" -ge "$limit" ]; then
            log "machine still ${busy} % busy after ${limit} s: measuring anyway"
            return 0
        fi
        [ $((waited % 30)) -eq 0 ] && log "waiting for an idle machine (${busy} % busy)"
    done
}

# ------------------------------------------------------------------------ main

main() {
    SCRATCH=$(mktemp -d /tmp/smtpclient-bench.XXXXXX)
    trap cleanup EXIT
    trap 'exit 130' INT TERM
    TSV=$SCRATCH/results.tsv
    local t0=$SECONDS
    need_tools
    if [ "$PROFILE" = 1 ] && ! { command -v valgrind >/dev/null && command -v strace >/dev/null; }; then
        log "valgrind or strace missing: no profile"
        PROFILE=0
    fi
    build
    start_sinks
    wait_idle
    [ -n "$CPU" ] || CPU=$(least_busy_cpu)
    local load_start load_end stat0 stat1
    load_start=$(cut -d' ' -f1-3 /proc/loadavg)
    log "load average at start: $load_start; pinned runs on CPU $CPU"
    stat0=$(cpu_ticks)
    run_all
    stat1=$(cpu_ticks)
    load_end=$(cut -d' ' -f1-3 /proc/loadavg)
    if [ "$PROFILE" = 1 ]; then
        log "profiling (callgrind, strace)"
        profile
    fi
    stop_sinks
    cp "$TSV" "$BENCH/results.tsv"
    log "writing bench/results.md, bench/results.png and the table in bench/README.md"
    "$REPORT_PY" "$BENCH/report.py" \
        --tsv "$BENCH/results.tsv" \
        --profile "$SCRATCH/profile.tsv" --profile-functions "$SCRATCH/profile-lib-pipe.txt" \
        --out "$BENCH/results.md" --png "$BENCH/results.png" --readme "$BENCH/README.md" \
        --analysis "$BENCH/analysis.md" \
        --repeat "$REPEAT" --small "$SMALL" --big-mb "$BIG_MB" --stream-mb "$STREAM_MB" --cpu "$CPU" \
        --load-start "$load_start" --load-end "$load_end" --duration $((SECONDS - t0)) \
        --cpu-ticks "$stat0 $stat1" --clk-tck "$CLK_TCK" \
        --curl-version "$(pkg-config --modversion libcurl)" \
        --python-version "$(python3 -c 'import platform; print(platform.python_version())')" \
        --postfix-version "$(dpkg-query -W -f '${Version}' postfix 2>/dev/null || echo unknown)" \
        --library-version "$(pkg-config --modversion smtpclient)" \
        --commit "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet HEAD -- src 2>/dev/null || echo '+changes')"
    log "done in $((SECONDS - t0)) s"
}

main "$@"; exit  # one line: bash has read it all before main runs, so editing this file meanwhile is safe
