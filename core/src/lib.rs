//! # picometrics
//!
//! Production metrics for any function with one attribute — call rate, error rate, latency
//! histogram, concurrency and caller — on a server *and* on a microcontroller with no heap.
//!
//! `#[picometrics]` gives each function a `static` slot of atomic counters and registers a
//! read-only descriptor of it at link time, so there is no registration call, no lock and no
//! allocation, and [`render_prometheus`] writes the autometrics metric names
//! (`function_calls_total`, `function_calls_duration_seconds`, `function_calls_concurrent`,
//! `build_info`) into any [`core::fmt::Write`]. Existing autometrics dashboards and alert rules
//! work unchanged.
//!
//! ```
//! use picometrics::objectives::{Objective, ObjectiveLatency, ObjectivePercentile};
//! use picometrics::picometrics;
//!
//! const API_SLO: Objective = Objective::new("api")
//!     .success_rate(ObjectivePercentile::P99_9)
//!     .latency(ObjectiveLatency::Ms250, ObjectivePercentile::P99);
//!
//! #[derive(Debug)]
//! struct NameTaken;
//!
//! #[picometrics(objective = API_SLO, track_concurrency)]
//! fn create_user(name: &str) -> Result<u32, NameTaken> {
//!     if name == "root" { Err(NameTaken) } else { Ok(7) }
//! }
//!
//! struct Database;
//!
//! #[picometrics] // every method, reported as `Database::method`
//! impl Database {
//!     fn get(&self, id: u32) -> Option<u32> { Some(id) }
//! }
//!
//! create_user("ada").unwrap();
//! assert!(create_user("root").is_err());
//! Database.get(1);
//!
//! let mut out = heapless::String::<16384>::new();
//! picometrics::render_prometheus(&mut out).unwrap();
//! assert!(out.contains(r#"function_calls_total{function="create_user""#));
//! assert!(out.contains(r#"function="Database::get""#));
//! ```
//!
//! ## Features
//!
//! Listed from `Cargo.toml`, where each is documented once.
//!
#![doc = document_features::document_features!()]
//!
//! ## What is public
//!
//! The attribute, [`clock!`], [`objectives`], [`buckets`], [`snapshot`]s and the exposition
//! [`model`], the one writer in [`render`], [`report`], `frame`s (feature `frames`), and [`registry`]
//! iteration. Names come from [`schema`]. Everything the generated code needs is in a hidden
//! versioned module.
//!
//! Without `std` or `embassy-time`, name the firmware's tick source once with [`clock!`].
//!
//! ## Bare metal
//!
//! * Link `picometrics.x` after cortex-m-rt's `link.x` (`-C link-arg=-Tpicometrics.x`): it
//!   keeps the registry in FLASH. The build script puts it on the linker search path.
//! * On targets without 64-bit atomics the histogram sum (64-bit nanoseconds) is added inside
//!   `critical_section::with`, and on targets without atomic read-modify-write (thumbv6m) every
//!   counter is; link an implementation (e.g. cortex-m's `critical-section-single-core`
//!   feature).
//! * Counters are 32-bit where the target lacks 64-bit atomics (they wrap; snapshots widen
//!   them to `u64`); a slot with the default 14 buckets takes 128 bytes of RAM there.
#![no_std]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

#[cfg(feature = "std")]
extern crate std;

// Module graph (no circle): schema ← model ← snapshot ← descriptor ← slot, registry ← render,
// report, frame; call ← caller ← registry. `sync` and `counter` are leaves under `slot`.
pub mod buckets;
pub mod build_info;
mod call;
mod caller;
mod checks;
pub mod clock;
mod counter;
mod descriptor;
#[cfg(feature = "exemplars")]
pub mod exemplars;
mod format;
#[cfg(feature = "frames")]
pub mod frame;
mod line;
#[cfg(not(loom))]
pub mod metrics;
pub mod model;
pub mod objectives;
pub mod periodic;
#[cfg(all(feature = "persist", not(loom)))]
pub mod persist;
pub mod queries;
pub mod registry;
pub mod render;
pub mod report;
mod result_labels;
mod slot;
pub mod snapshot;
mod sync;

