//! Monotonic counters: the one place that chooses atomic width and read-modify-write strategy.
//!
//! * Targets with 64-bit atomics (x86_64, aarch64, riscv64): [`CounterValue`] is `u64`.
//! * Targets without them (thumbv6m, thumbv7m/v7em, riscv32): `u32`. portable-atomic would
//!   emulate 64-bit atomics there with a global lock table (2 KiB, a lock per increment); a
//!   32-bit counter that wraps after 2³² increments costs nothing and Prometheus' `rate()` reads
//!   a wrap as a counter reset. At 1 000 calls/s a call counter wraps after ~50 days.
//! * Targets without atomic read-modify-write at all (thumbv6m): increments run inside
//!   `critical_section::with`, whose implementation the firmware links (portable-atomic asks
//!   libraries not to choose between `critical-section` and single-core assumptions).
//!
//! `--cfg picometrics_counter32` forces the 32-bit path on any target, so the test command runs
//! its tests (including wrap-around) on the host; the build script turns the choice into
//! `cfg(picometrics_wide)`.

use crate::sync::{loom_const_fn, Ordering};

#[cfg(picometrics_wide)]
type Atomic = crate::sync::AtomicU64;
#[cfg(not(picometrics_wide))]
type Atomic = crate::sync::AtomicU32;

/// The integer a [`Counter`] holds: `u64` where the target has 64-bit atomics, else `u32`.
#[cfg(picometrics_wide)]
pub type CounterValue = u64;
/// The integer a [`Counter`] holds: `u64` where the target has 64-bit atomics, else `u32`.
#[cfg(not(picometrics_wide))]
pub type CounterValue = u32;

/// A wrapping, lock-free (or critical-section on no-CAS targets) counter.
#[repr(transparent)]
pub struct Counter(Atomic);

impl Counter {
    loom_const_fn! {
        /// A counter at zero.
        #[allow(clippy::new_without_default)] // `const` construction is the point; `Default` is not.
        pub fn new() -> Self {
            Self(Atomic::new(0))
        }
    }

    /// Adds `n` (wrapping) with relaxed ordering.
    #[inline(always)]
    pub fn add(&self, n: CounterValue) {
        self.fetch_add(n, Ordering::Relaxed);
    }

    /// Adds `n` (wrapping) with release ordering: a reader that sees this addition with
    /// [`Counter::get_acquire`] also sees every write made before it.
    #[inline(always)]
    pub fn add_release(&self, n: CounterValue) {
        self.fetch_add(n, Ordering::Release);
    }

    /// Replaces the value (relaxed; an atomic store on every target).
    #[inline(always)]
    pub fn set(&self, n: CounterValue) {
        self.0.store(n, Ordering::Relaxed);
    }

    /// Subtracts `n` (wrapping) with relaxed ordering.
    #[inline(always)]
    pub fn sub(&self, n: CounterValue) {
        self.fetch_add(n.wrapping_neg(), Ordering::Relaxed);
    }

    /// Raises the value to `n` if it is below (a running maximum; never wraps).
    #[cfg(target_has_atomic = "ptr")]
    #[inline(always)]
    pub fn max(&self, n: CounterValue) {
        self.0.fetch_max(n, Ordering::Relaxed);
    }

    /// Raises the value to `n` if it is below (a running maximum; never wraps).
    #[cfg(not(target_has_atomic = "ptr"))]
    #[inline(always)]
    pub fn max(&self, n: CounterValue) {
        critical_section::with(|_| {
            if self.0.load(Ordering::Relaxed) < n {
                self.0.store(n, Ordering::Relaxed);
            }
        });
    }

    /// Current value, relaxed.
    #[inline]
    pub fn get(&self) -> CounterValue {
        self.0.load(Ordering::Relaxed)
    }

    /// Current value, acquire (pairs with [`Counter::add_release`]).
    #[inline]
    pub fn get_acquire(&self) -> CounterValue {
        self.0.load(Ordering::Acquire)
    }

