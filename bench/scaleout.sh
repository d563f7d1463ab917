#!/usr/bin/env bash
# bench/scaleout.sh: SMTP accept throughput of postern on its two queue
# backends and with one to three nodes on one PostgreSQL database, beside
# Postfix, in one run; and the accept commit's latency, files against
# PostgreSQL. Loopback only.
#
# Configurations, each measured with the same load (Postfix's smtp-source:
# SESSIONS parallel sessions in all, MESSAGES messages of 4 KiB, one
# recipient each, a connection per message), timed until every message has
# had its 250 after DATA:
#
#   files      one postern node, queue in files (127.0.0.2:2525)
#   pg1        one node on PostgreSQL (127.0.0.2:2525, node_id 1)
#   pg2        two nodes on one database (127.0.0.2 and .3, node_id 1, 2)
#   pg3        three nodes on one database (127.0.0.2, .3, .4, node_id 1..3)
#   postfix    a private Postfix (127.0.0.1:2625), as bench/accept.sh runs it
#
# With several nodes the load is split evenly: one smtp-source per node,
# with its share of the sessions and of the messages, all started together;
# the clock stops when the last one is done. Every postern run starts on
# fresh state: new data directories, and for the PostgreSQL runs a database
# dropped and created again (`postern storage init`), so no run inherits the
# previous run's queue. Each node keeps delivering in the background while
# it accepts, as in accept.sh (on PostgreSQL, into the mailboxes in the
# database; the figures in the book were taken when each node still
# delivered into its own Maildirs); that work is part of what the CPU
# columns count.
#
# The database is a throwaway PostgreSQL cluster the script makes (initdb as
# user postgres in the scratch directory), starts on 127.0.0.1:PG_PORT and
# stops at exit. It keeps PostgreSQL's defaults, fsync and synchronous_commit
# on: the 250 waits for the commit's WAL flush, as postern on files waits
# for its fdatasync and Postfix for its fsync.
#
# Besides msg/s each run prints the CPU time per message of the postern
# processes and of the PostgreSQL cluster (user + system, read from
# /proc/PID/stat of each process and its reaped children), and the
# database transactions per message (pg_stat_database.xact_commit); these
# are what an estimate for a bigger machine is made from.
#
# THE MACHINES HERE HAVE 2 CORES. Three nodes, their database, Postfix and
# the load generator all share them, so the curve over 1, 2, 3 nodes shows
# the overhead of the shared database and of more processes, not scaling.
#
# With --statements the cluster loads pg_stat_statements, and after each
# PostgreSQL run the script waits until every node has delivered
# everything (the shared queue is empty), then prints each statement the
# nodes ran with its calls per message, over accepting *and* delivering
# (the db xact/msg column then counts the deliveries too). With --remote
# every message is for user@relay.test, which the nodes pass on through an
# exclusive smarthost to Postfix's smtp-sink on 127.0.0.1:2626, rather
# than to a local Maildir.
#
# Finally, the latency of one message (connect to the 250 after DATA) with
# Halon's smtpping (as bench/latency.sh does): PINGS messages one at a time,
# WAIT ms apart, to files, to pg1 and to Postfix.
#
# Usage:
#   bench/scaleout.sh [--quick] [--no-latency]
#
#   --quick          2000 messages, 1 round, 50 pings (a smoke test)
#   --no-latency     skip the smtpping part
#   --statements     count the statements per message (pg_stat_statements)
#   --remote         remote recipients (through smtp-sink) instead of local
#
# Environment:
#   MESSAGES=20000   messages per run, over all nodes
#   SESSIONS=20      parallel SMTP sessions per run, over all nodes
#   ROUNDS=3         rounds; each round runs every configuration once
#   PINGS=500        messages per latency run
#   WAIT=20          ms between latency messages
#   PG_PORT=5499     the throwaway cluster's port on 127.0.0.1
#   POSTERN_BIN=target/release/postern
#   CONFIGS="files pg1 pg2 pg3 postfix"   the configurations to run
#   DRAIN_WAIT=600   seconds --statements waits for the queue to empty
#   KEEP=1           keep the scratch directory (configs, logs, Maildirs,
#                    the cluster); it is also kept when a run fails
#
# Needs: root (the private Postfix; initdb runs as user postgres), the
# `postfix` package (smtp-source, postfix, postconf), `smtpping` (unless
# --no-latency), PostgreSQL's server programs (/usr/lib/postgresql/N/bin,
# Debian's `postgresql`), bash, awk.
#
# Exit status: 0 on success, 2 when something needed is missing, 1 on any
# other failure.

