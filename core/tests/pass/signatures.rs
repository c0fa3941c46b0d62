//! Generics, where-clauses, `impl Trait`, lifetimes, generic impls, recursion, `unsafe fn`,
//! `extern "C" fn`, early `return` and `?`, other attributes kept.
use picometrics::picometrics;
use std::fmt::Display;

#[picometrics]
fn describe<T, I>(items: I, sep: impl Display) -> impl Iterator<Item = String>
where
    I: IntoIterator<Item = T>,
    T: Display,
{
    let sep = sep.to_string();
    items.into_iter().map(move |i| format!("{i}{sep}"))
}

struct Wrapper<T>(Vec<T>);

#[picometrics]
impl<T: Clone + Default> Wrapper<T>
where
    T: PartialEq,
{
    fn first_or_default(&self) -> T {
        self.0.first().cloned().unwrap_or_default()
    }

    fn contains(&self, x: &T) -> bool {
        self.0.iter().any(|v| v == x)
    }
}

#[picometrics]
fn factorial(n: u64) -> u64 {
    if n <= 1 {
        return 1;
    }
    n * factorial(n - 1)
}

#[picometrics]
fn parse_pair(a: &str, b: &str) -> Result<i32, std::num::ParseIntError> {
    if a.is_empty() {
        return Ok(0);
    }
    Ok(a.parse::<i32>()? + b.parse::<i32>()?)
}

#[picometrics]
fn first_even(v: &[u32]) -> Option<u32> {
    let x = v.iter().find(|x| *x % 2 == 0)?;
    Some(*x)
}

#[picometrics]
unsafe fn read(p: *const u8) -> u8 {
    // SAFETY: the caller passes a valid pointer.
    unsafe { *p }
}

#[picometrics]
extern "C" fn callback(x: i32) -> i32 {
    x + 1
}

// A suffixed literal is the same number of edges.
#[picometrics(callers = 3u8)]
fn suffixed_callers() -> u8 {
    3
}

#[picometrics]
#[inline]
#[must_use]
#[allow(clippy::needless_pass_by_value)]
fn kept_attributes(s: String) -> usize {
    s.len()
}

fn main() {
    assert_eq!(describe([1, 2], ',').collect::<String>(), "1,2,");
    let w = Wrapper(vec![3u8, 4]);
    assert_eq!(w.first_or_default(), 3);
    assert!(w.contains(&4));
    assert_eq!(Wrapper::<String>(vec![]).first_or_default(), "");
    assert_eq!(factorial(5), 120);
    assert_eq!(parse_pair("", "x"), Ok(0));
    assert_eq!(parse_pair("1", "2"), Ok(3));
    assert!(parse_pair("1", "x").is_err());
    assert_eq!(first_even(&[1, 3]), None);
    assert_eq!(first_even(&[1, 4]), Some(4));
    let byte = 7u8;
    // SAFETY: a valid pointer.
    assert_eq!(unsafe { read(&byte) }, 7);
    assert_eq!(callback(1), 2);
    assert_eq!(kept_attributes("abc".into()), 3);
    assert_eq!(suffixed_callers(), 3);
    let mut out = String::new();
    picometrics::render_prometheus(&mut out).unwrap();
    let count = |f: &str, result: &str| -> u64 {
        let prefix = format!("function_calls_total{{function=\"{f}\",");
        out.lines()
            .filter(|l| l.starts_with(&prefix) && l.contains(&format!("result=\"{result}\"")))
            .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
            .sum()
    };
    assert_eq!(count("factorial", "ok"), 5, "recursion counts every call");
    assert_eq!((count("parse_pair", "ok"), count("parse_pair", "error")), (2, 1));
    assert_eq!(count("Wrapper::first_or_default", "ok"), 2, "one series for every instantiation");
    assert_eq!(count("first_even", "ok"), 2);
}
