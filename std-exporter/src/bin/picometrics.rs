//! `picometrics` command-line tool.
//!
//! `picometrics rules --objective NAME:success=99.9 --objective NAME:latency=250ms@99
//!  [--min-requests-per-hour N]` writes the Prometheus rules file for objectives given as
//! flags, for when running the instrumented program (its `/rules` endpoint) is not convenient.
//! Without `--objective` it writes a valid rules file with no groups.

use picometrics::objectives::{Objective, ObjectiveLatency, ObjectivePercentile};
use picometrics_exporter::rules::{write_rules_for_objectives, RulesConfig};
use std::process::ExitCode;

const USAGE: &str = "usage: picometrics rules --objective NAME:success=PERCENT \
                     [--objective NAME:latency=MSms@PERCENT] [--min-requests-per-hour N]\n\
                     PERCENT is 90, 95, 99 or 99.9; MS is one of 5 10 25 50 75 100 250 500 750 \
                     1000 2500 5000 7500 10000.";

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("picometrics: {e}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Vec<String>) -> Result<String, String> {
    let mut args = args.into_iter();
    match args.next().as_deref() {
        Some("rules") => {}
        Some(other) => return Err(format!("unknown command `{other}`")),
        None => return Err("no command".into()),
    }
    let mut objectives: Vec<Objective> = Vec::new();
    let mut config = RulesConfig::default();
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("`{flag}` needs a value"))?;
        match flag.as_str() {
            "--objective" => add_objective(&mut objectives, &value)?,
            "--min-requests-per-hour" => {
                config.min_requests_per_hour =
                    value.parse().map_err(|_| format!("`{value}` is not a number of requests per hour"))?
            }
            other => return Err(format!("unknown flag `{other}`")),
        }
    }
    let mut out = String::new();
    if objectives.is_empty() {
        // Nothing to alert on: still a valid (empty) rules file, and a hint.
        eprintln!(
            "picometrics: no --objective given; this tool's own registry has no objectives. \
             Your program's rules are at GET /rules of its exporter endpoint."
        );
    }
    write_rules_for_objectives(&mut out, objectives, &config).map_err(|e| e.to_string())?;
    Ok(out)
}

/// Parses `NAME:success=99.9` or `NAME:latency=250ms@99` into (a part of) an objective.
fn add_objective(objectives: &mut Vec<Objective>, spec: &str) -> Result<(), String> {
    let (name, part) = spec
        .rsplit_once(':')
        .ok_or_else(|| format!("`{spec}`: expected NAME:success=… or NAME:latency=…"))?;
    let index = match objectives.iter().position(|o| o.name == name) {
        Some(i) => i,
        None => {
            // Objective names are `&'static str`; a command-line tool can afford to leak them.
            objectives.push(Objective::new(Box::leak(name.to_owned().into_boxed_str())));
            objectives.len() - 1
        }
    };
    let o = objectives[index];
    objectives[index] = match part.split_once('=') {
        Some(("success", p)) => o.success_rate(percentile(p)?),
        Some(("latency", l)) => {
            let (ms, p) = l.split_once('@').ok_or_else(|| format!("`{l}`: expected MSms@PERCENT"))?;
            o.latency(latency(ms)?, percentile(p)?)
        }
        _ => return Err(format!("`{part}`: expected success=PERCENT or latency=MSms@PERCENT")),
    };
    Ok(())
}

fn percentile(p: &str) -> Result<ObjectivePercentile, String> {
    [ObjectivePercentile::P90, ObjectivePercentile::P95, ObjectivePercentile::P99, ObjectivePercentile::P99_9]
        .into_iter()
        .find(|x| x.as_str() == p.trim_end_matches('%'))
        .ok_or_else(|| format!("`{p}` is not 90, 95, 99 or 99.9"))
}

fn latency(ms: &str) -> Result<ObjectiveLatency, String> {
    let n: u64 =
        ms.trim_end_matches("ms").parse().map_err(|_| format!("`{ms}` is not a number of milliseconds"))?;
    ObjectiveLatency::ALL
        .into_iter()
        .find(|l| l.as_nanos() == n * 1_000_000)
        .ok_or_else(|| format!("`{ms}` is not one of the histogram bounds"))
}

#[cfg(test)]
mod tests {
    use super::run;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn flags_become_rules() {
        let out = run(args("rules --objective api:success=99.9 --objective api:latency=250ms@99")).unwrap();
        assert!(out.contains("sloth_slo: 'api-success-rate'"));
        assert!(out.contains("objective_latency_threshold=\"0.25\",le=\"0.25\""));
        assert!(out.contains(">= 0.016666"), "default minimum rate: {out}");
        let out = run(args("rules --objective x:success=95 --min-requests-per-hour 7200")).unwrap();
        assert!(out.contains(">= 2)"), "{out}");
    }

    #[test]
    fn bad_flags_are_clear_errors() {
        assert!(run(args("")).unwrap_err().contains("no command"));
        assert!(run(args("rules")).unwrap().contains("groups:\n  []"));
        assert!(run(args("rules --objective api:success=98")).unwrap_err().contains("`98`"));
        assert!(run(args("rules --objective api:latency=300ms@99")).unwrap_err().contains("bounds"));
        assert!(run(args("rules --objective api")).unwrap_err().contains("NAME:success"));
        assert!(run(args("rules --bogus 1")).unwrap_err().contains("--bogus"));
    }
}
