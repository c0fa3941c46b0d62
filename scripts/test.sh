#!/usr/bin/env bash
# Runs every test on a fresh machine: installs what the tests need, then format, lint, docs,
# host tests (incl. trybuild and promtool) and the bare-metal builds.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

step() { printf '\n==> %s\n' "$*"; }

# Every `cargo test` goes through here, so the totals can be printed at the end.
results=$(mktemp)
trap 'rm -f "$results"' EXIT
ctest() { cargo test "$@" 2>&1 | tee -a "$results"; }

step "installing test prerequisites"
missing=()
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v qemu-system-arm >/dev/null 2>&1 || missing+=(qemu-system-arm)
# The RISC-V firmware (tests/tests/firmware_riscv.rs): qemu-system-riscv32.
command -v qemu-system-riscv32 >/dev/null 2>&1 || missing+=(qemu-system-misc)
command -v valgrind >/dev/null 2>&1 || missing+=(valgrind)
# The fleet tests (tests/tests/fleet_scale_out.rs): VictoriaMetrics and vmalert, one package.
command -v vmalert >/dev/null 2>&1 || missing+=(victoria-metrics)
# The explorer's browser tests (tests/tests/explorer.rs): Debian's Chromium and its driver,
# driven by playwright-core from npm.
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
# `picometrics top` runs in a pseudo-terminal made by util-linux's `script` (tests/tests/diff.rs).
command -v script >/dev/null 2>&1 || missing+=(bsdutils)
# `picometrics diff`'s reference statistics (scipy) go into a venv.
python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
rustup component add clippy rustfmt
rustup target add thumbv6m-none-eabi thumbv7m-none-eabi thumbv7em-none-eabihf \
  riscv32imc-unknown-none-elf riscv32imac-unknown-none-elf
rustup component add miri rust-src --toolchain nightly
# Runs the fuzz targets in fuzz/.
command -v cargo-fuzz >/dev/null 2>&1 || [ -x "${CARGO_HOME:-$HOME/.cargo}/bin/cargo-fuzz" ] \
  || cargo install cargo-fuzz --locked --version 0.13.2
# Decodes the firmware's defmt frames (tests/tests/firmware_qemu.rs).
command -v defmt-print >/dev/null 2>&1 || [ -x "${CARGO_HOME:-$HOME/.cargo}/bin/defmt-print" ] \
  || cargo install defmt-print --locked --version 1.2.0

