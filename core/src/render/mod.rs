//! The one writer: any [`Source`] of the exposition model as Prometheus text 0.0.4 or
//! OpenMetrics 1.0 text, into any [`core::fmt::Write`], without allocating.
//!
//! ```
//! let mut out = heapless::String::<8192>::new();
//! picometrics::render_prometheus(&mut out).unwrap();
//! assert!(out.contains("# TYPE build_info gauge"));
//! ```
//!
//! Every path that produces text goes through [`write()`]: the local registry
//! ([`render_prometheus`], [`render_openmetrics`]), the device bridge (each device's decoded
//! dump) and tests (fixtures).

// The writers beyond `write` serve the bridge and the exporters (family by family, headers and
// samples of their own): public through `__private_v1::render` only.
pub(crate) mod series;
pub(crate) mod text;
pub(crate) mod user;

use crate::descriptor::FunctionDescriptor;
use crate::format::write_seconds;
use crate::model::Source;
use crate::registry::Registry;
use core::fmt::{self, Write};
use picometrics_schema::{self as schema, Metric};

pub use crate::model::Format;
use series::{write_part, write_tail, Part};
use text::{write_header, write_sample};
pub(crate) use user::write_metrics;

/// Writes every registered function's metrics and `build_info` as Prometheus text (format
/// 0.0.4) into `w`.
///
/// Never allocates. Fails only if `w` fails (for a fixed buffer: it is too small). Each
/// histogram is read once, so `+Inf` equals `_count` and buckets are cumulative in every
/// output even while other threads or interrupts record calls.
pub fn render_prometheus<W: Write + ?Sized>(w: &mut W) -> fmt::Result {
    write(w, &Registry, Format::Prometheus)
}

/// Writes the same metrics as [`render_prometheus`] in OpenMetrics 1.0 text format: the
/// counter family is named `function_calls` (its samples stay `function_calls_total`),
/// exemplars are written where recorded, and the output ends with `# EOF`.
pub fn render_openmetrics<W: Write + ?Sized>(w: &mut W) -> fmt::Result {
    write(w, &Registry, Format::OpenMetrics)
}

/// Like [`render_prometheus`], for a chosen set of functions and without `build_info`.
///
/// `functions` is walked once per metric family, so it must be cheap to clone
/// (`&[FunctionDescriptor]`, or an iterator over `&FunctionDescriptor`s).
pub fn render_functions<'a, W, I>(w: &mut W, functions: I) -> fmt::Result
where
    W: Write + ?Sized,
    I: IntoIterator<Item = &'a FunctionDescriptor> + Clone,
{
    write(w, &Registry::of(functions), Format::Prometheus)
}

/// Writes every series of `source` in `format`: `function_calls_total`,
/// `function_calls_duration_seconds`, `function_calls_concurrent` and
/// `function_calls_duration_max_seconds` (if any function tracks them) and `build_info` (if the source has one), each family under its `# HELP` and `# TYPE`.
///
/// Each function's labels are escaped once and repeated from a stack buffer, and the end of
/// each line reaches `w` in a single `write_str`: rendering costs about one copy of the
/// output plus integer formatting.
pub fn write<W, S>(w: &mut W, source: &S, format: Format) -> fmt::Result
where
    W: Write + ?Sized,
    S: Source + ?Sized,
{
    for part in Part::FUNCTIONS {
        // A family no function reports costs no pass over the functions.
        match part {
            Part::Concurrent if !source.may_track(false) => continue,
            Part::DurationMax if !source.may_track(true) => continue,
            _ => {}
        }
        let mut w = Declared { w: &mut *w, pending: Some((part.metric(), format)) };
        if part.always_declared() {
            w.declare()?;
        }
        write_part(&mut w, source, part, format)?;
    }
    write_tail(w, source, format)
}

