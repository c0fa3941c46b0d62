//! Dumps on a schedule, without glue: [`Every`] for a superloop or a timer interrupt, and
//! `dump_every` (feature `embassy-time`) for an embassy task on `embassy_time::Ticker`. Each
//! dump is handed a [`DumpInfo`]: its number since start and the uptime, which the dump carries
//! (`frame::write_dump_info`, feature `frames`, puts both in its `Begin` frame,
//! [`crate::render::write_dump_info`] writes them as two gauges after the text).
//!
//! ```
//! use picometrics::periodic::Every;
//!
//! // In a superloop: poll as often as you like; the dump runs once per interval.
//! let mut every = Every::new(1_000_000_000); // 1 s
//! let mut dumps = Vec::new();
//! for uptime_ms in (0..3_500).step_by(10) {
//!     every.poll_at(uptime_ms * 1_000_000, |info| dumps.push(info.seq));
//! }
//! assert_eq!(dumps, [0, 1, 2]); // at 1 s, 2 s and 3 s
//! ```

/// What a periodic dump is told.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DumpInfo {
    /// Dumps since start: 0, 1, 2, … (a host seeing it go down knows the device restarted).
    pub seq: u32,
    /// Nanoseconds since start, by the clock that times calls.
    pub uptime_nanos: u64,
}

/// A dump every `interval`, for code that polls: a superloop, or a timer interrupt that fires
/// more often than the interval.
#[derive(Clone, Debug)]
pub struct Every {
    interval_nanos: u64,
    next_nanos: u64,
    seq: u32,
}

impl Every {
    /// Every `interval_nanos` (at least 1): the first dump one interval after start.
    pub const fn new(interval_nanos: u64) -> Self {
        let interval_nanos = if interval_nanos == 0 { 1 } else { interval_nanos };
        Self { interval_nanos, next_nanos: interval_nanos, seq: 0 }
    }

    /// Runs `dump` if the interval has passed, by the clock that times calls; `None` if not.
    pub fn poll<R>(&mut self, dump: impl FnOnce(DumpInfo) -> R) -> Option<R> {
        self.poll_at(crate::clock::uptime_nanos(), dump)
    }

    /// [`Every::poll`] at a given uptime. Periods missed while nobody polled are skipped, not
    /// caught up (one dump carries all the counts anyway), and the schedule keeps its phase.
    pub fn poll_at<R>(&mut self, uptime_nanos: u64, dump: impl FnOnce(DumpInfo) -> R) -> Option<R> {
        if uptime_nanos < self.next_nanos {
            return None;
        }
        let late = (uptime_nanos - self.next_nanos) % self.interval_nanos;
        self.next_nanos = uptime_nanos - late + self.interval_nanos;
        let info = DumpInfo { seq: self.seq, uptime_nanos };
        self.seq = self.seq.wrapping_add(1);
        Some(dump(info))
    }
}

/// Runs `dump` every `interval`, forever, on `embassy_time::Ticker` (feature `embassy-time`).
/// Call it from a task of your own (embassy tasks cannot be generic):
///
/// ```ignore
/// #[embassy_executor::task]
/// async fn metrics(uart: Uart) -> ! {
///     picometrics::periodic::dump_every(Duration::from_secs(10), |info| {
///         let _ = picometrics::frame::write_dump_info("sensor-1", info, |b| uart.write(b));
///     })
///     .await
/// }
/// ```
#[cfg(feature = "embassy-time")]
pub async fn dump_every(interval: embassy_time::Duration, mut dump: impl FnMut(DumpInfo)) -> ! {
    let mut ticker = embassy_time::Ticker::every(interval);
    let mut seq = 0u32;
    loop {
        ticker.next().await;
        dump(DumpInfo { seq, uptime_nanos: crate::clock::uptime_nanos() });
        seq = seq.wrapping_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_its_phase_and_skips_missed_periods() {
        let mut every = Every::new(100);
        let mut seen = heapless::Vec::<(u32, u64), 8>::new();
        for t in [0, 99, 100, 150, 199, 230, 555, 599, 600] {
            every.poll_at(t, |i| seen.push((i.seq, i.uptime_nanos)).unwrap());
        }
        // 100 and 230 (late, but the next is still due at 300), 555 (300–500 missed), 600.
        assert_eq!(seen, [(0, 100), (1, 230), (2, 555), (3, 600)]);
        assert!(Every::new(0).poll_at(1, |_| ()).is_some(), "a zero interval is one nanosecond");
    }
}
