//! User metric families that collide: a gauge `pkt_count` beside a histogram `pkt` is a compile
//! error (the naming rules; `tests/ui/metric_sample_name.rs`), a counter `requests_total` beside
//! a gauge `requests` with the same labels a link error (`tests/ui/metric_family_collision.rs`).
//! What is left — the two with different constant labels, which a linker symbol per series
//! cannot see — would make an OpenMetrics parser refuse the whole exposition: the writers keep
//! the family the registry lists first and leave the colliding one out, in both formats.

use picometrics::metrics::{Counter, Gauge};
use picometrics::render::{render_openmetrics, render_prometheus};

/// Requests served: in OpenMetrics its family is `requests`.
#[picometrics::metric(name = "requests_total", labels(route = "a"))]
static SERVED: Counter = Counter::new();

/// Requests in flight, under the counter's family name.
#[picometrics::metric(name = "requests", labels(route = "b"))]
static IN_FLIGHT: Gauge = Gauge::new();

/// Not colliding.
#[picometrics::metric(name = "requests_queued")]
static QUEUED: Gauge = Gauge::new();

#[test]
fn the_colliding_family_is_left_out_and_the_output_stays_valid() {
    SERVED.inc();
    IN_FLIGHT.set(7);
    QUEUED.set(3);
    let mut text = String::new();
    render_prometheus(&mut text).unwrap();
    let kept_counter = text.contains("# TYPE requests_total counter\n");
    let kept_gauge = text.contains("# TYPE requests gauge\n");
    assert!(kept_counter != kept_gauge, "exactly one of the two families is written:\n{text}");
    assert!(text.contains("requests_queued 3\n"), "{text}");
    assert_eq!(picometrics_test_support::exposition::check_exposition(&text), Ok(()), "{text}");
    let mut open = String::new();
    render_openmetrics(&mut open).unwrap();
    assert_eq!(open.contains("# TYPE requests gauge"), kept_gauge, "{open}");
    assert_eq!(open.matches("# TYPE requests ").count(), 1, "one family `requests`: {open}");
}
