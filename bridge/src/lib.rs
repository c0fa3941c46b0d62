//! The host side of [`picometrics::frame`]: cut a byte stream from a device (serial line, TCP
//! socket, stdin) into frames, assemble whole dumps, keep the latest dump per device and expose
//! them all with a `device` label. The `picometrics-bridge` binary serves this over HTTP.
//!
//! Each device's dump is mapped onto picometrics' exposition model (a
//! [`picometrics::model::Source`]) and written by its one writer when the dump completes, so a
//! device's series are exactly what the same functions would show on a host, plus the `device`
//! label; a scrape only joins the stored texts.
//!
//! Nothing a device sends can crash the bridge or make it allocate without bound: frames are
//! capped at [`MAX_FRAME`] bytes, dumps at [`MAX_FUNCTIONS`] functions, labels at [`MAX_LABEL`]
//! bytes, devices and rendered bytes by [`Limits`]; a dump that would break the exposition rules
//! is rejected whole; whatever is skipped is counted in
//! `picometrics_bridge_frames_skipped_total{reason}` and reported to the caller with its reason.
//!
//! A dump replaces the device's previous one only once it is complete (its `End` frame, with
//! the right count, arrived), so a scrape never sees half a dump, and a source that disconnects
//! mid-dump leaves the last complete one in place: counters stay monotonic across reconnects.
//! A device that restarts sends smaller counters — Prometheus reads that as a counter reset,
//! like any restarted process.
//!
//! ```
//! use picometrics_bridge::{Devices, FrameReader};
//!
//! # #[picometrics::picometrics] fn handled() {}
//! # handled();
//! // What a device would send (here: this process's own registry).
//! let mut wire = Vec::new();
//! picometrics::frame::write_dump("dev-1", 0, |b| Ok::<_, ()>(wire.extend_from_slice(b))).unwrap();
//!
//! let devices = Devices::new();
//! let mut reader = FrameReader::new();
//! devices.feed(&mut reader, &wire, |outcome| assert!(outcome.is_ok(), "{outcome:?}"));
//! let text = devices.render_to_string();
//! assert!(text.contains(r#"function_calls_total{device="dev-1",function="handled""#));
//! ```

mod assemble;
mod checks;
mod dump;
mod ingest;
mod limits;
mod outcome;
mod reader;
mod render;
mod store;

pub use ingest::{DeviceTokens, Refusal};
pub use limits::Limits;
pub use outcome::{Committed, Invalid, Skipped};
pub use picometrics::frame::MAX_FRAME;
pub use reader::FrameReader;
pub use store::{Devices, SourceId};

/// Function frames one dump may hold; a longer dump is discarded.
pub const MAX_FUNCTIONS: usize = 4096;

/// User metric frames one dump may hold; a longer dump is discarded.
pub const MAX_METRICS: usize = 4096;

/// Devices kept by default ([`Limits::max_devices`]); a new device beyond takes the place of
/// the one silent longest.
pub const MAX_DEVICES: usize = 1024;

/// Dumps received at once by default ([`Limits::max_streams`]): one per device sharing the
/// source.
pub const MAX_STREAMS: usize = 16;

/// The longest label value a device may send (function, module, caller, objective names).
pub const MAX_LABEL: usize = 256;
