//! The registry as metric families of the `prometheus` crate (feature `prometheus`), for
//! services that already gather a `prometheus::Registry`.
//!
//! ```
//! let registry = prometheus::Registry::new();
//! registry.register(Box::new(picometrics_exporter::PicometricsCollector::new())).unwrap();
//! let families = registry.gather();
//! assert!(families.iter().any(|f| f.name() == "build_info"));
//! ```

use picometrics::build_info::{build_info, repository_provider, service_name};
use picometrics::render::{AUTOMETRICS_SPEC_VERSION, OVERFLOW_CALLER};
use picometrics::snapshot::ResultTotals;
use picometrics::FunctionDescriptor;
use prometheus::core::{Collector, Desc};
use prometheus::proto::{Bucket, Counter, Gauge, Histogram, LabelPair, Metric, MetricFamily, MetricType};

const CALLS: &str = "function_calls_total";
const DURATION: &str = "function_calls_duration_seconds";
const CONCURRENT: &str = "function_calls_concurrent";
const BUILD_INFO: &str = "build_info";

/// Exposes every `#[picometrics]` function (and `build_info`) to a `prometheus::Registry`,
/// with the same names, labels and values as [`picometrics::render_prometheus`].
pub struct PicometricsCollector {
    descs: Vec<Desc>,
}

impl Default for PicometricsCollector {
    fn default() -> Self {
        Self::new()
    }
}

impl PicometricsCollector {
    /// A collector over the link-time registry.
    pub fn new() -> Self {
        let desc = |name: &str, help: &str, labels: &[&str]| {
            Desc::new(
                name.into(),
                help.into(),
                labels.iter().map(|l| (*l).into()).collect(),
                Default::default(),
            )
            .expect("valid metric names")
        };
        let function = ["function", "module", "service_name"];
        Self {
            descs: vec![
                desc(
                    CALLS,
                    "Autometrics counter for tracking function calls",
                    &[&function[..], &["caller_function", "caller_module", "result"]].concat(),
                ),
                desc(DURATION, "Autometrics histogram for tracking function call duration", &function),
                desc(CONCURRENT, "Autometrics gauge for tracking function call concurrency", &function),
                desc(
                    BUILD_INFO,
                    "Autometrics info metric for tracking software version and build details",
                    &["version", "commit", "branch", "service_name"],
                ),
            ],
        }
    }
}

impl Collector for PicometricsCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let service = service_name();
        let functions = picometrics::functions();
        let mut calls = Vec::new();
        let mut durations = Vec::new();
        let mut concurrent = Vec::new();
        for f in functions {
            let snapshot = f.snapshot();
            let success = f.objective.and_then(|o| Some((o.name, o.success_rate?.as_str())));
            let mut edge = |caller: &str, caller_module: &str, totals: ResultTotals| {
                for (result, value) in [("ok", totals.ok), ("error", totals.error)] {
                    let mut labels = function_labels(f, service);
                    labels.extend([
                        pair("caller_function", caller),
                        pair("caller_module", caller_module),
                        pair("result", result),
                    ]);
                    if let Some((name, percentile)) = success {
                        labels
                            .extend([pair("objective_name", name), pair("objective_percentile", percentile)]);
                    }
                    let mut counter = Counter::new();
                    counter.set_value(value as f64);
                    let mut m = Metric::from_label(labels);
                    m.set_counter(counter);
                    calls.push(m);
                }
            };
            edge("", "", snapshot.calls.root);
            for c in &snapshot.calls.callers {
                edge(c.function, c.module, c.calls);
            }
            if snapshot.calls.overflow != ResultTotals::default() {
                edge(OVERFLOW_CALLER, "", snapshot.calls.overflow);
            }

            let mut labels = function_labels(f, service);
            if let Some((threshold, percentile)) = f.objective.and_then(|o| o.latency) {
                let name = f.objective.map_or("", |o| o.name);
                labels.extend([
                    pair("objective_name", name),
                    pair("objective_percentile", percentile.as_str()),
                    pair("objective_latency_threshold", threshold.as_str()),
                ]);
            }
            let mut histogram = Histogram::new();
            let mut count = 0;
            let buckets = snapshot
                .histogram
                .cumulative()
                .zip(f.bounds)
                .map(|(cumulative, &bound)| {
                    let mut b = Bucket::new();
                    b.set_cumulative_count(cumulative);
                    b.set_upper_bound(bound as f64 / 1e9);
                    b
                })
                .collect();
            for c in snapshot.histogram.cumulative() {
                count = c;
            }
            histogram.set_bucket(buckets);
            histogram.set_sample_count(count);
            histogram.set_sample_sum(snapshot.histogram.sum_nanos as f64 / 1e9);
            let mut m = Metric::from_label(labels);
            m.set_histogram(histogram);
            durations.push(m);

            if let Some(value) = snapshot.concurrent {
                let mut gauge = Gauge::new();
                gauge.set_value(value as f64);
                let mut m = Metric::from_label(function_labels(f, service));
                m.set_gauge(gauge);
                concurrent.push(m);
            }
        }

        let b = build_info();
        let mut info = Gauge::new();
        info.set_value(1.0);
        let mut build = Metric::from_label(vec![
            pair("version", b.version),
            pair("commit", b.commit),
            pair("branch", b.branch),
            pair("service_name", service),
            pair("repository_url", b.repository_url),
            pair("repository_provider", repository_provider(b.repository_url)),
            pair("autometrics_version", AUTOMETRICS_SPEC_VERSION),
        ]);
        build.set_gauge(info);

        let mut families = vec![
            family(&self.descs[0], MetricType::COUNTER, calls),
            family(&self.descs[1], MetricType::HISTOGRAM, durations),
        ];
        if !concurrent.is_empty() {
            families.push(family(&self.descs[2], MetricType::GAUGE, concurrent));
        }
        families.push(family(&self.descs[3], MetricType::GAUGE, vec![build]));
        families
    }
}

fn pair(name: &str, value: &str) -> LabelPair {
    let mut p = LabelPair::new();
    p.set_name(name.to_owned());
    p.set_value(value.to_owned());
    p
}

fn function_labels(f: &FunctionDescriptor, service: &str) -> Vec<LabelPair> {
    vec![pair("function", f.name), pair("module", f.module), pair("service_name", service)]
}

fn family(desc: &Desc, kind: MetricType, metrics: Vec<Metric>) -> MetricFamily {
    let mut f = MetricFamily::default();
    f.set_name(desc.fq_name.clone());
    f.set_help(desc.help.clone());
    f.set_field_type(kind);
    f.set_metric(metrics);
    f
}
