//! Prometheus remote write 1.0: the model's series as a snappy-compressed protobuf
//! `WriteRequest`, with the names and labels `/metrics` shows (histograms as `_bucket` with `le`,
//! `_sum`, `_count`), external labels added to every series.
//!
//! The messages are declared with `prost` from Prometheus' `prompb/types.proto` and
//! `remote.proto` (field numbers as there); there is no maintained crate of them.

use picometrics::model::{Family, FunctionSeries, MetricSeries, MetricValue, Source};
use picometrics::schema::{self, label, Metric};
use prost::encoding::{encode_varint, encoded_len_varint};
use std::convert::Infallible;
use std::fmt::Write as _;
use std::ops::Range;

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

/// Writes a `WriteRequest`'s protobuf bytes series by series into buffers it keeps between
/// requests: nothing is allocated per series or label. (Building the messages above takes a
/// `String` per label and a `Vec` per series: ~1.3 µs a sample at fleet scale, most of it the
/// allocator.) The bytes are those `prost` writes for the same request: `timeseries` in order,
/// then `metadata`, default scalars left out.
///
/// The labels a function's family shares (its own, its objective's, the external ones) are
/// gathered and sorted once per family; each series merges in `__name__` and its own few.
pub struct Encoder {
    external: Vec<(String, String)>,
    /// The `timeseries` fields written so far.
    out: Vec<u8>,
    series: usize,
    metadata: Vec<MetricMetadata>,
    /// The shared labels of the series being written, sorted by name: name and value as
    /// ranges of `text`.
    base: Vec<(Range<usize>, Range<usize>)>,
    text: String,
    /// A user metric bucket's `le`, formatted.
    le: String,
    /// The `le` texts of the last function's bounds: functions mostly share theirs.
    les: Les,
    snappy: snap::raw::Encoder,
    /// Snappy's output, kept: a fresh buffer of a request's size each push costs the kernel
    /// zeroing its pages (a sixth of the pusher's time at fleet scale).
    compressed: Vec<u8>,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder").field("series", &self.series).field("bytes", &self.out.len()).finish()
    }
}

/// The bytes of a length-delimited field holding `len` bytes.
fn field_len(len: usize) -> usize {
    1 + encoded_len_varint(len as u64) + len
}

/// A string field's bytes (none when empty: proto3 leaves defaults out).
fn string_len(s: &str) -> usize {
    if s.is_empty() {
        0
    } else {
        field_len(s.len())
    }
}

fn put_string(out: &mut Vec<u8>, key: u8, s: &str) {
    if !s.is_empty() {
        out.push(key);
        encode_varint(s.len() as u64, out);
        out.extend_from_slice(s.as_bytes());
    }
}

/// Appends a label to a shared set: its name and value to `text`, their ranges to `base`.
fn push_label(text: &mut String, base: &mut Vec<(Range<usize>, Range<usize>)>, name: &str, value: &str) {
    let n = text.len()..text.len() + name.len();
    text.push_str(name);
    let v = text.len()..text.len() + value.len();
    text.push_str(value);
    base.push((n, v));
}

/// A `Label` message's bytes.
fn label_len(name: &str, value: &str) -> usize {
    string_len(name) + string_len(value)
}

/// A `Sample` message's bytes.
fn sample_len(value: f64, timestamp: i64) -> usize {
    let value = if value != 0.0 { 9 } else { 0 };
    let timestamp = if timestamp != 0 { 1 + encoded_len_varint(timestamp as u64) } else { 0 };
    value + timestamp
}

impl Encoder {
    /// An empty request; `external` labels are added to every series (a label the series has
    /// already wins, as Prometheus does with `external_labels`).
    pub fn new(external: &[(String, String)]) -> Self {
        Self {
            external: external.to_vec(),
            out: Vec::new(),
            series: 0,
            metadata: Vec::new(),
            base: Vec::new(),
            text: String::new(),
            le: String::new(),
            les: Les::default(),
            snappy: snap::raw::Encoder::new(),
            compressed: Vec::new(),
        }
    }

    /// Series written since the last [`Encoder::finish`].
    pub fn series(&self) -> usize {
        self.series
    }

