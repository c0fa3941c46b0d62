//! A machine-readable dump of the registry for hosts: versioned [`postcard`] messages with a
//! CRC-32, framed with COBS so they can share a byte stream (a UART) with nothing else.
//!
//! A dump is a lone `0x00` (it ends whatever partial frame a receiver holds from a device that
//! reset mid-frame, so the dump that follows is not lost with it), one [`Message::Begin`]
//! (device, dump number, build info), one [`Message::Function`] per registered function, one
//! [`Message::Metric`] per user metric, and one [`Message::End`]. Each message is its own frame, so the firmware needs one frame buffer of [`MAX_FRAME`] bytes on the stack,
//! whatever the number of functions.
//!
//! ## Wire format (version [`VERSION`])
//!
//! ```text
//! frame   = cobs(payload) 0x00
//! payload = version:u8  postcard(Message)  crc32(version ‖ message):u32 little-endian
//! ```
//!
//! The CRC is CRC-32/ISCSI (Castagnoli). Counters are postcard varints, so the 32-bit counters
//! of small targets and the 64-bit ones of hosts decode to the same `u64` fields. A decoder
//! skips a frame whose CRC does not match, whose version it does not know, or that does not
//! parse — [`decode`] says which.
//!
//! ```
//! # #[picometrics::picometrics] fn framed() {}
//! # framed();
//! use picometrics::frame::{self, Message};
//!
//! let mut stream = Vec::new();
//! frame::write_dump("dev-1", 7, |bytes| {
//!     stream.extend_from_slice(bytes);
//!     Ok::<_, core::convert::Infallible>(())
//! })
//! .unwrap();
//!
//! let mut frames = stream.split_mut(|&b| b == 0).filter(|f| !f.is_empty());
//! let Message::Begin(begin) = frame::decode(frames.next().unwrap()).unwrap() else { panic!() };
//! assert_eq!((begin.device, begin.seq), ("dev-1", 7));
//! ```

use crate::descriptor::FunctionDescriptor;
use crate::model::{Caller, FunctionSeries, MetricSeries, MetricValue, ObjectiveLabels, Totals};
use crate::registry::{build, functions, service_name};
use core::fmt;
use crc::{Crc, CRC_32_ISCSI};
use picometrics_schema::{MAX_BOUNDS, MAX_CALLERS, MAX_METRIC_LABELS};
use serde::{Deserialize, Serialize};

use crate::model::Build;

/// The wire format version, the first byte of every payload. Version 2 added
/// [`Begin::counter_bits`], version 3 [`FunctionRecord::max_nanos`] and [`Begin::uptime_nanos`],
/// version 4 [`Message::Metric`] and `End::metrics`.
pub const VERSION: u8 = 4;

/// The largest encoded frame, COBS overhead and the `0x00` delimiter included. Encoders fail
/// with [`FrameError::TooLarge`] beyond it, decoders may reject longer runs without buffering
/// them.
pub const MAX_FRAME: usize = 1024;

const CRC: Crc<u32> = Crc::<u32>::new(&CRC_32_ISCSI);

/// One frame's content.
// A decoded function is 1.4 KB (every sequence at full capacity, so no frame can make the
// decoder allocate); boxing it is not an option without a heap, and a decoder holds one at a time.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Message<'a> {
    /// Starts a dump.
    #[serde(borrow)]
    Begin(Begin<'a>),
    /// One function's metrics.
    #[serde(borrow)]
    Function(FunctionRecord<'a>),
    /// Ends a dump: `functions` function frames and `metrics` metric frames were sent since
    /// its `Begin`.
    End {
        /// The dump's number, as in its [`Begin`].
        seq: u32,
        /// How many [`Message::Function`] frames the dump holds.
        functions: u16,
        /// How many [`Message::Metric`] frames the dump holds.
        metrics: u16,
    },
    /// One user metric series (`#[picometrics::metric]`).
    #[serde(borrow)]
    Metric(MetricRecord<'a>),
}

/// One user metric series as decoded, with the encoder's capacities.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetricRecord<'a> {
    /// The family name.
    pub name: &'a str,
    /// The `# HELP` text.
    pub help: &'a str,
    /// The constant labels.
    #[serde(borrow)]
    pub labels: heapless::Vec<(&'a str, &'a str), MAX_METRIC_LABELS>,
    /// The value.
    pub value: ValueRecord,
}

/// A user metric's value on the wire.
// Sized for the largest histogram so no frame can make the decoder allocate (as for
// `Message`); a decoder holds one at a time.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ValueRecord {
    /// A counter's count.
    Counter(u64),
    /// A gauge's value.
    Gauge(i64),
    /// A value histogram: bounds, per-bucket counts with `+Inf` last, sum.
    Histogram {
        /// Bucket bounds.
        bounds: heapless::Vec<u64, MAX_BOUNDS>,
        /// Per-bucket (not cumulative) counts, the last one `+Inf`.
        counts: heapless::Vec<u64, { MAX_BOUNDS + 1 }>,
        /// Sum of the observed values.
        sum: u64,
    },
}

