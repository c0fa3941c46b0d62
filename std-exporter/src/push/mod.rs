//! Push (feature `push`): the registry — or any [`Source`], such as the device bridge's store —
//! sent to a Prometheus remote-write receiver (Prometheus, Mimir, Thanos Receive, Cortex,
//! VictoriaMetrics) or an OTLP/HTTP receiver (an OpenTelemetry Collector) every interval.
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
//! # Ok::<(), std::io::Error>(())
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

use picometrics::__private_v1::render::{write_header, write_sample};
use picometrics::model::Source;
use picometrics::render::Format;
use picometrics::schema::{label, PUSH_FAILURES, PUSH_LAST_SUCCESS, PUSH_PENDING, PUSH_REQUESTS};
use std::collections::VecDeque;
use std::fmt::{self, Write};
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Where and how requests are encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// Prometheus remote write 1.0 (snappy-compressed protobuf `WriteRequest`).
    RemoteWrite,
    /// OTLP/HTTP metrics, protobuf.
    Otlp,
}

impl Protocol {
    /// The `exporter` label of its self-metrics.
    pub fn name(self) -> &'static str {
        match self {
            Self::RemoteWrite => "remote_write",
            Self::Otlp => "otlp",
        }
    }
}

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
}

impl Failure {
    const ALL: [Self; 6] =
        [Self::Connection, Self::Timeout, Self::ServerError, Self::Throttled, Self::Rejected, Self::Dropped];

    /// The `reason` label.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Connection => "connection",
            Self::Timeout => "timeout",
            Self::ServerError => "server_error",
            Self::Throttled => "throttled",
            Self::Rejected => "rejected",
            Self::Dropped => "dropped",
        }
    }

    fn retried(self) -> bool {
        !matches!(self, Self::Rejected | Self::Dropped)
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
        })
    }
}

impl std::error::Error for Failure {}

/// A pusher's counts, shared by its thread and `/metrics`.
#[derive(Debug)]
struct Stats {
    protocol: Protocol,
    delivered: AtomicU64,
    failures: [AtomicU64; 6],
    pending: AtomicU64,
    /// Unix milliseconds of the last delivery (0: none yet).
    last_success_ms: AtomicU64,
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
    fn new(protocol: Protocol) -> Self {
        Self {
            protocol,
            delivered: AtomicU64::new(0),
            failures: Default::default(),
            pending: AtomicU64::new(0),
            last_success_ms: AtomicU64::new(0),
        }
    }

    fn fail(&self, f: Failure) {
        self.failures[f as usize].fetch_add(1, Ordering::Relaxed);
    }

    fn read(&self) -> PushStats {
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
static PUSHERS: Mutex<Vec<Arc<Stats>>> = Mutex::new(Vec::new());

fn pushers() -> std::sync::MutexGuard<'static, Vec<Arc<Stats>>> {
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

/// Configures a pusher.
#[derive(Clone)]
pub struct Builder {
    protocol: Protocol,
    url: String,
    interval: Duration,
    timeout: Duration,
    headers: Vec<(String, String)>,
    external_labels: Vec<(String, String)>,
    max_pending: usize,
    max_backoff: Duration,
    source: Option<Arc<dyn Source + Send + Sync>>,
    /// PEM file of the certificates to trust instead of the Mozilla roots.
    root_certificates: Option<std::path::PathBuf>,
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("protocol", &self.protocol)
            .field("url", &self.url)
            .field("interval", &self.interval)
            .field("timeout", &self.timeout)
            // Header values may hold credentials.
            .field("headers", &self.headers.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>())
            .field("external_labels", &self.external_labels)
            .field("max_pending", &self.max_pending)
            .finish_non_exhaustive()
    }
}

impl Builder {
    fn new(protocol: Protocol, url: impl Into<String>) -> Self {
        Self {
            protocol,
            url: url.into(),
            interval: Duration::from_secs(15),
            timeout: Duration::from_secs(10),
            headers: Vec::new(),
            external_labels: Vec::new(),
            max_pending: 16,
            max_backoff: Duration::from_secs(30),
            source: None,
            root_certificates: None,
        }
    }