    /// Adds every series of `source`, stamped `timestamp` (Unix ms), and the metadata of its
    /// families the request does not have yet.
    pub fn add(&mut self, source: &dyn Source, timestamp: i64) {
        if self.metadata.is_empty() {
            // The model's families, first in every request.
            self.metadata.extend(
                [
                    &schema::FUNCTION_CALLS,
                    &schema::FUNCTION_CALLS_DURATION,
                    &schema::FUNCTION_CALLS_CONCURRENT,
                    &schema::FUNCTION_CALLS_DURATION_MAX,
                    &schema::BUILD_INFO,
                ]
                .map(metadata),
            );
        }
        let _ = source.functions(&mut |s| {
            self.function(s, timestamp);
            Ok(())
        });
        let _ = source.builds(&mut |b| {
            self.set_base(|f| b.for_each_label(f));
            self.write(schema::BUILD_INFO.name, &[], 1.0, timestamp);
            Ok(())
        });
        let _ = source.metrics(&mut |s| {
            self.metric(s, timestamp);
            self.add_metadata(s.name, || family_metadata(s.name, s.help, s.kind()));
            Ok(())
        });
    }

    /// The request so far, snappy-compressed (block format, as the protocol says); the
    /// encoder is empty again.
    pub fn finish(&mut self) -> Vec<u8> {
        for m in self.metadata.drain(..) {
            prost::encoding::message::encode(3, &m, &mut self.out);
        }
        self.compressed.resize(snap::raw::max_compress_len(self.out.len()), 0);
        let n = self
            .snappy
            .compress(&self.out, &mut self.compressed)
            .expect("snappy compresses any input under 4 GiB");
        self.out.clear();
        self.series = 0;
        self.compressed[..n].to_vec()
    }

    /// The request so far, uncompressed; the encoder is empty again.
    fn finish_uncompressed(&mut self) -> Vec<u8> {
        for m in self.metadata.drain(..) {
            prost::encoding::message::encode(3, &m, &mut self.out);
        }
        self.series = 0;
        std::mem::take(&mut self.out)
    }

    fn add_metadata(&mut self, name: &str, make: impl FnOnce() -> MetricMetadata) {
        if !self.metadata.iter().any(|m| m.metric_family_name == name) {
            self.metadata.push(make());
        }
    }

    /// Sets the labels the next series share: those `walk` yields, then the external labels
    /// it has not, sorted by name.
    fn set_base(
        &mut self,
        walk: impl FnOnce(&mut dyn FnMut(&str, &str) -> Result<(), Infallible>) -> Result<(), Infallible>,
    ) {
        let (text, base) = (&mut self.text, &mut self.base);
        text.clear();
        base.clear();
        let _ = walk(&mut |n, v| {
            push_label(text, base, n, v);
            Ok(())
        });
        let walked = base.len();
        for (n, v) in &self.external {
            if !base[..walked].iter().any(|(name, _)| text[name.clone()] == **n) {
                push_label(text, base, n, v);
            }
        }
        base.sort_by(|a, b| text[a.0.clone()].cmp(&text[b.0.clone()]));
    }

    /// Calls `f` with every label of a series — the shared ones and `own` (sorted by name,
    /// winning over a shared label of the same name) — in order of name.
    fn for_each_label(&self, own: &[(&str, &str)], mut f: impl FnMut(&str, &str)) {
        let mut shared =
            self.base.iter().map(|(n, v)| (&self.text[n.clone()], &self.text[v.clone()])).peekable();
        let mut own = own.iter().copied().peekable();
        loop {
            match (shared.peek(), own.peek()) {
                (Some(s), Some(o)) if s.0 < o.0 => f(s.0, s.1),
                (Some(s), Some(o)) if s.0 == o.0 => {
                    shared.next();
                    continue;
                }
                (_, Some(o)) => {
                    f(o.0, o.1);
                    own.next();
                    continue;
                }
                (Some(s), None) => f(s.0, s.1),
                (None, None) => return,
            }
            shared.next();
        }
    }

    /// One series: the shared labels, `__name__` and `more`, one sample.
    fn write(&mut self, name: &str, more: &[(&str, &str)], value: f64, timestamp: i64) {
        // `__name__` and up to three of a series' own: sorted by insertion (at most four).
        let mut own = [("", ""); 4];
        own[0] = (NAME_LABEL, name);
        let mut n = 1;
        for &label in more.iter().take(own.len() - 1) {
            let mut i = n;
            while i > 0 && own[i - 1].0 > label.0 {
                own[i] = own[i - 1];
                i -= 1;
            }
            own[i] = label;
            n += 1;
        }
        let own = &own[..n];
        let mut labels = 0;
        self.for_each_label(own, |n, v| labels += field_len(label_len(n, v)));
        let sample = sample_len(value, timestamp);
        let series = labels + field_len(sample);
        let mut out = std::mem::take(&mut self.out);
        out.reserve(field_len(series));
        out.push(0x0a);
        encode_varint(series as u64, &mut out);
        self.for_each_label(own, |n, v| {
            out.push(0x0a);
            encode_varint(label_len(n, v) as u64, &mut out);
            put_string(&mut out, 0x0a, n);
            put_string(&mut out, 0x12, v);
        });
        out.push(0x12);
        encode_varint(sample as u64, &mut out);
        if value != 0.0 {
            out.push(0x09);
            out.extend_from_slice(&value.to_le_bytes());
        }
        if timestamp != 0 {
            out.push(0x10);
            encode_varint(timestamp as u64, &mut out);
        }
        self.out = out;
        self.series += 1;
    }

