//! The `/metrics` HTTP endpoint: hyper's HTTP/1 server on a single-threaded tokio runtime in a
//! thread of its own, so it works in programs that use no async runtime at all.

use crate::explorer;
use crate::{Format, MetricsBuffer};
use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ACCEPT, ALLOW, AUTHORIZATION, CONNECTION, CONTENT_TYPE, WWW_AUTHENTICATE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::AbortHandle;

/// Serves `/metrics` on `addr` (e.g. `"127.0.0.1:9464"`) from a background thread.
///
/// Equivalent to `Builder::new().addr(addr)?.serve()`.
#[must_use = "keep the `Server` (dropping it leaves the endpoint running; `shutdown` stops it)"]
pub fn serve(addr: impl ToSocketAddrs) -> io::Result<Server> {
    Builder::new().addr(addr)?.serve()
}

/// Configures the endpoint.
///
/// ```no_run
/// let server = picometrics_exporter::Builder::new()
///     .addr("127.0.0.1:9464")?
///     .bearer_token("s3cret") // what Prometheus' `authorization` scrape config sends
///     .serve()?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct Builder {
    addr: SocketAddr,
    source: Option<MetricsSource>,
    bearer_token: Option<String>,
    max_connections: usize,
    max_requests: usize,
    header_timeout: Duration,
    connection_timeout: Duration,
    max_header_bytes: usize,
    rules: crate::rules::RulesConfig,
    /// Whether `/` serves the explorer page (and `/api/v1/…` its JSON).
    explorer: bool,
    history: explorer::Settings,
    /// The running explorer's history (set by `serve`).
    running: Option<Arc<Mutex<explorer::History>>>,
    /// PEM files of the certificate chain and its private key (feature `tls`).
    #[cfg(feature = "tls")]
    tls: Option<(std::path::PathBuf, std::path::PathBuf)>,
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
            explorer: true,
            history: explorer::Settings::default(),
            running: None,
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
    pub fn addr(mut self, addr: impl ToSocketAddrs) -> io::Result<Self> {
        self.addr = addr
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "address resolves to nothing"))?;
        Ok(self)
    }

    /// Requires `Authorization: Bearer <token>` (the scheme in any case); other requests get
    /// 401. An empty token, or one with spaces or control characters, is refused by
    /// [`Builder::serve`].
    pub fn bearer_token(mut self, token: impl Into<String>) -> Self {
        self.bearer_token = Some(token.into());
        self
    }

    /// Connections kept open at once (1 to 65,536). When all are taken, the **oldest** is
    /// closed to make room: a scrape lasts milliseconds, so a connection that has been open
    /// longest is a client that holds it without finishing (silent, trickling or not reading),
    /// and a new scrape is served however many of those there are.
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
    fn acceptor(&self) -> io::Result<Option<tokio_rustls::TlsAcceptor>> {
        use rustls_pki_types::pem::PemObject;
        use rustls_pki_types::{CertificateDer, PrivateKeyDer};
        use tokio_rustls::rustls;
        let Some((cert, key)) = &self.tls else { return Ok(None) };
        let bad = |path: &std::path::Path, e: &dyn std::fmt::Display| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("TLS: {}: {e}", path.display()))
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
    fn validate(&self) -> io::Result<()> {
        let invalid = |what: String| Err(io::Error::new(io::ErrorKind::InvalidInput, what));
        for (name, n) in [("max_connections", self.max_connections), ("max_requests", self.max_requests)] {
            if !(1..=MAX_LIMIT).contains(&n) {
                return invalid(format!("{name} must be 1 to {MAX_LIMIT}, not {n}"));
            }
        }
        for (name, t) in
            [("header_timeout", self.header_timeout), ("connection_timeout", self.connection_timeout)]
        {
            if t < Duration::from_millis(1) || t > MAX_TIMEOUT {
                return invalid(format!("{name} must be 1 ms to 1 h, not {t:?}"));
            }
        }
        let h = &self.history;
        if h.interval < Duration::from_millis(10) || h.interval > MAX_TIMEOUT {
            return invalid(format!("the history interval must be 10 ms to 1 h, not {:?}", h.interval));
        }
        for (name, n, least) in [("history points", h.points, 2), ("history series", h.max_series, 1)] {
            if !(least..=MAX_HISTORY).contains(&n) {
                return invalid(format!("{name} must be {least} to {MAX_HISTORY}, not {n}"));
            }
        }
        if let Some(token) = &self.bearer_token {
            if token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()) {
                return invalid("the bearer token must be non-empty visible ASCII (no spaces)".into());
            }
        }
        Ok(())
    }

    /// Settings of the rules served at `/rules`.
    pub fn rules_config(mut self, config: crate::rules::RulesConfig) -> Self {
        self.rules = config;
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
    pub fn serve(self) -> io::Result<Server> {
        self.validate()?;
        #[cfg(feature = "tls")]
        let acceptor = self.acceptor()?;
        #[cfg(not(feature = "tls"))]
        let acceptor = None::<NoTls>;
        let listener = listen(self.addr)?;
        let local_addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel();
        let mut config = self;
        let sampler = if config.explorer {
            let history = Arc::new(Mutex::new(explorer::History::new(config.history.clone())));
            let source =
                config.history.source.clone().unwrap_or_else(|| Arc::new(picometrics::registry::Registry));
            config.running = Some(history.clone());
            Some(explorer::spawn_sampler(history, source, config.history.interval)?)
        } else {
            None
        };
        let config = Arc::new(config);
        // Built here so a failure is this call's error, not a dead thread.
        let runtime = tokio::runtime::Builder::new_current_thread().enable_io().enable_time().build()?;
        let thread = std::thread::Builder::new()
            .name("picometrics-exporter".into())
            .spawn(move || runtime.block_on(accept_loop(listener, config, acceptor, stopped)))?;
        Ok(Server { local_addr, stop: Some(stop), thread: Some(thread), sampler })
    }
}

