//! Arbitrary bytes from a device, in arbitrary pieces, through the bridge's frame reader, frame
//! decoder, dump assembly and renderer: no panic, and the reader never holds more than one
//! frame's worth of bytes (libFuzzer's RSS limit catches any other unbounded growth), and what
//! is served keeps the exposition rules (`picometrics_test_support::exposition`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use picometrics_bridge::{Devices, FrameReader, MAX_FRAME};

fuzz_target!(|data: &[u8]| {
    // The first byte picks the piece size, so frames also arrive split.
    let Some((&split, bytes)) = data.split_first() else { return };
    let devices = Devices::new();
    let mut reader = FrameReader::new();
    for piece in bytes.chunks(usize::from(split).max(1)) {
        devices.feed(&mut reader, piece, |_| {});
        assert!(reader.pending() <= MAX_FRAME);
    }
    let _ = devices.source_closed();
    // Whatever arrived, what is served keeps the exposition rules (histograms included).
    let text = devices.render_to_string();
    assert_eq!(picometrics_test_support::exposition::check_exposition(&text), Ok(()), "{text}");
});