    fn function(&mut self, s: &FunctionSeries<'_>, timestamp: i64) {
        self.set_base(|f| s.for_each_label(Family::Calls, f));
        let _ = s.for_each_call(|more, value| {
            self.write(schema::FUNCTION_CALLS.name, &more, value as f64, timestamp);
            Ok::<_, Infallible>(())
        });
        self.set_base(|f| s.for_each_label(Family::Duration, f));
        let name = schema::FUNCTION_CALLS_DURATION.name;
        let mut family = Family3::new(name);
        let mut les = std::mem::take(&mut self.les);
        les.set(s.bounds);
        for (i, cumulative) in s.cumulative().enumerate() {
            self.write(family.bucket(), &[(label::LE, les.get(i))], cumulative as f64, timestamp);
        }
        self.les = les;
        self.write(family.sum(), &[], s.sum_nanos as f64 / 1e9, timestamp);
        self.write(family.count(), &[], s.count() as f64, timestamp);
        if s.concurrent.is_some() || s.max_nanos.is_some() {
            self.set_base(|f| s.for_each_label(Family::Concurrent, f));
        }
        if let Some(value) = s.concurrent {
            self.write(schema::FUNCTION_CALLS_CONCURRENT.name, &[], value as f64, timestamp);
        }
        if let Some(nanos) = s.max_nanos {
            self.write(schema::FUNCTION_CALLS_DURATION_MAX.name, &[], nanos as f64 / 1e9, timestamp);
        }
    }

    /// One user metric series (`#[picometrics::metric]`), named as `/metrics` names it.
    fn metric(&mut self, s: &MetricSeries<'_>, timestamp: i64) {
        self.set_base(|f| s.for_each_label(f));
        match s.value {
            MetricValue::Counter(v) => self.write(s.name, &[], v as f64, timestamp),
            MetricValue::Gauge(v) => self.write(s.name, &[], v as f64, timestamp),
            MetricValue::Histogram { bounds, sum, .. } => {
                let mut family = Family3::new(s.name);
                let mut le = std::mem::take(&mut self.le);
                let mut count = 0;
                for (i, cumulative) in s.cumulative().enumerate() {
                    le.clear();
                    match bounds.get(i) {
                        Some(bound) => {
                            let _ = write!(le, "{bound}");
                        }
                        None => le.push_str("+Inf"),
                    }
                    self.write(family.bucket(), &[(label::LE, &le)], cumulative as f64, timestamp);
                    count = cumulative;
                }
                self.le = le;
                self.write(family.sum(), &[], sum as f64, timestamp);
                self.write(family.count(), &[], count as f64, timestamp);
            }
        }
    }
}

/// The `le` texts of a function's bucket bounds (seconds, as `/metrics` writes them), then
/// `+Inf`, in one buffer.
#[derive(Default)]
struct Les {
    bounds: Vec<u64>,
    text: String,
    /// Where each `le` ends in `text`.
    ends: Vec<usize>,
}

impl Les {
    /// Formats `bounds`, unless they are those formatted last.
    fn set(&mut self, bounds: &[u64]) {
        if self.bounds == bounds && !self.ends.is_empty() {
            return;
        }
        self.bounds.clear();
        self.bounds.extend_from_slice(bounds);
        self.text.clear();
        self.ends.clear();
        for &bound in bounds {
            let _ = picometrics::__private_v1::render::write_seconds(&mut self.text, bound);
            self.ends.push(self.text.len());
        }
        self.text.push_str("+Inf");
        self.ends.push(self.text.len());
    }

    /// Bucket `i`'s `le` (`+Inf` past the bounds).
    fn get(&self, i: usize) -> &str {
        let i = i.min(self.ends.len() - 1);
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.text[start..self.ends[i]]
    }
}

/// `__name__`.
const NAME_LABEL: &str = "__name__";

/// A histogram family's three sample names, built in one buffer.
struct Family3 {
    name: String,
    stem: usize,
}

impl Family3 {
    fn new(stem: &str) -> Self {
        Self { name: stem.to_owned(), stem: stem.len() }
    }

