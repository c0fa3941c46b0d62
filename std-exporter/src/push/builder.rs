//! A pusher's settings, checked by [`Builder::start`], which starts its thread.

use super::stats::{pushers, Stats};
use super::worker::{unix_nanos, Feed, Transport, Worker};
use super::{Protocol, Pusher, Snapshots};
use crate::BuildError;
use picometrics::model::Source;
use std::collections::VecDeque;
use std::fmt;
use std::sync::mpsc::{self};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Configures a pusher.
#[derive(Clone)]
pub struct Builder {
    pub(super) protocol: Protocol,
    pub(super) url: String,
    pub(super) interval: Duration,
    pub(super) timeout: Duration,
    pub(super) headers: Vec<(String, String)>,
    pub(super) external_labels: Vec<(String, String)>,
    pub(super) max_pending: usize,
    pub(super) max_backoff: Duration,
    pub(super) source: Option<Arc<dyn Source + Send + Sync>>,
    pub(super) snapshots: Option<Arc<dyn Snapshots>>,
    /// PEM file of the certificates to trust instead of the Mozilla roots.
    pub(super) root_certificates: Option<std::path::PathBuf>,
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("protocol", &self.protocol)
            .field("url", &self.url)
            .field("interval", &self.interval)
            .field("timeout", &self.timeout)
            // Header values may hold credentials.
            .field("headers", &self.headers.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>())
            .field("external_labels", &self.external_labels)
            .field("max_pending", &self.max_pending)
            .finish_non_exhaustive()
    }
}

impl Builder {
    fn new(protocol: Protocol, url: impl Into<String>) -> Self {
        Self {
            protocol,
            url: url.into(),
            interval: Duration::from_secs(15),
            timeout: Duration::from_secs(10),
            headers: Vec::new(),
            external_labels: Vec::new(),
            max_pending: 16,
            max_backoff: Duration::from_secs(30),
            source: None,
            snapshots: None,
            root_certificates: None,
        }
    }

    /// Remote write to `url` (e.g. Prometheus' `http://host:9090/api/v1/write`, Mimir's
    /// `…/api/v1/push`). Defaults: every 15 s, 10 s timeout, 16 pending requests.
    pub fn remote_write(url: impl Into<String>) -> Self {
        Self::new(Protocol::RemoteWrite, url)
    }

    /// OTLP/HTTP to `url`, the full metrics path (e.g. `http://collector:4318/v1/metrics`).
    pub fn otlp(url: impl Into<String>) -> Self {
        Self::new(Protocol::Otlp, url)
    }

    /// OTLP/gRPC (feature `grpc`) to `url`, the receiver's address (e.g.
    /// `http://collector:4317`; `https://` for TLS, with [`Builder::root_certificates`] if the
    /// receiver's CA is private). Headers go as metadata; the retried codes are those the OTLP
    /// specification calls retryable.
    #[cfg(feature = "grpc")]
    pub fn otlp_grpc(url: impl Into<String>) -> Self {
        Self::new(Protocol::OtlpGrpc, url)
    }

