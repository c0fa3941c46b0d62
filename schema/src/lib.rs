//! The picometrics exposition schema, defined once: metric and label names, `# HELP` text,
//! the generated PromQL templates and their titles, and the limits the attribute enforces.
//!
//! Every other crate — the `no_std` core and its writer, the `#[picometrics]` attribute, the
//! `prometheus` collector, the device bridge, the rules generator — takes names from here, so
//! a name changes in one place and no two outputs can disagree. The test command checks that
//! no metric name is spelled as a literal anywhere else.
//!
//! The names follow the autometrics specification, so its dashboards and alert rules work
//! unchanged.
#![no_std]

/// A metric family: its name as sampled in text format 0.0.4, its `# HELP` text and type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Metric {
    /// The name of its samples (`function_calls_total`); histograms add the sample suffixes.
    pub name: &'static str,
    /// The `# HELP` text.
    pub help: &'static str,
    /// The `# TYPE`.
    pub kind: Kind,
}

/// A metric family's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Monotonic; its sample name ends in `_total`.
    Counter,
    /// `_bucket`, `_sum` and `_count` samples.
    Histogram,
    /// Goes up and down.
    Gauge,
}

impl Kind {
    /// The `# TYPE` word.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Counter => "counter",
            Self::Histogram => "histogram",
            Self::Gauge => "gauge",
        }
    }
}

impl Metric {
    /// The family name OpenMetrics 1.0 declares in `# HELP`/`# TYPE`: a counter's without its
    /// `_total` sample suffix, every other one as is.
    pub fn openmetrics_family(&self) -> &'static str {
        match self.kind {
            Kind::Counter => self.name.strip_suffix(TOTAL_SUFFIX).unwrap_or(self.name),
            _ => self.name,
        }
    }
}

/// The suffix of a counter's samples.
pub const TOTAL_SUFFIX: &str = "_total";
/// The suffix of a histogram's bucket samples.
pub const BUCKET_SUFFIX: &str = "_bucket";
/// The suffix of a histogram's sum sample.
pub const SUM_SUFFIX: &str = "_sum";
/// The suffix of a histogram's count sample.
pub const COUNT_SUFFIX: &str = "_count";

/// Calls by function, caller and result.
pub const FUNCTION_CALLS: Metric = Metric {
    name: "function_calls_total",
    help: "Autometrics counter for tracking function calls",
    kind: Kind::Counter,
};

/// Call durations by function, in seconds.
pub const FUNCTION_CALLS_DURATION: Metric = Metric {
    name: "function_calls_duration_seconds",
    help: "Autometrics histogram for tracking function call duration",
    kind: Kind::Histogram,
};

/// Calls in progress, for functions with `track_concurrency`.
pub const FUNCTION_CALLS_CONCURRENT: Metric = Metric {
    name: "function_calls_concurrent",
    help: "Autometrics gauge for tracking function call concurrency",
    kind: Kind::Gauge,
};

/// The longest call since the program started, in seconds, for functions with `track_max`
/// (not part of the autometrics specification: a gauge beside the histogram, whose buckets
/// hide the worst case).
pub const FUNCTION_CALLS_DURATION_MAX: Metric = Metric {
    name: "function_calls_duration_max_seconds",
    help: "Longest function call since the program started, for functions with track_max",
    kind: Kind::Gauge,
};

/// Always 1; its labels describe the build.
pub const BUILD_INFO: Metric = Metric {
    name: "build_info",
    help: "Autometrics info metric for tracking software version and build details",
    kind: Kind::Gauge,
};

/// The device bridge's count of what it skipped, by [`label::REASON`].
pub const BRIDGE_FRAMES_SKIPPED: Metric = Metric {
    name: "picometrics_bridge_frames_skipped_total",
    help: "Frames and bytes from devices the bridge skipped, by reason",
    kind: Kind::Counter,
};

/// 1 while a device's latest dump is recent, 0 once it has gone quiet (by `device`).
pub const BRIDGE_DEVICE_UP: Metric = Metric {
    name: "picometrics_bridge_device_up",
    help: "Whether the device sent a complete dump recently (1) or has gone quiet (0)",
    kind: Kind::Gauge,
};

