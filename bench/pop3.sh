#!/usr/bin/env bash
# bench/pop3.sh: POP3 sessions per second of postern and Dovecot, side by
# side, on loopback only.
#
# Both servers serve the same mailboxes: CLIENTS users (bench01@bench.test,
# ...), each with its own INBOX holding the same MESSAGES files of about
# MESSAGE_BYTES octets (one Maildir made once, copied into each server's
# mail directory). CLIENTS parallel python3 poplib clients, one per user
# (a POP3 server locks the maildrop for the session, RFC 1939 section 8),
# each run sessions back to back for SECONDS seconds:
#
#     USER, PASS, STAT, UIDL, RETR 1 .. RETR n, QUIT      (nothing deleted)
#
# and we count complete sessions. Both servers check the same argon2id
# password hashes (made by `postern user add`, with its default cost), so a
# login costs both the same; HASH=light swaps in a cheap argon2id hash for
# both, so that the figure is about the POP3 work and not the hashing. Runs alternate (postern, dovecot, postern, dovecot, ...) for ROUNDS
# rounds after one untimed warm-up run each; the figure to trust is the
# ratio of the medians (see bench/README.md).
#
# Usage:
#   bench/pop3.sh [--quick] [--only postern|dovecot]
#
#   --quick          3-second runs, 1 round (a smoke test, not a measurement)
#   --only SERVER    measure one server only
#
# Environment:
#   CLIENTS=20       parallel clients (and users)
#   MESSAGES=50      messages in each INBOX
#   MESSAGE_BYTES=4096  size of each message file (LF line endings)
#   SECONDS_PER_RUN=20  length of each timed run
#   ROUNDS=3         rounds; each round runs every server once
#   HASH=argon2id    the password hashes: argon2id as `postern user add`
#                    makes them (m=19456,t=2,p=1: about two thirds of
#                    Dovecot's time per session here), or `light` (argon2id with
#                    m=8,t=1,p=1, made by the `argon2` tool, package argon2)
#   POSTERN_BIN      the postern binary; by default the script builds
#                    target/release/postern (cargo build --release). With
#                    --only dovecot any postern binary will do (it only
#                    hashes the passwords): POSTERN_BIN, or the release or
#                    debug build that exists.
#   KEEP=1           keep the scratch directory (configs, logs, Maildirs);
#                    it is also kept when a run fails
#
# Needs: root (Dovecot is started as nobody through setpriv, and the
# Maildirs are handed to nobody), Debian's dovecot-core and dovecot-pop3d
# (installing them starts no daemon here), python3, cargo for the build.
# Postern listens on 127.0.0.1:2110, Dovecot on 127.0.0.1:2111.
#
# Exit status: 0 on success, 2 when something needed is missing, 1 on any
# other failure.

set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# --- Settings ---------------------------------------------------------------

CLIENTS="${CLIENTS:-20}"
MESSAGES="${MESSAGES:-50}"
MESSAGE_BYTES="${MESSAGE_BYTES:-4096}"
SECONDS_PER_RUN="${SECONDS_PER_RUN:-20}"
ROUNDS="${ROUNDS:-3}"
HASH="${HASH:-argon2id}"
DOMAIN=bench.test
USER_FORMAT="bench%02d@$DOMAIN"
PASSWORD="bench-password"

POSTERN_ADDR=127.0.0.1
POSTERN_PORT=2110
DOVECOT_ADDR=127.0.0.1
DOVECOT_PORT=2111

STARTUP_WAIT_SECONDS=30
SHUTDOWN_WAIT_SECONDS=30

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOAD="$REPO_ROOT/bench/pop3_load.py"
DOVECOT=/usr/sbin/dovecot
SERVERS=(postern dovecot)

# --- Command line -----------------------------------------------------------

while (($# > 0)); do
    case "$1" in
        --quick)
            SECONDS_PER_RUN=3
            ROUNDS=1
            ;;
        --only)
            [[ $# -ge 2 ]] || { echo "pop3.sh: --only needs postern or dovecot" >&2; exit 2; }
            case "$2" in
                postern | dovecot) SERVERS=("$2") ;;
                *) echo "pop3.sh: --only takes postern or dovecot, not '$2'" >&2; exit 2 ;;
            esac
            shift
            ;;
        -h | --help)
            usage
            exit 0
            ;;
        *)
            echo "pop3.sh: unknown argument '$1' (try --help)" >&2
            exit 2
            ;;
    esac
    shift
