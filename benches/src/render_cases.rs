//! The render cases: the same series (for N functions: `function_calls_total` ok/error and a
//! 14-bucket `function_calls_duration_seconds`) rendered by picometrics, copied as plain bytes,
//! and encoded by each peer.

use picometrics::model::{Build, Format, FunctionSeries, Source};
use picometrics::registry::Registry;
use picometrics::FunctionDescriptor;
use picometrics_exporter::MetricsBuffer;
use std::cell::Cell;
use std::fmt::{self, Write};

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

/// The exporter's render (`MetricsBuffer`, which keeps each function's lines between scrapes)
/// of these functions, when none changed since its previous render.
pub fn exporter(
    buffer: &mut MetricsBuffer,
    functions: &[&'static FunctionDescriptor],
    format: Format,
) -> usize {
    buffer.render_source(&Registry::of(functions.iter().copied()), format).len()
}

/// The exporter's render of these functions when every one of them changed since its previous
/// render: each render shows every duration sum a nanosecond longer.
pub fn exporter_changed(buffer: &mut MetricsBuffer, changing: &Changing<'_>, format: Format) -> usize {
    changing.generation.set(changing.generation.get() + 1);
    buffer.render_source(changing, format).len()
}

/// The chosen functions, with every sum shifted by a count that [`exporter_changed`] raises
/// before each render: a source whose every function changes between two scrapes.
pub struct Changing<'f> {
    functions: &'f [&'static FunctionDescriptor],
    generation: Cell<u64>,
}

impl<'f> Changing<'f> {
    /// These functions, changing on every render.
    pub fn new(functions: &'f [&'static FunctionDescriptor]) -> Self {
        Self { functions, generation: Cell::new(0) }
    }
}

impl Source for Changing<'_> {
    fn functions(&self, each: &mut dyn FnMut(&FunctionSeries<'_>) -> fmt::Result) -> fmt::Result {
        let shift = self.generation.get();
        Registry::of(self.functions.iter().copied())
            .functions(&mut |s| each(&FunctionSeries { sum_nanos: s.sum_nanos + shift, ..*s }))
    }

    fn builds(&self, _: &mut dyn FnMut(&Build<'_>) -> fmt::Result) -> fmt::Result {
        Ok(())
    }
}

/// The callgrind cases (`callgrind_case`): the exporter's render of [`CALLGRIND_FUNCTIONS`]
/// functions when none changed since its last render, and when every one did.
pub const EXPORTER_CASES: [&str; 2] = ["render/exporter", "render/exporter-changed"];

/// How many functions the callgrind render cases render.
pub const CALLGRIND_FUNCTIONS: usize = 100;

/// Renders `iters` times for callgrind (`--toggle-collect=*run_render*`), after a render
/// that filled `buffer`; the total length, so nothing is optimised away.
#[inline(never)]
pub fn run_render(buffer: &mut MetricsBuffer, changing: &Changing<'_>, changed: bool, iters: u64) -> usize {
    let mut total = 0;
    for _ in 0..iters {
        total += if changed {
            exporter_changed(buffer, changing, Format::Prometheus)
        } else {
            exporter(buffer, changing.functions, Format::Prometheus)
        };
    }
    total
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