/// A non-blocking listener on `addr` with an accept queue of 4096: under a flood of
/// connections a scrape's SYN is queued, not dropped (std's `bind` listens with 128).
fn listen(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(4096)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// Renders `/metrics` in place of the registry.
/// What `/metrics` serves instead of this process's registry.
#[derive(Clone)]
enum MetricsSource {
    /// A text rendered into a `String` ([`Builder::metrics_source`]).
    Text(Arc<dyn Fn(&mut String) + Send + Sync>),
    /// Shared pieces sent as they are ([`Builder::metrics_chunks`]).
    Chunks(Arc<CollectChunks>),
}

/// Collects a text's shared pieces in order.
type CollectChunks = dyn Fn(&mut Vec<Arc<str>>) + Send + Sync;

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

/// A running endpoint. Dropping it leaves the endpoint running for the life of the program;
/// [`Server::shutdown`] stops it.
#[derive(Debug)]
#[must_use = "keep the `Server` (dropping it leaves the endpoint running; `shutdown` stops it)"]
pub struct Server {
    local_addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    /// Dropping it stops the explorer's sampler.
    sampler: Option<std::sync::mpsc::Sender<()>>,
}

impl Server {
    /// The address it listens on (with the real port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting connections and waits for the server thread to end (the explorer's
    /// sampler stops too).
    pub fn shutdown(mut self) {
        self.sampler = None;
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Server {
    /// Leaves the endpoint running, as documented: the stop signal is never sent (dropping
    /// its sender would stop the accept loop), and the thread is detached.
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            std::mem::forget(stop);
        }
        if let Some(sampler) = self.sampler.take() {
            std::mem::forget(sampler);
        }
    }
}

/// The TLS acceptor, when the feature is on.
#[cfg(feature = "tls")]
type Acceptor = tokio_rustls::TlsAcceptor;
/// Without the `tls` feature there is never an acceptor.
#[cfg(not(feature = "tls"))]
type Acceptor = NoTls;

/// Stands for the TLS acceptor in builds without the `tls` feature.
#[cfg(not(feature = "tls"))]
#[derive(Clone)]
enum NoTls {}

/// A connection's byte stream: plain TCP, or TLS over it.
trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Io for T {}

async fn accept_loop(
    listener: std::net::TcpListener,
    config: Arc<Builder>,
    acceptor: Option<Acceptor>,
    mut stopped: oneshot::Receiver<()>,
) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("picometrics-exporter: cannot listen: {e}");
            return;
        }
    };
    // Open connections by age (ids increase): the oldest is closed when a new one needs room.
    let open: Arc<Mutex<BTreeMap<u64, AbortHandle>>> = Arc::default();
    let in_flight = Arc::new(AtomicUsize::new(0));
    for id in 0u64.. {
        let stream = tokio::select! {
            _ = &mut stopped => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // Out of file descriptors and the like: back off instead of spinning.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        {
            let mut open = lock(&open);
            while open.len() >= config.max_connections {
                let Some((_, oldest)) = open.pop_first() else { break };
                oldest.abort();
            }
        }
        let (config, connections, in_flight) = (config.clone(), open.clone(), in_flight.clone());
        let acceptor = acceptor.clone();
        let task = tokio::spawn(async move {
            // The TLS handshake counts against the header timeout.
            let stream: Box<dyn Io> = match acceptor {
                None => Box::new(stream),
                #[cfg(feature = "tls")]
                Some(acceptor) => {
                    match tokio::time::timeout(config.header_timeout, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => Box::new(tls),
                        _ => {
                            lock(&connections).remove(&id);
                            return;
                        }
                    }
                }
                #[cfg(not(feature = "tls"))]
                Some(never) => match never {},
            };
            let (header_timeout, max_head, lifetime) =
                (config.header_timeout, config.max_header_bytes, config.connection_timeout);
            // Requests answered on this connection: after `REQUESTS_PER_CONNECTION` the answer
            // says `Connection: close`, so a client that pipelines requests without reading the
            // answers costs a bounded amount of work (Prometheus just reconnects).
            let served = Arc::new(AtomicUsize::new(0));
            let service = hyper::service::service_fn(move |req| {
                let (config, in_flight) = (config.clone(), in_flight.clone());
                let last = served.fetch_add(1, AtomicOrdering::Relaxed) + 1 >= REQUESTS_PER_CONNECTION;
                async move {
                    let mut response = respond(&config, &req, &in_flight);
                    if last {
                        response.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
                    }
                    Ok::<_, std::convert::Infallible>(response)
                }
            });
            // Malformed requests get hyper's 400, oversized heads 431; a client that sends
            // nothing is dropped after `header_timeout`, and any connection after `lifetime`.
            // None of it reaches the accept loop.
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .max_buf_size(max_head)
                .serve_connection(TokioIo::new(stream), service);
            let _ = tokio::time::timeout(lifetime, connection).await;
            lock(&connections).remove(&id);
        });
        lock(&open).insert(id, task.abort_handle());
    }
}

