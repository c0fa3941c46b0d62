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

pub mod validate;

use picometrics::frame::{self, Build, DecodeError, FunctionRecord, Message, MetricRecord, ValueRecord};
use picometrics::model::{Caller, FunctionSeries, MetricSeries, ObjectiveLabels, Source, Totals};
use picometrics::render::{self, write_header, write_sample, Format, Part};
use picometrics::schema::{check_metric_help, check_metric_label, check_metric_name, Kind, BOOTS, RESETS};
use picometrics::schema::{
    label, BRIDGE_DEVICE_DUMPS, BRIDGE_DEVICE_LAST_DUMP, BRIDGE_DEVICE_UP, BRIDGE_FRAMES_SKIPPED,
    BRIDGE_SOURCE_UP, DUMP_NUMBER, MAX_CALLERS, MAX_METRIC_LABELS, OVERFLOW_CALLER, UPTIME,
};
use std::collections::BTreeMap;
use std::fmt::{self, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use picometrics::frame::MAX_FRAME;

/// Function frames one dump may hold; a longer dump is discarded.
pub const MAX_FUNCTIONS: usize = 4096;

/// User metric frames one dump may hold; a longer dump is discarded.
pub const MAX_METRICS: usize = 4096;

/// Devices kept by default ([`Limits::max_devices`]); a new device beyond takes the place of
/// the one silent longest.
pub const MAX_DEVICES: usize = 1024;

/// Cuts a byte stream into frames at each `0x00`, in a buffer that never grows past
/// [`MAX_FRAME`].
#[derive(Debug)]
pub struct FrameReader {
    buf: Vec<u8>,
    /// Skipping the rest of an overlong frame, up to the next delimiter.
    overlong: bool,
}

impl Default for FrameReader {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameReader {
    /// An empty reader.
    pub fn new() -> Self {
        Self { buf: Vec::with_capacity(MAX_FRAME), overlong: false }
    }

    /// Feeds `bytes`: calls `frame` with each complete frame (without its delimiter, decoded in
    /// place by [`Devices::ingest_frame`] or [`frame::decode`]) and `skipped` with the reason
    /// for each run of bytes that cannot be a frame.
    pub fn feed(&mut self, bytes: &[u8], mut frame: impl FnMut(&mut [u8]), mut skipped: impl FnMut(Skipped)) {
        for chunk in bytes.split_inclusive(|&b| b == 0) {
            let (data, ends) = match chunk.split_last() {
                Some((0, data)) => (data, true),
                _ => (chunk, false),
            };
            if !self.overlong {
                if self.buf.len() + data.len() > MAX_FRAME {
                    self.overlong = true;
                    self.buf.clear();
                    skipped(Skipped::TooLong);
                } else {
                    self.buf.extend_from_slice(data);
                }
            }
            if ends {
                if !self.overlong && !self.buf.is_empty() {
                    frame(&mut self.buf);
                }
                self.buf.clear();
                self.overlong = false;
            }
        }
    }

    /// Bytes of an unfinished frame held, e.g. when the source closes: the frame is truncated.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// Forgets an unfinished frame (the source closed or reconnected).
    pub fn reset(&mut self) {
        self.buf.clear();
        self.overlong = false;
    }
}

/// Why bytes or frames were skipped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Skipped {
    /// No delimiter within [`MAX_FRAME`] bytes.
    TooLong,
    /// The frame did not decode.
    Frame(DecodeError),
    /// A function or metric frame or `End` with no dump started (the stream was joined mid-dump).
    OutsideDump,
    /// A dump ended early: a new `Begin`, a wrong `End`, or the source closed.
    Incomplete {
        /// The device whose dump was cut.
        device: String,
        /// Its dump number.
        seq: u32,
        /// What cut it.
        why: &'static str,
    },
    /// A dump of more than [`MAX_FUNCTIONS`] functions or [`MAX_METRICS`] user metrics.
    OverCapacity,
    /// A dump whose text would exceed the device's or the bridge's byte budget ([`Limits`]).
    OverBudget {
        /// The device whose dump was refused.
        device: String,
    },
    /// A function whose series would break the exposition rules; its whole dump is dropped.
    Invalid {
        /// The device whose dump was dropped.
        device: String,
        /// What is wrong (also the counter's `reason` label).
        why: Invalid,
    },
}

/// Why a device's function was rejected (whole dump dropped, counted by reason).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Invalid {
    /// Bucket bounds empty, zero, or not strictly increasing.
    Bounds,
    /// Not exactly one count per bound plus `+Inf` (`+Inf` missing or repeated).
    Counts,
    /// A count, total or gauge wider than the device's counters, or a histogram whose count
    /// is (its cumulative buckets would wrap inside one dump).
    CounterWidth,
    /// The same `function` and `module` twice in one dump.
    Duplicate,
    /// A caller edge with an empty or reserved name, or the same caller twice: its series
    /// would repeat another one's (uninstrumented callers have empty caller labels, and
    /// `(overflow)` is the overflow's).
    Callers,
    /// A label value longer than [`MAX_LABEL`] bytes.
    LabelTooLong,
    /// A user metric whose name, help or labels break the naming rules
    /// ([`picometrics::schema::check_metric_name`]), or whose histogram is malformed.
    Metric,
    /// The same user metric series (name and labels) twice in one dump, or one family with
    /// two types.
    DuplicateMetric,
}

