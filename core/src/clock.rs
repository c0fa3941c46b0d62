//! The monotonic clock that times calls, chosen once per build.
//!
//! | build                      | clock                                                  |
//! |----------------------------|--------------------------------------------------------|
//! | feature `embassy-time`     | `embassy_time::Instant` (its driver's tick rate)       |
//! | feature `quanta`           | the invariant TSC, read inline, calibrated by `quanta` |
//! | feature `std`              | `std::time::Instant`                                   |
//! | neither (bare metal)       | the firmware's tick source, named once with [`clock!`] |
//! |                            | (a 64-bit count, or a 32-bit counter such as the DWT's) |
//!
//! Durations are measured in the clock's own unit and converted to nanoseconds once per call
//! with integer arithmetic (a constant multiply, or multiply-and-divide by a constant the
//! compiler turns into shifts); the conversion to seconds happens only when rendering.
//!
//! [`clock!`]: crate::clock!

/// Converts `ticks` of a clock running at `HZ` to nanoseconds, saturating on overflow.
///
/// With `HZ` a divisor of 10⁹ (1 kHz, 1 MHz, 8 MHz, …) this is one multiply. Otherwise (12 MHz,
/// 32.768 kHz, …) durations below 2³² ticks use a 32.32 fixed-point multiply, exact to within
/// 1 ns, so a Cortex-M0 never runs a 128-bit division on the hot path; longer ones take the
/// exact 128-bit path.
#[inline(always)]
pub const fn ticks_to_nanos<const HZ: u64>(ticks: u64) -> u64 {
    const NANOS: u64 = 1_000_000_000;
    if HZ == 0 {
        panic!("picometrics: a clock rate of 0 Hz");
    }
    if NANOS.is_multiple_of(HZ) {
        return ticks.saturating_mul(NANOS / HZ);
    }
    let whole = NANOS / HZ;
    // The fractional nanoseconds per tick as a 0.32 fixed-point number, rounded up so that
    // whole tick counts of whole nanoseconds (12 ticks at 12 MHz = 1000 ns) come out exact.
    let frac = ((NANOS % HZ) << 32).div_ceil(HZ);
    if ticks <= u32::MAX as u64 && whole <= u32::MAX as u64 {
        ticks * whole + ((ticks * frac) >> 32)
    } else {
        long_ticks_to_nanos(ticks, HZ)
    }
}

/// The exact 128-bit path of [`ticks_to_nanos`], out of line: a call guard that inlined it
/// would save and restore every register and reserve stack on every call for a division that
/// only calls longer than 2³² ticks reach (measured on the Cortex-M4F: 140 bytes of stack and
/// eight instructions per call).
#[cold]
#[inline(never)]
const fn long_ticks_to_nanos(ticks: u64, hz: u64) -> u64 {
    let n = ticks as u128 * 1_000_000_000 / hz as u128;
    if n > u64::MAX as u128 {
        u64::MAX
    } else {
        n as u64
    }
}

/// A tick difference taken with wrapping subtraction, with a backwards step clamped to 0: a
/// "negative" duration means the tick source stepped back (a racy read of a timer and its wrap
/// count), and it records 0 rather than centuries in `+Inf`. Every clock backend clamps:
/// these two here, `quanta` (its `delta_as_nanos`) and `std::time::Instant` (saturating) by
/// themselves.
#[cfg_attr(any(not(feature = "std"), feature = "embassy-time", feature = "quanta"), inline(always))]
#[cfg_attr(all(feature = "std", not(any(feature = "embassy-time", feature = "quanta"))), allow(dead_code))]
const fn forward(ticks: u64) -> u64 {
    if ticks > u64::MAX / 2 {
        0
    } else {
        ticks
    }
}

#[cfg(feature = "embassy-time")]
mod imp {
    /// A point in time.
    pub type Start = embassy_time::Instant;

    #[inline(always)]
    pub fn now() -> Start {
        embassy_time::Instant::now()
    }

    /// Ticks, as read (a backwards step not yet clamped).
    pub type Elapsed = u64;

