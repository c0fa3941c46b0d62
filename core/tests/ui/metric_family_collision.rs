use picometrics::metrics::{Counter, Gauge};
/// Requests served: in OpenMetrics its family is `requests`.
#[picometrics::metric(name = "requests_total")]
static SERVED: Counter = Counter::new();
/// Requests in flight, under the counter's family name.
#[picometrics::metric(name = "requests")]
static IN_FLIGHT: Gauge = Gauge::new();
fn main() { SERVED.inc(); IN_FLIGHT.set(1); }
