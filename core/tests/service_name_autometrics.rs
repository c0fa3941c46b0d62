//! `AUTOMETRICS_SERVICE_NAME`, as autometrics users already set it, names the service when
//! `PICOMETRICS_SERVICE_NAME` is not set, before `OTEL_SERVICE_NAME`. Its own test binary: the
//! override is read once per process.

#[picometrics::picometrics]
fn served() {}

#[test]
fn autometrics_service_name_comes_before_otel_service_name() {
    // Set before the first read, in a single test (safe before Rust 2024).
    std::env::remove_var("PICOMETRICS_SERVICE_NAME");
    std::env::set_var("OTEL_SERVICE_NAME", "ignored: AUTOMETRICS_SERVICE_NAME wins");
    std::env::set_var("AUTOMETRICS_SERVICE_NAME", "checkout");
    served();
    assert_eq!(picometrics::registry::service_name(), "checkout");
    let mut text = String::new();
    picometrics::render_prometheus(&mut text).unwrap();
    assert!(
        text.contains(r#"function="served",module="service_name_autometrics",service_name="checkout""#),
        "{text}"
    );
}
