//! Prometheus recording and alerting rules for the objectives declared in code.
//!
//! The running program is the one place that knows every objective (they are in the link-time
//! registry), so the rules come from it: `GET /rules` on the [`serve`](crate::serve) endpoint,
//! or [`write_rules`] from your own binary (the demo's `--rules` flag).
//!
//! For each objective part (success rate, latency) the file has
//! * recording rules `slo:sli_error:ratio_rate<window>` (the share of calls that failed, or that
//!   were slower than the threshold) and `slo:requests:rate<window>` for the windows 5m, 30m,
//!   1h, 2h, 6h, 1d, 3d, and the 30-day budget period (averaged from the 5m ratio);
//! * multi-window, multi-burn-rate alerts (the Google SRE workbook's): **page** when both 5m and
//!   1h burn faster than 14.4× the budget, or both 30m and 6h faster than 6×; **ticket** when both
//!   2h and 1d exceed 3×, or both 6h and 3d exceed 1×. Each pair also needs a minimum request
//!   rate over its long window, so a function called once an hour does not page on one error.
//!
//! Record names and the `sloth_*` labels follow Sloth, the generator behind the autometrics rules
//! file, so dashboards built on those keep working.

use picometrics::model::Source;
use picometrics::objectives::{Objective, ObjectiveLatency, ObjectivePercentile};
use picometrics::schema::{
    label, BUCKET_SUFFIX, COUNT_SUFFIX, FUNCTION_CALLS, FUNCTION_CALLS_DURATION, RESULT_ERROR,
};
use std::fmt::{self, Write};

/// The rate windows recorded, shortest first.
pub const WINDOWS: [&str; 7] = ["5m", "30m", "1h", "2h", "6h", "1d", "3d"];

/// Settings of the generated rules.
#[derive(Clone, Debug)]
pub struct RulesConfig {
    /// Fewer calls per hour than this (over an alert's long window) never alert. Default 60.
    pub min_requests_per_hour: f64,
}

impl Default for RulesConfig {
    fn default() -> Self {
        Self { min_requests_per_hour: 60.0 }
    }
}

/// What an objective part measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    SuccessRate,
    Latency,
}

/// One objective part: the SLO the rules are about.
#[derive(PartialEq)]
struct Slo {
    /// `objective_name`.
    name: String,
    kind: Kind,
    percentile: ObjectivePercentile,
    /// The latency part's threshold (for a latency part).
    latency: Option<ObjectiveLatency>,
}

impl Slo {
    /// `api-success-rate`, `api-latency`.
    fn id(&self) -> String {
        let kind = match self.kind {
            Kind::SuccessRate => "success-rate",
            Kind::Latency => "latency",
        };
        format!("{}-{kind}", self.name)
    }