    #[inline(always)]
    pub fn elapsed(start: &Start) -> Elapsed {
        embassy_time::Instant::now().as_ticks().wrapping_sub(start.as_ticks())
    }

    #[inline(always)]
    pub fn nanos(ticks: Elapsed) -> u64 {
        super::ticks_to_nanos::<{ embassy_time::TICK_HZ }>(super::forward(ticks))
    }

    pub fn uptime_nanos() -> u64 {
        super::ticks_to_nanos::<{ embassy_time::TICK_HZ }>(embassy_time::Instant::now().as_ticks())
    }
}

#[cfg(all(feature = "quanta", not(feature = "embassy-time")))]
mod imp {
    use core::sync::atomic::{AtomicU64, Ordering::Relaxed};
    use std::sync::OnceLock;

    /// A raw TSC reading (or the fallback clock's raw value).
    pub type Start = u64;

    /// quanta's clock, calibrated once (it measures the TSC against the OS clock).
    fn clock() -> &'static quanta::Clock {
        static CLOCK: OnceLock<quanta::Clock> = OnceLock::new();
        CLOCK.get_or_init(|| {
            let clock = quanta::Clock::new();
            if Tsc::usable() {
                // quanta times with the TSC exactly when `detect` finds it usable (the same two
                // CPUID bits), so its raw values are TSC readings and its scale applies to ours:
                // nanoseconds per 2³² ticks, as a 32.32 fixed-point factor.
                let factor = clock.delta_as_nanos(0, 1 << 32);
                TSC_FACTOR.store(factor.max(1), Relaxed);
            }
            clock
        })
    }

    /// Nanoseconds per 2³² TSC ticks once calibrated; 0 before, or without a usable TSC (then
    /// every reading goes through quanta). Set once, never changed, so a call's two readings
    /// always come from the same clock: a reading taken before calibration calibrates first.
    static TSC_FACTOR: AtomicU64 = AtomicU64::new(0);

    /// The invariant TSC, read inline: the two readings of a call are one `rdtsc` each and
    /// the conversion one multiply, instead of two calls into quanta behind a `OnceLock`.
    struct Tsc;

    impl Tsc {
        /// Whether the TSC is invariant and `rdtscp` exists (quanta's own test).
        #[cfg(target_arch = "x86_64")]
        fn usable() -> bool {
            // `__cpuid` is an `unsafe fn` in Rust 1.88 (the MSRV) and safe in later releases.
            #[allow(unused_unsafe)]
            // SAFETY: CPUID exists on every x86_64 processor and only reads identification
            // registers.
            let cpuid = |leaf| unsafe { core::arch::x86_64::__cpuid(leaf) };
            // Leaves above the maximum return other leaves' data: check the maximum first.
            if cpuid(0x8000_0000).eax < 0x8000_0007 {
                return false;
            }
            let invariant = cpuid(0x8000_0007).edx & (1 << 8) != 0;
            let rdtscp = cpuid(0x8000_0001).edx & (1 << 27) != 0;
            invariant && rdtscp
        }

        /// Elsewhere quanta reads its counter itself.
        #[cfg(not(target_arch = "x86_64"))]
        fn usable() -> bool {
            false
        }

        #[cfg(target_arch = "x86_64")]
        #[inline(always)]
        fn read() -> u64 {
            // SAFETY: `rdtsc` has no preconditions on x86_64.
            unsafe { core::arch::x86_64::_rdtsc() }
        }

        #[cfg(not(target_arch = "x86_64"))]
        #[inline(always)]
        fn read() -> u64 {
            unreachable!("no inline TSC on this architecture")
        }
    }

    #[inline(always)]
    pub fn now() -> Start {
        if TSC_FACTOR.load(Relaxed) != 0 {
            Tsc::read()
        } else {
            slow_now()
        }
    }

    /// Nanoseconds: the conversion needs the factor read with the clock.
    pub type Elapsed = u64;

    #[inline(always)]
    pub fn nanos(nanos: Elapsed) -> u64 {
        nanos
    }

    #[inline(always)]
    pub fn elapsed(start: &Start) -> Elapsed {
        let factor = TSC_FACTOR.load(Relaxed);
        if factor != 0 {
            let ticks = super::forward(Tsc::read().wrapping_sub(*start));
            ((u128::from(ticks) * u128::from(factor)) >> 32).min(u128::from(u64::MAX)) as u64
        } else {
            slow_elapsed_nanos(*start)
        }
    }

    /// Before calibration, and on machines without a usable TSC.
    #[cold]
    #[inline(never)]
    fn slow_now() -> Start {
        let clock = clock();
        if TSC_FACTOR.load(Relaxed) != 0 {
            Tsc::read()
        } else {
            clock.raw()
        }
    }

    #[inline(never)]
    fn slow_elapsed_nanos(start: Start) -> u64 {
        let clock = clock();
        clock.delta_as_nanos(start, clock.raw())
    }

    pub fn uptime_nanos() -> u64 {
        super::process_uptime_nanos()
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use std::time::{Duration, Instant};

        /// The inline readings (where the TSC is usable, as on CI's x86-64) and quanta's agree
        /// with the OS clock: the factor taken from quanta's calibration is the right one.
        #[test]
        fn inline_tsc_readings_agree_with_the_os_clock() {
            let start = now();
            assert_eq!(TSC_FACTOR.load(Relaxed) != 0, Tsc::usable());
            let os = Instant::now();
            std::thread::sleep(Duration::from_millis(30));
            let ours = nanos(elapsed(&start));
            let theirs = os.elapsed().as_nanos() as u64;
            assert!(ours.abs_diff(theirs) < theirs / 20, "{ours} ns vs the OS clock's {theirs} ns");
            let quanta = slow_elapsed_nanos(start);
            assert!(quanta.abs_diff(ours) < theirs / 20, "{ours} ns vs quanta's {quanta} ns");
        }
    }
}

