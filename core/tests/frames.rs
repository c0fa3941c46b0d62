//! The frame format (feature `frames`): a dump decodes to exactly the registry's snapshots, and
//! every kind of damage is reported as such. Run with
//! `cargo test -p picometrics --features frames --test frames`.
#![cfg(feature = "frames")]

use picometrics::frame::{
    self, DecodeError, FrameError, Message, StreamId, MAX_FRAME, OLDEST_VERSION, VERSION,
};
use picometrics::objectives::{Objective, ObjectiveLatency, ObjectivePercentile};
use picometrics::picometrics;
use picometrics::registry::find;

const SLO: Objective = Objective::new("api")
    .success_rate(ObjectivePercentile::P99_9)
    .latency(ObjectiveLatency::Ms250, ObjectivePercentile::P99);

#[picometrics(objective = SLO, track_concurrency)]
fn leaf(fail: bool) -> Result<(), ()> {
    if fail {
        Err(())
    } else {
        Ok(())
    }
}

#[picometrics]
fn parent() {
    let _ = leaf(true);
    let _ = leaf(false);
}

/// Writes a dump of `leaf` and `parent` and splits it into frames (without delimiters).
fn dump(seq: u32) -> Vec<Vec<u8>> {
    let fs = [find("leaf", module_path!()).unwrap(), find("parent", module_path!()).unwrap()];
    let mut frames = Vec::new();
    frame::write_dump_of("dev", seq, fs, |bytes| {
        if frames.is_empty() && bytes == [0] {
            // The lone delimiter that starts a dump.
            frames.push(Vec::new());
            return Ok(());
        }
        assert!(bytes.len() <= MAX_FRAME);
        assert_eq!(bytes.last(), Some(&0), "each frame ends with its delimiter");
        assert!(!bytes[..bytes.len() - 1].contains(&0), "COBS leaves no zero inside a frame");
        frames.push(bytes[..bytes.len() - 1].to_vec());
        Ok::<_, ()>(())
    })
    .unwrap();
    assert_eq!(frames.remove(0), [0u8; 0], "a dump starts with a lone delimiter");
    // User metrics are in every dump (with `persist`, its boot counters): the tests here are
    // about the functions.
    frames.retain(|f| !matches!(frame::decode(&mut f.clone()), Ok(Message::Metric(_))));
    frames
}

