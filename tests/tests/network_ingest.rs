//! Devices that connect to the bridge, many at once: `--accept-http` (`POST /api/v1/dumps`
//! under `--device-tokens`) and `--accept` (TCP), together, on loopback. Every device's dumps
//! arrive with exact counts — two of them interleaved frame by frame on one connection, one
//! speaking wire version 4 — a device cannot speak for another, and bad requests get a 4xx and
//! change nothing.

use picometrics::frame::StreamId;
use picometrics_integration_tests::bridge::Bridge;
use picometrics_test_support::text;
use std::io::Write;
use std::process::Stdio;

/// Dump `seq` of `device`: `fleet::poll` with `seq * 10` ok calls and `seq` errors, on the
/// device's stream id (`None`: version 4, no stream id).
fn dump(device: &str, seq: u32, stream: Option<StreamId>) -> Vec<Vec<u8>> {
    let n = u64::from(seq);
    picometrics_integration_tests::dumps::dump(device, seq, ("fleet", "poll"), (n * 10, n), "1.0.0", stream)
}

/// `POST /api/v1/dumps` with `body`: the status and the answer.
fn post(addr: &str, body: &[u8], token: Option<&str>) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut request = agent.post(&format!("http://{addr}/api/v1/dumps"));
    if let Some(token) = token {
        request = request.header("authorization", &format!("Bearer {token}"));
    }
    let mut response = request.send(body).unwrap();
    (response.status().as_u16(), response.body_mut().read_to_string().unwrap_or_default())
}

fn calls(samples: &[text::Sample], device: &str, result: &str) -> Option<f64> {
    let s = text::all(
        samples,
        "function_calls_total",
        &[("device", device), ("function", "poll"), ("result", result)],
    );
    s.first().map(|s| s.value)
}

