//! The exposition model: what every source of metrics produces and every output reads.
//!
//! A [`FunctionSeries`] is a borrowed, allocation-free view of one function's series — its
//! identity and labels, calls by caller and result, latency histogram, gauge and exemplars. A
//! [`Source`] hands out such views: the local registry does (reading each slot), a decoded device
//! dump does (the bridge), a test fixture can. One writer, [`crate::render::write`], turns any
//! source into Prometheus text 0.0.4 or OpenMetrics 1.0; the frame encoder, the `prometheus`
//! collector and the device bridge all read the same views, so no output keeps its own label
//! list or formatting.
//!
//! ```
//! use picometrics::model::{Build, FunctionSeries, Source, Totals};
//! use picometrics::render::{write, Format};
//! use core::fmt;
//!
//! /// One hand-made function, as a fixture would be.
//! struct Fixture;
//!
//! impl Source for Fixture {
//!     fn functions(&self, each: &mut dyn FnMut(&FunctionSeries<'_>) -> fmt::Result) -> fmt::Result {
//!         each(&FunctionSeries {
//!             function: "get",
//!             module: "app",
//!             service_name: "svc",
//!             bounds: &[1_000_000],
//!             counts: &[3, 1],
//!             sum_nanos: 4_000_000,
//!             root: Totals { ok: 4, error: 0 },
//!             ..FunctionSeries::EMPTY
//!         })
//!     }
//!     fn builds(&self, _: &mut dyn FnMut(&Build<'_>) -> fmt::Result) -> fmt::Result {
//!         Ok(())
//!     }
//! }
//!
//! let mut out = String::new();
//! write(&mut out, &Fixture, Format::Prometheus).unwrap();
//! assert!(out.contains(r#"function_calls_duration_seconds_bucket{function="get",module="app",service_name="svc",le="+Inf"} 4"#));
//! ```

mod source;
mod user;
mod width;

use picometrics_schema::{self as schema, label};
pub use source::{Format, MetricsWriter, Source};
pub use user::{MetricSeries, MetricValue};
pub use width::CounterWidth;

/// Ok and error totals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Totals {
    /// `result="ok"`: calls that returned normally and were not classified as errors.
    pub ok: u64,
    /// `result="error"`: calls that returned `Err` (or matched `error_if`), or panicked.
    pub error: u64,
}

impl Totals {
    /// Both results added (wrapping at 64 bits).
    pub fn sum(self) -> u64 {
        CounterWidth::U64.add(self.ok, self.error)
    }

    /// `self + other` per result, wrapping at `width`.
    pub fn add(self, other: Totals, width: CounterWidth) -> Totals {
        Totals { ok: width.add(self.ok, other.ok), error: width.add(self.error, other.error) }
    }
}

/// Calls made from one instrumented caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Caller<'a> {
    /// `caller_function`.
    pub function: &'a str,
    /// `caller_module`.
    pub module: &'a str,
    /// Its calls, by result.
    pub calls: Totals,
}

/// An objective's labels, as rendered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ObjectiveLabels<'a> {
    /// `objective_name`.
    pub name: &'a str,
    /// `objective_percentile` of the success-rate objective, if any.
    pub success_percentile: Option<&'a str>,
    /// The latency objective's threshold in nanoseconds (a bucket bound; its label text is
    /// the bucket's `le` text, written by the same formatter) and `objective_percentile`, if
    /// any. A number, not text, so a device never formats it.
    pub latency: Option<(u64, &'a str)>,
}

/// The labels of `build_info`, as reported by a process or a device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Build<'a> {
    /// `version`.
    pub version: &'a str,
    /// `commit`.
    pub commit: &'a str,
    /// `branch`.
    pub branch: &'a str,
    /// `service_name`.
    pub service_name: &'a str,
    /// `repository_url`.
    pub repository_url: &'a str,
    /// A label every series of this origin carries first, e.g. `device`; not sent in frames.
    #[cfg_attr(feature = "serde", serde(skip))]
    pub extra: Option<(&'a str, &'a str)>,
}

impl Build<'_> {
    /// Calls `f` with every label of the `build_info` series, in [`schema::BUILD_INFO_LABELS`]
    /// order (after the extra label, if any).
    pub fn for_each_label<E>(&self, mut f: impl FnMut(&str, &str) -> Result<(), E>) -> Result<(), E> {
        if let Some((name, value)) = self.extra {
            f(name, value)?;
        }
        let values = [
            self.version,
            self.commit,
            self.branch,
            self.service_name,
            self.repository_url,
            repository_provider(self.repository_url),
            schema::AUTOMETRICS_SPEC_VERSION,
        ];
        for (name, value) in schema::BUILD_INFO_LABELS.into_iter().zip(values) {
            f(name, value)?;
        }
        Ok(())
    }
}

/// `repository_provider` as autometrics derives it from the repository URL.
pub(crate) fn repository_provider(url: &str) -> &'static str {
    // A plain window scan, not `str::contains`: its two-way searcher is ~1 KB of flash in
    // firmware, for URLs of a few dozen bytes.
    let has = |needle: &str| url.as_bytes().windows(needle.len()).any(|w| w == needle.as_bytes());
    if has("github.com") {
        "github"
    } else if has("gitlab") {
        "gitlab"
    } else if has("bitbucket") {
        "bitbucket"
    } else {
        ""
    }
}

