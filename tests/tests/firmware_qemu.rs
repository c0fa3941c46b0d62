//! The firmware in `embedded-example/`, built for each core and run in QEMU:
//! thumbv7em (Cortex-M4F) and thumbv7m (Cortex-M3) on lm3s6965evb, whose flash is ROM, and
//! thumbv6m (Cortex-M0, no atomic read-modify-write: critical sections) on the micro:bit.
//! The registry must have been placed in FLASH by `picometrics.x`, and every dump channel —
//! Prometheus text over semihosting, postcard/COBS frames on the UART, defmt frames decoded by
//! `defmt-print` — must carry exactly the counts the firmware's loop implies.

use picometrics_test_support::text as common;

use common::{all, check_histograms, parse, value, Sample};
use object::{Object, ObjectSection};
use picometrics::frame::{self, FunctionRecord, Message};
use picometrics_integration_tests::firmware;

const M: &str = "picometrics_embedded_example";

/// Every core, and the two the issue names first.
const TARGETS: [&str; 3] = ["thumbv7em-none-eabihf", "thumbv6m-none-eabi", "thumbv7m-none-eabi"];
const DEFAULT: &[&str] = &["text", "frames"];

/// The firmware's loop: `sample(i)` for i in 0..50 in two rounds of 25; `validate` fails when
/// the scrambled reading is a multiple of 5. Returns (calls, errors) of the first `n` calls.
fn expected(n: u32) -> (u64, u64) {
    let errors = (0..n).filter(|i| (i.wrapping_mul(2_654_435_761) >> 8) % 100 % 5 == 0).count();
    (u64::from(n), errors as u64)
}

/// lm3s6965evb and micro:bit flash (both 256 KiB at 0), as in `embedded-example/memory-*.x`.
const FLASH: std::ops::Range<u64> = 0..256 * 1024;

#[test]
fn registry_is_linked_into_flash_after_rodata() {
    for target in TARGETS {
        let elf = std::fs::read(firmware::build(target, DEFAULT)).unwrap();
        let file = object::File::parse(&*elf).unwrap();
        let section = |name: &str| {
            let s = file.section_by_name(name).unwrap_or_else(|| panic!("{target}: no section {name}"));
            (s.address(), s.size())
        };
        let (registry, size) = section("linkme_PICOMETRICS_FUNCTIONS");
        let (rodata, rodata_size) = section(".rodata");
        let (vectors, vectors_size) = section(".vector_table");
        assert!(
            FLASH.contains(&registry) && FLASH.contains(&(registry + size - 1)),
            "{target}: registry at {registry:#x}"
        );
        assert!(registry >= rodata + rodata_size, "{target}: registry {registry:#x} not after .rodata");
        assert!(registry >= vectors + vectors_size, "{target}: registry overlaps the vector table");
        // Three instrumented functions, one descriptor each.
        let descriptor = size / 3;
        assert_eq!(size, 3 * descriptor);
        assert!(descriptor > 0 && descriptor <= 64, "descriptor of {descriptor} bytes");
    }
}

/// The text dump's counts are exactly the loop's.
fn check_text(target: &str, samples: &[Sample]) {
    let (calls, errors) = expected(50);
    let ok = calls - errors;
    let c = |f: &str, caller: &str, result: &str| {
        value(
            samples,
            "function_calls_total",
            &[("function", f), ("module", M), ("caller_function", caller), ("result", result)],
        )
    };
    assert_eq!((c("sample", "", "ok"), c("sample", "", "error")), (ok as f64, errors as f64), "{target}");
    assert_eq!((c("validate", "sample", "ok"), c("validate", "sample", "error")), (ok as f64, errors as f64));
    assert_eq!(
        (c("validate", "", "ok"), c("never_called", "", "ok"), c("never_called", "", "error")),
        (0.0, 0.0, 0.0)
    );

    assert_eq!(check_histograms(samples), 3);
    let h = |metric: &str, f: &str| value(samples, metric, &[("function", f)]);
    assert_eq!(h("function_calls_duration_seconds_count", "sample"), calls as f64);
    assert_eq!(h("function_calls_duration_seconds_count", "validate"), calls as f64);
    assert_eq!(h("function_calls_duration_seconds_count", "never_called"), 0.0);
    // Durations add up even though each call takes well under a microsecond, and the caller's
    // time includes its callee's.
    let (sample_sum, validate_sum) = (
        h("function_calls_duration_seconds_sum", "sample"),
        h("function_calls_duration_seconds_sum", "validate"),
    );
    assert!(validate_sum > 0.0 && sample_sum > validate_sum, "{target}: sums {sample_sum} {validate_sum}");
    assert_eq!(h("function_calls_duration_seconds_sum", "never_called"), 0.0);
    // The latency objective's labels made it through the 32-bit build.
    let b =
        all(samples, "function_calls_duration_seconds_bucket", &[("function", "sample"), ("le", "0.005")]);
    assert_eq!(b[0].label("objective_latency_threshold"), Some("0.005"));
    assert_eq!(b[0].value, calls as f64, "every call is far below 5 ms");

    let info = all(samples, "build_info", &[]);
    assert_eq!(info.len(), 1);
    assert_eq!(info[0].label("service_name"), Some("picometrics-embedded-example"));
}

