//! [`Encoder`]: a `WriteRequest`'s protobuf bytes, written series by series.

use super::{family_metadata, metadata, MetricMetadata};
use picometrics::model::{Family, FunctionSeries, MetricSeries, MetricValue, Source};
use picometrics::schema::{self, label};
use prost::encoding::{encode_varint, encoded_len_varint};
use std::convert::Infallible;
use std::fmt::Write as _;
use std::ops::Range;

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
        self.close();
        self.compressed.resize(snap::raw::max_compress_len(self.out.len()), 0);
        let n = self
            .snappy
            .compress(&self.out, &mut self.compressed)
            .expect("snappy compresses any input under 4 GiB");
        self.out.clear();
        self.compressed[..n].to_vec()
    }

    /// The request so far, uncompressed; the encoder is empty again.
    pub(super) fn finish_uncompressed(&mut self) -> Vec<u8> {
        self.close();
        std::mem::take(&mut self.out)
    }

    /// Ends the request: the metadata gathered after its series, and no series counted.
    fn close(&mut self) {
        for m in self.metadata.drain(..) {
            prost::encoding::message::encode(3, &m, &mut self.out);
        }
        self.series = 0;
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
