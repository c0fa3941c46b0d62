//! Accepting connections: each served by hyper within the endpoint's limits.

use super::connections::{Conn, Heard, Table};
use super::{answer, Endpoint, REQUESTS_PER_CONNECTION};
use hyper::header::{HeaderValue, CONNECTION};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

/// A non-blocking listener on `addr` with an accept queue of 4096: under a flood of
/// connections a scrape's SYN is queued, not dropped (std's `bind` listens with 128).
pub(super) fn listen(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(4096)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// The TLS acceptor, when the feature is on.
#[cfg(feature = "tls")]
pub(super) type Acceptor = tokio_rustls::TlsAcceptor;
/// Without the `tls` feature there is never an acceptor.
#[cfg(not(feature = "tls"))]
pub(super) type Acceptor = NoTls;

/// Stands for the TLS acceptor in builds without the `tls` feature.
#[cfg(not(feature = "tls"))]
#[derive(Clone)]
pub(super) enum NoTls {}

/// A connection's byte stream: plain TCP, or TLS over it.
trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Io for T {}

pub(super) async fn accept_loop(
    listener: std::net::TcpListener,
    endpoint: Arc<Endpoint>,
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
    // When every slot is taken, the connection that matters least makes room (see
    // `connections`); a scrape being answered never does.
    let open = Arc::new(Table::new());
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
        if open.len() >= endpoint.config.max_connections {
            // Full: first let every connection run once — those their clients closed leave,
            // a scrape just accepted is heard — so what is closed to make room is a connection
            // that really is silent, stalled or idle.
            tokio::task::yield_now().await;
        }
        if !open.make_room(endpoint.config.max_connections) {
            // Every connection is being answered: this one is refused (closed) at once.
            drop(stream);
            continue;
        }
        let conn = open.conn();
        let (endpoint, connections, in_flight) = (endpoint.clone(), open.clone(), in_flight.clone());
        let acceptor = acceptor.clone();
        let state = conn.clone();
        let task = tokio::spawn(async move {
            serve_connection(
                endpoint,
                Heard { inner: stream, conn: state.clone() },
                acceptor,
                in_flight,
                state,
            )
            .await;
            connections.remove(id);
        });
        open.insert(id, task.abort_handle(), conn);
    }
}

/// Serves one connection until the client closes it, a timeout ends it, or the TLS handshake
/// fails (it counts against the header timeout).
async fn serve_connection(
    endpoint: Arc<Endpoint>,
    stream: Heard<tokio::net::TcpStream>,
    acceptor: Option<Acceptor>,
    in_flight: Arc<AtomicUsize>,
    conn: Arc<Conn>,
) {
    let stream: Box<dyn Io> = match acceptor {
        None => Box::new(stream),
        #[cfg(feature = "tls")]
        Some(acceptor) => {
            match tokio::time::timeout(endpoint.config.header_timeout, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => Box::new(tls),
                _ => return,
            }
        }
        #[cfg(not(feature = "tls"))]
        Some(never) => match never {},
    };
    let config = &endpoint.config;
    let (header_timeout, max_head, lifetime) =
        (config.header_timeout, config.max_header_bytes, config.connection_timeout);
    // Requests answered on this connection: after `REQUESTS_PER_CONNECTION` the answer says
    // `Connection: close`, so a client that pipelines requests without reading the answers
    // costs a bounded amount of work (Prometheus just reconnects).
    let served = Arc::new(AtomicUsize::new(0));
    let service = hyper::service::service_fn(move |req| {
        let (endpoint, in_flight, conn) = (endpoint.clone(), in_flight.clone(), conn.clone());
        let last = served.fetch_add(1, AtomicOrdering::Relaxed) + 1 >= REQUESTS_PER_CONNECTION;
        async move {
            let mut response = answer::respond(&endpoint, &req, &in_flight, &conn);
            if last {
                response.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
            }
            Ok::<_, std::convert::Infallible>(response)
        }
    });
    // Malformed requests get hyper's 400, oversized heads 431; a client that sends nothing is
    // dropped after `header_timeout`, and any connection after `lifetime`. None of it reaches
    // the accept loop.
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .max_buf_size(max_head)
        .serve_connection(TokioIo::new(stream), service);
    let _ = tokio::time::timeout(lifetime, connection).await;
}
