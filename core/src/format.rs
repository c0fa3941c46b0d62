//! The one number formatter every text path uses: durations as decimal seconds.

/// Writes `nanos` as decimal seconds with no trailing zeros (`5000000` → `0.005`,
/// `1000000000` → `1`) using integer arithmetic only.
///
/// This is the single formatter for `le` labels, `_sum` values and
/// `objective_latency_threshold`, so an objective's threshold text always equals its bucket's
/// `le` text (alert rules join them as strings).
pub fn write_seconds<W: core::fmt::Write + ?Sized>(w: &mut W, nanos: u64) -> core::fmt::Result {
    w.write_str(Seconds::new(nanos).as_str())
}

/// `nanos` as decimal seconds, formatted on the stack: one non-generic formatter, whatever the
/// writer (each writer type would otherwise carry its own copy in firmware flash).
struct Seconds {
    /// `18446744073.709551615` (the longest) is 21 bytes.
    text: [u8; 24],
    len: usize,
}

impl Seconds {
    #[inline(never)]
    fn new(nanos: u64) -> Self {
        let mut text = [0; 24];
        // Two 64-bit divisions, then 32-bit arithmetic: on 32-bit cores each 64-bit division
        // is a library call, and the fraction always fits 32 bits.
        let seconds = nanos / 1_000_000_000;
        let mut int = itoa::Buffer::new();
        let int = match u32::try_from(seconds) {
            Ok(s) => int.format(s),
            Err(_) => int.format(seconds),
        };
        text[..int.len()].copy_from_slice(int.as_bytes());
        let mut len = int.len();
        let mut frac = (nanos % 1_000_000_000) as u32;
        if frac != 0 {
            // Nine digits, zero-padded, without trailing zeros.
            let mut end = 9;
            while frac.is_multiple_of(10) {
                frac /= 10;
                end -= 1;
            }
            text[len] = b'.';
            let digits = &mut text[len + 1..len + 1 + end];
            for d in digits.iter_mut().rev() {
                *d = b'0' + (frac % 10) as u8;
                frac /= 10;
            }
            len += 1 + end;
        }
        Self { text, len }
    }

    fn as_str(&self) -> &str {
        // Only ASCII digits and '.' were written; an error is unreachable.
        core::str::from_utf8(&self.text[..self.len]).unwrap_or("")
    }
}
