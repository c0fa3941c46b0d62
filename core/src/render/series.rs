//! The function families' lines: labels kept on the stack, `le` texts cached, one
//! `write_str` per line.

use super::text::{write_label, write_label_set};
use super::{Format, WriteAdapter};
use crate::format::write_seconds;
use crate::line::{self, Line, Piece};
use crate::model::{Family, FunctionSeries, Source};
use core::fmt::{self, Write};
use picometrics_schema::{
    self as schema, label, Metric, BUCKET_SUFFIX, COUNT_SUFFIX, RESULT_ERROR, RESULT_OK, SUM_SUFFIX,
};

/// A function's lines of one family: its escaped labels kept in a stack [`Line`] after the
/// sample name, so each line is one `write_str`; labels too long for it are written piece by
/// piece on every line instead (same output, slower).
pub(super) struct SeriesLines<'l, 'a> {
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
pub(super) fn write_labels<W: Write + ?Sized>(
    w: &mut W,
    series: &FunctionSeries<'_>,
    family: Family,
) -> fmt::Result {
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
pub(super) struct LeTexts {
    bounds: heapless::Vec<u64, LE_BOUNDS>,
    pieces: heapless::Vec<Piece, { LE_BOUNDS + 1 }>,
}

/// Bound arrays up to this long are cached (the default has 14); longer ones are formatted
/// on every line. Small, because firmware renders with this on its stack.
pub(super) const LE_BOUNDS: usize = 16;

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
pub(super) fn write_calls<W: Write + ?Sized>(
    w: &mut W,
    line: &mut Line,
    series: &FunctionSeries<'_>,
) -> fmt::Result {
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
            // The line's end: in the room every prefix leaves.
            line.push_end(",")?;
            line.push_end(label::RESULT)?;
            line.push_end("=\"")?;
            line.push_end(result)?;
            line.push_end("\"} ")?;
            line.push_u64(value)?;
            line.push_newline()?;
            w.write_str(from.map_or(line.as_str(), |from| line.since(from)))?;
        }
        Ok(())
    })
}

/// The `_bucket`, `_sum` and `_count` lines of one function's histogram.
pub(super) fn write_histogram<W: Write + ?Sized>(
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
        line.push_end("} ")?;
        write_seconds(&mut line::End(line), series.sum_nanos)?;
        line.push_newline()
    })?;
    lines.write(w, name, COUNT_SUFFIX, |line| {
        line.push_end("} ")?;
        line.push_u64(count)?;
        line.push_newline()
    })
}

/// ` # {trace_id="…",span_id="…"} <seconds> <timestamp>`: an OpenMetrics exemplar.
#[cfg(feature = "std")]
pub(super) fn write_exemplar<W: Write + ?Sized>(w: &mut W, e: &crate::model::Exemplar) -> fmt::Result {
    write!(w, " # {{trace_id=\"{:032x}\",span_id=\"{:016x}\"}} ", e.trace.trace_id, e.trace.span_id)?;
    write_seconds(w, e.value_nanos)?;
    write!(w, " {}.{:03}", e.timestamp_ms / 1_000, e.timestamp_ms % 1_000)
}

/// Writes the samples of one family of `source` (no `# HELP`/`# TYPE`): for sources whose
/// families are stored apart and joined later (the device bridge keeps each device's).
pub fn write_part<W, S>(w: &mut W, source: &S, part: Part, format: Format) -> fmt::Result
where
    W: Write + ?Sized,
    S: Source + ?Sized,
{
    if part == Part::BuildInfo {
        return source.builds(&mut |b| {
            w.write_str(schema::BUILD_INFO.name)?;
            write_label_set(w, |f| b.for_each_label(f))?;
            w.write_str(" 1\n")
        });
    }
    let mut lines = FunctionLines::new();
    source.functions(&mut |s| lines.write(w, s, part, format))
}

/// A writer of one function's samples of one family at a time, keeping what it formatted for
/// the next: its line buffer (half a kilobyte) and the `le` texts of the last bounds.
pub struct FunctionLines {
    line: Line,
    le_texts: LeTexts,
}

impl fmt::Debug for FunctionLines {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FunctionLines").finish_non_exhaustive()
    }
}

impl Default for FunctionLines {
    fn default() -> Self {
        Self::new()
    }
}

impl FunctionLines {
    /// A writer with nothing formatted yet.
    pub fn new() -> Self {
        Self { line: Line::new(), le_texts: LeTexts::new() }
    }

    /// Writes `series`' samples of `part` (nothing for [`Part::BuildInfo`]).
    pub fn write<W: Write + ?Sized>(
        &mut self,
        w: &mut W,
        series: &FunctionSeries<'_>,
        part: Part,
        format: Format,
    ) -> fmt::Result {
        let line = &mut self.line;
        match part {
            Part::Calls => write_calls(w, line, series),
            Part::Duration => write_histogram(w, line, series, &mut self.le_texts, format),
            Part::Concurrent => {
                let Some(value) = series.concurrent else { return Ok(()) };
                SeriesLines::new(line, series, Family::Concurrent).write(
                    w,
                    schema::FUNCTION_CALLS_CONCURRENT.name,
                    "",
                    |line| {
                        line.push_end("} ")?;
                        line.push_u64(value)?;
                        line.push_newline()
                    },
                )
            }
            Part::DurationMax => {
                let Some(nanos) = series.max_nanos else { return Ok(()) };
                SeriesLines::new(line, series, Family::Concurrent).write(
                    w,
                    schema::FUNCTION_CALLS_DURATION_MAX.name,
                    "",
                    |line| {
                        line.push_end("} ")?;
                        write_seconds(&mut line::End(line), nanos)?;
                        line.push_newline()
                    },
                )
            }
            Part::BuildInfo => Ok(()),
        }
    }
}

/// What [`write()`](super::write) writes after the function families: `build_info` (if the source has one),
/// the user metrics and, in OpenMetrics, `# EOF`. For writers that produce the function
/// families themselves (the exporter's render cache); public through `__private_v1::render`.
pub fn write_tail<W, S>(w: &mut W, source: &S, format: Format) -> fmt::Result
where
    W: Write + ?Sized,
    S: Source + ?Sized,
{
    let mut declared = super::Declared { w: &mut *w, pending: Some((Part::BuildInfo.metric(), format)) };
    write_part(&mut declared, source, Part::BuildInfo, format)?;
    match source.metrics_writer() {
        Some(write_them) => write_them(&mut WriteAdapter(&mut *w), format)?,
        None => super::write_metrics(w, source, format)?,
    }
    match format {
        Format::Prometheus => Ok(()),
        Format::OpenMetrics => w.write_str("# EOF\n"),
    }
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

    /// The families of the functions' series, in output order: [`Part::ALL`] without
    /// `build_info`.
    pub const FUNCTIONS: [Part; 4] = [Part::Calls, Part::Duration, Part::Concurrent, Part::DurationMax];

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
