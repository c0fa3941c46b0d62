//! A user metric family named like another's samples — a gauge `pkt_count` beside a histogram
//! `pkt` — would make Prometheus refuse the whole exposition. The writers keep the family the
//! registry lists first and leave the colliding one out, in both formats.
//! (A compile or link error would be better; an attribute sees one static at a time, and a
//! linker symbol per sample name would also refuse one family's series with different labels.)

use picometrics::metrics::{Gauge, Histogram};
use picometrics::render::{render_openmetrics, render_prometheus};

/// Packet sizes.
#[picometrics::metric(name = "pkt")]
static PKT: Histogram<2> = Histogram::new([64, 1500]);

/// Colliding with `pkt`'s `_count` samples.
#[picometrics::metric(name = "pkt_count")]
static PKT_COUNT: Gauge = Gauge::new();

/// Not colliding.
#[picometrics::metric(name = "pkts_queued")]
static QUEUED: Gauge = Gauge::new();

#[test]
fn the_colliding_family_is_left_out_and_the_output_stays_valid() {
    PKT.observe(100);
    PKT_COUNT.set(7);
    QUEUED.set(3);
    let mut text = String::new();
    render_prometheus(&mut text).unwrap();
    let kept_histogram = text.contains("# TYPE pkt histogram\n");
    let kept_gauge = text.contains("# TYPE pkt_count gauge\n");
    assert!(kept_histogram != kept_gauge, "exactly one of the two families is written:\n{text}");
    assert!(text.contains("pkts_queued 3\n"), "{text}");
    assert_eq!(picometrics_test_support::exposition::check_exposition(&text), Ok(()), "{text}");
    let mut open = String::new();
    render_openmetrics(&mut open).unwrap();
    assert_eq!(open.contains("# TYPE pkt_count gauge"), kept_gauge, "{open}");
}
