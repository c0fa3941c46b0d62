//! The mutable half of an instrumented function: one `static FunctionSlot` of counters in RAM.
//!
//! ## Layout and RAM
//!
//! A `FunctionSlot<B, C>` holds:
//!
//! | part                         | counters / pointers         |
//! |------------------------------|-----------------------------|
//! | histogram buckets + `+Inf`   | `B + 1` counters            |
//! | histogram sum                | 64-bit nanoseconds          |
//! | concurrency gauge            | 1 counter                   |
//! | calls with no caller         | 2 counters (ok, error)      |
//! | caller edges                 | `C` × (pointer + 2 counters)|
//! | calls past the last edge     | 2 counters (ok, error)      |
//!
//! With the 14 default bounds and 3 caller edges that is **128 bytes** on 32-bit targets
//! (thumbv6m/v7em: 4-byte counters and pointers, an 8-byte sum) and **256 bytes** on 64-bit targets
//! (240 of counters, aligned to a 64-byte cache line); both are pinned by tests.
//!
//! ## Consistency
//!
//! A writer increments its bucket (relaxed) and then adds its duration to the sum (release);
//! a snapshot reads the sum (acquire) and then every bucket once. So in every snapshot the
//! `+Inf` bucket equals the count, cumulative buckets never decrease, and the sum never
//! includes a call the count misses.

use crate::buckets;
use crate::counter::{Counter, CounterValue, Sum};
use crate::descriptor::{sealed, FunctionDescriptor};
use crate::model::Totals;
use crate::sync::{loom_const_fn, AtomicPtr, Ordering};
use core::ptr;
pub use picometrics_schema::{DEFAULT_CALLERS, MAX_CALLERS};

mod read;

/// Ok and error call counters.
#[derive(Debug)]
pub struct ResultCounts {
    ok: Counter,
    error: Counter,
}

impl ResultCounts {
    loom_const_fn! {
        fn new() -> Self {
            Self { ok: Counter::new(), error: Counter::new() }
        }
    }

    #[inline(always)]
    fn count(&self, is_error: bool) {
        if is_error { &self.error } else { &self.ok }.add(1);
    }

    #[cfg(feature = "persist")]
    fn clear(&self) {
        self.ok.set(0);
        self.error.set(0);
    }

    #[allow(clippy::useless_conversion)] // counters are u32 on 32-bit targets
    fn totals(&self) -> Totals {
        Totals { ok: self.ok.get().into(), error: self.error.get().into() }
    }
}

/// Calls from one instrumented caller, claimed lock-free on that caller's first call.
#[derive(Debug)]
pub struct CallerEdge {
    caller: AtomicPtr<FunctionDescriptor>,
    calls: ResultCounts,
}

impl CallerEdge {
    loom_const_fn! {
        fn new() -> Self {
            Self { caller: AtomicPtr::new(ptr::null_mut()), calls: ResultCounts::new() }
        }
    }

    fn caller(&self) -> Option<&'static FunctionDescriptor> {
        let p = self.caller.load(Ordering::Acquire);
        // SAFETY: the only non-null values ever stored are `&'static FunctionDescriptor`s
        // (see `claim`), which are valid for the whole program.
        unsafe { p.cast_const().as_ref() }
    }

    /// Takes this edge for `caller` if it is free; true if it is (now) `caller`'s.
    #[inline]
    fn claim(&self, caller: *mut FunctionDescriptor) -> bool {
        cas_null(&self.caller, caller)
    }
}

#[cfg(target_has_atomic = "ptr")]
#[inline]
fn cas_null(slot: &AtomicPtr<FunctionDescriptor>, new: *mut FunctionDescriptor) -> bool {
    match slot.compare_exchange(ptr::null_mut(), new, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => true,
        // Another call claimed it first: ours only if it claimed it for the same caller.
        Err(current) => current == new,
    }
}

#[cfg(not(target_has_atomic = "ptr"))]
#[inline]
fn cas_null(slot: &AtomicPtr<FunctionDescriptor>, new: *mut FunctionDescriptor) -> bool {
    critical_section::with(|_| {
        let current = slot.load(Ordering::Acquire);
        if current.is_null() {
            slot.store(new, Ordering::Release);
            true
        } else {
            current == new
        }
    })
}

