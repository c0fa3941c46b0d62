//! Compile-time checks the attribute emits as `const _: () = …;` items, so misuse fails the
//! build on the argument's span. Reached through `__private_v1` only.

use crate::objectives::Objective;

/// Panics (at compile time when called in a `const`) unless `bounds` are latency bounds
/// [`schema::check_bounds`](picometrics_schema::check_bounds) accepts.
pub const fn check_bounds(bounds: &[u64]) {
    if let Err(e) = picometrics_schema::check_bounds(bounds, true) {
        panic!("{}", e.message());
    }
}

/// Panics (at compile time in the `const` the attribute emits) if `objective` has a latency
/// part whose threshold is not one of `bounds`: its `le` bucket would not exist.
pub const fn check_objective(objective: &Objective, bounds: &[u64]) {
    if let Some((threshold, _)) = objective.latency {
        let t = threshold.as_nanos();
        let mut i = 0;
        while i < bounds.len() {
            if bounds[i] == t {
                return;
            }
            i += 1;
        }
        panic!("picometrics: the objective's latency threshold is not one of this function's bucket bounds");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buckets::DEFAULT;
    use crate::objectives::{ObjectiveLatency, ObjectivePercentile};

    #[test]
    fn default_bounds_pass() {
        check_bounds(&DEFAULT);
        check_objective(
            &Objective::new("api").latency(ObjectiveLatency::Ms250, ObjectivePercentile::P99),
            &DEFAULT,
        );
    }

    #[test]
    #[should_panic(expected = "not one of this function's bucket bounds")]
    fn threshold_must_be_a_bound() {
        check_objective(
            &Objective::new("x").latency(ObjectiveLatency::Ms5, ObjectivePercentile::P90),
            &[1, 2, 3],
        );
    }
}
