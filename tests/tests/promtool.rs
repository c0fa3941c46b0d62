//! The rendered exposition text passes a real `promtool check metrics` (Debian package
//! `prometheus`, installed by `scripts/test.sh`).

use picometrics::objectives::{Objective, ObjectiveLatency, ObjectivePercentile};
use picometrics::picometrics;
use picometrics_integration_tests::promtool_check;

const SLO: Objective = Objective::new("checkout \"fast\"")
    .success_rate(ObjectivePercentile::P99)
    .latency(ObjectiveLatency::Ms100, ObjectivePercentile::P95);

const NANOS: [u64; 12] = picometrics::buckets::exponential(100, 4);

#[picometrics(objective = SLO, track_concurrency)]
fn checkout(n: u32) -> Result<u32, String> {
    if n.is_multiple_of(3) {
        Err(format!("bad {n}"))
    } else {
        Ok(lookup(n))
    }
}

#[picometrics(buckets = NANOS, callers = 1)]
fn lookup(n: u32) -> u32 {
    n * 2
}

#[picometrics]
fn other_caller() -> u32 {
    lookup(1)
}

#[picometrics]
fn idle() {}

/// The worst case: one call in ten takes the slow path.
#[picometrics(track_max)]
fn with_worst_case(n: u32) {
    if n % 10 == 9 {
        std::thread::sleep(std::time::Duration::from_millis(3));
    }
}

/// Reconnects of the radio link, by cause.
#[picometrics::metric(labels(cause = "timeout \"rx\"\\\n"))]
static RECONNECTS_TOTAL: picometrics::metrics::Counter = picometrics::metrics::Counter::new();

/// Reconnects of the radio link, by cause.
#[picometrics::metric(name = "reconnects_total", labels(cause = "reset"))]
static RESET_RECONNECTS: picometrics::metrics::Counter = picometrics::metrics::Counter::new();

/// Queue depth; help with a backslash \ and "quotes".
#[picometrics::metric]
static QUEUE_DEPTH: picometrics::metrics::Gauge = picometrics::metrics::Gauge::new();

/// Batch sizes.
#[picometrics::metric]
static BATCH_ITEMS: picometrics::metrics::Histogram<4> =
    picometrics::metrics::Histogram::new([0, 1, 10, 100]);

/// The tests here share the registry; each holds this while calling and rendering.
static REGISTRY: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn rendered_text_passes_promtool() {
    let _serial = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
    // Escaping of label values is part of what promtool checks.
    std::env::set_var("PICOMETRICS_SERVICE_NAME", "shop\\eu \"west\"\nprod");
    for n in 0..20 {
        let _ = checkout(n);
    }
    other_caller(); // overflows `lookup`'s single caller edge
    for n in 0..10 {
        with_worst_case(n);
    }
    RECONNECTS_TOTAL.add(2);
    RESET_RECONNECTS.inc();
    QUEUE_DEPTH.set(-3);
    for n in [0, 5, 50, 500] {
        BATCH_ITEMS.observe(n);
    }
    let mut text = String::new();
    picometrics::render_prometheus(&mut text).unwrap();
    assert!(text.contains("(overflow)"), "{text}");
    assert!(text.contains(r#"objective_name="checkout \"fast\"""#));
    assert!(text.contains("# TYPE function_calls_duration_max_seconds gauge"), "{text}");
    assert!(text.contains("reconnects_total{cause=\"reset\"} 1\n"), "{text}");
    assert!(text.contains("batch_items_bucket{le=\"10\"} 2\n"), "{text}");
    let (ok, output) = promtool_check(&text);
    assert!(ok, "promtool rejected the output:\n{output}\n---\n{text}");
    assert!(output.trim().is_empty(), "promtool lint findings:\n{output}");
}

#[test]
fn promtool_does_reject_broken_text() {
    // Guards the test above against a promtool that accepts anything.
    let (ok, _) = promtool_check("# TYPE x counter\nx{a=\"unterminated} 1\n");
    assert!(!ok);
}

#[test]
fn openmetrics_output_differs_from_text_only_where_the_formats_do() {
    // promtool 2.42 (Debian bookworm) parses only the 0.0.4 text format, so the OpenMetrics
    // output is checked for what can be checked here: it parses, and its only finding is the
    // counter family named without `_total`, as OpenMetrics requires. Prometheus' own
    // OpenMetrics parser reads it in `prometheus_server.rs`.
    let _serial = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
    let _ = checkout(1);
    let mut om = String::new();
    picometrics::render_openmetrics(&mut om).unwrap();
    assert!(om.ends_with("# EOF\n"));
    assert!(om.contains("# TYPE function_calls counter\n"));
    // OpenMetrics also escapes `"` in HELP text, which the 0.0.4 parser calls invalid.
    assert!(
        om.contains(r#"# HELP queue_depth Queue depth; help with a backslash \\ and \"quotes\"."#),
        "{om}"
    );
    let as_text: String = om
        .lines()
        .map(|l| if l.starts_with("# HELP") { l.replace("\\\"", "\"") } else { l.to_owned() } + "\n")
        .collect();
    let (ok, output) = promtool_check(&as_text);
    assert!(!ok);
    let mut findings: Vec<&str> = output.lines().filter(|l| !l.trim().is_empty()).collect();
    findings.sort();
    assert_eq!(findings, ["function_calls_total no help text", "reconnects_total no help text"], "{output}");
    // Apart from the counter family header and `# EOF`, both formats carry the same samples.
    let mut text = String::new();
    picometrics::render_prometheus(&mut text).unwrap();
    let samples = |s: &str| s.lines().filter(|l| !l.starts_with('#')).count();
    assert_eq!(samples(&om), samples(&text));
}