    #[cfg(target_has_atomic = "ptr")]
    #[inline(always)]
    fn fetch_add(&self, n: CounterValue, order: Ordering) {
        self.0.fetch_add(n, order);
    }

    #[cfg(not(target_has_atomic = "ptr"))]
    #[inline(always)]
    fn fetch_add(&self, n: CounterValue, _order: Ordering) {
        // The critical section orders everything; only load/store exist on this target.
        critical_section::with(|_| {
            let v = self.0.load(Ordering::Relaxed);
            self.0.store(v.wrapping_add(n), Ordering::Relaxed);
        });
    }
}

/// A histogram's sum of durations in nanoseconds: 64 bits on every target, because 32 bits of
/// nanoseconds wrap after 4.3 s of total time and coarser units lose sub-unit calls (a
/// microsecond sum reads 0 for a firmware function that takes 400 ns).
///
/// Lock-free where the target has 64-bit atomics; elsewhere (thumbv6m/v7m/v7em, riscv32) the
/// addition runs in `critical_section::with`: on a single-core MCU that masks interrupts for a
/// handful of instructions, and it is the only place a 32-bit target takes one if it has CAS.
pub struct Sum(SumCell);

#[cfg(picometrics_wide)]
type SumCell = crate::sync::AtomicU64;
#[cfg(not(picometrics_wide))]
type SumCell = critical_section::Mutex<core::cell::Cell<u64>>;

impl Sum {
    loom_const_fn! {
        /// A sum at zero.
        #[allow(clippy::new_without_default)] // `const` construction is the point; `Default` is not.
        pub fn new() -> Self {
            #[cfg(picometrics_wide)]
            return Self(crate::sync::AtomicU64::new(0));
            #[cfg(not(picometrics_wide))]
            return Self(critical_section::Mutex::new(core::cell::Cell::new(0)));
        }
    }

    /// Adds `nanos` (wrapping) with release ordering: a reader that sees it with
    /// [`Sum::get_acquire`] also sees every write made before it.
    #[inline(always)]
    pub fn add_release(&self, nanos: u64) {
        #[cfg(picometrics_wide)]
        self.0.fetch_add(nanos, Ordering::Release);
        // The critical section orders the addition after the writes before it.
        #[cfg(not(picometrics_wide))]
        critical_section::with(|cs| {
            let cell = self.0.borrow(cs);
            cell.set(cell.get().wrapping_add(nanos));
        });
    }

    /// Back to zero (`persist`: a slot whose saved state is invalid starts over).
    #[cfg(feature = "persist")]
    pub fn clear(&self) {
        #[cfg(picometrics_wide)]
        self.0.store(0, Ordering::Release);
        #[cfg(not(picometrics_wide))]
        critical_section::with(|cs| self.0.borrow(cs).set(0));
    }

    /// Current value, acquire (pairs with [`Sum::add_release`]).
    #[inline]
    pub fn get_acquire(&self) -> u64 {
        #[cfg(picometrics_wide)]
        return self.0.load(Ordering::Acquire);
        #[cfg(not(picometrics_wide))]
        return critical_section::with(|cs| self.0.borrow(cs).get());
    }
}

impl core::fmt::Debug for Sum {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Debug::fmt(&self.get_acquire(), f)
    }
}

impl core::fmt::Debug for Counter {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Debug::fmt(&self.get(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_wraps() {
        let c = Counter::new();
        c.add(3);
        c.add_release(4);
        c.sub(2);
        assert_eq!(c.get(), 5);
        c.sub(6);
        assert_eq!(c.get_acquire(), CounterValue::MAX);
        c.add(1);
        assert_eq!(c.get(), 0);
    }

    #[test]
    fn sum_is_64_bit_nanoseconds() {
        let s = Sum::new();
        s.add_release(400);
        s.add_release(u64::from(u32::MAX));
        assert_eq!(s.get_acquire(), 400 + u64::from(u32::MAX));
    }

    #[test]
    fn width_follows_target() {
        assert_eq!(core::mem::size_of::<Counter>(), if cfg!(picometrics_wide) { 8 } else { 4 });
    }
}
