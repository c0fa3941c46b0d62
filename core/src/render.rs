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

use crate::buckets::write_seconds;
use crate::descriptor::FunctionDescriptor;
use crate::model::{Family, FunctionSeries, MetricSeries, MetricValue, Source};
use crate::registry::Registry;
use core::fmt::{self, Write};
use picometrics_schema::{
    self as schema, label, Metric, BUCKET_SUFFIX, COUNT_SUFFIX, RESULT_ERROR, RESULT_OK, SUM_SUFFIX,
};

pub use crate::model::Format;

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

/// One metric family of the function model, in output order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// `function_calls_total`.
    Calls,
    /// `function_calls_duration_seconds`.
    Duration,
    /// `function_calls_concurrent`, for functions that track it.
    Concurrent,
    /// `function_calls_duration_max_seconds`, for functions with `track_max`.
    DurationMax,
    /// `build_info`.
    BuildInfo,
}

impl Part {
    /// Every family, in output order.
    pub const ALL: [Part; 5] =
        [Part::Calls, Part::Duration, Part::Concurrent, Part::DurationMax, Part::BuildInfo];

    /// The family's schema entry.
    pub const fn metric(self) -> &'static Metric {
        match self {
            Part::Calls => &schema::FUNCTION_CALLS,
            Part::Duration => &schema::FUNCTION_CALLS_DURATION,
            Part::Concurrent => &schema::FUNCTION_CALLS_CONCURRENT,
            Part::DurationMax => &schema::FUNCTION_CALLS_DURATION_MAX,
            Part::BuildInfo => &schema::BUILD_INFO,
        }
    }

    /// Whether its `# HELP`/`# TYPE` lines are written even with no samples (the two families
    /// every function has; the others appear with their first sample).
    pub const fn always_declared(self) -> bool {
        matches!(self, Part::Calls | Part::Duration)
    }
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
    for part in Part::ALL {
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
    match source.metrics_writer() {
        Some(write_them) => write_them(&mut WriteAdapter(&mut *w), format)?,
        None => write_metrics(w, source, format)?,
    }
    match format {
        Format::Prometheus => Ok(()),
        Format::OpenMetrics => w.write_str("# EOF\n"),
    }
}

/// Writes the user metrics of `source` ([`crate::metrics`]), each family under one `# HELP`
/// and `# TYPE` taken from its first series.
///
/// Series are grouped by name without allocating: for each family the source is walked again,
/// so a source with `m` user series is read `O(m²)` times — fine for the few dozen metrics a
/// program declares (a bridge of many devices groups its own text instead). A series whose
/// type differs from its family's first series is left out: one family has one type.
pub fn write_metrics<W, S>(w: &mut W, source: &S, format: Format) -> fmt::Result
where
    W: Write + ?Sized,
    S: Source + ?Sized,
{
    let mut index = 0usize;
    source.metrics(&mut |first| {
        let this = index;
        index += 1;
        let mut seen_before = false;
        let mut i = 0usize;
        source.metrics(&mut |other| {
            if i < this && other.name == first.name {
                seen_before = true;
            }
            i += 1;
            Ok(())
        })?;
        if seen_before {
            return Ok(());
        }
        write_metric_header(w, first, format)?;
        let kind = first.kind();
        let mut i = 0usize;
        source.metrics(&mut |other| {
            i += 1;
            if i > this && other.name == first.name && other.kind() == kind {
                write_metric_samples(w, other)
            } else {
                Ok(())
            }
        })
    })
}

/// The `# HELP` and `# TYPE` lines of the family of a user metric series, the help escaped
/// as `format` requires.
pub fn write_metric_header<W: Write + ?Sized>(
    w: &mut W,
    series: &MetricSeries<'_>,
    format: Format,
) -> fmt::Result {
    write_family_header(w, series.name, series.help, series.kind(), format)
}

/// The `# HELP` and `# TYPE` lines of a family known only at run time (a user metric, a
/// device's), `help` escaped as `format` requires: backslash and newline, and in OpenMetrics
/// also the double quote. A counter's OpenMetrics family is `name` without `_total`.
pub fn write_family_header<W: Write + ?Sized>(
    w: &mut W,
    name: &str,
    help: &str,
    kind: schema::Kind,
    format: Format,
) -> fmt::Result {
    let family = match (format, kind) {
        (Format::OpenMetrics, schema::Kind::Counter) => {
            name.strip_suffix(schema::TOTAL_SUFFIX).unwrap_or(name)
        }
        _ => name,
    };
    w.write_str("# HELP ")?;
    w.write_str(family)?;
    w.write_str(" ")?;
    let mut rest = help;
    while let Some(i) = rest.find(['\\', '\n', '"']) {
        w.write_str(&rest[..i])?;
        match rest.as_bytes()[i] {
            b'\\' => w.write_str("\\\\")?,
            b'\n' => w.write_str("\\n")?,
            // Text 0.0.4 escapes only backslash and newline in HELP; OpenMetrics also quotes.
            _ if format == Format::OpenMetrics => w.write_str("\\\"")?,
            _ => w.write_str("\"")?,
        }
        rest = &rest[i + 1..];
    }
    w.write_str(rest)?;
    w.write_str("\n# TYPE ")?;
    w.write_str(family)?;
    w.write_str(" ")?;
    w.write_str(kind.as_str())?;
    w.write_str("\n")
}

