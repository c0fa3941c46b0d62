//! One sample line assembled on the stack, so that it reaches the writer in a single
//! `write_str`: a prefix kept across lines (the sample name and the escaped labels) and an end
//! rewritten per line (`,le="0.005"} 42` and the newline).
//!
//! Rendering is then one copy of each line plus integer formatting: the writer is called once
//! per line, the `le` pieces are copied with one fixed-size move, digits are written in place.

use core::fmt;

/// Bytes one line may take; a line whose labels need more is written piece by piece instead.
/// Small, because firmware renders with it on its stack.
const CAPACITY: usize = 448;

/// Room every line keeps free after its prefix for the end written per line: a [`Piece`],
/// 20 digits, `,result="error"} ` and the newline fit.
const END_ROOM: usize = PIECE + 20 + 1;

/// Room a prefix may take.
const PREFIX_CAPACITY: usize = CAPACITY - END_ROOM;

/// Bytes of one [`Piece`]: `,le="18446744073.709551615"} ` (the longest bound) is 29.
const PIECE: usize = 32;

/// A line being built. Holds UTF-8 from `start` to `len`: every byte comes from a whole `&str`,
/// a whole [`Piece`] or an ASCII digit, and [`Line::truncate`] only returns to a recorded length.
pub(crate) struct Line {
    buf: [u8; CAPACITY],
    /// Where the line starts: [`HEAD`] less the sample name ([`Line::set_head`]).
    start: usize,
    len: usize,
    /// The name and suffix in place before `HEAD`.
    head: (&'static str, &'static str),
}

/// Where a line's labels start; the sample name is put just before them, so one set of labels
/// serves `_bucket`, `_sum` and `_count` lines alike.
pub(crate) const HEAD: usize = 64;

/// `dst.copy_from_slice(src)`, with the short copies a line is mostly made of (label names,
/// `="`, separators) done inline as two overlapping fixed-size moves instead of a call to
/// `memcpy` each.
#[inline(always)]
fn copy(dst: &mut [u8], src: &[u8]) {
    let n = src.len();
    match n {
        8..=16 => {
            dst[..8].copy_from_slice(&src[..8]);
            dst[n - 8..n].copy_from_slice(&src[n - 8..]);
        }
        4..=7 => {
            dst[..4].copy_from_slice(&src[..4]);
            dst[n - 4..n].copy_from_slice(&src[n - 4..]);
        }
        1..=3 => {
            dst[0] = src[0];
            dst[n / 2] = src[n / 2];
            dst[n - 1] = src[n - 1];
        }
        _ => dst.copy_from_slice(src),
    }
}

/// `00` to `99`, for writing two digits per step.
const DIGIT_PAIRS: &[u8; 200] = b"\
    0001020304050607080910111213141516171819\
    2021222324252627282930313233343536373839\
    4041424344454647484950515253545556575859\
    6061626364656667686970717273747576777879\
    8081828384858687888990919293949596979899";

/// A short ASCII text copied into a line with one fixed-size move.
#[derive(Clone, Copy)]
pub(crate) struct Piece {
    bytes: [u8; PIECE],
    len: u8,
}

impl Piece {
    /// `,le="<bound in seconds>"} `, or `,le="+Inf"} ` for `None`.
    pub(crate) fn le(bound_nanos: Option<u64>) -> Self {
        let mut piece = Self { bytes: [0; PIECE], len: 0 };
        // Cannot fail: the longest piece is 29 bytes.
        let _ = piece.write_le(bound_nanos);
        piece
    }

    fn write_le(&mut self, bound_nanos: Option<u64>) -> fmt::Result {
        use fmt::Write;
        self.write_str(",")?;
        self.write_str(picometrics_schema::label::LE)?;
        self.write_str("=\"")?;
        match bound_nanos {
            Some(nanos) => crate::format::write_seconds(self, nanos)?,
            None => self.write_str("+Inf")?,
        }
        self.write_str("\"} ")
    }
}

impl fmt::Write for Piece {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let start = usize::from(self.len);
        let dst = self.bytes.get_mut(start..start + s.len()).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len += s.len() as u8;
        Ok(())
    }
}

impl Line {
    pub(crate) const fn new() -> Self {
        Self { buf: [0; CAPACITY], start: HEAD, len: HEAD, head: ("", "") }
    }

