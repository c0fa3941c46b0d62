#!/usr/bin/env bash
# Runs the benchmark suite in one go and writes benches/REPORT.md and benches/report.json:
# per-call overhead against the hand-written floors and the peers (autometrics, metrics,
# prometheus, prometheus-client), alone and with 2 threads; render cost; allocations; and
# callgrind instruction counts. About 10 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../benches"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v valgrind >/dev/null 2>&1; then
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends valgrind
fi

# picometrics timed with std's Instant (only its cases), then everything with the TSC clock.
cargo bench --no-default-features --bench per_call -- picometrics
cargo bench --bench per_call
cargo bench --bench render
cargo build --release --bins
cargo run --release --bin bench_report
