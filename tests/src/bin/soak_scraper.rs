//! The soak test's scraper, a second process: scrapes `/metrics` 50 times a second, checks every
//! scrape (parses; each histogram's buckets cumulative with `+Inf == _count`; no counter ever
//! goes down between scrapes) and samples the service's RSS once a second.
//!
//! `soak-scraper URL PID SECONDS`: prints one summary line; exit status 1 on any failed or
//! inconsistent scrape.

use picometrics_test_support::text as common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

fn rss_kib(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Whether one scrape is self-consistent; `why` says what is not.
fn consistent(samples: &[common::Sample]) -> Result<(), String> {
    for count in samples.iter().filter(|s| s.name == "function_calls_duration_seconds_count") {
        let f = count.label("function").unwrap_or_default();
        let buckets = common::all(samples, "function_calls_duration_seconds_bucket", &[("function", f)]);
        if buckets.windows(2).any(|p| p[0].value > p[1].value) {
            return Err(format!("{f}: buckets not cumulative"));
        }
        match buckets.last() {
            Some(inf) if inf.label("le") == Some("+Inf") && inf.value == count.value => {}
            _ => return Err(format!("{f}: +Inf != _count")),
        }
    }
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, pid, seconds] = &args[..] else { panic!("usage: soak-scraper URL PID SECONDS") };
    let seconds: u64 = seconds.parse().unwrap();
    let agent = ureq::Agent::new_with_defaults();
    let start = Instant::now();
    let period = Duration::from_millis(20);
    let (mut scrapes, mut failed, mut inconsistent, mut decreased) = (0u64, 0u64, 0u64, 0u64);
    let mut last: HashMap<String, f64> = HashMap::new();
    let mut rss = Vec::new();
    let mut next = start;
    while start.elapsed() < Duration::from_secs(seconds) {
        next += period;
        scrapes += 1;
        let body = agent.get(url).call().and_then(|mut r| r.body_mut().read_to_string());
        match body {
            Err(e) => {
                failed += 1;
                eprintln!("scrape {scrapes} failed: {e}");
            }
            Ok(text) => match std::panic::catch_unwind(|| common::parse(&text)) {
                Err(_) => failed += 1,
                Ok(samples) => {
                    if let Err(why) = consistent(&samples) {
                        inconsistent += 1;
                        eprintln!("scrape {scrapes}: {why}");
                    }
                    for s in samples.iter().filter(|s| {
                        s.name.ends_with("_total")
                            || s.name.ends_with("_count")
                            || s.name.ends_with("_bucket")
                            || s.name.ends_with("_sum")
                    }) {
                        let key = format!("{}{:?}", s.name, s.labels);
                        if last.get(&key).is_some_and(|&before| s.value < before) {
                            decreased += 1;
                            eprintln!("scrape {scrapes}: {key} went down");
                        }
                        last.insert(key, s.value);
                    }
                }
            },
        }
        if scrapes % 50 == 0 {
            rss.extend(rss_kib(pid));
        }
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    // RSS after warm-up (the first minute, or third of a shorter run) against the end.
    let warm_up = 60.min(rss.len() / 3);
    let warm = rss.get(warm_up).copied().unwrap_or(0);
    let (lo, hi) = rss.iter().skip(warm_up).fold((u64::MAX, 0), |(lo, hi), &r| (lo.min(r), hi.max(r)));
    let end = rss.last().copied().unwrap_or(0);
    println!(
        "scraper: {scrapes} scrapes in {:.0} s ({:.1}/s); failed {failed}; inconsistent {inconsistent}; counters gone down {decreased}; RSS KiB first {} / after warm-up {warm} / min {lo} max {hi} after warm-up / end {end}",
        start.elapsed().as_secs_f64(),
        scrapes as f64 / start.elapsed().as_secs_f64(),
        rss.first().copied().unwrap_or(0),
    );
    std::process::exit(if failed + inconsistent + decreased == 0 { 0 } else { 1 });
}
