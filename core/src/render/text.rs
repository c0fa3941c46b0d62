//! The pieces of the text formats every family uses: headers, sample lines, label sets and
//! label-value escaping.

use super::Format;
use crate::line::Line;
use core::fmt::{self, Write};
use picometrics_schema::Metric;

/// The `# HELP` and `# TYPE` lines of `metric` in `format`.
pub fn write_header<W: Write + ?Sized>(w: &mut W, metric: &Metric, format: Format) -> fmt::Result {
    // Not `write_family_header`: the schema's help texts need no escaping, and its escaping loop
    // would cost every firmware text dump ~0.7 KB of flash (measured) for nothing.
    let family = match format {
        Format::Prometheus => metric.name,
        Format::OpenMetrics => metric.openmetrics_family(),
    };
    for (line, text) in [("# HELP ", metric.help), ("# TYPE ", metric.kind.as_str())] {
        w.write_str(line)?;
        w.write_str(family)?;
        w.write_str(" ")?;
        w.write_str(text)?;
        w.write_str("\n")?;
    }
    Ok(())
}

/// One sample line: `name{label="value",…} value`, the values escaped. For metrics outside the
/// function model (e.g. a bridge's own counters), under a header from [`write_header`].
pub fn write_sample<W: Write + ?Sized>(
    w: &mut W,
    name: &str,
    labels: &[(&str, &str)],
    value: u64,
) -> fmt::Result {
    w.write_str(name)?;
    write_label_set(w, |f| labels.iter().try_for_each(|(n, v)| f(n, v)))?;
    let mut end = Line::new();
    end.push(" ")?;
    end.push_u64(value)?;
    end.push_newline()?;
    w.write_str(end.as_str())
}

/// `{a="…",b="…"}` from a label walk, or nothing for an empty one.
pub(super) fn write_label_set<W: Write + ?Sized>(
    w: &mut W,
    walk: impl FnOnce(&mut dyn FnMut(&str, &str) -> fmt::Result) -> fmt::Result,
) -> fmt::Result {
    let mut first = true;
    walk(&mut |name, value| {
        w.write_str(if core::mem::replace(&mut first, false) { "{" } else { "," })?;
        write_label(w, name, value)
    })?;
    if first {
        Ok(())
    } else {
        w.write_str("}")
    }
}

/// `name="escaped value"`.
pub(super) fn write_label<W: Write + ?Sized>(w: &mut W, name: &str, value: &str) -> fmt::Result {
    w.write_str(name)?;
    w.write_str("=\"")?;
    write_escaped(w, value)?;
    w.write_str("\"")
}

/// Writes `value` escaped as a label value: `\` → `\\`, `"` → `\"`, newline → `\n`.
pub fn write_escaped<W: Write + ?Sized>(w: &mut W, value: &str) -> fmt::Result {
    let special = |b: &u8| matches!(b, b'\\' | b'"' | b'\n');
    // Most values have nothing to escape: one scan, one write.
    if !needs_escaping(value.as_bytes()) {
        return w.write_str(value);
    }
    let mut rest = value;
    // `split_at_checked` and `get`, not `&rest[..i]`: the special bytes are ASCII, so the cuts
    // are always char boundaries, and code that cannot panic does not link `str` slicing's
    // panic message (its `char` Debug and Unicode tables, ~3 KB of firmware flash).
    while let Some((text, tail)) =
        rest.as_bytes().iter().position(special).and_then(|i| rest.split_at_checked(i))
    {
        w.write_str(text)?;
        w.write_str(match tail.as_bytes().first() {
            Some(b'\\') => "\\\\",
            Some(b'"') => "\\\"",
            _ => "\\n",
        })?;
        rest = tail.get(1..).unwrap_or_default();
    }
    w.write_str(rest)
}

/// Whether `bytes` holds a `\`, `"` or newline: eight bytes per step (a label value is read on
/// every scrape; the byte-by-byte scan was a tenth of a render).
pub(super) fn needs_escaping(bytes: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    // Non-zero iff some byte of `x` is zero (exact for the word, though not byte by byte).
    let has_zero = |x: u64| (x.wrapping_sub(ONES) & !x & HIGHS) != 0;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_ne_bytes(word);
        let any = [b'\\', b'"', b'\n'].map(|b| has_zero(x ^ u64::from_ne_bytes([b; 8])));
        if any.contains(&true) {
            return true;
        }
    }
    chunks.remainder().iter().any(|b| matches!(b, b'\\' | b'"' | b'\n'))
}
