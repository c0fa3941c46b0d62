//! The cases measured by the benches, the allocation counter and the callgrind driver.
//!
//! Every case calls the same [`work`] once and records what the library in question records
//! for a call: a call counter with function/module/result labels and a latency histogram.
//! Each is `#[inline(never)]`, so every case pays the same call overhead as [`empty`].

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::LazyLock;
use std::time::Instant;

pub use picometrics_test_support::alloc as alloc_counter;
pub mod decode_case;
pub mod render_cases;

/// The function body every case instruments: a few cycles of arithmetic.
#[inline(always)]
pub fn work(x: u64) -> u64 {
    black_box(x).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 7
}

/// The uninstrumented call.
#[inline(never)]
pub fn empty(x: u64) -> u64 {
    work(x)
}

/// Hand-written instrumentation doing only what is physically required.
pub mod floor {
    use super::*;

    /// Count, 14 buckets + `+Inf`, and sum.
    pub struct Floor {
        count: AtomicU64,
        buckets: [AtomicU64; 15],
        sum: AtomicU64,
    }

    impl Floor {
        const fn new() -> Self {
            Self {
                count: AtomicU64::new(0),
                buckets: [const { AtomicU64::new(0) }; 15],
                sum: AtomicU64::new(0),
            }
        }

        #[inline(always)]
        fn record(&self, bounds: &[u64; 14], elapsed: u64) {
            self.count.fetch_add(1, Relaxed);
            let mut i = 0;
            while i < bounds.len() && elapsed > bounds[i] {
                i += 1;
            }
            self.buckets[i].fetch_add(1, Relaxed);
            self.sum.fetch_add(elapsed, Relaxed);
        }

        /// Total calls recorded.
        pub fn count(&self) -> u64 {
            self.count.load(Relaxed)
        }
    }

    /// Recorded by [`instant`].
    pub static INSTANT: Floor = Floor::new();
    /// Recorded by [`tsc`].
    pub static TSC: Floor = Floor::new();
    /// Recorded by [`tsc_gauge`].
    pub static TSC_GAUGE: Floor = Floor::new();
    /// The concurrency gauge of [`tsc_gauge`].
    pub static GAUGE: AtomicU64 = AtomicU64::new(0);

    /// Two `std::time::Instant` reads, bounds in nanoseconds.
    #[inline(never)]
    pub fn instant(x: u64) -> u64 {
        let start = Instant::now();
        let r = work(x);
        let d = start.elapsed();
        INSTANT.record(
            &picometrics::buckets::DEFAULT,
            d.as_secs() * 1_000_000_000 + u64::from(d.subsec_nanos()),
        );
        r
    }

    /// ~3 cycles per ns: the default bounds scaled to cycles.
    const CYCLE_BOUNDS: [u64; 14] = {
        let mut b = picometrics::buckets::DEFAULT;
        let mut i = 0;
        while i < 14 {
            b[i] *= 3;
            i += 1;
        }
        b
    };

    /// Two raw TSC reads, bounds in cycles (no conversion at all).
    #[inline(never)]
    pub fn tsc(x: u64) -> u64 {
        let start = rdtsc();
        let r = work(x);
        TSC.record(&CYCLE_BOUNDS, rdtsc().wrapping_sub(start));
        r
    }

    /// [`tsc`] plus the two gauge updates a concurrency gauge physically requires: the floor
    /// for `track_concurrency`.
    #[inline(never)]
    pub fn tsc_gauge(x: u64) -> u64 {
        GAUGE.fetch_add(1, Relaxed);
        let start = rdtsc();
        let r = work(x);
        TSC_GAUGE.record(&CYCLE_BOUNDS, rdtsc().wrapping_sub(start));
        GAUGE.fetch_sub(1, Relaxed);
        r
    }

    #[inline(always)]
    fn rdtsc() -> u64 {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `rdtsc` has no preconditions on x86_64.
        unsafe {
            core::arch::x86_64::_rdtsc()
        }
        #[cfg(not(target_arch = "x86_64"))]
        quanta::Clock::new().raw()
    }
}

/// picometrics, as a user writes it.
pub mod pico {
    use super::work;
    use picometrics::objectives::{Objective, ObjectiveLatency, ObjectivePercentile};
    use picometrics::picometrics;

    const SLO: Objective = Objective::new("bench")
        .success_rate(ObjectivePercentile::P99_9)
        .latency(ObjectiveLatency::Ms250, ObjectivePercentile::P99);

    /// `#[picometrics]`.
    #[picometrics]
    #[inline(never)]
    pub fn plain(x: u64) -> u64 {
        work(x)
    }

    /// `#[picometrics(track_concurrency)]`.
    #[picometrics(track_concurrency)]
    #[inline(never)]
    pub fn concurrency(x: u64) -> u64 {
        work(x)
    }

    /// `#[picometrics(objective = SLO)]`.
    #[picometrics(objective = SLO)]
    #[inline(never)]
    pub fn objective(x: u64) -> u64 {
        work(x)
    }

