//! Ships `picometrics.x`, the linker-script fragment that keeps the function registry in FLASH
//! on bare-metal targets (the way defmt ships `defmt.x`). Firmware links it with
//! `-C link-arg=-Tpicometrics.x` next to cortex-m-rt's `-Tlink.x`; on esp-hal's ESP32-C3,
//! `picometrics-esp32c3.x` (which includes it) next to `-Tlinkall.x`.
//!
//! Also sets `cfg(picometrics_wide)` where counters are 64-bit: the target has 64-bit atomics
//! and the build did not ask for the 32-bit path with `--cfg picometrics_counter32` (which the
//! test command uses to run the 32-bit counter tests on the host).
use std::{env, fs, path::PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=picometrics.x");
    println!("cargo:rerun-if-changed=picometrics-esp32c3.x");
    println!("cargo::rustc-check-cfg=cfg(picometrics_wide)");
    println!("cargo::rustc-check-cfg=cfg(picometrics_counter32)");
    println!("cargo::rustc-check-cfg=cfg(loom)");
    let atomics = env::var("CARGO_CFG_TARGET_HAS_ATOMIC").unwrap_or_default();
    let forced_narrow = env::var_os("CARGO_CFG_PICOMETRICS_COUNTER32").is_some();
    if atomics.split(',').any(|w| w == "64") && !forced_narrow {
        println!("cargo::rustc-cfg=picometrics_wide");
    }
    if env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("none") {
        let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
        for script in ["picometrics.x", "picometrics-esp32c3.x"] {
            fs::copy(script, out.join(script)).expect("copy the linker scripts");
        }
        println!("cargo:rustc-link-search={}", out.display());
    }
}
