//! [`Limits`]: what the bridge keeps and for how long.

use crate::{MAX_DEVICES, MAX_STREAMS};
use std::time::Duration;

/// What the bridge keeps and for how long: every limit a device could push against.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Devices kept (default [`MAX_DEVICES`]). A new device beyond it takes the place of the
    /// one silent longest, so names a device made up cannot lock out a real one that dumps.
    pub max_devices: usize,
    /// Bytes of exposition text one device's latest dump may render to (default 4 MiB); a
    /// dump over it is refused and counted (`over_budget`).
    pub max_device_bytes: usize,
    /// Bytes of exposition text of all devices together (default 64 MiB): devices silent
    /// longest are dropped to make room for a new dump.
    pub max_total_bytes: usize,
    /// A device is reported down (`picometrics_bridge_device_up` 0) after this long without a
    /// complete dump (default 30 s)…
    pub down_after: Duration,
    /// …and forgotten after this long (default 5 min).
    pub forget_after: Duration,
    /// Dumps received at once on one source, one per [`StreamId`](picometrics::frame::StreamId) of the devices sharing it
    /// (default [`MAX_STREAMS`]; on all sources together at most `max_devices`). A dump
    /// beginning beyond it takes the place of the one silent longest, which is counted
    /// (`incomplete_dump`); each is also held to `max_device_bytes`.
    pub max_streams: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_devices: MAX_DEVICES,
            max_device_bytes: 4 << 20,
            max_total_bytes: 64 << 20,
            down_after: Duration::from_secs(30),
            forget_after: Duration::from_secs(300),
            max_streams: MAX_STREAMS,
        }
    }
}
