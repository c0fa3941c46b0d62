//! `picometrics diff` on expositions written by hand in the autometrics schema (not by
//! picometrics): a function twice as slow is named and fails the gate, one with more calls but
//! the same distribution does not, an error-ratio change is reported and gated, identical
//! inputs pass, unusable input exits 2 with its line.

use std::io::Write;
use std::process::{Command, Output, Stdio};

/// The autometrics default bounds, as `le` text.
const LE: [&str; 14] =
    ["0.005", "0.01", "0.025", "0.05", "0.075", "0.1", "0.25", "0.5", "0.75", "1", "2.5", "5", "7.5", "10"];

/// An exposition of `functions`: (name, ok, errors, per-bucket counts over `LE` then +Inf).
fn exposition(functions: &[(&str, u64, u64, &[u64])]) -> String {
    let mut s = String::from("# HELP function_calls_total Autometrics counter for tracking function calls\n# TYPE function_calls_total counter\n");
    for (f, ok, error, _) in functions {
        s += &format!("function_calls_total{{function=\"{f}\",module=\"shop\",caller_function=\"\",caller_module=\"\",result=\"ok\"}} {ok}\n");
        s += &format!("function_calls_total{{function=\"{f}\",module=\"shop\",caller_function=\"\",caller_module=\"\",result=\"error\"}} {error}\n");
    }
    s += "# TYPE function_calls_duration_seconds histogram\n";
    for (f, _, _, buckets) in functions {
        let mut cumulative = 0;
        for (i, le) in LE.iter().chain(["+Inf"].iter()).enumerate() {
            cumulative += buckets.get(i).copied().unwrap_or(0);
            s += &format!("function_calls_duration_seconds_bucket{{function=\"{f}\",module=\"shop\",le=\"{le}\"}} {cumulative}\n");
        }
        s += &format!(
            "function_calls_duration_seconds_count{{function=\"{f}\",module=\"shop\"}} {cumulative}\n"
        );
    }
    s
}

fn diff(base: &str, new: &str, args: &[&str]) -> Output {
    let dir = std::env::temp_dir().join(format!("picometrics-diff-{}-{}", std::process::id(), fastrand()));
    std::fs::create_dir_all(&dir).unwrap();
    let (b, n) = (dir.join("base.prom"), dir.join("new.prom"));
    std::fs::write(&b, base).unwrap();
    std::fs::write(&n, new).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_picometrics"))
        .arg("diff")
        .args([&b, &n])
        .args(args)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    out
}

/// A different folder per call (tests run in parallel).
fn fastrand() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn text(out: &Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {:?}", text(out)))
}

// `checkout` takes 10–25 ms, then twice as long; `browse` gets ten times the traffic with the
// same distribution; `pay` goes from 1 % to 5 % errors.
const CHECKOUT_BASE: &[u64] = &[0, 100, 800, 100];
const CHECKOUT_SLOW: &[u64] = &[0, 0, 100, 800, 100];
const BROWSE: &[u64] = &[600, 300, 100];
const BROWSE_X10: &[u64] = &[6000, 3000, 1000];
const PAY: &[u64] = &[0, 0, 0, 1000];

fn base() -> String {
    exposition(&[("checkout", 1000, 0, CHECKOUT_BASE), ("browse", 1000, 0, BROWSE), ("pay", 990, 10, PAY)])
}

fn new() -> String {
    exposition(&[
        ("checkout", 1000, 0, CHECKOUT_SLOW),
        ("browse", 10000, 0, BROWSE_X10),
        ("pay", 950, 50, PAY),
    ])
}

