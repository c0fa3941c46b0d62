#!/usr/bin/env bash
# The firmware size report: flash/RAM with and without instrumentation, per function, per dump
# channel (stack measured in QEMU). Rewrites embedded-example/SIZE.md. Needs what the test
# command installs (thumbv6m/thumbv7em targets, qemu-system-arm, defmt-print).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run -q -p picometrics-integration-tests --bin size-report
