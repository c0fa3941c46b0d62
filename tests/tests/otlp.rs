//! OTLP push checked by an independent decoder: the official protobuf schema's Python package
//! (`opentelemetry-proto`, in a venv under `target/`) decodes every request in a loopback
//! receiver (`tests/otlp/receiver.py`); names, kinds, temporality, bounds, counts, attributes and
//! resource attributes must match this process's registry snapshot.

use picometrics::objectives::{Objective, ObjectiveLatency, ObjectivePercentile};
use picometrics::picometrics;
use picometrics_exporter::push;
use picometrics_integration_tests::{root, Running};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SLO: Objective = Objective::new("otlp")
    .success_rate(ObjectivePercentile::P99)
    .latency(ObjectiveLatency::Ms10, ObjectivePercentile::P95);

#[picometrics(objective = SLO, track_concurrency)]
fn otlp_outer(i: u64) -> Result<u64, u64> {
    if i.is_multiple_of(4) {
        Err(i)
    } else {
        Ok(otlp_inner(i))
    }
}

#[picometrics]
fn otlp_inner(i: u64) -> u64 {
    i + 1
}

/// The receiver's Python, with the pinned packages installed once.
fn python() -> std::path::PathBuf {
    let venv = root().join("target/otlp-venv");
    let python = venv.join("bin/python");
    if !python.exists() || !venv.join(".installed").exists() {
        let ok =
            Command::new("python3").arg("-m").arg("venv").arg(&venv).status().expect("python3").success();
        assert!(ok, "python3 -m venv");
        let ok = Command::new(venv.join("bin/pip"))
            .args(["install", "-q", "-r"])
            .arg(root().join("tests/otlp/requirements.txt"))
            .status()
            .expect("pip")
            .success();
        assert!(ok, "pip install -r tests/otlp/requirements.txt");
        std::fs::write(venv.join(".installed"), "").unwrap();
    }
    python
}

/// A running receiver (`tests/otlp/receiver.py` with `args`): the process, its JSON lines, and
/// the port it listens on.
struct Receiver {
    _process: Running,
    lines: Box<dyn Iterator<Item = String>>,
    port: String,
}

impl Receiver {
    fn start(args: &[&std::ffi::OsStr]) -> Self {
        let mut child = Command::new(python())
            .arg(root().join("tests/otlp/receiver.py"))
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .expect("the OTLP receiver");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines().map_while(Result::ok);
        let port =
            lines.next().and_then(|l| l.strip_prefix("listening ").map(str::to_owned)).expect("its port");
        Self { _process: Running(child), lines: Box::new(lines), port }
    }
}

fn attr<'a>(point: &'a Value, key: &str) -> &'a str {
    point["attributes"][key].as_str().unwrap_or_default()
}

