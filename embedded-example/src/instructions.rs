use core::hint::black_box;

/// Calls timed per case: 12,000 calls span about 1,000 SysTick ticks per instruction of cost,
/// so one tick (83 instructions at 12 MHz per 1 GHz of `-icount shift=0`) is below 0.01
/// instruction per call; on RISC-V, 120 `mtime` ticks (100 instructions each), 0.01 too.
const CALLS: u32 = 12_000;

#[inline(never)]
fn empty(x: u32) -> u32 {
    black_box(x)
}

#[cfg_attr(not(feature = "uninstrumented"), picometrics::picometrics)]
#[inline(never)]
fn instrumented(x: u32) -> u32 {
    black_box(x)
}

/// The clock reads the instrumented call makes (two), without the rest.
#[inline(never)]
fn two_reads(x: u32) -> u32 {
    black_box(crate::clock::picometrics_ticks());
    black_box(crate::clock::picometrics_ticks());
    black_box(x)
}

/// `empty` plus exactly 100 instructions: the calibration on the Cortex-M (how many SysTick
/// ticks an instruction takes on this board's QEMU model, whatever its SysTick rate).
#[cfg(target_arch = "arm")]
#[inline(never)]
fn hundred_nops(x: u32) -> u32 {
    // SAFETY: `nop`s only: no memory, register or flag is touched.
    unsafe { core::arch::asm!(".rept 100", "nop", ".endr", options(nomem, nostack, preserves_flags)) };
    black_box(x)
}

/// SysTick ticks for `CALLS` calls of `f`.
fn ticks(f: fn(u32) -> u32) -> u64 {
    let start = crate::clock::ticks();
    for i in 0..CALLS {
        black_box(f(black_box(i)));
    }
    crate::clock::ticks() - start
}

/// Prints `# instructions per call (milli): instrumented I, two reads T` over the empty call,
/// in thousandths of an instruction, calibrated by `hundred_nops`; with `text` and `frames`,
/// also `# instructions per dump: text I for B bytes, frames I for B bytes`.
pub fn report() {
    let empty = ticks(empty);
    #[cfg(target_arch = "arm")]
    let per_hundred = ticks(hundred_nops) - empty;
    // On RISC-V the rate is known exactly: QEMU virt's `mtime` counts 10 MHz of the virtual time
    // that `-icount shift=0` advances 1 ns per instruction. (The `nop` calibration reads 99 per
    // 100 there, in QEMU 7.2: the ratio would be 1 % high.)
    #[cfg(target_arch = "riscv32")]
    let per_hundred = { u64::from(CALLS) * 100 * u64::from(crate::clock::HZ) / 1_000_000_000 };
    let milli = |t: u64| (t.saturating_sub(empty)) * 100_000 / per_hundred;
    let (i, t) = (milli(ticks(instrumented)), milli(ticks(two_reads)));
    crate::semihosting::hprint!("# instructions per call (milli): instrumented {}, two reads {}\n", i, t);
    #[cfg(all(feature = "text", feature = "frames"))]
    {
        let per_dump = |dump: fn() -> usize| {
            let start = crate::clock::ticks();
            let mut bytes = 0;
            for _ in 0..DUMPS {
                bytes = black_box(dump());
            }
            let ticks = crate::clock::ticks() - start;
            // `per_hundred` ticks are 100 instructions in each of `CALLS` calls.
            (ticks * u64::from(CALLS) * 100 / per_hundred / u64::from(DUMPS), bytes)
        };
        let (text, text_bytes) = per_dump(text_dump);
        let (frames, frame_bytes) = per_dump(frames_dump);
        crate::semihosting::hprint!(
            "# instructions per dump: text {} for {} bytes, frames {} for {} bytes\n",
            text,
            text_bytes,
            frames,
            frame_bytes
        );
    }
}

/// Dumps timed per channel (each a few hundred SysTick ticks).
#[cfg(all(feature = "text", feature = "frames"))]
const DUMPS: u32 = 20;

/// The registry as Prometheus text into a writer that only counts: the render alone.
#[cfg(all(feature = "text", feature = "frames"))]
fn text_dump() -> usize {
    struct Count(usize);
    impl core::fmt::Write for Count {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            self.0 += s.len();
            Ok(())
        }
    }
    let mut out = Count(0);
    let _ = picometrics::render_prometheus(&mut out);
    out.0
}

/// The registry as frames into a sink that only counts: the encoding alone.
#[cfg(all(feature = "text", feature = "frames"))]
fn frames_dump() -> usize {
    let mut bytes = 0;
    let _ = picometrics::frame::write_dump(crate::board::DEVICE, 0, |frame| {
        bytes += frame.len();
        Ok::<_, core::convert::Infallible>(())
    });
    bytes
}
