//! HTTPS (feature `tls`): a certificate made here with rcgen, the endpoint serving with it, a
//! rustls client that trusts only that certificate scraping `/metrics`; bad files are a clear
//! error from `serve`. `cargo test -p picometrics-exporter --features tls --test tls`.
#![cfg(feature = "tls")]

use std::io::{Read, Write};
use std::sync::Arc;
use tokio_rustls::rustls;

#[picometrics::picometrics]
fn secured() {}

/// A self-signed certificate for `localhost` and `127.0.0.1`, written as PEM files in a fresh
/// folder; returns (folder, certificate PEM).
fn certificate(name: &str) -> (std::path::PathBuf, String) {
    let dir = std::env::temp_dir().join(format!("picometrics-tls-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cert = rcgen::generate_simple_self_signed(["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    std::fs::write(dir.join("cert.pem"), cert.cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), cert.key_pair.serialize_pem()).unwrap();
    (dir, cert.cert.pem())
}

/// GETs `path` over TLS, trusting only `ca_pem`; returns the whole response.
fn https_get(addr: std::net::SocketAddr, ca_pem: &str, path: &str, extra: &str) -> String {
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(rustls_pki_types::CertificateDer::from_pem_slice(ca_pem.as_bytes()).unwrap()).unwrap();
    let config =
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let tcp = std::net::TcpStream::connect(addr).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    tls.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{extra}\r\n").as_bytes(),
    )
    .unwrap();
    let mut response = String::new();
    let _ = tls.read_to_string(&mut response);
    response
}

#[test]
fn scrapes_over_https_with_a_certificate_from_files() {
    secured();
    let (dir, ca) = certificate("ok");
    let s = picometrics_exporter::Builder::new()
        .addr("127.0.0.1:0")
        .unwrap()
        .tls(dir.join("cert.pem"), dir.join("key.pem"))
        .bearer_token("t0ken")
        .serve()
        .unwrap();
    let response = https_get(s.local_addr(), &ca, "/metrics", "Authorization: Bearer t0ken\r\n");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains(r#"function_calls_total{function="secured""#), "{response}");
    let response = https_get(s.local_addr(), &ca, "/metrics", "");
    assert!(response.starts_with("HTTP/1.1 401"), "{response}");
    // Plain HTTP on the TLS port gets nothing served.
    let mut plain = std::net::TcpStream::connect(s.local_addr()).unwrap();
    plain.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
    plain.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut answer = String::new();
    let _ = plain.read_to_string(&mut answer);
    assert!(!answer.contains("function_calls_total"), "{answer}");
    s.shutdown();
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn unusable_files_are_a_clear_error_from_serve() {
    let (dir, _) = certificate("bad");
    std::fs::write(dir.join("empty.pem"), "").unwrap();
    for (cert, key, names) in [
        ("missing.pem", "key.pem", "missing.pem"),
        ("empty.pem", "key.pem", "empty.pem"),
        ("cert.pem", "cert.pem", "cert.pem"),
    ] {
        let e = picometrics_exporter::Builder::new()
            .addr("127.0.0.1:0")
            .unwrap()
            .tls(dir.join(cert), dir.join(key))
            .serve()
            .expect_err(cert);
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput, "{e}");
        assert!(e.to_string().contains(names), "{e}");
        assert!(
            matches!(&e, picometrics_exporter::BuildError::Tls { path, .. } if path.ends_with(names)),
            "{e:?}"
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}
