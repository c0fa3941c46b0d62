//! A simulated fleet against the real `picometrics-bridge` (release build): DEVICES devices of
//! FUNCTIONS functions each dump once a second, multiplexed on one TCP stream (the bridge's
//! `--tcp` source) as buses of 16 devices whose frames interleave one by one, each carrying
//! its device's stream id (wire version 5). Measures whether ingest keeps up, the bridge's
//! resident memory over time (flat or growing), and the time and size of a full `/metrics`
//! scrape. `scripts/fleet.sh` runs it and writes `benches/FLEET.md`.
//!
//! `fleet [--devices N] [--functions N] [--seconds N]` (defaults 1000, 50, 30).

use picometrics::frame::MAX_FRAME;
use picometrics_integration_tests::fleet::{arg, cpu_seconds, dump, per_cpu_second, release_bridge, rss_kib};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Devices on one bus: their frames interleave (the bridge's default `--max-streams`).
const BUS: usize = 16;

fn main() {
    let (devices, functions, seconds) =
        (arg("--devices", 1000), arg("--functions", 50), arg("--seconds", 30));
    let bridge_binary = release_bridge();
    let source = TcpListener::bind("127.0.0.1:0").unwrap();
    // Room for every device: ~0.2 MiB each at 50 functions (decoded dump, and text once scraped).
    let mib = (devices * functions * 5 / 1024).max(64).to_string();
    let mut bridge = Command::new(&bridge_binary)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--no-explorer",
            "--tcp",
            &source.local_addr().unwrap().to_string(),
        ])
        .args(["--max-devices", &devices.to_string(), "--max-total-mib", &mib])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = bridge.id();
    let mut log = BufReader::new(bridge.stderr.take().unwrap()).lines();
    // Killed when this returns or panics.
    let bridge = picometrics_integration_tests::Running(bridge);
    let first = log.next().unwrap().unwrap();
    let addr = first
        .strip_prefix("picometrics-bridge: serving http://")
        .unwrap()
        .strip_suffix("/metrics")
        .unwrap()
        .to_owned();
    std::thread::spawn(move || log.for_each(drop));
    let (mut stream, _) = source.accept().unwrap();

    let names: Vec<String> = (0..functions).map(|i| format!("function_{i}")).collect();
    let devices_names: Vec<String> = (0..devices).map(|d| format!("dev-{d:04}")).collect();
    let mut buf = [0u8; MAX_FRAME];
    let mut wire = Vec::new();
    let (mut late, mut rss) = (0, Vec::new());
    let start = Instant::now();
    for second in 0..seconds as u32 {
        let tick = start + Duration::from_secs(u64::from(second));
        wire.clear();
        for bus in devices_names.chunks(BUS) {
            let dumps: Vec<_> = bus.iter().map(|d| dump(d, &names, second, &mut buf)).collect();
            for i in 0..names.len() + 2 {
                dumps.iter().for_each(|frames| wire.extend_from_slice(&frames[i]));
            }
        }
        stream.write_all(&wire).unwrap();
        if Instant::now() > tick + Duration::from_secs(1) {
            late += 1;
        }
        rss.push(rss_kib(pid));
        std::thread::sleep((tick + Duration::from_secs(1)).saturating_duration_since(Instant::now()));
    }
    // Ingest keeps up when every dump sent has been taken in shortly after the last second.
    let sent = (devices * seconds) as f64;
    let deadline = Instant::now() + Duration::from_secs(10);
    let dumps = |text: &str| -> f64 {
        text.lines()
            .filter(|l| l.starts_with("picometrics_bridge_device_dumps_total{"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    // A plain HTTP/1.1 client reading into one buffer, so the time is the bridge's and the
    // loopback's rather than a client library's.
    let mut response = vec![0u8; 256 << 20];
    let mut scrape = |gzip: bool| {
        let t = Instant::now();
        let mut stream = std::net::TcpStream::connect(&addr).unwrap();
        let encoding = if gzip { "Accept-Encoding: gzip\r\n" } else { "" };
        write!(stream, "GET /metrics HTTP/1.1\r\nHost: fleet\r\nConnection: close\r\n{encoding}\r\n")
            .unwrap();
        let mut len = 0;
        // The headers arrive once the whole text is rendered (it is sent with a length).
        let mut rendered = None;
        loop {
            let n = std::io::Read::read(&mut stream, &mut response[len..]).unwrap();
            rendered.get_or_insert_with(|| t.elapsed());
            if n == 0 {
                break;
            }
            len += n;
        }
        let whole = t.elapsed();
        assert!(len < response.len(), "a scrape larger than the client's buffer");
        let head = response.windows(4).position(|w| w == b"\r\n\r\n").map_or(len, |h| h + 4);
        // Gzipped, the body is counted as it came over the wire (compressed, chunked).
        let body =
            if gzip { String::new() } else { String::from_utf8_lossy(&response[head..len]).into_owned() };
        (rendered.unwrap_or(whole), whole, body, len - head)
    };
    let mut taken = 0.0;
    // The bridge's CPU for the ingest (before the scrapes add theirs: the first after the
    // dumps renders each device's latest, the timed ones join the texts kept).
    let mut ingest_cpu = cpu_seconds(pid);
    let mut first = (Duration::ZERO, Duration::ZERO, 0.0);
    while Instant::now() < deadline {
        let cpu = cpu_seconds(pid);
        let (rendered, whole, body, _) = scrape(false);
        taken = dumps(&body);
        first = (rendered, whole, cpu_seconds(pid) - cpu);
        if taken >= sent {
            ingest_cpu = cpu;
            break;
        }
    }
    // Then the full scrape, timed: until the headers (the render) and until the last byte.
    let mut timed = |gzip| -> Vec<(Duration, Duration, usize)> {
        (0..5)
            .map(|_| {
                let (rendered, whole, _, bytes) = scrape(gzip);
                (rendered, whole, bytes)
            })
            .collect()
    };
    let (scrapes, gzipped) = (timed(false), timed(true));
    let median_of = |scrapes: &[(Duration, Duration, usize)],
                     f: fn(&(Duration, Duration, usize)) -> Duration| {
        let mut times: Vec<Duration> = scrapes.iter().map(f).collect();
        times.sort();
        times[times.len() / 2]
    };
    let (render_median, median) = (median_of(&scrapes, |s| s.0), median_of(&scrapes, |s| s.1));
    let gzip_median = median_of(&gzipped, |s| s.1);
    let (bytes, gzip_bytes) = (scrapes.last().unwrap().2, gzipped.last().unwrap().2);
    let (rss_10, rss_end) =
        (rss.get(9).copied().unwrap_or_default(), rss.last().copied().unwrap_or_default());
    drop(bridge);
    let scrape_ok = if median < Duration::from_millis(100) { "MET" } else { "MISSED" };
    let ingest_ok = if taken >= sent && late == 0 { "MET" } else { "MISSED" };
    let flat = rss_end.0 <= rss_10.0 + rss_10.0 / 10;
    println!(
        "# Bridge at fleet scale\n\n\
         Written by `scripts/fleet.sh` (`tests/src/bin/fleet.rs`): {devices} simulated devices × \
         {functions} functions, each dumping once a second for {seconds} s on one TCP stream (buses of {BUS} interleaved frame by frame) into the \
         release `picometrics-bridge` (one core for the bridge, one for the simulator, same machine).\n\n\
         | measure | value |\n|---|---:|\n\
         | dumps sent / taken in | {sent:.0} / {taken:.0} |\n\
         | seconds the simulator fell behind | {late} |\n\
         | bridge CPU while ingesting / dumps per bridge CPU-second | {ingest_cpu:.1} s / {} |\n\
         | bridge RSS after 10 s / at the end / peak | {} / {} / {} MiB |\n\
         | the first `/metrics` scrape after the dumps, rendering every device's: until the headers / the last byte / bridge CPU | {:.0} / {:.0} ms / {:.2} s |\n\
         | full `/metrics` scrape again, median of {}: until the headers / the last byte | {:.0} / {:.0} ms for {:.1} MB |\n\
         | the same scrape gzipped (`Accept-Encoding: gzip`, as Prometheus asks), median: until the last byte | {:.0} ms for {:.1} MB ({:.0}× smaller) |\n\n\
         - {ingest_ok}: ingest keeps up (every dump taken in, the simulator never late)\n\
         - {}: flat memory (RSS at the end within 10 % of RSS after 10 s)\n\
         - {scrape_ok}: full scrape < 100 ms\n",
        per_cpu_second(taken, ingest_cpu),
        rss_10.0 / 1024,
        rss_end.0 / 1024,
        rss_end.1 / 1024,
        first.0.as_secs_f64() * 1e3,
        first.1.as_secs_f64() * 1e3,
        first.2,
        scrapes.len(),
        render_median.as_secs_f64() * 1e3,
        median.as_secs_f64() * 1e3,
        bytes as f64 / 1e6,
        gzip_median.as_secs_f64() * 1e3,
        gzip_bytes as f64 / 1e6,
        bytes as f64 / gzip_bytes.max(1) as f64,
        if flat { "MET" } else { "MISSED" },
    );
}
