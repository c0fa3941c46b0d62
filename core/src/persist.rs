//! Counts that survive a warm reset (feature `persist`): every function slot and user metric
//! lives in RAM the startup code does not zero (`.uninit`, which cortex-m-rt leaves alone), and
//! [`boot`] decides once, before the first instrumented call, whether what it finds there is
//! this firmware's.
//!
//! ```ignore
//! #[cortex_m_rt::entry]
//! fn main() -> ! {
//!     // First thing: before any instrumented call or metric update.
//!     let boot = picometrics::persist::boot(board::reset_reason());
//!     // … on the way to a software reset:
//!     picometrics::persist::mark_reset_imminent(picometrics::persist::ResetReason::Software);
//!     cortex_m::peripheral::SCB::sys_reset();
//! }
//! ```
//!
//! Validation: a header (magic, a checksum of the registry's layout — every descriptor's and
//! slot's address, size and names — and the reason marked before a reset) sits in `.uninit`
//! beside the counters. Saved state is kept only if the magic and checksum match (the same
//! firmware image, so the same statics at the same addresses) and every claimed caller edge
//! points at one of the registry's descriptors; anything else — a cold boot's random RAM,
//! another firmware — starts every counter from zero. So a power cycle or a new firmware reads
//! as a counter reset, and a watchdog or software reset as counters that continue.
//!
//! `boot` adds two core metrics, persisted like the rest: `picometrics_boots_total` (boots
//! since the counts started) and `picometrics_resets_total{reason}` (boots by the reason they
//! followed).
//!
//! Soundness: the statics are ordinary Rust statics whose memory the reset did not
//! reinitialise, like memory a DMA engine wrote: every type placed there is made of atomics and
//! integers, for which any bit pattern is a valid value, and the one pointer kind (a caller
//! edge's descriptor pointer) is checked against the registry and replaced by the registry's
//! own reference before anything dereferences it. On hosts (no `.uninit`) the statics are
//! zero-initialised as usual and `boot` starts from zero.

use crate::metrics::{Counter, MetricDescriptor};
use crate::registry::{functions, metrics};
use crate::sync::{AtomicU32, Ordering};

/// Why the device (re)started, as the firmware reads it from its reset controller (or as
/// [`mark_reset_imminent`] recorded it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum ResetReason {
    /// Power-on: nothing survives it.
    PowerOn = 1,
    /// The reset pin.
    Pin = 2,
    /// A watchdog expired.
    Watchdog = 3,
    /// Software asked (`SYSRESETREQ`).
    Software = 4,
    /// The supply dropped below the brown-out threshold.
    Brownout = 5,
    /// The core locked up (a fault in a fault handler).
    Lockup = 6,
    /// Not known.
    Unknown = 7,
}

impl ResetReason {
    /// Every reason, in `picometrics_resets_total` order.
    pub const ALL: [ResetReason; 7] = [
        Self::PowerOn,
        Self::Pin,
        Self::Watchdog,
        Self::Software,
        Self::Brownout,
        Self::Lockup,
        Self::Unknown,
    ];

    /// The `reason` label.
    pub const fn label(self) -> &'static str {
        match self {
            Self::PowerOn => "power_on",
            Self::Pin => "pin",
            Self::Watchdog => "watchdog",
            Self::Software => "software",
            Self::Brownout => "brownout",
            Self::Lockup => "lockup",
            Self::Unknown => "unknown",
        }
    }

    fn from_code(code: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|r| *r as u32 == code)
    }
}

/// What [`boot`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Boot {
    /// Whether the counts were carried over from before the reset (false: they start at zero).
    pub restored: bool,
    /// Boots since the counts started, this one included (`picometrics_boots_total`).
    pub boots: u32,
    /// The reason counted: the one marked before the reset, else the one given to [`boot`].
    pub reason: ResetReason,
}

/// "picometr", in the header's first word.
const MAGIC: u32 = 0x7069_636f;

/// The slots' field order, part of the checksum: a firmware updated across a change of it keeps
/// every address and size, yet its saved counters would be read into the wrong fields. Bump it
/// with every such change (2: the `repr(C)` order of issue #17).
const LAYOUT_VERSION: u32 = 2;

/// Saved-state header, in `.uninit` on bare metal (see the module docs on soundness).
struct Header {
    magic: AtomicU32,
    checksum: AtomicU32,
    /// A [`ResetReason`] code marked by [`mark_reset_imminent`], or 0.
    marked: AtomicU32,
}

crate::__persistent_v1! {
    static HEADER: Header =
        Header { magic: AtomicU32::new(0), checksum: AtomicU32::new(0), marked: AtomicU32::new(0) };
}

crate::__persistent_v1! {
    static BOOTS: Counter = Counter::new();
}

#[linkme::distributed_slice(crate::registry::PICOMETRICS_METRICS)]
static BOOTS_METRIC: MetricDescriptor = MetricDescriptor::new(
    picometrics_schema::BOOTS.name,
    picometrics_schema::BOOTS.help,
    &[],
    &BOOTS,
    &crate::__private_v1::METRIC_HOOKS,
);

