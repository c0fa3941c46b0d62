//! Feeding bytes to a bridge's devices and keeping what came of each dump: shared by the
//! bridge's integration tests.

use picometrics_bridge::{Committed, Devices, FrameReader, Skipped};

/// Feeds `bytes` through `reader`, returning what was committed and what was skipped.
pub fn feed(devices: &Devices, reader: &mut FrameReader, bytes: &[u8]) -> (Vec<Committed>, Vec<Skipped>) {
    let (mut committed, mut skipped) = (Vec::new(), Vec::new());
    devices.feed(reader, bytes, |outcome| match outcome {
        Ok(c) => committed.push(c),
        Err(s) => skipped.push(s),
    });
    (committed, skipped)
}
