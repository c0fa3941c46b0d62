//! The exposition rules a device's dump must keep: checked per record as it arrives.

use crate::dump::{Function, Metric};
use crate::{Invalid, MAX_LABEL};
use picometrics::frame::{Begin, FunctionRecord, MetricRecord, ValueRecord};
use picometrics::model::Caller;
use picometrics::model::CounterWidth;
use picometrics::schema::OVERFLOW_CALLER;
use picometrics::schema::{
    self as schema, check_bounds, check_metric_help, check_metric_labels, Kind, BOOTS, RESETS,
};

/// What is wrong with `f` from a device with `counter_bits`-wide counters, if anything.
pub(crate) fn check(f: &FunctionRecord<'_>, counter_bits: u8, seen: &[Function]) -> Result<(), Invalid> {
    if check_bounds(&f.bounds, true).is_err() {
        return Err(Invalid::Bounds);
    }
    if f.counts.len() != f.bounds.len() + 1 {
        return Err(Invalid::Counts);
    }
    let width = width(counter_bits);
    let totals = [f.root, f.overflow].into_iter().chain(f.callers.iter().map(|c| c.calls));
    let values = f.counts.iter().copied().chain(f.concurrent).chain(totals.flat_map(|t| [t.ok, t.error]));
    // The histogram's count must fit too: its cumulative buckets are sums at that width, and
    // one that wrapped would make the buckets decrease within the dump.
    let count = width.checked_sum(f.counts.iter().copied());
    if values.into_iter().any(|v| !width.fit(v)) || count.is_none() {
        return Err(Invalid::CounterWidth);
    }
    let objective = f
        .objective
        .iter()
        .flat_map(|o| [o.name].into_iter().chain(o.success_percentile).chain(o.latency.map(|l| l.1)));
    let callers = f.callers.iter().flat_map(|c| [c.function, c.module]);
    if [f.function, f.module].into_iter().chain(callers).chain(objective).any(|l| l.len() > MAX_LABEL) {
        return Err(Invalid::LabelTooLong);
    }
    let reserved = |c: &Caller<'_>| c.function.is_empty() || c.function == OVERFLOW_CALLER;
    let repeated = |i: usize| {
        f.callers[..i].iter().any(|c| (c.function, c.module) == (f.callers[i].function, f.callers[i].module))
    };
    if f.callers.iter().any(reserved) || (0..f.callers.len()).any(repeated) {
        return Err(Invalid::Callers);
    }
    if seen.iter().any(|g| *g.function == *f.function && *g.module == *f.module) {
        return Err(Invalid::Duplicate);
    }
    Ok(())
}

/// What is wrong with the user metric `m` from a device with `counter_bits`-wide counters,
/// if anything: the same rules the attribute applies at compile time, and no series twice.
pub(crate) fn check_metric(m: &MetricRecord<'_>, counter_bits: u8, seen: &[Metric]) -> Result<(), Invalid> {
    let kind = m.value.kind();
    // The core's own persisted counters (`persist`) carry the reserved `picometrics_` prefix.
    let core_metric = kind == Kind::Counter && [BOOTS.name, RESETS.name].contains(&m.name);
    let named = match core_metric {
        true => check_metric_help(m.help).and(check_metric_labels(&m.labels)),
        false => schema::check_metric(m.name, m.help, kind, &m.labels),
    };
    if named.is_err() {
        return Err(Invalid::Metric);
    }
    let width = width(counter_bits);
    match &m.value {
        ValueRecord::Counter(v) if !width.fit(*v) => return Err(Invalid::CounterWidth),
        ValueRecord::Gauge(v) if counter_bits < 64 && i32::try_from(*v).is_err() => {
            return Err(Invalid::CounterWidth)
        }
        ValueRecord::Histogram { bounds, counts, .. } => {
            if check_bounds(bounds, false).is_err() || counts.len() != bounds.len() + 1 {
                return Err(Invalid::Metric);
            }
            if width.checked_sum(counts.iter().copied()).is_none() {
                return Err(Invalid::CounterWidth);
            }
        }
        _ => {}
    }
    let same_series = |o: &Metric| {
        o.name == m.name
            && o.labels.len() == m.labels.len()
            && o.labels.iter().zip(&m.labels).all(|((a, b), (c, d))| a == c && b == d)
    };
    if seen.iter().any(|o| same_series(o) || (o.name == m.name && o.kind() != kind)) {
        return Err(Invalid::DuplicateMetric);
    }
    if seen.iter().any(|o| o.name != m.name && schema::families_collide(&o.name, o.kind(), m.name, kind)) {
        return Err(Invalid::FamilyCollision);
    }
    Ok(())
}

/// A device's counter width (the dump's `Begin` said 32 or 64; anything else was refused).
fn width(counter_bits: u8) -> CounterWidth {
    CounterWidth::of(u32::from(counter_bits))
}

/// Whether `value` is a label a person can read as it is: at most [`MAX_LABEL`] bytes and no
/// control character (C0, DEL, C1), line or paragraph separator (U+2028, U+2029) or
/// bidirectional embedding, override or isolate (U+202A–U+202E, U+2066–U+2069). Device names
/// and build labels must be: they name a device in logs, pickers and alerts, where an escape
/// would not stop a name that reads as another (`evil\u{202E}gnp.exe`, a `\r`).
pub(crate) fn plain_label(value: &str) -> bool {
    value.len() <= MAX_LABEL
        && !value.chars().any(|c| {
            c.is_control()
                || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
        })
}

/// What is wrong with a dump's `Begin`, if anything: its device name and build labels.
pub(crate) fn check_begin(begin: &Begin<'_>) -> Result<(), Invalid> {
    if begin.device.is_empty() || !plain_label(begin.device) {
        return Err(Invalid::DeviceName);
    }
    let b = &begin.build;
    if [b.version, b.commit, b.branch, b.service_name, b.repository_url].into_iter().all(plain_label) {
        Ok(())
    } else {
        Err(Invalid::BuildLabel)
    }
}
