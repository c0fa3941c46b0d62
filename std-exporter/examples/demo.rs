//! An instrumented demo service: request handlers with a mix of ok, error and slow calls (some
//! nested, so caller labels appear), served at `/metrics`.
//!
//! `cargo run -p picometrics-exporter --example demo -- [--listen ADDR] [--duration SECONDS]
//! [--mount PREFIX]` (`-- --rules` prints the Prometheus rules for its objectives instead;
//! `--mount /obs` serves everything under `/obs/` of an axum router, through
//! `Builder::into_service`, instead of `serve`'s own server)
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

/// A price list whose method and trait method are instrumented: they report as
/// `Catalog::price` and `<Catalog as Quote>::quote` (the quote calls the price, its caller).
mod pricing {
    use picometrics::picometrics;

    /// Quotes prices.
    pub trait Quote {
        /// The price of `id` with its margin.
        fn quote(&self, id: u64) -> u64;
    }

    /// The prices of the items.
    pub struct Catalog;

    #[picometrics]
    impl Catalog {
        /// The list price of `id`.
        pub fn price(&self, id: u64) -> u64 {
            100 + id % 7
        }
    }

    #[picometrics]
    impl Quote for Catalog {
        fn quote(&self, id: u64) -> u64 {
            self.price(id) * 11 / 10
        }
    }

    /// Quotes a price every millisecond until `stop`.
    pub fn run(stop: &std::sync::atomic::AtomicBool) {
        let mut id = 0;
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            std::hint::black_box(Catalog.quote(id));
            id += 1;
            std::thread::sleep(std::time::Duration::from_millis(1));
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
    let (mut duration, mut mount, mut grafana) = (None, None, None::<String>);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => listen = args.next().expect("--listen ADDR"),
            "--duration" => {
                duration = Some(Duration::from_secs(
                    args.next().and_then(|s| s.parse().ok()).expect("--duration SECONDS"),
                ))
            }
            "--mount" => mount = Some(args.next().expect("--mount PREFIX (e.g. /obs)")),
            "--grafana-url" => grafana = Some(args.next().expect("--grafana-url URL")),
            other => panic!("unknown argument {other}; use --listen ADDR --duration SECONDS --mount PREFIX --grafana-url URL"),
        }
    }

    // `scripts/demo.sh` sets PROMETHEUS_URL when it starts a Prometheus (`picometrics up`):
    // the page then links every generated query to it.
    let prometheus = std::env::var("PROMETHEUS_URL").ok().filter(|u| !u.is_empty());
    let mut builder = picometrics_exporter::Builder::new().addr(listen.as_str())?;
    if let Some(url) = &prometheus {
        builder = builder.prometheus_url(url.clone());
    }
    if let Some(url) = &grafana {
        builder = builder.grafana_url(url.clone());
    }
    let (server, base) = match &mount {
        None => {
            let server = builder.serve()?;
            let base = format!("http://{}/", server.local_addr());
            (Some(server), base)
        }
        Some(prefix) => (None, mount_in_axum(builder, &listen, prefix)?),
    };
    // The first line stays `metrics: <url>`: scripts and tests read the address from it.
    println!("metrics: {base}metrics");
    println!("explorer: {base}");
    println!("rules: {base}rules");
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
    let pricing_stop = stop.clone();
    workers.push(std::thread::spawn(move || pricing::run(&pricing_stop)));
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
    if let Some(server) = server {
        server.shutdown();
    }
    Ok(())
}

/// Serves the endpoint under `prefix` of an axum router on `listen`, from a thread of its own;
/// returns the base URL (`http://ADDR/PREFIX/`).
fn mount_in_axum(
    builder: picometrics_exporter::Builder,
    listen: &str,
    prefix: &str,
) -> std::io::Result<String> {
    let prefix = format!("/{}", prefix.trim_matches('/'));
    let listener = std::net::TcpListener::bind(listen)?;
    listener.set_nonblocking(true)?;
    let base = format!("http://{}{prefix}/", listener.local_addr()?);
    let with_slash = format!("{prefix}/");
    // Nested at `/obs/` (the page's links are relative, so its URL ends in a slash), and `/obs`
    // sends the browser there.
    let app = axum::Router::new()
        .nest_service(&with_slash.clone(), builder.into_service())
        .route(
            &prefix,
            axum::routing::get(move || async move { axum::response::Redirect::permanent(&with_slash) }),
        )
        .route(
            "/",
            axum::routing::get(|| async {
                "the demo's own routes would be here; its metrics are under the mount\n"
            }),
        );
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    std::thread::spawn(move || {
        runtime.block_on(async {
            let listener = tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
            axum::serve(listener, app).await.expect("axum serves");
        })
    });
    Ok(base)
}
