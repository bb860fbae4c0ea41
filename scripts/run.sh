#!/usr/bin/env bash
# One command from a fresh Debian machine with Swift: install what is missing, build in release mode, and run
# the sensor on its embedded default sink (SQLite). Arguments go to kaspa-sensor, e.g.
#   ./scripts/run.sh --sensor-id my-sensor
#   ./scripts/run.sh -c sensor.toml
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
swift build -c release
exec "$(swift build -c release --show-bin-path)/kaspa-sensor" "$@"
