//! The latest complete dump of each device, within the bridge's limits.

use crate::dump::DeviceView;
use crate::dump::{Dump, Pending};
use crate::render::render_device;
use crate::Limits;
use crate::{Committed, FrameReader, Invalid, Skipped};
use picometrics::__private_v1::render::Part;
use picometrics::frame::StreamId;
use picometrics::schema::{families_collide, Kind};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A device's latest complete dump, kept decoded (what is pushed and what the explorer's
/// history samples) and rendered by the first scrape after it arrived.
#[derive(Debug)]
pub(crate) struct Device {
    pub(crate) seq: u32,
    /// Its user metric families, those that would collide with another device's left out:
    /// what a scrape declares and renders.
    pub(crate) families: Vec<UserFamily>,
    pub(crate) dump: Dump,
    /// Its exposition text, once a scrape rendered it (see [`Store::render_new`]). A bridge
    /// that only pushes never renders: taking a dump in costs its decoding alone.
    pub(crate) text: Option<Text>,
    pub(crate) last_dump: Instant,
    /// When it arrived: the time its samples are pushed at.
    pub(crate) taken: std::time::SystemTime,
    /// The store's [`Store::generation`] when it arrived.
    pub(crate) generation: u64,
    pub(crate) dumps: u64,
    /// (About) its decoded dump and its text once rendered: what counts against the limits.
    pub(crate) bytes: usize,
}

/// One user metric family of a device's dump: its header facts.
#[derive(Debug)]
pub(crate) struct UserFamily {
    pub(crate) name: String,
    pub(crate) kind: Kind,
    pub(crate) help: String,
}

/// A device's dump as exposition text, one text per family. Shared, so a scrape takes
/// references under the lock and copies nothing.
#[derive(Debug, Default)]
pub(crate) struct Text {
    /// The function families, in [`Part::ALL`] order.
    pub(crate) parts: [Arc<str>; Part::ALL.len()],
    /// The samples of each of [`Device::families`], in that order.
    pub(crate) families: Vec<Arc<str>>,
}

impl Text {
    /// Its bytes, and the room the family headers it needs take.
    pub(crate) fn bytes(&self) -> usize {
        let texts = self.parts.iter().chain(&self.families);
        texts.map(|t| t.len()).sum::<usize>() + 64 * self.families.len()
    }
}

#[derive(Debug, Default)]
pub(crate) struct Store {
    pub(crate) limits: Limits,
    pub(crate) devices: BTreeMap<String, Device>,
    /// The dumps being received, by source and the stream id of their frames (`None`: frames
    /// without one, version 4).
    pub(crate) pending: BTreeMap<StreamKey, Pending>,
    /// The last source id handed out ([`Devices::new_source`]).
    pub(crate) sources: u64,
    pub(crate) skipped: BTreeMap<&'static str, u64>,
    /// Whether the source is connected and sent something within its read timeout.
    pub(crate) source_up: Option<bool>,
    /// Dumps committed so far: the cursor of [`Devices::since`].
    pub(crate) generation: u64,
    /// The [`Store::generation`] the last push took the dumps through
    /// ([`push::Snapshots::since`](picometrics_exporter::push::Snapshots::since)); `None`
    /// while nothing pushes.
    pub(crate) pushed: Option<u64>,
    /// Dumps replaced before a push took them.
    pub(crate) superseded: u64,
    /// The devices a source may speak for, when it is bound to some ([`Devices::new_source_for`]).
    pub(crate) speakers: BTreeMap<SourceId, Vec<String>>,
    /// The [`Device::bytes`] of all devices together.
    pub(crate) bytes: usize,
    /// When silent devices were last looked for on a commit (at most once a second there).
    pub(crate) forgot_at: Option<Instant>,
    /// Streams whose dump in progress was refused: their frames are dropped until its `End`
    /// or the next `Begin`.
    pub(crate) refused: std::collections::BTreeSet<StreamKey>,
}

impl Store {
    /// Forgets devices silent for longer than `forget_after`.
    pub(crate) fn forget_silent(&mut self, now: Instant) {
        let forget_after = self.limits.forget_after;
        let mut forgotten = 0;
        self.devices.retain(|_, d| {
            let keep = now.duration_since(d.last_dump) < forget_after;
            if !keep {
                forgotten += d.bytes;
            }
            keep
        });
        self.bytes -= forgotten;
        self.forgot_at = Some(now);
    }

    /// Renders the devices whose latest dump no scrape has rendered yet, each within
    /// `max_device_bytes` of text (a device over it is left out of scrapes until its next
    /// dump, and counted `over_budget`), then makes room under `max_total_bytes` for the
    /// texts from the devices silent longest.
    pub(crate) fn render_new(&mut self) {
        let budget = self.limits.max_device_bytes;
        let (mut added, mut over) = (0, 0);
        for (name, d) in self.devices.iter_mut().filter(|(_, d)| d.text.is_none()) {
            let text = render_device(name, &d.dump, &d.families, budget).unwrap_or_else(|| {
                over += 1;
                Text::default()
            });
            d.bytes += text.bytes();
            added += text.bytes();
            d.text = Some(text);
        }
        self.bytes += added;
        if over > 0 {
            *self.skipped.entry(Skipped::OverBudget { device: String::new() }.reason()).or_default() += over;
        }
        while self.bytes > self.limits.max_total_bytes && self.drop_oldest("") {}
    }