/// The sample lines of one user metric series (no header).
pub fn write_metric_samples<W: Write + ?Sized>(w: &mut W, series: &MetricSeries<'_>) -> fmt::Result {
    let line = |w: &mut W, suffix: &str, le: Option<Option<u64>>, value: &str| {
        w.write_str(series.name)?;
        w.write_str(suffix)?;
        write_label_set(w, |f| {
            series.for_each_label(&mut *f)?;
            match le {
                Some(Some(bound)) => f(label::LE, itoa::Buffer::new().format(bound)),
                Some(None) => f(label::LE, "+Inf"),
                None => Ok(()),
            }
        })?;
        w.write_str(" ")?;
        w.write_str(value)?;
        w.write_str("\n")
    };
    match series.value {
        MetricValue::Counter(v) => line(w, "", None, itoa::Buffer::new().format(v)),
        MetricValue::Gauge(v) => line(w, "", None, itoa::Buffer::new().format(v)),
        MetricValue::Histogram { bounds, sum, .. } => {
            let mut count = 0;
            for (i, cumulative) in series.cumulative().enumerate() {
                line(w, BUCKET_SUFFIX, Some(bounds.get(i).copied()), itoa::Buffer::new().format(cumulative))?;
                count = cumulative;
            }
            line(w, SUM_SUFFIX, None, itoa::Buffer::new().format(sum))?;
            line(w, COUNT_SUFFIX, None, itoa::Buffer::new().format(count))
        }
    }
}

/// Writes the samples of one family of `source` (no `# HELP`/`# TYPE`): for sources whose
/// families are stored apart and joined later (the device bridge keeps each device's).
pub fn write_part<W, S>(w: &mut W, source: &S, part: Part, format: Format) -> fmt::Result
where
    W: Write + ?Sized,
    S: Source + ?Sized,
{
    match part {
        Part::Calls => source.functions(&mut |s| write_calls(w, s)),
        Part::Duration => {
            let mut le_texts = LeTexts::new();
            source.functions(&mut |s| write_histogram(w, s, &mut le_texts, format))
        }
        Part::Concurrent => source.functions(&mut |s| {
            let Some(value) = s.concurrent else { return Ok(()) };
            let labels = CachedLabels::new(schema::FUNCTION_CALLS_CONCURRENT.name, s, Family::Concurrent);
            labels.write(w, None)?;
            let mut tail = Tail::new();
            tail.push("} ")?;
            tail.push_int(value)?;
            tail.push("\n")?;
            w.write_str(&tail)
        }),
        Part::DurationMax => source.functions(&mut |s| {
            let Some(nanos) = s.max_nanos else { return Ok(()) };
            let labels = CachedLabels::new(schema::FUNCTION_CALLS_DURATION_MAX.name, s, Family::Concurrent);
            labels.write(w, None)?;
            w.write_str("} ")?;
            crate::format::write_seconds(w, nanos)?;
            w.write_str("\n")
        }),
        Part::BuildInfo => source.builds(&mut |b| {
            w.write_str(schema::BUILD_INFO.name)?;
            write_label_set(w, |f| b.for_each_label(f))?;
            w.write_str(" 1\n")
        }),
    }
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
    crate::format::write_seconds(w, info.uptime_nanos)?;
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

/// The `# HELP` and `# TYPE` lines of `metric` in `format`.
pub fn write_header<W: Write + ?Sized>(w: &mut W, metric: &Metric, format: Format) -> fmt::Result {
    // Not `write_family_header`: the schema's help texts need no escaping, and its escaping loop
    // would cost every firmware text dump ~0.7 KB of flash (measured) for nothing.
    let family = match format {
        Format::Prometheus => metric.name,
        Format::OpenMetrics => metric.openmetrics_family(),
    };
    for (line, text) in [("# HELP ", metric.help), ("# TYPE ", metric.kind.as_str())] {
        w.write_str(line)?;
        w.write_str(family)?;
        w.write_str(" ")?;
        w.write_str(text)?;
        w.write_str("\n")?;
    }
    Ok(())
}

/// One sample line: `name{label="value",…} value`, the values escaped. For metrics outside the
/// function model (e.g. a bridge's own counters), under a header from [`write_header`].
pub fn write_sample<W: Write + ?Sized>(
    w: &mut W,
    name: &str,
    labels: &[(&str, &str)],
    value: u64,
) -> fmt::Result {
    w.write_str(name)?;
    write_label_set(w, |f| labels.iter().try_for_each(|(n, v)| f(n, v)))?;
    let mut tail = Tail::new();
    tail.push(" ")?;
    tail.push_int(value)?;
    tail.push("\n")?;
    w.write_str(&tail)
}

/// `{a="…",b="…"}` from a label walk, or nothing for an empty one.
fn write_label_set<W: Write + ?Sized>(
    w: &mut W,
    walk: impl FnOnce(&mut dyn FnMut(&str, &str) -> fmt::Result) -> fmt::Result,
) -> fmt::Result {
    let mut first = true;
    walk(&mut |name, value| {
        w.write_str(if core::mem::replace(&mut first, false) { "{" } else { "," })?;
        write_label(w, name, value)
    })?;
    if first {
        Ok(())
    } else {
        w.write_str("}")
    }
}

/// `name="escaped value"`.
fn write_label<W: Write + ?Sized>(w: &mut W, name: &str, value: &str) -> fmt::Result {
    w.write_str(name)?;
    w.write_str("=\"")?;
    write_escaped(w, value)?;
    w.write_str("\"")
}

/// Room for one function's escaped labels on the stack; longer label sets are written piece
/// by piece on every line instead (same output, slower).
const LABELS_CAPACITY: usize = 384;

/// A sample name with `{` and a function's labels of one family, escaped once and repeated on
/// each of its lines.
struct CachedLabels<'a> {
    text: heapless::String<LABELS_CAPACITY>,
    fits: bool,
    /// Length of the sample name in `text`.
    name_len: usize,
    name: &'static str,
    suffix: &'static str,
    series: &'a FunctionSeries<'a>,
    family: Family,
}

