//! The explorer: a short in-memory history of the metrics, the JSON that reads it, and the page
//! that draws it — served beside `/metrics`, working with no Prometheus at all.
//!
//! A sampler thread reads a [`Source`] (the registry, or the device bridge's store) every
//! interval, the way a scrape does: the instrumented hot path never changes. Each series keeps
//! its latest totals and a fixed ring of per-interval points (calls, errors, calls over the
//! latency objective, p50/p95/p99 of that interval, concurrency), so memory is bounded by
//! `max_series × points` whatever the traffic; series beyond `max_series` are not tracked (and
//! counted), series that leave the source leave the history.
//!
//! # JSON endpoints (also for other tools)
//! - `GET /api/v1/overview`: `service_name`, `builds` (one per process or device), `devices`,
//!   `interval_seconds`, `window_seconds`, `history_seconds`, `prometheus_url`, `untracked`
//!   (series over the limit), and `functions`: one row per series with `device`, `function`,
//!   `module`, lifetime `calls` and `errors`, and over the last window `rate` (calls/s),
//!   `error_ratio` (0–1), `p50`/`p95`/`p99` (seconds), plus `concurrent`, `worst` (the longest
//!   call since start, for functions with `track_max`) and `objective`.
//!   With no calls in the window, `window` is `false` and the ratio and percentiles are over
//!   all calls so far; values that cannot be known at all are `null`.
//! - `GET /api/v1/function?function=F&module=M[&device=D]`: that row, plus `points` (each with
//!   `t` in Unix milliseconds, `rate`, `error_ratio`, `p50`, `p95`, `p99`, `concurrent`),
//!   `callers` and `callees` (edges with `calls` and `errors`; a caller with empty names is
//!   code that is not instrumented), `budget` (the share of each objective's error budget spent
//!   over the history) and `queries` (the generated PromQL, with a link when a Prometheus URL
//!   is configured). `400` without `function` and `module`, `404` for an unknown series.

use picometrics::model::{Build, FunctionSeries, Source, Totals};
use picometrics::queries::Query;
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The page, its script and its style, embedded in the binary (no network at run time).
pub(crate) const PAGE: &str = include_str!("../explorer/index.html");
/// The page's script.
pub(crate) const SCRIPT: &str = include_str!("../explorer/explorer.js");
/// The page's style.
pub(crate) const STYLE: &str = include_str!("../explorer/explorer.css");

/// What the explorer keeps and where it reads from (see [`crate::Builder::history`]).
#[derive(Clone)]
pub(crate) struct Settings {
    /// Time between two samples.
    pub interval: Duration,
    /// Points kept per series.
    pub points: usize,
    /// Series tracked at most.
    pub max_series: usize,
    /// What the table's rates and percentiles cover.
    pub window: Duration,
    /// Prometheus to link the queries to.
    pub prometheus_url: Option<String>,
    /// The source, when it is not this process's registry.
    pub source: Option<Arc<dyn Source + Send + Sync>>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(1),
            points: 300,
            max_series: 1024,
            window: Duration::from_secs(30),
            prometheus_url: None,
            source: None,
        }
    }
}

/// One interval of one series. 40 bytes; `points` of them per series.
#[derive(Clone, Copy, Debug)]
struct Point {
    /// End of the interval, Unix milliseconds.
    t: u64,
    /// Length of the interval in milliseconds.
    span_ms: u32,
    /// Calls completed in the interval.
    calls: u32,
    /// Of which errors.
    errors: u32,
    /// Of which slower than the latency objective's threshold.
    slow: u32,
    /// Concurrency at the end of the interval (`u32::MAX`: not tracked).
    concurrent: u32,
    /// p50, p95, p99 of the interval's calls in seconds (NaN: no calls).
    quantiles: [f32; 3],
}

/// The series a row is about: its device (if any), module and function.
type Key = (String, String, String);

