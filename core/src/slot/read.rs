//! Reading a slot: the snapshots, the labelled series and the `persist` hooks that the
//! registry reaches through [`SlotStorage`], apart from the per-call path in the parent module.

use super::{FunctionSlot, MaxCell};
#[cfg(feature = "exemplars")]
use crate::buckets;
use crate::counter::CounterValue;
#[cfg(feature = "persist")]
use crate::descriptor::FunctionDescriptor;
use crate::descriptor::{sealed, SlotStorage};
use crate::model::{Caller, FunctionSeries};
use crate::snapshot::{CallsSnapshot, HistogramSnapshot};
#[cfg(feature = "persist")]
use crate::sync::Ordering;
use core::fmt;
#[cfg(feature = "persist")]
use core::ptr;

impl<const BOUNDS: usize, const CALLERS: usize, M: MaxCell> FunctionSlot<BOUNDS, CALLERS, M> {
    /// The claimed caller edges and their calls, in claim order, in a vector of capacity `CAP`
    /// (at least `CALLERS`).
    fn callers<const CAP: usize>(&self) -> heapless::Vec<Caller<'static>, CAP> {
        let mut callers = heapless::Vec::new();
        for edge in &self.edges {
            if let Some(caller) = edge.caller() {
                // Cannot fail: `CAP` is `CALLERS` or `MAX_CALLERS` (>= CALLERS, checked in `new`).
                let _ = callers.push(Caller {
                    function: caller.name,
                    module: caller.module,
                    calls: edge.calls.totals(),
                });
            }
        }
        callers
    }
}

impl<const BOUNDS: usize, const CALLERS: usize, M: MaxCell> sealed::Sealed
    for FunctionSlot<BOUNDS, CALLERS, M>
{
}

impl<const BOUNDS: usize, const CALLERS: usize, M: MaxCell> SlotStorage for FunctionSlot<BOUNDS, CALLERS, M> {
    #[allow(clippy::useless_conversion)] // `CounterValue` is u32 on 32-bit targets
    fn histogram(&self) -> HistogramSnapshot {
        let sum = self.sum.get_acquire();
        let mut counts = heapless::Vec::new();
        for c in self.buckets.iter().chain([&self.inf]) {
            // Cannot fail: BOUNDS + 1 <= MAX_BOUNDS + 1 is checked in `new`.
            let _ = counts.push(c.get().into());
        }
        HistogramSnapshot { counts, sum_nanos: sum }
    }

    fn calls(&self) -> CallsSnapshot {
        CallsSnapshot { root: self.root.totals(), callers: self.callers(), overflow: self.overflow.totals() }
    }

    #[allow(clippy::useless_conversion)] // counters are u32 on 32-bit targets
    fn concurrent(&self) -> u64 {
        self.concurrent.get().into()
    }

    fn max(&self) -> Option<u64> {
        self.max.get()
    }

    #[cfg(feature = "persist")]
    fn clear(&self) {
        for c in self.buckets.iter().chain([&self.inf, &self.concurrent]) {
            c.set(0);
        }
        self.sum.clear();
        self.root.clear();
        self.overflow.clear();
        for edge in &self.edges {
            edge.caller.store(ptr::null_mut(), Ordering::Release);
            edge.calls.clear();
        }
        self.max.clear();
    }

    #[cfg(feature = "persist")]
    fn restore(&self, registry: &'static [FunctionDescriptor]) -> bool {
        for edge in &self.edges {
            let p = edge.caller.load(Ordering::Acquire);
            if p.is_null() {
                continue;
            }
            // Compared by address only; the stored pointer is replaced by the registry's own
            // reference, so what is dereferenced later was never read back from memory.
            match registry.iter().find(|d| ptr::eq(*d, p.cast_const())) {
                Some(d) => edge.caller.store(ptr::from_ref(d).cast_mut(), Ordering::Release),
                None => return false,
            }
        }
        self.concurrent.set(0);
        true
    }

    fn read(
        &self,
        labels: &FunctionSeries<'_>,
        track_concurrency: bool,
        each: &mut dyn FnMut(&FunctionSeries<'_>) -> fmt::Result,
    ) -> fmt::Result {
        let histogram = self.histogram();
        // Only this slot's edges: `CALLERS` entries, not the snapshot's `MAX_CALLERS`.
        let callers = self.callers::<CALLERS>();
        #[cfg(feature = "exemplars")]
        let exemplars: heapless::Vec<_, { buckets::MAX_BOUNDS + 1 }> =
            (0..=BOUNDS).map(|i| self.exemplars.get(i).load()).collect();
        each(&FunctionSeries {
            counts: &histogram.counts,
            counter_bits: CounterValue::BITS,
            sum_nanos: histogram.sum_nanos,
            root: self.root.totals(),
            callers: &callers,
            overflow: self.overflow.totals(),
            concurrent: track_concurrency.then(|| self.concurrent()),
            max_nanos: self.max.get(),
            #[cfg(feature = "exemplars")]
            exemplars: &exemplars,
            ..*labels
        })
    }
}
