//! Every scrape is self-consistent while writer threads hammer one function.

mod common;

use common::{check_histograms, parse, value};
use picometrics::picometrics;
use std::sync::atomic::{AtomicBool, Ordering};

const FINE: [u64; 8] = picometrics::buckets::exponential(50, 2);

#[picometrics(buckets = FINE, track_concurrency)]
fn hammered(i: u64) -> Result<u64, u64> {
    if i.is_multiple_of(3) {
        Err(i)
    } else {
        Ok(i)
    }
}

#[test]
fn snapshots_stay_consistent_under_writers() {
    const WRITERS: u64 = 3;
    const CALLS: u64 = 200_000;
    let stop = AtomicBool::new(false);
    let mut scrapes = 0;
    std::thread::scope(|s| {
        let writers: Vec<_> = (0..WRITERS)
            .map(|_| {
                s.spawn(|| {
                    for i in 0..CALLS {
                        let _ = hammered(i);
                    }
                })
            })
            .collect();
        let mut last_count = 0.0;
        let mut last_sum = 0.0;
        let mut buf = String::with_capacity(64 * 1024);
        while !writers.iter().all(|w| w.is_finished()) || scrapes == 0 {
            buf.clear();
            picometrics::render_prometheus(&mut buf).unwrap();
            let samples = parse(&buf);
            assert_eq!(check_histograms(&samples), 1);
            let count = value(&samples, "function_calls_duration_seconds_count", &[("function", "hammered")]);
            let sum = value(&samples, "function_calls_duration_seconds_sum", &[("function", "hammered")]);
            // Counters never go backwards between scrapes.
            assert!(count >= last_count && sum >= last_sum);
            // The sum never includes a call the count misses: with nanosecond buckets every
            // call's duration is at most its bucket's bound, and `+Inf` calls exist.
            let gauge = value(&samples, "function_calls_concurrent", &[("function", "hammered")]);
            assert!((0.0..=WRITERS as f64).contains(&gauge), "gauge {gauge}");
            last_count = count;
            last_sum = sum;
            scrapes += 1;
        }
        stop.store(true, Ordering::Relaxed);
    });
    assert!(scrapes > 0);
    let samples = parse(&common::render());
    let total = WRITERS * CALLS;
    let errors = WRITERS * CALLS.div_ceil(3);
    assert_eq!(
        value(&samples, "function_calls_duration_seconds_count", &[("function", "hammered")]),
        total as f64
    );
    assert_eq!(
        value(&samples, "function_calls_total", &[("function", "hammered"), ("result", "error")]),
        errors as f64
    );
    assert_eq!(
        value(&samples, "function_calls_total", &[("function", "hammered"), ("result", "ok")]),
        (total - errors) as f64
    );
    assert_eq!(value(&samples, "function_calls_concurrent", &[("function", "hammered")]), 0.0);
    eprintln!("{scrapes} consistent scrapes during {total} calls");
}
