//! `--fail-if`: the conditions a significant change must not cross.

use super::row::Row;
use super::QUANTILES;

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
    pub(super) fn fails(&self, row: &Row) -> Option<String> {
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