    /// OTLP configured by the standard environment variables:
    /// `OTEL_EXPORTER_OTLP_METRICS_PROTOCOL` or `OTEL_EXPORTER_OTLP_PROTOCOL` (`http/protobuf`,
    /// the default, or `grpc` with the feature `grpc`; anything else is an error),
    /// `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` (used as is) or `OTEL_EXPORTER_OTLP_ENDPOINT`
    /// (over HTTP `/v1/metrics` appended; default `http://localhost:4318`, or
    /// `http://localhost:4317` for gRPC), `OTEL_EXPORTER_OTLP_METRICS_HEADERS` or
    /// `OTEL_EXPORTER_OTLP_HEADERS` (`k=v,k2=v2`, values percent-decoded),
    /// `OTEL_EXPORTER_OTLP_METRICS_TIMEOUT` or `OTEL_EXPORTER_OTLP_TIMEOUT` (ms) and
    /// `OTEL_METRIC_EXPORT_INTERVAL` (ms).
    pub fn otlp_from_env() -> Result<Self, BuildError> {
        Self::otlp_from(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
    }

    /// [`Builder::otlp_from_env`] with the variables from `var`.
    fn otlp_from(var: impl Fn(&str) -> Option<String>) -> Result<Self, BuildError> {
        let either = |specific: &str, general: &str| var(specific).or_else(|| var(general));
        let invalid = |variable, why: String| BuildError::Environment { variable, why };
        let protocol = match either("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL") {
            None => Protocol::Otlp,
            Some(p) => match p.trim() {
                "http/protobuf" => Protocol::Otlp,
                "grpc" if cfg!(feature = "grpc") => Protocol::OtlpGrpc,
                "grpc" => {
                    let why = "OTLP protocol \"grpc\": picometrics-exporter is built without its \
                               feature `grpc`"
                        .to_owned();
                    return Err(invalid("OTEL_EXPORTER_OTLP_PROTOCOL", why));
                }
                other => {
                    let why = format!("OTLP protocol {other:?}: http/protobuf and grpc are supported");
                    return Err(invalid("OTEL_EXPORTER_OTLP_PROTOCOL", why));
                }
            },
        };
        let url = match (var("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"), protocol) {
            (Some(url), _) => url,
            (None, Protocol::OtlpGrpc) => {
                var("OTEL_EXPORTER_OTLP_ENDPOINT").unwrap_or_else(|| "http://localhost:4317".into())
            }
            (None, _) => {
                let base =
                    var("OTEL_EXPORTER_OTLP_ENDPOINT").unwrap_or_else(|| "http://localhost:4318".into());
                format!("{}/v1/metrics", base.trim_end_matches('/'))
            }
        };
        let mut b = Self::new(protocol, url.trim());
        if let Some(headers) = either("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS") {
            for pair in headers.split(',').filter(|p| !p.trim().is_empty()) {
                let (k, v) = pair.split_once('=').ok_or_else(|| {
                    invalid("OTEL_EXPORTER_OTLP_HEADERS", format!("OTLP header {pair:?}: no `=`"))
                })?;
                let decode = |s: &str| {
                    form_urlencoded::parse(format!("k={}", s.trim()).as_bytes())
                        .next()
                        .map(|(_, v)| v.into_owned())
                };
                b = b.header(k.trim(), decode(v).unwrap_or_default());
            }
        }
        let millis = |name: &'static str, v: String| {
            v.trim()
                .parse::<u64>()
                .map(Duration::from_millis)
                .map_err(|_| invalid(name, format!("{v:?}: not milliseconds")))
        };
        if let Some(t) = either("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT") {
            b.timeout = millis("OTEL_EXPORTER_OTLP_TIMEOUT", t)?;
        }
        if let Some(i) = var("OTEL_METRIC_EXPORT_INTERVAL") {
            b.interval = millis("OTEL_METRIC_EXPORT_INTERVAL", i)?;
        }
        Ok(b)
    }

    /// Time between two pushes (100 ms to 1 day; default 15 s). The first push is made at once.
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// How long one request may take (10 ms to 10 min; default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// A header on every request (e.g. `X-Scope-OrgID` for Mimir and Cortex tenants).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// `Authorization: Bearer <token>`.
    pub fn bearer_token(self, token: impl fmt::Display) -> Self {
        self.header("Authorization", format!("Bearer {token}"))
    }

    /// `Authorization: Basic …` (RFC 7617).
    pub fn basic_auth(self, user: &str, password: &str) -> Self {
        use base64::Engine;
        let credentials = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        self.header("Authorization", format!("Basic {credentials}"))
    }

    /// A label added to every remote-write series that does not have it (like Prometheus'
    /// `external_labels`), e.g. `instance` and `job`, which a pushed series has no scrape to
    /// get them from. OTLP has resource attributes instead and ignores these.
    pub fn external_label(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.external_labels.push((name.into(), value.into()));
        self
    }

    /// Requests held while the receiver is unreachable (1 to 10,000; default 16): the oldest is
    /// dropped beyond, and counted. One push is never cut: a push of [`Builder::snapshots`]
    /// split into more requests than this keeps them all, dropping only older ones.
    pub fn max_pending(mut self, n: usize) -> Self {
        self.max_pending = n;
        self
    }