#[cfg(all(feature = "std", not(any(feature = "embassy-time", feature = "quanta"))))]
mod imp {
    /// A point in time.
    pub type Start = std::time::Instant;

    #[inline(always)]
    pub fn now() -> Start {
        std::time::Instant::now()
    }

    /// Nanoseconds.
    pub type Elapsed = u64;

    #[inline(always)]
    pub fn nanos(nanos: Elapsed) -> u64 {
        nanos
    }

    #[inline(always)]
    pub fn elapsed(start: &Start) -> Elapsed {
        let d = start.elapsed();
        // Saturates after 584 years; `as_nanos()` would go through u128.
        d.as_secs().saturating_mul(1_000_000_000).saturating_add(u64::from(d.subsec_nanos()))
    }

    pub fn uptime_nanos() -> u64 {
        super::process_uptime_nanos()
    }
}

#[cfg(not(any(feature = "std", feature = "embassy-time")))]
mod imp {
    extern "Rust" {
        /// Defined by [`crate::clock!`] in the firmware.
        fn _picometrics_clock_now() -> u64;
        /// Defined by [`crate::clock!`] in the firmware: ticks since `start`, wrapping at the
        /// counter's own width (2⁶⁴, or 2³² for a 32-bit counter).
        fn _picometrics_clock_since(start: u64) -> u64;
        /// Defined by [`crate::clock!`] in the firmware.
        fn _picometrics_clock_ticks_to_nanos(ticks: u64) -> u64;
        /// Defined by [`crate::clock!`] in the firmware: ticks since start, 64 bits wide (a
        /// 32-bit counter extended by its wraps).
        fn _picometrics_clock_uptime() -> u64;
    }

    /// A point in time, in the firmware's ticks.
    pub type Start = u64;

    #[inline(always)]
    pub fn now() -> Start {
        // SAFETY: the symbol is defined by `picometrics::clock!` with exactly this signature;
        // without it the firmware fails to link rather than call anything else.
        unsafe { _picometrics_clock_now() }
    }

    /// Ticks, as read (a backwards step not yet clamped).
    pub type Elapsed = u64;

