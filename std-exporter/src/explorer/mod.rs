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

mod json;
mod series;

use json::*;
use picometrics::model::{Source, Totals};
use picometrics::queries::Query;
use series::*;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// The page, its script and its style, embedded in the binary (no network at run time).
pub(crate) const PAGE: &str = include_str!("../../explorer/index.html");

/// The page's script.
pub(crate) const SCRIPT: &str = include_str!("../../explorer/explorer.js");

/// The page's style.
pub(crate) const STYLE: &str = include_str!("../../explorer/explorer.css");

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
    /// Grafana (with `dashboards/` imported) to link the page to.
    pub grafana_url: Option<String>,
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
            grafana_url: None,
            source: None,
        }
    }
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
            grafana: self.settings.grafana_url.as_deref().map(|g| json::GrafanaLinks {
                overview: grafana_link(g, "picometrics-overview", &[]),
                slo: grafana_link(g, "picometrics-slo", &[]),
                devices: grafana_link(g, "picometrics-devices", &[]),
            }),
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
        // A device's series carry its `device` label: its queries select it (on a fleet, the
        // same function on every device would be summed otherwise).
        let device = Some(key.0.as_str()).filter(|d| !d.is_empty());
        // The concurrency query only where there is a gauge for it to read (`track_concurrency`).
        let queries = Query::ALL
            .into_iter()
            .filter(|&q| q != Query::ConcurrentCalls || series.concurrent.is_some())
            .map(|q| {
                let mut query = String::new();
                let _ = q.write_on(&mut query, &key.2, &key.1, device);
                let link = self.settings.prometheus_url.as_deref().map(|url| {
                    let mut link = String::new();
                    let _ = q.write_link_on(&mut link, url, &key.2, &key.1, device);
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
            dashboard: self.settings.grafana_url.as_deref().map(|g| {
                grafana_link(g, "picometrics-function", &[("function", &key.2), ("module", &key.1)])
            }),
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
    use picometrics::model::{Build, FunctionSeries};
    use picometrics::model::{Caller, ObjectiveLabels};
    use std::cell::Cell;
    use std::time::UNIX_EPOCH;

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
        // The median of 8 in (0, 1 ms] and 2 in (1, 2 ms]: in the first bucket, so at most
        // 1 ms (PromQL would interpolate 0.625 ms); p95 inside (1, 2 ms]: 1.75 ms.
        assert_eq!(
            (get["p50"].as_f64(), get["quantiles"]["p50"]["text"].as_str()),
            (Some(0.001), Some("< 1 ms"))
        );
        assert!((get["p95"].as_f64().unwrap() - 0.001_75).abs() < 1e-9, "{get}");
        assert_eq!(get["quantiles"]["p95"]["kind"], "between");
        assert_eq!(get["quantiles"]["p95"]["bucket"], "1 ms – 2 ms");

        let detail = json(h.function(Some("function=get&module=app&device=d1")));
        assert_eq!(detail["points"].as_array().unwrap().len(), 1);
        assert_eq!(detail["points"][0]["rate"], 10.0);
        // 10 % errors against a 10 % budget: all of it; 20 % slow against 10 %: twice.
        assert_eq!(detail["budget"]["success"], 1.0);
        assert_eq!(detail["budget"]["latency"], 2.0);
        assert_eq!(detail["callees"][0]["function"], "db");
        assert_eq!(detail["callees"][0]["calls"], 6);
        assert_eq!(detail["callers"][0]["function"], "", "calls from code that is not instrumented");
        // Every query but the concurrency one: `get` has no `track_concurrency`.
        let queries = detail["queries"].as_array().unwrap();
        assert_eq!(queries.len(), Query::ALL.len() - 1);
        assert!(!queries.iter().any(|q| q["query"].as_str().unwrap().contains("function_calls_concurrent")));
        assert!(detail["queries"][0]["link"].is_null(), "no Prometheus configured");
        // A device's queries select it: on a fleet the function's calls on every device would
        // be summed otherwise.
        let rate = detail["queries"][0]["query"].as_str().unwrap();
        assert!(rate.contains(r#"{function="get",module="app",device="d1"}"#), "{rate}");

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

/// `GRAFANA/d/UID?var-NAME=VALUE…`: a dashboard of `dashboards/` with its variables set.
fn grafana_link(grafana: &str, uid: &str, vars: &[(&str, &str)]) -> String {
    let mut link = format!("{}/d/{uid}", grafana.trim_end_matches('/'));
    for (i, (name, value)) in vars.iter().enumerate() {
        link.push(if i == 0 { '?' } else { '&' });
        link.push_str("var-");
        link.push_str(name);
        link.push('=');
        // Writing into a `String` cannot fail.
        let _ = picometrics::schema::write_url_encoded(&mut link, value);
    }
    link
}

#[cfg(test)]
mod grafana_tests {
    #[test]
    fn dashboard_links_encode_the_names() {
        assert_eq!(
            super::grafana_link("http://g:3000/", "picometrics-slo", &[]),
            "http://g:3000/d/picometrics-slo"
        );
        assert_eq!(
            super::grafana_link(
                "http://g",
                "picometrics-function",
                &[("function", "<Catalog as Quote>::quote"), ("module", "demo::pricing")]
            ),
            "http://g/d/picometrics-function?var-function=%3CCatalog%20as%20Quote%3E::quote&var-module=demo::pricing"
        );
    }
}
