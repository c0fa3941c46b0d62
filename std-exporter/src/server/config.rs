//! The endpoint's settings: every limit checked by [`Builder::serve`], which starts it.

use super::{accept, BuildError, Endpoint, Server};
use crate::explorer;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

/// Configures the endpoint.
///
/// ```no_run
/// let server = picometrics_exporter::Builder::new()
///     .addr("127.0.0.1:9464")?
///     .bearer_token("s3cret") // what Prometheus' `authorization` scrape config sends
///     .serve()?;
/// # Ok::<(), picometrics_exporter::BuildError>(())
/// ```
#[derive(Clone)]
pub struct Builder {
    pub(super) addr: SocketAddr,
    pub(super) source: Option<MetricsSource>,
    pub(super) bearer_token: Option<String>,
    pub(super) max_connections: usize,
    pub(super) max_requests: usize,
    pub(super) header_timeout: Duration,
    pub(super) connection_timeout: Duration,
    pub(super) max_header_bytes: usize,
    pub(super) rules: crate::rules::RulesConfig,
    /// Whose objectives `/rules` is for, when not the registry's.
    pub(super) rules_source: Option<Arc<dyn picometrics::model::Source + Send + Sync>>,
    /// Whether `/` serves the explorer page (and `/api/v1/…` its JSON).
    pub(super) explorer: bool,
    pub(super) history: explorer::Settings,
    /// PEM files of the certificate chain and its private key (feature `tls`).
    #[cfg(feature = "tls")]
    pub(super) tls: Option<(std::path::PathBuf, std::path::PathBuf)>,
}

/// The largest `max_connections` and `max_requests`.
const MAX_LIMIT: usize = 1 << 16;

/// The most points and series the explorer's history keeps.
const MAX_HISTORY: usize = 1 << 20;

/// The longest timeout a builder accepts (longer ones overflow timers or mean "never").
const MAX_TIMEOUT: Duration = Duration::from_secs(3600);

impl Default for Builder {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 9464)),
            source: None,
            bearer_token: None,
            max_connections: 256,
            max_requests: 64,
            header_timeout: Duration::from_secs(10),
            connection_timeout: Duration::from_secs(30),
            max_header_bytes: 16 * 1024,
            rules: crate::rules::RulesConfig::default(),
            rules_source: None,
            explorer: true,
            history: explorer::Settings::default(),
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

impl Builder {
    /// Defaults: `127.0.0.1:9464` (loopback only), no token, 256 connections, 64 responses in
    /// flight, 10 s to send the request head, 30 s for a whole connection, 16 KiB of headers.
    pub fn new() -> Self {
        Self::default()
    }

    /// The address to listen on (the first one `addr` resolves to). Port 0 picks a free port.
    pub fn addr(mut self, addr: impl ToSocketAddrs) -> Result<Self, BuildError> {
        let mut addrs = addr
            .to_socket_addrs()
            .map_err(|source| BuildError::Io { what: "resolve the address", source })?;
        self.addr = addrs.next().ok_or(BuildError::NoAddress)?;
        Ok(self)
    }

    /// Requires `Authorization: Bearer <token>` (the scheme in any case); other requests get
    /// 401. An empty token, or one with spaces or control characters, is refused by
    /// [`Builder::serve`].
    pub fn bearer_token(mut self, token: impl Into<String>) -> Self {
        self.bearer_token = Some(token.into());
        self
    }

