//! Which instrumented function is running now: the source of the `caller_*` labels.
//!
//! * **std**: a thread-local, set by a sync function for the length of its call, and by an
//!   async function for the length of each poll of its body (so it follows the task from
//!   thread to thread, and two tasks interleaved on one thread never see each other).
//! * **no_std**: one global, for single-core firmware. Every set is undone in reverse order
//!   (a call, an interrupt handler, a poll), so an interrupt that preempts an instrumented
//!   function and calls another sees the preempted one as its caller and restores it on return
//!   — which is what happened. On a multi-core chip or under a preemptive RTOS with several
//!   threads running instrumented code, caller labels can name the wrong caller (counts,
//!   latencies and results stay exact).

use crate::descriptor::FunctionDescriptor;

type Current = Option<&'static FunctionDescriptor>;

#[cfg(feature = "std")]
mod imp {
    use super::Current;
    use core::cell::Cell;

    std::thread_local! {
        static CURRENT: Cell<Current> = const { Cell::new(None) };
    }

    #[inline(always)]
    pub fn get() -> Current {
        CURRENT.with(Cell::get)
    }

    #[inline(always)]
    pub fn replace(new: Current) -> Current {
        CURRENT.with(|c| c.replace(new))
    }

    #[inline(always)]
    pub fn set(new: Current) {
        CURRENT.with(|c| c.set(new));
    }
}

#[cfg(not(feature = "std"))]
mod imp {
    use super::{Current, FunctionDescriptor};
    use core::ptr;
    use portable_atomic::{AtomicPtr, Ordering};

    static CURRENT: AtomicPtr<FunctionDescriptor> = AtomicPtr::new(ptr::null_mut());

    #[inline(always)]
    pub fn get() -> Current {
        let p = CURRENT.load(Ordering::Relaxed);
        // SAFETY: only `&'static FunctionDescriptor`s (or null) are ever stored.
        unsafe { p.cast_const().as_ref() }
    }

    /// Load then store, not swap: thumbv6m has no swap, and on one core anything that
    /// interrupts between the two restores the value before returning.
    #[inline(always)]
    pub fn replace(new: Current) -> Current {
        let old = get();
        set(new);
        old
    }

    #[inline(always)]
    pub fn set(new: Current) {
        CURRENT.store(new.map_or(ptr::null_mut(), |d| ptr::from_ref(d).cast_mut()), Ordering::Relaxed);
    }
}

/// The instrumented function running on this thread (std) or core (no_std), if any.
#[inline]
pub fn current() -> Option<&'static FunctionDescriptor> {
    imp::get()
}

/// Makes `function` the current caller until dropped, then restores the previous one
/// (also when unwinding).
#[doc(hidden)]
pub struct CallerScope {
    previous: Current,
}

impl CallerScope {
    /// Enters `function`.
    #[inline(always)]
    pub fn enter(function: &'static FunctionDescriptor) -> Self {
        Self { previous: imp::replace(Some(function)) }
    }
}

impl Drop for CallerScope {
    #[inline(always)]
    fn drop(&mut self) {
        // A store, not a swap: the current value is this scope's own (every scope inside it has
        // already restored), so reading it would be an instruction for nothing.
        imp::set(self.previous);
    }
}
