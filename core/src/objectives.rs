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
//! assert_eq!(API_SLO.latency_threshold(), Some("0.25"));
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

/// A latency threshold; each is one of the default bucket bounds ([`crate::buckets::DEFAULT`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[allow(missing_docs)] // the names are the values
pub enum ObjectiveLatency {
    Ms5,
    Ms10,
    Ms25,
    Ms50,
    Ms75,
    Ms100,
    Ms250,
    Ms500,
    Ms750,
    Ms1000,
    Ms2500,
    Ms5000,
    Ms7500,
    Ms10000,
}

impl ObjectiveLatency {
    /// The threshold in nanoseconds.
    pub const fn as_nanos(self) -> u64 {
        let ms = match self {
            Self::Ms5 => 5,
            Self::Ms10 => 10,
            Self::Ms25 => 25,
            Self::Ms50 => 50,
            Self::Ms75 => 75,
            Self::Ms100 => 100,
            Self::Ms250 => 250,
            Self::Ms500 => 500,
            Self::Ms750 => 750,
            Self::Ms1000 => 1_000,
            Self::Ms2500 => 2_500,
            Self::Ms5000 => 5_000,
            Self::Ms7500 => 7_500,
            Self::Ms10000 => 10_000,
        };
        ms * 1_000_000
    }

    /// The `objective_latency_threshold` label text in seconds; equal, character for character,
    /// to the `le` label of the bucket with this bound (tested).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Ms5 => "0.005",
            Self::Ms10 => "0.01",
            Self::Ms25 => "0.025",
            Self::Ms50 => "0.05",
            Self::Ms75 => "0.075",
            Self::Ms100 => "0.1",
            Self::Ms250 => "0.25",
            Self::Ms500 => "0.5",
            Self::Ms750 => "0.75",
            Self::Ms1000 => "1",
            Self::Ms2500 => "2.5",
            Self::Ms5000 => "5",
            Self::Ms7500 => "7.5",
            Self::Ms10000 => "10",
        }
    }

    /// Every variant, shortest first.
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

    /// The latency threshold's label text, if there is a latency part.
    pub const fn latency_threshold(&self) -> Option<&'static str> {
        match self.latency {
            Some((t, _)) => Some(t.as_str()),
            None => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buckets::{write_seconds, DEFAULT};

    #[test]
    fn threshold_text_equals_le_text() {
        for (l, bound) in ObjectiveLatency::ALL.iter().zip(DEFAULT) {
            assert_eq!(l.as_nanos(), bound);
            let mut le = heapless::String::<32>::new();
            write_seconds(&mut le, bound).unwrap();
            assert_eq!(l.as_str(), le.as_str());
        }
    }

    #[test]
    fn builder() {
        const O: Objective = Objective::new("api")
            .success_rate(ObjectivePercentile::P99_9)
            .latency(ObjectiveLatency::Ms250, ObjectivePercentile::P99);
        assert_eq!(O.success_rate.unwrap().as_str(), "99.9");
        assert_eq!(O.latency_threshold(), Some("0.25"));
    }
}
