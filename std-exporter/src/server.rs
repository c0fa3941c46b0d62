//! The `/metrics` HTTP endpoint: hyper's HTTP/1 server on a single-threaded tokio runtime in a
//! thread of its own, so it works in programs that use no async runtime at all.

use crate::{Format, MetricsBuffer};
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ACCEPT, ALLOW, AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::cell::RefCell;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::{oneshot, Semaphore};

/// Serves `/metrics` on `addr` (e.g. `"127.0.0.1:9464"`) from a background thread.
///
/// Equivalent to `Builder::new().addr(addr)?.serve()`.
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
    header_timeout: Duration,
    max_header_bytes: usize,
    rules: crate::rules::RulesConfig,
}

impl Default for Builder {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 9464)),
            source: None,
            bearer_token: None,
            max_connections: 256,
            header_timeout: Duration::from_secs(10),
            max_header_bytes: 16 * 1024,
            rules: crate::rules::RulesConfig::default(),
        }
    }
}

impl Builder {
    /// Defaults: `127.0.0.1:9464` (loopback only), no token, 256 connections, 10 s to send
    /// the request head, 16 KiB of headers.
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

    /// Requires `Authorization: Bearer <token>`; other requests get 401.
    pub fn bearer_token(mut self, token: impl Into<String>) -> Self {
        self.bearer_token = Some(token.into());
        self
    }

    /// Connections served at once; further ones wait to be accepted.
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// How long a client may take to send its request head before it is disconnected.
    pub fn header_timeout(mut self, timeout: Duration) -> Self {
        self.header_timeout = timeout;
        self
    }

    /// Settings of the rules served at `/rules`.
    pub fn rules_config(mut self, config: crate::rules::RulesConfig) -> Self {
        self.rules = config;
        self
    }

    /// Serves what `render` writes (Prometheus text 0.0.4) at `/metrics` instead of this
    /// process's registry — e.g. the device bridge's store of device dumps.
    pub fn metrics_source(mut self, render: impl Fn(&mut String) + Send + Sync + 'static) -> Self {
        self.source = Some(Arc::new(render));
        self
    }

    /// Binds, then serves from a new thread.
    pub fn serve(self) -> io::Result<Server> {
        let listener = std::net::TcpListener::bind(self.addr)?;
        listener.set_nonblocking(true)?;
        let local_addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel();
        let config = Arc::new(self);
        // Built here so a failure is this call's error, not a dead thread.
        let runtime = tokio::runtime::Builder::new_current_thread().enable_io().enable_time().build()?;
        let thread = std::thread::Builder::new()
            .name("picometrics-exporter".into())
            .spawn(move || runtime.block_on(accept_loop(listener, config, stopped)))?;
        Ok(Server { local_addr, stop: Some(stop), thread: Some(thread) })
    }
}

/// Renders `/metrics` in place of the registry.
type MetricsSource = Arc<dyn Fn(&mut String) + Send + Sync>;

impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("addr", &self.addr)
            .field("bearer_token", &self.bearer_token.as_ref().map(|_| "…"))
            .field("metrics_source", &self.source.is_some())
            .field("max_connections", &self.max_connections)
            .field("header_timeout", &self.header_timeout)
            .field("max_header_bytes", &self.max_header_bytes)
            .finish_non_exhaustive()
    }
}

/// A running endpoint. Dropping it leaves the endpoint running for the life of the program;
/// [`Server::shutdown`] stops it.
#[derive(Debug)]
pub struct Server {
    local_addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// The address it listens on (with the real port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting connections and waits for the server thread to end.
    pub fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn accept_loop(
    listener: std::net::TcpListener,
    config: Arc<Builder>,
    mut stopped: oneshot::Receiver<()>,
) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("picometrics-exporter: cannot listen: {e}");
            return;
        }
    };
    let permits = Arc::new(Semaphore::new(config.max_connections));
    loop {
        let permit = tokio::select! {
            _ = &mut stopped => return,
            permit = permits.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => return,
            },
        };
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
        let config = config.clone();
        let (timeout, max_head) = (config.header_timeout, config.max_header_bytes);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let config = config.clone();
                async move { Ok::<_, std::convert::Infallible>(respond(&config, &req)) }
            });
            // Malformed requests get hyper's 400, oversized heads 431; a client that sends
            // nothing is dropped after `header_timeout`. None of it reaches the accept loop.
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(timeout)
                .max_buf_size(max_head)
                .serve_connection(TokioIo::new(stream), service)
                .await;
            drop(permit);
        });
    }
}

thread_local! {
    /// One render buffer for the server thread, reused by every scrape.
    static BUFFER: RefCell<MetricsBuffer> = RefCell::new(MetricsBuffer::new());
}

fn respond(config: &Builder, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    let path = req.uri().path();
    if path != "/metrics" && path != "/rules" {
        return plain(StatusCode::NOT_FOUND, "not found: metrics are at /metrics, alert rules at /rules\n");
    }
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
    if path == "/rules" {
        let mut rules = String::new();
        // Writing into a `String` cannot fail.
        let _ = crate::rules::write_rules(&mut rules, &config.rules);
        let mut r =
            Response::new(Full::new(if req.method() == Method::HEAD { Bytes::new() } else { rules.into() }));
        r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/yaml; charset=utf-8"));
        return r;
    }
    let (format, body) = match &config.source {
        Some(render) => {
            let mut text = String::new();
            render(&mut text);
            (Format::Text, Bytes::from(text))
        }
        None => {
            let format = Format::from_accept(req.headers().get(ACCEPT).and_then(|v| v.to_str().ok()));
            (format, BUFFER.with(|b| Bytes::copy_from_slice(b.borrow_mut().render_format(format).as_bytes())))
        }
    };
    let mut r = Response::new(Full::new(if req.method() == Method::HEAD { Bytes::new() } else { body }));
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
    r
}

/// Constant-time comparison of `Bearer <token>`, so the token cannot be guessed byte by byte
/// from response times.
fn bearer_matches(header: &str, token: &str) -> bool {
    let Some(presented) = header.strip_prefix("Bearer ") else { return false };
    let (a, b) = (presented.as_bytes(), token.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn plain(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *r.status_mut() = status;
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    r
}