/// Splits a UART capture into decoded messages; every frame must decode.
fn decode_all(uart: &mut [u8]) -> Vec<Message<'_>> {
    uart.split_mut(|&b| b == 0)
        .filter(|f| !f.is_empty())
        .map(|f| frame::decode(f).expect("a frame from QEMU's UART did not decode"))
        .collect()
}

/// The UART carries two dumps, one per round, each Begin / 3 functions / End, and each
/// with the counts of the calls made so far; the last one equals the text dump.
fn check_frames(target: &str, mut uart: Vec<u8>, samples: &[Sample]) {
    let messages = decode_all(&mut uart);
    assert_eq!(messages.len(), 2 * 5, "{target}: {messages:#?}");
    for (round, dump) in messages.chunks(5).enumerate() {
        let Message::Begin(begin) = &dump[0] else { panic!("{target}: no Begin: {dump:?}") };
        let device = if target.starts_with("thumbv6m") { "microbit" } else { "lm3s6965evb" };
        assert_eq!((begin.device, begin.seq), (device, round as u32));
        assert_eq!(begin.build.service_name, "picometrics-embedded-example");
        assert_eq!(dump[4], Message::End { seq: round as u32, functions: 3, metrics: 0 });
        let function = |name: &str| -> &FunctionRecord<'_> {
            dump.iter()
                .find_map(|m| match m {
                    Message::Function(f) if f.function == name => Some(f),
                    _ => None,
                })
                .unwrap_or_else(|| panic!("{target}: no frame for {name}"))
        };
        let (calls, errors) = expected(25 * (round as u32 + 1));
        let s = function("sample");
        assert_eq!((s.root.ok, s.root.error), (calls - errors, errors), "{target} round {round}");
        assert_eq!(s.counts.iter().sum::<u64>(), calls);
        assert_eq!(s.objective.unwrap().latency, Some((5_000_000, "99")));
        let v = function("validate");
        assert_eq!(v.callers.len(), 1);
        assert_eq!(
            (v.callers[0].function, v.callers[0].calls.ok, v.callers[0].calls.error),
            ("sample", calls - errors, errors)
        );
        assert_eq!(function("never_called").counts.iter().sum::<u64>(), 0);
        if round == 1 {
            for f in [s, v] {
                let text_sum =
                    value(samples, "function_calls_duration_seconds_sum", &[("function", f.function)]);
                assert!((text_sum - f.sum_nanos as f64 / 1e9).abs() < 1e-12, "{target}: {} sum", f.function);
            }
        }
    }
}

#[test]
fn text_and_frames_are_exact_on_every_core() {
    for target in TARGETS {
        let elf = firmware::build(target, DEFAULT);
        let run = firmware::run(target, &elf);
        let text = String::from_utf8(run.stdout).unwrap();
        let [calls, errors, ..] = firmware::summary(&text);
        assert_eq!((calls, errors), expected(50), "{target}");
        let samples = parse(&text);
        check_text(target, &samples);
        check_frames(target, run.uart, &samples);
    }
}

