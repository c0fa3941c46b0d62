//! OTLP/HTTP metrics (protobuf): the model's series as an `ExportMetricsServiceRequest`, with
//! the message types of the `opentelemetry-proto` crate (no OpenTelemetry SDK anywhere).
//!
//! The mapping, chosen so that an OpenTelemetry Collector's Prometheus exporter (which adds
//! `_total` to monotonic sums and the unit's suffix, `_seconds` for `s`) reproduces the series
//! of `/metrics`:
//! - `function_calls`: a monotonic cumulative sum, one point per caller and result;
//! - `function_calls_duration` (unit `s`): a cumulative explicit-bucket histogram with the
//!   function's bounds in seconds;
//! - `function_calls_concurrent`: a gauge, for functions that track it;
//! - `function_calls_duration_max` (unit `s`): a gauge, for functions with `track_max`;
//! - `build_info`: a gauge of 1;
//! - resource attributes `service.name` and `service.version` from `build_info` (one resource
//!   per process, or per device behind the bridge); every label of `/metrics` (`function`,
//!   `module`, `service_name`, `objective_*`, `caller_*`, `result`, `device`, …) is a data-point
//!   attribute under its autometrics name.

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{
    metric, number_data_point, AggregationTemporality, Gauge, Histogram, HistogramDataPoint, Metric,
    NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use picometrics::model::{Family, FunctionSeries, MetricSeries, MetricValue, Source};
use picometrics::schema;
use std::convert::Infallible;

/// The unit suffix of the duration family's Prometheus name: OTLP carries it as the unit.
const SECONDS_SUFFIX: &str = "_seconds";

fn attribute(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(any_value::Value::StringValue(value.into())) }),
        ..Default::default()
    }
}

/// The attributes of a model label walk, then `more`.
fn attributes(
    walk: impl FnOnce(&mut dyn FnMut(&str, &str) -> Result<(), Infallible>) -> Result<(), Infallible>,
    more: &[(&str, &str)],
) -> Vec<KeyValue> {
    let mut out = Vec::new();
    let _ = walk(&mut |k, v| {
        out.push(attribute(k, v));
        Ok(())
    });
    out.extend(more.iter().map(|(k, v)| attribute(k, v)));
    out
}

/// One resource's points, family by family.
#[derive(Default)]
struct Points {
    /// The extra label's value (`device`) this resource stands for.
    extra: Option<String>,
    resource: Vec<KeyValue>,
    calls: Vec<NumberDataPoint>,
    durations: Vec<HistogramDataPoint>,
    concurrent: Vec<NumberDataPoint>,
    max: Vec<NumberDataPoint>,
    builds: Vec<NumberDataPoint>,
    /// User metrics (`#[picometrics::metric]`), one OTLP metric per family.
    user: Vec<Metric>,
}

/// Start and end of every cumulative point.
#[derive(Clone, Copy)]
struct Times {
    start: u64,
    now: u64,
}

impl Times {
    fn number(self, attributes: Vec<KeyValue>, value: number_data_point::Value) -> NumberDataPoint {
        NumberDataPoint {
            attributes,
            start_time_unix_nano: self.start,
            time_unix_nano: self.now,
            value: Some(value),
            ..Default::default()
        }
    }
}

impl Points {
    fn function(&mut self, s: &FunctionSeries<'_>, t: Times) {
        let _ = s.for_each_call(|more, value| {
            let attributes = attributes(|f| s.for_each_label(Family::Calls, f), &more);
            self.calls.push(t.number(attributes, number_data_point::Value::AsInt(value as i64)));
            Ok::<_, Infallible>(())
        });
        self.durations.push(HistogramDataPoint {
            attributes: attributes(|f| s.for_each_label(Family::Duration, f), &[]),
            start_time_unix_nano: t.start,
            time_unix_nano: t.now,
            count: s.count(),
            sum: Some(s.sum_nanos as f64 / 1e9),
            bucket_counts: s.counts.to_vec(),
            explicit_bounds: s.bounds.iter().map(|&b| b as f64 / 1e9).collect(),
            ..Default::default()
        });
        if let Some(value) = s.concurrent {
            let attributes = attributes(|f| s.for_each_label(Family::Concurrent, f), &[]);
            self.concurrent.push(t.number(attributes, number_data_point::Value::AsInt(value as i64)));
        }
        if let Some(nanos) = s.max_nanos {
            let attributes = attributes(|f| s.for_each_label(Family::Concurrent, f), &[]);
            self.max.push(t.number(attributes, number_data_point::Value::AsDouble(nanos as f64 / 1e9)));
        }
    }

