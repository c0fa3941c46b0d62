#!/usr/bin/env bash
# The firmware demo: runs embedded-example/ in QEMU (Cortex-M4F on lm3s6965evb) with its UART on
# a TCP port that picometrics-bridge reads, prints the firmware's own Prometheus text dump, then
# the bridge's http://127.0.0.1:9465/metrics, and keeps the bridge serving until Ctrl-C.
# Needs qemu-system-arm and the thumbv7em target (scripts/test.sh installs both).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v qemu-system-arm >/dev/null || { echo "install qemu-system-arm (Debian) first" >&2; exit 1; }
rustup target add thumbv7em-none-eabihf >/dev/null 2>&1 || true
(cd embedded-example && cargo build --release -q)
cargo build -q -p picometrics-bridge --bin picometrics-bridge
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
qemu-system-arm -cpu cortex-m4 -machine lm3s6965evb -nographic -monitor none \
  -serial "tcp:127.0.0.1:$port,server=on,wait=on" -icount shift=0 \
  -semihosting-config enable=on,target=native \
  -kernel embedded-example/target/thumbv7em-none-eabihf/release/picometrics-embedded-example &
qemu=$!
target/debug/picometrics-bridge --listen 127.0.0.1:9465 --tcp "127.0.0.1:$port" &
bridge=$!
trap 'kill $bridge 2>/dev/null || true' EXIT
wait $qemu
sleep 1
echo; echo "==> the same metrics through the bridge: http://127.0.0.1:9465/metrics"
curl -s http://127.0.0.1:9465/metrics
echo "==> bridge still serving on http://127.0.0.1:9465/metrics; Ctrl-C to stop"
wait $bridge
