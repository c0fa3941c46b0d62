//! The `picometrics` command.
//!
//! `picometrics rules --objective NAME:success=99.9 --objective NAME:latency=250ms@99
//!  [--min-requests-per-hour N]` writes the Prometheus rules file for objectives given as
//! flags, for when running the instrumented program (its `/rules` endpoint) is not convenient.
//! Without `--objective` it writes a valid rules file with no groups. `picometrics diff BASE
//! NEW` compares two expositions function by function (`--fail-if` makes it a CI gate);
//! `picometrics up` starts a local Prometheus. `picometrics --help` and `picometrics
//! <command> --help` describe every flag.

mod diff;
mod exposition;
mod stats;
mod top;
mod up;

use clap::{Parser, Subcommand};
use picometrics::objectives::{Objective, ObjectiveLatency, ObjectivePercentile};
use picometrics_exporter::rules::{write_rules_for_objectives, RulesConfig};
use std::process::ExitCode;

/// Tools for programs instrumented with picometrics.
#[derive(Debug, Parser)]
#[command(name = "picometrics", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Starts a local Prometheus that scrapes the given picometrics endpoints every few
    /// seconds and loads the alert rules each serves at /rules; prints where to look. Ctrl-C
    /// stops everything it started.
    Up {
        /// A picometrics endpoint (`serve()` or `picometrics-bridge`) to scrape; repeat for more.
        #[arg(long = "target", value_name = "HOST:PORT", default_value = "127.0.0.1:9464")]
        targets: Vec<String>,
        /// Where Prometheus listens.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9090")]
        listen: String,
        /// How often Prometheus scrapes and evaluates the rules.
        #[arg(long, value_name = "SECONDS", default_value_t = 5)]
        interval: u64,
        /// The `prometheus` program to run.
        #[arg(long, value_name = "PATH", default_value = "prometheus")]
        prometheus: String,
    },
    /// Compares two expositions function by function: calls, error ratio, p50/p95/p99 with the
    /// precision the buckets allow, and whether each change is more than chance (Pearson's
    /// chi-squared test on the bucket counts and on ok/error). Most changed first.
    ///
    /// BASE and NEW are Prometheus or OpenMetrics texts in the autometrics schema (a
    /// picometrics process, a bridge, a firmware's text dump, an autometrics service): files,
    /// `-` for stdin, or http(s):// URLs scraped once. With BASE alone (a URL), it scrapes twice
    /// `--interval` apart and shows the calls in between. Exit status: 0, or 1 when a
    /// `--fail-if` gate fails (the functions are named), 2 for unusable input.
    Diff {
        /// The run to compare against (or, alone, the endpoint to watch).
        #[arg(value_name = "BASE")]
        base: String,
        /// The run to compare.
        #[arg(value_name = "NEW")]
        new: Option<String>,
        /// With BASE alone: time between the two scrapes (e.g. 10s, 500ms, 1m).
        #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = duration)]
        interval: std::time::Duration,
        /// Send `Authorization: Bearer TOKEN` to URLs.
        #[arg(long, value_name = "TOKEN")]
        bearer_token: Option<String>,
        /// How to write the comparison.
        #[arg(long, value_enum, default_value = "table")]
        format: diff::Format,
        /// Fail (exit 1) when a significant change crosses a limit: 'p95 > +20%', 'p99 > +50%',
        /// 'errors > +1pp', 'calls < -50%'. Repeat for more.
        #[arg(long = "fail-if", value_name = "CONDITION")]
        fail_if: Vec<diff::Gate>,
        /// A change is significant when its p-value is below this.
        #[arg(long, value_name = "P", default_value_t = 0.05)]
        alpha: f64,
        /// Colour the table: auto (when stdout is a terminal), always, never.
        #[arg(long, value_name = "WHEN", default_value = "auto")]
        color: String,
    },
    /// Shows what every function of an endpoint does right now — calls, errors, p50/p95/p99 of
    /// the calls between two scrapes — refreshed every `--interval` like `top`. q quits.
    Top {
        /// The endpoint's /metrics URL.
        #[arg(value_name = "URL")]
        url: String,
        /// Time between two scrapes (e.g. 1s, 500ms).
        #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = duration)]
        interval: std::time::Duration,
        /// Send `Authorization: Bearer TOKEN`.
        #[arg(long, value_name = "TOKEN")]
        bearer_token: Option<String>,
    },
    /// Writes Prometheus recording and multi-window burn-rate alerting rules for objectives.
    ///
    /// A running program serves the rules for the objectives in its code at GET /rules; this
    /// writes the same file from flags.
    Rules {
        /// An objective part: NAME:success=PERCENT or NAME:latency=DURATION@PERCENT (PERCENT is
        /// 90, 95, 99 or 99.9; DURATION a bucket bound of the functions, e.g. 250ms, 50us, 1.5s).
        /// Repeat for more parts and objectives.
        #[arg(long = "objective", value_name = "SPEC")]
        objectives: Vec<String>,
        /// No alert fires while the function's calls over the alert's long window average fewer
        /// than this many per hour.
        #[arg(long, value_name = "N", default_value_t = RulesConfig::default().min_requests_per_hour)]
        min_requests_per_hour: f64,
    },
}

