#![doc = include_str!("../README.md")]
//! ## Features
//!
#![doc = document_features::document_features!()]
#![forbid(unsafe_code)]

#[cfg(feature = "prometheus")]
mod collector;
#[cfg(feature = "opentelemetry")]
pub mod exemplars;
mod explorer;
#[cfg(feature = "push")]
pub mod push;
pub mod rules;
mod server;

#[cfg(feature = "prometheus")]
pub use collector::PicometricsCollector;
pub use server::{serve, BuildError, Builder, Server};

/// Content type of the Prometheus text format 0.0.4.
pub const CONTENT_TYPE_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Content type of the OpenMetrics 1.0 text format.
pub const CONTENT_TYPE_OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// An exposition format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Prometheus text format 0.0.4.
    Text,
    /// OpenMetrics 1.0 text format.
    OpenMetrics,
}

impl Format {
    /// The format a scraper asks for with its `Accept` header: OpenMetrics when it lists
    /// `application/openmetrics-text` with a weight above zero and at least that of
    /// `text/plain` (Prometheus asks for OpenMetrics first, text at `q=0.5`), otherwise text
    /// 0.0.4. Weights are parsed as numbers (`q=0`, `q=0.0` and `q=0.000` all decline); an
    /// unreadable weight declines too.
    pub fn from_accept(accept: Option<&str>) -> Self {
        let (mut openmetrics, mut text) = (None::<f32>, None::<f32>);
        for range in accept.unwrap_or_default().split(',') {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next().unwrap_or_default();
            let q = parts
                .filter_map(|p| p.split_once('='))
                .filter(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
                .map(|(_, v)| v.trim().parse::<f32>().unwrap_or(0.0))
                .next_back()
                .unwrap_or(1.0);
            let slot = if media.eq_ignore_ascii_case("application/openmetrics-text") {
                &mut openmetrics
            } else if media.eq_ignore_ascii_case("text/plain") || media == "text/*" || media == "*/*" {
                &mut text
            } else {
                continue;
            };
            *slot = Some(slot.map_or(q, |best| best.max(q)));
        }
        match openmetrics {
            Some(q) if q > 0.0 && q >= text.unwrap_or(0.0) => Self::OpenMetrics,
            _ => Self::Text,
        }
    }

    /// The `Content-Type` of this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Text => CONTENT_TYPE_TEXT,
            Self::OpenMetrics => CONTENT_TYPE_OPENMETRICS,
        }
    }
}

impl From<Format> for picometrics::render::Format {
    fn from(f: Format) -> Self {
        match f {
            Format::Text => Self::Prometheus,
            Format::OpenMetrics => Self::OpenMetrics,
        }
    }
}

/// A reusable render buffer: after the first renders it holds enough capacity (plus a quarter
/// for growth) and rendering allocates nothing.
///
/// ```
/// let mut buffer = picometrics_exporter::MetricsBuffer::new();
/// let (body, content_type) = buffer.render(Some("text/plain"));
/// assert!(body.contains("# TYPE build_info gauge"));
/// assert_eq!(content_type, picometrics_exporter::CONTENT_TYPE_TEXT);
/// ```
#[derive(Debug, Default)]
pub struct MetricsBuffer {
    text: String,
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
        self.text.clear();
        // Writing into a `String` cannot fail.
        let _ = picometrics::render::write(&mut self.text, &picometrics::registry::Registry, format.into());
        #[cfg(feature = "push")]
        self.append_push_metrics(format);
        // Keep a quarter more room than this render needed: counters gain digits and callers
        // appear over time, and the next render should still fit without reallocating.
        let want = self.text.len() + self.text.len() / 4 + 256;
        if self.text.capacity() < want {
            self.text.reserve(want - self.text.len());
        }
        &self.text
    }
}

impl MetricsBuffer {
    /// The pushers' own families, before OpenMetrics' `# EOF`.
    #[cfg(feature = "push")]
    fn append_push_metrics(&mut self, format: Format) {
        const EOF: &str = "# EOF\n";
        let eof = format == Format::OpenMetrics && self.text.ends_with(EOF);
        if eof {
            self.text.truncate(self.text.len() - EOF.len());
        }
        let _ = push::write_metrics(&mut self.text, format.into());
        if eof {
            self.text.push_str(EOF);
        }
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
    MetricsBuffer::new().render_format(Format::Text).to_owned()
}

#[cfg(test)]
mod tests {
    use super::Format;

    #[test]
    fn negotiates_like_prometheus() {
        // What Prometheus 2.x sends.
        let prom = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(Format::from_accept(Some(prom)), Format::OpenMetrics);
        assert_eq!(Format::from_accept(Some("text/plain;version=0.0.4")), Format::Text);
        assert_eq!(Format::from_accept(Some("application/openmetrics-text; q=0")), Format::Text);
        assert_eq!(Format::from_accept(Some("application/openmetrics-text;q=0.0")), Format::Text);
        assert_eq!(Format::from_accept(Some("application/openmetrics-text; Q=0.000")), Format::Text);
        assert_eq!(Format::from_accept(Some("application/openmetrics-text;q=bogus")), Format::Text);
        assert_eq!(
            Format::from_accept(Some("text/plain;q=0.9,application/openmetrics-text;q=0.5")),
            Format::Text
        );
        assert_eq!(
            Format::from_accept(Some("text/plain;q=0.5,application/openmetrics-text;q=0.9")),
            Format::OpenMetrics
        );
        assert_eq!(Format::from_accept(Some("APPLICATION/OPENMETRICS-TEXT")), Format::OpenMetrics);
        assert_eq!(Format::from_accept(None), Format::Text);
        assert_eq!(Format::from_accept(Some("*/*")), Format::Text);
    }
}
