//! `picometrics diff BASE NEW`: per function, how calls, errors and latency changed between two
//! expositions, with the precision the buckets allow and whether each change is more than
//! chance; `--fail-if` turns it into a CI gate. `picometrics diff URL --interval 10s` shows the
//! calls between two scrapes of one endpoint instead.

use crate::exposition::{self, Function, Key};
use crate::stats::{chi_squared, Test};
use picometrics::report::{quantile, Quantile};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

/// The percentiles compared.
const QUANTILES: [(&str, f64); 3] = [("p50", 0.5), ("p95", 0.95), ("p99", 0.99)];

/// What `diff` was asked.
pub struct Request {
    pub base: String,
    pub new: Option<String>,
    pub interval: Duration,
    pub bearer_token: Option<String>,
    pub format: Format,
    pub fail_if: Vec<Gate>,
    /// Changes with a p-value below this count as significant.
    pub alpha: f64,
    pub color: bool,
}

/// How the result is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns for a terminal.
    Table,
    /// One JSON document.
    Json,
    /// A Markdown table, e.g. for a pull request comment.
    Markdown,
}

/// How `diff` ended: the text to print and the exit status (0 fine, 1 a gate failed).
pub struct Outcome {
    pub text: String,
    pub failed: Vec<String>,
}

/// Runs `diff`; an `Err` is unusable input (exit status 2).
pub fn run(request: &Request) -> Result<Outcome, String> {
    let token = request.bearer_token.as_deref();
    let (base, new, interval) = match &request.new {
        Some(new) => (load_source(&request.base, token)?, load_source(new, token)?, false),
        None => {
            let first = load_source(&request.base, token)?;
            std::thread::sleep(request.interval);
            let second = load_source(&request.base, token)?;
            (BTreeMap::new(), between(&first, &second), true)
        }
    };
    let rows = rows(&base, &new, request.alpha);
    let failed: Vec<String> = rows
        .iter()
        .flat_map(|r| {
            request.fail_if.iter().filter_map(move |g| g.fails(r).map(|why| format!("{}: {why}", r.name())))
        })
        .collect();
    let text = write(&rows, &failed, interval, request);
    Ok(Outcome { text, failed })
}

fn write(rows: &[Row], failed: &[String], interval: bool, request: &Request) -> String {
    match request.format {
        Format::Json => json(rows, failed, interval, request.alpha),
        Format::Markdown => markdown(rows, interval),
        Format::Table => table(rows, interval, request.color),
    }
}

/// The calls between two scrapes of one endpoint.
fn between(first: &Functions, second: &Functions) -> Functions {
    second.iter().map(|(k, f)| (k.clone(), first.get(k).map_or_else(|| f.clone(), |e| f.since(e)))).collect()
}

/// The table of the calls between two scrapes, as `top` shows it.
pub fn interval_table(first: &Functions, second: &Functions, format: Format) -> String {
    let rows = rows(&BTreeMap::new(), &between(first, second), 0.05);
    let request = Request {
        base: String::new(),
        new: None,
        interval: Duration::ZERO,
        bearer_token: None,
        format,
        fail_if: Vec::new(),
        alpha: 0.05,
        color: false,
    };
    write(&rows, &[], true, &request)
}

/// One row per function of either run, most changed first.
fn rows(base: &Functions, new: &Functions, alpha: f64) -> Vec<Row> {
    let keys: std::collections::BTreeSet<&Key> = base.keys().chain(new.keys()).collect();
    let mut rows: Vec<Row> =
        keys.into_iter().map(|key| Row::new(key, base.get(key), new.get(key), alpha)).collect();
    rows.sort_by(|a, b| b.rank().total_cmp(&a.rank()).then_with(|| a.key.cmp(&b.key)));
    rows
}

/// An exposition's functions.
pub type Functions = BTreeMap<Key, Function>;

/// An exposition from a file, `-` (stdin) or an `http(s)://` URL.
pub fn load_source(source: &str, bearer_token: Option<&str>) -> Result<Functions, String> {
    let text = if source == "-" {
        std::io::read_to_string(std::io::stdin()).map_err(|e| format!("stdin: {e}"))?
    } else if source.starts_with("http://") || source.starts_with("https://") {
        fetch(source, bearer_token)?
    } else {
        std::fs::read_to_string(source).map_err(|e| format!("{source}: {e}"))?
    };
    exposition::read(&text).map_err(|e| format!("{source}: {e}"))
}

/// One scrape, as Prometheus makes it (its `Accept` header, a bearer token when given).
fn fetch(url: &str, bearer_token: Option<&str>) -> Result<String, String> {
    let agent: ureq::Agent =
        ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(30))).build().into();
    let mut request = agent.get(url).header("accept", "text/plain;version=0.0.4");
    if let Some(token) = bearer_token {
        request = request.header("authorization", &format!("Bearer {token}"));
    }
    let mut response = request.call().map_err(|e| format!("{url}: {e}"))?;
    response.body_mut().with_config().limit(1 << 30).read_to_string().map_err(|e| format!("{url}: {e}"))
}

