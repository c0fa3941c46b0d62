//! Firmware instrumented with `#[picometrics]`: a few functions driven by a loop, timed by
//! SysTick, then the Prometheus text dumped over semihosting and QEMU exited.
//!
//! Builds for thumbv7m (QEMU lm3s6965evb, Cortex-M3) and thumbv6m (QEMU micro:bit, Cortex-M0,
//! no atomic read-modify-write: counters go through `critical_section`, implemented here by
//! cortex-m's single-core feature). `cargo run --release [--target thumbv6m-none-eabi]`.
#![no_std]
#![no_main]

use core::fmt::Write;
use core::sync::atomic::{AtomicU32, Ordering};
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::{entry, exception};
use cortex_m_semihosting::{debug, hprint};
use picometrics::objectives::{Objective, ObjectiveLatency, ObjectivePercentile};
use picometrics::picometrics;

/// SysTick's rate as QEMU's lm3s6965evb models it (12 MHz reference). The micro:bit build
/// uses the same constant; its durations are indicative, its counts as exact as on the M3.
const SYSTICK_HZ: u32 = 12_000_000;
/// SysTick reload: wraps every 2^24 ticks; the interrupt extends it to 64 bits.
const RELOAD: u32 = 0x00FF_FFFF;

static WRAPS: AtomicU32 = AtomicU32::new(0);

/// A 64-bit tick count from SysTick (24-bit, counting down) and its wrap interrupt.
fn ticks() -> u64 {
    cortex_m::interrupt::free(|_| {
        let mut wraps = WRAPS.load(Ordering::Relaxed);
        let current = cortex_m::peripheral::SYST::get_current();
        // Wrapped but the interrupt has not run yet: the counter just reloaded.
        if cortex_m::peripheral::SCB::is_pendst_pending() && current > RELOAD / 2 {
            wraps += 1;
        }
        u64::from(wraps) * (u64::from(RELOAD) + 1) + u64::from(RELOAD - current)
    })
}

picometrics::clock!(SYSTICK_HZ as u64, ticks());

#[exception]
fn SysTick() {
    // Load and store, not `fetch_add`: thumbv6m has no atomic read-modify-write, and this
    // handler is the only writer.
    WRAPS.store(WRAPS.load(Ordering::Relaxed) + 1, Ordering::Release);
}

const SENSOR_SLO: Objective =
    Objective::new("sensor").latency(ObjectiveLatency::Ms5, ObjectivePercentile::P99);

#[derive(Debug)]
struct ChecksumError;

/// Fails every fifth reading.
#[picometrics]
fn validate(reading: u32) -> Result<u32, ChecksumError> {
    if reading.is_multiple_of(5) {
        Err(ChecksumError)
    } else {
        Ok(reading)
    }
}

/// Reads and validates one sample (calls `validate`: caller labels).
#[picometrics(objective = SENSOR_SLO)]
fn sample(i: u32) -> Result<u32, ChecksumError> {
    let raw = i.wrapping_mul(2_654_435_761) >> 8;
    validate(raw % 100)
}

#[picometrics]
fn never_called() {}

const LOOPS: u32 = 50;

#[entry]
fn main() -> ! {
    let mut core = cortex_m::Peripherals::take().unwrap();
    core.SYST.set_clock_source(SystClkSource::Core);
    core.SYST.set_reload(RELOAD);
    core.SYST.clear_current();
    core.SYST.enable_interrupt();
    core.SYST.enable_counter();

    let mut errors = 0;
    for i in 0..LOOPS {
        if sample(i).is_err() {
            errors += 1;
        }
    }

    let mut out = Semihosting::<256>::new();
    let rendered = picometrics::render_prometheus(&mut out).and_then(|()| out.flush());
    hprint!("# firmware: {} calls, {} errors\n", LOOPS, errors);
    let _ = never_called;
    debug::exit(if rendered.is_ok() { debug::EXIT_SUCCESS } else { debug::EXIT_FAILURE });
    loop {
        cortex_m::asm::wfi();
    }
}

/// Streams text to the host through an `N`-byte buffer: the exposition text never needs to
/// fit in RAM at once.
struct Semihosting<const N: usize> {
    buf: heapless::String<N>,
}

impl<const N: usize> Semihosting<N> {
    fn new() -> Self {
        Self { buf: heapless::String::new() }
    }

    fn flush(&mut self) -> core::fmt::Result {
        hprint!("{}", self.buf);
        self.buf.clear();
        Ok(())
    }
}

impl<const N: usize> Write for Semihosting<N> {
    fn write_str(&mut self, mut s: &str) -> core::fmt::Result {
        while !s.is_empty() {
            if self.buf.len() == N {
                self.flush()?;
            }
            let mut take = (N - self.buf.len()).min(s.len());
            while !s.is_char_boundary(take) {
                take -= 1;
            }
            if take == 0 {
                self.flush()?;
                continue;
            }
            self.buf.push_str(&s[..take]).map_err(|_| core::fmt::Error)?;
            s = &s[take..];
        }
        Ok(())
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    let mut msg = heapless::String::<256>::new();
    let _ = write!(msg, "{info}");
    hprint!("panic: {}\n", msg);
    debug::exit(debug::EXIT_FAILURE);
    loop {}
}
