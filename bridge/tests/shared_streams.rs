//! Devices that share one source (an RS-485 bus, a TCP aggregator, the fleet simulator's one
//! stream): their frames interleave frame by frame and only `Begin` names the device. Frames from
//! version 5 on carry their device's stream id, so nothing is lost; version 4 frames from firmware in
//! the field are still read, one dump at a time, as before.

mod outcomes;

use picometrics::frame::{self, Message, StreamId, OLDEST_VERSION};
use picometrics::picometrics;
use picometrics_bridge::{Committed, Devices, FrameReader, Limits, Skipped};
use picometrics_test_support::text;

#[picometrics]
fn polled(n: u32) -> Result<u32, ()> {
    if n.is_multiple_of(3) {
        Err(())
    } else {
        Ok(n)
    }
}

/// One dump of `polled`, as device `device` writes it: its frames, each with its `0x00`.
fn dump(device: &str, seq: u32) -> Vec<Vec<u8>> {
    let f = picometrics::registry::find("polled", module_path!()).unwrap();
    let mut frames = Vec::new();
    frame::write_dump_of(device, seq, [f], |b| {
        if b != [0] {
            frames.push(b.to_vec());
        }
        Ok::<_, ()>(())
    })
    .unwrap();
    frames
}

/// `frame` as firmware speaking version 4 writes it: the same message, no stream id.
fn as_version_4(frame: &[u8]) -> Vec<u8> {
    let mut body = frame[..frame.len() - 1].to_vec();
    let message = frame::decode(&mut body).unwrap();
    let mut buf = [0u8; frame::MAX_FRAME];
    frame::encode_message_as(&message, OLDEST_VERSION, None, &mut buf).unwrap().to_vec()
}

/// The dumps' frames interleaved one by one, as devices answering in turn on a bus; with how
/// many frames landed inside another device's dump (the attack: every frame but the first and
/// last of each round).
fn interleave(dumps: &[Vec<Vec<u8>>]) -> (Vec<u8>, usize) {
    let (mut wire, mut inside) = (Vec::new(), 0);
    let longest = dumps.iter().map(Vec::len).max().unwrap_or(0);
    for i in 0..longest {
        for d in dumps {
            if let Some(f) = d.get(i) {
                wire.extend_from_slice(f);
                inside += usize::from(i > 0 || !std::ptr::eq(d, &dumps[0]));
            }
        }
    }
    (wire, inside.saturating_sub(1))
}

/// Feeds `wire` to a new reader.
fn feed(devices: &Devices, wire: &[u8]) -> (Vec<Committed>, Vec<Skipped>) {
    outcomes::feed(devices, &mut FrameReader::new(), wire)
}

fn calls(devices: &Devices, device: &str) -> f64 {
    let samples = text::parse(&devices.render_to_string());
    let calls = text::all(&samples, "function_calls_total", &[("device", device), ("function", "polled")]);
    calls.iter().map(|s| s.value).sum()
}

#[test]
fn devices_interleaved_on_one_stream_lose_no_dump() {
    for n in 1..=6 {
        let _ = polled(n);
    }
    let devices = Devices::new();
    let (mut committed, mut inside) = (0, 0);
    for seq in 0..50 {
        let (wire, mixed) = interleave(&[dump("victim", seq), dump("neighbour", seq)]);
        inside += mixed;
        let (c, skipped) = feed(&devices, &wire);
        assert_eq!(skipped, [], "dump {seq}");
        committed += c.len();
    }
    // The attack happened: frames of one device's dump arrived inside the other's, every round.
    assert!(inside >= 50 * 3, "only {inside} frames interleaved");
    assert_eq!(committed, 100, "every dump of both devices");
    // (Other tests of this binary call `polled` too.)
    assert!(calls(&devices, "victim") >= 6.0 && calls(&devices, "neighbour") >= 6.0);
    let frames = dump("victim", 0);
    for mut f in frames {
        let stream = frame::decode_frame(&mut f[..]).map(|f| f.stream);
        assert_eq!(stream, Ok(Some(StreamId::of("victim"))), "every frame carries its device's id");
    }
}

