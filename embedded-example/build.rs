//! Picks the board: the nRF52840-DK with feature `nrf52840` (a real board), else from the
//! target: QEMU's RISC-V `virt` machine for riscv32, the micro:bit (Cortex-M0) for thumbv6m,
//! the LM3S6965 (Cortex-M3, or a Cortex-M4 in QEMU's `-cpu cortex-m4`) otherwise. Puts its
//! memory layout on the linker search path as `memory.x` (for cortex-m-rt's and riscv-rt's
//! `link.x`) and sets `cfg(riscv_virt)`, `cfg(microbit)` or `cfg(nrf52840)`.
use std::{env, fs, path::PathBuf};

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap());
    let target = env::var("TARGET").unwrap();
    let riscv_virt = target.starts_with("riscv32");
    let microbit = target.starts_with("thumbv6m");
    let nrf52840 = env::var_os("CARGO_FEATURE_NRF52840").is_some();
    let layout = match (nrf52840, riscv_virt, microbit) {
        (true, _, _) => "memory-nrf52840.x",
        (false, true, _) => "memory-riscv-virt.x",
        (false, false, true) => "memory-microbit.x",
        (false, false, false) => "memory-lm3s6965evb.x",
    };
    fs::copy(layout, out.join("memory.x")).unwrap();
    println!("cargo::rustc-link-search={}", out.display());
    println!("cargo::rustc-check-cfg=cfg(microbit)");
    println!("cargo::rustc-check-cfg=cfg(nrf52840)");
    println!("cargo::rustc-check-cfg=cfg(riscv_virt)");
    if riscv_virt {
        println!("cargo::rustc-cfg=riscv_virt");
    }
    if nrf52840 {
        println!("cargo::rustc-cfg=nrf52840");
    } else if microbit {
        println!("cargo::rustc-cfg=microbit");
    }
    // defmt's linker script exists only when defmt is linked.
    if env::var_os("CARGO_FEATURE_DEFMT").is_some() || nrf52840 {
        println!("cargo::rustc-link-arg=-Tdefmt.x");
    }
    println!("cargo::rerun-if-changed=memory-microbit.x");
    println!("cargo::rerun-if-changed=memory-lm3s6965evb.x");
    println!("cargo::rerun-if-changed=memory-nrf52840.x");
    println!("cargo::rerun-if-changed=memory-riscv-virt.x");
}
