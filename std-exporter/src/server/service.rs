//! The endpoint as a [`tower_service::Service`], to mount in a server of the user's own (axum,
//! hyper, any tower stack) instead of [`Builder::serve`]'s.

use super::answer;
use super::body::Pieces;
use super::{BuildError, Builder, Endpoint, Sampler};
use bytes::Bytes;
use hyper::{Request, Response};
use std::convert::Infallible;
use std::future::{ready, Ready};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

/// Every path [`Builder::serve`] answers — the explorer page at `/` with its assets and
/// `/api/v1/*`, `/metrics`, `/rules` — with the builder's settings (bearer token, explorer on or
/// off, history), as a `tower` service. The explorer's sampler runs until the last clone is
/// dropped.
///
/// Mounted under a prefix, the service sees paths with the prefix taken off (as axum's
/// `nest_service` hands them over); the page's links are relative, so it works under any
/// prefix, at a URL that ends in `/` (`/obs/`; at `/obs` the browser would resolve them against
/// `/`). With axum, nest it at `/obs/` and send `/obs` there:
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// let observability = picometrics_exporter::Builder::new().into_service();
/// let app = axum::Router::new()
///     .nest_service("/obs/", observability)
///     .route("/obs", axum::routing::get(|| async { axum::response::Redirect::permanent("/obs/") }));
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// axum::serve(listener, app).await
/// # }
/// ```
///
/// The connection limits and timeouts of [`Builder`] belong to `serve`'s own server and do not
/// apply here: the server the service is mounted in has its own.
#[derive(Clone)]
pub struct HttpService {
    endpoint: Arc<Endpoint>,
    /// Dropped with the last clone: stops the sampler.
    _sampler: Option<Arc<Mutex<Sampler>>>,
}

impl std::fmt::Debug for HttpService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpService").field("config", &self.endpoint.config).finish_non_exhaustive()
    }
}

impl Builder {
    /// This endpoint as a [`HttpService`], to mount in a router of your own.
    ///
    /// # Panics
    ///
    /// When a setting is out of range or the explorer's sampler thread cannot start
    /// ([`Builder::try_into_service`] returns the [`BuildError`] instead).
    pub fn into_service(self) -> HttpService {
        self.try_into_service().unwrap_or_else(|e| panic!("picometrics_exporter::Builder::into_service: {e}"))
    }

    /// [`Builder::into_service`], with a bad setting as an error.
    pub fn try_into_service(self) -> Result<HttpService, BuildError> {
        let (endpoint, sampler) = Endpoint::start(self)?;
        Ok(HttpService { endpoint, _sampler: sampler.map(|s| Arc::new(Mutex::new(s))) })
    }
}

impl<B> tower_service::Service<Request<B>> for HttpService {
    type Response = Response<ServiceBody>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        ready(Ok(answer::answer(&self.endpoint, &req).map(ServiceBody)))
    }
}

/// The body of an [`HttpService`] response: the rendered text, handed out in the pieces it was
/// rendered in.
pub struct ServiceBody(Pieces);

impl hyper::body::Body for ServiceBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.0.next_frame().map(|piece| Ok(hyper::body::Frame::data(piece))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_end()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.0.size_hint()
    }
}
