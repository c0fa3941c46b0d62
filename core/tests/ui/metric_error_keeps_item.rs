use picometrics::metrics::Counter;

// An unknown argument: the attribute's error is the only one, the static is still declared and
// the code that uses it compiles.
#[picometrics::metric(unit = "bytes")]
static SENT_BYTES_TOTAL: Counter = Counter::new();

fn main() {
    SENT_BYTES_TOTAL.add(3);
}
