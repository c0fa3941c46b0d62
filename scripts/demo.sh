#!/usr/bin/env bash
# Starts the instrumented demo service: a mix of ok, error, slow and nested calls, served at
# http://127.0.0.1:9464/metrics. Prints the generated PromQL queries with their links, and a
# per-function summary on Ctrl-C. Extra arguments go to the demo (--listen ADDR, --duration S).
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run -q -p picometrics-exporter --features exemplars --example demo -- "$@"