done

require_positive_integers CLIENTS MESSAGES MESSAGE_BYTES SECONDS_PER_RUN ROUNDS
case "$HASH" in
    argon2id) ;;
    light)
        if ! command -v argon2 >/dev/null; then
            echo "pop3.sh: HASH=light needs the argon2 tool: apt-get install argon2" >&2
            exit 2
        fi
        ;;
    *) echo "pop3.sh: HASH must be argon2id or light, not '$HASH'" >&2; exit 2 ;;
esac
if ((CLIENTS > 99)); then
    echo "pop3.sh: CLIENTS must be at most 99 (users are bench01 .. bench99)" >&2
    exit 2
fi
if ((MESSAGE_BYTES < 512)); then
    echo "pop3.sh: MESSAGE_BYTES must be at least 512 (room for the headers)" >&2
    exit 2
fi

# --- Prerequisites ----------------------------------------------------------

if [[ "$EUID" -ne 0 ]]; then
    echo "pop3.sh: run it as root (Dovecot is started as nobody through setpriv)." >&2
    exit 2
fi
if ! command -v python3 >/dev/null; then
    echo "pop3.sh: python3 is needed: apt-get install python3" >&2
    exit 2
fi
if wants dovecot && { [[ ! -x "$DOVECOT" ]] || [[ ! -x /usr/lib/dovecot/pop3 ]] || ! command -v setpriv >/dev/null; }; then
    cat >&2 <<'EOF'
pop3.sh: Dovecot's POP3 server is needed but not installed. Install it with:
    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y dovecot-core dovecot-pop3d
(The packages start no daemon here; this script runs its own, as nobody.)
EOF
    exit 2
fi

build_postern() {
    if ! command -v cargo >/dev/null; then
        echo "pop3.sh: cargo is needed to build postern (or set POSTERN_BIN)" >&2
        exit 2
    fi
    echo "pop3.sh: cargo build --release -p postern" >&2
    (cd "$REPO_ROOT" && nice cargo build --release -p postern) >&2
    POSTERN_BIN="$REPO_ROOT/target/release/postern"
}

if [[ -n "${POSTERN_BIN:-}" ]]; then
    :
elif wants postern; then
    build_postern
elif [[ -x "$REPO_ROOT/target/release/postern" ]]; then
    POSTERN_BIN="$REPO_ROOT/target/release/postern"
elif [[ -x "$REPO_ROOT/target/debug/postern" ]]; then
    POSTERN_BIN="$REPO_ROOT/target/debug/postern"
else
    build_postern
fi
if [[ ! -x "$POSTERN_BIN" ]]; then
    echo "pop3.sh: no postern binary at $POSTERN_BIN" >&2
    exit 2
fi

for server in "${SERVERS[@]}"; do
    case "$server" in
        postern) addr=$POSTERN_ADDR port=$POSTERN_PORT ;;
        dovecot) addr=$DOVECOT_ADDR port=$DOVECOT_PORT ;;
    esac
    if listening "$addr" "$port"; then
        echo "pop3.sh: $addr:$port is already in use; stop whatever listens there first." >&2
        exit 1
    fi
done

# --- Scratch directory and cleanup ------------------------------------------

dir="$(mktemp -d /tmp/postern-pop3-bench.XXXXXX)"
chmod 755 "$dir" # nobody (Dovecot) walks down into dovecot/ below it
postern_pid=""
dovecot_pid=""

stop_pid() { # stop_pid NAME PID: SIGTERM, wait, then SIGKILL
    local name=$1 pid=$2 waited=0
    [[ -n "$pid" ]] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null && ((waited < SHUTDOWN_WAIT_SECONDS * 10)); do
        sleep 0.1
        waited=$((waited + 1))
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "pop3.sh: $name (pid $pid) ignored SIGTERM for ${SHUTDOWN_WAIT_SECONDS}s; killing it" >&2
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local status=$?
    stop_pid postern "$postern_pid"
    stop_pid dovecot "$dovecot_pid"
    leave_scratch "$status"
}
on_exit cleanup

