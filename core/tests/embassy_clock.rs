//! The `embassy-time` clock, driven by embassy's `MockDriver` so durations are exact. Run with
//! `cargo test -p picometrics --features embassy-time --test embassy_clock`
//! (`scripts/test.sh` does); without the feature this file compiles to nothing.
#![cfg(feature = "embassy-time")]

mod common;

use common::{parse, render, value};
use embassy_time::{Duration, MockDriver};
use picometrics::picometrics;

#[picometrics]
fn waits(micros: u64) {
    MockDriver::get().advance(Duration::from_micros(micros));
}

#[test]
fn durations_come_from_embassy_time() {
    waits(10_000); // exactly 10 ms
    waits(10_001);
    waits(250);
    let samples = parse(&render());
    let bucket =
        |le| value(&samples, "function_calls_duration_seconds_bucket", &[("function", "waits"), ("le", le)]);
    assert_eq!(bucket("0.005"), 1.0);
    assert_eq!(bucket("0.01"), 2.0);
    assert_eq!(bucket("0.025"), 3.0);
    assert_eq!(value(&samples, "function_calls_duration_seconds_sum", &[("function", "waits")]), 0.020251);
}
