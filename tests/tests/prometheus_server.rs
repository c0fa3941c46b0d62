//! A real Prometheus server (Debian's `prometheus`, installed by `scripts/test.sh`) scrapes the
//! demo service every second; then every query the attribute generates runs through
//! Prometheus' HTTP API and must return the series and values the workload implies.
//!
//! Prometheus asks for OpenMetrics first, so this also checks the OpenMetrics output against
//! Prometheus' own parser (a target whose output fails to parse has `up == 0`).

use picometrics::queries::Query;
use picometrics_exporter::rules;
use picometrics_integration_tests::prometheus::{query, run, temp_dir_named, try_query};
use picometrics_integration_tests::{start_demo, Running};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn start_prometheus(dir: &Path, target: &str) -> (Running, String) {
    // The alerting and recording rules for the demo's objectives, as its endpoint serves them.
    let rules =
        ureq::get(&format!("http://{target}/rules")).call().unwrap().body_mut().read_to_string().unwrap();
    std::fs::write(dir.join("rules.yml"), rules).unwrap();
    run(
        dir,
        &format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - rules.yml\nscrape_configs:\n  - job_name: demo\n    static_configs:\n      - targets: ['{target}']\n"
        ),
        &["--enable-feature=exemplar-storage"],
    )
}

fn generated(q: Query, function: &str, module: &str) -> String {
    let mut s = String::new();
    q.write(&mut s, function, module).unwrap();
    s
}

fn temp_dir() -> PathBuf {
    temp_dir_named("demo")
}

