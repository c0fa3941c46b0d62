//! Renders the 1,000 generated functions `iters` times, for profiling (`perf`, callgrind).
//!
//! Usage: `render_profile <iters> [writer|exporter|changed]`: the one writer alone (the
//! default), the exporter's `MetricsBuffer` when nothing changed between renders, or when
//! every function did.

use picometrics::model::Format;
use picometrics_benches::render_cases::{self, Changing};
use picometrics_exporter::MetricsBuffer;

fn main() {
    let mut args = std::env::args().skip(1);
    let iters: u64 = args.next().map_or(100, |n| n.parse().expect("a number"));
    let case = args.next().unwrap_or_else(|| "writer".to_owned());
    render_cases::many::call_all();
    let functions = render_cases::descriptors(1_000);
    let mut out = String::with_capacity(4 << 20);
    let mut buffer = MetricsBuffer::new();
    let changing = Changing::new(&functions);
    for _ in 0..iters {
        match case.as_str() {
            "writer" => render_cases::picometrics(&mut out, &functions),
            "exporter" => {
                render_cases::exporter(&mut buffer, &functions, Format::Prometheus);
            }
            "changed" => {
                render_cases::exporter_changed(&mut buffer, &changing, Format::Prometheus);
            }
            other => panic!("unknown case {other}"),
        }
    }
    std::hint::black_box(buffer);
    std::hint::black_box(out);
}
