//! Mounting `/metrics` in an axum service instead of running `serve`'s own server.
//!
//! `cargo run -p picometrics-exporter --example axum`, then
//! `curl -H 'Accept: application/openmetrics-text' http://127.0.0.1:3000/metrics`.

use axum::http::{header, HeaderMap};
use axum::response::IntoResponse;
use axum::routing::get;
use picometrics::picometrics;
use picometrics_exporter::MetricsBuffer;
use std::sync::{Arc, Mutex};

#[picometrics]
async fn hello() -> &'static str {
    "hello"
}

/// Renders into one reused buffer; the body is copied out for axum.
async fn metrics(
    buffer: axum::extract::State<Arc<Mutex<MetricsBuffer>>>,
    headers: HeaderMap,
) -> impl IntoResponse {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let mut buffer = buffer.lock().expect("not poisoned");
    let (body, content_type) = buffer.render(accept);
    ([(header::CONTENT_TYPE, content_type)], body.to_owned())
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let app = axum::Router::new()
        .route("/", get(hello))
        .route("/metrics", get(metrics))
        .with_state(Arc::new(Mutex::new(MetricsBuffer::new())));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("http://{}/metrics", listener.local_addr()?);
    axum::serve(listener, app).await
}