users() { # the local parts: bench01 .. benchNN
    local i
    for ((i = 1; i <= CLIENTS; i++)); do printf 'bench%02d\n' "$i"; done
}

# --- The mailbox content ----------------------------------------------------

# One Maildir (new/ holding MESSAGES files) that every user of both servers
# gets a copy of. Files have LF line endings, as Postern delivers them, and
# names with the file size (,S=) and the size clients see with CRLF (,W=),
# as Dovecot and Postern's store write them. Some body lines start with a
# dot, so RETR has to dot-stuff.
make_template() {
    python3 - "$dir/template" "$MESSAGES" "$MESSAGE_BYTES" "$DOMAIN" <<'EOF'
import os, sys
root, count, size, domain = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
for sub in ("cur", "new", "tmp"):
    os.makedirs(os.path.join(root, sub), mode=0o700)
base_time = 1764460800  # 2025-11-30, fixed so every run has the same names
for n in range(1, count + 1):
    head = (
        f"Return-Path: <sender@src.test>\n"
        f"From: Sender <sender@src.test>\n"
        f"To: Reader <reader@{domain}>\n"
        f"Subject: bench message {n} of {count}\n"
        f"Message-ID: <{n}.bench@src.test>\n"
        f"Date: Sun, 30 Nov 2025 00:00:00 +0000\n"
        f"\n"
    )
    body, line = [], 0
    while len(head) + sum(len(l) for l in body) < size:
        line += 1
        text = ("." if line % 10 == 0 else "") + f"line {line:04d} " + "x" * 60
        body.append(text[:71] + "\n")
    text = head + "".join(body)
    text = text[: size - 1] + "\n" if len(text) >= size else text
    data = text.encode()
    virtual = len(data) + data.count(b"\n")
    name = f"{base_time + n}.M{n}P1.bench,S={len(data)},W={virtual}"
    path = os.path.join(root, "new", name)
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, 0o600)
    os.utime(path, (base_time + n, base_time + n))
EOF
}

# Copies the template into ROOT/DOMAIN/USER/ for every user.
fill_maildirs() { # fill_maildirs ROOT
    local user
    mkdir -p "$1/$DOMAIN"
    for user in $(users); do
        cp -a "$dir/template" "$1/$DOMAIN/$user"
    done
}

# --- Accounts ---------------------------------------------------------------

# Adds every user with `postern user add` (the password on stdin) to the
# data directory of CONFIG, which writes DATA/accounts.toml.
add_users() { # add_users CONFIG
    local user
    # `user add` works on a server's data directory and will not make one
    # (a mistyped --config would scatter accounts): both configurations
    # here say data_dir = "data".
    mkdir -p -m 700 "$(dirname "$1")/data"
    for user in $(users); do
        if ! printf '%s\n' "$PASSWORD" | "$POSTERN_BIN" user add "$user@$DOMAIN" --config "$1" \
            >>"$dir/user-add.log" 2>&1; then
            echo "pop3.sh: postern user add $user@$DOMAIN --config $1 failed:" >&2
            tail -n 20 "$dir/user-add.log" >&2
            if grep -q 'unknown variant `pop3`' "$dir/user-add.log"; then
                echo "pop3.sh: $POSTERN_BIN has no POP3 service; measure Dovecot alone with --only dovecot" >&2
            fi
            exit 1
        fi
    done
    if [[ "$HASH" == light ]]; then
        lighten_hashes "$(dirname "$1")/data/accounts.toml"
    fi
}

# HASH=light: replaces every hash in the accounts file with a cheap argon2id
# hash of the same password (own salt each). Postern verifies a PHC string
# with the parameters it records, so it takes these as they are.
lighten_hashes() { # lighten_hashes ACCOUNTS_TOML
    python3 - "$1" "$PASSWORD" <<'EOF'
import os, re, subprocess, sys
path, password = sys.argv[1], sys.argv[2]
def light(match):
    salt = os.urandom(12).hex()
    hashed = subprocess.run(
        ["argon2", salt, "-id", "-t", "1", "-m", "3", "-p", "1", "-e"],
        input=password.encode(), capture_output=True, check=True,
    ).stdout.decode().strip()
    return f'password_hash = "{hashed}"'
with open(path) as f:
    text = f.read()
with open(path, "w") as f:
    f.write(re.sub(r'password_hash = "[^"]*"', light, text))
EOF
}

