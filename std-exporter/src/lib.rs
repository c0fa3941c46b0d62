#![doc = include_str!("../README.md")]
//! ## Features
//!
#![doc = document_features::document_features!()]
#![forbid(unsafe_code)]

mod cache;
#[cfg(feature = "prometheus")]
mod collector;
mod error;
#[cfg(any(feature = "opentelemetry", feature = "tracing"))]
pub mod exemplars;
mod explorer;
#[cfg(feature = "push")]
pub mod push;
pub mod rules;
mod server;

#[cfg(feature = "prometheus")]
pub use collector::PicometricsCollector;
pub use error::BuildError;
pub use server::{serve, Builder, HttpService, Server, ServiceBody};

pub use picometrics::model::Format;
pub use picometrics::schema::{CONTENT_TYPE_OPENMETRICS, CONTENT_TYPE_TEXT};

/// A reusable render buffer: after the first renders it holds enough capacity (plus a quarter
/// for growth) and rendering allocates nothing. It keeps each function's lines between
/// renders and formats again only the functions whose values changed.
///
/// ```
/// let mut buffer = picometrics_exporter::MetricsBuffer::new();
/// let (body, content_type) = buffer.render(Some("text/plain"));
/// assert!(body.contains("# TYPE build_info gauge"));
/// assert_eq!(content_type, picometrics_exporter::CONTENT_TYPE_TEXT);
/// ```
#[derive(Debug, Default)]
pub struct MetricsBuffer {
    /// The last render in each format, kept so the next copies what did not change.
    cache: [cache::RenderCache; 2],
}

impl MetricsBuffer {
    /// An empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Renders every registered function in the format `accept` asks for (see
    /// [`Format::from_accept`]); returns the body and its content type.
    pub fn render(&mut self, accept: Option<&str>) -> (&str, &'static str) {
        let format = Format::from_accept(accept);
        (self.render_format(format), format.content_type())
    }

    /// Renders every registered function in `format`.
    pub fn render_format(&mut self, format: Format) -> &str {
        let cache = self.cache(format);
        #[allow(unused_variables)] // Appended to only with `push`.
        let text = cache.write(&picometrics::registry::Registry, format);
        #[cfg(feature = "push")]
        append_push_metrics(text, format);
        cache.keep_room();
        cache.text()
    }

    /// Renders `source` in `format`, with [`MetricsBuffer::render_format`]'s cache (a buffer
    /// keeps one source's lines: use one buffer per source). Hidden: for the benches.
    #[doc(hidden)]
    pub fn render_source<S: picometrics::model::Source + ?Sized>(
        &mut self,
        source: &S,
        format: Format,
    ) -> &str {
        let cache = self.cache(format);
        cache.write(source, format);
        cache.keep_room();
        cache.text()
    }

    fn cache(&mut self, format: Format) -> &mut cache::RenderCache {
        &mut self.cache[usize::from(format == Format::OpenMetrics)]
    }
}

/// The pushers' own families, before OpenMetrics' `# EOF`.
#[cfg(feature = "push")]
fn append_push_metrics(text: &mut String, format: Format) {
    const EOF: &str = "# EOF\n";
    let eof = format == Format::OpenMetrics && text.ends_with(EOF);
    if eof {
        text.truncate(text.len() - EOF.len());
    }
    let _ = push::write_metrics(text, format);
    if eof {
        text.push_str(EOF);
    }
}

/// The per-function summary table (calls, error share, p50/p95/p99, highest bucket) of
/// [`picometrics::report::write_report`], as a `String`: for terminals and logs.
pub fn report() -> String {
    let mut out = String::new();
    // Writing into a `String` cannot fail.
    let _ = picometrics::report::write_report(&mut out);
    out
}

/// Renders every registered function and `build_info` as Prometheus text (format 0.0.4).
pub fn render_to_string() -> String {
    MetricsBuffer::new().render_format(Format::Prometheus).to_owned()
}

#[cfg(test)]
mod tests {
    use super::Format;

    #[test]
    fn negotiates_like_prometheus() {
        // What Prometheus 2.x sends.
        let prom = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(Format::from_accept(Some(prom)), Format::OpenMetrics);
        assert_eq!(Format::from_accept(Some("text/plain;version=0.0.4")), Format::Prometheus);
        assert_eq!(Format::from_accept(Some("application/openmetrics-text; q=0")), Format::Prometheus);
        assert_eq!(Format::from_accept(Some("application/openmetrics-text;q=0.0")), Format::Prometheus);
        assert_eq!(Format::from_accept(Some("application/openmetrics-text; Q=0.000")), Format::Prometheus);
        assert_eq!(Format::from_accept(Some("application/openmetrics-text;q=bogus")), Format::Prometheus);
        assert_eq!(
            Format::from_accept(Some("text/plain;q=0.9,application/openmetrics-text;q=0.5")),
            Format::Prometheus
        );
        assert_eq!(
            Format::from_accept(Some("text/plain;q=0.5,application/openmetrics-text;q=0.9")),
            Format::OpenMetrics
        );
        assert_eq!(Format::from_accept(Some("APPLICATION/OPENMETRICS-TEXT")), Format::OpenMetrics);
        assert_eq!(Format::from_accept(None), Format::Prometheus);
        assert_eq!(Format::from_accept(Some("*/*")), Format::Prometheus);
    }
}