    fn with(&mut self, suffix: &str) -> &str {
        self.name.truncate(self.stem);
        self.name.push_str(suffix);
        &self.name
    }

    fn bucket(&mut self) -> &str {
        self.with(schema::BUCKET_SUFFIX)
    }

    fn sum(&mut self) -> &str {
        self.with(schema::SUM_SUFFIX)
    }

    fn count(&mut self) -> &str {
        self.with(schema::COUNT_SUFFIX)
    }
}

/// The `WriteRequest` of `source` as of `timestamp` (Unix ms), decoded: what
/// [`Encoder`] writes, as messages (for tests and tools that read requests).
pub fn request(source: &dyn Source, external: &[(String, String)], timestamp: i64) -> WriteRequest {
    let mut encoder = Encoder::new(external);
    encoder.add(source, timestamp);
    let bytes = encoder.finish_uncompressed();
    prost::Message::decode(bytes.as_slice()).expect("the encoder writes a valid WriteRequest")
}

/// The request body of `source`: its series encoded and snappy-compressed (block format, as
/// the protocol says).
pub fn encode(source: &dyn Source, external: &[(String, String)], timestamp: i64) -> Vec<u8> {
    let mut encoder = Encoder::new(external);
    encoder.add(source, timestamp);
    encoder.finish()
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

    /// A function with nothing counted, a device label and an objective: zeros and empty
    /// values, which proto3 leaves out.
    struct Idle;

    impl Source for Idle {
        fn functions(
            &self,
            each: &mut dyn FnMut(&FunctionSeries<'_>) -> std::fmt::Result,
        ) -> std::fmt::Result {
            let objective = picometrics::model::ObjectiveLabels {
                name: "api",
                success_percentile: Some("99.9"),
                latency: Some((250_000_000, "99")),
            };
            each(&FunctionSeries {
                extra: Some(("device", "d-1")),
                function: "idle",
                module: "app::x",
                objective: Some(objective),
                bounds: &[250_000_000],
                counts: &[0, 0],
                max_nanos: Some(0),
                ..FunctionSeries::EMPTY
            })
        }
        fn builds(&self, _: &mut dyn FnMut(&Build<'_>) -> std::fmt::Result) -> std::fmt::Result {
            Ok(())
        }
        fn metrics(&self, _: &mut dyn FnMut(&MetricSeries<'_>) -> std::fmt::Result) -> std::fmt::Result {
            Ok(())
        }
    }

    #[test]
    fn the_encoder_writes_what_prost_writes_for_the_same_request() {
        let external = [("le".to_owned(), "x".to_owned()), ("a".to_owned(), "1".to_owned())];
        for timestamp in [0, 1_700_000_000_123] {
            let mut encoder = Encoder::new(&external);
            encoder.add(&One, timestamp);
            encoder.add(&Idle, timestamp);
            let written = encoder.finish_uncompressed();
            let decoded: WriteRequest = prost::Message::decode(written.as_slice()).unwrap();
            assert_eq!(prost::Message::encode_to_vec(&decoded), written, "canonical bytes");
            // The same encoder again: nothing left of the first request.
            encoder.add(&Idle, timestamp);
            let again: WriteRequest =
                prost::Message::decode(encoder.finish_uncompressed().as_slice()).unwrap();
            assert_eq!(again.timeseries.len(), 2 + 2 + 2 + 1, "calls, buckets, sum and count, max");
            let lines = lines(&decoded);
            let has = |want: &str| assert!(lines.iter().any(|l| l == want), "{want} not in {lines:#?}");
            // A label the series has wins over an external one of the same name.
            has("__name__=function_calls_duration_seconds_bucket,a=1,function=get,le=0.005,module=app,service_name=svc 2");
            has("__name__=function_calls_duration_seconds_sum,a=1,function=get,le=x,module=app,service_name=svc 1.5");
            has("__name__=function_calls_total,a=1,caller_function=,caller_module=,device=d-1,function=idle,le=x,module=app::x,objective_name=api,objective_percentile=99.9,result=ok,service_name= 0");
            has("__name__=function_calls_duration_seconds_bucket,a=1,device=d-1,function=idle,le=0.25,module=app::x,objective_latency_threshold=0.25,objective_name=api,objective_percentile=99,service_name= 0");
            has("__name__=function_calls_duration_max_seconds,a=1,device=d-1,function=idle,le=x,module=app::x,service_name= 0");
            assert_eq!(lines.len(), 16 + 7, "{lines:#?}");
            assert!(decoded.timeseries.iter().all(|t| t.samples[0].timestamp == timestamp));
        }
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
