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
        let (seconds, mut frac) = div_rem_billion(nanos);
        let mut len = write_integer(&mut text, seconds);
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

/// An integer in decimal, formatted on the stack without a 64-bit division: user metrics'
/// values (the functions' counts have [`Line`](crate::line::Line)'s own writer).
pub(crate) struct Integer {
    /// `18446744073709551615` and a sign are 21 bytes.
    text: [u8; 24],
    len: usize,
}

impl Integer {
    /// `v` in decimal.
    pub(crate) fn new(v: u64) -> Self {
        let mut text = [0; 24];
        let len = write_integer(&mut text, v);
        Self { text, len }
    }

    /// `v` in decimal, with a `-` below zero.
    pub(crate) fn signed(v: i64) -> Self {
        let mut text = [b'-'; 24];
        let sign = usize::from(v < 0);
        let len = sign + write_integer(&mut text[sign..], v.unsigned_abs());
        Self { text, len }
    }

    /// The digits.
    pub(crate) fn as_str(&self) -> &str {
        // Only ASCII digits and '-' were written; an error is unreachable.
        core::str::from_utf8(&self.text[..self.len]).unwrap_or("")
    }
}

/// Writes `v` in decimal to the front of `text`: itoa's 32-bit path, and above 2³² billions
/// then nine zero-padded digits; returns the length.
fn write_integer(text: &mut [u8], v: u64) -> usize {
    match u32::try_from(v) {
        Ok(v) => copy_digits(text, itoa::Buffer::new().format(v)),
        Err(_) => {
            let (billions, rest) = div_rem_billion(v);
            let at = write_integer(text, billions);
            let mut low = itoa::Buffer::new();
            let low = low.format(rest);
            let pad = 9 - low.len();
            text[at..at + pad].fill(b'0');
            at + pad + copy_digits(&mut text[at + pad..], low)
        }
    }
}

/// Copies `digits` to the front of `text`; their length.
fn copy_digits(text: &mut [u8], digits: &str) -> usize {
    text[..digits.len()].copy_from_slice(digits.as_bytes());
    digits.len()
}

/// `(v / 10⁹, v % 10⁹)`, for every decimal writer of 64-bit values: native division on 64-bit
/// targets, none on 32-bit ones (where each 64-bit division is a library call, and the routine
/// ~900 B of firmware flash): see [`div_rem_billion_narrow`].
#[inline]
pub(crate) fn div_rem_billion(v: u64) -> (u64, u32) {
    if cfg!(target_pointer_width = "64") {
        (v / 1_000_000_000, (v % 1_000_000_000) as u32)
    } else {
        div_rem_billion_narrow(v)
    }
}

/// [`div_rem_billion`] with 32×32-bit multiplies and one 32-bit division: since
/// 2³² = 4·10⁹ + 294,967,296, `hi·2³² + lo` is `4·hi` billions plus `hi·294,967,296 + lo`, a
/// number about 14.6 times smaller; at most nine such steps leave one under 2³².
#[inline(never)]
pub(crate) fn div_rem_billion_narrow(mut v: u64) -> (u64, u32) {
    const BILLION: u32 = 1_000_000_000;
    let mut quotient = 0;
    while v >> 32 != 0 {
        let hi = v >> 32;
        quotient += 4 * hi;
        v = hi * 294_967_296 + (v & 0xFFFF_FFFF);
    }
    let lo = v as u32;
    (quotient + u64::from(lo / BILLION), lo % BILLION)
}

#[cfg(test)]
mod tests {
    use super::div_rem_billion_narrow;
    use proptest::prelude::*;

    #[test]
    fn narrow_division_is_exact_at_the_edges() {
        for v in [
            0,
            1,
            999_999_999,
            1_000_000_000,
            u64::from(u32::MAX),
            1 << 32,
            4_294_967_296_000_000_000,
            u64::MAX - 1,
            u64::MAX,
        ] {
            assert_eq!(div_rem_billion_narrow(v), (v / 1_000_000_000, (v % 1_000_000_000) as u32), "{v}");
        }
    }

    /// Decimal seconds, the way the formatter must write them, from `std`'s integer formatting.
    fn reference(nanos: u64) -> std::string::String {
        let text = std::format!("{}.{:09}", nanos / 1_000_000_000, nanos % 1_000_000_000);
        text.trim_end_matches('0').trim_end_matches('.').into()
    }

    #[test]
    fn integers_at_the_edges() {
        for v in [0, 9, 10, u64::from(u32::MAX), 1 << 32, 1_000_000_000_000_000_000, u64::MAX] {
            assert_eq!(super::Integer::new(v).as_str(), std::format!("{v}"));
        }
        for v in [0, -1, 1, i64::MIN, i64::MAX, -(1 << 40)] {
            assert_eq!(super::Integer::signed(v).as_str(), std::format!("{v}"));
        }
    }

    #[test]
    fn seconds_at_the_edges() {
        for nanos in
            [0, 1, 5_000_000, 1_000_000_000, 4_294_967_295_000_000_000, 4_294_967_296_000_000_001, u64::MAX]
        {
            let mut text = std::string::String::new();
            super::write_seconds(&mut text, nanos).unwrap();
            assert_eq!(text, reference(nanos));
        }
    }

    // Arithmetic only, nothing for Miri (which also refuses proptest's failure file): the edge
    // cases above run there.
    proptest! {
        #![proptest_config(ProptestConfig { cases: 4096, ..ProptestConfig::default() })]
        #[cfg_attr(miri, ignore)]
        #[test]
        fn seconds_equal_the_reference(v in any::<u64>(), shift in 0u32..64) {
            let mut text = std::string::String::new();
            super::write_seconds(&mut text, v >> shift).unwrap();
            prop_assert_eq!(text, reference(v >> shift));
        }

        #[cfg_attr(miri, ignore)]
        #[test]
        fn narrow_division_equals_division(v in any::<u64>(), shift in 0u32..64) {
            let v = v >> shift;
            prop_assert_eq!(div_rem_billion_narrow(v), (v / 1_000_000_000, (v % 1_000_000_000) as u32));
        }
    }
}
