//! The device bridge's input handling (`devices`): whatever arrives — garbage, cut frames,
//! unknown versions, a device that restarts, a source that reconnects mid-dump — is skipped with
//! its reason and counted, never panics, never grows a buffer past `MAX_FRAME`, and never makes a
//! served counter go down unless the device itself restarted.

mod outcomes;

use picometrics_test_support::text as common;

use outcomes::feed;
use picometrics::frame::{self, VERSION};
use picometrics::picometrics;
use picometrics_bridge::{Committed, Devices, FrameReader, Invalid, Skipped, MAX_FRAME, MAX_LABEL};
use proptest::prelude::*;
use std::sync::Mutex;

#[picometrics]
fn handled(fail: bool) -> Result<(), ()> {
    if fail {
        Err(())
    } else {
        Ok(())
    }
}

#[picometrics]
fn outer() {
    let _ = handled(true);
}

/// Registry state is global to this test binary: tests that record calls take turns.
static CALLS: Mutex<()> = Mutex::new(());

/// A dump of this binary's `handled` and `outer`, as a device named `device` would send it.
fn dump(device: &str, seq: u32) -> Vec<u8> {
    let fs = ["handled", "outer"].map(|n| picometrics::registry::find(n, module_path!()).unwrap());
    let mut wire = Vec::new();
    frame::write_dump_of(device, seq, fs, |b| {
        wire.extend_from_slice(b);
        Ok::<_, ()>(())
    })
    .unwrap();
    wire
}

fn served_ok(devices: &Devices, device: &str) -> Option<f64> {
    let samples = common::parse(&devices.render_to_string());
    let s = common::all(
        &samples,
        "function_calls_total",
        &[("device", device), ("function", "handled"), ("caller_function", ""), ("result", "ok")],
    );
    s.first().map(|s| s.value)
}

fn skipped_total(devices: &Devices, reason: &str) -> f64 {
    let samples = common::parse(&devices.render_to_string());
    common::all(&samples, "picometrics_bridge_frames_skipped_total", &[("reason", reason)])
        .first()
        .map_or(0.0, |s| s.value)
}

