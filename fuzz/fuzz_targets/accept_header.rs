//! The exporter's own part of HTTP handling (hyper parses the requests): content negotiation
//! on any `Accept` header never panics, and picks OpenMetrics only when it is asked for.
#![no_main]

use libfuzzer_sys::fuzz_target;
use picometrics_exporter::Format;

fuzz_target!(|accept: &str| {
    let format = Format::from_accept(Some(accept));
    if format == Format::OpenMetrics {
        assert!(accept.to_ascii_lowercase().contains("application/openmetrics-text"), "{accept:?}");
    }
    assert!(!format.content_type().is_empty());
});
