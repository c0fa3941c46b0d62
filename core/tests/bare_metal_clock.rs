//! The bare-metal build on the host: `clock!` names the tick source, and the no_std caller
//! context is the single global. Run with
//! `cargo test -p picometrics --no-default-features --test bare_metal_clock`
//! (`scripts/test.sh` does); with `std` on, this file compiles to nothing.
#![cfg(not(feature = "std"))]

mod common;

use common::{parse, render, value};
use picometrics::picometrics;
use std::sync::atomic::{AtomicU64, Ordering};

/// A 1 MHz tick counter the test advances by hand: one tick is 1 µs.
static TICKS: AtomicU64 = AtomicU64::new(u64::MAX - 10_000); // wraps during the test

picometrics::clock!(1_000_000, TICKS.load(Ordering::SeqCst));

/// Takes exactly `ticks` µs.
#[picometrics]
fn takes(ticks: u64) {
    TICKS.fetch_add(ticks, Ordering::SeqCst);
}

#[picometrics]
fn outer() -> Result<(), ()> {
    takes(1);
    Err(())
}

/// One test: the caller context is one global, as on a single-core MCU.
#[test]
fn durations_buckets_and_callers_are_exact() {
    takes(5_000); // exactly 5 ms: `le` is inclusive
    takes(5_001); // just over
    takes(20_000); // 20 ms, across the tick counter's wrap
    takes(11_000_000); // 11 s: +Inf
    outer().unwrap_err();

    let samples = parse(&render());
    let bucket =
        |le| value(&samples, "function_calls_duration_seconds_bucket", &[("function", "takes"), ("le", le)]);
    // Cumulative: the 1 µs call from `outer` and the 5 ms call are both `le="0.005"`.
    assert_eq!(bucket("0.005"), 2.0);
    assert_eq!(bucket("0.01"), 3.0);
    assert_eq!(bucket("0.025"), 4.0);
    assert_eq!(bucket("10"), 4.0);
    assert_eq!(bucket("+Inf"), 5.0);
    let sum = value(&samples, "function_calls_duration_seconds_sum", &[("function", "takes")]);
    assert_eq!(sum, 11.030002);
    let by_caller = |caller| {
        value(
            &samples,
            "function_calls_total",
            &[("function", "takes"), ("caller_function", caller), ("result", "ok")],
        )
    };
    assert_eq!(by_caller(""), 4.0);
    assert_eq!(by_caller("outer"), 1.0);
    assert_eq!(value(&samples, "function_calls_total", &[("function", "outer"), ("result", "error")]), 1.0);
    assert!(picometrics::__private_v1::current_caller().is_none());
}
