//! Devices over TLS: `--accept` with `--tls-cert/--tls-key` and `--accept-client-ca`, where a
//! device's client certificate (made here with rcgen, signed by a fleet CA) names the devices
//! its connection speaks for; `--accept-http` over HTTPS; and the token file re-read on SIGHUP.
//! A dump naming a device the certificate does not is refused and counted, the connection's
//! own dumps after it still arrive; a connection without a certificate, or without TLS, gets
//! nothing in.

use picometrics::frame::StreamId;
use picometrics_integration_tests::bridge::Bridge;
use picometrics_test_support::text;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use std::io::Write;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn dump(device: &str, seq: u32) -> Vec<u8> {
    let n = u64::from(seq);
    picometrics_integration_tests::dumps::dump(
        device,
        seq,
        ("fleet", "poll"),
        (n * 10, n),
        "1.0.0",
        Some(StreamId::of(device)),
    )
    .concat()
}

/// A device's TLS connection to `addr`, trusting `ca`, with `client` (certificate and key) if
/// given.
fn connect(
    addr: &str,
    ca: &CertificateDer<'static>,
    client: Option<(CertificateDer<'static>, PrivateKeyDer<'static>)>,
) -> rustls::StreamOwned<rustls::ClientConnection, std::net::TcpStream> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let config = match client {
        Some((cert, key)) => builder.with_client_auth_cert(vec![cert], key).unwrap(),
        None => builder.with_no_client_auth(),
    };
    let connection =
        rustls::ClientConnection::new(Arc::new(config), ServerName::try_from("localhost").unwrap()).unwrap();
    let socket = std::net::TcpStream::connect(addr).unwrap();
    socket.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    rustls::StreamOwned::new(connection, socket)
}

/// The bridge's `/metrics` (HTTPS, as everything it serves with --tls-cert).
struct Metrics {
    agent: ureq::Agent,
    url: String,
}

impl Metrics {
    fn samples(&self) -> Vec<text::Sample> {
        text::parse(&self.agent.get(&self.url).call().unwrap().body_mut().read_to_string().unwrap())
    }
}

fn calls(m: &Metrics, device: &str) -> Option<f64> {
    let samples = m.samples();
    text::all(&samples, "function_calls_total", &[("device", device), ("result", "ok")])
        .first()
        .map(|s| s.value)
}

fn skipped(m: &Metrics, reason: &str) -> f64 {
    let samples = m.samples();
    text::all(&samples, "picometrics_bridge_frames_skipped_total", &[("reason", reason)])
        .first()
        .map_or(0.0, |s| s.value)
}

