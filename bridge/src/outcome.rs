//! What became of each frame: a committed dump, or a skip and its reason.

use crate::{MAX_FUNCTIONS, MAX_METRICS};
use picometrics::frame::{DecodeError, MAX_FRAME};
use std::fmt;

/// Why bytes or frames were skipped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Skipped {
    /// No delimiter within [`MAX_FRAME`] bytes.
    TooLong,
    /// The frame did not decode.
    Frame(DecodeError),
    /// A function or metric frame or `End` with no dump started (the stream was joined mid-dump).
    OutsideDump,
    /// A dump ended early: a new `Begin`, a wrong `End`, or the source closed.
    Incomplete {
        /// The device whose dump was cut.
        device: String,
        /// Its dump number.
        seq: u32,
        /// What cut it.
        why: &'static str,
    },
    /// A dump of more than [`MAX_FUNCTIONS`] functions or [`MAX_METRICS`](crate::MAX_METRICS) user metrics.
    OverCapacity,
    /// A dump whose text would exceed the device's or the bridge's byte budget ([`Limits`](crate::Limits)).
    OverBudget {
        /// The device whose dump was refused.
        device: String,
    },
    /// A dump of another device than the one its source speaks for (a TLS client certificate
    /// names the device); the whole dump is dropped.
    WrongDevice {
        /// The device the dump named.
        device: String,
        /// The one its source speaks for.
        speaks_for: String,
    },
    /// A dump relative to an earlier dump of its device (wire version 6: it leaves out the
    /// functions unchanged since) that this bridge does not hold — another bridge took it, or
    /// this one restarted or forgot the device. The device is to send a whole dump (over HTTP:
    /// `409`).
    BaseNotHeld {
        /// The device.
        device: String,
        /// The dump it is relative to.
        base: u32,
    },
    /// A function whose series would break the exposition rules; its whole dump is dropped.
    Invalid {
        /// The device whose dump was dropped.
        device: String,
        /// What is wrong (also the counter's `reason` label).
        why: Invalid,
    },
}

/// Why a device's function was rejected (whole dump dropped, counted by reason).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Invalid {
    /// Bucket bounds empty, zero, or not strictly increasing.
    Bounds,
    /// Not exactly one count per bound plus `+Inf` (`+Inf` missing or repeated).
    Counts,
    /// A count, total or gauge wider than the device's counters, or a histogram whose count
    /// is (its cumulative buckets would wrap inside one dump).
    CounterWidth,
    /// The same `function` and `module` twice in one dump.
    Duplicate,
    /// A caller edge with an empty or reserved name, or the same caller twice: its series
    /// would repeat another one's (uninstrumented callers have empty caller labels, and
    /// `(overflow)` is the overflow's), or a caller by a place its base dump lacks.
    Callers,
    /// A label value longer than [`MAX_LABEL`](crate::MAX_LABEL) bytes.
    LabelTooLong,
    /// A user metric whose name, help or labels break the naming rules
    /// ([`picometrics::schema::check_metric_name`]), or whose histogram is malformed.
    Metric,
    /// The same user metric series (name and labels) twice in one dump, or one family with
    /// two types.
    DuplicateMetric,
    /// A user metric family that would write a sample name another family of the dump owns (a
    /// histogram `pkt` and a gauge `pkt_count`; see
    /// [`families_collide`](picometrics::schema::families_collide)). Across devices the first
    /// family wins: a later device's colliding family is left out and counted the same way.
    FamilyCollision,
    /// A device name that is empty, over [`MAX_LABEL`](crate::MAX_LABEL) bytes, or holds a
    /// control, line-separator or bidirectional-override character (see
    /// the bridge's documentation).
    DeviceName,
    /// A function named by its place in the dump a dump is relative to, which has no function
    /// there — or in a dump relative to none.
    UnknownFunction,
    /// A build label (version, commit, branch, service name, repository URL) over
    /// [`MAX_LABEL`](crate::MAX_LABEL) bytes or with such a character.
    BuildLabel,
}

impl Invalid {
    /// The `reason` label.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Bounds => "invalid_bounds",
            Self::Counts => "invalid_counts",
            Self::CounterWidth => "invalid_counter_width",
            Self::Duplicate => "duplicate_function",
            Self::Callers => "invalid_callers",
            Self::LabelTooLong => "label_too_long",
            Self::Metric => "invalid_metric",
            Self::DuplicateMetric => "duplicate_metric",
            Self::FamilyCollision => "colliding_family",
            Self::DeviceName => "invalid_device",
            Self::BuildLabel => "invalid_build",
            Self::UnknownFunction => "unknown_function",
        }
    }
}

