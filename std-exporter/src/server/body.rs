//! Response bodies: shared pieces handed out in frames, counted in flight until written.

use super::connections::Conn;
use bytes::{Bytes, BytesMut};
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
    gzip: Option<Gzip>,
}

/// Compresses a body frame by frame as the client takes it: a 100 MB text is never held
/// compressed whole. The deflate state and the output buffer come from a small pool and go
/// back to it, so a scrape allocates nothing once the pool is warm (a client that takes frames
/// slowly keeps its state out of the pool meanwhile; the pool then makes another).
struct Gzip {
    state: Option<GzipState>,
    /// CRC-32 and length of the text, for the gzip trailer.
    crc: flate2::Crc,
    finished: bool,
}

/// A raw deflate stream's state, the buffer it writes into, and the one frames are cut from.
struct GzipState {
    deflate: flate2::Compress,
    scratch: Vec<u8>,
    out: BytesMut,
}

/// Deflate states kept for reuse (about 300 KiB each with miniz's fastest level).
const POOLED: usize = 4;

static POOL: std::sync::Mutex<Vec<GzipState>> = std::sync::Mutex::new(Vec::new());

fn pool() -> std::sync::MutexGuard<'static, Vec<GzipState>> {
    POOL.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The gzip member header (RFC 1952): deflate, no name or time, unknown OS.
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

impl Gzip {
    fn new() -> Self {
        let state = pool().pop().unwrap_or_else(|| GzipState {
            deflate: flate2::Compress::new(flate2::Compression::fast(), false),
            scratch: Vec::with_capacity(FRAME),
            out: BytesMut::with_capacity(FRAME),
        });
        let mut gzip = Self { state: Some(state), crc: flate2::Crc::new(), finished: false };
        gzip.out().extend_from_slice(&GZIP_HEADER);
        gzip
    }

    fn out(&mut self) -> &mut BytesMut {
        &mut self.state.as_mut().expect("the state is held until the body ends").out
    }

    /// Deflates `input` (the end of the text when `finish`) into the output buffer.
    fn deflate(&mut self, input: &[u8], finish: bool) {
        use flate2::{FlushCompress, Status};
        self.crc.update(input);
        let Some(GzipState { deflate, scratch, out }) = self.state.as_mut() else { return };
        let flush = if finish { FlushCompress::Finish } else { FlushCompress::None };
        let mut rest = input;
        loop {
            scratch.clear();
            scratch.reserve(FRAME);
            let room = scratch.capacity();
            let before = deflate.total_in();
            let status = deflate.compress_vec(rest, scratch, flush);
            rest = &rest[(deflate.total_in() - before) as usize..];
            out.extend_from_slice(scratch);
            // Done when the stream ended, or (before the end) when all input is taken and the
            // output had room to spare (else more is pending inside the state).
            let done = match status {
                Ok(Status::StreamEnd) | Err(_) => true,
                Ok(Status::Ok | Status::BufError) => !finish && rest.is_empty() && scratch.len() < room,
            };
            if done {
                break;
            }
        }
        if finish {
            let (crc, len) = (self.crc.sum(), self.crc.amount());
            let out = self.out();
            out.extend_from_slice(&crc.to_le_bytes());
            out.extend_from_slice(&len.to_le_bytes());
        }
    }
}

impl Drop for Gzip {
    fn drop(&mut self) {
        if let Some(mut state) = self.state.take() {
            state.deflate.reset();
            state.scratch.clear();
            state.out.clear();
            let mut pool = pool();
            if pool.len() < POOLED {
                pool.push(state);
            }
        }
    }
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
        self.gzip = Some(Gzip::new());
    }

    /// The next frame of a body: at most [`FRAME`] bytes of it (or of their compression).
    pub(super) fn next_frame(&mut self) -> Option<Bytes> {
        let Some(mut gzip) = self.gzip.take() else { return self.take(FRAME) };
        let frame = loop {
            if gzip.finished {
                break None;
            }
            match self.take(FRAME) {
                Some(piece) => gzip.deflate(&piece, false),
                None => {
                    gzip.deflate(&[], true);
                    gzip.finished = true;
                }
            }
            let out = gzip.out();
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
