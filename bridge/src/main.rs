//! `picometrics-bridge`: lets Prometheus scrape devices that dump their metrics as
//! [`picometrics::frame`]s — reads the frames from a serial device, a TCP socket or stdin, keeps
//! the latest complete dump per device and serves them all at `/metrics` (each series with a
//! `device` label), with the explorer page at `/` (pick a device; `--no-explorer` turns it off),
//! and — with `--remote-write URL`, `--otlp URL` or `--otlp-grpc URL` — pushes every
//! `--push-interval` seconds the dumps that arrived since the last push, each once, stamped with
//! the time it arrived.
//!
//! ```text
//! picometrics-bridge [--listen ADDR] [--stdin | --tcp HOST:PORT | --serial PATH [--baud N]]
//!                    [--accept ADDR] [--accept-http ADDR [--device-tokens FILE]]
//! picometrics-bridge --help
//! ```
//!
//! `--accept` and `--accept-http` take devices that connect to the bridge, many at once, beside
//! (or instead of) the one source it reads.
//!
//! A TCP or serial source that closes is reopened every second; stdin is read to its end. The
//! last complete dump of each device stays served meanwhile. Every skipped frame is logged on
//! stderr with its reason and counted in `picometrics_bridge_frames_skipped_total`.

mod listen;
mod log;
mod source;
mod tls;

