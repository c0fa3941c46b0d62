//! The `prometheus`-crate bridge yields the same samples as the native renderer. Run with
//! `cargo test -p picometrics-exporter --features prometheus`.
#![cfg(feature = "prometheus")]

use picometrics_test_support::text as common;

use picometrics::objectives::{Objective, ObjectiveLatency, ObjectivePercentile};
use picometrics::picometrics;
use prometheus::Encoder;
use std::collections::BTreeMap;

const SLO: Objective = Objective::new("checkout")
    .success_rate(ObjectivePercentile::P99)
    .latency(ObjectiveLatency::Ms100, ObjectivePercentile::P95);
const NANOS: [u64; 5] = picometrics::buckets::exponential(100, 10);

#[picometrics(objective = SLO, track_concurrency)]
fn checkout(n: u32) -> Result<u32, u32> {
    if n.is_multiple_of(4) {
        Err(n)
    } else {
        Ok(price(n))
    }
}

#[picometrics(buckets = NANOS, callers = 1)]
fn price(n: u32) -> u32 {
    n * 3
}

#[picometrics]
fn audit() -> u32 {
    price(2)
}

#[picometrics]
fn idle() {}

/// Reconnects, by link.
#[picometrics::metric(labels(link = "radio"))]
static RECONNECTS_TOTAL: picometrics::metrics::Counter = picometrics::metrics::Counter::new();

/// Reconnects, by link.
#[picometrics::metric(name = "reconnects_total", labels(link = "uart"))]
static UART_RECONNECTS: picometrics::metrics::Counter = picometrics::metrics::Counter::new();

/// Queue depth.
#[picometrics::metric]
static QUEUE_DEPTH: picometrics::metrics::Gauge = picometrics::metrics::Gauge::new();

/// Batch sizes.
#[picometrics::metric]
static BATCH_ITEMS: picometrics::metrics::Histogram<2> = picometrics::metrics::Histogram::new([1, 10]);

type Samples = BTreeMap<(String, Vec<(String, String)>), f64>;

fn samples(text: &str) -> Samples {
    common::parse(text)
        .into_iter()
        .map(|s| {
            let mut labels = s.labels;
            labels.sort();
            ((s.name, labels), s.value)
        })
        .collect()
}

#[test]
fn bridge_and_native_renderer_agree_sample_for_sample() {
    for n in 0..40 {
        let _ = checkout(n);
    }
    audit(); // overflows `price`'s single caller edge
    let _ = idle;
    RECONNECTS_TOTAL.add(3);
    UART_RECONNECTS.inc();
    QUEUE_DEPTH.set(-2);
    for n in [0, 5, 50] {
        BATCH_ITEMS.observe(n);
    }

    let registry = prometheus::Registry::new();
    registry.register(Box::new(picometrics_exporter::PicometricsCollector::new())).unwrap();
    // The user's own metrics sit beside ours.
    let own = prometheus::IntCounter::new("orders_total", "orders").unwrap();
    registry.register(Box::new(own.clone())).unwrap();
    own.inc();

    let mut bridged = Vec::new();
    prometheus::TextEncoder::new().encode(&registry.gather(), &mut bridged).unwrap();
    let bridged = String::from_utf8(bridged).unwrap();
    let native = picometrics_exporter::render_to_string();

    let mut from_bridge = samples(&bridged);
    assert_eq!(from_bridge.remove(&("orders_total".to_owned(), vec![])), Some(1.0));
    let from_native = samples(&native);
    assert_eq!(from_bridge.len(), from_native.len(), "bridged:\n{bridged}\nnative:\n{native}");
    for (key, value) in &from_native {
        let other = from_bridge.get(key).unwrap_or_else(|| panic!("bridge lacks {key:?}\n{bridged}"));
        assert!(
            (value - other).abs() <= 1e-12 * value.abs().max(1.0),
            "{key:?}: native {value}, bridge {other}"
        );
    }
    assert!(from_native
        .keys()
        .any(|(_, l)| l.iter().any(|(k, v)| k == "caller_function" && v == "(overflow)")));
    // User metrics are among the samples compared: both series of one family, exact values.
    let link = |v: &str| vec![("link".to_owned(), v.to_owned())];
    assert_eq!(from_native.get(&("reconnects_total".to_owned(), link("radio"))), Some(&3.0));
    assert_eq!(from_native.get(&("queue_depth".to_owned(), vec![])), Some(&-2.0));
    let le = vec![("le".to_owned(), "10".to_owned())];
    assert_eq!(from_native.get(&("batch_items_bucket".to_owned(), le)), Some(&2.0));
    assert_eq!(bridged.matches("# TYPE reconnects_total counter").count(), 1, "{bridged}");
}
