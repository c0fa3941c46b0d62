//! Push (feature `push`): the registry — or any [`Source`](picometrics::model::Source), such as the device bridge's store —
//! sent to a Prometheus remote-write receiver (Prometheus, Mimir, Thanos Receive, Cortex,
//! VictoriaMetrics) or an OTLP receiver (an OpenTelemetry Collector; HTTP, or gRPC with the
//! feature `grpc`) every interval.
//!
//! ```no_run
//! use std::time::Duration;
//! use picometrics_exporter::push;
//!
//! let pusher = push::Builder::remote_write("https://mimir.example/api/v1/push")
//!     .interval(Duration::from_secs(15))          // the default
//!     .external_label("instance", "checkout-7")   // on every series
//!     .external_label("job", "checkout")
//!     .basic_auth("tenant-1", "s3cret")
//!     .header("X-Scope-OrgID", "tenant-1")
//!     .start()?;
//! // … at the end of the program: one last push.
//! pusher.shutdown();
//! # Ok::<(), picometrics_exporter::BuildError>(())
//! ```
//!
//! One thread per pusher reads the source the way a scrape does (the instrumented calls never
//! notice), encodes one request and queues it. Delivery: a timeout per request; retries with
//! exponential backoff and jitter on connection errors, timeouts, `5xx` and `429`; no retry on
//! other `4xx` (the receiver refused that request; the next one carries the same cumulative
//! counts); at most `max_pending` requests held, the oldest dropped (and counted) beyond —
//! counters are cumulative, so a dropped push loses resolution, never counts. Requests are
//! sent oldest first, as remote write requires. [`Pusher::shutdown`] pushes once more and
//! tries what is pending once. Each pusher's own counts are on `/metrics`
//! ([`write_metrics`]): `picometrics_push_requests_total`, `picometrics_push_failures_total`
//! by reason, `picometrics_push_last_success_timestamp_seconds`, `picometrics_push_pending`.

pub(crate) mod otlp;
pub mod remote_write;

mod builder;
#[cfg(feature = "grpc")]
mod grpc;
mod stats;
mod worker;

pub use builder::Builder;
pub use stats::{write_metrics, Failure, PushStats};

use stats::{pushers, Stats};
use std::sync::mpsc::{self};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::SystemTime;

/// Parts of a source that each carry the time they were taken — a device bridge's dumps. A
/// pusher given them ([`Builder::snapshots`]) sends each part once, stamped with that time,
/// instead of the whole source stamped with the time of the push: several pushers (bridges
/// behind a load balancer, a device landing on any of them) then write one series per device
/// whichever took a dump, and none re-sends an older dump as new.
pub trait Snapshots: Send + Sync {
    /// Calls `each` with every part taken after `cursor` (0 the first time), oldest first,
    /// with the time it was taken; returns the cursor to pass next time.
    fn since(&self, cursor: u64, each: &mut dyn FnMut(&dyn picometrics::model::Source, SystemTime)) -> u64;
}

/// Where and how requests are encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// Prometheus remote write 1.0 (snappy-compressed protobuf `WriteRequest`).
    RemoteWrite,
    /// OTLP/HTTP metrics, protobuf.
    Otlp,
    /// OTLP/gRPC metrics (feature `grpc`): the same protobuf request, as a unary call.
    OtlpGrpc,
}

impl Protocol {
    /// The `exporter` label of its self-metrics.
    pub fn name(self) -> &'static str {
        match self {
            Self::RemoteWrite => "remote_write",
            Self::Otlp => "otlp",
            Self::OtlpGrpc => "otlp_grpc",
        }
    }
}

/// A running pusher. Dropping it leaves it running for the life of the program;
/// [`Pusher::shutdown`] pushes once more and stops it.
#[derive(Debug)]
#[must_use = "keep the `Pusher` (dropping it leaves it running; `shutdown` stops it)"]
pub struct Pusher {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    stats: Arc<Stats>,
}

impl Pusher {
    /// Its counts so far.
    pub fn stats(&self) -> PushStats {
        self.stats.read()
    }

    /// Pushes once more, tries every pending request once, and stops (waits at most the
    /// timeout per pending request).
    pub fn shutdown(mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        pushers().retain(|s| !Arc::ptr_eq(s, &self.stats));
    }
}

impl Drop for Pusher {
    /// Leaves the pusher running, as documented (the stop channel is never closed).
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            std::mem::forget(stop);
        }
    }
}
