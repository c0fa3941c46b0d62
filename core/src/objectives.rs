//! Service-level objectives, declared as `const`s and attached with
//! `#[picometrics(objective = …)]`.
//!
//! A function with an objective carries `objective_name` and `objective_percentile` on
//! `function_calls_total` (success rate) and `objective_name`, `objective_percentile` and
//! `objective_latency_threshold` on `function_calls_duration_seconds` (latency), the labels the
//! autometrics alerting rules select on.
//!
//! ```
//! use picometrics::objectives::{Objective, ObjectiveLatency, ObjectivePercentile};
//!
//! const API_SLO: Objective = Objective::new("api")
//!     .success_rate(ObjectivePercentile::P99_9)
//!     .latency(ObjectiveLatency::Ms250, ObjectivePercentile::P99);
//! assert_eq!(API_SLO.latency_threshold().unwrap().to_string(), "0.25");
//! ```

/// The share of calls an objective expects to meet it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum ObjectivePercentile {
    /// 90 %.
    P90,
    /// 95 %.
    P95,
    /// 99 %.
    P99,
    /// 99.9 %.
    P99_9,
}

impl ObjectivePercentile {
    /// The `objective_percentile` label text: `90`, `95`, `99`, `99.9`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::P90 => "90",
            Self::P95 => "95",
            Self::P99 => "99",
            Self::P99_9 => "99.9",
        }
    }
}

/// A latency threshold: any bucket bound of the function it is attached to, from nanoseconds
/// to hours. The autometrics thresholds (the default bounds, 5 ms to 10 s) are named constants;
/// a hot path with nanosecond buckets uses [`ObjectiveLatency::from_micros`] and friends.
///
/// Its label text is the bound's `le` text, written by the one seconds formatter
/// through `Display`, so the two are equal character for
/// character. A threshold that is not one of the function's bounds is a compile error.
///
/// ```
/// use picometrics::objectives::ObjectiveLatency;
/// assert_eq!(ObjectiveLatency::from_micros(50).to_string(), "0.00005");
/// assert_eq!(ObjectiveLatency::Ms250.to_string(), "0.25");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ObjectiveLatency {
    nanos: u64,
}

#[allow(non_upper_case_globals, missing_docs)] // named like the enum variants they were; the names are the values
impl ObjectiveLatency {
    pub const Ms5: Self = Self::from_millis(5);
    pub const Ms10: Self = Self::from_millis(10);
    pub const Ms25: Self = Self::from_millis(25);
    pub const Ms50: Self = Self::from_millis(50);
    pub const Ms75: Self = Self::from_millis(75);
    pub const Ms100: Self = Self::from_millis(100);
    pub const Ms250: Self = Self::from_millis(250);
    pub const Ms500: Self = Self::from_millis(500);
    pub const Ms750: Self = Self::from_millis(750);
    pub const Ms1000: Self = Self::from_millis(1_000);
    pub const Ms2500: Self = Self::from_millis(2_500);
    pub const Ms5000: Self = Self::from_millis(5_000);
    pub const Ms7500: Self = Self::from_millis(7_500);
    pub const Ms10000: Self = Self::from_millis(10_000);
}

impl ObjectiveLatency {
    /// A threshold of `nanos` nanoseconds.
    pub const fn from_nanos(nanos: u64) -> Self {
        Self { nanos }
    }

    /// A threshold of `micros` microseconds.
    pub const fn from_micros(micros: u64) -> Self {
        Self::from_nanos(micros * 1_000)
    }

    /// A threshold of `millis` milliseconds.
    pub const fn from_millis(millis: u64) -> Self {
        Self::from_nanos(millis * 1_000_000)
    }

    /// The threshold in nanoseconds.
    pub const fn as_nanos(self) -> u64 {
        self.nanos
    }

    /// The autometrics thresholds (the default bucket bounds), shortest first.
    pub const ALL: [Self; 14] = [
        Self::Ms5,
        Self::Ms10,
        Self::Ms25,
        Self::Ms50,
        Self::Ms75,
        Self::Ms100,
        Self::Ms250,
        Self::Ms500,
        Self::Ms750,
        Self::Ms1000,
        Self::Ms2500,
        Self::Ms5000,
        Self::Ms7500,
        Self::Ms10000,
    ];
}

/// The `objective_latency_threshold` text: the bound in seconds, as its `le` label has it.
impl core::fmt::Display for ObjectiveLatency {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        crate::format::write_seconds(f, self.nanos)
    }
}

/// A named objective with a success-rate part, a latency part, or both.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Objective {
    /// The `objective_name` label.
    pub name: &'static str,
    /// Share of calls that must not return an error.
    pub success_rate: Option<ObjectivePercentile>,
    /// Share of calls that must finish within the threshold.
    pub latency: Option<(ObjectiveLatency, ObjectivePercentile)>,
}

impl Objective {
    /// An objective with neither part yet.
    pub const fn new(name: &'static str) -> Self {
        Self { name, success_rate: None, latency: None }
    }

    /// Adds a success-rate part.
    pub const fn success_rate(mut self, percentile: ObjectivePercentile) -> Self {
        self.success_rate = Some(percentile);
        self
    }

    /// Adds a latency part.
    pub const fn latency(mut self, threshold: ObjectiveLatency, percentile: ObjectivePercentile) -> Self {
        self.latency = Some((threshold, percentile));
        self
    }

    /// The latency threshold, if there is a latency part (its `Display` is the label text).
    pub const fn latency_threshold(&self) -> Option<ObjectiveLatency> {
        match self.latency {
            Some((t, _)) => Some(t),
            None => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buckets::DEFAULT;
    use crate::format::write_seconds;
    use core::fmt::Write;

    fn text(l: ObjectiveLatency) -> heapless::String<32> {
        let mut s = heapless::String::new();
        write!(s, "{l}").unwrap();
        s
    }

    #[test]
    fn threshold_text_equals_le_text() {
        for (l, bound) in ObjectiveLatency::ALL.iter().zip(DEFAULT) {
            assert_eq!(l.as_nanos(), bound);
            let mut le = heapless::String::<32>::new();
            write_seconds(&mut le, bound).unwrap();
            assert_eq!(text(*l), le.as_str());
        }
        assert_eq!(text(ObjectiveLatency::from_nanos(u64::MAX)), "18446744073.709551615");
        assert_eq!(text(ObjectiveLatency::from_nanos(250)), "0.00000025");
    }

    #[test]
    fn builder() {
        const O: Objective = Objective::new("api")
            .success_rate(ObjectivePercentile::P99_9)
            .latency(ObjectiveLatency::Ms250, ObjectivePercentile::P99);
        assert_eq!(O.success_rate.unwrap().as_str(), "99.9");
        assert_eq!(text(O.latency_threshold().unwrap()), "0.25");
    }
}
