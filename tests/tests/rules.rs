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
    // 3 objective parts × (7 windows × 2 + 3 budget records + 2 alerts).
    assert!(out.contains("SUCCESS: 57 rules found"), "{out}");
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
