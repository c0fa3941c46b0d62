//! Each pusher's counts — delivered, failed by reason, pending, last success — and their
//! families on `/metrics`.

use super::Protocol;
use picometrics::__private_v1::render::{write_header, write_sample};
use picometrics::render::Format;
use picometrics::schema::{label, PUSH_FAILURES, PUSH_LAST_SUCCESS, PUSH_PENDING, PUSH_REQUESTS};
use std::fmt::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Why a push failed: the `reason` label of `picometrics_push_failures_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// No connection (refused, reset, unresolvable); retried.
    Connection,
    /// No answer within the timeout; retried.
    Timeout,
    /// `5xx`; retried.
    ServerError,
    /// `429 Too Many Requests`; retried.
    Throttled,
    /// Another `4xx`: the receiver refused the request; not retried.
    Rejected,
    /// A pending request dropped because the queue was full.
    Dropped,
    /// `3xx`: the receiver sent the push elsewhere. Not followed — the credentials and custom
    /// headers go to the configured URL only — and not retried: the URL needs changing.
    Redirected,
}

impl Failure {
    const ALL: [Self; 7] = [
        Self::Connection,
        Self::Timeout,
        Self::ServerError,
        Self::Throttled,
        Self::Rejected,
        Self::Dropped,
        Self::Redirected,
    ];

    /// The `reason` label.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Connection => "connection",
            Self::Timeout => "timeout",
            Self::ServerError => "server_error",
            Self::Throttled => "throttled",
            Self::Rejected => "rejected",
            Self::Dropped => "dropped",
            Self::Redirected => "redirected",
        }
    }

    pub(super) fn retried(self) -> bool {
        !matches!(self, Self::Rejected | Self::Dropped | Self::Redirected)
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Connection => "no connection to the receiver",
            Self::Timeout => "no answer within the timeout",
            Self::ServerError => "the receiver answered 5xx",
            Self::Throttled => "the receiver answered 429 Too Many Requests",
            Self::Rejected => "the receiver refused the request (4xx)",
            Self::Dropped => "dropped: the queue was full",
            Self::Redirected => "the receiver redirected the push (3xx); not followed",
        })
    }
}

impl std::error::Error for Failure {}

/// A pusher's counts, shared by its thread and `/metrics`.
#[derive(Debug)]
pub(super) struct Stats {
    pub(super) protocol: Protocol,
    pub(super) delivered: AtomicU64,
    pub(super) failures: [AtomicU64; Failure::ALL.len()],
    pub(super) pending: AtomicU64,
    /// Unix milliseconds of the last delivery (0: none yet).
    pub(super) last_success_ms: AtomicU64,
}

/// A pusher's counts at one moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushStats {
    /// Requests delivered (answered `2xx`).
    pub delivered: u64,
    /// Failed attempts and dropped requests, by reason.
    pub failures: Vec<(Failure, u64)>,
    /// Requests waiting.
    pub pending: u64,
    /// When the last request was delivered.
    pub last_success: Option<SystemTime>,
}

impl PushStats {
    /// Failures of one reason.
    pub fn failed(&self, reason: Failure) -> u64 {
        self.failures.iter().find(|(f, _)| *f == reason).map_or(0, |(_, n)| *n)
    }
}

impl Stats {
    pub(super) fn new(protocol: Protocol) -> Self {
        Self {
            protocol,
            delivered: AtomicU64::new(0),
            failures: Default::default(),
            pending: AtomicU64::new(0),
            last_success_ms: AtomicU64::new(0),
        }
    }

    pub(super) fn fail(&self, f: Failure) {
        self.failures[f as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn read(&self) -> PushStats {
        let ms = self.last_success_ms.load(Ordering::Relaxed);
        PushStats {
            delivered: self.delivered.load(Ordering::Relaxed),
            failures: Failure::ALL
                .iter()
                .map(|&f| (f, self.failures[f as usize].load(Ordering::Relaxed)))
                .collect(),
            pending: self.pending.load(Ordering::Relaxed),
            last_success: (ms > 0).then(|| UNIX_EPOCH + Duration::from_millis(ms)),
        }
    }
}

/// Every pusher started in this process, for [`write_metrics`].
pub(super) static PUSHERS: Mutex<Vec<Arc<Stats>>> = Mutex::new(Vec::new());

pub(super) fn pushers() -> std::sync::MutexGuard<'static, Vec<Arc<Stats>>> {
    PUSHERS.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Writes the self-metric families of every pusher of this process (nothing when there is
/// none) in `format`; `serve`'s `/metrics` and the bridge's include them.
pub fn write_metrics<W: Write + ?Sized>(w: &mut W, format: Format) -> fmt::Result {
    let all: Vec<(Protocol, PushStats)> = pushers().iter().map(|s| (s.protocol, s.read())).collect();
    if all.is_empty() {
        return Ok(());
    }
    write_header(w, &PUSH_REQUESTS, format)?;
    for (p, s) in &all {
        write_sample(w, PUSH_REQUESTS.name, &[(label::EXPORTER, p.name())], s.delivered)?;
    }
    write_header(w, &PUSH_FAILURES, format)?;
    for (p, s) in &all {
        for (f, n) in &s.failures {
            write_sample(
                w,
                PUSH_FAILURES.name,
                &[(label::EXPORTER, p.name()), (label::REASON, f.reason())],
                *n,
            )?;
        }
    }
    write_header(w, &PUSH_PENDING, format)?;
    for (p, s) in &all {
        write_sample(w, PUSH_PENDING.name, &[(label::EXPORTER, p.name())], s.pending)?;
    }
    write_header(w, &PUSH_LAST_SUCCESS, format)?;
    for (p, s) in &all {
        let seconds =
            s.last_success.and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map_or(0.0, |d| d.as_secs_f64());
        writeln!(w, "{}{{{}=\"{}\"}} {seconds:.3}", PUSH_LAST_SUCCESS.name, label::EXPORTER, p.name())?;
    }
    Ok(())
}
