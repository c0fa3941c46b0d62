//! A real VictoriaMetrics and vmalert (Debian's `victoria-metrics`, installed by
//! `scripts/test.sh`) for the fleet tests: started on free loopback ports, queried through the
//! Prometheus HTTP API they share.

use crate::prometheus::{free_port, try_query};
use crate::Running;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Starts VictoriaMetrics with its data in `dir`; returns it and its base URL once it is up.
/// Queries see samples as soon as they are written (`-search.latencyOffset=0s`, no cache).
pub fn run(dir: &Path) -> (Running, String) {
    let port = free_port();
    let child = Command::new("victoria-metrics")
        .arg(format!("-storageDataPath={}", dir.join("vm").display()))
        .arg(format!("-httpListenAddr=127.0.0.1:{port}"))
        .args(["-search.latencyOffset=0s", "-search.disableCache", "-loggerLevel=ERROR"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect(
            "victoria-metrics not found: run scripts/test.sh, which installs Debian's `victoria-metrics`",
        );
    let base = format!("http://127.0.0.1:{port}");
    wait_up(&base, "1");
    (Running(child), base)
}

/// Starts vmalert evaluating `rules` (a file) every second against `datasource`, writing the
/// recording rules' results back to it and sending alerts to `notifier`; returns it and its
/// base URL once it answers.
pub fn vmalert(rules: &Path, datasource: &str, notifier: &str) -> (Running, String) {
    let port = free_port();
    let child = Command::new("vmalert")
        .arg(format!("-rule={}", rules.display()))
        .arg(format!("-datasource.url={datasource}"))
        .arg(format!("-remoteWrite.url={datasource}"))
        .arg(format!("-notifier.url={notifier}"))
        .arg(format!("-httpListenAddr=127.0.0.1:{port}"))
        .args(["-evaluationInterval=1s", "-loggerLevel=ERROR"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("vmalert not found: run scripts/test.sh, which installs Debian's `victoria-metrics`");
    let mut running = Running(child);
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while ureq::get(&format!("{base}/api/v1/rules")).call().is_err() {
        if let Ok(Some(status)) = running.0.try_wait() {
            let mut why = String::new();
            if let Some(mut e) = running.0.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut why);
            }
            panic!("vmalert exited ({status}): {why}");
        }
        assert!(Instant::now() < deadline, "vmalert did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    (running, base)
}

/// Waits (30 s at most) until `promql` answers on `base`.
fn wait_up(base: &str, promql: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while try_query(base, promql).is_err() {
        assert!(Instant::now() < deadline, "{base} did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
}
