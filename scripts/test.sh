#!/usr/bin/env bash
# The test command: installs what is missing, builds everything (warnings are errors), runs all tests.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh --with-test-peers
export KASPA_SENSOR_STRICT=1
# swift test does not build the dynamic plugin products; build them (and the tests) first.
swift build --build-tests
swift test --skip-build --no-parallel "$@"
