//! A fleet behind two bridges, into a real VictoriaMetrics: 200 devices over `--accept-http`
//! (each with its token) and 100 over `--accept` (pairs interleaved frame by frame on one
//! connection, ten speaking wire version 4), all at once, each dump landing on the other bridge
//! than the one before, both bridges remote-writing to one VictoriaMetrics. It holds every
//! device with exact counts, each dump exactly once (no bridge re-pushes a dump it holds after
//! the other wrote a newer one), `resets()` of every counter is 0, a dump under another
//! device's token changes nothing, and vmalert evaluates the bridge's generated rules there.

use picometrics::frame::StreamId;
use picometrics::model::ObjectiveLabels;
use picometrics_integration_tests::bridge::Bridge;
use picometrics_integration_tests::prometheus::{query, temp_dir_named};
use picometrics_integration_tests::victoria;
use picometrics_test_support::text;
use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

const HTTP_DEVICES: usize = 200;
/// Even: pairs share a connection. The last [`V4_DEVICES`] speak wire version 4 (one dump at a
/// time on a connection of their own).
const TCP_DEVICES: usize = 100;
const V4_DEVICES: usize = 10;
const DUMPS: u32 = 4;

/// Dump `seq` of `device`: `fleet::poll` (objective `fleet`, 99 % success) with `seq * 10` ok
/// calls and `seq` errors.
fn dump(device: &str, seq: u32, stream: Option<StreamId>) -> Vec<Vec<u8>> {
    let objective = ObjectiveLabels { name: "fleet", success_percentile: Some("99"), latency: None };
    let n = u64::from(seq);
    picometrics_integration_tests::dumps::dump_for(
        Some(objective),
        device,
        seq,
        ("fleet", "poll"),
        (n * 10, n),
        "1.0.0",
        stream,
    )
}

fn post(agent: &ureq::Agent, addr: &str, body: &[u8], token: &str) -> u16 {
    agent
        .post(&format!("http://{addr}/api/v1/dumps"))
        .header("authorization", &format!("Bearer {token}"))
        .send(body)
        .unwrap()
        .status()
        .as_u16()
}

/// The bridges' `(http, tcp)` addresses, and which one takes dump `seq` of device `i`: the
/// other one each time.
fn target(i: usize, seq: u32) -> usize {
    (i + seq as usize) % 2
}

/// `(device, value)` of every series `promql` answers.
fn by_device(base: &str, promql: &str) -> Vec<(String, f64)> {
    let mut out: Vec<_> = query(base, promql)
        .into_iter()
        .map(|(labels, v)| (labels["device"].as_str().unwrap_or("").to_owned(), v))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Answers every HTTP request with 200: vmalert's notifier.
fn notifier() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut buf = [0u8; 65536];
                let _ = std::io::Read::read(&mut s, &mut buf);
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            });
        }
    });
    format!("http://{addr}")
}

