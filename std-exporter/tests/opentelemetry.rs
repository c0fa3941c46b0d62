//! Exemplars from the current OpenTelemetry span reach the OpenMetrics output. Run with
//! `cargo test -p picometrics-exporter --features opentelemetry`.
#![cfg(feature = "opentelemetry")]

use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use picometrics::picometrics;

#[picometrics]
fn checkout() -> Result<(), ()> {
    Ok(())
}

#[test]
fn the_current_span_becomes_the_bucket_exemplar() {
    assert!(picometrics_exporter::exemplars::install_opentelemetry());
    let trace_id = TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap();
    let span_id = SpanId::from_hex("00f067aa0ba902b7").unwrap();
    let span = SpanContext::new(trace_id, span_id, TraceFlags::SAMPLED, true, TraceState::default());
    {
        let _guard = opentelemetry::Context::current().with_remote_span_context(span).attach();
        checkout().unwrap();
    }
    checkout().unwrap(); // outside any span: keeps the exemplar above

    let mut buffer = picometrics_exporter::MetricsBuffer::new();
    let (body, content_type) = buffer.render(Some("application/openmetrics-text"));
    assert_eq!(content_type, picometrics_exporter::CONTENT_TYPE_OPENMETRICS);
    let bucket = body
        .lines()
        .find(|l| l.contains("function=\"checkout\"") && l.contains("le=\"0.005\""))
        .expect("the first bucket");
    assert!(
        bucket.contains(r#"# {trace_id="4bf92f3577b34da6a3ce929d0e0e4736",span_id="00f067aa0ba902b7"}"#),
        "{bucket}"
    );
    assert!(body.ends_with("# EOF\n"));
    let (text, _) = buffer.render(None);
    assert!(!text.contains("trace_id"));
}
