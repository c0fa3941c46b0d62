#!/usr/bin/env bash
# The bridge at fleet scale (not part of scripts/test.sh; ~1 min): DEVICES simulated devices of
# FUNCTIONS functions each dumping once a second, multiplexed on one TCP stream into the release
# `picometrics-bridge`; reports ingest, memory over time and the full scrape's time and size.
# Writes benches/FLEET.md.
#   scripts/fleet.sh [DEVICES [FUNCTIONS [SECONDS]]]   (defaults 1000 50 30)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run -q --release -p picometrics-integration-tests --bin fleet -- \
  --devices "${1:-1000}" --functions "${2:-50}" --seconds "${3:-30}" | tee benches/FLEET.md