    /// Returns `Err`.
    #[picometrics]
    #[inline(never)]
    pub fn err(x: u64) -> Result<u64, u64> {
        Err(work(x))
    }

    /// Called from [`nested_driver`], so the caller path is on.
    #[picometrics]
    #[inline(never)]
    pub fn nested(x: u64) -> u64 {
        work(x)
    }

    /// An instrumented caller that runs `f` (counted once per batch, not per call).
    #[picometrics]
    #[inline(never)]
    pub fn nested_driver<R>(f: impl FnOnce() -> R) -> R {
        f()
    }
}

/// autometrics 3 with its Prometheus exporter, as its README shows.
pub mod autometrics_case {
    use super::work;
    use autometrics::autometrics;

    /// Installs the exporter's recorder; call once.
    pub fn init() {
        let _ = autometrics::prometheus_exporter::try_init();
    }

    /// `#[autometrics]`.
    #[autometrics]
    #[inline(never)]
    pub fn plain(x: u64) -> u64 {
        work(x)
    }
}

/// `metrics` 0.24 macros with labels, recorded by `metrics-exporter-prometheus`.
pub mod metrics_case {
    use super::*;
    use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

    static HANDLE: LazyLock<PrometheusHandle> = LazyLock::new(|| {
        PrometheusBuilder::new()
            .set_buckets(&picometrics::buckets::DEFAULT.map(|n| n as f64 / 1e9))
            .expect("buckets")
            .install_recorder()
            .expect("a global recorder")
    });

    /// Installs the global recorder; call once.
    pub fn init() -> &'static PrometheusHandle {
        &HANDLE
    }

    /// Counter + histogram macros with function/module/result labels, timed with `Instant`.
    #[inline(never)]
    pub fn plain(x: u64) -> u64 {
        let start = Instant::now();
        let r = work(x);
        let labels = [("function", "plain"), ("module", module_path!()), ("result", "ok")];
        metrics::counter!("function_calls_total", &labels).increment(1);
        metrics::histogram!("function_calls_duration_seconds", &labels[..2])
            .record(start.elapsed().as_secs_f64());
        r
    }
}

/// `prometheus` 0.14: `IntCounterVec` + `HistogramVec`.
pub mod prometheus_case {
    use super::*;
    use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};

    /// The metric families, registered in their own registry.
    pub struct Metrics {
        pub registry: Registry,
        pub calls: IntCounterVec,
        pub duration: HistogramVec,
    }

    impl Metrics {
        /// The two families in a fresh registry.
        #[allow(clippy::new_without_default)] // a bench fixture, not an API
        pub fn new() -> Self {
            let registry = Registry::new();
            let calls = IntCounterVec::new(
                Opts::new("function_calls_total", "Autometrics counter for tracking function calls"),
                &["function", "module", "result"],
            )
            .unwrap();
            let duration = HistogramVec::new(
                HistogramOpts::new("function_calls_duration_seconds", "Autometrics histogram")
                    .buckets(picometrics::buckets::DEFAULT.iter().map(|&n| n as f64 / 1e9).collect()),
                &["function", "module"],
            )
            .unwrap();
            registry.register(Box::new(calls.clone())).unwrap();
            registry.register(Box::new(duration.clone())).unwrap();
            Metrics { registry, calls, duration }
        }
    }

    /// Created on first use.
    pub static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

    /// `with_label_values` on every call.
    #[inline(never)]
    pub fn labels(x: u64) -> u64 {
        let start = Instant::now();
        let r = work(x);
        let m = &*METRICS;
        m.calls.with_label_values(&["labels", module_path!(), "ok"]).inc();
        m.duration.with_label_values(&["labels", module_path!()]).observe(start.elapsed().as_secs_f64());
        r
    }

    static HANDLES: LazyLock<(prometheus::IntCounter, prometheus::Histogram)> = LazyLock::new(|| {
        let m = &*METRICS;
        (
            m.calls.with_label_values(&["handles", module_path!(), "ok"]),
            m.duration.with_label_values(&["handles", module_path!()]),
        )
    });

    /// Label values resolved once; the call only increments and observes.
    #[inline(never)]
    pub fn handles(x: u64) -> u64 {
        let start = Instant::now();
        let r = work(x);
        let (calls, duration) = &*HANDLES;
        calls.inc();
        duration.observe(start.elapsed().as_secs_f64());
        r
    }
}

/// `prometheus-client` 0.26: `Family` with a label struct.
pub mod prometheus_client_case {
    use super::*;
    use prometheus_client::encoding::EncodeLabelSet;
    use prometheus_client::metrics::counter::Counter;
    use prometheus_client::metrics::family::Family;
    use prometheus_client::metrics::histogram::Histogram;
    use prometheus_client::registry::Registry;

    /// Counter labels.
    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    pub struct CallLabels {
        pub function: &'static str,
        pub module: &'static str,
        pub result: &'static str,
    }

    /// Histogram labels.
    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    pub struct FunctionLabels {
        pub function: &'static str,
        pub module: &'static str,
    }

    type HistogramFamily = Family<FunctionLabels, Histogram, fn() -> Histogram>;