/// The `reason` of a dump naming another device than its source speaks for: a connection's
/// certificate ([`Skipped::WrongDevice`]) or an HTTP request's token alike.
pub(crate) const WRONG_DEVICE: &str = "wrong_device";

impl Skipped {
    /// The `reason` label of `picometrics_bridge_frames_skipped_total`.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::TooLong => "too_long",
            Self::Frame(DecodeError::Cobs | DecodeError::TooShort) => "malformed",
            Self::Frame(DecodeError::Crc) => "crc",
            Self::Frame(DecodeError::Version(_)) => "version",
            Self::Frame(DecodeError::Message) => "message",
            Self::OutsideDump => "outside_dump",
            Self::Incomplete { .. } => "incomplete_dump",
            Self::OverCapacity => "over_capacity",
            Self::WrongDevice { .. } => WRONG_DEVICE,
            Self::Invalid { why, .. } => why.reason(),
            Self::OverBudget { .. } => "over_budget",
            Self::BaseNotHeld { .. } => "base_not_held",
        }
    }
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLong => write!(f, "skipped {MAX_FRAME}+ bytes without a frame delimiter"),
            Self::Frame(e) => write!(f, "skipped a frame: {e}"),
            Self::OutsideDump => f.write_str("skipped a frame outside any dump (joined mid-dump)"),
            Self::Incomplete { device, seq, why } => write!(f, "discarded dump {seq} of {device:?}: {why}"),
            Self::Invalid { device, why } => write!(f, "discarded a dump of {device:?}: {why:?}"),
            Self::OverBudget { device } => write!(f, "refused a dump of {device:?}: over the byte budget"),
            Self::WrongDevice { device, speaks_for } => {
                write!(f, "refused a dump of {device:?}: the connection speaks for {speaks_for:?}")
            }
            Self::BaseNotHeld { device, base } => write!(
                f,
                "refused a dump of {device:?}: it leaves out what did not change since dump {base}, \
                 which this bridge does not hold (send a whole dump)"
            ),
            Self::OverCapacity => {
                write!(f, "discarded a dump: over {MAX_FUNCTIONS} functions or {MAX_METRICS} user metrics")
            }
        }
    }
}

/// What a complete dump changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Committed {
    /// A device's first dump.
    New {
        /// The device.
        device: String,
    },
    /// A later dump of a running device.
    Updated {
        /// The device.
        device: String,
    },
    /// The dump number went down: the device restarted and its counters start over.
    Restarted {
        /// The device.
        device: String,
        /// The dump number before.
        previous_seq: u32,
        /// The dump number now.
        seq: u32,
    },
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Bounds => "bucket bounds empty, zero or not increasing",
            Self::Counts => "not one count per bound plus +Inf",
            Self::CounterWidth => "a value wider than the device's counters",
            Self::Duplicate => "the same function and module twice",
            Self::Callers => "a caller edge empty, reserved or repeated",
            Self::LabelTooLong => "a label value over MAX_LABEL bytes",
            Self::Metric => "a user metric that breaks the naming rules",
            Self::DuplicateMetric => "the same user metric series twice, or one family with two types",
            Self::FamilyCollision => "a user metric family whose samples another family writes",
            Self::DeviceName => "a device name empty, too long, or with control or bidi characters",
            Self::BuildLabel => "a build label too long, or with control or bidi characters",
            Self::UnknownFunction => "a function by place, and no such place in the dump it is relative to",
        })
    }
}

impl std::error::Error for Invalid {}

impl std::error::Error for Skipped {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Frame(e) => Some(e),
            Self::Invalid { why, .. } => Some(why),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_message_names_its_own_limit() {
        let over = Skipped::OverCapacity.to_string();
        assert!(over.contains(&MAX_FUNCTIONS.to_string()) && over.contains("user metrics"), "{over}");
        assert!(!over.contains("devices"), "{over}");
        assert!(Skipped::TooLong.to_string().contains(&MAX_FRAME.to_string()));
        let invalid = Skipped::Invalid { device: "d".into(), why: Invalid::LabelTooLong };
        assert_eq!(invalid.reason(), "label_too_long");
        let source = std::error::Error::source(&invalid).map(ToString::to_string);
        assert_eq!(source.as_deref(), Some("a label value over MAX_LABEL bytes"));
    }
}