/// An objective, as numbers.
#[derive(Clone, Debug, PartialEq, Serialize)]
struct Objective {
    name: String,
    /// Success-rate objective, percent.
    success_percentile: Option<f64>,
    /// Latency objective: threshold in seconds and percent.
    latency_threshold_seconds: Option<f64>,
    latency_percentile: Option<f64>,
    /// Index of the threshold's bucket (calls in later buckets are slow).
    #[serde(skip)]
    latency_bucket: Option<usize>,
}

/// Calls from one caller, by result.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Edge {
    function: String,
    module: String,
    calls: Totals,
}

/// Everything kept for one series.
struct Series {
    service_name: String,
    objective: Option<Objective>,
    bounds: Vec<u64>,
    /// Totals and per-bucket counts at the latest sample.
    totals: Totals,
    counts: Vec<u64>,
    concurrent: Option<u64>,
    /// The longest call since start, for functions with `track_max`.
    max_nanos: Option<u64>,
    /// Per-bucket counts at the start of the window (two anchors: the table's percentiles
    /// cover one to two windows).
    anchors: [(u64, Vec<u64>); 2],
    callers: Vec<Edge>,
    root: Totals,
    overflow: Totals,
    points: VecDeque<Point>,
    /// Sample number of the latest sample that saw this series.
    seen: u64,
    /// Unix milliseconds of the latest sample.
    at: u64,
}

/// The history: every tracked series, updated by [`History::sample`].
pub(crate) struct History {
    settings: Settings,
    series: BTreeMap<Key, Series>,
    builds: Vec<BuildRow>,
    samples: u64,
    untracked: u64,
    /// Scratch for one interval's per-bucket counts.
    delta: Vec<u64>,
    /// Scratch for looking a series up.
    scratch: Key,
}