impl ValueRecord {
    /// The family's type.
    pub fn kind(&self) -> picometrics_schema::Kind {
        self.as_value().kind()
    }

    /// As the exposition model's value.
    pub fn as_value(&self) -> MetricValue<'_> {
        match self {
            ValueRecord::Counter(v) => MetricValue::Counter(*v),
            ValueRecord::Gauge(v) => MetricValue::Gauge(*v),
            ValueRecord::Histogram { bounds, counts, sum } => {
                MetricValue::Histogram { bounds, counts, sum: *sum }
            }
        }
    }
}

impl<'a> MetricRecord<'a> {
    /// This record as the exposition model's view, with an optional first label such as
    /// `("device", name)`, for a device whose counters are `counter_bits` wide.
    pub fn series(&'a self, extra: Option<(&'a str, &'a str)>, counter_bits: u8) -> MetricSeries<'a> {
        MetricSeries {
            extra,
            name: self.name,
            help: self.help,
            labels: &self.labels,
            counter_bits: u32::from(counter_bits),
            value: self.value.as_value(),
        }
    }
}

/// What the encoder writes for a user metric: [`MetricRecord`]'s fields, borrowed.
#[derive(Serialize)]
struct MetricOut<'a> {
    name: &'a str,
    help: &'a str,
    labels: &'a [(&'a str, &'a str)],
    value: ValueOut<'a>,
}

/// [`ValueRecord`] on the encoding side.
#[derive(Serialize)]
enum ValueOut<'a> {
    Counter(u64),
    Gauge(i64),
    Histogram { bounds: &'a [u64], counts: &'a [u64], sum: u64 },
}

impl<'a> From<&MetricSeries<'a>> for MetricOut<'a> {
    fn from(s: &MetricSeries<'a>) -> Self {
        Self {
            name: s.name,
            help: s.help,
            labels: s.labels,
            value: match s.value {
                MetricValue::Counter(v) => ValueOut::Counter(v),
                MetricValue::Gauge(v) => ValueOut::Gauge(v),
                MetricValue::Histogram { bounds, counts, sum } => ValueOut::Histogram { bounds, counts, sum },
            },
        }
    }
}

/// The start of a dump.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Begin<'a> {
    /// Names the device (e.g. its serial number); the host keeps one snapshot per device.
    pub device: &'a str,
    /// Dumps since the device started: a smaller number than the last one means it restarted.
    pub seq: u32,
    /// The `build_info` labels.
    #[serde(borrow)]
    pub build: Build<'a>,
    /// The width of the device's counters (32 or 64): the host sums them at this width.
    pub counter_bits: u8,
    /// Nanoseconds since the device started, when it wrote this dump.
    pub uptime_nanos: u64,
}

/// One function's metrics as decoded; every sequence has the capacity the encoder has, so a
/// frame claiming more is an error, not an allocation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FunctionRecord<'a> {
    /// `function`.
    pub function: &'a str,
    /// `module`.
    pub module: &'a str,
    /// The objective's labels.
    #[serde(borrow)]
    pub objective: Option<ObjectiveLabels<'a>>,
    /// Histogram bounds in nanoseconds.
    pub bounds: heapless::Vec<u64, MAX_BOUNDS>,
    /// Per-bucket (not cumulative) counts, the last one `+Inf`.
    pub counts: heapless::Vec<u64, { MAX_BOUNDS + 1 }>,
    /// Sum of durations in nanoseconds.
    pub sum_nanos: u64,
    /// Calls from code that is not instrumented.
    pub root: Totals,
    /// Calls by instrumented caller.
    #[serde(borrow)]
    pub callers: heapless::Vec<Caller<'a>, MAX_CALLERS>,
    /// Calls from callers that found every edge taken (`caller_function="(overflow)"`).
    pub overflow: Totals,
    /// `function_calls_concurrent`, when tracked.
    pub concurrent: Option<u64>,
    /// The longest call in nanoseconds, with `track_max`.
    pub max_nanos: Option<u64>,
}