/// The open-connection map, also after a panic elsewhere (it holds only abort handles).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A response body that counts as in flight until its last piece is handed to the
/// connection: it is given out in 64 KiB frames, which hyper takes only as the client reads, so
/// a client that does not read keeps its response in flight.
struct Counted {
    rest: Pieces,
    in_flight: Arc<AtomicUsize>,
}

/// A response body as the pieces it is made of (one for most; a chunked source's many,
/// shared with it rather than joined).
#[derive(Default)]
struct Pieces {
    pieces: std::collections::VecDeque<Bytes>,
    len: usize,
}

impl Pieces {
    fn push(&mut self, piece: Bytes) {
        if !piece.is_empty() {
            self.len += piece.len();
            self.pieces.push_back(piece);
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
struct SharedText(Arc<str>);

impl AsRef<[u8]> for SharedText {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// Requests answered on one connection before it is closed.
const REQUESTS_PER_CONNECTION: usize = 16;

/// The size of the frames a response body is handed out in.
const FRAME: usize = 64 * 1024;

impl Drop for Counted {
    fn drop(&mut self) {
        self.in_flight.fetch_sub(1, AtomicOrdering::Relaxed);
    }
}

impl hyper::body::Body for Counted {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        std::task::Poll::Ready(self.rest.take(FRAME).map(|piece| Ok(hyper::body::Frame::data(piece))))
    }

    fn is_end_stream(&self) -> bool {
        self.rest.len == 0
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        hyper::body::SizeHint::with_exact(self.rest.len as u64)
    }
}

thread_local! {
    /// One render buffer for the server thread, reused by every scrape.
    static BUFFER: RefCell<MetricsBuffer> = RefCell::new(MetricsBuffer::new());
}

/// Answers with the body counted as in flight, or `503` at once when `max_requests` responses
/// are already being written.
fn respond(config: &Builder, req: &Request<Incoming>, in_flight: &Arc<AtomicUsize>) -> Response<Counted> {
    let busy = in_flight.fetch_add(1, AtomicOrdering::Relaxed) >= config.max_requests;
    let response = if busy {
        plain(StatusCode::SERVICE_UNAVAILABLE, "too many requests in flight; try again\n")
    } else {
        answer(config, req)
    };
    response.map(|rest| Counted { rest, in_flight: in_flight.clone() })
}

/// What a path asks for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Route {
    Metrics,
    Rules,
    /// An embedded file of the explorer, with its content type.
    Asset(&'static str, &'static str),
    Overview,
    Function,
}

fn route(config: &Builder, path: &str) -> Option<Route> {
    let explorer = config.explorer;
    Some(match path {
        "/metrics" => Route::Metrics,
        "/rules" => Route::Rules,
        "/" | "/index.html" if explorer => Route::Asset(explorer::PAGE, "text/html; charset=utf-8"),
        "/explorer.js" if explorer => Route::Asset(explorer::SCRIPT, "text/javascript; charset=utf-8"),
        "/explorer.css" if explorer => Route::Asset(explorer::STYLE, "text/css; charset=utf-8"),
        "/api/v1/overview" if explorer => Route::Overview,
        "/api/v1/function" if explorer => Route::Function,
        _ => return None,
    })
}

fn answer(config: &Builder, req: &Request<Incoming>) -> Response<Pieces> {
    let path = req.uri().path();
    let Some(route) = route(config, path) else {
        return plain(
            StatusCode::NOT_FOUND,
            if config.explorer {
                "not found: the explorer is at /, metrics at /metrics, alert rules at /rules\n"
            } else {
                "not found: metrics are at /metrics, alert rules at /rules\n"
            },
        );
    };
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD\n");
        r.headers_mut().insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    if let Some(token) = &config.bearer_token {
        let presented = req.headers().get(AUTHORIZATION).and_then(|v| v.to_str().ok());
        if !presented.is_some_and(|v| bearer_matches(v, token)) {
            let mut r = plain(StatusCode::UNAUTHORIZED, "a bearer token is required\n");
            r.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return r;
        }
    }
    let head = req.method() == Method::HEAD;
    let body = |b: Bytes| Pieces::from(if head { Bytes::new() } else { b });
    match route {
        Route::Asset(text, content_type) => {
            let mut r = Response::new(body(Bytes::from_static(text.as_bytes())));
            let headers = r.headers_mut();
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
            // Everything the page shows comes from devices and code it does not control:
            // nothing but its own script may run, and it may talk to this server only.
            headers.insert(
                "content-security-policy",
                HeaderValue::from_static(
                    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
                ),
            );
            headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
            return r;
        }
        Route::Overview | Route::Function => {
            let history = config.running.as_ref().expect("the explorer runs when it is routed");
            let (status, json) = {
                let history = explorer::lock(history);
                if route == Route::Overview {
                    history.overview()
                } else {
                    history.function(req.uri().query())
                }
            };
            let mut r = Response::new(body(json.into()));
            *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let headers = r.headers_mut();
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            headers.insert("cache-control", HeaderValue::from_static("no-store"));
            return r;
        }
        Route::Metrics | Route::Rules => {}
    }
    if route == Route::Rules {
        let mut rules = String::new();
        // Writing into a `String` cannot fail.
        let _ = crate::rules::write_rules(&mut rules, &config.rules);
        let mut r = Response::new(body(rules.into()));
        r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/yaml; charset=utf-8"));
        return r;
    }
    let (format, text) = match &config.source {
        Some(MetricsSource::Text(render)) => {
            let mut text = String::new();
            render(&mut text);
            (Format::Text, body(Bytes::from(text)))
        }
        Some(MetricsSource::Chunks(render)) => {
            let mut chunks = Vec::new();
            render(&mut chunks);
            let mut pieces = Pieces::default();
            if !head {
                chunks.into_iter().for_each(|c| pieces.push(Bytes::from_owner(SharedText(c))));
            }
            (Format::Text, pieces)
        }
        None => {
            let format = Format::from_accept(req.headers().get(ACCEPT).and_then(|v| v.to_str().ok()));
            (
                format,
                body(
                    BUFFER.with(|b| Bytes::copy_from_slice(b.borrow_mut().render_format(format).as_bytes())),
                ),
            )
        }
    };
    let mut r = Response::new(text);
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
    r
}

/// Constant-time comparison of `Bearer <token>` (the scheme in any case, as RFC 7235 says), so
/// the token cannot be guessed byte by byte from response times.
fn bearer_matches(header: &str, token: &str) -> bool {
    let Some((scheme, presented)) = header.split_once(' ') else { return false };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return false;
    }
    let (a, b) = (presented.trim_start_matches(' ').as_bytes(), token.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn plain(status: StatusCode, body: &'static str) -> Response<Pieces> {
    let mut r = Response::new(Bytes::from_static(body.as_bytes()).into());
    *r.status_mut() = status;
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    r
}
