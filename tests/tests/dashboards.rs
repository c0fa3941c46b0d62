//! The Grafana dashboards in `dashboards/` against a real Prometheus that scrapes the demo and a
//! bridge with two devices: every panel's every query — its template variables resolved as
//! Grafana resolves them (`label_values` through Prometheus' label API, `$__rate_interval`,
//! `$__range`) — returns data, and the data is right where the workload fixes it (the demo's
//! ~10 % errors, two devices up, one version across them).

use picometrics_integration_tests::bridge::Bridge;
use picometrics_integration_tests::prometheus::{query, run, temp_dir_named, try_query};
use picometrics_integration_tests::{root, start_demo};
use serde_json::Value;
use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Dump `seq` of `device`: `sensor::read` with 9 ok calls and 1 error per dump so far.
fn dump(device: &str, seq: u32) -> Vec<u8> {
    let n = u64::from(seq);
    let stream = Some(picometrics::frame::StreamId::of(device));
    picometrics_integration_tests::dumps::dump(device, seq, ("sensor", "read"), (n * 9, n), "2.1.0", stream)
        .concat()
}

fn post(http: &str, body: &[u8]) -> u16 {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    agent.post(&format!("http://{http}/api/v1/dumps")).send(body).map_or(0, |r| r.status().as_u16())
}

