//! The core tests' helpers: the shared text reader (`picometrics-test-support`) and a render of
//! the whole registry.
#![allow(dead_code, unused_imports)]

pub use picometrics_test_support::text::*;

/// Renders the whole registry.
pub fn render() -> String {
    let mut s = String::new();
    picometrics::render_prometheus(&mut s).unwrap();
    s
}
