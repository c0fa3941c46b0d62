//! Every instrumented function has its own series: trait methods are named with their trait
//! (`<X as From<A>>::from`), and a method instrumented on its own can name its type.

mod common;

use common::{all, parse, render};
use picometrics::picometrics;
use std::fmt;

struct Celsius(f64);

#[picometrics]
impl From<f64> for Celsius {
    fn from(v: f64) -> Self {
        Celsius(v)
    }
}

#[picometrics]
impl From<i32> for Celsius {
    fn from(v: i32) -> Self {
        Celsius(f64::from(v))
    }
}

#[picometrics]
impl fmt::Display for Celsius {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} °C", self.0)
    }
}

#[picometrics]
impl fmt::Debug for Celsius {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Celsius({})", self.0)
    }
}

struct Sensor;

impl Sensor {
    #[picometrics(struct_name = "Sensor")]
    fn read(&self) -> u8 {
        7
    }
}

#[picometrics(struct_name = "Sensor")]
impl Celsius {
    fn reset(&mut self) {
        self.0 = 0.0;
    }
}

#[test]
fn trait_impls_and_named_methods_have_distinct_series() {
    let mut c = Celsius::from(1.5);
    let _ = Celsius::from(2);
    let _ = format!("{c} {c:?}");
    c.reset();
    Sensor.read();
    let samples = parse(&render());
    for function in [
        "<Celsius as From<f64>>::from",
        "<Celsius as From<i32>>::from",
        "<Celsius as Display>::fmt",
        "<Celsius as Debug>::fmt",
        "Sensor::read",
        "Sensor::reset",
    ] {
        let calls = all(&samples, "function_calls_duration_seconds_count", &[("function", function)]);
        assert_eq!(calls.len(), 1, "{function}: {calls:?}");
        assert_eq!(calls[0].value, 1.0, "{function}");
    }
}