impl Invalid {
    /// The `reason` label.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Bounds => "invalid_bounds",
            Self::Counts => "invalid_counts",
            Self::CounterWidth => "invalid_counter_width",
            Self::Duplicate => "duplicate_function",
            Self::Callers => "invalid_callers",
            Self::LabelTooLong => "label_too_long",
            Self::Metric => "invalid_metric",
            Self::DuplicateMetric => "duplicate_metric",
        }
    }
}

/// The longest label value a device may send (function, module, caller, objective names).
pub const MAX_LABEL: usize = 256;

/// What is wrong with `f` from a device with `counter_bits`-wide counters, if anything.
fn check(f: &FunctionRecord<'_>, counter_bits: u8, seen: &[Function]) -> Result<(), Invalid> {
    let bounds_ok = !f.bounds.is_empty() && f.bounds[0] > 0 && f.bounds.windows(2).all(|w| w[0] < w[1]);
    if !bounds_ok {
        return Err(Invalid::Bounds);
    }
    if f.counts.len() != f.bounds.len() + 1 {
        return Err(Invalid::Counts);
    }
    let max = if counter_bits >= 64 { u64::MAX } else { (1u64 << counter_bits) - 1 };
    let totals = [f.root, f.overflow].into_iter().chain(f.callers.iter().map(|c| c.calls));
    let values = f.counts.iter().copied().chain(f.concurrent).chain(totals.flat_map(|t| [t.ok, t.error]));
    // The histogram's count must fit too: its cumulative buckets are sums at that width, and
    // one that wrapped would make the buckets decrease within the dump.
    let count = f.counts.iter().try_fold(0u64, |sum, &c| sum.checked_add(c).filter(|&s| s <= max));
    if values.into_iter().any(|v| v > max) || count.is_none() {
        return Err(Invalid::CounterWidth);
    }
    let objective = f
        .objective
        .iter()
        .flat_map(|o| [o.name].into_iter().chain(o.success_percentile).chain(o.latency.map(|l| l.1)));
    let callers = f.callers.iter().flat_map(|c| [c.function, c.module]);
    if [f.function, f.module].into_iter().chain(callers).chain(objective).any(|l| l.len() > MAX_LABEL) {
        return Err(Invalid::LabelTooLong);
    }
    let reserved = |c: &Caller<'_>| c.function.is_empty() || c.function == OVERFLOW_CALLER;
    let repeated = |i: usize| {
        f.callers[..i].iter().any(|c| (c.function, c.module) == (f.callers[i].function, f.callers[i].module))
    };
    if f.callers.iter().any(reserved) || (0..f.callers.len()).any(repeated) {
        return Err(Invalid::Callers);
    }
    if seen.iter().any(|g| g.function == f.function && g.module == f.module) {
        return Err(Invalid::Duplicate);
    }
    Ok(())
}