    fn kind_label(&self) -> &'static str {
        match self.kind {
            Kind::SuccessRate => "success_rate",
            Kind::Latency => "latency",
        }
    }

    /// The allowed share of bad calls: 0.001 for 99.9 %.
    fn budget(&self) -> f64 {
        match self.percentile {
            ObjectivePercentile::P90 => 0.1,
            ObjectivePercentile::P95 => 0.05,
            ObjectivePercentile::P99 => 0.01,
            ObjectivePercentile::P99_9 => 0.001,
        }
    }

    /// Label matchers selecting this objective's series.
    fn matchers(&self) -> String {
        let mut m = format!(
            "{}=\"{}\",{}=\"{}\"",
            label::OBJECTIVE_NAME,
            promql_string(&self.name),
            label::OBJECTIVE_PERCENTILE,
            self.percentile.as_str()
        );
        if let (Kind::Latency, Some(threshold)) = (self.kind, self.latency) {
            write!(m, ",{}=\"{threshold}\"", label::OBJECTIVE_LATENCY_THRESHOLD).unwrap();
        }
        m
    }

    /// Total calls per second over `window`.
    fn requests(&self, window: &str) -> String {
        let m = self.matchers();
        match self.kind {
            Kind::SuccessRate => {
                format!("sum by (service_name) (rate({}{{{m}}}[{window}]))", FUNCTION_CALLS.name)
            }
            Kind::Latency => {
                format!(
                    "sum by (service_name) (rate({}{COUNT_SUFFIX}{{{m}}}[{window}]))",
                    FUNCTION_CALLS_DURATION.name
                )
            }
        }
    }

    /// Share of bad calls over `window`.
    fn error_ratio(&self, window: &str) -> String {
        let m = self.matchers();
        match self.kind {
            Kind::SuccessRate => format!(
                "sum by (service_name) (rate({}{{{m},{}=\"{RESULT_ERROR}\"}}[{window}])) / {}",
                FUNCTION_CALLS.name,
                label::RESULT,
                self.requests(window)
            ),
            Kind::Latency => {
                // The bucket whose `le` is the threshold: the objective's label text and the
                // bucket's `le` text are the same string by construction.
                let threshold = self.threshold();
                format!(
                    "1 - (sum by (service_name) (rate({}{BUCKET_SUFFIX}{{{m},{}=\"{threshold}\"}}[{window}])) / {})",
                    FUNCTION_CALLS_DURATION.name,
                    label::LE,
                    self.requests(window)
                )
            }
        }
    }

    /// The latency threshold's text (the `le` of its bucket); empty for success-rate parts.
    fn threshold(&self) -> String {
        self.latency.map(|t| t.to_string()).unwrap_or_default()
    }

    fn describe(&self) -> String {
        match self.kind {
            Kind::SuccessRate => {
                format!("{}% of calls succeed", self.percentile.as_str())
            }
            Kind::Latency => {
                format!("{}% of calls finish within {} s", self.percentile.as_str(), self.threshold())
            }
        }
    }
}

/// The objective parts of every registered function, each once.
fn slos_in_use() -> Vec<Slo> {
    let mut objectives: Vec<Objective> = Vec::new();
    for f in picometrics::functions() {
        if let Some(o) = f.objective {
            if !objectives.contains(o) {
                objectives.push(*o);
            }
        }
    }
    slos(objectives)
}

fn slos(objectives: impl IntoIterator<Item = Objective>) -> Vec<Slo> {
    let mut out = Vec::new();
    for objective in objectives {
        let name = objective.name;
        if let Some(percentile) = objective.success_rate {
            add(&mut out, Slo { name: name.into(), kind: Kind::SuccessRate, percentile, latency: None });
        }
        if let Some((threshold, percentile)) = objective.latency {
            let latency = Some(threshold);
            add(&mut out, Slo { name: name.into(), kind: Kind::Latency, percentile, latency });
        }
    }
    out
}

/// Adds `slo` to `slos` unless it is there.
fn add(slos: &mut Vec<Slo>, slo: Slo) {
    if !slos.contains(&slo) {
        slos.push(slo);
    }
}

/// The objective parts `source`'s series carry (their `objective_*` labels), each once; a
/// percentile that is not one of [`ObjectivePercentile`]'s is left out (it has no budget).
fn slos_of(source: &dyn Source) -> Vec<Slo> {
    let percentile = |text: &str| {
        [
            ObjectivePercentile::P90,
            ObjectivePercentile::P95,
            ObjectivePercentile::P99,
            ObjectivePercentile::P99_9,
        ]
        .into_iter()
        .find(|p| p.as_str() == text)
    };
    let mut out = Vec::new();
    let _ = source.functions(&mut |f| {
        let Some(o) = f.objective else { return Ok(()) };
        if let Some(percentile) = o.success_percentile.and_then(percentile) {
            add(&mut out, Slo { name: o.name.into(), kind: Kind::SuccessRate, percentile, latency: None });
        }
        if let Some((nanos, p)) = o.latency {
            if let Some(percentile) = percentile(p) {
                let latency = Some(ObjectiveLatency::from_nanos(nanos));
                add(&mut out, Slo { name: o.name.into(), kind: Kind::Latency, percentile, latency });
            }
        }
        Ok(())
    });
    out
}

