#!/usr/bin/env bash
# bench/crash.sh: kill -9 postern again and again under load, then count
# what became of every message it acknowledged, on loopback only.
#
# SESSIONS clients (bench/crash_load.py, python's smtplib, a connection per
# message, 4 KiB each) send to one local mailbox without pause. Every
# message carries a unique X-Crash-Id header, and the client writes down
# the id of each one the server answered 250 after DATA. Meanwhile the
# server is killed with SIGKILL KILLS times, each after a random 0.2 to 1.5
# seconds of load, and started again at once on the same data directory.
# After the last kill the load stops, the server runs until its spool is
# empty, and the Maildir is counted:
#
#   acknowledged   ids answered 250
#   lost           acknowledged ids with no copy in the Maildir (must be 0)
#   duplicated     extra copies: an id found N > 1 times counts N - 1
#                  (must be 0: local delivery is exactly once)
#   unacknowledged delivered
#                  ids never answered 250 (the kill cut the reply) that
#                  were delivered anyway: allowed, since the client could
#                  not know; a client would send such a message again
#
# There is no peer figure: Postfix's answer to the same question is its
# queue manager's design, and this bench checks ours.
#
# Usage:
#   bench/crash.sh [--quick]
#
#   --quick          10 kills (a smoke test)
#
# Environment:
#   KILLS=100        SIGKILLs
#   SESSIONS=20      parallel clients
#   POSTERN_BIN=target/release/postern
#   KEEP=1           keep the scratch directory (config, logs, Maildir)
#
# Needs: python3, bash, awk, sort. Exit status: 0 when nothing acknowledged
# was lost or duplicated, 1 otherwise (or on any failure), 2 when
# something needed is missing.

set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KILLS="${KILLS:-100}"
SESSIONS="${SESSIONS:-20}"
ADDR=127.0.0.1
PORT=2527
RECIPIENT="user@bench.test"
STARTUP_WAIT_SECONDS=20
DRAIN_WAIT_SECONDS=300
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
POSTERN_BIN="${POSTERN_BIN:-$REPO_ROOT/target/release/postern}"

while (($# > 0)); do
    case "$1" in
        --quick) KILLS=10 ;;
        -h | --help)
            usage
            exit 0
            ;;
        *)
            echo "crash.sh: unknown argument '$1' (try --help)" >&2
            exit 2
            ;;
    esac
    shift
done

require_positive_integers KILLS SESSIONS
if [[ ! -x "$POSTERN_BIN" ]]; then
    echo "crash.sh: no postern binary at $POSTERN_BIN; build it with cargo build --release -p postern, or set POSTERN_BIN" >&2
    exit 2
fi
command -v python3 >/dev/null || { echo "crash.sh: python3 is needed" >&2; exit 2; }

if listening "$ADDR" "$PORT"; then
    echo "crash.sh: $ADDR:$PORT is already in use; stop whatever listens there first." >&2
    exit 1
fi

# --- Scratch directory and cleanup ------------------------------------------

dir="$(mktemp -d /tmp/postern-crash.XXXXXX)"
postern_pid=""
load_pid=""

cleanup() {
    local status=$?
    [[ -n "$load_pid" ]] && { touch "$dir/stop"; wait "$load_pid" 2>/dev/null || true; }
    if [[ -n "$postern_pid" ]]; then
        kill -TERM "$postern_pid" 2>/dev/null || true
        wait "$postern_pid" 2>/dev/null || true
    fi
    leave_scratch "$status"
}
on_exit cleanup

cat >"$dir/postern.toml" <<EOF
[server]
hostname = "bench.test"
data_dir = "data"
run_as_root = true

[[service]]
name = "mx"
kind = "smtp"
listen = "$ADDR:$PORT"
max_connections = $((SESSIONS * 2))
max_connections_per_host = $((SESSIONS * 2))

[[domain]]
name = "bench.test"
users = ["user"]
EOF

start_postern() {
    "$POSTERN_BIN" run --config "$dir/postern.toml" >>"$dir/log" 2>&1 &
    postern_pid=$!
    wait_for_listener postern "$ADDR" "$PORT" "$dir/log" "$postern_pid"
}

# Messages still in the spool (queued, not yet delivered or removed; not
# the empty files, blanks made ready for messages to come).
spooled() {
    find "$dir/data/spool/queue" "$dir/data/spool/incoming" -type f -size +0 2>/dev/null | wc -l
}

# --- The run ----------------------------------------------------------------

echo "crash.sh: $KILLS kills under $SESSIONS sessions of load; scratch in $dir"
start_postern
python3 "$REPO_ROOT/bench/crash_load.py" "$ADDR" "$PORT" "$RECIPIENT" "$SESSIONS" \
    "$dir/acked" "$dir/stop" >"$dir/load.out" 2>"$dir/load.err" &
load_pid=$!
started=$SECONDS
for ((kill = 1; kill <= KILLS; kill++)); do
    # 0.2 to 1.5 s of load, then SIGKILL, then a restart at once.
    sleep "$(awk -v r="$RANDOM" 'BEGIN { printf "%.2f", 0.2 + (r % 131) / 100 }')"
    kill -KILL "$postern_pid"
    wait "$postern_pid" 2>/dev/null || true
    start_postern
    if ((kill % 10 == 0)); then
        echo "  $kill kills, $(wc -l <"$dir/acked") acknowledged so far"
    fi
done
touch "$dir/stop"
wait "$load_pid"
load_pid=""
loaded=$((SECONDS - started))

waited=0
while (($(spooled) > 0)); do
    if ((waited >= DRAIN_WAIT_SECONDS * 10)); then
        echo "crash.sh: the spool still holds $(spooled) messages after ${DRAIN_WAIT_SECONDS}s; see $dir/log" >&2
        exit 1
    fi
    sleep 0.1
    waited=$((waited + 1))
done

# --- Counting ---------------------------------------------------------------

maildir="$dir/data/mail/bench.test/user"
# One line per copy: the id in its X-Crash-Id header.
find "$maildir/new" "$maildir/cur" -type f -exec awk '
    /^X-Crash-Id: / { print $2; nextfile }
    /^\r?$/ { nextfile }
' {} + | sort >"$dir/copies"
sort -u "$dir/acked" >"$dir/acked.sorted"
sort -u "$dir/copies" >"$dir/delivered"

acknowledged=$(wc -l <"$dir/acked.sorted")
copies=$(wc -l <"$dir/copies")
lost=$(comm -23 "$dir/acked.sorted" "$dir/delivered" | wc -l)
duplicated=$((copies - $(wc -l <"$dir/delivered")))
unacknowledged=$(comm -13 "$dir/acked.sorted" "$dir/delivered" | wc -l)

echo
echo "postern, $KILLS SIGKILLs in ${loaded}s of load ($SESSIONS sessions, 4 KiB messages, local delivery):"
printf '  %-28s %8s\n' "load client" "$(cat "$dir/load.out")"
printf '  %-28s %8d\n' "acknowledged (250)" "$acknowledged"
printf '  %-28s %8d\n' "copies in the Maildir" "$copies"
printf '  %-28s %8d\n' "lost" "$lost"
printf '  %-28s %8d\n' "duplicated" "$duplicated"
printf '  %-28s %8d\n' "unacknowledged, delivered" "$unacknowledged"

if ((lost > 0 || duplicated > 0)); then
    echo "crash.sh: FAILED: $lost lost, $duplicated duplicated; ids in $dir/acked and $dir/copies" >&2
    exit 1
fi
