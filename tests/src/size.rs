//! The firmware's flash and RAM, read from its ELF, for the size report
//! (`cargo run -p picometrics-integration-tests --bin size-report`) and the size test.

use crate::firmware;
use object::{Object, ObjectSection, SectionFlags};
use std::path::Path;

/// Where static RAM starts for a target's board (`embedded-example/memory-*.x`): at
/// 0x2000_0000 on the Cortex-M boards, after the 256 KiB "flash" of QEMU virt's DRAM on RISC-V.
fn ram_start(target: &str) -> u64 {
    if target.starts_with("riscv32") {
        0x8004_0000
    } else {
        0x2000_0000
    }
}

/// Flash and static RAM of one firmware build.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Size {
    /// Bytes in flash: code, read-only data, the registry, `.data`'s initial values.
    pub flash: u64,
    /// Bytes of static RAM: `.data`, `.bss`, `.uninit` (the stack comes on top).
    pub ram: u64,
}

impl std::ops::Sub for Size {
    type Output = (i64, i64);
    fn sub(self, rhs: Self) -> (i64, i64) {
        (self.flash as i64 - rhs.flash as i64, self.ram as i64 - rhs.ram as i64)
    }
}

/// Reads the allocated sections of an ELF built for `target`.
pub fn of_elf(target: &str, path: &Path) -> Size {
    let data = std::fs::read(path).unwrap();
    let file = object::File::parse(&*data).unwrap();
    let mut size = Size::default();
    for s in file.sections() {
        let SectionFlags::Elf { sh_flags } = s.flags() else { continue };
        // SHF_ALLOC: the section takes memory on the device.
        if sh_flags & u64::from(object::elf::SHF_ALLOC) == 0 || s.size() == 0 {
            continue;
        }
        // riscv-rt's fictitious sections: the rest of RAM, left to the stack and a heap.
        if matches!(s.name(), Ok(".stack" | ".heap")) {
            continue;
        }
        let initialized = s.kind() != object::SectionKind::UninitializedData;
        if s.address() >= ram_start(target) {
            size.ram += s.size();
            if initialized {
                size.flash += s.size(); // `.data`'s load image
            }
        } else {
            size.flash += s.size();
        }
    }
    size
}

/// Builds one variant and reads its size.
pub fn build(target: &str, features: &[&str]) -> Size {
    of_elf(target, &firmware::build(target, features))
}

/// What one instrumented function adds: the difference that eight more functions make when
/// instrumented, minus the difference they make without instrumentation, over eight.
pub fn per_function(target: &str) -> (f64, f64) {
    per_function_with(target, &[])
}

/// [`per_function`] with `extra` features in every build (e.g. `inline-calls`).
pub fn per_function_with(target: &str, extra: &[&str]) -> (f64, f64) {
    let with = |features: &[&str]| build(target, &[features, extra].concat());
    let instrumented = with(&["extra-functions"]) - with(&[]);
    let plain = with(&["uninstrumented", "extra-functions"]) - with(&["uninstrumented"]);
    ((instrumented.0 - plain.0) as f64 / 8.0, (instrumented.1 - plain.1) as f64 / 8.0)
}

/// What `track_max` adds per instrumented function: the eight extra functions built with it,
/// minus built without it, over eight (shared code included, so an average over eight).
pub fn per_track_max(target: &str) -> (f64, f64) {
    let with = build(target, &["extra-track-max"]) - build(target, &["extra-functions"]);
    (with.0 as f64 / 8.0, with.1 as f64 / 8.0)
}

/// The firmware's instrumented functions without extras: `sample`, `validate`, `never_called`,
/// and on RISC-V `heartbeat` (called from the timer interrupt too).
pub fn functions(target: &str) -> u64 {
    if target.starts_with("riscv32") {
        4
    } else {
        3
    }
}

/// Bytes of one registry entry: the registry section of the build without extras over its
/// [`functions`].
pub fn descriptor(target: &str) -> u64 {
    let data = std::fs::read(firmware::build(target, &[])).unwrap();
    let file = object::File::parse(&*data).unwrap();
    file.section_by_name("linkme_PICOMETRICS_FUNCTIONS").map_or(0, |s| s.size()) / functions(target)
}

/// What user metrics cost with the default channels (`text`, `frames`): the firmware's three
/// (a counter, a gauge, a 3-bound histogram, with the code that updates, renders and frames
/// them) over the same build without, and one more counter: eight more counters, over eight.
pub fn user_metrics(target: &str) -> ((i64, i64), (f64, f64)) {
    let channels = ["text", "frames"];
    let base = build(target, &channels);
    let three = build(target, &[&channels[..], &["user-metrics"]].concat());
    let more = build(target, &[&channels[..], &["extra-metrics"]].concat());
    let (extra_flash, extra_ram) = more - three;
    (three - base, (extra_flash as f64 / 8.0, extra_ram as f64 / 8.0))
}