/// The user metrics after the first `n` calls of the loop (`user::record`): the counter counts
/// calls, the gauge is minus the errors, the histogram observes `i % 100`, bounds 10, 25, 40.
/// Returns (counter, gauge, per-bucket counts, sum).
fn expected_user(n: u32) -> (u64, i64, [u64; 4], u64) {
    let (calls, errors) = expected(n);
    let mut buckets = [0; 4];
    for i in 0..n {
        buckets[[10, 25, 40].iter().position(|&b| i % 100 <= b).unwrap_or(3)] += 1;
    }
    (calls, -(errors as i64), buckets, (0..n).map(|i| u64::from(i % 100)).sum())
}

/// User metrics (`#[picometrics::metric]`) on the Cortex-M4F and the Cortex-M0 (no CAS: the
/// counters and the gauge go through critical sections): exact in the text dump (the label's
/// quotes escaped), in both frame dumps (one per round), and through `defmt-print`.
#[test]
fn user_metrics_are_exact_in_text_frames_and_defmt() {
    use picometrics::frame::ValueRecord;
    for target in ["thumbv7em-none-eabihf", "thumbv6m-none-eabi"] {
        let elf = firmware::build(target, &["text", "frames", "user-metrics"]);
        let run = firmware::run(target, &elf);
        let text = String::from_utf8(run.stdout).unwrap();
        let samples = parse(&text);
        let (count, gauge, buckets, sum) = expected_user(50);
        assert_eq!(
            value(&samples, "samples_read_total", &[("sensor", "temp \"A\"")]),
            count as f64,
            "{target}"
        );
        assert!(text.contains("samples_read_total{sensor=\"temp \\\"A\\\"\"} 50\n"), "{target}: {text}");
        assert!(text.contains("# HELP samples_read_total Samples read, by sensor.\n"), "{target}");
        assert_eq!(value(&samples, "sensor_balance", &[]), gauge as f64, "{target}");
        let mut cumulative = 0;
        for (le, n) in ["10", "25", "40", "+Inf"].into_iter().zip(buckets) {
            cumulative += n;
            assert_eq!(
                value(&samples, "reading_value_bucket", &[("le", le)]),
                cumulative as f64,
                "{target} le={le}"
            );
        }
        assert_eq!(value(&samples, "reading_value_sum", &[]), sum as f64);
        assert_eq!(value(&samples, "reading_value_count", &[]), 50.0);
        // The text still passes promtool with them.
        let (ok, report) = picometrics_integration_tests::promtool_check(&text);
        assert!(ok && report.trim().is_empty(), "{target}: {report}");

        let mut uart = run.uart;
        let messages = decode_all(&mut uart);
        assert_eq!(messages.len(), 2 * 8, "{target}: Begin, 3 functions, 3 metrics, End, twice");
        for (round, dump) in messages.chunks(8).enumerate() {
            assert_eq!(dump[7], Message::End { seq: round as u32, functions: 3, metrics: 3 }, "{target}");
            let (count, gauge, buckets, sum) = expected_user(25 * (round as u32 + 1));
            let record = |name: &str| {
                dump.iter()
                    .find_map(|m| match m {
                        Message::Metric(r) if r.name == name => Some(r),
                        _ => None,
                    })
                    .unwrap_or_else(|| panic!("{target}: no {name}"))
            };
            let counter = record("samples_read_total");
            assert_eq!(
                (counter.value.clone(), &counter.labels[..]),
                (ValueRecord::Counter(count), &[("sensor", "temp \"A\"")][..])
            );
            assert_eq!(record("sensor_balance").value, ValueRecord::Gauge(gauge), "{target} round {round}");
            let ValueRecord::Histogram { bounds, counts, sum: got } = &record("reading_value").value else {
                panic!()
            };
            assert_eq!(
                (&bounds[..], &counts[..], *got),
                (&[10, 25, 40][..], &buckets[..], sum),
                "{target} round {round}"
            );
        }

        let elf = firmware::build(target, &["defmt", "user-metrics"]);
        let run = firmware::run(target, &elf);
        let text = firmware::decode_defmt(&elf, &run.stdout);
        let line = |name: &str| {
            let start = format!("MetricSeries {{ extra: None, name: \"{name}\"");
            text.lines()
                .find(|l| l.starts_with(&start))
                .unwrap_or_else(|| panic!("{target}: no {name}: {text}"))
        };
        assert!(line("samples_read_total").contains("value: Counter(50)"), "{target}: {text}");
        assert!(line("sensor_balance").contains(&format!("value: Gauge({gauge})")), "{target}: {text}");
        let h = line("reading_value");
        let want =
            format!("counts: [{}, {}, {}, {}], sum: {sum}", buckets[0], buckets[1], buckets[2], buckets[3]);
        assert!(h.contains(&want), "{target}: {h}");
    }
}

