//! The soak test's service: two writer threads call instrumented functions at full speed while
//! `/metrics` is served; at the end the registry's totals must equal what the writers counted.
//! `scripts/soak.sh` runs it with `soak-scraper` against it.
//!
//! `soak [--seconds N] [--listen ADDR]`: prints `metrics: http://ADDR/metrics` first, then, after
//! N seconds, one line per function and `soak: … lost 0` (exit status 1 if any count was lost).

use picometrics::picometrics;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[picometrics]
fn parse_request(i: u64) -> Result<u64, &'static str> {
    if i.is_multiple_of(7) {
        Err("bad request")
    } else {
        Ok(i.rotate_left(5))
    }
}

#[picometrics(track_concurrency)]
fn handle(i: u64) -> Result<u64, &'static str> {
    let parsed = parse_request(i)?;
    Ok(lookup(parsed))
}

#[picometrics]
fn lookup(key: u64) -> u64 {
    key.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

#[picometrics]
async fn background(i: u64) -> u64 {
    lookup(i)
}

/// What one writer counted: calls of `handle` ok/error, `parse_request` ok/error, `lookup`,
/// `background`.
#[derive(Default, Clone, Copy)]
struct Tally {
    handle: (u64, u64),
    parse: (u64, u64),
    lookup: u64,
    background: u64,
}

fn writer(stop: &AtomicBool, seed: u64) -> Tally {
    let mut t = Tally::default();
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    let mut i = seed;
    while !stop.load(Ordering::Relaxed) {
        for _ in 0..1024 {
            i = i.wrapping_add(1);
            match handle(i) {
                Ok(v) => {
                    std::hint::black_box(v);
                    t.handle.0 += 1;
                    t.parse.0 += 1;
                    t.lookup += 1;
                }
                Err(_) => {
                    t.handle.1 += 1;
                    t.parse.1 += 1;
                }
            }
            if i.is_multiple_of(16) {
                let mut f = std::pin::pin!(background(i));
                assert!(f.as_mut().poll(&mut cx).is_ready());
                t.background += 1;
                t.lookup += 1;
            }
        }
    }
    t
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut seconds, mut listen) = (600u64, "127.0.0.1:9464".to_owned());
    while let Some(flag) = args.next() {
        let value = args.next().expect("flag value");
        match flag.as_str() {
            "--seconds" => seconds = value.parse().expect("--seconds N"),
            "--listen" => listen = value,
            other => panic!("unknown flag {other}"),
        }
    }
    let server = picometrics_exporter::serve(listen.as_str()).expect("listen");
    println!("metrics: http://{}/metrics", server.local_addr());

    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..2u64)
        .map(|w| {
            let stop = stop.clone();
            std::thread::spawn(move || writer(&stop, w << 40))
        })
        .collect();
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(seconds));
    stop.store(true, Ordering::Relaxed);
    let tallies: Vec<Tally> = writers.into_iter().map(|w| w.join().unwrap()).collect();
    let elapsed = started.elapsed();

    // What the writers say happened, against what the registry says.
    let sum = |f: fn(&Tally) -> u64| tallies.iter().map(f).sum::<u64>();
    let want = [
        ("handle", sum(|t| t.handle.0), sum(|t| t.handle.1)),
        ("parse_request", sum(|t| t.parse.0), sum(|t| t.parse.1)),
        ("lookup", sum(|t| t.lookup), 0),
        ("background", sum(|t| t.background), 0),
    ];
    let mut lost = 0i128;
    let mut calls = 0u64;
    for (name, ok, error) in want {
        let f = picometrics::registry::find(name, module_path!()).expect("registered");
        let s = f.snapshot();
        let total = s.calls.total();
        let count = s.histogram.count();
        println!(
            "{name}: writers {ok} ok + {error} errors; registry {} ok + {} errors, histogram count {count}",
            total.ok, total.error
        );
        lost += i128::from(ok) - i128::from(total.ok) + i128::from(error) - i128::from(total.error);
        lost += i128::from(ok + error) - i128::from(count);
        calls += ok + error;
    }
    let rate = calls as f64 / elapsed.as_secs_f64();
    println!("soak: {calls} calls in {:.0} s ({rate:.0}/s) by 2 writers; lost {lost}", elapsed.as_secs_f64());
    server.shutdown();
    std::process::exit(if lost == 0 { 0 } else { 1 });
}