    /// Drops the device silent longest, except `keep`; false if there was none.
    fn drop_oldest(&mut self, keep: &str) -> bool {
        let oldest = self
            .devices
            .iter()
            .filter(|(name, _)| name.as_str() != keep)
            .min_by_key(|(_, d)| d.last_dump)
            .map(|(name, _)| name.clone());
        let Some(dropped) = oldest.and_then(|name| self.devices.remove(&name)) else { return false };
        self.bytes -= dropped.bytes;
        true
    }

    /// Leaves out the user metric families of `device` that would write a sample name another
    /// device's family owns: the family there first wins, the late one is counted
    /// (`colliding_family`), and the scrape stays one valid exposition.
    fn drop_colliding(&mut self, device: &str, families: &mut Vec<UserFamily>) {
        if families.is_empty() {
            return;
        }
        let before = families.len();
        let others = self.devices.iter().filter(|(name, _)| name.as_str() != device);
        let taken: Vec<(&str, Kind)> =
            others.flat_map(|(_, d)| d.families.iter().map(|f| (f.name.as_str(), f.kind))).collect();
        families.retain(|f| {
            !taken.iter().any(|&(name, kind)| name != f.name && families_collide(name, kind, &f.name, f.kind))
        });
        let dropped = (before - families.len()) as u64;
        if dropped > 0 {
            *self.skipped.entry(Invalid::FamilyCollision.reason()).or_default() += dropped;
        }
    }

    /// Keeps a complete dump as its device's latest, making room (a device slot and bytes)
    /// from the devices silent longest; says what it changed. Nothing is rendered here: a
    /// scrape renders what arrived since the last one ([`Store::render_new`]).
    pub(crate) fn commit(&mut self, pending: Pending) -> Result<Committed, Skipped> {
        let Pending { device, dump, .. } = pending;
        let mut families = user_families(&device, &dump);
        let now = Instant::now();
        // Every device is looked at: not on every one of thousands of dumps a second.
        if self.forgot_at.is_none_or(|at| now.duration_since(at) >= Duration::from_secs(1)) {
            self.forget_silent(now);
        }
        self.drop_colliding(&device, &mut families);
        let bytes = dump.bytes() + families.iter().map(|f| f.name.len() + f.help.len() + 32).sum::<usize>();
        let others =
            |store: &Self| -> usize { store.bytes - store.devices.get(&device).map_or(0, |d| d.bytes) };
        while (!self.devices.contains_key(&device) && self.devices.len() >= self.limits.max_devices)
            || others(self) + bytes > self.limits.max_total_bytes
        {
            if !self.drop_oldest(&device) {
                return Err(Skipped::OverBudget { device });
            }
        }
        let seq = dump.seq;
        let dumps = self.devices.get(&device).map_or(0, |d| d.dumps) + 1;
        self.generation += 1;
        let (taken, generation) = (std::time::SystemTime::now(), self.generation);
        let entry =
            Device { seq, families, dump, text: None, last_dump: now, taken, generation, dumps, bytes };
        self.bytes += bytes;
        let previous = self.devices.insert(device.clone(), entry).map(|d| {
            self.bytes -= d.bytes;
            if self.pushed.is_some_and(|pushed| d.generation > pushed) {
                self.superseded += 1;
            }
            d.seq
        });
        debug_assert_eq!(
            self.bytes,
            self.devices.values().map(|d| d.bytes).sum::<usize>(),
            "bytes kept in step"
        );
        Ok(match previous {
            None => Committed::New { device },
            Some(previous_seq) if seq < previous_seq => Committed::Restarted { device, previous_seq, seq },
            Some(_) => Committed::Updated { device },
        })
    }
}

/// Where a frame came from: its source (a connection, a request, the one `--tcp`/`--serial`/
/// stdin source) and its stream id.
pub(crate) type StreamKey = (SourceId, Option<StreamId>);

/// One source of frames — the bridge's `--tcp`/`--serial`/stdin source is
/// [`SourceId::MAIN`]; each accepted connection or HTTP request gets its own
/// ([`Devices::new_source`]), so their dumps in progress never mix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SourceId(pub u64);

impl SourceId {
    /// The source [`Devices::feed`] and [`Devices::ingest_frame`] read.
    pub const MAIN: Self = Self(0);
}