/// Feature `persist`: the firmware runs its loop, dumps, marks a software reset and resets
/// through SYSRESETREQ mid-run; QEMU reboots it with RAM intact, `persist::boot` validates and
/// keeps the counts, and the second boot's loop counts on top of them. On the Cortex-M4F and
/// the Cortex-M0: the text dump at the end holds both boots' calls with the caller edge intact,
/// boot count 2 and one software reset; the four frame dumps count on across the reset; and
/// the bridge, fed that UART, sees the restart (dump number down) but no counter go down.
#[test]
fn counts_survive_a_system_reset() {
    use picometrics_bridge::{Committed, Devices, FrameReader};
    for target in ["thumbv7em-none-eabihf", "thumbv6m-none-eabi"] {
        let elf = firmware::build(target, &["text", "frames", "persist"]);
        let run = firmware::run(target, &elf);
        let text = String::from_utf8(run.stdout).unwrap();
        assert!(text.contains("# boot 1: restored false"), "{target}: {text}");
        assert!(text.contains("# boot 2: restored true, reason software\n"), "{target}: {text}");
        let samples = parse(&text);
        let (calls, errors) = expected(50);
        let c = |f: &str, caller: &str, result: &str| {
            value(
                &samples,
                "function_calls_total",
                &[("function", f), ("caller_function", caller), ("result", result)],
            )
        };
        assert_eq!(
            (c("sample", "", "ok"), c("sample", "", "error")),
            (2.0 * (calls - errors) as f64, 2.0 * errors as f64),
            "{target}"
        );
        assert_eq!(
            c("validate", "sample", "error"),
            2.0 * errors as f64,
            "{target}: the caller edge survived"
        );
        assert_eq!(
            value(&samples, "function_calls_duration_seconds_count", &[("function", "sample")]),
            2.0 * calls as f64
        );
        assert_eq!(value(&samples, "picometrics_boots_total", &[]), 2.0, "{target}");
        assert_eq!(value(&samples, "picometrics_resets_total", &[("reason", "software")]), 1.0, "{target}");
        let resets: f64 = all(&samples, "picometrics_resets_total", &[]).iter().map(|s| s.value).sum();
        assert_eq!(resets, 2.0, "{target}: one reason per boot");

        let mut uart = run.uart.clone();
        let messages = decode_all(&mut uart);
        let sample_counts: Vec<(u32, u64)> = messages
            .iter()
            .scan(0, |seq, m| {
                Some(match m {
                    Message::Begin(b) => {
                        *seq = b.seq;
                        None
                    }
                    Message::Function(f) if f.function == "sample" => Some((*seq, f.counts.iter().sum())),
                    _ => None,
                })
            })
            .flatten()
            .collect();
        assert_eq!(
            sample_counts,
            [(0, 25), (1, 50), (0, 75), (1, 100)],
            "{target}: counts go on across the reset"
        );

        let devices = Devices::new();
        let mut committed = Vec::new();
        devices.feed(&mut FrameReader::new(), &run.uart, |outcome| {
            committed.push(outcome.expect("every dump is whole"))
        });
        assert!(
            matches!(committed[2], Committed::Restarted { previous_seq: 1, seq: 0, .. }),
            "{committed:?}"
        );
        let served = parse(&devices.render_to_string());
        let device = if target.starts_with("thumbv6m") { "microbit" } else { "lm3s6965evb" };
        assert_eq!(value(&served, "picometrics_boots_total", &[("device", device)]), 2.0);
        let count = value(
            &served,
            "function_calls_duration_seconds_count",
            &[("device", device), ("function", "sample")],
        );
        assert_eq!(count, 2.0 * calls as f64, "{target}: the bridge serves the counts that went on");
    }
}

