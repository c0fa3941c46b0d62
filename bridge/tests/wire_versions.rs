//! Every wire version from 4 on: dumps recorded from firmware of versions 4 and 5 are read
//! with their exact counts, and version 6's dumps that leave out unchanged functions
//! (`frame::Baseline`) are made whole from the dump they are relative to — or refused, with
//! `409` over HTTP, by a bridge that does not hold it.

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

fn feed(devices: &Devices, wire: &[u8]) -> (Vec<Committed>, Vec<Skipped>) {
    let (mut committed, mut skipped) = (Vec::new(), Vec::new());
    devices.feed(&mut FrameReader::new(), wire, |outcome| match outcome {
        Ok(c) => committed.push(c),
        Err(s) => skipped.push(s),
    });
    (committed, skipped)
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
