//! The generated PromQL: query templates and titles, the Prometheus they link to, and the one
//! URL encoder of those links.

/// The Prometheus the generated links point at when `PROMETHEUS_URL` is not set.
pub const DEFAULT_PROMETHEUS_URL: &str = "http://localhost:9090";

/// One generated PromQL query: `$F` stands for the function label, `$M` for the module label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueryTemplate {
    /// The field of `picometrics::Queries` that holds it.
    pub field: &'static str,
    /// A short human title.
    pub title: &'static str,
    /// The PromQL, with `$F` and `$M` placeholders.
    pub template: &'static str,
}

/// Every generated query, in the order the rustdoc lists them. The `*_by_version` ones join
/// `build_info` (on the target and the device, if any) so a regression shows which version
/// and commit brought it.
pub const QUERIES: [QueryTemplate; 9] = [
    QueryTemplate {
        field: "request_rate",
        title: "Request rate",
        template: r#"sum by (function, module) (rate(function_calls_total{function="$F",module="$M"}[5m]))"#,
    },
    QueryTemplate {
        field: "error_ratio",
        title: "Error ratio",
        template: concat!(
            r#"sum by (function, module) (rate(function_calls_total{function="$F",module="$M",result="error"}[5m]))"#,
            r#" / sum by (function, module) (rate(function_calls_total{function="$F",module="$M"}[5m]))"#
        ),
    },
    QueryTemplate {
        field: "latency_p95",
        title: "Latency (95th percentile)",
        template: r#"histogram_quantile(0.95, sum by (le, function, module) (rate(function_calls_duration_seconds_bucket{function="$F",module="$M"}[5m])))"#,
    },
    QueryTemplate {
        field: "latency_p99",
        title: "Latency (99th percentile)",
        template: r#"histogram_quantile(0.99, sum by (le, function, module) (rate(function_calls_duration_seconds_bucket{function="$F",module="$M"}[5m])))"#,
    },
    QueryTemplate {
        field: "concurrent_calls",
        title: "Concurrent calls",
        template: r#"sum by (function, module) (function_calls_concurrent{function="$F",module="$M"})"#,
    },
    QueryTemplate {
        field: "callees",
        title: "Functions called by this one",
        template: r#"sum by (function, module) (rate(function_calls_total{caller_function="$F",caller_module="$M"}[5m]))"#,
    },
    QueryTemplate {
        field: "request_rate_by_version",
        title: "Request rate by version and commit",
        template: concat!(
            r#"sum by (function, module, version, commit) (rate(function_calls_total{function="$F",module="$M"}[5m])"#,
            r#" * on (instance, job, device) group_left (version, commit) build_info)"#
        ),
    },
    QueryTemplate {
        field: "error_ratio_by_version",
        title: "Error ratio by version and commit",
        template: concat!(
            r#"sum by (function, module, version, commit) (rate(function_calls_total{function="$F",module="$M",result="error"}[5m])"#,
            r#" * on (instance, job, device) group_left (version, commit) build_info)"#,
            r#" / sum by (function, module, version, commit) (rate(function_calls_total{function="$F",module="$M"}[5m])"#,
            r#" * on (instance, job, device) group_left (version, commit) build_info)"#
        ),
    },
    QueryTemplate {
        field: "latency_p95_by_version",
        title: "Latency (95th percentile) by version and commit",
        template: concat!(
            r#"histogram_quantile(0.95, sum by (le, function, module, version, commit) (rate(function_calls_duration_seconds_bucket{function="$F",module="$M"}[5m])"#,
            r#" * on (instance, job, device) group_left (version, commit) build_info))"#
        ),
    },
];

/// Percent-encodes `s` for a URL's query component, the one encoder of the generated
/// Prometheus links (the attribute's rustdoc links at compile time, `Query::write_url` at run
/// time): all but unreserved characters and `:` (legal in a query component, and left as is so
/// `module_path!()` can be spliced into links at compile time).
pub fn write_url_encoded<W: core::fmt::Write + ?Sized>(w: &mut W, s: &str) -> core::fmt::Result {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b':') {
            w.write_char(char::from(b))?;
        } else {
            w.write_char('%')?;
            w.write_char(char::from(HEX[usize::from(b >> 4)]))?;
            w.write_char(char::from(HEX[usize::from(b & 15)]))?;
        }
    }
    Ok(())
}

/// Writes `s` as the contents of a PromQL double-quoted string, the one PromQL escaper of the
/// generated queries (the attribute's rustdoc, `Query::write`, the explorer, the alert rules):
/// `\` → `\\`, `"` → `\"`, newline → `\n`, carriage return → `\r`, tab → `\t`. A name a device
/// sends (`f"} or vector(1) or x{a="`) stays one label value.
pub fn write_promql_string<W: core::fmt::Write + ?Sized>(w: &mut W, s: &str) -> core::fmt::Result {
    let mut rest = s;
    while let Some(i) = rest.find(['\\', '"', '\n', '\r', '\t']) {
        w.write_str(&rest[..i])?;
        w.write_str(match rest.as_bytes()[i] {
            b'\\' => "\\\\",
            b'"' => "\\\"",
            b'\n' => "\\n",
            b'\r' => "\\r",
            _ => "\\t",
        })?;
        rest = &rest[i + 1..];
    }
    w.write_str(rest)
}
