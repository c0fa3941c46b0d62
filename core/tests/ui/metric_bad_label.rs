use picometrics::metrics::Gauge;
#[picometrics::metric(labels(link = "uart", le = "1"))]
static DEPTH: Gauge = Gauge::new();
fn main() { DEPTH.inc(); }