/// The number and uptime of a periodic dump ([`crate::periodic`]) as the two gauges
/// `picometrics_dump_number` and `picometrics_uptime_seconds`, for text dumps (write them after
/// [`write()`] in Prometheus format; in OpenMetrics, before its `# EOF`).
pub fn write_dump_info<W: Write + ?Sized>(
    w: &mut W,
    info: crate::periodic::DumpInfo,
    format: Format,
) -> fmt::Result {
    write_header(w, &schema::DUMP_NUMBER, format)?;
    write_sample(w, schema::DUMP_NUMBER.name, &[], u64::from(info.seq))?;
    write_header(w, &schema::UPTIME, format)?;
    w.write_str(schema::UPTIME.name)?;
    w.write_str(" ")?;
    write_seconds(w, info.uptime_nanos)?;
    w.write_str("\n")
}

/// A writer that puts a family's `# HELP`/`# TYPE` lines before its first sample.
struct Declared<'w, W: ?Sized> {
    w: &'w mut W,
    pending: Option<(&'static Metric, Format)>,
}

impl<W: Write + ?Sized> Declared<'_, W> {
    fn declare(&mut self) -> fmt::Result {
        match self.pending.take() {
            Some((metric, format)) => write_header(self.w, metric, format),
            None => Ok(()),
        }
    }
}

impl<W: Write + ?Sized> Write for Declared<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.declare()?;
        self.w.write_str(s)
    }
}

/// A `?Sized` writer as a `dyn Write`.
struct WriteAdapter<'w, W: ?Sized>(&'w mut W);

impl<W: Write + ?Sized> Write for WriteAdapter<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.write_str(s)
    }
}

#[cfg(test)]
mod tests {
    use super::text::{needs_escaping, write_escaped};
    use super::*;
    use crate::model::{Build, FunctionSeries, Totals};

    #[test]
    fn finds_every_special_byte_at_every_position() {
        for len in 0..20 {
            let plain = [b'a'; 20];
            assert!(!needs_escaping(&plain[..len]));
            for at in 0..len {
                for special in [b'\\', b'"', b'\n'] {
                    let mut bytes = plain;
                    bytes[at] = special;
                    assert!(needs_escaping(&bytes[..len]), "{special} at {at} of {len}");
                }
                // Bytes next to the special ones in value do not count.
                for near in [b'[', b'!', b'#', b'\x0b', b'\t', 0x80, 0xff, 0] {
                    let mut bytes = plain;
                    bytes[at] = near;
                    assert!(!needs_escaping(&bytes[..len]));
                }
            }
        }
    }

    #[test]
    fn escapes_label_values() {
        let mut s = heapless::String::<64>::new();
        write_escaped(&mut s, "a\\b\"c\nd").unwrap();
        assert_eq!(s, "a\\\\b\\\"c\\nd");
        s.clear();
        write_escaped(&mut s, "plain").unwrap();
        assert_eq!(s, "plain");
    }

    struct Fixture;

