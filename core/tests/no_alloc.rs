//! Zero heap allocations across many instrumented calls and a render into a fixed buffer,
//! proven with a counting global allocator.

use picometrics::objectives::{Objective, ObjectivePercentile};
use picometrics::picometrics;
use std::future::Future;

use picometrics_test_support::alloc as counting_alloc;

use counting_alloc::{allocations_on_this_thread, CountingAllocator};

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

const SLO: Objective = Objective::new("slo").success_rate(ObjectivePercentile::P99);

#[picometrics(objective = SLO, track_concurrency)]
fn work(i: u32) -> Result<u32, u32> {
    if i.is_multiple_of(4) {
        Err(i)
    } else {
        Ok(inner(i))
    }
}

#[picometrics]
fn inner(i: u32) -> u32 {
    i.rotate_left(3)
}

#[picometrics]
async fn async_work(i: u32) -> u32 {
    inner(i)
}

/// Counted on the calling thread: the harness's own thread allocates now and then (seen under
/// load: 4 allocations elsewhere in the process during this loop).
#[test]
fn instrumented_calls_and_renders_do_not_allocate() {
    let mut buf = heapless::String::<16384>::new();
    // Warm up: thread-local initialisation and the one-time runtime service-name lookup.
    let _ = work(1);
    picometrics::render_prometheus(&mut buf).unwrap();
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);

    let before = allocations_on_this_thread();
    for i in 0..100_000 {
        let _ = std::hint::black_box(work(std::hint::black_box(i)));
        let mut f = std::pin::pin!(async_work(i));
        assert!(f.as_mut().poll(&mut cx).is_ready());
    }
    for _ in 0..10 {
        buf.clear();
        picometrics::render_prometheus(&mut buf).unwrap();
    }
    let after = allocations_on_this_thread();
    assert_eq!(after - before, 0, "allocations during calls and renders");
    assert!(buf.contains(r#"function_calls_total{function="work""#));
}