/// What is wrong with the user metric `m` from a device with `counter_bits`-wide counters,
/// if anything: the same rules the attribute applies at compile time, and no series twice.
fn check_metric(m: &MetricRecord<'_>, counter_bits: u8, seen: &[Metric]) -> Result<(), Invalid> {
    let kind = m.value.kind();
    let labels_ok = m.labels.iter().enumerate().all(|(i, (name, value))| {
        check_metric_label(name, value).is_ok() && !m.labels[..i].iter().any(|(other, _)| other == name)
    });
    // The core's own persisted counters (`persist`) carry the reserved `picometrics_` prefix.
    let core_metric = kind == Kind::Counter && [BOOTS.name, RESETS.name].contains(&m.name);
    let name_ok = core_metric || check_metric_name(m.name, kind).is_ok();
    if !name_ok || check_metric_help(m.help).is_err() || !labels_ok {
        return Err(Invalid::Metric);
    }
    let max = if counter_bits >= 64 { u64::MAX } else { (1u64 << counter_bits) - 1 };
    match &m.value {
        ValueRecord::Counter(v) if *v > max => return Err(Invalid::CounterWidth),
        ValueRecord::Gauge(v) if counter_bits < 64 && i32::try_from(*v).is_err() => {
            return Err(Invalid::CounterWidth)
        }
        ValueRecord::Histogram { bounds, counts, .. } => {
            if bounds.is_empty()
                || !bounds.windows(2).all(|w| w[0] < w[1])
                || counts.len() != bounds.len() + 1
            {
                return Err(Invalid::Metric);
            }
            let count = counts.iter().try_fold(0u64, |sum, &c| sum.checked_add(c).filter(|&s| s <= max));
            if count.is_none() {
                return Err(Invalid::CounterWidth);
            }
        }
        _ => {}
    }
    let same_series = |o: &Metric| {
        o.name == m.name
            && o.labels.len() == m.labels.len()
            && o.labels.iter().zip(&m.labels).all(|((a, b), (c, d))| a == c && b == d)
    };
    if seen.iter().any(|o| same_series(o) || (o.name == m.name && o.kind() != kind)) {
        return Err(Invalid::DuplicateMetric);
    }
    Ok(())
}

impl Skipped {
    /// The `reason` label of `picometrics_bridge_frames_skipped_total`.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::TooLong => "too_long",
            Self::Frame(DecodeError::Cobs | DecodeError::TooShort) => "malformed",
            Self::Frame(DecodeError::Crc) => "crc",
            Self::Frame(DecodeError::Version(_)) => "version",
            Self::Frame(DecodeError::Message) => "message",
            Self::OutsideDump => "outside_dump",
            Self::Incomplete { .. } => "incomplete_dump",
            Self::OverCapacity => "over_capacity",
            Self::Invalid { why, .. } => why.reason(),
            Self::OverBudget { .. } => "over_budget",
        }
    }
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLong => write!(f, "skipped {MAX_FRAME}+ bytes without a frame delimiter"),
            Self::Frame(e) => write!(f, "skipped a frame: {e}"),
            Self::OutsideDump => f.write_str("skipped a frame outside any dump (joined mid-dump)"),
            Self::Incomplete { device, seq, why } => write!(f, "discarded dump {seq} of {device:?}: {why}"),
            Self::Invalid { device, why } => write!(f, "discarded a dump of {device:?}: {why:?}"),
            Self::OverBudget { device } => write!(f, "refused a dump of {device:?}: over the byte budget"),
            Self::OverCapacity => {
                write!(f, "discarded a dump: over {MAX_FUNCTIONS} functions or {MAX_DEVICES} devices")
            }
        }
    }
}

/// What a complete dump changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Committed {
    /// A device's first dump.
    New {
        /// The device.
        device: String,
    },
    /// A later dump of a running device.
    Updated {
        /// The device.
        device: String,
    },
    /// The dump number went down: the device restarted and its counters start over.
    Restarted {
        /// The device.
        device: String,
        /// The dump number before.
        previous_seq: u32,
        /// The dump number now.
        seq: u32,
    },
}

/// One function's metrics, owned.
#[derive(Clone, Debug, PartialEq)]
struct Function {
    function: String,
    module: String,
    objective: Option<Objective>,
    bounds: Vec<u64>,
    counts: Vec<u64>,
    sum_nanos: u64,
    root: Totals,
    callers: Vec<(String, String, Totals)>,
    overflow: Totals,
    concurrent: Option<u64>,
    max_nanos: Option<u64>,
}

/// One user metric series, owned.
#[derive(Clone, Debug, PartialEq)]
struct Metric {
    name: String,
    help: String,
    labels: Vec<(String, String)>,
    value: ValueRecord,
}

impl Metric {
    fn kind(&self) -> Kind {
        self.value.kind()
    }
}