    #[inline(always)]
    pub fn elapsed(start: &Start) -> Elapsed {
        // SAFETY: as in `now`.
        unsafe { _picometrics_clock_since(*start) }
    }

    #[inline(always)]
    pub fn nanos(ticks: Elapsed) -> u64 {
        // A backwards step is a huge difference: only tested off the common path (a call
        // shorter than 2³² ticks), which then costs no clamp.
        let ticks = if ticks <= u64::from(u32::MAX) { ticks } else { super::forward(ticks) };
        // SAFETY: as in `now`.
        unsafe { _picometrics_clock_ticks_to_nanos(ticks) }
    }

    pub fn uptime_nanos() -> u64 {
        // SAFETY: as in `now`; the tick source counts from the firmware's start.
        unsafe { _picometrics_clock_ticks_to_nanos(_picometrics_clock_uptime()) }
    }
}

/// A call's duration as its clock measured it: ticks (bare metal, embassy-time) or nanoseconds
/// (hosts). Taken where the call ends, converted to nanoseconds by [`nanos`] where it is
/// recorded: bare-metal builds read the clock in the instrumented function and record out of
/// line, so the recording path calls nothing and keeps its arguments in registers.
pub(crate) use imp::Elapsed;
pub(crate) use imp::{elapsed, nanos, now, Start};

/// Nanoseconds since start by the clock that times calls: since boot on bare metal (the
/// firmware's tick count) and with embassy-time, since the first reading in a process.
pub fn uptime_nanos() -> u64 {
    imp::uptime_nanos()
}

/// The wraps of a 32-bit counter, counted where the uptime is read: what extends
/// `clock!(hz, u32: …)`'s counter to the 64-bit uptime a dump carries. Exact while the uptime is
/// read at least once per wrap (a dump every few seconds reads it), from one context at a time
/// (the one that dumps: an interrupt reading it at the instant of a wrap, racing the main loop,
/// could count that wrap twice). Plain loads and stores: a Cortex-M0 has nothing else.
#[doc(hidden)]
pub struct Wraps {
    last: core::sync::atomic::AtomicU32,
    high: core::sync::atomic::AtomicU32,
}

impl Wraps {
    /// No wraps seen yet.
    pub const fn new() -> Self {
        Self { last: core::sync::atomic::AtomicU32::new(0), high: core::sync::atomic::AtomicU32::new(0) }
    }

    /// `now`, with the wraps counted since the last reading, as 64 bits.
    pub fn extend(&self, now: u32) -> u64 {
        use core::sync::atomic::Ordering::Relaxed;
        let mut high = self.high.load(Relaxed);
        if now < self.last.load(Relaxed) {
            high = high.wrapping_add(1);
            self.high.store(high, Relaxed);
        }
        self.last.store(now, Relaxed);
        (u64::from(high) << 32) | u64::from(now)
    }
}

impl Default for Wraps {
    fn default() -> Self {
        Self::new()
    }
}

/// Nanoseconds since this process first asked for its uptime.
#[cfg(all(feature = "std", not(feature = "embassy-time")))]
fn process_uptime_nanos() -> u64 {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    let d = START.get_or_init(std::time::Instant::now).elapsed();
    d.as_secs().saturating_mul(1_000_000_000).saturating_add(u64::from(d.subsec_nanos()))
}

