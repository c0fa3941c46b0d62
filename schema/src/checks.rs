//! The rules names and bounds must keep, as `const fn`s: the attribute applies them at compile
//! time, the core in its `const` checks, the bridge to what devices send.

use crate::{
    label, Kind, BUCKET_SUFFIX, BUILD_INFO, COUNT_SUFFIX, CREATED_SUFFIX, MAX_BOUNDS, MAX_METRIC_HELP,
    MAX_METRIC_LABELS, MAX_METRIC_TEXT, SUM_SUFFIX, TOTAL_SUFFIX,
};

/// Why a histogram's bucket bounds are refused (see [`check_bounds`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BoundsError {
    /// No bounds at all.
    Empty,
    /// More than [`MAX_BOUNDS`].
    TooMany,
    /// A duration bound of zero nanoseconds.
    Zero,
    /// A bound not above the one before it.
    NotIncreasing,
}

impl BoundsError {
    /// What is wrong, as the compile-time checks and the bridge say it.
    pub const fn message(self) -> &'static str {
        match self {
            Self::Empty => "picometrics: bucket bounds must not be empty",
            Self::TooMany => "picometrics: more than MAX_BOUNDS (32) bucket bounds",
            Self::Zero => "picometrics: duration bucket bounds must be above zero nanoseconds",
            Self::NotIncreasing => "picometrics: bucket bounds must strictly increase",
        }
    }
}

impl core::fmt::Display for BoundsError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.message())
    }
}

impl core::error::Error for BoundsError {}

/// The one rule for histogram bucket bounds, wherever they come from (the attribute's
/// `buckets`, the bucket generators, a user metric's `Histogram::new`, a device's dump): 1 to
/// [`MAX_BOUNDS`] bounds, strictly increasing. Bounds of a latency histogram (`durations`, in
/// nanoseconds) must also start above zero — a `le="0"` bucket could only count calls that took
/// no time at all — while a value histogram may count zeros (an empty batch, an idle queue).
pub const fn check_bounds(bounds: &[u64], durations: bool) -> Result<(), BoundsError> {
    if bounds.is_empty() {
        return Err(BoundsError::Empty);
    }
    if bounds.len() > MAX_BOUNDS {
        return Err(BoundsError::TooMany);
    }
    if durations && bounds[0] == 0 {
        return Err(BoundsError::Zero);
    }
    let mut i = 1;
    while i < bounds.len() {
        if bounds[i] <= bounds[i - 1] {
            return Err(BoundsError::NotIncreasing);
        }
        i += 1;
    }
    Ok(())
}

/// The naming rules of a whole user metric series: its name for its kind
/// ([`check_metric_name`]), its help ([`check_metric_help`]) and its constant labels
/// ([`check_metric_labels`]). `#[picometrics::metric]` applies it at compile time, the device
/// bridge to each metric a device sends.
pub const fn check_metric(
    name: &str,
    help: &str,
    kind: Kind,
    labels: &[(&str, &str)],
) -> Result<(), &'static str> {
    if let Err(why) = check_metric_name(name, kind) {
        return Err(why);
    }
    if let Err(why) = check_metric_help(help) {
        return Err(why);
    }
    check_metric_labels(labels)
}

/// At most [`MAX_METRIC_LABELS`] constant labels, each valid ([`check_metric_label`]) and no
/// name twice.
pub const fn check_metric_labels(labels: &[(&str, &str)]) -> Result<(), &'static str> {
    if labels.len() > MAX_METRIC_LABELS {
        return Err("at most MAX_METRIC_LABELS (8) labels per metric");
    }
    let mut i = 0;
    while i < labels.len() {
        if let Err(why) = check_metric_label(labels[i].0, labels[i].1) {
            return Err(why);
        }
        let mut j = 0;
        while j < i {
            if same_text(labels[i].0, labels[j].0) {
                return Err("a label name appears twice");
            }
            j += 1;
        }
        i += 1;
    }
    Ok(())
}

/// Why a user metric's name is refused: `#[picometrics::metric]` checks it at compile time
/// (a `const` on the attribute's span), the device bridge when a device sends one.
pub const fn check_metric_name(name: &str, kind: Kind) -> Result<(), &'static str> {
    let b = name.as_bytes();
    if b.is_empty() || b.len() > MAX_METRIC_TEXT {
        return Err("a metric name is 1 to 100 bytes long");
    }
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if !(c.is_ascii_alphabetic() || c == b'_' || c == b':' || (i > 0 && c.is_ascii_digit())) {
            return Err("a metric name matches [a-zA-Z_:][a-zA-Z0-9_:]*");
        }
        i += 1;
    }
    if starts_with(b, b"function_calls")
        || starts_with(b, BUILD_INFO.name.as_bytes())
        || starts_with(b, b"picometrics_")
        || starts_with(b, b"__")
    {
        return Err(
            "names starting with `function_calls`, `build_info`, `picometrics_` or `__` are reserved",
        );
    }
    let total = ends_with(b, TOTAL_SUFFIX.as_bytes());
    let sample_suffix = ends_with(b, BUCKET_SUFFIX.as_bytes())
        || ends_with(b, SUM_SUFFIX.as_bytes())
        || ends_with(b, COUNT_SUFFIX.as_bytes());
    match kind {
        Kind::Counter if !total => Err("a counter's name ends in `_total`"),
        Kind::Gauge | Kind::Histogram if total => Err("only a counter's name ends in `_total`"),
        Kind::Histogram if sample_suffix => {
            Err("a histogram's name does not end in `_bucket`, `_sum` or `_count` (its samples do)")
        }
        // As promtool's linter says: a gauge `h_count` would write a histogram `h`'s sample.
        Kind::Gauge if sample_suffix => {
            Err("a gauge's name does not end in `_bucket`, `_sum` or `_count` (a histogram's samples do)")
        }
        _ if ends_with(b, CREATED_SUFFIX.as_bytes()) => {
            Err("names ending in `_created` are reserved (OpenMetrics' created samples)")
        }
        _ => Ok(()),
    }
}

