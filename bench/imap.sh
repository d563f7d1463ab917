#!/usr/bin/env bash
# bench/imap.sh: IMAP operations per second of postern and Dovecot, side by
# side, with Dovecot's imaptest in stress mode, on loopback only.
#
# Both servers get the same user (bench@bench.test) with the same argon2id
# password hash, an empty INBOX, and the same load: imaptest with CLIENTS
# clients for SECONDS_PER_RUN seconds, appending from the same mbox and
# running its default mix (login, list, status, select, fetch, store,
# expunge, append, logout), checking every reply against its model of
# the mailbox. Runs alternate (postern, dovecot, postern, ...) for ROUNDS
# rounds; the figures are the medians: operations per second (every
# command imaptest counted, divided by the seconds), the mean latency per
# command, and imaptest's error count (anything but 0 is a bug).
#
# imaptest is not packaged anywhere these machines reach: build it from
# its public source against Debian's dovecot-dev (../shared/PEERS.md says
# how) and name the binary in IMAPTEST. Nothing of it is in this
# repository.
#
# Usage:
#   IMAPTEST=/path/to/imaptest bench/imap.sh [--quick] [--only postern|dovecot]
#
#   --quick          5-second runs, 1 round (a smoke test, not a measurement)
#   --only SERVER    measure one server only
#
# Environment:
#   IMAPTEST         the imaptest binary (required)
#   CLIENTS=5        imaptest clients
#   SECONDS_PER_RUN=60  length of each timed run
#   ROUNDS=3         rounds; each round runs every server once
#   MBOX             the mbox imaptest appends from (CRLF or LF, unique
#                    Message-IDs); by default one made here of 200 messages
#   POSTERN_BIN      the postern binary; by default target/release/postern,
#                    built with cargo build --release
#   KEEP=1           keep the scratch directory (configs, logs)
#
# Needs: root (Dovecot runs as nobody through setpriv), Debian's
# dovecot-core and dovecot-imapd, python3. Postern listens on
# 127.0.0.1:2143, Dovecot on 127.0.0.1:2144.

set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CLIENTS="${CLIENTS:-5}"
SECONDS_PER_RUN="${SECONDS_PER_RUN:-60}"
ROUNDS="${ROUNDS:-3}"
DOMAIN=bench.test
LOGIN="bench@$DOMAIN"
PASSWORD="bench-password"
POSTERN_PORT=2143
DOVECOT_PORT=2144
ADDR=127.0.0.1
DOVECOT=/usr/sbin/dovecot
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SERVERS=(postern dovecot)

while (($# > 0)); do
    case "$1" in
        --quick) SECONDS_PER_RUN=5 ROUNDS=1 ;;
        --only)
            [[ $# -ge 2 && ("$2" == postern || "$2" == dovecot) ]] ||
                { echo "imap.sh: --only takes postern or dovecot" >&2; exit 2; }
            SERVERS=("$2")
            shift
            ;;
        -h | --help) usage; exit 0 ;;
        *) echo "imap.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
    shift
done

if [[ -z "${IMAPTEST:-}" || ! -x "${IMAPTEST:-}" ]]; then
    echo "imap.sh: set IMAPTEST to an imaptest binary (see ../shared/PEERS.md for how to build one)" >&2
    exit 2
fi
if [[ "$EUID" -ne 0 ]]; then
    echo "imap.sh: run it as root (Dovecot is started as nobody through setpriv)." >&2
    exit 2
fi
if [[ ! -x "$DOVECOT" || ! -x /usr/lib/dovecot/imap ]]; then
    echo "imap.sh: install Dovecot's IMAP server: apt-get install -y dovecot-core dovecot-imapd" >&2
    exit 2
fi
export LD_LIBRARY_PATH="/usr/lib/dovecot${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
if [[ -z "${POSTERN_BIN:-}" ]]; then
    echo "imap.sh: cargo build --release -p postern" >&2
    (cd "$REPO_ROOT" && nice cargo build --release -p postern) >&2
    POSTERN_BIN="$REPO_ROOT/target/release/postern"
fi

dir="$(mktemp -d /tmp/postern-imap-bench.XXXXXX)"
chmod 755 "$dir"
pids=()
cleanup() {
    local status=$? pid
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    # Any failure keeps the evidence (this script's failures are not all 1).
    ((status == 0 || status == 130 || status == 143)) || status=1
    leave_scratch "$status"
}
on_exit cleanup


# The mbox: 200 messages of 1 to 20 KiB with unique Message-IDs.
if [[ -z "${MBOX:-}" ]]; then
    MBOX="$dir/bench.mbox"
    python3 - "$MBOX" <<'EOF'
import random, sys
rng = random.Random(7)
with open(sys.argv[1], "w") as out:
    for n in range(1, 201):
        body = "".join(f"line {i} {'x' * rng.randint(10, 70)}\n" for i in range(rng.randint(10, 250)))
        out.write(f"From sender@src.test Sun Nov 30 00:00:00 2025\n"
                  f"From: Sender {n} <sender{n}@src.test>\nTo: bench@bench.test\n"
                  f"Subject: bench message {n}\nMessage-ID: <{n}.imap-bench@src.test>\n"
                  f"Date: Sun, 30 Nov 2025 00:{n // 60:02d}:{n % 60:02d} +0000\n\n{body}\n")
EOF
fi

# --- postern ---
mkdir -p "$dir/postern"
cat >"$dir/postern/postern.toml" <<EOF
[server]
hostname = "imap.$DOMAIN"
data_dir = "data"
run_as_root = true

