//! Exemplars from `tracing` spans (feature `tracing`), as autometrics-rs' `exemplars-tracing`
//! takes them: the `trace_id` and `span_id` fields a span was given (hex text, as W3C
//! `traceparent` writes them, or integers), the nearest span that has them winning, a span with a
//! `span_id` but no `trace_id` taking its parent's trace.
//!
//! ```
//! use tracing_subscriber::layer::SubscriberExt;
//!
//! let subscriber = tracing_subscriber::registry().with(picometrics_exporter::exemplars::TracingExemplars);
//! tracing::subscriber::set_global_default(subscriber).unwrap();
//! picometrics_exporter::exemplars::install_tracing();
//!
//! let span = tracing::info_span!("request", trace_id = "4bf92f3577b34da6a3ce929d0e0e4736", span_id = "00f067aa0ba902b7");
//! let _in = span.enter();
//! // Calls of #[picometrics] functions here leave that trace on their bucket.
//! ```

use picometrics::exemplars::set_source;
use picometrics::model::TraceContext;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::Subscriber;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

/// The layer that keeps, with each span, the `trace_id` and `span_id` it was given (put it on
/// a `tracing_subscriber::registry()`).
#[derive(Clone, Copy, Debug, Default)]
pub struct TracingExemplars;

/// A span's ids as far as its fields gave them.
#[derive(Clone, Copy, Debug, Default)]
struct Ids {
    trace_id: Option<u128>,
    span_id: Option<u64>,
}

impl Visit for Ids {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "trace_id" => self.trace_id = u128::from_str_radix(value, 16).ok().filter(|&t| t != 0),
            "span_id" => self.span_id = u64::from_str_radix(value, 16).ok().filter(|&s| s != 0),
            _ => {}
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        match field.name() {
            "trace_id" => self.trace_id = Some(u128::from(value)).filter(|&t| t != 0),
            "span_id" => self.span_id = Some(value).filter(|&s| s != 0),
            _ => {}
        }
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        if field.name() == "trace_id" {
            self.trace_id = Some(value).filter(|&t| t != 0);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        // `%id` / `?id` fields: their text, without the quotes `Debug` of a string adds.
        let text = format!("{value:?}");
        self.record_str(field, text.trim_matches('"'));
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for TracingExemplars {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut ids = Ids::default();
        attrs.record(&mut ids);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(ids);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            let mut extensions = span.extensions_mut();
            if let Some(ids) = extensions.get_mut::<Ids>() {
                values.record(ids);
            }
        }
    }
}

/// Makes every recorded call look up the current `tracing` span ([`current_tracing_span`]).
/// Returns false if another exemplar source was installed first (the first one stays).
pub fn install_tracing() -> bool {
    set_source(current_tracing_span).is_ok()
}

/// The trace and span id of the current `tracing` span: the nearest span (the current one,
/// then its parents) with a `span_id`, and the nearest with a `trace_id` from there on. `None`
/// outside spans, without the [`TracingExemplars`] layer on a registry, or without ids.
pub fn current_tracing_span() -> Option<TraceContext> {
    tracing::dispatcher::get_default(|dispatch| {
        let registry = dispatch.downcast_ref::<tracing_subscriber::Registry>()?;
        // The dispatcher's own current span: `Span::current()` would ask for the default
        // dispatcher again, which `get_default` does not lend twice.
        let current = dispatch.current_span();
        let span = registry.span(current.id()?)?;
        let (mut span_id, mut trace_id) = (None, None);
        for s in span.scope() {
            if let Some(ids) = s.extensions().get::<Ids>() {
                span_id = span_id.or(ids.span_id);
                if span_id.is_some() {
                    trace_id = trace_id.or(ids.trace_id);
                }
            }
            if span_id.is_some() && trace_id.is_some() {
                break;
            }
        }
        Some(TraceContext { trace_id: trace_id?, span_id: span_id? })
    })
}
