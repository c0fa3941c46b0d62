//! Each function's lines kept between scrapes: a function whose values did not change since
//! the previous render is not formatted again.
//!
//! Most functions of a service are idle between two scrapes, and a scrape of 1,000 functions
//! is mostly their label text. The cache keeps its last render and where each function's
//! lines are in it: if no function changed, the text stays where it is (only what follows the
//! functions, `build_info` and the user metrics, is written again); else the next render is
//! put together in a second buffer, each run of unchanged functions moved in one copy, each
//! changed function formatted by the one writer ([`FunctionLines`]) — the same bytes as
//! [`picometrics::render::write`]'s, checked against it by the tests below.
//!
//! A function is "unchanged" if everything its lines are made of is: its [`Key`], written
//! from its series on every render (the slot is read either way) and compared.

use picometrics::__private_v1::render::{write_header, write_tail, FunctionLines, Part};
use picometrics::model::{Format, FunctionSeries, Source};
use std::fmt;
use std::ops::Range;

/// The function families kept per function, in output order.
const PARTS: [Part; 4] = Part::FUNCTIONS;

/// The last render of one source in one format, and what each function's lines were
/// rendered from.
#[derive(Debug, Default)]
pub(crate) struct RenderCache {
    /// One per function, in the source's order.
    entries: Vec<Entry>,
    /// The last render: the function families, then what follows them.
    text: String,
    /// Where the function families end in `text`.
    families_end: usize,
    /// Where the next function families are put together, then swapped with `text`.
    next: String,
    /// The key of the function being looked at (kept for its capacity).
    key: Key,
    /// The one writer's state, kept from function to function.
    lines: Box<FunctionLines>,
    /// How many times a function's lines were formatted (for the tests).
    formatted: u64,
}

/// One function: what its lines show, where they are in the last render, and its lines
/// formatted anew when they changed.
#[derive(Debug, Default)]
struct Entry {
    /// Everything the lines depend on ([`write_key`]); empty before the first render.
    key: Key,
    /// Where its lines of each family of [`PARTS`] are in [`RenderCache::text`].
    ranges: [Range<usize>; PARTS.len()],
    /// Whether its values changed since the last render: its lines are in `fresh`.
    changed: bool,
    /// Its lines of every family, formatted this render (if `changed`), one after the other.
    fresh: String,
    /// Where each family's lines end in `fresh`.
    fresh_ends: [usize; PARTS.len()],
}

impl Entry {
    /// Its freshly formatted lines of family `i` of [`PARTS`].
    fn fresh(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.fresh_ends[i - 1] };
        &self.fresh[start..self.fresh_ends[i]]
    }

    /// Whether it has lines of family `i`.
    fn has_lines(&self, i: usize) -> bool {
        if self.changed {
            !self.fresh(i).is_empty()
        } else {
            !self.ranges[i].is_empty()
        }
    }

    /// Formats `series`' lines of every family into `fresh`.
    fn format(
        &mut self,
        lines: &mut FunctionLines,
        series: &FunctionSeries<'_>,
        format: Format,
    ) -> fmt::Result {
        self.fresh.clear();
        for (end, part) in self.fresh_ends.iter_mut().zip(PARTS) {
            lines.write(&mut self.fresh, series, part, format)?;
            *end = self.fresh.len();
        }
        // Room for numbers that gain digits: a function's next lines should fit too.
        let want = self.fresh.len() + self.fresh.len() / 4;
        if self.fresh.capacity() < want {
            self.fresh.reserve(want - self.fresh.len());
        }
        self.changed = true;
        Ok(())
    }
}

impl RenderCache {
    /// Renders every series of `source` in `format` and returns the text, the same as
    /// [`picometrics::render::write`]'s: the lines of functions whose series did not change
    /// since this cache's last render are taken from it (as a whole if none changed, else a
    /// copy per run of unchanged functions), the others formatted anew. `source` is read once
    /// (each function's families consistent with each other).
    pub(crate) fn write<S: Source + ?Sized>(&mut self, source: &S, format: Format) -> &mut String {
        // Writing into a `String` cannot fail: neither can this.
        let _ = self.try_write(source, format);
        &mut self.text
    }

