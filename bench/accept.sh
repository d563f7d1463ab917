#!/usr/bin/env bash
# bench/accept.sh: SMTP *accept* throughput of postern and Postfix, side by
# side, on loopback only.
#
# Both servers get the same load from Postfix's `smtp-source` (SESSIONS
# parallel sessions, MESSAGES messages of 4 KiB, one recipient each) and we
# time how long it takes until every message has been answered "250" after
# DATA. For Postfix that means the message is in its durable queue (fsynced
# by cleanup); delivery to the Maildir happens afterwards, in the
# background, and is NOT part of the figure. Whatever postern does after its
# 250 is likewise not counted.
#
# Runs alternate (postern, postfix, postern, postfix, ...) for ROUNDS rounds,
# so that slow drifts of the machine hit both servers alike; the figure to
# trust is the ratio of the medians, not any single run (see bench/README.md).
#
# With --relay it measures *relay* throughput end to end instead: every
# message is for relay.test, which both servers must pass on to Postfix's
# smtp-sink on 127.0.0.1:2626 (postern through an exclusive smarthost,
# Postfix through transport_maps), and the clock stops only when the
# server's queue is empty again, that is when the sink has every message.
#
# With --latency it measures the time one message takes instead: Halon's
# smtpping sends PINGS messages of 4 KiB one after another (a connection
# each, WAIT ms apart) and reports, per run, the time from connect to the
# 250 after DATA ("datasent"), its mean and minimum; the figures are the
# medians of the means over the rounds, and the ratio postern/postfix
# (below 1: postern answers sooner).
#
# Usage:
#   bench/accept.sh [--quick] [--relay] [--only postern|postfix]
#
#   --quick          2000 messages, 1 round (a smoke test, not a measurement)
#   --relay          relay to smtp-sink and wait for the queue to drain
#   --latency        time single messages with smtpping (bench/latency.sh)
#   --only SERVER    measure one server only (e.g. to check the Postfix half
#                    before a postern binary exists)
#
# Environment:
#   MESSAGES=20000   messages per run (smtp-source -m)
#   SESSIONS=20      parallel SMTP sessions (smtp-source -s)
#   ROUNDS=3         rounds; each round runs every server once
#   POSTERN_BIN=target/release/postern
#   PINGS=500        messages per --latency run (50 with --quick)
#   WAIT=20          ms between --latency messages
#   KEEP=1           keep the scratch directory (configs, logs, Maildirs);
#                    it is also kept when a run fails
#   TMPDIR=/tmp      where the scratch directory (both servers' queues and
#                    Maildirs) is made: a directory on the file system to
#                    measure, e.g. a journaled ext4 (see the book's
#                    Benchmarks chapter, "The file system under the figures")
#
# Needs: root (to start a private Postfix), the `postfix` package (for
# postfix, postconf and smtp-source), bash, awk. It never touches the
# system Postfix: the private instance has its own config directory, queue
# directory and port, and is stopped with `postfix -c DIR stop` at exit.
#
# Exit status: 0 on success, 2 when something needed is missing, 1 on any
# other failure.

set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# --- Settings ---------------------------------------------------------------

MESSAGES="${MESSAGES:-20000}"
SESSIONS="${SESSIONS:-20}"
ROUNDS="${ROUNDS:-3}"
MESSAGE_BYTES=4096                  # smtp-source -l
SENDER="bench@src.test"             # src.test is discarded by Postfix, so a
                                    # bounce could never clog its queue
RECIPIENT="user@bench.test"
RELAY=""                            # set by --relay
LATENCY=""                          # set by --latency
PINGS="${PINGS:-500}"
WAIT="${WAIT:-20}"
SINK_ADDR=127.0.0.1
SINK_PORT=2626
OUTBOUND_CONNECTIONS=20             # both servers' outbound parallelism

POSTERN_ADDR=127.0.0.1
POSTERN_PORT=2525
POSTFIX_ADDR=127.0.0.1
POSTFIX_PORT=2625

STARTUP_WAIT_SECONDS=30             # how long a server may take to listen
SHUTDOWN_WAIT_SECONDS=30            # how long a server may take to exit

# The repository root, so that the default binary path works from anywhere.
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
POSTERN_BIN="${POSTERN_BIN:-$REPO_ROOT/target/release/postern}"

SERVERS=(postern postfix)           # the order runs alternate in

# --- Command line -----------------------------------------------------------

