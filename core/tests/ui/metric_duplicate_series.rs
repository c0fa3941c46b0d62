use picometrics::metrics::Counter;
mod a {
    #[picometrics::metric(name = "resets_total", labels(cause = "watchdog"))]
    pub static RESETS: super::Counter = super::Counter::new();
}
mod b {
    #[picometrics::metric(name = "resets_total", labels(cause = "watchdog"))]
    pub static RESETS: super::Counter = super::Counter::new();
}
fn main() { a::RESETS.inc(); b::RESETS.inc(); }
