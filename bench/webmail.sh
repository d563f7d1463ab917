#!/usr/bin/env bash
# bench/webmail.sh: how fast the webmail answers, on loopback only, with
# wrk: the latency of the message list page of a 10,000-message INBOX, of
# a search in it and of opening one of its messages (median and 99th
# percentile, one user at a time), and requests per second for 20 users at once (each logged in
# with a session of its own, alternating their INBOX list and a message).
#
# There is no peer in this figure: no server here ships a webmail to
# compare with (Dovecot has none). The figures are Postern's own, for the
# book and for regressions.
#
# The INBOXes are filled by writing Maildir files directly (the store
# gives them UIDs at the first look, which the warm-up request pays for),
# each message a 4 KiB text one with its own subject and sender.
#
# Usage:
#   bench/webmail.sh [--quick]
#
#   --quick          5-second runs and 1,000 messages (a smoke test)
#
# Environment:
#   MESSAGES=10000   messages in the big INBOX
#   USERS=20         users at once for the requests-per-second figure
#   USER_MESSAGES=200  messages in each of their INBOXes
#   SECONDS_PER_RUN=20  length of each timed run
#   POSTERN_BIN      the postern binary; by default target/release/postern,
#                    built with cargo build --release
#   KEEP=1           keep the scratch directory (configs, logs)
#
# Needs: wrk (Debian's wrk), curl, python3. Postern listens on
# 127.0.0.1:2080.

set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MESSAGES="${MESSAGES:-10000}"
USERS="${USERS:-20}"
USER_MESSAGES="${USER_MESSAGES:-200}"
SECONDS_PER_RUN="${SECONDS_PER_RUN:-20}"
ADDR=127.0.0.1
PORT=2080
DOMAIN=bench.test
PASSWORD="bench-password-1"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

while (($# > 0)); do
    case "$1" in
        --quick) SECONDS_PER_RUN=5 MESSAGES=1000 ;;
        -h | --help) usage; exit 0 ;;
        *) echo "webmail.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
    shift
done
require_positive_integers MESSAGES USERS USER_MESSAGES SECONDS_PER_RUN
for tool in wrk curl python3; do
    command -v "$tool" >/dev/null || { echo "webmail.sh: $tool is missing (apt-get install $tool)" >&2; exit 2; }
done
if listening "$ADDR" "$PORT"; then
    echo "webmail.sh: something already listens on $ADDR:$PORT" >&2
    exit 2
fi

if [[ -z "${POSTERN_BIN:-}" ]]; then
    echo "webmail.sh: cargo build --release -p postern" >&2
    (cd "$REPO_ROOT" && nice cargo build --release -p postern) >&2
    POSTERN_BIN="$REPO_ROOT/target/release/postern"
fi