impl<'a> CachedLabels<'a> {
    /// The labels of `series` in `family`, after the sample name `name` (e.g.
    /// `function_calls_total`); [`CachedLabels::new_suffixed`] adds a histogram suffix.
    fn new(name: &'static str, series: &'a FunctionSeries<'a>, family: Family) -> Self {
        Self::new_suffixed(name, "", series, family)
    }

    fn new_suffixed(
        name: &'static str,
        suffix: &'static str,
        series: &'a FunctionSeries<'a>,
        family: Family,
    ) -> Self {
        let mut text = heapless::String::new();
        let fits = text.push_str(name).is_ok()
            && text.push_str(suffix).is_ok()
            && text.push('{').is_ok()
            && write_labels(&mut text, series, family).is_ok();
        Self { text, fits, name_len: name.len() + suffix.len(), name, suffix, series, family }
    }

    /// Writes the sample name (or the name with `other_suffix` instead) and the labels, without
    /// the closing brace.
    fn write<W: Write + ?Sized>(&self, w: &mut W, other_suffix: Option<&str>) -> fmt::Result {
        match (self.fits, other_suffix) {
            (true, None) => w.write_str(&self.text),
            (true, Some(suffix)) => {
                w.write_str(self.name)?;
                w.write_str(suffix)?;
                w.write_str(&self.text[self.name_len..])
            }
            (false, suffix) => {
                w.write_str(self.name)?;
                w.write_str(suffix.unwrap_or(self.suffix))?;
                w.write_str("{")?;
                write_labels(w, self.series, self.family)
            }
        }
    }
}

/// The labels of `series` in `family`, comma-separated, escaped.
fn write_labels<W: Write + ?Sized>(w: &mut W, series: &FunctionSeries<'_>, family: Family) -> fmt::Result {
    let mut first = true;
    series.for_each_label(family, |name, value| {
        if !core::mem::replace(&mut first, false) {
            w.write_str(",")?;
        }
        write_label(w, name, value)
    })
}

/// The `,le="…"} ` pieces of one bound array, formatted once and reused for every function
/// that shares the array (most share [`crate::buckets::DEFAULT`]).
struct LeTexts {
    bounds: heapless::Vec<u64, LE_BOUNDS>,
    text: heapless::String<LE_CAPACITY>,
    ends: heapless::Vec<u16, { LE_BOUNDS + 1 }>,
}

/// Bound arrays up to this long are cached (the default has 14); longer ones are formatted
/// on every line. Small, because firmware renders with this on its stack.
const LE_BOUNDS: usize = 16;

/// Room for the `le` pieces of [`LE_BOUNDS`] bounds of typical length.
const LE_CAPACITY: usize = 320;

impl LeTexts {
    fn new() -> Self {
        Self { bounds: heapless::Vec::new(), text: heapless::String::new(), ends: heapless::Vec::new() }
    }

