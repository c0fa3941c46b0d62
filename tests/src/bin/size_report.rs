//! Writes `embedded-example/SIZE.md`: the firmware's flash and RAM with and without
//! instrumentation, per instrumented function, per dump channel (static and peak stack, measured
//! in QEMU), on thumbv7em, thumbv6m, riscv32imc and riscv32imac. `scripts/size.sh` runs it.

use picometrics_integration_tests::{firmware, size};
use std::fmt::Write;

const TARGETS: [&str; 4] = [
    "thumbv7em-none-eabihf",
    "thumbv6m-none-eabi",
    "riscv32imc-unknown-none-elf",
    "riscv32imac-unknown-none-elf",
];

/// What the firmware's two clock reads are on a target.
fn clock_reads(target: &str) -> &'static str {
    if target.starts_with("riscv32") {
        "the CLINT's 64-bit `mtime` read as two halves and a re-read of the high one, this firmware's `clock!`"
    } else {
        "SysTick extended to 64 bits in a critical section, this firmware's `clock!`"
    }
}

/// Peak stack (bytes) of a variant's run: the larger of the loop's and the dumps' marks.
fn stack(target: &str, features: &[&str]) -> u64 {
    let elf = firmware::build(target, features);
    let run = firmware::run(target, &elf);
    let text = if features.contains(&"defmt") {
        firmware::decode_defmt(&elf, &run.stdout)
    } else {
        String::from_utf8(run.stdout).unwrap()
    };
    let [.., loop_bytes, dumps] = firmware::summary(&text);
    loop_bytes.max(dumps)
}

/// Where a root call's instructions go on the Cortex-M4F (read from the disassembly of
/// `instructions::instrumented` and `CallSite::finish_call` in the `instructions,text,frames`
/// build, SysTick clock).
const M4F_INSTRUCTIONS: &str = "\n\
Where they go: the instructions a root call landing in the first bucket executes beyond the \
empty function's and the two clock reads, by purpose, read from the disassembly of the default \
build (`instructions::instrumented`, then `CallSite::finish_call` out of line; they add up to a \
few more than the measured figure, whose baseline — two bare clock reads in a function — spends \
a few instructions of its own around the calls):\n\
\n\
| what (Cortex-M4F, default build) | instructions |\n\
|---|---:|\n\
| in the function: caller scope (this function's name and the current-caller cell as `movw`/`movt` pairs, swap in, restore) | 7 |\n\
| in the function: the start tick and the argument kept across the body | 4 |\n\
| in the function: elapsed ticks (64-bit subtract) | 2 |\n\
| in the function: the call site's address, the result flag, the call | 4 |\n\
| `finish_call`: registers saved and restored | 5 |\n\
| the slot and the bounds from the call site | 2 |\n\
| caller: read the current one (cell address, load), root check | 4 |\n\
| a call of 2³² ticks or more? (one branch) | 1 |\n\
| ticks to nanoseconds (12 MHz: 32.32 fixed-point multiply, 64-bit) | 7 |\n\
| result counter: ok or error (3), `ldrex`/`add`/`strex` loop (5) | 8 |\n\
| bucket: first 64-bit compare, bucket address | 7 |\n\
| bucket counter: `ldrex`/`add`/`strex` loop | 5 |\n\
| 64-bit sum: no 64-bit atomics on v7-M, so a critical section (`mrs`, `cpsid`, `ldrd`, add, `strd`, `msr`, `isb`) | 8 |\n\
\n\
Over 40, and why: three atomic read-modify-writes are the floor of any lock-free recorder \
(count, bucket, sum: 21 here), the caller label needs its scope and its read (11), nanosecond \
buckets need the conversion (7), and recording out of line — one copy for every function, which \
keeps the flash per function small — costs the call and its saved registers (9; \
`inline-calls` saves them for 2.7× the flash). The static call site (slot, bounds and options \
behind one address) took 14 off the 77.2 of the guard it replaced. Not done: ticks-based \
buckets (the bounds are shared constants in nanoseconds and only the firmware's `clock!` knows \
the tick rate, so converting them once needs the rate at compile time in the core), and a sum \
without the critical section (two 32-bit halves let a snapshot read a carry half done, off by \
2³² ns; a lock-free 64-bit add needs `ldrexd`, which v7-M does not have).\n";