set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# --- Settings ---------------------------------------------------------------

MESSAGES="${MESSAGES:-20000}"
SESSIONS="${SESSIONS:-20}"
ROUNDS="${ROUNDS:-3}"
PINGS="${PINGS:-500}"
WAIT="${WAIT:-20}"
PG_PORT="${PG_PORT:-5499}"
LATENCY=1
MESSAGE_BYTES=4096
SENDER="bench@src.test"
RECIPIENT="user@bench.test"

NODE_ADDRS=(127.0.0.2 127.0.0.3 127.0.0.4)
NODE_PORT=2525
POSTFIX_ADDR=127.0.0.1
POSTFIX_PORT=2625
PG_ADDR=127.0.0.1
DB_NAME=postern
DB_ROLE=postern
LEASE="60s"

STARTUP_WAIT_SECONDS=30
SHUTDOWN_WAIT_SECONDS=30

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
POSTERN_BIN="${POSTERN_BIN:-$REPO_ROOT/target/release/postern}"

read -r -a CONFIGS <<<"${CONFIGS:-files pg1 pg2 pg3 postfix}"
DRAIN_WAIT="${DRAIN_WAIT:-600}"
STATEMENTS=""
REMOTE=""
SINK_ADDR=127.0.0.1
SINK_PORT=2626

# --- Command line -----------------------------------------------------------

while (($# > 0)); do
    case "$1" in
        --quick)
            MESSAGES=2000
            PINGS=50
            ROUNDS=1
            ;;
        --no-latency) LATENCY="" ;;
        --statements) STATEMENTS=1 ;;
        --remote)
            REMOTE=1
            RECIPIENT="user@relay.test"
            ;;
        -h | --help)
            usage
            exit 0
            ;;
        *)
            echo "scaleout.sh: unknown argument '$1' (try --help)" >&2
            exit 2
            ;;
    esac
    shift
done

