#!/usr/bin/env bash
# Fuzzing (issue 12 part 5), outside CI: builds the libFuzzer harnesses with AddressSanitizer and runs each for a
# set number of executions, then merges what the run found into the committed corpus (Fuzz/corpus/<harness>),
# which FuzzCorpusTests replays in every `swift test`.
#   ./scripts/fuzz.sh all                  # every harness, 10,000,000 executions each
#   ./scripts/fuzz.sh session 1000000      # one harness, a given count
#   ./scripts/fuzz.sh messages -1 -max_total_time=600  # further arguments go to libFuzzer (-1 runs: no limit)
# Harnesses: messages session journal sensor-toml plugins-toml (Swift, Sources/FuzzTargets) and jsonl-config (C).
# Everything runs at nice 19. A crash leaves its input in .build-fuzz/artifacts/<harness>/ and stops the script;
# add it as a regression test (FuzzCorpusTests) with the fix. FUZZ_MERGE=0 skips the corpus merge; FUZZ_BUILD=0
# reuses the Swift fuzzer already built (another run may be using it).
#
# Why this way: a SwiftPM executable target cannot link with libFuzzer (both define main), so the Swift code is
# built as the library target FuzzTargets with -sanitize=fuzzer,address in its own scratch path and its objects
# linked here with swiftc; SWIFT_BACKTRACE=enable=no, or a crash hangs in Swift's backtracer instead of reaching
# libFuzzer. To replay a saved input: SWIFT_BACKTRACE=enable=no .build-fuzz/fuzzers/<harness> <file>
set -euo pipefail
cd "$(dirname "$0")/.."
swift_harnesses=(messages session journal sensor-toml plugins-toml)
all_harnesses=("${swift_harnesses[@]}" jsonl-config)
which=${1:?usage: scripts/fuzz.sh <harness|all> [executions] [libFuzzer arguments…]}
runs=${2:-10000000}
shift $(($# < 2 ? $# : 2))
scratch=.build-fuzz
bin=$scratch/fuzzers
# Optimised by default: a -Onone build with ASan runs the Swift harnesses 5-30 times slower. FUZZ_CONFIG=debug
# builds the debug configuration instead (faster to build, easier to read in a debugger).
config=${FUZZ_CONFIG:-release}
mkdir -p "$bin"

if [[ $which == all ]]; then
    harnesses=("${all_harnesses[@]}")
elif [[ " ${all_harnesses[*]} " == *" $which "* ]]; then
    harnesses=("$which")
else
    echo "unknown harness $which (known: ${all_harnesses[*]} all)" >&2
    exit 2
fi

# The Swift harnesses are one binary: FuzzTargets and everything it depends on, instrumented, linked with
# libFuzzer; FuzzTargets defines LLVMFuzzerTestOneInput and picks the harness by the name it was started as.
build_swift() {
    nice -n 19 swift build -c "$config" --scratch-path "$scratch" -Xswiftc -sanitize=fuzzer,address --target FuzzTargets
    # Every object of that build: FuzzTargets' dependency closure (no executable target is built with --target).
    local objects=() newer
    while IFS= read -r object; do objects+=("$object"); done < <(find "$scratch/$config/" -path '*.build/*.o' | sort)
    newer=$(find "$scratch/$config/" -path '*.build/*.o' -newer "$bin/kaspa-fuzz" -print -quit 2>/dev/null || echo new)
    if [[ ! -x $bin/kaspa-fuzz || -n $newer ]]; then
        nice -n 19 swiftc -sanitize=fuzzer,address -use-ld=lld "${objects[@]}" -lstdc++ -o "$bin/kaspa-fuzz.new"
        mv "$bin/kaspa-fuzz.new" "$bin/kaspa-fuzz"
    fi
    local harness
    for harness in "${swift_harnesses[@]}"; do ln -sf kaspa-fuzz "$bin/$harness"; done
    built_swift=1
}

build_c() {
    nice -n 19 clang -fsanitize=fuzzer,address -fuse-ld=lld -g -O1 -Wall -Wextra -Werror \
        -I Sources/Plugins/JSONLinesSink Fuzz/jsonl_config_fuzz.c Sources/Plugins/JSONLinesSink/jsonl_config.c -o "$bin/jsonl-config"
}

run() {
    local name=$1
    shift
    local work=$scratch/corpus/$name artifacts=$scratch/artifacts/$name/
    mkdir -p "$work" "$artifacts" "Fuzz/corpus/$name"
    # -max_len keeps corpus entries small; new entries go to the first (scratch) folder. -timeout counts wall
    # time: at nice 19 on a busy machine a 50 ms input can wait seconds for a core. The log is
    # .build-fuzz/<harness>.log (tail -f it to watch).
    # TOMLKit frees no parsed document (about 700 bytes an execution here): over 10 million executions the TOML
    # harnesses outgrow libFuzzer's 2 GB default, a leak of the test bed, not of one input.
    local rss_limit=2048
    [[ $name != *-toml ]] || rss_limit=12288
    local status=0
    SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=$asan_options nice -n 19 "$bin/$name" -runs="$runs" -max_len=4096 \
        -timeout=60 -rss_limit_mb="$rss_limit" -print_final_stats=1 -artifact_prefix="$artifacts" "$@" "$work" "Fuzz/corpus/$name" \
        >"$scratch/$name.log" 2>&1 || status=$?
    grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::average_exec_per_sec|SUMMARY)' \
        "$scratch/$name.log" | sed "s/^/$name: /" || true
    if [[ $status -ne 0 ]]; then
        echo "$name: the fuzzer failed (exit $status); see $scratch/$name.log and $artifacts" >&2
        exit 1
    fi
    [[ ${FUZZ_MERGE:-1} == 1 ]] || return 0
    # Minimise: the seeds (seed-*, hand-written) stay, plus a small set of files covering what the rest adds.
    local merged=$scratch/merged/$name
    rm -rf "$merged" && mkdir -p "$merged"
    find "Fuzz/corpus/$name" -name 'seed-*' -exec cp {} "$merged/" \;
    SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=$asan_options nice -n 19 "$bin/$name" -set_cover_merge=1 -max_len=4096 \
        "$merged" "Fuzz/corpus/$name" "$work" >"$scratch/$name.merge.log" 2>&1
    rm -rf "Fuzz/corpus/$name" && mv "$merged" "Fuzz/corpus/$name"
    echo "$name: $(find "Fuzz/corpus/$name" -type f | wc -l) corpus files"
}

for name in "${harnesses[@]}"; do
    if [[ $name == jsonl-config ]]; then
        build_c
        asan_options=
        run "$name" "$@"
    else
        [[ -v built_swift || ${FUZZ_BUILD:-1} == 0 ]] || build_swift
        # Leak detection off: LeakSanitizer takes Swift globals holding enum-packed references (a static
        # KaspaMessage) for leaks at exit, and TOMLKit leaks a few bytes per parse (its error record, key arrays).
        asan_options=detect_leaks=0
        run "$name" "$@"
    fi
done