/// Index of the bucket `nanos` falls in: the first bound `>= nanos` (Prometheus' `le` is
/// inclusive), or `bounds.len()` for `+Inf`.
///
/// A linear scan: hot paths land in the first buckets, and 14 compares beat a binary search's
/// unpredictable branches.
#[inline(always)]
pub fn bucket_index(bounds: &[u64], nanos: u64) -> usize {
    let mut i = 0;
    while i < bounds.len() && nanos > bounds[i] {
        i += 1;
    }
    i
}

/// The longest call of a function, when it is tracked: [`TrackMax`] (`track_max`) or nothing
/// at all, [`NoMax`] (zero bytes, no instruction), so functions without the option pay nothing.
pub trait MaxCell: sealed::Sealed + Sync {
    /// The cell with no call seen.
    #[cfg(not(loom))]
    const NEW: Self;
    /// The cell with no call seen.
    #[cfg(loom)]
    fn new() -> Self;
    /// Records a call that took `nanos`.
    fn observe(&self, nanos: u64);
    /// Forgets every call (`persist`).
    #[cfg(feature = "persist")]
    fn clear(&self);
    /// The longest call so far, if tracked.
    fn get(&self) -> Option<u64>;
}

/// No maximum kept (the default).
#[derive(Debug)]
pub struct NoMax;

impl sealed::Sealed for NoMax {}

impl MaxCell for NoMax {
    #[cfg(not(loom))]
    const NEW: Self = NoMax;
    #[cfg(loom)]
    fn new() -> Self {
        NoMax
    }
    #[inline(always)]
    fn observe(&self, _: u64) {}
    #[cfg(feature = "persist")]
    fn clear(&self) {}
    fn get(&self) -> Option<u64> {
        None
    }
}

/// The longest call since start, in nanoseconds, saturating at the counter width (4.29 s on
/// 32-bit targets, where reading it as `u32::MAX` means "at least that").
#[derive(Debug)]
pub struct TrackMax(Counter);

impl sealed::Sealed for TrackMax {}

impl MaxCell for TrackMax {
    #[cfg(not(loom))]
    const NEW: Self = TrackMax(Counter::new());
    #[cfg(loom)]
    fn new() -> Self {
        TrackMax(Counter::new())
    }
    #[inline(always)]
    fn observe(&self, nanos: u64) {
        self.0.max(CounterValue::try_from(nanos).unwrap_or(CounterValue::MAX));
    }
    #[cfg(feature = "persist")]
    fn clear(&self) {
        self.0.set(0);
    }
    #[allow(clippy::useless_conversion)] // counters are u32 on 32-bit targets
    fn get(&self) -> Option<u64> {
        Some(self.0.get().into())
    }
}

/// Counters of one instrumented function: `BOUNDS` histogram buckets, `CALLERS` caller edges,
/// and the longest call if `M` is [`TrackMax`].
///
/// The attribute declares one per function; it is public only so generated code can name it.
///
/// In this order (`repr(C)`), so that a root call landing in one of the first buckets touches
/// one 64-byte cache line (counter, sum, gauge and buckets up to 50 ms with the default bounds,
/// on 64-bit hosts), and on hosts aligned to that line, so that two functions called on two
/// cores never share one (firmware keeps its 8-byte alignment: no padding in its RAM).
#[cfg_attr(not(target_os = "none"), repr(C, align(64)))]
#[cfg_attr(target_os = "none", repr(C))]
pub struct FunctionSlot<const BOUNDS: usize, const CALLERS: usize = DEFAULT_CALLERS, M: MaxCell = NoMax> {
    root: ResultCounts,
    sum: Sum,
    concurrent: Counter,
    buckets: [Counter; BOUNDS],
    inf: Counter,
    edges: [CallerEdge; CALLERS],
    overflow: ResultCounts,
    /// The longest call, with `track_max`; zero-sized otherwise.
    max: M,
    /// The latest trace per bucket (feature `exemplars`; absent otherwise).
    #[cfg(feature = "exemplars")]
    exemplars: crate::exemplars::ExemplarCells<BOUNDS>,
}

