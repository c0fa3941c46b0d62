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
    pub(super) p50: Option<f64>,
    pub(super) p95: Option<f64>,
    pub(super) p99: Option<f64>,
    pub(super) concurrent: Option<u64>,
    /// The longest call since start in seconds, for functions with `track_max`.
    pub(super) worst: Option<f64>,
    pub(super) objective: Option<&'a Objective>,
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
}

/// An answer of the JSON endpoints: status and body.
pub(crate) type Json = (u16, String);

pub(super) fn error(status: u16, message: &str) -> Json {
    (status, serde_json::json!({ "error": message }).to_string())
}
