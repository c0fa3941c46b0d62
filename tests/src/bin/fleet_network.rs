//! A simulated fleet over the network: DEVICES devices of FUNCTIONS functions, half posting
//! their dumps to `--accept-http`, half sending them over `--accept` (one connection per bridge
//! and client process, devices multiplexed by stream id), each dump to the other of two release
//! `picometrics-bridge`s than the one before, every EVERY seconds for SECONDS seconds; both
//! bridges remote-write to a real VictoriaMetrics. Measures dumps taken per CPU-second of a
//! bridge, remote-write samples a second into the database, the bridges' memory, and the lag
//! from the last dump sent until every device's last dump can be queried — once the database
//! holds every series (a first dump of every device, whose lag is reported too, creates them).
//! `scripts/fleet.sh` runs it after `fleet` and appends to `benches/FLEET.md`.
//!
//! `fleet-network [--devices N] [--functions N] [--seconds N] [--every N] [--clients N]`
//! (defaults 1000, 50, 30, 5, 4). A client process is the same binary with `--client`.

use picometrics::frame::MAX_FRAME;
use picometrics_integration_tests::fleet::{
    arg, cpu_seconds, dump, per_cpu_second, release_bridge, rss_kib, thread_cpu_seconds,
};
use picometrics_integration_tests::prometheus::{temp_dir_named, try_query};
use picometrics_integration_tests::{victoria, Running};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The name the remote-write pusher's thread starts with (`picometrics-push-remote_write`,
/// cut to 15 bytes by Linux).
const PUSH_THREAD: &str = "picometrics-pus";

/// The bridges' counters the table reports, summed over both: dumps taken, superseded, pushes
/// and failed pushes.
const COUNTED: [&str; 4] = [
    "picometrics_bridge_device_dumps_total",
    "picometrics_bridge_dumps_superseded_total",
    "picometrics_push_requests_total",
    "picometrics_push_failures_total",
];

/// The push interval of the bridges, seconds.
const PUSH_INTERVAL: u64 = 5;

fn text_arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

fn unix_ms() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis()
}

/// One client process: devices `--from`..`--to`, over `--client http|tcp`, to the bridges
/// `--bridges A,B`. Prints `sent N late N last_ms T`.
fn client(kind: &str) {
    let (from, to) = (arg("--from", 0), arg("--to", 0));
    let (functions, rounds, every) = (arg("--functions", 50), arg("--rounds", 6), arg("--every", 5));
    let bridges: Vec<String> = text_arg("--bridges").unwrap().split(',').map(str::to_owned).collect();
    let start_ms = text_arg("--start-ms").unwrap().parse::<u128>().unwrap();
    let first_seq = arg("--first-seq", 1) as u32;
    let names: Vec<String> = (0..functions).map(|i| format!("function_{i}")).collect();
    let devices: Vec<usize> = (from..to).collect();
    let (mut sent, mut late) = (0u64, 0u64);
    let mut buf = [0u8; MAX_FRAME];
    let every_ms = every as u128 * 1000;
    // Device i dumps at start + round × every + its phase (spread over the interval).
    let phase = |i: usize| (i as u128 * every_ms) / (devices.len().max(1) as u128);
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut tcp: Vec<std::net::TcpStream> = if kind == "tcp" {
        bridges.iter().map(|b| std::net::TcpStream::connect(b).unwrap()).collect()
    } else {
        Vec::new()
    };
    for round in 0..rounds {
        let seq = first_seq + round as u32;
        for (k, &i) in devices.iter().enumerate() {
            let due = start_ms + round as u128 * every_ms + phase(k);
            let now = unix_ms();
            if now < due {
                std::thread::sleep(Duration::from_millis((due - now) as u64));
            } else if now > due + 1000 {
                late += 1;
            }
            let device = format!("dev-{i:05}");
            let wire = dump(&device, &names, seq, &mut buf).concat();
            let bridge = (i + round) % 2;
            if kind == "tcp" {
                tcp[bridge].write_all(&wire).unwrap();
            } else {
                let url = format!("http://{}/api/v1/dumps", bridges[bridge]);
                let status = agent.post(&url).send(&wire[..]).unwrap().status().as_u16();
                assert_eq!(status, 200, "{device} dump {seq}");
            }
            sent += 1;
        }
    }
    println!("sent {sent} late {late} last_ms {}", unix_ms());
}