#[test]
fn two_bridges_write_one_fleet_into_victoriametrics_each_dump_once() {
    let dir = temp_dir_named("fleet-scale-out");
    let (_vm, vm) = victoria::run(&dir);
    let tokens: String = (0..HTTP_DEVICES).map(|i| format!("h-{i:03} token-{i:03}\n")).collect();
    let tokens_path = dir.join("tokens");
    std::fs::write(&tokens_path, tokens).unwrap();
    let write_url = format!("{vm}/api/v1/write");
    let bridges: Vec<Bridge> = (0..2)
        .map(|_| {
            Bridge::start(
                &[
                    "--accept",
                    "127.0.0.1:0",
                    "--accept-http",
                    "127.0.0.1:0",
                    "--device-tokens",
                    tokens_path.to_str().unwrap(),
                    "--remote-write",
                    &write_url,
                    "--push-interval",
                    "1",
                ],
                Stdio::null(),
            )
        })
        .collect();
    let addrs: Vec<(String, String)> = bridges
        .iter()
        .map(|b| (b.logged_addr("accepting dumps at http://"), b.logged_addr("accepting frames on tcp://")))
        .collect();

    for seq in 1..=DUMPS {
        // HTTP devices: eight clients, each device's dump to the other bridge than last time,
        // answered 200 once stored.
        let posters: Vec<_> = (0..8)
            .map(|client| {
                let addrs = addrs.clone();
                std::thread::spawn(move || {
                    let agent: ureq::Agent =
                        ureq::Agent::config_builder().http_status_as_error(false).build().into();
                    for i in (client..HTTP_DEVICES).step_by(8) {
                        let device = format!("h-{i:03}");
                        let body = dump(&device, seq, Some(StreamId::of(&device))).concat();
                        let status = post(&agent, &addrs[target(i, seq)].0, &body, &format!("token-{i:03}"));
                        assert_eq!(status, 200, "{device} dump {seq}");
                    }
                })
            })
            .collect();
        // TCP devices: pairs interleaved frame by frame on one connection; the version 4
        // devices alone.
        let senders: Vec<_> = (0..4)
            .map(|client| {
                let addrs = addrs.clone();
                std::thread::spawn(move || {
                    for pair in (client..TCP_DEVICES / 2).step_by(4) {
                        let (a, b) = (2 * pair, 2 * pair + 1);
                        let mut s = std::net::TcpStream::connect(&addrs[target(pair, seq)].1).unwrap();
                        if b < TCP_DEVICES - V4_DEVICES {
                            let (da, db) = (format!("t-{a:03}"), format!("t-{b:03}"));
                            let (fa, fb) = (
                                dump(&da, seq, Some(StreamId::of(&da))),
                                dump(&db, seq, Some(StreamId::of(&db))),
                            );
                            for (x, y) in fa.iter().zip(&fb) {
                                s.write_all(x).unwrap();
                                s.write_all(y).unwrap();
                            }
                        } else {
                            for d in [a, b] {
                                s.write_all(&dump(&format!("t-{d:03}"), seq, None).concat()).unwrap();
                            }
                        }
                    }
                })
            })
            .collect();
        posters.into_iter().for_each(|p| p.join().unwrap());
        senders.into_iter().for_each(|s| s.join().unwrap());
        // A device's next dump comes after this one is stored, as a device's dumps do.
        let deadline = Instant::now() + Duration::from_secs(30);
        for (b, bridge) in bridges.iter().enumerate() {
            loop {
                let samples = text::parse(&bridge.metrics());
                let missing = (0..TCP_DEVICES).filter(|&d| target(d / 2, seq) == b).find(|d| {
                    let device = format!("t-{d:03}");
                    let number = text::all(&samples, "picometrics_dump_number", &[("device", &device)]);
                    number.first().map(|s| s.value) != Some(f64::from(seq))
                });
                let Some(missing) = missing else { break };
                assert!(Instant::now() < deadline, "t-{missing:03} dump {seq} never reached bridge {b}");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        // Devices dump less often than bridges push (each push sends a device's latest dump).
        std::thread::sleep(Duration::from_millis(1200));
    }

    // Every device in VictoriaMetrics, exact, each of its dumps once.
    let devices = HTTP_DEVICES + TCP_DEVICES;
    let ok = "last_over_time(function_calls_total{result=\"ok\"}[10m])";
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = by_device(&vm, ok);
        if got.len() == devices && got.iter().all(|(_, v)| *v == f64::from(DUMPS) * 10.0) {
            break;
        }
        assert!(Instant::now() < deadline, "VictoriaMetrics has {} devices: {got:?}", got.len());
        std::thread::sleep(Duration::from_millis(200));
    }
    let errors = by_device(&vm, "last_over_time(function_calls_total{result=\"error\"}[10m])");
    assert_eq!(errors.len(), devices);
    let wrong: Vec<_> = errors.iter().filter(|(_, v)| *v != f64::from(DUMPS)).collect();
    assert!(wrong.is_empty(), "{wrong:?}");
    let samples = by_device(&vm, "count_over_time(function_calls_total{result=\"ok\"}[10m])");
    let wrong: Vec<_> = samples.iter().filter(|(_, v)| *v != f64::from(DUMPS)).collect();
    assert!(samples.len() == devices && wrong.is_empty(), "each dump pushed once, not: {wrong:?}");
    let resets = query(
        &vm,
        "sum(resets({__name__=~\"function_calls_total|function_calls_duration_seconds_(bucket|count|sum)\"}[10m]))",
    );
    assert_eq!(resets.first().map(|r| r.1), Some(0.0), "{resets:?}");
    let series = query(&vm, "count(last_over_time(function_calls_total[10m])) by (device)");
    assert_eq!(series.len(), devices);

    // A device cannot speak for another: refused, and nothing reaches the database.
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let forged = dump("h-001", 99, Some(StreamId::of("h-001"))).concat();
    assert_eq!(post(&agent, &addrs[1].0, &forged, "token-000"), 403);
    std::thread::sleep(Duration::from_millis(2500));
    let h001 = by_device(&vm, "last_over_time(function_calls_total{device=\"h-001\",result=\"ok\"}[10m])");
    assert_eq!(h001, [("h-001".to_owned(), f64::from(DUMPS) * 10.0)], "the forged dump changed nothing");

    // vmalert evaluates the rules the bridge generates for its devices' objectives.
    let rules = bridges[0].get("/rules");
    assert!(rules.contains("sloth_slo: success-rate-99\n"), "the devices' objective: {rules}");
    let rules_path = dir.join("rules.yml");
    std::fs::write(&rules_path, &rules).unwrap();
    let (_vmalert, vmalert) = victoria::vmalert(&rules_path, &vm, &notifier());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let body: serde_json::Value = serde_json::from_str(
            &ureq::get(&format!("{vmalert}/api/v1/rules"))
                .call()
                .unwrap()
                .body_mut()
                .read_to_string()
                .unwrap(),
        )
        .unwrap();
        let groups = body["data"]["groups"].as_array().cloned().unwrap_or_default();
        let rules: Vec<&serde_json::Value> =
            groups.iter().flat_map(|g| g["rules"].as_array().into_iter().flatten()).collect();
        let errors: Vec<&serde_json::Value> = rules
            .iter()
            .copied()
            .filter(|r| r["lastError"].as_str().is_some_and(|e| !e.is_empty()))
            .collect();
        assert!(errors.is_empty(), "vmalert: {errors:?}");
        let recorded = query(&vm, "slo:sli_error:ratio_rate5m{objective_name=\"fleet\"}");
        if !rules.is_empty() && !recorded.is_empty() {
            // The error ratio over the fleet's last dumps: 1 error in 11 calls.
            assert!((recorded[0].1 - 1.0 / 11.0).abs() < 1e-9, "{recorded:?}");
            break;
        }
        assert!(Instant::now() < deadline, "vmalert recorded nothing: {body}");
        std::thread::sleep(Duration::from_millis(250));
    }
}