require_positive_integers MESSAGES SESSIONS ROUNDS PINGS WAIT PG_PORT
if ((SESSIONS < ${#NODE_ADDRS[@]} || MESSAGES < ${#NODE_ADDRS[@]})); then
    echo "scaleout.sh: SESSIONS and MESSAGES must be at least ${#NODE_ADDRS[@]} (one per node)" >&2
    exit 2
fi

# --- Prerequisites ----------------------------------------------------------

SMTP_SOURCE="$(find_tool smtp-source)"
POSTFIX="$(find_tool postfix)"
POSTCONF="$(find_tool postconf)"
SMTPPING="$(find_tool smtpping)"
PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"

if [[ -z "$SMTP_SOURCE" || -z "$POSTFIX" || -z "$POSTCONF" ]]; then
    cat >&2 <<'EOF'
scaleout.sh: Postfix's smtp-source (and postfix, postconf) are needed but not installed.
Install them with:
    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y postfix
EOF
    exit 2
fi
if [[ -n "$LATENCY" && -z "$SMTPPING" ]]; then
    cat >&2 <<'EOF'
scaleout.sh: the latency part needs Halon's smtpping (or pass --no-latency). Install it with:
    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y smtpping
EOF
    exit 2
fi
if [[ -z "$PG_BIN" || ! -x "$PG_BIN/initdb" || ! -x "$PG_BIN/pg_ctl" || ! -x "$PG_BIN/psql" ]]; then
    cat >&2 <<'EOF'
scaleout.sh: PostgreSQL's server programs (initdb, pg_ctl, psql under /usr/lib/postgresql/N/bin) are needed.
Install them with:
    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql
(The package's own cluster is not used; this script makes its own.)
EOF
    exit 2
fi
if [[ ! -x "$POSTERN_BIN" ]]; then
    cat >&2 <<EOF
scaleout.sh: no postern binary at $POSTERN_BIN
Build it with:
    cargo build --release -p postern
or point POSTERN_BIN at one.
EOF
    exit 2
fi
if [[ "$EUID" -ne 0 ]]; then
    echo "scaleout.sh: needs root (a private Postfix; initdb runs as user postgres)." >&2
    exit 2
fi
if ! id postgres >/dev/null 2>&1; then
    echo "scaleout.sh: there is no user 'postgres' to own the cluster (Debian's postgresql package makes it)." >&2
    exit 2
fi

for addr in "${NODE_ADDRS[@]}"; do
    if listening "$addr" "$NODE_PORT"; then
        echo "scaleout.sh: $addr:$NODE_PORT is already in use; stop whatever listens there first." >&2
        exit 1
    fi
done
for pair in "$POSTFIX_ADDR:$POSTFIX_PORT" "$PG_ADDR:$PG_PORT"; do
    if listening "${pair%:*}" "${pair##*:}"; then
        echo "scaleout.sh: $pair is already in use; stop whatever listens there first (or set PG_PORT)." >&2
        exit 1
    fi
done

# --- Scratch directory and cleanup ------------------------------------------

dir="$(mktemp -d /tmp/postern-scaleout.XXXXXX)"
chmod 755 "$dir"   # Postfix's daemons and the postgres user walk into it

postfix_etc="$dir/postfix/etc"
postfix_started=""
pg_started=""
node_pids=()
sink_pid=""
CLK_TCK="$(getconf CLK_TCK)"

# Stops every postern node started (SIGTERM, then SIGKILL after a while).
stop_nodes() {
    local pid waited
    for pid in "${node_pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${node_pids[@]}"; do
        waited=0
        while kill -0 "$pid" 2>/dev/null && ((waited < SHUTDOWN_WAIT_SECONDS * 10)); do
            sleep 0.1
            waited=$((waited + 1))
        done
        if kill -0 "$pid" 2>/dev/null; then
            echo "scaleout.sh: postern (pid $pid) ignored SIGTERM for ${SHUTDOWN_WAIT_SECONDS}s; killing it" >&2
            kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
    done
    node_pids=()
}

stop_postfix() {
    [[ -n "$postfix_started" ]] || return 0
    local pidfile="$dir/postfix/queue/pid/master.pid" master_pid=""
    [[ -r "$pidfile" ]] && master_pid="$(tr -d ' \n' <"$pidfile")"
    "$POSTFIX" -c "$postfix_etc" stop >/dev/null 2>&1 || true
    if [[ -n "$master_pid" ]]; then
        local waited=0
        while kill -0 "$master_pid" 2>/dev/null && ((waited < SHUTDOWN_WAIT_SECONDS * 10)); do
            sleep 0.1
            waited=$((waited + 1))
        done
    fi
    postfix_started=""
}

stop_pg() {
    [[ -n "$pg_started" ]] || return 0
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$dir/pg/data" -m fast -w stop >/dev/null 2>&1 || true
    pg_started=""
}

cleanup() {
    local status=$?
    stop_nodes
    stop_postfix
    stop_pg
    [[ -z "$sink_pid" ]] || kill "$sink_pid" 2>/dev/null || true
    leave_scratch "$status"
}
on_exit cleanup

# --- PostgreSQL -------------------------------------------------------------

DB_PASSWORD="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"

psql_admin() { # psql_admin SQL
    PGOPTIONS="-c client_min_messages=warning" runuser -u postgres -- "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir/pg" -p "$PG_PORT" \
        -U postgres -d postgres -At -c "$1"
}

start_pg() {
    mkdir -p "$dir/pg"
    chown postgres: "$dir/pg"
    # Local (socket) logins trusted for the script's psql; TCP needs the
    # password, as a node would meet it.
    if ! runuser -u postgres -- "$PG_BIN/initdb" -D "$dir/pg/data" -U postgres -E UTF8 \
        --auth-local=trust --auth-host=scram-sha-256 >"$dir/pg/initdb.log" 2>&1; then
        echo "scaleout.sh: initdb failed:" >&2
        tail -n 20 "$dir/pg/initdb.log" >&2
        exit 1
    fi
    local preload=""
    [[ -z "$STATEMENTS" ]] || preload="-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.max=1000"
    if ! runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$dir/pg/data" -l "$dir/pg/log" \
        -o "-c listen_addresses=$PG_ADDR -p $PG_PORT -k $dir/pg -c max_connections=100 $preload" \
        -w start >/dev/null 2>&1; then
        echo "scaleout.sh: PostgreSQL did not start; its log ($dir/pg/log):" >&2
        tail -n 20 "$dir/pg/log" >&2 || true
        exit 1
    fi
    pg_started=1
    psql_admin "CREATE ROLE $DB_ROLE LOGIN PASSWORD '$DB_PASSWORD'" >/dev/null
    [[ -z "$STATEMENTS" ]] || psql_admin "CREATE EXTENSION pg_stat_statements" >/dev/null
}

psql_db() { # psql_db SQL: in the nodes' database
    PGOPTIONS="-c client_min_messages=warning" runuser -u postgres -- "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir/pg" -p "$PG_PORT" \
        -U postgres -d "$DB_NAME" -At -c "$1"
}

# Waits until the shared queue is empty (every message delivered).
wait_for_drain() { # wait_for_drain CONFIG
    local waited=0 left
    while left="$(psql_db "SELECT count(*) FROM queue_messages")" && ((left > 0)); do
        if ((waited >= DRAIN_WAIT * 10)); then
            echo "scaleout.sh: $1: $left messages still queued after ${DRAIN_WAIT}s" >&2
            exit 1
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
}

# The statements the nodes ran since the last reset, with their calls per
# message, most called first; into FILE and onto stdout.
report_statements() { # report_statements CONFIG FILE
    psql_admin "SELECT s.calls, regexp_replace(s.query, '\s+', ' ', 'g') \
        FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid \
        WHERE d.datname = '$DB_NAME' ORDER BY s.calls DESC, 2" >"$2"
    awk -F'|' -v m="$MESSAGES" -v c="$1" '
        { total += $1; q = substr($2, 1, 110); printf "  %-6s %9.2f  %s\n", c, $1 / m, q }
        END { printf "  %-6s %9.2f  (all statements, per message)\n", c, total / m }' "$2"
}

# A new, empty database with postern's schema.
fresh_database() {
    psql_admin "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)" >/dev/null
    psql_admin "CREATE DATABASE $DB_NAME OWNER $DB_ROLE" >/dev/null
}

# The postmaster's pid (first line of its pid file).
pg_pid() {
    head -n 1 "$dir/pg/data/postmaster.pid"
}

# Transactions committed in the database so far.
pg_commits() {
    psql_admin "SELECT xact_commit FROM pg_stat_database WHERE datname = '$DB_NAME'"
}

# --- CPU accounting ---------------------------------------------------------

# CPU ticks (user + system) of PID, of the children it has reaped, and of
# its live children (and what they reaped). 0 for a process gone.
cpu_ticks() { # cpu_ticks PID
    local pid=$1 total=0 child
    total=$(proc_ticks "$pid")
    for child in $(ps -o pid= --ppid "$pid" 2>/dev/null); do
        total=$((total + $(proc_ticks "$child")))
    done
    echo "$total"
}

proc_ticks() { # proc_ticks PID: utime + stime + cutime + cstime
    # The command name (field 2) may hold spaces: cut after its ')'.
    local stat
    stat="$(cat /proc/"$1"/stat 2>/dev/null)" || { echo 0; return; }
    stat="${stat##*) }"
    # After the name, field 3 is the first: utime is the 14th field overall.
    awk '{ print $12 + $13 + $14 + $15 }' <<<"$stat"
}

ticks_of() { # ticks_of PID...
    local sum=0 pid
    for pid in "$@"; do sum=$((sum + $(cpu_ticks "$pid"))); done
    echo "$sum"
}

# --- postern nodes ----------------------------------------------------------

# Starts node I (1-based) of the configuration CONFIG (files or pgN).
start_node() { # start_node CONFIG I
    local config=$1 i=$2 addr="${NODE_ADDRS[$(($2 - 1))]}"
    local node_dir="$dir/run/$config.$i"
    rm -rf "$node_dir"
    mkdir -p "$node_dir"
    local storage=""
    if [[ $config != files ]]; then
        printf '%s\n' "$DB_PASSWORD" >"$node_dir/db-password"
        chmod 600 "$node_dir/db-password"
        storage="[storage]
backend = \"postgres\"
url = \"postgres://$DB_ROLE@$PG_ADDR:$PG_PORT/$DB_NAME\"
password_file = \"db-password\"
node_id = $i
node_name = \"node$i\"
lease = \"$LEASE\""
    fi
    local outbound="" relay=""
    if [[ -n "$REMOTE" ]]; then
        relay='relay = "any"'
        outbound="[outbound]
max_connections = $SESSIONS
max_connections_per_destination = $SESSIONS

[outbound.smarthost]
host = \"$SINK_ADDR:$SINK_PORT\"
mode = \"exclusive\"
tls = \"none\""
    fi
    cat >"$node_dir/postern.toml" <<EOF
[server]
hostname = "node$i.bench.test"
data_dir = "data"
run_as_root = true
shutdown_grace = "1s"

[[service]]
name = "mx"
kind = "smtp"
listen = "$addr:$NODE_PORT"
max_message_size = "25 MiB"
# All sessions come from one host; see bench/accept.sh.
max_connections = $((SESSIONS * 2))
max_connections_per_host = $((SESSIONS * 2))
$relay

[[domain]]
name = "bench.test"
users = ["user"]

$storage
$outbound
EOF
    if [[ $config != files && $i -eq 1 ]]; then
        if ! "$POSTERN_BIN" storage init --config "$node_dir/postern.toml" >"$node_dir/init.log" 2>&1; then
            echo "scaleout.sh: postern storage init failed:" >&2
            cat "$node_dir/init.log" >&2
            exit 1
        fi
    fi
    "$POSTERN_BIN" run --config "$node_dir/postern.toml" >"$node_dir/log" 2>&1 &
    node_pids+=($!)
    wait_for_listener "postern node $i" "$addr" "$NODE_PORT" "$node_dir/log" "$!"
}

# Starts the nodes CONFIG needs on fresh state.
start_config() { # start_config CONFIG
    local config=$1 n i
    case "$config" in
        files) n=1 ;;
        pg*)
            n="${config#pg}"
            fresh_database
            ;;
    esac
    for ((i = 1; i <= n; i++)); do start_node "$config" "$i"; done
}

# --- Postfix ----------------------------------------------------------------

# The private instance of bench/accept.sh (see there for every setting).
start_postfix() {
    local base="$dir/postfix" nobody_uid nobody_gid
    nobody_uid="$(id -u nobody)"
    nobody_gid="$(id -g nobody)"
    mkdir -p "$postfix_etc" "$base/queue" "$base/data" "$base/mail"
    chown postfix "$base/data"
    chown "$nobody_uid:$nobody_gid" "$base/mail"
    cp /etc/postfix/master.cf "$postfix_etc/master.cf"
    : >"$postfix_etc/main.cf"
    local pc=("$POSTCONF" -c "$postfix_etc")
    "${pc[@]}" -F '*/*/chroot = n'
    "${pc[@]}" -MX smtp/inet
    "${pc[@]}" -M "$POSTFIX_ADDR:$POSTFIX_PORT/inet = $POSTFIX_ADDR:$POSTFIX_PORT inet n - n - - smtpd"
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
        "transport_maps = inline:{ src.test=discard:, relay.test=smtp:[$SINK_ADDR]:$SINK_PORT }"
    if ! "$POSTFIX" -c "$postfix_etc" start >"$base/start.log" 2>&1; then
        echo "scaleout.sh: the private Postfix did not start:" >&2
        cat "$base/start.log" >&2
        tail -n 20 "$base/maillog" >&2 2>/dev/null || true
        exit 1
    fi
    postfix_started=1
    wait_for_listener postfix "$POSTFIX_ADDR" "$POSTFIX_PORT" "$base/maillog"
}

postfix_pid() {
    tr -d ' \n' <"$dir/postfix/queue/pid/master.pid"
}

# --- Load -------------------------------------------------------------------

now() { date +%s.%N; }

# Runs the load against the targets ("ADDR:PORT" each), splitting sessions
# and messages evenly; prints the elapsed seconds.
run_load() { # run_load NAME TARGET...
    local name=$1 n=$(($# - 1)) i s m pids=() start end failed=""
    shift
    local targets=("$@")
    start="$(now)"
    for ((i = 0; i < n; i++)); do
        s=$((SESSIONS / n + (i < SESSIONS % n ? 1 : 0)))
        m=$((MESSAGES / n + (i < MESSAGES % n ? 1 : 0)))
        "$SMTP_SOURCE" -s "$s" -m "$m" -l "$MESSAGE_BYTES" -f "$SENDER" -t "$RECIPIENT" \
            "${targets[$i]}" 2>"$dir/smtp-source.$name.$i.err" &
        pids+=($!)
    done
    for ((i = 0; i < n; i++)); do
        wait "${pids[$i]}" || failed+=" ${targets[$i]}"
    done
    end="$(now)"
    if [[ -n "$failed" ]]; then
        echo "scaleout.sh: smtp-source against $name failed for$failed:" >&2
        tail -n 5 "$dir"/smtp-source."$name".*.err >&2
        exit 1
    fi
    for ((i = 0; i < n; i++)); do
        if [[ -s "$dir/smtp-source.$name.$i.err" ]]; then
            echo "scaleout.sh: warning: smtp-source against $name (${targets[$i]}) said:" >&2
            head -n 5 "$dir/smtp-source.$name.$i.err" >&2
        fi
    done
    awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f\n", e - s }'
}

targets_of() { # targets_of CONFIG
    case "$1" in
        files | pg1) echo "${NODE_ADDRS[0]}:$NODE_PORT" ;;
        pg2) echo "${NODE_ADDRS[0]}:$NODE_PORT ${NODE_ADDRS[1]}:$NODE_PORT" ;;
        pg3) echo "${NODE_ADDRS[0]}:$NODE_PORT ${NODE_ADDRS[1]}:$NODE_PORT ${NODE_ADDRS[2]}:$NODE_PORT" ;;
        postfix) echo "$POSTFIX_ADDR:$POSTFIX_PORT" ;;
    esac
}

