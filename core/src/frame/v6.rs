//! Wire version 6, where it differs from versions 4 and 5 (the serde form of [`Message`]):
//! fewer bytes on a metered radio link for the same dump.
//!
//! - A function's **bounds** are a preset's number when they are one of the core's presets
//!   ([`PRESETS`]: 1 byte instead of ~60), the list otherwise.
//! - Its **counts** are sparse: a mask of the buckets that are not zero, then those counts
//!   (an idle bucket costs one bit instead of one byte).
//! - [`Begin::base`]: the dump leaves out the functions that did not change since the device's
//!   dump `base`, which the receiver acknowledged ([`Baseline`](super::Baseline)), and the
//!   build (the base's); the functions it does send are [`Message::Changed`]: their values
//!   only, named by their place in the base.
//!
//! Messages keep their variant numbers (`Begin` 0, `Function` 1, `End` 2, `Metric` 3), and
//! [`Message::Changed`] is 4; `End` and `Metric` are as in version 5.

mod decode;

use super::*;
use serde::ser::SerializeTuple;

pub(super) use decode::decode_into;

/// The bounds version 6 names by number: index 0 is [`crate::buckets::DEFAULT`], 1
/// [`crate::buckets::FIRMWARE`], 2 [`crate::buckets::HOT_PATH`].
///
/// Firmware in the field sends these numbers forever, so their values are the wire's (pinned by
/// a test): a preset whose values change needs a new number, and a new wire version.
pub(super) const PRESETS: [&[u64]; 3] =
    [&crate::buckets::DEFAULT, &crate::buckets::FIRMWARE, &crate::buckets::HOT_PATH];

/// A function's bounds on the wire, encoding side.
#[derive(Serialize)]
pub(super) enum BoundsOut<'a> {
    /// One of [`PRESETS`].
    Preset(u8),
    /// Any other bounds.
    Listed(&'a [u64]),
}

impl<'a> BoundsOut<'a> {
    pub(super) fn of(bounds: &'a [u64]) -> Self {
        match PRESETS.iter().position(|preset| *preset == bounds) {
            Some(i) => Self::Preset(i as u8),
            None => Self::Listed(bounds),
        }
    }
}

/// Per-bucket counts, sparse: `mask` (bit `i` set when bucket `i` is not zero, as a varint)
/// then the counts of those buckets, in order — a tuple, so no length: the mask's bits are.
pub(super) struct SparseOut<'a>(pub(super) &'a [u64]);

impl Serialize for SparseOut<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // At most 33 buckets (`MAX_BOUNDS` and `+Inf`): every one has its bit.
        let counts = &self.0[..self.0.len().min(64)];
        let mask = counts.iter().rev().fold(0u64, |m, &c| m << 1 | u64::from(c != 0));
        let mut t = serializer.serialize_tuple(1 + mask.count_ones() as usize)?;
        t.serialize_element(&mask)?;
        for c in counts.iter().filter(|&&c| c != 0) {
            t.serialize_element(c)?;
        }
        t.end()
    }
}

/// A function in version 6, encoding side: [`FunctionRecord`]'s fields, borrowed from a view.
#[derive(Serialize)]
pub(super) struct FunctionOut<'a> {
    pub(super) function: &'a str,
    pub(super) module: &'a str,
    pub(super) objective: Option<ObjectiveLabels<'a>>,
    pub(super) bounds: BoundsOut<'a>,
    pub(super) counts: SparseOut<'a>,
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
            bounds: BoundsOut::of(s.bounds),
            counts: SparseOut(s.counts),
            sum_nanos: s.sum_nanos,
            root: s.root,
            callers: s.callers,
            overflow: s.overflow,
            concurrent: s.concurrent,
            max_nanos: s.max_nanos,
        }
    }
}

impl<'a> From<&'a FunctionRecord<'a>> for FunctionOut<'a> {
    fn from(f: &'a FunctionRecord<'a>) -> Self {
        Self {
            function: f.function,
            module: f.module,
            objective: f.objective,
            bounds: BoundsOut::of(&f.bounds),
            counts: SparseOut(&f.counts),
            sum_nanos: f.sum_nanos,
            root: f.root,
            callers: &f.callers,
            overflow: f.overflow,
            concurrent: f.concurrent,
            max_nanos: f.max_nanos,
        }
    }
}

/// A function in a dump relative to another ([`Message::Changed`]), encoding side.
#[derive(Serialize)]
pub(super) struct ChangedOut<'a> {
    pub(super) index: u16,
    pub(super) counts: SparseOut<'a>,
    pub(super) sum_nanos: u64,
    pub(super) root: Totals,
    pub(super) callers: CallersOut<'a>,
    pub(super) overflow: Totals,
    pub(super) concurrent: Option<u64>,
    pub(super) max_nanos: Option<u64>,
}

impl<'a> ChangedOut<'a> {
    /// The values of `s`, the `index`-th function of the base dump.
    pub(super) fn of(index: u16, s: &FunctionSeries<'a>) -> Self {
        Self {
            index,
            counts: SparseOut(s.counts),
            sum_nanos: s.sum_nanos,
            root: s.root,
            callers: CallersOut::Registry(s.callers),
            overflow: s.overflow,
            concurrent: s.concurrent,
            max_nanos: s.max_nanos,
        }
    }
}