    /// Connections kept open at once (1 to 65,536). When all are taken, the one that matters
    /// least is closed to make room: one that never sent a byte (held open, or already closed by
    /// its client), then one whose response its client has not read for a second, then the one
    /// idle longest (between requests, or trickling a head). A connection being answered is never
    /// closed — a scrape in flight and a kept-alive scraper survive a flood — and when every one
    /// is, the new connection is refused.
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n;
        self
    }

    /// Responses being written at once (1 to 65,536); a request beyond gets `503 Service
    /// Unavailable` at once, without rendering (like node_exporter's `--web.max-requests`).
    pub fn max_requests(mut self, n: usize) -> Self {
        self.max_requests = n;
        self
    }

    /// How long a client may take to send its request head before it is disconnected (1 ms to
    /// 1 h).
    pub fn header_timeout(mut self, timeout: Duration) -> Self {
        self.header_timeout = timeout;
        self
    }

    /// How long one connection may stay open, whatever it does (1 ms to 1 h): a client that
    /// pipelines requests and never reads the answers is cut off after this.
    pub fn connection_timeout(mut self, timeout: Duration) -> Self {
        self.connection_timeout = timeout;
        self
    }

    /// Serves HTTPS with the certificate chain and private key in these PEM files (feature
    /// `tls`; rustls, TLS 1.2 and 1.3). Both are read by [`Builder::serve`], which fails with
    /// the file's name if either cannot be used.
    #[cfg(feature = "tls")]
    pub fn tls(
        mut self,
        cert_chain_pem: impl Into<std::path::PathBuf>,
        key_pem: impl Into<std::path::PathBuf>,
    ) -> Self {
        self.tls = Some((cert_chain_pem.into(), key_pem.into()));
        self
    }

    /// The TLS acceptor for the configured files, if any.
    #[cfg(feature = "tls")]
    fn acceptor(&self) -> Result<Option<tokio_rustls::TlsAcceptor>, BuildError> {
        use rustls_pki_types::pem::PemObject;
        use rustls_pki_types::{CertificateDer, PrivateKeyDer};
        use tokio_rustls::rustls;
        let Some((cert, key)) = &self.tls else { return Ok(None) };
        let bad = |path: &std::path::Path, e: &dyn std::fmt::Display| BuildError::Tls {
            path: path.to_owned(),
            reason: e.to_string(),
        };
        let chain = CertificateDer::pem_file_iter(cert)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| bad(cert, &e))?;
        if chain.is_empty() {
            return Err(bad(cert, &"no certificate in the file"));
        }
        let private = PrivateKeyDer::from_pem_file(key).map_err(|e| bad(key, &e))?;
        let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(chain, private))
        .map_err(|e| bad(key, &e))?;
        Ok(Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))))
    }

    /// The settings' error, if any, so `serve` fails instead of starting a dead endpoint.
    pub(super) fn validate(&self) -> Result<(), BuildError> {
        let limit = |setting, n: usize, least: usize, most: usize| {
            if (least..=most).contains(&n) {
                Ok(())
            } else {
                Err(BuildError::OutOfRange {
                    setting,
                    value: n.to_string(),
                    allowed: format!("{least} to {most}"),
                })
            }
        };
        let time = |setting, t: Duration, least: Duration| {
            if (least..=MAX_TIMEOUT).contains(&t) {
                Ok(())
            } else {
                Err(BuildError::OutOfRange {
                    setting,
                    value: format!("{t:?}"),
                    allowed: format!("{least:?} to 1 h"),
                })
            }
        };
        limit("max_connections", self.max_connections, 1, MAX_LIMIT)?;
        limit("max_requests", self.max_requests, 1, MAX_LIMIT)?;
        time("header_timeout", self.header_timeout, Duration::from_millis(1))?;
        time("connection_timeout", self.connection_timeout, Duration::from_millis(1))?;
        let h = &self.history;
        time("history interval", h.interval, Duration::from_millis(10))?;
        limit("history points", h.points, 2, MAX_HISTORY)?;
        limit("history series", h.max_series, 1, MAX_HISTORY)?;
        match &self.bearer_token {
            Some(token) if token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()) => {
                Err(BuildError::BearerToken)
            }
            _ => Ok(()),
        }
    }

    /// Settings of the rules served at `/rules`.
    pub fn rules_config(mut self, config: crate::rules::RulesConfig) -> Self {
        self.rules = config;
        self
    }

    /// Serves at `/rules` the rules for the objectives `source`'s series carry instead of the
    /// registry's — e.g. the device bridge's, whose devices name theirs in their dumps.
    pub fn rules_source(mut self, source: Arc<dyn picometrics::model::Source + Send + Sync>) -> Self {
        self.rules_source = Some(source);
        self
    }

    /// Serves the explorer at `/`: a live page of every function's rate, errors, latency,
    /// callers and objectives, drawn from a short history kept in memory, with its JSON at
    /// `/api/v1/overview` and `/api/v1/function` (see the crate docs). **On by default**,
    /// production builds included: it is read-only, behind the same loopback address and bearer
    /// token as `/metrics`, and costs one thread that reads the registry once per interval (the
    /// instrumented calls never see it) plus a bounded history (see [`Builder::history`]).
    /// `explorer(false)` serves `/metrics` and `/rules` only and starts no thread.
    pub fn explorer(mut self, on: bool) -> Self {
        self.explorer = on;
        self
    }

    /// The explorer's history: one sample every `interval` (10 ms to 1 h; default 1 s), the
    /// latest `points` kept per series (2 to 2²⁰; default 300, five minutes), at most
    /// `max_series` series (default 1,024; more are counted as `untracked`). Memory is at
    /// most about `max_series × (points × 40 B + 32 B × buckets + names)`: 13 MB with the
    /// defaults, 12 KB per series.
    pub fn history(mut self, interval: Duration, points: usize, max_series: usize) -> Self {
        self.history.interval = interval;
        self.history.points = points;
        self.history.max_series = max_series;
        self
    }

    /// The Prometheus the explorer links its generated queries to (e.g. the one `picometrics
    /// up` starts); without it the page shows the queries without links.
    pub fn prometheus_url(mut self, url: impl Into<String>) -> Self {
        self.history.prometheus_url = Some(url.into());
        self
    }

    /// The Grafana, with the dashboards of `dashboards/` imported, that the explorer links to:
    /// its header to the overview, SLO and devices dashboards, each function to its own
    /// dashboard (`GRAFANA/d/picometrics-function?var-function=…&var-module=…`).
    pub fn grafana_url(mut self, url: impl Into<String>) -> Self {
        self.history.grafana_url = Some(url.into());
        self
    }

    /// What the explorer shows when it is not this process's registry: e.g. the device
    /// bridge's store, whose series carry a `device` label (the page then has a device picker).
    pub fn explorer_source(mut self, source: Arc<dyn picometrics::model::Source + Send + Sync>) -> Self {
        self.history.source = Some(source);
        self
    }

    /// Serves what `render` writes (Prometheus text 0.0.4) at `/metrics` instead of this
    /// process's registry — e.g. the device bridge's store of device dumps.
    pub fn metrics_source(mut self, render: impl Fn(&mut String) + Send + Sync + 'static) -> Self {
        self.source = Some(MetricsSource::Text(Arc::new(render)));
        self
    }

    /// Like [`Builder::metrics_source`], for a source that keeps its text in shared pieces:
    /// `render` collects them in order (e.g. `picometrics_bridge::Devices::render_chunks`), and
    /// they are sent as they are, never joined — a scrape of a 100 MB text copies nothing.
    pub fn metrics_chunks(mut self, render: impl Fn(&mut Vec<Arc<str>>) + Send + Sync + 'static) -> Self {
        self.source = Some(MetricsSource::Chunks(Arc::new(render)));
        self
    }

    /// Checks the settings, binds, then serves from a new thread.
    #[must_use = "keep the `Server` (dropping it leaves the endpoint running; `shutdown` stops it)"]
    pub fn serve(self) -> Result<Server, BuildError> {
        self.validate()?;
        #[cfg(feature = "tls")]
        let acceptor = self.acceptor()?;
        #[cfg(not(feature = "tls"))]
        let acceptor = None::<accept::NoTls>;
        let io = |what: &'static str| move |source| BuildError::Io { what, source };
        let listener = accept::listen(self.addr).map_err(io("bind the address"))?;
        let local_addr = listener.local_addr().map_err(io("bind the address"))?;
        let (stop, stopped) = oneshot::channel();
        let (endpoint, sampler) = Endpoint::start(self)?;
        // Built here so a failure is this call's error, not a dead thread.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(io("start the runtime"))?;
        let thread = std::thread::Builder::new()
            .name("picometrics-exporter".into())
            .spawn(move || runtime.block_on(accept::accept_loop(listener, endpoint, acceptor, stopped)))
            .map_err(io("start the server thread"))?;
        Ok(Server { local_addr, stop: Some(stop), thread: Some(thread), sampler })
    }
}

/// What `/metrics` serves instead of this process's registry.
#[derive(Clone)]
pub(super) enum MetricsSource {
    /// A text rendered into a `String` ([`Builder::metrics_source`]).
    Text(Arc<dyn Fn(&mut String) + Send + Sync>),
    /// Shared pieces sent as they are ([`Builder::metrics_chunks`]).
    Chunks(Arc<CollectChunks>),
}

/// Collects a text's shared pieces in order.
pub(super) type CollectChunks = dyn Fn(&mut Vec<Arc<str>>) + Send + Sync;

impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("addr", &self.addr)
            .field("bearer_token", &self.bearer_token.as_ref().map(|_| "…"))
            .field("metrics_source", &self.source.is_some())
            .field("max_connections", &self.max_connections)
            .field("max_requests", &self.max_requests)
            .field("header_timeout", &self.header_timeout)
            .field("connection_timeout", &self.connection_timeout)
            .field("max_header_bytes", &self.max_header_bytes)
            .field("explorer", &self.explorer)
            .field("history_interval", &self.history.interval)
            .field("history_points", &self.history.points)
            .field("history_max_series", &self.history.max_series)
            .finish_non_exhaustive()
    }
}