/// The latest complete dump of each device, shared between the readers and the HTTP server.
///
/// Holds one dump in progress per source and [`StreamId`], so devices that share a source
/// (their frames interleaved) and sources read at once (connections, requests) lose nothing.
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

    pub(crate) fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        // A panic while holding the lock cannot leave the maps half-updated in a way that
        // matters more than losing the scrape, so a poisoned lock is used as is.
        self.store.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Decodes one frame and takes it into the dump in progress. `Ok(Some(_))` when it
    /// completed a dump; `Err` says why it was skipped (and counts it).
    pub fn ingest_frame(&self, frame: &mut [u8]) -> Result<Option<Committed>, Skipped> {
        self.ingest_frame_from(SourceId::MAIN, frame)
    }

    /// [`Devices::ingest_frame`] for a frame of `source`.
    pub fn ingest_frame_from(
        &self,
        source: SourceId,
        frame: &mut [u8],
    ) -> Result<Option<Committed>, Skipped> {
        self.store().ingest_frame(source, frame)
    }

    /// Feeds a source's `bytes` through `reader` into the store: every complete frame is
    /// ingested, every skip (a run the reader dropped, or a frame that did not decode or fit)
    /// is counted, and `report` hears each completed dump and each skip, e.g. to log them.
    pub fn feed(
        &self,
        reader: &mut FrameReader,
        bytes: &[u8],
        report: impl FnMut(Result<Committed, Skipped>),
    ) {
        self.feed_from(SourceId::MAIN, reader, bytes, report);
    }

    /// A new source id, for a connection or a request read at the same time as others.
    pub fn new_source(&self) -> SourceId {
        let mut store = self.store();
        store.sources += 1;
        SourceId(store.sources)
    }

    /// A source that may speak only for `devices` (the names of a TLS client certificate): a
    /// dump naming another device is refused whole and counted (`wrong_device`).
    pub fn new_source_for(&self, devices: Vec<String>) -> SourceId {
        let mut store = self.store();
        store.sources += 1;
        let source = SourceId(store.sources);
        store.speakers.insert(source, devices);
        source
    }

    /// [`Devices::feed`] for the bytes of `source` (with a reader of its own).
    ///
    /// The store is locked once for all the frames of `bytes` (a read, a request's body),
    /// not once a frame: readers of many connections at once would otherwise hand the lock
    /// to each other some fifty times a dump. `report` is called after it is released.
    pub fn feed_from(
        &self,
        source: SourceId,
        reader: &mut FrameReader,
        bytes: &[u8],
        report: impl FnMut(Result<Committed, Skipped>),
    ) {
        let mut outcomes = Vec::new();
        {
            let mut store = self.store();
            // The reader's skips are collected and counted after its frames.
            let mut dropped = Vec::new();
            reader.feed(
                bytes,
                |frame| match store.ingest_frame(source, frame) {
                    Ok(Some(committed)) => outcomes.push(Ok(committed)),
                    Ok(None) => {}
                    Err(skipped) => outcomes.push(Err(skipped)),
                },
                |skipped| dropped.push(skipped),
            );
            for skipped in dropped {
                store.count_skipped(&skipped);
                outcomes.push(Err(skipped));
            }
        }
        outcomes.into_iter().for_each(report);
    }

    fn count_skipped(&self, skipped: &Skipped) {
        self.store().count_skipped(skipped);
    }

    /// The main source closed or reconnected: the dumps in progress will not be completed.
    /// Each is counted; the one returned is the one heard from last.
    pub fn source_closed(&self) -> Option<Skipped> {
        self.closed(SourceId::MAIN).pop()
    }

    /// `source` closed (a connection ended, a request's body was read): its dumps in progress
    /// will not be completed; each is counted and returned, the one heard from last at the end.
    pub fn closed(&self, source: SourceId) -> Vec<Skipped> {
        let mut pending: Vec<Pending> = {
            let mut store = self.store();
            store.speakers.remove(&source);
            store.refused.retain(|k| k.0 != source);
            let keys: Vec<StreamKey> = store.pending.keys().filter(|k| k.0 == source).copied().collect();
            keys.iter().filter_map(|k| store.pending.remove(k)).collect()
        };
        pending.sort_by_key(|p| p.last);
        pending
            .into_iter()
            .map(|p| {
                let skipped = Skipped::Incomplete { device: p.device, seq: p.dump.seq, why: "source closed" };
                self.count_skipped(&skipped);
                skipped
            })
            .collect()
    }

    /// Counts a refusal under `reason` in `picometrics_bridge_frames_skipped_total` (e.g. an
    /// HTTP dump under another device's token).
    pub fn count_refused(&self, reason: &'static str) {
        *self.store().skipped.entry(reason).or_default() += 1;
    }
}

/// The user metric families of a dump, in the order their first series comes (`check_metric`
/// let no family have two types).
fn user_families(device: &str, dump: &Dump) -> Vec<UserFamily> {
    let mut families: Vec<UserFamily> = Vec::new();
    let _ = picometrics::model::Source::metrics(&DeviceView { device, dump }, &mut |series| {
        if !families.iter().any(|f| f.name == series.name) {
            families.push(UserFamily {
                name: series.name.into(),
                kind: series.kind(),
                help: series.help.into(),
            });
        }
        Ok(())
    });
    families
}
