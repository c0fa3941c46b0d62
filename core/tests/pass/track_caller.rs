//! `#[track_caller]` is kept and still works: `Location::caller()` inside the body names the
//! caller's line; `return` and `?` in the body are counted with their results.
use picometrics::picometrics;
use std::panic::Location;

#[picometrics]
#[track_caller]
fn called_from() -> u32 {
    Location::caller().line()
}

#[picometrics]
#[track_caller]
fn parse_at(s: &str) -> Result<(u32, i32), std::num::ParseIntError> {
    if s.is_empty() {
        return Ok((Location::caller().line(), 0));
    }
    let v: i32 = s.parse()?;
    let twice = |x: i32| -> Option<i32> { x.checked_mul(2) };
    Ok((Location::caller().line(), twice(v).unwrap_or_default()))
}

fn main() {
    let (line, got) = (line!(), called_from());
    assert_eq!(got, line);
    let (line, got) = (line!(), parse_at("21").unwrap());
    assert_eq!(got, (line, 42));
    let (line, got) = (line!(), parse_at("").unwrap());
    assert_eq!(got, (line, 0));
    assert!(parse_at("x").is_err());
    let mut out = String::new();
    picometrics::render_prometheus(&mut out).unwrap();
    let count = |result: &str| -> u64 {
        out.lines()
            .filter(|l| l.starts_with("function_calls_total{function=\"parse_at\",") && l.contains(&format!("result=\"{result}\"")))
            .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
            .sum()
    };
    assert_eq!((count("ok"), count("error")), (2, 1));
}