use clap::{ArgGroup, Parser};
use log::{lifecycle, log};
use picometrics_bridge::{Devices, Limits};
use picometrics_exporter::push;
use source::{read_forever, Source};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// Serves the metrics of devices that dump picometrics frames at http://LISTEN/metrics, each
/// series with a `device` label.
#[derive(Debug, Parser)]
#[command(name = "picometrics-bridge", version)]
#[command(group = ArgGroup::new("source").required(true).multiple(true).args(["stdin", "tcp", "serial", "accept", "accept_http"]))]
struct Args {
    /// Address to serve /metrics on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9465")]
    listen: String,
    /// Read frames from standard input (to its end, then keep serving).
    #[arg(long, conflicts_with_all = ["tcp", "serial"])]
    stdin: bool,
    /// Read frames from a TCP server (e.g. QEMU's `-serial tcp::4444,server=on`); reconnects
    /// every second.
    #[arg(long, value_name = "HOST:PORT", conflicts_with = "serial")]
    tcp: Option<String>,
    /// Listen for devices on ADDR (TCP; TLS with --tls-cert): each connection a stream of
    /// frames from one or more devices. Without --accept-client-ca the listener trusts what it
    /// is sent — any connection may send a dump naming any device — so use it on a private
    /// network only.
    #[arg(long, value_name = "ADDR")]
    accept: Option<String>,
    /// With --accept and --tls-cert: require a client certificate signed by one in this PEM
    /// file; a connection then speaks only for the devices its certificate names (subject
    /// common name, DNS names). A dump naming another device is refused and counted
    /// (`wrong_device`).
    #[arg(long, value_name = "PEM", requires_all = ["accept", "tls_cert"])]
    accept_client_ca: Option<std::path::PathBuf>,
    /// Take `POST /api/v1/dumps` on ADDR (HTTPS with --tls-cert): a body of COBS frames (one or
    /// more whole dumps), answered 200 once every dump is stored, 409 for a dump relative to one
    /// this bridge does not hold (wire version 6: the device sends it whole), 4xx with the
    /// reason otherwise.
    #[arg(long, value_name = "ADDR")]
    accept_http: Option<String>,
    /// With --accept-http: a file of lines `DEVICE TOKEN`; a dump is taken only with
    /// `Authorization: Bearer TOKEN` of the device it names (401 without, 403 for another
    /// device's). Re-read when it changes and on SIGHUP.
    #[arg(long, value_name = "FILE", requires = "accept_http")]
    device_tokens: Option<std::path::PathBuf>,
    /// With --accept-http: the largest body, in KiB.
    #[arg(long, value_name = "KIB", default_value_t = 4096, requires = "accept_http")]
    max_dump_kib: usize,
    /// With --accept-http: requests taken per second over all devices (beyond: 429).
    #[arg(long, value_name = "N", default_value_t = 2000, requires = "accept_http")]
    dumps_per_second: u32,
    /// Read frames from a serial device (e.g. /dev/ttyACM0); reopened every second.
    #[arg(long, value_name = "PATH")]
    serial: Option<String>,
    /// Baud rate of --serial.
    #[arg(long, value_name = "N", default_value_t = 115_200, requires = "serial")]
    baud: u32,
    /// A TCP or serial source that sends nothing for this long is marked down
    /// (`picometrics_bridge_source_up 0`) and reopened.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    read_timeout: u64,
    /// Require `Authorization: Bearer TOKEN` on /metrics.
    #[arg(long, value_name = "TOKEN")]
    bearer_token: Option<String>,
    /// Serve HTTPS with this certificate chain (PEM; with --tls-key), and TLS on --accept and
    /// --accept-http.
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    tls_cert: Option<std::path::PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    tls_key: Option<std::path::PathBuf>,
    /// Devices kept; a new one beyond takes the place of the one silent longest.
    #[arg(long, value_name = "N", default_value_t = picometrics_bridge::MAX_DEVICES)]
    max_devices: usize,
    /// Bytes (in MiB) of decoded dumps and exposition text kept for all devices together; the
    /// devices silent longest make room. A device of 50 functions takes ~0.03 MiB decoded, and
    /// ~0.15 MiB more once a scrape rendered its text.
    #[arg(long, value_name = "MIB", default_value_t = 64)]
    max_total_mib: usize,
    /// Bytes (in MiB) one device's latest dump may take; a larger dump is refused, and a dump
    /// whose text would be larger is left out of scrapes (both counted `over_budget`).
    #[arg(long, value_name = "MIB", default_value_t = 4)]
    max_device_mib: usize,
    /// A device is reported down after this long without a complete dump.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    down_after: u64,
    /// A device is forgotten after this long without a complete dump.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    forget_after: u64,
    /// Dumps received at once from devices that share the source (their frames interleaved);
    /// one beginning beyond it takes the place of the one silent longest.
    #[arg(long, value_name = "N", default_value_t = picometrics_bridge::MAX_STREAMS)]
    max_streams: usize,
    /// Serve /metrics and /rules only: no explorer page at / (and no history).
    #[arg(long)]
    no_explorer: bool,
    /// /metrics serves the bridge's own families only (dumps taken, frames skipped, each
    /// device's liveness, the pushes), not the devices' series: for a fleet that reaches its
    /// database by --remote-write, where a scrape of every device's text would be larger than
    /// the database's copy of it (10,000 devices of 50 functions: ~1.3 GB). Dumps are then
    /// never rendered.
    #[arg(long)]
    no_device_metrics: bool,
    /// Series the explorer keeps a history of (each about 12 KB for five minutes).
    #[arg(long, value_name = "N", default_value_t = 1024)]
    history_series: usize,
    /// A Prometheus the explorer links its queries to (e.g. the one `picometrics up` starts).
    #[arg(long, value_name = "URL")]
    prometheus_url: Option<String>,
    /// A Grafana with the project's dashboards/ imported: the explorer links the devices
    /// dashboard and each function's.
    #[arg(long, value_name = "URL")]
    grafana_url: Option<String>,
    /// Push each device's dump once, stamped with the time it arrived, by Prometheus remote
    /// write to URL (e.g. http://prometheus:9090/api/v1/write, a Mimir's /api/v1/push,
    /// VictoriaMetrics' /api/v1/write). Bridges sharing a fleet may push to one database: a
    /// device's series do not depend on the bridge (give no --external-label naming it).
    #[arg(long, value_name = "URL")]
    remote_write: Option<String>,
    /// Push each device's dump once, as it arrived, by OTLP/HTTP to URL (e.g.
    /// http://collector:4318/v1/metrics).
    #[arg(long, value_name = "URL")]
    otlp: Option<String>,
    /// Push each device's dump once, as it arrived, by OTLP/gRPC to URL, the receiver's
    /// address (e.g. http://collector:4317; https:// for TLS).
    #[arg(long, value_name = "URL")]
    otlp_grpc: Option<String>,
    /// Seconds between two pushes.
    #[arg(long, value_name = "SECONDS", default_value_t = 15)]
    push_interval: u64,
    /// A label on every remote-write series, e.g. `job=fleet`; repeat for more.
    #[arg(long, value_name = "NAME=VALUE", value_parser = name_value)]
    external_label: Vec<(String, String)>,
    /// A header on every push, e.g. `X-Scope-OrgID: tenant-1` (credentials: --push-bearer-token);
    /// repeat for more.
    #[arg(long, value_name = "NAME: VALUE", value_parser = header)]
    push_header: Vec<(String, String)>,
    /// Send `Authorization: Bearer TOKEN` with every push.
    #[arg(long, value_name = "TOKEN")]
    push_bearer_token: Option<String>,
}

