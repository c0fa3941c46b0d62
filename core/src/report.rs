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
//! Percentiles come from the histogram, with the precision its buckets hold ([`Quantile`]):
//! a rank in the first bucket is shown as "< 5 ms" (interpolating between 0 and the first
//! bound would invent a value — a 60 ns function would read 2.50 ms), a rank in `+Inf` as
//! "> 10 s", and a rank in any other bucket as the interpolated value PromQL's
//! `histogram_quantile` gives, its bucket's range beside it where there is room.

use crate::descriptor::FunctionDescriptor;
use crate::model::CounterWidth;
use crate::registry::functions;
use crate::snapshot::HistogramSnapshot;
use core::fmt::{self, Write};

impl HistogramSnapshot {
    /// The `q`-quantile (0 ≤ q ≤ 1) in nanoseconds, estimated as `histogram_quantile` does;
    /// `None` when there are no observations.
    pub fn quantile_nanos(&self, bounds: &[u64], q: f64) -> Option<f64> {
        estimate(bounds, self.cumulative(), self.count(), q).map(|(_, promql)| promql)
    }

    /// The `q`-quantile (0 ≤ q ≤ 1) with the precision the buckets hold; `None` when there
    /// are no observations.
    pub fn quantile(&self, bounds: &[u64], q: f64) -> Option<Quantile> {
        estimate(bounds, self.cumulative(), self.count(), q).map(|(quantile, _)| quantile)
    }

    /// Index of the highest bucket with an observation (`bounds.len()` for `+Inf`).
    pub fn max_bucket(&self) -> Option<usize> {
        self.counts.iter().rposition(|&c| c > 0)
    }
}

/// A quantile as far as a histogram knows it: which bucket holds its rank, and
/// `histogram_quantile`'s interpolation inside it. Shown (`Display`) as "< 5 ms" in the first
/// bucket, "> 10 s" in `+Inf`, else as the interpolated value to three digits.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Quantile {
    /// In the first bucket: at most its bound, in nanoseconds; nothing tells where below.
    AtMost(u64),
    /// In the bucket (`lower`, `upper`] (nanoseconds), at about `estimate` (interpolated).
    Between {
        /// The bucket's lower bound (exclusive).
        lower: u64,
        /// The bucket's upper bound (inclusive).
        upper: u64,
        /// `histogram_quantile`'s linear interpolation inside the bucket.
        estimate: f64,
    },
    /// In `+Inf`: above the last bound, in nanoseconds; nothing tells how far.
    Above(u64),
}

impl Quantile {
    /// The bucket that holds it, in nanoseconds: (lower, upper], `None` for no upper bound.
    pub fn range(self) -> (u64, Option<u64>) {
        match self {
            Self::AtMost(upper) => (0, Some(upper)),
            Self::Between { lower, upper, .. } => (lower, Some(upper)),
            Self::Above(lower) => (lower, None),
        }
    }

    /// Its one number in seconds, with no more precision than the buckets hold: the
    /// interpolation inside a bucket, else the bound that limits it (an upper limit
    /// [`AtMost`](Self::AtMost), a lower one [`Above`](Self::Above)).
    pub fn seconds(self) -> f64 {
        let nanos = match self {
            Self::AtMost(bound) | Self::Above(bound) => bound as f64,
            Self::Between { estimate, .. } => estimate,
        };
        nanos / 1e9
    }

    /// Which case it is, for machines: `"at_most"`, `"between"` or `"above"`.
    pub fn kind(self) -> &'static str {
        match self {
            Self::AtMost(_) => "at_most",
            Self::Between { .. } => "between",
            Self::Above(_) => "above",
        }
    }

    /// Its bucket for people, exactly: `0 – 5 ms`, `5 ms – 10 ms`, `> 10 s`.
    pub fn bucket(self) -> impl fmt::Display {
        struct Bucket(Quantile);
        impl fmt::Display for Bucket {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut s = heapless::String::<48>::new();
                match self.0.range() {
                    (lower, Some(upper)) => write!(s, "{} – {}", Bound(lower), Bound(upper))?,
                    (lower, None) => write!(s, "> {}", Bound(lower))?,
                }
                f.pad(&s)
            }
        }
        Bucket(self)
    }
}

impl fmt::Display for Quantile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = heapless::String::<32>::new();
        match *self {
            Self::AtMost(bound) => write!(s, "< {}", Bound(bound))?,
            Self::Between { estimate, .. } => write!(s, "{}", Human(Some(estimate)))?,
            Self::Above(bound) => write!(s, "> {}", Bound(bound))?,
        }
        f.pad(&s)
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
    estimate_counts(bounds, counts, q).map(|(_, promql)| promql)
}

/// The `q`-quantile (0 ≤ q ≤ 1) of a histogram given as per-bucket counts (one per bound, then
/// `+Inf`) with the precision its buckets hold; `None` when it is empty.
///
/// ```
/// use picometrics::report::{quantile, Quantile};
/// // 20 calls of about 60 ns under bounds of 5 ms and 10 ms: all the histogram knows.
/// let p50 = quantile(&[5_000_000, 10_000_000], &[20, 0, 0], 0.5).unwrap();
/// assert_eq!(p50, Quantile::AtMost(5_000_000));
/// assert_eq!(p50.to_string(), "< 5 ms");
/// ```
pub fn quantile(bounds: &[u64], counts: &[u64], q: f64) -> Option<Quantile> {
    estimate_counts(bounds, counts, q).map(|(quantile, _)| quantile)
}

