//! Zero heap allocations across many instrumented calls and a render into a fixed buffer,
//! proven with a counting global allocator.

use picometrics::objectives::{Objective, ObjectivePercentile};
use picometrics::picometrics;
use std::alloc::{GlobalAlloc, Layout, System};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const SLO: Objective = Objective::new("slo").success_rate(ObjectivePercentile::P99);

#[picometrics(objective = SLO, track_concurrency)]
fn work(i: u32) -> Result<u32, u32> {
    if i % 4 == 0 {
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

/// One test only: the count is process-wide, and the test harness allocates per test.
#[test]
fn instrumented_calls_and_renders_do_not_allocate() {
    let mut buf = heapless::String::<16384>::new();
    // Warm up: thread-local initialisation and the one-time runtime service-name lookup.
    let _ = work(1);
    picometrics::render_prometheus(&mut buf).unwrap();
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);

    let before = ALLOCATIONS.load(Ordering::SeqCst);
    for i in 0..100_000 {
        let _ = std::hint::black_box(work(std::hint::black_box(i)));
        let mut f = std::pin::pin!(async_work(i));
        assert!(f.as_mut().poll(&mut cx).is_ready());
    }
    for _ in 0..10 {
        buf.clear();
        picometrics::render_prometheus(&mut buf).unwrap();
    }
    let after = ALLOCATIONS.load(Ordering::SeqCst);
    assert_eq!(after - before, 0, "allocations during calls and renders");
    assert!(buf.contains(r#"function_calls_total{function="work""#));
}
