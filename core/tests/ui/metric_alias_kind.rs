// The type is an alias the attribute cannot read: the emitted `const` still checks the name
// against the instrument's real kind.
type Events = picometrics::metrics::Counter;
#[picometrics::metric(name = "events")]
static EVENTS: Events = Events::new();
fn main() { EVENTS.inc(); }