/// The trace a call belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TraceContext {
    /// The W3C trace id (16 bytes).
    pub trace_id: u128,
    /// The W3C span id (8 bytes).
    pub span_id: u64,
}

/// The latest call a histogram bucket saw, with its trace (OpenMetrics exemplars).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Exemplar {
    /// The call's trace.
    pub trace: TraceContext,
    /// The observed duration in nanoseconds.
    pub value_nanos: u64,
    /// Wall-clock time of the observation, milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
}

/// Which metric family a label set is for: each carries the objective labels of its kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// `function_calls_total`: the success-rate objective's labels.
    Calls,
    /// `function_calls_duration_seconds`: the latency objective's labels.
    Duration,
    /// `function_calls_concurrent` and `function_calls_duration_max_seconds`: no objective
    /// labels.
    Concurrent,
}

/// One function's series, borrowed from wherever they were read.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FunctionSeries<'a> {
    /// A label every series of this origin carries first, e.g. `("device", "dev-1")`.
    pub extra: Option<(&'a str, &'a str)>,
    /// `function` (`Type::method` for methods).
    pub function: &'a str,
    /// `module`.
    pub module: &'a str,
    /// `service_name`.
    pub service_name: &'a str,
    /// The objective's labels, if the function has one.
    pub objective: Option<ObjectiveLabels<'a>>,
    /// Histogram bounds in nanoseconds, increasing.
    pub bounds: &'a [u64],
    /// Per-bucket (not cumulative) counts: one per bound, then `+Inf`.
    pub counts: &'a [u64],
    /// The width of the counters these values were read from (32 on targets without 64-bit
    /// atomics, else 64): sums of them wrap at this width, as each of them does, so a wrap
    /// reads as one counter reset rather than as an invented increase.
    pub counter_bits: u32,
    /// Sum of observed durations in nanoseconds.
    pub sum_nanos: u64,
    /// Calls from code that is not instrumented (empty caller labels).
    pub root: Totals,
    /// Calls from each instrumented caller that claimed an edge.
    pub callers: &'a [Caller<'a>],
    /// Calls from instrumented callers that found every edge taken.
    pub overflow: Totals,
    /// `function_calls_concurrent`, for functions that track it.
    pub concurrent: Option<u64>,
    /// The longest call since start in nanoseconds (`function_calls_duration_max_seconds`),
    /// for functions with `track_max`. Saturates at the counter width (4.29 s where counters
    /// are 32-bit).
    pub max_nanos: Option<u64>,
    /// The latest exemplar per bucket (same indices as `counts`), or empty.
    pub exemplars: &'a [Option<Exemplar>],
}