/// Complete dumps received from a device (by `device`).
pub const BRIDGE_DEVICE_DUMPS: Metric = Metric {
    name: "picometrics_bridge_device_dumps_total",
    help: "Complete dumps the bridge received from the device",
    kind: Kind::Counter,
};

/// When a device's latest complete dump arrived (by `device`).
pub const BRIDGE_DEVICE_LAST_DUMP: Metric = Metric {
    name: "picometrics_bridge_device_last_dump_timestamp_seconds",
    help: "Unix time of the device's latest complete dump",
    kind: Kind::Gauge,
};

/// 1 while the bridge's source is connected and sending, 0 when it is down or silent.
pub const BRIDGE_SOURCE_UP: Metric = Metric {
    name: "picometrics_bridge_source_up",
    help: "Whether the bridge's source (serial port, TCP peer) is connected and sending",
    kind: Kind::Gauge,
};

/// Time since the program or device started, as of the dump or scrape that carries it.
pub const UPTIME: Metric = Metric {
    name: "picometrics_uptime_seconds",
    help: "Time since the program or device started, as of this dump",
    kind: Kind::Gauge,
};

/// The number of a periodic dump: 0 for a device's first since it started.
pub const DUMP_NUMBER: Metric = Metric {
    name: "picometrics_dump_number",
    help: "Dumps the device made since it started before this one (0 for the first)",
    kind: Kind::Gauge,
};

/// Pushes a push exporter delivered, by [`label::EXPORTER`].
pub const PUSH_REQUESTS: Metric = Metric {
    name: "picometrics_push_requests_total",
    help: "Pushes delivered (answered 2xx) by each push exporter",
    kind: Kind::Counter,
};

/// Pushes that failed, by [`label::EXPORTER`] and [`label::REASON`] (`connection`, `timeout`,
/// `server_error` and `throttled` are retried; `rejected` (4xx) is not; `dropped` is a pending
/// push dropped because the queue was full).
pub const PUSH_FAILURES: Metric = Metric {
    name: "picometrics_push_failures_total",
    help: "Push attempts that failed, and pending pushes dropped, by exporter and reason",
    kind: Kind::Counter,
};

/// When a push exporter last delivered, in Unix seconds.
pub const PUSH_LAST_SUCCESS: Metric = Metric {
    name: "picometrics_push_last_success_timestamp_seconds",
    help: "Unix time of the last push each exporter delivered",
    kind: Kind::Gauge,
};

/// Pushes waiting to be delivered.
pub const PUSH_PENDING: Metric = Metric {
    name: "picometrics_push_pending",
    help: "Pushes each exporter holds, waiting to be delivered",
    kind: Kind::Gauge,
};

/// Label names.
pub mod label {
    /// The function's name (`Type::method` for methods).
    pub const FUNCTION: &str = "function";
    /// The function's module path.
    pub const MODULE: &str = "module";
    /// The service the process or device reports as.
    pub const SERVICE_NAME: &str = "service_name";
    /// The instrumented function that made the call; empty from uninstrumented code.
    pub const CALLER_FUNCTION: &str = "caller_function";
    /// The caller's module.
    pub const CALLER_MODULE: &str = "caller_module";
    /// [`super::RESULT_OK`] or [`super::RESULT_ERROR`].
    pub const RESULT: &str = "result";
    /// The objective's name.
    pub const OBJECTIVE_NAME: &str = "objective_name";
    /// The objective's percentile (`99.9`).
    pub const OBJECTIVE_PERCENTILE: &str = "objective_percentile";
    /// A latency objective's threshold in seconds, the same text as its bucket's `le`.
    pub const OBJECTIVE_LATENCY_THRESHOLD: &str = "objective_latency_threshold";
    /// A histogram bucket's upper bound in seconds.
    pub const LE: &str = "le";
    /// The device a bridged series comes from.
    pub const DEVICE: &str = "device";
    /// Why the bridge skipped something, or why a push failed.
    pub const REASON: &str = "reason";
    /// Which push exporter (`remote_write`, `otlp`).
    pub const EXPORTER: &str = "exporter";
    /// `build_info`: the crate version.
    pub const VERSION: &str = "version";
    /// `build_info`: the commit.
    pub const COMMIT: &str = "commit";
    /// `build_info`: the branch.
    pub const BRANCH: &str = "branch";
    /// `build_info`: the repository URL.
    pub const REPOSITORY_URL: &str = "repository_url";
    /// `build_info`: `github`, `gitlab`, `bitbucket` or empty.
    pub const REPOSITORY_PROVIDER: &str = "repository_provider";
    /// `build_info`: [`super::AUTOMETRICS_SPEC_VERSION`].
    pub const AUTOMETRICS_VERSION: &str = "autometrics_version";
}

