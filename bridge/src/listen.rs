//! Part of the `picometrics-bridge` binary: ingest that devices connect to, many at once —
//! `--accept` (a TCP listener: each connection a stream of frames from one or more devices) and
//! `--accept-http` (`POST /api/v1/dumps`, each body one or more whole dumps, answered 2xx only
//! once they are stored). Each connection and each request is a source of its own, so dumps in
//! progress never mix.

use crate::log::lifecycle;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, Response, StatusCode};
use picometrics_bridge::{Committed, DeviceTokens, Devices, FrameReader, SourceId};
use std::io::Read;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tokio_rustls::rustls::{ServerConfig, ServerConnection, StreamOwned};

/// Connections (TCP devices) or HTTP connections served at once; beyond, a new one is closed.
const MAX_CONNECTIONS: usize = 1024;

/// The most of a refused body read (and dropped) before its answer; see [`drain`].
const DRAIN_BYTES: usize = 64 << 20;
/// The longest a refused body is read before its answer; see [`drain`].
const DRAIN_TIME: Duration = Duration::from_secs(2);

/// Listens for devices on `addr`: a thread per connection reads its frames (a connection
/// silent for `read_timeout` is closed). With `tls`, each connection is TLS; when that config
/// verifies client certificates, a connection speaks only for the devices its certificate
/// names. Returns the bound address.
pub fn accept_tcp(
    addr: &str,
    devices: Arc<Devices>,
    read_timeout: Duration,
    tls: Option<Arc<ServerConfig>>,
) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr)?;
    let local = listener.local_addr()?;
    let open = Arc::new(AtomicUsize::new(0));
    std::thread::Builder::new().name("accept".into()).spawn(move || {
        for stream in listener.incoming().flatten() {
            if open.fetch_add(1, Ordering::Relaxed) >= MAX_CONNECTIONS {
                open.fetch_sub(1, Ordering::Relaxed);
                continue;
            }
            let (devices, open, tls) = (devices.clone(), open.clone(), tls.clone());
            let spawned = std::thread::Builder::new().name("device".into()).spawn(move || {
                let peer = stream.peer_addr().map_or_else(|_| "?".to_owned(), |a| a.to_string());
                let _ = stream.set_read_timeout(Some(read_timeout));
                match tls {
                    None => read_connection(stream, devices.new_source(), &devices, &peer),
                    Some(config) => read_tls_connection(stream, config, &devices, &peer),
                }
                open.fetch_sub(1, Ordering::Relaxed);
            });
            if spawned.is_err() {
                // No thread to read it: the stream was dropped with the closure.
                lifecycle(format_args!("a device connection was closed: no thread to read it"));
            }
        }
    })?;
    Ok(local)
}

/// A TLS connection: the handshake, then its frames, as the devices its client certificate
/// names (any device without client certificates).
fn read_tls_connection(
    stream: std::net::TcpStream,
    config: Arc<ServerConfig>,
    devices: &Devices,
    peer: &str,
) {
    let Ok(connection) = ServerConnection::new(config) else { return };
    let mut tls = StreamOwned::new(connection, stream);
    while tls.conn.is_handshaking() {
        if let Err(e) = tls.conn.complete_io(&mut tls.sock) {
            lifecycle(format_args!("a TLS handshake from {peer} failed: {e}"));
            return;
        }
    }
    let source = match tls.conn.peer_certificates().and_then(<[_]>::first) {
        Some(cert) => {
            let names = crate::tls::device_names(cert);
            if names.is_empty() {
                lifecycle(format_args!("{peer}'s client certificate names no device; closed"));
                return;
            }
            devices.new_source_for(names)
        }
        None => devices.new_source(),
    };
    read_connection(tls, source, devices, peer);
}

/// One device connection's frames, until it closes or goes silent.
fn read_connection(mut stream: impl Read, source: SourceId, devices: &Devices, peer: &str) {
    let mut reader = FrameReader::new();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => devices.feed_from(source, &mut reader, &buf[..n], |outcome| {
                if let Err(skipped) = outcome {
                    crate::log_skipped(&skipped, peer);
                }
            }),
        }
    }
    for skipped in devices.closed(source) {
        crate::log_skipped(&skipped, peer);
    }
}

/// What `--accept-http` checks: the device tokens (re-read when their file changes), the
/// largest body, and requests per second over all clients.
pub struct HttpIngest {
    pub devices: Arc<Devices>,
    pub tokens: Option<Arc<RwLock<DeviceTokens>>>,
    pub max_body: usize,
    pub per_second: u32,
}

