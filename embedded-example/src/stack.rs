//! Stack high-water marks: the free stack is painted with a pattern at start, and the deepest
//! overwritten word is found later. This is how the size report measures what the loop and
//! each dump channel take on the stack (their buffers live there, not in static RAM).

use core::ptr::addr_of;

const PAINT: u32 = 0xDEAD_BEEF;

extern "C" {
    /// The end of `.bss`/`.uninit`, where cortex-m-rt's (and riscv-rt's) stack may grow down to.
    static __sheap: u32;
}

/// The lowest address painted (the end of static RAM).
fn bottom() -> *mut u32 {
    // Only the symbol's address is taken (no read): safe since Rust 1.82.
    addr_of!(__sheap).cast_mut()
}

/// Paints from the end of static RAM up to just below the current stack pointer.
pub fn paint() {
    #[cfg(target_arch = "arm")]
    let sp = cortex_m::register::msp::read() as usize;
    #[cfg(target_arch = "riscv32")]
    let sp = {
        let sp: usize;
        // SAFETY: copies the stack pointer into a register; no memory or flag is touched.
        unsafe { core::arch::asm!("mv {}, sp", out(reg) sp, options(nomem, nostack, preserves_flags)) };
        sp
    };
    let mut p = bottom();
    while (p as usize) < sp - 64 {
        // SAFETY: between the end of `.bss` and the stack pointer (minus a margin for this
        // frame) lies only unused stack, which nothing else reads.
        unsafe {
            p.write_volatile(PAINT);
            p = p.add(1);
        }
    }
}

/// The most stack used since [`paint`], in bytes (from its top, `_stack_start`).
pub fn peak() -> u32 {
    extern "C" {
        static _stack_start: u32;
    }
    let top = addr_of!(_stack_start) as usize;
    let mut p = bottom();
    // SAFETY: reads painted or used stack words between the end of `.bss` and the top.
    // SAFETY: `p` stays within static RAM's end and the stack's top: words of the stack,
    // painted or used, all initialized.
    while (p as usize) < top && unsafe { p.read_volatile() } == PAINT {
        // SAFETY: as above.
        p = unsafe { p.add(1) };
    }
    (top - p as usize) as u32
}
