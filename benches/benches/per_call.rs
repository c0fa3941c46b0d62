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

/// The plain call again, while a remote-write pusher reads and sends the registry every
/// 100 ms to a loopback sink: the push thread must not change the call's cost.
fn with_pusher(c: &mut Criterion) {
    init_peers();
    let sink = picometrics_benches::start_push_sink();
    let pusher = picometrics_exporter::push::Builder::remote_write(format!("http://{sink}/api/v1/write"))
        .interval(Duration::from_millis(100))
        .start()
        .expect("a pusher");
    let mut group = c.benchmark_group("with_pusher");
    let (case_name, case) =
        cases().into_iter().find(|(n, _)| *n == "picometrics/plain").expect("the plain case");
    group.bench_function(name(case_name), |b| b.iter_custom(|iters| timed(|| run_case(case, iters))));
    group.finish();
    assert!(pusher.stats().delivered > 0, "the pusher delivered while the calls ran");
    pusher.shutdown();
}

fn timed(f: impl FnOnce() -> u64) -> Duration {
    let start = Instant::now();
    std::hint::black_box(f());
    start.elapsed()
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2)).sample_size(30);
    targets = per_call, contended, with_pusher
}
criterion_main!(benches);
