//! The PromQL queries `#[picometrics]` writes into each function's rustdoc, for tools.
//!
//! The attribute also emits them as a `const` [`Queries`] next to each function
//! (`<NAME>_QUERIES`, e.g. `CREATE_USER_QUERIES`); [`Query::write`] renders the same text at
//! run time for any registered function (a test keeps the two identical).
//!
//! ```
//! use picometrics::queries::Query;
//! let mut q = heapless::String::<256>::new();
//! Query::ErrorRatio.write(&mut q, "create_user", "app::users").unwrap();
//! assert!(q.starts_with("sum by (function, module) (rate(function_calls_total{function=\"create_user\""));
//! ```

use core::fmt::{self, Write};

/// The Prometheus the rustdoc links point at when `PROMETHEUS_URL` is not set at compile time.
pub const DEFAULT_PROMETHEUS_URL: &str = "http://localhost:9090";

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
}

impl Query {
    /// Every kind, in the order the rustdoc lists them.
    pub const ALL: [Self; 6] = [
        Self::RequestRate,
        Self::ErrorRatio,
        Self::LatencyP95,
        Self::LatencyP99,
        Self::ConcurrentCalls,
        Self::Callees,
    ];

    /// A short human title.
    pub const fn title(self) -> &'static str {
        match self {
            Self::RequestRate => "Request rate",
            Self::ErrorRatio => "Error ratio",
            Self::LatencyP95 => "Latency (95th percentile)",
            Self::LatencyP99 => "Latency (99th percentile)",
            Self::ConcurrentCalls => "Concurrent calls",
            Self::Callees => "Functions called by this one",
        }
    }

    /// The template; `$F` stands for the function label, `$M` for the module label.
    /// The macro crate holds the same templates (compared by a test).
    pub const fn template(self) -> &'static str {
        match self {
            Self::RequestRate => {
                r#"sum by (function, module) (rate(function_calls_total{function="$F",module="$M"}[5m]))"#
            }
            Self::ErrorRatio => concat!(
                r#"sum by (function, module) (rate(function_calls_total{function="$F",module="$M",result="error"}[5m]))"#,
                r#" / sum by (function, module) (rate(function_calls_total{function="$F",module="$M"}[5m]))"#
            ),
            Self::LatencyP95 => {
                r#"histogram_quantile(0.95, sum by (le, function, module) (rate(function_calls_duration_seconds_bucket{function="$F",module="$M"}[5m])))"#
            }
            Self::LatencyP99 => {
                r#"histogram_quantile(0.99, sum by (le, function, module) (rate(function_calls_duration_seconds_bucket{function="$F",module="$M"}[5m])))"#
            }
            Self::ConcurrentCalls => {
                r#"sum by (function, module) (function_calls_concurrent{function="$F",module="$M"})"#
            }
            Self::Callees => {
                r#"sum by (function, module) (rate(function_calls_total{caller_function="$F",caller_module="$M"}[5m]))"#
            }
        }
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

/// Percent-encodes all but unreserved characters and `:` (legal in a query component, and
/// left as is so `module_path!()` can be spliced into links at compile time).
pub fn write_url_encoded<W: Write + ?Sized>(w: &mut W, s: &str) -> fmt::Result {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b':') {
            w.write_char(b as char)?;
        } else {
            write!(w, "%{b:02X}")?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
