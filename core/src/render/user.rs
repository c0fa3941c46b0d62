//! User metric families (`#[picometrics::metric]`): their headers and samples.

use super::text::write_label_set;
use super::Format;
use crate::format::Integer;
use crate::model::{MetricSeries, MetricValue, Source};
use core::fmt::{self, Write};
use picometrics_schema::{self as schema, label, BUCKET_SUFFIX, COUNT_SUFFIX, SUM_SUFFIX};

/// Writes the user metrics of `source` ([`crate::metrics`]), each family under one `# HELP`
/// and `# TYPE` taken from its first series.
///
/// Series are grouped by name without allocating: for each family the source is walked again,
/// so a source with `m` user series is read `O(m²)` times — fine for the few dozen metrics a
/// program declares (a bridge of many devices groups its own text instead). A series whose
/// type differs from its family's first series is left out: one family has one type. So is a
/// family that would write a sample name an earlier family owns (a gauge `pkt_count` after a
/// histogram `pkt`, [`schema::families_collide`]): the output stays one valid exposition.
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
            let earlier_family = other.name == first.name
                || schema::families_collide(other.name, other.kind(), first.name, first.kind());
            if i < this && earlier_family {
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
    // Cut without `str` slicing's panic path (see `text::write_escaped`).
    while let Some((text, tail)) = rest.find(['\\', '\n', '"']).and_then(|i| rest.split_at_checked(i)) {
        w.write_str(text)?;
        match tail.as_bytes().first() {
            Some(b'\\') => w.write_str("\\\\")?,
            Some(b'\n') => w.write_str("\\n")?,
            // Text 0.0.4 escapes only backslash and newline in HELP; OpenMetrics also quotes.
            _ if format == Format::OpenMetrics => w.write_str("\\\"")?,
            _ => w.write_str("\"")?,
        }
        rest = tail.get(1..).unwrap_or_default();
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
                Some(Some(bound)) => f(label::LE, Integer::new(bound).as_str()),
                Some(None) => f(label::LE, "+Inf"),
                None => Ok(()),
            }
        })?;
        w.write_str(" ")?;
        w.write_str(value)?;
        w.write_str("\n")
    };
    match series.value {
        MetricValue::Counter(v) => line(w, "", None, Integer::new(v).as_str()),
        MetricValue::Gauge(v) => line(w, "", None, Integer::signed(v).as_str()),
        MetricValue::Histogram { bounds, sum, .. } => {
            let mut count = 0;
            for (i, cumulative) in series.cumulative().enumerate() {
                line(w, BUCKET_SUFFIX, Some(bounds.get(i).copied()), Integer::new(cumulative).as_str())?;
                count = cumulative;
            }
            line(w, SUM_SUFFIX, None, Integer::new(sum).as_str())?;
            line(w, COUNT_SUFFIX, None, Integer::new(count).as_str())
        }
    }
}
