//! What the fleet benchmarks (`scripts/fleet.sh`: `src/bin/fleet.rs`, `src/bin/fleet_network.rs`)
//! share: the simulated device's dump, their arguments, and what `/proc` says of the bridge.

use picometrics::frame::{self, Begin, FunctionRecord, Message, StreamId, MAX_FRAME};
use picometrics::model::{Build, Totals};

/// The number after `name` on the command line, or `default`.
pub fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map_or(default, |v| v.parse().unwrap_or_else(|_| panic!("{name} takes a number")))
}

/// One device's dump number `seq`, frame by frame: every function with `seq`-dependent counts.
pub fn dump(device: &str, functions: &[String], seq: u32, buf: &mut [u8; MAX_FRAME]) -> Vec<Vec<u8>> {
    let stream = StreamId::of(device);
    let mut out = Vec::with_capacity(functions.len() + 2);
    let mut frame = |m: &Message<'_>| out.push(frame::encode_message_on(m, stream, buf).unwrap().to_vec());
    let build = Build {
        version: "1.0.0",
        commit: "abc",
        branch: "main",
        service_name: "fleet",
        repository_url: "",
        extra: None,
    };
    let begin = Message::Begin(Begin {
        device,
        seq,
        build,
        counter_bits: 32,
        uptime_nanos: u64::from(seq) * 1_000_000_000,
        base: None,
    });
    frame(&begin);
    let calls = u64::from(seq) * 10;
    for (i, name) in functions.iter().enumerate() {
        let mut counts = heapless::Vec::new();
        for b in 0..=picometrics::buckets::DEFAULT.len() {
            let _ = counts.push(if b == i % 4 { calls } else { 0 });
        }
        let f = Message::Function(FunctionRecord {
            function: name,
            module: "fleet",
            objective: None,
            bounds: heapless::Vec::from_slice(&picometrics::buckets::DEFAULT).unwrap(),
            counts,
            sum_nanos: calls * 1_000,
            root: Totals { ok: calls - calls / 10, error: calls / 10 },
            callers: heapless::Vec::new(),
            overflow: Totals::default(),
            concurrent: None,
            max_nanos: None,
        });
        frame(&f);
    }
    frame(&Message::End { seq, functions: functions.len() as u16, metrics: 0 });
    out
}

/// The CPU seconds (user and system) the bridge has used, from `/proc` (clock ticks of 10 ms,
/// as Linux reports them to processes).
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    (ticks(11) + ticks(12)) as f64 / 100.0
}

/// `count` per CPU-second over `cpu` seconds counted in 10 ms ticks, rounded to the significant
/// digits those ticks carry (about one per power of ten of them): 6,000 dumps in 70 ticks are
/// `8600`, not `8571`.
pub fn per_cpu_second(count: f64, cpu: f64) -> String {
    let ticks = (cpu * 100.0).round().max(1.0);
    let rate = count / (ticks / 100.0);
    let digits = ticks.log10().round().max(1.0);
    let unit = 10f64.powf((rate.max(1.0).log10().floor() + 1.0 - digits).max(0.0));
    format!("{:.0}", (rate / unit).round() * unit)
}

/// The CPU seconds the live threads of `pid` whose names start with `prefix` have used (a
/// thread's `comm` is its name cut to 15 bytes).
pub fn thread_cpu_seconds(pid: u32, prefix: &str) -> f64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return 0.0 };
    let mut seconds = 0.0;
    for task in tasks.flatten() {
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        let Some((head, after)) = stat.rsplit_once(')') else { continue };
        if !head.split_once('(').is_some_and(|(_, name)| name.starts_with(prefix)) {
            continue;
        }
        let fields: Vec<&str> = after.split_whitespace().collect();
        let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
        seconds += (ticks(11) + ticks(12)) as f64 / 100.0;
    }
    seconds
}

/// The bridge's resident and peak resident memory, KiB.
pub fn rss_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Builds the release `picometrics-bridge` (as users run it in production) and returns its path.
pub fn release_bridge() -> std::path::PathBuf {
    let root = crate::root();
    let status = std::process::Command::new(env!("CARGO"))
        .args(["build", "--release", "-q", "-p", "picometrics-bridge"])
        .current_dir(&root)
        .status()
        .unwrap();
    assert!(status.success(), "cargo build --release -p picometrics-bridge");
    root.join("target/release/picometrics-bridge")
}

#[cfg(test)]
mod tests {
    #[test]
    fn rates_carry_the_ticks_precision() {
        assert_eq!(super::per_cpu_second(6_000.0, 0.7), "8600");
        assert_eq!(super::per_cpu_second(60_000.0, 5.64), "10600");
        assert_eq!(super::per_cpu_second(30_000.0, 1.04), "29000", "104 ticks: two digits");
        assert_eq!(super::per_cpu_second(50.0, 0.01), "5000");
        assert_eq!(super::per_cpu_second(24_726_000.0, 5.2), "4760000");
    }
}