while (($# > 0)); do
    case "$1" in
        --quick)
            MESSAGES=2000
            PINGS=50
            ROUNDS=1
            ;;
        --latency) LATENCY=1 ;;
        --relay)
            RELAY=1
            RECIPIENT="user@relay.test"
            ;;
        --only)
            [[ $# -ge 2 ]] || { echo "accept.sh: --only needs postern or postfix" >&2; exit 2; }
            case "$2" in
                postern | postfix) SERVERS=("$2") ;;
                *) echo "accept.sh: --only takes postern or postfix, not '$2'" >&2; exit 2 ;;
            esac
            shift
            ;;
        -h | --help)
            usage
            exit 0
            ;;
        *)
            echo "accept.sh: unknown argument '$1' (try --help)" >&2
            exit 2
            ;;
    esac
    shift
done

require_positive_integers MESSAGES SESSIONS ROUNDS PINGS WAIT

# --- Prerequisites ----------------------------------------------------------

SMTP_SOURCE="$(find_tool smtp-source)"
SMTP_SINK="$(find_tool smtp-sink)"
POSTFIX="$(find_tool postfix)"
POSTCONF="$(find_tool postconf)"
SMTPPING="$(find_tool smtpping)"

if [[ -z "$SMTP_SOURCE" ]] || { wants postfix && [[ -z "$POSTFIX" || -z "$POSTCONF" ]]; }; then
    cat >&2 <<'EOF'
accept.sh: Postfix's smtp-source (and postfix, postconf) are needed but not installed.
Install them with:
    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y postfix
(The package does not start the system Postfix here; this script runs its own.)
EOF
    exit 2
fi

if [[ -n "$LATENCY" && -z "$SMTPPING" ]]; then
    cat >&2 <<'EOF'
accept.sh: --latency needs Halon's smtpping. Install it with:
    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y smtpping
EOF
    exit 2
fi

if wants postern && [[ ! -x "$POSTERN_BIN" ]]; then
    cat >&2 <<EOF
accept.sh: no postern binary at $POSTERN_BIN
Build it with:
    cargo build --release -p postern
or point POSTERN_BIN at one.
EOF
    exit 2
fi

if wants postfix && [[ "$EUID" -ne 0 ]]; then
    echo "accept.sh: starting a private Postfix needs root (its master runs as root)." >&2
    exit 2
fi

# Refuse to measure whatever else might already be on our ports.
for server in "${SERVERS[@]}"; do
    case "$server" in
        postern) addr=$POSTERN_ADDR port=$POSTERN_PORT ;;
        postfix) addr=$POSTFIX_ADDR port=$POSTFIX_PORT ;;
    esac
    if listening "$addr" "$port"; then
        echo "accept.sh: $addr:$port is already in use; stop whatever listens there first." >&2
        exit 1
    fi
done

# --- Scratch directory and cleanup ------------------------------------------

dir="$(mktemp -d "${TMPDIR:-/tmp}/postern-bench.XXXXXX")"
# Postfix's daemons drop to user postfix (and deliver as nobody) and must be
# able to walk down into the queue and mail directories below this one;
# mktemp's 0700 makes the master die on "open lock file ... Permission denied".
chmod 755 "$dir"

postern_pid=""
sink_pid=""
postfix_etc="$dir/postfix/etc"
postfix_started=""

stop_postern() {
    [[ -n "$postern_pid" ]] || return 0
    if kill -0 "$postern_pid" 2>/dev/null; then
        kill -TERM "$postern_pid" 2>/dev/null || true
        local waited=0
        while kill -0 "$postern_pid" 2>/dev/null && ((waited < SHUTDOWN_WAIT_SECONDS * 10)); do
            sleep 0.1
            waited=$((waited + 1))
        done
        if kill -0 "$postern_pid" 2>/dev/null; then
            echo "accept.sh: postern (pid $postern_pid) ignored SIGTERM for ${SHUTDOWN_WAIT_SECONDS}s; killing it" >&2
            kill -KILL "$postern_pid" 2>/dev/null || true
        fi
    fi
    wait "$postern_pid" 2>/dev/null || true
    postern_pid=""
}

