//! Counting, classification, callers, objectives and registry behaviour of `#[picometrics]`.

mod common;

use common::{parse, render, value, Sample};
use picometrics::objectives::{Objective, ObjectiveLatency, ObjectivePercentile};
use picometrics::picometrics;
use std::panic::{catch_unwind, AssertUnwindSafe};

const M: &str = module_path!();

fn calls(samples: &[Sample], function: &str, result: &str) -> f64 {
    common::all(samples, "function_calls_total", &[("function", function), ("module", M), ("result", result)])
        .iter()
        .map(|s| s.value)
        .sum()
}

fn hist_count(samples: &[Sample], function: &str) -> f64 {
    value(samples, "function_calls_duration_seconds_count", &[("function", function), ("module", M)])
}

#[picometrics]
fn add_one(x: u64) -> u64 {
    x + 1
}

#[test]
fn exact_counts_from_several_threads() {
    const THREADS: u64 = 8;
    const CALLS: u64 = 10_000;
    std::thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                for i in 0..CALLS {
                    assert_eq!(add_one(i), i + 1);
                }
            });
        }
    });
    let samples = parse(&render());
    assert_eq!(calls(&samples, "add_one", "ok"), (THREADS * CALLS) as f64);
    assert_eq!(calls(&samples, "add_one", "error"), 0.0);
    assert_eq!(hist_count(&samples, "add_one"), (THREADS * CALLS) as f64);
}

#[derive(Debug)]
struct Boom;

#[picometrics(track_concurrency)]
fn fallible(fail: bool) -> Result<u8, Boom> {
    if fail {
        Err(Boom)?;
    }
    Ok(1)
}

#[picometrics]
fn not_a_result() -> Option<u8> {
    None
}

#[picometrics(track_concurrency)]
fn panics(really: bool) -> u8 {
    if really {
        panic!("instrumented panic");
    }
    3
}

#[test]
fn ok_error_and_panic_classification() {
    for i in 0..10 {
        let _ = fallible(i % 5 == 0); // 2 errors, 8 ok; `?` on the error path
    }
    not_a_result();
    let _ = panics(false);
    for _ in 0..3 {
        let caught = catch_unwind(AssertUnwindSafe(|| panics(true)));
        assert!(caught.is_err());
    }
    let samples = parse(&render());
    assert_eq!(calls(&samples, "fallible", "ok"), 8.0);
    assert_eq!(calls(&samples, "fallible", "error"), 2.0);
    assert_eq!(calls(&samples, "not_a_result", "ok"), 1.0);
    assert_eq!(calls(&samples, "not_a_result", "error"), 0.0);
    assert_eq!(calls(&samples, "panics", "ok"), 1.0);
    assert_eq!(calls(&samples, "panics", "error"), 3.0);
    assert_eq!(hist_count(&samples, "panics"), 4.0);
    // The gauge went back down after each panic.
    assert_eq!(value(&samples, "function_calls_concurrent", &[("function", "panics")]), 0.0);
    assert_eq!(value(&samples, "function_calls_concurrent", &[("function", "fallible")]), 0.0);
}

#[picometrics(track_concurrency)]
fn blocks_until(barrier: &std::sync::Barrier, done: &std::sync::Barrier) {
    barrier.wait();
    done.wait();
}

#[test]
fn concurrency_gauge_counts_calls_in_progress() {
    let started = std::sync::Barrier::new(4);
    let done = std::sync::Barrier::new(4);
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| blocks_until(&started, &done));
        }
        started.wait();
        let samples = parse(&render());
        assert_eq!(value(&samples, "function_calls_concurrent", &[("function", "blocks_until")]), 3.0);
        done.wait();
    });
    let samples = parse(&render());
    assert_eq!(value(&samples, "function_calls_concurrent", &[("function", "blocks_until")]), 0.0);
}

fn is_even(r: &u32) -> bool {
    r.is_multiple_of(2)
}

#[picometrics(ok_if = is_even)]
fn ok_when_even(x: u32) -> u32 {
    x
}

