//! The deterministic claims of the benchmark suite, asserted (timings never are): allocation
//! counts, and callgrind instruction counts per call. Run in release mode by `scripts/test.sh`.

use picometrics_benches::alloc_counter::{allocations_on_this_thread as allocations, CountingAllocator};
use picometrics_benches::render_cases::{self, many};
use picometrics_benches::{cases, init_peers, run_case, run_nested};
use std::process::Command;

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator;

/// The allocation count is process-wide: the tests here never run at the same time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn picometrics_allocates_nothing_per_call_or_render_and_peers_are_counted() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    init_peers();
    many::call_all();
    let functions = render_cases::descriptors(1_000);
    let mut out = String::with_capacity(4 << 20);
    render_cases::picometrics(&mut out, &functions);
    run_nested(10);

    let mut counts = Vec::new();
    for (name, case) in cases() {
        run_case(case, 10);
        let before = allocations();
        run_case(case, 1_000);
        counts.push((name, allocations() - before));
    }
    let before = allocations();
    run_nested(1_000);
    let nested = allocations() - before;
    let before = allocations();
    render_cases::picometrics(&mut out, &functions);
    let render = allocations() - before;
    // The exporter's renders, once warm: none changed, every one changed (its two buffers,
    // the last render and the next, each filled once).
    let mut buffer = picometrics_exporter::MetricsBuffer::new();
    let changing = render_cases::Changing::new(&functions);
    render_cases::run_render(&mut buffer, &changing, false, 1);
    let before = allocations();
    render_cases::run_render(&mut buffer, &changing, false, 10);
    let exporter = allocations() - before;
    render_cases::run_render(&mut buffer, &changing, true, 2);
    let before = allocations();
    render_cases::run_render(&mut buffer, &changing, true, 10);
    let exporter = exporter + allocations() - before;

    for (name, n) in &counts {
        if name.starts_with("picometrics") || name.starts_with("floor") {
            assert_eq!(*n, 0, "{name} allocated");
        }
    }
    assert_eq!(nested, 0);
    assert_eq!(render, 0, "render of 1 000 functions allocated");
    assert_eq!(exporter, 0, "the exporter's render of 1 000 functions allocated");
    // The counter works: the `metrics` peer allocates on every call (its label vector).
    let metrics = counts.iter().find(|(n, _)| *n == "metrics").unwrap().1;
    assert!(metrics >= 1_000, "metrics allocated {metrics} times in 1 000 calls");
}

/// Instructions per call of a case under callgrind (only the measured loop is counted).
fn instructions(case: &str) -> f64 {
    const ITERS: u64 = 5_000;
    let toggle = if case == picometrics_benches::NESTED {
        "--toggle-collect=*run_nested*"
    } else if case == picometrics_benches::decode_case::NAME {
        "--toggle-collect=*run_decode*"
    } else if render_cases::EXPORTER_CASES.contains(&case) {
        "--toggle-collect=*run_render*"
    } else {
        "--toggle-collect=*run_case*"
    };
    let out = Command::new("valgrind")
        .args(["--tool=callgrind", "--callgrind-out-file=/dev/null", toggle])
        .arg(env!("CARGO_BIN_EXE_callgrind_case"))
        .args([case, &ITERS.to_string()])
        .output()
        .expect("valgrind (scripts/test.sh installs it)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let collected: f64 = stderr
        .lines()
        .find_map(|l| l.split("Collected :").nth(1))
        .unwrap_or_else(|| panic!("no callgrind total in {stderr}"))
        .trim()
        .parse()
        .unwrap();
    collected / ITERS as f64
}

/// The tests' turn (they never run at the same time), in a release build only: instruction
/// counts of a debug build say nothing.
fn release_only() -> Option<std::sync::MutexGuard<'static, ()>> {
    if cfg!(debug_assertions) {
        eprintln!("instruction counts are only meaningful in release builds: run with --release");
        return None;
    }
    Some(SERIAL.lock().unwrap_or_else(|e| e.into_inner()))
}

#[test]
fn instruction_counts_per_call() {
    let Some(_serial) = release_only() else { return };
    let overhead = |case: &str| instructions(case) - instructions(picometrics_benches::baseline(case));
    let floor = overhead("floor/tsc");
    let plain = overhead("picometrics/plain");
    let err = overhead("picometrics/err");
    let handles = overhead("prometheus/handles");
    let client = overhead("prometheus-client/family");
    eprintln!("instructions over an empty call: floor {floor}, picometrics {plain} (err {err}), prometheus handles {handles}, prometheus-client {client}");
    // The goal of issue #17 (≤ 64 over an empty call) in every case the report lists; the
    // measured values are in benches/REPORT.md (59–62 when this bound was set; nested takes the
    // caller-edge path). `err` is measured over `empty/err`, the same wrapper uninstrumented.
    for case in
        ["picometrics/plain", "picometrics/err", "picometrics/objective", "picometrics/track_concurrency"]
    {
        let n = overhead(case);
        assert!(n <= 64.0, "{case}: {n} instructions per call over an empty call");
    }
    let nested = overhead(picometrics_benches::NESTED);
    assert!(nested <= 64.0, "nested: {nested} instructions per call over an empty call");
    assert!(plain <= 4.0 * floor, "picometrics {plain} vs floor {floor}");
    assert!(err <= plain + 10.0, "the error path costs {err} vs {plain}");
    assert!(plain < handles && plain < client, "a peer needs fewer instructions than picometrics");
}

/// A bridge's cost per frame of a dump, its decoding (wire version 6, in place): serde's derived
/// visitors moved the ~1.5 KB function record whole at every return on its way out, a third of
/// a bridge's instructions per dump. Measured: 6,243 instructions a frame then, 3,526 decoded in
/// place (COBS a block at a time too); the bound fails a return to the moves.
#[test]
fn instructions_per_decoded_frame() {
    let Some(_serial) = release_only() else { return };
    let n = instructions(picometrics_benches::decode_case::NAME);
    eprintln!("instructions per decoded function frame: {n}");
    assert!(n <= 4_200.0, "{n} instructions to decode a function frame");
}

/// The exporter's render, per function: none changed since the last render (each function's
/// values read and compared, its lines left where they are) and every one changed (formatted by
/// the one writer, then put in place).
#[test]
fn instructions_per_exporter_render() {
    let Some(_serial) = release_only() else { return };
    let per_function = |case| instructions(case) / render_cases::CALLGRIND_FUNCTIONS as f64;
    let [unchanged, changed] = render_cases::EXPORTER_CASES.map(per_function);
    eprintln!("instructions per function and render: {unchanged} none changed, {changed} all changed");
    // Measured: 1,072 and 7,448 (the one writer alone: ~6,800 a function).
    const UNCHANGED: f64 = 1_250.0;
    const CHANGED: f64 = 8_500.0;
    assert!(unchanged <= UNCHANGED, "{unchanged} instructions per unchanged function");
    assert!(changed <= CHANGED, "{changed} instructions per changed function");
}