/// One percentile in both runs.
#[derive(Serialize)]
struct QuantileChange {
    base: Option<QuantileText>,
    new: Option<QuantileText>,
    /// Relative change of the two values the buckets give (interpolations, or the bounds that
    /// limit them); `None` when both fall in one bucket, where the buckets cannot tell.
    change: Option<f64>,
    /// Both in the same bucket: no change the histogram can show.
    same_bucket: bool,
}

#[derive(Serialize)]
struct QuantileText {
    text: String,
    kind: &'static str,
    bucket: String,
    seconds: f64,
}

impl From<Quantile> for QuantileText {
    fn from(q: Quantile) -> Self {
        Self { text: q.to_string(), kind: q.kind(), bucket: q.bucket().to_string(), seconds: seconds(q) }
    }
}

/// One number for a quantile, as honest as the buckets: the interpolation inside a bucket,
/// else the bound that limits it.
fn seconds(q: Quantile) -> f64 {
    match q {
        Quantile::AtMost(b) | Quantile::Above(b) => b as f64 / 1e9,
        Quantile::Between { estimate, .. } => estimate / 1e9,
    }
}

/// One function in both runs.
#[derive(Serialize)]
struct Row {
    #[serde(skip)]
    key: Key,
    device: Option<String>,
    module: String,
    function: String,
    calls: [f64; 2],
    error_ratio: [Option<f64>; 2],
    /// New minus base, in percentage points.
    error_change_pp: Option<f64>,
    error_test: Option<Test>,
    p50: QuantileChange,
    p95: QuantileChange,
    p99: QuantileChange,
    /// The two latency distributions compared bucket by bucket (`None`: one run has no calls,
    /// or their bounds differ).
    latency_test: Option<Test>,
    /// Whether each test found more than chance (p below `--alpha`).
    latency_significant: bool,
    errors_significant: bool,
    /// Calls and error ratio by caller (histograms have no caller label: latency is per
    /// function only).
    callers: Vec<CallerChange>,
}

/// One caller's calls of the function in both runs.
#[derive(Serialize)]
struct CallerChange {
    caller_function: String,
    caller_module: String,
    calls: [f64; 2],
    error_ratio: [Option<f64>; 2],
    error_test: Option<Test>,
}

impl Row {
    fn new(key: &Key, base: Option<&Function>, new: Option<&Function>, alpha: f64) -> Self {
        let empty = Function::default();
        let (b, n) = (base.unwrap_or(&empty), new.unwrap_or(&empty));
        let ratio = |f: &Function| (f.calls() > 0.0).then(|| f.error / f.calls());
        let error_ratio = [ratio(b), ratio(n)];
        let error_change_pp = match error_ratio {
            [Some(x), Some(y)] => Some((y - x) * 100.0),
            _ => None,
        };
        let error_test = chi_squared(&[b.ok, b.error], &[n.ok, n.error]);
        let latency_test = (b.bounds == n.bounds).then(|| chi_squared(&b.counts, &n.counts)).flatten();
        let change = |q: f64| {
            let at = |f: &Function| quantile(&f.bounds, &f.counts_u64(), q);
            let (x, y) = (at(b), at(n));
            let same_bucket = matches!((x, y), (Some(x), Some(y)) if x.range() == y.range());
            let change = match (x, y) {
                (Some(x), Some(y)) if !same_bucket && seconds(x) > 0.0 => Some(seconds(y) / seconds(x) - 1.0),
                _ => None,
            };
            QuantileChange { base: x.map(Into::into), new: y.map(Into::into), change, same_bucket }
        };
        let [p50, p95, p99] = QUANTILES.map(|(_, q)| change(q));
        let caller_keys: std::collections::BTreeSet<&(String, String)> =
            b.callers.keys().chain(n.callers.keys()).collect();
        let callers = caller_keys
            .into_iter()
            .map(|k| {
                let at = |f: &Function| f.callers.get(k).copied().unwrap_or_default();
                let ((bo, be), (no, ne)) = (at(b), at(n));
                let ratio = |ok: f64, error: f64| (ok + error > 0.0).then(|| error / (ok + error));
                CallerChange {
                    caller_function: k.0.clone(),
                    caller_module: k.1.clone(),
                    calls: [bo + be, no + ne],
                    error_ratio: [ratio(bo, be), ratio(no, ne)],
                    error_test: chi_squared(&[bo, be], &[no, ne]),
                }
            })
            .collect();
        Row {
            callers,
            key: key.clone(),
            device: Some(key.0.clone()).filter(|d| !d.is_empty()),
            module: key.1.clone(),
            function: key.2.clone(),
            calls: [b.calls(), n.calls()],
            error_ratio,
            error_change_pp,
            error_test,
            p50,
            p95,
            p99,
            latency_significant: latency_test.is_some_and(|t| t.p < alpha),
            errors_significant: error_test.is_some_and(|t| t.p < alpha),
            latency_test,
        }
    }