/// Issue #27's flash goals for the dump channels on the Cortex-M4F, with what the flash is (read
/// from `arm-none-eabi-nm --size-sort` of the builds with and without each channel).
fn channel_verdicts(text: i64, frames: i64, defmt: i64) -> String {
    let verdict = |bytes: i64, goal: i64| if bytes <= goal { "MET" } else { "MISSED" };
    format!(
        "\nThe channels' flash against issue #27's goals (Cortex-M4F): text **+{text} B** \
         (≤ 12 KB — {}), frames **+{frames} B** (≤ 5 KB — {}), defmt **+{defmt} B** (kept as \
         small as the 3.8 KB before: {}). Where it goes, by symbol: of the text channel, the \
         writer itself — the function series with their labels escaped on the way out, the \
         `le` and seconds formatting, the headers, `build_info` — is about 12 KB and the rest \
         this firmware's own (the semihosting loop and the `core::fmt` padding its `hprint!` \
         links, which a firmware with its own output pays anyway); of the frames, the encoder \
         about 3.5 KB, serde's derived serializers with postcard about 1.5 KB, the CRC-32C's \
         256-entry table 1 KB, the UART writer and `core::fmt` the rest. Not done: a frames \
         channel of 5 KB needs an encoder without serde (postcard is the field's crate, and the \
         bridge decodes the same derived types) and a 16-entry CRC table (−0.9 KB, at twice \
         the CRC's instructions per byte — the other goal); a text of 12 KB would have to drop \
         parts of the exposition. The frames' instructions per byte are mostly the snapshot \
         reads and postcard's varints, not the CRC (about 7 a byte) or COBS.",
        verdict(text, 12 * 1024),
        verdict(frames, 5 * 1024),
        verdict(defmt, 3_900),
    )
}

