//! Exports the picometrics registry from hosted services.
//!
//! The HTTP endpoint and the `prometheus`-crate bridge are not written yet (see the project
//! issues); today this crate offers [`render_to_string`] for services that serve text
//! themselves.
#![forbid(unsafe_code)]

/// Renders every registered function and `build_info` as Prometheus text (format 0.0.4).
pub fn render_to_string() -> String {
    let mut out = String::new();
    // Writing into a `String` cannot fail.
    let _ = picometrics::render_prometheus(&mut out);
    out
}
