//! Frames into dumps: each frame taken into the dump in progress on its stream (one per source
//! and stream id), a complete dump committed to the store.

use crate::checks::{check, check_begin, check_metric};
use crate::dump::{Dump, Pending};
use crate::store::{SourceId, Store, StreamKey};
use crate::{Committed, Invalid, Skipped};
use crate::{MAX_FUNCTIONS, MAX_LABEL, MAX_METRICS};
use picometrics::frame::CallerRef;
use picometrics::frame::{self, DecodeError, FunctionRecord, Message};
use picometrics::model::{Caller, ObjectiveLabels};
use std::time::Instant;

impl Store {
    /// Decodes one frame of `source` and takes it into the dump in progress; a skip is
    /// counted.
    pub(crate) fn ingest_frame(
        &mut self,
        source: SourceId,
        frame: &mut [u8],
    ) -> Result<Option<Committed>, Skipped> {
        // By reference: a decoded function is ~1.5 KB, not moved out of its `Result`.
        let result = match &frame::decode_frame(frame) {
            Ok(frame) => self.ingest((source, frame.stream), &frame.message),
            &Err(e) => Err(Skipped::Frame(e)),
        };
        if let Err(skipped) = &result {
            self.count_skipped(skipped);
        }
        result
    }

    pub(crate) fn count_skipped(&mut self, skipped: &Skipped) {
        *self.skipped.entry(skipped.reason()).or_default() += 1;
    }

    fn ingest(&mut self, stream: StreamKey, message: &Message<'_>) -> Result<Option<Committed>, Skipped> {
        if self.refused.contains(&stream) {
            match message {
                Message::Begin(_) => {
                    self.refused.remove(&stream);
                }
                Message::End { .. } => {
                    self.refused.remove(&stream);
                    return Ok(None);
                }
                _ => return Ok(None),
            }
        }
        match message {
            Message::Begin(begin) if !matches!(begin.counter_bits, 32 | 64) => {
                // Counters are 32 or 64 bits wide; anything else cannot be summed correctly.
                Err(Skipped::Frame(DecodeError::Message))
            }
            Message::Begin(begin) => self.begin(stream, begin),
            Message::Function(f) => receive(
                self,
                stream,
                MAX_FUNCTIONS,
                |d| &mut d.functions,
                |p, previous| {
                    let like = previous.and_then(|d| d.functions.get(p.dump.functions.len()));
                    p.in_step &= like.is_some_and(|l| *l.function == *f.function && *l.module == *f.module);
                    // A committed dump repeats no function: one in step with it needs no scan.
                    let seen = if p.in_step { &[][..] } else { &p.dump.functions };
                    check(f, p.dump.counter_bits, seen).map_err(|why| p.invalid(why))?;
                    Ok(crate::dump::Function::new(f, like))
                },
                crate::dump::Function::bytes,
            ),
            Message::Changed(c) => receive(
                self,
                stream,
                MAX_FUNCTIONS,
                |d| &mut d.functions,
                |p, previous| {
                    p.in_step = false;
                    changed(p, previous, c)
                },
                crate::dump::Function::bytes,
            ),
            Message::Metric(m) => receive(
                self,
                stream,
                MAX_METRICS,
                |d| &mut d.metrics,
                |p, _| {
                    let d = &p.dump;
                    check_metric(m, d.counter_bits, &d.metrics)
                        .map(|()| m.into())
                        .map_err(|why| p.invalid(why))
                },
                crate::dump::Metric::bytes,
            ),
            &Message::End { seq, functions, metrics } => {
                let pending = self.pending.remove(&stream).ok_or(Skipped::OutsideDump)?;
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
                let pending = self.fill_from_base(pending)?;
                self.commit(pending).map(Some)
            }
        }
    }
}