fn main() {
    let mut md = String::from(
        "# Firmware size report\n\n\
         Written by `scripts/size.sh` (`cargo run -p picometrics-integration-tests --bin size-report`)\n\
         from release builds (`opt-level = \"s\"`, LTO) of `embedded-example/`. Flash: code, read-only\n\
         data, the registry, `.data`'s image. Static RAM: `.data` + `.bss`. Stack: the peak measured\n\
         in QEMU by painting the stack (the dump buffers live there).\n",
    );
    for target in TARGETS {
        let base = size::build(target, &["uninstrumented"]);
        let none = size::build(target, &[]);
        let (fn_flash, fn_ram) = size::per_function(target);
        let base_stack = stack(target, &[]);
        writeln!(md, "\n## {target}\n").unwrap();
        writeln!(md, "| build | flash | static RAM | peak stack |").unwrap();
        writeln!(md, "|---|---:|---:|---:|").unwrap();
        writeln!(
            md,
            "| without instrumentation ({} plain functions) | {} | {} | – |",
            size::functions(target),
            base.flash,
            base.ram
        )
        .unwrap();
        writeln!(md, "| instrumented, no dump channel | {} | {} | {base_stack} |", none.flash, none.ram)
            .unwrap();
        let mut channels = vec![("Prometheus text over semihosting (`text`)", vec!["text"])];
        channels.push(("postcard/COBS frames on the UART (`frames`)", vec!["frames"]));
        // defmt-semihosting is a Cortex-M crate.
        if !target.starts_with("riscv32") {
            channels.push(("defmt over semihosting (`defmt`)", vec!["defmt"]));
        }
        let mut added = Vec::new();
        for (name, features) in &channels {
            let s = size::build(target, features);
            let (flash, ram) = s - none;
            let peak = stack(target, features);
            writeln!(md, "| + {name} | {} (+{flash}) | {} (+{ram}) | {peak} |", s.flash, s.ram).unwrap();
            added.push(flash);
        }
        if let [text, frames, defmt] = added[..] {
            if target.starts_with("thumbv7em") {
                writeln!(md, "{}", channel_verdicts(text, frames, defmt)).unwrap();
            }
        }
        writeln!(
            md,
            "\nPer instrumented function (eight more functions, instrumented minus plain, / 8): \
             **{fn_flash:.0} B flash, {fn_ram:.0} B RAM** (targets: ≤ 300 B, ≤ 128 B). \
             The RAM is the function's slot (`FunctionSlot<14, 3>`); of the flash, {} B are its \
             registry descriptor.",
            size::descriptor(target)
        )
        .unwrap();
        let (max_flash, max_ram) = size::per_track_max(target);
        writeln!(
            md,
            "\nOpted in per function: `track_max` (the longest call) adds **{max_flash:.0} B flash, \
             {max_ram:.0} B RAM** per function, averaged over eight functions that use it (one \
             counter, which on 32-bit targets fits the slot's alignment padding; most of the flash \
             is a second instance of the slot's generic reader, shared by all of them). Functions \
             without it pay nothing: its cell is zero-sized and its update compiles to nothing."
        )
        .unwrap();
        let ((three_flash, three_ram), (counter_flash, counter_ram)) = size::user_metrics(target);
        writeln!(
            md,
            "\nUser metrics (`#[picometrics::metric]`, with the `text` and `frames` channels): the \
             firmware's three — a labelled counter, a gauge and a 3-bound value histogram, with the \
             code that updates, renders and frames them, which only a program that declares a user \
             metric links — add **{three_flash} B flash, {three_ram} B RAM**; each further counter adds **{counter_flash:.0} B flash, {counter_ram:.0} B RAM** \
             (eight more counters, / 8: its registry descriptor, name and update; its counter). A \
             gauge is one counter too; a histogram of N bounds is N + 1 counters and a 64-bit sum."
        )
        .unwrap();
        let (instr, reads) = size::instructions(target, &[]);
        let (inline, inline_reads) = size::instructions(target, &["inline-calls"]);
        let (inline_flash, _) = size::per_function_with(target, &["inline-calls"]);
        let verdict = |beyond: f64| {
            if !target.starts_with("thumbv7em") {
                "no goal on this core"
            } else if beyond <= 40.0 {
                "MET"
            } else {
                "MISSED"
            }
        };
        let (beyond, inline_beyond) = (instr - reads, inline - inline_reads);
        writeln!(
            md,
            "\nInstructions per call (QEMU `-icount shift=0`, {}; firmware \
             feature `instructions`): an instrumented call executes **{instr:.1}** instructions more \
             than the same empty call; **{reads:.1}** of them are the two clock reads ({}), \
             **{beyond:.1}** are picometrics' own (goal on the Cortex-M4F: ≤ 40 — {}). With the call path inlined \
             into each function (`picometrics/inline-calls`): **{:.1}** beyond the clock reads \
             ({}), for **{inline_flash:.0} B** of flash per function instead of {fn_flash:.0} B.",
            if target.starts_with("riscv32") {
                "one instruction per virtual nanosecond, `mtime` at 10 MHz of it"
            } else {
                "calibrated by 100 `nop`s"
            },
            clock_reads(target),
            verdict(beyond),
            inline_beyond,
            verdict(inline_beyond),
        )
        .unwrap();
        if target.starts_with("thumbv7em") {
            let (dwt, dwt_reads) = size::instructions(target, &["dwt-clock"]);
            let (dwt_inline, dwt_inline_reads) = size::instructions(target, &["dwt-clock", "inline-calls"]);
            let total = |t: f64| if t <= 60.0 { "MET" } else { "MISSED" };
            writeln!(
                md,
                "\nWith the cheapest clock the core offers — a 32-bit counter, \
                 `clock!(HZ, u32: DWT::cycle_count())` (firmware feature `dwt-clock`; QEMU's DWT \
                 reads 0, so every duration is 0 and the call takes the same path: a root call in \
                 the first bucket) — a call costs **{dwt:.1}** instructions in total, **{dwt_reads:.1}** \
                 of them the two reads and **{:.1}** beyond them (goal: ≤ 60 in total — {}); with \
                 `inline-calls` **{dwt_inline:.1}** in total, {:.1} beyond the reads (≤ 60 in total — {}).",
                dwt - dwt_reads,
                total(dwt),
                dwt_inline - dwt_inline_reads,
                total(dwt_inline),
            )
            .unwrap();
            md.push_str(M4F_INSTRUCTIONS);
            writeln!(
                md,
                "\nThe trade of the call site in flash: **{fn_flash:.0} B** per function, 146 B \
                 before it (a guard started out of line) — 12 B the site static \
                 (slot, bounds, what a cancelled call records) and 12 B of code, the clock reads \
                 and their subtraction now in each function — for 13.8 fewer instructions per \
                 call. RAM per function is unchanged."
            )
            .unwrap();
        }
        let ((text, text_bytes), (frames, frame_bytes)) = size::dump_instructions(target);
        writeln!(
            md,
            "\nA whole dump in instructions (same measurement, each channel into a sink that only \
             counts, so the render or encoding alone): Prometheus text **{text}** for {text_bytes} \
             bytes ({:.1} per byte), frames **{frames}** for {frame_bytes} bytes ({:.1} per byte, \
             reading the snapshots included: postcard writes the payload into the frame buffer, \
             the table CRC-32C runs over it at about 7 instructions a byte, COBS encodes it in place \
             — goal on the Cortex-M4F: ≤ 20 per byte, {}).",
            text as f64 / text_bytes as f64,
            frames as f64 / frame_bytes as f64,
            if !target.starts_with("thumbv7em") {
                "no goal on this core"
            } else if frames <= 20 * frame_bytes {
                "MET"
            } else {
                "MISSED"
            },
        )
        .unwrap();
        let radio = size::radio_bytes(target);
        let per = |bytes: usize| bytes as f64 / radio.functions as f64;
        writeln!(
            md,
            "\nBytes on the link per dump (the UART's bytes, frames and delimiters; wire version 6): \
             the last dump whole is **{} B** ({} functions: **{:.0} B a function**), {} B in wire version 5 \
             ({:.0} B a function: the bounds listed, every bucket written). Relative to the dump \
             before (`frame::Baseline`, firmware feature `deltas`, once the bridge acknowledged \
             that one): **{} B**: the {} functions called since, their values alone (they and their callers named \
             by their place in the base), and no build — a function not called costs nothing; the \
             baseline adds {} B of flash to the frames channel and 80 B of stack (`Baseline<8>`).",
            radio.whole,
            radio.functions,
            per(radio.function_frames.0),
            radio.version_5,
            per(radio.function_frames.1),
            radio.relative,
            radio.relative_functions,
            radio.baseline_flash,
        )
        .unwrap();
        // `persist` reads the Cortex-M boards' reset-cause registers and resets through the SCB.
        if target.starts_with("riscv32") {
            continue;
        }
        let (persist_flash, persist_ram) = size::persist(target);
        writeln!(
            md,
            "\nCounts that survive a warm reset (`persist`, with `text` and `frames`): \
             **{persist_flash} B flash, {persist_ram} B RAM** — `persist::boot` (layout checksum, \
             edge validation, clearing), a 12-byte header and the core's eight counters \
             (`picometrics_boots_total`, `picometrics_resets_total` by reason), which are user \
             metrics and so bring the user-metric writer above (most of the flash; shared with \
             the firmware's own user metrics if it has any); the slots and user metrics cost \
             nothing more, they only move to `.uninit`."
        )
        .unwrap();
    }
    let path = firmware::dir().join("SIZE.md");
    std::fs::write(&path, &md).unwrap();
    print!("{md}");
    eprintln!("wrote {}", path.display());
}
