#!/usr/bin/env bash
# bench/relay.sh: relay throughput of postern and Postfix, side by side:
# bench/accept.sh --relay (see there for the settings and what is timed).
exec "$(dirname "${BASH_SOURCE[0]}")/accept.sh" --relay "$@"
