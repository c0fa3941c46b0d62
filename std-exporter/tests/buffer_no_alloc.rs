//! Rendering into a reused `MetricsBuffer` allocates nothing after warm-up.

use picometrics::picometrics;

#[path = "../../core/tests/common/counting_alloc.rs"]
mod counting_alloc;

use counting_alloc::{allocations_on_this_thread, CountingAllocator};

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

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
    let mut allocating = Vec::with_capacity(100); // iterations that allocated, for the message
    for i in 0..100 {
        let before = allocations_on_this_thread();
        parent(i);
        let (body, _) = buffer.render(if i % 2 == 0 { None } else { Some("application/openmetrics-text") });
        let len = body.len();
        let n = allocations_on_this_thread() - before;
        if n > 0 {
            allocating.push((i, n, len));
        }
    }
    assert!(allocating.is_empty(), "(iteration, allocations, body length): {allocating:?}");
}
