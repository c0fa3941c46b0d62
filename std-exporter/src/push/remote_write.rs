//! Prometheus remote write 1.0: the model's series as a snappy-compressed protobuf
//! `WriteRequest`, with the names and labels `/metrics` shows (histograms as `_bucket` with `le`,
//! `_sum`, `_count`), external labels added to every series.
//!
//! The messages are declared with `prost` from Prometheus' `prompb/types.proto` and
//! `remote.proto` (field numbers as there); there is no maintained crate of them.

use picometrics::model::{Family, FunctionSeries, MetricSeries, MetricValue, Source};
use picometrics::schema::{self, label, Metric};
use std::convert::Infallible;

/// `prometheus.WriteRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WriteRequest {
    /// The series, each with its samples.
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
    /// Type and help of each family.
    #[prost(message, repeated, tag = "3")]
    pub metadata: Vec<MetricMetadata>,
}

/// `prometheus.TimeSeries`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TimeSeries {
    /// Sorted by name, `__name__` first.
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    /// Its samples (one per push).
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
}

/// `prometheus.Label`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, prost::Message)]
pub struct Label {
    /// The label's name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Its value.
    #[prost(string, tag = "2")]
    pub value: String,
}

/// `prometheus.Sample`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Sample {
    /// The value.
    #[prost(double, tag = "1")]
    pub value: f64,
    /// Unix milliseconds.
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

/// `prometheus.MetricMetadata`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MetricMetadata {
    /// `MetricType`: 1 counter, 2 gauge, 3 histogram.
    #[prost(int32, tag = "1")]
    pub r#type: i32,
    /// The family's name.
    #[prost(string, tag = "2")]
    pub metric_family_name: String,
    /// Its `# HELP` text.
    #[prost(string, tag = "4")]
    pub help: String,
}

/// `MetricMetadata.type` of a family.
fn metadata(metric: &Metric) -> MetricMetadata {
    family_metadata(metric.name, metric.help, metric.kind)
}

/// The metadata of a family known at run time (a user metric).
fn family_metadata(name: &str, help: &str, kind: schema::Kind) -> MetricMetadata {
    let r#type = match kind {
        schema::Kind::Counter => 1,
        schema::Kind::Gauge => 2,
        schema::Kind::Histogram => 3,
    };
    MetricMetadata { r#type, metric_family_name: name.into(), help: help.into() }
}

/// Builds the request's series.
struct Series<'a> {
    external: &'a [(String, String)],
    timestamp: i64,
    out: Vec<TimeSeries>,
}

impl Series<'_> {
    /// One series: `__name__`, the model's labels, `more`, the external labels (a label the
    /// series has already wins, as Prometheus does with `external_labels`), sorted.
    fn push(
        &mut self,
        name: &str,
        walk: impl FnOnce(&mut dyn FnMut(&str, &str) -> Result<(), Infallible>) -> Result<(), Infallible>,
        more: &[(&str, &str)],
        value: f64,
    ) {
        let mut labels = vec![Label { name: "__name__".into(), value: name.into() }];
        let _ = walk(&mut |n, v| {
            labels.push(Label { name: n.into(), value: v.into() });
            Ok(())
        });
        labels.extend(more.iter().map(|(n, v)| Label { name: (*n).into(), value: (*v).into() }));
        for (n, v) in self.external {
            if !labels.iter().any(|l| &l.name == n) {
                labels.push(Label { name: n.clone(), value: v.clone() });
            }
        }
        labels.sort_by(|a, b| a.name.cmp(&b.name));
        self.out.push(TimeSeries { labels, samples: vec![Sample { value, timestamp: self.timestamp }] });
    }

    fn function(&mut self, s: &FunctionSeries<'_>) {
        let _ = s.for_each_call(|more, value| {
            self.push(
                schema::FUNCTION_CALLS.name,
                |f| s.for_each_label(Family::Calls, f),
                &more,
                value as f64,
            );
            Ok::<_, Infallible>(())
        });
        let name = schema::FUNCTION_CALLS_DURATION.name;
        let (bucket, sum, count) = (
            format!("{name}{}", schema::BUCKET_SUFFIX),
            format!("{name}{}", schema::SUM_SUFFIX),
            format!("{name}{}", schema::COUNT_SUFFIX),
        );
        let mut le = String::new();
        for (i, cumulative) in s.cumulative().enumerate() {
            le.clear();
            match s.bounds.get(i) {
                Some(&bound) => {
                    let _ = picometrics::__private_v1::render::write_seconds(&mut le, bound);
                }
                None => le.push_str("+Inf"),
            }
            let more = [(label::LE, le.as_str())];
            self.push(&bucket, |f| s.for_each_label(Family::Duration, f), &more, cumulative as f64);
        }
        self.push(&sum, |f| s.for_each_label(Family::Duration, f), &[], s.sum_nanos as f64 / 1e9);
        self.push(&count, |f| s.for_each_label(Family::Duration, f), &[], s.count() as f64);
        if let Some(value) = s.concurrent {
            let name = schema::FUNCTION_CALLS_CONCURRENT.name;
            self.push(name, |f| s.for_each_label(Family::Concurrent, f), &[], value as f64);
        }
        if let Some(nanos) = s.max_nanos {
            let name = schema::FUNCTION_CALLS_DURATION_MAX.name;
            self.push(name, |f| s.for_each_label(Family::Concurrent, f), &[], nanos as f64 / 1e9);
        }
    }
}

