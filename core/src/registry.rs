//! The link-time registry: one read-only [`FunctionDescriptor`] per instrumented function,
//! gathered by the linker into one slice.
//!
//! `#[picometrics]` places each descriptor in the [`linkme`] distributed slice
//! `PICOMETRICS_FUNCTIONS`. There is no runtime registration and no constructor to run (which
//! is why `inventory` is not used: cortex-m-rt never runs constructors), so every function is
//! in the registry — and in the first scrape, at zero — before it is ever called.
//!
//! On bare metal the slice must be placed in FLASH by `picometrics.x` (see the crate docs).
//!
//! Caveat shared with every linker-section registry: a function in a library crate whose
//! object file the final link drops entirely (nothing else in it is used) is not registered.

use crate::build_info::BuildInfo;
use crate::objectives::Objective;
use crate::slot::SlotStorage;
use crate::snapshot::FunctionSnapshot;

/// Everything about an instrumented function that is fixed at compile time, plus a reference
/// to its counters. Lives in read-only memory.
pub struct FunctionDescriptor {
    /// The `function` label: the function's name, or `Type::method` for methods.
    pub name: &'static str,
    /// The `module` label: `module_path!()` where the function is defined.
    pub module: &'static str,
    /// The function's objective, if any.
    pub objective: Option<Objective>,
    /// Histogram bounds in nanoseconds.
    pub bounds: &'static [u64],
    /// Whether `function_calls_concurrent` is reported for it.
    pub track_concurrency: bool,
    /// Build information of the crate that defines it.
    pub build: &'static BuildInfo,
    slot: &'static dyn SlotStorage,
}

impl FunctionDescriptor {
    /// Describes a function; used by the code `#[picometrics]` generates.
    #[doc(hidden)]
    #[allow(clippy::too_many_arguments)]
    pub const fn new(
        name: &'static str,
        module: &'static str,
        objective: Option<Objective>,
        bounds: &'static [u64],
        track_concurrency: bool,
        build: &'static BuildInfo,
        slot: &'static dyn SlotStorage,
    ) -> Self {
        Self { name, module, objective, bounds, track_concurrency, build, slot }
    }

    /// Reads this function's counters.
    pub fn snapshot(&self) -> FunctionSnapshot {
        FunctionSnapshot {
            function: self.name,
            module: self.module,
            bounds: self.bounds,
            calls: self.slot.calls(),
            histogram: self.slot.histogram(),
            concurrent: self.track_concurrency.then(|| self.slot.concurrent()),
        }
    }

    pub(crate) fn slot(&self) -> &'static dyn SlotStorage {
        self.slot
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

/// The distributed slice every `#[picometrics]` function is registered in.
#[doc(hidden)]
#[linkme::distributed_slice]
pub static PICOMETRICS_FUNCTIONS: [FunctionDescriptor];

/// Every instrumented function linked into this program, in link order.
pub fn functions() -> &'static [FunctionDescriptor] {
    &PICOMETRICS_FUNCTIONS
}

/// The registered function with this `function` and `module` label, if any.
pub fn find(name: &str, module: &str) -> Option<&'static FunctionDescriptor> {
    functions().iter().find(|f| f.name == name && f.module == module)
}
