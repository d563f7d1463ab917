#!/usr/bin/env bash
# bench/sessions.sh: memory per idle SMTP session, postern and Postfix side
# by side, on loopback only.
#
# Each server gets SESSIONS connections (bench/idle_sessions.py), each taken
# to the state after EHLO (greeting read, EHLO answered 250) and then left
# idle, as a client between two messages or a slow client is. We read the
# server's memory before the connections and once they are all idle:
#
# - postern: the resident set (VmRSS) of its one process;
# - Postfix: the proportional set (Pss, which shares each shared page out
#   among the processes that map it) summed over the master and all its
#   children, since Postfix serves each session in a process of its own.
#
# The figure is (after - before) / sessions. Postfix runs with fewer
# sessions (POSTFIX_SESSIONS, 200 by default) because each costs a
# process; its per-session figure does not depend on the count.
#
# Usage:
#   bench/sessions.sh [--quick] [--only postern|postfix]
#
#   --quick          1000 postern sessions, 50 Postfix ones
#   --only SERVER    measure one server only
#
# Environment:
#   SESSIONS=10000          postern's idle sessions
#   POSTFIX_SESSIONS=200    Postfix's idle sessions (its process limit is
#                           raised to match)
#   POSTERN_BIN=target/release/postern
#   KEEP=1                  keep the scratch directory
#
# Needs: root (a private Postfix's master runs as root), the `postfix`
# package, python3, bash, awk. The open-files limit must allow SESSIONS
# descriptors in one process (ulimit -n).
#
# Exit status: 0 on success, 2 when something needed is missing, 1 on any
# other failure.

set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SESSIONS="${SESSIONS:-10000}"
POSTFIX_SESSIONS="${POSTFIX_SESSIONS:-200}"
SERVERS=(postern postfix)

POSTERN_ADDR=127.0.0.1
POSTERN_PORT=2527
POSTFIX_ADDR=127.0.0.1
POSTFIX_PORT=2627
# The client ends are spread over 127.0.1.1 .. 127.0.1.250, so that no
# source address runs out of ephemeral ports.
SOURCE_PREFIX=127.0.1.

STARTUP_WAIT_SECONDS=30
READY_WAIT_SECONDS=300
SETTLE_SECONDS=2            # after the last EHLO, before reading memory

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
POSTERN_BIN="${POSTERN_BIN:-$REPO_ROOT/target/release/postern}"
CLIENT="$REPO_ROOT/bench/idle_sessions.py"

while (($# > 0)); do
    case "$1" in
        --quick)
            SESSIONS=1000
            POSTFIX_SESSIONS=50
            ;;
        --only)
            [[ $# -ge 2 ]] || { echo "sessions.sh: --only needs postern or postfix" >&2; exit 2; }
            case "$2" in
                postern | postfix) SERVERS=("$2") ;;
                *) echo "sessions.sh: --only takes postern or postfix, not '$2'" >&2; exit 2 ;;
            esac
            shift
            ;;
        -h | --help)
            usage
            exit 0
            ;;
        *)
            echo "sessions.sh: unknown argument '$1' (try --help)" >&2
            exit 2
            ;;
    esac
    shift
done

require_positive_integers SESSIONS POSTFIX_SESSIONS

POSTFIX="$(find_tool postfix)"
POSTCONF="$(find_tool postconf)"

if wants postfix && [[ -z "$POSTFIX" || -z "$POSTCONF" ]]; then
    cat >&2 <<'EOF'
sessions.sh: Postfix (postfix, postconf) is needed but not installed. Install it with:
    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y postfix
EOF
    exit 2
fi
if wants postfix && [[ "$EUID" -ne 0 ]]; then
    echo "sessions.sh: starting a private Postfix needs root (its master runs as root)." >&2
    exit 2
fi
if wants postern && [[ ! -x "$POSTERN_BIN" ]]; then
    cat >&2 <<EOF
sessions.sh: no postern binary at $POSTERN_BIN
Build it with:
    cargo build --release -p postern
or point POSTERN_BIN at one.
EOF
    exit 2
fi
limit="$(ulimit -n)"
if [[ "$limit" != unlimited ]] && ((limit < SESSIONS + 100)); then
    echo "sessions.sh: the open-files limit ($limit) is below SESSIONS + 100; raise it (ulimit -n) or lower SESSIONS." >&2
    exit 2
fi

dir="$(mktemp -d /tmp/postern-sessions.XXXXXX)"
chmod 755 "$dir" # Postfix's daemons walk down into its queue below here

postern_pid=""
client_pid=""
postfix_etc="$dir/postfix/etc"
postfix_started=""

stop_client() {
    [[ -n "$client_pid" ]] || return 0
    exec 9>&- || true
    kill "$client_pid" 2>/dev/null || true
    wait "$client_pid" 2>/dev/null || true
    client_pid=""
}

stop_postern() {
    [[ -n "$postern_pid" ]] || return 0
    kill -TERM "$postern_pid" 2>/dev/null || true
    wait "$postern_pid" 2>/dev/null || true
    postern_pid=""
}

stop_postfix() {
    [[ -n "$postfix_started" ]] || return 0
    "$POSTFIX" -c "$postfix_etc" stop >/dev/null 2>&1 || true
    postfix_started=""
}

cleanup() {
    local status=$?
    stop_client
    stop_postern
    stop_postfix
    leave_scratch "$status"
}
on_exit cleanup