    /// The families and their registry.
    pub struct Metrics {
        pub registry: Registry,
        pub calls: Family<CallLabels, Counter>,
        pub duration: HistogramFamily,
    }

    fn histogram() -> Histogram {
        Histogram::new(picometrics::buckets::DEFAULT.map(|n| n as f64 / 1e9))
    }

    impl Metrics {
        /// The two families in a fresh registry.
        #[allow(clippy::new_without_default)] // a bench fixture, not an API
        pub fn new() -> Self {
            let mut registry = Registry::default();
            let calls = Family::<CallLabels, Counter>::default();
            let duration: HistogramFamily = Family::new_with_constructor(histogram);
            registry.register("function_calls", "Autometrics counter", calls.clone());
            registry.register("function_calls_duration_seconds", "Autometrics histogram", duration.clone());
            Metrics { registry, calls, duration }
        }
    }

    /// Created on first use.
    pub static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

    /// `get_or_create` on every call.
    #[inline(never)]
    pub fn family(x: u64) -> u64 {
        let start = Instant::now();
        let r = work(x);
        let m = &*METRICS;
        m.calls.get_or_create(&CallLabels { function: "family", module: module_path!(), result: "ok" }).inc();
        m.duration
            .get_or_create(&FunctionLabels { function: "family", module: module_path!() })
            .observe(start.elapsed().as_secs_f64());
        r
    }
}

/// A per-call case: its report name and the function.
pub type Case = (&'static str, fn(u64) -> u64);

fn pico_err(x: u64) -> u64 {
    pico::err(x).unwrap_or_else(|e| e)
}

/// The uninstrumented call returning `Err`.
#[inline(never)]
pub fn empty_err_call(x: u64) -> Result<u64, u64> {
    Err(work(x))
}

/// [`empty_err_call`] behind the same wrapper as the `picometrics/err` case: the baseline its
/// overhead is taken from (the wrapper and the `Result` cost a few instructions of their own).
fn empty_err(x: u64) -> u64 {
    empty_err_call(x).unwrap_or_else(|e| e)
}

/// The uninstrumented baseline of a case: `empty`, or `empty/err` for `picometrics/err`.
pub fn baseline(case: &str) -> &'static str {
    if case.starts_with("picometrics/err") {
        "empty/err"
    } else {
        "empty"
    }
}

/// The clock picometrics was built with, for case names.
pub const PICO_CLOCK: &str = if cfg!(feature = "tsc") { "tsc" } else { "instant" };

/// Every per-call case except the nested one (see [`run_nested`]).
pub fn cases() -> Vec<Case> {
    vec![
        ("empty", empty),
        ("empty/err", empty_err),
        ("floor/instant", floor::instant),
        ("floor/tsc", floor::tsc),
        ("floor/tsc+gauge", floor::tsc_gauge),
        ("picometrics/plain", pico::plain),
        ("picometrics/track_concurrency", pico::concurrency),
        ("picometrics/objective", pico::objective),
        ("picometrics/err", pico_err),
        ("autometrics", autometrics_case::plain),
        ("metrics", metrics_case::plain),
        ("prometheus/with_label_values", prometheus_case::labels),
        ("prometheus/handles", prometheus_case::handles),
        ("prometheus-client/family", prometheus_client_case::family),
    ]
}

/// Name of the nested case.
pub const NESTED: &str = "picometrics/nested";

/// Runs `iters` calls of the nested case from inside an instrumented caller.
#[inline(never)]
pub fn run_nested(iters: u64) -> u64 {
    pico::nested_driver(|| {
        let mut acc = 0u64;
        for i in 0..iters {
            acc = acc.wrapping_add(pico::nested(black_box(i)));
        }
        acc
    })
}

/// Runs `iters` calls of `case`.
#[inline(never)]
pub fn run_case(case: fn(u64) -> u64, iters: u64) -> u64 {
    let mut acc = 0u64;
    for i in 0..iters {
        acc = acc.wrapping_add(case(black_box(i)));
    }
    acc
}

/// Sets up every peer's global state; call once before measuring.
pub fn init_peers() {
    autometrics_case::init();
    metrics_case::init();
    LazyLock::force(&prometheus_case::METRICS);
    LazyLock::force(&prometheus_client_case::METRICS);
    for (_, case) in cases() {
        case(1);
    }
    run_nested(1);
}

/// A loopback remote-write sink for the "with a pusher" benchmark: answers every request 200
/// (keeping connections open, as `ureq` reuses them) and discards it.
pub fn start_push_sink() -> std::net::SocketAddr {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let addr = listener.local_addr().expect("its address");
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().expect("a stream"));
                let mut stream = stream;
                loop {
                    let mut length = 0usize;
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if line == "\r\n" {
                            break;
                        }
                        if let Some((name, value)) = line.split_once(':') {
                            if name.eq_ignore_ascii_case("content-length") {
                                length = value.trim().parse().unwrap_or(0);
                            }
                        }
                    }
                    let mut body = vec![0; length];
                    if reader.read_exact(&mut body).is_err()
                        || stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    addr
}
