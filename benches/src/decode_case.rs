//! What a bridge does with each frame of a dump: one function's frame (wire version 6, the
//! default bounds, three buckets used, two callers) decoded in place, for callgrind.

use picometrics::frame::{self, FunctionRecord, Message, StreamId, MAX_FRAME};
use picometrics::model::{Caller, Totals};

/// The case's name for `callgrind_case`.
pub const NAME: &str = "frame/decode";

/// The frame, as firmware writes it, without its delimiter.
pub fn function_frame() -> Vec<u8> {
    let bounds = picometrics::buckets::DEFAULT;
    let mut counts = heapless::Vec::new();
    for b in 0..=bounds.len() {
        let _ = counts.push([90, 7, 3].get(b).copied().unwrap_or(0));
    }
    let caller = |function| Caller { function, module: "app", calls: Totals { ok: 40, error: 2 } };
    let record = FunctionRecord {
        function: "read_sensor",
        module: "app::sensors",
        objective: None,
        bounds: heapless::Vec::from_slice(&bounds).unwrap(),
        counts,
        sum_nanos: 123_456_789,
        root: Totals { ok: 14, error: 2 },
        callers: heapless::Vec::from_slice(&[caller("poll"), caller("calibrate")]).unwrap(),
        overflow: Totals::default(),
        concurrent: None,
        max_nanos: None,
    };
    let mut buf = [0u8; MAX_FRAME];
    let framed =
        frame::encode_message_on(&Message::Function(record), StreamId::of("dev-1"), &mut buf).unwrap();
    framed[..framed.len() - 1].to_vec()
}

/// Decodes `iters` copies of `frame`, each in a buffer of its own as a bridge's reader hands
/// them over; the sum of their sums, so nothing is optimised away.
#[inline(never)]
pub fn run_decode(frame: &[u8], iters: u64) -> u64 {
    let mut buf = [0u8; MAX_FRAME];
    let mut acc = 0u64;
    for _ in 0..iters {
        let bytes = &mut buf[..frame.len()];
        bytes.copy_from_slice(frame);
        if let Ok(Message::Function(f)) = frame::decode(std::hint::black_box(bytes)) {
            acc = acc.wrapping_add(f.sum_nanos);
        }
    }
    acc
}