/// The labels of [`FUNCTION_CALLS`] besides a function's identity labels, in output order.
pub const CALL_LABELS: [&str; 3] = [label::CALLER_FUNCTION, label::CALLER_MODULE, label::RESULT];

/// The identity labels every function series starts with, in output order.
pub const FUNCTION_LABELS: [&str; 3] = [label::FUNCTION, label::MODULE, label::SERVICE_NAME];

/// The labels of [`BUILD_INFO`], in output order.
pub const BUILD_INFO_LABELS: [&str; 7] = [
    label::VERSION,
    label::COMMIT,
    label::BRANCH,
    label::SERVICE_NAME,
    label::REPOSITORY_URL,
    label::REPOSITORY_PROVIDER,
    label::AUTOMETRICS_VERSION,
];

/// `result` of a call that returned normally and was not classified as an error.
pub const RESULT_OK: &str = "ok";
/// `result` of a call that returned an error or panicked.
pub const RESULT_ERROR: &str = "error";

/// `caller_function` of calls from instrumented callers that found every caller edge taken.
pub const OVERFLOW_CALLER: &str = "(overflow)";

/// The `autometrics_version` label: the autometrics specification these names follow.
pub const AUTOMETRICS_SPEC_VERSION: &str = "1.0.0";

/// Caller edges per function when the attribute does not say `callers = N`.
pub const DEFAULT_CALLERS: usize = 3;

/// The largest `callers = N` a function may ask for.
pub const MAX_CALLERS: usize = 16;

/// The most histogram bounds a function may have (plus `+Inf`).
pub const MAX_BOUNDS: usize = 32;

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

/// Boots since a device's persisted counts started (feature `persist`).
pub const BOOTS: Metric = Metric {
    name: "picometrics_boots_total",
    help: "Boots since the persisted counts started (picometrics persist)",
    kind: Kind::Counter,
};

/// Boots by the reset that preceded them (feature `persist`), label `reason`.
pub const RESETS: Metric = Metric {
    name: "picometrics_resets_total",
    help: "Boots by the reason of the reset before them (picometrics persist)",
    kind: Kind::Counter,
};

/// The most constant labels a user metric (`#[picometrics::metric]`) may declare.
pub const MAX_METRIC_LABELS: usize = 8;
/// The longest `# HELP` text of a user metric, in bytes (it travels in every frame).
pub const MAX_METRIC_HELP: usize = 200;
/// The longest user metric name, label name or label value, in bytes.
pub const MAX_METRIC_TEXT: usize = 100;

/// Content type of the Prometheus text format 0.0.4.
pub const CONTENT_TYPE_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Content type of the OpenMetrics 1.0 text format.
pub const CONTENT_TYPE_OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

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

/// What an async call whose future is dropped before it finishes counts as: the attribute's
/// `cancelled = error|ok|skip` argument, defined once for the attribute that parses it and the
/// core that records it. The concurrency gauge is restored in every case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cancelled {
    /// `result="error"`, with the latency until it was dropped (the default: a timeout or a
    /// client that gave up is a failure to whoever waited, and SLO alerts must see it).
    Error,
    /// `result="ok"`, with its latency.
    Ok,
    /// Not counted.
    Skip,
}

