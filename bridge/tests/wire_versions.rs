//! Every wire version from 4 on: dumps recorded from firmware of versions 4 and 5 are read
//! with their exact counts, and version 6's dumps that leave out unchanged functions
//! (`frame::Baseline`) are made whole from the dump they are relative to — or refused, with
//! `409` over HTTP, by a bridge that does not hold it.

mod outcomes;

use picometrics::frame::{self, Baseline};
use picometrics::periodic::DumpInfo;
use picometrics::picometrics;
use picometrics_bridge::{Committed, Devices, FrameReader, Skipped};
use picometrics_test_support::text;

#[picometrics]
fn sampled() {}

#[picometrics]
fn reported() -> Result<(), ()> {
    Err(())
}

/// `function_calls_total` of `device`'s `function` and `result`, if the bridge serves it.
fn calls(devices: &Devices, device: &str, function: &str, result: &str) -> Option<f64> {
    let samples = text::parse(&devices.render_to_string());
    let s = text::all(
        &samples,
        "function_calls_total",
        &[("device", device), ("function", function), ("result", result)],
    );
    s.first().map(|s| s.value)
}

/// Feeds `wire` to a new reader.
fn feed(devices: &Devices, wire: &[u8]) -> (Vec<Committed>, Vec<Skipped>) {
    outcomes::feed(devices, &mut FrameReader::new(), wire)
}

fn skipped_total(devices: &Devices, reason: &str) -> f64 {
    let samples = text::parse(&devices.render_to_string());
    text::all(&samples, "picometrics_bridge_frames_skipped_total", &[("reason", reason)])
        .iter()
        .map(|s| s.value)
        .sum()
}