fn wait_until(what: &str, bridge: &Bridge, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "{what}: {:?}", bridge.log.lock().unwrap());
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn client_certificates_name_the_devices_a_connection_speaks_for() {
    let dir = std::env::temp_dir().join(format!("picometrics-tls-ingest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // The fleet's CA, the bridge's certificate, and two devices' certificates.
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, "fleet CA");
    let ca_key = KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&server_key, &ca, &ca_key)
        .unwrap();
    let device_cert = |cn: &str, dns: &[&str]| {
        let mut p = CertificateParams::new(dns.iter().map(|d| (*d).to_owned()).collect::<Vec<_>>()).unwrap();
        p.distinguished_name.push(DnType::CommonName, cn);
        let key = KeyPair::generate().unwrap();
        let cert = p.signed_by(&key, &ca, &ca_key).unwrap();
        (cert.der().clone(), PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())))
    };
    let (ca_pem, cert_pem, key_pem) = (dir.join("ca.pem"), dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&ca_pem, ca.pem()).unwrap();
    std::fs::write(&cert_pem, server.pem()).unwrap();
    std::fs::write(&key_pem, server_key.serialize_pem()).unwrap();
    let tokens = dir.join("tokens");
    std::fs::write(&tokens, "dev-h token-h\n").unwrap();

    let bridge = Bridge::start(
        &[
            "--accept",
            "127.0.0.1:0",
            "--accept-http",
            "127.0.0.1:0",
            "--device-tokens",
            tokens.to_str().unwrap(),
            "--tls-cert",
            cert_pem.to_str().unwrap(),
            "--tls-key",
            key_pem.to_str().unwrap(),
            "--accept-client-ca",
            ca_pem.to_str().unwrap(),
        ],
        Stdio::null(),
    );
    let tcp = bridge.logged_addr("accepting frames on tcp://");
    let https = bridge.logged_addr("accepting dumps at https://");
    assert!(bridge.logged("client certificate names"), "{:?}", bridge.log.lock().unwrap());
    let ca_der = ca.der().clone();
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::Specific(Arc::new(vec![ureq::tls::Certificate::from_der(
            ca_der.as_ref(),
        )
        .to_owned()])))
        .build();
    let agent: ureq::Agent =
        ureq::Agent::config_builder().tls_config(tls).http_status_as_error(false).build().into();
    let port = |addr: &str| addr.rsplit(':').next().unwrap().to_owned();
    let m =
        Metrics { agent: agent.clone(), url: format!("https://localhost:{}/metrics", port(&bridge.addr)) };

    // A certificate naming dev-a (common name) and dev-b (DNS name): both arrive on one
    // connection; a dump of dev-c on it is refused, and dev-a's next dump still arrives.
    let mut s = connect(&tcp, &ca_der, Some(device_cert("dev-a", &["dev-b"])));
    for wire in [dump("dev-a", 1), dump("dev-b", 1), dump("dev-c", 1), dump("dev-a", 2)] {
        s.write_all(&wire).unwrap();
    }
    s.flush().unwrap();
    wait_until("dev-a's and dev-b's dumps", &bridge, || {
        calls(&m, "dev-a") == Some(20.0) && calls(&m, "dev-b") == Some(10.0)
    });
    assert_eq!(calls(&m, "dev-c"), None, "dev-c's dump was refused");
    assert_eq!(skipped(&m, "wrong_device"), 1.0);
    assert_eq!(skipped(&m, "outside_dump"), 0.0, "the refused dump's frames are dropped silently");
    assert!(bridge.logged("the connection speaks for"), "{:?}", bridge.log.lock().unwrap());

    // No client certificate: the handshake fails and nothing gets in.
    let mut anonymous = connect(&tcp, &ca_der, None);
    let _ = anonymous.write_all(&dump("dev-x", 1)).and_then(|()| anonymous.flush());
    let mut buf = [0u8; 16];
    let _ = std::io::Read::read(&mut anonymous, &mut buf);
    // Plain TCP to the TLS listener: nothing gets in either.
    let mut plain = std::net::TcpStream::connect(&tcp).unwrap();
    plain.write_all(&dump("dev-y", 1)).unwrap();
    drop(plain);
    wait_until("the failed handshakes logged", &bridge, || {
        bridge.log.lock().unwrap().iter().filter(|l| l.contains("TLS handshake from")).count() >= 2
    });
    assert_eq!((calls(&m, "dev-x"), calls(&m, "dev-y")), (None, None));

    // HTTPS dumps, with the device's token; a new token after SIGHUP (the file's time kept,
    // so only the signal can make the bridge read it).
    let url = format!("https://localhost:{}/api/v1/dumps", port(&https));
    let post = |device: &str, token: &str| {
        agent
            .post(&url)
            .header("authorization", &format!("Bearer {token}"))
            .send(&dump(device, 1)[..])
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(post("dev-h", "token-h"), 200);
    assert_eq!(calls(&m, "dev-h"), Some(10.0));
    assert_eq!(post("dev-i", "token-i"), 401);
    let modified = std::fs::metadata(&tokens).unwrap().modified().unwrap();
    std::fs::write(&tokens, "dev-h token-h\ndev-i token-i\n").unwrap();
    std::fs::File::options().write(true).open(&tokens).unwrap().set_modified(modified).unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(post("dev-i", "token-i"), 401, "an unchanged time: not re-read without the signal");
    let hup = std::process::Command::new("kill").args(["-HUP", &bridge.pid().to_string()]).status().unwrap();
    assert!(hup.success());
    wait_until("the tokens re-read on SIGHUP", &bridge, || bridge.logged("device tokens re-read (SIGHUP)"));
    assert_eq!(post("dev-i", "token-i"), 200);
    assert_eq!(post("dev-h", "token-h"), 200, "the devices there were keep working");
}