/// A token bucket: `per_second` requests a second, bursts of as many.
struct Rate {
    tokens: f64,
    at: Instant,
}

/// Serves `POST /api/v1/dumps` on `addr` from a thread of its own. Returns the bound address.
/// With `tls`, HTTPS (devices authenticate with their tokens).
pub fn accept_http(
    addr: &str,
    ingest: HttpIngest,
    tls: Option<Arc<ServerConfig>>,
) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    let local = listener.local_addr()?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let ingest = Arc::new(ingest);
    let rate = Arc::new(Mutex::new(Rate { tokens: f64::from(ingest.per_second), at: Instant::now() }));
    std::thread::Builder::new().name("accept-http".into()).spawn(move || {
        runtime.block_on(async move {
            let Ok(listener) = tokio::net::TcpListener::from_std(listener) else { return };
            let open = Arc::new(AtomicUsize::new(0));
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                if open.fetch_add(1, Ordering::Relaxed) >= MAX_CONNECTIONS {
                    open.fetch_sub(1, Ordering::Relaxed);
                    continue;
                }
                let (ingest, rate, open) = (ingest.clone(), rate.clone(), open.clone());
                let acceptor = tls.clone().map(tokio_rustls::TlsAcceptor::from);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let (ingest, rate) = (ingest.clone(), rate.clone());
                        async move { Ok::<_, std::convert::Infallible>(answer(&ingest, &rate, req).await) }
                    });
                    let http = hyper::server::conn::http1::Builder::new()
                        .timer(hyper_util::rt::TokioTimer::new())
                        .header_read_timeout(Duration::from_secs(10))
                        .clone();
                    // The whole connection, handshake included, within 60 s.
                    let _ = tokio::time::timeout(Duration::from_secs(60), async move {
                        match acceptor {
                            None => {
                                let _ = http
                                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                                    .await;
                            }
                            Some(acceptor) => {
                                let Ok(Ok(stream)) =
                                    tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream))
                                        .await
                                else {
                                    return;
                                };
                                let _ = http
                                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                                    .await;
                            }
                        }
                    })
                    .await;
                    open.fetch_sub(1, Ordering::Relaxed);
                });
            }
        })
    })?;
    Ok(local)
}

fn reply(status: StatusCode, text: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(text)));
    *r.status_mut() = status;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// One request: the route, the rate, the token, the body's size, then the dumps themselves.
