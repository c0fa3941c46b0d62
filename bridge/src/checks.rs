//! The exposition rules a device's dump must keep: checked per record as it arrives.

use crate::dump::{Function, Metric};
use crate::{Invalid, MAX_LABEL};
use picometrics::frame::{FunctionRecord, MetricRecord, ValueRecord};
use picometrics::model::Caller;
use picometrics::schema::OVERFLOW_CALLER;
use picometrics::schema::{check_metric_help, check_metric_label, check_metric_name, Kind, BOOTS, RESETS};

/// What is wrong with `f` from a device with `counter_bits`-wide counters, if anything.
pub(crate) fn check(f: &FunctionRecord<'_>, counter_bits: u8, seen: &[Function]) -> Result<(), Invalid> {
    let bounds_ok = !f.bounds.is_empty() && f.bounds[0] > 0 && f.bounds.windows(2).all(|w| w[0] < w[1]);
    if !bounds_ok {
        return Err(Invalid::Bounds);
    }
    if f.counts.len() != f.bounds.len() + 1 {
        return Err(Invalid::Counts);
    }
    let max = if counter_bits >= 64 { u64::MAX } else { (1u64 << counter_bits) - 1 };
    let totals = [f.root, f.overflow].into_iter().chain(f.callers.iter().map(|c| c.calls));
    let values = f.counts.iter().copied().chain(f.concurrent).chain(totals.flat_map(|t| [t.ok, t.error]));
    // The histogram's count must fit too: its cumulative buckets are sums at that width, and
    // one that wrapped would make the buckets decrease within the dump.
    let count = f.counts.iter().try_fold(0u64, |sum, &c| sum.checked_add(c).filter(|&s| s <= max));
    if values.into_iter().any(|v| v > max) || count.is_none() {
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
    if seen.iter().any(|g| g.function == f.function && g.module == f.module) {
        return Err(Invalid::Duplicate);
    }
    Ok(())
}

/// What is wrong with the user metric `m` from a device with `counter_bits`-wide counters,
/// if anything: the same rules the attribute applies at compile time, and no series twice.
pub(crate) fn check_metric(m: &MetricRecord<'_>, counter_bits: u8, seen: &[Metric]) -> Result<(), Invalid> {
    let kind = m.value.kind();
    let labels_ok = m.labels.iter().enumerate().all(|(i, (name, value))| {
        check_metric_label(name, value).is_ok() && !m.labels[..i].iter().any(|(other, _)| other == name)
    });
    // The core's own persisted counters (`persist`) carry the reserved `picometrics_` prefix.
    let core_metric = kind == Kind::Counter && [BOOTS.name, RESETS.name].contains(&m.name);
    let name_ok = core_metric || check_metric_name(m.name, kind).is_ok();
    if !name_ok || check_metric_help(m.help).is_err() || !labels_ok {
        return Err(Invalid::Metric);
    }
    let max = if counter_bits >= 64 { u64::MAX } else { (1u64 << counter_bits) - 1 };
    match &m.value {
        ValueRecord::Counter(v) if *v > max => return Err(Invalid::CounterWidth),
        ValueRecord::Gauge(v) if counter_bits < 64 && i32::try_from(*v).is_err() => {
            return Err(Invalid::CounterWidth)
        }
        ValueRecord::Histogram { bounds, counts, .. } => {
            if bounds.is_empty()
                || !bounds.windows(2).all(|w| w[0] < w[1])
                || counts.len() != bounds.len() + 1
            {
                return Err(Invalid::Metric);
            }
            let count = counts.iter().try_fold(0u64, |sum, &c| sum.checked_add(c).filter(|&s| s <= max));
            if count.is_none() {
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
    Ok(())
}
