//! The link-time registry: one read-only [`FunctionDescriptor`] per instrumented function,
//! gathered by the linker into one slice, and the program's `build_info` and service name.
//!
//! `#[picometrics]` places each descriptor in a [`linkme`] distributed slice. There is no
//! runtime registration and no constructor to run (which is why `inventory` is not used:
//! cortex-m-rt never runs constructors), so every function is in the registry — and in the
//! first scrape, at zero — before it is ever called.
//!
//! On bare metal the slice must be placed in FLASH by `picometrics.x` (see the crate docs).
//!
//! Caveat shared with every linker-section registry: a function in a library crate whose
//! object file the final link drops entirely (nothing else in it is used) is not registered.
//!
//! The registry is a [`Source`] of the exposition model: [`Registry`] for every function,
//! [`Registry::of`] for a chosen set.

use crate::build_info::BuildInfo;
use crate::descriptor::FunctionDescriptor;
use crate::model::{Build, Format, FunctionSeries, MetricSeries, MetricsWriter, Source};
use core::fmt;

/// The distributed slice every `#[picometrics]` function is registered in.
#[doc(hidden)]
#[linkme::distributed_slice]
pub static PICOMETRICS_FUNCTIONS: [FunctionDescriptor];

/// The distributed slice every `#[picometrics::metric]` static is registered in.
#[doc(hidden)]
#[cfg(not(loom))]
#[linkme::distributed_slice]
pub static PICOMETRICS_METRICS: [crate::metrics::MetricDescriptor];

/// Every user metric (`#[picometrics::metric]`) linked into this program, in link order.
#[cfg(not(loom))]
pub fn metrics() -> &'static [crate::metrics::MetricDescriptor] {
    &PICOMETRICS_METRICS
}

/// Every instrumented function linked into this program, in link order.
pub fn functions() -> &'static [FunctionDescriptor] {
    &PICOMETRICS_FUNCTIONS
}

/// The registered function with this `function` and `module` label, if any.
pub fn find(name: &str, module: &str) -> Option<&'static FunctionDescriptor> {
    functions().iter().find(|f| f.name == name && f.module == module)
}

/// Reported when no instrumented function is linked at all.
static EMPTY: BuildInfo =
    BuildInfo { version: "", commit: "", branch: "", service_name: "", repository_url: "", is_binary: false };

/// The program's build facts: those of an instrumented function defined in the binary crate
/// if there is one, else those of the first registered function.
pub fn build_info() -> &'static BuildInfo {
    // On hosts, found once: a scan of every descriptor per render was a tenth of what an
    // unchanged scrape of 100 functions cost (the exporter's cache). Firmware scans (one
    // dump now and then, no `OnceLock`, no RAM spent).
    #[cfg(feature = "std")]
    {
        extern crate std;
        static FOUND: std::sync::OnceLock<&'static BuildInfo> = std::sync::OnceLock::new();
        FOUND.get_or_init(find_build_info)
    }
    #[cfg(not(feature = "std"))]
    find_build_info()
}

/// The binary's `build_info`: the descriptor its crate marked, else the first one's.
fn find_build_info() -> &'static BuildInfo {
    let all = functions();
    all.iter().find(|f| f.build.is_binary).or_else(|| all.first()).map_or(&EMPTY, |f| f.build)
}

/// The `service_name` label: the runtime override (std: `PICOMETRICS_SERVICE_NAME`, then
/// `AUTOMETRICS_SERVICE_NAME`, then `OTEL_SERVICE_NAME`), else the compile-time one.
pub fn service_name() -> &'static str {
    #[cfg(feature = "std")]
    if let Some(name) = crate::build_info::runtime_service_name() {
        return name;
    }
    build_info().service_name
}

/// The program's `build_info` labels as the exposition model has them.
pub(crate) fn build() -> Build<'static> {
    let b = build_info();
    Build {
        version: b.version,
        commit: b.commit,
        branch: b.branch,
        service_name: service_name(),
        repository_url: b.repository_url,
        extra: None,
    }
}

/// The local registry as a [`Source`]: every registered function and the program's
/// `build_info`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Registry;

impl Registry {
    /// A chosen set of functions as a [`Source`], without `build_info`. The iterator is
    /// cloned once per metric family, so it must be cheap to clone (a slice iterator). Users
    /// call [`render_functions`](crate::render::render_functions); hidden, for the benches.
    #[doc(hidden)]
    pub fn of<'a, I>(functions: I) -> Chosen<I>
    where
        I: IntoIterator<Item = &'a FunctionDescriptor> + Clone,
    {
        Chosen(functions)
    }
}

/// A chosen set of registered functions (see [`Registry::of`]).
#[doc(hidden)]
#[derive(Clone, Debug)]
pub struct Chosen<I>(I);

/// Calls `each` with the view of each function, read now.
fn each_series<'a>(
    functions: impl IntoIterator<Item = &'a FunctionDescriptor>,
    each: &mut dyn FnMut(&FunctionSeries<'_>) -> fmt::Result,
) -> fmt::Result {
    let service = service_name();
    functions.into_iter().try_for_each(|f| f.read(service, each))
}

/// Whether any of `functions` tracks concurrency (or, with `max`, its longest call): read from
/// the descriptors, without reading a slot's counters.
fn any_tracks<'a>(functions: impl IntoIterator<Item = &'a FunctionDescriptor>, max: bool) -> bool {
    functions.into_iter().any(|f| if max { f.tracks_max() } else { f.track_concurrency })
}

impl Source for Registry {
    fn functions(&self, each: &mut dyn FnMut(&FunctionSeries<'_>) -> fmt::Result) -> fmt::Result {
        each_series(functions(), each)
    }

    fn may_track(&self, max: bool) -> bool {
        any_tracks(functions(), max)
    }

    fn metrics(&self, each: &mut dyn FnMut(&MetricSeries<'_>) -> fmt::Result) -> fmt::Result {
        #[cfg(not(loom))]
        return metrics().iter().try_for_each(|m| m.read(each));
        #[cfg(loom)]
        return {
            let _ = each;
            Ok(())
        };
    }

    fn metrics_writer(&self) -> Option<MetricsWriter> {
        /// No user metric is registered: nothing to write (and nothing linked to write it).
        fn none(_: &mut dyn fmt::Write, _: Format) -> fmt::Result {
            Ok(())
        }
        #[cfg(not(loom))]
        return Some(metrics().first().map_or(none as MetricsWriter, |m| m.hooks().write));
        #[cfg(loom)]
        return Some(none);
    }

    fn builds(&self, each: &mut dyn FnMut(&Build<'_>) -> fmt::Result) -> fmt::Result {
        each(&build())
    }
}

impl<'a, I> Source for Chosen<I>
where
    I: IntoIterator<Item = &'a FunctionDescriptor> + Clone,
{
    fn functions(&self, each: &mut dyn FnMut(&FunctionSeries<'_>) -> fmt::Result) -> fmt::Result {
        each_series(self.0.clone(), each)
    }

    fn may_track(&self, max: bool) -> bool {
        any_tracks(self.0.clone(), max)
    }

    fn builds(&self, _: &mut dyn FnMut(&Build<'_>) -> fmt::Result) -> fmt::Result {
        Ok(())
    }
}