impl From<&MetricRecord<'_>> for Metric {
    fn from(m: &MetricRecord<'_>) -> Self {
        Self {
            name: m.name.into(),
            help: m.help.into(),
            labels: m.labels.iter().map(|(n, v)| ((*n).into(), (*v).into())).collect(),
            value: m.value.clone(),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
struct Objective {
    name: String,
    success_percentile: Option<String>,
    latency: Option<(u64, String)>,
}

impl From<&FunctionRecord<'_>> for Function {
    fn from(f: &FunctionRecord<'_>) -> Self {
        Self {
            function: f.function.into(),
            module: f.module.into(),
            objective: f.objective.map(|o| Objective {
                name: o.name.into(),
                success_percentile: o.success_percentile.map(Into::into),
                latency: o.latency.map(|(t, p)| (t, p.into())),
            }),
            bounds: f.bounds.to_vec(),
            counts: f.counts.to_vec(),
            sum_nanos: f.sum_nanos,
            root: f.root,
            callers: f.callers.iter().map(|c| (c.function.into(), c.module.into(), c.calls)).collect(),
            overflow: f.overflow,
            concurrent: f.concurrent,
            max_nanos: f.max_nanos,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
struct OwnedBuild {
    version: String,
    commit: String,
    branch: String,
    service_name: String,
    repository_url: String,
}

impl From<&Build<'_>> for OwnedBuild {
    fn from(b: &Build<'_>) -> Self {
        Self {
            version: b.version.into(),
            commit: b.commit.into(),
            branch: b.branch.into(),
            service_name: b.service_name.into(),
            repository_url: b.repository_url.into(),
        }
    }
}

/// A device's latest complete dump.
#[derive(Clone, Debug)]
struct Dump {
    seq: u32,
    build: OwnedBuild,
    /// The device's counter width: its sums wrap there.
    counter_bits: u8,
    /// Nanoseconds since the device started, when it wrote the dump.
    uptime_nanos: u64,
    functions: Vec<Function>,
    metrics: Vec<Metric>,
}

/// A dump being received.
#[derive(Debug)]
struct Pending {
    device: String,
    dump: Dump,
}

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
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_devices: MAX_DEVICES,
            max_device_bytes: 4 << 20,
            max_total_bytes: 64 << 20,
            down_after: Duration::from_secs(30),
            forget_after: Duration::from_secs(300),
        }
    }
}

/// A device's latest complete dump, rendered once when it arrived (one text per family), and
/// kept decoded for the explorer's history.
#[derive(Debug)]
struct Device {
    seq: u32,
    /// Shared, so a scrape takes references under the lock and copies nothing.
    parts: [Arc<str>; Part::ALL.len()],
    /// The user metric samples, one text per family.
    families: Vec<UserFamily>,
    dump: Dump,
    last_dump: Instant,
    last_dump_unix_seconds: f64,
    dumps: u64,
}

impl Device {
    /// Its rendered text and (about) its decoded dump: what counts against the limits.
    fn bytes(&self) -> usize {
        rendered_bytes(&self.parts, &self.families) + self.dump.bytes()
    }
}

/// One user metric family of a device's dump: its header facts and its rendered samples.
#[derive(Debug)]
struct UserFamily {
    name: String,
    kind: Kind,
    help: String,
    text: Arc<str>,
}

/// The bytes of a device's rendered text: function families and user metric families.
fn rendered_bytes(parts: &[Arc<str>], families: &[UserFamily]) -> usize {
    let user: usize = families.iter().map(|f| f.name.len() + f.help.len() + f.text.len() + 64).sum();
    parts.iter().map(|p| p.len()).sum::<usize>() + user
}

impl Dump {
    /// About the bytes it holds (heap and inline).
    fn bytes(&self) -> usize {
        let b = &self.build;
        let build =
            b.version.len() + b.commit.len() + b.branch.len() + b.service_name.len() + b.repository_url.len();
        let functions: usize = self
            .functions
            .iter()
            .map(|f| {
                std::mem::size_of::<Function>()
                    + f.function.len()
                    + f.module.len()
                    + 8 * (f.bounds.len() + f.counts.len())
                    + f.callers.iter().map(|(n, m, _)| n.len() + m.len() + 64).sum::<usize>()
                    + f.objective.as_ref().map_or(0, |o| o.name.len() + 64)
            })
            .sum();
        let metrics: usize = self
            .metrics
            .iter()
            .map(|m| {
                std::mem::size_of::<Metric>()
                    + m.name.len()
                    + m.help.len()
                    + m.labels.iter().map(|(n, v)| n.len() + v.len() + 48).sum::<usize>()
            })
            .sum();
        std::mem::size_of::<Self>() + build + functions + metrics
    }
}

#[derive(Debug, Default)]
struct Store {
    limits: Limits,
    devices: BTreeMap<String, Device>,
    pending: Option<Pending>,
    skipped: BTreeMap<&'static str, u64>,
    /// Whether the source is connected and sent something within its read timeout.
    source_up: Option<bool>,
}

impl Store {
    /// Forgets devices silent for longer than `forget_after`.
    fn forget_silent(&mut self, now: Instant) {
        let forget_after = self.limits.forget_after;
        self.devices.retain(|_, d| now.duration_since(d.last_dump) < forget_after);
    }

