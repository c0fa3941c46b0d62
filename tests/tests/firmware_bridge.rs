//! End to end: the firmware in QEMU sends postcard/COBS frames on its UART → `picometrics-bridge`
//! reads them (over TCP from QEMU's serial port, from a serial device — a pseudo-terminal —, or
//! from stdin) → its `/metrics` serves exactly the samples of the firmware's own Prometheus text
//! dump, with a `device` label added.

use picometrics_test_support::text as common;

use common::{parse, Sample};
use picometrics_integration_tests::bridge::Bridge;
use picometrics_integration_tests::{firmware, Running};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Stdio;
use std::time::{Duration, Instant};

const TARGET: &str = "thumbv7em-none-eabihf";
const DEVICE: &str = "lm3s6965evb";

/// Scrapes until `sample`'s count reaches `calls` (the last dump arrived).
fn wait_for_calls(bridge: &Bridge, calls: f64) -> Vec<Sample> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let samples = parse(&bridge.metrics());
        let count = common::all(
            &samples,
            "function_calls_duration_seconds_count",
            &[("device", DEVICE), ("function", "sample")],
        );
        if count.first().is_some_and(|s| s.value == calls) {
            return samples;
        }
        assert!(
            Instant::now() < deadline,
            "no dump with {calls} calls; log: {:?}",
            bridge.log.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Every sample of the firmware's text dump is served with `device` added, and the bridge
/// serves no other function or build sample.
fn assert_same(text_dump: &[Sample], served: &[Sample]) {
    for s in text_dump {
        let mut want: Vec<(&str, &str)> = s.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        want.push(("device", DEVICE));
        assert_eq!(common::value(served, &s.name, &want), s.value, "{} {:?}", s.name, s.labels);
    }
    // The bridge's own families, and each device's dump number and uptime (from its frames).
    let device_info = ["picometrics_dump_number", "picometrics_uptime_seconds"];
    let own = served
        .iter()
        .filter(|s| !s.name.starts_with("picometrics_bridge_") && !device_info.contains(&s.name.as_str()))
        .count();
    assert_eq!(own, text_dump.len(), "the bridge serves exactly the dump's samples");
    // The last dump is the firmware's second (number 1), written after its calls.
    assert_eq!(common::value(served, "picometrics_dump_number", &[("device", DEVICE)]), 1.0);
    assert!(common::value(served, "picometrics_uptime_seconds", &[("device", DEVICE)]) > 0.0);
}

#[test]
fn firmware_frames_over_qemu_serial_tcp_reach_prometheus_text() {
    // With user metrics: the bridge serves them too, each with the device label.
    let elf = firmware::build(TARGET, &["text", "frames", "user-metrics"]);
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    // QEMU listens on the port and holds the guest until the bridge connects.
    let qemu = firmware::qemu(TARGET, &elf, &format!("tcp:127.0.0.1:{port},server=on,wait=on"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("qemu-system-arm");
    let mut qemu = Running(qemu);
    let bridge = Bridge::start(&["--tcp", &format!("127.0.0.1:{port}")], Stdio::null());

    let status = firmware::wait(&mut qemu.0, Duration::from_secs(90));
    assert!(status.success());
    let mut text = String::new();
    qemu.0.stdout.take().unwrap().read_to_string(&mut text).unwrap();
    let text_dump = parse(&text);

    let served = wait_for_calls(&bridge, 50.0);
    assert_same(&text_dump, &served);
    let user = [("sensor", "temp \"A\""), ("device", DEVICE)];
    assert_eq!(common::value(&served, "samples_read_total", &user), 50.0);
    assert!(common::value(&served, "sensor_balance", &[("device", DEVICE)]) < 0.0);
    assert!(bridge.logged(&format!("first dump from {DEVICE:?}")));
    // What Prometheus will scrape passes its own linter.
    let (ok, report) = picometrics_integration_tests::promtool_check(&bridge.metrics());
    assert!(ok && report.trim().is_empty(), "promtool check metrics: {report}");
    // QEMU is gone; the bridge reconnects in the background and keeps serving the last dump.
    std::thread::sleep(Duration::from_millis(1500));
    assert_same(&text_dump, &parse(&bridge.metrics()));
}

#[test]
fn bridge_on_stdin_survives_garbage_truncation_unknown_versions_and_bad_http() {
    let elf = firmware::build(TARGET, &["text", "frames"]);
    let run = firmware::run(TARGET, &elf);
    let text_dump = parse(&String::from_utf8(run.stdout).unwrap());
    assert!(!run.uart.is_empty());

    // Garbage, the capture cut in the middle of a frame (a device that reset), a corrupted
    // frame, then the whole capture. (Unknown versions: std-exporter/tests/devices.rs.)
    let mut stream = b"\x13\x37 not a frame\x00\xff\xfe\xfd\x00".to_vec();
    stream.extend_from_slice(&run.uart[..run.uart.len() / 3]);
    stream.extend_from_slice(&[picometrics::frame::VERSION, 7, 7, 7, 7, 7, 0]);
    stream.extend_from_slice(&run.uart);

    let mut bridge = Bridge::start(&["--stdin"], Stdio::piped());
    let mut input = bridge.stdin.take().unwrap();
    input.write_all(&stream).unwrap();
    drop(input);
    let served = wait_for_calls(&bridge, 50.0);
    assert_same(&text_dump, &served);
    let skipped: f64 =
        served.iter().filter(|s| s.name == "picometrics_bridge_frames_skipped_total").map(|s| s.value).sum();
    assert!(skipped >= 3.0, "garbage, the cut frame and the corrupted frame are counted: {served:?}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !bridge.logged("skipped a frame") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(bridge.logged("skipped a frame"), "{:?}", bridge.log.lock().unwrap());

    // Malformed HTTP gets a 400 and the bridge serves on.
    let mut raw = TcpStream::connect(&bridge.addr).unwrap();
    raw.write_all(b"NOT HTTP AT ALL\r\n\r\n").unwrap();
    let mut response = String::new();
    let _ = raw.read_to_string(&mut response);
    assert!(response.starts_with("HTTP/1.1 400"), "{response:?}");
    assert_same(&text_dump, &parse(&bridge.metrics()));
}

#[test]
fn bridge_reads_a_serial_device() {
    let elf = firmware::build(TARGET, &["text", "frames"]);
    let run = firmware::run(TARGET, &elf);
    let text_dump = parse(&String::from_utf8(run.stdout).unwrap());

    // A pseudo-terminal stands in for a USB serial adapter: the bridge opens its slave side by
    // path (and sets the baud rate and raw mode, as for real hardware); the test writes the
    // firmware's UART bytes into the master side.
    let (mut master, slave) = serialport::TTYPort::pair().expect("a pseudo-terminal pair");
    let path = serialport::SerialPort::name(&slave).expect("the slave's path");
    let bridge = Bridge::start(&["--serial", &path, "--baud", "115200"], Stdio::null());
    let deadline = Instant::now() + Duration::from_secs(30);
    while !bridge.logged(&format!("opened {path}")) {
        assert!(
            Instant::now() < deadline,
            "the bridge did not open {path}: {:?}",
            bridge.log.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    master.write_all(&run.uart).unwrap();
    master.flush().unwrap();
    assert_same(&text_dump, &wait_for_calls(&bridge, 50.0));
    drop(slave);
}

/// Firmware built with `deltas`: its second dump leaves out the function not called since the
/// first (`never_called`) and the build, sends the others' values by their place, and the bridge
/// (`--stdin`) still serves exactly the firmware's text dump — the left-out function from the
/// first dump.
#[test]
fn firmware_dumps_that_leave_out_unchanged_functions_are_served_whole() {
    let elf = firmware::build(TARGET, &["text", "deltas"]);
    let run = firmware::run(TARGET, &elf);
    let text_dump = parse(std::str::from_utf8(&run.stdout).unwrap());
    let lengths: Vec<usize> = run.dumps().iter().map(|d| d.len()).collect();
    let [whole, relative] = lengths[..] else { panic!("two dumps: {lengths:?}") };
    eprintln!("dump 0: {whole} bytes (whole), dump 1: {relative} bytes (relative to dump 0)");
    assert!(relative * 2 < whole, "dump 1 is {relative} bytes, dump 0 {whole}");
    // Dump 0 names the functions in registry order; dump 1 sends the changed ones by place.
    let (mut base, mut names, mut sent) = (None, Vec::new(), Vec::new());
    let mut uart = run.uart.clone();
    for frame in uart.split_mut(|&b| b == 0).filter(|f| !f.is_empty()) {
        match picometrics::frame::decode(frame).unwrap() {
            picometrics::frame::Message::Begin(b) => base = b.base,
            picometrics::frame::Message::Function(f) => names.push(f.function.to_owned()),
            picometrics::frame::Message::Changed(c) => sent.push(names[usize::from(c.index)].clone()),
            _ => {}
        }
    }
    assert_eq!(base, Some(0), "dump 1 is relative to dump 0");
    assert!(!sent.is_empty() && !sent.iter().any(|f| f == "never_called"), "sent: {sent:?}");

    let mut bridge = Bridge::start(&["--stdin"], Stdio::piped());
    let mut input = bridge.stdin.take().unwrap();
    input.write_all(&run.uart).unwrap();
    drop(input);
    let served = wait_for_calls(&bridge, 50.0);
    assert_same(&text_dump, &served);
    let never = [("device", DEVICE), ("function", "never_called")];
    assert!(
        common::all(&served, "function_calls_duration_seconds_count", &never).len() == 1,
        "kept from dump 0"
    );
}

/// A TCP source that goes silent is marked down within its read timeout, while the last dump
/// stays served; a made-up source that sends a dump then nothing is all it takes.
#[test]
fn a_silent_tcp_source_is_marked_down_within_its_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let peer = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        picometrics::frame::write_dump("quiet-device", 1, |b| stream.write_all(b)).unwrap();
        // Then silence, connection held open.
        std::thread::sleep(Duration::from_secs(4));
    });
    let bridge = Bridge::start(&["--tcp", &addr, "--read-timeout", "1"], Stdio::null());
    let source_up = |text: &str| {
        text.lines().find_map(|l| l.strip_prefix("picometrics_bridge_source_up ")).map(str::to_owned)
    };
    let started = Instant::now();
    let mut saw_up = false;
    loop {
        let text = bridge.metrics();
        match source_up(&text).as_deref() {
            Some("1") => saw_up = true,
            Some("0") if saw_up => {
                assert!(text.contains(r#"device="quiet-device""#), "the last dump stays served:\n{text}");
                break;
            }
            _ => {}
        }
        assert!(started.elapsed() < Duration::from_secs(6), "not marked down in time:\n{text}");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(started.elapsed() < Duration::from_secs(4), "marked down after {:?}", started.elapsed());
    drop(bridge);
    let _ = peer.join();
}

/// A megabyte of garbage is ten thousand skipped frames, counted in full, but the log says a
/// few lines a second (it used to print one line per skip) — and the lines about the bridge
/// itself are never among those suppressed: "end of input" follows the burst, after the count
/// of what was suppressed.
#[test]
fn garbage_is_counted_in_full_but_logged_at_a_bounded_rate() {
    let mut bridge = Bridge::start(&["--stdin"], Stdio::piped());
    let mut input = bridge.stdin.take().unwrap();
    // 1 MiB of 100-byte "frames" that do not decode.
    let garbage: Vec<u8> = (0..1 << 20).map(|i| if i % 100 == 99 { 0 } else { 0x55 }).collect();
    input.write_all(&garbage).unwrap();
    drop(input);
    let started = Instant::now();
    let skipped = loop {
        let samples = parse(&bridge.metrics());
        let n: f64 = samples
            .iter()
            .filter(|s| s.name == "picometrics_bridge_frames_skipped_total")
            .map(|s| s.value)
            .sum();
        if n >= 10_000.0 || started.elapsed() > Duration::from_secs(20) {
            break n;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(skipped >= 10_000.0, "every frame counted: {skipped}");
    let started = Instant::now();
    while !bridge.logged("end of input; still serving") {
        assert!(started.elapsed() < Duration::from_secs(5), "no end-of-input line after the burst");
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = bridge.log.lock().unwrap().clone();
    assert!(log.len() < 60, "{} log lines for {skipped} skips", log.len());
    // The burst was rate-limited (the attack happened), and its count came out before the
    // lifecycle line that ended it.
    let suppressed: u64 = log
        .iter()
        .filter_map(|l| l.strip_prefix("picometrics-bridge: (")?.split(' ').next()?.parse::<u64>().ok())
        .sum();
    assert!(suppressed >= 9_000, "{suppressed} suppressed: {log:#?}");
    let end = log.iter().position(|l| l.contains("end of input")).unwrap();
    let count = log.iter().rposition(|l| l.contains("more messages suppressed")).unwrap();
    assert!(count < end, "{log:#?}");
}
