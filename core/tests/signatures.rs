//! The attribute keeps every kind of signature compiling and behaving as written.

mod common;

use common::{parse, render, value};
use picometrics::picometrics;
use std::fmt::Display;

#[derive(Debug, PartialEq)]
struct AppError(String);

impl From<std::num::ParseIntError> for AppError {
    fn from(e: std::num::ParseIntError) -> Self {
        AppError(e.to_string())
    }
}

/// `?` converting through `From`, and an early `return`.
#[picometrics]
fn parse_sum(a: &str, b: &str) -> Result<i64, AppError> {
    if a.is_empty() {
        return Ok(0);
    }
    Ok(a.parse::<i64>()? + b.parse::<i64>()?)
}

/// Generics, a where clause, `impl Trait` in argument and return position.
#[picometrics]
fn describe<T>(items: impl IntoIterator<Item = T>) -> impl Iterator<Item = String>
where
    T: Display,
{
    items.into_iter().map(|i| i.to_string())
}

/// A returned borrow of an argument.
#[picometrics]
fn longest<'a>(a: &'a str, b: &'a str) -> &'a str {
    if a.len() >= b.len() {
        a
    } else {
        b
    }
}

/// `mut` bindings and patterns in arguments.
#[picometrics]
fn bump(mut x: u32, (a, b): (u32, u32)) -> u32 {
    x += a * b;
    x
}

/// An `unsafe fn`.
///
/// # Safety
/// `p` must be valid for reads.
#[picometrics]
unsafe fn read(p: *const u8) -> u8 {
    // SAFETY: the caller guarantees `p` is readable.
    unsafe { *p }
}

mod nested {
    use picometrics::picometrics;

    #[picometrics]
    pub fn deep() -> u8 {
        4
    }

    #[picometrics]
    pub fn r#type() -> u8 {
        5
    }
}

struct Wrapper<T>(Vec<T>);

#[picometrics]
impl<T: Clone + Default> Wrapper<T> {
    fn first_or_default(&self) -> T {
        self.0.first().cloned().unwrap_or_default()
    }

    fn into_inner(self) -> Vec<T> {
        self.0
    }

    fn push(&mut self, v: T) -> &mut Self {
        self.0.push(v);
        self
    }
}

trait Shape {
    fn area(&self) -> f64;
    fn name(&self) -> String {
        "shape".into()
    }
}

#[picometrics]
impl Shape for Wrapper<f64> {
    fn area(&self) -> f64 {
        self.0.iter().sum()
    }
}

#[picometrics]
async fn async_parse(s: &str) -> Result<u32, AppError> {
    Ok(s.parse::<u32>()?)
}

#[test]
fn signatures_compile_and_behave() {
    assert_eq!(parse_sum("1", "2"), Ok(3));
    assert_eq!(parse_sum("", "x"), Ok(0));
    assert!(parse_sum("1", "x").is_err());
    assert_eq!(describe([1, 2]).collect::<Vec<_>>(), ["1", "2"]);
    assert_eq!(longest("ab", "c"), "ab");
    assert_eq!(bump(1, (2, 3)), 7);
    let byte = 9u8;
    // SAFETY: `&byte` is valid for reads.
    assert_eq!(unsafe { read(&byte) }, 9);
    assert_eq!(nested::deep(), 4);
    assert_eq!(nested::r#type(), 5);
    let mut w = Wrapper(vec![]);
    assert_eq!(w.first_or_default(), 0u8);
    w.push(3).push(4);
    assert_eq!(w.into_inner(), [3, 4]);
    let shape = Wrapper(vec![1.5, 2.0]);
    assert_eq!(shape.area(), 3.5);
    assert_eq!(shape.name(), "shape");
    assert_eq!(futures_executor::block_on(async_parse("12")), Ok(12));
    assert!(futures_executor::block_on(async_parse("-")).is_err());

    let samples = parse(&render());
    let calls = |f: &str, result: &str| {
        common::all(&samples, "function_calls_total", &[("function", f), ("result", result)])
            .iter()
            .map(|s| s.value)
            .sum::<f64>()
    };
    assert_eq!(calls("parse_sum", "ok"), 2.0);
    assert_eq!(calls("parse_sum", "error"), 1.0);
    assert_eq!(calls("describe", "ok"), 1.0);
    assert_eq!(calls("Wrapper::push", "ok"), 2.0);
    assert_eq!(calls("<Wrapper as Shape>::area", "ok"), 1.0);
    assert_eq!(calls("async_parse", "error"), 1.0);
    assert_eq!(calls("read", "ok"), 1.0);
    assert_eq!(value(&samples, "function_calls_total", &[("function", "deep"), ("result", "ok")]), 1.0);
    let deep = common::all(&samples, "function_calls_total", &[("function", "deep")]);
    assert_eq!(deep[0].label("module"), Some("signatures::nested"));
    assert_eq!(calls("type", "ok"), 1.0);
    // A raw identifier's const drops the `r#`.
    assert!(nested::TYPE_QUERIES.request_rate.contains(r#"function="type""#));
}
