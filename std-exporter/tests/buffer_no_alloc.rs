//! Rendering into a reused `MetricsBuffer` allocates nothing after warm-up.

use picometrics::picometrics;
use std::alloc::{GlobalAlloc, Layout, System};
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

#[picometrics]
fn leaf(i: u32) -> Result<u32, u32> {
    if i % 3 == 0 {
        Err(i)
    } else {
        Ok(i)
    }
}

#[picometrics(track_concurrency)]
fn parent(i: u32) -> u32 {
    leaf(i).unwrap_or_default()
}

#[test]
fn reused_buffer_renders_without_allocating() {
    let mut buffer = picometrics_exporter::MetricsBuffer::new();
    for i in 0..10 {
        parent(i);
    }
    // Warm-up: the buffer grows to its size once per format.
    buffer.render(None);
    buffer.render(Some("application/openmetrics-text"));
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    for i in 0..100 {
        parent(i);
        let (body, _) = buffer.render(if i % 2 == 0 { None } else { Some("application/openmetrics-text") });
        assert!(body.contains("parent"));
    }
    assert_eq!(ALLOCATIONS.load(Ordering::SeqCst) - before, 0);
}
