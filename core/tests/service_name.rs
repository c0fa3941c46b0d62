//! The runtime service-name override (std) and label-value escaping. Its own test binary:
//! the override is read once per process.

mod common;

use common::{parse, value};

#[picometrics::picometrics]
fn named() {}

#[test]
fn runtime_service_name_is_escaped_everywhere() {
    // SAFETY-free in Rust < 2024; set before the first render reads it, in a single test.
    std::env::set_var("OTEL_SERVICE_NAME", "ignored: PICOMETRICS_SERVICE_NAME wins");
    std::env::set_var("PICOMETRICS_SERVICE_NAME", "svc \"quoted\" \\ back\nslash");
    named();
    let text = common::render();
    assert!(text.contains(r#"service_name="svc \"quoted\" \\ back\nslash""#), "{text}");
    let samples = parse(&text);
    let want = "svc \"quoted\" \\ back\nslash";
    assert_eq!(value(&samples, "build_info", &[("service_name", want)]), 1.0);
    assert_eq!(
        value(
            &samples,
            "function_calls_total",
            &[("function", "named"), ("result", "ok"), ("service_name", want)]
        ),
        1.0
    );
    // Every line is one sample or comment: the newline never leaks unescaped.
    assert!(text.lines().all(|l| l.starts_with('#') || l.ends_with(|c: char| c.is_ascii_digit())));
}
