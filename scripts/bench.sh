#!/usr/bin/env bash
# One command: build everything in release mode (the sensor, the sink plugins, kaspa-bench) and run the
# benchmarks on loopback. Prints one FIGURE line per measurement, then a Markdown summary to paste into the README.
# Arguments go to kaspa-bench, e.g.
#   ./scripts/bench.sh                      # every figure (about 5 minutes after the build)
#   ./scripts/bench.sh --figures 1,3        # only handshakes and the event pipeline
#   ./scripts/bench.sh --peers 2000 --seconds 5 --events 100000 --probes 300
# BENCH_SCRATCH picks the build folder (default .build, as scripts/run.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=(--scratch-path "${BENCH_SCRATCH:-.build}")
swift build -c release "${scratch[@]}"
bin=$(swift build -c release "${scratch[@]}" --show-bin-path)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if ! git diff --quiet HEAD 2>/dev/null; then commit="$commit-dirty"; fi
# 10,000 peers need ~10,000 descriptors in the sensor and as many in the load generator (separate processes).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
KASPA_BENCH_COMMIT=$commit exec "$bin/kaspa-bench" "$@"
