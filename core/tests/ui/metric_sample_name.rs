use picometrics::metrics::{Gauge, Histogram};
/// Packet sizes.
#[picometrics::metric(name = "pkt")]
static PKT: Histogram<2> = Histogram::new([64, 256]);
/// Packets queued: as a gauge `pkt_count` it would write the histogram's `pkt_count` sample.
#[picometrics::metric(name = "pkt_count")]
static QUEUED: Gauge = Gauge::new();
fn main() { PKT.observe(1); QUEUED.set(1); }