# Milliseconds of CPU per message from a tick count.
per_message_ms() { # per_message_ms TICKS
    awk -v t="$1" -v hz="$CLK_TCK" -v m="$MESSAGES" 'BEGIN { printf "%.3f\n", t * 1000 / hz / m }'
}

# Runs CONFIG once; sets RESULT to "seconds rate server-cpu-ms db-cpu-ms
# db-xact". (Not in a subshell: the nodes it starts must be this shell's
# to stop, and a failure must end the script.)
measure() { # measure CONFIG
    local config=$1 seconds rate before after pg_before=0 pg_after=0 x_before=0 x_after=0
    local pids=() db_ms="-" xact="-"
    if [[ $config == postfix ]]; then
        pids=("$(postfix_pid)")
    else
        start_config "$config"
        pids=("${node_pids[@]}")
    fi
    before="$(ticks_of "${pids[@]}")"
    if [[ $config == pg* ]]; then
        pg_before="$(cpu_ticks "$(pg_pid)")"
        x_before="$(pg_commits)"
    fi
    [[ -z "$STATEMENTS" || $config != pg* ]] || psql_admin "SELECT pg_stat_statements_reset()" >/dev/null
    # shellcheck disable=SC2046 # one word per target
    seconds="$(run_load "$config" $(targets_of "$config"))"
    after="$(ticks_of "${pids[@]}")"
    if [[ $config == pg* ]]; then
        pg_after="$(cpu_ticks "$(pg_pid)")"
        x_after="$(pg_commits)"
        db_ms="$(per_message_ms $((pg_after - pg_before)))"
        xact="$(awk -v a="$x_after" -v b="$x_before" -v m="$MESSAGES" 'BEGIN { printf "%.2f\n", (a - b) / m }')"
    fi
    if [[ -n "$STATEMENTS" && $config == pg* ]]; then
        wait_for_drain "$config"
        x_after="$(pg_commits)"
        xact="$(awk -v a="$x_after" -v b="$x_before" -v m="$MESSAGES" 'BEGIN { printf "%.2f\n", (a - b) / m }')"
        report_statements "$config" "$dir/statements.$config.$round" >"$dir/statements.$config.$round.table"
    fi
    [[ $config == postfix ]] || stop_nodes
    rate="$(awk -v m="$MESSAGES" -v s="$seconds" 'BEGIN { printf "%.1f\n", m / s }')"
    RESULT="$seconds $rate $(per_message_ms $((after - before))) $db_ms $xact"
}

