//! The bare-metal build with a 32-bit counter (`clock!(hz, u32: …)`, the DWT cycle counter's
//! form): durations across the counter's wrap are exact, not a backwards step. Run with
//! `cargo test -p picometrics --no-default-features --test bare_metal_clock32`
//! (`scripts/test.sh` does); with `std` on, this file compiles to nothing.
#![cfg(not(feature = "std"))]

mod common;

use common::{parse, render, value};
use picometrics::picometrics;
use std::sync::atomic::{AtomicU32, Ordering};

/// A 1 MHz 32-bit counter the test advances by hand, 10 ms before its wrap.
static CYCLES: AtomicU32 = AtomicU32::new(u32::MAX - 10_000);

picometrics::clock!(1_000_000, u32: CYCLES.load(Ordering::SeqCst));

/// Takes exactly `ticks` µs.
#[picometrics]
fn takes(ticks: u32) {
    CYCLES.fetch_add(ticks, Ordering::SeqCst);
}

#[test]
fn durations_wrap_at_32_bits() {
    // The uptime, read before the wrap (a dump would), then after it: extended to 64 bits.
    assert_eq!(picometrics::clock::uptime_nanos(), u64::from(u32::MAX - 10_000) * 1_000);
    takes(5_000); // 5 ms, before the wrap
    takes(20_000); // 20 ms, across it: as a 64-bit difference this would be a backwards step
    takes(3_000_000); // 3 s, after it
    let samples = parse(&render());
    let bucket =
        |le| value(&samples, "function_calls_duration_seconds_bucket", &[("function", "takes"), ("le", le)]);
    assert_eq!(bucket("0.005"), 1.0);
    assert_eq!(bucket("0.025"), 2.0);
    assert_eq!(bucket("2.5"), 2.0);
    assert_eq!(bucket("5"), 3.0);
    let sum = value(&samples, "function_calls_duration_seconds_sum", &[("function", "takes")]);
    assert_eq!(sum, 3.025);
    // 3.025 s later, across the wrap: 2³² + 3,014,999 µs, not the wrapped 3,014,999.
    assert_eq!(picometrics::clock::uptime_nanos(), ((1u64 << 32) + 3_014_999) * 1_000);
}