    /// The piece for bucket `i` of `bounds` (`+Inf` past the end), if it fits the cache.
    fn get(&mut self, bounds: &[u64], i: usize) -> Option<&str> {
        // Compared by value, not address: a decoded dump reuses one buffer for every function.
        if self.bounds != bounds {
            self.bounds.clear();
            if self.bounds.extend_from_slice(bounds).is_err() {
                return None;
            }
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
        self.push(",")?;
        self.push(label::LE)?;
        self.push("=\"")?;
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

/// The `function_calls_total` lines of one function: two per caller (ok, error).
fn write_calls<W: Write + ?Sized>(w: &mut W, series: &FunctionSeries<'_>) -> fmt::Result {
    let labels = CachedLabels::new(schema::FUNCTION_CALLS.name, series, Family::Calls);
    series.for_each_caller(|caller_function, caller_module, totals| {
        // The caller labels, escaped once for both result lines (if they fit the stack buffer).
        let mut cached = heapless::String::<LABELS_CAPACITY>::new();
        let write_caller = |w: &mut dyn Write| {
            for (name, value) in
                [(label::CALLER_FUNCTION, caller_function), (label::CALLER_MODULE, caller_module)]
            {
                w.write_str(",")?;
                write_label(w, name, value)?;
            }
            Ok(())
        };
        let fits = write_caller(&mut cached).is_ok();
        for (result, value) in [(RESULT_OK, totals.ok), (RESULT_ERROR, totals.error)] {
            labels.write(w, None)?;
            if fits {
                w.write_str(&cached)?;
            } else {
                write_caller(&mut WriteAdapter(w))?;
            }
            let mut tail = Tail::new();
            tail.push(",")?;
            tail.push(label::RESULT)?;
            tail.push("=\"")?;
            tail.push(result)?;
            tail.push("\"} ")?;
            tail.push_int(value)?;
            tail.push("\n")?;
            w.write_str(&tail)?;
        }
        Ok(())
    })
}

/// A `?Sized` writer as a `dyn Write`.
struct WriteAdapter<'w, W: ?Sized>(&'w mut W);

impl<W: Write + ?Sized> Write for WriteAdapter<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.write_str(s)
    }
}

/// The `_bucket`, `_sum` and `_count` lines of one function's histogram.
fn write_histogram<W: Write + ?Sized>(
    w: &mut W,
    series: &FunctionSeries<'_>,
    le_texts: &mut LeTexts,
    format: Format,
) -> fmt::Result {
    let labels = CachedLabels::new_suffixed(
        schema::FUNCTION_CALLS_DURATION.name,
        BUCKET_SUFFIX,
        series,
        Family::Duration,
    );
    let mut count = 0;
    for (i, cumulative) in series.cumulative().enumerate() {
        labels.write(w, None)?;
        let mut tail = Tail::new();
        match le_texts.get(series.bounds, i) {
            Some(le) => tail.push(le)?,
            None => tail.push_le(series.bounds.get(i).copied())?,
        }
        tail.push_int(cumulative)?;
        #[cfg(feature = "std")]
        if format == Format::OpenMetrics {
            if let Some(Some(e)) = series.exemplars.get(i) {
                w.write_str(&tail)?;
                tail = Tail::new();
                write_exemplar(w, e)?;
            }
        }
        tail.push("\n")?;
        w.write_str(&tail)?;
        count = cumulative;
    }
    // Exemplars are std-only: firmware does not link their formatting.
    #[cfg(not(feature = "std"))]
    let _ = format;
    labels.write(w, Some(SUM_SUFFIX))?;
    let mut tail = Tail::new();
    tail.push("} ")?;
    tail.push_seconds(series.sum_nanos)?;
    tail.push("\n")?;
    w.write_str(&tail)?;
    labels.write(w, Some(COUNT_SUFFIX))?;
    let mut tail = Tail::new();
    tail.push("} ")?;
    tail.push_int(count)?;
    tail.push("\n")?;
    w.write_str(&tail)
}

/// ` # {trace_id="…",span_id="…"} <seconds> <timestamp>`: an OpenMetrics exemplar.
#[cfg(feature = "std")]
fn write_exemplar<W: Write + ?Sized>(w: &mut W, e: &crate::model::Exemplar) -> fmt::Result {
    write!(w, " # {{trace_id=\"{:032x}\",span_id=\"{:016x}\"}} ", e.trace.trace_id, e.trace.span_id)?;
    write_seconds(w, e.value_nanos)?;
    write!(w, " {}.{:03}", e.timestamp_ms / 1_000, e.timestamp_ms % 1_000)
}

/// Writes `value` escaped as a label value: `\` → `\\`, `"` → `\"`, newline → `\n`.
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
    use super::*;
    use crate::model::{Build, Totals};

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

    fn format_args_to<const N: usize>(args: fmt::Arguments<'_>) -> heapless::String<N> {
        let mut s = heapless::String::new();
        s.write_fmt(args).unwrap();
        s
    }
}
