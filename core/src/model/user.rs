//! User metrics (`#[picometrics::metric]`) as the model sees them: a series and its value.

use super::*;
use picometrics_schema as schema;

/// A user metric's value, as read (see [`crate::metrics`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum MetricValue<'a> {
    /// A counter's count (wraps at the counter width).
    Counter(u64),
    /// A gauge's value.
    Gauge(i64),
    /// A histogram of values (not durations): bounds, per-bucket (not cumulative) counts with
    /// `+Inf` last, and the sum of the observed values.
    Histogram {
        /// Bucket bounds (`le`), increasing.
        bounds: &'a [u64],
        /// One count per bound, then `+Inf`.
        counts: &'a [u64],
        /// Sum of the observed values (wraps at 64 bits).
        sum: u64,
    },
}

/// One user metric series (`#[picometrics::metric]`), borrowed from wherever it was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct MetricSeries<'a> {
    /// A label every series of this origin carries first, e.g. `("device", "dev-1")`.
    pub extra: Option<(&'a str, &'a str)>,
    /// The family name (a counter's ends in `_total`).
    pub name: &'a str,
    /// The `# HELP` text.
    pub help: &'a str,
    /// The constant labels, in declaration order.
    pub labels: &'a [(&'a str, &'a str)],
    /// The width of the counters the value was read from (see [`FunctionSeries::counter_bits`]).
    pub counter_bits: u32,
    /// The value.
    pub value: MetricValue<'a>,
}

impl MetricValue<'_> {
    /// The family's type.
    pub fn kind(&self) -> schema::Kind {
        match self {
            MetricValue::Counter(_) => schema::Kind::Counter,
            MetricValue::Gauge(_) => schema::Kind::Gauge,
            MetricValue::Histogram { .. } => schema::Kind::Histogram,
        }
    }
}

impl MetricSeries<'_> {
    /// The family's type.
    pub fn kind(&self) -> schema::Kind {
        self.value.kind()
    }

    /// Calls `f` with every label of the series: the extra label, then the constant ones.
    pub fn for_each_label<E>(&self, mut f: impl FnMut(&str, &str) -> Result<(), E>) -> Result<(), E> {
        if let Some((name, value)) = self.extra {
            f(name, value)?;
        }
        self.labels.iter().try_for_each(|(name, value)| f(name, value))
    }

    /// A histogram's cumulative bucket counts (`+Inf` last) at the counter width; empty for
    /// other kinds.
    pub fn cumulative(&self) -> impl Iterator<Item = u64> + '_ {
        let counts = match self.value {
            MetricValue::Histogram { counts, .. } => counts,
            _ => &[],
        };
        CounterWidth::of(self.counter_bits).running(counts.iter().copied())
    }
}
