//! Remote write into a real Prometheus (Debian's, started with
//! `--web.enable-remote-write-receiver` on loopback): from this instrumented process and from
//! the bridge fed by the QEMU firmware. Prometheus then holds every sample `/metrics` shows,
//! with the same labels and values (plus the external labels), `histogram_quantile` agrees
//! with the snapshot, and the generated SLO rules evaluate on the pushed series.

use picometrics_test_support::text as common;

use common::{parse, Sample};
use picometrics::objectives::{Objective, ObjectiveLatency, ObjectivePercentile};
use picometrics::picometrics;
use picometrics_exporter::push;
use picometrics_integration_tests::bridge::Bridge;
use picometrics_integration_tests::prometheus::{query, run, temp_dir_named, try_query};
use picometrics_integration_tests::{firmware, Running};
use std::net::TcpListener;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const LIVE: Objective = Objective::new("pushed")
    .success_rate(ObjectivePercentile::P99)
    .latency(ObjectiveLatency::Ms250, ObjectivePercentile::P95);

/// Called a fixed number of times before pushing starts: its values never change.
#[picometrics]
fn rw_static(i: u64) -> Result<u64, u64> {
    std::thread::sleep(Duration::from_micros(200 * (i % 7)));
    if i.is_multiple_of(3) {
        Err(i)
    } else {
        Ok(i)
    }
}

/// Called all along, one call in four failing, so the SLO rules have rates to evaluate.
#[picometrics(objective = LIVE)]
fn rw_live(i: u64) -> Result<u64, u64> {
    if i.is_multiple_of(4) {
        Err(i)
    } else {
        Ok(i)
    }
}

/// A PromQL selector for exactly `name{labels}`.
fn selector(name: &str, labels: &[(String, String)]) -> String {
    let mut s = format!("{{__name__=\"{name}\"");
    for (k, v) in labels {
        s.push_str(&format!(",{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")));
    }
    s.push('}');
    s
}

/// Every sample in `samples` is in Prometheus with the same value, exactly once (beside the
/// external labels).
fn assert_in_prometheus(base: &str, samples: &[&Sample]) {
    assert!(!samples.is_empty());
    for s in samples {
        let found = query(base, &selector(&s.name, &s.labels));
        assert_eq!(found.len(), 1, "{} {:?}: {found:?}", s.name, s.labels);
        assert_eq!(found[0].1, s.value, "{} {:?}", s.name, s.labels);
    }
}

