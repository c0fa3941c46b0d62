#!/usr/bin/env bash
# The soak test (not part of scripts/test.sh): two writer threads at full speed on several
# instrumented functions, the exporter scraped 50 times a second by a second process, for
# SECONDS (default 600). Passes when no count is lost, no scrape failed or was inconsistent, no
# counter went down; prints the RSS of the service over time (flat after warm-up).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
cargo build -q --release -p picometrics-integration-tests --bin soak --bin soak-scraper
out=$(mktemp)
target/release/soak --seconds "$seconds" --listen 127.0.0.1:0 > "$out" &
soak=$!
trap 'kill $soak 2>/dev/null || true; rm -f "$out"' EXIT
while ! grep -q '^metrics: ' "$out"; do sleep 0.1; done
url=$(sed -n 's/^metrics: //p' "$out")
target/release/soak-scraper "$url" "$soak" "$((seconds - 2))"
scraper=$?
wait $soak
soak_status=$?
tail -n +2 "$out"
exit $((scraper | soak_status))
