#!/usr/bin/env bash
# Starts the instrumented demo service (a mix of ok, error, slow and nested calls) and prints
# where to look: the explorer page http://127.0.0.1:9464/, /metrics and /rules. When Prometheus
# is installed it also runs `picometrics up` (a local Prometheus at http://127.0.0.1:9090 that
# scrapes the demo and loads its alert rules; the page links its queries there). Ctrl-C stops
# everything and prints a per-function summary. Extra arguments go to the demo (--listen ADDR,
# --duration S, --rules); PROMETHEUS_LISTEN moves the local Prometheus.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q -p picometrics-exporter --features exemplars --example demo
demo=target/debug/examples/demo

listen=127.0.0.1:9464
args=("$@")
for i in "${!args[@]}"; do
  case "${args[$i]}" in
    --listen) listen="${args[$((i + 1))]:-$listen}" ;;
    --rules) exec "$demo" "$@" ;;
  esac
done

if ! command -v prometheus >/dev/null 2>&1; then
  echo "(Prometheus is not installed: the page works without it. For PromQL links and alerts:"
  echo " sudo apt-get install prometheus, then run this again.)"
  exec "$demo" "$@"
fi

cargo build -q -p picometrics-cli --bin picometrics
prometheus_listen=${PROMETHEUS_LISTEN:-127.0.0.1:9090}
PROMETHEUS_URL="http://$prometheus_listen" "$demo" "$@" &
demo_pid=$!
# Ctrl-C reaches the demo and `picometrics up` (same process group); this script waits for both.
trap ':' INT
for _ in $(seq 100); do
  curl -sf "http://$listen/metrics" >/dev/null 2>&1 && break
  kill -0 $demo_pid 2>/dev/null || break
  sleep 0.1
done
target/debug/picometrics up --target "$listen" --listen "$prometheus_listen" --interval 5 &
up_pid=$!
while kill -0 $demo_pid 2>/dev/null; do wait $demo_pid || true; done
kill -INT $up_pid 2>/dev/null || true
while kill -0 $up_pid 2>/dev/null; do wait $up_pid || true; done