    /// One user metric series, added to its family (a counter as a monotonic cumulative sum
    /// named without `_total`, as Prometheus' OTLP receiver adds it back). A series whose type
    /// differs from its family's first one is left out, as the text writer does.
    fn user_metric(&mut self, s: &MetricSeries<'_>, t: Times) {
        let attributes = attributes(|f| s.for_each_label(f), &[]);
        let name = match s.value {
            MetricValue::Counter(_) => s.name.strip_suffix(schema::TOTAL_SUFFIX).unwrap_or(s.name),
            _ => s.name,
        };
        let i = match self.user.iter().position(|m| m.name == name) {
            Some(i) => i,
            None => {
                let cumulative = AggregationTemporality::Cumulative as i32;
                let data = match s.value {
                    MetricValue::Counter(_) => metric::Data::Sum(Sum {
                        data_points: Vec::new(),
                        aggregation_temporality: cumulative,
                        is_monotonic: true,
                    }),
                    MetricValue::Gauge(_) => metric::Data::Gauge(Gauge { data_points: Vec::new() }),
                    MetricValue::Histogram { .. } => metric::Data::Histogram(Histogram {
                        data_points: Vec::new(),
                        aggregation_temporality: cumulative,
                    }),
                };
                self.user.push(Metric {
                    name: name.into(),
                    description: s.help.into(),
                    data: Some(data),
                    ..Default::default()
                });
                self.user.len() - 1
            }
        };
        match (&mut self.user[i].data, s.value) {
            (Some(metric::Data::Sum(sum)), MetricValue::Counter(v)) => {
                sum.data_points.push(t.number(attributes, number_data_point::Value::AsInt(v as i64)))
            }
            (Some(metric::Data::Gauge(g)), MetricValue::Gauge(v)) => {
                g.data_points.push(t.number(attributes, number_data_point::Value::AsInt(v)))
            }
            (Some(metric::Data::Histogram(h)), MetricValue::Histogram { bounds, counts, sum }) => {
                h.data_points.push(HistogramDataPoint {
                    attributes,
                    start_time_unix_nano: t.start,
                    time_unix_nano: t.now,
                    count: s.cumulative().last().unwrap_or(0),
                    sum: Some(sum as f64),
                    bucket_counts: counts.to_vec(),
                    explicit_bounds: bounds.iter().map(|&b| b as f64).collect(),
                    ..Default::default()
                })
            }
            _ => {}
        }
    }

    fn into_resource(self) -> ResourceMetrics {
        let cumulative = AggregationTemporality::Cumulative as i32;
        let metric = |m: &schema::Metric, name: &str, unit: &str, data| Metric {
            name: name.into(),
            description: m.help.into(),
            unit: unit.into(),
            data: Some(data),
            ..Default::default()
        };
        let calls = &schema::FUNCTION_CALLS;
        let duration = &schema::FUNCTION_CALLS_DURATION;
        let concurrent = &schema::FUNCTION_CALLS_CONCURRENT;
        let mut metrics = vec![
            metric(
                calls,
                calls.openmetrics_family(),
                "",
                metric::Data::Sum(Sum {
                    data_points: self.calls,
                    aggregation_temporality: cumulative,
                    is_monotonic: true,
                }),
            ),
            metric(
                duration,
                duration.name.strip_suffix(SECONDS_SUFFIX).unwrap_or(duration.name),
                "s",
                metric::Data::Histogram(Histogram {
                    data_points: self.durations,
                    aggregation_temporality: cumulative,
                }),
            ),
        ];
        if !self.concurrent.is_empty() {
            metrics.push(metric(
                concurrent,
                concurrent.name,
                "",
                metric::Data::Gauge(Gauge { data_points: self.concurrent }),
            ));
        }
        if !self.max.is_empty() {
            let max = &schema::FUNCTION_CALLS_DURATION_MAX;
            metrics.push(metric(
                max,
                max.name.strip_suffix(SECONDS_SUFFIX).unwrap_or(max.name),
                "s",
                metric::Data::Gauge(Gauge { data_points: self.max }),
            ));
        }
        if !self.builds.is_empty() {
            let build = &schema::BUILD_INFO;
            metrics.push(metric(
                build,
                build.name,
                "",
                metric::Data::Gauge(Gauge { data_points: self.builds }),
            ));
        }
        metrics.extend(self.user);
        ResourceMetrics {
            resource: Some(Resource { attributes: self.resource, ..Default::default() }),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(InstrumentationScope {
                    name: "picometrics".into(),
                    version: env!("CARGO_PKG_VERSION").into(),
                    ..Default::default()
                }),
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }
    }
}