#[test]
fn a_function_twice_as_slow_is_named_and_fails_the_gate() {
    let out = diff(&base(), &new(), &["--fail-if", "p95 > +20%"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stderr.contains("shop::checkout: p95 +"), "{stderr}");
    assert!(!stderr.contains("browse") && !stderr.contains("pay"), "only checkout: {stderr}");
    // Most changed first, with its verdict.
    let first = stdout.lines().nth(1).unwrap();
    assert!(first.starts_with("shop::checkout") && first.ends_with("slower"), "{stdout}");

    let doc = json(&diff(&base(), &new(), &["--format", "json"]));
    let checkout = doc["functions"].as_array().unwrap().iter().find(|f| f["function"] == "checkout").unwrap();
    assert_eq!(checkout["latency_significant"], true, "{checkout}");
    assert!(checkout["latency_test"]["p"].as_f64().unwrap() < 1e-100);
    let p95 = &checkout["p95"];
    assert_eq!(
        (p95["base"]["bucket"].as_str(), p95["new"]["bucket"].as_str()),
        (Some("25 ms – 50 ms"), Some("50 ms – 75 ms"))
    );
    assert!(p95["change"].as_f64().unwrap() > 0.5, "{p95}");
}

#[test]
fn more_calls_with_the_same_distribution_pass() {
    let doc = json(&diff(&base(), &new(), &["--format", "json"]));
    let browse = doc["functions"].as_array().unwrap().iter().find(|f| f["function"] == "browse").unwrap();
    assert_eq!(browse["calls"], serde_json::json!([1000.0, 10000.0]));
    assert_eq!(browse["latency_significant"], false, "{browse}");
    assert!((browse["latency_test"]["p"].as_f64().unwrap() - 1.0).abs() < 1e-9);
    for q in ["p50", "p95", "p99"] {
        assert_eq!(browse[q]["same_bucket"], true, "{q}: {browse}");
        assert!(browse[q]["change"].is_null(), "no percentage inside one bucket: {browse}");
    }
    let identical = diff(&base(), &base(), &["--fail-if", "p95 > +20%", "--fail-if", "errors > +1pp"]);
    assert_eq!(identical.status.code(), Some(0), "{:?}", text(&identical));
}

#[test]
fn an_error_ratio_change_is_reported_and_gated() {
    let doc = json(&diff(&base(), &new(), &["--format", "json"]));
    let pay = doc["functions"].as_array().unwrap().iter().find(|f| f["function"] == "pay").unwrap();
    assert_eq!(pay["error_ratio"], serde_json::json!([0.01, 0.05]));
    assert!((pay["error_change_pp"].as_f64().unwrap() - 4.0).abs() < 1e-9);
    assert_eq!(pay["errors_significant"], true);
    let out = diff(&base(), &new(), &["--fail-if", "errors > +1pp"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stderr.contains("shop::pay: errors +4.00 pp"), "{stderr}");
    // Not over the limit: passes.
    assert_eq!(diff(&base(), &new(), &["--fail-if", "errors > +5pp"]).status.code(), Some(0));
    let markdown = text(&diff(&base(), &new(), &["--format", "markdown"])).0;
    assert!(markdown.starts_with("| function | calls |") && markdown.contains("| shop::pay |"), "{markdown}");
    assert!(markdown.contains("1.00% → 5.00% (+4.00 pp)"), "{markdown}");
}

#[test]
fn calls_are_broken_down_by_caller() {
    let caller = |caller: &str, ok: u64, error: u64| {
        format!(
            "function_calls_total{{function=\"db\",module=\"shop\",caller_function=\"{caller}\",caller_module=\"shop\",result=\"ok\"}} {ok}\n\
             function_calls_total{{function=\"db\",module=\"shop\",caller_function=\"{caller}\",caller_module=\"shop\",result=\"error\"}} {error}\n"
        )
    };
    let base = caller("checkout", 100, 0) + &caller("browse", 100, 0);
    let new = caller("checkout", 90, 10) + &caller("browse", 100, 0);
    let doc = json(&diff(&base, &new, &["--format", "json"]));
    let callers = doc["functions"][0]["callers"].as_array().unwrap();
    assert_eq!(callers.len(), 2, "{callers:?}");
    let checkout = callers.iter().find(|c| c["caller_function"] == "checkout").unwrap();
    assert_eq!(checkout["error_ratio"], serde_json::json!([0.0, 0.1]));
    assert!(checkout["error_test"]["p"].as_f64().unwrap() < 0.01, "{checkout}");
    let browse = callers.iter().find(|c| c["caller_function"] == "browse").unwrap();
    assert_eq!(browse["calls"], serde_json::json!([100.0, 100.0]));
}

#[test]
fn unusable_input_exits_2_with_its_line() {
    let mut broken = base();
    broken.push_str("function_calls_total{function=\"x\",result=\"ok} 3\n");
    let line = broken.lines().count();
    let out = diff(&base(), &broken, &[]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&format!("new.prom: line {line}:")), "{stderr}");
    let out = diff(&base(), "up 1\nprocess_cpu_seconds_total 3\n", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("not an exposition in the autometrics schema"), "{:?}", text(&out));
    let missing = Command::new(env!("CARGO_BIN_EXE_picometrics"))
        .args(["diff", "/nonexistent/a", "/nonexistent/b"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    let gate = diff(&base(), &new(), &["--fail-if", "p95 > 20"]);
    assert_eq!(gate.status.code(), Some(2), "a bad gate is a usage error");
}

#[test]
fn stdin_is_a_source() {
    let dir = std::env::temp_dir().join(format!("picometrics-diff-stdin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("base.prom"), base()).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_picometrics"))
        .args(["diff", dir.join("base.prom").to_str().unwrap(), "-", "--format", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(new().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(json(&out)["functions"].as_array().unwrap().len(), 3);
}
