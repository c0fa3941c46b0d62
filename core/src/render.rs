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

use crate::descriptor::FunctionDescriptor;
use crate::format::write_seconds;
use crate::line::{self, Line, Piece};
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
    // One line buffer for every function of the family (it is half a kilobyte).
    let line = &mut Line::new();
    match part {
        Part::Calls => source.functions(&mut |s| write_calls(w, line, s)),
        Part::Duration => {
            let mut le_texts = LeTexts::new();
            source.functions(&mut |s| write_histogram(w, line, s, &mut le_texts, format))
        }
        Part::Concurrent => source.functions(&mut |s| {
            let Some(value) = s.concurrent else { return Ok(()) };
            SeriesLines::new(line, s, Family::Concurrent).write(
                w,
                schema::FUNCTION_CALLS_CONCURRENT.name,
                "",
                |line| {
                    line.push("} ")?;
                    line.push_u64(value)?;
                    line.push_newline()
                },
            )
        }),
        Part::DurationMax => source.functions(&mut |s| {
            let Some(nanos) = s.max_nanos else { return Ok(()) };
            SeriesLines::new(line, s, Family::Concurrent).write(
                w,
                schema::FUNCTION_CALLS_DURATION_MAX.name,
                "",
                |line| {
                    line.push("} ")?;
                    write_seconds(line, nanos)?;
                    line.push_newline()
                },
            )
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
    let mut end = Line::new();
    end.push(" ")?;
    end.push_u64(value)?;
    end.push_newline()?;
    w.write_str(end.as_str())
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

/// A function's lines of one family: its escaped labels kept in a stack [`Line`] after the
/// sample name, so each line is one `write_str`; labels too long for it are written piece by
/// piece on every line instead (same output, slower).
struct SeriesLines<'l, 'a> {
    line: &'l mut Line,
    /// Where the labels end in `line`, or `None` if they did not fit.
    labels_end: Option<usize>,
    /// Where the prefix every line repeats ends: the labels, or more ([`SeriesLines::extend`]).
    prefix_end: usize,
    series: &'a FunctionSeries<'a>,
    family: Family,
}

// Every sample name written through `SeriesLines` fits before the labels of a `Line`.
const _: () = {
    let longest = schema::FUNCTION_CALLS_DURATION.name.len() + BUCKET_SUFFIX.len();
    assert!(longest <= line::HEAD);
    assert!(schema::FUNCTION_CALLS_DURATION_MAX.name.len() <= line::HEAD);
    assert!(schema::FUNCTION_CALLS_CONCURRENT.name.len() <= line::HEAD);
    assert!(schema::FUNCTION_CALLS.name.len() <= line::HEAD);
};

impl<'l, 'a> SeriesLines<'l, 'a> {
    /// The labels of `series` in `family` (without the closing brace), in `line`.
    fn new(line: &'l mut Line, series: &'a FunctionSeries<'a>, family: Family) -> Self {
        line.clear();
        let fits = line.push("{").is_ok() && write_labels(line, series, family).is_ok();
        let labels_end = fits.then(|| line.len());
        Self { prefix_end: line.len(), labels_end, line, series, family }
    }

    /// Makes what `more` appends after the labels part of every following line (until the
    /// next call); `false` if it does not fit, and lines have only the labels.
    fn extend(&mut self, more: impl FnOnce(&mut Line) -> fmt::Result) -> bool {
        let Some(end) = self.labels_end else { return false };
        self.line.truncate(end);
        let fits = more(self.line).is_ok();
        if !fits {
            self.line.truncate(end);
        }
        self.prefix_end = self.line.len();
        fits
    }

    /// Starts a line: sample `name` + `suffix` and the prefix. If the labels do not fit a
    /// line they are written to `w` here, and the line holds only what follows.
    #[inline(always)]
    fn start<W: Write + ?Sized>(
        &mut self,
        w: &mut W,
        name: &'static str,
        suffix: &'static str,
    ) -> Result<&mut Line, fmt::Error> {
        if self.labels_end.is_some() {
            self.line.truncate(self.prefix_end);
            // Fits: see the assertion above.
            self.line.set_head(name, suffix)?;
        } else {
            self.start_long(w, name, suffix)?;
        }
        Ok(self.line)
    }

    /// [`SeriesLines::start`] for labels too long for a line: rare, so out of line.
    #[cold]
    #[inline(never)]
    fn start_long<W: Write + ?Sized>(&mut self, w: &mut W, name: &str, suffix: &str) -> fmt::Result {
        w.write_str(name)?;
        w.write_str(suffix)?;
        w.write_str("{")?;
        write_labels(w, self.series, self.family)?;
        self.line.clear();
        Ok(())
    }

    /// One line: name + suffix, the prefix, then what `end` appends.
    fn write<W: Write + ?Sized>(
        &mut self,
        w: &mut W,
        name: &'static str,
        suffix: &'static str,
        end: impl FnOnce(&mut Line) -> fmt::Result,
    ) -> fmt::Result {
        let line = self.start(w, name, suffix)?;
        end(line)?;
        w.write_str(line.as_str())
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
    pieces: heapless::Vec<Piece, { LE_BOUNDS + 1 }>,
}

/// Bound arrays up to this long are cached (the default has 14); longer ones are formatted
/// on every line. Small, because firmware renders with this on its stack.
const LE_BOUNDS: usize = 16;

impl LeTexts {
    fn new() -> Self {
        Self { bounds: heapless::Vec::new(), pieces: heapless::Vec::new() }
    }

    /// The piece for bucket `i` of `bounds` (`+Inf` past the end).
    #[inline]
    fn get(&mut self, bounds: &[u64], i: usize) -> Piece {
        // Compared by value, not address: a decoded dump reuses one buffer for every function.
        if i == 0 && self.bounds != bounds {
            self.bounds.clear();
            self.pieces.clear();
            if self.bounds.extend_from_slice(bounds).is_ok() {
                for le in bounds.iter().map(Some).chain([None]) {
                    // Cannot fail: one more piece than bounds.
                    let _ = self.pieces.push(Piece::le(le.copied()));
                }
            }
        }
        match self.pieces.get(i) {
            Some(piece) => *piece,
            None => Piece::le(bounds.get(i).copied()),
        }
    }
}

/// The `function_calls_total` lines of one function: two per caller (ok, error).
fn write_calls<W: Write + ?Sized>(w: &mut W, line: &mut Line, series: &FunctionSeries<'_>) -> fmt::Result {
    let name = schema::FUNCTION_CALLS.name;
    let mut lines = SeriesLines::new(line, series, Family::Calls);
    series.for_each_caller(|caller_function, caller_module, totals| {
        let callers = [(label::CALLER_FUNCTION, caller_function), (label::CALLER_MODULE, caller_module)];
        let write_callers = |w: &mut dyn Write| {
            callers.iter().try_for_each(|(name, value)| {
                w.write_str(",")?;
                write_label(w, name, value)
            })
        };
        // The caller labels join the prefix of both result lines, if they fit.
        let joined = lines.extend(|line| write_callers(line));
        for (result, value) in [(RESULT_OK, totals.ok), (RESULT_ERROR, totals.error)] {
            let line = lines.start(w, name, "")?;
            // Without the callers in the prefix: the prefix, the callers, and the rest.
            let mut from = None;
            if !joined {
                w.write_str(line.as_str())?;
                write_callers(&mut WriteAdapter(&mut *w))?;
                from = Some(line.len());
            }
            line.push(",")?;
            line.push(label::RESULT)?;
            line.push("=\"")?;
            line.push(result)?;
            line.push("\"} ")?;
            line.push_u64(value)?;
            line.push_newline()?;
            w.write_str(from.map_or(line.as_str(), |from| line.since(from)))?;
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
    line: &mut Line,
    series: &FunctionSeries<'_>,
    le_texts: &mut LeTexts,
    format: Format,
) -> fmt::Result {
    let name = schema::FUNCTION_CALLS_DURATION.name;
    let mut lines = SeriesLines::new(line, series, Family::Duration);
    let mut count = 0;
    for (i, cumulative) in series.cumulative().enumerate() {
        let line = lines.start(w, name, BUCKET_SUFFIX)?;
        line.push_piece(&le_texts.get(series.bounds, i))?;
        line.push_u64(cumulative)?;
        #[allow(unused_mut)] // Assigned only with exemplars (std).
        let mut from = None;
        #[cfg(feature = "std")]
        if format == Format::OpenMetrics {
            if let Some(Some(e)) = series.exemplars.get(i) {
                w.write_str(line.as_str())?;
                write_exemplar(w, e)?;
                from = Some(line.len());
            }
        }
        line.push_newline()?;
        w.write_str(from.map_or(line.as_str(), |from| line.since(from)))?;
        count = cumulative;
    }
    // Exemplars are std-only: firmware does not link their formatting.
    #[cfg(not(feature = "std"))]
    let _ = format;
    lines.write(w, name, SUM_SUFFIX, |line| {
        line.push("} ")?;
        write_seconds(line, series.sum_nanos)?;
        line.push_newline()
    })?;
    lines.write(w, name, COUNT_SUFFIX, |line| {
        line.push("} ")?;
        line.push_u64(count)?;
        line.push_newline()
    })
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
    if !needs_escaping(value.as_bytes()) {
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

/// Whether `bytes` holds a `\`, `"` or newline: eight bytes per step (a label value is read on
/// every scrape; the byte-by-byte scan was a tenth of a render).
fn needs_escaping(bytes: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    // Non-zero iff some byte of `x` is zero (exact for the word, though not byte by byte).
    let has_zero = |x: u64| (x.wrapping_sub(ONES) & !x & HIGHS) != 0;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_ne_bytes(word);
        let any = [b'\\', b'"', b'\n'].map(|b| has_zero(x ^ u64::from_ne_bytes([b; 8])));
        if any.contains(&true) {
            return true;
        }
    }
    chunks.remainder().iter().any(|b| matches!(b, b'\\' | b'"' | b'\n'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Build, Totals};

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