impl Cancelled {
    /// Every policy, by its argument's spelling.
    pub const ALL: [(&'static str, Cancelled); 3] =
        [("error", Cancelled::Error), ("ok", Cancelled::Ok), ("skip", Cancelled::Skip)];

    /// Its spelling in `cancelled = …` (and the variant's name in generated code).
    pub const fn name(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Ok => "ok",
            Self::Skip => "skip",
        }
    }
}

/// Why a histogram's bucket bounds are refused (see [`check_bounds`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BoundsError {
    /// No bounds at all.
    Empty,
    /// More than [`MAX_BOUNDS`].
    TooMany,
    /// A duration bound of zero nanoseconds.
    Zero,
    /// A bound not above the one before it.
    NotIncreasing,
}

impl BoundsError {
    /// What is wrong, as the compile-time checks and the bridge say it.
    pub const fn message(self) -> &'static str {
        match self {
            Self::Empty => "picometrics: bucket bounds must not be empty",
            Self::TooMany => "picometrics: more than MAX_BOUNDS (32) bucket bounds",
            Self::Zero => "picometrics: duration bucket bounds must be above zero nanoseconds",
            Self::NotIncreasing => "picometrics: bucket bounds must strictly increase",
        }
    }
}

impl core::fmt::Display for BoundsError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.message())
    }
}

impl core::error::Error for BoundsError {}

/// The one rule for histogram bucket bounds, wherever they come from (the attribute's
/// `buckets`, the bucket generators, a user metric's `Histogram::new`, a device's dump): 1 to
/// [`MAX_BOUNDS`] bounds, strictly increasing. Bounds of a latency histogram (`durations`, in
/// nanoseconds) must also start above zero — a `le="0"` bucket could only count calls that took
/// no time at all — while a value histogram may count zeros (an empty batch, an idle queue).
pub const fn check_bounds(bounds: &[u64], durations: bool) -> Result<(), BoundsError> {
    if bounds.is_empty() {
        return Err(BoundsError::Empty);
    }
    if bounds.len() > MAX_BOUNDS {
        return Err(BoundsError::TooMany);
    }
    if durations && bounds[0] == 0 {
        return Err(BoundsError::Zero);
    }
    let mut i = 1;
    while i < bounds.len() {
        if bounds[i] <= bounds[i - 1] {
            return Err(BoundsError::NotIncreasing);
        }
        i += 1;
    }
    Ok(())
}

/// The naming rules of a whole user metric series: its name for its kind
/// ([`check_metric_name`]), its help ([`check_metric_help`]) and its constant labels
/// ([`check_metric_labels`]). `#[picometrics::metric]` applies it at compile time, the device
/// bridge to each metric a device sends.
pub const fn check_metric(
    name: &str,
    help: &str,
    kind: Kind,
    labels: &[(&str, &str)],
) -> Result<(), &'static str> {
    if let Err(why) = check_metric_name(name, kind) {
        return Err(why);
    }
    if let Err(why) = check_metric_help(help) {
        return Err(why);
    }
    check_metric_labels(labels)
}

/// At most [`MAX_METRIC_LABELS`] constant labels, each valid ([`check_metric_label`]) and no
/// name twice.
pub const fn check_metric_labels(labels: &[(&str, &str)]) -> Result<(), &'static str> {
    if labels.len() > MAX_METRIC_LABELS {
        return Err("at most MAX_METRIC_LABELS (8) labels per metric");
    }
    let mut i = 0;
    while i < labels.len() {
        if let Err(why) = check_metric_label(labels[i].0, labels[i].1) {
            return Err(why);
        }
        let mut j = 0;
        while j < i {
            if same_text(labels[i].0, labels[j].0) {
                return Err("a label name appears twice");
            }
            j += 1;
        }
        i += 1;
    }
    Ok(())
}

