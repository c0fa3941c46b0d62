use picometrics::metrics::Gauge;
#[picometrics::metric]
static mut DEPTH: Gauge = Gauge::new();
fn main() {}
