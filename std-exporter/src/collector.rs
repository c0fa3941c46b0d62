//! The registry as metric families of the `prometheus` crate (feature `prometheus`), for
//! services that already gather a `prometheus::Registry`.
//!
//! ```
//! let registry = prometheus::Registry::new();
//! registry.register(Box::new(picometrics_exporter::PicometricsCollector::new())).unwrap();
//! let families = registry.gather();
//! assert!(families.iter().any(|f| f.name() == "build_info"));
//! ```
//!
//! The families are mapped from the exposition model ([`picometrics::model`]): names, HELP
//! text, label names and their order all come from the model and the schema, exactly as the
//! text writer uses them.

use picometrics::model::{Build, Family, FunctionSeries, Source};
use picometrics::registry::Registry;
use picometrics::schema::{self, Metric};
use prometheus::core::{Collector, Desc};
use prometheus::proto::{Bucket, Counter, Gauge, Histogram, LabelPair, MetricFamily, MetricType};
use std::convert::Infallible;

/// Exposes every `#[picometrics]` function (and `build_info`) to a `prometheus::Registry`,
/// with the same names, labels and values as [`picometrics::render_prometheus`].
pub struct PicometricsCollector {
    descs: [Desc; 5],
}

impl Default for PicometricsCollector {
    fn default() -> Self {
        Self::new()
    }
}

/// A descriptor with the identity labels and `more`.
fn desc(metric: &Metric, labels: &[&str]) -> Desc {
    Desc::new(
        metric.name.into(),
        metric.help.into(),
        labels.iter().map(|l| (*l).into()).collect(),
        Default::default(),
    )
    .expect("the schema's names are valid")
}

impl PicometricsCollector {
    /// A collector over the link-time registry.
    ///
    /// The descriptors declare the labels every series of a family carries; functions with
    /// an objective add the `objective_*` labels to their series.
    pub fn new() -> Self {
        let calls = [&schema::FUNCTION_LABELS[..], &schema::CALL_LABELS].concat();
        Self {
            descs: [
                desc(&schema::FUNCTION_CALLS, &calls),
                desc(&schema::FUNCTION_CALLS_DURATION, &schema::FUNCTION_LABELS),
                desc(&schema::FUNCTION_CALLS_CONCURRENT, &schema::FUNCTION_LABELS),
                desc(&schema::FUNCTION_CALLS_DURATION_MAX, &schema::FUNCTION_LABELS),
                desc(&schema::BUILD_INFO, &schema::BUILD_INFO_LABELS),
            ],
        }
    }

    /// The families of any model source: the registry's, or a fixture's in tests.
    fn collect_from(&self, source: &impl Source) -> Vec<MetricFamily> {
        let [calls_desc, duration_desc, concurrent_desc, max_desc, build_desc] = &self.descs;
        let (mut calls, mut durations, mut concurrent, mut max) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        // Collecting into vectors cannot fail.
        let _ = source.functions(&mut |s| {
            collect_function(s, &mut calls, &mut durations, &mut concurrent);
            if let Some(nanos) = s.max_nanos {
                max.push(gauge(nanos as f64 / 1e9, labels(|f| s.for_each_label(Family::Concurrent, f))));
            }
            Ok(())
        });
        let mut builds = Vec::new();
        let _ = source.builds(&mut |b: &Build<'_>| {
            let mut info = Gauge::new();
            info.set_value(1.0);
            let mut m = prometheus::proto::Metric::from_label(labels(|f| b.for_each_label(f)));
            m.set_gauge(info);
            builds.push(m);
            Ok(())
        });

        let mut families = vec![
            family(calls_desc, MetricType::COUNTER, calls),
            family(duration_desc, MetricType::HISTOGRAM, durations),
        ];
        if !concurrent.is_empty() {
            families.push(family(concurrent_desc, MetricType::GAUGE, concurrent));
        }
        if !max.is_empty() {
            families.push(family(max_desc, MetricType::GAUGE, max));
        }
        if !builds.is_empty() {
            families.push(family(build_desc, MetricType::GAUGE, builds));
        }
        collect_metrics(source, &mut families);
        families
    }
}

impl Collector for PicometricsCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        self.collect_from(&Registry)
    }
}

