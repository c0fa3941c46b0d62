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

/// The `# HELP` and `# TYPE` lines of `function_calls_total` in text format 0.0.4.
pub const CALLS_HEADER: &str =
    "# HELP function_calls_total Autometrics counter for tracking function calls\n\
     # TYPE function_calls_total counter\n";

/// The `# HELP` and `# TYPE` lines of `function_calls_duration_seconds` in text format 0.0.4.
pub const DURATION_HEADER: &str =
    "# HELP function_calls_duration_seconds Autometrics histogram for tracking function call duration\n\
     # TYPE function_calls_duration_seconds histogram\n";

/// The `# HELP` and `# TYPE` lines of `function_calls_concurrent` in text format 0.0.4.
pub const CONCURRENT_HEADER: &str =
    "# HELP function_calls_concurrent Autometrics gauge for tracking function call concurrency\n\
     # TYPE function_calls_concurrent gauge\n";

/// The `# HELP` and `# TYPE` lines of `build_info` in text format 0.0.4.
pub const BUILD_INFO_HEADER: &str =
    "# HELP build_info Autometrics info metric for tracking software version and build details\n\
     # TYPE build_info gauge\n";

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

/// Writes the same metrics as [`render_prometheus`] in OpenMetrics 1.0 text format
/// (`application/openmetrics-text; version=1.0.0`): the counter family is named
/// `function_calls` (its samples stay `function_calls_total`) and the output ends with `# EOF`.
pub fn render_openmetrics<W: Write + ?Sized>(w: &mut W) -> fmt::Result {
    render_as(w, functions(), Format::OpenMetrics)?;
    write_build_info(w)?;
    w.write_str("# EOF\n")
}

/// The two text formats.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Prometheus,
    OpenMetrics,
}

/// Like [`render_prometheus`], for a chosen set of functions and without `build_info`.
///
/// Each function's labels are escaped once and repeated from a stack buffer, and the end of
/// each line reaches `w` in a single `write_str`: rendering costs about one copy of the
/// output plus integer formatting.
///
/// `functions` is walked once per metric family, so it must be cheap to clone
/// (`&[FunctionDescriptor]`, or an iterator over `&FunctionDescriptor`s).
pub fn render_functions<'a, W, I>(w: &mut W, functions: I) -> fmt::Result
where
    W: Write + ?Sized,
    I: IntoIterator<Item = &'a FunctionDescriptor>,
    I::IntoIter: Clone,
{
    render_as(w, functions, Format::Prometheus)
}

fn render_as<'a, W, I>(w: &mut W, functions: I, format: Format) -> fmt::Result
where
    W: Write + ?Sized,
    I: IntoIterator<Item = &'a FunctionDescriptor>,
    I::IntoIter: Clone,
{
    let functions = functions.into_iter();
    let service = service_name();

    w.write_str(match format {
        Format::Prometheus => CALLS_HEADER,
        // OpenMetrics names the counter family without its `_total` sample suffix.
        Format::OpenMetrics => {
            "# HELP function_calls Autometrics counter for tracking function calls\n\
             # TYPE function_calls counter\n"
        }
    })?;
    for f in functions.clone() {
        let success = f.objective.and_then(|o| Some((o.name, o.success_rate?.as_str(), None)));
        let labels = CachedLabels::new("function_calls_total{", f, service, success);
        let calls = f.slot().calls();
        write_calls(w, &labels, "", "", calls.root)?;
        for edge in &calls.callers {
            write_calls(w, &labels, edge.function, edge.module, edge.calls)?;
        }
        if calls.overflow != ResultTotals::default() {
            write_calls(w, &labels, OVERFLOW_CALLER, "", calls.overflow)?;
        }
    }

    w.write_str(DURATION_HEADER)?;
    let mut le_texts = LeTexts::new();
    for f in functions.clone() {
        let latency = f.objective.and_then(|o| {
            let (threshold, percentile) = o.latency?;
            Some((o.name, percentile.as_str(), Some(threshold.as_str())))
        });
        let labels = CachedLabels::new("function_calls_duration_seconds_bucket{", f, service, latency);
        write_histogram(w, f, &labels, &mut le_texts, format)?;
    }

    if functions.clone().any(|f| f.track_concurrency) {
        w.write_str(CONCURRENT_HEADER)?;
        for f in functions.filter(|f| f.track_concurrency) {
            w.write_str("function_calls_concurrent{")?;
            write_labels(w, f, service, None)?;
            let mut tail = Tail::new();
            tail.push("} ")?;
            tail.push_int(f.slot().concurrent())?;
            tail.push("\n")?;
            w.write_str(&tail)?;
        }
    }
    Ok(())
}