#[test]
fn a_dump_is_served_with_a_device_label_and_the_registry_own_labels() {
    let _g = CALLS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let _ = handled(false);
    outer();
    let devices = Devices::new();
    let (committed, skipped) = feed(&devices, &mut FrameReader::new(), &dump("dev \"1\"", 0));
    assert_eq!(committed, [Committed::New { device: "dev \"1\"".into() }]);
    assert!(skipped.is_empty(), "{skipped:?}");
    let text = devices.render_to_string();
    let samples = common::parse(&text);
    assert_eq!(common::check_histograms(&samples), 2);
    // Every sample of the registry's own rendering is served, with the device label added.
    let own = common::parse(&picometrics_exporter::render_to_string());
    for s in own.iter().filter(|s| matches!(s.label("function"), Some("handled" | "outer"))) {
        let mut want: Vec<(&str, &str)> = s.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        want.push(("device", "dev \"1\""));
        assert_eq!(common::value(&samples, &s.name, &want), s.value, "{} {:?}", s.name, s.labels);
    }
    let served = samples.iter().filter(|s| s.label("function").is_some()).count();
    let own = own.iter().filter(|s| matches!(s.label("function"), Some("handled" | "outer"))).count();
    assert_eq!(served, own, "nothing more, nothing less");
    assert!(text.contains(r#"build_info{device="dev \"1\"",version=""#), "{text}");
}

#[test]
fn garbage_truncated_frames_and_unknown_versions_are_skipped_and_counted() {
    let _g = CALLS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let devices = Devices::new();
    let mut reader = FrameReader::new();

    // Line noise with delimiters in it.
    let (c, s) = feed(&devices, &mut reader, b"\x00garbage\x00\x01\x02\x03\x00\xff\xff\x00");
    assert!(c.is_empty());
    assert!(!s.is_empty() && s.iter().all(|s| matches!(s, Skipped::Frame(_))), "{s:?}");
    assert!(skipped_total(&devices, "malformed") + skipped_total(&devices, "crc") >= 3.0);

    // A dump cut off inside a function frame, then a whole dump: only the whole one lands.
    let whole = dump("dev", 1);
    let cut = &dump("dev", 0)[..whole.len() / 2];
    let mut stream = cut.to_vec();
    stream.extend_from_slice(&whole);
    let (c, s) = feed(&devices, &mut reader, &stream);
    assert_eq!(c, [Committed::New { device: "dev".into() }]);
    assert!(s.iter().any(|s| matches!(s, Skipped::Frame(_) | Skipped::Incomplete { .. })), "{s:?}");

    // A frame of a future version between dumps.
    let mut future = vec![VERSION + 1, 2, 0, 0];
    future.extend_from_slice(&crc::Crc::<u32>::new(&crc::CRC_32_ISCSI).checksum(&future).to_le_bytes());
    let mut encoded = vec![0; future.len() + 2];
    let n = cobs::encode(&future, &mut encoded);
    encoded.truncate(n);
    encoded.push(0);
    let (c, s) = feed(&devices, &mut reader, &encoded);
    assert!(c.is_empty());
    assert_eq!(s, [Skipped::Frame(frame::DecodeError::Version(VERSION + 1))]);
    assert_eq!(skipped_total(&devices, "version"), 1.0);

    // A run longer than any frame, then a whole dump again: the reader recovers.
    let (_, s) = feed(&devices, &mut reader, &vec![0x55; 3 * MAX_FRAME]);
    assert_eq!(s, [Skipped::TooLong]);
    let (c, _) = feed(&devices, &mut reader, &[&[0][..], &dump("dev", 2)].concat());
    assert_eq!(c, [Committed::Updated { device: "dev".into() }]);
    assert_eq!(skipped_total(&devices, "too_long"), 1.0);
}

#[test]
fn counters_stay_monotonic_across_reconnects_and_reset_when_the_device_restarts() {
    let _g = CALLS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let devices = Devices::new();
    let mut reader = FrameReader::new();
    let _ = handled(false);
    feed(&devices, &mut reader, &dump("dev", 10));
    let before = served_ok(&devices, "dev").unwrap();

    // More calls; the connection drops halfway through the next dump.
    let _ = handled(false);
    let next = dump("dev", 11);
    feed(&devices, &mut reader, &next[..next.len() - 3]);
    reader.reset();
    assert!(matches!(devices.source_closed(), Some(Skipped::Incomplete { seq: 11, .. })));
    assert_eq!(served_ok(&devices, "dev"), Some(before), "the last complete dump stays served");

    // Reconnected: the next full dump lands.
    let (c, _) = feed(&devices, &mut reader, &dump("dev", 12));
    assert_eq!(c, [Committed::Updated { device: "dev".into() }]);
    assert_eq!(served_ok(&devices, "dev"), Some(before + 1.0));

    // A dump whose Begin is lost (joined mid-dump): its frames are skipped, nothing changes.
    let d = dump("dev", 13);
    // The lone delimiter, then Begin's: start after the second.
    let after_begin = d.iter().enumerate().filter(|(_, &b)| b == 0).nth(1).unwrap().0 + 1;
    let (c, s) = feed(&devices, &mut reader, &d[after_begin..]);
    assert!(c.is_empty());
    assert!(s.iter().all(|s| *s == Skipped::OutsideDump), "{s:?}");

    // The device restarts mid-stream: a new Begin cuts the dump in progress, and the restarted
    // device's smaller dump number (and counters) replace the old ones: a counter reset.
    let mut stream = dump("dev", 14);
    stream.truncate(stream.len() / 2);
    let restarted = {
        // What the device sends after a restart: the same functions at zero.
        let mut wire = Vec::new();
        frame::write_dump_of("dev", 0, [], |b| {
            wire.extend_from_slice(b);
            Ok::<_, ()>(())
        })
        .unwrap();
        wire
    };
    stream.extend_from_slice(&[0]);
    stream.extend_from_slice(&restarted);
    let (c, _) = feed(&devices, &mut reader, &stream);
    assert_eq!(c, [Committed::Restarted { device: "dev".into(), previous_seq: 12, seq: 0 }]);
    assert_eq!(served_ok(&devices, "dev"), None, "the restarted device has reported no calls yet");
}

#[test]
fn devices_are_kept_apart() {
    let _g = CALLS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let devices = Devices::new();
    let mut reader = FrameReader::new();
    feed(&devices, &mut reader, &[dump("a", 0), dump("b", 0)].concat());
    let text = devices.render_to_string();
    let samples = common::parse(&text);
    assert_eq!(common::all(&samples, "build_info", &[]).len(), 2);
    assert_eq!(common::check_histograms(&samples), 4);
}

proptest! {
    /// Arbitrary bytes, fed in arbitrary pieces: no panic, and every skip is reported.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4 * MAX_FRAME), split in 1usize..512) {
        let devices = Devices::new();
        let mut reader = FrameReader::new();
        for piece in bytes.chunks(split) {
            devices.feed(&mut reader, piece, |_| {});
            prop_assert!(reader.pending() <= MAX_FRAME);
        }
        let text = devices.render_to_string();
        prop_assert_eq!(picometrics_test_support::exposition::check_exposition(&text), Ok(()));
    }

    /// Any single corrupted byte in a dump loses at most that dump, never a later one.
    #[test]
    fn one_corrupt_byte_costs_at_most_one_dump(at in any::<prop::sample::Index>(), with in any::<u8>()) {
        let _g = CALLS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut stream = dump("dev", 0);
        let i = at.index(stream.len());
        stream[i] = with;
        let devices = Devices::new();
        let mut reader = FrameReader::new();
        feed(&devices, &mut reader, &stream);
        let (c, _) = feed(&devices, &mut reader, &[&[0][..], &dump("dev", 1)].concat());
        prop_assert_eq!(c.len(), 1);
    }
}

/// A dump from a device with 32-bit counters named `device`: Begin, `records`, a matching End.
fn hand_made(device: &str, records: Vec<frame::Message<'_>>) -> Vec<u8> {
    hand_made_version(device, "1", records)
}

/// [`hand_made`] with this build version.
fn hand_made_version(device: &str, version: &str, records: Vec<frame::Message<'_>>) -> Vec<u8> {
    hand_made_as(frame::VERSION, device, version, records)
}

/// [`hand_made_version`] in wire version `wire`.
fn hand_made_as(wire: u8, device: &str, version: &str, records: Vec<frame::Message<'_>>) -> Vec<u8> {
    use picometrics::frame::{Begin, Message};
    use picometrics::model::Build;
    let build = Build { version, commit: "", branch: "", service_name: "s", repository_url: "", extra: None };
    let count = |f: fn(&Message<'_>) -> bool| records.iter().filter(|m| f(m)).count() as u16;
    let end = Message::End {
        seq: 1,
        functions: count(|m| matches!(m, Message::Function(_))),
        metrics: count(|m| matches!(m, Message::Metric(_))),
    };
    let begin =
        Message::Begin(Begin { device, seq: 1, build, counter_bits: 32, uptime_nanos: 5, base: None });
    let mut out = vec![0];
    let mut buf = [0u8; MAX_FRAME];
    for m in std::iter::once(&begin).chain(&records).chain([&end]) {
        out.extend_from_slice(frame::encode_message_as(m, wire, None, &mut buf).expect("fits a frame"));
    }
    out
}

/// A dump of one hand-made function (and, with `twice`, the same function again).
///
/// In wire version 5, whose counts are dense: version 6 cannot say "not one count per bucket"
/// (its counts are a mask over the bounds' buckets), and the bridge checks every version alike.
fn crafted(device: &str, f: &frame::FunctionRecord<'_>, twice: bool) -> Vec<u8> {
    let n = if twice { 2 } else { 1 };
    hand_made_as(5, device, "1", vec![frame::Message::Function(f.clone()); n])
}

/// Every malformed histogram shape a device could send is rejected whole, counted by reason,
/// and leaves nothing served; the well-formed one next to them is served.
#[test]
fn malformed_histograms_and_labels_are_rejected_whole_and_counted() {
    use picometrics::model::Totals;
    let good = frame::FunctionRecord {
        function: "f",
        module: "m",
        objective: None,
        bounds: heapless::Vec::from_slice(&[10, 20]).unwrap(),
        counts: heapless::Vec::from_slice(&[1, 2, 3]).unwrap(),
        sum_nanos: 5,
        root: Totals { ok: 6, error: 0 },
        callers: heapless::Vec::new(),
        overflow: Totals::default(),
        concurrent: None,
        max_nanos: None,
    };
    let long = "x".repeat(picometrics_bridge::MAX_LABEL + 1);
    let mut cases: Vec<(&str, frame::FunctionRecord<'_>, bool)> = Vec::new();
    let mut with = |reason, change: &dyn Fn(&mut frame::FunctionRecord<'_>), twice| {
        let mut f = good.clone();
        change(&mut f);
        cases.push((reason, f, twice));
    };
    with("invalid_bounds", &|f| f.bounds = heapless::Vec::from_slice(&[20, 10]).unwrap(), false);
    with("invalid_bounds", &|f| f.bounds = heapless::Vec::from_slice(&[10, 10]).unwrap(), false);
    with("invalid_bounds", &|f| f.bounds = heapless::Vec::from_slice(&[0, 10]).unwrap(), false);
    with("invalid_counts", &|f| f.counts = heapless::Vec::from_slice(&[1, 2]).unwrap(), false);
    with("invalid_counts", &|f| f.counts = heapless::Vec::from_slice(&[1, 2, 3, 4]).unwrap(), false);
    with("invalid_counter_width", &|f| f.counts[0] = 1 << 40, false);
    with("duplicate_function", &|_| {}, true);
    // A caller edge that would repeat the uninstrumented callers' series, or another edge's.
    with(
        "invalid_callers",
        &|f| {
            let _ = f.callers.push(picometrics::model::Caller {
                function: "",
                module: "",
                calls: Totals::default(),
            });
        },
        false,
    );
    with(
        "invalid_callers",
        &|f| {
            for _ in 0..2 {
                let _ = f.callers.push(picometrics::model::Caller {
                    function: "g",
                    module: "m",
                    calls: Totals::default(),
                });
            }
        },
        false,
    );
    with(
        "invalid_callers",
        &|f| {
            let _ = f.callers.push(picometrics::model::Caller {
                function: "(overflow)",
                module: "",
                calls: Totals::default(),
            });
        },
        false,
    );
    cases.push(("label_too_long", frame::FunctionRecord { function: &long, ..good.clone() }, false));

    let devices = Devices::new();
    for (i, (reason, f, twice)) in cases.iter().enumerate() {
        let mut reader = FrameReader::new();
        let before = skipped_total(&devices, reason);
        let (committed, skipped) = feed(&devices, &mut reader, &crafted(&format!("bad-{i}"), f, *twice));
        assert!(committed.is_empty(), "{reason}: {committed:?}");
        assert!(skipped.iter().any(|s| s.reason() == *reason), "{reason}: {skipped:?}");
        assert_eq!(skipped_total(&devices, reason), before + 1.0, "{reason}");
    }
    let text = devices.render_to_string();
    assert!(!text.contains("bad-"), "a rejected dump is served:\n{text}");
    let (committed, skipped) = feed(&devices, &mut FrameReader::new(), &crafted("good", &good, false));
    assert_eq!((committed.len(), skipped.len()), (1, 0), "{skipped:?}");
    assert!(devices.render_to_string().contains(r#"device="good""#));
}

/// Resident memory of this process in KiB (Linux).
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// A device that sends 4096 functions with labels as long as a frame allows: its dump would
/// render to ~40 MB, over the 4 MiB a device may take, so it is refused and counted, and the
/// bridge's memory stays within its budget.
#[test]
fn a_huge_dump_is_refused_within_the_byte_budget() {
    use picometrics::frame::{Begin, FunctionRecord, Message};
    use picometrics::model::Build;
    use picometrics::model::{Caller, Totals};
    // As long as a frame allows (two long labels and two shorter caller labels).
    let label = "l".repeat(200);
    let short = "c".repeat(100);
    let names: Vec<String> =
        (0..picometrics_bridge::MAX_FUNCTIONS).map(|i| format!("{i:04}{}", &label[4..])).collect();
    let devices = Devices::new();
    let before = rss_kib();
    let mut reader = FrameReader::new();
    let mut buf = [0u8; MAX_FRAME];
    let mut send = |m: &Message<'_>| {
        let bytes = frame::encode_message(m, &mut buf).expect("fits a frame").to_vec();
        feed(&devices, &mut reader, &bytes)
    };
    let build =
        Build { version: "1", commit: "", branch: "", service_name: &short, repository_url: "", extra: None };
    send(&Message::Begin(Begin {
        device: "huge",
        seq: 1,
        build,
        counter_bits: 64,
        uptime_nanos: 0,
        base: None,
    }));
    let mut skipped = Vec::new();
    for name in &names {
        let mut callers = heapless::Vec::new();
        let _ = callers.push(Caller { function: &short, module: &short, calls: Totals { ok: 1, error: 1 } });
        let f = FunctionRecord {
            function: name,
            module: &label,
            objective: None,
            bounds: heapless::Vec::from_slice(&picometrics::buckets::DEFAULT).unwrap(),
            counts: heapless::Vec::from_slice(&[1; 15]).unwrap(),
            sum_nanos: 1,
            root: Totals::default(),
            callers,
            overflow: Totals::default(),
            concurrent: Some(0),
            max_nanos: Some(123_456),
        };
        skipped.extend(send(&Message::Function(f)).1);
    }
    let (committed, end) = send(&Message::End { seq: 1, functions: names.len() as u16, metrics: 0 });
    assert!(committed.is_empty());
    // Refused while it arrives, once it holds more than the device's budget: what follows is
    // dropped (counted once, with the refusal), so the dump in progress never grows past the
    // budget either.
    skipped.extend(end);
    let reasons: Vec<_> = skipped.iter().map(Skipped::reason).collect();
    assert_eq!(reasons, ["over_budget"]);
    assert_eq!(skipped_total(&devices, "over_budget"), 1.0);
    let text = devices.render_to_string();
    assert!(!text.contains(r#"device="huge""#));
    let grown = rss_kib().saturating_sub(before);
    assert!(grown < 48 * 1024, "the bridge grew by {grown} KiB for a refused dump");
}

/// Made-up device names cannot lock out a real device: when every slot is taken, the device
/// silent longest makes room, and a real device that keeps dumping keeps its place.
#[test]
fn a_dump_whose_text_is_over_the_budget_is_left_out_of_scrapes_until_its_next_dump() {
    let _g = CALLS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let _ = handled(false);
    // Room for the decoded dump of two functions, not for their text (~2 KB each with the
    // default buckets): a dump is taken in without being rendered; the first scrape after it
    // finds it too big.
    let limits = picometrics_bridge::Limits { max_device_bytes: 3000, ..Default::default() };
    let devices = Devices::with_limits(limits);
    let mut reader = FrameReader::new();
    let (committed, skipped) = feed(&devices, &mut reader, &dump("big", 1));
    assert_eq!((committed.len(), skipped), (1, vec![]), "taken in: its decoded dump fits");
    assert_eq!(skipped_total(&devices, "over_budget"), 1.0);
    let text = devices.render_to_string();
    let samples = common::parse(&text);
    assert!(common::all(&samples, "function_calls_total", &[("device", "big")]).is_empty(), "{text}");
    assert_eq!(skipped_total(&devices, "over_budget"), 1.0, "counted once per dump, not per scrape");
    // Its liveness is still reported: the bridge has the dump, a scrape cannot show it.
    assert!(text.contains(r#"picometrics_bridge_device_dumps_total{device="big"} 1"#), "{text}");

    // With room for the text, each dump is rendered by the first scrape after it.
    let devices = Devices::new();
    feed(&devices, &mut reader, &dump("small", 1));
    let first = served_ok(&devices, "small").unwrap();
    assert_eq!(served_ok(&devices, "small"), Some(first), "scraped again: the same text");
    let _ = handled(false);
    feed(&devices, &mut reader, &dump("small", 2));
    assert_eq!(served_ok(&devices, "small"), Some(first + 1.0), "the next dump's text");
}

#[test]
fn the_bridge_own_families_are_served_without_the_devices_series() {
    let _g = CALLS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let _ = handled(false);
    let devices = Devices::new();
    feed(&devices, &mut FrameReader::new(), &dump("quiet", 7));
    let mut chunks = Vec::new();
    devices.render_own_chunks(&mut chunks);
    let text: String = chunks.iter().map(|c| &**c).collect();
    let samples = common::parse(&text);
    assert!(!text.contains("function_calls"), "{text}");
    let dumps = common::all(&samples, "picometrics_bridge_device_dumps_total", &[("device", "quiet")]);
    assert_eq!(dumps.iter().map(|s| s.value).collect::<Vec<_>>(), [1.0]);
    let seq = common::all(&samples, "picometrics_dump_number", &[("device", "quiet")]);
    assert_eq!(seq.iter().map(|s| s.value).collect::<Vec<_>>(), [7.0]);
    // The full text still has them.
    assert!(served_ok(&devices, "quiet").is_some());
}

#[test]
fn fake_device_names_cannot_lock_out_a_real_device() {
    let _calls = CALLS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let limits = picometrics_bridge::Limits { max_devices: 8, ..Default::default() };
    let devices = Devices::with_limits(limits);
    let mut reader = FrameReader::new();
    feed(&devices, &mut reader, &dump("real", 1));
    for i in 0..50 {
        feed(&devices, &mut reader, &dump(&format!("fake-{i}"), 1));
        if i % 5 == 0 {
            // The real device keeps dumping.
            let (committed, _) = feed(&devices, &mut reader, &dump("real", 2 + i));
            assert_eq!(committed.len(), 1);
        }
    }
    let text = devices.render_to_string();
    assert!(served_ok(&devices, "real").is_some(), "{text}");
    let kept = text.lines().filter(|l| l.starts_with("picometrics_bridge_device_up{")).count();
    assert_eq!(kept, 8, "{text}");
}

/// A device that goes quiet is reported down, then forgotten.
#[test]
fn a_silent_device_goes_down_then_is_forgotten() {
    let _calls = CALLS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let limits = picometrics_bridge::Limits {
        down_after: std::time::Duration::from_millis(200),
        forget_after: std::time::Duration::from_millis(600),
        ..Default::default()
    };
    let devices = Devices::with_limits(limits);
    feed(&devices, &mut FrameReader::new(), &dump("quiet", 1));
    let up = |devices: &Devices| {
        let samples = common::parse(&devices.render_to_string());
        common::all(&samples, "picometrics_bridge_device_up", &[("device", "quiet")]).first().map(|s| s.value)
    };
    assert_eq!(up(&devices), Some(1.0));
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(up(&devices), Some(0.0));
    assert!(served_ok(&devices, "quiet").is_some(), "still served while down");
    std::thread::sleep(std::time::Duration::from_millis(400));
    assert_eq!(up(&devices), None);
    assert_eq!(served_ok(&devices, "quiet"), None, "forgotten");
}

proptest! {
    /// Dumps of arbitrary functions — any bounds, counts, values, widths and labels, valid or
    /// not — are either rejected or served as exposition that keeps every rule, including the
    /// histogram ones promtool does not check.
    #[test]
    fn whatever_a_device_sends_the_output_keeps_the_exposition_rules(
        bounds in proptest::collection::vec(0u64..2_000, 0..6),
        counts in proptest::collection::vec(prop_oneof![0u64..10, any::<u64>()], 0..8),
        names in proptest::collection::vec("[a-z\\\\\"\n]{0,6}", 3),
        ok in any::<u64>(),
        concurrent in proptest::option::of(0u64..5),
        counter_bits in prop_oneof![Just(32u8), Just(64u8), any::<u8>()],
        twice in any::<bool>(),
    ) {
        use picometrics::frame::{Begin, FunctionRecord, Message};
use picometrics::model::Build;
        use picometrics::model::{Caller, Totals};
        let mut callers = heapless::Vec::new();
        let _ = callers.push(Caller { function: &names[2], module: "m", calls: Totals { ok, error: 1 } });
        let f = FunctionRecord {
            function: &names[0],
            module: &names[1],
            objective: None,
            bounds: heapless::Vec::from_slice(&bounds).unwrap(),
            counts: heapless::Vec::from_slice(&counts).unwrap(),
            sum_nanos: 7,
            root: Totals { ok, error: 0 },
            callers,
            overflow: Totals::default(),
            concurrent,
            max_nanos: concurrent.map(|c| c * 1000),
        };
        let build = Build { version: "1", commit: "", branch: "", service_name: "s", repository_url: "", extra: None };
        let mut messages = vec![Message::Begin(Begin { device: "d", seq: 1, build, counter_bits, uptime_nanos: 1, base: None })];
        messages.push(Message::Function(f.clone()));
        if twice {
            messages.push(Message::Function(f));
        }
        messages.push(Message::End { seq: 1, functions: if twice { 2 } else { 1 }, metrics: 0 });
        let mut wire = vec![0];
        let mut buf = [0u8; MAX_FRAME];
        for m in &messages {
            wire.extend_from_slice(frame::encode_message(m, &mut buf).unwrap());
        }
        let devices = Devices::new();
        feed(&devices, &mut FrameReader::new(), &wire);
        let text = devices.render_to_string();
        prop_assert_eq!(picometrics_test_support::exposition::check_exposition(&text), Ok(()), "{}", text);
    }
}

/// A dump of hand-made user metric records.
fn metric_dump(device: &str, metrics: &[frame::MetricRecord<'_>]) -> Vec<u8> {
    hand_made(device, metrics.iter().cloned().map(frame::Message::Metric).collect())
}

/// User metrics are served per device, one header per family across devices, exactly; every
/// record that breaks the naming rules or the counter width drops its dump, counted by reason.
#[test]
fn user_metrics_are_served_per_device_and_checked() {
    use picometrics::frame::{MetricRecord, ValueRecord};
    let record = |name, labels: &[(&'static str, &'static str)], value| MetricRecord {
        name,
        help: "Help \\ \"text\"",
        labels: heapless::Vec::from_slice(labels).unwrap(),
        value,
    };
    let histogram = |bounds: &[u64], counts: &[u64]| ValueRecord::Histogram {
        bounds: heapless::Vec::from_slice(bounds).unwrap(),
        counts: heapless::Vec::from_slice(counts).unwrap(),
        sum: 99,
    };
    let good = [
        record("sent_total", &[("link", "uart")], ValueRecord::Counter(7)),
        record("sent_total", &[("link", "radio")], ValueRecord::Counter(8)),
        record("level", &[], ValueRecord::Gauge(-3)),
        record("sizes", &[], histogram(&[1, 10], &[1, 2, 3])),
    ];
    let devices = Devices::new();
    let mut reader = FrameReader::new();
    for device in ["a", "b"] {
        let (committed, skipped) = feed(&devices, &mut reader, &metric_dump(device, &good));
        assert_eq!((committed.len(), skipped), (1, vec![]));
    }
    let text = devices.render_to_string();
    assert_eq!(text.matches("# TYPE sent_total counter\n").count(), 1, "{text}");
    assert!(text.contains("# HELP sent_total Help \\\\ \"text\"\n"), "{text}");
    for device in ["a", "b"] {
        for line in [
            format!("sent_total{{device=\"{device}\",link=\"uart\"}} 7\n"),
            format!("sent_total{{device=\"{device}\",link=\"radio\"}} 8\n"),
            format!("level{{device=\"{device}\"}} -3\n"),
            format!("sizes_bucket{{device=\"{device}\",le=\"10\"}} 3\n"),
            format!("sizes_bucket{{device=\"{device}\",le=\"+Inf\"}} 6\n"),
            format!("sizes_sum{{device=\"{device}\"}} 99\nsizes_count{{device=\"{device}\"}} 6\n"),
        ] {
            assert!(text.contains(&line), "missing {line:?} in\n{text}");
        }
    }
    // The served text is what a real Prometheus parser accepts (promtool runs on it in the
    // integration tests); here: each family's samples follow its header.
    let header = text.find("# TYPE level gauge").unwrap();
    assert!(text[header..].contains("level{device=\"a\"}") && text[header..].contains("level{device=\"b\"}"));

    let bad: [(&str, MetricRecord<'_>); 9] = [
        ("invalid_metric", record("sent", &[], ValueRecord::Counter(1))),
        ("invalid_metric", record("bad-name", &[], ValueRecord::Gauge(1))),
        ("invalid_metric", record("function_calls_total", &[], ValueRecord::Counter(1))),
        ("invalid_metric", record("level", &[("le", "1")], ValueRecord::Gauge(1))),
        ("invalid_metric", record("level", &[("a", "1"), ("a", "2")], ValueRecord::Gauge(1))),
        ("invalid_metric", record("sizes", &[], histogram(&[10, 1], &[1, 2, 3]))),
        ("invalid_metric", record("sizes", &[], histogram(&[1, 10], &[1, 2]))),
        ("invalid_counter_width", record("sent_total", &[], ValueRecord::Counter(1 << 32))),
        ("invalid_counter_width", record("level", &[], ValueRecord::Gauge(-(1 << 40)))),
    ];
    for (reason, m) in &bad {
        let (committed, skipped) = feed(&devices, &mut reader, &metric_dump("evil", std::slice::from_ref(m)));
        assert!(committed.is_empty(), "{m:?}");
        // The dump is dropped at the bad record, its `End` with it: counted once.
        assert_eq!(skipped.iter().map(Skipped::reason).collect::<Vec<_>>(), [*reason], "{m:?}");
    }
    for twice in [
        [record("level", &[], ValueRecord::Gauge(1)), record("level", &[], ValueRecord::Gauge(2))],
        [
            record("level", &[], ValueRecord::Gauge(1)),
            record("level", &[("x", "1")], histogram(&[1], &[0, 0])),
        ],
    ] {
        let (_, skipped) = feed(&devices, &mut reader, &metric_dump("evil", &twice));
        assert_eq!(skipped.iter().map(Skipped::reason).collect::<Vec<_>>(), ["duplicate_metric"]);
    }
    let text = devices.render_to_string();
    assert!(!text.contains("device=\"evil\""), "{text}");
    assert_eq!(skipped_total(&devices, "invalid_metric"), 7.0);
    assert_eq!(skipped_total(&devices, "duplicate_metric"), 2.0);
}

/// Device names and build labels a person would misread — a right-to-left override, a carriage
/// return, a NUL, a line separator, 257 bytes, nothing at all — are refused with their dump and
/// counted; a plain device next to them is served, and no hostile name reaches the output.
#[test]
fn hostile_device_names_and_build_labels_are_refused_and_counted() {
    let devices = Devices::new();
    let mut reader = FrameReader::new();
    // Over the label limit (a 1 KB name does not fit a frame: the encoder refuses it).
    let long = "x".repeat(MAX_LABEL + 1);
    let names = ["evil\u{202E}gnp.exe", "a\rb", "nul\0", "line\u{2028}break", "iso\u{2066}late", &long, ""];
    for name in names {
        let (committed, skipped) = feed(&devices, &mut reader, &hand_made(name, vec![]));
        assert!(committed.is_empty(), "{name:?} was taken");
        let refused = skipped.iter().any(|s| matches!(s, Skipped::Invalid { why: Invalid::DeviceName, .. }));
        assert!(refused, "{name:?}: {skipped:?}");
    }
    let long_version = "9".repeat(MAX_LABEL + 1);
    for version in ["1\u{202E}0", "1\n2", &long_version] {
        let (committed, skipped) =
            feed(&devices, &mut reader, &hand_made_version("plain-2", version, vec![]));
        assert!(committed.is_empty(), "{version:?} was taken");
        let refused = skipped.iter().any(|s| matches!(s, Skipped::Invalid { why: Invalid::BuildLabel, .. }));
        assert!(refused, "{version:?}: {skipped:?}");
    }
    // A plain name, with a non-ASCII letter, is a name like any other.
    let (committed, _) = feed(&devices, &mut reader, &hand_made("sensör-1", vec![]));
    assert_eq!(committed, [Committed::New { device: "sensör-1".into() }]);
    assert_eq!(skipped_total(&devices, "invalid_device"), names.len() as f64);
    assert_eq!(skipped_total(&devices, "invalid_build"), 3.0);
    let text = devices.render_to_string();
    assert!(text.contains(r#"device="sensör-1""#), "{text}");
    for hostile in ['\u{202E}', '\u{2028}', '\u{2066}', '\0', '\r'] {
        assert!(!text.contains(hostile), "{hostile:?} served: {text}");
    }
    assert!(!text.contains(&long) && !text.contains("plain-2"), "{text}");
    assert_eq!(picometrics_test_support::exposition::check_exposition(&text), Ok(()), "{text}");
}

/// A family named like another's samples — a histogram `pkt` with gauges `pkt_count`,
/// `pkt_sum`, `pkt_bucket`, a counter `x_total` beside a gauge `x` (its OpenMetrics family), in
/// one dump or on two devices — would make Prometheus refuse every device's scrape. A gauge
/// named like a histogram's sample is refused by the naming rules (as `#[metric]` refuses it at
/// compile time); the other collisions in one dump are refused with the dump; across devices
/// the first family wins and the late one is left out, counted as `colliding_family`; the
/// output stays one valid exposition.
#[test]
fn colliding_family_names_are_refused_in_a_dump_and_across_devices() {
    use picometrics::frame::{MetricRecord, ValueRecord};
    let record = |name, value| MetricRecord { name, help: "", labels: heapless::Vec::new(), value };
    let histogram = || ValueRecord::Histogram {
        bounds: heapless::Vec::from_slice(&[1, 10]).unwrap(),
        counts: heapless::Vec::from_slice(&[1, 2, 3]).unwrap(),
        sum: 9,
    };
    let devices = Devices::new();
    let mut reader = FrameReader::new();
    let refused = |dump: &[MetricRecord<'_>], reason: Invalid| {
        let (committed, skipped) = feed(&devices, &mut FrameReader::new(), &metric_dump("one", dump));
        assert!(committed.is_empty(), "{dump:?} taken");
        let refused = skipped.iter().any(|s| matches!(s, Skipped::Invalid { why, .. } if *why == reason));
        assert!(refused, "{dump:?}: {skipped:?}");
    };
    for gauge in ["pkt_count", "pkt_sum", "pkt_bucket"] {
        refused(&[record("pkt", histogram()), record(gauge, ValueRecord::Gauge(5))], Invalid::Metric);
    }
    refused(
        &[record("x_total", ValueRecord::Counter(1)), record("x", ValueRecord::Gauge(5))],
        Invalid::FamilyCollision,
    );
    refused(
        &[record("h", histogram()), record("h_total", ValueRecord::Counter(1))],
        Invalid::FamilyCollision,
    );
    assert_eq!(skipped_total(&devices, "colliding_family"), 2.0);
    // Across devices: each dump is valid alone.
    let (a, _) =
        feed(&devices, &mut reader, &metric_dump("a", &[record("sz_total", ValueRecord::Counter(6))]));
    let gauges = [record("sz", ValueRecord::Gauge(4)), record("level", ValueRecord::Gauge(2))];
    let (b, _) = feed(&devices, &mut reader, &metric_dump("b", &gauges));
    assert_eq!((a.len(), b.len()), (1, 1), "both dumps taken");
    assert_eq!(skipped_total(&devices, "colliding_family"), 3.0, "b's sz counted");
    let text = devices.render_to_string();
    assert!(text.contains("sz_total{device=\"a\"} 6\n"), "the first family stays: {text}");
    assert!(!text.contains("sz{device=\"b\"}") && !text.contains("# TYPE sz gauge"), "{text}");
    assert!(text.contains("level{device=\"b\"} 2\n"), "b's other family is served: {text}");
    assert_eq!(picometrics_test_support::exposition::check_exposition(&text), Ok(()), "{text}");
}

/// Label values of every length up to the limit, made of characters that double when escaped:
/// a line's labels may fill its buffer, and the end of the line (`,result="error"} 42`) still
/// has its room — found by the render_labels fuzzer (a 125-byte escaped caller beside a long
/// escaped function name made the whole dump "over budget").
#[test]
fn labels_that_fill_a_line_still_render() {
    use picometrics::model::{Caller, Totals};
    let devices = Devices::new();
    let mut reader = FrameReader::new();
    // Escaped, the function name runs from 1 to 511 bytes and the caller is 201: the labels
    // with the callers end at every length a line can hold, and beyond (written piece by piece).
    for n in 0..picometrics_bridge::MAX_LABEL {
        let function = format!("f{}", "\"".repeat(n));
        let caller = format!("c{}", "\\".repeat(100));
        let mut callers = heapless::Vec::new();
        let _ = callers.push(Caller { function: &caller, module: "m", calls: Totals { ok: 1, error: 2 } });
        let f = frame::FunctionRecord {
            function: &function,
            module: "m",
            objective: Some(picometrics::model::ObjectiveLabels {
                name: "api",
                success_percentile: Some("99"),
                latency: Some((20, "99")),
            }),
            bounds: heapless::Vec::from_slice(&[10, 20]).unwrap(),
            counts: heapless::Vec::from_slice(&[1, 1, 1]).unwrap(),
            sum_nanos: 5,
            root: Totals::default(),
            callers,
            overflow: Totals::default(),
            concurrent: Some(1),
            max_nanos: Some(9),
        };
        let Some(frames) = std::panic::catch_unwind(|| crafted("long", &f, false)).ok() else {
            continue; // more than a frame holds: the encoder refuses, nothing to render
        };
        let (committed, skipped) = feed(&devices, &mut reader, &frames);
        assert_eq!((committed.len(), skipped), (1, vec![]), "labels of {n} bytes");
    }
    let text = devices.render_to_string();
    assert_eq!(picometrics_test_support::exposition::check_exposition(&text), Ok(()), "{text}");
}

/// The duplicate check skips its scan while a dump's functions have the names of the device's
/// previous dump at each place: a repeat in a later dump is still caught, wherever it falls.
#[test]
fn a_function_repeated_in_a_later_dump_is_caught() {
    use picometrics::model::Totals;
    let function = |name: &'static str| {
        frame::Message::Function(frame::FunctionRecord {
            function: name,
            module: "m",
            objective: None,
            bounds: heapless::Vec::from_slice(&[10]).unwrap(),
            counts: heapless::Vec::from_slice(&[1, 0]).unwrap(),
            sum_nanos: 5,
            root: Totals { ok: 1, error: 0 },
            callers: heapless::Vec::new(),
            overflow: Totals::default(),
            concurrent: None,
            max_nanos: None,
        })
    };
    let devices = Devices::new();
    let mut reader = FrameReader::new();
    let (c, s) = feed(&devices, &mut reader, &hand_made("d", vec![function("a"), function("b")]));
    assert_eq!((c.len(), s), (1, vec![]));
    for repeated in [vec!["a", "a"], vec!["a", "b", "a"], vec!["a", "b", "b"], vec!["b", "a", "b"]] {
        let records = repeated.iter().map(|n| function(n)).collect();
        let (c, s) = feed(&devices, &mut reader, &hand_made("d", records));
        assert_eq!(c, [], "{repeated:?}");
        assert_eq!(s.iter().map(Skipped::reason).collect::<Vec<_>>(), ["duplicate_function"], "{repeated:?}");
    }
    let (c, s) =
        feed(&devices, &mut reader, &hand_made("d", vec![function("a"), function("b"), function("c")]));
    assert_eq!((c.len(), s), (1, vec![]), "in step, then one more");
}
