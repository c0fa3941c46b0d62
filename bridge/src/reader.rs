//! Cuts a byte stream into frames.

use crate::Skipped;
use picometrics::frame::MAX_FRAME;

/// Cuts a byte stream into frames at each `0x00`, in a buffer that never grows past
/// [`MAX_FRAME`].
#[derive(Debug)]
pub struct FrameReader {
    buf: Vec<u8>,
    /// Skipping the rest of an overlong frame, up to the next delimiter.
    overlong: bool,
}

impl Default for FrameReader {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameReader {
    /// An empty reader.
    pub fn new() -> Self {
        Self { buf: Vec::with_capacity(MAX_FRAME), overlong: false }
    }

    /// Feeds `bytes`: calls `frame` with each complete frame (without its delimiter, decoded in
    /// place by [`Devices::ingest_frame`](crate::Devices::ingest_frame) or [`frame::decode`](picometrics::frame::decode)) and `skipped` with the reason
    /// for each run of bytes that cannot be a frame.
    pub fn feed(&mut self, bytes: &[u8], mut frame: impl FnMut(&mut [u8]), mut skipped: impl FnMut(Skipped)) {
        for chunk in bytes.split_inclusive(|&b| b == 0) {
            let (data, ends) = match chunk.split_last() {
                Some((0, data)) => (data, true),
                _ => (chunk, false),
            };
            if !self.overlong {
                if self.buf.len() + data.len() > MAX_FRAME {
                    self.overlong = true;
                    self.buf.clear();
                    skipped(Skipped::TooLong);
                } else {
                    self.buf.extend_from_slice(data);
                }
            }
            if ends {
                if !self.overlong && !self.buf.is_empty() {
                    frame(&mut self.buf);
                }
                self.buf.clear();
                self.overlong = false;
            }
        }
    }

    /// Bytes of an unfinished frame held, e.g. when the source closes: the frame is truncated.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// Forgets an unfinished frame (the source closed or reconnected).
    pub fn reset(&mut self) {
        self.buf.clear();
        self.overlong = false;
    }
}
