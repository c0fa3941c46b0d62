//! Point-in-time copies of a function's counters, read without locks and without allocation.
//!
//! A snapshot is everything recorded for one function, by value (the writers read slots into
//! [`crate::model::FunctionSeries`] views instead, on a smaller stack); `defmt::Format`
//! (feature `defmt`) and `serde::Serialize` (feature `serde`) work from it.

use crate::model::{Caller, CounterWidth, Totals};
use crate::objectives::Objective;
use picometrics_schema::{MAX_BOUNDS, MAX_CALLERS};

/// Calls by caller and result.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct CallsSnapshot {
    /// Calls from code that is not instrumented (empty caller labels).
    pub root: Totals,
    /// Calls from each instrumented caller that claimed an edge, in claim order.
    pub callers: heapless::Vec<Caller<'static>, MAX_CALLERS>,
    /// Calls from instrumented callers that found every edge taken.
    pub overflow: Totals,
}

impl CallsSnapshot {
    /// All calls, whatever the caller, added at the counter width (where counters are 32-bit
    /// the total wraps as each of them does).
    pub fn total(&self) -> Totals {
        let calls = self.callers.iter().map(|c| c.calls).chain([self.overflow]);
        calls.fold(self.root, |t, c| t.add(c, CounterWidth::NATIVE))
    }
}

/// A latency histogram: per-bucket (not cumulative) counts, the last one `+Inf`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct HistogramSnapshot {
    /// Observations per bucket; `counts.len()` is the number of bounds plus one.
    pub counts: heapless::Vec<u64, { MAX_BOUNDS + 1 }>,
    /// Sum of observed durations in nanoseconds.
    pub sum_nanos: u64,
}

impl HistogramSnapshot {
    /// Number of observations (equals the `+Inf` cumulative bucket by construction), added at
    /// the counter width.
    pub fn count(&self) -> u64 {
        CounterWidth::NATIVE.sum(self.counts.iter().copied())
    }

    /// Cumulative counts, one per bucket, the last one `+Inf`, added at the counter width.
    pub fn cumulative(&self) -> impl Iterator<Item = u64> + '_ {
        CounterWidth::NATIVE.running(self.counts.iter().copied())
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
    /// The function's objective, if any.
    pub objective: Option<Objective>,
    /// Histogram bounds in nanoseconds.
    pub bounds: &'static [u64],
    /// Calls by caller and result.
    pub calls: CallsSnapshot,
    /// Latency histogram.
    pub histogram: HistogramSnapshot,
    /// Calls in progress, when the function tracks concurrency.
    pub concurrent: Option<u64>,
    /// The longest call since start in nanoseconds, when the function has `track_max`.
    pub max_nanos: Option<u64>,
}
