//! The device side: the registry's series as messages, each encoded into one frame on the
//! stack and handed to a sink.

use super::v6::{BeginV6, ChangedMessageOut, ChangedOut, MessageOut};
use super::*;
use crate::descriptor::FunctionDescriptor;
use crate::model::{FunctionSeries, MetricSeries, MetricValue};
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

impl<'a> From<&'a ValueRecord> for ValueOut<'a> {
    fn from(v: &'a ValueRecord) -> Self {
        match v {
            ValueRecord::Counter(v) => Self::Counter(*v),
            ValueRecord::Gauge(v) => Self::Gauge(*v),
            ValueRecord::Histogram { bounds, counts, sum } => Self::Histogram { bounds, counts, sum: *sum },
        }
    }
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
    encode::<(), _>(&MetricMessageOut(series.into()), VERSION, Some(StreamId(stream)), buf).ok()
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
    write_dump_of_info(device, info, None, functions(), |_, _| Send::Whole, sink)
}

/// Like [`write_dump`], for a chosen set of functions (and every user metric).
pub fn write_dump_of<'f, E>(
    device: &str,
    seq: u32,
    functions: impl IntoIterator<Item = &'f FunctionDescriptor>,
    sink: impl FnMut(&[u8]) -> Result<(), E>,
) -> Result<(), FrameError<E>> {
    let info = crate::periodic::DumpInfo { seq, uptime_nanos: crate::clock::uptime_nanos() };
    write_dump_of_info(device, info, None, functions, |_, _| Send::Whole, sink)
}

/// How the dump writer sends a function.
pub(super) enum Send {
    /// Not at all: unchanged since the base.
    Skip,
    /// Whole ([`Message::Function`]).
    Whole,
    /// Its values, named by its place ([`Message::Changed`]).
    Changed,
}

/// The dump writer: `functions` in order, each sent as `send_function(its index, its series)`
/// says; `base` is the acknowledged dump the ones left out are unchanged since
/// ([`Baseline`](super::Baseline)). Whole dumps pass a `send_function` that is always
/// [`Send::Whole`], so theirs never links the other paths.
pub(super) fn write_dump_of_info<'f, E>(
    device: &str,
    info: crate::periodic::DumpInfo,
    base: Option<u32>,
    functions: impl IntoIterator<Item = &'f FunctionDescriptor>,
    mut send_function: impl FnMut(usize, &FunctionSeries<'_>) -> Send,
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
            sink(encode(m, VERSION, stream, buf)?).map_err(FrameError::Write)
        };
    let counter_bits = crate::counter::CounterValue::BITS as u8;
    let begin = Begin { device, seq, build, counter_bits, uptime_nanos: info.uptime_nanos, base };
    send(&MessageOut::Begin(BeginV6::from(&begin)), &mut buf, &mut sink)?;
    let mut count = 0u16;
    let service = service_name();
    for (i, f) in functions.into_iter().enumerate() {
        // `read` speaks `fmt::Result`: the frame error waits here while it unwinds.
        let mut failed = None;
        let mut sent = false;
        let _ = f.read(service, &mut |series| {
            let written = match send_function(i, series) {
                Send::Skip => return Ok(()),
                Send::Whole => send(&MessageOut::Function(series.into()), &mut buf, &mut sink),
                // A registry holds fewer than 65,536 functions.
                Send::Changed => {
                    encode(&ChangedMessageOut(ChangedOut::of(i as u16, series)), VERSION, stream, &mut buf)
                        .and_then(|bytes| sink(bytes).map_err(FrameError::Write))
                }
            };
            sent = true;
            written.map_err(|e| {
                failed = Some(e);
                fmt::Error
            })
        });
        if let Some(e) = failed {
            return Err(e);
        }
        count = count.wrapping_add(u16::from(sent));
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
    encode_message_as(message, VERSION, None, buf)
}

/// [`encode_message`] on `stream`, as [`write_dump`] writes frames: for a host that speaks for
/// several devices on one stream (a simulator, an aggregator).
pub fn encode_message_on<'b>(message: &Message<'_>, stream: StreamId, buf: &'b mut [u8]) -> Option<&'b [u8]> {
    encode_message_as(message, VERSION, Some(stream), buf)
}

/// [`encode_message`] in an older wire `version` ([`OLDEST_VERSION`] to [`VERSION`]), as
/// firmware in the field writes it: for simulators and tests of receivers. `None` for a version
/// out of that range, a `stream` in version 4 (which has none), a [`Begin::base`] or a
/// [`Message::Changed`] before version 6, or a message that does not fit `buf`.
pub fn encode_message_as<'b>(
    message: &Message<'_>,
    version: u8,
    stream: Option<StreamId>,
    buf: &'b mut [u8],
) -> Option<&'b [u8]> {
    match (version, message) {
        (4, _) if stream.is_some() => None,
        (4 | 5, Message::Begin(Begin { base: Some(_), .. }) | Message::Changed(_)) => None,
        // Their layout is `Message`'s serde form.
        (4 | 5, message) => encode::<(), _>(message, version, stream, buf).ok(),
        (VERSION, Message::Begin(b)) => {
            encode::<(), _>(&MessageOut::Begin(b.into()), version, stream, buf).ok()
        }
        (VERSION, Message::Function(f)) => {
            encode::<(), _>(&MessageOut::Function(f.into()), version, stream, buf).ok()
        }
        (VERSION, &Message::End { seq, functions, metrics }) => {
            encode::<(), _>(&MessageOut::End { seq, functions, metrics }, version, stream, buf).ok()
        }
        (VERSION, Message::Changed(c)) => {
            encode::<(), _>(&ChangedMessageOut(c.into()), version, stream, buf).ok()
        }
        (VERSION, Message::Metric(m)) => {
            let out = MetricOut { name: m.name, help: m.help, labels: &m.labels, value: (&m.value).into() };
            encode::<(), _>(&MetricMessageOut(out), version, stream, buf).ok()
        }
        _ => None,
    }
}

