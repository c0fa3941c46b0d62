//! Exemplars (feature `exemplars`, std): each histogram bucket keeps the trace of the latest
//! call that landed in it, rendered by [`crate::render_openmetrics`] so a latency spike links
//! to the trace that shows it.
//!
//! Where the trace comes from is one function set once per process: the OpenTelemetry current
//! span (`picometrics_exporter::exemplars::install_opentelemetry`) or your own.
//!
//! ```
//! use picometrics::exemplars::set_source;
//! use picometrics::model::TraceContext;
//!
//! fn current_trace() -> Option<TraceContext> {
//!     Some(TraceContext { trace_id: 0x4bf92f3577b34da6a3ce929d0e0e4736, span_id: 0x00f067aa0ba902b7 })
//! }
//! set_source(current_trace).ok();
//! ```
//!
//! Storage is fixed (five atomic words per bucket, in the function's slot) and the hot path
//! neither locks nor allocates: a call writes its bucket's cell under a sequence number, and
//! a call that finds the cell being written by another simply leaves it to that one.

// loom's atomics under `cfg(loom)`, so the seqlock is model-checked as written (tests/loom.rs).
#[cfg(not(loom))]
use core::sync::atomic::{fence, AtomicU64, Ordering};
#[cfg(loom)]
use loom::sync::atomic::{fence, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::model::{Exemplar, TraceContext};

static SOURCE: OnceLock<fn() -> Option<TraceContext>> = OnceLock::new();

/// Sets the function asked for the current trace on every recorded call (once per process;
/// a second call returns the function it could not install).
pub fn set_source(source: fn() -> Option<TraceContext>) -> Result<(), fn() -> Option<TraceContext>> {
    SOURCE.set(source)
}

/// The current trace, if a source is installed and it has one.
#[inline]
pub(crate) fn current() -> Option<TraceContext> {
    SOURCE.get().and_then(|source| source())
}

/// One bucket's latest exemplar, under a sequence number (odd while being written).
#[derive(Debug)]
#[doc(hidden)] // public only for the loom model check, through `__private_v1`
pub struct ExemplarCell {
    seq: AtomicU64,
    trace_hi: AtomicU64,
    trace_lo: AtomicU64,
    span: AtomicU64,
    value_nanos: AtomicU64,
    timestamp_ms: AtomicU64,
}

impl ExemplarCell {
    crate::sync::loom_const_fn! {
        /// An empty cell.
        #[allow(clippy::new_without_default)] // built in statics
        pub fn new() -> Self {
            Self {
                seq: AtomicU64::new(0),
                trace_hi: AtomicU64::new(0),
                trace_lo: AtomicU64::new(0),
                span: AtomicU64::new(0),
                value_nanos: AtomicU64::new(0),
                timestamp_ms: AtomicU64::new(0),
            }
        }
    }

    /// Stores `trace` for an observation of `value_nanos`, unless another call is storing.
    pub fn store(&self, trace: TraceContext, value_nanos: u64) {
        let seq = self.seq.load(Ordering::Relaxed);
        if seq % 2 == 1
            || self.seq.compare_exchange(seq, seq + 1, Ordering::Acquire, Ordering::Relaxed).is_err()
        {
            return; // someone else is writing a newer one
        }
        // The standard seqlock writer: the odd sequence number is ordered before the data
        // stores, so a reader that sees any of them also sees the sequence move on.
        fence(Ordering::Release);
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        self.trace_hi.store((trace.trace_id >> 64) as u64, Ordering::Relaxed);
        self.trace_lo.store(trace.trace_id as u64, Ordering::Relaxed);
        self.span.store(trace.span_id, Ordering::Relaxed);
        self.value_nanos.store(value_nanos, Ordering::Relaxed);
        self.timestamp_ms.store(now, Ordering::Relaxed);
        self.seq.store(seq + 2, Ordering::Release);
    }

    /// The latest complete exemplar, if any (`None` also while one is being written).
    pub fn load(&self) -> Option<Exemplar> {
        let before = self.seq.load(Ordering::Acquire);
        if before == 0 || before % 2 == 1 {
            return None;
        }
        let exemplar = Exemplar {
            trace: TraceContext {
                trace_id: (u128::from(self.trace_hi.load(Ordering::Relaxed)) << 64)
                    | u128::from(self.trace_lo.load(Ordering::Relaxed)),
                span_id: self.span.load(Ordering::Relaxed),
            },
            value_nanos: self.value_nanos.load(Ordering::Relaxed),
            timestamp_ms: self.timestamp_ms.load(Ordering::Relaxed),
        };
        fence(Ordering::Acquire);
        (self.seq.load(Ordering::Relaxed) == before).then_some(exemplar)
    }
}

/// A bucket's cells: one per bound plus `+Inf`.
#[derive(Debug)]
pub(crate) struct ExemplarCells<const BOUNDS: usize> {
    buckets: [ExemplarCell; BOUNDS],
    inf: ExemplarCell,
}

impl<const BOUNDS: usize> ExemplarCells<BOUNDS> {
    crate::sync::loom_const_fn! {
        /// Empty cells.
        #[allow(clippy::new_without_default)] // built in statics
        pub(crate) fn new() -> Self {
            #[cfg(not(loom))]
            return Self { buckets: [const { ExemplarCell::new() }; BOUNDS], inf: ExemplarCell::new() };
            #[cfg(loom)]
            return Self { buckets: core::array::from_fn(|_| ExemplarCell::new()), inf: ExemplarCell::new() };
        }
    }

    /// The cell of bucket `i` (`BOUNDS` is `+Inf`).
    pub(crate) fn get(&self, i: usize) -> &ExemplarCell {
        self.buckets.get(i).unwrap_or(&self.inf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_round_trips_and_rejects_torn_reads() {
        let cell = ExemplarCell::new();
        assert_eq!(cell.load(), None);
        let trace = TraceContext { trace_id: u128::MAX - 5, span_id: 42 };
        cell.store(trace, 1_234);
        let e = cell.load().unwrap();
        assert_eq!(e.trace, trace);
        assert_eq!(e.value_nanos, 1_234);
        assert!(e.timestamp_ms > 1_600_000_000_000);
        // A write in progress (odd sequence) is not read, and a second writer backs off.
        cell.seq.fetch_add(1, Ordering::Relaxed);
        assert_eq!(cell.load(), None);
        cell.store(TraceContext { trace_id: 1, span_id: 1 }, 1);
        cell.seq.fetch_add(1, Ordering::Relaxed);
        assert_eq!(cell.load().unwrap().trace, trace);
    }
}
