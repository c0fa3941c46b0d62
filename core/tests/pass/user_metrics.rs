//! Every spelling of the attribute users write: doc help, explicit help, keyword label names,
//! `crate = …`, a type alias, a histogram, a metric inside a function.
use picometrics::metrics::{Counter, Gauge, Histogram};

/// Reconnects
/// of the radio link.
#[picometrics::metric(labels(r#type = "ble"))]
static RECONNECTS_TOTAL: Counter = Counter::new();

#[picometrics::metric(crate = ::picometrics, name = "queue_depth", help = "Items \"queued\"")]
static QUEUE: Gauge = Gauge::new();

type Sizes = Histogram<2>;
#[picometrics::metric]
pub(crate) static BATCH_SIZE: Sizes = Sizes::new([1, 8]);

fn main() {
    #[picometrics::metric]
    static LOCAL_EVENTS_TOTAL: Counter = Counter::new();
    LOCAL_EVENTS_TOTAL.inc();
    RECONNECTS_TOTAL.inc();
    QUEUE.add(3);
    BATCH_SIZE.observe(4);
    let mut out = String::new();
    picometrics::render::write(&mut out, &picometrics::registry::Registry, picometrics::render::Format::Prometheus).unwrap();
    assert!(out.contains("# HELP reconnects_total Reconnects of the radio link.\n"), "{out}");
    assert!(out.contains("reconnects_total{type=\"ble\"} 1\n"), "{out}");
    assert!(out.contains("# HELP queue_depth Items \"queued\"\n"), "{out}");
    assert!(out.contains("queue_depth 3\n"), "{out}");
    assert!(out.contains("batch_size_bucket{le=\"8\"} 1\n"), "{out}");
    assert!(out.contains("local_events_total 1\n"), "{out}");
}
