//! Exemplars (feature `exemplars`): the latest trace per bucket, in OpenMetrics output only.
//! Run with `cargo test -p picometrics --features exemplars --test exemplars`.
#![cfg(feature = "exemplars")]

mod common;

use picometrics::exemplars::set_source;
use picometrics::model::TraceContext;
use picometrics::picometrics;
use std::cell::Cell;

thread_local! {
    static CURRENT: Cell<Option<TraceContext>> = const { Cell::new(None) };
}

fn current() -> Option<TraceContext> {
    CURRENT.with(Cell::get)
}

const NANOS: [u64; 3] = [1_000_000, 1_000_000_000, 10_000_000_000];

#[picometrics(buckets = NANOS)]
fn traced() {}

#[picometrics(buckets = NANOS)]
fn slow_traced() {
    common::sleep(std::time::Duration::from_millis(5));
}

#[test]
fn latest_trace_per_bucket_in_openmetrics_only() {
    set_source(current).unwrap();
    traced(); // no current trace: no exemplar
    let mut om = String::new();
    picometrics::render_openmetrics(&mut om).unwrap();
    assert!(!om.contains("trace_id"), "{om}");

    CURRENT.with(|c| c.set(Some(TraceContext { trace_id: 0xaaaa, span_id: 0x1 })));
    traced();
    CURRENT.with(|c| {
        c.set(Some(TraceContext {
            trace_id: 0x4bf92f3577b34da6a3ce929d0e0e4736,
            span_id: 0x00f067aa0ba902b7,
        }))
    });
    traced(); // replaces the first in the same bucket
    slow_traced();
    CURRENT.with(|c| c.set(None));

    let mut om = String::new();
    picometrics::render_openmetrics(&mut om).unwrap();
    let line = |f: &str, le: &str| {
        om.lines()
            .find(|l| {
                l.starts_with("function_calls_duration_seconds_bucket{")
                    && l.contains(&format!("function=\"{f}\""))
                    && l.contains(&format!("le=\"{le}\""))
            })
            .unwrap_or_else(|| panic!("no {f} {le} bucket in {om}"))
            .to_owned()
    };
    let fast = line("traced", "0.001");
    let (_, value) = fast
        .split_once(r#"} 3 # {trace_id="4bf92f3577b34da6a3ce929d0e0e4736",span_id="00f067aa0ba902b7"} "#)
        .unwrap_or_else(|| panic!("{fast}"));
    // Under a millisecond (exactly 0 on `embassy-time`'s mock clock), then a timestamp.
    let value: f64 = value.split(' ').next().unwrap().parse().unwrap();
    assert!((0.0..0.001).contains(&value), "{fast}");
    assert!(!om.contains("trace_id=\"0000000000000000000000000000aaaa\""));
    // The slow call's exemplar sits in its own bucket, with its value and a timestamp.
    let slow = line("slow_traced", "1");
    let exemplar = slow.split(" # ").nth(1).unwrap_or_else(|| panic!("{slow}"));
    let mut parts = exemplar.rsplitn(3, ' ');
    let timestamp: f64 = parts.next().unwrap().parse().unwrap();
    let value: f64 = parts.next().unwrap().parse().unwrap();
    assert!((0.005..1.0).contains(&value), "{slow}");
    assert!(timestamp > 1.6e9, "{slow}");
    assert!(!line("slow_traced", "0.001").contains('#'));

    let mut text = String::new();
    picometrics::render_prometheus(&mut text).unwrap();
    assert!(!text.contains("trace_id"), "the 0.0.4 format has no exemplars");
}