    /// Drops the device silent longest, except `keep`; false if there was none.
    fn drop_oldest(&mut self, keep: &str) -> bool {
        let oldest = self
            .devices
            .iter()
            .filter(|(name, _)| name.as_str() != keep)
            .min_by_key(|(_, d)| d.last_dump)
            .map(|(name, _)| name.clone());
        oldest.is_some_and(|name| self.devices.remove(&name).is_some())
    }
}

/// A string that refuses to grow past a budget: rendering a device stops at its limit.
struct Capped<'a> {
    text: &'a mut String,
    budget: &'a mut usize,
}

impl Write for Capped<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        *self.budget = self.budget.checked_sub(s.len()).ok_or(fmt::Error)?;
        self.text.push_str(s);
        Ok(())
    }
}

/// The latest complete dump of each device, shared between the reader and the HTTP server.
///
/// Holds one dump in progress: feed it one source at a time (the bridge binary reads one).
#[derive(Debug, Default)]
pub struct Devices {
    store: Mutex<Store>,
}

impl Devices {
    /// No devices yet, the default [`Limits`].
    pub fn new() -> Self {
        Self::default()
    }

    /// No devices yet, with `limits`.
    pub fn with_limits(limits: Limits) -> Self {
        Self { store: Mutex::new(Store { limits, ..Store::default() }) }
    }

    /// Reports whether the source is connected and live (`picometrics_bridge_source_up`).
    pub fn set_source_up(&self, up: bool) {
        self.store().source_up = Some(up);
    }

    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        // A panic while holding the lock cannot leave the maps half-updated in a way that
        // matters more than losing the scrape, so a poisoned lock is used as is.
        self.store.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Decodes one frame and takes it into the dump in progress. `Ok(Some(_))` when it
    /// completed a dump; `Err` says why it was skipped (and counts it).
    pub fn ingest_frame(&self, frame: &mut [u8]) -> Result<Option<Committed>, Skipped> {
        let result = match frame::decode(frame) {
            Ok(message) => self.ingest(&message),
            Err(e) => Err(Skipped::Frame(e)),
        };
        if let Err(skipped) = &result {
            self.count_skipped(skipped);
        }
        result
    }

    /// Feeds a source's `bytes` through `reader` into the store: every complete frame is
    /// ingested, every skip (a run the reader dropped, or a frame that did not decode or fit)
    /// is counted, and `report` hears each completed dump and each skip, e.g. to log them.
    pub fn feed(
        &self,
        reader: &mut FrameReader,
        bytes: &[u8],
        mut report: impl FnMut(Result<Committed, Skipped>),
    ) {
        // Both closures report; the reader's skips are collected and handed over after it.
        let mut dropped = Vec::new();
        reader.feed(
            bytes,
            |frame| match self.ingest_frame(frame) {
                Ok(Some(committed)) => report(Ok(committed)),
                Ok(None) => {}
                Err(skipped) => report(Err(skipped)),
            },
            |skipped| dropped.push(skipped),
        );
        for skipped in dropped {
            self.count_skipped(&skipped);
            report(Err(skipped));
        }
    }

    fn count_skipped(&self, skipped: &Skipped) {
        *self.store().skipped.entry(skipped.reason()).or_default() += 1;
    }

    /// The source closed or reconnected: a dump in progress will not be completed.
    pub fn source_closed(&self) -> Option<Skipped> {
        let pending = self.store().pending.take()?;
        let skipped =
            Skipped::Incomplete { device: pending.device, seq: pending.dump.seq, why: "source closed" };
        self.count_skipped(&skipped);
        Some(skipped)
    }

