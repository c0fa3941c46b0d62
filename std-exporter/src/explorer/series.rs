//! One series' history: its latest totals and a ring of per-interval points, and what the
//! page reads of it (rates, percentiles, the error budget).

use super::*;
use picometrics::model::{Build, FunctionSeries, Totals};
use picometrics::report::Quantile;
use serde::Serialize;
use std::collections::VecDeque;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// One interval of one series. 40 bytes; `points` of them per series.
#[derive(Clone, Copy, Debug)]
pub(super) struct Point {
    /// End of the interval, Unix milliseconds.
    pub(super) t: u64,
    /// Length of the interval in milliseconds.
    pub(super) span_ms: u32,
    /// Calls completed in the interval.
    pub(super) calls: u32,
    /// Of which errors.
    pub(super) errors: u32,
    /// Of which slower than the latency objective's threshold.
    pub(super) slow: u32,
    /// Concurrency at the end of the interval (`u32::MAX`: not tracked).
    pub(super) concurrent: u32,
    /// p50, p95, p99 of the interval's calls in seconds, as far as the buckets know (the
    /// first bound for "at most", the last for "above"; NaN: no calls).
    pub(super) quantiles: [f32; 3],
}

/// The series a row is about: its device (if any), module and function.
pub(super) type Key = (String, String, String);

/// An objective, as numbers.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(super) struct Objective {
    pub(super) name: String,
    /// Success-rate objective, percent.
    pub(super) success_percentile: Option<f64>,
    /// Latency objective: threshold in seconds and percent.
    pub(super) latency_threshold_seconds: Option<f64>,
    pub(super) latency_percentile: Option<f64>,
    /// Index of the threshold's bucket (calls in later buckets are slow).
    #[serde(skip)]
    pub(super) latency_bucket: Option<usize>,
}

/// Calls from one caller, by result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Edge {
    pub(super) function: String,
    pub(super) module: String,
    pub(super) calls: Totals,
}

/// Everything kept for one series.
pub(super) struct Series {
    pub(super) service_name: String,
    pub(super) objective: Option<Objective>,
    pub(super) bounds: Vec<u64>,
    /// Totals and per-bucket counts at the latest sample.
    pub(super) totals: Totals,
    pub(super) counts: Vec<u64>,
    pub(super) concurrent: Option<u64>,
    /// The longest call since start, for functions with `track_max`.
    pub(super) max_nanos: Option<u64>,
    /// Per-bucket counts at the start of the window (two anchors: the table's percentiles
    /// cover one to two windows).
    pub(super) anchors: [(u64, Vec<u64>); 2],
    pub(super) callers: Vec<Edge>,
    pub(super) root: Totals,
    pub(super) overflow: Totals,
    pub(super) points: VecDeque<Point>,
    /// Sample number of the latest sample that saw this series.
    pub(super) seen: u64,
    /// Unix milliseconds of the latest sample.
    pub(super) at: u64,
}

/// `build_info` of one process or device.
#[derive(Clone, Debug, Serialize)]
pub(super) struct BuildRow {
    pub(super) device: Option<String>,
    pub(super) version: String,
    pub(super) commit: String,
    pub(super) branch: String,
    pub(super) service_name: String,
    pub(super) repository_url: String,
}

impl From<&Build<'_>> for BuildRow {
    fn from(b: &Build<'_>) -> Self {
        Self {
            device: b.extra.map(|(_, v)| v.to_owned()),
            version: b.version.into(),
            commit: b.commit.into(),
            branch: b.branch.into(),
            service_name: b.service_name.into(),
            repository_url: b.repository_url.into(),
        }
    }
}

/// `new - old` for a counter, or `new` when it went down (a reset, as Prometheus reads it).
pub(super) fn increase(new: u64, old: u64) -> u64 {
    new.checked_sub(old).unwrap_or(new)
}

