//! Calls that end early under a real tokio runtime: a `timeout`, the losing branch of
//! `select!`, a task that panics (seen through its `JoinHandle`), and a panic caught around the
//! future (what tower-http's `CatchPanicLayer` does). Each is counted — as an error by default —
//! with its latency, and the concurrency gauge is back at 0.

#![cfg(not(loom))]

mod common;

use common::{parse, render, value};
use futures_util::FutureExt;
use picometrics::picometrics;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

/// The tests share the registry and read exact counts: one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_time().build().unwrap()
}

/// `(ok, error, histogram count, histogram sum in seconds, gauge)` of `function`.
fn counts(function: &str) -> (f64, f64, f64, f64, f64) {
    let samples = parse(&render());
    let f = ("function", function);
    (
        value(&samples, "function_calls_total", &[f, ("result", "ok")]),
        value(&samples, "function_calls_total", &[f, ("result", "error")]),
        value(&samples, "function_calls_duration_seconds_count", &[f]),
        value(&samples, "function_calls_duration_seconds_sum", &[f]),
        value(&samples, "function_calls_concurrent", &[f]),
    )
}

#[picometrics(track_concurrency)]
async fn slow_lookup(millis: u64) -> Result<u32, String> {
    tokio::time::sleep(Duration::from_millis(millis)).await;
    Ok(7)
}

#[test]
fn a_timeout_is_an_error_with_its_latency() {
    let _serial = serial();
    runtime().block_on(async {
        for _ in 0..3 {
            let r = tokio::time::timeout(Duration::from_millis(30), slow_lookup(10_000)).await;
            assert!(r.is_err(), "timed out");
        }
        assert_eq!(slow_lookup(1).await, Ok(7));
    });
    let (ok, error, count, sum, gauge) = counts("slow_lookup");
    assert_eq!((ok, error, count, gauge), (1.0, 3.0, 4.0, 0.0));
    // With `embassy-time` calls are timed by embassy's mock driver, which tokio's timers do not
    // advance.
    if cfg!(not(feature = "embassy-time")) {
        assert!(sum >= 0.09, "three timeouts of 30 ms took {sum} s in all");
    }
}

#[picometrics(track_concurrency)]
async fn racer(millis: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(millis)).await;
    millis
}

#[test]
fn the_losing_select_branch_is_an_error_and_the_winner_ok() {
    let _serial = serial();
    let won = runtime().block_on(async {
        tokio::select! {
            a = racer(5) => a,
            b = racer(5_000) => b,
        }
    });
    assert_eq!(won, 5);
    let (ok, error, count, _, gauge) = counts("racer");
    assert_eq!((ok, error, count, gauge), (1.0, 1.0, 2.0, 0.0));
}

#[picometrics(track_concurrency)]
async fn explodes(after_millis: u64) -> u32 {
    tokio::time::sleep(Duration::from_millis(after_millis)).await;
    panic!("handler bug");
}

#[test]
fn a_task_that_panicked_is_an_error_seen_through_its_join_handle() {
    let _serial = serial();
    let rt = runtime();
    let joined = rt.block_on(async { tokio::spawn(explodes(1)).await });
    assert!(joined.unwrap_err().is_panic());
    // A caught panic around the future, as `CatchPanicLayer` does it.
    let caught = rt.block_on(AssertUnwindSafe(explodes(1)).catch_unwind());
    assert!(caught.is_err());
    let (ok, error, count, _, gauge) = counts("explodes");
    assert_eq!((ok, error, count, gauge), (0.0, 2.0, 2.0, 0.0));
}

#[picometrics(track_concurrency, cancelled = skip)]
async fn background_refresh(millis: u64) {
    tokio::time::sleep(Duration::from_millis(millis)).await;
}

#[test]
fn a_function_may_leave_cancellations_out() {
    let _serial = serial();
    runtime().block_on(async {
        let _ = tokio::time::timeout(Duration::from_millis(5), background_refresh(5_000)).await;
        background_refresh(1).await;
    });
    let (ok, error, count, _, gauge) = counts("background_refresh");
    assert_eq!((ok, error, count, gauge), (1.0, 0.0, 1.0, 0.0));
}
