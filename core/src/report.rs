//! A human-readable summary of every instrumented function, for terminals, logs and quick
//! hot-path benchmarking without a Prometheus server.
//!
//! ```
//! #[picometrics::picometrics]
//! fn step() {}
//! step();
//! let mut out = heapless::String::<4096>::new();
//! picometrics::report::write_report(&mut out).unwrap();
//! assert!(out.contains("step"));
//! ```
//!
//! Percentiles are estimated from the histogram the way PromQL's `histogram_quantile` does:
//! linear interpolation inside the bucket that holds the rank, and the highest finite bound
//! for ranks in `+Inf`.

use crate::descriptor::FunctionDescriptor;
use crate::model::CounterWidth;
use crate::registry::functions;
use crate::snapshot::HistogramSnapshot;
use core::fmt::{self, Write};

impl HistogramSnapshot {
    /// The `q`-quantile (0 ≤ q ≤ 1) in nanoseconds, estimated as `histogram_quantile` does;
    /// `None` when there are no observations.
    pub fn quantile_nanos(&self, bounds: &[u64], q: f64) -> Option<f64> {
        estimate(bounds, self.cumulative(), self.count(), q)
    }

    /// Index of the highest bucket with an observation (`bounds.len()` for `+Inf`).
    pub fn max_bucket(&self) -> Option<usize> {
        self.counts.iter().rposition(|&c| c > 0)
    }
}

/// The `q`-quantile (0 ≤ q ≤ 1) in nanoseconds of a histogram given as per-bucket counts (one
/// per bound, then `+Inf`), estimated as `histogram_quantile` does; `None` when it is empty.
/// For counts that are differences of two snapshots, this is the quantile over that interval.
///
/// ```
/// // 10 calls ≤ 1 ms, 10 in (1 ms, 2 ms]: the median is the first bucket's upper bound.
/// let p50 = picometrics::report::quantile_nanos(&[1_000_000, 2_000_000], &[10, 10, 0], 0.5);
/// assert_eq!(p50, Some(1_000_000.0));
/// ```
pub fn quantile_nanos(bounds: &[u64], counts: &[u64], q: f64) -> Option<f64> {
    // Differences of 64-bit snapshots: summed as every count is (`CounterWidth`).
    let width = CounterWidth::U64;
    estimate(bounds, width.running(counts.iter().copied()), width.sum(counts.iter().copied()), q)
}

/// `histogram_quantile`'s estimate from cumulative bucket counts and their total: linear
/// interpolation inside the bucket that holds the rank, the highest finite bound for `+Inf`.
fn estimate(bounds: &[u64], cumulative: impl Iterator<Item = u64>, count: u64, q: f64) -> Option<f64> {
    if count == 0 || bounds.is_empty() {
        return None;
    }
    let rank = q.clamp(0.0, 1.0) * count as f64;
    let mut below = 0u64;
    for (i, cumulative) in cumulative.enumerate() {
        if cumulative as f64 >= rank && cumulative > below {
            let Some(&upper) = bounds.get(i) else {
                return Some(bounds[bounds.len() - 1] as f64);
            };
            let lower = if i == 0 { 0 } else { bounds[i - 1] };
            let in_bucket = (cumulative - below) as f64;
            let fraction = (rank - below as f64) / in_bucket;
            return Some(lower as f64 + (upper - lower) as f64 * fraction);
        }
        below = cumulative;
    }
    None
}

/// Writes one line per registered function: calls, error share, p50/p95/p99, the highest
/// occupied bucket, and the longest call (`track_max` functions; `-` for the others).
pub fn write_report<W: Write + ?Sized>(w: &mut W) -> fmt::Result {
    write_report_for(w, functions())
}