fn main() -> ExitCode {
    // Usage errors exit with status 2 and clap's message.
    let cli = Cli::parse();
    if let Command::Diff { base, new, interval, bearer_token, format, fail_if, alpha, color } = cli.command {
        use std::io::IsTerminal;
        let color = match color.as_str() {
            "always" => true,
            "never" => false,
            _ => std::io::stdout().is_terminal(),
        };
        let request = diff::Request { base, new, interval, bearer_token, format, fail_if, alpha, color };
        return match diff::run(&request) {
            Ok(outcome) => {
                print!("{}", outcome.text);
                if outcome.failed.is_empty() {
                    ExitCode::SUCCESS
                } else {
                    for why in &outcome.failed {
                        eprintln!("picometrics diff: {why}");
                    }
                    ExitCode::FAILURE
                }
            }
            Err(e) => {
                eprintln!("picometrics diff: {e}");
                ExitCode::from(2)
            }
        };
    }
    if let Command::Top { url, interval, bearer_token } = cli.command {
        return match top::run(&url, interval, bearer_token) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("picometrics top: {e}");
                ExitCode::from(2)
            }
        };
    }
    if let Command::Up { targets, listen, interval, prometheus } = cli.command {
        return match up::run(&targets, &listen, interval, &prometheus) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("picometrics up: {e}");
                ExitCode::FAILURE
            }
        };
    }
    match run(cli.command) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("picometrics: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(command: Command) -> Result<String, String> {
    let Command::Rules { objectives: specs, min_requests_per_hour } = command else {
        return Err("not a command that prints".into());
    };
    let mut objectives: Vec<Objective> = Vec::new();
    for spec in &specs {
        add_objective(&mut objectives, spec)?;
    }
    let config = RulesConfig { min_requests_per_hour };
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

/// `10s`, `500ms`, `1m`, `2.5s`.
fn duration(s: &str) -> Result<std::time::Duration, String> {
    let (number, scale) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60.0)
    } else {
        return Err(format!("`{s}`: expected a duration such as 10s, 500ms or 1m"));
    };
    let seconds = number.parse::<f64>().map_err(|_| format!("`{s}`: not a number"))? * scale;
    std::time::Duration::try_from_secs_f64(seconds).map_err(|e| format!("`{s}`: {e}"))
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
            let (threshold, p) =
                l.split_once('@').ok_or_else(|| format!("`{l}`: expected DURATION@PERCENT"))?;
            o.latency(latency(threshold)?, percentile(p)?)
        }
        _ => return Err(format!("`{part}`: expected success=PERCENT or latency=DURATION@PERCENT")),
    };
    Ok(())
}

fn percentile(p: &str) -> Result<ObjectivePercentile, String> {
    [ObjectivePercentile::P90, ObjectivePercentile::P95, ObjectivePercentile::P99, ObjectivePercentile::P99_9]
        .into_iter()
        .find(|x| x.as_str() == p.trim_end_matches('%'))
        .ok_or_else(|| format!("`{p}` is not 90, 95, 99 or 99.9"))
}