/// One `picometrics_resets_total{reason}` series per reason, registered like a user metric.
macro_rules! resets {
    ($($reason:ident => $counter:ident, $descriptor:ident;)*) => {
        $(
            crate::__persistent_v1! {
                static $counter: Counter = Counter::new();
            }
            #[linkme::distributed_slice(crate::registry::PICOMETRICS_METRICS)]
                        static $descriptor: MetricDescriptor = MetricDescriptor::new(
                picometrics_schema::RESETS.name,
                picometrics_schema::RESETS.help,
                &[(picometrics_schema::label::REASON, ResetReason::$reason.label())],
                &$counter,
                &crate::__private_v1::METRIC_HOOKS,
            );
        )*
        /// The counter of `reason`.
        fn resets(reason: ResetReason) -> &'static Counter {
            match reason {
                $(ResetReason::$reason => &$counter,)*
            }
        }
    };
}

resets! {
    PowerOn => RESETS_POWER_ON, RESETS_POWER_ON_METRIC;
    Pin => RESETS_PIN, RESETS_PIN_METRIC;
    Watchdog => RESETS_WATCHDOG, RESETS_WATCHDOG_METRIC;
    Software => RESETS_SOFTWARE, RESETS_SOFTWARE_METRIC;
    Brownout => RESETS_BROWNOUT, RESETS_BROWNOUT_METRIC;
    Lockup => RESETS_LOCKUP, RESETS_LOCKUP_METRIC;
    Unknown => RESETS_UNKNOWN, RESETS_UNKNOWN_METRIC;
}

/// FNV-1a over the registry's layout: what must be identical for saved counters to be ours.
fn layout_checksum() -> u32 {
    let mut h = 0x811c_9dc5u32;
    let mut mix = |bytes: &[u8]| {
        for &b in bytes {
            h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
        }
    };
    mix(&MAGIC.to_le_bytes());
    mix(&LAYOUT_VERSION.to_le_bytes());
    for f in functions() {
        let slot = f.slot();
        let address = (slot as *const dyn crate::descriptor::SlotStorage).cast::<()>() as usize;
        mix(&(core::ptr::from_ref(f) as usize).to_le_bytes());
        mix(&address.to_le_bytes());
        mix(&core::mem::size_of_val(slot).to_le_bytes());
        mix(f.name.as_bytes());
        mix(f.module.as_bytes());
    }
    for m in metrics() {
        mix(&(core::ptr::from_ref(m) as usize).to_le_bytes());
        mix(&m.value_address().to_le_bytes());
        mix(m.name.as_bytes());
    }
    h
}

/// Decides, once at start-up and before the first instrumented call, whether the counts in RAM
/// survive (see the module docs), then counts this boot: `picometrics_boots_total` and
/// `picometrics_resets_total{reason}` for the reason marked before the reset, else `hardware`
/// (what the reset controller says). Not reentrant: call it once, from `main`.
pub fn boot(hardware: ResetReason) -> Boot {
    let checksum = layout_checksum();
    let header_ok =
        HEADER.magic.load(Ordering::Acquire) == MAGIC && HEADER.checksum.load(Ordering::Acquire) == checksum;
    // Stops at the first slot that fails: then every slot is cleared anyway.
    let edges_ok = header_ok && functions().iter().all(|f| f.slot().restore(functions()));
    let restored = header_ok && edges_ok;
    let marked = ResetReason::from_code(HEADER.marked.load(Ordering::Acquire));
    if !restored {
        for f in functions() {
            f.slot().clear();
        }
        for m in metrics() {
            m.clear();
        }
        HEADER.checksum.store(checksum, Ordering::Release);
        HEADER.magic.store(MAGIC, Ordering::Release);
    }
    HEADER.marked.store(0, Ordering::Release);
    // A mark survives only with the counts it belongs to.
    let reason = marked.filter(|_| restored).unwrap_or(hardware);
    BOOTS.inc();
    resets(reason).inc();
    #[allow(clippy::useless_conversion)] // counters are u32 on 32-bit targets
    let boots = u32::try_from(u64::from(BOOTS.get())).unwrap_or(u32::MAX);
    Boot { restored, boots, reason }
}

/// Records why the device is about to reset (e.g. before `SCB::sys_reset()`, or in a fault
/// handler), for the next [`boot`] to count: reset controllers say "software" or "lockup", not
/// why.
pub fn mark_reset_imminent(reason: ResetReason) {
    HEADER.marked.store(reason as u32, Ordering::Release);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_that_is_not_ours_starts_over() {
        boot(ResetReason::PowerOn);
        BOOTS.add(41);
        assert!(boot(ResetReason::Pin).restored, "same layout: kept");
        assert_eq!(BOOTS.get(), 43);
        // Another firmware's layout (or random RAM): everything starts from zero.
        HEADER.checksum.store(layout_checksum() ^ 1, Ordering::Release);
        mark_reset_imminent(ResetReason::Software);
        let b = boot(ResetReason::PowerOn);
        assert_eq!((b.restored, b.boots, b.reason), (false, 1, ResetReason::PowerOn), "the mark goes too");
        assert_eq!((resets(ResetReason::Pin).get(), resets(ResetReason::PowerOn).get()), (0, 1));
        HEADER.magic.store(0, Ordering::Release);
        assert!(!boot(ResetReason::PowerOn).restored);
    }
}