impl<'a> From<&'a ChangedRecord<'a>> for ChangedOut<'a> {
    fn from(c: &'a ChangedRecord<'a>) -> Self {
        Self {
            index: c.index,
            counts: SparseOut(&c.counts),
            sum_nanos: c.sum_nanos,
            root: c.root,
            callers: CallersOut::Refs(&c.callers),
            overflow: c.overflow,
            concurrent: c.concurrent,
            max_nanos: c.max_nanos,
        }
    }
}

/// [`CallerRef`] on the wire (both sides).
#[derive(Serialize, Deserialize)]
enum CallerWire<'a> {
    Place(u16, Totals),
    #[serde(borrow)]
    Named(Caller<'a>),
}

impl<'a> From<CallerWire<'a>> for CallerRef<'a> {
    fn from(c: CallerWire<'a>) -> Self {
        match c {
            CallerWire::Place(index, calls) => Self::Place { index, calls },
            CallerWire::Named(c) => Self::Named(c),
        }
    }
}

impl<'a> From<CallerRef<'a>> for CallerWire<'a> {
    fn from(c: CallerRef<'a>) -> Self {
        match c {
            CallerRef::Place { index, calls } => Self::Place(index, calls),
            CallerRef::Named(c) => Self::Named(c),
        }
    }
}

/// A changed function's caller edges, encoding side.
pub(super) enum CallersOut<'a> {
    /// The device's own: each caller by its place in the registry (the base's order), found by
    /// its name's address (an edge names its caller by the descriptor's `&'static str`).
    Registry(&'a [Caller<'a>]),
    /// A host's, as given.
    Refs(&'a [CallerRef<'a>]),
}

impl Serialize for CallersOut<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Registry(callers) => serializer.collect_seq(callers.iter().map(|c| {
                let place = crate::registry::functions().iter().position(|d| {
                    core::ptr::eq(d.name.as_ptr(), c.function.as_ptr())
                        && core::ptr::eq(d.module.as_ptr(), c.module.as_ptr())
                });
                match place {
                    Some(i) => CallerWire::Place(i as u16, c.calls),
                    None => CallerWire::Named(*c),
                }
            })),
            Self::Refs(callers) => serializer.collect_seq(callers.iter().map(|&c| CallerWire::from(c))),
        }
    }
}

/// `Begin` in version 6: version 5's fields, with the build in a whole dump only.
#[derive(Serialize, Deserialize)]
pub(super) struct BeginV6<'a> {
    pub(super) device: &'a str,
    pub(super) seq: u32,
    pub(super) counter_bits: u8,
    pub(super) uptime_nanos: u64,
    #[serde(borrow)]
    pub(super) since: Since<'a>,
}

/// What a version 6 dump is relative to.
#[derive(Serialize, Deserialize)]
pub(super) enum Since<'a> {
    /// Nothing: a whole dump, with the device's build.
    #[serde(borrow)]
    Whole(Build<'a>),
    /// The acknowledged dump [`Begin::base`]; the build is that dump's (a device's build
    /// cannot change without a restart, and a restarted device starts whole).
    Base(u32),
}

impl<'a> From<&Begin<'a>> for BeginV6<'a> {
    fn from(b: &Begin<'a>) -> Self {
        Self {
            device: b.device,
            seq: b.seq,
            counter_bits: b.counter_bits,
            uptime_nanos: b.uptime_nanos,
            since: match b.base {
                Some(base) => Since::Base(base),
                None => Since::Whole(b.build),
            },
        }
    }
}

/// The build a dump relative to another one is decoded with: none of its own.
const NO_BUILD: Build<'static> =
    Build { version: "", commit: "", branch: "", service_name: "", repository_url: "", extra: None };

/// A version 6 message, encoding side (user metrics go through
/// [`MetricMessageOut`](super::encode::MetricMessageOut), so only firmware that has them links
/// their encoder).
#[derive(Serialize)]
pub(super) enum MessageOut<'a> {
    Begin(BeginV6<'a>),
    Function(FunctionOut<'a>),
    End { seq: u32, functions: u16, metrics: u16 },
}

/// `Message::Changed` on the encoding side: its own type (serialized as that variant), so only
/// firmware that writes relative dumps ([`Baseline`](super::Baseline)) links its encoder — as
/// `MetricMessageOut` does for user metrics.
pub(super) struct ChangedMessageOut<'a>(pub(super) ChangedOut<'a>);

impl Serialize for ChangedMessageOut<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Variant 4 of `Message`, after Begin, Function, End and Metric.
        serializer.serialize_newtype_variant("Message", 4, "Changed", &self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The presets' values are the wire's: firmware that sent `Preset(0)` in the field meant
    /// exactly these bounds, whatever the core's constants become.
    #[test]
    fn presets_are_pinned() {
        const MS: u64 = 1_000_000;
        let default =
            [5, 10, 25, 50, 75, 100, 250, 500, 750, 1_000, 2_500, 5_000, 7_500, 10_000].map(|m| m * MS);
        // In microseconds: 10 µs to 100 ms.
        let firmware =
            [10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 75_000, 100_000]
                .map(|us| us * 1_000);
        // 100 ns to 5 µs, then the firmware's.
        let hot_path: std::vec::Vec<u64> =
            [100, 250, 500, 1_000, 2_500, 5_000].into_iter().chain(firmware).collect();
        assert_eq!(PRESETS, [&default[..], &firmware[..], &hot_path[..]]);
    }
}
