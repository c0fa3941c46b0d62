//! loom model checks of the core's lock-free protocols: every interleaving (and every weak-memory
//! outcome loom models) of two threads is explored. Run with
//! `RUSTFLAGS="--cfg loom" cargo test -p picometrics --test loom --release`.
//!
//! Under `cfg(loom)` the slots are built from loom's atomics (`src/sync.rs`), at run time and
//! leaked (the protocols want `&'static`), a fresh set per explored execution.
#![cfg(loom)]

use loom::sync::atomic::{AtomicBool, Ordering};
use loom::sync::Arc;
use loom::thread;
use picometrics::__private_v1::{CallGuard, CallSite, Cancelled};
use picometrics::__private_v1::{FunctionSlot, SlotStorage};
use picometrics::build_info::BuildInfo;
use picometrics::FunctionDescriptor;

static BUILD: BuildInfo =
    BuildInfo { version: "", commit: "", branch: "", service_name: "", repository_url: "", is_binary: true };
const BOUNDS: [u64; 1] = [10];

fn leak<T>(value: T) -> &'static T {
    Box::leak(Box::new(value))
}

/// A function descriptor with a slot of its own, to act as a caller.
fn caller(name: &'static str) -> &'static FunctionDescriptor {
    leak(FunctionDescriptor::new(name, "m", None, &BOUNDS, false, &BUILD, leak(FunctionSlot::<1, 1>::new())))
}

/// Two callers race for the one caller edge: it is claimed exactly once, each call lands on
/// the edge of its own caller or in the overflow pair, and none is lost.
#[test]
fn a_caller_edge_is_claimed_once() {
    loom::model(|| {
        let slot = leak(FunctionSlot::<1, 1>::new());
        let (a, b) = (caller("a"), caller("b"));
        let ta = thread::spawn(move || slot.record(&BOUNDS, slot.calls_from(Some(a)), 1, false));
        slot.record(&BOUNDS, slot.calls_from(Some(b)), 1, true);
        ta.join().unwrap();

        let calls = slot.calls();
        assert_eq!(calls.callers.len(), 1, "one edge, claimed once");
        let edge = &calls.callers[0];
        let (winner, loser) = if edge.function == "a" { (false, true) } else { (true, false) };
        assert!(edge.function == "a" || edge.function == "b");
        // The edge holds the winner's call (a: ok, b: error); the overflow the loser's.
        assert_eq!((edge.calls.ok, edge.calls.error), (u64::from(!winner), u64::from(winner)));
        assert_eq!((calls.overflow.ok, calls.overflow.error), (u64::from(!loser), u64::from(loser)));
        assert_eq!(calls.total().ok + calls.total().error, 2);
    });
}

/// The same caller from two threads on a two-edge slot: it claims one edge, not both.
#[test]
fn one_caller_never_takes_two_edges() {
    loom::model(|| {
        let slot = leak(FunctionSlot::<1, 2>::new());
        let a = caller("a");
        let t = thread::spawn(move || slot.record(&BOUNDS, slot.calls_from(Some(a)), 1, false));
        slot.record(&BOUNDS, slot.calls_from(Some(a)), 1, false);
        t.join().unwrap();
        let calls = slot.calls();
        assert_eq!(calls.callers.len(), 1);
        assert_eq!((calls.callers[0].calls.ok, calls.overflow.ok), (2, 0));
    });
}

/// Snapshots taken while two threads record are self-consistent: cumulative buckets never
/// decrease, `+Inf` equals the count, and the sum never includes a call the count misses.
#[test]
fn snapshots_while_recording_are_consistent() {
    loom::model(|| {
        let slot = leak(FunctionSlot::<1, 1>::new());
        // 5 ns lands in the first bucket, 50 ns in `+Inf`.
        let t = thread::spawn(move || slot.record(&BOUNDS, slot.calls_from(None), 5, false));
        let u = thread::spawn(move || slot.record(&BOUNDS, slot.calls_from(None), 50, true));
        let h = slot.histogram();
        let cumulative: Vec<u64> = h.cumulative().collect();
        assert!(cumulative.windows(2).all(|w| w[0] <= w[1]), "{cumulative:?}");
        assert_eq!(*cumulative.last().unwrap(), h.count());
        // What the counted calls can add up to: the sum must not be ahead of the count.
        let counted_max = h.counts[0] * 5 + h.counts[1] * 50;
        assert!(h.sum_nanos <= counted_max, "sum {} ahead of counts {:?}", h.sum_nanos, h.counts);
        t.join().unwrap();
        u.join().unwrap();
        let h = slot.histogram();
        assert_eq!((h.counts.to_vec(), h.sum_nanos), (vec![1, 1], 55));
    });
}

/// A call that panics while another thread reads the gauge: the reader sees 0 or 1 (never a
/// wrapped-around value), and afterwards the gauge is back at 0 and the call counted as an error.
#[test]
fn the_concurrency_gauge_survives_a_panicking_call() {
    // The panics are expected: keep the output readable.
    std::panic::set_hook(Box::new(|_| {}));
    loom::model(|| {
        let slot = leak(FunctionSlot::<1, 1>::new());
        let started = Arc::new(AtomicBool::new(false));
        let flag = started.clone();
        let t = thread::spawn(move || {
            let result = std::panic::catch_unwind(|| {
                // `Skip`: a panic is an error whatever the cancellation policy.
                let site = leak(CallSite::<1, 1, _, true>::new(slot, &BOUNDS, Cancelled::Skip));
                let _guard = CallGuard::start(site);
                flag.store(true, Ordering::Release);
                panic!("instrumented function panicked");
            });
            assert!(result.is_err());
        });
        let seen = slot.concurrent();
        assert!(seen <= 1, "gauge read {seen}");
        if started.load(Ordering::Acquire) {
            // Started but maybe not finished: the gauge can still be 1, or already 0.
            assert!(slot.concurrent() <= 1);
        }
        t.join().unwrap();
        assert_eq!(slot.concurrent(), 0);
        let calls = slot.calls().total();
        assert_eq!((calls.ok, calls.error), (0, 1));
        assert_eq!(slot.histogram().count(), 1);
    });
}

/// The exemplar seqlock: a reader racing two writers returns nothing or one whole exemplar,
/// never a mix of two (trace, span and value always belong together).
#[cfg(feature = "exemplars")]
#[test]
fn an_exemplar_is_read_whole_or_not_at_all() {
    use picometrics::__private_v1::ExemplarCell;
    use picometrics::model::TraceContext;
    loom::model(|| {
        let cell = leak(ExemplarCell::new());
        let writer = thread::spawn(move || {
            cell.store(TraceContext { trace_id: 1 << 64 | 1, span_id: 1 }, 1);
            cell.store(TraceContext { trace_id: 2 << 64 | 2, span_id: 2 }, 2);
        });
        if let Some(e) = cell.load() {
            let n = e.value_nanos;
            assert!(n == 1 || n == 2, "value {n}");
            assert_eq!((e.trace.trace_id, e.trace.span_id), (u128::from(n) << 64 | u128::from(n), n));
        }
        writer.join().unwrap();
        let last = cell.load().expect("the writer finished");
        assert_eq!(last.value_nanos, 2);
    });
}