/// Pulls `key: <number>` out of a decoded defmt line.
fn field(line: &str, key: &str) -> u64 {
    let rest = &line[line.find(key).unwrap_or_else(|| panic!("no {key} in {line}")) + key.len()..];
    rest.split(|c: char| !c.is_ascii_digit()).find(|s| !s.is_empty()).unwrap().parse().unwrap()
}

#[test]
fn defmt_dump_decodes_with_defmt_print() {
    for target in ["thumbv7em-none-eabihf", "thumbv6m-none-eabi"] {
        let elf = firmware::build(target, &["defmt"]);
        let run = firmware::run(target, &elf);
        let text = firmware::decode_defmt(&elf, &run.stdout);
        let (calls, errors) = expected(50);
        assert_eq!(&firmware::summary(&text)[..2], &[calls, errors], "{target}: {text}");
        let line = |name: &str| {
            let start = format!("FunctionSeries {{ extra: None, function: \"{name}\", module: \"{M}\"");
            text.lines()
                .find(|l| l.starts_with(&start))
                .unwrap_or_else(|| panic!("{target}: no {name}: {text}"))
        };
        let sample = line("sample");
        assert_eq!(
            (field(sample, "root: Totals { ok: "), field(sample, "error: ")),
            (calls - errors, errors)
        );
        assert_eq!(field(sample, "counts: ["), calls, "{target}: every call in the first bucket");
        assert!(field(sample, "sum_nanos: ") > 0);
        let validate = line("validate");
        let edge =
            &validate[validate.find("Caller { function: \"sample\"").expect("validate's caller edge")..];
        assert_eq!((field(edge, "ok: "), field(edge, "error: ")), (calls - errors, errors));
        assert_eq!(field(line("never_called"), "root: Totals { ok: "), 0);
        assert!(text.contains("BuildInfo { version: \"0.1.0\""), "{text}");
        assert!(run.uart.is_empty(), "no frames were asked for");
    }
}

#[test]
fn embassy_time_clock_times_the_same_calls() {
    let target = "thumbv7em-none-eabihf";
    let elf = firmware::build(target, &["text", "embassy"]);
    let text = String::from_utf8(firmware::run(target, &elf).stdout).unwrap();
    check_text(target, &parse(&text));
}

/// What each dump channel adds to the firmware's flash on thumbv7em, bounded a little above
/// what was measured when the bounds were set (text 15.2 KB — 21.2 KB before its `str` slicing
/// stopped linking the panic message's formatting and its 64-bit decimals the 64-bit division
/// routine —, frames 10.3 KB: 9.3 KB in wire version 5, whose dumps were 75 % larger), so a
/// regression fails.
/// The goals of issue #27 (text ≤ 12 KB, frames ≤ 5 KB) are not met: see SIZE.md.
#[test]
fn dump_channels_flash_is_bounded() {
    use picometrics_integration_tests::size;
    let target = "thumbv7em-none-eabihf";
    let none = size::build(target, &[]);
    let (text, _) = size::build(target, &["text"]) - none;
    let (frames, _) = size::build(target, &["frames"]) - none;
    eprintln!("flash added: text {text} B, frames {frames} B");
    assert!(text > 1_000 && frames > 1_000, "implausible: text {text} B, frames {frames} B");
    assert!(text <= 15_800, "the text channel adds {text} B of flash");
    assert!(frames <= 10_700, "the frames channel adds {frames} B of flash");
}

