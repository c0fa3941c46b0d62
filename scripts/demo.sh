#!/usr/bin/env bash
# Instruments a few functions, calls them and prints the Prometheus exposition text and the
# generated PromQL queries.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run -q -p picometrics --example demo
