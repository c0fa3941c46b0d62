//! The pusher's thread: read the source, encode, queue, deliver with retries.

use super::stats::{Failure, Stats};
use super::{otlp, remote_write, Builder, Protocol, Snapshots};
use picometrics::model::Source;
use std::collections::VecDeque;
use std::io;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub(super) fn unix_nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

fn unix_millis(t: SystemTime) -> i64 {
    (unix_nanos(t) / 1_000_000) as i64
}

/// What a pusher reads.
pub(super) enum Feed {
    /// A whole source, read at every push and stamped with its time.
    Whole(Arc<dyn Source + Send + Sync>),
    /// The parts taken after `cursor`, each stamped with the time it was taken.
    Snapshots { snapshots: Arc<dyn Snapshots>, cursor: u64 },
}

/// Series in one request of snapshots at most (a part is never split): a fleet's new dumps
/// go out in requests of a size receivers take (Prometheus and Mimir reject tens of MB).
const SERIES_PER_REQUEST: usize = 50_000;

/// Parts in one OTLP request of snapshots at most (each a resource of its own).
const PARTS_PER_OTLP_REQUEST: usize = 1_000;

/// The pusher's thread.
pub(super) struct Worker {
    pub(super) settings: Builder,
    pub(super) feed: Feed,
    pub(super) started_ns: u64,
    pub(super) queue: VecDeque<Vec<u8>>,
    pub(super) stats: Arc<Stats>,
    pub(super) transport: Transport,
    /// Kept between pushes: its buffers are reused.
    pub(super) remote_write: remote_write::Encoder,
}

/// How a request goes out.
pub(super) enum Transport {
    /// A `POST` (remote write, OTLP/HTTP).
    Http(ureq::Agent),
    /// An OTLP/gRPC `Export` call.
    #[cfg(feature = "grpc")]
    Grpc(super::grpc::Client),
}

impl Worker {
    pub(super) fn run(mut self, stopped: &mpsc::Receiver<()>) {
        let mut next_push = Instant::now();
        // Consecutive failed attempts, and when to try again.
        let (mut failures, mut retry_at) = (0u32, None::<Instant>);
        loop {
            let now = Instant::now();
            if now >= next_push {
                self.enqueue();
                next_push = (next_push + self.settings.interval).max(now);
            }
            if retry_at.is_none_or(|at| now >= at) {
                retry_at = None;
                while let Some(body) = self.queue.front() {
                    match self.send(body) {
                        Ok(()) => {
                            self.queue.pop_front();
                            failures = 0;
                        }
                        Err(f) if !f.retried() => {
                            self.queue.pop_front();
                        }
                        Err(_) => {
                            failures += 1;
                            retry_at = Some(Instant::now() + self.backoff(failures));
                            break;
                        }
                    }
                }
            }
            self.stats.pending.store(self.queue.len() as u64, Ordering::Relaxed);
            let wake = retry_at.map_or(next_push, |at| at.min(next_push));
            match stopped.recv_timeout(wake.saturating_duration_since(Instant::now())) {
                Err(RecvTimeoutError::Timeout) => {}
                // Shutdown: one last push, then each pending request once.
                _ => {
                    self.enqueue();
                    while let Some(body) = self.queue.pop_front() {
                        let _ = self.send(&body);
                    }
                    self.stats.pending.store(0, Ordering::Relaxed);
                    return;
                }
            }
        }
    }

