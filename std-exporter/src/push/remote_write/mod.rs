//! Prometheus remote write 1.0: the model's series as a snappy-compressed protobuf
//! `WriteRequest`, with the names and labels `/metrics` shows (histograms as `_bucket` with `le`,
//! `_sum`, `_count`), external labels added to every series.
//!
//! The messages are declared with `prost` from Prometheus' `prompb/types.proto` and
//! `remote.proto` (field numbers as there); there is no maintained crate of them.
//!
//! [`Encoder`] writes the request's bytes directly (`encoder.rs`); the messages here are
//! what a request decodes to, for tests and tools that read requests.

mod encoder;

pub use encoder::Encoder;
use picometrics::model::Source;
use picometrics::schema::{self, Metric};

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
mod tests;
