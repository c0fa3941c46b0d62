//! `track_max`: the longest call since start, as `function_calls_duration_max_seconds`, in the
//! text, the report and the snapshot; functions without the option have no such series.

mod common;

use picometrics::picometrics;
use std::time::Duration;

#[picometrics(track_max)]
fn sometimes_slow(slow: bool) -> Result<(), ()> {
    if slow {
        common::sleep(Duration::from_millis(20));
        Err(())
    } else {
        Ok(())
    }
}

#[picometrics]
fn untracked() {}

#[test]
fn the_longest_call_is_kept_and_rendered() {
    for i in 0..50 {
        let _ = sometimes_slow(i == 25);
        untracked();
    }
    let f = picometrics::registry::find("sometimes_slow", module_path!()).unwrap();
    let max = f.snapshot().max_nanos.unwrap();
    // The slow call took its 20 ms sleep and little more; every other call was far faster.
    assert!((20_000_000..200_000_000).contains(&max), "{max} ns");
    assert_eq!(picometrics::registry::find("untracked", module_path!()).unwrap().snapshot().max_nanos, None);

    let mut text = String::new();
    picometrics::render_prometheus(&mut text).unwrap();
    let line = text.lines().find(|l| l.starts_with("function_calls_duration_max_seconds{")).unwrap();
    assert!(line.contains(r#"function="sometimes_slow""#), "{line}");
    let seconds: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert_eq!(seconds, max as f64 / 1e9);
    assert_eq!(text.matches("function_calls_duration_max_seconds{").count(), 1, "only the tracked function");
    assert!(text.contains("# TYPE function_calls_duration_max_seconds gauge"));

    let mut report = String::new();
    picometrics::report::write_report(&mut report).unwrap();
    let row = report.lines().find(|l| l.starts_with("sometimes_slow")).unwrap();
    assert!(row.trim_end().ends_with(" ms"), "the longest call in the report: {row}");
}