/// [`write_report`] for a chosen set of functions.
pub fn write_report_for<'a, W: Write + ?Sized>(
    w: &mut W,
    functions: impl IntoIterator<Item = &'a FunctionDescriptor>,
) -> fmt::Result {
    writeln!(
        w,
        "{:<40} {:>10} {:>7} {:>10} {:>10} {:>10} {:>12} {:>10}",
        "function", "calls", "errors", "p50", "p95", "p99", "max bucket", "longest"
    )?;
    for f in functions {
        let s = f.snapshot();
        let totals = s.calls.total();
        let calls = totals.sum();
        let errors = if calls == 0 { 0.0 } else { 100.0 * totals.error as f64 / calls as f64 };
        let name = Truncated(f.name, 40);
        write!(w, "{name:<40} {calls:>10} {errors:>6.1}%")?;
        for q in [0.5, 0.95, 0.99] {
            write!(w, " {:>10}", Human(s.histogram.quantile_nanos(f.bounds, q)))?;
        }
        match s.histogram.max_bucket() {
            None => write!(w, " {:>12}", "-")?,
            Some(i) => match f.bounds.get(i) {
                Some(&b) => write!(w, " {:>12}", Prefixed("<= ", Human(Some(b as f64))))?,
                None => write!(w, " {:>12}", Prefixed("> ", Human(f.bounds.last().map(|&b| b as f64))))?,
            },
        }
        writeln!(w, " {:>10}", Human(s.max_nanos.filter(|_| calls > 0).map(|n| n as f64)))?;
    }
    Ok(())
}

/// A duration in nanoseconds as `812 ns`, `4.20 µs`, `13.5 ms`, `2.00 s` (or `-`).
struct Human(Option<f64>);

impl fmt::Display for Human {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(ns) = self.0 else { return f.pad("-") };
        let (value, unit) = match ns {
            n if n < 1e3 => (n, "ns"),
            n if n < 1e6 => (n / 1e3, "µs"),
            n if n < 1e9 => (n / 1e6, "ms"),
            n => (n / 1e9, "s"),
        };
        let mut s = heapless::String::<24>::new();
        let digits = if value >= 100.0 {
            0
        } else if value >= 10.0 {
            1
        } else {
            2
        };
        write!(s, "{value:.digits$} {unit}")?;
        f.pad(&s)
    }
}

/// `prefix` then the value, padded as one.
struct Prefixed<T>(&'static str, T);

impl<T: fmt::Display> fmt::Display for Prefixed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = heapless::String::<32>::new();
        write!(s, "{}{}", self.0, self.1)?;
        f.pad(&s)
    }
}

/// At most `n` characters, with `…` when cut.
struct Truncated<'a>(&'a str, usize);

impl fmt::Display for Truncated<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.char_indices().nth(self.1) {
            None => f.pad(self.0),
            Some(_) => {
                let cut = self.0.char_indices().nth(self.1 - 1).map_or(self.0.len(), |(i, _)| i);
                let mut s = heapless::String::<256>::new();
                let _ = s.push_str(&self.0[..cut]);
                let _ = s.push('…');
                f.pad(&s)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hist(counts: &[u64]) -> HistogramSnapshot {
        let mut h = HistogramSnapshot::default();
        for &c in counts {
            h.counts.push(c).unwrap();
        }
        h
    }

    #[test]
    fn quantiles_interpolate_like_histogram_quantile() {
        let bounds = [10, 20, 40];
        // 10 in (0,10], 10 in (10,20], none above.
        let h = hist(&[10, 10, 0, 0]);
        assert_eq!(h.quantile_nanos(&bounds, 0.5), Some(10.0));
        assert_eq!(h.quantile_nanos(&bounds, 0.25), Some(5.0));
        assert_eq!(h.quantile_nanos(&bounds, 0.75), Some(15.0));
        assert_eq!(h.quantile_nanos(&bounds, 1.0), Some(20.0));
        // Ranks in +Inf report the highest finite bound.
        assert_eq!(hist(&[0, 0, 0, 5]).quantile_nanos(&bounds, 0.5), Some(40.0));
        assert_eq!(hist(&[0, 0, 0, 0]).quantile_nanos(&bounds, 0.5), None);
        assert_eq!(h.max_bucket(), Some(1));
    }

    #[test]
    fn human_durations() {
        let mut s = heapless::String::<64>::new();
        write!(
            s,
            "{}|{}|{}|{}|{}",
            Human(Some(812.0)),
            Human(Some(4_200.0)),
            Human(Some(13_500_000.0)),
            Human(Some(2e9)),
            Human(None)
        )
        .unwrap();
        assert_eq!(s, "812 ns|4.20 µs|13.5 ms|2.00 s|-");
    }
}