    fn name(&self) -> String {
        match &self.device {
            Some(d) => format!("{}::{} on {d}", self.module, self.function),
            None => format!("{}::{}", self.module, self.function),
        }
    }

    fn quantiles(&self) -> [(&'static str, &QuantileChange); 3] {
        [("p50", &self.p50), ("p95", &self.p95), ("p99", &self.p99)]
    }

    /// What changed most comes first: significant latency changes by their size, then
    /// significant error changes, then the rest.
    fn rank(&self) -> f64 {
        let latency = self.quantiles().iter().filter_map(|(_, q)| q.change).map(f64::abs).fold(0.0, f64::max);
        let errors = self.error_change_pp.map_or(0.0, f64::abs) / 100.0;
        let significant = if self.latency_significant || self.errors_significant { 1e6 } else { 0.0 };
        significant + latency.max(errors)
    }
}

/// A `--fail-if` condition: `p95 > +20%`, `errors > +1pp`, `calls < -50%`.
#[derive(Clone, Debug, PartialEq)]
pub struct Gate {
    what: Measure,
    above: bool,
    /// A relative change (0.2 for 20 %) or, for errors, percentage points.
    limit: f64,
    text: String,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Measure {
    Quantile(usize),
    Errors,
    Calls,
}

impl std::str::FromStr for Gate {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let usage = || {
            format!("`{s}`: expected MEASURE OP CHANGE, e.g. 'p95 > +20%', 'errors > +1pp', 'calls < -50%' (MEASURE p50, p95, p99, errors or calls; OP > or <)")
        };
        let mut parts = s.split_whitespace();
        let (Some(what), Some(op), Some(change), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(usage());
        };
        let what = match what {
            "errors" => Measure::Errors,
            "calls" => Measure::Calls,
            q => Measure::Quantile(QUANTILES.iter().position(|(name, _)| *name == q).ok_or_else(usage)?),
        };
        let above = match op {
            ">" => true,
            "<" => false,
            _ => return Err(usage()),
        };
        let (number, unit) = if let Some(n) = change.strip_suffix("pp") {
            (n, "pp")
        } else if let Some(n) = change.strip_suffix('%') {
            (n, "%")
        } else {
            return Err(usage());
        };
        let number: f64 = number.parse().map_err(|_| usage())?;
        let limit = match (what, unit) {
            (Measure::Errors, "pp") => number,
            (Measure::Errors, _) => {
                return Err(format!("`{s}`: an error ratio changes in percentage points (pp)"))
            }
            (_, "%") => number / 100.0,
            _ => return Err(format!("`{s}`: latency and calls change in percent (%)")),
        };
        Ok(Gate { what, above, limit, text: s.to_owned() })
    }
}

impl Gate {
    /// Why `row` fails this gate, if it does; only a significant change can.
    fn fails(&self, row: &Row) -> Option<String> {
        let crossed = |change: f64| if self.above { change > self.limit } else { change < self.limit };
        match self.what {
            Measure::Quantile(i) => {
                let (name, q) = row.quantiles()[i];
                let change = q.change.filter(|_| row.latency_significant)?;
                let p = row.latency_test.map_or(1.0, |t| t.p);
                crossed(change)
                    .then(|| format!("{name} {:+.0}% (p = {p:.2e}) fails '{}'", change * 100.0, self.text))
            }
            Measure::Errors => {
                let change = row.error_change_pp.filter(|_| row.errors_significant)?;
                let p = row.error_test.map_or(1.0, |t| t.p);
                crossed(change).then(|| format!("errors {change:+.2} pp (p = {p:.2e}) fails '{}'", self.text))
            }
            Measure::Calls => {
                let [base, new] = row.calls;
                let change = (base > 0.0).then(|| new / base - 1.0)?;
                crossed(change).then(|| format!("calls {:+.0}% fails '{}'", change * 100.0, self.text))
            }
        }
    }
}

/// `12.5 ms → 25.0 ms (+100%)`; in one bucket, the bucket alone: `25 ms – 50 ms (both)`,
/// `< 5 ms (both)` — what the histogram can say, not two interpolations.
fn quantile_cell(q: &QuantileChange, interval: bool) -> String {
    let text = |t: &Option<QuantileText>| t.as_ref().map_or("–".to_owned(), |t| t.text.clone());
    if interval {
        return text(&q.new);
    }
    if let (true, Some(t)) = (q.same_bucket, &q.new) {
        let bucket = if t.kind == "between" { &t.bucket } else { &t.text };
        return format!("{bucket} (both)");
    }
    let change = q.change.map_or(String::new(), |c| format!(" ({:+.0}%)", c * 100.0));
    format!("{} → {}{change}", text(&q.base), text(&q.new))
}

fn percent(r: Option<f64>) -> String {
    r.map_or("–".to_owned(), |r| format!("{:.2}%", r * 100.0))
}

fn errors_cell(row: &Row, interval: bool) -> String {
    if interval {
        return percent(row.error_ratio[1]);
    }
    let change = row.error_change_pp.map_or(String::new(), |c| format!(" ({c:+.2} pp)"));
    format!("{} → {}{change}", percent(row.error_ratio[0]), percent(row.error_ratio[1]))
}

fn verdict(row: &Row) -> &'static str {
    let slower = row.quantiles().iter().any(|(_, q)| q.change.is_some_and(|c| c > 0.0));
    let faster = row.quantiles().iter().any(|(_, q)| q.change.is_some_and(|c| c < 0.0));
    match (row.latency_significant, slower, faster) {
        (true, true, false) => "slower",
        (true, false, true) => "faster",
        (true, _, _) => "changed",
        _ if row.errors_significant => "errors changed",
        _ => "no significant change",
    }
}

