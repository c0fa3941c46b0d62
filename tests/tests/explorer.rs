//! The explorer pages in a real browser: Debian's headless Chromium, driven by playwright-core
//! (`tests/browser/explorer.mjs`), against the demo workload and against the bridge fed by the
//! QEMU firmware. The script checks the table (every demo function, the injected error
//! ratios), filtering, sorting, charts with data points, callers and callees, the objective and
//! the queries, and that the console stayed clean; its screenshots go to `target/browser/`.

use picometrics_integration_tests::bridge::Bridge;
use picometrics_integration_tests::{firmware, root, start_demo_with, Running};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TARGET: &str = "thumbv7em-none-eabihf";
const DEVICE: &str = "lm3s6965evb";

/// `tests/browser` with its locked npm packages installed.
fn browser_scripts() -> std::path::PathBuf {
    let dir = root().join("tests/browser");
    if !dir.join("node_modules/playwright-core").is_dir() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir)
            .status()
            .expect("npm (Node.js) is needed: scripts/test.sh installs it");
        assert!(status.success(), "npm ci in tests/browser");
    }
    dir
}

#[test]
fn explorer_pages_work_in_chromium_for_the_demo_and_the_bridge() {
    let scripts = browser_scripts();
    // A Grafana to link to (the page's links are checked; nothing is fetched from it).
    let (_demo, demo) = start_demo_with(180, &["--grafana-url", "http://grafana.test:3000"]);

    // The firmware's frames reach the bridge over QEMU's serial port.
    let elf = firmware::build(TARGET, &["text", "frames"]);
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let qemu = firmware::qemu(TARGET, &elf, &format!("tcp:127.0.0.1:{port},server=on,wait=on"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("qemu-system-arm");
    let _qemu = Running(qemu);
    let bridge = Bridge::start(
        &["--tcp", &format!("127.0.0.1:{port}"), "--grafana-url", "http://grafana.test:3000"],
        Stdio::null(),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while !bridge.get("/api/v1/overview").contains(&format!("\"devices\":[\"{DEVICE}\"]")) {
        assert!(
            Instant::now() < deadline,
            "no device in the bridge's explorer: {:?}",
            bridge.log.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    let out = root().join("target/browser");
    let bridge_url = format!("http://{}/", bridge.addr);
    run_checks(
        &scripts,
        &["--demo", &format!("http://{demo}/"), "--bridge", &bridge_url, "--device", DEVICE],
        &out,
    );
    for shot in ["explorer-demo.png", "explorer-demo-query.png", "explorer-bridge.png"] {
        let png = std::fs::read(out.join(shot)).unwrap_or_else(|e| panic!("{shot}: {e}"));
        assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "{shot} is a real screenshot");
    }
}

/// The same checks against the demo mounted under `/obs/` of an axum router through
/// `Builder::into_service` (every page URL is relative, so the page, its script, its JSON and
/// its links all work under the prefix).
#[test]
fn the_explorer_mounted_in_axum_under_a_prefix_works_in_chromium() {
    let scripts = browser_scripts();
    let (_demo, demo) =
        start_demo_with(120, &["--mount", "/obs", "--grafana-url", "http://grafana.test:3000"]);
    assert!(demo.ends_with("/obs"), "{demo}");
    run_checks(&scripts, &["--demo", &format!("http://{demo}/")], &root().join("target/browser/mounted"));
}

/// Runs `explorer.mjs` with `args`, screenshots into `out`; fails unless every check passed.
fn run_checks(scripts: &std::path::Path, args: &[&str], out: &std::path::Path) {
    let output = Command::new("node")
        .arg(scripts.join("explorer.mjs"))
        .args(args)
        .arg("--out")
        .arg(out)
        .current_dir(scripts)
        .output()
        .expect("node");
    let report =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    println!("{report}");
    assert!(output.status.success(), "browser checks failed ({args:?}):\n{report}");
    assert!(report.contains("all checks passed"));
}