/// The request for `source`: points of cumulative series started at `start_ns`, read at
/// `now_ns` (Unix nanoseconds).
pub fn request(source: &dyn Source, start_ns: u64, now_ns: u64) -> ExportMetricsServiceRequest {
    let t = Times { start: start_ns, now: now_ns };
    let mut resources: Vec<Points> = Vec::new();
    let _ = source.builds(&mut |b| {
        let extra = b.extra.map(|(_, v)| v.to_owned());
        let mut points = Points {
            extra,
            resource: vec![
                attribute("service.name", b.service_name),
                attribute("service.version", b.version),
            ],
            ..Points::default()
        };
        points
            .builds
            .push(t.number(attributes(|f| b.for_each_label(f), &[]), number_data_point::Value::AsInt(1)));
        resources.push(points);
        Ok(())
    });
    let _ = source.functions(&mut |s| {
        let extra = s.extra.map(|(_, v)| v);
        let index = match resources.iter().position(|r| r.extra.as_deref() == extra) {
            Some(i) => i,
            None => {
                // A series without a build of its origin: a resource named by its service.
                resources.push(Points {
                    extra: extra.map(Into::into),
                    resource: vec![attribute("service.name", s.service_name)],
                    ..Points::default()
                });
                resources.len() - 1
            }
        };
        resources[index].function(s, t);
        Ok(())
    });
    let _ = source.metrics(&mut |s| {
        let extra = s.extra.map(|(_, v)| v);
        let index = match resources.iter().position(|r| r.extra.as_deref() == extra) {
            Some(i) => i,
            None => {
                resources.push(Points { extra: extra.map(Into::into), ..Points::default() });
                resources.len() - 1
            }
        };
        resources[index].user_metric(s, t);
        Ok(())
    });
    ExportMetricsServiceRequest {
        resource_metrics: resources.into_iter().map(Points::into_resource).collect(),
    }
}

/// The request body (`application/x-protobuf`).
pub fn encode(source: &dyn Source, start_ns: u64, now_ns: u64) -> Vec<u8> {
    prost::Message::encode_to_vec(&request(source, start_ns, now_ns))
}

#[cfg(test)]
mod tests {
    use super::*;
    use picometrics::model::{Build, Totals};
    use picometrics::schema::label;

    /// Two devices, each with a build and one function, as the bridge's store reads.
    struct Fleet;

    const DEVICES: [&str; 2] = ["dev-a", "dev-b"];