/// A release bridge taking devices on both listeners and pushing to `write_url`: the child,
/// its `/metrics` address, its TCP and HTTP ingest addresses.
fn start_bridge(
    binary: &std::path::Path,
    write_url: &str,
    devices: usize,
    mib: &str,
) -> (Running, [String; 3]) {
    let mut child = Command::new(binary)
        .args(["--listen", "127.0.0.1:0", "--no-explorer", "--no-device-metrics", "--accept", "127.0.0.1:0"])
        .args(["--accept-http", "127.0.0.1:0", "--dumps-per-second", "1000000"])
        .args(["--remote-write", write_url, "--push-interval", &PUSH_INTERVAL.to_string()])
        .args(["--max-devices", &devices.to_string(), "--max-total-mib", mib])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut log = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut addrs: [String; 3] = Default::default();
    for (i, prefix) in
        ["serving http://", "accepting frames on tcp://", "accepting dumps at http://"].iter().enumerate()
    {
        while addrs[i].is_empty() {
            let line = log.next().unwrap().unwrap();
            if let Some(rest) = line.strip_prefix("picometrics-bridge: ").and_then(|l| l.strip_prefix(prefix))
            {
                addrs[i] = rest.split(['/', ' ']).next().unwrap().to_owned();
            }
        }
    }
    std::thread::spawn(move || log.for_each(drop));
    (Running(child), addrs)
}