    /// The last render.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// Makes room in both buffers (the last render and the next) for a render as long as
    /// the last one and a quarter more — counters gain digits and callers appear over time —,
    /// so the next renders allocate nothing. `text` is what the caller made of the last render
    /// (more families appended, say).
    pub(crate) fn keep_room(&mut self) {
        let len = self.text.len();
        for buffer in [&mut self.text, &mut self.next] {
            // Grown again only when less than an eighth is left, so a render a few bytes
            // longer than the last does not move the buffer.
            if buffer.capacity() < len + len / 8 + 128 {
                buffer.reserve_exact((len + len / 4 + 256).saturating_sub(buffer.len()));
            }
        }
    }

    fn try_write<S: Source + ?Sized>(&mut self, source: &S, format: Format) -> fmt::Result {
        let Self { entries, key, lines, formatted, .. } = self;
        let mut n = 0;
        let mut changed = false;
        source.functions(&mut |series| {
            if n == entries.len() {
                entries.push(Entry::default());
            }
            let entry = &mut entries[n];
            n += 1;
            key.clear();
            write_key(key, series, format);
            if *key == entry.key {
                entry.changed = false;
                return Ok(());
            }
            // Copied, not swapped: each buffer keeps the room its function needs.
            entry.key.copy_from(key);
            changed = true;
            *formatted += 1;
            entry.format(lines, series, format)
        })?;
        // Functions a source no longer has (a chosen set that shrank) are forgotten.
        changed |= n != entries.len();
        entries.truncate(n);
        if changed {
            self.assemble(format)?;
        }
        self.text.truncate(self.families_end);
        write_tail(&mut self.text, source, format)
    }

    /// Puts the function families together from the last render and the fresh lines.
    fn assemble(&mut self, format: Format) -> fmt::Result {
        let Self { entries, text, next, .. } = self;
        next.clear();
        for (i, part) in PARTS.into_iter().enumerate() {
            // Like the one writer: a family that is not always declared appears with its
            // first sample.
            if !part.always_declared() && !entries.iter().any(|e| e.has_lines(i)) {
                let here = next.len();
                entries.iter_mut().for_each(|e| e.ranges[i] = here..here);
                continue;
            }
            write_header(next, part.metric(), format)?;
            let mut rest = &mut entries[..];
            while let Some((first, _)) = rest.split_first() {
                if first.changed {
                    let start = next.len();
                    next.push_str(first.fresh(i));
                    rest[0].ranges[i] = start..next.len();
                    rest = &mut rest[1..];
                    continue;
                }
                // A run of unchanged functions: their lines lie one after the other in the
                // last render, so they move in one copy.
                let run = rest.iter().take_while(|e| !e.changed).count();
                let (unchanged, after) = rest.split_at_mut(run);
                let from = unchanged[0].ranges[i].start;
                let shift = next.len().wrapping_sub(from);
                next.push_str(&text[from..unchanged[run - 1].ranges[i].end]);
                for e in unchanged {
                    let r = &mut e.ranges[i];
                    *r = r.start.wrapping_add(shift)..r.end.wrapping_add(shift);
                }
                rest = after;
            }
        }
        // The families of a render whose function set was just shrunk lose nothing: every
        // range now points into `next`.
        std::mem::swap(text, next);
        self.families_end = self.text.len();
        Ok(())
    }
}

