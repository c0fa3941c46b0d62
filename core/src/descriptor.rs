//! [`FunctionDescriptor`]: everything about an instrumented function that is fixed at compile
//! time, plus a reference to its counters. Lives in read-only memory (FLASH on bare metal).

use crate::build_info::BuildInfo;
use crate::model::{FunctionSeries, ObjectiveLabels};
use crate::objectives::Objective;
use crate::snapshot::{CallsSnapshot, FunctionSnapshot, HistogramSnapshot};
use core::fmt;

/// Read access to a slot of any size, for the registry and the writers. Sealed: only the
/// core's `FunctionSlot` implements it, so its methods may change with features.
pub trait SlotStorage: sealed::Sealed + Sync {
    /// Reads the histogram: the sum first, then each bucket once.
    fn histogram(&self) -> HistogramSnapshot;
    /// Reads the call counters of every claimed edge.
    fn calls(&self) -> CallsSnapshot;
    /// Reads the concurrency gauge.
    fn concurrent(&self) -> u64;
    /// Reads the longest call in nanoseconds, if the slot keeps it (`track_max`).
    fn max(&self) -> Option<u64>;
    /// Sets every counter to zero and frees every caller edge (`persist`).
    #[cfg(feature = "persist")]
    fn clear(&self);
    /// After a warm reset (`persist`): checks that every claimed caller edge points at one of
    /// `registry`'s descriptors and stores that descriptor's own reference in it (so no pointer
    /// read back from memory is dereferenced), and zeroes the concurrency gauge (no call is in
    /// flight at boot). False if an edge points anywhere else: the saved state is not ours.
    #[cfg(feature = "persist")]
    fn restore(&self, registry: &'static [FunctionDescriptor]) -> bool;
    /// Reads every counter into `labels` (a view with the identity filled in) and hands the
    /// view to `each`. The copy lives on this slot's stack frame, sized by its own bucket and
    /// caller counts: the writers' path, which firmware runs with little stack.
    fn read(
        &self,
        labels: &FunctionSeries<'_>,
        track_concurrency: bool,
        each: &mut dyn FnMut(&FunctionSeries<'_>) -> fmt::Result,
    ) -> fmt::Result;
}

pub(crate) mod sealed {
    /// Implemented by the core's slot types only.
    pub trait Sealed {}
}

/// Everything about an instrumented function that is fixed at compile time, plus a reference
/// to its counters. Lives in read-only memory.
pub struct FunctionDescriptor {
    /// The `function` label: the function's name, or `Type::method` for methods.
    pub name: &'static str,
    /// The `module` label: `module_path!()` where the function is defined.
    pub module: &'static str,
    /// The function's objective, if any (by reference: a descriptor stays small in flash, and
    /// only functions with an objective pay for one).
    pub objective: Option<&'static Objective>,
    /// Histogram bounds in nanoseconds.
    pub bounds: &'static [u64],
    /// Whether `function_calls_concurrent` is reported for it.
    pub track_concurrency: bool,
    /// Build information of the crate that defines it.
    pub build: &'static BuildInfo,
    slot: &'static dyn SlotStorage,
}

impl FunctionDescriptor {
    /// Its slot (`persist` clears and restores slots).
    #[cfg(feature = "persist")]
    pub(crate) fn slot(&self) -> &'static dyn SlotStorage {
        self.slot
    }

    /// Describes a function; used by the code `#[picometrics]` generates.
    #[doc(hidden)]
    #[allow(clippy::too_many_arguments)]
    pub const fn new(
        name: &'static str,
        module: &'static str,
        objective: Option<&'static Objective>,
        bounds: &'static [u64],
        track_concurrency: bool,
        build: &'static BuildInfo,
        slot: &'static dyn SlotStorage,
    ) -> Self {
        Self { name, module, objective, bounds, track_concurrency, build, slot }
    }

    /// The objective's labels, if the function has one.
    fn objective_labels(&self) -> Option<ObjectiveLabels<'static>> {
        let o = self.objective?;
        Some(ObjectiveLabels {
            name: o.name,
            success_percentile: o.success_rate.map(|p| p.as_str()),
            latency: o.latency.map(|(t, p)| (t.as_nanos(), p.as_str())),
        })
    }

    /// Reads this function's counters into a [`FunctionSeries`] reported under `service_name`
    /// and hands it to `each` (the view borrows a copy on the stack).
    pub fn read(
        &self,
        service_name: &str,
        each: &mut dyn FnMut(&FunctionSeries<'_>) -> fmt::Result,
    ) -> fmt::Result {
        let labels = FunctionSeries {
            function: self.name,
            module: self.module,
            service_name,
            objective: self.objective_labels(),
            bounds: self.bounds,
            ..FunctionSeries::EMPTY
        };
        self.slot.read(&labels, self.track_concurrency, each)
    }

    /// Whether it keeps its longest call (`track_max`).
    pub fn tracks_max(&self) -> bool {
        self.slot.max().is_some()
    }

    /// Reads this function's counters.
    pub fn snapshot(&self) -> FunctionSnapshot {
        FunctionSnapshot {
            function: self.name,
            module: self.module,
            objective: self.objective.copied(),
            bounds: self.bounds,
            calls: self.slot.calls(),
            histogram: self.slot.histogram(),
            concurrent: self.track_concurrency.then(|| self.slot.concurrent()),
            max_nanos: self.slot.max(),
        }
    }
}

impl core::fmt::Debug for FunctionDescriptor {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FunctionDescriptor")
            .field("name", &self.name)
            .field("module", &self.module)
            .field("objective", &self.objective)
            .field("bounds", &self.bounds)
            .field("track_concurrency", &self.track_concurrency)
            .finish_non_exhaustive()
    }
}
