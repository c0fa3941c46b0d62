use picometrics::metrics::Counter;
/// Sent bytes: a counter's name must end in `_total`.
#[picometrics::metric(name = "bytes_sent")]
static SENT: Counter = Counter::new();
fn main() { SENT.inc(); }