    impl Source for Fixture {
        fn functions(&self, each: &mut dyn FnMut(&FunctionSeries<'_>) -> fmt::Result) -> fmt::Result {
            each(&FunctionSeries {
                extra: Some(("device", "d\"1")),
                function: "f",
                module: "m",
                service_name: "s",
                bounds: &[5_000_000],
                counts: &[2, 1],
                sum_nanos: 1_500_000_000,
                root: Totals { ok: 2, error: 1 },
                concurrent: Some(0),
                ..FunctionSeries::EMPTY
            })
        }

        fn builds(&self, each: &mut dyn FnMut(&Build<'_>) -> fmt::Result) -> fmt::Result {
            each(&Build {
                version: "1",
                commit: "c",
                branch: "b",
                service_name: "s",
                repository_url: "https://github.com/o/r",
                extra: Some(("device", "d\"1")),
            })
        }
    }

    /// Every line of a fixture, exactly (registry-free: runs under Miri too).
    #[test]
    fn writes_a_fixture_exactly() {
        let mut s = heapless::String::<4096>::new();
        write(&mut s, &Fixture, Format::OpenMetrics).unwrap();
        let l = r#"device="d\"1",function="f",module="m",service_name="s""#;
        let expected = [
            "# HELP function_calls Autometrics counter for tracking function calls",
            "# TYPE function_calls counter",
            &format_args_to::<256>(format_args!(
                r#"function_calls_total{{{l},caller_function="",caller_module="",result="ok"}} 2"#
            )),
            &format_args_to::<256>(format_args!(
                r#"function_calls_total{{{l},caller_function="",caller_module="",result="error"}} 1"#
            )),
            "# HELP function_calls_duration_seconds Autometrics histogram for tracking function call duration",
            "# TYPE function_calls_duration_seconds histogram",
            &format_args_to::<256>(format_args!(r#"function_calls_duration_seconds_bucket{{{l},le="0.005"}} 2"#)),
            &format_args_to::<256>(format_args!(r#"function_calls_duration_seconds_bucket{{{l},le="+Inf"}} 3"#)),
            &format_args_to::<256>(format_args!(r#"function_calls_duration_seconds_sum{{{l}}} 1.5"#)),
            &format_args_to::<256>(format_args!(r#"function_calls_duration_seconds_count{{{l}}} 3"#)),
            "# HELP function_calls_concurrent Autometrics gauge for tracking function call concurrency",
            "# TYPE function_calls_concurrent gauge",
            &format_args_to::<256>(format_args!(r#"function_calls_concurrent{{{l}}} 0"#)),
            "# HELP build_info Autometrics info metric for tracking software version and build details",
            "# TYPE build_info gauge",
            r#"build_info{device="d\"1",version="1",commit="c",branch="b",service_name="s",repository_url="https://github.com/o/r",repository_provider="github",autometrics_version="1.0.0"} 1"#,
            "# EOF",
        ];
        for (got, want) in s.lines().zip(expected) {
            assert_eq!(got, want);
        }
        assert_eq!(s.lines().count(), expected.len());
    }

    /// Labels too long for a stack line are written piece by piece: the same text, whichever
    /// part is long (the function's labels, or only a caller's).
    #[cfg(feature = "std")]
    #[test]
    fn long_labels_render_the_same_text() {
        use crate::model::Caller;
        use std::string::String;
        struct Named<'a>(&'a str, &'a str);
        impl Source for Named<'_> {
            fn functions(&self, each: &mut dyn FnMut(&FunctionSeries<'_>) -> fmt::Result) -> fmt::Result {
                each(&FunctionSeries {
                    function: self.0,
                    module: "m\"q",
                    service_name: "s",
                    bounds: &[5_000_000, 10_000_000],
                    counts: &[2, 1, 4],
                    sum_nanos: 1_500_000_000,
                    root: Totals { ok: 2, error: 1 },
                    callers: &[Caller { function: self.1, module: "cm", calls: Totals { ok: 4, error: 0 } }],
                    concurrent: Some(3),
                    max_nanos: Some(7),
                    ..FunctionSeries::EMPTY
                })
            }

            fn builds(&self, _: &mut dyn FnMut(&Build<'_>) -> fmt::Result) -> fmt::Result {
                Ok(())
            }
        }
        let long = "ƒ\\\"".repeat(200);
        let render = |source: &Named| {
            let mut s = String::new();
            write(&mut s, source, Format::OpenMetrics).unwrap();
            s
        };
        let short = render(&Named("f", "c"));
        assert_eq!(short.lines().count(), 20);
        let escaped_long = "ƒ\\\\\\\"".repeat(200);
        assert_eq!(render(&Named(&long, "c")).replace(&escaped_long, "f"), short);
        assert_eq!(render(&Named("f", &long)).replace(&escaped_long, "c"), short);
    }

    fn format_args_to<const N: usize>(args: fmt::Arguments<'_>) -> heapless::String<N> {
        let mut s = heapless::String::new();
        s.write_fmt(args).unwrap();
        s
    }
}
