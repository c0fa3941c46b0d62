//! A device's dump, owned, and its view as the exposition model.

use picometrics::frame::{FunctionRecord, MetricRecord, ValueRecord};
use picometrics::model::Build;
use picometrics::model::{Caller, FunctionSeries, MetricSeries, ObjectiveLabels, Source, Totals};
use picometrics::schema::{label, Kind, MAX_CALLERS, MAX_METRIC_LABELS};
use std::fmt;
use std::sync::Arc;

/// One function's metrics, owned. Its names and bounds are shared with the device's previous
/// dump where they are the same (as a rule, every one): taking a dump in allocates its counts,
/// not its labels again.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Function {
    pub(crate) function: Arc<str>,
    pub(crate) module: Arc<str>,
    pub(crate) objective: Option<Objective>,
    pub(crate) bounds: Arc<[u64]>,
    pub(crate) counts: Vec<u64>,
    pub(crate) sum_nanos: u64,
    pub(crate) root: Totals,
    pub(crate) callers: Vec<(Arc<str>, Arc<str>, Totals)>,
    pub(crate) overflow: Totals,
    pub(crate) concurrent: Option<u64>,
    pub(crate) max_nanos: Option<u64>,
}

/// One user metric series, owned.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Metric {
    pub(crate) name: String,
    pub(crate) help: String,
    pub(crate) labels: Vec<(String, String)>,
    pub(crate) value: ValueRecord,
}

impl Metric {
    pub(crate) fn kind(&self) -> Kind {
        self.value.kind()
    }
}

impl From<&MetricRecord<'_>> for Metric {
    fn from(m: &MetricRecord<'_>) -> Self {
        Self {
            name: m.name.into(),
            help: m.help.into(),
            labels: m.labels.iter().map(|(n, v)| ((*n).into(), (*v).into())).collect(),
            value: m.value.clone(),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Objective {
    pub(crate) name: String,
    pub(crate) success_percentile: Option<String>,
    pub(crate) latency: Option<(u64, String)>,
}

/// `text` as shared text: `like`'s when it is the same.
fn shared(text: &str, like: Option<&Arc<str>>) -> Arc<str> {
    match like {
        Some(like) if **like == *text => like.clone(),
        _ => text.into(),
    }
}

impl Function {
    /// `f`, owned, sharing what it has in common with `like` (the same function in the
    /// device's previous dump).
    pub(crate) fn new(f: &FunctionRecord<'_>, like: Option<&Function>) -> Self {
        let bounds = match like {
            Some(like) if *like.bounds == *f.bounds => like.bounds.clone(),
            _ => f.bounds.as_slice().into(),
        };
        let caller = |i: usize| like.and_then(|l| l.callers.get(i));
        Self {
            function: shared(f.function, like.map(|l| &l.function)),
            module: shared(f.module, like.map(|l| &l.module)),
            objective: f.objective.map(|o| Objective {
                name: o.name.into(),
                success_percentile: o.success_percentile.map(Into::into),
                latency: o.latency.map(|(t, p)| (t, p.into())),
            }),
            bounds,
            counts: f.counts.to_vec(),
            sum_nanos: f.sum_nanos,
            root: f.root,
            callers: f
                .callers
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let like = caller(i);
                    (shared(c.function, like.map(|l| &l.0)), shared(c.module, like.map(|l| &l.1)), c.calls)
                })
                .collect(),
            overflow: f.overflow,
            concurrent: f.concurrent,
            max_nanos: f.max_nanos,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct OwnedBuild {
    pub(crate) version: String,
    pub(crate) commit: String,
    pub(crate) branch: String,
    pub(crate) service_name: String,
    pub(crate) repository_url: String,
}

impl From<&Build<'_>> for OwnedBuild {
    fn from(b: &Build<'_>) -> Self {
        Self {
            version: b.version.into(),
            commit: b.commit.into(),
            branch: b.branch.into(),
            service_name: b.service_name.into(),
            repository_url: b.repository_url.into(),
        }
    }
}

/// A device's latest complete dump.
#[derive(Clone, Debug)]
pub(crate) struct Dump {
    pub(crate) seq: u32,
    pub(crate) build: OwnedBuild,
    /// The device's counter width: its sums wrap there.
    pub(crate) counter_bits: u8,
    /// Nanoseconds since the device started, when it wrote the dump.
    pub(crate) uptime_nanos: u64,
    pub(crate) functions: Vec<Function>,
    pub(crate) metrics: Vec<Metric>,
}

/// A dump being received.
#[derive(Debug)]
pub(crate) struct Pending {
    pub(crate) device: String,
    pub(crate) dump: Dump,
    /// The device's dump this one leaves its unchanged functions to (wire version 6), held by
    /// the store when it began.
    pub(crate) base: Option<u32>,
    /// Whether every function so far has the names of the previous dump's function at its
    /// place (as a rule, every one): then none repeats another, as none did in that dump, and
    /// the duplicate check can skip its scan.
    pub(crate) in_step: bool,
    /// About the bytes `dump` holds so far ([`Dump::bytes`], kept as records arrive).
    pub(crate) bytes: usize,
    /// When its last frame arrived: with several in progress, the one silent longest goes
    /// first.
    pub(crate) last: std::time::Instant,
}

impl Pending {
    /// This dump dropped for `why`.
    pub(crate) fn invalid(&self, why: crate::Invalid) -> crate::Skipped {
        crate::Skipped::Invalid { device: self.device.clone(), why }
    }
}

impl Function {
    /// About the bytes it holds (heap and inline).
    pub(crate) fn bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.function.len()
            + self.module.len()
            + 8 * (self.bounds.len() + self.counts.len())
            + self.callers.iter().map(|(n, m, _)| n.len() + m.len() + 64).sum::<usize>()
            + self.objective.as_ref().map_or(0, |o| o.name.len() + 64)
    }
}

impl Metric {
    /// About the bytes it holds (heap and inline).
    pub(crate) fn bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.name.len()
            + self.help.len()
            + self.labels.iter().map(|(n, v)| n.len() + v.len() + 48).sum::<usize>()
    }
}

