//! The frame format's unit tests (`mod.rs` kept to the format).

use super::*;

fn framed(m: &Message<'_>) -> heapless::Vec<u8, MAX_FRAME> {
    let mut buf = [0u8; MAX_FRAME];
    let bytes = encode_message(m, &mut buf).unwrap();
    // Without the delimiter, as a reader hands frames over.
    heapless::Vec::from_slice(&bytes[..bytes.len() - 1]).unwrap()
}

#[test]
fn messages_round_trip_and_damage_is_caught() {
    let build =
        Build { version: "1", commit: "c", branch: "b", service_name: "s", repository_url: "", extra: None };
    let mut callers = heapless::Vec::new();
    let _ = callers.push(Caller { function: "p", module: "m", calls: Totals { ok: 3, error: 1 } });
    let f = FunctionRecord {
        function: "f\"\n",
        module: "m",
        objective: Some(ObjectiveLabels { name: "o", success_percentile: Some("99"), latency: None }),
        bounds: heapless::Vec::from_slice(&[10, 100]).unwrap(),
        counts: heapless::Vec::from_slice(&[u64::MAX, 0, 1]).unwrap(),
        sum_nanos: 12_345,
        root: Totals { ok: 1, error: 2 },
        callers,
        overflow: Totals::default(),
        concurrent: Some(0),
        max_nanos: Some(4_000_000_000),
    };
    for m in [
        Message::Begin(Begin {
            device: "d",
            seq: 7,
            build,
            counter_bits: 32,
            uptime_nanos: 3_000_000_000,
            base: None,
        }),
        Message::Function(f),
        Message::Metric(MetricRecord {
            name: "sent_total",
            help: "Sent \"bytes\"",
            labels: heapless::Vec::from_slice(&[("link", "uart"), ("port", "0")]).unwrap(),
            value: ValueRecord::Counter(u64::MAX),
        }),
        Message::Metric(MetricRecord {
            name: "level",
            help: "",
            labels: heapless::Vec::new(),
            value: ValueRecord::Gauge(-5),
        }),
        Message::Metric(MetricRecord {
            name: "sizes",
            help: "h",
            labels: heapless::Vec::new(),
            value: ValueRecord::Histogram {
                bounds: heapless::Vec::from_slice(&[0, 8]).unwrap(),
                counts: heapless::Vec::from_slice(&[1, 2, 3]).unwrap(),
                sum: 40,
            },
        }),
        Message::End { seq: 7, functions: 1, metrics: 3 },
    ] {
        let mut frame = framed(&m);
        assert!(!frame.contains(&0));
        let mut damaged = frame.clone();
        assert_eq!(decode(&mut frame), Ok(m.clone()));
        let last = damaged.len() - 1;
        damaged[last] ^= 0x40;
        assert!(decode(&mut damaged).is_err());
        // What firmware in the field writes, read the same.
        for (version, stream) in [(4, None), (5, Some(StreamId(9))), (6, Some(StreamId(9)))] {
            let mut buf = [0u8; MAX_FRAME];
            let bytes = encode_message_as(&m, version, stream, &mut buf).unwrap();
            let mut frame = bytes[..bytes.len() - 1].to_vec();
            assert_eq!(decode_frame(&mut frame), Ok(Frame { version, stream, message: m.clone() }));
        }
    }
}

#[test]
fn version_6_says_its_base_and_older_versions_cannot() {
    let build =
        Build { version: "1", commit: "", branch: "", service_name: "s", repository_url: "", extra: None };
    let begin = Message::Begin(Begin {
        device: "d",
        seq: 8,
        build,
        counter_bits: 32,
        uptime_nanos: 1,
        base: Some(7),
    });
    let mut frame = framed(&begin);
    let none =
        Build { version: "", commit: "", branch: "", service_name: "", repository_url: "", extra: None };
    let sent = Message::Begin(Begin {
        device: "d",
        seq: 8,
        build: none,
        counter_bits: 32,
        uptime_nanos: 1,
        base: Some(7),
    });
    assert_eq!(decode(&mut frame), Ok(sent), "the build is the base's: not sent");
    let mut buf = [0u8; MAX_FRAME];
    assert_eq!(encode_message_as(&begin, 5, None, &mut buf), None, "version 5 has no base");
    assert_eq!(
        encode_message_as(&Message::End { seq: 1, functions: 0, metrics: 0 }, 4, Some(StreamId(1)), &mut buf),
        None
    );
    assert_eq!(encode_message_as(&begin, 3, None, &mut buf), None);
    let mut callers = heapless::Vec::new();
    let _ = callers.push(CallerRef::Named(Caller {
        function: "p",
        module: "m",
        calls: Totals { ok: 2, error: 0 },
    }));
    let _ = callers.push(CallerRef::Place { index: 7, calls: Totals { ok: 0, error: 1 } });
    let changed = Message::Changed(ChangedRecord {
        index: 300,
        counts: heapless::Vec::from_slice(&[0, 0, 2]).unwrap(),
        sum_nanos: 9,
        root: Totals::default(),
        callers,
        overflow: Totals::default(),
        concurrent: Some(0),
        max_nanos: None,
    });
    let mut frame = framed(&changed);
    assert_eq!(decode(&mut frame), Ok(changed.clone()), "counts up to the last not zero");
    assert_eq!(encode_message_as(&changed, 5, None, &mut buf), None, "version 5 has no Changed");
    assert_eq!(encode_message_as(&begin, VERSION + 1, None, &mut buf), None);
}

/// A function of the default bounds with one bucket used: version 6 writes the bounds as a
/// preset's number and the 14 idle buckets as bits: 40 bytes instead of 115.
#[test]
fn version_6_is_smaller_and_decodes_to_the_same_function() {
    let mut counts = heapless::Vec::<u64, { MAX_BOUNDS + 1 }>::new();
    for b in 0..=crate::buckets::DEFAULT.len() {
        let _ = counts.push(if b == 2 { 40 } else { 0 });
    }
    let f = Message::Function(FunctionRecord {
        function: "read",
        module: "sensor",
        objective: None,
        bounds: heapless::Vec::from_slice(&crate::buckets::DEFAULT).unwrap(),
        counts,
        sum_nanos: 800_000_000,
        root: Totals { ok: 38, error: 2 },
        callers: heapless::Vec::new(),
        overflow: Totals::default(),
        concurrent: None,
        max_nanos: None,
    });
    let (mut five, mut six) = ([0u8; MAX_FRAME], [0u8; MAX_FRAME]);
    let five = encode_message_as(&f, 5, Some(StreamId(1)), &mut five).unwrap().len();
    let six = encode_message_as(&f, 6, Some(StreamId(1)), &mut six).unwrap();
    assert!(six.len() * 5 <= five * 2, "version 6 {} bytes, version 5 {five}", six.len());
    let mut frame = six[..six.len() - 1].to_vec();
    assert_eq!(decode(&mut frame), Ok(f));
}