#[picometrics(error_if = is_even)]
fn error_when_even(x: u32) -> u32 {
    x
}

#[picometrics(error_if = |r: &Result<(), ()>| r.is_ok())]
fn inverted() -> Result<(), ()> {
    Ok(())
}

#[test]
fn ok_if_and_error_if() {
    for x in 0..5 {
        ok_when_even(x); // 0, 2, 4 ok
        error_when_even(x); // 0, 2, 4 errors
    }
    let _ = inverted();
    let samples = parse(&render());
    assert_eq!(calls(&samples, "ok_when_even", "ok"), 3.0);
    assert_eq!(calls(&samples, "ok_when_even", "error"), 2.0);
    assert_eq!(calls(&samples, "error_when_even", "ok"), 2.0);
    assert_eq!(calls(&samples, "error_when_even", "error"), 3.0);
    assert_eq!(calls(&samples, "inverted", "error"), 1.0);
}

#[picometrics]
fn leaf() -> u8 {
    1
}

#[picometrics]
fn middle() -> u8 {
    leaf() + leaf()
}

#[picometrics]
fn top() -> u8 {
    middle() + leaf()
}

#[test]
fn caller_labels_name_the_instrumented_caller() {
    top();
    leaf();
    let samples = parse(&render());
    let by = |f: &str, caller: &str| {
        value(
            &samples,
            "function_calls_total",
            &[("function", f), ("caller_function", caller), ("result", "ok")],
        )
    };
    assert_eq!(by("leaf", "middle"), 2.0);
    assert_eq!(by("leaf", "top"), 1.0);
    assert_eq!(by("leaf", ""), 1.0); // called from this (uninstrumented) test
    assert_eq!(by("middle", "top"), 1.0);
    assert_eq!(by("top", ""), 1.0);
    let edge =
        common::all(&samples, "function_calls_total", &[("function", "leaf"), ("caller_function", "middle")]);
    assert!(edge.iter().all(|s| s.label("caller_module") == Some(M)));
}

#[picometrics(callers = 2)]
fn popular() {}

#[picometrics]
fn caller_a() {
    popular()
}
#[picometrics]
fn caller_b() {
    popular()
}
#[picometrics]
fn caller_c() {
    popular();
    popular()
}

#[test]
fn full_caller_edges_overflow_visibly() {
    caller_a();
    caller_b();
    caller_c();
    let samples = parse(&render());
    let rows = common::all(&samples, "function_calls_total", &[("function", "popular"), ("result", "ok")]);
    let total: f64 = rows.iter().map(|s| s.value).sum();
    assert_eq!(total, 4.0, "no call lost: {rows:#?}");
    assert_eq!(
        value(
            &samples,
            "function_calls_total",
            &[("function", "popular"), ("caller_function", "(overflow)"), ("result", "ok")]
        ),
        2.0
    );
}

#[picometrics]
fn never_called() {}

#[test]
fn registered_functions_appear_at_zero_before_any_call() {
    let samples = parse(&render());
    assert_eq!(calls(&samples, "never_called", "ok"), 0.0);
    assert_eq!(calls(&samples, "never_called", "error"), 0.0);
    assert_eq!(hist_count(&samples, "never_called"), 0.0);
    let buckets =
        common::all(&samples, "function_calls_duration_seconds_bucket", &[("function", "never_called")]);
    assert_eq!(buckets.len(), 15);
    assert!(picometrics::registry::find("never_called", M).is_some());
}

const API_SLO: Objective = Objective::new("api")
    .success_rate(ObjectivePercentile::P99_9)
    .latency(ObjectiveLatency::Ms250, ObjectivePercentile::P99);
const LATENCY_ONLY: Objective =
    Objective::new("fast").latency(ObjectiveLatency::Ms10, ObjectivePercentile::P95);

#[picometrics(objective = API_SLO)]
fn with_slo() {}

#[picometrics(objective = LATENCY_ONLY)]
fn with_latency_slo() {}

