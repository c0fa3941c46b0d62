#!/usr/bin/env bash
# The bridge at fleet scale (not part of scripts/test.sh; ~12 min). First DEVICES simulated
# devices of FUNCTIONS functions each dumping once a second, multiplexed on one TCP stream into
# the release `picometrics-bridge`: ingest, memory over time, the full scrape's time and size.
# Then the same fleet over the network — half `POST /api/v1/dumps`, half `--accept` TCP, in
# client processes of their own, each device dumping every 5 s to the other of two bridges
# that remote-write to a real VictoriaMetrics: dumps per bridge CPU-second, samples into the
# database, memory, and the lag until every device's last dump can be queried (once the
# database holds every series: a first dump of every device creates them, its lag reported
# too); then the same over the network with NETWORK_DEVICES devices (10,000 by default).
# Writes benches/FLEET.md.
#   scripts/fleet.sh [DEVICES [FUNCTIONS [SECONDS [NETWORK_DEVICES]]]]   (defaults 1000 50 30 10000)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v victoria-metrics >/dev/null 2>&1 || {
  echo "fleet.sh: victoria-metrics not found: scripts/test.sh installs it (Debian's victoria-metrics)" >&2
  exit 1
}
args=(--devices "${1:-1000}" --functions "${2:-50}" --seconds "${3:-30}")
cargo run -q --release -p picometrics-integration-tests --bin fleet -- "${args[@]}" > benches/FLEET.md
cargo run -q --release -p picometrics-integration-tests --bin fleet-network -- "${args[@]}" --every 5 >> benches/FLEET.md
big=(--devices "${4:-10000}" --functions "${2:-50}" --seconds "${3:-30}")
cargo run -q --release -p picometrics-integration-tests --bin fleet-network -- "${big[@]}" --every 5 >> benches/FLEET.md
cat benches/FLEET.md
