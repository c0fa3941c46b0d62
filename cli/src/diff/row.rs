//! One function in both runs: calls, errors and percentiles with what changed, and the tests.

use super::QUANTILES;
use crate::exposition::{Function, Key};
use crate::stats::{chi_squared, Test};
use picometrics::report::{quantile, Quantile};
use serde::Serialize;

/// One percentile in both runs.
#[derive(Serialize)]
pub(super) struct QuantileChange {
    pub(super) base: Option<QuantileText>,
    pub(super) new: Option<QuantileText>,
    /// Relative change of the two values the buckets give (interpolations, or the bounds that
    /// limit them); `None` when both fall in one bucket, where the buckets cannot tell.
    pub(super) change: Option<f64>,
    /// Both in the same bucket: no change the histogram can show.
    pub(super) same_bucket: bool,
}

#[derive(Serialize)]
pub(super) struct QuantileText {
    pub(super) text: String,
    pub(super) kind: &'static str,
    pub(super) bucket: String,
    pub(super) seconds: f64,
}

impl From<Quantile> for QuantileText {
    fn from(q: Quantile) -> Self {
        Self { text: q.to_string(), kind: q.kind(), bucket: q.bucket().to_string(), seconds: q.seconds() }
    }
}

/// One function in both runs.
#[derive(Serialize)]
pub(super) struct Row {
    #[serde(skip)]
    pub(super) key: Key,
    pub(super) device: Option<String>,
    pub(super) module: String,
    pub(super) function: String,
    pub(super) calls: [f64; 2],
    pub(super) error_ratio: [Option<f64>; 2],
    /// New minus base, in percentage points.
    pub(super) error_change_pp: Option<f64>,
    pub(super) error_test: Option<Test>,
    pub(super) p50: QuantileChange,
    pub(super) p95: QuantileChange,
    pub(super) p99: QuantileChange,
    /// The two latency distributions compared bucket by bucket (`None`: one run has no calls,
    /// or their bounds differ).
    pub(super) latency_test: Option<Test>,
    /// Whether each test found more than chance (p below `--alpha`).
    pub(super) latency_significant: bool,
    pub(super) errors_significant: bool,
    /// Calls and error ratio by caller (histograms have no caller label: latency is per
    /// function only).
    pub(super) callers: Vec<CallerChange>,
}

/// One caller's calls of the function in both runs.
#[derive(Serialize)]
pub(super) struct CallerChange {
    pub(super) caller_function: String,
    pub(super) caller_module: String,
    pub(super) calls: [f64; 2],
    pub(super) error_ratio: [Option<f64>; 2],
    pub(super) error_test: Option<Test>,
}

impl Row {
    pub(super) fn new(key: &Key, base: Option<&Function>, new: Option<&Function>, alpha: f64) -> Self {
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
                (Some(x), Some(y)) if !same_bucket && x.seconds() > 0.0 => {
                    Some(y.seconds() / x.seconds() - 1.0)
                }
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

    pub(super) fn name(&self) -> String {
        match &self.device {
            Some(d) => format!("{}::{} on {d}", self.module, self.function),
            None => format!("{}::{}", self.module, self.function),
        }
    }

    pub(super) fn quantiles(&self) -> [(&'static str, &QuantileChange); 3] {
        [("p50", &self.p50), ("p95", &self.p95), ("p99", &self.p99)]
    }

    /// What changed most comes first: significant latency changes by their size, then
    /// significant error changes, then the rest.
    pub(super) fn rank(&self) -> f64 {
        let latency = self.quantiles().iter().filter_map(|(_, q)| q.change).map(f64::abs).fold(0.0, f64::max);
        let errors = self.error_change_pp.map_or(0.0, f64::abs) / 100.0;
        let significant = if self.latency_significant || self.errors_significant { 1e6 } else { 0.0 };
        significant + latency.max(errors)
    }
}
