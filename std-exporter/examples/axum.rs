//! Mounting picometrics in an axum service instead of running `serve`'s own server: the whole
//! endpoint — the explorer page, its JSON, `/metrics` and `/rules` — under `/obs/`, through
//! `Builder::into_service` (a `tower::Service`, so any tower stack or hyper takes it too).
//!
//! `cargo run -p picometrics-exporter --example axum`, then open `http://127.0.0.1:3000/obs/`
//! or `curl -H 'Accept: application/openmetrics-text' http://127.0.0.1:3000/obs/metrics`.

use axum::response::Redirect;
use axum::routing::get;
use picometrics::picometrics;

#[picometrics]
async fn hello() -> &'static str {
    "hello"
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    // The settings are the builder's (bearer token, explorer on or off, history); a bad one
    // panics here (`try_into_service` returns it instead).
    let observability = picometrics_exporter::Builder::new().into_service();
    let app = axum::Router::new()
        .route("/", get(hello))
        // The page's links are relative: nest at `/obs/`, and send `/obs` there.
        .nest_service("/obs/", observability)
        .route("/obs", get(|| async { Redirect::permanent("/obs/") }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("explorer: http://{}/obs/", listener.local_addr()?);
    axum::serve(listener, app).await
}
