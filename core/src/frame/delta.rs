//! Dumps that leave out what did not change: for a device on a metered link whose receiver
//! answers (an HTTP `POST` to a bridge), most functions idle between two dumps.

use super::encode::{write_dump_of_info, Send};
use super::FrameError;
use crate::periodic::DumpInfo;
use crate::registry::functions;

/// What a device remembers of its last dump a receiver acknowledged, so that the next dump can
/// leave out the functions that were not called since: two 32-bit call totals for each of the
/// first `N` registered functions (`8 × N + 16` bytes; functions past `N` are always sent).
///
/// A dump goes out whole until one is [acknowledged](Self::acknowledge); later ones name it as
/// their [`Begin::base`](super::Begin::base), leave out every function whose call total is
/// the same and that has no call in flight, and send the others' values alone
/// ([`Message::Changed`](super::Message::Changed)). A receiver that does not hold that dump (another
/// bridge took it, or it restarted) refuses the dump — the bridge answers `409` — and the device
/// calls [`forget`](Self::forget): the next dump is whole again.
///
/// ```
/// # #[picometrics::picometrics] fn sample() {}
/// use picometrics::frame::Baseline;
/// use picometrics::periodic::DumpInfo;
///
/// let mut baseline = Baseline::<16>::new();
/// fn post(seq: u32, baseline: &mut Baseline<16>) -> usize {
///     let mut body = Vec::new();
///     let info = DumpInfo { seq, uptime_nanos: 0 };
///     baseline
///         .write_dump("dev-1", info, |bytes| {
///             body.extend_from_slice(bytes);
///             Ok::<_, ()>(())
///         })
///         .unwrap();
///     // … POST `body`; on a 2xx answer:
///     baseline.acknowledge(seq);
///     body.len()
/// }
/// sample();
/// let whole = post(1, &mut baseline);
/// let unchanged = post(2, &mut baseline);
/// assert!(unchanged < whole);
/// ```
///
/// A function whose total moved by a multiple of 2³² between two dumps looks unchanged; at
/// any realistic dump interval it cannot.
#[derive(Clone, Debug)]
pub struct Baseline<const N: usize> {
    /// The dump the receiver acknowledged, if any.
    acknowledged: Option<u32>,
    /// Call totals in that dump.
    acknowledged_totals: [u32; N],
    /// The dump last written, if it was written whole.
    written: Option<u32>,
    /// Call totals in that dump.
    written_totals: [u32; N],
}

impl<const N: usize> Default for Baseline<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Baseline<N> {
    /// Nothing acknowledged: the first dump is whole. `const`, so it can be a `static`.
    pub const fn new() -> Self {
        Self { acknowledged: None, acknowledged_totals: [0; N], written: None, written_totals: [0; N] }
    }

    /// Writes a dump of every registered function as [`write_dump_info`](super::write_dump_info)
    /// does, leaving out the functions unchanged since the acknowledged dump, if there is one.
    pub fn write_dump<E>(
        &mut self,
        device: &str,
        info: DumpInfo,
        sink: impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), FrameError<E>> {
        self.written = None;
        let base = self.acknowledged;
        let (written, acknowledged) = (&mut self.written_totals, &self.acknowledged_totals);
        write_dump_of_info(
            device,
            info,
            base,
            functions(),
            |i, series| {
                if base.is_none() {
                    if let Some(total) = written.get_mut(i) {
                        *total = calls(series);
                    }
                    return Send::Whole;
                }
                match written.get_mut(i) {
                    Some(total) => {
                        *total = calls(series);
                        if *total == acknowledged[i] && series.concurrent.unwrap_or(0) == 0 {
                            return Send::Skip;
                        }
                        Send::Changed
                    }
                    None => Send::Changed,
                }
            },
            sink,
        )?;
        self.written = Some(info.seq);
        Ok(())
    }

    /// The receiver stored dump `seq`: the next dumps are relative to it. `false` (and nothing
    /// changes) unless `seq` is the dump last written.
    pub fn acknowledge(&mut self, seq: u32) -> bool {
        if self.written != Some(seq) {
            return false;
        }
        self.acknowledged_totals = self.written_totals;
        self.acknowledged = Some(seq);
        true
    }

    /// The receiver does not hold the acknowledged dump (it refused a dump relative to it): the
    /// next dump is whole.
    pub fn forget(&mut self) {
        self.acknowledged = None;
    }

    /// The dump the next one will be relative to, if any.
    pub fn base(&self) -> Option<u32> {
        self.acknowledged
    }
}

/// A function's calls, as a 32-bit total (the sum of its buckets).
fn calls(series: &crate::model::FunctionSeries<'_>) -> u32 {
    series.counts.iter().fold(0u32, |sum, &c| sum.wrapping_add(c as u32))
}