impl Store {
    /// Starts a dump on `stream`: one in progress there is cut (a device that restarted its
    /// dump, or another device whose name maps to the same stream id); with `max_streams` in
    /// progress on its source (or `max_devices` on all), the one silent longest makes room.
    fn begin(&mut self, stream: StreamKey, begin: &frame::Begin<'_>) -> Result<Option<Committed>, Skipped> {
        let cut = self.pending.remove(&stream);
        if let Err(why) = check_begin(begin) {
            // The name is hostile: what the log and counters say of it is cut short.
            let mut end = begin.device.len().min(MAX_LABEL);
            while !begin.device.is_char_boundary(end) {
                end -= 1;
            }
            let device = begin.device[..end].to_owned();
            return Err(Skipped::Invalid { device, why });
        }
        if let Some(speaks_for) = self.speakers.get(&stream.0) {
            if !speaks_for.iter().any(|d| d == begin.device) {
                let speaks_for = speaks_for.join(", ");
                self.refuse(stream);
                return Err(Skipped::WrongDevice { device: begin.device.into(), speaks_for });
            }
        }
        // A dump relative to an earlier one is taken only by a bridge that holds that one; its
        // build is that one's.
        let held = self.devices.get(begin.device).map(|d| &d.dump);
        let build = match (begin.base, held) {
            (None, _) => (&begin.build).into(),
            (Some(base), Some(held)) if held.seq == base && held.counter_bits == begin.counter_bits => {
                held.build.clone()
            }
            (Some(base), _) => {
                self.refuse(stream);
                return Err(Skipped::BaseNotHeld { device: begin.device.into(), base });
            }
        };
        loop {
            let on_source = self.pending.keys().filter(|k| k.0 == stream.0).count();
            let crowded = on_source >= self.limits.max_streams.max(1);
            if !crowded && self.pending.len() < self.limits.max_devices.max(1) {
                break;
            }
            let candidates = self.pending.iter().filter(|(k, _)| !crowded || k.0 == stream.0);
            let Some((&oldest, _)) = candidates.min_by_key(|(_, p)| p.last) else { break };
            if let Some(p) = self.pending.remove(&oldest) {
                let why = "more dumps in progress than max_streams";
                let evicted = Skipped::Incomplete { device: p.device, seq: p.dump.seq, why };
                *self.skipped.entry(evicted.reason()).or_default() += 1;
            }
        }
        let dump = Dump {
            seq: begin.seq,
            build,
            counter_bits: begin.counter_bits,
            uptime_nanos: begin.uptime_nanos,
            functions: Vec::new(),
            metrics: Vec::new(),
        };
        let bytes = dump.bytes();
        let last = Instant::now();
        let pending =
            Pending { device: begin.device.into(), dump, base: begin.base, in_step: true, bytes, last };
        self.pending.insert(stream, pending);
        match cut {
            Some(p) => {
                let why = if p.device == begin.device {
                    "a new dump began"
                } else {
                    "another device began a dump on its stream id"
                };
                Err(Skipped::Incomplete { device: p.device, seq: p.dump.seq, why })
            }
            None => Ok(None),
        }
    }
}

impl Store {
    /// Drops the rest of the dump in progress on `stream` (its frames until its `End` or the
    /// next `Begin`), so a refused dump is counted once, not once a frame. At most
    /// `max_streams` such streams a source: a source that opens more forgets its oldest
    /// refusal (whose later frames are then counted as outside any dump).
    pub(crate) fn refuse(&mut self, stream: StreamKey) {
        let mut on_source = self.refused.range((stream.0, None)..).take_while(|k| k.0 == stream.0);
        if on_source.clone().count() >= self.limits.max_streams.max(1) {
            if let Some(&first) = on_source.next() {
                self.refused.remove(&first);
            }
        }
        self.refused.insert(stream);
    }

    /// A dump relative to an earlier one (wire version 6), made whole: the functions it left
    /// out, in their places, from the dump it is relative to — which must still be the device's
    /// (a whole dump may have replaced it since the `Begin`).
    fn fill_from_base(&mut self, mut pending: Pending) -> Result<Pending, Skipped> {
        let Some(base) = pending.base else { return Ok(pending) };
        let held = match self.devices.get(&pending.device) {
            Some(d) if d.dump.seq == base => &d.dump,
            _ => return Err(Skipped::BaseNotHeld { device: pending.device, base }),
        };
        let mut sent = std::mem::take(&mut pending.dump.functions);
        let mut functions = Vec::with_capacity(held.functions.len().max(sent.len()));
        for f in &held.functions {
            match sent.iter().position(|s| s.function == f.function && s.module == f.module) {
                Some(i) => functions.push(sent.swap_remove(i)),
                None => functions.push(f.clone()),
            }
        }
        // Functions the base did not have (it cannot, in one build): kept all the same.
        functions.append(&mut sent);
        if functions.len() > MAX_FUNCTIONS {
            return Err(Skipped::OverCapacity);
        }
        pending.dump.functions = functions;
        pending.bytes = pending.dump.bytes();
        if pending.bytes > self.limits.max_device_bytes {
            return Err(Skipped::OverBudget { device: pending.device });
        }
        Ok(pending)
    }
}