impl<const BOUNDS: usize, const CALLERS: usize, M: MaxCell> FunctionSlot<BOUNDS, CALLERS, M> {
    loom_const_fn! {
        /// A slot with every counter at zero. Fails to compile for an unsupported size.
        #[allow(clippy::new_without_default)] // only ever built in a `static`
        pub fn new() -> Self {
            const {
                assert!(BOUNDS >= 1 && BOUNDS <= buckets::MAX_BOUNDS, "picometrics: 1 to 32 bucket bounds");
                assert!(CALLERS <= MAX_CALLERS, "picometrics: at most 16 caller edges");
            }
            Self {
                #[cfg(not(loom))]
                buckets: [const { Counter::new() }; BOUNDS],
                #[cfg(loom)]
                buckets: core::array::from_fn(|_| Counter::new()),
                inf: Counter::new(),
                sum: Sum::new(),
                concurrent: Counter::new(),
                root: ResultCounts::new(),
                #[cfg(not(loom))]
                edges: [const { CallerEdge::new() }; CALLERS],
                #[cfg(loom)]
                edges: core::array::from_fn(|_| CallerEdge::new()),
                overflow: ResultCounts::new(),
                #[cfg(not(loom))]
                max: M::NEW,
                #[cfg(loom)]
                max: M::new(),
                #[cfg(feature = "exemplars")]
                exemplars: crate::exemplars::ExemplarCells::new(),
            }
        }
    }

    /// The counters a call from `caller` goes to: the no-caller pair, the caller's edge
    /// (claimed on first use), or the overflow pair once every edge belongs to another caller.
    #[inline]
    pub fn calls_from(&self, caller: Option<&'static FunctionDescriptor>) -> &ResultCounts {
        let Some(caller) = caller else { return &self.root };
        let caller = ptr::from_ref(caller).cast_mut();
        for edge in &self.edges {
            let current = edge.caller.load(Ordering::Acquire);
            if current == caller || (current.is_null() && edge.claim(caller)) {
                return &edge.calls;
            }
        }
        &self.overflow
    }

    /// Records one finished call.
    #[inline(always)]
    pub fn record(&self, bounds: &[u64; BOUNDS], calls: &ResultCounts, elapsed_nanos: u64, is_error: bool) {
        calls.count(is_error);
        let i = bucket_index(bounds, elapsed_nanos);
        match self.buckets.get(i) {
            Some(bucket) => bucket.add(1),
            None => self.inf.add(1),
        }
        #[cfg(feature = "exemplars")]
        if let Some(trace) = crate::exemplars::current() {
            self.exemplars.get(i).store(trace, elapsed_nanos);
        }
        self.max.observe(elapsed_nanos);
        // Release: a snapshot that sees this sum sees the bucket above (see module docs).
        self.sum.add_release(elapsed_nanos);
    }

    /// Marks a call as started (concurrency gauge).
    #[inline(always)]
    pub fn enter(&self) {
        self.concurrent.add(1);
    }

    /// Marks a call as finished (concurrency gauge).
    #[inline(always)]
    pub fn exit(&self) {
        self.concurrent.sub(1);
    }
}

