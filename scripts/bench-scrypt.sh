#!/usr/bin/env bash
# Measures what one password hash costs with the default scrypt parameters (N=2^15, r=8, p=1):
# the time of `portcullis hash-password` minus the time of a command that does no hashing.
# Usage: scripts/bench-scrypt.sh   (builds a release binary first; needs hyperfine from Debian)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { echo "needs hyperfine: apt-get install hyperfine" >&2; exit 1; }
swift build -c release --product portcullis >/dev/null
bin=$(swift build -c release --show-bin-path)/portcullis
input=$(mktemp)
trap 'rm -f "$input"' EXIT
printf 'correct horse battery staple\n' > "$input"
hyperfine --warmup 3 --runs 30 \
  "$bin hash-password --password-stdin < $input" "$bin --version"
