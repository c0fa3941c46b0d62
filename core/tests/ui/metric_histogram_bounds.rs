use picometrics::metrics::Histogram;
#[picometrics::metric]
static PACKET_BYTES: Histogram<3> = Histogram::new([64, 64, 1024]);
fn main() { PACKET_BYTES.observe(1); }