/// `version ‖ postcard(message) ‖ stream ‖ crc32`, COBS-encoded with its `0x00` into `buf`.
///
/// One pass per stage over one buffer: postcard writes the payload behind room left at the
/// front for COBS' code bytes, the CRC runs over it in one call (table-driven, a tight loop),
/// and COBS encodes it forward in place into the front. Postcard's stacked flavors (CRC and
/// COBS modifiers) instead pushed every byte through three layers: 61 instructions per byte on
/// the Cortex-M4F.
pub(super) fn encode<'b, E, M: Serialize>(
    message: &M,
    version_byte: u8,
    stream: Option<StreamId>,
    buf: &'b mut [u8],
) -> Result<&'b [u8], FrameError<E>> {
    // COBS adds one code byte per 254 bytes and one; the payload is shorter than `buf`.
    let head = buf.len() / 254 + 1;
    // The payload goes between the head room and the delimiter's byte.
    let room = buf.get_mut(head..buf.len().saturating_sub(1)).ok_or(FrameError::TooLarge)?;
    let (version, body) = room.split_first_mut().ok_or(FrameError::TooLarge)?;
    *version = version_byte;
    let mut len = 1 + postcard::to_slice(message, body).map_err(|_| FrameError::TooLarge)?.len();
    if let Some(stream) = stream {
        len = append(room, len, &stream.0.to_le_bytes()).ok_or(FrameError::TooLarge)?;
    }
    let crc = CRC.checksum(&room[..len]);
    len = append(room, len, &crc.to_le_bytes()).ok_or(FrameError::TooLarge)?;
    let end = cobs_in_place(buf, head, len);
    buf[end] = 0;
    Ok(&buf[..=end])
}

/// Copies `bytes` to `room[len..]`; the new length, or `None` if they do not fit.
fn append(room: &mut [u8], len: usize, bytes: &[u8]) -> Option<usize> {
    room.get_mut(len..len + bytes.len())?.copy_from_slice(bytes);
    Some(len + bytes.len())
}

/// COBS-encodes `buf[start..start + len]` into the front of `buf` and returns the encoded
/// length. In place, so a device needs one frame buffer: the `cobs` crate encodes from one
/// buffer into another only.
///
/// Writes stay behind reads as long as `start` covers the code bytes added so far (one, and one
/// per 254 bytes): after `k` input bytes at most `1 + k + k / 254` are written, the next read
/// is at `start + k`.
fn cobs_in_place(buf: &mut [u8], start: usize, len: usize) -> usize {
    debug_assert!(start > len / 254);
    let (mut code_at, mut out, mut code) = (0, 1, 1u8);
    for i in start..start + len {
        // A full block (254 non-zero bytes) is closed only when more bytes follow, as the
        // `cobs` crate does: a payload ending on one gets no empty block after it.
        if code == 0xFF {
            buf[code_at] = code;
            code_at = out;
            out += 1;
            code = 1;
        }
        let byte = buf[i];
        if byte == 0 {
            buf[code_at] = code;
            code_at = out;
            out += 1;
            code = 1;
        } else {
            buf[out] = byte;
            out += 1;
            code += 1;
        }
    }
    buf[code_at] = code;
    out
}

#[cfg(test)]
mod tests {
    use super::cobs_in_place;
    use proptest::prelude::*;
    use std::vec;

    /// The in-place encoder writes what the `cobs` crate's does, for payloads of every shape
    /// (zero runs, runs of 254 and more non-zero bytes, up to a frame's size), from the head
    /// room `encode` leaves.
    fn same_as_the_crate(payload: &[u8]) {
        let mut expected = vec![0; cobs::max_encoding_length(payload.len())];
        let n = cobs::encode(payload, &mut expected);
        let start = super::super::MAX_FRAME / 254 + 1;
        let mut buf = vec![0xAA; start + payload.len() + 1];
        buf[start..start + payload.len()].copy_from_slice(payload);
        let m = cobs_in_place(&mut buf, start, payload.len());
        assert_eq!(&buf[..m], &expected[..n], "payload of {} bytes", payload.len());
    }

    #[test]
    fn edges() {
        // Never empty: a payload has its version byte and CRC.
        for len in [1, 253, 254, 255, 508, 509, 1017] {
            same_as_the_crate(&vec![7; len]);
            same_as_the_crate(&vec![0; len]);
        }
        // Full blocks next to zeros, at either end.
        for (a, b) in [(254, 1), (1, 254), (254, 254), (253, 255)] {
            let mut payload = vec![7; a];
            payload.push(0);
            payload.extend(vec![9; b]);
            same_as_the_crate(&payload);
            payload.push(0);
            same_as_the_crate(&payload);
            payload.insert(0, 0);
            same_as_the_crate(&payload);
        }
    }

    // Safe byte moves only, nothing for Miri (which also refuses proptest's failure file): the
    // edge cases above run there.
    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]
        #[cfg_attr(miri, ignore)]
        #[test]
        fn in_place_equals_the_cobs_crate(
            payload in prop::collection::vec(prop_oneof![Just(0u8), 1u8..=255, 1u8..=255, 1u8..=255], 1..1017),
        ) {
            same_as_the_crate(&payload);
        }
    }
}
