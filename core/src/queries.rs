//! The PromQL queries `#[picometrics]` writes into each function's rustdoc, for tools.
//!
//! The attribute also emits them as a `const` [`Queries`] next to each function
//! (`<NAME>_QUERIES`, e.g. `CREATE_USER_QUERIES`); [`Query::write`] renders the same text at
//! run time for any registered function. Both come from the templates of
//! [`picometrics_schema::QUERIES`].
//!
//! ```
//! use picometrics::queries::Query;
//! let mut q = heapless::String::<256>::new();
//! Query::ErrorRatio.write(&mut q, "create_user", "app::users").unwrap();
//! assert!(q.starts_with("sum by (function, module) (rate(function_calls_total{function=\"create_user\""));
//! ```

use core::fmt::{self, Write};
use picometrics_schema::{QueryTemplate, QUERIES};

pub use picometrics_schema::DEFAULT_PROMETHEUS_URL;

/// The generated queries of one function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Queries {
    /// Calls per second.
    pub request_rate: &'static str,
    /// Share of calls that are errors.
    pub error_ratio: &'static str,
    /// 95th percentile latency.
    pub latency_p95: &'static str,
    /// 99th percentile latency.
    pub latency_p99: &'static str,
    /// Calls in progress (functions with `track_concurrency`).
    pub concurrent_calls: &'static str,
    /// Call rate of the instrumented functions this one calls.
    pub callees: &'static str,
    /// Calls per second by `version` and `commit` (joined from `build_info`).
    pub request_rate_by_version: &'static str,
    /// Share of calls that are errors, by `version` and `commit`.
    pub error_ratio_by_version: &'static str,
    /// 95th percentile latency by `version` and `commit`.
    pub latency_p95_by_version: &'static str,
}

impl Queries {
    /// The query of the given kind.
    pub const fn get(&self, query: Query) -> &'static str {
        match query {
            Query::RequestRate => self.request_rate,
            Query::ErrorRatio => self.error_ratio,
            Query::LatencyP95 => self.latency_p95,
            Query::LatencyP99 => self.latency_p99,
            Query::ConcurrentCalls => self.concurrent_calls,
            Query::Callees => self.callees,
            Query::RequestRateByVersion => self.request_rate_by_version,
            Query::ErrorRatioByVersion => self.error_ratio_by_version,
            Query::LatencyP95ByVersion => self.latency_p95_by_version,
        }
    }
}

/// One kind of generated query.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Query {
    /// Calls per second.
    RequestRate,
    /// Share of calls that are errors.
    ErrorRatio,
    /// 95th percentile latency.
    LatencyP95,
    /// 99th percentile latency.
    LatencyP99,
    /// Calls in progress.
    ConcurrentCalls,
    /// Call rate of the instrumented functions this one calls.
    Callees,
    /// Calls per second by `version` and `commit`: which build changed the traffic.
    RequestRateByVersion,
    /// Share of calls that are errors by `version` and `commit`: which build brought errors.
    ErrorRatioByVersion,
    /// 95th percentile latency by `version` and `commit`: which build got slower.
    LatencyP95ByVersion,
}

impl Query {
    /// Every kind, in the order the rustdoc lists them (the order of the schema's templates).
    pub const ALL: [Self; 9] = [
        Self::RequestRate,
        Self::ErrorRatio,
        Self::LatencyP95,
        Self::LatencyP99,
        Self::ConcurrentCalls,
        Self::Callees,
        Self::RequestRateByVersion,
        Self::ErrorRatioByVersion,
        Self::LatencyP95ByVersion,
    ];

    /// The schema entry of this kind.
    const fn schema(self) -> &'static QueryTemplate {
        &QUERIES[self as usize]
    }

    /// A short human title.
    pub const fn title(self) -> &'static str {
        self.schema().title
    }

    /// The template; `$F` stands for the function label, `$M` for the module label.
    pub const fn template(self) -> &'static str {
        self.schema().template
    }

    /// Writes the query for `function` in `module`.
    pub fn write<W: Write + ?Sized>(self, w: &mut W, function: &str, module: &str) -> fmt::Result {
        fill(self.template(), function, module, |s| w.write_str(s))
    }

    /// Writes a link to a Prometheus graph of the query (`base` like `http://localhost:9090`).
    pub fn write_link<W: Write + ?Sized>(
        self,
        w: &mut W,
        base: &str,
        function: &str,
        module: &str,
    ) -> fmt::Result {
        write!(w, "{}/graph?g0.expr=", base.trim_end_matches('/'))?;
        fill(self.template(), function, module, |s| write_url_encoded(w, s))?;
        w.write_str("&g0.tab=0")
    }
}

fn fill(
    template: &str,
    function: &str,
    module: &str,
    mut out: impl FnMut(&str) -> fmt::Result,
) -> fmt::Result {
    let mut rest = template;
    while let Some(i) = rest.find('$') {
        out(&rest[..i])?;
        out(if rest[i + 1..].starts_with('F') { function } else { module })?;
        rest = &rest[i + 2..];
    }
    out(rest)
}

use picometrics_schema::write_url_encoded;

#[cfg(test)]
mod tests {
    use super::*;

    /// `Query` discriminants index the schema's templates, whose fields name `Queries`' fields.
    #[test]
    fn kinds_index_the_schema() {
        let fields =
            ["request_rate", "error_ratio", "latency_p95", "latency_p99", "concurrent_calls", "callees"];
        assert_eq!(Query::ALL.len(), QUERIES.len());
        for (q, field) in Query::ALL.into_iter().zip(fields) {
            assert_eq!(q.schema().field, field);
        }
    }

    #[test]
    fn fills_and_links() {
        let mut s = heapless::String::<512>::new();
        Query::RequestRate.write(&mut s, "Db::get", "app::db").unwrap();
        assert_eq!(
            s,
            r#"sum by (function, module) (rate(function_calls_total{function="Db::get",module="app::db"}[5m]))"#
        );
        s.clear();
        Query::ConcurrentCalls.write_link(&mut s, "http://p:9090/", "f", "m").unwrap();
        assert_eq!(
            s,
            "http://p:9090/graph?g0.expr=sum%20by%20%28function%2C%20module%29%20%28function_calls_concurrent%7Bfunction%3D%22f%22%2Cmodule%3D%22m%22%7D%29&g0.tab=0"
        );
    }
}