fn p_text(t: Option<Test>) -> String {
    t.map_or("–".to_owned(), |t| format!("{:.2e}", t.p))
}

/// The rows' cells, a header first.
fn cells(rows: &[Row], interval: bool) -> Vec<Vec<String>> {
    let calls = |c: [f64; 2]| if interval { format!("{}", c[1]) } else { format!("{} → {}", c[0], c[1]) };
    let mut header: Vec<String> =
        ["function", "calls", "errors", "p50", "p95", "p99"].iter().map(|s| (*s).to_owned()).collect();
    if !interval {
        header.extend(["latency p", "errors p", "verdict"].map(str::to_owned));
    }
    let mut out = vec![header];
    for r in rows {
        let mut line = vec![r.name(), calls(r.calls), errors_cell(r, interval)];
        line.extend(r.quantiles().iter().map(|(_, q)| quantile_cell(q, interval)));
        if !interval {
            line.extend([p_text(r.latency_test), p_text(r.error_test), verdict(r).to_owned()]);
        }
        out.push(line);
    }
    out
}

fn table(rows: &[Row], interval: bool, color: bool) -> String {
    let cells = cells(rows, interval);
    let widths: Vec<usize> =
        (0..cells[0].len()).map(|c| cells.iter().map(|l| l[c].chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for (i, line) in cells.iter().enumerate() {
        let mut text = String::new();
        for (c, cell) in line.iter().enumerate() {
            let pad = widths[c] - cell.chars().count();
            let _ = write!(text, "{cell}{}  ", " ".repeat(pad));
        }
        let text = text.trim_end();
        let paint = match (color, i.checked_sub(1).map(|r| verdict(&rows[r]))) {
            (true, Some("slower" | "errors changed" | "changed")) => Some("31"),
            (true, Some("faster")) => Some("32"),
            (true, None) => Some("1"),
            _ => None,
        };
        match paint {
            Some(code) => {
                let _ = writeln!(out, "\x1b[{code}m{text}\x1b[0m");
            }
            None => {
                let _ = writeln!(out, "{text}");
            }
        }
    }
    out
}

fn markdown(rows: &[Row], interval: bool) -> String {
    let cells = cells(rows, interval);
    let mut out = String::new();
    let escape = |s: &str| s.replace('|', "\\|");
    for (i, line) in cells.iter().enumerate() {
        let _ = writeln!(out, "| {} |", line.iter().map(|c| escape(c)).collect::<Vec<_>>().join(" | "));
        if i == 0 {
            let _ = writeln!(out, "|{}", "---|".repeat(line.len()));
        }
    }
    out
}

fn json(rows: &[Row], failed: &[String], interval: bool, alpha: f64) -> String {
    let doc = serde_json::json!({
        "interval": interval,
        "alpha": alpha,
        "functions": rows,
        "failed": failed,
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gates_parse() {
        let g: Gate = "p95 > +20%".parse().unwrap();
        assert_eq!((g.what, g.above, g.limit), (Measure::Quantile(1), true, 0.2));
        let g: Gate = "errors > +1pp".parse().unwrap();
        assert_eq!((g.what, g.limit), (Measure::Errors, 1.0));
        let g: Gate = "calls < -50%".parse().unwrap();
        assert_eq!((g.what, g.above, g.limit), (Measure::Calls, false, -0.5));
        for bad in ["p95 > 20", "p42 > +1%", "errors > +1%", "p95 >= +1%", "p95 > +1% x", ""] {
            assert!(bad.parse::<Gate>().is_err(), "{bad}");
        }
    }
}