    /// Puts `name` and `suffix` (e.g. `function_calls_duration_seconds`, `_sum`) before what
    /// was pushed so far, replacing the previous ones.
    #[inline]
    pub(crate) fn set_head(&mut self, name: &'static str, suffix: &'static str) -> fmt::Result {
        // The same two texts as last time (compared by address: every caller passes constants)
        // are already in place: the common case of every bucket line.
        if core::ptr::eq(self.head.0, name) && core::ptr::eq(self.head.1, suffix) {
            return Ok(());
        }
        let start = HEAD.checked_sub(name.len() + suffix.len()).ok_or(fmt::Error)?;
        self.buf[start..start + name.len()].copy_from_slice(name.as_bytes());
        self.buf[start + name.len()..HEAD].copy_from_slice(suffix.as_bytes());
        self.start = start;
        self.head = (name, suffix);
        Ok(())
    }

    /// Empties the line, sample name included.
    pub(crate) fn clear(&mut self) {
        self.len = HEAD;
        self.start = HEAD;
        self.head = ("", "");
    }

    /// Bytes written so far: a length [`Line::truncate`] may return to.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Forgets everything after `len`, which must be a value [`Line::len`] returned.
    pub(crate) fn truncate(&mut self, len: usize) {
        debug_assert!(len <= self.len);
        self.len = len.min(self.len);
    }

    /// Appends `s`, if the result leaves room for a line's end ([`PREFIX_CAPACITY`]).
    #[inline]
    pub(crate) fn push(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        if end > PREFIX_CAPACITY {
            return Err(fmt::Error);
        }
        copy(&mut self.buf[self.len..end], s.as_bytes());
        self.len = end;
        Ok(())
    }

    /// Appends part of a line's end (`,result="ok"} `, `} `): into the room [`END_ROOM`] keeps
    /// free after any prefix, so it fits whatever the labels took.
    #[inline]
    pub(crate) fn push_end(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        let dst = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        copy(dst, s.as_bytes());
        self.len = end;
        Ok(())
    }

    /// Appends a line's end piece: one 32-byte move, whatever its length.
    #[inline(always)]
    pub(crate) fn push_piece(&mut self, piece: &Piece) -> fmt::Result {
        let dst = self.buf.get_mut(self.len..self.len + PIECE).ok_or(fmt::Error)?;
        dst.copy_from_slice(&piece.bytes);
        self.len += usize::from(piece.len);
        Ok(())
    }

    /// Appends `v` in decimal, written in place.
    #[inline(always)]
    pub(crate) fn push_u64(&mut self, v: u64) -> fmt::Result {
        match u32::try_from(v) {
            Ok(v) => self.push_u32(v, 1),
            Err(_) => self.push_wide(v),
        }
    }

    /// [`Line::push_u64`] beyond 32 bits: billions, then nine 32-bit digits (no 64-bit
    /// division on 32-bit cores: [`div_rem_billion`](crate::format::div_rem_billion)).
    #[inline(never)]
    fn push_wide(&mut self, v: u64) -> fmt::Result {
        let (billions, rest) = crate::format::div_rem_billion(v);
        self.push_u64(billions)?;
        self.push_u32(rest, 9)
    }

    /// Appends `v` in decimal with at least `min_digits` digits (zero-padded), two digits per
    /// step from a table.
    #[inline(always)]
    fn push_u32(&mut self, mut v: u32, min_digits: usize) -> fmt::Result {
        // Small counts first: most values in an exposition are.
        let digits = match v {
            0..=9 => 1,
            10..=99 => 2,
            _ => v.ilog10() as usize + 1,
        }
        .max(min_digits);
        let dst = self.buf.get_mut(self.len..self.len + digits).ok_or(fmt::Error)?;
        let mut i = digits;
        while i >= 2 {
            let pair = (v % 100) as usize * 2;
            v /= 100;
            i -= 2;
            dst[i..i + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
        }
        if i == 1 {
            dst[0] = b'0' + (v % 10) as u8;
        }
        self.len += digits;
        Ok(())
    }

    /// Appends the newline that ends a line.
    #[inline(always)]
    pub(crate) fn push_newline(&mut self) -> fmt::Result {
        self.push_byte(b'\n')
    }

    /// Appends one ASCII byte.
    #[inline(always)]
    fn push_byte(&mut self, b: u8) -> fmt::Result {
        debug_assert!(b.is_ascii());
        *self.buf.get_mut(self.len).ok_or(fmt::Error)? = b;
        self.len += 1;
        Ok(())
    }

    /// What was pushed after `mark` (a value [`Line::len`] returned).
    pub(crate) fn since(&self, mark: usize) -> &str {
        let line = self.as_str();
        // `mark - start` is a length `as_str` had: a character boundary.
        line.get(mark.saturating_sub(self.start)..).unwrap_or(line)
    }

    /// The line so far.
    #[inline(always)]
    pub(crate) fn as_str(&self) -> &str {
        // SAFETY: `buf[start..len]` is UTF-8 (see the type's invariant): `push` and `set_head`
        // copy whole `&str`s, `push_piece` whole pieces (each made of whole `&str`s),
        // `push_u64`/`push_byte` ASCII, and `truncate` only returns to a length a whole write
        // ended at.
        unsafe { core::str::from_utf8_unchecked(&self.buf[self.start..self.len]) }
    }
}

impl fmt::Write for Line {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.push(s)
    }
}