(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
# The OTLP test's independent decoder: the official schema's Python package, pinned.
python3 -m venv target/otlp-venv
target/otlp-venv/bin/pip install -q --disable-pip-version-check -r tests/otlp/requirements.txt
# …and scipy, the reference `picometrics diff`'s statistics are checked against, in the same venv.
target/otlp-venv/bin/pip install -q --disable-pip-version-check -r tests/stats/requirements.txt
touch target/otlp-venv/.installed

export RUSTFLAGS="-D warnings"
export RUSTDOCFLAGS="-D warnings"
export CARGO_TERM_COLOR=never
# Disk: a CI machine once had ~2 GB free and this script stopped in clippy ("No space left on
# device"). Incremental caches (a throw-away run never reuses them) and full debug info in every
# test binary were most of the 15 GB a cold run wrote; line tables keep panics' file:line. On
# CI (CI set, as `.ci/run` does) the target dirs of one-off configurations (32-bit counters,
# loom, Miri, the fuzzers) are removed once their step is done.
export CARGO_INCREMENTAL=0
export CARGO_PROFILE_DEV_DEBUG=line-tables-only
export CARGO_PROFILE_RELEASE_DEBUG=line-tables-only
export CARGO_PROFILE_BENCH_DEBUG=line-tables-only
step "disk before the build"
df -h . | tail -1

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo fmt --check and clippy (firmware; its own workspace and linker flags)"
(
  cd embedded-example
  cargo fmt -- --check
  unset RUSTFLAGS
  for target in thumbv7em-none-eabihf thumbv6m-none-eabi; do
    for features in text,frames defmt text,embassy uninstrumented,extra-functions text,frames,worst-case text,frames,periodic text,frames,embassy-periodic text,frames,extra-metrics defmt,user-metrics text,frames,persist text,deltas instructions instructions,inline-calls; do
      cargo clippy --release --target "$target" --no-default-features --features "$features" -- -D warnings
    done
  done
  # RISC-V (QEMU virt): what differs from the Cortex-M builds (the platform code is shared by
  # every feature; the tests build the other variants with -D warnings).
  for features in text,frames,user-metrics,periodic uninstrumented,extra-functions; do
    cargo clippy --release --target riscv32imc-unknown-none-elf --no-default-features --features "$features" -- -D warnings
  done
  cargo clippy --release --target riscv32imac-unknown-none-elf -- -D warnings
  # The real-board build (nRF52840-DK: defmt over RTT, frames on UART0); linked and checked by
  # tests/tests/firmware_qemu.rs.
  cargo clippy --release --target thumbv7em-none-eabihf --no-default-features --features nrf52840 -- -D warnings
  # The cycle-counter clock: Cortex-M3 and up only (v6-M has no DWT cycle counter).
  for features in text,frames,dwt-clock instructions,dwt-clock; do
    cargo clippy --release --target thumbv7em-none-eabihf --no-default-features --features "$features" -- -D warnings
  done
)

# The ESP32-C3 board: formatting here; tests/tests/firmware_riscv.rs builds it, its warnings
# denied by its own config (a clippy pass would build esp-hal once more, ~1 min).
(cd boards/esp32c3 && cargo fmt -- --check)

step "cargo fmt --check and clippy (benches; their own workspace with the peers)"
(cd benches && cargo fmt -- --check && cargo clippy --all-targets -- -D warnings)
(cd fuzz && cargo fmt -- --check)

step "cargo clippy (host)"
cargo clippy --workspace --all-targets -- -D warnings
cargo clippy -p picometrics --all-targets --features exemplars,serde,frames,persist -- -D warnings
cargo clippy -p picometrics-exporter --all-targets --all-features -- -D warnings

step "cargo doc"
cargo doc --workspace --no-deps
cargo doc -p picometrics-exporter --no-deps --all-features
cargo doc -p picometrics --no-deps --features persist,frames,serde

step "bare-metal builds of the core (no CAS: thumbv6m; 32-bit atomics: thumbv7em)"
for target in thumbv6m-none-eabi thumbv7em-none-eabihf; do
  cargo build -p picometrics --no-default-features --target "$target"
  cargo build -p picometrics --no-default-features --features defmt,serde,frames --target "$target"
  cargo build -p picometrics --no-default-features --features embassy-time --target "$target"
  cargo clippy -p picometrics --no-default-features --features defmt,serde,frames --target "$target" -- -D warnings
  cargo clippy -p picometrics --no-default-features --features persist,frames --target "$target" -- -D warnings
done

step "MSRV: the published crates build with the Rust version their manifests state"
# `rust-version` in Cargo.toml, read here so the check and the claim cannot drift apart.
msrv=$(sed -n 's/^rust-version = "\(.*\)"/\1/p' Cargo.toml)
rustup toolchain install "$msrv" --profile minimal --target thumbv7em-none-eabihf >/dev/null
(
  unset RUSTFLAGS
  cargo +"$msrv" check --workspace --exclude picometrics-integration-tests --exclude picometrics-test-support \
    --all-features --target-dir target/msrv
  cargo +"$msrv" check -p picometrics --no-default-features --features defmt,serde,frames,persist \
    --target thumbv7em-none-eabihf --target-dir target/msrv
)
[ -z "${CI:-}" ] || rm -rf target/msrv

step "cargo package: the published crates pack and build from their packages alone"
# Cargo takes a local package of an unchanged version for immutable, as if from a registry: a
# copy unpacked or built by an earlier run would be used instead of this one. Both go first.
rm -rf "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/picometrics-* target/package-check
# The test crates (`tests/`, `test-support/`) are `publish = false`: cargo leaves them out.
cargo package -p picometrics-schema -p picometrics-macros -p picometrics -p picometrics-exporter \
  -p picometrics-bridge -p picometrics-cli --allow-dirty --target-dir target/package-check
echo "test result: ok. 1 passed; 0 failed; cargo package" | tee -a "$results"
rm -rf target/package-check

step "cargo test"
ctest --workspace

step "cargo test: the core's other clocks and features"
# Bare-metal clock (`clock!`) and the single-core caller global, on the host.
ctest -p picometrics --no-default-features --test bare_metal_clock --test bare_metal_clock32
# embassy-time's clock, driven by its mock driver.
ctest -p picometrics --features embassy-time --test embassy_clock
# serde snapshots and the frame format.
ctest -p picometrics --features serde --test serde_snapshot
ctest -p picometrics --features frames --test frames --test deltas --test user_metrics
# Counts that survive a warm reset, simulated on the host (QEMU resets for real).
ctest -p picometrics --features persist --test persist --lib
ctest -p picometrics --features frames --doc frame
# Exemplars, the prometheus-crate bridge and the OpenTelemetry exemplar source.
ctest -p picometrics --features exemplars --lib --test exemplars
# Every feature at once, as `cargo test --all-features` runs them (embassy's mock clock among
# them: the tests that time a call let its time pass too; persist's counters in every dump).
ctest -p picometrics --all-features
ctest -p picometrics-exporter --all-features

step "cargo test: the 32-bit counter path of thumbv6m/v7em on the host (wrap-around included)"
# `--cfg picometrics_counter32` selects u32 counters and the critical-section sum, as on targets
# without 64-bit atomics; the core's unit tests, the model property tests, the macro-level call
# tests and the concurrent consistency test run on it.
RUSTFLAGS="--cfg picometrics_counter32 -D warnings" \
  ctest -p picometrics --lib --test model --test calls --test consistency --target-dir target/counter32
[ -z "${CI:-}" ] || rm -rf target/counter32

step "loom: model checks of the lock-free protocols (caller edges, snapshots, the gauge under panics, the exemplar seqlock)"
RUSTFLAGS="--cfg loom -D warnings" ctest -p picometrics --test loom --release --target-dir target/loom
# The exemplar seqlock (feature `exemplars`).
RUSTFLAGS="--cfg loom -D warnings" ctest -p picometrics --features exemplars --test loom --release --target-dir target/loom
[ -z "${CI:-}" ] || rm -rf target/loom

step "Miri: the core's unit tests, incl. its unsafe code (raw caller pointers, pin projection)"
# Instant instead of quanta: Miri cannot execute `rdtsc`. Nightly's own lints may differ from
# stable's, so `-D warnings` stays with the stable steps above.
(
  unset RUSTFLAGS
  cargo +nightly miri setup >/dev/null
  cargo +nightly miri test -p picometrics --no-default-features --features std,frames --lib 2>&1 | tee -a "$results"
)
[ -z "${CI:-}" ] || rm -rf target/miri

step "cargo fuzz: each target for 30 s from its seeds (fuzz/README.md)"
(
  cd fuzz
  unset RUSTFLAGS
  cargo +nightly fuzz build
  for target in render_labels frame_decoder accept_header; do
    mkdir -p "corpus/$target"
    # libFuzzer's own summary; a crash fails the step (and the script).
    cargo +nightly fuzz run "$target" "corpus/$target" "seeds/$target" -- \
      -max_total_time=30 -rss_limit_mb=2048 2>&1 | grep -E '^Done|SUMMARY|panicked'
    echo "test result: ok. 1 passed; 0 failed; fuzz target $target" | tee -a "$results"
  done
)

[ -z "${CI:-}" ] || rm -rf fuzz/target

step "benches: allocation counts and callgrind instruction counts (deterministic; release)"
(cd benches && ctest --release)

step "disk after the build"
df -h . | tail -1
du -sh target embedded-example/target benches/target fuzz/target 2>/dev/null || true

step "totals"
awk '/^test result:/ { p += $4; f += $6 } END { printf "%d passed, %d failed\n", p, f }' "$results"
