//! Shared helpers for the workspace-level integration tests (see `tests/`) and the firmware size
//! report.

pub mod firmware;
pub mod size;

use std::io::Write;
use std::process::{Command, Stdio};

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