/// A line's end written through `fmt::Write` (a value in seconds): into the room
/// [`END_ROOM`] keeps free after any prefix, as [`Line::push_end`].
pub(crate) struct End<'l>(pub(crate) &'l mut Line);

impl fmt::Write for End<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.push_end(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fmt::Write;

    #[test]
    fn integers_pieces_and_truncation() {
        let mut line = Line::new();
        line.push("{a=\"1\"").unwrap();
        line.set_head("x", "").unwrap();
        let prefix = line.len();
        let cases = [
            (0, "0"),
            (9, "9"),
            (10, "10"),
            (u64::from(u32::MAX), "4294967295"),
            (u64::from(u32::MAX) + 1, "4294967296"),
            (5_000_000_007, "5000000007"),
            (1_000_000_000_000_000_000, "1000000000000000000"),
            (u64::MAX, "18446744073709551615"),
        ];
        for (v, text) in cases {
            line.truncate(prefix);
            line.push_piece(&Piece::le(Some(5_000_000))).unwrap();
            line.push_u64(v).unwrap();
            line.push_newline().unwrap();
            let mut want = heapless::String::<64>::new();
            writeln!(want, "x{{a=\"1\",le=\"0.005\"}} {text}").unwrap();
            assert_eq!(line.as_str(), want);
        }
        line.truncate(prefix);
        line.push_piece(&Piece::le(Some(u64::MAX))).unwrap();
        line.push_piece(&Piece::le(None)).unwrap();
        line.set_head("x", "_sum").unwrap();
        assert_eq!(line.as_str(), "x_sum{a=\"1\",le=\"18446744073.709551615\"} ,le=\"+Inf\"} ");
    }

    /// Every length a copy takes apart, at every offset.
    #[test]
    fn copies_of_every_length() {
        let src: [u8; 40] = core::array::from_fn(|i| b'a' + i as u8);
        for n in 0..40 {
            for at in 0..4 {
                let mut dst = [b'.'; 48];
                copy(&mut dst[at..at + n], &src[..n]);
                assert_eq!(&dst[at..at + n], &src[..n], "{n} bytes at {at}");
                assert!(dst[..at].iter().chain(&dst[at + n..]).all(|&b| b == b'.'), "{n} bytes at {at}");
            }
        }
    }

    /// Every value near a power of ten and a range of small ones, against `itoa`.
    #[test]
    fn integers_match_itoa() {
        let mut line = Line::new();
        let powers = (0..20).map(|p| 10u64.pow(p));
        let near = powers.flat_map(|p| [p - 1, p, p + 1, p.saturating_mul(7) / 3]);
        let small = if cfg!(miri) { 120 } else { 2_000 };
        for v in (0..small).chain(near).chain([u64::from(u32::MAX), u64::MAX, u64::MAX - 1]) {
            line.clear();
            line.push_u64(v).unwrap();
            assert_eq!(line.as_str(), itoa::Buffer::new().format(v), "{v}");
        }
    }

    #[test]
    fn a_prefix_leaves_room_for_the_longest_end() {
        let mut line = Line::new();
        while line.push("y").is_ok() {}
        assert_eq!(line.len(), PREFIX_CAPACITY);
        const NAME: &str = match core::str::from_utf8(&[b'n'; HEAD]) {
            Ok(name) => name,
            Err(_) => panic!(),
        };
        let name = NAME;
        assert!(line.set_head(name, "").is_ok());
        assert!(line.set_head(name, "_").is_err());
        assert!(line.write_str("y").is_err());
        line.push_piece(&Piece::le(Some(u64::MAX))).unwrap();
        line.push_u64(u64::MAX).unwrap();
        line.push_newline().unwrap();
        assert!(line.as_str().ends_with("} 18446744073709551615\n"));
    }
}
