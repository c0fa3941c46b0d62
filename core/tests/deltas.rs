//! Dumps that leave out unchanged functions (`frame::Baseline`, wire version 6): what is left
//! out, when a dump is whole again, and what an acknowledgement may name. A binary of its own,
//! so no other test's calls change the registry between two dumps. Run with
//! `cargo test -p picometrics --features frames --test deltas`.
#![cfg(feature = "frames")]

use picometrics::frame::{self, Baseline, Message};
use picometrics::periodic::DumpInfo;
use picometrics::picometrics;

#[picometrics]
fn busy() {}

#[picometrics]
fn idle() {}

/// Calls `write` with `Baseline::write_dump`'s sink while one call is in flight.
#[picometrics(track_concurrency)]
fn in_flight(write: &mut dyn FnMut()) {
    write();
}

/// The base and the functions of dump `seq`, written through `baseline`, and its bytes but for
/// user metrics' frames (sent whole in every dump: with `persist`, its boot counters).
fn dump<const N: usize>(baseline: &mut Baseline<N>, seq: u32) -> (Option<u32>, Vec<String>, usize) {
    let mut bytes = Vec::new();
    baseline
        .write_dump("dev", DumpInfo { seq, uptime_nanos: 0 }, |b| {
            bytes.extend_from_slice(b);
            Ok::<_, ()>(())
        })
        .unwrap();
    let mut len = bytes.len();
    let (mut base, mut functions, mut ended) = (None, Vec::new(), false);
    for frame in bytes.split_mut(|&b| b == 0).filter(|f| !f.is_empty()) {
        let framed = frame.len() + 1;
        match frame::decode(frame).unwrap() {
            Message::Begin(b) => base = b.base,
            Message::Function(f) => {
                assert_eq!(base, None, "a whole function in a whole dump only");
                functions.push(f.function.to_owned());
            }
            Message::Changed(c) => {
                assert!(base.is_some(), "a function by its place in a relative dump only");
                // Its place in the base is its place in the registry.
                let f = picometrics::registry::functions()[usize::from(c.index)].snapshot();
                assert_eq!(c.counts.iter().sum::<u64>(), f.histogram.counts.iter().sum::<u64>());
                functions.push(f.function.to_owned());
            }
            Message::End { seq: s, functions: n, .. } => {
                assert_eq!((s, usize::from(n)), (seq, functions.len()), "End counts what was sent");
                ended = true;
            }
            Message::Metric(_) => len -= framed,
        }
    }
    assert!(ended);
    functions.sort();
    (base, functions, len)
}

fn names(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

#[test]
fn unchanged_functions_are_left_out_once_a_dump_is_acknowledged() {
    let all = names(&["busy", "idle", "in_flight"]);
    let mut baseline = Baseline::<8>::new();
    busy();
    let (base, functions, whole) = dump(&mut baseline, 1);
    assert_eq!((base, &functions), (None, &all), "nothing acknowledged: whole");
    assert!(!baseline.acknowledge(2), "only the dump last written can be acknowledged");
    assert!(baseline.acknowledge(1));
    assert_eq!(baseline.base(), Some(1));

    let (base, functions, empty) = dump(&mut baseline, 2);
    assert_eq!((base, functions.len()), (Some(1), 0), "no call since dump 1");
    assert!(empty * 3 < whole, "{empty} bytes for nothing changed, {whole} whole");

    // Dump 2 was not acknowledged (lost on the way): dump 3 is still relative to dump 1.
    busy();
    let (base, functions, _) = dump(&mut baseline, 3);
    assert_eq!((base, functions), (Some(1), names(&["busy"])));
    assert!(baseline.acknowledge(3));
    let (base, functions, _) = dump(&mut baseline, 4);
    assert_eq!((base, functions.len()), (Some(3), 0), "busy's new total is the base's now");

    // A call in flight is sent, whatever the totals say.
    let mut during = None;
    in_flight(&mut || during = Some(dump(&mut baseline, 5)));
    let (base, functions, _) = during.unwrap();
    assert_eq!((base, functions), (Some(3), names(&["in_flight"])));

    // The receiver does not hold the base: whole again.
    baseline.forget();
    let (base, functions, _) = dump(&mut baseline, 6);
    assert_eq!((base, functions), (None, all.clone()));
    // A failed write acknowledges nothing.
    assert!(baseline.acknowledge(6));
    let failed = baseline.write_dump("dev", DumpInfo { seq: 7, uptime_nanos: 0 }, |_| Err(()));
    assert!(failed.is_err());
    assert!(!baseline.acknowledge(7));
    assert_eq!(baseline.base(), Some(6));

    // Functions past the baseline's capacity are always sent.
    let mut small = Baseline::<1>::new();
    dump(&mut small, 1);
    assert!(small.acknowledge(1));
    let (_, functions, _) = dump(&mut small, 2);
    assert_eq!(functions.len(), 2, "the two past N = 1: {functions:?}");
}
