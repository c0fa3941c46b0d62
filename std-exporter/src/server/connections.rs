//! The open connections, and which one makes room when all are taken.
//!
//! A flood of short connections, silent or trickling clients and clients that stop reading all
//! take slots; a scrape in flight or Prometheus' kept-alive connection must never be the one
//! that pays. So when every slot is taken, the connection closed is the one that matters least:
//!
//! 0. **silent**: it never sent a byte (a socket held open, or one its client already closed
//!    and whose task has not run yet), oldest first;
//! 1. **stalled**: it is writing a response its client has not read for [`STALLED`];
//! 2. **idle**: it sent something but is not being answered (between two requests, like a
//!    kept-alive scraper, or trickling a request head): the one answered fewest times first
//!    (a kept-alive scraper has been answered again and again; a flood's connection once at
//!    most), then the longest idle.
//!
//! A connection whose response is moving is never closed; when every connection is one, the
//! new connection is refused (closed at once) instead.

use super::lock;
use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::task::AbortHandle;

/// How long a response may wait for its client to read before the connection counts as
/// stalled (an attacker's, not a scrape's: a scrape reads as fast as it is written).
pub(super) const STALLED: Duration = Duration::from_secs(1);

/// One connection's state, shared by its task and the table.
#[derive(Debug)]
pub(super) struct Conn {
    /// When it last made progress, in the table's milliseconds: accepted, first byte heard, a
    /// response begun, a frame of it taken by the client, a response finished.
    last: AtomicU64,
    /// Whether it ever sent a byte.
    heard: AtomicBool,
    /// Responses being written on it.
    writing: AtomicUsize,
    /// Responses written to the end on it.
    answered: AtomicU64,
    /// The table's clock.
    epoch: Instant,
}

impl Conn {
    fn now(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// It made progress.
    pub(super) fn touch(&self) {
        self.last.store(self.now(), Ordering::Relaxed);
    }

    /// A response began on it.
    pub(super) fn begin_response(&self) {
        self.writing.fetch_add(1, Ordering::Relaxed);
        self.touch();
    }

    /// A response on it was written to the end (`finished`) or dropped.
    pub(super) fn end_response(&self, finished: bool) {
        self.writing.fetch_sub(1, Ordering::Relaxed);
        if finished {
            self.answered.fetch_add(1, Ordering::Relaxed);
        }
        self.touch();
    }

    /// How much closing it would cost, lowest first (see the module docs): its class, how
    /// often it was answered, when it last made progress; `None` when it must not be closed.
    fn rank(&self, now: u64) -> Option<(u8, u64, u64)> {
        let last = self.last.load(Ordering::Relaxed);
        if self.writing.load(Ordering::Relaxed) > 0 {
            let stalled = now.saturating_sub(last) >= STALLED.as_millis() as u64;
            stalled.then_some((1, 0, last))
        } else if !self.heard.load(Ordering::Relaxed) {
            Some((0, 0, last))
        } else {
            Some((2, self.answered.load(Ordering::Relaxed), last))
        }
    }
}

/// The open connections by id.
#[derive(Debug)]
pub(super) struct Table {
    epoch: Instant,
    open: Mutex<BTreeMap<u64, (AbortHandle, Arc<Conn>)>>,
}

impl Table {
    pub(super) fn new() -> Self {
        Self { epoch: Instant::now(), open: Mutex::default() }
    }

    /// A new connection's state (not yet in the table).
    pub(super) fn conn(&self) -> Arc<Conn> {
        let conn = Conn {
            last: AtomicU64::new(0),
            heard: AtomicBool::new(false),
            writing: AtomicUsize::new(0),
            answered: AtomicU64::new(0),
            epoch: self.epoch,
        };
        conn.touch();
        Arc::new(conn)
    }

    /// Makes room for one more connection under `max`, closing the one that matters least;
    /// false when none may be closed.
    pub(super) fn make_room(&self, max: usize) -> bool {
        let mut open = lock(&self.open);
        let now = self.epoch.elapsed().as_millis() as u64;
        while open.len() >= max {
            let victim = open.iter().filter_map(|(id, (_, c))| Some((c.rank(now)?, *id))).min();
            let Some((_, id)) = victim else { return false };
            if let Some((task, _)) = open.remove(&id) {
                task.abort();
            }
        }
        true
    }

    /// Connections open.
    pub(super) fn len(&self) -> usize {
        lock(&self.open).len()
    }

    pub(super) fn insert(&self, id: u64, task: AbortHandle, conn: Arc<Conn>) {
        lock(&self.open).insert(id, (task, conn));
    }

    pub(super) fn remove(&self, id: u64) {
        lock(&self.open).remove(&id);
    }
}

/// A connection's byte stream that notes the first byte it hears.
pub(super) struct Heard<S> {
    pub(super) inner: S,
    pub(super) conn: Arc<Conn>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Heard<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before && !self.conn.heard.swap(true, Ordering::Relaxed) {
            self.conn.touch();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Heard<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connection_that_matters_least_makes_room() {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(async {
            let table = Table::new();
            let task = || tokio::spawn(std::future::pending::<()>()).abort_handle();
            let (scrape, kept_alive, once, silent_new, silent_old) =
                (table.conn(), table.conn(), table.conn(), table.conn(), table.conn());
            scrape.heard.store(true, Ordering::Relaxed);
            scrape.begin_response();
            // A kept-alive scraper answered twice, idle longer than a connection answered once.
            for (c, times) in [(&kept_alive, 2), (&once, 1)] {
                c.heard.store(true, Ordering::Relaxed);
                for _ in 0..times {
                    c.begin_response();
                    c.end_response(true);
                }
            }
            kept_alive.last.store(0, Ordering::Relaxed);
            once.last.store(7, Ordering::Relaxed);
            silent_old.last.store(0, Ordering::Relaxed);
            silent_new.last.store(5, Ordering::Relaxed);
            let conns = [(1, &scrape), (2, &kept_alive), (3, &once), (4, &silent_new), (5, &silent_old)];
            for (id, c) in conns {
                table.insert(id, task(), c.clone());
            }
            let left = |t: &Table| lock(&t.open).keys().copied().collect::<Vec<_>>();
            assert!(table.make_room(5));
            assert_eq!(left(&table), [1, 2, 3, 4], "the oldest silent one first");
            assert!(table.make_room(4));
            assert_eq!(left(&table), [1, 2, 3]);
            assert!(table.make_room(3));
            assert_eq!(left(&table), [1, 2], "then the idle one answered fewest times");
            assert!(table.make_room(2));
            assert_eq!(left(&table), [1], "then the kept-alive one, never the scrape being answered");
            assert!(!table.make_room(1), "a response that moves is never closed");
            // A response its client has not read for STALLED: an attacker's, closed before
            // idle ones but after silent ones.
            scrape.last.store(0, Ordering::Relaxed);
            let later = STALLED.as_millis() as u64;
            assert_eq!(scrape.rank(later - 1), None);
            assert_eq!(scrape.rank(later), Some((1, 0, 0)));
            scrape.end_response(false);
            let idle = scrape.rank(later).map(|(class, answered, _)| (class, answered));
            assert_eq!(idle, Some((2, 0)), "idle once its response is dropped, not counted as answered");
        });
    }
}
