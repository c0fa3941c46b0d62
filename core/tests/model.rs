//! Property test: for any sequence of recorded calls, a slot's snapshot equals a
//! straightforward model (per-bucket counts, sum, ok/error totals); counters wrap like the
//! model's wrapping integers.
//!
//! The test command runs this file twice: on the host's 64-bit counters, and with
//! `--cfg picometrics_counter32` on the 32-bit counters of thumbv7em and friends, where
//! wrap-around is reachable.
#![allow(clippy::unnecessary_cast, clippy::useless_conversion)] // `CounterValue` is u32 where 64-bit atomics are missing

use picometrics::__private_v1::{bucket_index, Counter, CounterValue, FunctionSlot, SlotStorage, Sum};
use picometrics::model::{Caller, Totals};
use picometrics::snapshot::CallsSnapshot;
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
        prop_assert_eq!(bucket_index(&BOUNDS, nanos), expected);
    }
}

/// One operation on a counter.
#[derive(Clone, Debug)]
enum Op {
    Add(CounterValue),
    AddRelease(CounterValue),
    Sub(CounterValue),
}

/// Counter values biased towards the ends of the range, where wrapping happens.
fn value() -> impl Strategy<Value = CounterValue> {
    prop_oneof![
        any::<CounterValue>(),
        (0..16 as CounterValue).prop_map(|d| CounterValue::MAX - d),
        0..16 as CounterValue
    ]
}

proptest! {
    /// A counter is a wrapping integer of its width, whatever the width.
    #[test]
    fn counters_wrap_like_the_model(ops in prop::collection::vec(
        prop_oneof![value().prop_map(Op::Add), value().prop_map(Op::AddRelease), value().prop_map(Op::Sub)],
        0..64,
    )) {
        let c = Counter::new();
        let mut model: CounterValue = 0;
        for op in ops {
            match op {
                Op::Add(n) => { c.add(n); model = model.wrapping_add(n); }
                Op::AddRelease(n) => { c.add_release(n); model = model.wrapping_add(n); }
                Op::Sub(n) => { c.sub(n); model = model.wrapping_sub(n); }
            }
            prop_assert_eq!(c.get(), model);
            prop_assert_eq!(c.get_acquire(), model);
        }
    }

    /// The histogram sum is 64-bit nanoseconds on every path and wraps only at 2^64.
    #[test]
    fn sums_are_64_bit_everywhere(adds in prop::collection::vec(any::<u64>(), 0..32)) {
        let s = Sum::new();
        let mut model = 0u64;
        for n in adds {
            s.add_release(n);
            model = model.wrapping_add(n);
        }
        prop_assert_eq!(s.get_acquire(), model);
    }

    /// Totals over callers wrap at the counter width, like each counter does.
    #[test]
    fn totals_wrap_at_the_counter_width(root in (value(), value()), edges in prop::collection::vec((value(), value()), 0..4), overflow in (value(), value())) {
        let t = |(ok, error): (CounterValue, CounterValue)| Totals { ok: ok.into(), error: error.into() };
        let mut callers = heapless::Vec::new();
        for &e in &edges {
            callers.push(Caller { function: "f", module: "m", calls: t(e) }).unwrap();
        }
        let snapshot = CallsSnapshot { root: t(root), callers, overflow: t(overflow) };
        let all = [root].into_iter().chain(edges).chain([overflow]);
        let (ok, error) = all.fold((0 as CounterValue, 0 as CounterValue), |(a, b), (x, y)| (a.wrapping_add(x), b.wrapping_add(y)));
        prop_assert_eq!(snapshot.total(), t((ok, error)));
    }
}

/// The width the test command's two runs cover.
#[test]
fn counter_width_is_the_configured_one() {
    let expect = if cfg!(picometrics_counter32) || !cfg!(target_has_atomic = "64") { 4 } else { 8 };
    assert_eq!(size_of::<CounterValue>(), expect);
}

/// Prometheus' reading of a counter going from `old` to `new`: a decrease is a reset.
fn prometheus_increase(old: u64, new: u64) -> u64 {
    if new >= old {
        new - old
    } else {
        new
    }
}

proptest! {
    /// Any sequence of increments to 32-bit bucket counters renders, in every cumulative
    /// series and `_count`, as Prometheus needs: never an increase that did not happen, and
    /// exactly the increase unless the sum itself passed 2^32 (the documented wrap). Summing
    /// the wrapped counters in 64 bits instead invents ~2^32 calls whenever one bucket wraps.
    #[test]
    fn cumulative_series_of_32_bit_counters_never_invent_calls(
        start in prop::collection::vec(prop_oneof![any::<u32>(), (u32::MAX - 1000)..=u32::MAX], 4),
        steps in prop::collection::vec((0usize..4, 1u64..2000), 1..40),
    ) {
        let mut counts: Vec<u64> = start.into_iter().map(u64::from).collect();
        let bounds = [10, 20, 30];
        let series = |counts: &[u64]| -> Result<Vec<u64>, TestCaseError> {
            let s = picometrics::model::FunctionSeries {
                bounds: &bounds,
                counts,
                counter_bits: 32,
                ..picometrics::model::FunctionSeries::EMPTY
            };
            prop_assert_eq!(s.count(), s.cumulative().last().unwrap());
            Ok(s.cumulative().collect())
        };
        for (bucket, k) in steps {
            let old = series(&counts)?;
            counts[bucket] = (counts[bucket] + k) & u64::from(u32::MAX);
            let new = series(&counts)?;
            for (i, (&o, &n)) in old.iter().zip(&new).enumerate() {
                let happened = if bucket <= i { k } else { 0 };
                let read = prometheus_increase(o, n);
                prop_assert!(read <= happened, "bucket {i}: read {read}, happened {happened}");
                if n >= o {
                    prop_assert_eq!(read, happened);
                }
                prop_assert!(n <= u64::from(u32::MAX));
            }
        }
    }
}