/// Names the firmware's tick source in one line, for builds without `std` or `embassy-time`.
///
/// The first argument is the tick rate in Hz (a constant), the second an expression that reads
/// a monotonic `u64` tick count (wrapping at 2⁶⁴ is fine: durations use wrapping subtraction;
/// a reading that goes backwards records a zero duration).
///
/// A free-running 32-bit counter — the DWT cycle counter of a Cortex-M3/M4/M7, a 32-bit
/// hardware timer — is named with `u32:` before the expression: one load per read, no wrap
/// count to extend it. Durations then wrap at 2³² ticks (67 s at 64 MHz: a longer call is
/// recorded modulo that); the uptime a dump carries is extended by counting the wraps where it
/// is read, which needs a reading at least once per wrap (a dump every few seconds is one).
/// Define it exactly once in the final binary; a missing definition fails to link with
/// `undefined symbol: _picometrics_clock_now`.
///
/// ```ignore
/// // SysTick extended to 64 bits by its interrupt, at 12 MHz:
/// picometrics::clock!(12_000_000, board::ticks());
/// // The DWT cycle counter at a 64 MHz core clock (enabled once at start):
/// picometrics::clock!(64_000_000, u32: cortex_m::peripheral::DWT::cycle_count());
/// ```
#[macro_export]
macro_rules! clock {
    ($hz:expr, u32: $now:expr $(,)?) => {
        const _: () = {
            #[inline(always)]
            fn now() -> u32 {
                $now
            }
            #[unsafe(no_mangle)]
            fn _picometrics_clock_now() -> u64 {
                u64::from(now())
            }
            #[unsafe(no_mangle)]
            fn _picometrics_clock_since(start: u64) -> u64 {
                // The start was a `u32` widened: truncating it back is exact.
                u64::from(now().wrapping_sub(start as u32))
            }
            #[unsafe(no_mangle)]
            fn _picometrics_clock_uptime() -> u64 {
                static WRAPS: $crate::__private_v1::Wraps = $crate::__private_v1::Wraps::new();
                WRAPS.extend(now())
            }
            #[unsafe(no_mangle)]
            fn _picometrics_clock_ticks_to_nanos(ticks: u64) -> u64 {
                $crate::clock::ticks_to_nanos::<{ $hz }>(ticks)
            }
        };
    };
    ($hz:expr, $now:expr $(,)?) => {
        const _: () = {
            #[inline(always)]
            fn now() -> u64 {
                $now
            }
            #[unsafe(no_mangle)]
            fn _picometrics_clock_now() -> u64 {
                now()
            }
            #[unsafe(no_mangle)]
            fn _picometrics_clock_since(start: u64) -> u64 {
                now().wrapping_sub(start)
            }
            #[unsafe(no_mangle)]
            fn _picometrics_clock_uptime() -> u64 {
                now()
            }
            #[unsafe(no_mangle)]
            fn _picometrics_clock_ticks_to_nanos(ticks: u64) -> u64 {
                $crate::clock::ticks_to_nanos::<{ $hz }>(ticks)
            }
        };
    };
}

#[cfg(test)]
mod tests {
    use super::ticks_to_nanos;

    #[test]
    #[cfg_attr(miri, ignore)] // half a million conversions: arithmetic only, nothing for Miri
    fn fixed_point_is_within_a_nanosecond_of_exact() {
        fn check<const HZ: u64>() {
            for ticks in (0..100_000u64).chain([u32::MAX as u64 - 1, u32::MAX as u64, 1 << 40]) {
                let exact = (ticks as u128 * 1_000_000_000 / HZ as u128).min(u64::MAX as u128) as u64;
                let got = ticks_to_nanos::<HZ>(ticks);
                assert!(got.abs_diff(exact) <= 1, "{HZ} Hz, {ticks} ticks: {got} vs {exact}");
            }
        }
        check::<12_000_000>();
        check::<32_768>();
        check::<48_000_000>();
        check::<3>();
        check::<1_000_000_007>();
    }

    #[test]
    fn backwards_steps_clamp_to_zero() {
        assert_eq!(super::forward(5u64.wrapping_sub(7)), 0);
        assert_eq!(super::forward(12), 12);
        assert_eq!(super::forward(u64::MAX / 2), u64::MAX / 2);
    }

    #[test]
    fn conversions() {
        assert_eq!(ticks_to_nanos::<1_000_000>(3), 3_000);
        assert_eq!(ticks_to_nanos::<1_000_000_000>(7), 7);
        // 12 MHz: 83.33 ns per tick.
        assert_eq!(ticks_to_nanos::<12_000_000>(12), 1_000);
        assert_eq!(ticks_to_nanos::<32_768>(32_768), 1_000_000_000);
        assert_eq!(ticks_to_nanos::<1>(u64::MAX), u64::MAX);
    }
}