impl<'a> FunctionRecord<'a> {
    /// This record as the exposition model's view, reported under `service_name` with an
    /// optional first label such as `("device", name)`, for a device whose counters are
    /// `counter_bits` wide (from its [`Begin`]).
    pub fn series(
        &'a self,
        service_name: &'a str,
        extra: Option<(&'a str, &'a str)>,
        counter_bits: u8,
    ) -> FunctionSeries<'a> {
        FunctionSeries {
            extra,
            counter_bits: u32::from(counter_bits),
            function: self.function,
            module: self.module,
            service_name,
            objective: self.objective,
            bounds: &self.bounds,
            counts: &self.counts,
            sum_nanos: self.sum_nanos,
            root: self.root,
            callers: &self.callers,
            overflow: self.overflow,
            concurrent: self.concurrent,
            max_nanos: self.max_nanos,
            exemplars: &[],
        }
    }
}

/// What the encoder writes for a function: the same fields as [`FunctionRecord`] in the same
/// order, borrowed from a view instead of copied.
#[derive(Serialize)]
struct FunctionOut<'a> {
    function: &'a str,
    module: &'a str,
    objective: Option<ObjectiveLabels<'a>>,
    bounds: &'a [u64],
    counts: &'a [u64],
    sum_nanos: u64,
    root: Totals,
    callers: &'a [Caller<'a>],
    overflow: Totals,
    concurrent: Option<u64>,
    max_nanos: Option<u64>,
}

impl<'a> From<&FunctionSeries<'a>> for FunctionOut<'a> {
    fn from(s: &FunctionSeries<'a>) -> Self {
        Self {
            function: s.function,
            module: s.module,
            objective: s.objective,
            bounds: s.bounds,
            counts: s.counts,
            sum_nanos: s.sum_nanos,
            root: s.root,
            callers: s.callers,
            overflow: s.overflow,
            concurrent: s.concurrent,
            max_nanos: s.max_nanos,
        }
    }
}

/// [`Message`] on the encoding side.
#[derive(Serialize)]
enum MessageOut<'a> {
    Begin(Begin<'a>),
    Function(FunctionOut<'a>),
    End { seq: u32, functions: u16, metrics: u16 },
}

/// `Message::Metric` on the encoding side: its own type (serialized as that variant), so only
/// a program with user metrics links its encoder (see [`encode_metric`]).
struct MetricMessageOut<'a>(MetricOut<'a>);

impl Serialize for MetricMessageOut<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Variant 3 of `Message`, after Begin, Function and End.
        serializer.serialize_newtype_variant("Message", 3, "Metric", &self.0)
    }
}

/// Encodes one user metric series as a `Message::Metric` frame into `buf`; `None` if it does
/// not fit. Reached through the metric descriptors' hooks only.
pub(crate) fn encode_metric<'b>(series: &MetricSeries<'_>, buf: &'b mut [u8]) -> Option<&'b [u8]> {
    encode::<(), _>(&MetricMessageOut(series.into()), buf).ok()
}

/// Why a frame could not be written.
#[derive(Debug, PartialEq, Eq)]
pub enum FrameError<E> {
    /// A message does not fit [`MAX_FRAME`] (very long names).
    TooLarge,
    /// The sink failed.
    Write(E),
}

impl<E: fmt::Debug> fmt::Display for FrameError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge => write!(f, "a message does not fit {MAX_FRAME} bytes"),
            Self::Write(e) => write!(f, "writing a frame failed: {e:?}"),
        }
    }
}

impl<E: fmt::Debug> core::error::Error for FrameError<E> {}

/// Writes a dump of every registered function: a lone `0x00`, then frames, each passed to
/// `sink` as one slice ending in `0x00`. Allocates nothing; uses [`MAX_FRAME`] bytes of stack.
pub fn write_dump<E>(
    device: &str,
    seq: u32,
    sink: impl FnMut(&[u8]) -> Result<(), E>,
) -> Result<(), FrameError<E>> {
    let info = crate::periodic::DumpInfo { seq, uptime_nanos: crate::clock::uptime_nanos() };
    write_dump_info(device, info, sink)
}