#[test]
fn devices_over_http_and_tcp_at_once_each_speak_only_for_themselves() {
    const HTTP_DEVICES: usize = 20;
    const TCP_DEVICES: usize = 10;
    const DUMPS: u32 = 3;
    let dir = std::env::temp_dir().join(format!("picometrics-ingest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let tokens: String = (0..HTTP_DEVICES).map(|i| format!("http-{i:02} token-{i:02}-s3cret\n")).collect();
    std::fs::write(dir.join("tokens"), format!("# devices and their tokens\n{tokens}")).unwrap();
    let tokens_path = dir.join("tokens");
    let bridge = Bridge::start(
        &[
            "--accept",
            "127.0.0.1:0",
            "--accept-http",
            "127.0.0.1:0",
            "--device-tokens",
            tokens_path.to_str().unwrap(),
        ],
        Stdio::null(),
    );
    let http = bridge.logged_addr("accepting dumps at http://");
    let tcp = bridge.logged_addr("accepting frames on tcp://");

    // HTTP devices, concurrently, each with its own token, one whole dump per request.
    let posters: Vec<_> = (0..HTTP_DEVICES)
        .map(|i| {
            let http = http.clone();
            std::thread::spawn(move || {
                let device = format!("http-{i:02}");
                for seq in 1..=DUMPS {
                    let body = dump(&device, seq, Some(StreamId::of(&device))).concat();
                    let (status, answer) = post(&http, &body, Some(&format!("token-{i:02}-s3cret")));
                    assert_eq!(status, 200, "{device} dump {seq}: {answer}");
                    assert!(answer.contains(&device), "{answer}");
                }
            })
        })
        .collect();
    // TCP devices: one connection each, and two more interleaved frame by frame on one
    // connection (a bus behind an aggregator), and one speaking wire version 4.
    let mut connections: Vec<_> = (0..TCP_DEVICES)
        .map(|i| {
            let tcp = tcp.clone();
            std::thread::spawn(move || {
                let device = format!("tcp-{i:02}");
                let stream = if i == 0 { None } else { Some(StreamId::of(&device)) };
                let mut s = std::net::TcpStream::connect(&tcp).unwrap();
                for seq in 1..=DUMPS {
                    s.write_all(&dump(&device, seq, stream).concat()).unwrap();
                }
                s
            })
        })
        .collect();
    connections.push(std::thread::spawn(move || {
        let mut s = std::net::TcpStream::connect(&tcp).unwrap();
        for seq in 1..=DUMPS {
            let (a, b) = (
                dump("bus-a", seq, Some(StreamId::of("bus-a"))),
                dump("bus-b", seq, Some(StreamId::of("bus-b"))),
            );
            for (fa, fb) in a.iter().zip(&b) {
                s.write_all(fa).unwrap();
                s.write_all(fb).unwrap();
            }
        }
        s
    }));
    posters.into_iter().for_each(|p| p.join().unwrap());
    let _open: Vec<_> = connections.into_iter().map(|c| c.join().unwrap()).collect();

    // Every device, exact.
    let mut devices: Vec<String> = (0..HTTP_DEVICES).map(|i| format!("http-{i:02}")).collect();
    devices.extend((0..TCP_DEVICES).map(|i| format!("tcp-{i:02}")));
    devices.extend(["bus-a".to_owned(), "bus-b".to_owned()]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let samples = loop {
        let samples = text::parse(&bridge.metrics());
        let done = devices.iter().all(|d| calls(&samples, d, "ok") == Some(f64::from(DUMPS) * 10.0));
        if done {
            break samples;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "devices missing or short: {:?}",
            bridge.log.lock().unwrap()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    for d in &devices {
        assert_eq!(calls(&samples, d, "error"), Some(f64::from(DUMPS)), "{d}");
    }

    // A device cannot speak for another: a dump of http-01 under http-00's token is refused and
    // changes nothing; no token, an unknown one, a wrong method or path, an oversized or
    // garbage body all get a 4xx.
    let forged = dump("http-01", 99, Some(StreamId::of("http-01"))).concat();
    let (status, answer) = post(&http, &forged, Some("token-00-s3cret"));
    assert_eq!(status, 403, "{answer}");
    assert!(answer.contains("http-01") && answer.contains("http-00"), "{answer}");
    assert_eq!(post(&http, &forged, None).0, 401);
    assert_eq!(post(&http, &forged, Some("not-a-token")).0, 401);
    assert_eq!(post(&http, b"\x00garbage\x00", Some("token-01-s3cret")).0, 400);
    let huge = vec![1u8; 5 << 20];
    assert_eq!(post(&http, &huge, Some("token-01-s3cret")).0, 413, "a client still sending reads the 413");
    // Refused on its header: a client that waits for `100 Continue` is answered 413 at once,
    // without being asked for the body (it sends none).
    let mut waiting = std::net::TcpStream::connect(&http).unwrap();
    waiting.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
    write!(
        waiting,
        "POST /api/v1/dumps HTTP/1.1\r\nhost: x\r\nauthorization: Bearer token-01-s3cret\r\n\
         content-length: 1073741824\r\nexpect: 100-continue\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    let _ = std::io::Read::read_to_string(&mut waiting, &mut answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(!answer.contains("100 Continue"), "{answer}");
    // A dump relative to one the bridge does not hold is 409 (the device sends it whole); one
    // relative to the dump it holds is made whole from it; either stays under its token.
    let relative =
        |base| picometrics_integration_tests::dumps::relative("http-02", 4, base, (45, 4)).concat();
    let (status, answer) = post(&http, &relative(DUMPS - 1), Some("token-02-s3cret"));
    assert_eq!(status, 409, "{answer}");
    assert!(answer.contains("send a whole dump"), "{answer}");
    assert_eq!(post(&http, &relative(DUMPS), Some("token-00-s3cret")).0, 403);
    let (status, answer) = post(&http, &relative(DUMPS), Some("token-02-s3cret"));
    assert_eq!(status, 200, "{answer}");
    let samples = text::parse(&bridge.metrics());
    assert_eq!(
        (calls(&samples, "http-02", "ok"), calls(&samples, "http-02", "error")),
        (Some(45.0), Some(4.0))
    );
    let build = text::all(&samples, "build_info", &[("device", "http-02")]);
    assert_eq!(build.first().and_then(|b| b.label("version")), Some("1.0.0"), "the base's build");

    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    assert_eq!(agent.get(&format!("http://{http}/api/v1/dumps")).call().unwrap().status().as_u16(), 405);
    assert_eq!(
        agent.post(&format!("http://{http}/elsewhere")).send(&forged[..]).unwrap().status().as_u16(),
        404
    );
    let samples = text::parse(&bridge.metrics());
    assert_eq!(
        calls(&samples, "http-01", "ok"),
        Some(f64::from(DUMPS) * 10.0),
        "the forged dump changed nothing"
    );
    let refused = |reason: &str| {
        text::all(&samples, "picometrics_bridge_frames_skipped_total", &[("reason", reason)])
            .first()
            .map(|s| s.value)
    };
    assert_eq!(refused("wrong_device"), Some(2.0));
    assert_eq!(refused("base_not_held"), Some(1.0));
    assert_eq!(refused("unauthorized"), Some(2.0));
    assert_eq!(refused("body_too_large"), Some(2.0));

    // The token file is re-read when it changes: a new device's token works, without
    // dropping the devices there are.
    std::fs::write(&tokens_path, format!("{tokens}late token-late\n")).unwrap();
    let late = dump("late", 1, Some(StreamId::of("late"))).concat();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while post(&http, &late, Some("token-late")).0 != 200 {
        assert!(
            std::time::Instant::now() < deadline,
            "the new token never worked: {:?}",
            bridge.log.lock().unwrap()
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let samples = text::parse(&bridge.metrics());
    assert_eq!(calls(&samples, "late", "ok"), Some(10.0));
    assert_eq!(calls(&samples, "http-05", "ok"), Some(f64::from(DUMPS) * 10.0), "no device dropped");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_bridge_for_a_pushing_fleet_serves_its_own_families_only() {
    let bridge = Bridge::start(&["--accept-http", "127.0.0.1:0", "--no-device-metrics"], Stdio::null());
    let http = bridge.logged_addr("accepting dumps at http://");
    for seq in 1..=2 {
        let (status, answer) = post(&http, &dump("pushed", seq, Some(StreamId::of("pushed"))).concat(), None);
        assert_eq!(status, 200, "{answer}");
    }
    let metrics = bridge.metrics();
    let samples = text::parse(&metrics);
    assert_eq!(calls(&samples, "pushed", "ok"), None, "no device series: {metrics}");
    assert!(!metrics.contains("function_calls"), "{metrics}");
    let dumps = text::all(&samples, "picometrics_bridge_device_dumps_total", &[("device", "pushed")]);
    assert_eq!(dumps.iter().map(|s| s.value).collect::<Vec<_>>(), [2.0], "{metrics}");
}
