//! Exemplars from the current OpenTelemetry span (feature `opentelemetry`).
//!
//! ```
//! picometrics_exporter::exemplars::install_opentelemetry();
//! // Calls made inside a sampled span now leave their trace and span id on their histogram
//! // bucket, rendered in OpenMetrics output (`Accept: application/openmetrics-text`).
//! ```

use opentelemetry::trace::TraceContextExt;
use picometrics::exemplars::set_source;
use picometrics::model::TraceContext;

/// Makes every recorded call look up the current OpenTelemetry span. Returns false if another
/// exemplar source was installed first (the first one stays).
pub fn install_opentelemetry() -> bool {
    set_source(current_span).is_ok()
}

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