#[test]
fn version_4_firmware_is_still_read_one_dump_at_a_time() {
    let _ = polled(1);
    let v4 = |device: &str, seq: u32| -> Vec<Vec<u8>> {
        dump(device, seq).iter().map(|f| as_version_4(f)).collect()
    };
    let mut first = v4("old", 0)[0].clone();
    first.pop();
    let decoded = frame::decode_frame(&mut first).unwrap();
    assert_eq!((decoded.version, decoded.stream), (OLDEST_VERSION, None));

    let devices = Devices::new();
    let (committed, skipped) = feed(&devices, &v4("old", 0).concat());
    assert_eq!((committed.len(), skipped), (1, vec![]), "a version 4 dump is committed");
    assert!(calls(&devices, "old") >= 1.0);
    // Interleaved, version 4 loses what it always lost — the reason version 5 exists: each
    // `Begin` cuts the other device's dump in progress.
    let (mut kept, mut cut) = (0, 0);
    for seq in 1..=50 {
        let (wire, _) = interleave(&[v4("old", seq), v4("other", seq)]);
        let (c, skipped) = feed(&devices, &wire);
        kept += c.len();
        cut += skipped.iter().filter(|s| matches!(s, Skipped::Incomplete { .. })).count();
    }
    assert_eq!((kept, cut), (0, 50), "version 4 interleaved: {kept} kept, {cut} cut");
}

#[test]
fn dumps_in_progress_are_bounded_and_the_silent_one_makes_room() {
    let _ = polled(2);
    let limits = Limits { max_streams: 4, ..Limits::default() };
    let devices = Devices::with_limits(limits);
    let dumps: Vec<_> = (0..20).map(|i| dump(&format!("bus-{i}"), 0)).collect();
    let (wire, _) = interleave(&dumps);
    let (committed, skipped) = feed(&devices, &wire);
    // Twenty `Begin`s in a row: the first sixteen are pushed out, the last four complete.
    assert_eq!(committed.len(), 4, "{committed:?}");
    let samples = text::parse(&devices.render_to_string());
    let incomplete =
        text::all(&samples, "picometrics_bridge_frames_skipped_total", &[("reason", "incomplete_dump")]);
    assert_eq!(incomplete.first().map(|s| s.value), Some(16.0), "each one pushed out is counted");
    assert!(skipped.iter().all(|s| matches!(s, Skipped::OutsideDump)), "{skipped:?}");
    for i in 16..20 {
        assert!(calls(&devices, &format!("bus-{i}")) >= 1.0, "bus-{i}");
    }
}

#[test]
fn two_devices_on_one_stream_id_are_told_apart_in_the_log() {
    let _ = polled(4);
    // Names whose ids collide (the birthday bound: a few hundred names find a pair).
    let mut seen = std::collections::HashMap::new();
    let (a, b) = (0..100_000)
        .map(|i| format!("node-{i}"))
        .find_map(|name| seen.insert(StreamId::of(&name), name.clone()).map(|other| (other, name)))
        .expect("a pair of names with one stream id");
    assert_ne!(a, b);
    let devices = Devices::new();
    let (wire, _) = interleave(&[dump(&a, 0), dump(&b, 0)]);
    let (_, skipped) = feed(&devices, &wire);
    let why = skipped.iter().find_map(|s| match s {
        Skipped::Incomplete { device, why, .. } if *device == a => Some(*why),
        _ => None,
    });
    assert_eq!(why, Some("another device began a dump on its stream id"), "{skipped:?}");
    let message = Message::End { seq: 0, functions: 0, metrics: 0 };
    let mut buf = [0u8; 64];
    let on = frame::encode_message_on(&message, StreamId::of(&a), &mut buf).unwrap().to_vec();
    let mut body = on[..on.len() - 1].to_vec();
    assert_eq!(frame::decode_frame(&mut body).map(|f| f.stream), Ok(Some(StreamId::of(&b))));
}