/// `NAME=VALUE`.
fn name_value(s: &str) -> Result<(String, String), String> {
    let (n, v) = s.split_once('=').ok_or("expected NAME=VALUE")?;
    Ok((n.trim().to_owned(), v.to_owned()))
}

/// `NAME: VALUE`.
fn header(s: &str) -> Result<(String, String), String> {
    let (n, v) = s.split_once(':').ok_or("expected NAME: VALUE")?;
    Ok((n.trim().to_owned(), v.trim().to_owned()))
}

impl Args {
    /// The one source read (`None`: only devices that connect).
    fn source(&self) -> Option<Source> {
        match (&self.tcp, &self.serial) {
            (Some(addr), _) => Some(Source::Tcp(addr.clone())),
            (_, Some(path)) => Some(Source::Serial { path: path.clone(), baud: self.baud }),
            _ => self.stdin.then_some(Source::Stdin),
        }
    }
}

fn main() -> ExitCode {
    // Usage errors exit with status 2 and clap's message.
    let args = Args::parse();
    let limits = Limits {
        max_devices: args.max_devices.max(1),
        down_after: Duration::from_secs(args.down_after),
        forget_after: Duration::from_secs(args.forget_after),
        max_total_bytes: args.max_total_mib.max(1) << 20,
        max_device_bytes: args.max_device_mib.max(1) << 20,
        max_streams: args.max_streams.max(1),
    };
    let devices = Arc::new(Devices::with_limits(limits));
    let server = match serve(&args, &devices) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("picometrics-bridge: cannot listen on {}: {e}", args.listen);
            return ExitCode::FAILURE;
        }
    };
    // The first line names the address: scripts and tests read it.
    lifecycle(format_args!("serving http://{}/metrics", server.local_addr()));
    // Kept for as long as the bridge runs: dropping a pusher stops it.
    let _pushers = match start_pushers(&args, &devices) {
        Ok(pushers) => pushers,
        Err(e) => {
            eprintln!("picometrics-bridge: {e}");
            return ExitCode::FAILURE;
        }
    };
    if !args.no_explorer {
        lifecycle(format_args!(
            "explorer at http://{}/ (a device picker lists the devices)",
            server.local_addr()
        ));
    }
    let read_timeout = Duration::from_secs(args.read_timeout.max(1));
    if let Err(e) = start_listeners(&args, &devices, read_timeout) {
        eprintln!("picometrics-bridge: {e}");
        return ExitCode::FAILURE;
    }
    match args.source() {
        Some(source) => read_forever(&source, read_timeout, &devices),
        None => loop {
            std::thread::park();
        },
    }
}

