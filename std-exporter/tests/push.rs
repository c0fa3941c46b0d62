//! Push delivery against a loopback receiver (axum) that answers as told: the values arrive
//! exactly and in order; a receiver that is down, answers 5xx, 429 or slowly gets the push
//! retried; a 4xx is not retried; the queue is bounded; shutdown pushes once more; the
//! self-metrics are on `/metrics`. (Decoding by an independent implementation and a real
//! Prometheus: `tests/tests/otlp.rs`, `tests/tests/remote_write.rs` at the workspace root.)
#![cfg(feature = "push")]

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::LOCATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use picometrics::picometrics;
use picometrics_exporter::push::remote_write::WriteRequest;
use picometrics_exporter::push::{self, Failure};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[picometrics]
fn pushed(i: u64) -> Result<u64, u64> {
    if i.is_multiple_of(5) {
        Err(i)
    } else {
        Ok(i)
    }
}

/// How the receiver answers.
#[derive(Clone, Copy, Debug)]
enum Mode {
    Ok,
    /// This status for the next `n` requests, then 200.
    Status(u16, usize),
    /// This status always.
    Always(u16),
    /// Answer 200 after this long.
    Slow(Duration),
    /// `302 Found` to this port's `/write` on loopback: another receiver.
    Redirect(u16),
}

#[derive(Default)]
struct Log {
    requests: Vec<(HeaderMap, Bytes)>,
}

struct Shared {
    mode: Mutex<Mode>,
    log: Mutex<Log>,
}

struct Receiver {
    addr: SocketAddr,
    shared: Arc<Shared>,
    _runtime: tokio::runtime::Runtime,
}

async fn receive(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    shared.log.lock().unwrap().requests.push((headers, body));
    let mode = *shared.mode.lock().unwrap();
    match mode {
        Mode::Ok => StatusCode::OK.into_response(),
        Mode::Status(code, n) => {
            *shared.mode.lock().unwrap() = if n > 1 { Mode::Status(code, n - 1) } else { Mode::Ok };
            StatusCode::from_u16(code).unwrap().into_response()
        }
        Mode::Always(code) => StatusCode::from_u16(code).unwrap().into_response(),
        Mode::Slow(d) => {
            tokio::time::sleep(d).await;
            StatusCode::OK.into_response()
        }
        Mode::Redirect(port) => {
            (StatusCode::FOUND, [(LOCATION, format!("http://127.0.0.1:{port}/write"))]).into_response()
        }
    }
}

impl Receiver {
    /// A receiver on `addr` (port 0: any free port).
    fn start(addr: &str, mode: Mode) -> Self {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let shared = Arc::new(Shared { mode: Mutex::new(mode), log: Mutex::default() });
        let listener = runtime.block_on(tokio::net::TcpListener::bind(addr)).unwrap();
        let addr = listener.local_addr().unwrap();
        let app =
            axum::Router::new().route("/write", axum::routing::post(receive)).with_state(shared.clone());
        runtime.spawn(async move { axum::serve(listener, app).await });
        Self { addr, shared, _runtime: runtime }
    }

    fn url(&self) -> String {
        format!("http://{}/write", self.addr)
    }

    fn set(&self, mode: Mode) {
        *self.shared.mode.lock().unwrap() = mode;
    }

    fn count(&self) -> usize {
        self.shared.log.lock().unwrap().requests.len()
    }

    fn requests(&self) -> Vec<(HeaderMap, Bytes)> {
        self.shared.log.lock().unwrap().requests.clone()
    }
}

/// A remote-write body decoded.
fn decode(body: &[u8]) -> WriteRequest {
    let bytes = snap::raw::Decoder::new().decompress_vec(body).expect("snappy");
    prost::Message::decode(bytes.as_slice()).expect("a WriteRequest")
}

/// The value and timestamp of `function_calls_total{function="pushed",result}` in a request.
fn calls(request: &WriteRequest, result: &str) -> Option<(f64, i64)> {
    request.timeseries.iter().find_map(|t| {
        let has = |n: &str, v: &str| t.labels.iter().any(|l| l.name == n && l.value == v);
        (has("__name__", "function_calls_total") && has("function", "pushed") && has("result", result))
            .then(|| (t.samples[0].value, t.samples[0].timestamp))
    })
}

fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn builder(url: String) -> push::Builder {
    push::Builder::remote_write(url)
        .interval(Duration::from_millis(200))
        .max_backoff(Duration::from_millis(300))
}

#[test]
fn values_arrive_exactly_at_once_and_every_interval_with_headers() {
    for i in 0..50 {
        let _ = pushed(i);
    }
    let receiver = Receiver::start("127.0.0.1:0", Mode::Ok);
    let started = Instant::now();
    let pusher = builder(receiver.url())
        .external_label("job", "push-test")
        .basic_auth("user", "pass")
        .header("X-Scope-OrgID", "tenant-1")
        .start()
        .unwrap();
    wait_until("the first push", Duration::from_secs(5), || receiver.count() >= 1);
    assert!(started.elapsed() < Duration::from_secs(2), "the first push is made at once");
    wait_until("three pushes", Duration::from_secs(10), || receiver.count() >= 3);
    let requests = receiver.requests();
    let (headers, body) = &requests[0];
    assert_eq!(headers["content-encoding"], "snappy");
    assert_eq!(headers["content-type"], "application/x-protobuf");
    assert_eq!(headers["x-prometheus-remote-write-version"], "0.1.0");
    assert_eq!(headers["authorization"], "Basic dXNlcjpwYXNz");
    assert_eq!(headers["x-scope-orgid"], "tenant-1");
    let first = decode(body);
    // At least the 50 calls made before; ids divisible by 5 are errors.
    let (ok, _) = calls(&first, "ok").unwrap();
    let (error, _) = calls(&first, "error").unwrap();
    assert!(ok >= 40.0 && error >= 10.0, "{ok} {error}");
    let series =
        first.timeseries.iter().find(|t| t.labels.iter().any(|l| l.value == "function_calls_total")).unwrap();
    assert!(series.labels.iter().any(|l| l.name == "job" && l.value == "push-test"), "external label");
    // Timestamps increase push after push.
    let stamps: Vec<i64> = requests.iter().map(|(_, b)| calls(&decode(b), "ok").unwrap().1).collect();
    assert!(stamps.windows(2).all(|w| w[0] < w[1]), "{stamps:?}");
    // The receiver counts a push when it arrives; the pusher, once it has read the answer.
    wait_until("three deliveries counted", Duration::from_secs(5), || pusher.stats().delivered >= 3);
    let stats = pusher.stats();
    assert!(stats.delivered >= 3 && stats.last_success.is_some(), "{stats:?}");

    // The self-metrics are on /metrics.
    let text = picometrics_exporter::render_to_string();
    assert!(text.contains("# TYPE picometrics_push_requests_total counter"), "{text}");
    assert!(text.contains(r#"picometrics_push_failures_total{exporter="remote_write",reason="rejected"} "#));
    let om = picometrics_exporter::MetricsBuffer::new()
        .render_format(picometrics_exporter::Format::OpenMetrics)
        .to_owned();
    assert!(om.ends_with("# EOF\n") && om.matches("# EOF").count() == 1);
    assert!(
        om.contains("# TYPE picometrics_push_requests counter"),
        "OpenMetrics names the family without _total"
    );
    pusher.shutdown();
}

#[test]
fn a_receiver_down_for_a_while_gets_every_push_retried_in_order() {
    // A port with nothing on it, for now.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let pusher = builder(format!("http://127.0.0.1:{port}/write")).start().unwrap();
    wait_until("connection failures", Duration::from_secs(5), || {
        pusher.stats().failed(Failure::Connection) >= 2
    });
    assert_eq!(pusher.stats().delivered, 0);
    assert!(pusher.stats().pending >= 1);
    for i in 0..10 {
        let _ = pushed(i);
    }
    let receiver = Receiver::start(&format!("127.0.0.1:{port}"), Mode::Ok);
    wait_until("delivery after the receiver came up", Duration::from_secs(10), || {
        pusher.stats().delivered >= 3 && pusher.stats().pending == 0
    });
    // Everything held was sent oldest first, and the counts never went down.
    let values: Vec<(f64, i64)> =
        receiver.requests().iter().map(|(_, b)| calls(&decode(b), "ok").unwrap()).collect();
    assert!(values.windows(2).all(|w| w[0].0 <= w[1].0 && w[0].1 < w[1].1), "{values:?}");
    pusher.shutdown();
}

#[test]
fn server_errors_and_throttling_are_retried_client_errors_are_not() {
    let receiver = Receiver::start("127.0.0.1:0", Mode::Status(500, 3));
    let pusher = builder(receiver.url()).start().unwrap();
    wait_until("delivery after three 500s", Duration::from_secs(10), || pusher.stats().delivered >= 1);
    assert_eq!(pusher.stats().failed(Failure::ServerError), 3);
    receiver.set(Mode::Status(429, 2));
    wait_until("delivery after two 429s", Duration::from_secs(10), || {
        pusher.stats().failed(Failure::Throttled) == 2
    });
    let delivered = pusher.stats().delivered;
    wait_until("delivery after throttling", Duration::from_secs(10), || pusher.stats().delivered > delivered);
    pusher.shutdown();

    // 400: each push is tried once and dropped; nothing piles up.
    let receiver = Receiver::start("127.0.0.1:0", Mode::Always(400));
    let pusher = builder(receiver.url()).start().unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    let stats = pusher.stats();
    pusher.shutdown();
    let attempts = receiver.count() as u64;
    assert!(attempts >= 4, "about one push per 200 ms: {attempts}");
    assert_eq!(stats.pending, 0, "{stats:?}");
    // Every attempt was a different push (shutdown's last one included): no retries.
    let stamps: Vec<i64> =
        receiver.requests().iter().map(|(_, b)| calls(&decode(b), "ok").map_or(0, |c| c.1)).collect();
    assert!(stamps.windows(2).all(|w| w[0] < w[1]), "a rejected push was sent again: {stamps:?}");
}

#[test]
fn a_slow_receiver_times_out_then_gets_the_push() {
    let receiver = Receiver::start("127.0.0.1:0", Mode::Slow(Duration::from_millis(1500)));
    let pusher = builder(receiver.url()).timeout(Duration::from_millis(200)).start().unwrap();
    wait_until("timeouts", Duration::from_secs(10), || pusher.stats().failed(Failure::Timeout) >= 2);
    assert_eq!(pusher.stats().delivered, 0);
    receiver.set(Mode::Ok);
    wait_until("delivery once it is fast", Duration::from_secs(10), || pusher.stats().delivered >= 1);
    pusher.shutdown();
}

#[test]
fn the_queue_is_bounded_oldest_dropped_and_shutdown_pushes_once_more() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let pusher = push::Builder::remote_write(format!("http://127.0.0.1:{port}/write"))
        .interval(Duration::from_millis(100))
        .max_backoff(Duration::from_secs(60))
        .max_pending(3)
        .start()
        .unwrap();
    wait_until("drops", Duration::from_secs(10), || pusher.stats().failed(Failure::Dropped) >= 5);
    assert_eq!(pusher.stats().pending, 3, "memory is bounded by the queue");
    pusher.shutdown();

    // A long interval: the only pushes are the first and shutdown's.
    let receiver = Receiver::start("127.0.0.1:0", Mode::Ok);
    let pusher =
        push::Builder::remote_write(receiver.url()).interval(Duration::from_secs(3600)).start().unwrap();
    wait_until("the first push", Duration::from_secs(5), || receiver.count() == 1);
    let before = calls(&decode(&receiver.requests()[0].1), "ok").map_or(0.0, |c| c.0);
    for i in 1..=4 {
        let _ = pushed(i);
    }
    pusher.shutdown();
    let requests = receiver.requests();
    assert_eq!(requests.len(), 2, "shutdown pushed once more");
    let after = calls(&decode(&requests[1].1), "ok").unwrap().0;
    assert!(after >= before + 4.0, "the last push has the latest counts: {before} → {after}");
}

/// A receiver that redirects elsewhere (another origin on loopback): the pusher follows
/// nothing — nothing reaches the other receiver, least of all the credentials and custom
/// headers — and every attempt is a failure counted as `redirected`, never a delivery.
#[test]
fn a_redirect_is_a_failed_push_and_credentials_stay_with_the_configured_url() {
    let elsewhere = Receiver::start("127.0.0.1:0", Mode::Ok);
    let receiver = Receiver::start("127.0.0.1:0", Mode::Redirect(elsewhere.addr.port()));
    let pusher = builder(receiver.url())
        .basic_auth("user", "pass")
        .header("X-Scope-OrgID", "tenant-1")
        .interval(Duration::from_millis(100))
        .start()
        .unwrap();
    // The attack happened: the receiver answered several pushes with its redirect.
    wait_until("three redirected pushes", Duration::from_secs(10), || {
        pusher.stats().failed(Failure::Redirected) >= 3
    });
    assert!(receiver.count() >= 3, "{} requests reached the redirecting receiver", receiver.count());
    let stats = pusher.stats();
    assert_eq!((stats.delivered, stats.last_success), (0, None), "{stats:?}");
    assert_eq!(elsewhere.count(), 0, "the redirect was followed");
    assert!(receiver.requests()[0].0.contains_key("x-scope-orgid"), "the configured URL got its headers");
    pusher.shutdown();
    assert_eq!(elsewhere.count(), 0, "the redirect was followed at shutdown");
}

/// Parts taken at their own times, handed over once: the first call has them all.
struct Parts {
    parts: u64,
    given: std::sync::atomic::AtomicBool,
    t0: std::time::SystemTime,
}

impl push::Snapshots for Parts {
    fn since(
        &self,
        cursor: u64,
        each: &mut dyn FnMut(&dyn picometrics::model::Source, std::time::SystemTime),
    ) -> u64 {
        if !self.given.swap(true, std::sync::atomic::Ordering::Relaxed) {
            for i in 0..self.parts {
                each(&picometrics::registry::Registry, self.t0 + Duration::from_millis(i));
            }
        }
        cursor + 1
    }
}

/// Snapshots go out once each, at their own times, however many requests they take: a push
/// split into more requests than `max_pending` keeps them all; an interval with nothing new
/// sends nothing.
#[test]
fn snapshots_are_pushed_once_at_their_times_in_as_many_requests_as_they_take() {
    let _ = pushed(1);
    let receiver = Receiver::start("127.0.0.1:0", Mode::Ok);
    let t0 = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let parts = 3000;
    let pusher = builder(receiver.url())
        .max_pending(1)
        .snapshots(Arc::new(Parts { parts, given: false.into(), t0 }))
        .start()
        .unwrap();
    // The registry's series per part, as one whole-registry request has them.
    let per_part =
        picometrics_exporter::push::remote_write::request(&picometrics::registry::Registry, &[], 0)
            .timeseries
            .len();
    let total = parts as usize * per_part;
    let series = || -> usize { receiver.requests().iter().map(|(_, b)| decode(b).timeseries.len()).sum() };
    wait_until("every part", Duration::from_secs(20), || series() >= total);
    std::thread::sleep(Duration::from_millis(700));
    let requests = receiver.requests();
    assert!(requests.len() >= 2, "{total} series in one request");
    assert_eq!(series(), total, "each part once, none after");
    assert_eq!(pusher.stats().failed(Failure::Dropped), 0);
    let stamps: Vec<i64> = requests
        .iter()
        .flat_map(|(_, b)| decode(b).timeseries.into_iter().map(|t| t.samples[0].timestamp))
        .collect();
    let first = 1_700_000_000_000;
    assert_eq!((stamps.iter().min(), stamps.iter().max()), (Some(&first), Some(&(first + parts as i64 - 1))));
    pusher.shutdown();
}