fn wait_for(base: &str, promql: &str, limit: Duration) -> Vec<(serde_json::Value, f64)> {
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(found) = try_query(base, promql) {
            if !found.is_empty() {
                return found;
            }
        }
        assert!(Instant::now() < deadline, "nothing for {promql} in {limit:?}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Prometheus receiving remote write, evaluating `rules` every second.
fn receiver(name: &str, rules: &str) -> (Running, String) {
    let dir = temp_dir_named(name);
    std::fs::write(dir.join("rules.yml"), rules).unwrap();
    let config = "global:\n  evaluation_interval: 1s\nrule_files:\n  - rules.yml\n";
    run(&dir, config, &["--web.enable-remote-write-receiver"])
}

#[test]
fn a_process_pushes_what_metrics_shows_and_the_slo_rules_evaluate_on_it() {
    for i in 0..60 {
        let _ = rw_static(i);
    }
    let mut rules = String::new();
    picometrics_exporter::rules::write_rules(&mut rules, &Default::default()).unwrap();
    assert!(rules.contains("sloth_slo: success-rate-99\n") && rules.contains("sloth_slo: latency-95\n"));
    let (_prometheus, base) = receiver("remote-write", &rules);
    wait_for(&base, "vector(1)", Duration::from_secs(30));

    let stop = Arc::new(AtomicBool::new(false));
    let live = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let _ = rw_live(i);
                i += 1;
                std::thread::sleep(Duration::from_micros(500));
            }
        })
    };
    let pusher = push::Builder::remote_write(format!("{base}/api/v1/write"))
        .interval(Duration::from_secs(1))
        .external_label("job", "pushed")
        .external_label("instance", "remote-write-test")
        .start()
        .unwrap();

    // Every sample of rw_static and build_info in /metrics, found as is in Prometheus.
    wait_for(
        &base,
        r#"function_calls_total{function="rw_static",job="pushed",instance="remote-write-test"}"#,
        Duration::from_secs(60),
    );
    let text = picometrics_exporter::render_to_string();
    let samples = parse(&text);
    let chosen: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.label("function") == Some("rw_static") || s.name == "build_info")
        .collect();
    assert!(chosen.len() > 10, "calls, buckets, sum, count and build_info: {chosen:?}");
    assert_in_prometheus(&base, &chosen);

    // The histogram quantile, as Prometheus computes it over the pushed buckets.
    let f = picometrics::registry::find("rw_static", module_path!()).unwrap();
    let want = f.snapshot().histogram.quantile_nanos(f.bounds, 0.5).unwrap() / 1e9;
    let got = query(
        &base,
        r#"histogram_quantile(0.5, sum by (le) (function_calls_duration_seconds_bucket{function="rw_static"}))"#,
    );
    assert!((got[0].1 - want).abs() < 1e-9 * want.max(1.0), "p50 {} vs {want}", got[0].1);

    // The SLO rules evaluate on pushed data: the error ratio of rw_live is its one in four.
    let ratio = wait_for(
        &base,
        r#"slo:sli_error:ratio_rate5m{objective_name="pushed",sloth_slo="success-rate-99"} > 0"#,
        Duration::from_secs(90),
    );
    assert!((ratio[0].1 - 0.25).abs() < 0.05, "error ratio {}", ratio[0].1);
    let latency = wait_for(
        &base,
        r#"slo:sli_error:ratio_rate5m{objective_name="pushed",sloth_slo="latency-95"}"#,
        Duration::from_secs(30),
    );
    assert!(latency[0].1 < 0.01, "no call is slower than 250 ms: {}", latency[0].1);
    stop.store(true, Ordering::Relaxed);
    live.join().unwrap();
    let stats = pusher.stats();
    pusher.shutdown();
    assert!(stats.delivered >= 2 && stats.failures.iter().all(|(_, n)| *n == 0), "{stats:?}");
}

