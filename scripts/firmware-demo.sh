#!/usr/bin/env bash
# The firmware demo: runs embedded-example/ in QEMU (Cortex-M4F on lm3s6965evb) again and again,
# its UART on a TCP port that picometrics-bridge reads; the bridge's explorer page at
# http://127.0.0.1:9465/ shows the device, /metrics serves its series. Ctrl-C stops.
# Needs qemu-system-arm and the thumbv7em target (scripts/test.sh installs both).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v qemu-system-arm >/dev/null || { echo "install qemu-system-arm (Debian) first" >&2; exit 1; }
rustup target add thumbv7em-none-eabihf >/dev/null 2>&1 || true
(cd embedded-example && cargo build --release -q)
cargo build -q -p picometrics-bridge --bin picometrics-bridge
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
target/debug/picometrics-bridge --listen 127.0.0.1:9465 --tcp "127.0.0.1:$port" 2>/tmp/picometrics-bridge.log &
bridge=$!
trap 'kill $bridge 2>/dev/null || true' EXIT
echo "explorer: http://127.0.0.1:9465/  (pick the device lm3s6965evb)"
echo "metrics:  http://127.0.0.1:9465/metrics   bridge log: /tmp/picometrics-bridge.log"
echo "The firmware boots, runs and dumps over its UART every few seconds (each run a reboot the"
echo "bridge reports); its own text dump goes to /tmp/picometrics-firmware.txt. Ctrl-C stops."
# QEMU listens on the port and holds the guest until the bridge (re)connects.
while kill -0 $bridge 2>/dev/null; do
  qemu-system-arm -cpu cortex-m4 -machine lm3s6965evb -nographic -monitor none \
    -serial "tcp:127.0.0.1:$port,server=on,wait=on" -icount shift=0 \
    -semihosting-config enable=on,target=native \
    -kernel embedded-example/target/thumbv7em-none-eabihf/release/picometrics-embedded-example \
    >/tmp/picometrics-firmware.txt 2>/dev/null
  sleep 2
done