#[test]
fn a_dump_decodes_to_the_snapshots() {
    let _ = leaf(false);
    parent();
    let mut frames = dump(3);
    let [begin, leaf_frame, parent_frame, end] = &mut frames[..] else { panic!("begin, two functions, end") };

    let Message::Begin(begin) = frame::decode(begin).unwrap() else { panic!("no Begin") };
    assert_eq!((begin.device, begin.seq), ("dev", 3));
    assert_eq!(begin.build.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(begin.build.service_name, picometrics::registry::service_name());

    let snapshot = find("leaf", module_path!()).unwrap().snapshot();
    let Message::Function(f) = frame::decode(leaf_frame).unwrap() else { panic!("no Function") };
    assert_eq!((f.function, f.module), ("leaf", module_path!()));
    assert_eq!(f.bounds.as_slice(), snapshot.bounds);
    let counts: Vec<u64> = snapshot.histogram.counts.to_vec();
    assert_eq!(f.counts.as_slice(), counts.as_slice());
    assert_eq!(f.counts.iter().sum::<u64>(), 3);
    assert_eq!(f.sum_nanos, snapshot.histogram.sum_nanos);
    assert_eq!((f.root.ok, f.root.error), (1, 0));
    assert_eq!(f.callers.len(), 1);
    assert_eq!((f.callers[0].function, f.callers[0].calls.ok, f.callers[0].calls.error), ("parent", 1, 1));
    assert_eq!((f.overflow.ok, f.overflow.error), (0, 0));
    assert_eq!(f.concurrent, Some(0));
    let o = f.objective.unwrap();
    assert_eq!((o.name, o.success_percentile, o.latency), ("api", Some("99.9"), Some((250_000_000, "99"))));

    let Message::Function(p) = frame::decode(parent_frame).unwrap() else { panic!("no Function") };
    assert_eq!((p.function, p.concurrent, p.objective), ("parent", None, None));
    let metrics = picometrics::registry::metrics().len() as u16;
    assert_eq!(frame::decode(end).unwrap(), Message::End { seq: 3, functions: 2, metrics });
}

#[test]
fn damage_is_named() {
    let frames = dump(1);
    // Every single-bit flip of a function frame is caught, whatever byte it hits.
    for i in 0..frames[1].len() {
        for bit in 0..8 {
            let mut f = frames[1].clone();
            f[i] ^= 1 << bit;
            let e = frame::decode(&mut f).expect_err("a flipped bit must not decode");
            assert!(
                matches!(e, DecodeError::Cobs | DecodeError::Crc | DecodeError::TooShort),
                "{i}/{bit}: {e}"
            );
        }
    }
    // Cut short, at any length.
    for len in 0..frames[1].len() {
        let mut f = frames[1][..len].to_vec();
        assert!(frame::decode(&mut f).is_err(), "a frame cut to {len} bytes decoded");
    }
    assert!(frame::decode(&mut []).is_err());
    assert_eq!(frame::decode(&mut b"hello, world".to_vec()).unwrap_err(), DecodeError::Cobs);
}

/// A frame of `payload` with a valid CRC, as a future encoder would write it.
fn frame_of(payload: &[u8]) -> Vec<u8> {
    let crc = crc::Crc::<u32>::new(&crc::CRC_32_ISCSI).checksum(payload);
    let mut raw = payload.to_vec();
    raw.extend_from_slice(&crc.to_le_bytes());
    let mut out = vec![0; raw.len() + raw.len() / 254 + 2];
    let n = cobs::encode(&raw, &mut out);
    out.truncate(n);
    out
}

#[test]
fn unknown_versions_and_bad_messages_are_named() {
    assert_eq!(frame::decode(&mut frame_of(&[VERSION + 1, 2, 0, 0])), Err(DecodeError::Version(VERSION + 1)));
    // A valid CRC over a message that does not parse: variant 9 does not exist.
    assert_eq!(frame::decode(&mut frame_of(&[VERSION, 9])), Err(DecodeError::Message));
    // More histogram bounds than any encoder can send: an error, not an allocation.
    let mut m = vec![VERSION, 1, 1, b'f', 1, b'm', 0, 40];
    m.extend(std::iter::repeat_n(1, 40));
    assert_eq!(frame::decode(&mut frame_of(&m)), Err(DecodeError::Message));
    // Trailing bytes after a message.
    assert_eq!(frame::decode(&mut frame_of(&[VERSION, 2, 1, 0, 0, 7])), Err(DecodeError::Message));
    // More metric labels than any encoder can send (variant 3, name "n", no help, 9 labels).
    let mut m = vec![VERSION, 3, 1, b'n', 0, 9];
    m.extend(std::iter::repeat_n([1, b'a', 1, b'b'], 9).flatten());
    m.extend([0, 1]);
    assert_eq!(frame::decode(&mut frame_of(&m)), Err(DecodeError::Message));
    m[5] = 8;
    m.drain(6..10);
    assert!(matches!(frame::decode(&mut frame_of(&m)), Ok(Message::Metric(r)) if r.labels.len() == 8));
    assert_eq!(
        frame::decode(&mut frame_of(&[VERSION, 2, 1, 0, 0])),
        Ok(Message::End { seq: 1, functions: 0, metrics: 0 })
    );
}

#[test]
fn names_too_long_for_a_frame_are_an_error() {
    #[picometrics]
    #[allow(clippy::items_after_statements)]
    fn a_function_whose_name_is_long_but_fine() {}
    a_function_whose_name_is_long_but_fine();
    let f = find("a_function_whose_name_is_long_but_fine", module_path!()).unwrap();
    assert!(frame::write_dump_of("d", 0, [f], |_| Ok::<_, ()>(())).is_ok());
    let long = "x".repeat(MAX_FRAME);
    assert_eq!(frame::write_dump_of(&long, 0, [f], |_| Ok::<_, ()>(())), Err(FrameError::TooLarge));
    assert_eq!(frame::write_dump_of("d", 0, [f], |_| Err("unplugged")), Err(FrameError::Write("unplugged")));
}

#[test]
fn counters_of_both_widths_encode_alike() {
    // Firmware counters are u32, host decoders read u64: postcard's varints agree.
    for v in [0u32, 1, 127, 128, 300, u32::MAX] {
        let (mut a, mut b) = ([0u8; 16], [0u8; 16]);
        assert_eq!(
            postcard::to_slice(&v, &mut a).unwrap(),
            postcard::to_slice(&u64::from(v), &mut b).unwrap()
        );
    }
}

#[test]
fn encoded_messages_round_trip() {
    let m = Message::End { seq: 9, functions: 4, metrics: 0 };
    let mut buf = [0u8; 64];
    let framed = frame::encode_message(&m, &mut buf).unwrap().to_vec();
    assert_eq!(framed.last(), Some(&0));
    let mut body = framed[..framed.len() - 1].to_vec();
    assert_eq!(frame::decode(&mut body), Ok(m.clone()));
    assert_eq!(frame::encode_message(&m, &mut [0u8; 4]), None, "too small a buffer");
}

#[test]
fn version_5_frames_carry_a_stream_id_and_version_4_is_still_read() {
    let end = Message::End { seq: 1, functions: 0, metrics: 0 };
    let read = |payload: &[u8]| {
        let mut frame = frame_of(payload);
        let f = frame::decode_frame(&mut frame)?;
        assert_eq!(f.message, end);
        Ok((f.version, f.stream))
    };
    assert_eq!(read(&[VERSION, 2, 1, 0, 0, 0x34, 0x12]), Ok((VERSION, Some(StreamId(0x1234)))));
    assert_eq!(read(&[VERSION, 2, 1, 0, 0]), Ok((VERSION, None)), "the trailer is optional");
    assert_eq!(read(&[OLDEST_VERSION, 2, 1, 0, 0]), Ok((OLDEST_VERSION, None)));
    // Version 4 has no trailer; a trailer is two bytes, no more, no less.
    assert_eq!(read(&[OLDEST_VERSION, 2, 1, 0, 0, 0x34, 0x12]), Err(DecodeError::Message));
    assert_eq!(read(&[VERSION, 2, 1, 0, 0, 0x34, 0x12, 0]), Err(DecodeError::Message));
    assert_eq!(read(&[OLDEST_VERSION - 1, 2, 1, 0, 0]), Err(DecodeError::Version(OLDEST_VERSION - 1)));

    // A dump's frames all carry its device's id, and ids tell device names apart.
    #[picometrics]
    #[allow(clippy::items_after_statements)]
    fn streamed() {}
    streamed();
    let f = find("streamed", module_path!()).unwrap();
    let mut streams = Vec::new();
    frame::write_dump_of("sensor-7", 0, [f], |b| {
        if b != [0] {
            let mut body = b[..b.len() - 1].to_vec();
            streams.push(frame::decode_frame(&mut body).map(|f| (f.version, f.stream)));
        }
        Ok::<_, ()>(())
    })
    .unwrap();
    // And the user metrics (with `persist`, its boot counters).
    let metrics = picometrics::registry::metrics().len();
    assert_eq!(streams.len(), 3 + metrics, "Begin, one function, End");
    assert!(streams.iter().all(|s| *s == Ok((VERSION, Some(StreamId::of("sensor-7"))))), "{streams:?}");
    assert_ne!(StreamId::of("sensor-7"), StreamId::of("sensor-8"));
}
