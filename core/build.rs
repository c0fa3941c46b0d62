//! Ships `picometrics.x`, the linker-script fragment that keeps the function registry in FLASH
//! on bare-metal targets (the way defmt ships `defmt.x`). Firmware links it with
//! `-C link-arg=-Tpicometrics.x` next to cortex-m-rt's `-Tlink.x`.
use std::{env, fs, path::PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=picometrics.x");
    if env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("none") {
        let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
        fs::copy("picometrics.x", out.join("picometrics.x")).expect("copy picometrics.x");
        println!("cargo:rustc-link-search={}", out.display());
    }
}