/// Why a user metric's constant label is refused (see [`check_metric_name`]).
pub const fn check_metric_label(name: &str, value: &str) -> Result<(), &'static str> {
    let b = name.as_bytes();
    if b.is_empty() || b.len() > MAX_METRIC_TEXT || value.len() > MAX_METRIC_TEXT {
        return Err("a label name is 1 to 100 bytes long, its value at most 100");
    }
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if !(c.is_ascii_alphabetic() || c == b'_' || (i > 0 && c.is_ascii_digit())) {
            return Err("a label name matches [a-zA-Z_][a-zA-Z0-9_]*");
        }
        i += 1;
    }
    if starts_with(b, b"__")
        || eq(b, label::LE.as_bytes())
        || eq(b, label::DEVICE.as_bytes())
        || eq(b, b"quantile")
    {
        return Err("`le`, `quantile`, `device` and names starting with `__` are reserved label names");
    }
    Ok(())
}

/// Why a user metric's help text is refused.
pub const fn check_metric_help(help: &str) -> Result<(), &'static str> {
    if help.len() > MAX_METRIC_HELP {
        return Err("a metric's help text is at most 200 bytes");
    }
    Ok(())
}

/// Whether two strings are equal, in a `const` (compile-time checks compare names with it).
pub const fn same_text(a: &str, b: &str) -> bool {
    eq(a.as_bytes(), b.as_bytes())
}

const fn eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && starts_with(a, b)
}

const fn starts_with(s: &[u8], prefix: &[u8]) -> bool {
    if prefix.len() > s.len() {
        return false;
    }
    let mut i = 0;
    while i < prefix.len() {
        if s[i] != prefix[i] {
            return false;
        }
        i += 1;
    }
    true
}

const fn ends_with(s: &[u8], suffix: &[u8]) -> bool {
    if suffix.len() > s.len() {
        return false;
    }
    let mut i = 0;
    while i < suffix.len() {
        if s[s.len() - suffix.len() + i] != suffix[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The sample names a family of `kind` named `name` writes, as `(base, suffix)` pairs, in
/// Prometheus text and OpenMetrics together: a counter `x_total` also owns `x` (its
/// OpenMetrics family) and `x_created`; a histogram `h` owns `h`, `h_bucket`, `h_sum`,
/// `h_count` and `h_created`; a gauge only its name.
fn owned(name: &str, kind: Kind) -> (&str, &'static [&'static str]) {
    match kind {
        Kind::Counter => match name.strip_suffix(TOTAL_SUFFIX) {
            Some(base) => (base, &[TOTAL_SUFFIX, "", CREATED_SUFFIX]),
            None => (name, &[""]),
        },
        Kind::Gauge => (name, &[""]),
        Kind::Histogram => (name, &["", BUCKET_SUFFIX, SUM_SUFFIX, COUNT_SUFFIX, CREATED_SUFFIX]),
    }
}

/// Whether two user metric families cannot both be written: one of them would write a sample
/// name the other owns (a histogram `pkt` and a gauge `pkt_count`; a counter `x_total` and a
/// gauge `x`), or they share a name with different types. The same name and type is one family
/// (its series differ by labels), never a collision. Writers keep the first family and leave
/// the other out; the device bridge refuses it and counts it (`colliding_family`).
pub fn families_collide(a: &str, a_kind: Kind, b: &str, b_kind: Kind) -> bool {
    if a == b {
        return a_kind != b_kind;
    }
    let ((a_base, a_suffixes), (b_base, b_suffixes)) = (owned(a, a_kind), owned(b, b_kind));
    a_suffixes.iter().any(|sa| {
        b_suffixes.iter().any(|sb| {
            a_base.len() + sa.len() == b_base.len() + sb.len() && {
                // `a_base + sa == b_base + sb` without building either.
                let (ab, bb) = (a_base.as_bytes(), b_base.as_bytes());
                let at = |i: usize| if i < ab.len() { ab[i] } else { sa.as_bytes()[i - ab.len()] };
                let bt = |i: usize| if i < bb.len() { bb[i] } else { sb.as_bytes()[i - bb.len()] };
                (0..ab.len() + sa.len()).all(|i| at(i) == bt(i))
            }
        })
    })
}