stop_postfix() {
    [[ -n "$postfix_started" ]] || return 0
    # `postfix stop` signals the private master (found through the pid file
    # in our own queue directory) and returns; wait for the master to go.
    local pidfile="$dir/postfix/queue/pid/master.pid" master_pid=""
    [[ -r "$pidfile" ]] && master_pid="$(tr -d ' \n' <"$pidfile")"
    "$POSTFIX" -c "$postfix_etc" stop >/dev/null 2>&1 || true
    if [[ -n "$master_pid" ]]; then
        local waited=0
        while kill -0 "$master_pid" 2>/dev/null && ((waited < SHUTDOWN_WAIT_SECONDS * 10)); do
            sleep 0.1
            waited=$((waited + 1))
        done
        if kill -0 "$master_pid" 2>/dev/null; then
            echo "accept.sh: private Postfix master (pid $master_pid) did not stop; see $dir/postfix/maillog" >&2
        fi
    fi
    postfix_started=""
}

cleanup() {
    local status=$?
    stop_postern
    stop_postfix
    if [[ -n "$sink_pid" ]]; then
        kill "$sink_pid" 2>/dev/null || true
        wait "$sink_pid" 2>/dev/null || true
    fi
    leave_scratch "$status"
}
on_exit cleanup

# --- postern ----------------------------------------------------------------

start_postern() {
    mkdir -p "$dir/postern"
    local relay_line=""
    if [[ -n "$RELAY" ]]; then relay_line='relay = "any"'; fi
    # data_dir is relative to the config file's directory.
    cat >"$dir/postern/postern.toml" <<EOF
[server]
hostname = "bench.test"
data_dir = "data"
# The bench runs as root, as the servers it is compared with start.
run_as_root = true

[[service]]
name = "mx"
kind = "smtp"
listen = "$POSTERN_ADDR:$POSTERN_PORT"
max_message_size = "25 MiB"
# Every session comes from one host; the default quota (20, 5 per host)
# would turn most of them away. Postfix allows 50 per client by default.
# Twice the sessions: smtp-source reconnects as soon as it has read 221,
# a moment before this side has seen the old connection close.
max_connections = $((SESSIONS * 2))
max_connections_per_host = $((SESSIONS * 2))
$relay_line

[[domain]]
name = "bench.test"
users = ["user"]
EOF
    if [[ -n "$RELAY" ]]; then
        cat >>"$dir/postern/postern.toml" <<EOF

[outbound]
max_connections = $OUTBOUND_CONNECTIONS
max_connections_per_destination = $OUTBOUND_CONNECTIONS

[outbound.smarthost]
host = "$SINK_ADDR:$SINK_PORT"
mode = "exclusive"
EOF
    fi
    "$POSTERN_BIN" run --config "$dir/postern/postern.toml" >"$dir/postern/log" 2>&1 &
    postern_pid=$!
    wait_for_listener postern "$POSTERN_ADDR" "$POSTERN_PORT" "$dir/postern/log" "$postern_pid"
}

# --- Postfix ----------------------------------------------------------------

# A private instance: config in $dir/postfix/etc, queue in
# $dir/postfix/queue, log in $dir/postfix/maillog, mail delivered by the
# virtual(8) agent to $dir/postfix/mail/user/Maildir/ as user nobody.
start_postfix() {
    local base="$dir/postfix"
    local nobody_uid nobody_gid
    nobody_uid="$(id -u nobody)"
    nobody_gid="$(id -g nobody)"

    mkdir -p "$postfix_etc" "$base/queue" "$base/data" "$base/mail"
    chown postfix "$base/data"                     # Postfix insists on it
    chown "$nobody_uid:$nobody_gid" "$base/mail"   # virtual(8) writes as nobody

    # master.cf: the packaged one, with every service out of chroot (a
    # chroot would need copies of /etc files inside our queue directory) and
    # the port-25 listener replaced by ours. It keeps the postlog service
    # that maillog_file needs.
    cp /etc/postfix/master.cf "$postfix_etc/master.cf"
    : >"$postfix_etc/main.cf"
    local pc=("$POSTCONF" -c "$postfix_etc")
    "${pc[@]}" -F '*/*/chroot = n'
    "${pc[@]}" -MX smtp/inet
    "${pc[@]}" -M "$POSTFIX_ADDR:$POSTFIX_PORT/inet = $POSTFIX_ADDR:$POSTFIX_PORT inet n - n - - smtpd"

    # main.cf: PEERS.md's recipe plus Maildir delivery for bench.test.
    # Beyond PEERS.md: maillog_file must lie under maillog_file_prefixes
    # (default "/var, /dev/stdout"), or `postfix start` exits 1 without a
    # word (there is no /dev/log here to complain to). src.test is relayed
    # to discard(8), so bounces to our sender vanish instead of queueing.
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
        "smtp_dns_support_level = disabled" \
        "mydestination =" \
        "alias_maps =" \
        "alias_database =" \
        "virtual_mailbox_domains = bench.test" \
        "virtual_mailbox_base = $base/mail" \
        "virtual_mailbox_maps = static:user/Maildir/" \
        "virtual_uid_maps = static:$nobody_uid" \
        "virtual_gid_maps = static:$nobody_gid" \
        "relay_domains = src.test, relay.test" \
        "transport_maps = inline:{ src.test=discard:, relay.test=smtp:[$SINK_ADDR]:$SINK_PORT }" \
        "default_destination_concurrency_limit = $OUTBOUND_CONNECTIONS" \
        "smtp_destination_concurrency_limit = $OUTBOUND_CONNECTIONS"

    # `postfix start` creates the queue subdirectories, checks the setup and
    # starts the master, which daemonizes.
    if ! "$POSTFIX" -c "$postfix_etc" start >"$base/start.log" 2>&1; then
        echo "accept.sh: the private Postfix did not start:" >&2
        cat "$base/start.log" >&2
        tail -n 20 "$base/maillog" >&2 2>/dev/null || true
        exit 1
    fi
    postfix_started=1
    wait_for_listener postfix "$POSTFIX_ADDR" "$POSTFIX_PORT" "$base/maillog"
}

