//! Reading a Prometheus text or OpenMetrics exposition into the autometrics schema's numbers:
//! per function, its calls by result and its latency histogram.
//!
//! Anything in the schema works — a picometrics process, a bridge (one row per device), a
//! firmware's text dump, an autometrics-rs or -py service. Other families are skipped; a line
//! that is not a sample, a comment or empty is an error naming its line.

use picometrics::schema::{label, FUNCTION_CALLS, FUNCTION_CALLS_DURATION};
use std::collections::BTreeMap;

/// A function as one exposition reports it: device (empty off a bridge), module, function.
pub type Key = (String, String, String);

/// One function's numbers in one exposition.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Function {
    /// Calls by result, summed over callers and objectives.
    pub ok: f64,
    pub error: f64,
    /// The same by caller (`caller_function`, `caller_module`; empty: uninstrumented code).
    pub callers: BTreeMap<(String, String), (f64, f64)>,
    /// Histogram bounds in nanoseconds (without `+Inf`), and per-bucket counts with `+Inf` last.
    pub bounds: Vec<u64>,
    pub counts: Vec<f64>,
}

impl Function {
    /// All calls.
    pub fn calls(&self) -> f64 {
        self.ok + self.error
    }

    /// The counts as the integers they are.
    pub fn counts_u64(&self) -> Vec<u64> {
        self.counts.iter().map(|&c| c.max(0.0).round() as u64).collect()
    }

    /// `self - earlier`, for the calls between two scrapes of one process.
    pub fn since(&self, earlier: &Function) -> Function {
        let counts = if self.bounds == earlier.bounds {
            self.counts.iter().zip(&earlier.counts).map(|(n, o)| (n - o).max(0.0)).collect()
        } else {
            // New bounds (a restart with other buckets): what the later scrape says.
            self.counts.clone()
        };
        let callers = self
            .callers
            .iter()
            .map(|(k, &(ok, error))| {
                let (was_ok, was_error) = earlier.callers.get(k).copied().unwrap_or_default();
                (k.clone(), ((ok - was_ok).max(0.0), (error - was_error).max(0.0)))
            })
            .collect();
        Function {
            ok: (self.ok - earlier.ok).max(0.0),
            error: (self.error - earlier.error).max(0.0),
            callers,
            bounds: self.bounds.clone(),
            counts,
        }
    }
}

/// Why an exposition cannot be read.
#[derive(Debug, PartialEq)]
pub struct Unreadable {
    /// The line (from 1), when one line is at fault.
    pub line: Option<usize>,
    pub why: String,
}

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.why),
            None => f.write_str(&self.why),
        }
    }
}

/// The functions of an exposition; an error for a malformed line or for no series of the
/// schema at all.
pub fn read(text: &str) -> Result<BTreeMap<Key, Function>, Unreadable> {
    let calls = FUNCTION_CALLS.name;
    let bucket = format!("{}_bucket", FUNCTION_CALLS_DURATION.name);
    // Cumulative counts by `le` (nanoseconds; `u64::MAX` for +Inf), summed over label sets.
    let mut cumulative: BTreeMap<Key, BTreeMap<u64, f64>> = BTreeMap::new();
    let mut functions: BTreeMap<Key, Function> = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let at = |why: String| Unreadable { line: Some(i + 1), why };
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, labels, value) = sample(line).map_err(at)?;
        let get = |key: &str| labels.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
        let key = || -> Key {
            let field = |k| get(k).unwrap_or_default().to_owned();
            (field(label::DEVICE), field(label::MODULE), field(label::FUNCTION))
        };
        if name == calls {
            let f = functions.entry(key()).or_default();
            let caller = (
                get(label::CALLER_FUNCTION).unwrap_or_default().to_owned(),
                get(label::CALLER_MODULE).unwrap_or_default().to_owned(),
            );
            let by_caller = f.callers.entry(caller).or_default();
            match get(label::RESULT) {
                Some("error") => {
                    f.error += value;
                    by_caller.1 += value;
                }
                _ => {
                    f.ok += value;
                    by_caller.0 += value;
                }
            }
        } else if name == bucket {
            let le = get(label::LE).ok_or_else(|| at("a bucket without `le`".into()))?;
            let nanos = if le == "+Inf" {
                u64::MAX
            } else {
                let seconds: f64 = le.parse().map_err(|_| at(format!("`le=\"{le}\"` is not a number")))?;
                (seconds * 1e9).round() as u64
            };
            *cumulative.entry(key()).or_default().entry(nanos).or_default() += value;
            functions.entry(key()).or_default();
        }
    }
    if functions.is_empty() {
        return Err(Unreadable {
            line: None,
            why: format!("no `{calls}` or `{bucket}` series: not an exposition in the autometrics schema"),
        });
    }
    for (key, by_le) in cumulative {
        let f = functions.entry(key).or_default();
        let mut below = 0.0;
        for (le, count) in by_le {
            if le != u64::MAX {
                f.bounds.push(le);
            }
            f.counts.push((count - below).max(0.0));
            below = count;
        }
    }
    Ok(functions)
}