    /// The longest wait between two retries (default 30 s; the wait doubles from 500 ms, with
    /// ±50 % jitter).
    pub fn max_backoff(mut self, d: Duration) -> Self {
        self.max_backoff = d;
        self
    }

    /// Trusts the certificates in this PEM file, instead of the Mozilla roots, for an
    /// `https://` receiver: a private CA, or the receiver's self-signed certificate. The file
    /// is read by [`Builder::start`], which fails with its name if it holds no certificate.
    /// (TLS is rustls with ring, TLS 1.2 and 1.3.)
    pub fn root_certificates(mut self, pem: impl Into<std::path::PathBuf>) -> Self {
        self.root_certificates = Some(pem.into());
        self
    }

    /// The TLS settings: the configured roots, or ureq's default (Mozilla's).
    fn tls(&self) -> Result<ureq::tls::TlsConfig, BuildError> {
        let Some(path) = &self.root_certificates else { return Ok(ureq::tls::TlsConfig::default()) };
        let bad = |e: &dyn fmt::Display| BuildError::Tls { path: path.clone(), reason: e.to_string() };
        let pem = std::fs::read(path).map_err(|e| bad(&e))?;
        let mut certificates = Vec::new();
        for item in ureq::tls::parse_pem(&pem) {
            if let ureq::tls::PemItem::Certificate(c) = item.map_err(|e| bad(&e))? {
                certificates.push(c);
            }
        }
        if certificates.is_empty() {
            return Err(bad(&"no certificate in the file"));
        }
        Ok(ureq::tls::TlsConfig::builder()
            .root_certs(ureq::tls::RootCerts::Specific(Arc::new(certificates)))
            .build())
    }

    /// Pushes `source` instead of this process's registry (the bridge pushes its devices).
    pub fn source(mut self, source: Arc<dyn Source + Send + Sync>) -> Self {
        self.source = Some(source);
        self.snapshots = None;
        self
    }

    /// Pushes each part of `snapshots` once, at the time it was taken, instead of a whole
    /// source every interval (an interval with nothing new sends nothing). What the bridge
    /// does with its devices' dumps; replaces [`Builder::source`].
    pub fn snapshots(mut self, snapshots: Arc<dyn Snapshots>) -> Self {
        self.snapshots = Some(snapshots);
        self.source = None;
        self
    }