/// `build_info` of one process or device.
#[derive(Clone, Debug, Serialize)]
struct BuildRow {
    device: Option<String>,
    version: String,
    commit: String,
    branch: String,
    service_name: String,
    repository_url: String,
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
fn increase(new: u64, old: u64) -> u64 {
    new.checked_sub(old).unwrap_or(new)
}

/// All calls of a series, by result.
fn totals(s: &FunctionSeries<'_>) -> Totals {
    s.total()
}

fn unix_ms(now: SystemTime) -> u64 {
    now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

fn objective(s: &FunctionSeries<'_>) -> Option<Objective> {
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
    fn new(s: &FunctionSeries<'_>, at: u64, sample: u64, points: usize) -> Self {
        Self {
            service_name: s.service_name.into(),
            objective: objective(s),
            bounds: s.bounds.into(),
            totals: totals(s),
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
    fn update(&mut self, s: &FunctionSeries<'_>, at: u64, settings: &Settings, delta: &mut Vec<u64>) {
        if s.bounds != self.bounds.as_slice() || s.counts.len() != self.counts.len() {
            // New bounds (a device with new firmware): start the series over.
            *self = Self::new(s, at, self.seen, settings.points);
            return;
        }
        let now = totals(s);
        delta.clear();
        delta.extend(s.counts.iter().zip(&self.counts).map(|(&n, &o)| increase(n, o)));
        let quantile = |q| {
            picometrics::report::quantile_nanos(&self.bounds, delta, q)
                .map_or(f32::NAN, |ns| (ns / 1e9) as f32)
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
    fn update_callers(&mut self, s: &FunctionSeries<'_>) {
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
    fn recent(&self, window: Duration) -> impl Iterator<Item = &Point> {
        let from = self.at.saturating_sub(window.as_millis() as u64);
        self.points.iter().filter(move |p| p.t > from)
    }

    /// Calls/s and error ratio over `points`.
    fn rates<'a>(points: impl Iterator<Item = &'a Point>) -> (Option<f64>, Option<f64>) {
        let (mut calls, mut errors, mut ms) = (0u64, 0u64, 0u64);
        for p in points {
            calls += u64::from(p.calls);
            errors += u64::from(p.errors);
            ms += u64::from(p.span_ms);
        }
        let rate = (ms > 0).then(|| calls as f64 * 1000.0 / ms as f64);
        (rate, (calls > 0).then(|| errors as f64 / calls as f64))
    }

    fn row<'a>(&'a self, key: &'a Key, window: Duration) -> Row<'a> {
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
        let q = |q| picometrics::report::quantile_nanos(&self.bounds, &counts, q).map(|ns| ns / 1e9);
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
            p50: q(0.5),
            p95: q(0.95),
            p99: q(0.99),
            concurrent: self.concurrent,
            worst: self.max_nanos.map(|ns| ns as f64 / 1e9),
            objective: self.objective.as_ref(),
        }
    }

    /// The share of each objective's error budget spent over the whole history.
    fn budget(&self) -> Budget {
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

fn clamp32(n: u64) -> u32 {
    n.min(u64::from(u32::MAX - 1)) as u32
}

/// One row of the table.
#[derive(Serialize)]
struct Row<'a> {
    device: Option<&'a str>,
    function: &'a str,
    module: &'a str,
    service_name: &'a str,
    calls: u64,
    errors: u64,
    rate: Option<f64>,
    error_ratio: Option<f64>,
    /// Whether `error_ratio` and the percentiles are over the window (else over all calls).
    window: bool,
    p50: Option<f64>,
    p95: Option<f64>,
    p99: Option<f64>,
    concurrent: Option<u64>,
    /// The longest call since start in seconds, for functions with `track_max`.
    worst: Option<f64>,
    objective: Option<&'a Objective>,
}

/// The share of an objective's error budget spent (1.0: all of it).
#[derive(Default, Serialize)]
struct Budget {
    success: Option<f64>,
    latency: Option<f64>,
    /// Calls the shares are of.
    calls: u64,
}

#[derive(Serialize)]
struct Overview<'a> {
    service_name: &'a str,
    builds: &'a [BuildRow],
    devices: Vec<&'a str>,
    interval_seconds: f64,
    window_seconds: f64,
    history_seconds: f64,
    prometheus_url: Option<&'a str>,
    untracked: u64,
    functions: Vec<Row<'a>>,
}

#[derive(Serialize)]
struct ChartPoint {
    t: u64,
    rate: Option<f64>,
    error_ratio: Option<f64>,
    p50: Option<f32>,
    p95: Option<f32>,
    p99: Option<f32>,
    concurrent: Option<u32>,
}

#[derive(Serialize)]
struct EdgeRow<'a> {
    function: &'a str,
    module: &'a str,
    calls: u64,
    errors: u64,
}

#[derive(Serialize)]
struct QueryRow {
    title: &'static str,
    query: String,
    link: Option<String>,
}

#[derive(Serialize)]
struct Detail<'a> {
    #[serde(flatten)]
    row: Row<'a>,
    points: Vec<ChartPoint>,
    callers: Vec<EdgeRow<'a>>,
    callees: Vec<EdgeRow<'a>>,
    budget: Budget,
    queries: Vec<QueryRow>,
}

/// An answer of the JSON endpoints: status and body.
pub(crate) type Json = (u16, String);

fn error(status: u16, message: &str) -> Json {
    (status, serde_json::json!({ "error": message }).to_string())
}

impl History {
    pub(crate) fn new(settings: Settings) -> Self {
        Self {
            settings,
            series: BTreeMap::new(),
            builds: Vec::new(),
            samples: 0,
            untracked: 0,
            delta: Vec::new(),
            scratch: Key::default(),
        }
    }

    /// Reads the source once, as of `now`.
    pub(crate) fn sample(&mut self, source: &dyn Source, now: SystemTime) {
        let at = unix_ms(now);
        self.samples += 1;
        let sample = self.samples;
        let Self { settings, series, delta, untracked, scratch, .. } = self;
        let mut over = 0;
        let _ = source.functions(&mut |s| {
            // The key is built in a reused scratch key: looking up allocates nothing.
            for (part, value) in [
                (&mut scratch.0, s.extra.map_or("", |(_, v)| v)),
                (&mut scratch.1, s.module),
                (&mut scratch.2, s.function),
            ] {
                part.clear();
                part.push_str(value);
            }
            let room = series.len() < settings.max_series;
            match series.get_mut(&*scratch) {
                Some(existing) if existing.seen == sample => {} // a duplicate in one reading
                Some(existing) => {
                    existing.seen = sample;
                    existing.update(s, at, settings, delta);
                }
                None if room => {
                    series.insert(scratch.clone(), Series::new(s, at, sample, settings.points));
                }
                None => over += 1,
            }
            Ok(())
        });
        *untracked = over;
        series.retain(|_, s| s.seen == sample);
        let mut builds = Vec::new();
        let _ = source.builds(&mut |b| {
            builds.push(BuildRow::from(b));
            Ok(())
        });
        self.builds = builds;
    }

    /// `GET /api/v1/overview`.
    pub(crate) fn overview(&self) -> Json {
        let window = self.settings.window;
        let mut devices: Vec<&str> =
            self.series.keys().map(|k| k.0.as_str()).filter(|d| !d.is_empty()).collect();
        devices.dedup();
        let overview = Overview {
            service_name: picometrics::registry::service_name(),
            builds: &self.builds,
            devices,
            interval_seconds: self.settings.interval.as_secs_f64(),
            window_seconds: window.as_secs_f64(),
            history_seconds: self.settings.interval.as_secs_f64() * self.settings.points as f64,
            prometheus_url: self.settings.prometheus_url.as_deref(),
            untracked: self.untracked,
            functions: self.series.iter().map(|(k, s)| s.row(k, window)).collect(),
        };
        (200, serde_json::to_string(&overview).unwrap_or_default())
    }

    /// `GET /api/v1/function?…`, from the request's query string.
    pub(crate) fn function(&self, query: Option<&str>) -> Json {
        let (mut function, mut module, mut device) = (None, None, String::new());
        for (k, v) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            match &*k {
                "function" => function = Some(v.into_owned()),
                "module" => module = Some(v.into_owned()),
                "device" => device = v.into_owned(),
                _ => {}
            }
        }
        let (Some(function), Some(module)) = (function, module) else {
            return error(400, "give function=…&module=… (and device=… for a device's series)");
        };
        let key = (device, module, function);
        let Some(series) = self.series.get(&key) else {
            return error(404, "no such series (see /api/v1/overview for the functions)");
        };
        let points = series
            .points
            .iter()
            .map(|p| {
                let (rate, error_ratio) = Series::rates(std::iter::once(p));
                let q = |i: usize| Some(p.quantiles[i]).filter(|v| !v.is_nan());
                ChartPoint {
                    t: p.t,
                    rate,
                    error_ratio,
                    p50: q(0),
                    p95: q(1),
                    p99: q(2),
                    concurrent: (p.concurrent != u32::MAX).then_some(p.concurrent),
                }
            })
            .collect();
        let edge =
            |function, module, t: Totals| EdgeRow { function, module, calls: t.sum(), errors: t.error };
        let mut callers: Vec<EdgeRow<'_>> =
            series.callers.iter().map(|e| edge(&e.function, &e.module, e.calls)).collect();
        if series.root.sum() > 0 {
            callers.push(edge("", "", series.root));
        }
        if series.overflow.sum() > 0 {
            callers.push(edge(
                picometrics::schema::OVERFLOW_CALLER,
                picometrics::schema::OVERFLOW_CALLER,
                series.overflow,
            ));
        }
        let callees = self
            .series
            .iter()
            .filter(|(k, _)| k.0 == key.0)
            .flat_map(|(k, s)| {
                s.callers
                    .iter()
                    .filter(|e| e.function == key.2 && e.module == key.1)
                    .map(move |e| edge(&k.2, &k.1, e.calls))
            })
            .collect();
        let queries = Query::ALL
            .into_iter()
            .map(|q| {
                let mut query = String::new();
                let _ = q.write(&mut query, &key.2, &key.1);
                let link = self.settings.prometheus_url.as_deref().map(|url| {
                    let mut link = String::new();
                    let _ = q.write_link(&mut link, url, &key.2, &key.1);
                    link
                });
                QueryRow { title: q.title(), query, link }
            })
            .collect();
        let detail = Detail {
            row: series.row(&key, self.settings.window),
            points,
            callers,
            callees,
            budget: series.budget(),
            queries,
        };
        (200, serde_json::to_string(&detail).unwrap_or_default())
    }

    /// Bytes this history holds at most with its settings and `buckets` buckets per series
    /// (callers and names aside): what the memory test checks against.
    #[cfg(test)]
    fn bound(&self, buckets: usize) -> usize {
        let per_series = std::mem::size_of::<Series>()
            + self.settings.points * std::mem::size_of::<Point>()
            + 4 * buckets * std::mem::size_of::<u64>();
        self.settings.max_series * per_series
    }
}

/// The sampler: a thread reading `source` every interval into `history`, until `stop` is
/// dropped. Takes the first sample at once.
pub(crate) fn spawn_sampler(
    history: Arc<Mutex<History>>,
    source: Arc<dyn Source + Send + Sync>,
    interval: Duration,
) -> std::io::Result<std::sync::mpsc::Sender<()>> {
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    std::thread::Builder::new().name("picometrics-explorer".into()).spawn(move || loop {
        lock(&history).sample(&*source, SystemTime::now());
        match stopped.recv_timeout(interval) {
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => continue,
            _ => return,
        }
    })?;
    Ok(stop)
}

/// The history, also after a panic elsewhere (a sample is all-or-nothing per series).
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use picometrics::model::{Caller, ObjectiveLabels};
    use std::cell::Cell;

    /// Two functions on one device: `get` (calls `db`) with an objective, counts set by the test.
    struct Fake {
        ok: Cell<u64>,
        error: Cell<u64>,
        counts: Cell<[u64; 3]>,
        functions: usize,
    }

    // SAFETY-free: tests read it from one thread only.
    impl Source for Fake {
        fn functions(
            &self,
            each: &mut dyn FnMut(&FunctionSeries<'_>) -> std::fmt::Result,
        ) -> std::fmt::Result {
            let counts = self.counts.get();
            let callers = [Caller { function: "get", module: "app", calls: Totals { ok: 5, error: 1 } }];
            each(&FunctionSeries {
                extra: Some(("device", "d1")),
                function: "get",
                module: "app",
                service_name: "svc",
                objective: Some(ObjectiveLabels {
                    name: "api",
                    success_percentile: Some("90"),
                    latency: Some((1_000_000, "90")),
                }),
                bounds: &[1_000_000, 2_000_000],
                counts: &counts,
                root: Totals { ok: self.ok.get(), error: self.error.get() },
                ..FunctionSeries::EMPTY
            })?;
            each(&FunctionSeries {
                extra: Some(("device", "d1")),
                function: "db",
                module: "app::store",
                service_name: "svc",
                callers: &callers,
                ..FunctionSeries::EMPTY
            })?;
            for i in 0..self.functions {
                let name = format!("f{i}");
                each(&FunctionSeries {
                    function: &name,
                    module: "many",
                    bounds: &[1, 2, 3],
                    counts: &[1, 2, 3, 4],
                    ..FunctionSeries::EMPTY
                })?;
            }
            Ok(())
        }
        fn builds(&self, _: &mut dyn FnMut(&Build<'_>) -> std::fmt::Result) -> std::fmt::Result {
            Ok(())
        }
    }

    fn at(ms: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(1_700_000_000_000 + ms)
    }

    fn json(j: Json) -> serde_json::Value {
        assert_eq!(j.0, 200, "{}", j.1);
        serde_json::from_str(&j.1).unwrap()
    }

    #[test]
    fn rates_percentiles_edges_and_budget_follow_the_counts() {
        let fake = Fake { ok: Cell::new(0), error: Cell::new(0), counts: Cell::new([0; 3]), functions: 0 };
        let mut h = History::new(Settings::default());
        h.sample(&fake, at(0));
        // One second: 9 ok + 1 error; 8 fast, 2 slow (1–2 ms).
        fake.ok.set(9);
        fake.error.set(1);
        fake.counts.set([8, 2, 0]);
        h.sample(&fake, at(1000));
        let overview = json(h.overview());
        assert_eq!(overview["devices"], serde_json::json!(["d1"]));
        let get = &overview["functions"].as_array().unwrap().iter().find(|r| r["function"] == "get").unwrap();
        assert_eq!(get["rate"], 10.0);
        assert_eq!(get["error_ratio"], 0.1);
        assert_eq!(get["calls"], 10);
        // The median of 8 in (0, 1 ms] and 2 in (1, 2 ms]: 5/8 of the first bucket.
        assert!((get["p50"].as_f64().unwrap() - 0.000_625).abs() < 1e-9, "{get}");

        let detail = json(h.function(Some("function=get&module=app&device=d1")));
        assert_eq!(detail["points"].as_array().unwrap().len(), 1);
        assert_eq!(detail["points"][0]["rate"], 10.0);
        // 10 % errors against a 10 % budget: all of it; 20 % slow against 10 %: twice.
        assert_eq!(detail["budget"]["success"], 1.0);
        assert_eq!(detail["budget"]["latency"], 2.0);
        assert_eq!(detail["callees"][0]["function"], "db");
        assert_eq!(detail["callees"][0]["calls"], 6);
        assert_eq!(detail["callers"][0]["function"], "", "calls from code that is not instrumented");
        assert_eq!(detail["queries"].as_array().unwrap().len(), Query::ALL.len());
        assert!(detail["queries"][0]["link"].is_null(), "no Prometheus configured");

        let db = json(h.function(Some("function=db&module=app%3A%3Astore&device=d1")));
        assert_eq!(db["callers"][0]["function"], "get");
        assert_eq!(db["callers"][0]["errors"], 1);
        assert_eq!(h.function(Some("function=db")).0, 400);
        assert_eq!(h.function(Some("function=db&module=app::store")).0, 404, "no device: another series");

        // A counter reset (a device rebooted) counts from zero, not as a negative rate.
        fake.ok.set(3);
        fake.error.set(0);
        fake.counts.set([3, 0, 0]);
        h.sample(&fake, at(2000));
        let detail = json(h.function(Some("function=get&module=app&device=d1")));
        assert_eq!(detail["points"][1]["rate"], 3.0);
        assert_eq!(detail["points"][1]["error_ratio"], 0.0);
    }

    #[test]
    fn memory_is_bounded_by_series_and_points() {
        let settings = Settings { points: 50, max_series: 100, ..Settings::default() };
        let fake = Fake { ok: Cell::new(0), error: Cell::new(0), counts: Cell::new([0; 3]), functions: 500 };
        let mut h = History::new(settings);
        for i in 0..200 {
            fake.ok.set(i);
            h.sample(&fake, at(i * 1000));
        }
        assert_eq!(h.series.len(), 100);
        assert_eq!(h.untracked, 402, "500 + 2 functions, 100 tracked");
        assert!(h.series.values().all(|s| s.points.len() <= 50 && s.points.capacity() < 64));
        let held: usize = h
            .series
            .values()
            .map(|s| std::mem::size_of::<Series>() + s.points.capacity() * std::mem::size_of::<Point>())
            .sum();
        assert!(held <= h.bound(4), "{held} > {}", h.bound(4));
    }
}
