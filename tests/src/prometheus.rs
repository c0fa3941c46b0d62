//! A real Prometheus server (Debian's `prometheus`, installed by `scripts/test.sh`) for the
//! tests: started on a free loopback port, queried through its HTTP API.

use crate::Running;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A free loopback port.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts Prometheus on a free loopback port with `config` (its prometheus.yml) in `dir`, and
/// `flags`; returns it and its base URL.
pub fn run(dir: &Path, config_text: &str, flags: &[&str]) -> (Running, String) {
    let port = free_port();
    let config = dir.join("prometheus.yml");
    std::fs::write(&config, config_text).unwrap();
    let child = Command::new("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.tsdb.path={}", dir.join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--log.level=warn")
        .args(flags)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("prometheus not found: run scripts/test.sh, which installs Debian's `prometheus`");
    (Running(child), format!("http://127.0.0.1:{port}"))
}

/// Runs an instant query; returns `(labels, value)` per series.
pub fn query(base: &str, promql: &str) -> Vec<(serde_json::Value, f64)> {
    try_query(base, promql).unwrap_or_else(|e| panic!("query {promql}: {e}"))
}

/// `query`, or the error while Prometheus is still starting.
pub fn try_query(base: &str, promql: &str) -> Result<Vec<(serde_json::Value, f64)>, String> {
    let text = ureq::get(&format!("{base}/api/v1/query"))
        .query("query", promql)
        .call()
        .map_err(|e| e.to_string())?
        .body_mut()
        .read_to_string()
        .map_err(|e| e.to_string())?;
    let body: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    assert_eq!(body["status"], "success", "{promql}: {body}");
    let series = body["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["metric"].clone(), s["value"][1].as_str().unwrap().parse::<f64>().unwrap()))
        .collect::<Vec<_>>();
    Ok(series)
}

/// A new empty folder for one test's Prometheus.
pub fn temp_dir_named(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("picometrics-prometheus-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
