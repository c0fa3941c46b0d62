//! `picometrics up` end to end: it starts the Debian Prometheus, which scrapes the endpoint and
//! loads the rules the endpoint serves (its `/api/v1/rules` lists them); Ctrl-C (SIGINT) stops
//! it and everything it started is gone.

use picometrics::objectives::{Objective, ObjectivePercentile};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CHECKOUT: Objective = Objective::new("checkout").success_rate(ObjectivePercentile::P99);

#[picometrics::picometrics(objective = CHECKOUT)]
fn checkout() -> Result<(), ()> {
    Ok(())
}

fn get(base: &str, path: &str) -> Option<String> {
    let mut response = ureq::get(&format!("{base}{path}")).call().ok()?;
    response.body_mut().read_to_string().ok()
}

#[test]
fn up_runs_prometheus_on_the_endpoint_with_its_rules_and_stops_it_all() {
    checkout().unwrap();
    let endpoint = picometrics_exporter::serve("127.0.0.1:0").unwrap();
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let listen = format!("127.0.0.1:{port}");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut up = Command::new(env!("CARGO"))
        .args(["run", "-q", "-p", "picometrics-cli", "--bin", "picometrics", "--", "up"])
        .args(["--target", &endpoint.local_addr().to_string(), "--listen", &listen, "--interval", "1"])
        .current_dir(root)
        .stdout(Stdio::null())
        .spawn()
        .expect("cargo run picometrics up");
    let base = format!("http://{listen}");
    let deadline = Instant::now() + Duration::from_secs(120);
    let (mut rules_loaded, mut scraped) = (false, false);
    while !(rules_loaded && scraped) {
        assert!(Instant::now() < deadline, "rules loaded: {rules_loaded}, scraped: {scraped}");
        std::thread::sleep(Duration::from_millis(500));
        rules_loaded =
            get(&base, "/api/v1/rules").is_some_and(|r| r.contains("PicometricsErrorBudgetBurnPage"));
        scraped = get(&base, "/api/v1/query?query=up%7Bjob%3D%22picometrics%22%7D")
            .is_some_and(|r| r.contains(r#""value":["#) && r.contains(r#","1"]"#));
    }
    // Ctrl-C: Prometheus stops, its data folder goes, the command exits.
    let status = Command::new("kill").args(["-INT", &up.id().to_string()]).status().unwrap();
    assert!(status.success());
    let stopped = Instant::now();
    let code = loop {
        if let Some(code) = up.try_wait().unwrap() {
            break code;
        }
        assert!(stopped.elapsed() < Duration::from_secs(15), "picometrics up did not stop");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(code.success(), "{code}");
    assert!(TcpStream::connect(&listen).is_err(), "Prometheus still listening");
    assert!(!std::env::temp_dir().join(format!("picometrics-up-{}", up.id())).exists());
    endpoint.shutdown();
}
