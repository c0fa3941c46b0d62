//! The core tests' helpers: the shared text reader (`picometrics-test-support`) and a render of
//! the whole registry, and time passing on the clock calls are timed with.
#![allow(dead_code, unused_imports)]

pub use picometrics_test_support::text::*;

/// Renders the whole registry.
pub fn render() -> String {
    let mut s = String::new();
    picometrics::render_prometheus(&mut s).unwrap();
    s
}

/// Lets `time` pass in a call, on the clock picometrics times calls with: with `embassy-time`
/// that is embassy's mock driver, whose time passes only when told.
pub fn sleep(time: std::time::Duration) {
    std::thread::sleep(time);
    #[cfg(feature = "embassy-time")]
    embassy_time::MockDriver::get().advance(embassy_time::Duration::from_micros(time.as_micros() as u64));
}