impl Series<'_> {
    /// One user metric series (`#[picometrics::metric]`), named as `/metrics` names it.
    fn metric(&mut self, s: &MetricSeries<'_>) {
        match s.value {
            MetricValue::Counter(v) => self.push(s.name, |f| s.for_each_label(f), &[], v as f64),
            MetricValue::Gauge(v) => self.push(s.name, |f| s.for_each_label(f), &[], v as f64),
            MetricValue::Histogram { bounds, sum, .. } => {
                let bucket = format!("{}{}", s.name, schema::BUCKET_SUFFIX);
                let mut count = 0;
                for (i, cumulative) in s.cumulative().enumerate() {
                    let le = bounds.get(i).map_or_else(|| "+Inf".to_owned(), u64::to_string);
                    self.push(&bucket, |f| s.for_each_label(f), &[(label::LE, &le)], cumulative as f64);
                    count = cumulative;
                }
                let sum_name = format!("{}{}", s.name, schema::SUM_SUFFIX);
                self.push(&sum_name, |f| s.for_each_label(f), &[], sum as f64);
                let count_name = format!("{}{}", s.name, schema::COUNT_SUFFIX);
                self.push(&count_name, |f| s.for_each_label(f), &[], count as f64);
            }
        }
    }
}

/// The uncompressed `WriteRequest` of `source` as of `timestamp` (Unix ms).
pub fn request(source: &dyn Source, external: &[(String, String)], timestamp: i64) -> WriteRequest {
    let mut series = Series { external, timestamp, out: Vec::new() };
    let _ = source.functions(&mut |s| {
        series.function(s);
        Ok(())
    });
    let _ = source.builds(&mut |b| {
        series.push(schema::BUILD_INFO.name, |f| b.for_each_label(f), &[], 1.0);
        Ok(())
    });
    let mut metadata: Vec<MetricMetadata> = [
        &schema::FUNCTION_CALLS,
        &schema::FUNCTION_CALLS_DURATION,
        &schema::FUNCTION_CALLS_CONCURRENT,
        &schema::FUNCTION_CALLS_DURATION_MAX,
        &schema::BUILD_INFO,
    ]
    .into_iter()
    .map(metadata)
    .collect();
    let _ = source.metrics(&mut |s| {
        series.metric(s);
        if !metadata.iter().any(|m| m.metric_family_name == s.name) {
            metadata.push(family_metadata(s.name, s.help, s.kind()));
        }
        Ok(())
    });
    WriteRequest { timeseries: series.out, metadata }
}

/// The request body: `request` encoded and snappy-compressed (block format, as the protocol
/// says).
pub fn encode(source: &dyn Source, external: &[(String, String)], timestamp: i64) -> Vec<u8> {
    compress(&request(source, external, timestamp))
}

/// `request` encoded and snappy-compressed.
pub fn compress(request: &WriteRequest) -> Vec<u8> {
    let bytes = prost::Message::encode_to_vec(request);
    snap::raw::Encoder::new().compress_vec(&bytes).expect("snappy compresses any input under 4 GiB")
}

