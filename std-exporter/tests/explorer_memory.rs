//! The explorer's history holds bounded memory: with more series than its limit, after its
//! rings are full, the process's live heap stops growing, and stays under the documented
//! bound. (Its own test binary: it reads the whole process's heap.)

use picometrics_test_support::alloc as counting_alloc;

use counting_alloc::{live_bytes, CountingAllocator};
use picometrics::model::{Build, FunctionSeries, Source, Totals};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// 500 functions whose counts grow at every reading, as a busy service's would.
struct Busy {
    names: Vec<String>,
    readings: AtomicU64,
}

impl Source for Busy {
    fn functions(&self, each: &mut dyn FnMut(&FunctionSeries<'_>) -> std::fmt::Result) -> std::fmt::Result {
        let n = self.readings.fetch_add(1, Ordering::Relaxed);
        let counts = [n, 2 * n, 3 * n, n, 0, 1];
        for name in &self.names {
            each(&FunctionSeries {
                function: name,
                module: "busy",
                service_name: "svc",
                bounds: &[1_000, 10_000, 100_000, 1_000_000, 10_000_000],
                counts: &counts,
                root: Totals { ok: 7 * n, error: n },
                ..FunctionSeries::EMPTY
            })?;
        }
        Ok(())
    }

    fn builds(&self, _: &mut dyn FnMut(&Build<'_>) -> std::fmt::Result) -> std::fmt::Result {
        Ok(())
    }
}

#[test]
fn history_memory_is_bounded_and_flat_once_full() {
    let (points, max_series) = (40, 200);
    let source =
        Arc::new(Busy { names: (0..500).map(|i| format!("function_{i}")).collect(), readings: 0.into() });
    let before = live_bytes();
    let server = picometrics_exporter::Builder::new()
        .addr("127.0.0.1:0")
        .unwrap()
        .history(Duration::from_millis(10), points, max_series)
        .explorer_source(source.clone())
        .serve()
        .unwrap();
    let wait_for = |readings: u64| {
        while source.readings.load(Ordering::Relaxed) < readings {
            std::thread::sleep(Duration::from_millis(5));
        }
    };
    // Rings full after `points` readings; then twice as many more.
    wait_for(points as u64 + 5);
    let full = live_bytes() - before;
    wait_for(3 * points as u64 + 5);
    let later = live_bytes() - before;
    server.shutdown();
    // The documented bound: about 12 KB a series with 300 points, i.e. 40 B a point, plus
    // 32 B a bucket and the names; here 200 series × (40 points × 40 B + 6 × 32 B + 1 KiB).
    let bound = (max_series * (points * 40 + 6 * 32 + 1024)) as i64;
    eprintln!("live heap: {full} B with full rings, {later} B later; bound {bound} B");
    assert!(full <= bound, "{full} B held with full rings, over {bound}");
    assert!((later - full).abs() <= 16 * 1024, "grew from {full} to {later} B after the rings were full");
}
