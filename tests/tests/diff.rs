//! `picometrics diff` against real sources and an independent reference: two scrapes of the
//! running demo over HTTP (as a pair, and in interval mode), and its chi-squared tests checked
//! against scipy's `chi2_contingency(correction=False)` on the same bins, in the test venv.

use picometrics_integration_tests::{root, start_demo};
use std::path::PathBuf;
use std::process::{Command, Output};

/// The `picometrics` command, built.
fn picometrics() -> PathBuf {
    let status = Command::new(env!("CARGO"))
        .args(["build", "-q", "-p", "picometrics-cli"])
        .current_dir(root())
        .status()
        .expect("cargo");
    assert!(status.success());
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), PathBuf::from);
    target.join("debug/picometrics")
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    })
}

#[test]
fn a_pair_of_scrapes_and_an_interval_of_the_running_demo() {
    let bin = picometrics();
    let (_demo, addr) = start_demo(60);
    let url = format!("http://{addr}/metrics");
    std::thread::sleep(std::time::Duration::from_secs(1));
    let out = Command::new(&bin).args(["diff", &url, &url, "--fail-if", "p99 > +1000%"]).output().unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{table}{}", String::from_utf8_lossy(&out.stderr));
    for f in ["demo::handle_request", "demo::db::query", "demo::cache::render"] {
        assert!(table.contains(f), "{f}: {table}");
    }
    // Interval mode: the calls of the last second, as the demo makes them now.
    let out =
        Command::new(&bin).args(["diff", &url, "--interval", "1s", "--format", "json"]).output().unwrap();
    let doc = json(&out);
    assert_eq!(doc["interval"], true);
    let handle =
        doc["functions"].as_array().unwrap().iter().find(|f| f["function"] == "handle_request").unwrap();
    let calls = handle["calls"][1].as_f64().unwrap();
    assert!(calls > 10.0, "calls in one second: {handle}");
    assert_eq!(handle["calls"][0], 0.0, "interval mode has no base run");
    let errors = handle["error_ratio"][1].as_f64().unwrap();
    assert!((0.0..0.3).contains(&errors), "the demo's ~10 % errors: {handle}");
}

/// `(base, new)` per-bucket counts over the default bounds, then +Inf.
const CASES: [(&[u64], &[u64]); 3] = [
    // Shifted by one bucket.
    (&[0, 100, 800, 100], &[0, 0, 100, 800, 100]),
    // A small change in a wide spread, with empty buckets between.
    (
        &[50, 60, 0, 70, 80, 0, 0, 40, 0, 0, 0, 0, 0, 0, 3],
        &[45, 70, 0, 65, 85, 0, 0, 35, 0, 0, 0, 0, 0, 0, 1],
    ),
    // Few calls, a long tail.
    (&[3, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], &[1, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]),
];

const LE: [&str; 15] = [
    "0.005", "0.01", "0.025", "0.05", "0.075", "0.1", "0.25", "0.5", "0.75", "1", "2.5", "5", "7.5", "10",
    "+Inf",
];

fn exposition(buckets: &[u64], errors: u64) -> String {
    let total: u64 = buckets.iter().sum();
    let mut s = format!(
        "function_calls_total{{function=\"f\",module=\"m\",result=\"ok\"}} {}\nfunction_calls_total{{function=\"f\",module=\"m\",result=\"error\"}} {errors}\n",
        total - errors
    );
    let mut cumulative = 0;
    for (i, le) in LE.iter().enumerate() {
        cumulative += buckets.get(i).copied().unwrap_or(0);
        s += &format!("function_calls_duration_seconds_bucket{{function=\"f\",module=\"m\",le=\"{le}\"}} {cumulative}\n");
    }
    s
}