    /// Remote write to `url` (e.g. Prometheus' `http://host:9090/api/v1/write`, Mimir's
    /// `…/api/v1/push`). Defaults: every 15 s, 10 s timeout, 16 pending requests.
    pub fn remote_write(url: impl Into<String>) -> Self {
        Self::new(Protocol::RemoteWrite, url)
    }

    /// OTLP/HTTP to `url`, the full metrics path (e.g. `http://collector:4318/v1/metrics`).
    pub fn otlp(url: impl Into<String>) -> Self {
        Self::new(Protocol::Otlp, url)
    }

    /// OTLP/HTTP configured by the standard environment variables:
    /// `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` (used as is) or `OTEL_EXPORTER_OTLP_ENDPOINT`
    /// (`/v1/metrics` appended; default `http://localhost:4318`),
    /// `OTEL_EXPORTER_OTLP_METRICS_HEADERS` or `OTEL_EXPORTER_OTLP_HEADERS` (`k=v,k2=v2`,
    /// values percent-decoded), `OTEL_EXPORTER_OTLP_METRICS_TIMEOUT` or
    /// `OTEL_EXPORTER_OTLP_TIMEOUT` (ms) and `OTEL_METRIC_EXPORT_INTERVAL` (ms). Only
    /// `http/protobuf` is spoken: `OTEL_EXPORTER_OTLP_(METRICS_)PROTOCOL` set to anything else
    /// is an error.
    pub fn otlp_from_env() -> io::Result<Self> {
        Self::otlp_from(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
    }

    /// [`Builder::otlp_from_env`] with the variables from `var`.
    fn otlp_from(var: impl Fn(&str) -> Option<String>) -> io::Result<Self> {
        let either = |specific: &str, general: &str| var(specific).or_else(|| var(general));
        let invalid = |what: String| io::Error::new(io::ErrorKind::InvalidInput, what);
        if let Some(p) = either("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL") {
            if p.trim() != "http/protobuf" {
                return Err(invalid(format!("OTLP protocol {p:?}: only http/protobuf is supported")));
            }
        }
        let url = match var("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT") {
            Some(url) => url,
            None => {
                let base =
                    var("OTEL_EXPORTER_OTLP_ENDPOINT").unwrap_or_else(|| "http://localhost:4318".into());
                format!("{}/v1/metrics", base.trim_end_matches('/'))
            }
        };
        let mut b = Self::otlp(url.trim());
        if let Some(headers) = either("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS") {
            for pair in headers.split(',').filter(|p| !p.trim().is_empty()) {
                let (k, v) =
                    pair.split_once('=').ok_or_else(|| invalid(format!("OTLP header {pair:?}: no `=`")))?;
                let decode = |s: &str| {
                    form_urlencoded::parse(format!("k={}", s.trim()).as_bytes())
                        .next()
                        .map(|(_, v)| v.into_owned())
                };
                b = b.header(k.trim(), decode(v).unwrap_or_default());
            }
        }
        let millis = |name: &str, v: String| {
            v.trim()
                .parse::<u64>()
                .map(Duration::from_millis)
                .map_err(|_| invalid(format!("{name}={v:?}: not milliseconds")))
        };
        if let Some(t) = either("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT") {
            b.timeout = millis("OTEL_EXPORTER_OTLP_TIMEOUT", t)?;
        }
        if let Some(i) = var("OTEL_METRIC_EXPORT_INTERVAL") {
            b.interval = millis("OTEL_METRIC_EXPORT_INTERVAL", i)?;
        }
        Ok(b)
    }

    /// Time between two pushes (100 ms to 1 day; default 15 s). The first push is made at once.
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// How long one request may take (10 ms to 10 min; default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// A header on every request (e.g. `X-Scope-OrgID` for Mimir and Cortex tenants).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// `Authorization: Bearer <token>`.
    pub fn bearer_token(self, token: impl fmt::Display) -> Self {
        self.header("Authorization", format!("Bearer {token}"))
    }

    /// `Authorization: Basic …` (RFC 7617).
    pub fn basic_auth(self, user: &str, password: &str) -> Self {
        use base64::Engine;
        let credentials = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        self.header("Authorization", format!("Basic {credentials}"))
    }

    /// A label added to every remote-write series that does not have it (like Prometheus'
    /// `external_labels`), e.g. `instance` and `job`, which a pushed series has no scrape to
    /// get them from. OTLP has resource attributes instead and ignores these.
    pub fn external_label(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.external_labels.push((name.into(), value.into()));
        self
    }

    /// Requests held while the receiver is unreachable (1 to 10,000; default 16): the oldest is
    /// dropped beyond, and counted.
    pub fn max_pending(mut self, n: usize) -> Self {
        self.max_pending = n;
        self
    }

    /// The longest wait between two retries (default 30 s; the wait doubles from 500 ms, with
    /// ±50 % jitter).
    pub fn max_backoff(mut self, d: Duration) -> Self {
        self.max_backoff = d;
        self
    }

    /// Trusts the certificates in this PEM file, instead of the Mozilla roots, for an
    /// `https://` receiver: a private CA, or the receiver's self-signed certificate. The file
    /// is read by [`Builder::start`], which fails with its name if it holds no certificate.
    /// (TLS is rustls with ring, TLS 1.2 and 1.3.)
    pub fn root_certificates(mut self, pem: impl Into<std::path::PathBuf>) -> Self {
        self.root_certificates = Some(pem.into());
        self
    }

    /// The TLS settings: the configured roots, or ureq's default (Mozilla's).
    fn tls(&self) -> io::Result<ureq::tls::TlsConfig> {
        let Some(path) = &self.root_certificates else { return Ok(ureq::tls::TlsConfig::default()) };
        let bad = |e: &dyn fmt::Display| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("{}: {e}", path.display()))
        };
        let pem = std::fs::read(path).map_err(|e| bad(&e))?;
        let mut certificates = Vec::new();
        for item in ureq::tls::parse_pem(&pem) {
            if let ureq::tls::PemItem::Certificate(c) = item.map_err(|e| bad(&e))? {
                certificates.push(c);
            }
        }
        if certificates.is_empty() {
            return Err(bad(&"no certificate in the file"));
        }
        Ok(ureq::tls::TlsConfig::builder()
            .root_certs(ureq::tls::RootCerts::Specific(Arc::new(certificates)))
            .build())
    }

