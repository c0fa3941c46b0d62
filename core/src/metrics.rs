//! User metrics: counters, gauges and value histograms declared as `static`s next to the code
//! that updates them, registered at link time like function slots.
//!
//! ```
//! use picometrics::metrics::{Counter, Gauge, Histogram};
//!
//! /// Bytes written to the radio.
//! #[picometrics::metric(labels(link = "radio"))]
//! static RADIO_BYTES_SENT_TOTAL: Counter = Counter::new();
//!
//! /// Battery voltage.
//! #[picometrics::metric(name = "battery_millivolts")]
//! static BATTERY: Gauge = Gauge::new();
//!
//! /// Size of received packets in bytes.
//! #[picometrics::metric]
//! static PACKET_BYTES: Histogram<3> = Histogram::new([64, 256, 1024]);
//!
//! RADIO_BYTES_SENT_TOTAL.add(300);
//! BATTERY.set(3700);
//! PACKET_BYTES.observe(200);
//!
//! let mut out = heapless::String::<16384>::new();
//! picometrics::render_prometheus(&mut out).unwrap();
//! assert!(out.contains("# TYPE radio_bytes_sent_total counter\n"));
//! assert!(out.contains("radio_bytes_sent_total{link=\"radio\"} 300\n"));
//! assert!(out.contains("battery_millivolts 3700\n"));
//! assert!(out.contains("packet_bytes_bucket{le=\"256\"} 1\n"));
//! ```
//!
//! Like function slots, each metric is a `static` of atomics (a critical section where the
//! target has no atomic read-modify-write, thumbv6m), with no registration call and no
//! allocation; [`macro@crate::metric`] places a read-only [`MetricDescriptor`] in a linker
//! section. Names and labels are checked at compile time against the Prometheus naming rules
//! ([`crate::schema::check_metric_name`]); two statics with the same name and labels fail the
//! link (each series exports one symbol named after them).
//!
//! Values are integers — gauges are signed, histograms observe unsigned values — so no target
//! links float formatting; name the unit in the metric (`battery_millivolts`). Counters and
//! gauges are 32-bit where the target lacks 64-bit atomics (see [`CounterValue`]).

use crate::counter::{self, Sum};
use crate::descriptor::sealed;
use crate::model::{MetricSeries, MetricValue};
use core::fmt;
use picometrics_schema::{Kind, MAX_BOUNDS};

pub use crate::counter::CounterValue;

/// The integer a [`Gauge`] holds: `i64` where the target has 64-bit atomics, else `i32`.
#[cfg(picometrics_wide)]
pub type GaugeValue = i64;
/// The integer a [`Gauge`] holds: `i64` where the target has 64-bit atomics, else `i32`.
#[cfg(not(picometrics_wide))]
pub type GaugeValue = i32;

/// A monotonic counter (`# TYPE counter`; its name ends in `_total`). Wraps at the counter
/// width, which Prometheus' `rate()` reads as a reset.
pub struct Counter(counter::Counter);

impl Counter {
    /// A counter at zero.
    #[allow(clippy::new_without_default)] // `const` construction is the point; `Default` is not.
    pub const fn new() -> Self {
        Self(counter::Counter::new())
    }

    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.0.add(1);
    }

    /// Adds `n` (wrapping at the counter width).
    #[inline]
    pub fn add(&self, n: CounterValue) {
        self.0.add(n);
    }

    /// The current count.
    pub fn get(&self) -> CounterValue {
        self.0.get()
    }
}

/// A value that goes up and down (`# TYPE gauge`): a level, a depth, a voltage in millivolts.
pub struct Gauge(counter::Counter);

impl Gauge {
    /// A gauge at zero.
    #[allow(clippy::new_without_default)] // `const` construction is the point; `Default` is not.
    pub const fn new() -> Self {
        Self(counter::Counter::new())
    }

    /// Sets the value (one atomic store on every target).
    #[inline]
    pub fn set(&self, value: GaugeValue) {
        // Two's complement: the counter holds the gauge's bits.
        self.0.set(value as CounterValue);
    }

    /// Adds `n` (wrapping).
    #[inline]
    pub fn add(&self, n: GaugeValue) {
        self.0.add(n as CounterValue);
    }

    /// Subtracts `n` (wrapping).
    #[inline]
    pub fn sub(&self, n: GaugeValue) {
        self.0.sub(n as CounterValue);
    }

    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.0.add(1);
    }

    /// Subtracts one.
    #[inline]
    pub fn dec(&self) {
        self.0.sub(1);
    }

    /// The current value.
    pub fn get(&self) -> GaugeValue {
        self.0.get() as GaugeValue
    }
}

/// A histogram of `N` fixed bucket bounds over unsigned integer values that are not durations
/// (sizes, depths, counts per batch): `le` buckets, `_sum` and `_count`. The capacity is in the
/// type, so its RAM is `N + 1` counters and a 64-bit sum.
pub struct Histogram<const N: usize> {
    bounds: [u64; N],
    counts: [counter::Counter; N],
    inf: counter::Counter,
    sum: Sum,
}