/// `--accept` and `--accept-http`, when given; each logs the address it took.
fn start_listeners(args: &Args, devices: &Arc<Devices>, read_timeout: Duration) -> Result<(), String> {
    let tls = |client_ca: Option<&std::path::Path>| match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => tls::server_config(cert, key, client_ca).map(Some),
        _ => Ok(None),
    };
    if let Some(addr) = &args.accept {
        let tls = tls(args.accept_client_ca.as_deref())?;
        let how = match (&tls, &args.accept_client_ca) {
            (None, _) => "plain TCP, trusting every connection",
            (Some(_), None) => "TLS, trusting every connection",
            (Some(_), Some(_)) => {
                "TLS, each connection speaking for the devices its client certificate names"
            }
        };
        let local = listen::accept_tcp(addr, devices.clone(), read_timeout, tls)
            .map_err(|e| format!("cannot listen for devices on {addr}: {e}"))?;
        lifecycle(format_args!("accepting frames on tcp://{local} ({how})"));
    }
    if let Some(addr) = &args.accept_http {
        let tokens = match &args.device_tokens {
            Some(path) => Some(listen::watch_tokens(path.clone())?),
            None => None,
        };
        let ingest = listen::HttpIngest {
            devices: devices.clone(),
            tokens,
            max_body: args.max_dump_kib.max(1) << 10,
            per_second: args.dumps_per_second.max(1),
        };
        let tls = tls(None)?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let local = listen::accept_http(addr, ingest, tls)
            .map_err(|e| format!("cannot take dumps on {addr}: {e}"))?;
        let auth = if args.device_tokens.is_some() { "with device tokens" } else { "without device tokens" };
        lifecycle(format_args!("accepting dumps at {scheme}://{local}/api/v1/dumps ({auth})"));
    }
    Ok(())
}

/// A skipped frame or dump from `peer`, logged (rate-limited).
fn log_skipped(skipped: &picometrics_bridge::Skipped, peer: &str) {
    log(format_args!("{skipped} (from {peer})"));
}

/// The HTTP endpoint: every device's dump and the pushers' own counts at `/metrics`, the
/// explorer over the devices.
fn serve(
    args: &Args,
    devices: &Arc<Devices>,
) -> Result<picometrics_exporter::Server, picometrics_exporter::BuildError> {
    let served = devices.clone();
    let with_devices = !args.no_device_metrics;
    let b = picometrics_exporter::Builder::new()
        .addr(args.listen.as_str())?
        .metrics_chunks(move |out| {
            if with_devices {
                served.render_chunks(out);
            } else {
                served.render_own_chunks(out);
            }
            let mut pushers = String::new();
            // Writing into a `String` cannot fail.
            let _ = push::write_metrics(&mut pushers, picometrics::render::Format::Prometheus);
            out.push(pushers.into());
        })
        .explorer(!args.no_explorer)
        .history(Duration::from_secs(1), 300, args.history_series)
        .explorer_source(devices.clone())
        .rules_source(devices.clone());
    let b = match &args.prometheus_url {
        Some(url) => b.prometheus_url(url.clone()),
        None => b,
    };
    let b = match &args.grafana_url {
        Some(url) => b.grafana_url(url.clone()),
        None => b,
    };
    let b = match &args.bearer_token {
        Some(token) => b.bearer_token(token.clone()),
        None => b,
    };
    match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => b.tls(cert, key),
        _ => b,
    }
    .serve()
}

/// A pusher for each of `--remote-write`, `--otlp` and `--otlp-grpc` given, sending every
/// device's dump.
fn start_pushers(args: &Args, devices: &Arc<Devices>) -> Result<Vec<push::Pusher>, String> {
    let mut pushers = Vec::new();
    for (url, builder) in [
        (&args.remote_write, push::Builder::remote_write as fn(String) -> push::Builder),
        (&args.otlp, push::Builder::otlp as fn(String) -> push::Builder),
        (&args.otlp_grpc, push::Builder::otlp_grpc as fn(String) -> push::Builder),
    ] {
        let Some(url) = url else { continue };
        let mut b = builder(url.clone())
            .interval(Duration::from_secs(args.push_interval.max(1)))
            .snapshots(devices.clone());
        for (name, value) in &args.external_label {
            b = b.external_label(name, value);
        }
        for (name, value) in &args.push_header {
            b = b.header(name, value);
        }
        if let Some(token) = &args.push_bearer_token {
            b = b.bearer_token(token);
        }
        let pusher = b.start().map_err(|e| format!("cannot push to {url}: {e}"))?;
        lifecycle(format_args!("pushing to {url} every {} s", args.push_interval.max(1)));
        pushers.push(pusher);
    }
    Ok(pushers)
}
