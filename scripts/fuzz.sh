#!/usr/bin/env bash
# Runs every libFuzzer target (Fuzz/) for a while each: scripts/fuzz.sh [seconds-per-target] [--update-corpus]
#
# Builds the fuzz package once (release, -sanitize=fuzzer,address) in .build-fuzz, then runs each
# target named in Fuzz/corpus/ for the given seconds (default 300), one after the other, starting
# from its committed seed corpus. New inputs go to a temporary folder, unless --update-corpus merges
# them (minimised) into Fuzz/corpus/. Prints the executions per target and every crash; exits 1 when
# a target crashed or broke a property (the input is kept in .build-fuzz/artifacts/).
#
#   scripts/fuzz.sh 3        # the CI pass: a few seconds per target
#   scripts/fuzz.sh 600      # a campaign
#   PORTCULLIS_FUZZ_TARGETS="otpauth yaml" scripts/fuzz.sh 60    # some targets only
set -euo pipefail

seconds=300
update_corpus=false
for argument in "$@"; do
    case "$argument" in
        --update-corpus) update_corpus=true ;;
        ''|*[!0-9]*) echo "usage: scripts/fuzz.sh [seconds-per-target] [--update-corpus]" >&2; exit 2 ;;
        *) seconds=$argument ;;
    esac
done

root=$(cd "$(dirname "$0")/.." && pwd)
scratch="$root/.build-fuzz"
artifacts="$scratch/artifacts"
mkdir -p "$artifacts"

echo "== building the fuzz targets (release, fuzzer + address sanitizer)"
start=$(date +%s)
# `--sanitize fuzzer --sanitize address` instruments C code (libyaml, bcrypt) and links libFuzzer's
# main, but hands swiftc two -sanitize= flags, of which it keeps the last: the Swift code would get no
# coverage. The one list given last with -Xswiftc wins.
swift build --package-path "$root/Fuzz" --scratch-path "$scratch" -c release --product portcullis-fuzz \
    --sanitize fuzzer --sanitize address -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library \
    >"$scratch/build.log" 2>&1 || {
    tail -40 "$scratch/build.log" >&2
    echo "The fuzz build failed (full log: $scratch/build.log)." >&2
    exit 2
}
echo "   built in $(( $(date +%s) - start )) s"
binary="$scratch/release/portcullis-fuzz"

targets=${PORTCULLIS_FUZZ_TARGETS:-$(cd "$root/Fuzz/corpus" && ls -d */ | tr -d /)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

failed=()
printf '%-28s %12s %8s  %s\n' target executions corpus result
for target in $targets; do
    seeds="$root/Fuzz/corpus/$target"
    [ -d "$seeds" ] || { echo "no seed corpus $seeds" >&2; exit 2; }
    mkdir -p "$work/$target"
    log="$work/$target.log"
    status=0
    ASAN_OPTIONS=detect_leaks=0 PORTCULLIS_FUZZ_TARGET=$target "$binary" "$work/$target" "$seeds" \
        -max_total_time="$seconds" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$artifacts/$target-" >"$log" 2>&1 || status=$?
    executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    corpus=$(ls "$work/$target" | wc -l)
    if [ "$status" -eq 0 ]; then
        result=ok
    else
        result="CRASH (exit $status)"
        failed+=("$target")
        cp "$log" "$artifacts/$target.log"
    fi
    printf '%-28s %12s %8s  %s\n' "$target" "${executions:-?}" "$corpus" "$result"
    if [ "$status" -ne 0 ]; then
        grep -E "Property broken|Fatal error|ERROR: (libFuzzer|AddressSanitizer)|SUMMARY|Test unit written" "$log" | head -8 | sed 's/^/    /'
    fi
    if $update_corpus && [ "$status" -eq 0 ]; then
        PORTCULLIS_FUZZ_TARGET=$target "$binary" -merge=1 -max_len=8192 "$seeds" "$work/$target" >/dev/null 2>&1
    fi
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "Crashes in: ${failed[*]}. Inputs and logs: $artifacts/" >&2
    exit 1
fi
echo "No crash."