impl Dump {
    /// About the bytes it holds (heap and inline).
    pub(crate) fn bytes(&self) -> usize {
        let b = &self.build;
        let build =
            b.version.len() + b.commit.len() + b.branch.len() + b.service_name.len() + b.repository_url.len();
        let functions: usize = self.functions.iter().map(Function::bytes).sum();
        let metrics: usize = self.metrics.iter().map(Metric::bytes).sum();
        std::mem::size_of::<Self>() + build + functions + metrics
    }
}

/// One device's dump as the exposition model, each series with its `device` label.
pub(crate) struct DeviceView<'a> {
    pub(crate) device: &'a str,
    pub(crate) dump: &'a Dump,
}

impl Source for DeviceView<'_> {
    fn functions(&self, each: &mut dyn FnMut(&FunctionSeries<'_>) -> fmt::Result) -> fmt::Result {
        let dump = self.dump;
        for f in &dump.functions {
            // Decoded dumps hold at most MAX_CALLERS callers (the decoder's capacity).
            let callers: heapless::Vec<Caller<'_>, MAX_CALLERS> = f
                .callers
                .iter()
                .take(MAX_CALLERS)
                .map(|(function, module, calls)| Caller { function, module, calls: *calls })
                .collect();
            each(&FunctionSeries {
                extra: Some((label::DEVICE, self.device)),
                function: &f.function,
                module: &f.module,
                service_name: &dump.build.service_name,
                objective: f.objective.as_ref().map(|o| ObjectiveLabels {
                    name: &o.name,
                    success_percentile: o.success_percentile.as_deref(),
                    latency: o.latency.as_ref().map(|(threshold, p)| (*threshold, p.as_str())),
                }),
                bounds: &f.bounds,
                counts: &f.counts,
                counter_bits: u32::from(dump.counter_bits),
                sum_nanos: f.sum_nanos,
                root: f.root,
                callers: &callers,
                overflow: f.overflow,
                concurrent: f.concurrent,
                max_nanos: f.max_nanos,
                exemplars: &[],
            })?;
        }
        Ok(())
    }

    fn metrics(&self, each: &mut dyn FnMut(&MetricSeries<'_>) -> fmt::Result) -> fmt::Result {
        let bits = u32::from(self.dump.counter_bits);
        for m in &self.dump.metrics {
            // Decoded dumps hold at most MAX_METRIC_LABELS labels (the decoder's capacity).
            let labels: heapless::Vec<(&str, &str), MAX_METRIC_LABELS> =
                m.labels.iter().take(MAX_METRIC_LABELS).map(|(n, v)| (n.as_str(), v.as_str())).collect();
            each(&MetricSeries {
                extra: Some((label::DEVICE, self.device)),
                name: &m.name,
                help: &m.help,
                labels: &labels,
                counter_bits: bits,
                value: m.value.as_value(),
            })?;
        }
        Ok(())
    }

    fn builds(&self, each: &mut dyn FnMut(&Build<'_>) -> fmt::Result) -> fmt::Result {
        let b = &self.dump.build;
        each(&Build {
            version: &b.version,
            commit: &b.commit,
            branch: &b.branch,
            service_name: &b.service_name,
            repository_url: &b.repository_url,
            extra: Some((label::DEVICE, self.device)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record<'a>(function: &'a str, bounds: &[u64]) -> FunctionRecord<'a> {
        let mut callers = heapless::Vec::new();
        let _ = callers.push(Caller { function: "caller", module: "app", calls: Totals { ok: 1, error: 0 } });
        FunctionRecord {
            function,
            module: "app::io",
            objective: None,
            bounds: heapless::Vec::from_slice(bounds).unwrap(),
            counts: heapless::Vec::from_slice(&vec![1; bounds.len() + 1]).unwrap(),
            sum_nanos: 1,
            root: Totals::default(),
            callers,
            overflow: Totals::default(),
            concurrent: None,
            max_nanos: None,
        }
    }

    #[test]
    fn a_function_shares_its_names_and_bounds_with_the_previous_dump_where_they_are_the_same() {
        let first = Function::new(&record("read", &[10, 20]), None);
        let again = Function::new(&record("read", &[10, 20]), Some(&first));
        assert_eq!(again, first);
        assert!(Arc::ptr_eq(&again.function, &first.function) && Arc::ptr_eq(&again.module, &first.module));
        assert!(Arc::ptr_eq(&again.bounds, &first.bounds));
        assert!(Arc::ptr_eq(&again.callers[0].0, &first.callers[0].0));
        // What differs is its own.
        let other = Function::new(&record("write", &[10, 30]), Some(&first));
        assert_eq!((&*other.function, &*other.bounds), ("write", &[10, 30][..]));
        assert!(Arc::ptr_eq(&other.module, &first.module), "the same module still shared");
    }
}