// The RAM figures in the module docs, checked on every build for 32- and 64-bit targets (the
// test command builds thumbv6m and thumbv7em). Exemplars add 48 bytes per bucket (std only).
#[cfg(target_pointer_width = "32")]
const _: () = assert!(core::mem::size_of::<FunctionSlot<14, DEFAULT_CALLERS>>() == 128);
#[cfg(all(target_pointer_width = "64", picometrics_wide, not(feature = "exemplars")))]
const _: () = assert!(core::mem::size_of::<FunctionSlot<14, DEFAULT_CALLERS>>() == 256);
// The first line holds what a root call in the first four buckets touches.
#[cfg(all(target_pointer_width = "64", picometrics_wide, not(feature = "exemplars"), not(loom)))]
const _: () = assert!(core::mem::offset_of!(FunctionSlot<14, DEFAULT_CALLERS>, buckets) + 4 * 8 == 64);
#[cfg(all(target_pointer_width = "64", picometrics_wide, feature = "exemplars"))]
const _: () = assert!(core::mem::size_of::<FunctionSlot<14, DEFAULT_CALLERS>>() == 240 + 15 * 48);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build_info::BuildInfo;
    use crate::descriptor::SlotStorage;
    use core::mem::size_of;

    /// `persist`: an edge that points anywhere but the registry makes the slot's saved state
    /// invalid; `clear` zeroes every counter and frees the edges.
    #[cfg(feature = "persist")]
    #[test]
    fn restore_rejects_foreign_edges_and_clear_zeroes() {
        static SLOT: FunctionSlot<2, 2> = FunctionSlot::new();
        static FOREIGN: u8 = 0;
        SLOT.root.count(true);
        SLOT.concurrent.add(3);
        assert!(SLOT.restore(&[]), "no edge claimed: nothing to check");
        assert_eq!(SLOT.concurrent(), 0, "nothing is in flight at boot");
        SLOT.edges[0]
            .caller
            .store(core::ptr::from_ref(&FOREIGN).cast::<FunctionDescriptor>().cast_mut(), Ordering::Release);
        assert!(!SLOT.restore(&[]));
        SLOT.clear();
        assert!(SLOT.edges.iter().all(|e| e.caller().is_none()));
        assert_eq!(SLOT.calls().root, Totals::default());
    }

    static BUILD: BuildInfo = BuildInfo {
        version: "0",
        commit: "",
        branch: "",
        service_name: "test",
        repository_url: "",
        is_binary: false,
    };
    const BOUNDS: [u64; 2] = [10, 20];
    static SLOT: FunctionSlot<2, 2> = FunctionSlot::new();
    static OTHER: FunctionSlot<2, 2> = FunctionSlot::new();
    static CALLEE: FunctionDescriptor =
        FunctionDescriptor::new("callee", "m", None, &BOUNDS, false, &BUILD, &SLOT);
    static A: FunctionDescriptor = FunctionDescriptor::new("a", "m", None, &BOUNDS, false, &BUILD, &OTHER);
    static B: FunctionDescriptor = FunctionDescriptor::new("b", "m", None, &BOUNDS, false, &BUILD, &OTHER);
    static C: FunctionDescriptor = FunctionDescriptor::new("c", "m", None, &BOUNDS, false, &BUILD, &OTHER);

    /// Claims edges through the raw-pointer path and reads them back (run under Miri too).
    #[test]
    fn caller_edges_claim_then_overflow() {
        for (caller, is_error) in
            [(Some(&A), false), (Some(&B), true), (Some(&A), true), (Some(&C), false), (None, false)]
        {
            let calls = SLOT.calls_from(caller);
            SLOT.record(&BOUNDS, calls, 15, is_error);
        }
        let snapshot = SLOT.calls();
        let edges: heapless::Vec<_, 4> =
            snapshot.callers.iter().map(|c| (c.function, c.calls.ok, c.calls.error)).collect();
        assert_eq!(edges, [("a", 1, 1), ("b", 0, 1)]);
        assert_eq!((snapshot.overflow.ok, snapshot.overflow.error), (1, 0));
        assert_eq!((snapshot.root.ok, snapshot.root.error), (1, 0));
        assert_eq!(CALLEE.snapshot().histogram.count(), 5);
    }

    #[test]
    fn ram_per_slot_is_pinned() {
        let word = size_of::<usize>();
        let counter = size_of::<Counter>();
        let exemplars = if cfg!(feature = "exemplars") { 15 * 48 } else { 0 };
        let counters = (15 + 1 + 2 + 2) * counter + 8 + 3 * (word + 2 * counter) + exemplars;
        let align = align_of::<FunctionSlot<14, 3>>();
        assert_eq!(size_of::<FunctionSlot<14, 3>>(), counters.next_multiple_of(align));
        // Hosts align a slot to a cache line; firmware to its largest field.
        assert_eq!(align, if cfg!(target_os = "none") { 8 } else { 64 });
        #[cfg(all(target_pointer_width = "64", picometrics_wide, not(feature = "exemplars")))]
        assert_eq!(size_of::<FunctionSlot<14>>(), 256);
        // `track_max` adds one counter; without it the cell takes no space.
        assert_eq!(size_of::<FunctionSlot<14, 3, TrackMax>>(), (counters + counter).next_multiple_of(align));
    }

    #[test]
    #[allow(clippy::useless_conversion)] // counters are u32 on 32-bit targets
    fn track_max_keeps_the_longest_call() {
        static TRACKED: FunctionSlot<2, 1, TrackMax> = FunctionSlot::new();
        for nanos in [15, 400, 7] {
            TRACKED.record(&BOUNDS, TRACKED.calls_from(None), nanos, false);
        }
        assert_eq!(TRACKED.max(), Some(400));
        assert_eq!(SLOT.max(), None, "untracked");
        TRACKED.record(&BOUNDS, TRACKED.calls_from(None), u64::MAX, false);
        assert_eq!(TRACKED.max(), Some(u64::from(CounterValue::MAX)), "saturates at the counter width");
    }
}