/// Dumps recorded from wire version 4 and 5 firmware (`recorded/wire-v*.hex`, written by the
/// encoders of those versions): device `field-7`, dump 41, `sensor::read` with 90 ok and 3
/// error calls.
#[test]
fn recorded_version_4_and_5_dumps_are_read() {
    for version in [4, 5] {
        let hex = std::fs::read_to_string(format!(
            "{}/tests/recorded/wire-v{version}.hex",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let hex = hex.trim();
        let bytes: Vec<u8> =
            (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect();
        let first = bytes.iter().skip(1).position(|&b| b == 0).unwrap() + 1;
        let decoded = frame::decode_frame(&mut bytes[1..first].to_vec()).map(|f| f.version);
        assert_eq!(decoded, Ok(version), "the recording is of version {version}");
        let devices = Devices::new();
        let (committed, skipped) = feed(&devices, &bytes);
        assert_eq!((committed, skipped), (vec![Committed::New { device: "field-7".into() }], vec![]));
        assert_eq!(calls(&devices, "field-7", "read", "ok"), Some(90.0), "version {version}");
        assert_eq!(calls(&devices, "field-7", "read", "error"), Some(3.0), "version {version}");
    }
}

/// One dump through `baseline`, as the device would `POST` it.
fn body(baseline: &mut Baseline<8>, seq: u32) -> Vec<u8> {
    let mut body = Vec::new();
    baseline
        .write_dump("meter-3", DumpInfo { seq, uptime_nanos: u64::from(seq) }, |b| {
            body.extend_from_slice(b);
            Ok::<_, ()>(())
        })
        .unwrap();
    body
}

#[test]
fn dumps_that_leave_out_unchanged_functions_are_made_whole_or_refused() {
    let mut baseline = Baseline::<8>::new();
    sampled();
    let _ = reported();
    let bridge = Devices::new();
    let whole = body(&mut baseline, 1);
    assert!(bridge.post_dumps(&whole, None).is_ok());
    assert!(baseline.acknowledge(1));

    // Only `sampled` changed: the dump leaves `reported` out, the bridge still serves it.
    sampled();
    let delta = body(&mut baseline, 2);
    assert!(delta.len() * 2 < whole.len(), "{} bytes, whole {}", delta.len(), whole.len());
    assert_eq!(bridge.post_dumps(&delta, None), Ok(vec![Committed::Updated { device: "meter-3".into() }]));
    assert!(baseline.acknowledge(2));
    assert_eq!(calls(&bridge, "meter-3", "sampled", "ok"), Some(2.0));
    assert_eq!(calls(&bridge, "meter-3", "reported", "error"), Some(1.0), "left out, kept from dump 1");
    let samples = text::parse(&bridge.render_to_string());
    let build = text::all(&samples, "build_info", &[("device", "meter-3")]);
    assert_eq!(build.len(), 1, "the build is dump 1's");
    assert_eq!(build[0].label("version"), Some(env!("CARGO_PKG_VERSION")));

    // Another bridge never saw dump 2: it refuses, changes nothing, and says to send it whole.
    let other = Devices::new();
    let _ = reported();
    let delta = body(&mut baseline, 3);
    let refusal = other.post_dumps(&delta, None).unwrap_err();
    assert_eq!(refusal.status, 409, "{refusal}");
    assert!(refusal.reason.contains("send a whole dump"), "{refusal}");
    assert_eq!(calls(&other, "meter-3", "reported", "error"), None);
    assert_eq!(skipped_total(&other, "base_not_held"), 1.0);
    baseline.forget();
    assert!(other.post_dumps(&body(&mut baseline, 3), None).is_ok());
    assert!(baseline.acknowledge(3));
    assert_eq!(calls(&other, "meter-3", "reported", "error"), Some(2.0));
    assert_eq!(calls(&other, "meter-3", "sampled", "ok"), Some(2.0));

    // On a stream (`--accept`, a UART) the same dump is skipped whole, its frames with it.
    let (committed, skipped) = feed(&bridge, &body(&mut baseline, 4));
    assert_eq!(committed, []);
    assert_eq!(
        skipped,
        [Skipped::BaseNotHeld { device: "meter-3".into(), base: 3 }],
        "one skip, not one a frame"
    );
    assert_eq!(
        calls(&bridge, "meter-3", "reported", "error"),
        Some(1.0),
        "the first bridge still holds dump 2"
    );

    // A whole dump that lands (on another source) between a dump's `Begin` and its `End`
    // replaces its base: at its `End` the dump cannot be made whole.
    let _ = reported();
    let relative = body(&mut baseline, 4);
    let end_at = relative[..relative.len() - 1].iter().rposition(|&b| b == 0).unwrap() + 1;
    let (c, s) = feed(&other, &relative[..end_at]);
    assert_eq!((c, s), (vec![], vec![]), "begun: dump 3 is held");
    baseline.forget();
    assert!(other.post_dumps(&body(&mut baseline, 5), None).is_ok());
    let (c, s) = feed(&other, &relative[end_at..]);
    assert_eq!(c, []);
    assert_eq!(s, [Skipped::BaseNotHeld { device: "meter-3".into(), base: 3 }]);
    assert_eq!(calls(&other, "meter-3", "reported", "error"), Some(3.0), "dump 5's, whole");
}

/// A hand-made dump of device `d`: `Begin` (relative to `base`, if any), `functions`, `End`.
fn hand_made(seq: u32, base: Option<u32>, functions: &[frame::Message<'_>]) -> Vec<u8> {
    use picometrics::model::Build;
    let build =
        Build { version: "1", commit: "", branch: "", service_name: "s", repository_url: "", extra: None };
    let begin = frame::Begin { device: "d", seq, build, counter_bits: 32, uptime_nanos: 1, base };
    let end = frame::Message::End { seq, functions: functions.len() as u16, metrics: 0 };
    let mut out = vec![0];
    let mut buf = [0u8; frame::MAX_FRAME];
    for m in std::iter::once(&frame::Message::Begin(begin)).chain(functions).chain([&end]) {
        out.extend_from_slice(frame::encode_message(m, &mut buf).unwrap());
    }
    out
}

/// A function's values by its place in the base: `index`, these `counts`.
fn changed(index: u16, counts: &[u64]) -> frame::Message<'static> {
    use picometrics::model::Totals;
    frame::Message::Changed(frame::ChangedRecord {
        index,
        counts: heapless::Vec::from_slice(counts).unwrap(),
        sum_nanos: 1,
        root: Totals { ok: counts.iter().sum(), error: 0 },
        callers: heapless::Vec::new(),
        overflow: Totals::default(),
        concurrent: None,
        max_nanos: None,
    })
}

/// A function by place that the base does not have, twice, with more buckets than the base's
/// bounds, or in a dump relative to none: the dump is refused whole and counted; the base is
/// still served as it was.
#[test]
fn a_function_by_place_must_name_one_of_the_base() {
    use picometrics::model::Totals;
    let mut counts = heapless::Vec::new();
    for b in 0..=2 {
        let _ = counts.push(if b == 1 { 4 } else { 0 });
    }
    let whole = frame::Message::Function(frame::FunctionRecord {
        function: "f",
        module: "m",
        objective: None,
        bounds: heapless::Vec::from_slice(&[10, 20]).unwrap(),
        counts,
        sum_nanos: 60,
        root: Totals { ok: 4, error: 0 },
        callers: heapless::Vec::new(),
        overflow: Totals::default(),
        concurrent: None,
        max_nanos: None,
    });
    let devices = Devices::new();
    assert_eq!(feed(&devices, &hand_made(1, None, &[whole])).1, []);
    for (reason, base, functions) in [
        ("unknown_function", Some(1), vec![changed(1, &[1])]),
        ("unknown_function", None, vec![changed(0, &[1])]),
        ("duplicate_function", Some(1), vec![changed(0, &[1]), changed(0, &[2])]),
        ("invalid_counts", Some(1), vec![changed(0, &[0, 0, 0, 1])]),
    ] {
        let before = skipped_total(&devices, reason);
        let (committed, skipped) = feed(&devices, &hand_made(2, base, &functions));
        assert_eq!(committed, [], "{reason}");
        assert_eq!(skipped.iter().map(Skipped::reason).collect::<Vec<_>>(), [reason]);
        assert_eq!(skipped_total(&devices, reason), before + 1.0);
        assert_eq!(calls(&devices, "d", "f", "ok"), Some(4.0), "dump 1 still served");
    }
    // A caller by a place the base lacks.
    let by_place = |index| {
        let frame::Message::Changed(mut c) = changed(0, &[1]) else { unreachable!() };
        let _ = c.callers.push(frame::CallerRef::Place { index, calls: Totals { ok: 1, error: 0 } });
        c.root = Totals::default();
        frame::Message::Changed(c)
    };
    let (committed, skipped) = feed(&devices, &hand_made(2, Some(1), &[by_place(9)]));
    assert_eq!(
        (committed, skipped.iter().map(Skipped::reason).collect::<Vec<_>>()),
        (vec![], vec!["invalid_callers"])
    );
    // Fewer buckets than the base's bounds: the rest are zero. A caller by place is named as
    // the base names it (here `f` calls itself).
    let (committed, skipped) = feed(&devices, &hand_made(2, Some(1), &[changed(0, &[5, 2])]));
    assert_eq!((committed.len(), skipped), (1, vec![]));
    assert_eq!(calls(&devices, "d", "f", "ok"), Some(7.0));
    let (committed, skipped) = feed(&devices, &hand_made(3, Some(2), &[by_place(0)]));
    assert_eq!((committed.len(), skipped), (1, vec![]));
    let samples = text::parse(&devices.render_to_string());
    let edge = [("device", "d"), ("function", "f"), ("caller_function", "f"), ("caller_module", "m")];
    assert_eq!(text::all(&samples, "function_calls_total", &edge).first().map(|s| s.value), Some(1.0));
}

/// Refused dumps are counted once, their later frames dropped quietly — for at most
/// `max_streams` (16) dumps in progress on a source, so a hostile source cannot grow the
/// bridge's memory by opening refused dumps on every stream id: the oldest refusals are
/// forgotten, their later frames counted as outside any dump.
#[test]
fn refused_dumps_are_counted_once_and_remembered_boundedly() {
    use picometrics::frame::StreamId;
    use picometrics::model::Build;
    let build =
        Build { version: "1", commit: "", branch: "", service_name: "s", repository_url: "", extra: None };
    let mut buf = [0u8; frame::MAX_FRAME];
    let names: Vec<String> = (0..20).map(|k| format!("x{k}")).collect();
    let mut wire = Vec::new();
    for name in &names {
        let begin =
            frame::Begin { device: name, seq: 2, build, counter_bits: 32, uptime_nanos: 1, base: Some(1) };
        wire.extend_from_slice(
            frame::encode_message_on(&frame::Message::Begin(begin), StreamId::of(name), &mut buf).unwrap(),
        );
    }
    for name in &names {
        let end = frame::Message::End { seq: 2, functions: 1, metrics: 0 };
        for m in [changed(0, &[1]), end] {
            wire.extend_from_slice(frame::encode_message_on(&m, StreamId::of(name), &mut buf).unwrap());
        }
    }
    let devices = Devices::new();
    let (committed, skipped) = feed(&devices, &wire);
    assert_eq!(committed, []);
    let count = |reason: &str| skipped.iter().filter(|s| s.reason() == reason).count();
    assert_eq!((count("base_not_held"), count("outside_dump")), (20, 2 * 4), "{skipped:?}");
    assert_eq!(skipped.len(), 28);
}