/// Writes the rules file (YAML) for every objective of the registered functions.
pub fn write_rules<W: Write + ?Sized>(w: &mut W, config: &RulesConfig) -> fmt::Result {
    write_rules_for(w, slos_in_use(), config)
}

/// Writes the rules file for the given objectives (for tools and tests).
pub fn write_rules_for_objectives<W: Write + ?Sized>(
    w: &mut W,
    objectives: impl IntoIterator<Item = Objective>,
    config: &RulesConfig,
) -> fmt::Result {
    write_rules_for(w, slos(objectives), config)
}

/// Writes the rules file for the objectives `source`'s series carry, each once — those of
/// devices, which only their dumps name (what the bridge serves at `/rules`).
pub fn write_rules_for_source<W: Write + ?Sized>(
    w: &mut W,
    source: &dyn Source,
    config: &RulesConfig,
) -> fmt::Result {
    write_rules_for(w, slos_of(source), config)
}

fn write_rules_for<W: Write + ?Sized>(w: &mut W, slos: Vec<Slo>, config: &RulesConfig) -> fmt::Result {
    writeln!(w, "# Generated by picometrics from the objectives declared in code. Do not edit.")?;
    writeln!(w, "groups:")?;
    if slos.is_empty() {
        writeln!(w, "  []")?;
        return Ok(());
    }
    let min_rate = config.min_requests_per_hour / 3600.0;
    for slo in &slos {
        write_recordings(w, slo)?;
        write_alerts(w, slo, min_rate)?;
    }
    Ok(())
}

/// The labels every rule of `slo` carries (`sloth_window` when `window` is not empty).
fn write_labels<W: Write + ?Sized>(w: &mut W, slo: &Slo, window: &str) -> fmt::Result {
    let indent = "        ";
    writeln!(w, "{indent}labels:")?;
    writeln!(w, "{indent}  objective_name: {}", yaml(&slo.name))?;
    writeln!(w, "{indent}  objective_percentile: {}", yaml(slo.percentile.as_str()))?;
    writeln!(w, "{indent}  objective_kind: {}", slo.kind_label())?;
    writeln!(w, "{indent}  sloth_slo: {}", yaml(&slo.id()))?;
    if !window.is_empty() {
        writeln!(w, "{indent}  sloth_window: {window}")?;
    }
    Ok(())
}

/// The recording rules of `slo`: error ratio and request rate per window, the 30-day ratio,
/// the budget and what remains of it.
fn write_recordings<W: Write + ?Sized>(w: &mut W, slo: &Slo) -> fmt::Result {
    let id = slo.id();
    writeln!(w, "  - name: {}", yaml(&format!("picometrics-slo-recordings-{id}")))?;
    writeln!(w, "    rules:")?;
    for window in WINDOWS {
        writeln!(w, "      - record: slo:sli_error:ratio_rate{window}")?;
        writeln!(w, "        expr: {}", yaml(&slo.error_ratio(window)))?;
        write_labels(w, slo, window)?;
        writeln!(w, "      - record: slo:requests:rate{window}")?;
        writeln!(w, "        expr: {}", yaml(&slo.requests(window)))?;
        write_labels(w, slo, window)?;
    }
    let sel = format!("{{sloth_slo=\"{}\",sloth_window=\"5m\"}}", promql_string(&id));
    writeln!(w, "      - record: slo:sli_error:ratio_rate30d")?;
    writeln!(
        w,
        "        expr: {}",
        yaml(&format!(
            "sum_over_time(slo:sli_error:ratio_rate5m{sel}[30d]) / ignoring (sloth_window) count_over_time(slo:sli_error:ratio_rate5m{sel}[30d])"
        ))
    )?;
    write_labels(w, slo, "30d")?;
    writeln!(w, "      - record: slo:error_budget:ratio")?;
    writeln!(w, "        expr: vector({})", slo.budget())?;
    write_labels(w, slo, "")?;
    writeln!(w, "      - record: slo:period_error_budget_remaining:ratio")?;
    writeln!(
        w,
        "        expr: {}",
        yaml(&format!(
            "1 - slo:sli_error:ratio_rate30d{{sloth_slo=\"{}\"}} / {}",
            promql_string(&id),
            slo.budget()
        ))
    )?;
    write_labels(w, slo, "30d")
}