#[test]
fn the_statistics_agree_with_scipy() {
    let bin = picometrics();
    let dir = std::env::temp_dir().join(format!("picometrics-diff-scipy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let python = root().join("target/otlp-venv/bin/python");
    assert!(python.exists(), "the test venv: scripts/test.sh creates it with scipy");
    for (i, (base, new)) in CASES.iter().enumerate() {
        // Errors: 1 % then 3 % of the calls (rounded), for the ok/error test.
        let (base_errors, new_errors) =
            (base.iter().sum::<u64>() / 100, new.iter().sum::<u64>() * 3 / 100 + 1);
        let (b, n) = (dir.join(format!("{i}-base.prom")), dir.join(format!("{i}-new.prom")));
        std::fs::write(&b, exposition(base, base_errors)).unwrap();
        std::fs::write(&n, exposition(new, new_errors)).unwrap();
        let out = Command::new(&bin).arg("diff").args([&b, &n]).args(["--format", "json"]).output().unwrap();
        let row = &json(&out)["functions"][0];
        let ours = |test: &str| {
            let t = &row[test];
            (t["statistic"].as_f64().unwrap(), t["dof"].as_u64().unwrap(), t["p"].as_f64().unwrap())
        };
        let (base_ok, new_ok) =
            (base.iter().sum::<u64>() - base_errors, new.iter().sum::<u64>() - new_errors);
        let padded =
            |counts: &[u64]| (0..LE.len()).map(|i| counts.get(i).copied().unwrap_or(0)).collect::<Vec<_>>();
        for (test, a, b) in [
            ("latency_test", padded(base), padded(new)),
            ("error_test", vec![base_ok, base_errors], vec![new_ok, new_errors]),
        ] {
            let script = format!(
                "import numpy as np\nfrom scipy.stats import chi2_contingency\n\
                 t = np.array([{a:?}, {b:?}], dtype=float)\nt = t[:, t.sum(axis=0) > 0]\n\
                 r = chi2_contingency(t, correction=False)\nprint(repr(float(r.statistic)), int(r.dof), repr(float(r.pvalue)))\n"
            );
            let reference = Command::new(&python).args(["-c", &script]).output().unwrap();
            let text = String::from_utf8_lossy(&reference.stdout).into_owned();
            assert!(reference.status.success(), "{text}{}", String::from_utf8_lossy(&reference.stderr));
            let mut fields = text.split_whitespace();
            let statistic: f64 = fields.next().unwrap().parse().unwrap();
            let dof: u64 = fields.next().unwrap().parse().unwrap();
            let p: f64 = fields.next().unwrap().parse().unwrap();
            let (our_statistic, our_dof, our_p) = ours(test);
            assert_eq!(our_dof, dof, "case {i} {test}");
            assert!(
                (our_statistic - statistic).abs() <= 1e-9 * statistic.max(1.0),
                "case {i} {test}: {our_statistic} vs scipy {statistic}"
            );
            // Relative agreement, down to the tiny p-values of a one-bucket shift.
            assert!(
                (our_p - p).abs() <= 1e-6 * p.max(1e-300) + 1e-12,
                "case {i} {test}: p {our_p} vs scipy {p}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `picometrics top` in a pseudo-terminal (util-linux `script`): it draws the demo's functions
/// with a progress line, refreshes, and quits on `q`, leaving the terminal as it was.
#[test]
fn top_runs_in_a_terminal_and_quits_on_q() {
    use std::io::{Read, Write};
    let bin = picometrics();
    let (_demo, addr) = start_demo(60);
    let command = format!("{} top http://{addr}/metrics --interval 300ms", bin.display());
    let mut child = Command::new("script")
        .args(["-q", "-e", "-c", &command, "/dev/null"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("script (util-linux)");
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut screen = Vec::new();
        let _ = stdout.read_to_end(&mut screen);
        String::from_utf8_lossy(&screen).into_owned()
    });
    std::thread::sleep(std::time::Duration::from_millis(1500));
    stdin.write_all(b"q").unwrap();
    stdin.flush().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "top did not quit on q");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    drop(stdin);
    let screen = reader.join().unwrap();
    assert!(status.success(), "{status}: {screen}");
    assert!(screen.contains("picometrics top") && screen.contains("q quits"), "{screen}");
    assert!(screen.contains("refresh 2"), "it refreshed: {screen}");
    assert!(screen.contains("demo::handle_request"), "the demo's functions: {screen}");
    // The alternate screen was left and the cursor shown again.
    assert!(screen.contains("\x1b[?1049l") && screen.contains("\x1b[?25h"), "terminal restored");
}
