//! Dumps written by hand, as firmware writes them: for the tests that feed a bridge devices it
//! never saw (over `--accept`, `--accept-http`, into dashboards).

use picometrics::frame::{self, Begin, ChangedRecord, FunctionRecord, Message, StreamId, MAX_FRAME};
use picometrics::model::{Build, ObjectiveLabels, Totals};

/// Dump `seq` of `device`, of build `version`: one function `module::function` with
/// `ok` and `error` calls, all in the first default bucket. Its frames, each with its `0x00`
/// (the first a lone `0x00`), on the device's stream id — or with no stream id, as wire version
/// 4 firmware writes them (`stream: None`).
pub fn dump(
    device: &str,
    seq: u32,
    function: (&str, &str),
    calls: (u64, u64),
    version: &str,
    stream: Option<StreamId>,
) -> Vec<Vec<u8>> {
    dump_for(None, device, seq, function, calls, version, stream)
}

/// [`dump`] of a function with `objective`.
pub fn dump_for(
    objective: Option<ObjectiveLabels<'_>>,
    device: &str,
    seq: u32,
    (module, function): (&str, &str),
    (ok, error): (u64, u64),
    version: &str,
    stream: Option<StreamId>,
) -> Vec<Vec<u8>> {
    let mut buf = [0u8; MAX_FRAME];
    let mut frames = vec![vec![0u8]];
    let mut push = |m: &Message<'_>| {
        frames.push(match stream {
            Some(s) => frame::encode_message_on(m, s, &mut buf).unwrap().to_vec(),
            None => frame::encode_message_as(m, frame::OLDEST_VERSION, None, &mut buf).unwrap().to_vec(),
        });
    };
    let build = Build {
        version,
        commit: "f00d",
        branch: "main",
        service_name: "fleet",
        repository_url: "",
        extra: None,
    };
    push(&Message::Begin(Begin {
        device,
        seq,
        build,
        counter_bits: 32,
        uptime_nanos: u64::from(seq) * 1_000_000_000,
        base: None,
    }));
    let (counts, sum_nanos, root) = first_bucket(picometrics::buckets::DEFAULT.len() + 1, (ok, error));
    push(&Message::Function(FunctionRecord {
        function,
        module,
        objective,
        bounds: heapless::Vec::from_slice(&picometrics::buckets::DEFAULT).unwrap(),
        counts,
        sum_nanos,
        root,
        callers: heapless::Vec::new(),
        overflow: Totals::default(),
        concurrent: None,
        max_nanos: None,
    }));
    push(&Message::End { seq, functions: 1, metrics: 0 });
    frames
}

/// Dump `seq` of `device` relative to its dump `base` (wire version 6, as a device with a
/// `frame::Baseline` writes it once `base` was acknowledged): the one function of [`dump`], by
/// its place, now with `ok` and `error` calls, all in the first bucket; on the device's stream
/// id.
pub fn relative(device: &str, seq: u32, base: u32, (ok, error): (u64, u64)) -> Vec<Vec<u8>> {
    let mut buf = [0u8; MAX_FRAME];
    let stream = StreamId::of(device);
    let mut frames = vec![vec![0u8]];
    let mut push =
        |m: &Message<'_>| frames.push(frame::encode_message_on(m, stream, &mut buf).unwrap().to_vec());
    let build =
        Build { version: "", commit: "", branch: "", service_name: "", repository_url: "", extra: None };
    let uptime_nanos = u64::from(seq) * 1_000_000_000;
    push(&Message::Begin(Begin { device, seq, build, counter_bits: 32, uptime_nanos, base: Some(base) }));
    // Trailing zero buckets may be left out: the bridge fills them.
    let (counts, sum_nanos, root) = first_bucket(1, (ok, error));
    push(&Message::Changed(ChangedRecord {
        index: 0,
        counts,
        sum_nanos,
        root,
        callers: heapless::Vec::new(),
        overflow: Totals::default(),
        concurrent: None,
        max_nanos: None,
    }));
    push(&Message::End { seq, functions: 1, metrics: 0 });
    frames
}

/// A hand-written dump's values for its function: `ok` and `error` calls, a microsecond each,
/// all in the first of `buckets` buckets.
fn first_bucket<const N: usize>(
    buckets: usize,
    (ok, error): (u64, u64),
) -> (heapless::Vec<u64, N>, u64, Totals) {
    let counts = (0..buckets).map(|b| if b == 0 { ok + error } else { 0 }).collect();
    (counts, (ok + error) * 1_000, Totals { ok, error })
}