#[test]
fn objective_labels() {
    with_slo();
    with_latency_slo();
    let samples = parse(&render());
    let counter = common::all(&samples, "function_calls_total", &[("function", "with_slo")]);
    assert!(!counter.is_empty());
    for s in counter {
        assert_eq!(s.label("objective_name"), Some("api"));
        assert_eq!(s.label("objective_percentile"), Some("99.9"));
    }
    let buckets =
        common::all(&samples, "function_calls_duration_seconds_bucket", &[("function", "with_slo")]);
    for s in &buckets {
        assert_eq!(s.label("objective_name"), Some("api"));
        assert_eq!(s.label("objective_percentile"), Some("99"));
        assert_eq!(s.label("objective_latency_threshold"), Some("0.25"));
    }
    // The threshold text equals the `le` text of one bucket exactly.
    assert!(buckets.iter().any(|s| s.label("le") == Some("0.25")));
    // A latency-only objective puts no objective labels on the counter.
    for s in common::all(&samples, "function_calls_total", &[("function", "with_latency_slo")]) {
        assert_eq!(s.label("objective_name"), None);
    }
    let b =
        common::all(&samples, "function_calls_duration_seconds_bucket", &[("function", "with_latency_slo")]);
    assert!(b.iter().all(|s| s.label("objective_latency_threshold") == Some("0.01")));
}

const HOT_PATH: [u64; 10] = picometrics::buckets::exponential(100, 2);

#[picometrics(buckets = HOT_PATH)]
fn hot(x: u64) -> u64 {
    x.wrapping_mul(3)
}

#[test]
fn custom_buckets_size_the_histogram() {
    for i in 0..100 {
        hot(i);
    }
    let samples = parse(&render());
    let buckets = common::all(&samples, "function_calls_duration_seconds_bucket", &[("function", "hot")]);
    let les: Vec<_> = buckets.iter().map(|s| s.label("le").unwrap()).collect();
    assert_eq!(
        les,
        [
            "0.0000001",
            "0.0000002",
            "0.0000004",
            "0.0000008",
            "0.0000016",
            "0.0000032",
            "0.0000064",
            "0.0000128",
            "0.0000256",
            "0.0000512",
            "+Inf"
        ]
    );
    assert_eq!(buckets.last().unwrap().value, 100.0);
    let d = picometrics::registry::find("hot", M).unwrap();
    assert_eq!(d.bounds, &HOT_PATH);
}

struct Database {
    rows: Vec<u32>,
}

#[picometrics(track_concurrency)]
impl Database {
    fn get(&self, i: usize) -> Option<u32> {
        self.rows.get(i).copied()
    }

    fn insert(&mut self, v: u32) -> Result<usize, String> {
        if v == 0 {
            return Err("zero".to_owned());
        }
        self.rows.push(v);
        Ok(self.rows.len())
    }

    #[picometrics(skip)]
    fn len(&self) -> usize {
        self.rows.len()
    }

    #[picometrics(error_if = Option::is_none)]
    fn first(&self) -> Option<u32> {
        self.rows.first().copied()
    }

    fn into_rows(self) -> Vec<u32> {
        self.rows
    }
}

trait Named {
    fn name(&self) -> &str;
}

#[picometrics]
impl Named for Database {
    fn name(&self) -> &str {
        "db"
    }
}