#[test]
fn prometheus_scrapes_the_demo_and_every_generated_query_answers() {
    let dir = temp_dir();
    let (_demo, target) = start_demo(120);
    let (_prometheus, base) = start_prometheus(&dir, &target);

    // Wait for Prometheus, then for enough scrapes for `rate()`.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "Prometheus never scraped the demo successfully");
        std::thread::sleep(Duration::from_millis(500));
        let Ok(up) = try_query(&base, "up{job=\"demo\"}") else { continue };
        let samples = query(&base, "count_over_time(up{job=\"demo\"}[1m])");
        if up.first().is_some_and(|(_, v)| *v == 1.0) && samples.first().is_some_and(|(_, n)| *n >= 8.0) {
            break;
        }
    }
    // Every scrape so far succeeded (OpenMetrics parsed by Prometheus itself) — gzipped, as
    // Prometheus asks for every scrape (`Accept-Encoding: gzip`) and the demo answers it so.
    assert_eq!(query(&base, "min_over_time(up{job=\"demo\"}[1m])")[0].1, 1.0);
    let head = {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(&target).unwrap();
        write!(s, "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).unwrap();
        String::from_utf8_lossy(&raw[..raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap()]).to_lowercase()
    };
    assert!(head.contains("content-encoding: gzip"), "what Prometheus gets: {head}");

    let (f, m) = ("handle_request", "demo");
    let single = |q: Query| {
        let promql = generated(q, f, m);
        let result = query(&base, &promql);
        assert_eq!(result.len(), 1, "{promql} returned {result:?}");
        result[0].1
    };

    let rate = single(Query::RequestRate);
    assert!(rate > 10.0, "request rate {rate}/s");

    // Exactly 1 in 10 requests fails in the demo.
    let errors = single(Query::ErrorRatio);
    assert!((errors - 0.1).abs() < 0.03, "error ratio {errors}");

    // The demo's handler takes 1–3 ms, 40 ms on 1 in 25 calls: p95 lies in the first buckets,
    // p99 in the 25–50 ms bucket.
    let p95 = single(Query::LatencyP95);
    assert!((0.0..=0.01).contains(&p95), "p95 {p95}");
    let p99 = single(Query::LatencyP99);
    assert!((0.025..=0.05).contains(&p99), "p99 {p99}");

    let concurrent = single(Query::ConcurrentCalls);
    assert!((0.0..=2.0).contains(&concurrent), "concurrent {concurrent}");

    // Functions called by the handler: the database query and the page render.
    let callees = query(&base, &generated(Query::Callees, f, m));
    let mut names: Vec<String> =
        callees.iter().map(|(labels, _)| labels["function"].as_str().unwrap().to_owned()).collect();
    names.sort();
    assert_eq!(names, ["query", "render"], "{callees:?}");
    assert!(callees.iter().all(|(_, r)| *r > 0.0));

    // The queries of the nested functions answer too, with their own numbers.
    let db_errors = query(&base, &generated(Query::ErrorRatio, "query", "demo::db"));
    assert!((db_errors[0].1 - 0.1).abs() < 0.03, "{db_errors:?}");
    let render_errors = query(&base, &generated(Query::ErrorRatio, "render", "demo::cache"));
    assert_eq!(render_errors[0].1, 0.0);

    // A call cancelled by its caller's timeout is an error: the demo's client gives up on one
    // `fetch_profile` in five.
    let timeouts = query(&base, &generated(Query::ErrorRatio, "fetch_profile", "demo::profile"));
    assert!((timeouts[0].1 - 0.2).abs() < 0.07, "timeout error ratio {timeouts:?}");

    // The build_info-joined queries split the same numbers by version and commit.
    for (q, plain) in [
        (Query::RequestRateByVersion, rate),
        (Query::ErrorRatioByVersion, errors),
        (Query::LatencyP95ByVersion, p95),
    ] {
        let promql = generated(q, f, m);
        let by_version = query(&base, &promql);
        assert_eq!(by_version.len(), 1, "{promql}: {by_version:?}");
        let (labels, value) = &by_version[0];
        assert_eq!(labels["version"], env!("CARGO_PKG_VERSION"), "{promql}: {labels}");
        assert_eq!(labels["function"], f);
        // Evaluated a moment after the plain query: close, not equal.
        assert!((value - plain).abs() <= plain.abs() * 0.25 + 0.01, "{promql}: {value} vs {plain}");
    }

    // Objective labels and build_info arrive intact.
    let slo = query(&base, "count(function_calls_total{objective_name=\"api\",objective_percentile=\"99\"})");
    assert!(slo[0].1 >= 2.0);
    let threshold = query(
        &base,
        "count(function_calls_duration_seconds_bucket{function=\"handle_request\",objective_latency_threshold=\"0.25\",le=\"0.25\"})",
    );
    assert_eq!(threshold[0].1, 1.0);
    // The demo's `/rules` record every series of the official autometrics rules file for its
    // two objective parts, under the official names and `sloth_*` labels.
    for slo in ["success-rate-99", "latency-95"] {
        let sloth =
            format!("sloth_id=\"autometrics-{slo}\",sloth_service=\"autometrics\",sloth_slo=\"{slo}\"");
        let records =
            rules::WINDOWS.iter().chain(&["30d"]).map(|w| format!("slo:sli_error:ratio_rate{w}")).chain(
                [
                    "slo:objective:ratio",
                    "slo:error_budget:ratio",
                    "slo:time_period:days",
                    "slo:current_burn_rate:ratio",
                    "slo:period_burn_rate:ratio",
                    "slo:period_error_budget_remaining:ratio",
                    "sloth_slo_info",
                ]
                .map(str::to_owned),
            );
        for record in records {
            let promql = format!("{record}{{{sloth}}}");
            // A meta record reads the error ratio recorded by another group: it may take an
            // evaluation more.
            let deadline = Instant::now() + Duration::from_secs(30);
            let series = loop {
                let series = query(&base, &promql);
                if !series.is_empty() || Instant::now() > deadline {
                    break series;
                }
                std::thread::sleep(Duration::from_millis(250));
            };
            assert_eq!(series.len(), 1, "{promql}: {series:?}");
        }
    }
    let sloth = |slo: &str| format!("sloth_slo=\"{slo}\",objective_name=\"api\"");
    let one = |promql: String| {
        let r = query(&base, &promql);
        assert_eq!(r.len(), 1, "{promql}: {r:?}");
        r[0].1
    };
    // 1 in 10 calls fails: an error ratio of 0.1 against a budget of 0.01, a burn rate of 10.
    let success = one(format!("slo:sli_error:ratio_rate5m{{{}}}", sloth("success-rate-99")));
    assert!((success - 0.1).abs() < 0.03, "{success}");
    let burn = one(format!("slo:current_burn_rate:ratio{{{}}}", sloth("success-rate-99")));
    assert!((burn - 10.0).abs() < 3.0, "burn rate {burn}");
    assert_eq!(one("slo:objective:ratio{sloth_slo=\"success-rate-99\"}".into()), 0.99);
    assert_eq!(one("slo:error_budget:ratio{sloth_slo=\"latency-95\"}".into()), 1.0 - 0.95);
    assert_eq!(one("slo:time_period:days{sloth_slo=\"latency-95\"}".into()), 30.0);
    let info = query(
        &base,
        "sloth_slo_info{sloth_slo=\"latency-95\",sloth_objective=\"95\",sloth_mode=\"cli-gen-prom\"}",
    );
    assert_eq!(info.len(), 1, "{info:?}");
    // Every demo call finishes far below 250 ms.
    assert_eq!(one(format!("slo:sli_error:ratio_rate5m{{{}}}", sloth("latency-95"))), 0.0);
    // Exemplars (the demo runs each request under a trace) made it through OpenMetrics into
    // Prometheus' exemplar storage, with their trace and span ids.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let text = ureq::get(&format!("{base}/api/v1/query_exemplars"))
        .query("query", "function_calls_duration_seconds_bucket{function=\"handle_request\"}")
        .query("start", (now - 300).to_string())
        .query("end", (now + 60).to_string())
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    let body: serde_json::Value = serde_json::from_str(&text).unwrap();
    let exemplars: Vec<&serde_json::Value> = body["data"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .flat_map(|series| series["exemplars"].as_array().unwrap().iter())
        .collect();
    assert!(!exemplars.is_empty(), "no exemplars stored: {body}");
    for e in &exemplars {
        let trace = e["labels"]["trace_id"].as_str().unwrap();
        assert_eq!(trace.len(), 32, "{e}");
        assert!(trace.starts_with("0af7651916cd43dd8448eb211c80"), "{e}");
        assert_eq!(e["labels"]["span_id"].as_str().unwrap().len(), 16);
        let seconds: f64 = e["value"].as_str().unwrap().parse().unwrap();
        assert!((0.0..1.0).contains(&seconds), "{e}");
    }

    let info = query(&base, "build_info{job=\"demo\"}");
    assert_eq!(info.len(), 1);
    assert_eq!(info[0].0["service_name"], "picometrics-exporter");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A real Prometheus scrapes the endpoint over HTTPS with `tls_config` (a CA file made here
/// with rcgen) and a bearer token, as a production setup would.
#[test]
fn prometheus_scrapes_over_https_with_tls_config_and_a_token() {
    let dir = temp_dir_named("tls");
    let cert = rcgen::generate_simple_self_signed(["localhost".to_owned()]).unwrap();
    std::fs::write(dir.join("cert.pem"), cert.cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), cert.key_pair.serialize_pem()).unwrap();
    let server = picometrics_exporter::Builder::new()
        .addr("127.0.0.1:0")
        .unwrap()
        .tls(dir.join("cert.pem"), dir.join("key.pem"))
        .bearer_token("t0ken")
        .serve()
        .unwrap();
    let target = server.local_addr();
    let (prometheus, base) = run(
        &dir,
        &format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: tls\n    scheme: https\n    authorization:\n      credentials: t0ken\n    tls_config:\n      ca_file: {}\n      server_name: localhost\n    static_configs:\n      - targets: ['{target}']\n",
            dir.join("cert.pem").display()
        ),
        &[],
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        std::thread::sleep(Duration::from_millis(500));
        if let Ok(up) = try_query(&base, "up{job=\"tls\"}") {
            if up.first().is_some_and(|(_, v)| *v == 1.0) {
                break;
            }
        }
        assert!(Instant::now() < deadline, "Prometheus never scraped the HTTPS endpoint");
    }
    let info = query(&base, "build_info{job=\"tls\"}");
    assert_eq!(info.len(), 1, "{info:?}");
    server.shutdown();
    drop(prometheus);
    let _ = std::fs::remove_dir_all(&dir);
}
