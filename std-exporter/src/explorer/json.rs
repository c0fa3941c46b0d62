//! The JSON the page and other tools read: `/api/v1/overview` and `/api/v1/function`.

use super::*;
use serde::Serialize;

/// One row of the table.
#[derive(Serialize)]
pub(super) struct Row<'a> {
    pub(super) device: Option<&'a str>,
    pub(super) function: &'a str,
    pub(super) module: &'a str,
    pub(super) service_name: &'a str,
    pub(super) calls: u64,
    pub(super) errors: u64,
    pub(super) rate: Option<f64>,
    pub(super) error_ratio: Option<f64>,
    /// Whether `error_ratio` and the percentiles are over the window (else over all calls).
    pub(super) window: bool,
    /// In seconds, as far as the buckets know ([`QuantileRow::seconds`]); `quantiles` says
    /// which case each one is.
    pub(super) p50: Option<f64>,
    pub(super) p95: Option<f64>,
    pub(super) p99: Option<f64>,
    pub(super) quantiles: Quantiles,
    pub(super) concurrent: Option<u64>,
    /// The longest call since start in seconds, for functions with `track_max`.
    pub(super) worst: Option<f64>,
    pub(super) objective: Option<&'a Objective>,
}

/// p50, p95 and p99 with their precision.
#[derive(Serialize)]
pub(super) struct Quantiles {
    pub(super) p50: Option<QuantileRow>,
    pub(super) p95: Option<QuantileRow>,
    pub(super) p99: Option<QuantileRow>,
}

/// One quantile as far as the histogram knows it.
#[derive(Serialize)]
pub(super) struct QuantileRow {
    /// `"at_most"` (in the first bucket), `"between"` (interpolated inside a bucket) or
    /// `"above"` (in `+Inf`).
    pub(super) kind: &'static str,
    /// For people: `< 5 ms`, `7.50 ms`, `> 10 s` (`picometrics::report::Quantile`'s display).
    pub(super) text: String,
    /// Its bucket for people: `0 – 5 ms`.
    pub(super) bucket: String,
    /// The bucket's bounds in seconds (`upper` null for `+Inf`).
    pub(super) lower: f64,
    pub(super) upper: Option<f64>,
    /// The one number: the interpolation `between`, the first bound `at_most` (an upper
    /// limit), the last bound `above` (a lower limit).
    pub(super) seconds: f64,
}

impl From<picometrics::report::Quantile> for QuantileRow {
    fn from(q: picometrics::report::Quantile) -> Self {
        let (lower, upper) = q.range();
        Self {
            kind: q.kind(),
            text: q.to_string(),
            bucket: q.bucket().to_string(),
            lower: lower as f64 / 1e9,
            upper: upper.map(|u| u as f64 / 1e9),
            seconds: q.seconds(),
        }
    }
}

/// The share of an objective's error budget spent (1.0: all of it).
#[derive(Default, Serialize)]
pub(super) struct Budget {
    pub(super) success: Option<f64>,
    pub(super) latency: Option<f64>,
    /// Calls the shares are of.
    pub(super) calls: u64,
}

#[derive(Serialize)]
pub(super) struct Overview<'a> {
    pub(super) service_name: &'a str,
    pub(super) builds: &'a [BuildRow],
    pub(super) devices: Vec<&'a str>,
    pub(super) interval_seconds: f64,
    pub(super) window_seconds: f64,
    pub(super) history_seconds: f64,
    pub(super) prometheus_url: Option<&'a str>,
    /// Links to the dashboards of `dashboards/`, when a Grafana is configured.
    pub(super) grafana: Option<GrafanaLinks>,
    pub(super) untracked: u64,
    pub(super) functions: Vec<Row<'a>>,
}

#[derive(Serialize)]
pub(super) struct ChartPoint {
    pub(super) t: u64,
    pub(super) rate: Option<f64>,
    pub(super) error_ratio: Option<f64>,
    pub(super) p50: Option<f32>,
    pub(super) p95: Option<f32>,
    pub(super) p99: Option<f32>,
    pub(super) concurrent: Option<u32>,
}

#[derive(Serialize)]
pub(super) struct EdgeRow<'a> {
    pub(super) function: &'a str,
    pub(super) module: &'a str,
    pub(super) calls: u64,
    pub(super) errors: u64,
}

#[derive(Serialize)]
pub(super) struct QueryRow {
    pub(super) title: &'static str,
    pub(super) query: String,
    pub(super) link: Option<String>,
}

#[derive(Serialize)]
pub(super) struct Detail<'a> {
    #[serde(flatten)]
    pub(super) row: Row<'a>,
    pub(super) points: Vec<ChartPoint>,
    pub(super) callers: Vec<EdgeRow<'a>>,
    pub(super) callees: Vec<EdgeRow<'a>>,
    pub(super) budget: Budget,
    pub(super) queries: Vec<QueryRow>,
    /// The function's Grafana dashboard, when a Grafana is configured.
    pub(super) dashboard: Option<String>,
}

/// The overview's links to the dashboards.
#[derive(Serialize)]
pub(super) struct GrafanaLinks {
    pub(super) overview: String,
    pub(super) slo: String,
    pub(super) devices: String,
}

/// An answer of the JSON endpoints: status and body.
pub(crate) type Json = (u16, String);

pub(super) fn error(status: u16, message: &str) -> Json {
    (status, serde_json::json!({ "error": message }).to_string())
}
