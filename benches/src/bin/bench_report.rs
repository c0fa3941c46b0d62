//! Writes `REPORT.md` and `report.json` from one run: criterion's medians (read from
//! `target/criterion`), allocations per call and per render (counted here), and instructions
//! per call (callgrind on `callgrind_case`). `scripts/bench.sh` runs the benches first.

use picometrics::model::Format;
use picometrics_benches::alloc_counter::{allocations, CountingAllocator};
use picometrics_benches::render_cases::{
    self, many, Changing, MetricsPeer, PrometheusClientPeer, PrometheusPeer,
};
use picometrics_benches::{baseline, cases, init_peers, run_case, run_nested, NESTED, PICO_CLOCK};
use picometrics_exporter::MetricsBuffer;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator;

/// Calls per callgrind run (the loop is the only code counted).
const CALLGRIND_ITERS: u64 = 20_000;

#[derive(Serialize)]
struct CaseRow {
    case: String,
    median_ns: Option<f64>,
    overhead_ns: Option<f64>,
    ratio_to_floor_tsc: Option<f64>,
    ratio_to_floor_instant: Option<f64>,
    /// Against the floor doing the same job (`floor/tsc+gauge` for `track_concurrency`).
    ratio_to_matching_floor: Option<f64>,
    contended_median_ns: Option<f64>,
    contended_ratio_to_floor_tsc: Option<f64>,
    /// Against the 2-thread floor doing the same job (`floor/tsc+gauge` for `track_concurrency`),
    /// measured in alternating rounds of the case and its floor (see [`paired_contention`]).
    contended_ratio_to_matching_floor: Option<f64>,
    allocations_per_call: Option<f64>,
    instructions_per_call: Option<f64>,
    instruction_overhead: Option<f64>,
    instruction_ratio_to_floor_tsc: Option<f64>,
}

#[derive(Serialize)]
struct RenderRow {
    case: String,
    functions: usize,
    median_us: Option<f64>,
    ratio_to_copy: Option<f64>,
    allocations_per_render: Option<f64>,
}

#[derive(Serialize)]
struct Report {
    command: &'static str,
    machine: String,
    per_call: Vec<CaseRow>,
    render: Vec<RenderRow>,
    targets: Vec<(String, bool)>,
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let medians = criterion_medians(&root.join("target/criterion"));
    init_peers();

    let mut names: Vec<String> = cases().iter().map(|(n, _)| n.to_string()).collect();
    names.insert(names.iter().position(|n| n == "picometrics/err").unwrap() + 1, NESTED.to_owned());
    let clocks = ["tsc", "instant"];
    let median = |group: &str, name: &str| -> Option<f64> {
        if name.starts_with("picometrics") {
            None
        } else {
            medians.get(&format!("{group}/{name}")).copied()
        }
    };
    let pico =
        |group: &str, name: &str, clock: &str| medians.get(&format!("{group}/{name} [{clock}]")).copied();

    let empty = median("per_call", "empty").expect("run the per_call bench first");
    // Each case's overhead is over its own uninstrumented baseline (`picometrics_benches::baseline`).
    let empty_of = |name: &str| median("per_call", baseline(name)).unwrap_or(empty);
    let floor_tsc = median("per_call", "floor/tsc").unwrap() - empty;
    let floor_instant = median("per_call", "floor/instant").unwrap() - empty;
    let floor_gauge = median("per_call", "floor/tsc+gauge").unwrap() - empty;
    let c_empty = median("contended_2_threads", "empty");
    let c_floor = median("contended_2_threads", "floor/tsc").zip(c_empty).map(|(f, e)| f - e);

    let instructions: BTreeMap<String, f64> =
        names.iter().filter_map(|n| Some((n.clone(), callgrind(&root, n)?))).collect();
    let i_empty = instructions.get("empty").copied();
    let i_floor = instructions.get("floor/tsc").copied().zip(i_empty).map(|(f, e)| f - e);