# smtpping against ADDR:PORT: the mean and minimum ms to the 250 after DATA.
run_latency() { # run_latency NAME ADDR PORT
    local name=$1 addr=$2 port=$3 out="$dir/smtpping.$1.out"
    if ! "$SMTPPING" -q -c "$PINGS" -w "$WAIT" -s 4 -p "$port" -S "$SENDER" \
        "$RECIPIENT" "@$addr" >"$out" 2>&1; then
        echo "scaleout.sh: smtpping against $name ($addr:$port) failed:" >&2
        tail -n 20 "$out" >&2
        exit 1
    fi
    awk -F'[ /]+' '/^datasent min\/avg\/max/ { print $7, $6; found = 1 }
        END { exit !found }' "$out" || {
        echo "scaleout.sh: no datasent line in smtpping's output ($out)" >&2
        exit 1
    }
}

# --- Main -------------------------------------------------------------------

wants() { [[ " ${CONFIGS[*]} " == *" $1 "* ]]; }

start_pg
if wants postfix || [[ -n "$LATENCY" ]]; then start_postfix; fi
if [[ -n "$REMOTE" ]]; then
    SMTP_SINK="$(find_tool smtp-sink)"
    if [[ -z "$SMTP_SINK" ]]; then
        echo "scaleout.sh: --remote needs Postfix's smtp-sink (package postfix)" >&2
        exit 2
    fi
    if listening "$SINK_ADDR" "$SINK_PORT"; then
        echo "scaleout.sh: $SINK_ADDR:$SINK_PORT (the sink) is already in use" >&2
        exit 1
    fi
    "$SMTP_SINK" -u nobody "$SINK_ADDR:$SINK_PORT" 1024 >"$dir/sink.log" 2>&1 &
    sink_pid=$!
    wait_for_listener smtp-sink "$SINK_ADDR" "$SINK_PORT" "$dir/sink.log" "$sink_pid"