/// Writes into `key` everything `series`' lines in `format` are made of: two series with the
/// same key have the same lines (each string's length is a word, so no two keys run together).
fn write_key(key: &mut Key, series: &FunctionSeries<'_>, format: Format) {
    // Every field, by name: a field added to `FunctionSeries` does not compile here until it
    // is part of the key.
    let FunctionSeries {
        extra,
        function,
        module,
        service_name,
        objective,
        bounds,
        counts,
        counter_bits,
        sum_nanos,
        root,
        callers,
        overflow,
        concurrent,
        max_nanos,
        exemplars,
    } = *series;
    let str = |key: &mut Key, s: &str| {
        key.words.push(s.len() as u64);
        key.text.extend_from_slice(s.as_bytes());
    };
    let opt = |key: &mut Key, n: Option<u64>| key.words.extend([u64::from(n.is_some()), n.unwrap_or(0)]);
    key.words.push(format as u8 as u64);
    key.words.push(u8::from(extra.is_some()) as u64);
    if let Some((name, value)) = extra {
        str(key, name);
        str(key, value);
    }
    str(key, function);
    str(key, module);
    str(key, service_name);
    key.words.push(u8::from(objective.is_some()) as u64);
    if let Some(o) = objective {
        str(key, o.name);
        key.words.push(u8::from(o.success_percentile.is_some()) as u64);
        str(key, o.success_percentile.unwrap_or(""));
        opt(key, o.latency.map(|(nanos, _)| nanos));
        str(key, o.latency.map_or("", |(_, percentile)| percentile));
    }
    key.words.push(bounds.len() as u64);
    key.words.extend_from_slice(bounds);
    key.words.push(counts.len() as u64);
    key.words.extend_from_slice(counts);
    key.words.push(u64::from(counter_bits));
    key.words.push(sum_nanos);
    key.words.push(root.ok);
    key.words.push(root.error);
    key.words.push(overflow.ok);
    key.words.push(overflow.error);
    key.words.push(callers.len() as u64);
    for caller in callers {
        str(key, caller.function);
        str(key, caller.module);
        key.words.push(caller.calls.ok);
        key.words.push(caller.calls.error);
    }
    opt(key, concurrent);
    opt(key, max_nanos);
    key.words.push(exemplars.len() as u64);
    for exemplar in exemplars {
        key.words.push(u8::from(exemplar.is_some()) as u64);
        if let Some(e) = exemplar {
            key.words.extend([e.trace.trace_id as u64, (e.trace.trace_id >> 64) as u64]);
            key.words.push(e.trace.span_id);
            key.words.push(e.value_nanos);
            key.words.push(e.timestamp_ms);
        }
    }
}

/// What a function's lines are made of ([`write_key`]): its numbers and string lengths, and
/// its strings' bytes.
#[derive(Debug, Default, PartialEq, Eq)]
struct Key {
    words: Vec<u64>,
    text: Vec<u8>,
}

impl Key {
    fn clear(&mut self) {
        self.words.clear();
        self.text.clear();
    }