#[test]
fn otlp_requests_decode_with_the_official_schema_and_match_the_snapshot() {
    for i in 0..40 {
        let _ = otlp_outer(i);
    }
    let Receiver { _process: _receiver, mut lines, port } = Receiver::start(&[]);
    let started = Instant::now();
    let pusher = push::Builder::otlp(format!("http://127.0.0.1:{port}/v1/metrics"))
        .interval(Duration::from_millis(300))
        .start()
        .unwrap();
    let first: Value = serde_json::from_str(&lines.next().expect("a request")).unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    let second: Value = serde_json::from_str(&lines.next().expect("a second request")).unwrap();
    pusher.shutdown();

    // The snapshot, taken after the calls (nothing calls them meanwhile).
    let module = module_path!();
    let outer = picometrics::registry::find("otlp_outer", module).unwrap();
    let snapshot = outer.snapshot();
    let totals = snapshot.calls.total();
    assert_eq!((totals.ok, totals.error), (30, 10));

    for request in [&first, &second] {
        let resources = request["resources"].as_array().unwrap();
        assert_eq!(resources.len(), 1, "one process, one resource");
        let resource = &resources[0];
        assert_eq!(resource["attributes"]["service.name"], picometrics::registry::service_name());
        assert_eq!(resource["attributes"]["service.version"], picometrics::registry::build_info().version);
        let metric = |name: &str| {
            resource["metrics"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["name"] == name)
                .unwrap_or_else(|| panic!("{name} in {resource}"))
                .clone()
        };

        // Calls: a monotonic cumulative sum (temporality 2), by caller and result.
        let calls = metric("function_calls");
        assert_eq!((calls["kind"].as_str(), calls["monotonic"].as_bool()), (Some("sum"), Some(true)));
        assert_eq!(calls["temporality"], 2, "AGGREGATION_TEMPORALITY_CUMULATIVE");
        assert_eq!(calls["scope"], "picometrics");
        let points = calls["points"].as_array().unwrap();
        let sum = |function: &str, result: &str| -> i64 {
            points
                .iter()
                .filter(|p| attr(p, "function") == function && attr(p, "result") == result)
                .map(|p| p["value"].as_i64().unwrap())
                .sum()
        };
        assert_eq!(sum("otlp_outer", "ok"), 30);
        assert_eq!(sum("otlp_outer", "error"), 10);
        assert_eq!(sum("otlp_inner", "ok"), 30);
        let outer_point = points.iter().find(|p| attr(p, "function") == "otlp_outer").unwrap();
        assert_eq!(attr(outer_point, "module"), module);
        assert_eq!(attr(outer_point, "service_name"), picometrics::registry::service_name());
        assert_eq!(attr(outer_point, "objective_name"), "otlp");
        assert_eq!(attr(outer_point, "objective_percentile"), "99");
        assert!(outer_point["start"].as_u64().unwrap() < outer_point["time"].as_u64().unwrap());
        let inner_point =
            points.iter().find(|p| attr(p, "function") == "otlp_inner" && p["value"] != 0).unwrap();
        assert_eq!(attr(inner_point, "caller_function"), "otlp_outer");
        assert_eq!(attr(inner_point, "caller_module"), module);

        // Latency: an explicit-bucket cumulative histogram with the function's bounds.
        let durations = metric("function_calls_duration");
        assert_eq!((durations["kind"].as_str(), durations["unit"].as_str()), (Some("histogram"), Some("s")));
        assert_eq!(durations["temporality"], 2);
        let h = durations["points"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| attr(p, "function") == "otlp_outer")
            .unwrap();
        let bounds: Vec<f64> = outer.bounds.iter().map(|&b| b as f64 / 1e9).collect();
        assert_eq!(
            h["explicit_bounds"].as_array().unwrap().iter().map(|b| b.as_f64().unwrap()).collect::<Vec<_>>(),
            bounds
        );
        let counts: Vec<u64> =
            h["bucket_counts"].as_array().unwrap().iter().map(|c| c.as_u64().unwrap()).collect();
        assert_eq!(counts, snapshot.histogram.counts.to_vec());
        assert_eq!(h["count"].as_u64().unwrap(), 40);
        assert!((h["sum"].as_f64().unwrap() - snapshot.histogram.sum_nanos as f64 / 1e9).abs() < 1e-9);
        assert_eq!(attr(h, "objective_latency_threshold"), "0.01");

        // Concurrency as a gauge; build_info as a gauge of 1 with its labels.
        let concurrent = metric("function_calls_concurrent");
        assert_eq!(concurrent["kind"], "gauge");
        assert_eq!(concurrent["points"][0]["value"], 0);
        let build = metric("build_info");
        assert_eq!(build["points"][0]["value"], 1);
        assert_eq!(attr(&build["points"][0], "version"), picometrics::registry::build_info().version);
    }
}

#[picometrics]
fn grpc_call(i: u64) -> Result<u64, u64> {
    if i.is_multiple_of(5) {
        Err(i)
    } else {
        Ok(i)
    }
}

/// The receiver's next JSON line.
fn next(lines: &mut impl Iterator<Item = String>) -> Value {
    serde_json::from_str(&lines.next().expect("a line from the receiver")).unwrap()
}

#[test]
fn otlp_grpc_calls_decode_with_the_official_schema_retry_unavailable_and_carry_metadata() {
    for i in 0..25 {
        let _ = grpc_call(i);
    }
    let Receiver { _process: _receiver, mut lines, port } =
        Receiver::start(&["--grpc".as_ref(), "--unavailable".as_ref(), "1".as_ref()]);
    let pusher = push::Builder::otlp_grpc(format!("http://127.0.0.1:{port}"))
        .interval(Duration::from_millis(300))
        .header("X-Tenant", "t1")
        .bearer_token("s3cret")
        .start()
        .unwrap();
    // The first call is refused UNAVAILABLE; the pusher retries it, and goes on.
    assert_eq!(next(&mut lines)["refused"], "UNAVAILABLE");
    let first = next(&mut lines);
    let second = next(&mut lines);
    // Counted once the answer is read, a moment after the receiver printed the request.
    let started = Instant::now();
    while pusher.stats().delivered < 2 {
        assert!(started.elapsed() < Duration::from_secs(5), "{:?}", pusher.stats());
        std::thread::sleep(Duration::from_millis(20));
    }
    let stats = pusher.stats();
    pusher.shutdown();
    assert_eq!(stats.failed(push::Failure::ServerError), 1, "{stats:?}");

    for request in [&first, &second] {
        let metadata = &request["metadata"];
        assert_eq!(metadata["x-tenant"], "t1", "headers go as metadata: {metadata}");
        assert_eq!(metadata["authorization"], "Bearer s3cret");
        assert!(metadata["user-agent"].as_str().unwrap().starts_with("picometrics/"), "{metadata}");
        let resource = &request["resources"][0];
        assert_eq!(resource["attributes"]["service.name"], picometrics::registry::service_name());
        let metric = |name: &str| {
            resource["metrics"].as_array().unwrap().iter().find(|m| m["name"] == name).cloned().unwrap()
        };
        let calls = metric("function_calls");
        assert_eq!((calls["kind"].as_str(), calls["temporality"].as_i64()), (Some("sum"), Some(2)));
        let sum = |result: &str| -> i64 {
            calls["points"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|p| attr(p, "function") == "grpc_call" && attr(p, "result") == result)
                .map(|p| p["value"].as_i64().unwrap())
                .sum()
        };
        assert_eq!((sum("ok"), sum("error")), (20, 5));
        let h = metric("function_calls_duration")["points"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| attr(p, "function") == "grpc_call")
            .cloned()
            .unwrap();
        assert_eq!(h["count"], 25);
    }
}