fi

echo "scaleout.sh: $MESSAGES messages of $MESSAGE_BYTES bytes, $SESSIONS sessions in all, $ROUNDS round(s); scratch in $dir"
echo "scaleout.sh: $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg); PostgreSQL $("$PG_BIN/postgres" --version | awk '{ print $3 }') with fsync on"
echo
printf '%-6s %-8s %10s %12s %14s %12s %10s\n' round config seconds "messages/s" "server ms/msg" "db ms/msg" "db xact/msg"

declare -A rates
for ((round = 1; round <= ROUNDS; round++)); do
    for config in "${CONFIGS[@]}"; do
        measure "$config"
        read -r seconds rate server_ms db_ms xact <<<"$RESULT"
        printf '%-6s %-8s %10s %12s %14s %12s %10s\n' "$round" "$config" "$seconds" "$rate" "$server_ms" "$db_ms" "$xact"
        rates[$config]+="$rate "
    done
done

if [[ -n "$STATEMENTS" ]]; then
    echo
    echo "scaleout.sh: statements per message, accepting and delivering (pg_stat_statements; calls / $MESSAGES)"
    for ((round = 1; round <= ROUNDS; round++)); do
        for config in "${CONFIGS[@]}"; do
            [[ $config == pg* ]] || continue
            echo "round $round, $config:"
            cat "$dir/statements.$config.$round.table"
        done
    done