/// The targets at the default 14 buckets on thumbv7em: ≤ 128 B of RAM and ≤ 300 B of
/// flash per instrumented function (`scripts/size.sh` writes the full report).
#[test]
fn one_instrumented_function_costs_at_most_128_b_ram_and_300_b_flash() {
    let (flash, ram) = picometrics_integration_tests::size::per_function("thumbv7em-none-eabihf");
    assert!(ram <= 128.0, "{ram} B of RAM per function");
    // The target is 300 B; 170 B when the call site landed (issue #27: 146 B before it, the
    // trade is in SIZE.md), so a regression of the hot path's code fails here.
    assert!(flash <= 180.0, "{flash} B of flash per function (170 B when this bound was set)");
    // `track_max`, averaged over eight functions that use it: its counter fits the slot's
    // alignment padding on thumbv7em (0 B RAM); the flash is mostly a second instance of the
    // slot's generic reader, shared by every `track_max` function, plus each one's update.
    let (max_flash, max_ram) = picometrics_integration_tests::size::per_track_max("thumbv7em-none-eabihf");
    assert!(max_ram <= 8.0 && max_flash <= 200.0, "track_max costs {max_flash} B flash, {max_ram} B RAM");
    assert!(
        ram >= 100.0 && flash >= 50.0,
        "implausibly small ({flash} B, {ram} B): is it still instrumented?"
    );
    // User metrics: a counter is its 4-byte counter in RAM and about 80 B of flash; the
    // firmware's three, with the rendering and framing code that only a program with user
    // metrics links (about 4.7 KB), stay under 6 KiB.
    let ((three_flash, three_ram), (counter_flash, counter_ram)) =
        picometrics_integration_tests::size::user_metrics("thumbv7em-none-eabihf");
    assert!(
        counter_ram == 4.0 && counter_flash <= 96.0,
        "a counter: {counter_flash} B flash, {counter_ram} B RAM"
    );
    // The bounds rose with issue #27 although every build shrank: the text channel stopped
    // linking the panic formatting and the 64-bit division that the user-metric writer used to
    // share with it for free (the user-metrics build lost 0.5 KB, its difference grew 1.4 KB).
    assert!(
        three_ram <= 64 && three_flash <= 6_600,
        "three metrics: {three_flash} B flash, {three_ram} B RAM"
    );
    assert!(counter_flash >= 32.0, "implausibly small: is the counter still registered?");
    // `persist`: boot-time validation and the core's eight counters, with the user-metric
    // writer they bring (about 4.7 KB of the flash).
    let (persist_flash, persist_ram) = picometrics_integration_tests::size::persist("thumbv7em-none-eabihf");
    assert!(
        persist_ram <= 64 && persist_flash <= 8_000,
        "persist: {persist_flash} B flash, {persist_ram} B RAM"
    );
}

/// Instructions per call in QEMU's instruction-count time: deterministic, so a bound catches a
/// regression of the hot path on the Cortex-M4F (the size report prints the figures; the goal
/// of ≤ 40 beyond the clock reads is not met yet: 63.4 measured with the static call site,
/// 50.5 with `inline-calls`).
#[test]
fn instructions_per_call_on_the_cortex_m4f() {
    let (instr, reads) = picometrics_integration_tests::size::instructions("thumbv7em-none-eabihf", &[]);
    assert!(reads > 20.0 && instr > reads, "implausible: {instr} instructions, {reads} in clock reads");
    assert!(instr - reads <= 67.0, "{instr} instructions per call, {reads} of them clock reads");
    // The call path inlined (`inline-calls`): 50.5 beyond the reads when this bound was set.
    let (inline, inline_reads) =
        picometrics_integration_tests::size::instructions("thumbv7em-none-eabihf", &["inline-calls"]);
    eprintln!(
        "beyond the clock reads: {:.1} out of line, {:.1} inline",
        instr - reads,
        inline - inline_reads
    );
    assert!(
        inline - inline_reads <= 54.0,
        "inline-calls: {inline} instructions per call, {inline_reads} of them clock reads"
    );
    // The cheapest clock (`clock!(HZ, u32: DWT::cycle_count())`): 66.3 in total when set.
    let (dwt, dwt_reads) =
        picometrics_integration_tests::size::instructions("thumbv7em-none-eabihf", &["dwt-clock"]);
    assert!(dwt_reads < 15.0, "{dwt_reads} instructions for two cycle-counter reads: is it still one load?");
    assert!(dwt <= 69.0, "DWT clock: {dwt} instructions per call in total, {dwt_reads} of them clock reads");
}