/// [`write_dump`] with the number and uptime a [`crate::periodic`] schedule handed over.
pub fn write_dump_info<E>(
    device: &str,
    info: crate::periodic::DumpInfo,
    sink: impl FnMut(&[u8]) -> Result<(), E>,
) -> Result<(), FrameError<E>> {
    write_dump_of_info(device, info, functions(), sink)
}

/// Like [`write_dump`], for a chosen set of functions (and every user metric).
pub fn write_dump_of<'f, E>(
    device: &str,
    seq: u32,
    functions: impl IntoIterator<Item = &'f FunctionDescriptor>,
    sink: impl FnMut(&[u8]) -> Result<(), E>,
) -> Result<(), FrameError<E>> {
    let info = crate::periodic::DumpInfo { seq, uptime_nanos: crate::clock::uptime_nanos() };
    write_dump_of_info(device, info, functions, sink)
}

fn write_dump_of_info<'f, E>(
    device: &str,
    info: crate::periodic::DumpInfo,
    functions: impl IntoIterator<Item = &'f FunctionDescriptor>,
    mut sink: impl FnMut(&[u8]) -> Result<(), E>,
) -> Result<(), FrameError<E>> {
    let seq = info.seq;
    let mut buf = [0u8; MAX_FRAME];
    let build = build();
    sink(&[0]).map_err(FrameError::Write)?;
    let send =
        |m: &MessageOut<'_>, buf: &mut [u8; MAX_FRAME], sink: &mut dyn FnMut(&[u8]) -> Result<(), E>| {
            sink(encode(m, buf)?).map_err(FrameError::Write)
        };
    let counter_bits = crate::counter::CounterValue::BITS as u8;
    let begin = Begin { device, seq, build, counter_bits, uptime_nanos: info.uptime_nanos };
    send(&MessageOut::Begin(begin), &mut buf, &mut sink)?;
    let mut count = 0u16;
    let service = service_name();
    for f in functions {
        // `read` speaks `fmt::Result`: the frame error waits here while it unwinds.
        let mut failed = None;
        let _ = f.read(service, &mut |series| {
            send(&MessageOut::Function(series.into()), &mut buf, &mut sink).map_err(|e| {
                failed = Some(e);
                fmt::Error
            })
        });
        if let Some(e) = failed {
            return Err(e);
        }
        count = count.wrapping_add(1);
    }
    let mut metrics = 0u16;
    // Through the first descriptor's hooks: firmware without user metrics links no encoder
    // for them.
    if let Some(first) = crate::registry::metrics().first() {
        let encode_metric = first.hooks().encode;
        let mut failed = None;
        for m in crate::registry::metrics() {
            let _ = m.read(&mut |series| {
                let sent = match encode_metric(series, &mut buf) {
                    Some(bytes) => sink(bytes).map_err(FrameError::Write),
                    None => Err(FrameError::TooLarge),
                };
                sent.map_err(|e| {
                    failed = Some(e);
                    fmt::Error
                })
            });
            if let Some(e) = failed.take() {
                return Err(e);
            }
            metrics = metrics.wrapping_add(1);
        }
    }
    send(&MessageOut::End { seq, functions: count, metrics }, &mut buf, &mut sink)
}

/// Encodes one message as a frame (`0x00` included) into `buf`, as [`write_dump`] does: for
/// hosts and tests that speak the protocol themselves. `None` if it does not fit `buf`.
pub fn encode_message<'b>(message: &Message<'_>, buf: &'b mut [u8]) -> Option<&'b [u8]> {
    encode::<(), _>(message, buf).ok()
}

/// `version ‖ postcard(message) ‖ crc32`, COBS-encoded with its `0x00` into `buf`.
fn encode<'b, E, M: Serialize>(message: &M, buf: &'b mut [u8]) -> Result<&'b [u8], FrameError<E>> {
    use postcard::ser_flavors::{crc::CrcModifier, Cobs, Slice};
    let flavor = Cobs::try_new(Slice::new(buf)).map_err(|_| FrameError::TooLarge)?;
    let flavor = CrcModifier::new(flavor, CRC.digest());
    let out =
        postcard::serialize_with_flavor(&(VERSION, message), flavor).map_err(|_| FrameError::TooLarge)?;
    Ok(out)
}