async fn answer(
    ingest: &HttpIngest,
    rate: &Mutex<Rate>,
    req: Request<hyper::body::Incoming>,
) -> Response<Full<Bytes>> {
    if req.uri().path() != "/api/v1/dumps" {
        return reply(StatusCode::NOT_FOUND, "not found: devices POST their dumps to /api/v1/dumps\n".into());
    }
    if req.method() != Method::POST {
        let mut r = reply(StatusCode::METHOD_NOT_ALLOWED, "only POST\n".into());
        r.headers_mut().insert(hyper::header::ALLOW, hyper::header::HeaderValue::from_static("POST"));
        return r;
    }
    if !take_token(rate, ingest.per_second) {
        ingest.devices.count_refused("rate_limited");
        let mut r = reply(StatusCode::TOO_MANY_REQUESTS, "too many dumps a second; try again\n".into());
        r.headers_mut().insert(hyper::header::RETRY_AFTER, hyper::header::HeaderValue::from_static("1"));
        return r;
    }
    let speaks_for = match &ingest.tokens {
        None => None,
        Some(tokens) => {
            let presented = req
                .headers()
                .get(hyper::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")));
            let device = presented.and_then(|t| tokens.read().ok()?.device_of(t.trim()).map(str::to_owned));
            match device {
                Some(device) => Some(device),
                None => {
                    ingest.devices.count_refused("unauthorized");
                    let mut r = reply(
                        StatusCode::UNAUTHORIZED,
                        "a device token is required (Authorization: Bearer TOKEN)\n".into(),
                    );
                    r.headers_mut().insert(
                        hyper::header::WWW_AUTHENTICATE,
                        hyper::header::HeaderValue::from_static("Bearer"),
                    );
                    return r;
                }
            }
        }
    };
    let declared =
        req.headers().get(hyper::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let expects_continue = req
        .headers()
        .get(hyper::header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    let too_large = || {
        ingest.devices.count_refused("body_too_large");
        let mut r =
            reply(StatusCode::PAYLOAD_TOO_LARGE, format!("a body is at most {} bytes\n", ingest.max_body));
        r.headers_mut().insert(hyper::header::CONNECTION, hyper::header::HeaderValue::from_static("close"));
        r
    };
    let mut body = req.into_body();
    if declared.is_some_and(|n| n > ingest.max_body as u64) {
        // Refused on its header: a client waiting for `100 Continue` never sends the body (it
        // is not polled, so none is asked for); one that sends it anyway is drained.
        if !expects_continue {
            drain(&mut body).await;
        }
        return too_large();
    }
    let mut bytes = Vec::new();
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return reply(StatusCode::BAD_REQUEST, "the body could not be read\n".into());
        };
        let Ok(data) = frame.into_data() else { continue };
        if bytes.len() + data.len() > ingest.max_body {
            drain(&mut body).await;
            return too_large();
        }
        bytes.extend_from_slice(&data);
    }
    let body = bytes;
    match ingest.devices.post_dumps(&body, speaks_for.as_deref()) {
        Ok(stored) => {
            let names: Vec<&str> = stored.iter().map(committed_device).collect();
            reply(StatusCode::OK, format!("stored {} dump(s): {}\n", stored.len(), names.join(", ")))
        }
        Err(refusal) => {
            let status = StatusCode::from_u16(refusal.status).unwrap_or(StatusCode::BAD_REQUEST);
            reply(status, format!("{}\n", refusal.reason))
        }
    }
}

/// Reads and drops the rest of a refused body — at most [`DRAIN_BYTES`] for at most
/// [`DRAIN_TIME`] — so that a client still sending reads the answer instead of a reset (the
/// lingering close of nginx and Apache). Nothing is kept; beyond either bound the connection
/// closes with the answer and the client may see a reset.
async fn drain(body: &mut hyper::body::Incoming) {
    let mut left = DRAIN_BYTES;
    let _ = tokio::time::timeout(DRAIN_TIME, async {
        while let Some(Ok(frame)) = body.frame().await {
            let n = frame.data_ref().map_or(0, Bytes::len);
            left = left.saturating_sub(n);
            if left == 0 {
                break;
            }
        }
    })
    .await;
}

fn committed_device(c: &Committed) -> &str {
    match c {
        Committed::New { device } | Committed::Updated { device } | Committed::Restarted { device, .. } => {
            device
        }
    }
}

fn take_token(rate: &Mutex<Rate>, per_second: u32) -> bool {
    let mut rate = rate.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let now = Instant::now();
    let refill = now.duration_since(rate.at).as_secs_f64() * f64::from(per_second);
    rate.tokens = (rate.tokens + refill).min(f64::from(per_second.max(1)));
    rate.at = now;
    if rate.tokens >= 1.0 {
        rate.tokens -= 1.0;
        true
    } else {
        false
    }
}

/// Reads the token file, then re-reads it whenever it changes (checked every second) or the
/// bridge gets SIGHUP, without dropping devices; a file that no longer parses keeps the tokens
/// before it, and says why.
pub fn watch_tokens(path: std::path::PathBuf) -> Result<Arc<RwLock<DeviceTokens>>, String> {
    let read = |path: &std::path::Path| -> Result<DeviceTokens, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        DeviceTokens::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    };
    let tokens = Arc::new(RwLock::new(read(&path)?));
    let watched = tokens.clone();
    let hangup = Arc::new(std::sync::atomic::AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGHUP, hangup.clone())
        .map_err(|e| format!("cannot take SIGHUP: {e}"))?;
    let modified = |path: &std::path::Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let mut last = modified(&path);
    std::thread::Builder::new()
        .name("device-tokens".into())
        .spawn(move || loop {
            // A change or a SIGHUP is seen within a second.
            std::thread::sleep(Duration::from_secs(1));
            let now = modified(&path);
            let asked = hangup.swap(false, Ordering::Relaxed);
            if now == last && !asked {
                continue;
            }
            last = now;
            match read(&path) {
                Ok(fresh) => {
                    let why = if asked { "SIGHUP" } else { "changed" };
                    lifecycle(format_args!("device tokens re-read ({why}): {} token(s)", fresh.len()));
                    if let Ok(mut tokens) = watched.write() {
                        *tokens = fresh;
                    }
                }
                Err(e) => lifecycle(format_args!("device tokens not re-read: {e}; the previous ones stay")),
            }
        })
        .map_err(|e| e.to_string())?;
    Ok(tokens)
}