# --- Load and timing --------------------------------------------------------

# Seconds since the epoch, with nanoseconds.
now() { date +%s.%N; }

# Run smtp-source against ADDR:PORT; print the elapsed seconds.
run_load() { # run_load NAME ADDR PORT
    local name=$1 addr=$2 port=$3 start end
    local err="$dir/smtp-source.$name.err"
    start="$(now)"
    if ! "$SMTP_SOURCE" -s "$SESSIONS" -m "$MESSAGES" -l "$MESSAGE_BYTES" \
        -f "$SENDER" -t "$RECIPIENT" "$addr:$port" 2>"$err"; then
        echo "accept.sh: smtp-source against $name ($addr:$port) failed:" >&2
        tail -n 20 "$err" >&2
        exit 1
    fi
    if [[ -n "$RELAY" ]]; then wait_for_empty_queue "$name"; fi
    end="$(now)"
    # smtp-source complains on stderr about replies it did not like; a run
    # with complaints measured something else, so say so.
    if [[ -s "$err" ]]; then
        echo "accept.sh: warning: smtp-source against $name said:" >&2
        head -n 5 "$err" >&2
    fi
    awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f\n", e - s }'
}

# Run smtpping against ADDR:PORT; print the mean and the minimum
# milliseconds from connect to the 250 after DATA.
run_latency() { # run_latency NAME ADDR PORT
    local name=$1 addr=$2 port=$3
    local out="$dir/smtpping.$name.out"
    if ! "$SMTPPING" -q -c "$PINGS" -w "$WAIT" -s 4 -p "$port" -S "$SENDER" \
        "$RECIPIENT" "@$addr" >"$out" 2>&1; then
        echo "accept.sh: smtpping against $name ($addr:$port) failed:" >&2
        tail -n 20 "$out" >&2
        exit 1
    fi
    # "datasent min/avg/max = 0.83/5.98/24.97 ms"
    awk -F'[ /]+' '/^datasent min\/avg\/max/ { print $7, $6; found = 1 }
        END { exit !found }' "$out" || {
        echo "accept.sh: no datasent line in smtpping's output ($out)" >&2
        exit 1
    }
}

# Files still queued by NAME: postern's spool (not its empty files, blanks
# made ready for messages to come), or Postfix's queues.
queued() { # queued NAME
    case "$1" in
        postern) find "$dir/postern/data/spool/queue" -type f -size +0 2>/dev/null | wc -l ;;
        postfix) find "$dir/postfix/queue/"{maildrop,incoming,active,deferred,hold} -type f 2>/dev/null | wc -l ;;
    esac
}

# Waits until NAME has relayed everything (its queue is empty).
wait_for_empty_queue() { # wait_for_empty_queue NAME
    local waited=0
    while (($(queued "$1") > 0)); do
        if ((waited > 6000)); then
            echo "accept.sh: $1 still has $(queued "$1") messages queued after 10 minutes" >&2
            exit 1
        fi
        sleep 0.05
        waited=$((waited + 1))
    done
}

# --- Main -------------------------------------------------------------------