fi

ratios() {
echo
declare -A medians
for config in "${CONFIGS[@]}"; do
    # shellcheck disable=SC2086 # the rates, one word each
    medians[$config]="$(median ${rates[$config]})"
done
printf '%-8s %12s %12s %12s\n' config "messages/s" "/postfix" "/files"
for config in "${CONFIGS[@]}"; do
    awk -v c="$config" -v r="${medians[$config]}" -v p="${medians[postfix]}" -v f="${medians[files]}" \
        'BEGIN { printf "%-8s %12.1f %12.2f %12.2f\n", c, r, r / p, r / f }'
done
echo "(medians over $ROUNDS round(s); 2 cores shared by every node, the database, Postfix and the load: overhead, not scaling)"
}
if wants files && wants postfix; then ratios; fi

if [[ -n "$LATENCY" ]]; then
    echo
    echo "scaleout.sh: latency: $PINGS messages of 4 KiB one at a time, ${WAIT} ms apart"
    printf '%-8s %12s %12s\n' config "mean (ms)" "min (ms)"
    for config in files pg1 postfix; do
        if [[ $config == postfix ]]; then
            out="$(run_latency postfix "$POSTFIX_ADDR" "$POSTFIX_PORT")"
        else
            start_config "$config"
            out="$(run_latency "$config" "${NODE_ADDRS[0]}" "$NODE_PORT")"
            stop_nodes
        fi
        read -r mean least <<<"$out"
        printf '%-8s %12s %12s\n' "$config" "$mean" "$least"
    done
fi
