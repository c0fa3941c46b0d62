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
use picometrics_schema::{write_promql_string, write_url_encoded, QueryTemplate, QUERIES};

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

    /// Writes the query for `function` in `module`, their names escaped as PromQL strings.
    pub fn write<W: Write + ?Sized>(self, w: &mut W, function: &str, module: &str) -> fmt::Result {
        self.write_on(w, function, module, None)
    }

    /// Like [`Query::write`], for one `device` (the label the device bridge gives a device's
    /// series): on a fleet, a query without it would sum every device's calls.
    pub fn write_on<W: Write + ?Sized>(
        self,
        w: &mut W,
        function: &str,
        module: &str,
        device: Option<&str>,
    ) -> fmt::Result {
        fill(self.template(), function, module, device, &mut Pieces(|s: &str| w.write_str(s)))
    }

    /// Writes a link to a Prometheus graph of the query (`base` like `http://localhost:9090`).
    pub fn write_link<W: Write + ?Sized>(
        self,
        w: &mut W,
        base: &str,
        function: &str,
        module: &str,
    ) -> fmt::Result {
        self.write_link_on(w, base, function, module, None)
    }

    /// Like [`Query::write_link`], for one `device` (see [`Query::write_on`]).
    pub fn write_link_on<W: Write + ?Sized>(
        self,
        w: &mut W,
        base: &str,
        function: &str,
        module: &str,
        device: Option<&str>,
    ) -> fmt::Result {
        write!(w, "{}/graph?g0.expr=", base.trim_end_matches('/'))?;
        fill(self.template(), function, module, device, &mut Pieces(|s: &str| write_url_encoded(w, s)))?;
        w.write_str("&g0.tab=0")
    }
}

/// A `fmt::Write` that hands each piece to a function (the query's text, or its URL encoding).
struct Pieces<F>(F);

impl<F: FnMut(&str) -> fmt::Result> Write for Pieces<F> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        (self.0)(s)
    }
}

/// The template with `$F` and `$M` replaced by the escaped names; with a `device`, every module
/// matcher (`module="$M"`, `caller_module="$M"`) is followed by `device="…"`.
fn fill<W: Write>(
    template: &str,
    function: &str,
    module: &str,
    device: Option<&str>,
    out: &mut W,
) -> fmt::Result {
    let mut rest = template;
    while let Some(i) = rest.find('$') {
        out.write_str(&rest[..i])?;
        if rest[i + 1..].starts_with('F') {
            write_promql_string(out, function)?;
        } else {
            write_promql_string(out, module)?;
            if let Some(device) = device {
                // `$M` sits between the quotes of a module matcher: close it, add the device's.
                out.write_str(r#"",device=""#)?;
                write_promql_string(out, device)?;
            }
        }
        rest = &rest[i + 2..];
    }
    out.write_str(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_escaped_as_promql_strings_and_a_device_is_selected() {
        let mut q = heapless::String::<512>::new();
        Query::RequestRate.write(&mut q, r#"f"} or vector(1) or x{a=""#, "m\\n").unwrap();
        assert_eq!(
            q,
            r#"sum by (function, module) (rate(function_calls_total{function="f\"} or vector(1) or x{a=\"",module="m\\n"}[5m]))"#
        );
        q.clear();
        Query::Callees.write_on(&mut q, "f", "m", Some("dev\"1")).unwrap();
        assert!(q.contains(r#"{caller_function="f",caller_module="m",device="dev\"1"}"#), "{q}");
        q.clear();
        Query::ErrorRatio.write_on(&mut q, "f", "m", Some("d")).unwrap();
        assert_eq!(q.matches(r#"module="m",device="d""#).count(), 2, "{q}");
        q.clear();
        Query::RequestRate.write_link_on(&mut q, "http://p", "f", "m", Some("d")).unwrap();
        assert!(q.contains("module%3D%22m%22%2Cdevice%3D%22d%22"), "{q}");
    }

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