/// `label_values(SELECTOR, LABEL)` as Grafana's Prometheus data source answers it.
fn label_values(base: &str, definition: &str) -> Vec<String> {
    let inner = definition.strip_prefix("label_values(").and_then(|d| d.strip_suffix(')')).expect(definition);
    let (selector, label) = inner.rsplit_once(',').expect(definition);
    let text = ureq::get(&format!("{base}/api/v1/label/{}/values", label.trim()))
        .query("match[]", selector.trim())
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    let body: Value = serde_json::from_str(&text).unwrap();
    body["data"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect()
}

/// `$name`, `${name}` and Grafana's own variables replaced; longest names first.
fn resolve(expr: &str, vars: &BTreeMap<String, String>) -> String {
    let mut all: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    all.extend([("__rate_interval".into(), "30s".into()), ("__range".into(), "1m".into())]);
    all.sort_by_key(|(k, _)| std::cmp::Reverse(k.len()));
    let mut out = expr.to_owned();
    for (k, v) in all {
        out = out.replace(&format!("${{{k}}}"), &v).replace(&format!("${k}"), &v);
    }
    out
}

#[test]
fn every_panel_of_every_dashboard_returns_the_right_data() {
    let dir = temp_dir_named("dashboards");
    let (_demo, demo) = start_demo(120);
    let bridge = Bridge::start(&["--accept-http", "127.0.0.1:0"], Stdio::null());
    let http = bridge.logged_addr("accepting dumps at http://");
    // Two devices dump four times a second; one body is cut short (a skip to show).
    let stop = Arc::new(AtomicBool::new(false));
    let feeder = {
        let (stop, http) = (stop.clone(), http.clone());
        std::thread::spawn(move || {
            let mut seq = 1;
            while !stop.load(Ordering::Relaxed) {
                for device in ["dev-a", "dev-b"] {
                    assert_eq!(post(&http, &dump(device, seq)), 200);
                }
                seq += 1;
                std::thread::sleep(Duration::from_millis(250));
            }
        })
    };
    // A body cut short, now and again once Prometheus scrapes: the skip counter's increase.
    let cut = dump("dev-a", 1);
    let cut = &cut[..cut.len() - 8];
    assert_eq!(post(&http, cut), 422, "an incomplete dump is refused");
    let config = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: demo\n    static_configs:\n      - targets: ['{demo}']\n  - job_name: bridge\n    static_configs:\n      - targets: ['{}']\n",
        bridge.addr
    );
    let (_prometheus, base) = run(&dir, &config, &[]);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "Prometheus never had 15 scrapes of both");
        std::thread::sleep(Duration::from_millis(500));
        let Ok(up) = try_query(&base, "count_over_time(up[1m]) >= 15") else { continue };
        if up.len() == 2 {
            break;
        }
    }
    assert_eq!(post(&http, cut), 422);
    std::thread::sleep(Duration::from_secs(3));

    let mut checked = 0;
    let mut results: BTreeMap<String, Vec<(Value, f64)>> = BTreeMap::new();
    let mut files: Vec<_> =
        std::fs::read_dir(root().join("dashboards")).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert_eq!(files.len(), 4, "{files:?}");
    for path in files {
        let board: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let title = board["title"].as_str().unwrap().to_owned();
        assert!(
            board["uid"].is_string() && board["schemaVersion"].as_u64() >= Some(36),
            "{title}: importable"
        );
        // Variables in order, each resolved with the ones before it.
        let mut vars = BTreeMap::new();
        for v in board["templating"]["list"].as_array().unwrap() {
            let name = v["name"].as_str().unwrap().to_owned();
            let value = match v["type"].as_str().unwrap() {
                "datasource" => continue,
                "textbox" => v["query"].as_str().unwrap().to_owned(),
                _ if v["includeAll"] == true => v["allValue"].as_str().unwrap().to_owned(),
                _ => {
                    let definition = resolve(v["definition"].as_str().unwrap(), &vars);
                    let values = label_values(&base, &definition);
                    assert!(!values.is_empty(), "{title}: variable {name} ({definition}) has no value");
                    // The demo's function with every panel's data (concurrency, callers).
                    let preferred = values.iter().find(|x| *x == "handle_request").unwrap_or(&values[0]);
                    preferred.clone()
                }
            };
            vars.insert(name, value);
        }
        for panel in board["panels"].as_array().unwrap() {
            for target in panel["targets"].as_array().unwrap() {
                let expr = resolve(target["expr"].as_str().unwrap(), &vars);
                assert!(!expr.contains('$'), "{title}: unresolved variable in {expr}");
                let got = query(&base, &expr);
                let what = format!("{title} / {}", panel["title"].as_str().unwrap());
                assert!(!got.is_empty(), "{what}: no data for {expr}");
                assert!(got.iter().all(|(_, v)| v.is_finite()), "{what}: {got:?}");
                results.insert(what, got);
                checked += 1;
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    feeder.join().unwrap();
    assert!(checked >= 20, "only {checked} queries");

    // Right, not just present.
    let value = |what: &str| results[what].iter().map(|(_, v)| *v).sum::<f64>();
    let ratio = value("picometrics · Function / Error ratio");
    assert!((0.03..0.2).contains(&ratio), "handle_request's error ratio {ratio} (the demo injects 10 %)");
    let success = value("picometrics · Service-level objectives / Success rate (range) vs $percentile %");
    assert!((0.8..0.97).contains(&success), "the api objective's success rate {success}");
    assert_eq!(value("picometrics · Devices / Devices up"), 2.0);
    let versions = &results["picometrics · Devices / Versions across the fleet"];
    assert_eq!(versions.len(), 1, "one version across the fleet: {versions:?}");
    assert_eq!((versions[0].0["version"].as_str(), versions[0].1), (Some("2.1.0"), 2.0));
    let device_errors = &results["picometrics · Devices / Errors per second by device"];
    assert_eq!(device_errors.len(), 2, "{device_errors:?}");
    let rates = &results["picometrics · Overview / Request rate (top $top)"];
    // The demo's method and trait method are there under their names (the official
    // overview's `function=~"(\\w+)"` dropped them).
    for f in ["handle_request", "read", "Catalog::price", "<Catalog as Quote>::quote"] {
        assert!(rates.iter().any(|(m, _)| m["function"] == f), "{f} in the overview: {rates:?}");
    }
    // Behind the bridge the build join holds per device (the official `on (instance, job)`
    // would find two matches and fail).
    assert!(rates.iter().any(|(m, _)| m["function"] == "read" && m["version"] == "2.1.0"), "{rates:?}");
    let skipped = &results["picometrics · Devices / Frames skipped, by reason"];
    assert!(skipped.iter().any(|(m, v)| m["reason"] == "incomplete_dump" && *v >= 1.0), "{skipped:?}");
}