    let paired = paired_contention();
    let mut rows = Vec::new();
    for name in &names {
        let allocs = allocations_per_call(name);
        let variants: Vec<(String, Option<f64>, Option<f64>)> = if name.starts_with("picometrics") {
            clocks
                .iter()
                .map(|c| {
                    (format!("{name} [{c}]"), pico("per_call", name, c), pico("contended_2_threads", name, c))
                })
                .collect()
        } else {
            vec![(name.clone(), median("per_call", name), median("contended_2_threads", name))]
        };
        for (case, m, contended) in variants {
            let overhead = m.map(|m| m - empty_of(name));
            // Instructions and allocations are counted in this process, built with the TSC clock.
            let this_build = !case.ends_with("[instant]");
            let i = instructions.get(name).copied().filter(|_| this_build);
            let i_base = instructions.get(baseline(name)).copied().or(i_empty);
            let i_over = i.zip(i_base).map(|(i, e)| i - e);
            rows.push(CaseRow {
                case,
                median_ns: m,
                overhead_ns: overhead,
                ratio_to_floor_tsc: overhead.map(|o| o / floor_tsc),
                ratio_to_floor_instant: overhead.map(|o| o / floor_instant),
                ratio_to_matching_floor: overhead
                    .map(|o| o / if name.contains("track_concurrency") { floor_gauge } else { floor_tsc }),
                contended_median_ns: contended,
                contended_ratio_to_floor_tsc: contended
                    .zip(c_empty)
                    .zip(c_floor)
                    .map(|((c, e), f)| (c - e) / f),
                contended_ratio_to_matching_floor: paired.get(name.as_str()).copied().filter(|_| this_build),
                allocations_per_call: this_build.then_some(allocs),
                instructions_per_call: i,
                instruction_overhead: i_over,
                instruction_ratio_to_floor_tsc: i_over.zip(i_floor).map(|(o, f)| o / f),
            });
        }
    }

    let render = render_rows(&medians);
    let mut targets = targets(&rows, &render);
    // The call with a remote-write pusher running beside it, against the same call without.
    let plain = format!("picometrics/plain [{PICO_CLOCK}]");
    if let (Some(alone), Some(pushed)) =
        (medians.get(&format!("per_call/{plain}")), medians.get(&format!("with_pusher/{plain}")))
    {
        let ratio = (pushed - empty) / (alone - empty);
        targets.push((
            format!(
                "call overhead with a remote-write pusher every 100 ms <= 1.05x without ({:.1} vs {:.1} ns: {ratio:.2}x)",
                pushed - empty,
                alone - empty
            ),
            ratio <= 1.05,
        ));
    }
    let report = Report { command: "scripts/bench.sh", machine: machine(), per_call: rows, render, targets };
    std::fs::write(root.join("report.json"), serde_json::to_string_pretty(&report).unwrap()).unwrap();
    let md = markdown(&report);
    std::fs::write(root.join("REPORT.md"), &md).unwrap();
    print!("{md}");
}

/// `full_id` → median in ns, from every `new/estimates.json` criterion wrote.
fn criterion_medians(dir: &Path) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                if p.file_name().is_some_and(|n| n == "new") {
                    let read = |f: &str| -> Option<serde_json::Value> {
                        serde_json::from_str(&std::fs::read_to_string(p.join(f)).ok()?).ok()
                    };
                    if let (Some(b), Some(e)) = (read("benchmark.json"), read("estimates.json")) {
                        let id = b["full_id"].as_str().unwrap_or_default().to_owned();
                        if let Some(m) = e["median"]["point_estimate"].as_f64() {
                            out.insert(id, m);
                        }
                    }
                } else {
                    stack.push(p);
                }
            }
        }
    }
    out
}

/// Allocations per call over 1 000 warm calls.
fn allocations_per_call(name: &str) -> f64 {
    const CALLS: u64 = 1_000;
    // Resolved before counting: `cases()` itself allocates.
    let case = cases().into_iter().find(|(n, _)| *n == name).map(|(_, c)| c);
    let run = |iters| match case {
        Some(case) => run_case(case, iters),
        None => run_nested(iters),
    };
    run(10);
    let before = allocations();
    std::hint::black_box(run(CALLS));
    (allocations() - before) as f64 / CALLS as f64
}

