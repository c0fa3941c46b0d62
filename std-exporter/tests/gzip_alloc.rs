//! Gzipping `/metrics` costs no allocation per scrape once warm: the deflate state and the
//! output buffer come from a pool and go back to it (a fresh gzip encoder per scrape would
//! allocate its ~300 KiB state every time). Counted on this thread, scrape against scrape:
//! a gzipped one allocates no more than the same scrape sent as is.

use picometrics_test_support::alloc as counting_alloc;

use counting_alloc::{allocations_on_this_thread, CountingAllocator};
use hyper::body::Body;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use tower_service::Service;

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// One scrape through the service, every frame of its body taken and dropped; its
/// allocations on this thread and the bytes it sent.
fn scrape(service: &mut picometrics_exporter::HttpService, gzip: bool) -> (u64, usize) {
    let mut cx = Context::from_waker(Waker::noop());
    let mut request = hyper::Request::get("/metrics");
    if gzip {
        request = request.header("accept-encoding", "gzip");
    }
    let request = request.body(()).unwrap();
    let before = allocations_on_this_thread();
    let Poll::Ready(Ok(response)) = pin!(service.call(request)).poll(&mut cx) else { panic!("not ready") };
    assert_eq!(response.headers().contains_key("content-encoding"), gzip);
    let mut body = pin!(response.into_body());
    let mut sent = 0;
    while let Poll::Ready(Some(frame)) = body.as_mut().poll_frame(&mut cx) {
        sent += frame.unwrap().into_data().unwrap().len();
    }
    (allocations_on_this_thread() - before, sent)
}

#[test]
fn a_gzipped_scrape_allocates_no_more_than_a_plain_one_once_warm() {
    let line = "fleet_reading_total{device=\"dev-0001\",sensor=\"t\"} 123456\n";
    let pieces: Vec<Arc<str>> =
        (0..20).map(|i| Arc::from(format!("# {i}\n{}", line.repeat(2_000)))).collect();
    let total: usize = pieces.iter().map(|p| p.len()).sum();
    let mut service = picometrics_exporter::Builder::new()
        .explorer(false)
        .metrics_chunks(move |out| out.extend(pieces.iter().cloned()))
        .into_service();
    for _ in 0..3 {
        scrape(&mut service, true);
        scrape(&mut service, false);
    }
    for _ in 0..10 {
        let (plain, plain_bytes) = scrape(&mut service, false);
        let (gzipped, gzip_bytes) = scrape(&mut service, true);
        assert_eq!(plain_bytes, total);
        assert!(gzip_bytes * 20 < total, "{gzip_bytes} of {total} bytes: compressed");
        assert!(gzipped <= plain, "a gzipped scrape allocated {gzipped} times, a plain one {plain}");
    }
}
