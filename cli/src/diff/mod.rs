//! `picometrics diff BASE NEW`: per function, how calls, errors and latency changed between two
//! expositions, with the precision the buckets allow and whether each change is more than
//! chance; `--fail-if` turns it into a CI gate. `picometrics diff URL --interval 10s` shows the
//! calls between two scrapes of one endpoint instead.
//!
//! Here: reading the runs (`load_source`) and putting them side by side; `row` compares one
//! function, `gate` decides `--fail-if`, `output` writes the table, Markdown or JSON.

mod gate;
mod output;
mod row;

pub use gate::Gate;

use crate::exposition::{self, Function, Key};
use output::{json, markdown, table};
use row::Row;
use std::collections::BTreeMap;
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