/// Each picometrics case with two threads calling it, over its same-job floor with two threads
/// (`floor/tsc`, or `floor/tsc+gauge` for `track_concurrency`): the median of per-round ratios
/// over rounds that run the case and its floor back to back. Two threads on this 2-vCPU VM vary
/// by 2× from one run to the next (criterion's two-thread medians of the same code differed by
/// that much within one run); pairing each measurement with its floor a moment apart cancels
/// that drift.
fn paired_contention() -> BTreeMap<String, f64> {
    const ROUNDS: usize = 61;
    const CALLS: u64 = 100_000;
    let case = |name: &str| cases().into_iter().find(|(n, _)| *n == name).map(|(_, c)| c).unwrap();
    // Wall time per call while two threads make `CALLS` calls each.
    let two_threads = |f: fn(u64) -> u64| {
        let barrier = std::sync::Barrier::new(2);
        std::thread::scope(|s| {
            let other = s.spawn(|| {
                barrier.wait();
                run_case(f, CALLS)
            });
            barrier.wait();
            let start = std::time::Instant::now();
            std::hint::black_box(run_case(f, CALLS));
            std::hint::black_box(other.join().unwrap());
            start.elapsed().as_secs_f64() * 1e9 / CALLS as f64
        })
    };
    let empty = case("empty");
    let mut out = BTreeMap::new();
    for name in
        ["picometrics/plain", "picometrics/objective", "picometrics/err", "picometrics/track_concurrency"]
    {
        let floor = case(if name.contains("track_concurrency") { "floor/tsc+gauge" } else { "floor/tsc" });
        let (this, base) = (case(name), case(baseline(name)));
        let mut ratios: Vec<f64> = (0..ROUNDS)
            .map(|_| {
                let (e, f) = (two_threads(empty), two_threads(floor));
                let (b, c) = (two_threads(base), two_threads(this));
                (c - b) / (f - e)
            })
            .collect();
        ratios.sort_by(f64::total_cmp);
        out.insert(name.to_owned(), ratios[ROUNDS / 2]);
    }
    out
}

/// Instructions per call of `name` under callgrind, if valgrind is installed.
fn callgrind(root: &Path, name: &str) -> Option<f64> {
    let bin = root.join("target/release/callgrind_case");
    let toggle = if name == NESTED { "--toggle-collect=*run_nested*" } else { "--toggle-collect=*run_case*" };
    let out = Command::new("valgrind")
        .args(["--tool=callgrind", "--callgrind-out-file=/dev/null", toggle])
        .arg(&bin)
        .args([name, &CALLGRIND_ITERS.to_string()])
        .output()
        .ok()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let collected: f64 = stderr.lines().find_map(|l| l.split("Collected :").nth(1))?.trim().parse().ok()?;
    Some(collected / CALLGRIND_ITERS as f64)
}

fn render_rows(medians: &BTreeMap<String, f64>) -> Vec<RenderRow> {
    many::call_all();
    let mut rows = Vec::new();
    for n in render_cases::SIZES {
        let functions = render_cases::descriptors(n);
        let mut out = String::with_capacity(4 << 20);
        render_cases::picometrics(&mut out, &functions);
        let rendered = out.clone();
        let prometheus = PrometheusPeer::new(n);
        let client = PrometheusClientPeer::new(n);
        let metrics = MetricsPeer::new(n);
        let mut bytes = Vec::with_capacity(4 << 20);
        let (mut buffer, mut buffer_om) = (MetricsBuffer::new(), MetricsBuffer::new());
        let changing = Changing::new(&functions);
        let copy = medians.get(&format!("render/copy/{n}")).copied();
        let copy_openmetrics = medians.get(&format!("render/copy-openmetrics/{n}")).copied();
        // Twice first: the exporter's two buffers (its last render and the next) fill in turn.
        let count = |f: &mut dyn FnMut()| {
            f();
            f();
            let before = allocations();
            for _ in 0..10 {
                f();
            }
            (allocations() - before) as f64 / 10.0
        };
        let allocs = [
            ("picometrics", Some(count(&mut || render_cases::picometrics(&mut out, &functions)))),
            (
                "picometrics-openmetrics",
                Some(count(&mut || render_cases::picometrics_openmetrics(&mut out, &functions))),
            ),
            ("copy", Some(count(&mut || render_cases::copy(&mut out, &rendered)))),
            (
                "exporter",
                Some(count(&mut || {
                    render_cases::exporter(&mut buffer, &functions, Format::Prometheus);
                })),
            ),
            (
                "exporter-openmetrics",
                Some(count(&mut || {
                    render_cases::exporter(&mut buffer_om, &functions, Format::OpenMetrics);
                })),
            ),
            (
                "exporter-changed",
                Some(count(&mut || {
                    render_cases::exporter_changed(&mut buffer, &changing, Format::Prometheus);
                })),
            ),
            (
                "exporter-openmetrics-changed",
                Some(count(&mut || {
                    render_cases::exporter_changed(&mut buffer_om, &changing, Format::OpenMetrics);
                })),
            ),
            ("copy-openmetrics", None),
            ("copy_lines", None),
            ("prometheus", Some(count(&mut || prometheus.encode(&mut bytes)))),
            ("prometheus-client", Some(count(&mut || client.encode(&mut out)))),
            ("metrics", Some(count(&mut || drop(metrics.encode())))),
        ];
        for (case, a) in allocs {
            let m = medians.get(&format!("render/{case}/{n}")).map(|ns| ns / 1_000.0);
            rows.push(RenderRow {
                case: case.to_owned(),
                functions: n,
                median_us: m,
                // Each format against a copy of its own bytes.
                ratio_to_copy: m
                    .zip(if case.contains("openmetrics") { copy_openmetrics } else { copy })
                    .map(|(m, c)| m * 1_000.0 / c),
                allocations_per_render: a,
            });
        }
    }
    rows
}

