//! Point-in-time copies of a function's counters, read without locks and without allocation.
//!
//! The Prometheus renderer, `defmt::Format` (feature `defmt`) and `serde::Serialize` (feature
//! `serde`) all work from these, so every output agrees on what a snapshot contains.

use crate::buckets::MAX_BOUNDS;
use crate::counter::CounterValue;
use crate::slot::MAX_CALLERS;

/// Ok and error totals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ResultTotals {
    /// Calls that returned normally and were not classified as errors.
    pub ok: CounterValue,
    /// Calls that returned `Err` (or matched `error_if`), or panicked.
    pub error: CounterValue,
}

/// Calls made from one instrumented caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct CallerTotals {
    /// The caller's `function` label.
    pub function: &'static str,
    /// The caller's `module` label.
    pub module: &'static str,
    /// Its calls, by result.
    pub calls: ResultTotals,
}

/// Calls by caller and result.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct CallsSnapshot {
    /// Calls from code that is not instrumented (empty caller labels).
    pub root: ResultTotals,
    /// Calls from each instrumented caller that claimed an edge, in claim order.
    pub callers: heapless::Vec<CallerTotals, MAX_CALLERS>,
    /// Calls from instrumented callers that found every edge taken.
    pub overflow: ResultTotals,
}

impl CallsSnapshot {
    /// All calls, whatever the caller.
    pub fn total(&self) -> ResultTotals {
        let mut t = self.root;
        for c in self.callers.iter().map(|c| &c.calls).chain([&self.overflow]) {
            t.ok = t.ok.wrapping_add(c.ok);
            t.error = t.error.wrapping_add(c.error);
        }
        t
    }
}

/// A latency histogram: per-bucket (not cumulative) counts, the last one `+Inf`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct HistogramSnapshot {
    /// Observations per bucket; `counts.len()` is the number of bounds plus one.
    pub counts: heapless::Vec<CounterValue, { MAX_BOUNDS + 1 }>,
    /// Sum of observed durations in nanoseconds.
    pub sum_nanos: u64,
}

#[allow(clippy::useless_conversion)] // `CounterValue` is u32 on 32-bit targets
impl HistogramSnapshot {
    /// Number of observations (equals the `+Inf` cumulative bucket by construction).
    pub fn count(&self) -> u64 {
        self.counts.iter().map(|&c| u64::from(c)).sum()
    }

    /// Cumulative counts, one per bucket, the last one `+Inf`.
    pub fn cumulative(&self) -> impl Iterator<Item = u64> + '_ {
        self.counts.iter().scan(0u64, |acc, &c| {
            *acc += u64::from(c);
            Some(*acc)
        })
    }
}

/// Everything recorded for one function.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct FunctionSnapshot {
    /// The `function` label (`Type::method` for methods).
    pub function: &'static str,
    /// The `module` label (the module path).
    pub module: &'static str,
    /// Histogram bounds in nanoseconds.
    pub bounds: &'static [u64],
    /// Calls by caller and result.
    pub calls: CallsSnapshot,
    /// Latency histogram.
    pub histogram: HistogramSnapshot,
    /// Calls in progress, when the function tracks concurrency.
    pub concurrent: Option<CounterValue>,
}
