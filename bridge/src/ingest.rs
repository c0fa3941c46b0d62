//! Dumps that arrive over the network: `POST /api/v1/dumps` bodies, each taken whole or refused
//! with a reason, and the device tokens that let a device speak only for itself.

use crate::{Committed, Devices, FrameReader, Skipped};
use picometrics::frame::{self, Message};
use std::collections::HashMap;

/// Which device each token speaks for (`--device-tokens FILE`: lines `DEVICE TOKEN`, `#`
/// comments and blank lines ignored).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeviceTokens {
    by_token: HashMap<String, String>,
}

impl DeviceTokens {
    /// Reads the file's text; an error names the line.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut by_token = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut fields = line.split_whitespace();
            let (Some(device), Some(token), None) = (fields.next(), fields.next(), fields.next()) else {
                return Err(format!("line {}: expected `DEVICE TOKEN`", i + 1));
            };
            if by_token.insert(token.to_owned(), device.to_owned()).is_some() {
                return Err(format!("line {}: a token given twice", i + 1));
            }
        }
        Ok(Self { by_token })
    }

    /// The device `token` speaks for.
    pub fn device_of(&self, token: &str) -> Option<&str> {
        self.by_token.get(token).map(String::as_str)
    }

    /// How many tokens there are.
    pub fn len(&self) -> usize {
        self.by_token.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.by_token.is_empty()
    }
}

/// Why a posted body was refused: the HTTP status and a reason for the device's log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// 400 (nothing usable), 403 (another device's dump), 409 (a dump relative to one this
    /// bridge does not hold: send it whole), 422 (a dump skipped: see `reason`).
    pub status: u16,
    /// What was wrong, for people.
    pub reason: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.reason)
    }
}

impl std::error::Error for Refusal {}

impl Devices {
    /// Takes the complete dumps of a `POST /api/v1/dumps` body (COBS frames, one or more whole
    /// dumps). With `speaks_for` (the device its token names), a body naming any other device
    /// is refused before anything is taken (403, counted as `wrong_device`). `Ok` only when
    /// every dump was stored; otherwise the reasons of what was skipped (the dumps that were
    /// whole are stored all the same).
    pub fn post_dumps(&self, body: &[u8], speaks_for: Option<&str>) -> Result<Vec<Committed>, Refusal> {
        // The devices the body names: every one when a token binds it to a device; without
        // one, whether it names any (its first frame, as a rule: one frame decoded twice).
        let mut named = Vec::new();
        let mut copy = Vec::with_capacity(frame::MAX_FRAME);
        for piece in body.split(|&b| b == 0).filter(|p| !p.is_empty() && p.len() <= frame::MAX_FRAME) {
            copy.clear();
            copy.extend_from_slice(piece);
            if let Ok(Message::Begin(begin)) = frame::decode(&mut copy) {
                named.push(begin.device.to_owned());
                if speaks_for.is_none() {
                    break;
                }
            }
        }
        if named.is_empty() {
            return Err(Refusal {
                status: 400,
                reason: "no dump in the body (no Begin frame decoded)".into(),
            });
        }
        if let Some(device) = speaks_for {
            if let Some(other) = named.iter().find(|n| *n != device) {
                self.count_refused(crate::outcome::WRONG_DEVICE);
                return Err(Refusal {
                    status: 403,
                    reason: format!("the body holds a dump of {other:?}; the token speaks for {device:?}"),
                });
            }
        }
        let source = self.new_source();
        let (mut committed, mut skipped) = (Vec::new(), Vec::new());
        self.feed_from(source, &mut FrameReader::new(), body, |outcome| match outcome {
            Ok(c) => committed.push(c),
            Err(s) => skipped.push(s),
        });
        skipped.extend(self.closed(source));
        if skipped.is_empty() {
            return Ok(committed);
        }
        let reasons: Vec<String> = skipped.iter().take(5).map(Skipped::to_string).collect();
        // A device that sent a dump relative to one this bridge does not hold sends it whole.
        let base_not_held = skipped.iter().any(|s| matches!(s, Skipped::BaseNotHeld { .. }));
        Err(Refusal {
            status: if base_not_held { 409 } else { 422 },
            reason: format!("{} of the body skipped: {}", skipped.len(), reasons.join("; ")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_files_parse_and_name_their_bad_lines() {
        let tokens = DeviceTokens::parse("# fleet\nsensor-1 aaa\n\nsensor-2   bbb\n").unwrap();
        assert_eq!(
            (tokens.device_of("aaa"), tokens.device_of("bbb"), tokens.device_of("x")),
            (Some("sensor-1"), Some("sensor-2"), None)
        );
        assert_eq!(tokens.len(), 2);
        assert_eq!(DeviceTokens::parse("a b\nonly-one\n"), Err("line 2: expected `DEVICE TOKEN`".into()));
        assert_eq!(DeviceTokens::parse("a t\nb t\n"), Err("line 2: a token given twice".into()));
    }
}