# Writes Dovecot's passwd-file from postern's accounts: the same argon2id
# hashes (PHC strings, which Dovecot's ARGON2ID scheme reads as they are).
write_passwd_file() { # write_passwd_file ACCOUNTS_TOML OUT
    python3 - "$1" "$2" <<'EOF'
import sys, tomllib
with open(sys.argv[1], "rb") as f:
    accounts = tomllib.load(f)["account"]
with open(sys.argv[2], "w") as out:
    for account in accounts:
        out.write(f"{account['login']}:{{ARGON2ID}}{account['password_hash']}\n")
EOF
}

# --- postern ----------------------------------------------------------------

prepare_postern() {
    local user_list
    user_list="$(users | sed 's/.*/"&"/' | paste -sd, -)"
    mkdir -p "$dir/postern"
    cat >"$dir/postern/postern.toml" <<EOF
[server]
hostname = "pop3.$DOMAIN"
data_dir = "data"
# The bench runs as root, as the servers it is compared with start.
run_as_root = true

[[service]]
name = "pop3"
kind = "pop3"
listen = "$POSTERN_ADDR:$POSTERN_PORT"
# Loopback only: logins in clear, as Dovecot's disable_plaintext_auth = no.
auth_without_tls = true
# Every client comes from one host; the default quotas would turn most away.
# Twice the clients: a client reconnects as soon as it has read QUIT's +OK,
# a moment before this side has seen the old connection close.
max_connections = $((CLIENTS * 2))
max_connections_per_host = $((CLIENTS * 2))

[[domain]]
name = "$DOMAIN"
users = [$user_list]
EOF
    add_users "$dir/postern/postern.toml"
    fill_maildirs "$dir/postern/data/mail"
}

start_postern() {
    "$POSTERN_BIN" run --config "$dir/postern/postern.toml" >"$dir/postern/log" 2>&1 &
    postern_pid=$!
    wait_for_listener postern "$POSTERN_ADDR" "$POSTERN_PORT" "$dir/postern/log" "$postern_pid"
}

# Accounts for Dovecot alone (--only dovecot): a configuration that is only
# used by `postern user add` to find its data directory (never run), so that
# any postern binary, also one without POP3, makes the same hashes.
hash_only_accounts() {
    mkdir -p "$dir/hash-only"
    cat >"$dir/hash-only/postern.toml" <<EOF
[server]
hostname = "hash-only.$DOMAIN"
data_dir = "data"

[[service]]
name = "unused"
kind = "smtp"
listen = "127.0.0.1:25"

[[domain]]
name = "$DOMAIN"
users = []
EOF
    add_users "$dir/hash-only/postern.toml"
    echo "$dir/hash-only/data/accounts.toml"
}

# --- Dovecot ----------------------------------------------------------------

# PEERS.md's recipe: unprivileged on loopback, every directory it writes in
# our scratch directory, chroot off for the login processes and anvil.
# Otherwise Debian's defaults: indexes on disk beside the mail, a login
# process per connection (high-security mode). pop3_lock_session = yes
# gives the maildrop lock RFC 1939 asks for, which postern always takes.
prepare_dovecot() { # prepare_dovecot ACCOUNTS_TOML
    local base="$dir/dovecot"
    mkdir -p "$base/run" "$base/state" "$base/home" "$base/mail"
    write_passwd_file "$1" "$base/passwd"
    cat >"$base/dovecot.conf" <<EOF
protocols = pop3
listen = $DOVECOT_ADDR
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
pop3_lock_session = yes
pop3_uidl_format = %08Xu%08Xv
passdb {
  driver = passwd-file
  args = $base/passwd
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$base/home/%d/%n
}
service pop3-login {
  inet_listener pop3 {
    address = $DOVECOT_ADDR
    port = $DOVECOT_PORT
  }
  inet_listener pop3s {
    port = 0
  }
  chroot =
}
service anvil {
  chroot =
}
EOF
    fill_maildirs "$base/mail"
    chown -R nobody:nogroup "$base"
}