/// Why a user metric's name is refused: `#[picometrics::metric]` checks it at compile time
/// (a `const` on the attribute's span), the device bridge when a device sends one.
pub const fn check_metric_name(name: &str, kind: Kind) -> Result<(), &'static str> {
    let b = name.as_bytes();
    if b.is_empty() || b.len() > MAX_METRIC_TEXT {
        return Err("a metric name is 1 to 100 bytes long");
    }
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if !(c.is_ascii_alphabetic() || c == b'_' || c == b':' || (i > 0 && c.is_ascii_digit())) {
            return Err("a metric name matches [a-zA-Z_:][a-zA-Z0-9_:]*");
        }
        i += 1;
    }
    if starts_with(b, b"function_calls")
        || starts_with(b, BUILD_INFO.name.as_bytes())
        || starts_with(b, b"picometrics_")
        || starts_with(b, b"__")
    {
        return Err(
            "names starting with `function_calls`, `build_info`, `picometrics_` or `__` are reserved",
        );
    }
    let total = ends_with(b, TOTAL_SUFFIX.as_bytes());
    match kind {
        Kind::Counter if !total => Err("a counter's name ends in `_total`"),
        Kind::Gauge | Kind::Histogram if total => Err("only a counter's name ends in `_total`"),
        Kind::Histogram
            if ends_with(b, BUCKET_SUFFIX.as_bytes())
                || ends_with(b, SUM_SUFFIX.as_bytes())
                || ends_with(b, COUNT_SUFFIX.as_bytes()) =>
        {
            Err("a histogram's name does not end in `_bucket`, `_sum` or `_count` (its samples do)")
        }
        _ => Ok(()),
    }
}

/// Why a user metric's constant label is refused (see [`check_metric_name`]).
pub const fn check_metric_label(name: &str, value: &str) -> Result<(), &'static str> {
    let b = name.as_bytes();
    if b.is_empty() || b.len() > MAX_METRIC_TEXT || value.len() > MAX_METRIC_TEXT {
        return Err("a label name is 1 to 100 bytes long, its value at most 100");
    }
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if !(c.is_ascii_alphabetic() || c == b'_' || (i > 0 && c.is_ascii_digit())) {
            return Err("a label name matches [a-zA-Z_][a-zA-Z0-9_]*");
        }
        i += 1;
    }
    if starts_with(b, b"__")
        || eq(b, label::LE.as_bytes())
        || eq(b, label::DEVICE.as_bytes())
        || eq(b, b"quantile")
    {
        return Err("`le`, `quantile`, `device` and names starting with `__` are reserved label names");
    }
    Ok(())
}

/// Why a user metric's help text is refused.
pub const fn check_metric_help(help: &str) -> Result<(), &'static str> {
    if help.len() > MAX_METRIC_HELP {
        return Err("a metric's help text is at most 200 bytes");
    }
    Ok(())
}

/// Whether two strings are equal, in a `const` (compile-time checks compare names with it).
pub const fn same_text(a: &str, b: &str) -> bool {
    eq(a.as_bytes(), b.as_bytes())
}

const fn eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && starts_with(a, b)
}

const fn starts_with(s: &[u8], prefix: &[u8]) -> bool {
    if prefix.len() > s.len() {
        return false;
    }
    let mut i = 0;
    while i < prefix.len() {
        if s[i] != prefix[i] {
            return false;
        }
        i += 1;
    }
    true
}

