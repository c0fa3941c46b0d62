//! `picometrics up` end to end: it starts the Debian Prometheus, which scrapes the demo and
//! loads the rules the demo serves (its `/api/v1/rules` lists them); Ctrl-C (SIGINT) stops it
//! and everything it started is gone. And `scripts/demo.sh`, which runs the demo with it.

use picometrics_integration_tests::{root, start_demo};
use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn get(base: &str, path: &str) -> Option<String> {
    let mut response = ureq::get(&format!("{base}{path}")).call().ok()?;
    response.body_mut().read_to_string().ok()
}

fn free_addr() -> String {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    format!("127.0.0.1:{port}")
}

/// Waits until the Prometheus at `base` has loaded the demo's objective rules and scraped the
/// demo (`up == 1` and a query over its series answers).
fn wait_for_rules_and_scrape(base: &str) {
    let deadline = Instant::now() + Duration::from_secs(120);
    let (mut rules_loaded, mut scraped) = (false, false);
    while !(rules_loaded && scraped) {
        assert!(Instant::now() < deadline, "rules loaded: {rules_loaded}, scraped: {scraped}");
        std::thread::sleep(Duration::from_millis(500));
        rules_loaded = get(base, "/api/v1/rules").is_some_and(|r| {
            r.contains("sloth-slo-alerts-autometrics-success-rate-99")
                && r.contains("High Error Rate SLO - 99%")
        });
        scraped = get(base, "/api/v1/query?query=up%7Bjob%3D%22picometrics%22%7D")
            .is_some_and(|r| r.contains(r#""value":["#) && r.contains(r#","1"]"#))
            && get(base, "/api/v1/query?query=function_calls_total%7Bfunction%3D%22handle_request%22%7D")
                .is_some_and(|r| r.contains("handle_request"));
    }
}

/// SIGINT to `pid` (what Ctrl-C sends).
fn interrupt(pid: u32) {
    let status = Command::new("kill").args(["-INT", &pid.to_string()]).status().unwrap();
    assert!(status.success());
}

/// Waits for `child` to exit, at most `limit`.
fn exits(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let stopped = Instant::now();
    loop {
        if let Some(code) = child.try_wait().unwrap() {
            return code;
        }
        assert!(stopped.elapsed() < limit, "did not stop");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn up_runs_prometheus_on_the_demo_with_its_rules_and_stops_it_all() {
    let (_demo, target) = start_demo(180);
    let listen = free_addr();
    let mut up = Command::new(env!("CARGO"))
        .args(["run", "-q", "-p", "picometrics-cli", "--bin", "picometrics", "--", "up"])
        .args(["--target", &target, "--listen", &listen, "--interval", "1"])
        .current_dir(root())
        .stdout(Stdio::piped())
        .spawn()
        .expect("cargo run picometrics up");
    let mut printed = BufReader::new(up.stdout.take().unwrap()).lines().map_while(Result::ok);
    let first_two: Vec<String> = printed.by_ref().take(2).collect();
    assert!(first_two[0].contains(&format!("http://{listen}/alerts")), "{first_two:?}");
    assert!(first_two[1].contains(&format!("http://{target}/")), "the page's URL: {first_two:?}");
    std::thread::spawn(move || for _ in printed {});
    wait_for_rules_and_scrape(&format!("http://{listen}"));
    // Ctrl-C: Prometheus stops, its data folder goes, the command exits.
    interrupt(up.id());
    let code = exits(&mut up, Duration::from_secs(15));
    assert!(code.success(), "{code}");
    assert!(TcpStream::connect(&listen).is_err(), "Prometheus still listening");
    assert!(!std::env::temp_dir().join(format!("picometrics-up-{}", up.id())).exists());
}

#[test]
fn demo_script_runs_the_demo_with_a_local_prometheus_and_stops_both() {
    let (listen, prometheus) = (free_addr(), free_addr());
    let mut script = Command::new("bash")
        .arg(root().join("scripts/demo.sh"))
        .args(["--listen", &listen, "--duration", "150"])
        .env("PROMETHEUS_LISTEN", &prometheus)
        .current_dir(root())
        .stdout(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("bash scripts/demo.sh");
    let lines = BufReader::new(script.stdout.take().unwrap()).lines().map_while(Result::ok);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in lines {
            let _ = tx.send(line);
        }
    });
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(300);
    while !seen.iter().any(|l: &String| l.starts_with("Prometheus: ")) {
        let left = deadline.saturating_duration_since(Instant::now());
        seen.push(rx.recv_timeout(left).unwrap_or_else(|_| panic!("the demo's URLs: {seen:?}")));
    }
    for want in [
        format!("explorer: http://{listen}/"),
        format!("metrics: http://{listen}/metrics"),
        format!("prometheus: http://{prometheus}"),
    ] {
        assert!(seen.contains(&want), "{want:?} in {seen:?}");
    }
    assert!(seen.len() <= 12, "the demo's terminal output stays short: {seen:?}");
    wait_for_rules_and_scrape(&format!("http://{prometheus}"));
    // The page links its queries to that Prometheus.
    let overview = get(&format!("http://{listen}"), "/api/v1/overview").unwrap();
    assert!(overview.contains(&format!("\"prometheus_url\":\"http://{prometheus}\"")), "{overview}");

    // Ctrl-C in a terminal reaches the whole process group.
    let status = Command::new("kill").args(["-INT", "--", &format!("-{}", script.id())]).status().unwrap();
    assert!(status.success());
    let code = exits(&mut script, Duration::from_secs(30));
    assert!(code.success(), "{code}");
    // The rest of its output, up to the end of the pipe.
    let mut rest = Vec::new();
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(10)) {
        rest.push(line);
    }
    assert!(rest.iter().any(|l| l.starts_with("handle_request")), "the summary on exit: {rest:?}");
    assert!(TcpStream::connect(&prometheus).is_err(), "Prometheus still listening");
    assert!(TcpStream::connect(&listen).is_err(), "the demo still listening");
}

/// `cargo run -p picometrics-cli` (as the docs write it) builds the command's own dependencies:
/// no TLS, protobuf or OpenTelemetry — those belong to the exporter's `push`/`tls` features,
/// which only the tests and the bridge turn on (`diff` scrapes URLs with ureq's plain HTTP;
/// HTTPS is the CLI's `tls` feature).
#[test]
fn the_command_builds_without_the_push_and_tls_stacks() {
    let output = std::process::Command::new(env!("CARGO"))
        .args(["tree", "-q", "-p", "picometrics-cli", "-e", "normal", "--prefix", "none"])
        .current_dir(picometrics_integration_tests::root())
        .output()
        .expect("cargo tree");
    let tree = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success() && tree.contains("clap "), "{tree}");
    for heavy in ["rustls ", "ring ", "opentelemetry-proto ", "prost "] {
        assert!(!tree.lines().any(|l| l.starts_with(heavy)), "picometrics-cli pulls in {heavy}:\n{tree}");
    }
}