dir=$(mktemp -d /tmp/postern-bench-webmail.XXXXXX)
server_pid=
cleanup() {
    local status=$?
    [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    leave_scratch "$status"
}
on_exit cleanup

users=$(python3 -c "print(', '.join('\"user%d\"' % i for i in range(1, $USERS + 1)))")
cat > "$dir/postern.toml" <<TOML
[server]
hostname = "bench.test"
data_dir = "data"
run_as_root = true

[[service]]
name = "smtp"
kind = "smtp"
listen = "$ADDR:2025"

[[service]]
name = "web"
kind = "http"
listen = "$ADDR:$PORT"
auth_without_tls = true
max_connections = 100
max_connections_per_host = 100

[auth]
failure_delay = "0s"

[[domain]]
name = "$DOMAIN"
users = ["big", $users]
TOML
mkdir -p "$dir/data"

echo "webmail.sh: adding $((USERS + 1)) accounts and filling their INBOXes" >&2
for user in big $(seq -f 'user%g' 1 "$USERS"); do
    printf '%s\n' "$PASSWORD" | "$POSTERN_BIN" user add "$user@$DOMAIN" --config "$dir/postern.toml" >/dev/null 2>&1 ||
        { echo "webmail.sh: postern user add $user@$DOMAIN failed" >&2; exit 1; }
done
python3 - "$dir/data/mail/$DOMAIN" "$MESSAGES" "$USERS" "$USER_MESSAGES" <<'PY'
import os, sys
root, big, users, each = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
filler = ("The quick brown fox jumps over the lazy dog. " * 90)[:3900]
def fill(user, count):
    for sub in ("new", "cur", "tmp"):
        os.makedirs(os.path.join(root, user, sub), exist_ok=True)
    for i in range(count):
        text = (
            f"From: Sender {i % 97} <sender{i % 97}@example.test>\r\n"
            f"To: {user}@bench.test\r\n"
            f"Subject: Message number {i} about topic {i % 13}\r\n"
            f"Date: Mon, 30 Nov 2026 {i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d} +0000\r\n"
            f"Message-ID: <{user}.{i}@example.test>\r\n\r\n{filler}\r\n"
        )
        name = f"{1764460800 + i}.M{i}P1.bench"
        with open(os.path.join(root, user, "new", name), "w") as f:
            f.write(text)
fill("big", big)
for n in range(1, users + 1):
    fill(f"user{n}", each)
PY

"$POSTERN_BIN" run --config "$dir/postern.toml" > "$dir/postern.log" 2>&1 &
server_pid=$!
wait_for_listener postern "$ADDR" "$PORT" "$dir/postern.log" "$server_pid"

# Logs USER in and prints the session cookie's value.
login() {
    local jar="$dir/jar-$1" token
    token=$(curl -s -c "$jar" -b "$jar" "http://$ADDR:$PORT/login" | sed -n 's/.*name="token" value="\([^"]*\)".*/\1/p' | head -n 1)
    curl -s -o /dev/null -c "$jar" -b "$jar" --data-urlencode "token=$token" \
        --data-urlencode "login=$1@$DOMAIN" --data-urlencode "password=$PASSWORD" \
        --data-urlencode computer=personal "http://$ADDR:$PORT/login"
    awk '$6 == "postern_session" { print $7 }' "$jar"
}

big=$(login big)
[[ -n "$big" ]] || { echo "webmail.sh: the login of big@$DOMAIN failed; log: $dir/postern.log" >&2; exit 1; }
list_url="http://$ADDR:$PORT/folder?f=INBOX"
message_url="http://$ADDR:$PORT/message?f=INBOX&uid=$((MESSAGES / 2))"
started=$SECONDS
curl -s -o /dev/null -b "postern_session=$big" "$list_url"
echo "webmail.sh: first look at the $MESSAGES-message INBOX (UIDs assigned): $((SECONDS - started)) s" >&2
for i in 1 2 3; do curl -s -o /dev/null -b "postern_session=$big" "$list_url"; done

# wrk --latency's "     50%    1.23ms" -> milliseconds
percentile() { # percentile PERCENT WRK_OUTPUT
    awk -v p="$1%" '$1 == p {
        v = $2
        if (v ~ /us$/) { sub(/us$/, "", v); v = v / 1000 }
        else if (v ~ /ms$/) { sub(/ms$/, "", v) }
        else if (v ~ /s$/) { sub(/s$/, "", v); v = v * 1000 }
        printf "%.2f", v
    }' <<<"$2"
}

one_user() { # one_user URL
    wrk -t1 -c1 -d"${SECONDS_PER_RUN}s" --latency -H "Cookie: postern_session=$big" "$1"
}
list_out=$(one_user "$list_url")
message_out=$(one_user "$message_url")
# A search reads every message's header section.
search_out=$(one_user "$list_url&q=topic%203")

cookies=()
for n in $(seq 1 "$USERS"); do cookies+=("$(login "user$n")"); done
lua="$dir/users.lua"
{
    echo "local cookies = {"
    printf '  "%s",\n' "${cookies[@]}"
    echo "}"
    cat <<'LUA'
local n = 0
request = function()
    n = n + 1
    local cookie = "postern_session=" .. cookies[(n % #cookies) + 1]
    local path = "/folder?f=INBOX"
    if n % 2 == 0 then path = "/message?f=INBOX&uid=" .. ((n % 100) + 1) end
    return wrk.format("GET", path, { ["Cookie"] = cookie })
end
LUA
} > "$lua"
many_out=$(wrk -t2 -c"$USERS" -d"${SECONDS_PER_RUN}s" --latency -s "$lua" "http://$ADDR:$PORT/")
rps=$(awk '/^Requests\/sec/ { printf "%.0f", $2 }' <<<"$many_out")
errors=$(awk '/Non-2xx|Socket errors/ { print }' <<<"$many_out")

printf '\n%-48s %10s %10s\n' "webmail, this machine ($(nproc) cores)" "median" "p99"
printf '%-48s %8s ms %7s ms\n' "message list, $MESSAGES-message INBOX, 1 user" "$(percentile 50 "$list_out")" "$(percentile 99 "$list_out")"
printf '%-48s %8s ms %7s ms\n' "searching the $MESSAGES messages' headers, 1 user" "$(percentile 50 "$search_out")" "$(percentile 99 "$search_out")"
printf '%-48s %8s ms %7s ms\n' "opening a message, 1 user" "$(percentile 50 "$message_out")" "$(percentile 99 "$message_out")"
printf '%-48s %8s ms %7s ms\n' "$USERS users, list and message alternately" "$(percentile 50 "$many_out")" "$(percentile 99 "$many_out")"
printf '%-48s %10s\n' "requests per second, $USERS users" "$rps"
if [[ -n "$errors" ]]; then
    echo "webmail.sh: errors during the run: $errors" >&2
    exit 1
fi
