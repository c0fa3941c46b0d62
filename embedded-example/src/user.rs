use picometrics::metrics::{Counter, Gauge, Histogram};

/// Samples read, by sensor.
#[picometrics::metric(labels(sensor = "temp \"A\""))]
pub static SAMPLES_READ_TOTAL: Counter = Counter::new();

/// Checksum errors so far, negated: a gauge below zero.
#[picometrics::metric(name = "sensor_balance")]
pub static BALANCE: Gauge = Gauge::new();

/// Reading index modulo 100.
#[picometrics::metric]
pub static READING_VALUE: Histogram<3> = Histogram::new([10, 25, 40]);

/// Records one `sample` call.
pub fn record(i: u32, failed: bool) {
    SAMPLES_READ_TOTAL.inc();
    READING_VALUE.observe(u64::from(i % 100));
    if failed {
        BALANCE.dec();
    }
    #[cfg(feature = "extra-metrics")]
    extra::run(i);
}

/// Eight more counters for the size report, each added to differently.
#[cfg(feature = "extra-metrics")]
mod extra {
    use picometrics::metrics::Counter;

    macro_rules! extra {
        ($($name:ident = $text:literal),*) => {
            $(
                #[picometrics::metric(name = $text)]
                static $name: Counter = Counter::new();
            )*
            pub fn run(i: u32) {
                let mut k = 0;
                $( k += 1; $name.add(i.rotate_left(k)); )*
            }
        };
    }
    extra!(
        X1 = "extra_1_total",
        X2 = "extra_2_total",
        X3 = "extra_3_total",
        X4 = "extra_4_total",
        X5 = "extra_5_total",
        X6 = "extra_6_total",
        X7 = "extra_7_total",
        X8 = "extra_8_total"
    );
}
