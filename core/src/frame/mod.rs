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
//! payload = version:u8  postcard(message)  [stream:u16 little-endian]  crc32(all before):u32 little-endian
//! ```
//!
//! `message` is [`Message`]'s serde form in versions 4 and 5; version 6 writes a function's
//! bounds as a preset's number where they are one, its counts sparse (a mask of the buckets
//! that are not zero, then those), and lets a dump leave out the functions that did not change
//! since a dump the receiver acknowledged ([`Begin::base`], [`Baseline`]) — the others are then
//! [`Message::Changed`], named by their place in that dump. A receiver reads every version from
//! [`OLDEST_VERSION`] on.
//!
//! The CRC is CRC-32/ISCSI (Castagnoli). Counters are postcard varints, so the 32-bit counters
//! of small targets and the 64-bit ones of hosts decode to the same `u64` fields. A decoder
//! skips a frame whose CRC does not match, whose version it does not know, or that does not
//! parse — [`decode`] says which.
//!
//! ## Shared streams
//!
//! Devices may share one byte stream (an RS-485 bus, a TCP aggregator): their frames then
//! interleave, and only `Begin` names the device. So [`write_dump`] ends every frame with its
//! device's [`StreamId`] — 16 bits derived from the device name — and a receiver assembles one
//! dump per stream id ([`decode_frame`] hands it over). A frame without the trailer (version 4,
//! which a receiver keeps accepting from firmware in the field, or a host's [`encode_message`])
//! is on no stream id: one dump at a time, as before.
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

mod decode;
mod delta;
mod encode;
mod v6;

use crate::model::Build;
use crate::model::{Caller, FunctionSeries, MetricSeries, MetricValue, ObjectiveLabels, Totals};
use crc::{Crc, CRC_32_ISCSI};
pub use decode::{decode, decode_frame, DecodeError, Frame};
pub use delta::Baseline;
pub(crate) use encode::encode_metric;
pub use encode::{
    encode_message, encode_message_as, encode_message_on, write_dump, write_dump_info, write_dump_of,
    FrameError,
};
use picometrics_schema::{MAX_BOUNDS, MAX_CALLERS, MAX_METRIC_LABELS};
use serde::{Deserialize, Serialize};

/// The wire format version, the first byte of every payload. Version 2 added
/// [`Begin::counter_bits`], version 3 [`FunctionRecord::max_nanos`] and [`Begin::uptime_nanos`],
/// version 4 [`Message::Metric`] and `End::metrics`, version 5 the [`StreamId`] trailer,
/// version 6 fewer bytes: bounds presets by number, sparse counts and [`Begin::base`] (dumps
/// that leave out unchanged functions).
pub const VERSION: u8 = 6;

/// The oldest version a decoder still reads: version 4, version 5's messages without a
/// [`StreamId`] trailer. Versions 4 and 5 are the serde form of [`Message`] (what
/// [`encode_message_as`] writes for them); version 6 differs in functions and `Begin` only.
pub const OLDEST_VERSION: u8 = 4;

/// Which device's dump a frame belongs to on a stream several devices share: 16 bits of the
/// CRC-32 of the device name, the same on every frame of its dumps.
///
/// Two devices on one stream whose names map to the same id cannot be told apart (about one
/// pair in 65,536); a receiver sees one's `Begin` cut the other's dump and says so.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId(pub u16);

impl StreamId {
    /// The id of `device`'s frames.
    pub fn of(device: &str) -> Self {
        let crc = CRC.checksum(device.as_bytes());
        Self((crc ^ (crc >> 16)) as u16)
    }
}

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
    /// One function's values in a dump with a [`Begin::base`] (version 6): the function is the
    /// base dump's `index`-th, whose names, objective and bounds it keeps.
    #[serde(skip)]
    Changed(ChangedRecord<'a>),
}

/// A function's values in a dump relative to an earlier one ([`Message::Changed`]): what can
/// change between two dumps of one build, the function named by its place in the base dump
/// (its place in the registry, which a build does not change).
#[derive(Clone, Default, Debug, PartialEq)]
pub struct ChangedRecord<'a> {
    /// Which function of the base dump, counting from 0.
    pub index: u16,
    /// Per-bucket (not cumulative) counts, `+Inf` last, up to the last bucket that is not zero:
    /// the base's bounds say how many buckets follow, all zero.
    pub counts: heapless::Vec<u64, { MAX_BOUNDS + 1 }>,
    /// Sum of durations in nanoseconds.
    pub sum_nanos: u64,
    /// Calls from code that is not instrumented.
    pub root: Totals,
    /// Calls by instrumented caller, each named by its place in the base where it has one.
    pub callers: heapless::Vec<CallerRef<'a>, MAX_CALLERS>,
    /// Calls from callers that found every edge taken.
    pub overflow: Totals,
    /// `function_calls_concurrent`, when tracked.
    pub concurrent: Option<u64>,
    /// The longest call in nanoseconds, with `track_max`.
    pub max_nanos: Option<u64>,
}

/// A caller edge in a [`ChangedRecord`]: the caller by its place in the base dump (an
/// instrumented caller is a registered function), or by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallerRef<'a> {
    /// The base dump's `index`-th function called this many times.
    Place {
        /// Which function of the base dump.
        index: u16,
        /// Its calls.
        calls: Totals,
    },
    /// A caller by name.
    Named(Caller<'a>),
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

/// The start of a dump.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Begin<'a> {
    /// Names the device (e.g. its serial number); the host keeps one snapshot per device.
    pub device: &'a str,
    /// Dumps since the device started: a smaller number than the last one means it restarted.
    pub seq: u32,
    /// The `build_info` labels; all empty in a dump with a [`base`](Self::base), whose build is
    /// the base's (version 6 leaves it out).
    #[serde(borrow)]
    pub build: Build<'a>,
    /// The width of the device's counters (32 or 64): the host sums them at this width.
    pub counter_bits: u8,
    /// Nanoseconds since the device started, when it wrote this dump.
    pub uptime_nanos: u64,
    /// The device's earlier dump this one is relative to (version 6): the functions it leaves
    /// out did not change since dump `base`, which the receiver acknowledged. `None`: every
    /// function is in this dump. Not part of versions 4 and 5, hence outside the serde form.
    #[serde(skip)]
    pub base: Option<u32>,
}

/// One function's metrics as decoded; every sequence has the capacity the encoder has, so a
/// frame claiming more is an error, not an allocation.
#[derive(Clone, Default, Debug, PartialEq, Serialize, Deserialize)]
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

// Registry-free, so Miri runs them too (it cannot read linker-section statics): the decoder
// works in place on the caller's buffer.
#[cfg(test)]
mod tests;
