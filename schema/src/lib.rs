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

mod checks;
mod queries;

pub use checks::{
    check_bounds, check_metric, check_metric_help, check_metric_label, check_metric_labels,
    check_metric_name, families_collide, same_text, BoundsError,
};
pub use queries::{write_promql_string, write_url_encoded, QueryTemplate, DEFAULT_PROMETHEUS_URL, QUERIES};

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
/// The suffix OpenMetrics gives a counter's or histogram's creation time sample; reserved.
pub const CREATED_SUFFIX: &str = "_created";

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

/// Dumps replaced by the device's next one before any push took them: pushed, each device's
/// latest only (resolution lost, never counts). Shown by a bridge that pushes.
pub const BRIDGE_DUMPS_SUPERSEDED: Metric = Metric {
    name: "picometrics_bridge_dumps_superseded_total",
    help: "Complete dumps replaced by the device's next one before a push took them",
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
    fn families_collide_when_their_sample_names_meet() {
        use Kind::*;
        assert!(families_collide("pkt", Histogram, "pkt_count", Gauge));
        assert!(families_collide("pkt_sum", Gauge, "pkt", Histogram));
        assert!(families_collide("pkt_bucket", Counter, "pkt", Histogram), "not a counter name, but still");
        assert!(families_collide("x_total", Counter, "x", Gauge), "OpenMetrics family x");
        assert!(families_collide("x_total", Counter, "x_created", Gauge));
        assert!(families_collide("h", Histogram, "h_created", Gauge));
        assert!(families_collide("q", Gauge, "q", Histogram), "one name, two types");
        assert!(!families_collide("q", Gauge, "q", Gauge), "one family, series by labels");
        assert!(!families_collide("pkt", Histogram, "pkts", Gauge));
        assert!(!families_collide("pkt", Histogram, "pkt_counts", Gauge));
        assert!(!families_collide("a_total", Counter, "b_total", Counter));
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
        assert_eq!(check_metric_name("packets_counted_total", Kind::Counter), Ok(()));
        for (name, kind) in [
            ("", Kind::Gauge),
            ("9lives", Kind::Gauge),
            ("bad-name", Kind::Gauge),
            ("sent", Kind::Counter),
            ("depth_total", Kind::Gauge),
            ("size_count", Kind::Histogram),
            ("pkt_count", Kind::Gauge),
            ("pkt_sum", Kind::Gauge),
            ("pkt_bucket", Kind::Gauge),
            ("started_created", Kind::Gauge),
            ("h_created", Kind::Histogram),
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
