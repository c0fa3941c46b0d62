//! Prometheus text exposition format 0.0.4, written into any [`core::fmt::Write`].
//!
//! ```
//! let mut out = heapless::String::<8192>::new();
//! picometrics::render_prometheus(&mut out).unwrap();
//! assert!(out.contains("# TYPE build_info gauge"));
//! ```

use crate::buckets::write_seconds;
use crate::build_info::{build_info, repository_provider, service_name};
use crate::registry::{functions, FunctionDescriptor};
use crate::snapshot::ResultTotals;
use core::fmt::{self, Write};

/// The `autometrics_version` label: the version of the autometrics metrics specification these
/// names and labels follow.
pub const AUTOMETRICS_SPEC_VERSION: &str = "1.0.0";

/// `caller_function` of calls from instrumented callers that found every caller edge taken.
pub const OVERFLOW_CALLER: &str = "(overflow)";

/// Writes every registered function's metrics and `build_info` as Prometheus text (format
/// 0.0.4) into `w`.
///
/// Never allocates. Fails only if `w` fails (for a fixed buffer: it is too small). Each
/// histogram is read once, so `+Inf` equals `_count` and buckets are cumulative in every
/// output even while other threads or interrupts record calls.
pub fn render_prometheus<W: Write + ?Sized>(w: &mut W) -> fmt::Result {
    render_functions(w, functions())?;
    write_build_info(w)
}

/// Like [`render_prometheus`], for a chosen set of functions and without `build_info`.
pub fn render_functions<W: Write + ?Sized>(w: &mut W, functions: &[FunctionDescriptor]) -> fmt::Result {
    let service = service_name();

    w.write_str(
        "# HELP function_calls_total Autometrics counter for tracking function calls\n\
         # TYPE function_calls_total counter\n",
    )?;
    for f in functions {
        let calls = f.slot().calls();
        write_calls(w, f, service, "", "", calls.root)?;
        for edge in &calls.callers {
            write_calls(w, f, service, edge.function, edge.module, edge.calls)?;
        }
        if calls.overflow != ResultTotals::default() {
            write_calls(w, f, service, OVERFLOW_CALLER, "", calls.overflow)?;
        }
    }

    w.write_str(
        "# HELP function_calls_duration_seconds Autometrics histogram for tracking function call duration\n\
         # TYPE function_calls_duration_seconds histogram\n",
    )?;
    for f in functions {
        write_histogram(w, f, service)?;
    }

    if functions.iter().any(|f| f.track_concurrency) {
        w.write_str(
            "# HELP function_calls_concurrent Autometrics gauge for tracking function call concurrency\n\
             # TYPE function_calls_concurrent gauge\n",
        )?;
        for f in functions.iter().filter(|f| f.track_concurrency) {
            w.write_str("function_calls_concurrent{")?;
            write_function_labels(w, f, service)?;
            writeln!(w, "}} {}", f.slot().concurrent())?;
        }
    }
    Ok(())
}

fn write_build_info<W: Write + ?Sized>(w: &mut W) -> fmt::Result {
    let b = build_info();
    w.write_str(
        "# HELP build_info Autometrics info metric for tracking software version and build details\n\
         # TYPE build_info gauge\n",
    )?;
    writeln!(
        w,
        "build_info{{version=\"{}\",commit=\"{}\",branch=\"{}\",service_name=\"{}\",repository_url=\"{}\",repository_provider=\"{}\",autometrics_version=\"{}\"}} 1",
        Escaped(b.version),
        Escaped(b.commit),
        Escaped(b.branch),
        Escaped(service_name()),
        Escaped(b.repository_url),
        repository_provider(b.repository_url),
        AUTOMETRICS_SPEC_VERSION,
    )
}

fn write_function_labels<W: Write + ?Sized>(w: &mut W, f: &FunctionDescriptor, service: &str) -> fmt::Result {
    write!(
        w,
        "function=\"{}\",module=\"{}\",service_name=\"{}\"",
        Escaped(f.name),
        Escaped(f.module),
        Escaped(service)
    )
}

fn write_calls<W: Write + ?Sized>(
    w: &mut W,
    f: &FunctionDescriptor,
    service: &str,
    caller_function: &str,
    caller_module: &str,
    totals: ResultTotals,
) -> fmt::Result {
    for (result, value) in [("ok", totals.ok), ("error", totals.error)] {
        w.write_str("function_calls_total{")?;
        write_function_labels(w, f, service)?;
        write!(
            w,
            ",caller_function=\"{}\",caller_module=\"{}\",result=\"{result}\"",
            Escaped(caller_function),
            Escaped(caller_module)
        )?;
        if let Some(objective) = &f.objective {
            if let Some(percentile) = objective.success_rate {
                write!(
                    w,
                    ",objective_name=\"{}\",objective_percentile=\"{}\"",
                    Escaped(objective.name),
                    percentile.as_str()
                )?;
            }
        }
        writeln!(w, "}} {value}")?;
    }
    Ok(())
}

fn write_histogram<W: Write + ?Sized>(w: &mut W, f: &FunctionDescriptor, service: &str) -> fmt::Result {
    let snapshot = f.slot().histogram();
    let labels = |w: &mut W| -> fmt::Result {
        write_function_labels(w, f, service)?;
        if let Some(objective) = &f.objective {
            if let Some((threshold, percentile)) = objective.latency {
                write!(
                    w,
                    ",objective_name=\"{}\",objective_percentile=\"{}\",objective_latency_threshold=\"{}\"",
                    Escaped(objective.name),
                    percentile.as_str(),
                    threshold.as_str()
                )?;
            }
        }
        Ok(())
    };
    let mut count = 0;
    for (i, cumulative) in snapshot.cumulative().enumerate() {
        w.write_str("function_calls_duration_seconds_bucket{")?;
        labels(w)?;
        w.write_str(",le=\"")?;
        match f.bounds.get(i) {
            Some(&bound) => write_seconds(w, bound)?,
            None => w.write_str("+Inf")?,
        }
        writeln!(w, "\"}} {cumulative}")?;
        count = cumulative;
    }
    w.write_str("function_calls_duration_seconds_sum{")?;
    labels(w)?;
    w.write_str("} ")?;
    write_seconds(w, snapshot.sum_nanos)?;
    w.write_str("\nfunction_calls_duration_seconds_count{")?;
    labels(w)?;
    writeln!(w, "}} {count}")
}

/// A label value escaped for the text format: `\` → `\\`, `"` → `\"`, newline → `\n`.
#[derive(Clone, Copy, Debug)]
pub struct Escaped<'a>(pub &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        // Write runs of plain characters in one call; most values have no escapes at all.
        while let Some(i) = rest.find(['\\', '"', '\n']) {
            f.write_str(&rest[..i])?;
            f.write_str(match rest.as_bytes()[i] {
                b'\\' => "\\\\",
                b'"' => "\\\"",
                _ => "\\n",
            })?;
            rest = &rest[i + 1..];
        }
        f.write_str(rest)
    }
}

#[cfg(test)]
mod tests {
    use super::Escaped;
    use core::fmt::Write;

    #[test]
    fn escapes_label_values() {
        let mut s = heapless::String::<64>::new();
        write!(s, "{}", Escaped("a\\b\"c\nd")).unwrap();
        assert_eq!(s, "a\\\\b\\\"c\\nd");
        s.clear();
        write!(s, "{}", Escaped("plain")).unwrap();
        assert_eq!(s, "plain");
    }
}
