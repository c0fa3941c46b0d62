//! The generated rules pass `promtool check rules`, and `promtool test rules` proves the alerts
//! behave (tests/rules/alerts.test.yml): an error burst pages, a slow burn only opens a ticket,
//! traffic within the objective fires nothing, a latency regression pages, and one failed call
//! of a function called once an hour fires nothing.

use picometrics::objectives::{Objective, ObjectiveLatency, ObjectivePercentile};
use picometrics_exporter::rules::{write_rules_for_objectives, RulesConfig};
use std::path::Path;
use std::process::Command;

const API: Objective = Objective::new("api")
    .success_rate(ObjectivePercentile::P99_9)
    .latency(ObjectiveLatency::Ms250, ObjectivePercentile::P99);
const RARE: Objective = Objective::new("rare").success_rate(ObjectivePercentile::P99);

fn promtool(args: &[&str], dir: &Path) -> (bool, String) {
    let out = Command::new("promtool")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("promtool not found: run scripts/test.sh, which installs Debian's `prometheus`");
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[test]
fn generated_rules_pass_promtool_check_and_unit_tests() {
    let dir = std::env::temp_dir().join(format!("picometrics-rules-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut rules = String::new();
    write_rules_for_objectives(&mut rules, [API, RARE], &RulesConfig::default()).unwrap();
    std::fs::write(dir.join("rules.yml"), &rules).unwrap();
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/alerts.test.yml");
    std::fs::copy(tests, dir.join("alerts.test.yml")).unwrap();

    let (ok, out) = promtool(&["check", "rules", "rules.yml"], &dir);
    assert!(ok, "promtool check rules:\n{out}\n{rules}");
    // 3 SLOs (success-rate-99_9, latency-99, success-rate-99) × (8 error ratios + 7 meta
    // records + 2 alerts), as in the official file.
    assert!(out.contains("SUCCESS: 51 rules found"), "{out}");
    for group in [
        "sloth-slo-sli-recordings-autometrics-success-rate-99_9",
        "sloth-slo-meta-recordings-autometrics-success-rate-99_9",
        "sloth-slo-alerts-autometrics-success-rate-99_9",
        "sloth-slo-sli-recordings-autometrics-success-rate-99",
        "sloth-slo-alerts-autometrics-latency-99",
    ] {
        assert!(rules.contains(&format!("- name: {group}\n")), "{group}:\n{rules}");
    }
    let (ok, out) = promtool(&["test", "rules", "alerts.test.yml"], &dir);
    assert!(ok, "promtool test rules:\n{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_program_without_objectives_gets_an_empty_but_valid_file() {
    let dir = std::env::temp_dir().join(format!("picometrics-rules-empty-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut rules = String::new();
    write_rules_for_objectives(&mut rules, [], &RulesConfig::default()).unwrap();
    std::fs::write(dir.join("rules.yml"), &rules).unwrap();
    let (ok, out) = promtool(&["check", "rules", "rules.yml"], &dir);
    assert!(ok, "{out}\n{rules}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// 10 µs to 100 µs: a hot path's buckets.
const HOT_BUCKETS: [u64; 10] = picometrics::buckets::linear(10_000, 10_000);
const HOT: Objective =
    Objective::new("hot").latency(ObjectiveLatency::from_micros(50), ObjectivePercentile::P99);

#[picometrics::picometrics(objective = HOT, buckets = HOT_BUCKETS)]
fn hot_path(x: u64) -> u64 {
    x.rotate_left(7)
}

/// A 50 µs objective end to end: the attribute's rendered labels (threshold text = `le`
/// text), the rules the program generates for it, and `promtool test rules` fed the very
/// series the program rendered, paging when half the calls take longer than 50 µs.
#[test]
fn a_50_microsecond_objective_pages_when_calls_exceed_it() {
    hot_path(1);
    let mut text = String::new();
    picometrics::render_prometheus(&mut text).unwrap();
    let series = |prefix: &str| -> String {
        let line = text
            .lines()
            .find(|l| {
                l.starts_with(prefix)
                    && l.contains(r#"function="hot_path""#)
                    && !l.contains(r#"le="0.00001""#)
            })
            .unwrap_or_else(|| panic!("no {prefix} line for hot_path in\n{text}"));
        line[..line.rfind(' ').unwrap()].to_owned()
    };
    let bucket = series("function_calls_duration_seconds_bucket{");
    let bucket = bucket.replace(r#"le="0.00002""#, r#"le="0.00005""#);
    assert!(bucket.contains(r#"objective_latency_threshold="0.00005",le="0.00005""#), "{bucket}");
    assert!(text.contains(&bucket), "the 50 µs bucket is rendered: {bucket}");
    let count = series("function_calls_duration_seconds_count{");

    let dir = std::env::temp_dir().join(format!("picometrics-rules-hot-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut rules = String::new();
    picometrics_exporter::rules::write_rules(&mut rules, &RulesConfig::default()).unwrap();
    // No threshold in the file: the bucket is the one whose `le` equals the series' own
    // `objective_latency_threshold`, whatever it is.
    assert!(!rules.contains("0.00005") && rules.contains("autometrics_check_label_equality"), "{rules}");
    std::fs::write(dir.join("rules.yml"), &rules).unwrap();
    let service = picometrics::registry::service_name();
    // 600 calls a minute; from minute 60 on, half of them take longer than 50 µs.
    let test = format!(
        r#"rule_files: [rules.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: '{count}'
        values: '0+600x120'
      - series: '{bucket}'
        values: '0+600x60 36300+300x60'
    alert_rule_test:
      - eval_time: 59m
        alertname: High Latency SLO - 99%
        exp_alerts: []
    promql_expr_test:
      - expr: ALERTS{{alertname="High Latency SLO - 99%",severity="page"}}
        eval_time: 75m
        exp_samples:
          - labels: 'ALERTS{{alertname="High Latency SLO - 99%",alertstate="firing",category="latency",severity="page",sloth_severity="page",sloth_id="autometrics-latency-99",sloth_service="autometrics",sloth_slo="latency-99",service_name="{service}",objective_name="hot",objective_percentile="99"}}'
            value: 1
"#
    );
    std::fs::write(dir.join("hot.test.yml"), test).unwrap();
    let (ok, out) = promtool(&["test", "rules", "hot.test.yml"], &dir);
    assert!(ok, "promtool test rules:\n{out}\n{rules}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The bridge's `/rules`: the SLOs of the objectives its devices name in their dumps, each
/// once, however many devices share one; a percentile with no budget (not 90, 95, 99 or 99.9)
/// has none, a hostile name cannot reach the file, and it passes `promtool check rules`.
#[test]
fn the_devices_objectives_become_rules_each_once() {
    use picometrics::model::ObjectiveLabels;
    use picometrics_bridge::{Devices, FrameReader};
    use picometrics_exporter::rules::write_rules_for_source;
    use picometrics_integration_tests::dumps::dump_for;
    let devices = Devices::new();
    let objectives = [
        ObjectiveLabels { name: "fleet", success_percentile: Some("99"), latency: Some((250_000_000, "95")) },
        ObjectiveLabels { name: "fleet", success_percentile: Some("99"), latency: Some((250_000_000, "95")) },
        ObjectiveLabels { name: "odd", success_percentile: Some("98"), latency: None },
        ObjectiveLabels { name: "q\"uote\nd", success_percentile: Some("99.9"), latency: None },
    ];
    for (i, objective) in objectives.into_iter().enumerate() {
        let wire = dump_for(Some(objective), &format!("d{i}"), 1, ("m", "f"), (9, 1), "1", None).concat();
        devices.feed(&mut FrameReader::new(), &wire, |outcome| assert!(outcome.is_ok(), "{outcome:?}"));
    }
    let mut rules = String::new();
    write_rules_for_source(&mut rules, &devices, &RulesConfig::default()).unwrap();
    let dir = std::env::temp_dir().join(format!("picometrics-rules-devices-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("rules.yml"), &rules).unwrap();
    let (ok, out) = promtool(&["check", "rules", "rules.yml"], &dir);
    assert!(ok, "promtool check rules:\n{out}\n{rules}");
    // fleet's two parts and the quoted one's success rate: 3 SLOs × 17 rules; 98 % none.
    assert!(out.contains("SUCCESS: 51 rules found"), "{out}\n{rules}");
    for slo in ["success-rate-99", "latency-95", "success-rate-99_9"] {
        assert!(rules.contains(&format!("sloth_slo: {slo}\n")), "{slo}:\n{rules}");
    }
    assert!(!rules.contains("98"), "{rules}");
}
