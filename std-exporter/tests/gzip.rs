//! `/metrics` answers gzip when the scraper accepts it (Prometheus always does): compressed
//! frame by frame as the client reads, the same text once inflated, chunked (its length is not
//! known ahead), with `Vary: accept-encoding`; identity otherwise, and for `HEAD`. Through
//! `serve`'s server and through `Builder::into_service` alike.

use flate2::read::GzDecoder;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

/// One request; the head (lower case) and the body with any chunked encoding taken off.
fn get(addr: SocketAddr, method: &str, accept_encoding: Option<&str>) -> (String, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let extra = accept_encoding.map(|e| format!("Accept-Encoding: {e}\r\n")).unwrap_or_default();
    write!(s, "{method} /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{extra}\r\n").unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).to_lowercase();
    let mut rest = &raw[split + 4..];
    if !head.contains("transfer-encoding: chunked") {
        return (head, rest.to_vec());
    }
    let mut body = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n").unwrap();
        let size = usize::from_str_radix(std::str::from_utf8(&rest[..line_end]).unwrap().trim(), 16).unwrap();
        rest = &rest[line_end + 2..];
        if size == 0 {
            return (head, body);
        }
        body.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}

fn inflate(bytes: &[u8]) -> String {
    let mut text = String::new();
    GzDecoder::new(bytes).read_to_string(&mut text).expect("a gzip stream");
    text
}

#[test]
fn metrics_are_gzipped_when_the_scraper_accepts_it() {
    // A text of many frames (about 3 MB, as a bridge with a few dozen devices serves), in
    // shared pieces like the bridge's.
    let line = "fleet_reading_total{device=\"dev-0001\",sensor=\"t\"} 123456\n";
    let pieces: Vec<Arc<str>> =
        (0..50).map(|i| Arc::from(format!("# piece {i}\n{}", line.repeat(1_000)))).collect();
    let expected: String = pieces.iter().map(|p| &**p).collect();
    let server = picometrics_exporter::Builder::new()
        .addr("127.0.0.1:0")
        .unwrap()
        .metrics_chunks(move |out| out.extend(pieces.iter().cloned()))
        .serve()
        .unwrap();
    let addr = server.local_addr();

    let (head, body) = get(addr, "GET", Some("gzip"));
    assert!(head.contains("content-encoding: gzip") && head.contains("vary: accept-encoding"), "{head}");
    assert!(head.contains("transfer-encoding: chunked") && !head.contains("content-length"), "{head}");
    assert_eq!(inflate(&body), expected, "the same text once inflated");
    assert!(body.len() * 20 < expected.len(), "{} bytes for {}", body.len(), expected.len());

    // As Prometheus asks (client_golang's transport), and with qualities.
    for accepted in ["gzip, deflate", "deflate;q=1, gzip;q=0.5", "*"] {
        let (head, body) = get(addr, "GET", Some(accepted));
        assert!(head.contains("content-encoding: gzip"), "{accepted}: {head}");
        assert_eq!(inflate(&body), expected, "{accepted}");
    }
    // Not asked for, refused, or HEAD: identity, with its length.
    for refused in [None, Some("identity"), Some("gzip;q=0"), Some("br")] {
        let (head, body) = get(addr, "GET", refused);
        assert!(!head.contains("content-encoding"), "{refused:?}: {head}");
        assert!(head.contains(&format!("content-length: {}", expected.len())), "{head}");
        assert_eq!(body, expected.as_bytes());
    }
    let (head, body) = get(addr, "HEAD", Some("gzip"));
    assert!(!head.contains("content-encoding") && body.is_empty(), "{head}");
    server.shutdown();
}

#[picometrics::picometrics]
fn compressed_work() {}

#[tokio::test]
async fn the_mounted_service_gzips_too() {
    use tower_service::Service;
    compressed_work();
    let mut service = picometrics_exporter::Builder::new().explorer(false).into_service();
    let request = axum::http::Request::get("/metrics")
        .header("accept-encoding", "gzip")
        .body(axum::body::Body::empty())
        .unwrap();
    let response = service.call(request).await.unwrap();
    assert_eq!(response.headers()["content-encoding"], "gzip");
    let body = axum::body::to_bytes(axum::body::Body::new(response.into_body()), 1 << 24).await.unwrap();
    assert!(inflate(&body).contains("function=\"compressed_work\""));
}