fn targets(rows: &[CaseRow], render: &[RenderRow]) -> Vec<(String, bool)> {
    let get = |c: &str| rows.iter().find(|r| r.case == c);
    let over = |c: &str| get(c).and_then(|r| r.overhead_ns).unwrap_or(f64::NAN);
    let pico_tsc: Vec<&CaseRow> =
        rows.iter().filter(|r| r.case.starts_with("picometrics") && r.case.ends_with("[tsc]")).collect();
    let worst = pico_tsc.iter().filter_map(|r| r.overhead_ns).fold(0.0, f64::max);
    let worst_ratio = pico_tsc.iter().filter_map(|r| r.ratio_to_floor_tsc).fold(0.0, f64::max);
    let worst_matching = pico_tsc.iter().filter_map(|r| r.ratio_to_matching_floor).fold(0.0, f64::max);
    let mut t = vec![
        (format!("picometrics overhead <= 1.3x the raw-TSC floor in every case (worst {worst_ratio:.2}x)"), worst_ratio <= 1.3),
        (
            format!(
                "picometrics overhead <= 1.3x the raw-TSC floor doing the same job, the gauge's two atomics included for track_concurrency (worst {worst_matching:.2}x)"
            ),
            worst_matching <= 1.3,
        ),
        (
            format!("picometrics >= 10x less overhead than autometrics ({:.1}x)", over("autometrics") / worst),
            over("autometrics") / worst >= 10.0,
        ),
        (
            format!(
                "picometrics >= 3x less overhead than prometheus with_label_values ({:.1}x)",
                over("prometheus/with_label_values") / worst
            ),
            over("prometheus/with_label_values") / worst >= 3.0,
        ),
        (
            "0 allocations per call (picometrics)".to_owned(),
            pico_tsc.iter().all(|r| r.allocations_per_call == Some(0.0)),
        ),
        (
            "0 allocations per render (picometrics, the exporter)".to_owned(),
            render
                .iter()
                .filter(|r| r.case.starts_with("picometrics") || r.case.starts_with("exporter"))
                .all(|r| r.allocations_per_render == Some(0.0)),
        ),
    ];
    // Issue #17's targets, and #27's: the exporter's render (each function's lines kept
    // between scrapes) when nothing changed and when every function changed; the one writer
    // alone, as the bridge and firmware use it.
    for r in render.iter().filter(|r| r.case.starts_with("picometrics") || r.case.starts_with("exporter")) {
        let ratio = r.ratio_to_copy.unwrap_or(f64::NAN);
        let format = if r.case.contains("openmetrics") { "OpenMetrics" } else { "Prometheus text" };
        let what = if r.case.ends_with("changed") {
            "the exporter, every function changed since the last render"
        } else if r.case.starts_with("exporter") {
            "the exporter, nothing changed since the last render"
        } else {
            "the one writer alone, uncached"
        };
        t.push((
            format!(
                "render of {} functions ({format}; {what}) <= 2x a copy of the same bytes ({ratio:.2}x)",
                r.functions
            ),
            ratio <= 2.0,
        ));
    }
    for r in &pico_tsc {
        let (ratio, floor, goal) = if r.case.contains("track_concurrency") {
            (r.ratio_to_matching_floor, "its same-job floor", 1.1)
        } else {
            (r.ratio_to_floor_tsc, "the raw-TSC floor", 1.05)
        };
        let ratio = ratio.unwrap_or(f64::NAN);
        t.push((format!("{} per call <= {goal}x {floor} ({ratio:.2}x)", r.case), ratio <= goal));
    }
    for r in &pico_tsc {
        let n = r.instruction_overhead.unwrap_or(f64::NAN);
        t.push((format!("{}: <= 64 instructions over an empty call ({n:.0})", r.case), n <= 64.0));
    }
    for r in pico_tsc.iter().filter(|r| r.contended_median_ns.is_some()) {
        let ratio = r.contended_ratio_to_matching_floor.unwrap_or(f64::NAN);
        let floor =
            if r.case.contains("track_concurrency") { "2-thread same-job floor" } else { "2-thread floor" };
        t.push((
            format!("{} with 2 threads on one function <= 1.3x the {floor} ({ratio:.2}x)", r.case),
            ratio <= 1.3,
        ));
    }
    t
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_default();
    format!("{cpu}, {} cores", std::thread::available_parallelism().map_or(0, |n| n.get()))
}

