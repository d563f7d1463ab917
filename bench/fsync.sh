#!/usr/bin/env bash
# bench/fsync.sh: why a spool commit keeps its own fdatasync. Durable
# commits per second of three ways to make a 4 KiB spool file durable, on
# the filesystem the spool is on (bench/fsync_commits.py says what each
# does):
#
#   spool    the file's own fdatasync, then a directory fsync shared by
#            concurrent commits (what postern does)
#   serial   the file's own fdatasync and its own directory fsync
#   syncfs   one syncfs(2) of the whole filesystem shared by concurrent
#            commits, no per-file sync (a group commit of the data too)
#
# With THREADS writers at once (1 and 20 by default), ROUNDS rounds, the
# ways alternating within a round; prints every run, then the medians and
# each way's ratio to spool.
#
# Usage:
#   bench/fsync.sh [--quick]
#
#   --quick    1 round of 20 commits per thread
#
# Environment:
#   DIR=target/bench-fsync   where the files go (on the spool's filesystem)
#   ROUNDS=3                 rounds
#   COMMITS=200              commits per thread per run
#   THREADS="1 20"           writer counts
#
# Needs: python3. Exit status: 0 on success, 2 on bad settings, 1 on any
# other failure.

set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${DIR:-$REPO_ROOT/target/bench-fsync}"
ROUNDS="${ROUNDS:-3}"
COMMITS="${COMMITS:-200}"
THREADS="${THREADS:-1 20}"
WAYS=(spool serial syncfs)

while (($# > 0)); do
    case "$1" in
        --quick)
            ROUNDS=1
            COMMITS=20
            ;;
        -h | --help)
            usage
            exit 0
            ;;
        *)
            echo "$BENCH: unknown argument '$1' (see --help)" >&2
            exit 2
            ;;
    esac
    shift
done
require_positive_integers ROUNDS COMMITS
for threads in $THREADS; do
    require_positive_integers threads
done

mkdir -p "$DIR"
trap 'rm -rf "$DIR"' EXIT
echo "filesystem of $DIR: $(df -T "$DIR" | awk 'NR == 2 { print $2 }'), kernel $(uname -r)"

results="$(mktemp)"
printf '%-6s %-7s %8s %12s\n' round way threads commits/s
for ((round = 1; round <= ROUNDS; round++)); do
    for threads in $THREADS; do
        for way in "${WAYS[@]}"; do
            read -r _ _ rate < <(python3 "$REPO_ROOT/bench/fsync_commits.py" \
                --dir "$DIR" --way "$way" --threads "$threads" --commits "$COMMITS")
            printf '%-6s %-7s %8s %12s\n' "$round" "$way" "$threads" "$rate"
            echo "$way $threads $rate" >>"$results"
        done
    done
done

echo
printf '%-7s %8s %18s %10s\n' way threads 'median commits/s' '/spool'
for threads in $THREADS; do
    spool="$(awk -v t="$threads" '$1 == "spool" && $2 == t { print $3 }' "$results" | sort -n |
        awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')"
    for way in "${WAYS[@]}"; do
        median="$(awk -v w="$way" -v t="$threads" '$1 == w && $2 == t { print $3 }' "$results" |
            sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')"
        printf '%-7s %8s %18s %10s\n' "$way" "$threads" "$median" \
            "$(awk -v m="$median" -v s="$spool" 'BEGIN { printf "%.2f", m / s }')"
    done
done
rm -f "$results"
