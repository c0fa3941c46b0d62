//! The explorer's page and JSON over real TCP: what is served, the numbers it shows, bad
//! queries, the bearer token, and turning it off. (The page in a real browser:
//! tests/tests/explorer.rs at the workspace root.)

use picometrics::objectives::{Objective, ObjectivePercentile};
use picometrics::picometrics;
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

const SLO: Objective = Objective::new("lookup").success_rate(ObjectivePercentile::P90);

#[picometrics(objective = SLO)]
fn lookup(i: u64) -> Result<u64, u64> {
    if i.is_multiple_of(4) {
        Err(i)
    } else {
        Ok(inner(i))
    }
}

#[picometrics]
fn inner(i: u64) -> u64 {
    i * 2
}

/// (status, head, body) of `method path` with `extra` header lines.
fn request(addr: SocketAddr, method: &str, path: &str, extra: &str) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(s, "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{extra}\r\n").unwrap();
    let mut response = String::new();
    s.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, head.to_lowercase(), body.to_owned())
}

fn json(addr: SocketAddr, path: &str) -> Value {
    let (status, head, body) = request(addr, "GET", path, "");
    assert_eq!(status, 200, "{path}: {body}");
    assert!(head.contains("content-type: application/json"), "{head}");
    serde_json::from_str(&body).unwrap()
}

fn builder() -> picometrics_exporter::Builder {
    picometrics_exporter::Builder::new().addr("127.0.0.1:0").unwrap().history(
        Duration::from_millis(50),
        100,
        64,
    )
}

#[test]
fn page_assets_and_json_show_the_calls() {
    let server = builder().prometheus_url("http://prometheus.example:9090").serve().unwrap();
    let a = server.local_addr();
    for (path, content_type, needle) in [
        ("/", "text/html", "explorer.js"),
        ("/explorer.js", "text/javascript", "api/v1/overview"),
        ("/explorer.css", "text/css", "font"),
    ] {
        let (status, head, body) = request(a, "GET", path, "");
        assert_eq!(status, 200, "{path}");
        assert!(head.contains(&format!("content-type: {content_type}")), "{path}: {head}");
        assert!(head.contains("content-security-policy: default-src 'none'; script-src 'self'"), "{head}");
        assert!(body.contains(needle), "{path}");
        let (status, _, body) = request(a, "HEAD", path, "");
        assert_eq!((status, body.as_str()), (200, ""));
    }
    assert_eq!(request(a, "POST", "/api/v1/overview", "Content-Length: 0\r\n").0, 405);

    for i in 0..40 {
        let _ = lookup(i);
    }
    // Two samples after the calls: the window holds them.
    let deadline = Instant::now() + Duration::from_secs(10);
    let row = loop {
        let overview = json(a, "/api/v1/overview");
        let row =
            overview["functions"].as_array().unwrap().iter().find(|f| f["function"] == "lookup").cloned();
        if let Some(row) = row.filter(|r| r["calls"] == 40 && !r["error_ratio"].is_null()) {
            assert_eq!(overview["prometheus_url"], "http://prometheus.example:9090");
            assert_eq!(overview["devices"], serde_json::json!([]));
            assert!(overview["builds"][0]["version"].is_string());
            break row;
        }
        assert!(Instant::now() < deadline, "{overview}");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(row["errors"], 10);
    assert_eq!(row["module"], module_path!());
    assert_eq!(row["error_ratio"], 0.25, "{row}");
    // `lookup` takes nanoseconds; the default buckets' first bound is 5 ms. The JSON says all
    // it knows — at most 5 ms — not the 2.5 ms an interpolation from 0 would invent.
    for q in ["p50", "p95", "p99"] {
        let quantile = &row["quantiles"][q];
        assert_eq!(
            (quantile["kind"].as_str(), quantile["text"].as_str()),
            (Some("at_most"), Some("< 5 ms")),
            "{row}"
        );
        assert_eq!(
            (quantile["bucket"].as_str(), quantile["upper"].as_f64()),
            (Some("0 – 5 ms"), Some(0.005))
        );
        assert_eq!(row[q], 0.005, "the number is the bound that limits it: {row}");
    }
    assert_eq!(row["objective"]["name"], "lookup");
    assert_eq!(row["objective"]["success_percentile"], 90.0);

    let module = module_path!();
    // A point is the interval between two readings: on a slow machine the sampler's first
    // reading of `lookup` may already include every call (the row then shows all calls so far)
    // and its first point comes one interval later.
    let detail = loop {
        let detail = json(a, &format!("/api/v1/function?function=lookup&module={module}"));
        if !detail["points"].as_array().unwrap().is_empty() {
            break detail;
        }
        assert!(Instant::now() < deadline, "no point: {detail}");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(detail["callees"][0]["function"], "inner");
    assert_eq!(detail["callees"][0]["calls"], 30);
    // 25 % errors against a 10 % budget.
    assert_eq!(detail["budget"]["success"], 2.5, "{}", detail["budget"]);
    let link = detail["queries"][0]["link"].as_str().unwrap();
    assert!(link.starts_with("http://prometheus.example:9090/graph?g0.expr="), "{link}");
    let inner = json(a, &format!("/api/v1/function?module={module}&function=inner"));
    assert_eq!(inner["callers"][0]["function"], "lookup");

    let (status, _, body) = request(a, "GET", "/api/v1/function?function=lookup", "");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("\"error\""));
    assert_eq!(request(a, "GET", "/api/v1/function?function=nope&module=nope", "").0, 404);
    assert_eq!(
        request(a, "GET", "/api/v1/function?function=%ZZ&module=%", "").0,
        404,
        "bad escapes are names"
    );
    server.shutdown();
}

#[test]
fn the_token_guards_the_page_and_json_too() {
    let server = builder().bearer_token("s3cret").serve().unwrap();
    let a = server.local_addr();
    for path in ["/", "/explorer.js", "/api/v1/overview"] {
        assert_eq!(request(a, "GET", path, "").0, 401, "{path}");
        assert_eq!(request(a, "GET", path, "Authorization: Bearer s3cret\r\n").0, 200, "{path}");
    }
    server.shutdown();
}

#[test]
fn explorer_off_serves_metrics_and_rules_only() {
    let server = builder().explorer(false).serve().unwrap();
    let a = server.local_addr();
    for path in ["/", "/explorer.js", "/api/v1/overview", "/api/v1/function?function=a&module=b"] {
        assert_eq!(request(a, "GET", path, "").0, 404, "{path}");
    }
    assert_eq!(request(a, "GET", "/metrics", "").0, 200);
    server.shutdown();
}

#[test]
fn history_settings_are_checked() {
    let b = || picometrics_exporter::Builder::new().addr("127.0.0.1:0").unwrap();
    for bad in [
        b().history(Duration::ZERO, 100, 10),
        b().history(Duration::from_secs(1), 1, 10),
        b().history(Duration::from_secs(1), 100, 0),
    ] {
        let e = bad.serve().unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput, "{e}");
        assert!(e.to_string().contains("history"), "{e}");
    }
}