    /// Becomes a copy of `other`, in the room it has.
    fn copy_from(&mut self, other: &Key) {
        self.words.clone_from(&other.words);
        self.text.clone_from(&other.text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    /// One function's series as a [`Source`], for the one writer.
    struct One<'s, 'a>(&'s FunctionSeries<'a>);

    impl Source for One<'_, '_> {
        fn functions(&self, each: &mut dyn FnMut(&FunctionSeries<'_>) -> fmt::Result) -> fmt::Result {
            each(self.0)
        }

        fn builds(&self, _: &mut dyn FnMut(&Build<'_>) -> fmt::Result) -> fmt::Result {
            Ok(())
        }
    }

    use picometrics::model::{Build, Caller, Exemplar, ObjectiveLabels, Totals, TraceContext};

    /// Functions whose values a test changes between renders.
    struct Fixture {
        counts: Vec<[u64; 3]>,
        callers: Vec<Vec<Caller<'static>>>,
        exemplar: Option<Exemplar>,
        concurrent: Option<u64>,
    }

    const NAMES: [&str; 3] = ["a", "b\"q", "c"];

    impl Fixture {
        fn new() -> Self {
            Self {
                counts: vec![[1, 0, 0]; NAMES.len()],
                callers: vec![Vec::new(); NAMES.len()],
                exemplar: None,
                concurrent: None,
            }
        }
    }

    impl Source for Fixture {
        fn functions(&self, each: &mut dyn FnMut(&FunctionSeries<'_>) -> fmt::Result) -> fmt::Result {
            let exemplars = [None, self.exemplar, None];
            for (i, name) in NAMES.iter().enumerate() {
                let counts = &self.counts[i];
                each(&FunctionSeries {
                    function: name,
                    module: "m",
                    service_name: "s",
                    objective: (i == 2).then_some(ObjectiveLabels {
                        name: "api",
                        success_percentile: Some("99"),
                        latency: Some((5_000_000, "95")),
                    }),
                    bounds: &[5_000_000, 10_000_000],
                    counts,
                    sum_nanos: counts.iter().sum::<u64>() * 3_000_000,
                    root: Totals { ok: counts.iter().sum(), error: 0 },
                    callers: &self.callers[i],
                    concurrent: self.concurrent.filter(|_| i == 1),
                    exemplars: if i == 0 { &exemplars } else { &[] },
                    ..FunctionSeries::EMPTY
                })?;
            }
            Ok(())
        }

        fn builds(&self, each: &mut dyn FnMut(&Build<'_>) -> fmt::Result) -> fmt::Result {
            each(&Build {
                version: "1",
                commit: "c",
                branch: "b",
                service_name: "s",
                repository_url: "",
                extra: None,
            })
        }
    }

    /// Renders `source` through `cache` and checks it against the one writer; returns how
    /// many functions were formatted.
    fn check(cache: &mut RenderCache, source: &Fixture, format: Format) -> u64 {
        let before = cache.formatted;
        let cached = cache.write(source, format).clone();
        let mut written = String::new();
        picometrics::render::write(&mut written, source, format).unwrap();
        assert_eq!(cached, written);
        cache.formatted - before
    }

    #[test]
    fn formats_only_what_changed_and_writes_the_same_text() {
        for format in [Format::Prometheus, Format::OpenMetrics] {
            let mut cache = RenderCache::default();
            let mut source = Fixture::new();
            assert_eq!(check(&mut cache, &source, format), 3);
            assert_eq!(check(&mut cache, &source, format), 0, "nothing changed");
            source.counts[1][2] += 1;
            assert_eq!(check(&mut cache, &source, format), 1, "one count");
            source.callers[2].push(Caller { function: "f", module: "m", calls: Totals { ok: 1, error: 0 } });
            assert_eq!(check(&mut cache, &source, format), 1, "a new caller");
            source.callers[2][0].calls.error += 1;
            assert_eq!(check(&mut cache, &source, format), 1, "a caller's count");
            source.concurrent = Some(2);
            assert_eq!(check(&mut cache, &source, format), 1, "a gauge: its family appears");
            source.concurrent = None;
            assert_eq!(check(&mut cache, &source, format), 1, "and goes");
            source.exemplar = Some(Exemplar {
                trace: TraceContext { trace_id: 7, span_id: 9 },
                value_nanos: 4_000_000,
                timestamp_ms: 1_700_000_000_123,
            });
            assert_eq!(check(&mut cache, &source, format), 1, "an exemplar");
            assert_eq!(check(&mut cache, &source, format), 0);
        }
    }

    /// Any sequence of changes: each render equals the one writer's.
    #[test]
    fn random_changes_write_the_same_text() {
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for format in [Format::Prometheus, Format::OpenMetrics] {
            let mut cache = RenderCache::default();
            let mut source = Fixture::new();
            let mut formatted = 0;
            for _ in 0..300 {
                for _ in 0..next(3) {
                    let f = next(3) as usize;
                    match next(4) {
                        0 => source.counts[f][next(3) as usize] += 1,
                        1 => source.concurrent = [None, Some(next(3))][next(2) as usize],
                        2 if source.callers[f].len() < 3 => source.callers[f].push(Caller {
                            function: ["x", "y", "z"][next(3) as usize],
                            module: "m",
                            calls: Totals { ok: next(5), error: 0 },
                        }),
                        _ => source.callers[f].clear(),
                    }
                }
                formatted += check(&mut cache, &source, format);
            }
            // Most renders changed a function or two, not all three.
            assert!(formatted < 600, "{formatted} functions formatted in 300 renders");
        }
    }

    #[test]
    fn a_source_with_fewer_functions_forgets_the_rest() {
        let mut cache = RenderCache::default();
        check(&mut cache, &Fixture::new(), Format::Prometheus);
        let empty = One(&FunctionSeries::EMPTY);
        let out = cache.write(&empty, Format::Prometheus).clone();
        let mut written = String::new();
        picometrics::render::write(&mut written, &empty, Format::Prometheus).unwrap();
        assert_eq!(out, written);
        assert_eq!(cache.entries.len(), 1);
    }
}