    /// Encodes what is to be pushed now and queues it, dropping the oldest request if the
    /// queue is full.
    pub(super) fn enqueue(&mut self) {
        let now = SystemTime::now();
        let mut bodies = Vec::new();
        match (&mut self.feed, self.settings.protocol) {
            (Feed::Whole(source), Protocol::RemoteWrite) => {
                self.remote_write.add(&**source, unix_millis(now));
                bodies.push(self.remote_write.finish());
            }
            (Feed::Whole(source), Protocol::Otlp | Protocol::OtlpGrpc) => {
                bodies.push(otlp::encode(&**source, self.started_ns, unix_nanos(now)));
            }
            (Feed::Snapshots { snapshots, cursor }, Protocol::RemoteWrite) => {
                let encoder = &mut self.remote_write;
                *cursor = snapshots.since(*cursor, &mut |part, taken| {
                    encoder.add(part, unix_millis(taken));
                    if encoder.series() >= SERIES_PER_REQUEST {
                        bodies.push(encoder.finish());
                    }
                });
                if encoder.series() > 0 {
                    bodies.push(encoder.finish());
                }
            }
            (Feed::Snapshots { snapshots, cursor }, Protocol::Otlp | Protocol::OtlpGrpc) => {
                let mut request =
                    opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest::default(
                    );
                let mut parts = 0;
                *cursor = snapshots.since(*cursor, &mut |part, taken| {
                    // The start of a device's counters is not known here, and must not
                    // depend on which bridge pushes them: 0, "unknown", as OTLP allows.
                    let part = otlp::request(part, 0, unix_nanos(taken));
                    parts += 1;
                    request.resource_metrics.extend(part.resource_metrics);
                    if parts == PARTS_PER_OTLP_REQUEST {
                        bodies.push(prost::Message::encode_to_vec(&std::mem::take(&mut request)));
                        parts = 0;
                    }
                });
                if !request.resource_metrics.is_empty() {
                    bodies.push(prost::Message::encode_to_vec(&request));
                }
            }
        }
        // Room is made from older pushes only: the requests of one push (snapshots split into
        // many) are all kept, so the queue holds at most `max_pending` or one push's worth.
        while !self.queue.is_empty() && self.queue.len() + bodies.len() > self.settings.max_pending {
            self.queue.pop_front();
            self.stats.fail(Failure::Dropped);
        }
        self.queue.extend(bodies);
    }

    /// The wait before retry `n` (1, 2, …): 500 ms doubling up to `max_backoff`, ±50 %.
    pub(super) fn backoff(&self, n: u32) -> Duration {
        let base = Duration::from_millis(500).saturating_mul(1 << n.saturating_sub(1).min(16));
        base.min(self.settings.max_backoff).mul_f64(0.5 + fastrand::f64())
    }

    /// One attempt; counts its outcome.
    pub(super) fn send(&self, body: &[u8]) -> Result<(), Failure> {
        let outcome = match &self.transport {
            Transport::Http(agent) => self.post(agent, body),
            #[cfg(feature = "grpc")]
            Transport::Grpc(client) => client.send(body),
        };
        match outcome {
            Ok(()) => {
                self.stats.delivered.fetch_add(1, Ordering::Relaxed);
                let ms = unix_nanos(SystemTime::now()) / 1_000_000;
                self.stats.last_success_ms.store(ms, Ordering::Relaxed);
            }
            Err(f) => self.stats.fail(f),
        }
        outcome
    }

    /// One `POST`.
    fn post(&self, agent: &ureq::Agent, body: &[u8]) -> Result<(), Failure> {
        let s = &self.settings;
        let mut request = agent.post(&s.url).header("Content-Type", "application/x-protobuf");
        if s.protocol == Protocol::RemoteWrite {
            request = request
                .header("Content-Encoding", "snappy")
                .header("X-Prometheus-Remote-Write-Version", "0.1.0");
        }
        for (name, value) in &s.headers {
            request = request.header(name, value);
        }
        match request.send(body) {
            Ok(response) => match response.status().as_u16() {
                200..=299 => Ok(()),
                300..=399 => {
                    let location = response.headers().get("location").and_then(|l| l.to_str().ok());
                    eprintln!(
                        "picometrics-exporter: {} answered {} to {:?}: not followed (a push goes to \
                         the configured URL only); counted as a failure",
                        s.url,
                        response.status().as_u16(),
                        location.unwrap_or("")
                    );
                    Err(Failure::Redirected)
                }
                429 => Err(Failure::Throttled),
                400..=499 => Err(Failure::Rejected),
                _ => Err(Failure::ServerError),
            },
            Err(ureq::Error::Timeout(_)) => Err(Failure::Timeout),
            Err(ureq::Error::Io(e))
                if matches!(e.kind(), io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock) =>
            {
                Err(Failure::Timeout)
            }
            Err(_) => Err(Failure::Connection),
        }
    }
}
