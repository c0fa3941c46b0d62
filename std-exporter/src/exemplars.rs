//! Exemplars from the current span: OpenTelemetry's (feature `opentelemetry`) or `tracing`'s
//! (feature `tracing`). Calls made inside a span then leave its trace and span id on their
//! histogram bucket, rendered in OpenMetrics output (`Accept: application/openmetrics-text`).
//!
//! ```
//! # #[cfg(feature = "opentelemetry")]
//! picometrics_exporter::exemplars::install_opentelemetry();
//! ```

#[cfg(feature = "tracing")]
mod tracing_spans;
#[cfg(feature = "tracing")]
pub use tracing_spans::{current_tracing_span, install_tracing, TracingExemplars};

#[cfg(feature = "opentelemetry")]
use opentelemetry::trace::TraceContextExt;
#[cfg(feature = "opentelemetry")]
use picometrics::exemplars::set_source;
#[cfg(feature = "opentelemetry")]
use picometrics::model::TraceContext;

#[cfg(feature = "opentelemetry")]
/// Makes every recorded call look up the current OpenTelemetry span. Returns false if another
/// exemplar source was installed first (the first one stays).
pub fn install_opentelemetry() -> bool {
    set_source(current_span).is_ok()
}

#[cfg(feature = "opentelemetry")]
/// The trace and span id of the current OpenTelemetry span, if it is valid.
pub fn current_span() -> Option<TraceContext> {
    let cx = opentelemetry::Context::current();
    let span = cx.span();
    let sc = span.span_context();
    sc.is_valid().then(|| TraceContext {
        trace_id: u128::from_be_bytes(sc.trace_id().to_bytes()),
        span_id: u64::from_be_bytes(sc.span_id().to_bytes()),
    })
}