/// Why a frame was skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// Not valid COBS (a stray zero, a bad length code): line noise or a cut frame.
    Cobs,
    /// Shorter than a version byte and a CRC.
    TooShort,
    /// The CRC does not match: bytes were lost or corrupted.
    Crc,
    /// A version this decoder does not know.
    Version(u8),
    /// The CRC matched but the message did not parse (a bug, or a sequence over capacity).
    Message,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cobs => f.write_str("not a COBS frame"),
            Self::TooShort => f.write_str("frame too short"),
            Self::Crc => f.write_str("CRC mismatch"),
            Self::Version(v) => write!(f, "unknown frame version {v} (this decoder reads {VERSION})"),
            Self::Message => f.write_str("message does not parse"),
        }
    }
}

impl core::error::Error for DecodeError {}

/// Decodes one frame: the bytes between two `0x00` delimiters (without them). Decodes in
/// place; strings in the result borrow from `frame`.
pub fn decode(frame: &mut [u8]) -> Result<Message<'_>, DecodeError> {
    let len = cobs::decode_in_place(frame).map_err(|_| DecodeError::Cobs)?;
    let payload = &frame[..len];
    if payload.len() < 1 + 4 {
        return Err(DecodeError::TooShort);
    }
    let (body, crc) = payload.split_at(payload.len() - 4);
    if CRC.checksum(body).to_le_bytes() != crc {
        return Err(DecodeError::Crc);
    }
    if body[0] != VERSION {
        return Err(DecodeError::Version(body[0]));
    }
    match postcard::take_from_bytes::<Message<'_>>(&body[1..]) {
        Ok((message, [])) => Ok(message),
        _ => Err(DecodeError::Message),
    }
}

// Registry-free, so Miri runs them too (it cannot read linker-section statics): the decoder
// works in place on the caller's buffer, through `cobs`.
#[cfg(test)]
mod tests {
    use super::*;

    fn framed(m: &Message<'_>) -> heapless::Vec<u8, MAX_FRAME> {
        let mut buf = [0u8; MAX_FRAME];
        let bytes = encode_message(m, &mut buf).unwrap();
        // Without the delimiter, as a reader hands frames over.
        heapless::Vec::from_slice(&bytes[..bytes.len() - 1]).unwrap()
    }

    #[test]
    fn messages_round_trip_and_damage_is_caught() {
        let build = Build {
            version: "1",
            commit: "c",
            branch: "b",
            service_name: "s",
            repository_url: "",
            extra: None,
        };
        let mut callers = heapless::Vec::new();
        let _ = callers.push(Caller { function: "p", module: "m", calls: Totals { ok: 3, error: 1 } });
        let f = FunctionRecord {
            function: "f\"\n",
            module: "m",
            objective: Some(ObjectiveLabels { name: "o", success_percentile: Some("99"), latency: None }),
            bounds: heapless::Vec::from_slice(&[10, 100]).unwrap(),
            counts: heapless::Vec::from_slice(&[u64::MAX, 0, 1]).unwrap(),
            sum_nanos: 12_345,
            root: Totals { ok: 1, error: 2 },
            callers,
            overflow: Totals::default(),
            concurrent: Some(0),
            max_nanos: Some(4_000_000_000),
        };
        for m in [
            Message::Begin(Begin {
                device: "d",
                seq: 7,
                build,
                counter_bits: 32,
                uptime_nanos: 3_000_000_000,
            }),
            Message::Function(f),
            Message::Metric(MetricRecord {
                name: "sent_total",
                help: "Sent \"bytes\"",
                labels: heapless::Vec::from_slice(&[("link", "uart"), ("port", "0")]).unwrap(),
                value: ValueRecord::Counter(u64::MAX),
            }),
            Message::Metric(MetricRecord {
                name: "level",
                help: "",
                labels: heapless::Vec::new(),
                value: ValueRecord::Gauge(-5),
            }),
            Message::Metric(MetricRecord {
                name: "sizes",
                help: "h",
                labels: heapless::Vec::new(),
                value: ValueRecord::Histogram {
                    bounds: heapless::Vec::from_slice(&[0, 8]).unwrap(),
                    counts: heapless::Vec::from_slice(&[1, 2, 3]).unwrap(),
                    sum: 40,
                },
            }),
            Message::End { seq: 7, functions: 1, metrics: 3 },
        ] {
            let mut frame = framed(&m);
            assert!(!frame.contains(&0));
            let mut damaged = frame.clone();
            assert_eq!(decode(&mut frame), Ok(m));
            let last = damaged.len() - 1;
            damaged[last] ^= 0x40;
            assert!(decode(&mut damaged).is_err());
        }
    }
}
