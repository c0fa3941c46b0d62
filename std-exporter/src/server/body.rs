//! Response bodies: shared pieces handed out in frames, counted in flight until written.

use super::connections::Conn;
use bytes::Bytes;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};
use std::sync::Arc;

/// A response body that counts as in flight until its last piece is handed to the
/// connection: it is given out in 64 KiB frames, which hyper takes only as the client reads, so
/// a client that does not read keeps its response in flight.
pub(super) struct Counted {
    pub(super) rest: Pieces,
    pub(super) in_flight: Arc<AtomicUsize>,
    /// The connection it is written on: each frame taken is progress, the last one its end.
    pub(super) conn: Arc<Conn>,
}

/// A response body as the pieces it is made of (one for most; a chunked source's many,
/// shared with it rather than joined).
#[derive(Default)]
pub(super) struct Pieces {
    pieces: std::collections::VecDeque<Bytes>,
    len: usize,
}

impl Pieces {
    pub(super) fn push(&mut self, piece: Bytes) {
        if !piece.is_empty() {
            self.len += piece.len();
            self.pieces.push_back(piece);
        }
    }

    /// The next frame of a body: at most [`FRAME`] bytes.
    pub(super) fn next_frame(&mut self) -> Option<Bytes> {
        self.take(FRAME)
    }

    /// Bytes left.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is left.
    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// At most `max` bytes from the front (never across pieces: no copy).
    fn take(&mut self, max: usize) -> Option<Bytes> {
        let front = self.pieces.front_mut()?;
        let piece = if front.len() > max { front.split_to(max) } else { self.pieces.pop_front()? };
        self.len -= piece.len();
        Some(piece)
    }
}

impl From<Bytes> for Pieces {
    fn from(piece: Bytes) -> Self {
        let mut pieces = Self::default();
        pieces.push(piece);
        pieces
    }
}

/// A shared text as the bytes of a body piece.
pub(super) struct SharedText(pub(super) Arc<str>);

impl AsRef<[u8]> for SharedText {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// The size of the frames a response body is handed out in.
const FRAME: usize = 64 * 1024;

impl Drop for Counted {
    fn drop(&mut self) {
        self.in_flight.fetch_sub(1, AtomicOrdering::Relaxed);
        self.conn.end_response(self.rest.is_empty());
    }
}

impl hyper::body::Body for Counted {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        self.conn.touch();
        std::task::Poll::Ready(self.rest.next_frame().map(|piece| Ok(hyper::body::Frame::data(piece))))
    }

    fn is_end_stream(&self) -> bool {
        self.rest.is_empty()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        hyper::body::SizeHint::with_exact(self.rest.len() as u64)
    }
}
