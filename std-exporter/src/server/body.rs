//! Response bodies: shared pieces handed out in frames, counted in flight until written.

use super::connections::Conn;
use bytes::{BufMut, Bytes, BytesMut};
use std::io::Write;
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
/// shared with it rather than joined), optionally gzipped as it is handed out.
#[derive(Default)]
pub(super) struct Pieces {
    pieces: std::collections::VecDeque<Bytes>,
    len: usize,
    gzip: Option<Box<Gzip>>,
}

/// Compresses a body frame by frame as the client takes it: a 100 MB text is never held
/// compressed whole, and the output buffer's memory is reused from frame to frame once the
/// client has taken the previous one.
struct Gzip {
    encoder: flate2::write::GzEncoder<bytes::buf::Writer<BytesMut>>,
    finished: bool,
}

impl Pieces {
    pub(super) fn push(&mut self, piece: Bytes) {
        if !piece.is_empty() {
            self.len += piece.len();
            self.pieces.push_back(piece);
        }
    }

    /// Hands the body out gzipped (`Content-Encoding: gzip`; its length is then unknown).
    pub(super) fn gzip(&mut self) {
        let writer = BytesMut::with_capacity(FRAME).writer();
        let encoder = flate2::write::GzEncoder::new(writer, flate2::Compression::fast());
        self.gzip = Some(Box::new(Gzip { encoder, finished: false }));
    }

    /// The next frame of a body: at most [`FRAME`] bytes of it (or of their compression).
    pub(super) fn next_frame(&mut self) -> Option<Bytes> {
        let Some(mut gzip) = self.gzip.take() else { return self.take(FRAME) };
        let frame = loop {
            if gzip.finished {
                break None;
            }
            // Writing into memory cannot fail.
            match self.take(FRAME) {
                Some(piece) => {
                    let _ = gzip.encoder.write_all(&piece);
                }
                None => {
                    let _ = gzip.encoder.try_finish();
                    gzip.finished = true;
                }
            }
            let out = gzip.encoder.get_mut().get_mut();
            if !out.is_empty() {
                break Some(out.split().freeze());
            }
        };
        self.gzip = Some(gzip);
        frame
    }

    /// Bytes left, when known (not for a gzipped body).
    pub(super) fn exact_len(&self) -> Option<usize> {
        self.gzip.is_none().then_some(self.len)
    }

    /// Whether the whole body was handed out.
    pub(super) fn is_end(&self) -> bool {
        match &self.gzip {
            None => self.len == 0,
            Some(gzip) => gzip.finished,
        }
    }

    /// Its exact length when known, for `Content-Length`.
    pub(super) fn size_hint(&self) -> hyper::body::SizeHint {
        match self.exact_len() {
            Some(len) => hyper::body::SizeHint::with_exact(len as u64),
            None => hyper::body::SizeHint::default(),
        }
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
        self.conn.end_response(self.rest.is_end());
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
        self.rest.is_end()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.rest.size_hint()
    }
}
