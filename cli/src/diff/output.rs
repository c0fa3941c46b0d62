//! Writing the rows: an aligned table (coloured on a terminal), Markdown, JSON.

use super::row::{QuantileChange, QuantileText, Row};
use crate::stats::Test;
use std::fmt::Write as _;

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

pub(super) fn table(rows: &[Row], interval: bool, color: bool) -> String {
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

pub(super) fn markdown(rows: &[Row], interval: bool) -> String {
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

pub(super) fn json(rows: &[Row], failed: &[String], interval: bool, alpha: f64) -> String {
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