const fn ends_with(s: &[u8], suffix: &[u8]) -> bool {
    if suffix.len() > s.len() {
        return false;
    }
    let mut i = 0;
    while i < suffix.len() {
        if s[s.len() - suffix.len() + i] != suffix[i] {
            return false;
        }
        i += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_bound_rule_zero_only_for_values() {
        assert_eq!(check_bounds(&[1, 2, 3], true), Ok(()));
        assert_eq!(check_bounds(&[0, 2], true), Err(BoundsError::Zero));
        assert_eq!(check_bounds(&[0, 2], false), Ok(()), "a value histogram may count zeros");
        assert_eq!(check_bounds(&[], false), Err(BoundsError::Empty));
        assert_eq!(check_bounds(&[2, 2], false), Err(BoundsError::NotIncreasing));
        assert_eq!(check_bounds(&[0; MAX_BOUNDS + 1], false), Err(BoundsError::TooMany));
    }

    #[test]
    fn a_whole_metric_is_checked_once() {
        assert_eq!(check_metric("queue_depth", "", Kind::Gauge, &[("a", "1"), ("b", "2")]), Ok(()));
        assert!(check_metric("queue_depth", "", Kind::Gauge, &[("a", "1"), ("a", "2")]).is_err());
        assert!(check_metric("queue_depth", "", Kind::Gauge, &[("x", ""); 9]).is_err());
        assert!(check_metric("queue_depth_total", "", Kind::Gauge, &[]).is_err());
    }

    #[test]
    fn openmetrics_counter_family_drops_total() {
        assert_eq!(FUNCTION_CALLS.openmetrics_family(), "function_calls");
        assert_eq!(BRIDGE_FRAMES_SKIPPED.openmetrics_family(), "picometrics_bridge_frames_skipped");
        assert_eq!(FUNCTION_CALLS_DURATION.openmetrics_family(), FUNCTION_CALLS_DURATION.name);
    }

    /// The templates spell metric and label names as literals (`concat!` takes no consts):
    /// they must be the names defined above.
    #[test]
    fn templates_use_the_schema_names() {
        let known = [
            FUNCTION_CALLS.name,
            FUNCTION_CALLS_CONCURRENT.name,
            // Only the bucket samples of the histogram are queried.
            "function_calls_duration_seconds_bucket",
        ];
        for q in QUERIES {
            let mut rest = q.template;
            let mut seen = 0;
            while let Some(i) = rest.find("function_calls") {
                let name_end = rest[i..].find('{').expect("a selector follows the name") + i;
                assert!(known.contains(&&rest[i..name_end]), "{}: {}", q.field, &rest[i..name_end]);
                assert!(
                    "function_calls_duration_seconds_bucket".starts_with(FUNCTION_CALLS_DURATION.name)
                        && "function_calls_duration_seconds_bucket".ends_with(BUCKET_SUFFIX)
                );
                seen += 1;
                rest = &rest[name_end..];
            }
            assert!(seen > 0, "{} names no metric", q.field);
            if q.field.ends_with("_by_version") {
                // The literal spells the schema's names (checked below).
                assert!(q.template.contains(" group_left (version, commit) build_info)"), "{}", q.field);
                assert_eq!(
                    (label::VERSION, label::COMMIT, BUILD_INFO.name),
                    ("version", "commit", "build_info")
                );
            }
            for label in ["$F", "$M"] {
                assert!(q.template.contains(label), "{}: no {label}", q.field);
            }
        }
        assert!(CALL_LABELS.iter().all(|l| QUERIES[5].template.contains(l) || *l == label::RESULT));
    }

    #[test]
    fn user_metric_names_follow_prometheus() {
        assert_eq!(check_metric_name("radio_bytes_sent_total", Kind::Counter), Ok(()));
        assert_eq!(check_metric_name("battery_millivolts", Kind::Gauge), Ok(()));
        assert_eq!(check_metric_name("packet_bytes", Kind::Histogram), Ok(()));
        for (name, kind) in [
            ("", Kind::Gauge),
            ("9lives", Kind::Gauge),
            ("bad-name", Kind::Gauge),
            ("sent", Kind::Counter),
            ("depth_total", Kind::Gauge),
            ("size_count", Kind::Histogram),
            ("function_calls_x", Kind::Gauge),
            ("function_calls_total", Kind::Counter),
            ("build_info", Kind::Gauge),
            ("picometrics_dump_number", Kind::Gauge),
        ] {
            assert!(check_metric_name(name, kind).is_err(), "{name}");
        }
        assert_eq!(check_metric_label("link", "uart \"0\"\n"), Ok(()));
        for name in ["", "le", "device", "__x", "a-b", "1a"] {
            assert!(check_metric_label(name, "v").is_err(), "{name}");
        }
    }
}