if [[ -n "$RELAY" ]]; then
    if [[ -z "$SMTP_SINK" ]]; then
        echo "accept.sh: --relay needs Postfix's smtp-sink (package postfix)" >&2
        exit 2
    fi
    if listening "$SINK_ADDR" "$SINK_PORT"; then
        echo "accept.sh: $SINK_ADDR:$SINK_PORT (the sink) is already in use" >&2
        exit 1
    fi
    "$SMTP_SINK" -u nobody "$SINK_ADDR:$SINK_PORT" 1024 >"$dir/sink.log" 2>&1 &
    sink_pid=$!
    wait_for_listener smtp-sink "$SINK_ADDR" "$SINK_PORT" "$dir/sink.log" "$sink_pid"
    echo "accept.sh: relay mode: to smtp-sink on $SINK_ADDR:$SINK_PORT, timed until each queue is empty"
fi
wants postern && start_postern
wants postfix && start_postfix

if [[ -n "$LATENCY" ]]; then
    echo "accept.sh: latency: $PINGS messages of 4 KiB one at a time, ${WAIT} ms apart, $ROUNDS round(s); scratch in $dir"
    echo
    printf '%-6s %-8s %12s %12s\n' round server "mean (ms)" "min (ms)"
    postern_means=()
    postfix_means=()
    for ((round = 1; round <= ROUNDS; round++)); do
        for server in "${SERVERS[@]}"; do
            case "$server" in
                postern) read -r mean least < <(run_latency postern "$POSTERN_ADDR" "$POSTERN_PORT") ;;
                postfix) read -r mean least < <(run_latency postfix "$POSTFIX_ADDR" "$POSTFIX_PORT") ;;
            esac
            printf '%-6s %-8s %12s %12s\n' "$round" "$server" "$mean" "$least"
            case "$server" in
                postern) postern_means+=("$mean") ;;
                postfix) postfix_means+=("$mean") ;;
            esac
        done
    done
    echo
    wants postern && echo "median postern: $(median "${postern_means[@]}") ms from connect to 250 after DATA"
    wants postfix && echo "median postfix: $(median "${postfix_means[@]}") ms from connect to 250 after DATA"
    if wants postern && wants postfix; then
        awk -v a="$(median "${postern_means[@]}")" -v b="$(median "${postfix_means[@]}")" \
            'BEGIN { printf "ratio postern/postfix: %.2f (below 1: postern answers sooner)\n", a / b }'
    fi
    exit 0
fi

echo "accept.sh: $MESSAGES messages of $MESSAGE_BYTES bytes, $SESSIONS sessions, $ROUNDS round(s); scratch in $dir"
echo "accept.sh: servers keep delivering in the background after each run;"
echo "accept.sh: that work overlaps the next run (see bench/README.md)."
echo
printf '%-6s %-8s %10s %12s\n' round server seconds "messages/s"

postern_rates=()
postfix_rates=()
for ((round = 1; round <= ROUNDS; round++)); do
    for server in "${SERVERS[@]}"; do
        case "$server" in
            postern) seconds="$(run_load postern "$POSTERN_ADDR" "$POSTERN_PORT")" ;;
            postfix) seconds="$(run_load postfix "$POSTFIX_ADDR" "$POSTFIX_PORT")" ;;
        esac
        rate="$(awk -v m="$MESSAGES" -v s="$seconds" 'BEGIN { printf "%.1f\n", m / s }')"
        printf '%-6s %-8s %10s %12s\n' "$round" "$server" "$seconds" "$rate"
        case "$server" in
            postern) postern_rates+=("$rate") ;;
            postfix) postfix_rates+=("$rate") ;;
        esac
    done
done

echo
if wants postern; then
    postern_median="$(median "${postern_rates[@]}")"
    echo "median postern: $postern_median messages/s"
fi
if wants postfix; then
    postfix_median="$(median "${postfix_rates[@]}")"
    echo "median postfix: $postfix_median messages/s"
    # A sanity check that Postfix really took the mail: what its virtual
    # agent has delivered so far (the rest is still queued).
    if [[ -z "$RELAY" ]]; then
        delivered="$( (find "$dir/postfix/mail/user/Maildir/new" -type f 2>/dev/null || true) | wc -l)"
        echo "postfix Maildir so far: $delivered of $((MESSAGES * ROUNDS)) delivered"
    fi
fi
if wants postern && wants postfix; then
    awk -v a="$postern_median" -v b="$postfix_median" \
        'BEGIN { printf "ratio postern/postfix: %.2f\n", a / b }'
fi
