//! A 64-bit tick count from SysTick (24 bits, counting down, at the core clock) and its wrap
//! interrupt, and the picometrics clock built on it: `clock!` by default, or an embassy-time
//! driver (feature `embassy`) that picometrics reads through `embassy_time::Instant`.
//!
//! SysTick by default, not the DWT cycle counter: QEMU 7.2's DWT reads 0. Feature `dwt-clock`
//! times calls on the cycle counter anyway, for what the cheapest clock costs per call.

use core::sync::atomic::{AtomicU32, Ordering};
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m::peripheral::{SCB, SYST};
use cortex_m_rt::exception;

/// SysTick's rate as QEMU's lm3s6965evb models it (12 MHz reference). The micro:bit build
/// uses the same constant; its durations are indicative, its counts as exact as on the M3/M4.
#[cfg(not(nrf52840))]
pub const SYSTICK_HZ: u32 = 12_000_000;
/// SysTick on the nRF52840 runs at the 64 MHz core clock.
#[cfg(nrf52840)]
pub const SYSTICK_HZ: u32 = 64_000_000;
/// The clock's rate, whatever the core (`mtime.rs` on RISC-V has its own).
pub const HZ: u32 = SYSTICK_HZ;
/// SysTick reload: wraps every 2^24 ticks; the interrupt extends it to 64 bits.
const RELOAD: u32 = 0x00FF_FFFF;

static WRAPS: AtomicU32 = AtomicU32::new(0);

/// Starts SysTick with its wrap interrupt (and, with `dwt-clock`, the cycle counter).
pub fn start(mut syst: SYST) {
    #[cfg(feature = "dwt-clock")]
    {
        // SAFETY: called once at start, before anything reads the cycle counter; the DCB and
        // DWT registers touched here belong to nothing else in this firmware.
        let mut p = unsafe { cortex_m::Peripherals::steal() };
        p.DCB.enable_trace();
        p.DWT.enable_cycle_counter();
    }
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(RELOAD);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
}

/// Ticks since [`start`].
// With `dwt-clock` and neither `instructions` nor `embassy`, nothing reads SysTick.
#[cfg_attr(feature = "dwt-clock", allow(dead_code))]
pub fn ticks() -> u64 {
    cortex_m::interrupt::free(|_| {
        let mut wraps = WRAPS.load(Ordering::Relaxed);
        let current = SYST::get_current();
        // Wrapped but the interrupt has not run yet: the counter just reloaded.
        if SCB::is_pendst_pending() && current > RELOAD / 2 {
            wraps += 1;
        }
        u64::from(wraps) * (u64::from(RELOAD) + 1) + u64::from(RELOAD - current)
    })
}

#[exception]
fn SysTick() {
    // Load and store, not `fetch_add`: thumbv6m has no atomic read-modify-write, and this
    // handler is the only writer.
    WRAPS.store(WRAPS.load(Ordering::Relaxed) + 1, Ordering::Release);
}

#[cfg(not(any(feature = "embassy", feature = "dwt-clock")))]
picometrics::clock!(HZ as u64, ticks());

/// What picometrics' clock reads: SysTick's 64-bit ticks, or with `dwt-clock` the cycle counter
/// (the instruction count's baseline of two reads).
#[cfg(feature = "instructions")]
pub fn picometrics_ticks() -> u64 {
    #[cfg(feature = "dwt-clock")]
    return u64::from(cortex_m::peripheral::DWT::cycle_count());
    #[cfg(not(feature = "dwt-clock"))]
    return ticks();
}

// The core clock is SysTick's (processor clock source).
#[cfg(all(feature = "dwt-clock", not(feature = "embassy")))]
picometrics::clock!(HZ as u64, u32: cortex_m::peripheral::DWT::cycle_count());

/// An embassy-time driver on SysTick at 12 MHz (feature `tick-hz-12_000_000`).
#[cfg(feature = "embassy")]
mod embassy {
    use core::task::Waker;

    struct SysTickDriver;

    impl embassy_time_driver::Driver for SysTickDriver {
        fn now(&self) -> u64 {
            super::ticks()
        }

        /// Wakes at once: embassy's timers check the time again when polled and re-arm, so this
        /// is correct, but a task waiting on a timer busy-polls. A board HAL's driver arms a
        /// compare interrupt instead; this firmware only reads the time.
        fn schedule_wake(&self, _at: u64, waker: &Waker) {
            waker.wake_by_ref();
        }
    }

    const _: () = assert!(embassy_time_driver::TICK_HZ == super::HZ as u64);

    embassy_time_driver::time_driver_impl!(static DRIVER: SysTickDriver = SysTickDriver);
}
