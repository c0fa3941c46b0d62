//! Property test: for any sequence of recorded calls, a slot's snapshot equals a
//! straightforward model (per-bucket counts, sum, ok/error totals).
#![allow(clippy::unnecessary_cast)] // `CounterValue` is u32 where 64-bit atomics are missing

use picometrics::buckets;
use picometrics::slot::{FunctionSlot, SlotStorage};
use proptest::prelude::*;

const BOUNDS: [u64; 6] = [10, 100, 1_000, 10_000, 100_000, 1_000_000];

/// What the slot should report.
#[derive(Default, Debug, PartialEq)]
struct Model {
    counts: Vec<u64>,
    sum_nanos: u64,
    ok: u64,
    error: u64,
}

fn model(calls: &[(u64, bool)]) -> Model {
    let mut m = Model { counts: vec![0; BOUNDS.len() + 1], ..Model::default() };
    for &(nanos, is_error) in calls {
        // The first bound at or above the duration (`le` is inclusive), else +Inf.
        let i = BOUNDS.iter().position(|&b| nanos <= b).unwrap_or(BOUNDS.len());
        m.counts[i] += 1;
        m.sum_nanos += nanos;
        if is_error {
            m.error += 1;
        } else {
            m.ok += 1;
        }
    }
    m
}

proptest! {
    #[test]
    fn snapshot_equals_the_model(calls in prop::collection::vec((0u64..3_000_000, any::<bool>()), 0..300)) {
        let slot: FunctionSlot<6, 2> = FunctionSlot::new();
        for &(nanos, is_error) in &calls {
            let counts = slot.calls_from(None);
            slot.record(&BOUNDS, counts, nanos, is_error);
        }
        let h = slot.histogram();
        let c = slot.calls().total();
        let got = Model {
            counts: h.counts.iter().map(|&c| c as u64).collect(),
            sum_nanos: h.sum_nanos,
            ok: c.ok as u64,
            error: c.error as u64,
        };
        prop_assert_eq!(got, model(&calls));
        // Derived views agree with the counts.
        prop_assert_eq!(h.count(), calls.len() as u64);
        prop_assert_eq!(h.cumulative().last(), Some(calls.len() as u64));
    }

    #[test]
    fn bucket_index_matches_the_definition(nanos in any::<u64>()) {
        let expected = BOUNDS.iter().position(|&b| nanos <= b).unwrap_or(BOUNDS.len());
        prop_assert_eq!(buckets::index(&BOUNDS, nanos), expected);
    }
}
