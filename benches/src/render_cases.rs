//! The render cases: the same series (for N functions: `function_calls_total` ok/error and a
//! 14-bucket `function_calls_duration_seconds`) rendered by picometrics, copied as plain bytes,
//! and encoded by each peer.

use picometrics::FunctionDescriptor;
use std::fmt::Write;

/// The 1 000 generated instrumented functions (`handler_0000` …).
pub mod many {
    include!(concat!(env!("OUT_DIR"), "/many_functions.rs"));
}

/// Function counts the render bench uses.
pub const SIZES: [usize; 3] = [10, 100, 1_000];

/// The first `n` generated functions' descriptors.
pub fn descriptors(n: usize) -> Vec<&'static FunctionDescriptor> {
    let module = concat!(module_path!(), "::many");
    let mut found: Vec<_> = picometrics::functions()
        .iter()
        .filter(|f| f.module == module && f.name.starts_with("handler_"))
        .collect();
    found.sort_by_key(|f| f.name);
    assert_eq!(found.len(), many::NAMES.len(), "every generated function is registered");
    found.truncate(n);
    found
}

/// picometrics' renderer for these functions.
pub fn picometrics(out: &mut String, functions: &[&'static FunctionDescriptor]) {
    out.clear();
    picometrics::render::render_functions(out, functions.iter().copied()).unwrap();
}

/// picometrics' renderer for these functions, in OpenMetrics.
pub fn picometrics_openmetrics(out: &mut String, functions: &[&'static FunctionDescriptor]) {
    out.clear();
    let registry = picometrics::registry::Registry::of(functions.iter().copied());
    picometrics::render::write(out, &registry, picometrics::render::Format::OpenMetrics).unwrap();
}

/// The floor: `write!` of the already-rendered bytes into the same buffer.
pub fn copy(out: &mut String, rendered: &str) {
    out.clear();
    write!(out, "{rendered}").unwrap();
}

/// The floor of any writer that hands its output over line by line: the already-rendered
/// lines, each `write_str`-ed into the same buffer.
pub fn copy_lines(out: &mut String, lines: &[&str]) {
    out.clear();
    for line in lines {
        out.write_str(line).unwrap();
    }
}

/// `prometheus`: a registry with the same series, and its `TextEncoder`.
pub struct PrometheusPeer {
    registry: prometheus::Registry,
}

impl PrometheusPeer {
    /// Registers the series of `n` functions with the recorded values.
    pub fn new(n: usize) -> Self {
        let crate::prometheus_case::Metrics { registry, calls, duration } =
            crate::prometheus_case::Metrics::new();
        for name in &many::NAMES[..n] {
            calls.with_label_values(&[*name, "many", "ok"]).inc_by(11);
            calls.with_label_values(&[*name, "many", "error"]).inc_by(1);
            for _ in 0..12 {
                duration.with_label_values(&[*name, "many"]).observe(0.000_000_1);
            }
        }
        Self { registry }
    }

    /// Encodes everything as text.
    pub fn encode(&self, out: &mut Vec<u8>) {
        use prometheus::Encoder;
        out.clear();
        prometheus::TextEncoder::new().encode(&self.registry.gather(), out).unwrap();
    }
}

/// `prometheus-client`: the same series in a `Registry`, and its text encoder.
pub struct PrometheusClientPeer {
    registry: prometheus_client::registry::Registry,
}

impl PrometheusClientPeer {
    /// Registers the series of `n` functions with the recorded values.
    pub fn new(n: usize) -> Self {
        use crate::prometheus_client_case::{CallLabels, FunctionLabels, Metrics};
        let Metrics { registry, calls, duration } = Metrics::new();
        for name in &many::NAMES[..n] {
            calls.get_or_create(&CallLabels { function: name, module: "many", result: "ok" }).inc_by(11);
            calls.get_or_create(&CallLabels { function: name, module: "many", result: "error" }).inc_by(1);
            for _ in 0..12 {
                duration
                    .get_or_create(&FunctionLabels { function: name, module: "many" })
                    .observe(0.000_000_1);
            }
        }
        Self { registry }
    }

    /// Encodes everything as text.
    pub fn encode(&self, out: &mut String) {
        out.clear();
        prometheus_client::encoding::text::encode(out, &self.registry).unwrap();
    }
}

/// `metrics-exporter-prometheus`: a recorder (not installed globally) with the same series.
pub struct MetricsPeer {
    handle: metrics_exporter_prometheus::PrometheusHandle,
}

impl MetricsPeer {
    /// Records the series of `n` functions into a fresh recorder.
    pub fn new(n: usize) -> Self {
        use metrics::Recorder;
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new()
            .set_buckets(&picometrics::buckets::DEFAULT.map(|b| b as f64 / 1e9))
            .unwrap()
            .build_recorder();
        let handle = recorder.handle();
        let meta = metrics::Metadata::new(module_path!(), metrics::Level::INFO, None);
        for name in &many::NAMES[..n] {
            for (result, count) in [("ok", 11), ("error", 1)] {
                let labels = vec![
                    metrics::Label::new("function", *name),
                    metrics::Label::new("module", "many"),
                    metrics::Label::new("result", result),
                ];
                recorder
                    .register_counter(&metrics::Key::from_parts("function_calls_total", labels), &meta)
                    .increment(count);
            }
            let labels = vec![metrics::Label::new("function", *name), metrics::Label::new("module", "many")];
            let h = recorder.register_histogram(
                &metrics::Key::from_parts("function_calls_duration_seconds", labels),
                &meta,
            );
            for _ in 0..12 {
                h.record(0.000_000_1);
            }
        }
        Self { handle }
    }

    /// Renders everything as text.
    pub fn encode(&self) -> String {
        self.handle.render()
    }
}