/// The two multi-window burn-rate alerts of `slo`: a page (fast burn) and a ticket (steady).
fn write_alerts<W: Write + ?Sized>(w: &mut W, slo: &Slo, min_rate: f64) -> fmt::Result {
    let id = slo.id();
    writeln!(w, "  - name: {}", yaml(&format!("picometrics-slo-alerts-{id}")))?;
    writeln!(w, "    rules:")?;
    let burn = |short: &str, long: &str, factor: f64| {
        let s = promql_string(&id);
        format!(
            "(slo:sli_error:ratio_rate{short}{{sloth_slo=\"{s}\"}} > ({factor} * {budget}) \
             and ignoring (sloth_window) slo:sli_error:ratio_rate{long}{{sloth_slo=\"{s}\"}} > ({factor} * {budget}) \
             and ignoring (sloth_window) slo:requests:rate{long}{{sloth_slo=\"{s}\"}} >= {min_rate})",
            budget = slo.budget(),
        )
    };
    for (severity, name, pairs, speed) in [
        ("page", "PicometricsErrorBudgetBurnPage", [("5m", "1h", 14.4), ("30m", "6h", 6.0)], "fast"),
        ("ticket", "PicometricsErrorBudgetBurnTicket", [("2h", "1d", 3.0), ("6h", "3d", 1.0)], "steadily"),
    ] {
        // `max without (sloth_window)`: one alert identity whichever window pair fires.
        let expr = format!(
            "max without (sloth_window) ({} or ignoring (sloth_window) {})",
            burn(pairs[0].0, pairs[0].1, pairs[0].2),
            burn(pairs[1].0, pairs[1].1, pairs[1].2)
        );
        writeln!(w, "      - alert: {name}")?;
        writeln!(w, "        expr: {}", yaml(&expr))?;
        writeln!(w, "        labels:")?;
        writeln!(w, "          severity: {severity}")?;
        writeln!(w, "          objective_name: {}", yaml(&slo.name))?;
        writeln!(w, "          objective_percentile: {}", yaml(slo.percentile.as_str()))?;
        writeln!(w, "          objective_kind: {}", slo.kind_label())?;
        writeln!(w, "        annotations:")?;
        writeln!(
            w,
            "          summary: {}",
            yaml(&format!(
                "Objective {} ({}) of service {{{{ $labels.service_name }}}} is burning its error budget {speed}",
                slo.name,
                slo.describe()
            ))
        )?;
        writeln!(
            w,
            "          description: {}",
            yaml(&format!(
                "The functions under objective {name} are failing it: at this rate the {pct}% objective's 30-day error budget ({budget}) runs out {when}. Look at the error ratio and latency of the functions with objective_name=\"{name}\" (the rustdoc of each lists its queries), then at what changed ({info_metric} version and commit).",
                name = slo.name,
                info_metric = picometrics::schema::BUILD_INFO.name,
                pct = slo.percentile.as_str(),
                budget = slo.budget(),
                when = if severity == "page" { "within days" } else { "before the period ends" },
            ))
        )?;
    }
    Ok(())
}

/// `s` as a PromQL string literal's contents (the schema's one PromQL escaper).
fn promql_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    // Writing into a `String` cannot fail.
    let _ = picometrics::schema::write_promql_string(&mut out, s);
    out
}

/// `s` as a single-quoted YAML scalar.
fn yaml(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''").replace('\n', " "))
}