#[test]
fn impl_blocks_report_type_and_method() {
    let mut db = Database { rows: vec![] };
    assert_eq!(db.first(), None);
    db.insert(5).unwrap();
    db.insert(0).unwrap_err();
    db.get(0);
    db.len();
    db.name();
    assert_eq!(db.into_rows(), [5]);
    let samples = parse(&render());
    assert_eq!(calls(&samples, "Database::insert", "ok"), 1.0);
    assert_eq!(calls(&samples, "Database::insert", "error"), 1.0);
    assert_eq!(calls(&samples, "Database::get", "ok"), 1.0);
    assert_eq!(calls(&samples, "Database::first", "error"), 1.0);
    assert_eq!(calls(&samples, "Database::into_rows", "ok"), 1.0);
    // Trait methods carry their trait: two traits with a `name` would not collide.
    assert_eq!(calls(&samples, "<Database as Named>::name", "ok"), 1.0);
    assert!(common::all(&samples, "function_calls_total", &[("function", "Database::len")]).is_empty());
    // Impl-level `track_concurrency` applies to every method.
    assert_eq!(value(&samples, "function_calls_concurrent", &[("function", "Database::get")]), 0.0);
    // Inherent impls get `<METHOD>_QUERIES` consts.
    assert!(Database::GET_QUERIES.request_rate.contains(r#"function="Database::get""#));
}

#[picometrics]
fn slow() {
    common::sleep(std::time::Duration::from_millis(30));
}

#[test]
fn durations_land_in_the_right_bucket() {
    slow();
    let samples = parse(&render());
    let bucket =
        |le| value(&samples, "function_calls_duration_seconds_bucket", &[("function", "slow"), ("le", le)]);
    assert_eq!(bucket("0.025"), 0.0);
    assert_eq!(bucket("+Inf"), 1.0);
    let sum = value(&samples, "function_calls_duration_seconds_sum", &[("function", "slow")]);
    assert!((0.030..5.0).contains(&sum), "sum {sum}");
}

#[test]
fn labels_carry_service_name_and_build_info_is_one() {
    let samples = parse(&render());
    let info = common::all(&samples, "build_info", &[]);
    assert_eq!(info.len(), 1);
    assert_eq!(info[0].value, 1.0);
    assert_eq!(info[0].label("version"), Some(env!("CARGO_PKG_VERSION")));
    let service = info[0].label("service_name").unwrap().to_owned();
    assert!(!service.is_empty());
    for s in samples.iter().filter(|s| s.name.starts_with("function_calls")) {
        assert_eq!(s.label("service_name"), Some(service.as_str()), "{s:?}");
    }
}

#[test]
fn a_full_buffer_is_an_error_not_a_silent_truncation() {
    let mut small = heapless::String::<64>::new();
    assert!(picometrics::render_prometheus(&mut small).is_err());
}

// The fields are there for the derive's patterns (named, tuple, unit), never read.
#[allow(dead_code)]
#[derive(Debug, picometrics::ResultLabels)]
enum LookupError {
    #[label(result = "ok")]
    NotFound,
    #[label(result = "error")]
    Timeout {
        after_ms: u32,
    },
    Database(&'static str),
}

/// Not an error whatever the variant: a label on the type is every variant's default.
#[derive(Debug, picometrics::ResultLabels)]
#[label(result = "ok")]
struct Declined;

#[picometrics]
fn lookup(i: u32) -> Result<u32, LookupError> {
    match i % 4 {
        0 => Err(LookupError::NotFound),
        1 => Err(LookupError::Timeout { after_ms: i }),
        2 => Err(LookupError::Database("down")),
        _ => Ok(i),
    }
}

#[picometrics]
fn decline() -> Result<(), Declined> {
    Err(Declined)
}

/// Returned as is (not in a `Result`): a value is never an error, whatever its labels say.
#[picometrics]
fn returns_the_error_itself() -> LookupError {
    LookupError::Database("not in a Result")
}

#[test]
fn result_labels_classify_by_variant() {
    use picometrics::ResultLabels as _;
    for i in 0..8 {
        let _ = lookup(i);
    }
    let _ = decline();
    let _ = returns_the_error_itself();
    let samples = parse(&render());
    // 2 × Ok, 2 × NotFound (ok); 2 × Timeout, 2 × Database (errors).
    assert_eq!(calls(&samples, "lookup", "ok"), 4.0);
    assert_eq!(calls(&samples, "lookup", "error"), 4.0);
    assert_eq!(calls(&samples, "decline", "ok"), 1.0);
    assert_eq!(calls(&samples, "returns_the_error_itself", "ok"), 1.0);
    assert_eq!(LookupError::NotFound.result_label(), "ok");
    assert_eq!(LookupError::Timeout { after_ms: 1 }.result_label(), "error");
    assert_eq!(LookupError::Database("x").result_label(), "error");
}
