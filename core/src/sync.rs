//! The atomics the core is built on: portable-atomic's, or loom's under `cfg(loom)`, so the
//! lock-free protocols are model-checked as written (`core/tests/loom.rs`).

// Each target uses one of AtomicU32 / AtomicU64 for its counters.
#[cfg(loom)]
#[allow(unused_imports)]
pub(crate) use loom::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64};
#[cfg(not(loom))]
#[allow(unused_imports)]
pub(crate) use portable_atomic::{AtomicPtr, AtomicU32};
// Only where counters are 64-bit: thumbv7em has no `AtomicU64` (without portable-atomic's lock
// table, which the core does not enable).
#[cfg(all(not(loom), picometrics_wide))]
pub(crate) use portable_atomic::AtomicU64;
pub(crate) use portable_atomic::Ordering;

/// A `const fn` normally; a plain `fn` under loom, whose atomics cannot be built in constants
/// (loom tests build slots at run time instead of in statics).
macro_rules! loom_const_fn {
    ($(#[$attr:meta])* $vis:vis fn $($rest:tt)*) => {
        #[cfg(not(loom))]
        $(#[$attr])*
        $vis const fn $($rest)*
        #[cfg(loom)]
        $(#[$attr])*
        $vis fn $($rest)*
    };
}
pub(crate) use loom_const_fn;
