//! The device side: the registry's series as messages, each encoded into one frame on the
//! stack and handed to a sink.

use super::*;
use crate::descriptor::FunctionDescriptor;
use crate::model::{Caller, FunctionSeries, MetricSeries, MetricValue, ObjectiveLabels, Totals};
use crate::registry::{build, functions, service_name};
use core::fmt;
use serde::Serialize;

/// What the encoder writes for a user metric: [`MetricRecord`]'s fields, borrowed.
#[derive(Serialize)]
pub(super) struct MetricOut<'a> {
    pub(super) name: &'a str,
    pub(super) help: &'a str,
    pub(super) labels: &'a [(&'a str, &'a str)],
    pub(super) value: ValueOut<'a>,
}

/// [`ValueRecord`] on the encoding side.
#[derive(Serialize)]
pub(super) enum ValueOut<'a> {
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

/// What the encoder writes for a function: the same fields as [`FunctionRecord`] in the same
/// order, borrowed from a view instead of copied.
#[derive(Serialize)]
pub(super) struct FunctionOut<'a> {
    pub(super) function: &'a str,
    pub(super) module: &'a str,
    pub(super) objective: Option<ObjectiveLabels<'a>>,
    pub(super) bounds: &'a [u64],
    pub(super) counts: &'a [u64],
    pub(super) sum_nanos: u64,
    pub(super) root: Totals,
    pub(super) callers: &'a [Caller<'a>],
    pub(super) overflow: Totals,
    pub(super) concurrent: Option<u64>,
    pub(super) max_nanos: Option<u64>,
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
pub(super) enum MessageOut<'a> {
    Begin(Begin<'a>),
    Function(FunctionOut<'a>),
    End { seq: u32, functions: u16, metrics: u16 },
}

/// `Message::Metric` on the encoding side: its own type (serialized as that variant), so only
/// a program with user metrics links its encoder (see [`encode_metric`]).
pub(super) struct MetricMessageOut<'a>(MetricOut<'a>);

impl Serialize for MetricMessageOut<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Variant 3 of `Message`, after Begin, Function and End.
        serializer.serialize_newtype_variant("Message", 3, "Metric", &self.0)
    }
}

/// Encodes one user metric series as a `Message::Metric` frame on `stream` into `buf`; `None`
/// if it does not fit. Reached through the metric descriptors' hooks only.
pub(crate) fn encode_metric<'b>(
    series: &MetricSeries<'_>,
    stream: u16,
    buf: &'b mut [u8],
) -> Option<&'b [u8]> {
    encode::<(), _>(&MetricMessageOut(series.into()), Some(StreamId(stream)), buf).ok()
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

pub(super) fn write_dump_of_info<'f, E>(
    device: &str,
    info: crate::periodic::DumpInfo,
    functions: impl IntoIterator<Item = &'f FunctionDescriptor>,
    mut sink: impl FnMut(&[u8]) -> Result<(), E>,
) -> Result<(), FrameError<E>> {
    let seq = info.seq;
    let id = StreamId::of(device);
    let stream = Some(id);
    let mut buf = [0u8; MAX_FRAME];
    let build = build();
    sink(&[0]).map_err(FrameError::Write)?;
    let send =
        |m: &MessageOut<'_>, buf: &mut [u8; MAX_FRAME], sink: &mut dyn FnMut(&[u8]) -> Result<(), E>| {
            sink(encode(m, stream, buf)?).map_err(FrameError::Write)
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
                let sent = match encode_metric(series, id.0, &mut buf) {
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

/// Encodes one message as a frame (`0x00` included) into `buf`, on no [`StreamId`]: for
/// hosts and tests that speak the protocol themselves, one device per stream. `None` if it does
/// not fit `buf`.
pub fn encode_message<'b>(message: &Message<'_>, buf: &'b mut [u8]) -> Option<&'b [u8]> {
    encode::<(), _>(message, None, buf).ok()
}

/// [`encode_message`] on `stream`, as [`write_dump`] writes frames: for a host that speaks for
/// several devices on one stream (a simulator, an aggregator).
pub fn encode_message_on<'b>(message: &Message<'_>, stream: StreamId, buf: &'b mut [u8]) -> Option<&'b [u8]> {
    encode::<(), _>(message, Some(stream), buf).ok()
}

/// Bytes serialized as they are (a postcard tuple has no length prefix).
struct Raw<'a>(&'a [u8]);

impl Serialize for Raw<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple;
        let mut tuple = serializer.serialize_tuple(self.0.len())?;
        for b in self.0 {
            tuple.serialize_element(b)?;
        }
        tuple.end()
    }
}

/// `version ‖ postcard(message) ‖ stream ‖ crc32`, COBS-encoded with its `0x00` into `buf`.
pub(super) fn encode<'b, E, M: Serialize>(
    message: &M,
    stream: Option<StreamId>,
    buf: &'b mut [u8],
) -> Result<&'b [u8], FrameError<E>> {
    use postcard::ser_flavors::{crc::CrcModifier, Cobs, Slice};
    let flavor = Cobs::try_new(Slice::new(buf)).map_err(|_| FrameError::TooLarge)?;
    let flavor = CrcModifier::new(flavor, CRC.digest());
    let trailer = stream.map(|s| s.0.to_le_bytes());
    let trailer = Raw(trailer.as_ref().map_or(&[], |t| t.as_slice()));
    let out = postcard::serialize_with_flavor(&(VERSION, message, trailer), flavor)
        .map_err(|_| FrameError::TooLarge)?;
    Ok(out)
}
