//! The `/metrics` endpoint over real TCP: formats, status codes, bad input, and load.

#[path = "../../core/tests/common/mod.rs"]
mod common;

use picometrics::picometrics;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

#[picometrics(track_concurrency)]
fn busy(i: u64) -> Result<u64, u64> {
    if i % 7 == 0 {
        Err(i)
    } else {
        Ok(i)
    }
}

/// Sends raw bytes, returns (status code, head, body). The request should ask to close.
fn raw(addr: SocketAddr, request: &[u8]) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(request).unwrap();
    let mut response = Vec::new();
    s.read_to_end(&mut response).unwrap();
    let text = String::from_utf8(response).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, head.to_owned(), body.to_owned())
}

fn get(addr: SocketAddr, path: &str, extra: &str) -> (u16, String, String) {
    raw(addr, format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{extra}\r\n").as_bytes())
}

fn server() -> picometrics_exporter::Server {
    picometrics_exporter::Builder::new()
        .addr("127.0.0.1:0")
        .unwrap()
        .header_timeout(Duration::from_secs(2))
        .serve()
        .unwrap()
}

#[test]
fn serves_text_and_openmetrics_by_accept_header() {
    let s = server();
    busy(1).unwrap();
    let (status, head, body) = get(s.local_addr(), "/metrics", "");
    assert_eq!(status, 200);
    assert!(head.to_lowercase().contains("content-type: text/plain; version=0.0.4"), "{head}");
    assert!(body.contains("# TYPE function_calls_total counter"));
    assert!(!body.contains("# EOF"));
    common::check_histograms(&common::parse(&body));

    let prometheus_accept =
        "Accept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5\r\n";
    let (status, head, body) = get(s.local_addr(), "/metrics", prometheus_accept);
    assert_eq!(status, 200);
    assert!(
        head.to_lowercase().contains("content-type: application/openmetrics-text; version=1.0.0"),
        "{head}"
    );
    assert!(body.contains("# TYPE function_calls counter"));
    assert!(body.ends_with("# EOF\n"));

    let (status, head, body) =
        raw(s.local_addr(), b"HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_eq!(status, 200, "{head}");
    assert!(body.is_empty());
    s.shutdown();
}

#[test]
fn wrong_paths_methods_and_malformed_requests_get_4xx_and_the_server_lives_on() {
    let s = server();
    let a = s.local_addr();
    assert_eq!(get(a, "/", "").0, 404);
    assert_eq!(get(a, "/metrics/extra", "").0, 404);
    let (status, head, _) =
        raw(a, b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    assert_eq!(status, 405);
    assert!(head.to_lowercase().contains("allow: get, head"));
    assert_eq!(raw(a, b"GARBAGE\r\n\r\n").0, 400);
    assert_eq!(raw(a, b"GET /metrics HTTP/1.1\r\nno colon here\r\n\r\n").0, 400);
    assert_eq!(raw(a, b"\x00\x01\x02\xff\r\n\r\n").0, 400);
    // 64 KiB of headers: over the 16 KiB limit.
    let big = format!("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n", "a".repeat(64 * 1024));
    let (status, _, _) = raw(a, big.as_bytes());
    assert!(status == 431 || status == 400, "oversize head got {status}");
    // Still serving.
    assert_eq!(get(a, "/metrics", "").0, 200);
    s.shutdown();
}

#[test]
fn a_silent_client_neither_blocks_others_nor_stays_forever() {
    let s = server();
    let mut silent = TcpStream::connect(s.local_addr()).unwrap();
    // Others are served meanwhile.
    assert_eq!(get(s.local_addr(), "/metrics", "").0, 200);
    // After the 2 s header timeout the silent connection is closed by the server.
    silent.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut buf = Vec::new();
    let closed = silent.read_to_end(&mut buf);
    assert!(closed.is_ok(), "connection not closed: {closed:?}");
    s.shutdown();
}

#[test]
fn bearer_token() {
    let s = picometrics_exporter::Builder::new()
        .addr("127.0.0.1:0")
        .unwrap()
        .bearer_token("s3cret")
        .serve()
        .unwrap();
    let a = s.local_addr();
    let (status, head, _) = get(a, "/metrics", "");
    assert_eq!(status, 401);
    assert!(head.to_lowercase().contains("www-authenticate: bearer"));
    assert_eq!(get(a, "/metrics", "Authorization: Bearer wrong\r\n").0, 401);
    assert_eq!(get(a, "/metrics", "Authorization: Basic czNjcmV0\r\n").0, 401);
    assert_eq!(get(a, "/metrics", "Authorization: Bearer s3cret\r\n").0, 200);
    s.shutdown();
}

/// Resident memory of this process in KiB (Linux).
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn two_hundred_concurrent_scrapes_while_writers_run() {
    let s = server();
    let a = s.local_addr();
    // Warm up, then measure what 200 concurrent scrapes add.
    assert_eq!(get(a, "/metrics", "").0, 200);
    let before = rss_kib();
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    let _ = busy(i);
                    i += 1;
                }
            });
        }
        let scrapes: Vec<_> = (0..200).map(|_| scope.spawn(move || get(a, "/metrics", ""))).collect();
        for scrape in scrapes {
            let (status, _, body) = scrape.join().unwrap();
            assert_eq!(status, 200);
            let samples = common::parse(&body);
            assert!(common::check_histograms(&samples) >= 1);
            assert!(body.contains("# TYPE build_info gauge"), "truncated body");
        }
        stop.store(true, Ordering::Relaxed);
    });
    // 200 client threads' stacks and buffers included; a leak per scrape would show here.
    let grown = rss_kib().saturating_sub(before);
    assert!(grown < 64 * 1024, "RSS grew by {grown} KiB");
    s.shutdown();
}