[[service]]
name = "imap"
kind = "imap"
listen = "$ADDR:$POSTERN_PORT"
auth_without_tls = true
max_connections = $((CLIENTS * 4))
max_connections_per_host = $((CLIENTS * 4))

[[domain]]
name = "$DOMAIN"
users = ["bench"]
EOF
printf '%s\n' "$PASSWORD" | "$POSTERN_BIN" user add "$LOGIN" --config "$dir/postern/postern.toml" >/dev/null 2>&1 || {
    # The data directory is made by the first run.
    mkdir -p "$dir/postern/data"
    printf '%s\n' "$PASSWORD" | "$POSTERN_BIN" user add "$LOGIN" --config "$dir/postern/postern.toml" >/dev/null
}

# --- Dovecot (PEERS.md's recipe; the same argon2id hash) ---
base="$dir/dovecot"
mkdir -p "$base/run" "$base/state" "$base/home" "$base/mail"
python3 - "$dir/postern/data/accounts.toml" "$base/passwd" <<'EOF'
import sys, tomllib
accounts = tomllib.load(open(sys.argv[1], "rb"))["account"]
with open(sys.argv[2], "w") as out:
    for a in accounts:
        out.write(f"{a['login']}:{{ARGON2ID}}{a['password_hash']}\n")
EOF
cat >"$base/dovecot.conf" <<EOF
protocols = imap
listen = $ADDR
base_dir = $base/run
state_dir = $base/state
log_path = $base/dovecot.log
default_internal_user = nobody
default_login_user = nobody
default_internal_group = nogroup
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:$base/mail/%d/%n
passdb {
  driver = passwd-file
  args = $base/passwd
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$base/home/%d/%n
}
service imap-login {
  inet_listener imap {
    address = $ADDR
    port = $DOVECOT_PORT
  }
  inet_listener imaps {
    port = 0
  }
  chroot =
}
service anvil {
  chroot =
}
protocol imap {
  mail_max_userip_connections = $((CLIENTS * 4))
}
EOF
chown -R nobody:nogroup "$base"

start() { # start SERVER
    case "$1" in
        postern)
            "$POSTERN_BIN" run --config "$dir/postern/postern.toml" >"$dir/postern/log" 2>&1 &
            pids+=($!)
            wait_for_listener postern "$ADDR" "$POSTERN_PORT" "$dir/postern/log" "$!"
            ;;
        dovecot)
            setpriv --reuid=nobody --regid=nogroup --clear-groups \
                "$DOVECOT" -F -c "$base/dovecot.conf" >"$base/stdout" 2>&1 &
            pids+=($!)
            wait_for_listener dovecot "$ADDR" "$DOVECOT_PORT" "$base/dovecot.log" "$!"
            ;;
    esac
}

# Runs imaptest against SERVER; prints "ops_per_second ms_per_command errors".
run() { # run SERVER PORT ROUND
    local out="$dir/imaptest.$1.$3.out"
    "$IMAPTEST" host=$ADDR port="$2" user="$LOGIN" pass="$PASSWORD" mbox="$MBOX" \
        clients="$CLIENTS" secs="$SECONDS_PER_RUN" >"$out" 2>&1 || true
    python3 - "$out" "$SECONDS_PER_RUN" <<'EOF'
import re, sys
text = open(sys.argv[1], errors="replace").read()
seconds = float(sys.argv[2])
lines = text.splitlines()
errors = sum(1 for l in lines if l.startswith("Error:") or " Error: " in l)
totals = lines[lines.index("Totals:") + 4] if "Totals:" in lines else ""
counts = [int(x) for x in totals.split()] if totals else []
latency = next((l for l in reversed(lines) if l.rstrip().endswith("ms/cmd avg")), "")
ms = [int(x) for x in latency.split()[:-2]] if latency else []
ops = sum(counts)
weighted = sum(c * m for c, m in zip(counts, ms)) / ops if ops and ms else float("nan")
print(f"{ops / seconds:.1f} {weighted:.2f} {errors}")
EOF
}

declare -A results
for ((round = 1; round <= ROUNDS; round++)); do
    for server in "${SERVERS[@]}"; do
        port=$POSTERN_PORT
        [[ $server == dovecot ]] && port=$DOVECOT_PORT
        start "$server"
        line="$(run "$server" "$port" "$round")"
        echo "round $round $server: $line (ops/s, ms/cmd, errors)"
        results[$server]+="$line"$'\n'
        kill -TERM "${pids[-1]}"
        wait "${pids[-1]}" 2>/dev/null || true
        unset 'pids[-1]'
        sleep 2 # Dovecot needs a moment before it can start again
    done
done

echo
printf '%-8s %12s %10s %8s\n' server "ops/s" "ms/cmd" errors
declare -A ops
for server in "${SERVERS[@]}"; do
    # shellcheck disable=SC2046 # one number per word
    ops[$server]="$(median $(printf '%s' "${results[$server]}" | awk '{ print $1 }'))"
    # shellcheck disable=SC2046
    ms="$(median $(printf '%s' "${results[$server]}" | awk '{ print $2 }'))"
    errors="$(printf '%s' "${results[$server]}" | awk '{ s += $3 } END { print s }')"
    printf '%-8s %12s %10s %8s\n' "$server" "${ops[$server]}" "$ms" "$errors"
done
if [[ ${#SERVERS[@]} -eq 2 ]]; then
    echo "postern/dovecot: $(awk -v p="${ops[postern]}" -v d="${ops[dovecot]}" 'BEGIN { printf "%.2f", p / d }')x ($CLIENTS clients, ${SECONDS_PER_RUN}s runs, $ROUNDS rounds, medians)"
fi
