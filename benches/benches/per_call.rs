//! Per-call cost of each case, alone and with two threads calling the same function.

use criterion::{criterion_group, criterion_main, Criterion};
use picometrics_benches::{cases, init_peers, run_case, run_nested, NESTED, PICO_CLOCK};
use std::time::{Duration, Instant};

fn name(case: &str) -> String {
    if case.starts_with("picometrics") {
        format!("{case} [{PICO_CLOCK}]")
    } else {
        case.to_owned()
    }
}

fn per_call(c: &mut Criterion) {
    init_peers();
    let mut group = c.benchmark_group("per_call");
    for (case_name, case) in cases() {
        group.bench_function(name(case_name), |b| b.iter_custom(|iters| timed(|| run_case(case, iters))));
    }
    group.bench_function(name(NESTED), |b| b.iter_custom(|iters| timed(|| run_nested(iters))));
    group.finish();
}

fn contended(c: &mut Criterion) {
    init_peers();
    let mut group = c.benchmark_group("contended_2_threads");
    for (case_name, case) in cases() {
        group.bench_function(name(case_name), |b| {
            b.iter_custom(|iters| {
                // Both threads call the same function; report wall time per call of one thread.
                let barrier = std::sync::Barrier::new(2);
                std::thread::scope(|s| {
                    let other = s.spawn(|| {
                        barrier.wait();
                        run_case(case, iters)
                    });
                    barrier.wait();
                    let d = timed(|| run_case(case, iters));
                    std::hint::black_box(other.join().unwrap());
                    d
                })
            })
        });
    }
    group.finish();
}

fn timed(f: impl FnOnce() -> u64) -> Duration {
    let start = Instant::now();
    std::hint::black_box(f());
    start.elapsed()
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2)).sample_size(30);
    targets = per_call, contended
}
criterion_main!(benches);
