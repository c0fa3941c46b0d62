//! The one number formatter every text path uses: durations as decimal seconds.

/// Writes `nanos` as decimal seconds with no trailing zeros (`5000000` → `0.005`,
/// `1000000000` → `1`) using integer arithmetic only.
///
/// This is the single formatter for `le` labels, `_sum` values and
/// `objective_latency_threshold`, so an objective's threshold text always equals its bucket's
/// `le` text (alert rules join them as strings).
pub fn write_seconds<W: core::fmt::Write + ?Sized>(w: &mut W, nanos: u64) -> core::fmt::Result {
    // Two 64-bit divisions, then 32-bit arithmetic: on 32-bit cores each 64-bit division is a
    // library call, and the fraction always fits 32 bits.
    let seconds = nanos / 1_000_000_000;
    match u32::try_from(seconds) {
        Ok(s) => w.write_str(itoa::Buffer::new().format(s))?,
        Err(_) => w.write_str(itoa::Buffer::new().format(seconds))?,
    }
    let mut frac = (nanos % 1_000_000_000) as u32;
    if frac == 0 {
        return Ok(());
    }
    // Nine digits, zero-padded, without trailing zeros.
    let mut digits = [b'0'; 10];
    digits[0] = b'.';
    let mut end = 10;
    while frac % 10 == 0 {
        frac /= 10;
        end -= 1;
    }
    let mut i = end;
    while frac > 0 {
        i -= 1;
        digits[i] = b'0' + (frac % 10) as u8;
        frac /= 10;
    }
    // Only ASCII digits and '.' were written.
    w.write_str(core::str::from_utf8(&digits[..end]).map_err(|_| core::fmt::Error)?)
}
