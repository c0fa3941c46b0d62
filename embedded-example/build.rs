//! Puts the board's memory layout on the linker search path as `memory.x` (for cortex-m-rt's
//! `link.x`): the micro:bit (Cortex-M0) for thumbv6m, the LM3S6965 (Cortex-M3) otherwise.
use std::{env, fs, path::PathBuf};

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap());
    let target = env::var("TARGET").unwrap();
    let layout = if target.starts_with("thumbv6m") { "memory-microbit.x" } else { "memory-lm3s6965evb.x" };
    fs::copy(layout, out.join("memory.x")).unwrap();
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory-microbit.x");
    println!("cargo:rerun-if-changed=memory-lm3s6965evb.x");
}