# Opens COUNT idle sessions to ADDR:PORT and waits until all are idle after
# EHLO. The client holds them until its stdin (fd 9 here) closes.
open_sessions() { # open_sessions NAME ADDR PORT COUNT
    local out="$dir/client.$1.out" fifo="$dir/client.$1.hold" waited=0
    mkfifo "$fifo"
    python3 "$CLIENT" "$2" "$3" "$4" "$SOURCE_PREFIX" <"$fifo" >"$out" 2>&1 &
    client_pid=$!
    exec 9>"$fifo"
    until grep -q '^ready\|^failed' "$out" 2>/dev/null; do
        if ((waited >= READY_WAIT_SECONDS * 10)); then
            echo "sessions.sh: $4 sessions to $1 not idle after ${READY_WAIT_SECONDS}s" >&2
            exit 1
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
    if grep -q '^failed' "$out"; then
        echo "sessions.sh: the client could not open $4 sessions to $1: $(cat "$out")" >&2
        exit 1
    fi
    sleep "$SETTLE_SECONDS"
}

rss_kib() { # rss_kib PID
    awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

# The Pss of PID and all its descendants, in KiB.
tree_pss_kib() { # tree_pss_kib PID
    local pids total=0 pid pss
    pids="$1 $(pgrep -P "$1" | tr '\n' ' ')"
    for pid in $pids; do
        pss="$(awk '/^Pss:/ { print $2 }' "/proc/$pid/smaps_rollup" 2>/dev/null || echo 0)"
        total=$((total + ${pss:-0}))
    done
    echo "$total"
}

results=()

measure_postern() {
    mkdir -p "$dir/postern/data"
    cat >"$dir/postern/postern.toml" <<EOF
[server]
hostname = "bench.test"
data_dir = "data"
run_as_root = true

[[service]]
name = "mx"
kind = "smtp"
listen = "$POSTERN_ADDR:$POSTERN_PORT"
max_connections = $((SESSIONS + 10))
max_connections_per_host = $((SESSIONS + 10))

[[domain]]
name = "bench.test"
users = ["user"]
EOF
    "$POSTERN_BIN" run --config "$dir/postern/postern.toml" >"$dir/postern/log" 2>&1 &
    postern_pid=$!
    wait_for_listener postern "$POSTERN_ADDR" "$POSTERN_PORT" "$dir/postern/log"
    sleep "$SETTLE_SECONDS"
    local before after
    before="$(rss_kib "$postern_pid")"
    open_sessions postern "$POSTERN_ADDR" "$POSTERN_PORT" "$SESSIONS"
    after="$(rss_kib "$postern_pid")"
    results+=("postern $SESSIONS $before $after")
    stop_client
    stop_postern
}

measure_postfix() {
    local base="$dir/postfix"
    mkdir -p "$postfix_etc" "$base/queue" "$base/data"
    chown postfix "$base/data"
    cp /etc/postfix/master.cf "$postfix_etc/master.cf"
    : >"$postfix_etc/main.cf"
    local pc=("$POSTCONF" -c "$postfix_etc")
    "${pc[@]}" -F '*/*/chroot = n'
    "${pc[@]}" -MX smtp/inet
    "${pc[@]}" -M "$POSTFIX_ADDR:$POSTFIX_PORT/inet = $POSTFIX_ADDR:$POSTFIX_PORT inet n - n - $((POSTFIX_SESSIONS + 10)) smtpd"
    "${pc[@]}" -e \
        "compatibility_level = 3.6" \
        "queue_directory = $base/queue" \
        "data_directory = $base/data" \
        "maillog_file = $base/maillog" \
        "maillog_file_prefixes = $base" \
        "myhostname = postfix.bench.test" \
        "inet_interfaces = $POSTFIX_ADDR" \
        "inet_protocols = ipv4" \
        "mynetworks = 127.0.0.0/8" \
        "smtpd_client_connection_count_limit = 0" \
        "smtpd_client_connection_rate_limit = 0" \
        "mydestination =" \
        "alias_maps =" \
        "alias_database ="
    if ! "$POSTFIX" -c "$postfix_etc" start >"$base/start.log" 2>&1; then
        echo "sessions.sh: the private Postfix did not start:" >&2
        cat "$base/start.log" >&2
        exit 1
    fi
    postfix_started=1
    wait_for_listener postfix "$POSTFIX_ADDR" "$POSTFIX_PORT" "$base/maillog"
    sleep "$SETTLE_SECONDS"
    local master before after
    master="$(tr -d ' \n' <"$base/queue/pid/master.pid")"
    before="$(tree_pss_kib "$master")"
    open_sessions postfix "$POSTFIX_ADDR" "$POSTFIX_PORT" "$POSTFIX_SESSIONS"
    after="$(tree_pss_kib "$master")"
    results+=("postfix $POSTFIX_SESSIONS $before $after")
    stop_client
    stop_postfix
}

wants postern && measure_postern
wants postfix && measure_postfix

echo
echo "Memory per idle SMTP session (after EHLO), loopback:"
printf '  %-8s %9s %14s %14s %14s\n' server sessions "before (KiB)" "after (KiB)" "per session"
postern_each="" postfix_each=""
for line in "${results[@]}"; do
    read -r server count before after <<<"$line"
    each=$(((after - before) * 1024 / count))
    printf '  %-8s %9d %14d %14d %11.1f KiB\n' "$server" "$count" "$before" "$after" \
        "$(awk -v b="$each" 'BEGIN { print b / 1024 }')"
    case "$server" in
        postern) postern_each=$each ;;
        postfix) postfix_each=$each ;;
    esac
done
if [[ -n "$postern_each" && -n "$postfix_each" && "$postern_each" -gt 0 ]]; then
    awk -v a="$postfix_each" -v b="$postern_each" \
        'BEGIN { printf "  Postfix needs %.1fx the memory per session\n", a / b }'
fi
echo "  (postern: VmRSS of its process; Postfix: Pss summed over master and children)"