fn estimate_counts(bounds: &[u64], counts: &[u64], q: f64) -> Option<(Quantile, f64)> {
    // Differences of 64-bit snapshots: summed as every count is (`CounterWidth`).
    let width = CounterWidth::U64;
    estimate(bounds, width.running(counts.iter().copied()), width.sum(counts.iter().copied()), q)
}

/// Which bucket holds the rank of `q` among `count` observations, from cumulative bucket
/// counts, with the number `histogram_quantile` gives: the linear interpolation inside the
/// bucket (from 0 in the first one), the last bound in `+Inf`.
fn estimate(
    bounds: &[u64],
    cumulative: impl Iterator<Item = u64>,
    count: u64,
    q: f64,
) -> Option<(Quantile, f64)> {
    if count == 0 || bounds.is_empty() {
        return None;
    }
    let rank = q.clamp(0.0, 1.0) * count as f64;
    let mut below = 0u64;
    for (i, cumulative) in cumulative.enumerate() {
        if cumulative as f64 >= rank && cumulative > below {
            let Some(&upper) = bounds.get(i) else {
                let last = bounds[bounds.len() - 1];
                return Some((Quantile::Above(last), last as f64));
            };
            let lower = if i == 0 { 0 } else { bounds[i - 1] };
            let in_bucket = (cumulative - below) as f64;
            let fraction = (rank - below as f64) / in_bucket;
            let estimate = lower as f64 + (upper - lower) as f64 * fraction;
            let quantile =
                if i == 0 { Quantile::AtMost(upper) } else { Quantile::Between { lower, upper, estimate } };
            return Some((quantile, estimate));
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
            match s.histogram.quantile(f.bounds, q) {
                Some(quantile) => write!(w, " {quantile:>10}")?,
                None => write!(w, " {:>10}", "-")?,
            }
        }
        match s.histogram.max_bucket() {
            None => write!(w, " {:>12}", "-")?,
            Some(i) => match f.bounds.get(i) {
                Some(&b) => write!(w, " {:>12}", Prefixed("<= ", Bound(b)))?,
                None => write!(w, " {:>12}", Prefixed("> ", Bound(f.bounds.last().copied().unwrap_or(0))))?,
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

/// A bucket bound in nanoseconds, exactly and without trailing zeros: `5 ms`, `2.5 ms`,
/// `100 ns`, `0` (bounds are integers of nanoseconds: nothing is rounded).
struct Bound(u64);

impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = self.0;
        if ns == 0 {
            return f.pad("0");
        }
        let (scale, unit) = match ns {
            n if n < 1_000 => (1, "ns"),
            n if n < 1_000_000 => (1_000, "µs"),
            n if n < 1_000_000_000 => (1_000_000, "ms"),
            _ => (1_000_000_000, "s"),
        };
        let mut s = heapless::String::<32>::new();
        write!(s, "{}", ns / scale)?;
        let (mut fraction, mut digits) = (ns % scale, scale);
        if fraction > 0 {
            s.push('.').map_err(|_| fmt::Error)?;
            while fraction > 0 {
                digits /= 10;
                write!(s, "{}", fraction / digits)?;
                fraction %= digits;
            }
        }
        write!(s, " {unit}")?;
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
    fn quantiles_claim_no_more_than_the_buckets_hold() {
        fn text(d: impl fmt::Display) -> heapless::String<48> {
            let mut s = heapless::String::new();
            write!(s, "{d}").unwrap();
            s
        }
        let bounds = [5_000_000, 10_000_000];
        let q = |counts: &[u64], q| quantile(&bounds, counts, q).unwrap();
        // Calls of nanoseconds under a first bound of 5 ms: PromQL says 2.5 ms, we say < 5 ms.
        assert_eq!(quantile_nanos(&bounds, &[20, 0, 0], 0.5), Some(2_500_000.0));
        assert_eq!(q(&[20, 0, 0], 0.5), Quantile::AtMost(5_000_000));
        assert_eq!(text(q(&[20, 0, 0], 0.5)), "< 5 ms");
        assert_eq!(text(q(&[20, 0, 0], 0.99).bucket()), "0 – 5 ms");
        let between = q(&[0, 10, 0], 0.5);
        assert_eq!(between, Quantile::Between { lower: 5_000_000, upper: 10_000_000, estimate: 7_500_000.0 });
        assert_eq!((text(between).as_str(), between.kind()), ("7.50 ms", "between"));
        assert_eq!(text(between.bucket()), "5 ms – 10 ms");
        assert_eq!((q(&[20, 0, 0], 0.5).seconds(), between.seconds()), (0.005, 0.0075));
        assert_eq!(q(&[0, 0, 3], 0.5), Quantile::Above(10_000_000));
        assert_eq!((text(q(&[0, 0, 3], 0.5)).as_str(), q(&[0, 0, 3], 0.5).kind()), ("> 10 ms", "above"));
        assert_eq!(quantile(&bounds, &[0, 0, 0], 0.5), None);
    }

    #[test]
    fn bounds_are_written_exactly() {
        let mut s = heapless::String::<128>::new();
        for ns in [0, 100, 1_000, 2_500_000, 5_000_000, 250_000_000, 1_000_000_000, 7_500_000_000, 1_234] {
            write!(s, "{}|", Bound(ns)).unwrap();
        }
        assert_eq!(s, "0|100 ns|1 µs|2.5 ms|5 ms|250 ms|1 s|7.5 s|1.234 µs|");
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
