#!/usr/bin/env bash
# What the verify path costs, as ratios to floors measured in the same run (docs/performance.md).
# Builds the release binary (unless PORTCULLIS_BINARY names one) and runs scripts/bench.py, which
# prints one table. --quick: seconds-long runs and a small store, about a minute, to keep the script
# working (CI); its figures are not measurements.
# Usage: scripts/bench.sh [--quick] [--seconds N] [--repeats N] [--output FILE]
#        PORTCULLIS_BINARY=.build/release/portcullis scripts/bench.sh
set -euo pipefail
command_line="scripts/bench.sh${*:+ $*}"
cd "$(dirname "$0")/.."

missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v python3 >/dev/null || missing+=(python3)
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench.sh needs ${missing[*]}: apt-get install ${missing[*]}" >&2
  exit 1
fi

if [ -z "${PORTCULLIS_BINARY:-}" ]; then
  swift build -c release --product portcullis >&2
  PORTCULLIS_BINARY="$(swift build -c release --show-bin-path)/portcullis"
  export BENCH_BUILD=release
fi

# wrk's connections and the servers the benchmark starts inherit this limit.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
BENCH_COMMAND="$command_line" exec python3 scripts/bench.py --bin "$PORTCULLIS_BINARY" "$@"
