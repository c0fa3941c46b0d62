//! `Builder::into_service`: every path `serve` answers, with the builder's settings, as a tower
//! service mounted in a router of the user's own (here axum, under a prefix).

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use picometrics::picometrics;
use tower_service::Service;

#[picometrics]
fn mounted_work() -> u32 {
    7
}

async fn get(app: &mut axum::Router, path: &str, token: Option<&str>) -> (StatusCode, String, String) {
    let mut request = Request::get(path);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let response = app.call(request.body(Body::empty()).unwrap()).await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = axum::body::to_bytes(response.into_body(), 1 << 24).await.unwrap();
    (status, content_type, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn every_path_is_served_under_a_prefix_with_the_builder_settings() {
    mounted_work();
    let service = picometrics_exporter::Builder::new().bearer_token("s3cret").into_service();
    let mut app = axum::Router::new().nest_service("/obs/", service.clone());
    let token = Some("s3cret");
    for (path, content_type, needle) in [
        ("/obs/", "text/html", "explorer.js"),
        ("/obs/explorer.js", "text/javascript", "api/v1/overview"),
        ("/obs/explorer.css", "text/css", "font"),
        ("/obs/metrics", "text/plain; version=0.0.4", "function=\"mounted_work\""),
        ("/obs/rules", "application/yaml", "groups:"),
        ("/obs/api/v1/overview", "application/json", "\"functions\""),
    ] {
        let (status, got_type, body) = get(&mut app, path, token).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert!(got_type.starts_with(content_type), "{path}: {got_type}");
        assert!(body.contains(needle), "{path}: {body}");
    }
    let (status, _, _) = get(&mut app, "/obs/metrics", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the bearer token applies");
    let (status, _, _) = get(&mut app, "/obs/nope", token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = get(&mut app, "/metrics", token).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nothing outside the prefix");

    // The explorer off: no page, no JSON, still /metrics.
    let quiet = picometrics_exporter::Builder::new().explorer(false).into_service();
    let mut app = axum::Router::new().nest_service("/m/", quiet);
    assert_eq!(get(&mut app, "/m/", None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(get(&mut app, "/m/api/v1/overview", None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(get(&mut app, "/m/metrics", None).await.0, StatusCode::OK);

    // A bad setting is an error from `try_into_service`.
    let bad = picometrics_exporter::Builder::new().max_requests(0).try_into_service();
    assert!(matches!(bad, Err(picometrics_exporter::BuildError::OutOfRange { setting: "max_requests", .. })));
}
