//! Rendering 10, 100 and 1 000 functions: picometrics, a plain copy of the same bytes, and the
//! peers' encoders on the same series.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use picometrics::model::Format;
use picometrics_benches::render_cases::{
    self, many, Changing, MetricsPeer, PrometheusClientPeer, PrometheusPeer, SIZES,
};
use picometrics_exporter::MetricsBuffer;
use std::time::Duration;

fn render(c: &mut Criterion) {
    many::call_all();
    let mut group = c.benchmark_group("render");
    for n in SIZES {
        let functions = render_cases::descriptors(n);
        let mut out = String::with_capacity(4 << 20);
        render_cases::picometrics(&mut out, &functions);
        let rendered = out.clone();
        group.throughput(Throughput::Bytes(rendered.len() as u64));
        group.bench_with_input(BenchmarkId::new("picometrics", n), &n, |b, _| {
            b.iter(|| render_cases::picometrics(&mut out, &functions))
        });
        group.bench_with_input(BenchmarkId::new("copy", n), &n, |b, _| {
            b.iter(|| render_cases::copy(&mut out, &rendered))
        });
        let mut openmetrics = String::with_capacity(4 << 20);
        render_cases::picometrics_openmetrics(&mut openmetrics, &functions);
        group.bench_with_input(BenchmarkId::new("picometrics-openmetrics", n), &n, |b, _| {
            b.iter(|| render_cases::picometrics_openmetrics(&mut out, &functions))
        });
        group.bench_with_input(BenchmarkId::new("copy-openmetrics", n), &n, |b, _| {
            b.iter(|| render_cases::copy(&mut out, &openmetrics))
        });
        for (case, format) in
            [("exporter", Format::Prometheus), ("exporter-openmetrics", Format::OpenMetrics)]
        {
            let mut buffer = MetricsBuffer::new();
            group.bench_with_input(BenchmarkId::new(case, n), &n, |b, _| {
                b.iter(|| render_cases::exporter(&mut buffer, &functions, format))
            });
            let mut buffer = MetricsBuffer::new();
            let changing = Changing::new(&functions);
            group.bench_with_input(BenchmarkId::new(format!("{case}-changed"), n), &n, |b, _| {
                b.iter(|| render_cases::exporter_changed(&mut buffer, &changing, format))
            });
        }
        let lines: Vec<&str> = rendered.split_inclusive('\n').collect();
        group.bench_with_input(BenchmarkId::new("copy_lines", n), &n, |b, _| {
            b.iter(|| render_cases::copy_lines(&mut out, &lines))
        });
        let prometheus = PrometheusPeer::new(n);
        let mut bytes = Vec::with_capacity(4 << 20);
        group.bench_with_input(BenchmarkId::new("prometheus", n), &n, |b, _| {
            b.iter(|| prometheus.encode(&mut bytes))
        });
        let client = PrometheusClientPeer::new(n);
        group.bench_with_input(BenchmarkId::new("prometheus-client", n), &n, |b, _| {
            b.iter(|| client.encode(&mut out))
        });
        let metrics = MetricsPeer::new(n);
        group.bench_with_input(BenchmarkId::new("metrics", n), &n, |b, _| b.iter(|| metrics.encode()));
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2)).sample_size(20);
    targets = render
}
criterion_main!(benches);