/// A sample: its name, labels and value.
type Sample = (String, Vec<(String, String)>, f64);

/// A sample line (an OpenMetrics exemplar or a timestamp after the value is ignored).
fn sample(line: &str) -> Result<Sample, String> {
    let name_end = line.find(|c: char| c == '{' || c.is_whitespace()).ok_or("a sample without a value")?;
    let name = &line[..name_end];
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
        return Err(format!("`{name}` is not a metric name"));
    }
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(inner) = rest.strip_prefix('{') {
        rest = inner;
        loop {
            rest = rest.trim_start_matches([' ', ',']);
            if let Some(after) = rest.strip_prefix('}') {
                rest = after;
                break;
            }
            let eq = rest.find('=').ok_or("a label without `=`")?;
            let key = rest[..eq].trim().to_owned();
            let quoted =
                rest[eq + 1..].trim_start().strip_prefix('"').ok_or("a label value without quotes")?;
            let (value, after) = unquote(quoted)?;
            labels.push((key, value));
            rest = after;
        }
    }
    let value = rest.split_whitespace().next().ok_or("a sample without a value")?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().map_err(|_| format!("`{v}` is not a number"))?,
    };
    Ok((name.to_owned(), labels, value))
}

/// A label value up to its closing quote, unescaped (`\\`, `\"`, `\n`), and what follows.
fn unquote(s: &str) -> Result<(String, &str), String> {
    let mut value = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((value, &s[i + 1..])),
            '\\' => match chars.next() {
                Some((_, 'n')) => value.push('\n'),
                Some((_, c)) => value.push(c),
                None => break,
            },
            c => value.push(c),
        }
    }
    Err("a label value without its closing quote".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_calls_and_histograms_of_the_schema() {
        let text = "# TYPE function_calls_total counter\n\
            function_calls_total{function=\"f\",module=\"m\",caller_function=\"a\",result=\"ok\"} 7\n\
            function_calls_total{function=\"f\",module=\"m\",caller_function=\"b\",result=\"ok\"} 3\n\
            function_calls_total{function=\"f\",module=\"m\",result=\"error\"} 2 1700000000\n\
            function_calls_duration_seconds_bucket{function=\"f\",module=\"m\",le=\"0.005\"} 4\n\
            function_calls_duration_seconds_bucket{function=\"f\",module=\"m\",le=\"0.01\"} 10 # {trace_id=\"x\"} 0.007\n\
            function_calls_duration_seconds_bucket{function=\"f\",module=\"m\",le=\"+Inf\"} 12\n\
            other_metric 5\n";
        let functions = read(text).unwrap();
        let f = &functions[&(String::new(), "m".into(), "f".into())];
        assert_eq!((f.ok, f.error), (10.0, 2.0));
        assert_eq!(f.callers[&("a".to_owned(), String::new())], (7.0, 0.0));
        assert_eq!(f.callers[&(String::new(), String::new())], (0.0, 2.0));
        assert_eq!(f.bounds, [5_000_000, 10_000_000]);
        assert_eq!(f.counts, [4.0, 6.0, 2.0]);
    }

    #[test]
    fn errors_name_the_line() {
        let bad =
            "function_calls_total{function=\"f\",result=\"ok\"} 1\nfunction_calls_total{function=\"f} 1\n";
        assert_eq!(read(bad).unwrap_err().line, Some(2));
        let e = read("function_calls_total{function=\"f\"} x\n").unwrap_err();
        assert_eq!(e.to_string(), "line 1: `x` is not a number");
        assert_eq!(read("up 1\n").unwrap_err().line, None);
        assert_eq!(read("").unwrap_err().line, None);
    }
}
