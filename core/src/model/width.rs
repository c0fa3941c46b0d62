//! Counter widths and the one arithmetic of sums of counters.

/// The width of a source's counters — 64 bits, or 32 on targets without 64-bit atomics — and
/// the one arithmetic every sum of counters uses: **wrapping** at that width.
///
/// Why wrapping: the counters themselves wrap there, so sums that wrap the same way stay
/// consistent with their parts (cumulative buckets never decrease within one output, `+Inf`
/// equals `_count`), and when a total passes the width Prometheus sees one counter reset and
/// keeps counting. A saturating sum would stop at the maximum and hide every increase after.
/// A count *received* from elsewhere (a device) must [`CounterWidth::fit`] its width: one that
/// does not was not produced by such counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CounterWidth {
    pub(super) bits: u32,
}

impl CounterWidth {
    /// 64-bit counters (hosts, and any target with 64-bit atomics).
    pub const U64: Self = Self { bits: 64 };
    /// The width of this build's own counters.
    pub const NATIVE: Self = Self { bits: crate::counter::CounterValue::BITS };

    /// A width of `bits` (1 to 64), e.g. what a device's dump says of its counters.
    pub const fn new(bits: u32) -> Option<Self> {
        if bits >= 1 && bits <= 64 {
            Some(Self { bits })
        } else {
            None
        }
    }

    /// The width a source states in `bits`, 64 where that is out of range (the bridge refuses a
    /// device that states another width before its counts are summed).
    pub fn of(bits: u32) -> Self {
        Self::new(bits).unwrap_or(Self::U64)
    }

    /// The width in bits.
    pub const fn bits(self) -> u32 {
        self.bits
    }

    /// The largest value a counter of this width holds.
    pub const fn max(self) -> u64 {
        u64::MAX >> (64 - self.bits)
    }

    /// Whether `value` fits this width.
    pub const fn fit(self, value: u64) -> bool {
        value <= self.max()
    }

    /// `a + b`, wrapping at this width.
    pub const fn add(self, a: u64, b: u64) -> u64 {
        a.wrapping_add(b) & self.max()
    }

    /// The sum of `values`, wrapping at this width.
    pub fn sum(self, values: impl IntoIterator<Item = u64>) -> u64 {
        values.into_iter().fold(0, |acc, v| self.add(acc, v))
    }

    /// The running sums of `values` (cumulative bucket counts), wrapping at this width.
    pub fn running(self, values: impl IntoIterator<Item = u64>) -> impl Iterator<Item = u64> {
        values.into_iter().scan(0u64, move |acc, v| {
            *acc = self.add(*acc, v);
            Some(*acc)
        })
    }

    /// The sum of `values` if it fits this width without wrapping; `None` otherwise.
    pub fn checked_sum(self, values: impl IntoIterator<Item = u64>) -> Option<u64> {
        values.into_iter().try_fold(0u64, |acc, v| acc.checked_add(v).filter(|&s| self.fit(s)))
    }
}
