//! `-> !`: a call that never returns is counted when it panics (as an error).
use picometrics::picometrics;

#[picometrics(track_concurrency)]
fn fail(reason: &str) -> ! {
    panic!("{reason}")
}

fn main() {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    assert!(std::panic::catch_unwind(|| fail("boom")).is_err());
    std::panic::set_hook(hook);
    let mut out = String::new();
    picometrics::render_prometheus(&mut out).unwrap();
    assert!(out.lines().any(|l| l.starts_with("function_calls_total{function=\"fail\"") && l.contains("result=\"error\"") && l.ends_with(" 1")), "{out}");
    assert!(out.lines().any(|l| l.starts_with("function_calls_concurrent{function=\"fail\"") && l.ends_with(" 0")));
}
