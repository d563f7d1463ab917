#!/usr/bin/env bash
# bench/latency.sh: the time one message takes from connect to the 250
# after DATA, postern and Postfix side by side, with Halon's smtpping:
# bench/accept.sh --latency (see there for the settings and what is timed).
exec "$(dirname "${BASH_SOURCE[0]}")/accept.sh" --latency "$@"