impl<const N: usize> Histogram<N> {
    /// A histogram with these bucket bounds (`le` values), which must strictly increase; at
    /// most [`MAX_BOUNDS`] of them. Checked at compile time in a `static`.
    pub const fn new(bounds: [u64; N]) -> Self {
        if let Err(e) = picometrics_schema::check_bounds(&bounds, false) {
            panic!("{}", e.message());
        }
        Self {
            bounds,
            counts: [const { counter::Counter::new() }; N],
            inf: counter::Counter::new(),
            sum: Sum::new(),
        }
    }

    /// Counts `value` in the first bucket whose bound is at least `value` (or `+Inf`) and adds
    /// it to the sum.
    #[inline]
    pub fn observe(&self, value: u64) {
        match self.counts.get(crate::slot::bucket_index(&self.bounds, value)) {
            Some(bucket) => bucket.add(1),
            None => self.inf.add(1),
        }
        // After the bucket, with release: a reader that sees the sum sees its count.
        self.sum.add_release(value);
    }

    /// The bucket bounds.
    pub fn bounds(&self) -> &[u64; N] {
        &self.bounds
    }
}

/// What [`MetricDescriptor`] reads: the three metric types. Sealed; implemented by
/// [`Counter`], [`Gauge`] and [`Histogram`] only.
pub trait Instrument: sealed::Sealed + Sync {
    /// The `# TYPE`.
    const KIND: Kind;

