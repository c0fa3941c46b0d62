//! What has series to expose (a [`Source`]) and the formats they are written in.

use super::*;
use core::fmt;
use picometrics_schema as schema;

/// A text exposition format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Prometheus text format 0.0.4.
    Prometheus,
    /// OpenMetrics 1.0 text (`application/openmetrics-text; version=1.0.0`): counter families
    /// are declared without their `_total` suffix, exemplars are written, and the output ends
    /// with `# EOF`.
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
            _ => Self::Prometheus,
        }
    }

    /// The `Content-Type` of this format.
    pub const fn content_type(self) -> &'static str {
        match self {
            Self::Prometheus => schema::CONTENT_TYPE_TEXT,
            Self::OpenMetrics => schema::CONTENT_TYPE_OPENMETRICS,
        }
    }
}

/// Writes the user metrics of a source in a format: see [`Source::metrics_writer`].
pub type MetricsWriter = fn(&mut dyn fmt::Write, Format) -> fmt::Result;

/// Something that has series to expose: the local registry, a device's dump, a fixture.
///
/// The writer walks [`Source::functions`] once per metric family (so a source is read a few
/// times per scrape, each family consistent in itself) and [`Source::builds`] once.
pub trait Source {
    /// Calls `each` with every function's series, stopping at the first error.
    fn functions(&self, each: &mut dyn FnMut(&FunctionSeries<'_>) -> fmt::Result) -> fmt::Result;

    /// Calls `each` with the `build_info` of every origin (one per process or device).
    fn builds(&self, each: &mut dyn FnMut(&Build<'_>) -> fmt::Result) -> fmt::Result;

    /// Whether some function may report `function_calls_concurrent` (resp.
    /// `function_calls_duration_max_seconds` with `max`): `false` lets a writer skip its pass
    /// over the functions for that family. The default, `true`, is always correct.
    fn may_track(&self, _max: bool) -> bool {
        true
    }

    /// Calls `each` with every user metric series ([`crate::metrics`]), stopping at the first
    /// error. The default has none.
    fn metrics(&self, _each: &mut dyn FnMut(&MetricSeries<'_>) -> fmt::Result) -> fmt::Result {
        Ok(())
    }

    /// A writer of this source's user metrics that the one writer calls instead of grouping
    /// [`Source::metrics`] itself. The default, `None`, is always correct; the registry returns
    /// the one its registered metrics point at, so a program without user metrics does not link
    /// their rendering.
    fn metrics_writer(&self) -> Option<MetricsWriter> {
        None
    }
}

impl<S: Source + ?Sized> Source for &S {
    fn functions(&self, each: &mut dyn FnMut(&FunctionSeries<'_>) -> fmt::Result) -> fmt::Result {
        (**self).functions(each)
    }

    fn may_track(&self, max: bool) -> bool {
        (**self).may_track(max)
    }

    fn metrics(&self, each: &mut dyn FnMut(&MetricSeries<'_>) -> fmt::Result) -> fmt::Result {
        (**self).metrics(each)
    }

    fn metrics_writer(&self) -> Option<MetricsWriter> {
        (**self).metrics_writer()
    }

    fn builds(&self, each: &mut dyn FnMut(&Build<'_>) -> fmt::Result) -> fmt::Result {
        (**self).builds(each)
    }
}