    impl Source for Fleet {
        fn functions(
            &self,
            each: &mut dyn FnMut(&FunctionSeries<'_>) -> std::fmt::Result,
        ) -> std::fmt::Result {
            for (i, device) in DEVICES.into_iter().enumerate() {
                each(&FunctionSeries {
                    extra: Some((label::DEVICE, device)),
                    function: "sample",
                    module: "fw",
                    service_name: "sensor",
                    bounds: &[1_000],
                    counts: &[i as u64, 1],
                    root: Totals { ok: i as u64 + 1, error: 0 },
                    ..FunctionSeries::EMPTY
                })?;
            }
            Ok(())
        }

        fn builds(&self, each: &mut dyn FnMut(&Build<'_>) -> std::fmt::Result) -> std::fmt::Result {
            for device in DEVICES {
                each(&Build {
                    version: "2.0.0",
                    commit: "c0ffee",
                    branch: "main",
                    service_name: "sensor",
                    repository_url: "",
                    extra: Some((label::DEVICE, device)),
                })?;
            }
            Ok(())
        }

        fn metrics(&self, each: &mut dyn FnMut(&MetricSeries<'_>) -> std::fmt::Result) -> std::fmt::Result {
            for (i, device) in DEVICES.into_iter().enumerate() {
                let base = MetricSeries {
                    extra: Some((label::DEVICE, device)),
                    name: "resets_total",
                    help: "Resets.",
                    labels: &[("cause", "watchdog")],
                    counter_bits: 32,
                    value: MetricValue::Counter(i as u64 + 5),
                };
                each(&base)?;
                each(&MetricSeries {
                    labels: &[("cause", "brownout")],
                    value: MetricValue::Counter(1),
                    ..base
                })?;
                each(&MetricSeries {
                    name: "millivolts",
                    labels: &[],
                    value: MetricValue::Gauge(3300),
                    ..base
                })?;
                let value = MetricValue::Histogram { bounds: &[8, 64], counts: &[1, 2, 3], sum: 500 };
                each(&MetricSeries { name: "frame_bytes", labels: &[], value, ..base })?;
            }
            Ok(())
        }
    }

    #[test]
    fn each_device_is_a_resource_and_its_points_carry_the_device_label() {
        let request = request(&Fleet, 1, 2);
        assert_eq!(request.resource_metrics.len(), 2);
        for (resource, device) in request.resource_metrics.iter().zip(DEVICES) {
            let attributes = &resource.resource.as_ref().unwrap().attributes;
            let value = |kvs: &[KeyValue], key: &str| {
                kvs.iter().find(|kv| kv.key == key).and_then(|kv| match &kv.value.as_ref()?.value {
                    Some(any_value::Value::StringValue(s)) => Some(s.clone()),
                    _ => None,
                })
            };
            assert_eq!(value(attributes, "service.name").as_deref(), Some("sensor"));
            assert_eq!(value(attributes, "service.version").as_deref(), Some("2.0.0"));
            let metrics = &resource.scope_metrics[0].metrics;
            let Some(metric::Data::Sum(calls)) = &metrics[0].data else { panic!("calls first") };
            assert!(calls
                .data_points
                .iter()
                .all(|p| value(&p.attributes, "device").as_deref() == Some(device)));
            let Some(metric::Data::Histogram(h)) = &metrics[1].data else { panic!("durations second") };
            assert_eq!(h.data_points.len(), 1, "one function per device");
            assert_eq!((h.data_points[0].start_time_unix_nano, h.data_points[0].time_unix_nano), (1, 2));
            // User metrics: one OTLP metric per family, on the device's resource.
            let user =
                |name: &str| metrics.iter().find(|m| m.name == name).unwrap_or_else(|| panic!("{name}"));
            let Some(metric::Data::Sum(resets)) = &user("resets").data else { panic!("resets is a sum") };
            assert!(resets.is_monotonic);
            assert_eq!(resets.data_points.len(), 2);
            let Some(metric::Data::Gauge(mv)) = &user("millivolts").data else { panic!("a gauge") };
            assert_eq!(mv.data_points[0].value, Some(number_data_point::Value::AsInt(3300)));
            let Some(metric::Data::Histogram(fb)) = &user("frame_bytes").data else { panic!("a histogram") };
            let p = &fb.data_points[0];
            assert_eq!(
                (p.count, p.sum, &p.bucket_counts[..], &p.explicit_bounds[..]),
                (6, Some(500.0), &[1, 2, 3][..], &[8.0, 64.0][..])
            );
            assert_eq!(value(&p.attributes, "device").as_deref(), Some(device));
        }
    }
}