impl<'a> FunctionSeries<'a> {
    /// No labels, no calls: a base for `..FunctionSeries::EMPTY` in fixtures.
    pub const EMPTY: FunctionSeries<'static> = FunctionSeries {
        extra: None,
        function: "",
        module: "",
        service_name: "",
        objective: None,
        bounds: &[],
        counts: &[0],
        counter_bits: 64,
        sum_nanos: 0,
        root: Totals { ok: 0, error: 0 },
        callers: &[],
        overflow: Totals { ok: 0, error: 0 },
        concurrent: None,
        max_nanos: None,
        exemplars: &[],
    };

    /// Calls `f` with the labels of this function's series of `family`, in output order:
    /// the extra label, `function`, `module`, `service_name`, then the objective's.
    pub fn for_each_label<E>(
        &self,
        family: Family,
        mut f: impl FnMut(&str, &str) -> Result<(), E>,
    ) -> Result<(), E> {
        if let Some((name, value)) = self.extra {
            f(name, value)?;
        }
        for (name, value) in
            schema::FUNCTION_LABELS.into_iter().zip([self.function, self.module, self.service_name])
        {
            f(name, value)?;
        }
        let Some(o) = self.objective else { return Ok(()) };
        let (percentile, threshold) = match family {
            Family::Calls => match o.success_percentile {
                Some(p) => (p, None),
                None => return Ok(()),
            },
            Family::Duration => match o.latency {
                Some((threshold, p)) => (p, Some(threshold)),
                None => return Ok(()),
            },
            Family::Concurrent => return Ok(()),
        };
        f(label::OBJECTIVE_NAME, o.name)?;
        f(label::OBJECTIVE_PERCENTILE, percentile)?;
        match threshold {
            Some(nanos) => {
                let mut text = heapless::String::<24>::new();
                // Cannot fail: the longest text (u64::MAX ns) is 21 bytes.
                let _ = crate::format::write_seconds(&mut text, nanos);
                f(label::OBJECTIVE_LATENCY_THRESHOLD, &text)
            }
            None => Ok(()),
        }
    }

    /// Calls `f` with each `(caller_function, caller_module, totals)` of `function_calls_total`:
    /// uninstrumented callers (empty labels), each caller edge, then the overflow if any call
    /// reached it.
    pub fn for_each_caller<E>(
        &self,
        mut f: impl FnMut(&str, &str, Totals) -> Result<(), E>,
    ) -> Result<(), E> {
        f("", "", self.root)?;
        for c in self.callers {
            f(c.function, c.module, c.calls)?;
        }
        if self.overflow != Totals::default() {
            f(schema::OVERFLOW_CALLER, "", self.overflow)?;
        }
        Ok(())
    }

    /// Calls `f` with each sample of `function_calls_total` beyond the function's own labels:
    /// its [`schema::CALL_LABELS`] (`caller_function`, `caller_module`, `result`) with their
    /// values, and its count — ok then error for every caller [`Self::for_each_caller`] yields.
    /// The outputs that build series from pairs (the collector, remote write, OTLP) walk this.
    pub fn for_each_call<E>(
        &self,
        mut f: impl FnMut([(&str, &str); 3], u64) -> Result<(), E>,
    ) -> Result<(), E> {
        self.for_each_caller(|function, module, totals| {
            for (result, value) in [(schema::RESULT_OK, totals.ok), (schema::RESULT_ERROR, totals.error)] {
                let [caller_function, caller_module, result_label] = schema::CALL_LABELS;
                f([(caller_function, function), (caller_module, module), (result_label, result)], value)?;
            }
            Ok(())
        })
    }

    /// The source's counter width (64 where `counter_bits` is out of range).
    pub fn width(&self) -> CounterWidth {
        CounterWidth::of(self.counter_bits)
    }

    /// Cumulative bucket counts, one per bucket, `+Inf` last, summed at the counter width.
    pub fn cumulative(&self) -> impl Iterator<Item = u64> + '_ {
        self.width().running(self.counts.iter().copied())
    }

    /// Number of observations (the `+Inf` cumulative count), at the counter width.
    pub fn count(&self) -> u64 {
        self.width().sum(self.counts.iter().copied())
    }

    /// Every call, whatever the caller, at the counter width.
    pub fn total(&self) -> Totals {
        let calls = self.callers.iter().map(|c| c.calls).chain([self.overflow]);
        calls.fold(self.root, |t, c| t.add(c, self.width()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::fmt::Write;

    #[test]
    fn counter_sums_wrap_at_their_width() {
        let w32 = CounterWidth::new(32).unwrap();
        assert_eq!(w32.max(), u64::from(u32::MAX));
        assert_eq!(w32.add(u64::from(u32::MAX), 2), 1, "wraps like a u32 counter");
        assert_eq!(CounterWidth::U64.add(u64::MAX, 2), 1);
        assert_eq!(w32.sum([u64::from(u32::MAX), 1, 5]), 5);
        let running: heapless::Vec<u64, 3> = w32.running([u64::from(u32::MAX), 1, 5]).collect();
        assert_eq!(running, [u64::from(u32::MAX), 0, 5]);
        // Received counts must fit without wrapping.
        assert_eq!(w32.checked_sum([1, 2, 3]), Some(6));
        assert_eq!(w32.checked_sum([u64::from(u32::MAX), 1]), None);
        assert!(!w32.fit(1 << 32) && w32.fit(u64::from(u32::MAX)));
        assert_eq!((CounterWidth::new(0), CounterWidth::new(65)), (None, None));
        let t = Totals { ok: u64::from(u32::MAX), error: 1 }.add(Totals { ok: 1, error: 1 }, w32);
        assert_eq!(t, Totals { ok: 0, error: 2 });
    }

    #[test]
    fn providers_follow_autometrics() {
        assert_eq!(repository_provider("https://github.com/o/r"), "github");
        assert_eq!(repository_provider("git@gitlab.example.org:o/r.git"), "gitlab");
        assert_eq!(repository_provider("https://bitbucket.org/o/r"), "bitbucket");
        assert_eq!(repository_provider("https://git.sr.ht/~o/r"), "");
        assert_eq!(repository_provider(""), "");
        assert_eq!(repository_provider("github"), "", "the host, not the word");
    }

    #[test]
    fn labels_follow_the_family() {
        let s = FunctionSeries {
            extra: Some(("device", "d")),
            function: "f",
            module: "m",
            service_name: "s",
            objective: Some(ObjectiveLabels {
                name: "api",
                success_percentile: Some("99.9"),
                latency: Some((250_000_000, "99")),
            }),
            ..FunctionSeries::EMPTY
        };
        let text = |family| {
            let mut out = heapless::String::<256>::new();
            s.for_each_label(family, |name, value| write!(out, "{name}={value};")).unwrap();
            out
        };
        let identity = "device=d;function=f;module=m;service_name=s;";
        let calls = text(Family::Calls);
        assert_eq!(calls.strip_prefix(identity), Some("objective_name=api;objective_percentile=99.9;"));
        let duration = text(Family::Duration);
        assert_eq!(
            duration.strip_prefix(identity),
            Some("objective_name=api;objective_percentile=99;objective_latency_threshold=0.25;")
        );
        assert_eq!(text(Family::Concurrent), identity);
    }
}