    fn ingest(&self, message: &Message<'_>) -> Result<Option<Committed>, Skipped> {
        let mut store = self.store();
        match message {
            Message::Begin(begin) if !matches!(begin.counter_bits, 32 | 64) => {
                // Counters are 32 or 64 bits wide; anything else cannot be summed correctly.
                Err(Skipped::Frame(DecodeError::Message))
            }
            Message::Begin(begin) => {
                let cut = store.pending.take();
                store.pending = Some(Pending {
                    device: begin.device.into(),
                    dump: Dump {
                        seq: begin.seq,
                        build: (&begin.build).into(),
                        counter_bits: begin.counter_bits,
                        uptime_nanos: begin.uptime_nanos,
                        functions: Vec::new(),
                        metrics: Vec::new(),
                    },
                });
                match cut {
                    Some(p) => Err(Skipped::Incomplete {
                        device: p.device,
                        seq: p.dump.seq,
                        why: "a new dump began",
                    }),
                    None => Ok(None),
                }
            }
            Message::Function(f) => receive(
                &mut store,
                MAX_FUNCTIONS,
                |d| &mut d.functions,
                |d| check(f, d.counter_bits, &d.functions).map(|()| f.into()),
            ),
            Message::Metric(m) => receive(
                &mut store,
                MAX_METRICS,
                |d| &mut d.metrics,
                |d| check_metric(m, d.counter_bits, &d.metrics).map(|()| m.into()),
            ),
            &Message::End { seq, functions, metrics } => {
                let pending = store.pending.take().ok_or(Skipped::OutsideDump)?;
                if seq != pending.dump.seq
                    || usize::from(functions) != pending.dump.functions.len()
                    || usize::from(metrics) != pending.dump.metrics.len()
                {
                    return Err(Skipped::Incomplete {
                        device: pending.device,
                        seq: pending.dump.seq,
                        why: "its end does not match (frames lost)",
                    });
                }
                let max_device_bytes = store.limits.max_device_bytes;
                let (parts, families) = render_device(&pending.device, &pending.dump, max_device_bytes)
                    .ok_or_else(|| Skipped::OverBudget { device: pending.device.clone() })?;
                let now = Instant::now();
                store.forget_silent(now);
                let bytes = rendered_bytes(&parts, &families) + pending.dump.bytes();
                let device = pending.device.clone();
                // Room: a device slot and bytes, taken from the devices silent longest.
                let others = |store: &Store| -> usize {
                    store.devices.iter().filter(|(n, _)| **n != device).map(|(_, d)| d.bytes()).sum()
                };
                while (!store.devices.contains_key(&device)
                    && store.devices.len() >= store.limits.max_devices)
                    || others(&store) + bytes > store.limits.max_total_bytes
                {
                    if !store.drop_oldest(&device) {
                        return Err(Skipped::OverBudget { device });
                    }
                }
                let unix = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0.0, |d| d.as_secs_f64());
                let dumps = store.devices.get(&device).map_or(0, |d| d.dumps) + 1;
                let entry = Device {
                    seq,
                    parts,
                    families,
                    dump: pending.dump,
                    last_dump: now,
                    last_dump_unix_seconds: unix,
                    dumps,
                };
                let previous = store.devices.insert(device.clone(), entry).map(|d| d.seq);
                Ok(Some(match previous {
                    None => Committed::New { device },
                    Some(previous_seq) if seq < previous_seq => {
                        Committed::Restarted { device, previous_seq, seq }
                    }
                    Some(_) => Committed::Updated { device },
                }))
            }
        }
    }

    /// Every device's latest dump as Prometheus text 0.0.4, each series with a `device` label,
    /// then the bridge's own families: what it skipped, and each device's liveness.
    ///
    /// Each dump was rendered once, when it arrived: a scrape only joins the texts (see
    /// [`Devices::render_chunks`]).
    pub fn render<W: Write>(&self, w: &mut W) -> fmt::Result {
        let mut chunks = Vec::new();
        self.render_chunks(&mut chunks);
        chunks.iter().try_for_each(|c| w.write_str(c))
    }

    /// The text of [`Devices::render`] as the pieces it is made of, in order: each device's
    /// stored text is shared, not copied, so the store's lock is held only while references are
    /// taken (microseconds for a thousand devices) and a server can send the pieces as they
    /// are (`picometrics_exporter::Builder::metrics_chunks`).
    pub fn render_chunks(&self, out: &mut Vec<Arc<str>>) {
        let mut own = String::new();
        // Writing into a `String` cannot fail.
        let _ = self.collect_chunks(out, &mut own);
        if !own.is_empty() {
            out.push(own.into());
        }
    }

    /// [`Devices::render_chunks`]: small texts (headers, the bridge's own samples) gather in
    /// `own` and go out as one piece before the next shared one.
    fn collect_chunks(&self, out: &mut Vec<Arc<str>>, own: &mut String) -> fmt::Result {
        let mut store = self.store();
        let now = Instant::now();
        store.forget_silent(now);
        let mut share = |own: &mut String, text: &Arc<str>| {
            if !own.is_empty() {
                out.push(std::mem::take(own).into());
            }
            if !text.is_empty() {
                out.push(text.clone());
            }
        };
        for (i, part) in Part::ALL.into_iter().enumerate() {
            if part.always_declared() || store.devices.values().any(|d| !d.parts[i].is_empty()) {
                write_header(own, part.metric(), Format::Prometheus)?;
            }
            for d in store.devices.values() {
                share(own, &d.parts[i]);
            }
        }
        // User metric families: one header each (type and help of the first device, in name
        // order), then every device's samples of that family and type.
        let mut families: BTreeMap<&str, (Kind, &str)> = BTreeMap::new();
        for d in store.devices.values() {
            for f in &d.families {
                families.entry(&f.name).or_insert((f.kind, &f.help));
            }
        }
        for (name, (kind, help)) in &families {
            render::write_family_header(own, name, help, *kind, Format::Prometheus)?;
            for d in store.devices.values() {
                for f in d.families.iter().filter(|f| f.name == *name && f.kind == *kind) {
                    share(own, &f.text);
                }
            }
        }
        let w = own;
        write_header(w, &BRIDGE_FRAMES_SKIPPED, Format::Prometheus)?;
        for (reason, n) in &store.skipped {
            write_sample(w, BRIDGE_FRAMES_SKIPPED.name, &[(label::REASON, reason)], *n)?;
        }
        write_header(w, &BRIDGE_DEVICE_UP, Format::Prometheus)?;
        for (name, d) in &store.devices {
            let up = now.duration_since(d.last_dump) < store.limits.down_after;
            write_sample(w, BRIDGE_DEVICE_UP.name, &[(label::DEVICE, name)], u64::from(up))?;
        }
        write_header(w, &BRIDGE_DEVICE_DUMPS, Format::Prometheus)?;
        for (name, d) in &store.devices {
            write_sample(w, BRIDGE_DEVICE_DUMPS.name, &[(label::DEVICE, name)], d.dumps)?;
        }
        write_header(w, &BRIDGE_DEVICE_LAST_DUMP, Format::Prometheus)?;
        for (name, d) in &store.devices {
            write_device_sample(w, BRIDGE_DEVICE_LAST_DUMP.name, name, |w| {
                write!(w, "{:.3}", d.last_dump_unix_seconds)
            })?;
        }
        // Each device's own dump number and uptime, as its text dump would show them.
        write_header(w, &DUMP_NUMBER, Format::Prometheus)?;
        for (name, d) in &store.devices {
            write_sample(w, DUMP_NUMBER.name, &[(label::DEVICE, name)], u64::from(d.seq))?;
        }
        write_header(w, &UPTIME, Format::Prometheus)?;
        for (name, d) in &store.devices {
            write_device_sample(w, UPTIME.name, name, |w| {
                picometrics::buckets::write_seconds(w, d.dump.uptime_nanos)
            })?;
        }
        if let Some(up) = store.source_up {
            write_header(w, &BRIDGE_SOURCE_UP, Format::Prometheus)?;
            write_sample(w, BRIDGE_SOURCE_UP.name, &[], u64::from(up))?;
        }
        Ok(())
    }

    /// [`Devices::render`] into a new `String`.
    pub fn render_to_string(&self) -> String {
        let mut s = String::new();
        // Writing into a `String` cannot fail.
        let _ = self.render(&mut s);
        s
    }
}

