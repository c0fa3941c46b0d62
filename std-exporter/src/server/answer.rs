//! What each request gets: routing, authorization and the bodies of every endpoint.

use super::body::{Counted, Pieces, SharedText};
use super::config::MetricsSource;
use super::connections::Conn;
use super::{Builder, Endpoint};
use crate::explorer;
use crate::{Format, MetricsBuffer};
use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{
    HeaderValue, ACCEPT, ACCEPT_ENCODING, ALLOW, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, VARY,
    WWW_AUTHENTICATE,
};
use hyper::{Method, Request, Response, StatusCode};
use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};
use std::sync::Arc;

thread_local! {
    /// One render buffer for the server thread, reused by every scrape.
    static BUFFER: RefCell<MetricsBuffer> = RefCell::new(MetricsBuffer::new());
}

/// Answers with the body counted as in flight, or `503` at once when `max_requests` responses
/// are already being written.
pub(super) fn respond(
    endpoint: &Endpoint,
    req: &Request<Incoming>,
    in_flight: &Arc<AtomicUsize>,
    conn: &Arc<Conn>,
) -> Response<Counted> {
    let busy = in_flight.fetch_add(1, AtomicOrdering::Relaxed) >= endpoint.config.max_requests;
    let response = if busy {
        plain(StatusCode::SERVICE_UNAVAILABLE, "too many requests in flight; try again\n")
    } else {
        answer(endpoint, req)
    };
    conn.begin_response();
    response.map(|rest| Counted { rest, in_flight: in_flight.clone(), conn: conn.clone() })
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

/// The answer to `req`, whatever server it came through (the body is not read).
pub(super) fn answer<B>(endpoint: &Endpoint, req: &Request<B>) -> Response<Pieces> {
    let config = &endpoint.config;
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
        Route::Asset(text, content_type) => asset(body(Bytes::from_static(text.as_bytes())), content_type),
        Route::Overview | Route::Function => {
            let history = endpoint.history.as_ref().expect("the explorer runs when it is routed");
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
            r
        }
        Route::Rules => {
            let mut rules = String::new();
            // Writing into a `String` cannot fail.
            let _ = match &config.rules_source {
                Some(source) => crate::rules::write_rules_for_source(&mut rules, &**source, &config.rules),
                None => crate::rules::write_rules(&mut rules, &config.rules),
            };
            let mut r = Response::new(body(rules.into()));
            r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/yaml; charset=utf-8"));
            r
        }
        Route::Metrics => metrics(config, req, head),
    }
}

/// An embedded file of the explorer page, under a strict content security policy.
fn asset(body: Pieces, content_type: &'static str) -> Response<Pieces> {
    let mut r = Response::new(body);
    let headers = r.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Everything the page shows comes from devices and code it does not control: nothing but
    // its own script may run, and it may talk to this server only.
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        ),
    );
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    r
}

/// `/metrics`: the configured source's text or pieces, else this process's registry in the
/// format the scraper asks for (no body for `HEAD`).
fn metrics<B>(config: &Builder, req: &Request<B>, head: bool) -> Response<Pieces> {
    let body = |b: Bytes| Pieces::from(if head { Bytes::new() } else { b });
    let (format, text) = match &config.source {
        Some(MetricsSource::Text(render)) => {
            let mut text = String::new();
            render(&mut text);
            (Format::Prometheus, body(Bytes::from(text)))
        }
        Some(MetricsSource::Chunks(render)) => {
            let mut chunks = Vec::new();
            render(&mut chunks);
            let mut pieces = Pieces::default();
            if !head {
                chunks.into_iter().for_each(|c| pieces.push(Bytes::from_owner(SharedText(c))));
            }
            (Format::Prometheus, pieces)
        }
        None => {
            let format = Format::from_accept(req.headers().get(ACCEPT).and_then(|v| v.to_str().ok()));
            let text =
                BUFFER.with(|b| Bytes::copy_from_slice(b.borrow_mut().render_format(format).as_bytes()));
            (format, body(text))
        }
    };
    let mut text = text;
    let gzip = !head && accepts_gzip(req.headers().get(ACCEPT_ENCODING).and_then(|v| v.to_str().ok()));
    if gzip {
        text.gzip();
    }
    let mut r = Response::new(text);
    let headers = r.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
    headers.insert(VARY, HeaderValue::from_static("accept-encoding"));
    if gzip {
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    r
}

/// Whether an `Accept-Encoding` value takes gzip (`gzip` or `*`, not with `q=0`), as
/// Prometheus' scrapes always do.
fn accepts_gzip(header: Option<&str>) -> bool {
    header.unwrap_or_default().split(',').any(|coding| {
        let mut parts = coding.split(';').map(str::trim);
        let name = parts.next().unwrap_or_default();
        let refused = parts
            .any(|p| p.strip_prefix("q=").is_some_and(|q| q.trim().parse::<f32>().is_ok_and(|q| q == 0.0)));
        (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
    })
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