/// The sum of `name`'s samples in the text at `url`.
fn sum_of(url: &str, name: &str) -> f64 {
    let text =
        ureq::get(url).call().unwrap().body_mut().with_config().limit(1 << 30).read_to_string().unwrap();
    text.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn main() {
    if let Some(kind) = text_arg("--client") {
        return client(&kind);
    }
    let (devices, functions, seconds) =
        (arg("--devices", 1000), arg("--functions", 50), arg("--seconds", 30));
    let (every, clients) = (arg("--every", 5).max(1), arg("--clients", 4).max(2));
    let rounds = (seconds / every).max(1);
    let bridge_binary = release_bridge();
    let dir = temp_dir_named("fleet-network");
    let (vm_process, vm) = victoria::run(&dir);
    let write_url = format!("{vm}/api/v1/write");
    // Room for every device in each bridge (a device lands on both).
    let mib = (devices * functions * 5 / 1024).max(64).to_string();
    let bridges: Vec<(Running, [String; 3])> =
        (0..2).map(|_| start_bridge(&bridge_binary, &write_url, devices, &mib)).collect();
    let pids: Vec<u32> = bridges.iter().map(|b| b.0 .0.id()).collect();
    let per = devices.div_ceil(clients);
    // Half the clients post over HTTP, half send over TCP, each a range of devices; each
    // device's dumps from `first_seq` on. What they sent, how many late, when the last one was.
    let run_clients = |first_seq: usize, rounds: usize| -> (u64, u64, u128) {
        let start_ms = unix_ms() + 2000;
        let children: Vec<_> = (0..clients)
            .map(|c| {
                let kind = if c % 2 == 0 { "http" } else { "tcp" };
                let addrs: Vec<&str> = bridges
                    .iter()
                    .map(|b| if kind == "http" { b.1[2].as_str() } else { b.1[1].as_str() })
                    .collect();
                Command::new(std::env::current_exe().unwrap())
                    .args(["--client", kind, "--bridges", &addrs.join(",")])
                    .args([
                        "--from",
                        &(c * per).min(devices).to_string(),
                        "--to",
                        &((c + 1) * per).min(devices).to_string(),
                    ])
                    .args(["--functions", &functions.to_string(), "--rounds", &rounds.to_string()])
                    .args(["--every", &every.to_string(), "--start-ms", &start_ms.to_string()])
                    .args(["--first-seq", &first_seq.to_string()])
                    .stdout(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let (mut sent, mut late, mut last_ms) = (0u64, 0u64, 0u128);
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success(), "a client failed");
            let line = String::from_utf8_lossy(&out.stdout).into_owned();
            let f: Vec<&str> = line.split_whitespace().collect();
            sent += f[1].parse::<u64>().unwrap();
            late += f[3].parse::<u64>().unwrap();
            last_ms = last_ms.max(f[5].parse().unwrap());
        }
        (sent, late, last_ms)
    };
    // How many devices' dump `seq` is queryable (`function_0`'s ok calls are 9 × seq), waiting
    // up to `seconds` for all of them; and when the wait ended.
    let wait_for = |seq: usize, seconds: u64| -> (f64, u128) {
        let promql = format!(
            "count(last_over_time(function_calls_total{{function=\"function_0\",result=\"ok\"}}[10m]) == {})",
            seq * 9
        );
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let mut visible = 0.0;
        while Instant::now() < deadline {
            visible = try_query(&vm, &promql).ok().and_then(|r| r.first().map(|s| s.1)).unwrap_or(0.0);
            if visible >= devices as f64 {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        (visible, unix_ms())
    };
    let lag_text = |visible: f64, lag: f64| {
        if visible >= devices as f64 {
            format!("{lag:.1} s")
        } else {
            format!("more than {:.0} s", lag.floor())
        }
    };

    // First contact: one dump of every device, every series new to the database (which costs
    // it most); the fleet is measured once it has them all, as a fleet that has been running.
    let vm_cpu_start = cpu_seconds(vm_process.0.id());
    let (_, _, first_ms) = run_clients(1, 1);
    // Ten million new series take VictoriaMetrics minutes on this machine.
    let (first_visible, first_done) = wait_for(1, 600);
    let first_lag = first_done.saturating_sub(first_ms) as f64 / 1000.0;
    let first_vm_cpu = cpu_seconds(vm_process.0.id()) - vm_cpu_start;

    let vm_cpu_before = cpu_seconds(vm_process.0.id());
    let cpu_before: Vec<f64> = pids.iter().map(|&p| cpu_seconds(p)).collect();
    let push_before: Vec<f64> = pids.iter().map(|&p| thread_cpu_seconds(p, PUSH_THREAD)).collect();
    let metrics = |name: &str| -> f64 {
        bridges.iter().map(|b| sum_of(&format!("http://{}/metrics", b.1[0]), name)).sum()
    };
    let counted_before = COUNTED.map(metrics);
    let rows_name = "vm_rows_inserted_total{type=\"promremotewrite\"}";
    let rows_before = sum_of(&format!("{vm}/metrics"), rows_name);
    let mut rss_peak = [0u64; 2];
    let sampler = {
        let pids = pids.clone();
        std::thread::spawn(move || {
            let mut last = [(0, 0); 2];
            for _ in 0..(seconds + 4) {
                for (i, &p) in pids.iter().enumerate() {
                    last[i] = rss_kib(p);
                }
                std::thread::sleep(Duration::from_secs(1));
            }
            last
        })
    };
    let (sent, late, last_ms) = run_clients(2, rounds);
    // Every device's last dump queryable: the lag from the last dump sent.
    let (visible, done) = wait_for(rounds + 1, 120);
    let lag = done.saturating_sub(last_ms) as f64 / 1000.0;
    // After the last push: the pusher's work for the last dumps counts.
    let cpu: f64 = pids.iter().zip(&cpu_before).map(|(&p, b)| cpu_seconds(p) - b).sum();
    let push_cpu: f64 =
        pids.iter().zip(&push_before).map(|(&p, b)| thread_cpu_seconds(p, PUSH_THREAD) - b).sum();
    let ingest_cpu = cpu - push_cpu;
    let vm_cpu = cpu_seconds(vm_process.0.id()) - vm_cpu_before;
    let mut counted = COUNTED.map(metrics);
    for (now, before) in counted.iter_mut().zip(counted_before) {
        *now -= before;
    }
    let [taken, superseded, pushes, failed] = counted;
    let rows = sum_of(&format!("{vm}/metrics"), rows_name) - rows_before;
    let last_rss = sampler.join().unwrap();
    for (i, r) in last_rss.iter().enumerate() {
        rss_peak[i] = r.1;
    }
    let per_core = taken / ingest_cpu.max(0.01);
    let span = (rounds * every) as f64;
    let verdict = |ok: bool| if ok { "MET" } else { "MISSED" };
    println!(
        "\n## Over the network: {devices} devices, two bridges into VictoriaMetrics\n\n\
         Written by `scripts/fleet.sh` (`tests/src/bin/fleet_network.rs`): {devices} simulated devices × \
         {functions} functions in {clients} client processes (half `POST /api/v1/dumps`, half `--accept` \
         TCP), each device dumping every {every} s for {span:.0} s to the other bridge than the time before; \
         two release bridges (`--no-device-metrics`: their own families only at `/metrics`) pushing every {PUSH_INTERVAL} s by remote write to one VictoriaMetrics \
         (all on this 2-core machine).\n\n\
         | measure | value |\n|---|---:|\n\
         | dumps sent / taken in (both bridges) | {sent} / {taken:.0} |\n\
         | dumps sent more than 1 s late | {late} |\n\
         | bridge CPU (both): taking dumps in / pushing them / in all | {ingest_cpu:.1} / {push_cpu:.1} / {cpu:.1} s |\n\
         | dumps per CPU-second: taking in / in all (with the push) | {} / {} |\n\
         | remote-write samples per push CPU-second | {} |\n\
         | dumps replaced by the device's next before a push took them (superseded) / pushed | {superseded:.0} / {:.0} |\n\
         | remote-write samples into VictoriaMetrics / per second of the run / per dump pushed | {rows:.0} / {:.0} / {:.0} |\n\
         | remote-write requests / failed (both bridges) | {pushes:.0} / {failed:.0} |\n\
         | bridge peak RSS (each) | {} / {} MiB |\n\
         | first contact, every series new to the database: devices whose dump is queryable / lag / VictoriaMetrics CPU | {first_visible:.0} of {devices} / {} / {first_vm_cpu:.1} s |\n\
         | then (the numbers above): devices whose last dump is queryable / lag from the last dump sent | {visible:.0} of {devices} / {} |\n\
         | VictoriaMetrics CPU, from the first of those dumps until every device was queryable (or the wait ended) | {vm_cpu:.1} s |\n\n\
         - {}: ≥ 10,000 dumps taken in per bridge CPU-second\n\
         - {}: every device in the database, lag ≤ 2 push intervals ({} s) once its series exist\n\
         - {}: RSS ≤ 1 GiB per bridge\n",
        per_cpu_second(taken, ingest_cpu),
        per_cpu_second(taken, cpu),
        per_cpu_second(rows, push_cpu),
        taken - superseded,
        rows / span,
        rows / (taken - superseded).max(1.0),
        rss_peak[0] / 1024,
        rss_peak[1] / 1024,
        lag_text(first_visible, first_lag),
        lag_text(visible, lag),
        verdict(per_core >= 10_000.0),
        verdict(visible >= devices as f64 && lag <= 2.0 * PUSH_INTERVAL as f64),
        2 * PUSH_INTERVAL,
        verdict(rss_peak.iter().all(|&r| r <= 1 << 20)),
    );
}