start_dovecot() {
    local base="$dir/dovecot"
    setpriv --reuid=nobody --regid=nogroup --clear-groups \
        "$DOVECOT" -F -c "$base/dovecot.conf" >"$base/stdout" 2>&1 &
    dovecot_pid=$!
    wait_for_listener dovecot "$DOVECOT_ADDR" "$DOVECOT_PORT" "$base/dovecot.log" "$dovecot_pid"
}

# --- Load -------------------------------------------------------------------

# Runs the clients against NAME for SECONDS; prints "sessions seconds".
run_load() { # run_load NAME ADDR PORT SECONDS
    local name=$1 addr=$2 port=$3 seconds=$4 out err
    out="$dir/load.$name.out"
    err="$dir/load.$name.err"
    if ! python3 "$LOAD" "$addr" "$port" "$USER_FORMAT" "$PASSWORD" "$CLIENTS" "$seconds" "$MESSAGES" \
        >"$out" 2>"$err"; then
        echo "pop3.sh: sessions against $name ($addr:$port) failed: $(cat "$out")" >&2
        head -n 5 "$err" >&2
        exit 1
    fi
    # "sessions N errors E seconds S"
    awk '{ print $2, $6 }' "$out"
}

# --- Main -------------------------------------------------------------------

make_template
if wants postern; then
    prepare_postern
    accounts="$dir/postern/data/accounts.toml"
else
    accounts="$(hash_only_accounts)"
fi
wants dovecot && prepare_dovecot "$accounts"
wants postern && start_postern
wants dovecot && start_dovecot

echo "pop3.sh: $CLIENTS clients (one user each), $MESSAGES messages of $MESSAGE_BYTES bytes per INBOX,"
echo "pop3.sh: ${SECONDS_PER_RUN}s runs, $ROUNDS round(s), password hashes: $HASH; scratch in $dir"
# One untimed second for each server first: both build their UID lists and
# (Dovecot) indexes on the first session of each user, and their caches warm.
for server in "${SERVERS[@]}"; do
    case "$server" in
        postern) run_load postern "$POSTERN_ADDR" "$POSTERN_PORT" 1 >/dev/null ;;
        dovecot) run_load dovecot "$DOVECOT_ADDR" "$DOVECOT_PORT" 1 >/dev/null ;;
    esac
done
echo
printf '%-6s %-8s %10s %10s %12s\n' round server seconds sessions "sessions/s"

postern_rates=()
dovecot_rates=()
for ((round = 1; round <= ROUNDS; round++)); do
    for server in "${SERVERS[@]}"; do
        case "$server" in
            postern) result="$(run_load postern "$POSTERN_ADDR" "$POSTERN_PORT" "$SECONDS_PER_RUN")" ;;
            dovecot) result="$(run_load dovecot "$DOVECOT_ADDR" "$DOVECOT_PORT" "$SECONDS_PER_RUN")" ;;
        esac
        read -r sessions seconds <<<"$result"
        rate="$(awk -v n="$sessions" -v s="$seconds" 'BEGIN { printf "%.1f\n", n / s }')"
        printf '%-6s %-8s %10s %10s %12s\n' "$round" "$server" "$seconds" "$sessions" "$rate"
        case "$server" in
            postern) postern_rates+=("$rate") ;;
            dovecot) dovecot_rates+=("$rate") ;;
        esac
    done
done

echo
if wants postern; then
    postern_median="$(median "${postern_rates[@]}")"
    echo "median postern: $postern_median sessions/s"
fi
if wants dovecot; then
    dovecot_median="$(median "${dovecot_rates[@]}")"
    echo "median dovecot: $dovecot_median sessions/s"
fi
if wants postern && wants dovecot; then
    awk -v a="$postern_median" -v b="$dovecot_median" \
        'BEGIN { printf "ratio postern/dovecot: %.2f\n", a / b }'
fi