/// Every device's latest dump as the exposition model (each series with its `device` label),
/// read under the store's lock: what the explorer's history samples.
impl Source for Devices {
    fn functions(&self, each: &mut dyn FnMut(&FunctionSeries<'_>) -> fmt::Result) -> fmt::Result {
        let store = self.store();
        for (device, d) in &store.devices {
            DeviceView { device, dump: &d.dump }.functions(each)?;
        }
        Ok(())
    }

    fn builds(&self, each: &mut dyn FnMut(&Build<'_>) -> fmt::Result) -> fmt::Result {
        let store = self.store();
        for (device, d) in &store.devices {
            DeviceView { device, dump: &d.dump }.builds(each)?;
        }
        Ok(())
    }

    fn metrics(&self, each: &mut dyn FnMut(&MetricSeries<'_>) -> fmt::Result) -> fmt::Result {
        let store = self.store();
        for (device, d) in &store.devices {
            DeviceView { device, dump: &d.dump }.metrics(each)?;
        }
        Ok(())
    }
}

/// Adds one record (a function or a user metric) to the dump being received; a record over
/// `capacity` or `invalid` drops the whole dump.
fn receive<T>(
    store: &mut Store,
    capacity: usize,
    list: fn(&mut Dump) -> &mut Vec<T>,
    record: impl FnOnce(&Dump) -> Result<T, Invalid>,
) -> Result<Option<Committed>, Skipped> {
    let pending = store.pending.as_mut().ok_or(Skipped::OutsideDump)?;
    if list(&mut pending.dump).len() == capacity {
        store.pending = None;
        return Err(Skipped::OverCapacity);
    }
    match record(&pending.dump) {
        Ok(r) => {
            list(&mut pending.dump).push(r);
            Ok(None)
        }
        Err(why) => {
            let device = store.pending.take().map(|p| p.device).unwrap_or_default();
            Err(Skipped::Invalid { device, why })
        }
    }
}

/// `name{device="…"} value` for a value that is not an integer (`write_sample` writes those).
fn write_device_sample<W: Write>(
    w: &mut W,
    name: &str,
    device: &str,
    value: impl FnOnce(&mut W) -> fmt::Result,
) -> fmt::Result {
    w.write_str(name)?;
    w.write_str("{")?;
    w.write_str(label::DEVICE)?;
    w.write_str("=\"")?;
    render::write_escaped(w, device)?;
    w.write_str("\"} ")?;
    value(w)?;
    w.write_str("\n")
}

/// A device's function families and its user metric families.
type Rendered = ([Arc<str>; Part::ALL.len()], Vec<UserFamily>);

/// Renders one device's dump, family by family, within `budget` bytes; `None` if it is over.
fn render_device(device: &str, dump: &Dump, mut budget: usize) -> Option<Rendered> {
    let view = DeviceView { device, dump };
    let mut parts: [String; Part::ALL.len()] = Default::default();
    for (text, part) in parts.iter_mut().zip(Part::ALL) {
        render::write_part(&mut Capped { text, budget: &mut budget }, &view, part, Format::Prometheus)
            .ok()?;
    }
    let mut families: Vec<(String, Kind, String, String)> = Vec::new();
    view.metrics(&mut |series| {
        // `check_metric` let no family have two types; a dump has few families.
        let i = match families.iter().position(|f| f.0 == series.name) {
            Some(i) => i,
            None => {
                families.push((series.name.into(), series.kind(), series.help.into(), String::new()));
                families.len() - 1
            }
        };
        render::write_metric_samples(&mut Capped { text: &mut families[i].3, budget: &mut budget }, series)
    })
    .ok()?;
    let families = families.into_iter().map(|(name, kind, help, text)| UserFamily {
        name,
        kind,
        help,
        text: text.into(),
    });
    Some((parts.map(Arc::from), families.collect()))
}

/// One device's dump as the exposition model, each series with its `device` label.
struct DeviceView<'a> {
    device: &'a str,
    dump: &'a Dump,
}

impl Source for DeviceView<'_> {
    fn functions(&self, each: &mut dyn FnMut(&FunctionSeries<'_>) -> fmt::Result) -> fmt::Result {
        let dump = self.dump;
        for f in &dump.functions {
            // Decoded dumps hold at most MAX_CALLERS callers (the decoder's capacity).
            let callers: heapless::Vec<Caller<'_>, MAX_CALLERS> = f
                .callers
                .iter()
                .take(MAX_CALLERS)
                .map(|(function, module, calls)| Caller { function, module, calls: *calls })
                .collect();
            each(&FunctionSeries {
                extra: Some((label::DEVICE, self.device)),
                function: &f.function,
                module: &f.module,
                service_name: &dump.build.service_name,
                objective: f.objective.as_ref().map(|o| ObjectiveLabels {
                    name: &o.name,
                    success_percentile: o.success_percentile.as_deref(),
                    latency: o.latency.as_ref().map(|(threshold, p)| (*threshold, p.as_str())),
                }),
                bounds: &f.bounds,
                counts: &f.counts,
                counter_bits: u32::from(dump.counter_bits),
                sum_nanos: f.sum_nanos,
                root: f.root,
                callers: &callers,
                overflow: f.overflow,
                concurrent: f.concurrent,
                max_nanos: f.max_nanos,
                exemplars: &[],
            })?;
        }
        Ok(())
    }

    fn metrics(&self, each: &mut dyn FnMut(&MetricSeries<'_>) -> fmt::Result) -> fmt::Result {
        let bits = u32::from(self.dump.counter_bits);
        for m in &self.dump.metrics {
            // Decoded dumps hold at most MAX_METRIC_LABELS labels (the decoder's capacity).
            let labels: heapless::Vec<(&str, &str), MAX_METRIC_LABELS> =
                m.labels.iter().take(MAX_METRIC_LABELS).map(|(n, v)| (n.as_str(), v.as_str())).collect();
            each(&MetricSeries {
                extra: Some((label::DEVICE, self.device)),
                name: &m.name,
                help: &m.help,
                labels: &labels,
                counter_bits: bits,
                value: m.value.as_value(),
            })?;
        }
        Ok(())
    }

    fn builds(&self, each: &mut dyn FnMut(&Build<'_>) -> fmt::Result) -> fmt::Result {
        let b = &self.dump.build;
        each(&Build {
            version: &b.version,
            commit: &b.commit,
            branch: &b.branch,
            service_name: &b.service_name,
            repository_url: &b.repository_url,
            extra: Some((label::DEVICE, self.device)),
        })
    }
}