    /// Reads the value and hands it to `each` (a histogram's counts are copied to the stack).
    fn read(&self, each: &mut dyn FnMut(MetricValue<'_>) -> fmt::Result) -> fmt::Result;

    /// Back to zero (`persist`: saved state that is not valid starts over).
    #[doc(hidden)]
    #[cfg(feature = "persist")]
    fn clear(&self);
}

impl sealed::Sealed for Counter {}
impl sealed::Sealed for Gauge {}
impl<const N: usize> sealed::Sealed for Histogram<N> {}

impl Instrument for Counter {
    const KIND: Kind = Kind::Counter;

    #[allow(clippy::useless_conversion)] // counters are u32 on 32-bit targets
    fn read(&self, each: &mut dyn FnMut(MetricValue<'_>) -> fmt::Result) -> fmt::Result {
        each(MetricValue::Counter(self.get().into()))
    }

    #[cfg(feature = "persist")]
    fn clear(&self) {
        self.0.set(0);
    }
}

impl Instrument for Gauge {
    const KIND: Kind = Kind::Gauge;

    #[allow(clippy::useless_conversion)] // gauges are i32 on 32-bit targets
    fn read(&self, each: &mut dyn FnMut(MetricValue<'_>) -> fmt::Result) -> fmt::Result {
        each(MetricValue::Gauge(self.get().into()))
    }

    #[cfg(feature = "persist")]
    fn clear(&self) {
        self.0.set(0);
    }
}

impl<const N: usize> Instrument for Histogram<N> {
    const KIND: Kind = Kind::Histogram;

    #[allow(clippy::useless_conversion)] // counters are u32 on 32-bit targets
    fn read(&self, each: &mut dyn FnMut(MetricValue<'_>) -> fmt::Result) -> fmt::Result {
        // The sum first (acquire), then each bucket once: the sum never includes a value the
        // counts miss (see `slot`'s consistency notes).
        let sum = self.sum.get_acquire();
        let mut counts = [0u64; MAX_BOUNDS + 1];
        for (to, from) in counts.iter_mut().zip(self.counts.iter().chain([&self.inf])) {
            *to = from.get().into();
        }
        each(MetricValue::Histogram { bounds: &self.bounds, counts: &counts[..=N], sum })
    }

    #[cfg(feature = "persist")]
    fn clear(&self) {
        for c in self.counts.iter().chain([&self.inf]) {
            c.set(0);
        }
        self.sum.clear();
    }
}

/// Everything about a user metric that is fixed at compile time, plus a reference to its
/// value. Lives in read-only memory; `#[picometrics::metric]` registers one per `static`.
pub struct MetricDescriptor {
    /// The family name.
    pub name: &'static str,
    /// The `# HELP` text (the static's doc comment, or `help = "…"`).
    pub help: &'static str,
    /// The constant labels.
    pub labels: &'static [(&'static str, &'static str)],
    instrument: &'static dyn InstrumentDyn,
    hooks: &'static Hooks,
}

/// The code that writes the registry's user metrics, reached only through a registered
/// descriptor: a program without user metrics (most firmware) links none of it — about 3 KB of
/// text rendering and 2 KB of frame encoding on thumbv7em. The crate root builds the one
/// instance (it sits above the writers); generated code passes it.
#[doc(hidden)]
pub struct Hooks {
    /// Writes every registered user metric (the one writer's grouping, on the registry).
    pub write: crate::model::MetricsWriter,
    /// Encodes one series as a frame on the stream (a `frame::StreamId`'s bits: this module
    /// stays below `frame`) into the buffer; `None` if it does not fit.
    #[cfg(feature = "frames")]
    pub encode: for<'b> fn(&MetricSeries<'_>, u16, &'b mut [u8]) -> Option<&'b [u8]>,
}

/// [`Instrument`] without its associated constant, so descriptors can hold any of them.
trait InstrumentDyn: Sync {
    fn kind(&self) -> Kind;
    fn read(&self, each: &mut dyn FnMut(MetricValue<'_>) -> fmt::Result) -> fmt::Result;
    #[cfg(feature = "persist")]
    fn clear(&self);
}

impl<I: Instrument> InstrumentDyn for I {
    fn kind(&self) -> Kind {
        I::KIND
    }
    fn read(&self, each: &mut dyn FnMut(MetricValue<'_>) -> fmt::Result) -> fmt::Result {
        Instrument::read(self, each)
    }
    #[cfg(feature = "persist")]
    fn clear(&self) {
        Instrument::clear(self)
    }
}

impl MetricDescriptor {
    /// Describes a metric; used by the code `#[picometrics::metric]` generates, after
    /// [`check`] passed on the same arguments.
    #[doc(hidden)]
    pub const fn new<I: Instrument>(
        name: &'static str,
        help: &'static str,
        labels: &'static [(&'static str, &'static str)],
        instrument: &'static I,
        hooks: &'static Hooks,
    ) -> Self {
        Self { name, help, labels, instrument, hooks }
    }

    pub(crate) fn hooks(&self) -> &'static Hooks {
        self.hooks
    }

    /// Its value back to zero (`persist`).
    #[cfg(feature = "persist")]
    pub(crate) fn clear(&self) {
        self.instrument.clear();
    }

    /// Where its value lives, for the layout checksum (`persist`).
    #[cfg(feature = "persist")]
    pub(crate) fn value_address(&self) -> usize {
        (self.instrument as *const dyn InstrumentDyn).cast::<()>() as usize
    }

    /// The `# TYPE`.
    pub fn kind(&self) -> Kind {
        self.instrument.kind()
    }

    /// Reads the value into the exposition model's view and hands it to `each`.
    pub fn read(&self, each: &mut dyn FnMut(&MetricSeries<'_>) -> fmt::Result) -> fmt::Result {
        self.instrument.read(&mut |value| {
            each(&MetricSeries {
                extra: None,
                name: self.name,
                help: self.help,
                labels: self.labels,
                counter_bits: CounterValue::BITS,
                value,
            })
        })
    }
}

impl fmt::Debug for MetricDescriptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetricDescriptor")
            .field("name", &self.name)
            .field("kind", &self.kind())
            .field("labels", &self.labels)
            .finish_non_exhaustive()
    }
}

/// Panics (at compile time in the `const` the attribute emits, on its span) unless the name,
/// help and labels follow the naming rules for an instrument of type `I`.
#[doc(hidden)]
pub const fn check<I: Instrument>(name: &str, help: &str, labels: &[(&str, &str)]) {
    if let Err(why) = picometrics_schema::check_metric(name, help, I::KIND, labels) {
        panic!("{}", why);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(i: &dyn InstrumentDyn) -> (Kind, u64, i64, [u64; 4], u64) {
        let mut out = (i.kind(), 0, 0, [0; 4], 0);
        i.read(&mut |v| {
            match v {
                MetricValue::Counter(c) => out.1 = c,
                MetricValue::Gauge(g) => out.2 = g,
                MetricValue::Histogram { counts, sum, .. } => {
                    out.3[..counts.len()].copy_from_slice(counts);
                    out.4 = sum;
                }
            }
            Ok(())
        })
        .unwrap();
        out
    }

    #[test]
    fn counter_gauge_and_histogram_read_exactly() {
        let c = Counter::new();
        c.inc();
        c.add(41);
        assert_eq!(value(&c), (Kind::Counter, 42, 0, [0; 4], 0));

        let g = Gauge::new();
        g.set(10);
        g.dec();
        g.sub(20);
        g.add(3);
        g.inc();
        assert_eq!(g.get(), -7);
        assert_eq!(value(&g).2, -7);

        let h = Histogram::new([0, 10, 100]);
        for v in [0, 1, 10, 11, 100, 101, 5_000] {
            h.observe(v);
        }
        assert_eq!(value(&h), (Kind::Histogram, 0, 0, [1, 2, 2, 2], 5_223));
    }

    #[test]
    fn checks_follow_the_schema() {
        check::<Counter>("sent_total", "Sent.", &[("link", "uart")]);
        check::<Gauge>("depth", "", &[]);
    }

    #[test]
    #[should_panic(expected = "a counter's name ends in `_total`")]
    fn counter_needs_total() {
        check::<Counter>("sent", "", &[]);
    }

    #[test]
    #[should_panic(expected = "a label name appears twice")]
    fn labels_are_unique() {
        check::<Gauge>("depth", "", &[("a", "1"), ("a", "2")]);
    }
}