#[test]
fn the_bridge_pushes_every_device_with_its_device_label() {
    let (_prometheus, base) = receiver("remote-write-bridge", "groups: []\n");
    let elf = firmware::build("thumbv7em-none-eabihf", &["text", "frames"]);
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let qemu =
        firmware::qemu("thumbv7em-none-eabihf", &elf, &format!("tcp:127.0.0.1:{port},server=on,wait=on"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("qemu-system-arm");
    let _qemu = Running(qemu);
    let bridge = Bridge::start(
        &[
            "--tcp",
            &format!("127.0.0.1:{port}"),
            "--remote-write",
            &format!("{base}/api/v1/write"),
            "--push-interval",
            "1",
            "--external-label",
            "job=fleet",
        ],
        Stdio::null(),
    );
    // The device's dump, as the bridge's /metrics shows it, then in Prometheus.
    let deadline = Instant::now() + Duration::from_secs(60);
    let device_samples = loop {
        let samples = parse(&bridge.metrics());
        if samples
            .iter()
            .any(|s| s.name == "function_calls_total" && s.label("device") == Some("lm3s6965evb"))
        {
            break samples;
        }
        assert!(Instant::now() < deadline, "no dump: {:?}", bridge.log.lock().unwrap());
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(bridge.logged("pushing to"), "{:?}", bridge.log.lock().unwrap());
    wait_for(&base, r#"function_calls_total{device="lm3s6965evb",job="fleet"}"#, Duration::from_secs(60));
    // Let the push after the dump land (values are the dump's from then on).
    std::thread::sleep(Duration::from_millis(2500));
    let chosen: Vec<&Sample> =
        device_samples.iter().filter(|s| s.label("device") == Some("lm3s6965evb")).collect();
    let own: Vec<&Sample> = chosen.iter().copied().filter(|s| !s.name.starts_with("picometrics_")).collect();
    assert!(own.len() > 10, "{own:?}");
    assert_in_prometheus(&base, &own);
    // The histogram quantile over a device's buckets.
    let p = query(
        &base,
        r#"histogram_quantile(0.5, sum by (le) (function_calls_duration_seconds_bucket{device="lm3s6965evb",function="sample"}))"#,
    );
    assert_eq!(p.len(), 1);
    assert!(p[0].1 > 0.0, "{p:?}");
    // The bridge counts its deliveries on its own /metrics.
    let delivered = common::value(
        &parse(&bridge.metrics()),
        "picometrics_push_requests_total",
        &[("exporter", "remote_write")],
    );
    assert!(delivered >= 1.0);
}

#[test]
fn pushes_over_https_to_a_prometheus_serving_tls() {
    let dir = temp_dir_named("remote-write-tls");
    let cert = rcgen::generate_simple_self_signed(["localhost".to_owned()]).unwrap();
    std::fs::write(dir.join("cert.pem"), cert.cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), cert.key_pair.serialize_pem()).unwrap();
    // Prometheus' own web TLS (its web config file), the remote-write receiver behind it.
    let web = format!(
        "tls_server_config:\n  cert_file: {}\n  key_file: {}\n",
        dir.join("cert.pem").display(),
        dir.join("key.pem").display()
    );
    std::fs::write(dir.join("web.yml"), web).unwrap();
    let web_flag = format!("--web.config.file={}", dir.join("web.yml").display());
    let (_prometheus, base) = run(&dir, "global: {}\n", &["--web.enable-remote-write-receiver", &web_flag]);
    let base = base.replace("http://127.0.0.1", "https://localhost");
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::Specific(std::sync::Arc::new(vec![
            ureq::tls::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap(),
        ])))
        .build();
    let client = ureq::Agent::config_builder().tls_config(tls).build().new_agent();
    let count = |promql: &str| -> Option<f64> {
        let text = client
            .get(format!("{base}/api/v1/query"))
            .query("query", promql)
            .call()
            .ok()?
            .body_mut()
            .read_to_string()
            .ok()?;
        let body: serde_json::Value = serde_json::from_str(&text).ok()?;
        body["data"]["result"][0]["value"][1].as_str()?.parse().ok()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while count("vector(1)").is_none() {
        assert!(Instant::now() < deadline, "Prometheus did not answer over HTTPS");
        std::thread::sleep(Duration::from_millis(200));
    }

    // Without the certificate the push fails (rustls refuses the unknown issuer) …
    let untrusting = push::Builder::remote_write(format!("{base}/api/v1/write"))
        .interval(Duration::from_millis(200))
        .max_backoff(Duration::from_millis(200))
        .start()
        .unwrap();
    // … and trusting it, it is delivered.
    let pusher = push::Builder::remote_write(format!("{base}/api/v1/write"))
        .interval(Duration::from_millis(500))
        .root_certificates(dir.join("cert.pem"))
        .external_label("job", "tls")
        .start()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while count(r#"count(build_info{job="tls"})"#).is_none() {
        assert!(Instant::now() < deadline, "nothing pushed over HTTPS: {:?}", pusher.stats());
        std::thread::sleep(Duration::from_millis(200));
    }
    let refused = untrusting.stats();
    untrusting.shutdown();
    pusher.shutdown();
    assert_eq!(refused.delivered, 0);
    assert!(refused.failed(push::Failure::Connection) >= 1, "{refused:?}");
    assert!(push::Builder::remote_write("https://localhost/")
        .root_certificates(dir.join("key.pem"))
        .start()
        .is_err());
}