/// Adds one record (a function or a user metric) to the dump being received on `stream`; a
/// record over `capacity`, over the device's byte budget or `invalid` drops the whole dump.
pub(crate) fn receive<T>(
    store: &mut Store,
    stream: StreamKey,
    capacity: usize,
    list: fn(&mut Dump) -> &mut Vec<T>,
    record: impl FnOnce(&mut Pending, Option<&Dump>) -> Result<T, Skipped>,
    bytes: fn(&T) -> usize,
) -> Result<Option<Committed>, Skipped> {
    let budget = store.limits.max_device_bytes;
    let pending = store.pending.get_mut(&stream).ok_or(Skipped::OutsideDump)?;
    // The device's dump before this one: what the new one can share.
    let previous = store.devices.get(&pending.device).map(|d| &d.dump);
    if list(&mut pending.dump).len() == capacity {
        store.pending.remove(&stream);
        store.refuse(stream);
        return Err(Skipped::OverCapacity);
    }
    match record(pending, previous) {
        Ok(r) if pending.bytes + bytes(&r) > budget => {
            let device = store.pending.remove(&stream).map(|p| p.device).unwrap_or_default();
            store.refuse(stream);
            Err(Skipped::OverBudget { device })
        }
        Ok(r) => {
            pending.bytes += bytes(&r);
            pending.last = Instant::now();
            list(&mut pending.dump).push(r);
            Ok(None)
        }
        Err(skipped) => {
            store.pending.remove(&stream);
            store.refuse(stream);
            Err(skipped)
        }
    }
}

/// A function of a dump relative to `held` ([`Message::Changed`]), whole: the names, objective
/// and bounds of the base dump's function at its index, its own values — checked as any
/// function is.
fn changed(
    p: &Pending,
    held: Option<&Dump>,
    c: &frame::ChangedRecord<'_>,
) -> Result<crate::dump::Function, Skipped> {
    let Some(base) = p.base else { return Err(p.invalid(Invalid::UnknownFunction)) };
    let held = held
        .filter(|h| h.seq == base)
        .ok_or_else(|| Skipped::BaseNotHeld { device: p.device.clone(), base })?;
    let like = held.functions.get(usize::from(c.index)).ok_or_else(|| p.invalid(Invalid::UnknownFunction))?;
    let mut counts = c.counts.clone();
    let buckets = like.bounds.len() + 1;
    if counts.len() > buckets {
        return Err(p.invalid(Invalid::Counts));
    }
    counts.resize(buckets, 0).map_err(|_| p.invalid(Invalid::Counts))?;
    let objective = like.objective.as_ref().map(|o| ObjectiveLabels {
        name: &o.name,
        success_percentile: o.success_percentile.as_deref(),
        latency: o.latency.as_ref().map(|(threshold, p)| (*threshold, p.as_str())),
    });
    let f = FunctionRecord {
        function: &like.function,
        module: &like.module,
        objective,
        // The base's bounds passed these checks and its capacity.
        bounds: heapless::Vec::from_slice(&like.bounds).map_err(|_| p.invalid(Invalid::Bounds))?,
        counts,
        sum_nanos: c.sum_nanos,
        root: c.root,
        callers: c
            .callers
            .iter()
            .map(|r| match *r {
                CallerRef::Named(c) => Ok(c),
                CallerRef::Place { index, calls } => match held.functions.get(usize::from(index)) {
                    Some(caller) => Ok(Caller { function: &caller.function, module: &caller.module, calls }),
                    None => Err(p.invalid(Invalid::Callers)),
                },
            })
            .collect::<Result<_, _>>()?,
        overflow: c.overflow,
        concurrent: c.concurrent,
        max_nanos: c.max_nanos,
    };
    check(&f, p.dump.counter_bits, &p.dump.functions).map_err(|why| p.invalid(why))?;
    Ok(crate::dump::Function::new(&f, Some(like)))
}