/// Adds one function's series to the three families.
fn collect_function(
    s: &FunctionSeries<'_>,
    calls: &mut Vec<prometheus::proto::Metric>,
    durations: &mut Vec<prometheus::proto::Metric>,
    concurrent: &mut Vec<prometheus::proto::Metric>,
) {
    let _ = s.for_each_call(|call_labels, value| {
        let mut pairs = labels(|f| s.for_each_label(Family::Calls, f));
        pairs.extend(call_labels.map(|(name, v)| pair(name, v)));
        let mut counter = Counter::new();
        counter.set_value(value as f64);
        let mut m = prometheus::proto::Metric::from_label(pairs);
        m.set_counter(counter);
        calls.push(m);
        Ok::<_, Infallible>(())
    });

    let bounds = s.bounds.iter().map(|&b| b as f64 / 1e9);
    let histogram = histogram(s.cumulative(), bounds, s.sum_nanos as f64 / 1e9);
    let mut m = prometheus::proto::Metric::from_label(labels(|f| s.for_each_label(Family::Duration, f)));
    m.set_histogram(histogram);
    durations.push(m);

    if let Some(value) = s.concurrent {
        let mut gauge = Gauge::new();
        gauge.set_value(value as f64);
        let mut m =
            prometheus::proto::Metric::from_label(labels(|f| s.for_each_label(Family::Concurrent, f)));
        m.set_gauge(gauge);
        concurrent.push(m);
    }
}

/// Adds the user metrics of `source` (`#[picometrics::metric]`), one family per name (type
/// and help of its first series; series of another type are left out, as the text writer
/// does). They have no [`Desc`]: their names are only known once the registry is read, and the
/// `prometheus` crate gathers undeclared families as they come.
fn collect_metrics(source: &impl Source, families: &mut Vec<MetricFamily>) {
    use picometrics::model::MetricValue;
    let mut user: Vec<MetricFamily> = Vec::new();
    let _ = source.metrics(&mut |s| {
        let kind = match s.value {
            MetricValue::Counter(_) => MetricType::COUNTER,
            MetricValue::Gauge(_) => MetricType::GAUGE,
            MetricValue::Histogram { .. } => MetricType::HISTOGRAM,
        };
        let i = match user.iter().position(|f| f.name() == s.name) {
            Some(i) if user[i].get_field_type() != kind => return Ok(()),
            Some(i) => i,
            None => {
                let mut f = MetricFamily::default();
                f.set_name(s.name.to_owned());
                f.set_help(s.help.to_owned());
                f.set_field_type(kind);
                user.push(f);
                user.len() - 1
            }
        };
        let mut m = prometheus::proto::Metric::from_label(labels(|f| s.for_each_label(f)));
        match s.value {
            MetricValue::Counter(v) => {
                let mut c = Counter::new();
                c.set_value(v as f64);
                m.set_counter(c);
            }
            MetricValue::Gauge(v) => {
                let mut g = Gauge::new();
                g.set_value(v as f64);
                m.set_gauge(g);
            }
            MetricValue::Histogram { bounds, sum, .. } => {
                m.set_histogram(histogram(s.cumulative(), bounds.iter().map(|&b| b as f64), sum as f64));
            }
        }
        user[i].mut_metric().push(m);
        Ok(())
    });
    families.extend(user);
}

/// A histogram from cumulative counts (`+Inf` last) and the finite bounds; the count is the
/// `+Inf` bucket. Finite buckets only: the crate's text encoder adds `+Inf` from the count.
fn histogram(
    cumulative: impl Iterator<Item = u64>,
    bounds: impl Iterator<Item = f64>,
    sum: f64,
) -> Histogram {
    let mut h = Histogram::new();
    let mut buckets = Vec::new();
    let mut count = 0;
    let mut bounds = bounds.fuse();
    for c in cumulative {
        count = c;
        if let Some(bound) = bounds.next() {
            let mut b = Bucket::new();
            b.set_cumulative_count(c);
            b.set_upper_bound(bound);
            buckets.push(b);
        }
    }
    h.set_bucket(buckets);
    h.set_sample_count(count);
    h.set_sample_sum(sum);
    h
}

/// A gauge sample.
fn gauge(value: f64, pairs: Vec<LabelPair>) -> prometheus::proto::Metric {
    let mut g = Gauge::new();
    g.set_value(value);
    let mut m = prometheus::proto::Metric::from_label(pairs);
    m.set_gauge(g);
    m
}

/// The label pairs of a model label walk.
fn labels(
    walk: impl FnOnce(&mut dyn FnMut(&str, &str) -> Result<(), Infallible>) -> Result<(), Infallible>,
) -> Vec<LabelPair> {
    let mut pairs = Vec::new();
    let _ = walk(&mut |name, value| {
        pairs.push(pair(name, value));
        Ok(())
    });
    pairs
}

fn pair(name: &str, value: &str) -> LabelPair {
    let mut p = LabelPair::new();
    p.set_name(name.to_owned());
    p.set_value(value.to_owned());
    p
}

fn family(desc: &Desc, kind: MetricType, metrics: Vec<prometheus::proto::Metric>) -> MetricFamily {
    let mut f = MetricFamily::default();
    f.set_name(desc.fq_name.clone());
    f.set_help(desc.help.clone());
    f.set_field_type(kind);
    f.set_metric(metrics);
    f
}