    fn validate(&self) -> Result<(), BuildError> {
        if !(self.url.starts_with("http://") || self.url.starts_with("https://")) {
            return Err(BuildError::Url { url: self.url.clone() });
        }
        let time = |setting, t: Duration, least: Duration, most: Duration, allowed: &str| {
            if (least..=most).contains(&t) {
                Ok(())
            } else {
                Err(BuildError::OutOfRange { setting, value: format!("{t:?}"), allowed: allowed.into() })
            }
        };
        time(
            "push interval",
            self.interval,
            Duration::from_millis(100),
            Duration::from_secs(86_400),
            "100 ms to 1 day",
        )?;
        time(
            "push timeout",
            self.timeout,
            Duration::from_millis(10),
            Duration::from_secs(600),
            "10 ms to 10 min",
        )?;
        if !(1..=10_000).contains(&self.max_pending) {
            let value = self.max_pending.to_string();
            return Err(BuildError::OutOfRange {
                setting: "max_pending",
                value,
                allowed: "1 to 10000".into(),
            });
        }
        for (name, value) in &self.headers {
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
                return Err(BuildError::Header { name: name.clone(), why: "not a header name" });
            }
            if value.bytes().any(|b| b.is_ascii_control()) {
                return Err(BuildError::Header {
                    name: name.clone(),
                    why: "control characters in its value",
                });
            }
        }
        Ok(())
    }

    /// Checks the settings and starts the pusher's thread; the first push is made at once.
    #[must_use = "keep the `Pusher` (dropping it leaves it running; `shutdown` stops it)"]
    pub fn start(self) -> Result<Pusher, BuildError> {
        self.validate()?;
        let stats = Arc::new(Stats::new(self.protocol));
        let (stop, stopped) = mpsc::channel();
        let transport = match self.protocol {
            #[cfg(feature = "grpc")]
            Protocol::OtlpGrpc => Transport::Grpc(super::grpc::Client::new(&self)?),
            _ => Transport::Http(
                ureq::Agent::config_builder()
                    .tls_config(self.tls()?)
                    .timeout_global(Some(self.timeout))
                    .http_status_as_error(false)
                    // A redirect is a failed push (`Failure::Redirected`), never followed: the
                    // credentials and custom headers must reach the configured URL only.
                    .max_redirects(0)
                    .user_agent(concat!("picometrics/", env!("CARGO_PKG_VERSION")))
                    .build()
                    .new_agent(),
            ),
        };
        let worker = Worker {
            feed: match (&self.snapshots, &self.source) {
                (Some(snapshots), _) => Feed::Snapshots { snapshots: snapshots.clone(), cursor: 0 },
                (None, Some(source)) => Feed::Whole(source.clone()),
                (None, None) => Feed::Whole(Arc::new(picometrics::registry::Registry)),
            },
            started_ns: unix_nanos(SystemTime::now()),
            queue: VecDeque::with_capacity(self.max_pending),
            stats: stats.clone(),
            transport,
            remote_write: super::remote_write::Encoder::new(&self.external_labels),
            settings: self,
        };
        let thread = std::thread::Builder::new()
            .name(format!("picometrics-push-{}", worker.settings.protocol.name()))
            .spawn(move || worker.run(&stopped))
            .map_err(|source| BuildError::Io { what: "start the pusher's thread", source })?;
        pushers().push(stats.clone());
        Ok(Pusher { stop: Some(stop), thread: Some(thread), stats })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn otlp_settings_come_from_the_standard_variables() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
        };
        let b = Builder::otlp_from(env(&[])).unwrap();
        assert_eq!(b.url, "http://localhost:4318/v1/metrics");
        let b = Builder::otlp_from(env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "api-key=a%20b, x-tenant=t1"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "5000"),
        ]))
        .unwrap();
        assert_eq!(b.url, "http://collector:4318/v1/metrics");
        assert_eq!(
            b.headers,
            [("api-key".to_owned(), "a b".to_owned()), ("x-tenant".to_owned(), "t1".to_owned())]
        );
        assert_eq!((b.timeout, b.interval), (Duration::from_millis(2500), Duration::from_secs(5)));
        let b = Builder::otlp_from(env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://ignored:4318"),
            ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "https://otlp.example/custom/path"),
        ]))
        .unwrap();
        assert_eq!(b.url, "https://otlp.example/custom/path", "the metrics endpoint is used as is");
        let grpc = Builder::otlp_from(env(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]));
        if cfg!(feature = "grpc") {
            let b = grpc.unwrap();
            assert_eq!((b.protocol, b.url.as_str()), (Protocol::OtlpGrpc, "http://localhost:4317"));
            let b = Builder::otlp_from(env(&[
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
                ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "grpc"),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector:4317"),
            ]))
            .unwrap();
            assert_eq!((b.protocol, b.url.as_str()), (Protocol::OtlpGrpc, "https://collector:4317"));
        } else {
            assert!(grpc.unwrap_err().to_string().contains("feature `grpc`"));
        }
        assert!(Builder::otlp_from(env(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")])).is_err());
        assert!(Builder::otlp_from(env(&[("OTEL_METRIC_EXPORT_INTERVAL", "soon")])).is_err());
    }

    #[test]
    fn settings_are_checked() {
        let bad = [
            Builder::remote_write("ftp://x"),
            Builder::remote_write("http://x").interval(Duration::ZERO),
            Builder::remote_write("http://x").timeout(Duration::ZERO),
            Builder::remote_write("http://x").max_pending(0),
            Builder::remote_write("http://x").header("bad name", "v"),
            Builder::otlp("http://x").header("h", "a\r\nb"),
        ];
        for b in bad {
            assert_eq!(b.clone().start().unwrap_err().kind(), std::io::ErrorKind::InvalidInput, "{b:?}");
        }
    }
}
