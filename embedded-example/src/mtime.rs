//! The RISC-V clock (`clock` on riscv32): the 64-bit `mtime` counter of QEMU `virt`'s CLINT,
//! read as two 32-bit halves, and the machine timer interrupt on `mtimecmp` that the firmware
//! uses to call an instrumented function from interrupt context while the main loop calls it.
//!
//! Register-level, like the UART: the CLINT's two registers do not justify a PAC.

use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use riscv::interrupt::machine as interrupt;
use riscv::interrupt::Interrupt;

/// `mtime`'s rate on QEMU's `virt` machine (its device tree's `timebase-frequency`).
pub const HZ: u32 = 10_000_000;

/// CLINT registers of hart 0 (the SiFive CLINT layout QEMU models).
const MTIMECMP_LO: *mut u32 = 0x0200_4000 as *mut u32;
const MTIMECMP_HI: *mut u32 = 0x0200_4004 as *mut u32;
const MTIME_LO: *const u32 = 0x0200_BFF8 as *const u32;
const MTIME_HI: *const u32 = 0x0200_BFFC as *const u32;

/// Ticks between two timer interrupts while they run: 5 µs, a few hundred instructions.
const PERIOD: u64 = HZ as u64 / 200_000;

/// Timer interrupts taken, each of which called the instrumented function once.
static INTERRUPTS: AtomicU32 = AtomicU32::new(0);
/// Whether the handler re-arms the timer.
static RUNNING: AtomicBool = AtomicBool::new(false);

/// Nothing to start: `mtime` runs from reset.
pub fn start() {}

/// Ticks since reset.
pub fn ticks() -> u64 {
    loop {
        // SAFETY: fixed, aligned, read-only-in-effect MMIO registers of the CLINT: reading has
        // no side effect. High, low, high again: a carry between the halves is seen and retried.
        let (hi, lo, again) =
            unsafe { (MTIME_HI.read_volatile(), MTIME_LO.read_volatile(), MTIME_HI.read_volatile()) };
        if hi == again {
            return (u64::from(hi) << 32) | u64::from(lo);
        }
    }
}

/// Sets `mtimecmp` to `at`, never passing through a value below it on the way (high word to
/// all ones first, as the privileged specification's 32-bit sequence does).
fn set_compare(at: u64) {
    // SAFETY: fixed, aligned MMIO registers of the CLINT, used by this module only.
    unsafe {
        MTIMECMP_HI.write_volatile(u32::MAX);
        MTIMECMP_LO.write_volatile(at as u32);
        MTIMECMP_HI.write_volatile((at >> 32) as u32);
    }
}

/// Starts the timer interrupt every [`PERIOD`] ticks.
pub fn start_interrupts() {
    RUNNING.store(true, Ordering::Relaxed);
    set_compare(ticks() + PERIOD);
    // SAFETY: the handler below touches only atomics and a picometrics slot, which is
    // interrupt-safe; no critical section is held here, so enabling breaks none.
    unsafe {
        interrupt::enable_interrupt(Interrupt::MachineTimer);
        interrupt::enable();
    }
}

/// Stops the timer interrupt; returns how many were taken.
pub fn stop_interrupts() -> u32 {
    RUNNING.store(false, Ordering::Relaxed);
    interrupt::disable_interrupt(Interrupt::MachineTimer);
    set_compare(u64::MAX);
    INTERRUPTS.load(Ordering::Relaxed)
}

#[riscv_rt::core_interrupt(Interrupt::MachineTimer)]
fn machine_timer() {
    if RUNNING.load(Ordering::Relaxed) {
        set_compare(ticks() + PERIOD);
    } else {
        set_compare(u64::MAX);
    }
    crate::heartbeat();
    // Load and store, not `fetch_add`: riscv32imc has no atomic read-modify-write, and this
    // handler is the only writer.
    INTERRUPTS.store(INTERRUPTS.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
}

picometrics::clock!(HZ as u64, ticks());

/// What picometrics' clock reads (the instruction count's baseline of two reads).
#[cfg(feature = "instructions")]
pub fn picometrics_ticks() -> u64 {
    ticks()
}
