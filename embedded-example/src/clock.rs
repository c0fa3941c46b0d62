//! A 64-bit tick count from SysTick (24 bits, counting down, at the core clock) and its wrap
//! interrupt, and the picometrics clock built on it: `clock!` by default, or an embassy-time
//! driver (feature `embassy`) that picometrics reads through `embassy_time::Instant`.
//!
//! SysTick, not the DWT cycle counter: QEMU 7.2's DWT reads 0.

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

/// Starts SysTick with its wrap interrupt.
pub fn start(mut syst: SYST) {
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(RELOAD);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
}

/// Ticks since [`start`].
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

#[cfg(not(feature = "embassy"))]
picometrics::clock!(HZ as u64, ticks());

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