fn fmt(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "–".to_owned(), |v| format!("{v:.digits$}"))
}

fn markdown(r: &Report) -> String {
    let mut s = String::new();
    writeln!(s, "# picometrics benchmark report\n").unwrap();
    writeln!(
        s,
        "Generated by `{}` on {}. Medians from criterion; all cases measured in the same run.",
        r.command, r.machine
    )
    .unwrap();
    writeln!(s, "Overhead = median − median of the uninstrumented call (`empty`; for `err`, `empty/err`: the same wrapper around an uninstrumented function returning `Err`). Floors: hand-written instrumentation doing only two clock reads and relaxed atomic adds for count, bucket and sum. `[tsc]`/`[instant]`: the clock picometrics was built with. Instructions: callgrind, per call. Two threads: criterion's medians, and (paired) the median over 61 rounds of the case's overhead over its floor's, measured back to back (two threads on a 2-vCPU VM drift too much between criterion groups).\n").unwrap();
    writeln!(s, "## Per call\n").unwrap();
    writeln!(s, "| case | median ns | overhead ns | × floor (TSC) | × floor (Instant) | × same-job floor | 2 threads: median ns | 2 threads: × floor | 2 threads: × same-job floor (paired) | allocs/call | instr/call | instr overhead | instr × floor (TSC) |").unwrap();
    writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|").unwrap();
    for c in &r.per_call {
        writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            c.case,
            fmt(c.median_ns, 1),
            fmt(c.overhead_ns, 1),
            fmt(c.ratio_to_floor_tsc, 2),
            fmt(c.ratio_to_floor_instant, 2),
            fmt(c.ratio_to_matching_floor, 2),
            fmt(c.contended_median_ns, 1),
            fmt(c.contended_ratio_to_floor_tsc, 2),
            fmt(c.contended_ratio_to_matching_floor, 2),
            fmt(c.allocations_per_call, 3),
            fmt(c.instructions_per_call, 0),
            fmt(c.instruction_overhead, 0),
            fmt(c.instruction_ratio_to_floor_tsc, 2),
        )
        .unwrap();
    }
    writeln!(s, "\n## Render (the same series: calls ok/error and a 14-bucket histogram per function)\n")
        .unwrap();
    writeln!(s, "| case | functions | median µs | × copy | allocs/render |").unwrap();
    writeln!(s, "|---|---:|---:|---:|---:|").unwrap();
    for c in &r.render {
        writeln!(
            s,
            "| {} | {} | {} | {} | {} |",
            c.case,
            c.functions,
            fmt(c.median_us, 1),
            fmt(c.ratio_to_copy, 2),
            fmt(c.allocations_per_render, 1)
        )
        .unwrap();
    }
    writeln!(s, "\n`copy` is `write!` of the already-rendered picometrics text into the same buffer (`copy-openmetrics`: of the OpenMetrics text); `copy_lines` writes the same bytes one `write_str` per line, the floor of any writer that hands over whole lines.\n")
        .unwrap();
    writeln!(s, "## Targets\n").unwrap();
    for (t, ok) in &r.targets {
        writeln!(s, "- {} {t}", if *ok { "MET:" } else { "MISSED:" }).unwrap();
    }
    s
}
