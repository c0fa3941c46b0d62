//! The host side: a frame decoded in place into borrowed messages.
//!
//! Kept in the core rather than in the bridge (as defmt keeps its decoder apart): it is
//! `no_std`, allocation-free and checked under Miri with the encoder it mirrors, and the
//! bridge, the fuzzers and the tests share it.

use super::*;
use core::fmt;

/// Why a frame was skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// Not valid COBS (a stray zero, a bad length code): line noise or a cut frame.
    Cobs,
    /// Shorter than a version byte and a CRC.
    TooShort,
    /// The CRC does not match: bytes were lost or corrupted.
    Crc,
    /// A version this decoder does not know.
    Version(u8),
    /// The CRC matched but the message did not parse (a bug, or a sequence over capacity).
    Message,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cobs => f.write_str("not a COBS frame"),
            Self::TooShort => f.write_str("frame too short"),
            Self::Crc => f.write_str("CRC mismatch"),
            Self::Version(v) => write!(f, "unknown frame version {v} (this decoder reads {VERSION})"),
            Self::Message => f.write_str("message does not parse"),
        }
    }
}

impl core::error::Error for DecodeError {}

/// Decodes one frame: the bytes between two `0x00` delimiters (without them). Decodes in
/// place; strings in the result borrow from `frame`.
pub fn decode(frame: &mut [u8]) -> Result<Message<'_>, DecodeError> {
    let len = cobs::decode_in_place(frame).map_err(|_| DecodeError::Cobs)?;
    let payload = &frame[..len];
    if payload.len() < 1 + 4 {
        return Err(DecodeError::TooShort);
    }
    let (body, crc) = payload.split_at(payload.len() - 4);
    if CRC.checksum(body).to_le_bytes() != crc {
        return Err(DecodeError::Crc);
    }
    if body[0] != VERSION {
        return Err(DecodeError::Version(body[0]));
    }
    match postcard::take_from_bytes::<Message<'_>>(&body[1..]) {
        Ok((message, [])) => Ok(message),
        _ => Err(DecodeError::Message),
    }
}