/// `track_max` on the firmware: `flush` busy-waits 1 ms (12,000 SysTick ticks) on every tenth
/// call and returns at once otherwise; under QEMU's instruction-count clock the reported worst
/// case is that path — 1 ms plus the few instructions around the wait — on the Cortex-M4F (64-bit
/// sums, CAS) and the Cortex-M0 (no CAS: the maximum is kept in a critical section), in the
/// text dump and in the frames alike.
#[test]
fn worst_case_latency_is_the_slow_path() {
    for target in ["thumbv7em-none-eabihf", "thumbv6m-none-eabi"] {
        let elf = firmware::build(target, &["text", "frames", "worst-case"]);
        let run = firmware::run(target, &elf);
        let text = String::from_utf8(run.stdout).unwrap();
        let samples = parse(&text);
        let worst = value(&samples, "function_calls_duration_max_seconds", &[("function", "flush")]);
        assert!((0.001..0.001_05).contains(&worst), "{target}: worst case {worst} s, not the 1 ms path");
        assert!(
            !samples
                .iter()
                .any(|s| s.name == "function_calls_duration_max_seconds"
                    && s.label("function") != Some("flush")),
            "{target}: only flush tracks its maximum"
        );
        // Nine calls in ten are fast: the histogram puts them far below the worst case.
        let fast = value(
            &samples,
            "function_calls_duration_seconds_bucket",
            &[("function", "flush"), ("le", "0.005")],
        );
        assert_eq!(fast, 50.0, "{target}");
        let mut uart = run.uart;
        let messages = decode_all(&mut uart);
        let last = messages
            .iter()
            .rev()
            .find_map(|m| match m {
                Message::Function(f) if f.function == "flush" => Some(f),
                _ => None,
            })
            .expect("flush in the frames");
        assert_eq!(last.max_nanos.map(|n| n as f64 / 1e9), Some(worst), "{target}: frames and text agree");
        eprintln!("{target}: flush's worst case {worst} s");
    }
}

/// Periodic dumps with no dump call in the application: `picometrics::periodic::Every` in a
/// superloop (`periodic`) and `picometrics::periodic::dump_every` on embassy-time's Ticker in an
/// embassy-executor task beside a task that does the work (`embassy-periodic`). Each firmware
/// dumps three times on its own, one per 2 ms of uptime, each dump with its number and uptime —
/// in the text (two gauges) and in the frames' Begin (the same nanoseconds) — and the counts
/// growing from one dump to the next; on the Cortex-M4F and the Cortex-M0.
#[test]
fn periodic_dumps_come_on_their_own_with_number_and_uptime() {
    let variants = ["periodic", "embassy-periodic"]
        .into_iter()
        .flat_map(|v| ["thumbv7em-none-eabihf", "thumbv6m-none-eabi"].map(|t| (t, v)));
    for (triple, variant) in variants {
        let elf = firmware::build(triple, &["text", "frames", variant]);
        let run = firmware::run(triple, &elf);
        let target = &*format!("{triple} ({variant})");
        let text = String::from_utf8(run.stdout).unwrap();
        let samples = parse(&text);
        let of =
            |name: &str| -> Vec<f64> { samples.iter().filter(|s| s.name == name).map(|s| s.value).collect() };
        assert_eq!(of("picometrics_dump_number"), [0.0, 1.0, 2.0], "{target}");
        let uptimes = of("picometrics_uptime_seconds");
        assert_eq!(uptimes.len(), 3, "{target}");
        for (i, uptime) in uptimes.iter().enumerate() {
            let due = 0.002 * (i + 1) as f64;
            assert!((due..due + 0.0005).contains(uptime), "{target}: dump {i} at {uptime} s, due at {due} s");
        }
        let counts: Vec<f64> = samples
            .iter()
            .filter(|s| {
                s.name == "function_calls_duration_seconds_count" && s.label("function") == Some("sample")
            })
            .map(|s| s.value)
            .collect();
        assert!(counts.len() == 3 && counts.windows(2).all(|w| w[0] < w[1]), "{target}: {counts:?}");
        let mut uart = run.uart;
        let begins: Vec<(u32, u64)> = decode_all(&mut uart)
            .into_iter()
            .filter_map(|m| match m {
                Message::Begin(b) => Some((b.seq, b.uptime_nanos)),
                _ => None,
            })
            .collect();
        assert_eq!(begins.iter().map(|b| b.0).collect::<Vec<_>>(), [0, 1, 2], "{target}");
        for ((_, nanos), seconds) in begins.iter().zip(&uptimes) {
            assert_eq!(*nanos as f64 / 1e9, *seconds, "{target}: frames and text carry the same uptime");
        }
    }
}