pub use descriptor::FunctionDescriptor;
pub use objectives::{Objective, ObjectiveLatency, ObjectivePercentile};
pub use picometrics_macros::{metric, picometrics, ResultLabels};
/// The exposition schema: metric and label names, HELP text, query templates, limits.
pub use picometrics_schema as schema;
pub use queries::Queries;
pub use registry::functions;
pub use render::{render_openmetrics, render_prometheus};
pub use result_labels::ResultLabels;

/// Declares a static whose memory survives a warm reset with feature `persist` on bare metal
/// (in cortex-m-rt's `.uninit`, which startup code does not zero; see [`persist`]), else an
/// ordinary static. Every slot and user metric goes through it. Not a public API.
#[cfg(all(feature = "persist", target_os = "none"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __persistent_v1 {
    ($(#[$m:meta])* $vis:vis static $name:ident: $ty:ty = $init:expr;) => {
        $(#[$m])*
        // Not zeroed at start-up: `persist::boot` validates or clears it before first use. Only
        // atomics and integers live here (any bit pattern is a value; see `persist`).
        #[link_section = ".uninit.picometrics"]
        $vis static $name: $ty = $init;
    };
}

/// Declares a static whose memory survives a warm reset with feature `persist` on bare metal;
/// here, an ordinary static. Not a public API.
#[cfg(not(all(feature = "persist", target_os = "none")))]
#[doc(hidden)]
#[macro_export]
macro_rules! __persistent_v1 {
    ($(#[$m:meta])* $vis:vis static $name:ident: $ty:ty = $init:expr;) => {
        $(#[$m])*
        $vis static $name: $ty = $init;
    };
}

/// Used by the code `#[picometrics]` generates. Not a public API. Versioned so a macro crate
/// and library crate that disagree fail to compile with an unresolved `__private_v1` path
/// rather than misbehave.
#[doc(hidden)]
pub mod __private_v1 {
    pub use crate::__persistent_v1 as persistent;

    /// What every metric descriptor points at: the writers of user metrics, here at the crate
    /// root because it sits above them (see `metrics::Hooks`).
    #[cfg(not(loom))]
    pub static METRIC_HOOKS: crate::metrics::Hooks = crate::metrics::Hooks {
        write: |w, format| crate::render::write_metrics(w, &crate::registry::Registry, format),
        #[cfg(feature = "frames")]
        encode: crate::frame::encode_metric,
    };
    pub use crate::call::{
        classify_with, run, AsyncCallGuard, Branch, CallGuard, CallSite, Cancelled, Classify, ClassifyLabels,
        ClassifyOther, ClassifyResult, FromResidual, WithCaller,
    };
    pub use crate::caller::{current as current_caller, CallerScope};
    pub use crate::checks::{check_bounds, check_objective};
    pub use crate::clock::Wraps;
    pub use crate::counter::{Counter, CounterValue, Sum};
    pub use crate::descriptor::{FunctionDescriptor, SlotStorage};
    /// The exemplar seqlock, for its loom model check.
    #[cfg(all(loom, feature = "exemplars"))]
    pub use crate::exemplars::ExemplarCell;
    #[cfg(not(loom))]
    pub use crate::metrics::{check as check_metric, MetricDescriptor};
    pub use crate::registry::PICOMETRICS_FUNCTIONS;
    #[cfg(not(loom))]
    pub use crate::registry::PICOMETRICS_METRICS;
    pub use crate::slot::{bucket_index, FunctionSlot, MaxCell, NoMax, TrackMax, DEFAULT_CALLERS};
    pub use crate::{buckets, build_info::BuildInfo, objectives, queries::Queries};
    pub use core;
    pub use core::ops::ControlFlow;
    pub use linkme;

    /// The writers of the bridge and the exporters: one family at a time, headers and samples
    /// of their own, label values escaped, seconds formatted as every output does.
    pub mod render {
        pub use crate::format::write_seconds;
        pub use crate::render::series::{write_part, write_tail, FunctionLines, Part};
        pub use crate::render::text::{write_escaped, write_header, write_sample};
        pub use crate::render::user::{
            write_family_header, write_metric_header, write_metric_samples, write_metrics,
        };
    }
}