/// A threshold with its unit: `50us`, `250ms`, `1.5s`, `800ns` (exact, in nanoseconds).
fn latency(text: &str) -> Result<ObjectiveLatency, String> {
    let bad = || format!("`{text}`: expected a duration such as 800ns, 50us, 250ms or 1.5s");
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).ok_or_else(bad)?;
    let (number, unit) = text.split_at(split);
    let scale: u64 = match unit {
        "ns" => 1,
        "us" | "µs" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        _ => return Err(bad()),
    };
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    let digits = scale.ilog10() as usize;
    if int.is_empty() || frac.len() > digits || !frac.chars().all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    let int: u64 = int.parse().map_err(|_| bad())?;
    let frac: u64 =
        if frac.is_empty() { 0 } else { format!("{frac:0<digits$}").parse().map_err(|_| bad())? };
    let nanos =
        int.checked_mul(scale).and_then(|n| n.checked_add(frac)).filter(|&n| n > 0).ok_or_else(bad)?;
    Ok(ObjectiveLatency::from_nanos(nanos))
}

#[cfg(test)]
mod tests {
    use super::{run, Cli};
    use clap::{CommandFactory, Parser};

    fn run_args(s: &str) -> Result<String, String> {
        let cli = Cli::try_parse_from(["picometrics"].into_iter().chain(s.split_whitespace()))
            .map_err(|e| e.to_string())?;
        run(cli.command)
    }

    #[test]
    fn flags_become_rules() {
        let out = run_args("rules --objective api:success=99.9 --objective api:latency=250ms@99").unwrap();
        assert!(out.contains("sloth_slo: success-rate-99_9\n"), "{out}");
        assert!(out.contains("- alert: High Latency SLO - 99%\n"), "{out}");
        assert!(out.contains(">= 0.016666"), "default minimum rate: {out}");
        let out = run_args("rules --objective x:success=95 --min-requests-per-hour 7200").unwrap();
        assert!(out.contains(">= 2)"), "{out}");
    }

    #[test]
    fn bad_flags_are_clear_errors() {
        assert!(run_args("").unwrap_err().contains("Usage"));
        assert!(run_args("rules").unwrap().contains("groups:\n  []"));
        assert!(run_args("rules --objective api:success=98").unwrap_err().contains("`98`"));
        assert!(run_args("rules --objective api:latency=300@99").unwrap_err().contains("duration"));
        assert!(run_args("rules --objective api:latency=0.0000001ms@99").unwrap_err().contains("duration"));
        assert!(run_args("rules --objective api").unwrap_err().contains("NAME:success"));
        assert!(run_args("rules --bogus 1").unwrap_err().contains("--bogus"));
    }

    #[test]
    fn thresholds_at_any_scale() {
        use super::latency;
        for (text, nanos) in [
            ("800ns", 800),
            ("50us", 50_000),
            ("50µs", 50_000),
            ("250ms", 250_000_000),
            ("1.5s", 1_500_000_000),
            ("0.25ms", 250_000),
        ] {
            assert_eq!(latency(text).unwrap().as_nanos(), nanos, "{text}");
        }
        // The file holds no threshold: the bucket is the one whose `le` equals the series'
        // `objective_latency_threshold` (tests/tests/rules.rs pages on a 50 µs objective).
        let out = run_args("rules --objective hot:latency=50us@99").unwrap();
        assert!(
            out.contains("sloth_slo: latency-99\n") && out.contains("autometrics_check_label_equality"),
            "{out}"
        );
    }

    #[test]
    fn every_subcommand_has_help() {
        Cli::command().debug_assert();
        for sub in Cli::command().get_subcommands() {
            assert!(sub.get_about().is_some(), "{} has no help", sub.get_name());
        }
        let help = Cli::try_parse_from(["picometrics", "rules", "--help"]).unwrap_err().to_string();
        assert!(help.contains("--objective") && help.contains("--min-requests-per-hour"), "{help}");
    }
}
