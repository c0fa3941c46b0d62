//! Shared helpers for the workspace-level integration tests (see `tests/`) and the firmware size
//! report.

pub mod bridge;
pub mod dumps;
pub mod firmware;
pub mod fleet;
pub mod prometheus;
pub mod size;
pub mod victoria;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// Kills the child when the test ends, however it ends.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Starts the demo (`scripts/demo.sh`'s program) for `seconds`; returns it and its `host:port`,
/// read from its first line (`metrics: http://ADDR/metrics`).
pub fn start_demo(seconds: u32) -> (Running, String) {
    start_demo_with(seconds, &[])
}

/// [`start_demo`] with more arguments (e.g. `--mount /obs`): the address comes back with the
/// mount's path (`127.0.0.1:PORT/obs`).
pub fn start_demo_with(seconds: u32, more: &[&str]) -> (Running, String) {
    let mut child = Command::new(env!("CARGO"))
        .args([
            "run",
            "-q",
            "-p",
            "picometrics-exporter",
            "--features",
            "exemplars",
            "--example",
            "demo",
            "--",
        ])
        .args(["--listen", "127.0.0.1:0", "--duration", &seconds.to_string()])
        .args(more)
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("cargo run the demo");
    let stdout = child.stdout.take().unwrap();
    let demo = Running(child);
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().expect("demo output").unwrap();
    let addr = first
        .strip_prefix("metrics: http://")
        .and_then(|r| r.strip_suffix("/metrics"))
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_owned();
    // Keep draining its output so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (demo, addr)
}

/// Runs `promtool check metrics` on `text`; returns (success, combined output).
pub fn promtool_check(text: &str) -> (bool, String) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool not found: run scripts/test.sh, which installs Debian's `prometheus`");
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let mut all = String::from_utf8_lossy(&out.stdout).into_owned();
    all.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.success(), all)
}