/// Adds `part`'s series to `request`, and its metadata that `request` does not have yet.
pub fn extend(request: &mut WriteRequest, part: WriteRequest) {
    request.timeseries.extend(part.timeseries);
    for m in part.metadata {
        if !request.metadata.iter().any(|have| have.metric_family_name == m.metric_family_name) {
            request.metadata.push(m);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use picometrics::model::{Build, Totals};

    struct One;

    impl Source for One {
        fn functions(
            &self,
            each: &mut dyn FnMut(&FunctionSeries<'_>) -> std::fmt::Result,
        ) -> std::fmt::Result {
            each(&FunctionSeries {
                function: "get",
                module: "app",
                service_name: "svc",
                bounds: &[5_000_000, 10_000_000],
                counts: &[2, 1, 1],
                sum_nanos: 1_500_000_000,
                root: Totals { ok: 3, error: 1 },
                concurrent: Some(2),
                ..FunctionSeries::EMPTY
            })
        }
        fn builds(&self, each: &mut dyn FnMut(&Build<'_>) -> std::fmt::Result) -> std::fmt::Result {
            each(&Build {
                version: "1.2.3",
                commit: "abc",
                branch: "main",
                service_name: "svc",
                repository_url: "",
                extra: None,
            })
        }
        fn metrics(&self, each: &mut dyn FnMut(&MetricSeries<'_>) -> std::fmt::Result) -> std::fmt::Result {
            let base = MetricSeries {
                extra: None,
                name: "sent_total",
                help: "Sent.",
                labels: &[("link", "uart")],
                counter_bits: 64,
                value: MetricValue::Counter(7),
            };
            each(&base)?;
            each(&MetricSeries { name: "depth", labels: &[], value: MetricValue::Gauge(-2), ..base })?;
            let value = MetricValue::Histogram { bounds: &[1, 10], counts: &[1, 0, 2], sum: 40 };
            each(&MetricSeries { name: "sizes", labels: &[], value, ..base })
        }
    }

    /// `name{labels} value` of every series, as text for comparison.
    fn lines(r: &WriteRequest) -> Vec<String> {
        r.timeseries
            .iter()
            .map(|t| {
                let labels: Vec<String> =
                    t.labels.iter().map(|l| format!("{}={}", l.name, l.value)).collect();
                format!("{} {}", labels.join(","), t.samples[0].value)
            })
            .collect()
    }

    #[test]
    fn series_are_those_of_the_text_format_with_external_labels() {
        let external =
            [("job".to_owned(), "app".to_owned()), ("service_name".to_owned(), "ignored".to_owned())];
        let body = encode(&One, &external, 1_700_000_000_000);
        let bytes = snap::raw::Decoder::new().decompress_vec(&body).unwrap();
        let r: WriteRequest = prost::Message::decode(bytes.as_slice()).unwrap();
        let lines = lines(&r);
        let has = |want: &str| assert!(lines.iter().any(|l| l == want), "{want} not in {lines:#?}");
        has("__name__=function_calls_total,caller_function=,caller_module=,function=get,job=app,module=app,result=error,service_name=svc 1");
        has("__name__=function_calls_duration_seconds_bucket,function=get,job=app,le=0.005,module=app,service_name=svc 2");
        has("__name__=function_calls_duration_seconds_bucket,function=get,job=app,le=+Inf,module=app,service_name=svc 4");
        has("__name__=function_calls_duration_seconds_sum,function=get,job=app,module=app,service_name=svc 1.5");
        has("__name__=function_calls_duration_seconds_count,function=get,job=app,module=app,service_name=svc 4");
        has("__name__=function_calls_concurrent,function=get,job=app,module=app,service_name=svc 2");
        assert!(lines.iter().any(|l| l.starts_with("__name__=build_info,autometrics_version=")));
        // User metrics have no `service_name` of their own: the external one is added.
        has("__name__=sent_total,job=app,link=uart,service_name=ignored 7");
        has("__name__=depth,job=app,service_name=ignored -2");
        has("__name__=sizes_bucket,job=app,le=10,service_name=ignored 1");
        has("__name__=sizes_bucket,job=app,le=+Inf,service_name=ignored 3");
        has("__name__=sizes_sum,job=app,service_name=ignored 40");
        has("__name__=sizes_count,job=app,service_name=ignored 3");
        assert_eq!(lines.len(), 2 + 3 + 2 + 1 + 1 + 1 + 1 + 5, "{lines:#?}");
        assert!(r.timeseries.iter().all(|t| t.samples[0].timestamp == 1_700_000_000_000));
        assert!(r.timeseries.iter().all(|t| t.labels.windows(2).all(|w| w[0].name < w[1].name)), "sorted");
        assert_eq!(r.metadata.len(), 5 + 3);
        assert!(r.metadata.iter().any(|m| m.metric_family_name == "sizes" && m.r#type == 3));
    }
}
