//! A device's dump rendered by the first scrape after it arrived, and a scrape that joins the
//! stored texts.

use crate::dump::{DeviceView, Dump};
use crate::store::{Device, Store, Text, UserFamily};
use crate::Devices;
use picometrics::__private_v1::render::{self, write_header, write_sample, Part};
use picometrics::model::Build;
use picometrics::model::Format;
use picometrics::model::{FunctionSeries, MetricSeries, Source};
use picometrics::schema::{
    label, Kind, BRIDGE_DEVICE_DUMPS, BRIDGE_DEVICE_LAST_DUMP, BRIDGE_DEVICE_UP, BRIDGE_DUMPS_SUPERSEDED,
    BRIDGE_FRAMES_SKIPPED, BRIDGE_SOURCE_UP, DUMP_NUMBER, UPTIME,
};
use picometrics_exporter::push;
use std::collections::BTreeMap;
use std::fmt::{self, Write};
use std::sync::Arc;
use std::time::Instant;

/// A string that refuses to grow past a budget: rendering a device stops at its limit.
pub(crate) struct Capped<'a> {
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

impl Devices {
    /// Every device's latest dump as Prometheus text 0.0.4, each series with a `device` label,
    /// then the bridge's own families: what it skipped, and each device's liveness.
    ///
    /// Each dump is rendered once, by the first scrape after it arrived: a scrape renders
    /// those and joins the texts it keeps (see [`Devices::render_chunks`]).
    pub fn render<W: Write>(&self, w: &mut W) -> fmt::Result {
        let mut chunks = Vec::new();
        self.render_chunks(&mut chunks);
        chunks.iter().try_for_each(|c| w.write_str(c))
    }

    /// The text of [`Devices::render`] as the pieces it is made of, in order: each device's
    /// stored text is shared, not copied, so the store's lock is held while the dumps that
    /// arrived since the last scrape are rendered and references taken (microseconds for a
    /// thousand devices rendered before), and a server can send the pieces as they are
    /// (`picometrics_exporter::Builder::metrics_chunks`).
    pub fn render_chunks(&self, out: &mut Vec<Arc<str>>) {
        let mut own = String::new();
        // Writing into a `String` cannot fail.
        let _ = self.collect_chunks(out, &mut own, true);
        if !own.is_empty() {
            out.push(own.into());
        }
    }

    /// The bridge's own families of [`Devices::render_chunks`] alone — dumps taken, frames
    /// skipped, each device's liveness, dump number and uptime — without the devices' series,
    /// which are not rendered (`picometrics-bridge --no-device-metrics`).
    pub fn render_own_chunks(&self, out: &mut Vec<Arc<str>>) {
        let mut own = String::new();
        // Writing into a `String` cannot fail.
        let _ = self.collect_chunks(out, &mut own, false);
        out.push(own.into());
    }

    /// [`Devices::render_chunks`]: small texts (headers, the bridge's own samples) gather in
    /// `own` and go out as one piece before the next shared one.
    fn collect_chunks(&self, out: &mut Vec<Arc<str>>, own: &mut String, with_devices: bool) -> fmt::Result {
        let mut store = self.store();
        let now = Instant::now();
        store.forget_silent(now);
        if with_devices {
            store.render_new();
            Self::collect_device_chunks(&store, out, own)?;
        }
        let store = &*store;
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
                write!(w, "{:.3}", unix_seconds(d.taken))
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
                picometrics::__private_v1::render::write_seconds(w, d.dump.uptime_nanos)
            })?;
        }
        if store.pushed.is_some() {
            write_header(w, &BRIDGE_DUMPS_SUPERSEDED, Format::Prometheus)?;
            write_sample(w, BRIDGE_DUMPS_SUPERSEDED.name, &[], store.superseded)?;
        }
        if let Some(up) = store.source_up {
            write_header(w, &BRIDGE_SOURCE_UP, Format::Prometheus)?;
            write_sample(w, BRIDGE_SOURCE_UP.name, &[], u64::from(up))?;
        }
        Ok(())
    }

    /// Each device's series: the family headers in `own`, the devices' texts shared.
    fn collect_device_chunks(store: &Store, out: &mut Vec<Arc<str>>, own: &mut String) -> fmt::Result {
        let mut share = |own: &mut String, text: &Arc<str>| {
            if !own.is_empty() {
                out.push(std::mem::take(own).into());
            }
            if !text.is_empty() {
                out.push(text.clone());
            }
        };
        // Every device was rendered by `Store::render_new` before a scrape reads them; one that
        // was not would have nothing to share.
        let texts = || store.devices.values().filter_map(|d| d.text.as_ref());
        for (i, part) in Part::ALL.into_iter().enumerate() {
            if part.always_declared() || texts().any(|t| !t.parts[i].is_empty()) {
                write_header(own, part.metric(), Format::Prometheus)?;
            }
            for t in texts() {
                share(own, &t.parts[i]);
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
                let Some(text) = &d.text else { continue };
                let texts = d.families.iter().zip(&text.families);
                for (_, t) in texts.filter(|(f, _)| f.name == *name && f.kind == *kind) {
                    share(own, t);
                }
            }
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

fn unix_seconds(t: std::time::SystemTime) -> f64 {
    t.duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

/// Each device's latest dump once, at the time it arrived: what the bridge pushes, so that
/// bridges sharing a fleet (a device dumping to any of them) write the same series, and none
/// re-sends a dump it holds after another bridge has written a newer one.
impl push::Snapshots for Devices {
    fn since(&self, cursor: u64, each: &mut dyn FnMut(&dyn Source, std::time::SystemTime)) -> u64 {
        let mut store = self.store();
        store.pushed = Some(store.generation);
        let mut fresh: Vec<(&String, &Device)> =
            store.devices.iter().filter(|(_, d)| d.generation > cursor).collect();
        fresh.sort_unstable_by_key(|(_, d)| d.generation);
        for (device, d) in fresh {
            each(&DeviceView { device, dump: &d.dump }, d.taken);
        }
        store.generation
    }
}

/// `name{device="…"} value` for a value that is not an integer (`write_sample` writes those).
pub(crate) fn write_device_sample<W: Write>(
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

/// Renders one device's dump, family by family — the user metric families of `families`
/// only — within `budget` bytes; `None` if it is over.
pub(crate) fn render_device(
    device: &str,
    dump: &Dump,
    families: &[UserFamily],
    mut budget: usize,
) -> Option<Text> {
    let view = DeviceView { device, dump };
    let mut parts: [String; Part::ALL.len()] = Default::default();
    for (text, part) in parts.iter_mut().zip(Part::ALL) {
        render::write_part(&mut Capped { text, budget: &mut budget }, &view, part, Format::Prometheus)
            .ok()?;
    }
    let mut texts = vec![String::new(); families.len()];
    view.metrics(&mut |series| {
        // A family left out (it collides with another device's) renders nothing.
        let Some(i) = families.iter().position(|f| f.name == series.name && f.kind == series.kind()) else {
            return Ok(());
        };
        render::write_metric_samples(&mut Capped { text: &mut texts[i], budget: &mut budget }, series)
    })
    .ok()?;
    Some(Text { parts: parts.map(Arc::from), families: texts.into_iter().map(Arc::from).collect() })
}