pub(super) fn unix_ms(now: SystemTime) -> u64 {
    now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

pub(super) fn objective(s: &FunctionSeries<'_>) -> Option<Objective> {
    let o = s.objective?;
    let percent = |p: &str| p.parse::<f64>().ok();
    Some(Objective {
        name: o.name.into(),
        success_percentile: o.success_percentile.and_then(percent),
        latency_threshold_seconds: o.latency.map(|(nanos, _)| nanos as f64 / 1e9),
        latency_percentile: o.latency.and_then(|(_, p)| percent(p)),
        latency_bucket: o.latency.and_then(|(nanos, _)| s.bounds.iter().position(|&b| b == nanos)),
    })
}

impl Series {
    pub(super) fn new(s: &FunctionSeries<'_>, at: u64, sample: u64, points: usize) -> Self {
        Self {
            service_name: s.service_name.into(),
            objective: objective(s),
            bounds: s.bounds.into(),
            totals: s.total(),
            counts: s.counts.into(),
            concurrent: s.concurrent,
            max_nanos: s.max_nanos,
            anchors: [(at, s.counts.into()), (at, s.counts.into())],
            callers: Vec::new(),
            root: s.root,
            overflow: s.overflow,
            points: VecDeque::with_capacity(points),
            seen: sample,
            at,
        }
    }

    /// Takes a new reading: one point for the interval since the last one.
    pub(super) fn update(
        &mut self,
        s: &FunctionSeries<'_>,
        at: u64,
        settings: &Settings,
        delta: &mut Vec<u64>,
    ) {
        if s.bounds != self.bounds.as_slice() || s.counts.len() != self.counts.len() {
            // New bounds (a device with new firmware): start the series over.
            *self = Self::new(s, at, self.seen, settings.points);
            return;
        }
        let now = s.total();
        delta.clear();
        delta.extend(s.counts.iter().zip(&self.counts).map(|(&n, &o)| increase(n, o)));
        let quantile = |q| {
            picometrics::report::quantile(&self.bounds, delta, q).map_or(f32::NAN, |q| q.seconds() as f32)
        };
        let slow = self
            .objective
            .as_ref()
            .and_then(|o| o.latency_bucket)
            .map_or(0, |b| delta[b + 1..].iter().sum::<u64>());
        let point = Point {
            t: at,
            span_ms: at.saturating_sub(self.at).min(u64::from(u32::MAX)) as u32,
            calls: clamp32(increase(now.sum(), self.totals.sum())),
            errors: clamp32(increase(now.error, self.totals.error)),
            slow: clamp32(slow),
            concurrent: s.concurrent.map_or(u32::MAX, clamp32),
            quantiles: [quantile(0.5), quantile(0.95), quantile(0.99)],
        };
        if self.points.len() == settings.points {
            self.points.pop_front();
        }
        self.points.push_back(point);
        self.totals = now;
        self.counts.copy_from_slice(s.counts);
        self.concurrent = s.concurrent;
        self.max_nanos = s.max_nanos;
        self.root = s.root;
        self.overflow = s.overflow;
        let window_ms = settings.window.as_millis() as u64;
        if at.saturating_sub(self.anchors[1].0) >= window_ms {
            self.anchors.swap(0, 1);
            self.anchors[1].0 = at;
            self.anchors[1].1.copy_from_slice(s.counts);
        }
        self.at = at;
        self.service_name.replace_range(.., s.service_name);
        self.update_callers(s);
    }

    /// Keeps the caller edges without reallocating when only their counts changed.
    pub(super) fn update_callers(&mut self, s: &FunctionSeries<'_>) {
        let same = self.callers.len() == s.callers.len()
            && self
                .callers
                .iter()
                .zip(s.callers)
                .all(|(e, c)| e.function == c.function && e.module == c.module);
        if same {
            for (e, c) in self.callers.iter_mut().zip(s.callers) {
                e.calls = c.calls;
            }
        } else {
            self.callers = s
                .callers
                .iter()
                .map(|c| Edge { function: c.function.into(), module: c.module.into(), calls: c.calls })
                .collect();
        }
    }

    /// Points in the last `window` (at least the latest one).
    pub(super) fn recent(&self, window: Duration) -> impl Iterator<Item = &Point> {
        let from = self.at.saturating_sub(window.as_millis() as u64);
        self.points.iter().filter(move |p| p.t > from)
    }

    /// Calls/s and error ratio over `points`.
    pub(super) fn rates<'a>(points: impl Iterator<Item = &'a Point>) -> (Option<f64>, Option<f64>) {
        let (mut calls, mut errors, mut ms) = (0u64, 0u64, 0u64);
        for p in points {
            calls += u64::from(p.calls);
            errors += u64::from(p.errors);
            ms += u64::from(p.span_ms);
        }
        let rate = (ms > 0).then(|| calls as f64 * 1000.0 / ms as f64);
        (rate, (calls > 0).then(|| errors as f64 / calls as f64))
    }

    pub(super) fn row<'a>(&'a self, key: &'a Key, window: Duration) -> Row<'a> {
        let (rate, mut error_ratio) = Self::rates(self.recent(window));
        let mut counts: Vec<u64> =
            self.counts.iter().zip(&self.anchors[0].1).map(|(&n, &o)| increase(n, o)).collect();
        // No calls lately (a device that dumped once, an idle function): what all calls so
        // far say is more useful than nothing, and `window: false` says so.
        let window = counts.iter().any(|&c| c > 0) || error_ratio.is_some();
        if !window {
            counts.copy_from_slice(&self.counts);
            let calls = self.totals.sum();
            error_ratio = (calls > 0).then(|| self.totals.error as f64 / calls as f64);
        }
        let quantile = |q| picometrics::report::quantile(&self.bounds, &counts, q);
        let [p50, p95, p99] = [0.5, 0.95, 0.99].map(quantile);
        Row {
            device: (!key.0.is_empty()).then_some(key.0.as_str()),
            function: &key.2,
            module: &key.1,
            service_name: &self.service_name,
            calls: self.totals.sum(),
            errors: self.totals.error,
            rate,
            error_ratio,
            window,
            p50: p50.map(Quantile::seconds),
            p95: p95.map(Quantile::seconds),
            p99: p99.map(Quantile::seconds),
            quantiles: Quantiles {
                p50: p50.map(Into::into),
                p95: p95.map(Into::into),
                p99: p99.map(Into::into),
            },
            concurrent: self.concurrent,
            worst: self.max_nanos.map(|ns| ns as f64 / 1e9),
            objective: self.objective.as_ref(),
        }
    }

    /// The share of each objective's error budget spent over the whole history.
    pub(super) fn budget(&self) -> Budget {
        let Some(o) = &self.objective else { return Budget::default() };
        let (mut calls, mut errors, mut slow) = (0u64, 0u64, 0u64);
        for p in &self.points {
            calls += u64::from(p.calls);
            errors += u64::from(p.errors);
            slow += u64::from(p.slow);
        }
        // Bad calls over the calls the objective allows to be bad, e.g. 1 error in 100 calls
        // against a 99 % objective: 1.0, all of the budget.
        let spent = |bad: u64, percentile: Option<f64>| {
            let allowed_percent = 100.0 - percentile?;
            (calls > 0 && allowed_percent > 0.0)
                .then(|| bad as f64 * 100.0 / (calls as f64 * allowed_percent))
        };
        Budget {
            success: spent(errors, o.success_percentile),
            latency: o.latency_bucket.and_then(|_| spent(slow, o.latency_percentile)),
            calls,
        }
    }
}

pub(super) fn clamp32(n: u64) -> u32 {
    n.min(u64::from(u32::MAX - 1)) as u32
}
