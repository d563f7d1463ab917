# bench/lib.sh: what the benchmark scripts share. Sourced, not run:
#     source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# Messages start with the script's name ($BENCH).

BENCH="${0##*/}"

# The comment block at the top of the script, without its '#'s.
usage() {
    sed -n '2,/^$/s/^# \{0,1\}//p' "$0"
}

# Exits 2 unless each variable named holds a positive integer.
require_positive_integers() { # require_positive_integers VAR...
    local var
    for var in "$@"; do
        if ! [[ "${!var}" =~ ^[1-9][0-9]*$ ]]; then
            echo "$BENCH: $var must be a positive integer, not '${!var}'" >&2
            exit 2
        fi
    done
}

# Is SERVER among those to measure (the array SERVERS)?
wants() { # wants SERVER
    local s
    for s in "${SERVERS[@]}"; do [[ "$s" == "$1" ]] && return 0; done
    return 1
}

# The path of a tool, also from /usr/sbin (Postfix's), which is not always
# on PATH; empty when it is not installed.
find_tool() { # find_tool NAME
    command -v "$1" 2>/dev/null || { [[ -x "/usr/sbin/$1" ]] && echo "/usr/sbin/$1"; } || true
}

# Does something accept TCP connections on ADDR:PORT? (bash's /dev/tcp; the
# subshell keeps the descriptor from leaking into this shell.)
listening() { # listening ADDR PORT
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# Waits until ADDR:PORT accepts connections, or exits 1 with the end of the
# server's log. PID, when given, is the server: if it dies the wait ends at
# once. STARTUP_WAIT_SECONDS (30 unless set) bounds the wait.
wait_for_listener() { # wait_for_listener NAME ADDR PORT LOG [PID]
    local name=$1 addr=$2 port=$3 log=$4 pid=${5:-} waited=0
    local limit="${STARTUP_WAIT_SECONDS:-30}"
    until listening "$addr" "$port"; do
        if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
            echo "$BENCH: $name exited before listening on $addr:$port; its log ($log):" >&2
            tail -n 20 "$log" >&2 || true
            exit 1
        fi
        if ((waited >= limit * 10)); then
            echo "$BENCH: $name is not listening on $addr:$port after ${limit}s; its log ($log):" >&2
            tail -n 20 "$log" >&2 || true
            exit 1
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
}

# The median of the numbers given as arguments ("nan" for none).
median() { # median NUMBER...
    printf '%s\n' "$@" | sort -g | awk '
        { v[NR] = $1 }
        END {
            if (NR == 0) { print "nan"; exit }
            if (NR % 2) print v[(NR + 1) / 2]
            else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2
        }'
}

# Ends a script's cleanup: keeps the scratch directory $dir when KEEP is set
# or the run failed (status 1; an interrupted run, 130 or 143, just cleans
# up), removes it otherwise, and exits with STATUS.
leave_scratch() { # leave_scratch STATUS
    if [[ -n "${KEEP:-}" || $1 -eq 1 ]]; then
        echo "$BENCH: scratch directory kept: $dir" >&2
    else
        rm -rf "$dir"
    fi
    exit "$1"
}

# Runs FUNCTION at exit, and makes SIGINT and SIGTERM exit (130, 143) so
# that it runs then too.
on_exit() { # on_exit FUNCTION
    trap "$1" EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}