    /// Pushes `source` instead of this process's registry (the bridge pushes its devices).
    pub fn source(mut self, source: Arc<dyn Source + Send + Sync>) -> Self {
        self.source = Some(source);
        self
    }

    fn validate(&self) -> io::Result<()> {
        let invalid = |what: String| Err(io::Error::new(io::ErrorKind::InvalidInput, what));
        if !(self.url.starts_with("http://") || self.url.starts_with("https://")) {
            return invalid(format!("push URL {:?} must start with http:// or https://", self.url));
        }
        if !(Duration::from_millis(100)..=Duration::from_secs(86_400)).contains(&self.interval) {
            return invalid(format!("push interval must be 100 ms to 1 day, not {:?}", self.interval));
        }
        if !(Duration::from_millis(10)..=Duration::from_secs(600)).contains(&self.timeout) {
            return invalid(format!("push timeout must be 10 ms to 10 min, not {:?}", self.timeout));
        }
        if !(1..=10_000).contains(&self.max_pending) {
            return invalid(format!("max_pending must be 1 to 10000, not {}", self.max_pending));
        }
        for (name, value) in &self.headers {
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
                return invalid(format!("header name {name:?}"));
            }
            if value.bytes().any(|b| b.is_ascii_control()) {
                return invalid(format!("header {name}: control characters in its value"));
            }
        }
        Ok(())
    }

    /// Checks the settings and starts the pusher's thread; the first push is made at once.
    #[must_use = "keep the `Pusher` (dropping it leaves it running; `shutdown` stops it)"]
    pub fn start(self) -> io::Result<Pusher> {
        self.validate()?;
        let stats = Arc::new(Stats::new(self.protocol));
        let (stop, stopped) = mpsc::channel();
        let agent = ureq::Agent::config_builder()
            .tls_config(self.tls()?)
            .timeout_global(Some(self.timeout))
            .http_status_as_error(false)
            .user_agent(concat!("picometrics/", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        let worker = Worker {
            source: self.source.clone().unwrap_or_else(|| Arc::new(picometrics::registry::Registry)),
            started_ns: unix_nanos(SystemTime::now()),
            queue: VecDeque::with_capacity(self.max_pending),
            stats: stats.clone(),
            agent,
            settings: self,
        };
        let thread = std::thread::Builder::new()
            .name(format!("picometrics-push-{}", worker.settings.protocol.name()))
            .spawn(move || worker.run(&stopped))?;
        pushers().push(stats.clone());
        Ok(Pusher { stop: Some(stop), thread: Some(thread), stats })
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

fn unix_nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

/// The pusher's thread.
struct Worker {
    settings: Builder,
    source: Arc<dyn Source + Send + Sync>,
    started_ns: u64,
    queue: VecDeque<Vec<u8>>,
    stats: Arc<Stats>,
    agent: ureq::Agent,
}

impl Worker {
    fn run(mut self, stopped: &mpsc::Receiver<()>) {
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

    /// Encodes the source now and queues it, dropping the oldest request if the queue is full.
    fn enqueue(&mut self) {
        let now = SystemTime::now();
        let body = match self.settings.protocol {
            Protocol::RemoteWrite => {
                let ms = (unix_nanos(now) / 1_000_000) as i64;
                remote_write::encode(&*self.source, &self.settings.external_labels, ms)
            }
            Protocol::Otlp => otlp::encode(&*self.source, self.started_ns, unix_nanos(now)),
        };
        if self.queue.len() == self.settings.max_pending {
            self.queue.pop_front();
            self.stats.fail(Failure::Dropped);
        }
        self.queue.push_back(body);
    }

    /// The wait before retry `n` (1, 2, …): 500 ms doubling up to `max_backoff`, ±50 %.
    fn backoff(&self, n: u32) -> Duration {
        let base = Duration::from_millis(500).saturating_mul(1 << n.saturating_sub(1).min(16));
        base.min(self.settings.max_backoff).mul_f64(0.5 + fastrand::f64())
    }

    /// One attempt; counts its outcome.
    fn send(&self, body: &[u8]) -> Result<(), Failure> {
        let s = &self.settings;
        let mut request = self.agent.post(&s.url).header("Content-Type", "application/x-protobuf");
        if s.protocol == Protocol::RemoteWrite {
            request = request
                .header("Content-Encoding", "snappy")
                .header("X-Prometheus-Remote-Write-Version", "0.1.0");
        }
        for (name, value) in &s.headers {
            request = request.header(name, value);
        }
        let outcome = match request.send(body) {
            Ok(response) => match response.status().as_u16() {
                200..=299 => Ok(()),
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn otlp_settings_come_from_the_standard_variables() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
        };
        let b = Builder::otlp_from(env(&[])).unwrap();
        assert_eq!(b.url, "http://localhost:4318/v1/metrics");
        let b = Builder::otlp_from(env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "api-key=a%20b, x-tenant=t1"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "5000"),
        ]))
        .unwrap();
        assert_eq!(b.url, "http://collector:4318/v1/metrics");
        assert_eq!(
            b.headers,
            [("api-key".to_owned(), "a b".to_owned()), ("x-tenant".to_owned(), "t1".to_owned())]
        );
        assert_eq!((b.timeout, b.interval), (Duration::from_millis(2500), Duration::from_secs(5)));
        let b = Builder::otlp_from(env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://ignored:4318"),
            ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "https://otlp.example/custom/path"),
        ]))
        .unwrap();
        assert_eq!(b.url, "https://otlp.example/custom/path", "the metrics endpoint is used as is");
        assert!(Builder::otlp_from(env(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")])).is_err());
        assert!(Builder::otlp_from(env(&[("OTEL_METRIC_EXPORT_INTERVAL", "soon")])).is_err());
    }

    #[test]
    fn settings_are_checked() {
        let bad = [
            Builder::remote_write("ftp://x"),
            Builder::remote_write("http://x").interval(Duration::ZERO),
            Builder::remote_write("http://x").timeout(Duration::ZERO),
            Builder::remote_write("http://x").max_pending(0),
            Builder::remote_write("http://x").header("bad name", "v"),
            Builder::otlp("http://x").header("h", "a\r\nb"),
        ];
        for b in bad {
            assert_eq!(b.clone().start().unwrap_err().kind(), io::ErrorKind::InvalidInput, "{b:?}");
        }
    }
}
