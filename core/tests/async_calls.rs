//! Async functions: timing and concurrency span the awaits, and the caller context follows
//! the task across polls and threads.

mod common;

use common::{parse, render, value};
use picometrics::picometrics;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

/// Pending until `open` is set: lets the test hold a call suspended at an await.
struct Gate<'a>(&'a std::sync::atomic::AtomicBool);

impl Future for Gate<'_> {
    type Output = ();
    fn poll(self: std::pin::Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        if self.0.load(std::sync::atomic::Ordering::SeqCst) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

#[picometrics(track_concurrency)]
async fn waits(gate: &std::sync::atomic::AtomicBool) -> Result<u8, ()> {
    Gate(gate).await;
    Ok(1)
}

#[test]
fn timing_and_concurrency_span_awaits() {
    let open = std::sync::atomic::AtomicBool::new(false);
    let mut fut = pin!(waits(&open));
    let mut cx = Context::from_waker(Waker::noop());
    assert!(fut.as_mut().poll(&mut cx).is_pending());
    let samples = parse(&render());
    assert_eq!(value(&samples, "function_calls_concurrent", &[("function", "waits")]), 1.0);
    assert_eq!(value(&samples, "function_calls_duration_seconds_count", &[("function", "waits")]), 0.0);

    common::sleep(Duration::from_millis(30));
    open.store(true, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(fut.as_mut().poll(&mut cx), Poll::Ready(Ok(1)));

    let samples = parse(&render());
    assert_eq!(value(&samples, "function_calls_concurrent", &[("function", "waits")]), 0.0);
    assert_eq!(value(&samples, "function_calls_total", &[("function", "waits"), ("result", "ok")]), 1.0);
    // The 30 ms spent suspended are part of the call.
    assert_eq!(
        value(&samples, "function_calls_duration_seconds_bucket", &[("function", "waits"), ("le", "0.025")]),
        0.0
    );
    assert!(value(&samples, "function_calls_duration_seconds_sum", &[("function", "waits")]) >= 0.030);
}

#[picometrics(track_concurrency)]
async fn cancelled(gate: &std::sync::atomic::AtomicBool) {
    Gate(gate).await;
}

#[picometrics(track_concurrency, cancelled = ok)]
async fn cancelled_counts_ok(gate: &std::sync::atomic::AtomicBool) {
    Gate(gate).await;
}

#[picometrics(track_concurrency, cancelled = skip)]
async fn cancelled_skipped(gate: &std::sync::atomic::AtomicBool) {
    Gate(gate).await;
}

/// Polls `fut` once (it waits at its gate) and drops it.
fn poll_once_and_drop(fut: impl Future<Output = ()>) {
    let mut fut = Box::pin(fut);
    assert!(fut.as_mut().poll(&mut Context::from_waker(Waker::noop())).is_pending());
}

#[test]
fn a_dropped_future_is_counted_as_its_policy_says_and_restores_the_gauge() {
    let never = std::sync::atomic::AtomicBool::new(false);
    poll_once_and_drop(cancelled(&never));
    poll_once_and_drop(cancelled_counts_ok(&never));
    poll_once_and_drop(cancelled_skipped(&never));
    let samples = parse(&render());
    for (function, ok, error) in
        [("cancelled", 0.0, 1.0), ("cancelled_counts_ok", 1.0, 0.0), ("cancelled_skipped", 0.0, 0.0)]
    {
        let f = ("function", function);
        assert_eq!(value(&samples, "function_calls_concurrent", &[f]), 0.0, "{function}");
        assert_eq!(value(&samples, "function_calls_total", &[f, ("result", "ok")]), ok, "{function}");
        assert_eq!(value(&samples, "function_calls_total", &[f, ("result", "error")]), error, "{function}");
        assert_eq!(value(&samples, "function_calls_duration_seconds_count", &[f]), ok + error, "{function}");
    }
}

#[picometrics]
async fn async_leaf() -> Result<(), String> {
    Err("nope".into())
}

#[picometrics]
fn sync_leaf() -> u8 {
    2
}

/// Yields once, so the rest of the body runs in a later poll.
async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await
}

#[picometrics]
async fn async_parent() -> u8 {
    yield_now().await;
    let _ = async_leaf().await;
    yield_now().await;
    sync_leaf()
}

#[picometrics]
async fn other_parent() {
    yield_now().await;
    let _ = async_leaf().await;
}

#[test]
fn caller_context_follows_each_task_across_polls() {
    // Two tasks interleaved on one thread: each child must see its own parent.
    futures_executor::block_on(async {
        let (a, _) = futures_util_join(async_parent(), other_parent()).await;
        assert_eq!(a, 2);
    });
    // A task moved to another thread between polls keeps its context.
    let mut fut = Box::pin(async_parent());
    assert!(fut.as_mut().poll(&mut Context::from_waker(Waker::noop())).is_pending());
    std::thread::spawn(move || futures_executor::block_on(fut)).join().unwrap();

    let samples = parse(&render());
    let by = |f: &str, caller: &str, result: &str| {
        value(
            &samples,
            "function_calls_total",
            &[("function", f), ("caller_function", caller), ("result", result)],
        )
    };
    assert_eq!(by("async_leaf", "async_parent", "error"), 2.0);
    assert_eq!(by("async_leaf", "other_parent", "error"), 1.0);
    assert_eq!(by("async_leaf", "", "error"), 0.0);
    assert_eq!(by("sync_leaf", "async_parent", "ok"), 2.0);
    // Nothing leaks into this thread's context after the tasks ran.
    assert!(picometrics::__private_v1::current_caller().is_none());
}

/// Polls two futures in turn on one thread (a minimal `join`).
async fn futures_util_join<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let mut a = Box::pin(a);
    let mut b = Box::pin(b);
    let (mut ra, mut rb) = (None, None);
    std::future::poll_fn(|cx| {
        if ra.is_none() {
            if let Poll::Ready(v) = a.as_mut().poll(cx) {
                ra = Some(v);
            }
        }
        if rb.is_none() {
            if let Poll::Ready(v) = b.as_mut().poll(cx) {
                rb = Some(v);
            }
        }
        if ra.is_some() && rb.is_some() {
            Poll::Ready((ra.take().unwrap(), rb.take().unwrap()))
        } else {
            Poll::Pending
        }
    })
    .await
}

struct Service;

#[picometrics]
impl Service {
    async fn handle(&self, n: u32) -> Result<u32, String> {
        yield_now().await;
        if n > 1 {
            Ok(n)
        } else {
            Err("small".into())
        }
    }
}

#[test]
fn async_methods() {
    futures_executor::block_on(async {
        assert!(Service.handle(1).await.is_err());
        assert_eq!(Service.handle(5).await, Ok(5));
    });
    let samples = parse(&render());
    assert_eq!(
        value(&samples, "function_calls_total", &[("function", "Service::handle"), ("result", "ok")]),
        1.0
    );
    assert_eq!(
        value(&samples, "function_calls_total", &[("function", "Service::handle"), ("result", "error")]),
        1.0
    );
}

/// The futures stay `Send`, so multi-threaded executors accept them.
#[test]
fn instrumented_futures_are_send() {
    fn assert_send<T: Send>(_: &T) {}
    let f = async_parent();
    assert_send(&f);
}