fn write_build_info<W: Write + ?Sized>(w: &mut W) -> fmt::Result {
    let b = build_info();
    w.write_str(BUILD_INFO_HEADER)?;
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

/// `objective_name`, `objective_percentile` and, for latency, `objective_latency_threshold`.
type ObjectiveLabels = Option<(&'static str, &'static str, Option<&'static str>)>;

/// `function="…",module="…",service_name="…"` and the objective labels, escaped.
fn write_labels<W: Write + ?Sized>(
    w: &mut W,
    f: &FunctionDescriptor,
    service: &str,
    objective: ObjectiveLabels,
) -> fmt::Result {
    // Plain `write_str`s: `write!` would go through `fmt::Arguments` for every piece.
    w.write_str("function=\"")?;
    write_escaped(w, f.name)?;
    w.write_str("\",module=\"")?;
    write_escaped(w, f.module)?;
    w.write_str("\",service_name=\"")?;
    write_escaped(w, service)?;
    w.write_str("\"")?;
    match objective {
        Some((name, percentile, threshold)) => write_objective_labels(w, name, percentile, threshold),
        None => Ok(()),
    }
}

/// `,objective_name="…",objective_percentile="…"` and, for a latency objective,
/// `,objective_latency_threshold="…"`, escaped: the labels every objective adds to a series.
pub fn write_objective_labels<W: Write + ?Sized>(
    w: &mut W,
    name: &str,
    percentile: &str,
    latency_threshold: Option<&str>,
) -> fmt::Result {
    w.write_str(",objective_name=\"")?;
    write_escaped(w, name)?;
    w.write_str("\",objective_percentile=\"")?;
    write_escaped(w, percentile)?;
    w.write_str("\"")?;
    if let Some(threshold) = latency_threshold {
        w.write_str(",objective_latency_threshold=\"")?;
        write_escaped(w, threshold)?;
        w.write_str("\"")?;
    }
    Ok(())
}

/// Room for one function's escaped labels on the stack; longer label sets are written piece
/// by piece on every line instead (same output, slower).
const LABELS_CAPACITY: usize = 384;

/// A metric name with `{` and a function's labels, escaped once and repeated on each of its
/// lines.
struct CachedLabels<'a> {
    text: heapless::String<LABELS_CAPACITY>,
    fits: bool,
    name: &'static str,
    f: &'a FunctionDescriptor,
    service: &'a str,
    objective: ObjectiveLabels,
}

impl<'a> CachedLabels<'a> {
    /// `name` is the metric name with its opening brace, e.g. `function_calls_total{`.
    fn new(
        name: &'static str,
        f: &'a FunctionDescriptor,
        service: &'a str,
        objective: ObjectiveLabels,
    ) -> Self {
        let mut text = heapless::String::new();
        let fits = text.push_str(name).is_ok() && write_labels(&mut text, f, service, objective).is_ok();
        Self { text, fits, name, f, service, objective }
    }

    /// Writes `name` (or, if given, another metric name with its brace) and the labels.
    fn write<W: Write + ?Sized>(&self, w: &mut W, other_name: Option<&str>) -> fmt::Result {
        match (self.fits, other_name) {
            (true, None) => w.write_str(&self.text),
            (true, Some(name)) => {
                w.write_str(name)?;
                w.write_str(&self.text[self.name.len()..])
            }
            (false, name) => {
                w.write_str(name.unwrap_or(self.name))?;
                write_labels(w, self.f, self.service, self.objective)
            }
        }
    }
}

/// The `,le="…"} ` pieces of one bound array, formatted once per render and reused for every
/// function that shares the array (most share [`crate::buckets::DEFAULT`]).
struct LeTexts {
    bounds: &'static [u64],
    text: heapless::String<LE_CAPACITY>,
    ends: heapless::Vec<u16, { crate::buckets::MAX_BOUNDS + 1 }>,
}

/// Room for the `le` pieces of 33 bounds of typical length; longer sets are formatted per line.
const LE_CAPACITY: usize = 512;

impl LeTexts {
    fn new() -> Self {
        Self { bounds: &[], text: heapless::String::new(), ends: heapless::Vec::new() }
    }

    /// The piece for bucket `i` of `bounds` (`+Inf` past the end), if it fits the cache.
    fn get(&mut self, bounds: &'static [u64], i: usize) -> Option<&str> {
        if !core::ptr::eq(self.bounds, bounds) {
            self.bounds = bounds;
            self.text.clear();
            self.ends.clear();
            for le in bounds.iter().map(Some).chain([None]) {
                let mut tail = Tail::new();
                if tail.push_le(le.copied()).is_err()
                    || self.text.push_str(&tail).is_err()
                    || self.ends.push(self.text.len() as u16).is_err()
                {
                    break;
                }
            }
        }
        let end = usize::from(*self.ends.get(i)?);
        let start = i.checked_sub(1).map_or(0, |p| usize::from(self.ends[p]));
        Some(&self.text[start..end])
    }
}

/// The end of one sample line (`,le="0.005"} 42` and the newline), built on the stack so it
/// reaches the writer in one call.
struct Tail(heapless::String<64>);

impl Tail {
    fn new() -> Self {
        Self(heapless::String::new())
    }

    fn push(&mut self, s: &str) -> fmt::Result {
        self.0.push_str(s).map_err(|_| fmt::Error)
    }

    fn push_int(&mut self, v: impl itoa::Integer) -> fmt::Result {
        self.push(itoa::Buffer::new().format(v))
    }

    fn push_seconds(&mut self, nanos: u64) -> fmt::Result {
        write_seconds(&mut self.0, nanos)
    }

    /// `,le="<bound in seconds>"} `, or `,le="+Inf"} ` for `None`.
    fn push_le(&mut self, bound_nanos: Option<u64>) -> fmt::Result {
        self.push(",le=\"")?;
        match bound_nanos {
            Some(nanos) => self.push_seconds(nanos)?,
            None => self.push("+Inf")?,
        }
        self.push("\"} ")
    }
}

impl core::ops::Deref for Tail {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

fn write_calls<W: Write + ?Sized>(
    w: &mut W,
    labels: &CachedLabels<'_>,
    caller_function: &str,
    caller_module: &str,
    totals: ResultTotals,
) -> fmt::Result {
    // The caller labels, escaped once for both result lines (if they fit the stack buffer).
    let mut caller = heapless::String::<LABELS_CAPACITY>::new();
    let caller = match write!(
        caller,
        ",caller_function=\"{}\",caller_module=\"{}",
        Escaped(caller_function),
        Escaped(caller_module)
    ) {
        Ok(()) => Some(caller),
        Err(_) => None,
    };
    for (result, value) in [("\",result=\"ok\"} ", totals.ok), ("\",result=\"error\"} ", totals.error)] {
        labels.write(w, None)?;
        match &caller {
            Some(caller) => w.write_str(caller)?,
            None => write!(
                w,
                ",caller_function=\"{}\",caller_module=\"{}",
                Escaped(caller_function),
                Escaped(caller_module)
            )?,
        }
        let mut tail = Tail::new();
        tail.push(result)?;
        tail.push_int(value)?;
        tail.push("\n")?;
        w.write_str(&tail)?;
    }
    Ok(())
}

#[cfg_attr(not(feature = "exemplars"), allow(unused_variables))] // `format` only matters for exemplars
fn write_histogram<W: Write + ?Sized>(
    w: &mut W,
    f: &FunctionDescriptor,
    labels: &CachedLabels<'_>,
    le_texts: &mut LeTexts,
    format: Format,
) -> fmt::Result {
    let snapshot = f.slot().histogram();
    let mut count = 0;
    for (i, cumulative) in snapshot.cumulative().enumerate() {
        labels.write(w, None)?;
        let mut tail = Tail::new();
        match le_texts.get(f.bounds, i) {
            Some(le) => tail.push(le)?,
            None => tail.push_le(f.bounds.get(i).copied())?,
        }
        tail.push_int(cumulative)?;
        #[cfg(feature = "exemplars")]
        if format == Format::OpenMetrics {
            if let Some(e) = f.slot().exemplar(i) {
                w.write_str(&tail)?;
                tail = Tail::new();
                write_exemplar(w, &e)?;
            }
        }
        tail.push("\n")?;
        w.write_str(&tail)?;
        count = cumulative;
    }
    labels.write(w, Some("function_calls_duration_seconds_sum{"))?;
    let mut tail = Tail::new();
    tail.push("} ")?;
    tail.push_seconds(snapshot.sum_nanos)?;
    tail.push("\n")?;
    w.write_str(&tail)?;
    labels.write(w, Some("function_calls_duration_seconds_count{"))?;
    let mut tail = Tail::new();
    tail.push("} ")?;
    tail.push_int(count)?;
    tail.push("\n")?;
    w.write_str(&tail)
}

/// ` # {trace_id="…",span_id="…"} <seconds> <timestamp>`: an OpenMetrics exemplar.
#[cfg(feature = "exemplars")]
fn write_exemplar<W: Write + ?Sized>(w: &mut W, e: &crate::exemplars::Exemplar) -> fmt::Result {
    write!(w, " # {{trace_id=\"{:032x}\",span_id=\"{:016x}\"}} ", e.trace.trace_id, e.trace.span_id)?;
    write_seconds(w, e.value_nanos)?;
    write!(w, " {}.{:03}", e.timestamp_ms / 1_000, e.timestamp_ms % 1_000)
}

/// A label value escaped for the text format: `\` → `\\`, `"` → `\"`, newline → `\n`.
#[derive(Clone, Copy, Debug)]
pub struct Escaped<'a>(pub &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_escaped(f, self.0)
    }
}

/// Writes `value` escaped as a label value (see [`Escaped`]).
pub fn write_escaped<W: Write + ?Sized>(w: &mut W, value: &str) -> fmt::Result {
    let special = |b: &u8| matches!(b, b'\\' | b'"' | b'\n');
    // Most values have nothing to escape: one scan, one write.
    if !value.as_bytes().iter().any(special) {
        return w.write_str(value);
    }
    let mut rest = value;
    while let Some(i) = rest.as_bytes().iter().position(special) {
        w.write_str(&rest[..i])?;
        w.write_str(match rest.as_bytes()[i] {
            b'\\' => "\\\\",
            b'"' => "\\\"",
            _ => "\\n",
        })?;
        rest = &rest[i + 1..];
    }
    w.write_str(rest)
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