/// The nRF52840-DK build (no QEMU model of that board exists, so it is checked as linked):
/// vectors and the registry in the board's 1 MiB of flash, the initial stack at the top of
/// its 256 KiB of RAM, the RTT control block in RAM and defmt's strings present for probe-rs,
/// and no semihosting anywhere (a board without a debugger would fault on it).
#[test]
fn nrf52840_dk_build_is_linked_for_the_board() {
    use object::{Object, ObjectSection, ObjectSymbol};
    let elf = firmware::build("thumbv7em-none-eabihf", &["nrf52840"]).with_file_name("nrf52840-dk");
    let data = std::fs::read(&elf).unwrap_or_else(|e| panic!("{}: {e}", elf.display()));
    let file = object::File::parse(&*data).unwrap();
    let (flash, ram) = (0..1024 * 1024u64, 0x2000_0000..0x2000_0000 + 256 * 1024u64);
    let vectors = file.section_by_name(".vector_table").expect("vectors");
    assert_eq!(vectors.address(), 0);
    let words = vectors.data().unwrap();
    let initial_sp = u32::from_le_bytes(words[0..4].try_into().unwrap());
    let reset = u64::from(u32::from_le_bytes(words[4..8].try_into().unwrap()));
    assert_eq!(initial_sp, 0x2004_0000, "the stack starts at the top of RAM");
    assert!(flash.contains(&reset), "reset handler at {reset:#x}");
    let registry = file.section_by_name("linkme_PICOMETRICS_FUNCTIONS").expect("the registry");
    assert!(flash.contains(&registry.address()) && registry.size() > 0);
    assert!(file.section_by_name(".defmt").is_some(), "defmt's strings, for probe-rs");
    let rtt = file.symbols().find(|s| s.name() == Ok("_SEGGER_RTT")).expect("the RTT control block");
    assert!(ram.contains(&rtt.address()), "RTT block at {:#x}", rtt.address());
    assert!(
        !file.symbols().any(|s| s.name().is_ok_and(|n| n.contains("semihosting"))),
        "no semihosting on a real board"
    );
}

/// A whole dump in instructions (QEMU's instruction-count time), each channel into a sink that
/// only counts: the render and the encoding alone. Bounded so a slower writer fails; the size
/// report prints the figures.
#[test]
fn instructions_per_dump_on_the_cortex_m4f() {
    const TEXT_BOUND: u64 = 100_000;
    const FRAMES_BOUND: u64 = 30_000;
    let ((text, text_bytes), (frames, frame_bytes)) =
        picometrics_integration_tests::size::dump_instructions("thumbv7em-none-eabihf");
    eprintln!("text: {text} instructions for {text_bytes} bytes; frames: {frames} for {frame_bytes}");
    assert!(
        text_bytes > 1_000 && frame_bytes > 100,
        "implausible dumps: {text_bytes} and {frame_bytes} bytes"
    );
    // At least an instruction per byte written; the upper bounds are ~1.25× what was measured
    // when they were set (text 77.4 k; 110.7 k before issue #17 — frames 23.8 k for 404 bytes
    // in wire version 6; 34.6 k for 708 bytes in version 5, 45.0 k with postcard's CRC and COBS
    // flavors before issue #27).
    assert!(text >= text_bytes && frames >= frame_bytes, "implausible: text {text}, frames {frames}");
    assert!(
        text <= TEXT_BOUND && frames <= FRAMES_BOUND,
        "text {text}, frames {frames} instructions per dump"
    );
}

/// The firmware README's first command, exactly as written there: `cargo run --release` in
/// `embedded-example/` builds the QEMU firmware (not the nRF52840-DK binary: `default-run`)
/// and runs it, printing its text dump.
#[test]
fn the_readme_command_runs_the_firmware() {
    let readme = std::fs::read_to_string(firmware::dir().join("README.md")).unwrap();
    assert!(readme.contains("\ncargo run --release "), "the README still shows the command");
    let output = firmware::cargo(&["run", "--release", "--quiet"]).output().expect("cargo run");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}\n{stdout}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("# firmware: 50 calls, 10 errors"), "{stdout}");
    assert!(stdout.contains("function_calls_total{function=\"validate\""), "{stdout}");
}