/// What `persist` adds to the default channels: `persist::boot` (validation, clearing), the
/// header and the core's boot and reset counters. The slots only move to `.uninit`.
pub fn persist(target: &str) -> (i64, i64) {
    build(target, &["text", "frames", "persist"]) - build(target, &["text", "frames"])
}

/// Instructions per instrumented call over an empty call, and of those the two clock reads
/// (SysTick, in a critical section), measured by the firmware's `instructions` feature in
/// QEMU's instruction-count time (`-icount shift=0`), calibrated by a block of 100 `nop`s;
/// `extra` features on top (e.g. `inline-calls`).
pub fn instructions(target: &str, extra: &[&str]) -> (f64, f64) {
    let text = instruction_run(target, extra);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("# instructions per call (milli): "))
        .unwrap_or_else(|| panic!("no instruction line in {text}"));
    (number(line, "instrumented ") as f64 / 1000.0, number(line, "two reads ") as f64 / 1000.0)
}

/// Instructions for one dump of the firmware's registry (3 functions, `build_info`) as
/// Prometheus text and as frames, each into a sink that only counts, and their bytes:
/// `((text instructions, text bytes), (frame instructions, frame bytes))`.
pub fn dump_instructions(target: &str) -> ((u64, u64), (u64, u64)) {
    let text = instruction_run(target, &[]);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("# instructions per dump: "))
        .unwrap_or_else(|| panic!("no dump line in {text}"));
    let (text_part, frames_part) = line.split_once(", frames ").unwrap();
    (
        (number(text_part, "text "), number(text_part, " for ")),
        (number(&format!("frames {frames_part}"), "frames "), number(frames_part, " for ")),
    )
}

/// The `instructions` firmware's output (with the `text` and `frames` channels, whose dumps it
/// also times), `extra` features on top.
fn instruction_run(target: &str, extra: &[&str]) -> String {
    let elf = firmware::build(target, &[&["instructions", "text", "frames"], extra].concat());
    String::from_utf8(firmware::run(target, &elf).stdout).unwrap()
}

/// The decimal number after `key` in `line`.
fn number(line: &str, key: &str) -> u64 {
    let rest = &line[line.find(key).unwrap_or_else(|| panic!("no {key:?} in {line}")) + key.len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap_or_else(|_| panic!("no number after {key:?} in {line}"))
}

/// What the example's dump costs on the link, in bytes (`frames` and `deltas` builds): its
/// last dump whole, the same messages in wire version 5, the dump relative to the one before
/// it (`deltas`), and the functions in each.
#[derive(Clone, Copy, Debug)]
pub struct RadioBytes {
    /// The last dump, whole (wire version 6).
    pub whole: usize,
    /// Its messages as wire version 5 firmware wrote them.
    pub version_5: usize,
    /// Its function frames alone, in version 6 and in version 5.
    pub function_frames: (usize, usize),
    /// Functions in it.
    pub functions: usize,
    /// The `deltas` build's last dump, relative to the one before.
    pub relative: usize,
    /// Functions in that one.
    pub relative_functions: usize,
    /// The flash `deltas` adds to `frames` (the `Baseline` and the `Changed` encoder).
    pub baseline_flash: i64,
}

/// [`RadioBytes`] of `target`'s firmware.
pub fn radio_bytes(target: &str) -> RadioBytes {
    use picometrics::frame::{self, Message};
    let frames = firmware::run(target, &firmware::build(target, &["text", "frames"]));
    let deltas = firmware::run(target, &firmware::build(target, &["text", "deltas"]));
    let last = |run: &firmware::Run| run.dumps().last().expect("a dump").to_vec();
    let (mut whole, mut relative) = (last(&frames), last(&deltas));
    let mut bytes = RadioBytes {
        whole: whole.len(),
        version_5: 1,
        function_frames: (0, 0),
        functions: 0,
        relative: relative.len(),
        relative_functions: 0,
        baseline_flash: (build(target, &["deltas"]) - build(target, &["frames"])).0,
    };
    for f in whole.split_mut(|&b| b == 0).filter(|f| !f.is_empty()) {
        let six = f.len() + 1;
        let decoded = frame::decode_frame(f).expect("the firmware's frames decode");
        let mut buf = [0u8; frame::MAX_FRAME];
        let five = frame::encode_message_as(&decoded.message, 5, decoded.stream, &mut buf).unwrap().len();
        bytes.version_5 += five;
        if matches!(decoded.message, Message::Function(_)) {
            bytes.functions += 1;
            bytes.function_frames.0 += six;
            bytes.function_frames.1 += five;
        }
    }
    for f in relative.split_mut(|&b| b == 0).filter(|f| !f.is_empty()) {
        if matches!(frame::decode(f), Ok(Message::Changed(_))) {
            bytes.relative_functions += 1;
        }
    }
    bytes
}
