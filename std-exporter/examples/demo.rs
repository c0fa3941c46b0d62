//! An instrumented demo service: request handlers with a mix of ok, error and slow calls (some
//! nested, so caller labels appear), served at `/metrics`.
//!
//! `cargo run -p picometrics-exporter --example demo -- [--listen ADDR] [--duration SECONDS]`
//! (`-- --rules` prints the Prometheus rules for its objectives instead)
//!
//! Prints the URLs of /metrics, the explorer page and /rules (and of Prometheus when
//! `PROMETHEUS_URL` is set: the page links its queries there), runs until the duration has
//! passed or Ctrl-C, then prints the per-function summary.

use picometrics::objectives::{Objective, ObjectiveLatency, ObjectivePercentile};
use picometrics::picometrics;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const API_SLO: Objective = Objective::new("api")
    .success_rate(ObjectivePercentile::P99)
    .latency(ObjectiveLatency::Ms250, ObjectivePercentile::P95);

#[derive(Debug)]
enum ApiError {
    NotFound,
}

/// Handles one request: 1 in 10 is an error (a missing user), 1 in 25 hits the slow path.
#[picometrics(objective = API_SLO, track_concurrency)]
fn handle_request(id: u64) -> Result<String, ApiError> {
    let user = db::query(id)?;
    Ok(cache::render(&user, id))
}

mod db {
    use super::ApiError;
    use picometrics::picometrics;
    use std::time::Duration;

    /// A database lookup: 1–3 ms, 40 ms on 1 in 25 calls; ids ending in 0 do not exist.
    #[picometrics]
    pub fn query(id: u64) -> Result<String, ApiError> {
        let ms = if id % 25 == 7 { 40 } else { 1 + id % 3 };
        std::thread::sleep(Duration::from_millis(ms));
        if id.is_multiple_of(10) {
            Err(ApiError::NotFound)
        } else {
            Ok(format!("user-{id}"))
        }
    }
}

/// A client call with a deadline: one call in five is slower than its 20 ms timeout and is
/// cancelled, which picometrics counts as an error (with its latency).
mod profile {
    use picometrics::picometrics;
    use std::time::Duration;

    #[picometrics]
    pub async fn fetch_profile(id: u64) -> Result<u64, String> {
        let ms = if id.is_multiple_of(5) { 200 } else { 2 };
        tokio::time::sleep(Duration::from_millis(ms)).await;
        Ok(id)
    }

    /// Calls `fetch_profile` under a 20 ms timeout until `stop`.
    pub fn run(stop: &std::sync::atomic::AtomicBool) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().expect("a runtime");
        let mut id = 0;
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            let _ = rt
                .block_on(async { tokio::time::timeout(Duration::from_millis(20), fetch_profile(id)).await });
            id += 1;
        }
    }
}

mod cache {
    use picometrics::picometrics;

    /// Renders a page (fast, never fails).
    #[picometrics]
    pub fn render(user: &str, id: u64) -> String {
        format!("<h1>{user}</h1><p>{}</p>", id.wrapping_mul(2_654_435_761))
    }
}

/// With the `exemplars` feature, every request runs under a (made-up) trace, so histogram
/// buckets carry exemplars in OpenMetrics output, as they would with a real tracer.
#[cfg(feature = "exemplars")]
mod traces {
    use picometrics::model::TraceContext;
    use std::cell::Cell;

    thread_local! {
        static CURRENT: Cell<Option<TraceContext>> = const { Cell::new(None) };
    }

    pub fn install() {
        let _ = picometrics::exemplars::set_source(|| CURRENT.with(Cell::get));
    }

    pub fn enter(request: u64) {
        let trace_id = 0x0af7_6519_16cd_43dd_8448_eb21_1c80_319c ^ u128::from(request);
        CURRENT.with(|c| c.set(Some(TraceContext { trace_id, span_id: request + 1 })));
    }
}

fn main() -> std::io::Result<()> {
    if std::env::args().any(|a| a == "--rules") {
        // The Prometheus rules for this program's objectives, from its link-time registry.
        let mut rules = String::new();
        picometrics_exporter::rules::write_rules(&mut rules, &Default::default()).expect("a String");
        print!("{rules}");
        return Ok(());
    }
    let mut listen = "127.0.0.1:9464".to_owned();
    let mut duration = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => listen = args.next().expect("--listen ADDR"),
            "--duration" => {
                duration = Some(Duration::from_secs(
                    args.next().and_then(|s| s.parse().ok()).expect("--duration SECONDS"),
                ))
            }
            other => panic!("unknown argument {other}; use --listen ADDR --duration SECONDS"),
        }
    }

    // `scripts/demo.sh` sets PROMETHEUS_URL when it starts a Prometheus (`picometrics up`):
    // the page then links every generated query to it.
    let prometheus = std::env::var("PROMETHEUS_URL").ok().filter(|u| !u.is_empty());
    let mut builder = picometrics_exporter::Builder::new().addr(listen.as_str())?;
    if let Some(url) = &prometheus {
        builder = builder.prometheus_url(url.clone());
    }
    let server = builder.serve()?;
    let addr = server.local_addr();
    // The first line stays `metrics: <url>`: scripts and tests read the address from it.
    println!("metrics: http://{addr}/metrics");
    println!("explorer: http://{addr}/");
    println!("rules: http://{addr}/rules");
    match &prometheus {
        Some(url) => println!("prometheus: {url}"),
        None => println!(
            "prometheus: not running (scripts/demo.sh starts one when `prometheus` is installed: \
             apt-get install prometheus)"
        ),
    }
    println!("Ctrl-C stops the demo and prints a summary of every function.");

    #[cfg(feature = "exemplars")]
    traces::install();
    let stop = Arc::new(AtomicBool::new(false));
    let on_signal = stop.clone();
    ctrlc::set_handler(move || on_signal.store(true, Ordering::Relaxed)).expect("a Ctrl-C handler");
    let started = Instant::now();
    let mut workers: Vec<_> = (0..2)
        .map(|w| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut id = w;
                while !stop.load(Ordering::Relaxed) {
                    #[cfg(feature = "exemplars")]
                    traces::enter(id);
                    let _ = handle_request(id);
                    id += 2;
                }
            })
        })
        .collect();
    let client_stop = stop.clone();
    workers.push(std::thread::spawn(move || profile::run(&client_stop)));
    while !stop.load(Ordering::Relaxed) && duration.is_none_or(|d| started.elapsed() < d) {
        std::thread::sleep(Duration::from_millis(100));
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.join();
    }
    let mut report = String::new();
    picometrics::report::write_report(&mut report).expect("a String");
    println!("{report}");
    server.shutdown();
    Ok(())
}
