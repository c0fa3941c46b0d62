//! Rendering into a reused `MetricsBuffer` allocates nothing after warm-up.

use picometrics::picometrics;

use picometrics_test_support::alloc as counting_alloc;

use counting_alloc::{allocations_on_this_thread, CountingAllocator};

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

#[picometrics]
fn leaf(i: u32) -> Result<u32, u32> {
    if i.is_multiple_of(3) {
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

#[test]
fn calls_allocate_nothing_while_the_explorer_samples() {
    // The explorer's sampler reads the registry every 10 ms on its own thread; the calls on
    // this thread must not notice it.
    let server = picometrics_exporter::Builder::new()
        .addr("127.0.0.1:0")
        .unwrap()
        .history(std::time::Duration::from_millis(10), 50, 16)
        .serve()
        .unwrap();
    for i in 0..10 {
        parent(i);
    }
    let before = allocations_on_this_thread();
    let started = std::time::Instant::now();
    let mut calls = 0u32;
    // At least 30 sampling intervals of calls.
    while started.elapsed() < std::time::Duration::from_millis(300) {
        parent(calls);
        calls += 1;
    }
    assert_eq!(allocations_on_this_thread() - before, 0, "{calls} calls allocated");
    // The sampler did run meanwhile: the overview has seen the calls.
    let overview = http_get(server.local_addr(), "/api/v1/overview");
    let json: serde_json::Value = serde_json::from_str(&overview).unwrap();
    let parent_row =
        json["functions"].as_array().unwrap().iter().find(|f| f["function"] == "parent").unwrap();
    assert!(parent_row["calls"].as_u64().unwrap() >= 10, "{parent_row}");
    server.shutdown();
}

/// A GET over a plain socket: the body.
fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    s.read_to_string(&mut response).unwrap();
    response.split_once("\r\n\r\n").unwrap().1.to_owned()
}