#[test]
fn otlp_grpc_without_a_receiver_counts_connection_failures() {
    // A port nothing listens on: bound, then closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let pusher = push::Builder::otlp_grpc(format!("http://127.0.0.1:{port}"))
        .interval(Duration::from_millis(200))
        .timeout(Duration::from_secs(2))
        .start()
        .unwrap();
    let started = Instant::now();
    while pusher.stats().failed(push::Failure::Connection) == 0 {
        assert!(started.elapsed() < Duration::from_secs(10), "{:?}", pusher.stats());
        std::thread::sleep(Duration::from_millis(50));
    }
    let stats = pusher.stats();
    assert_eq!(stats.delivered, 0);
    assert_eq!(stats.failed(push::Failure::Rejected), 0, "a refused connection is retried: {stats:?}");
    pusher.shutdown();
}

#[test]
fn otlp_grpc_over_tls_trusts_the_configured_roots_only() {
    let dir = std::env::temp_dir().join(format!("picometrics-otlp-grpc-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.key_pair.serialize_pem()).unwrap();
    let Receiver { _process: _receiver, mut lines, port } = Receiver::start(&[
        "--grpc".as_ref(),
        "--tls-cert".as_ref(),
        cert.as_os_str(),
        "--tls-key".as_ref(),
        key.as_os_str(),
    ]);
    let url = format!("https://127.0.0.1:{port}");

    // With the Mozilla roots, the self-signed receiver is not trusted: nothing delivered.
    let untrusting = push::Builder::otlp_grpc(&url).interval(Duration::from_millis(200)).start().unwrap();
    let started = Instant::now();
    while untrusting.stats().failed(push::Failure::Connection) == 0 {
        assert!(started.elapsed() < Duration::from_secs(10), "{:?}", untrusting.stats());
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(untrusting.stats().delivered, 0);
    untrusting.shutdown();

    // Trusting its certificate: the request arrives, decoded.
    let pusher = push::Builder::otlp_grpc(&url)
        .interval(Duration::from_millis(200))
        .root_certificates(&cert)
        .start()
        .unwrap();
    let request = next(&mut lines);
    pusher.shutdown();
    let names: Vec<&str> = request["resources"][0]["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"function_calls") && names.contains(&"function_calls_duration"), "{names:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_bridge_pushes_each_device_as_a_resource_over_otlp_grpc() {
    use picometrics::frame::StreamId;
    use std::io::Write;
    let Receiver { _process: _receiver, mut lines, port } = Receiver::start(&["--grpc".as_ref()]);
    let url = format!("http://127.0.0.1:{port}");
    let mut bridge = picometrics_integration_tests::bridge::Bridge::start(
        &["--stdin", "--otlp-grpc", &url, "--push-interval", "1"],
        Stdio::piped(),
    );
    let mut stdin = bridge.stdin.take().unwrap();
    for (device, calls) in [("grpc-a", (7, 1)), ("grpc-b", (3, 2))] {
        let frames = picometrics_integration_tests::dumps::dump(
            device,
            1,
            ("relay", "send"),
            calls,
            "3.0.0",
            Some(StreamId::of(device)),
        );
        stdin.write_all(&frames.concat()).unwrap();
    }
    stdin.flush().unwrap();
    // Both dumps, each once, as one resource per device (in one request or two).
    let mut seen = std::collections::BTreeMap::new();
    while seen.len() < 2 {
        let request = next(&mut lines);
        for resource in request["resources"].as_array().unwrap() {
            let calls = resource["metrics"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["name"] == "function_calls")
                .unwrap();
            // Every point of a resource is one device's.
            let devices: std::collections::BTreeSet<&str> =
                calls["points"].as_array().unwrap().iter().map(|p| attr(p, "device")).collect();
            assert_eq!(devices.len(), 1, "{devices:?}");
            let device = devices.first().unwrap().to_string();
            let by = |result: &str| -> i64 {
                calls["points"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|p| attr(p, "function") == "send" && attr(p, "result") == result)
                    .map(|p| p["value"].as_i64().unwrap())
                    .sum()
            };
            assert!(seen.insert(device.clone(), (by("ok"), by("error"))).is_none(), "{device} pushed twice");
        }
    }
    assert_eq!(seen["grpc-a"], (7, 1));
    assert_eq!(seen["grpc-b"], (3, 2));
}
