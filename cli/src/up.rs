//! `picometrics up`: a local Prometheus for the endpoints you name, with their alert rules, in
//! one command — and nothing left running after Ctrl-C.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Kills and reaps the child, and removes the working folder, however `run` ends.
struct Started {
    child: Child,
    dir: PathBuf,
}

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The rules a picometrics endpoint serves at `/rules`, or why not.
fn fetch_rules(target: &str) -> Result<String, String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(target).map_err(|e| format!("{target}: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(5))).map_err(|e| e.to_string())?;
    write!(s, "GET /rules HTTP/1.1\r\nHost: {target}\r\nConnection: close\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut response = String::new();
    s.read_to_string(&mut response).map_err(|e| format!("{target}: {e}"))?;
    let (head, body) = response.split_once("\r\n\r\n").ok_or_else(|| format!("{target}: no HTTP answer"))?;
    if !head.starts_with("HTTP/1.1 200") {
        return Err(format!("{target}: {}", head.lines().next().unwrap_or_default()));
    }
    Ok(body.to_owned())
}

/// The prometheus.yml for `targets`, with one rules file per target that served one.
fn config(targets: &[String], interval: u64, rule_files: &[PathBuf]) -> String {
    let mut yaml =
        format!("global:\n  scrape_interval: {interval}s\n  evaluation_interval: {interval}s\nrule_files:\n");
    if rule_files.is_empty() {
        yaml.push_str("  []\n");
    }
    for file in rule_files {
        yaml.push_str(&format!("  - '{}'\n", file.display()));
    }
    yaml.push_str("scrape_configs:\n  - job_name: picometrics\n    static_configs:\n      - targets:\n");
    for t in targets {
        yaml.push_str(&format!("          - '{t}'\n"));
    }
    yaml
}

/// Starts Prometheus, prints the URLs, waits for Ctrl-C (or Prometheus ending), stops it.
pub fn run(targets: &[String], listen: &str, interval: u64, prometheus: &str) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("picometrics-up-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut rule_files = Vec::new();
    for (i, target) in targets.iter().enumerate() {
        match fetch_rules(target) {
            Ok(rules) => {
                let file = dir.join(format!("rules-{i}.yml"));
                std::fs::write(&file, rules).map_err(|e| e.to_string())?;
                rule_files.push(file);
            }
            Err(e) => eprintln!("picometrics up: no rules from {e} (scraping it anyway)"),
        }
    }
    let config_file = dir.join("prometheus.yml");
    std::fs::write(&config_file, config(targets, interval.max(1), &rule_files)).map_err(|e| e.to_string())?;
    let mut command = Command::new(prometheus);
    // Its own process group: a terminal's Ctrl-C reaches this command, which stops it.
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let child = command
        .arg(format!("--config.file={}", config_file.display()))
        .arg(format!("--storage.tsdb.path={}", dir.join("data").display()))
        .arg(format!("--web.listen-address={listen}"))
        .arg("--log.level=warn")
        .stdin(Stdio::null())
        .spawn()
        .map_err(|e| {
            format!(
                "cannot start `{prometheus}`: {e}. Install Prometheus (Debian: `apt-get install prometheus`) \
                 or name it with --prometheus PATH"
            )
        })?;
    let mut started = Started { child, dir };
    let stop = Arc::new(AtomicBool::new(false));
    let on_signal = stop.clone();
    ctrlc::set_handler(move || on_signal.store(true, Ordering::Relaxed)).map_err(|e| e.to_string())?;
    println!("Prometheus: http://{listen}  (alerts: http://{listen}/alerts, rules: http://{listen}/rules)");
    for t in targets {
        println!("explorer:   http://{t}/  (metrics: http://{t}/metrics)");
    }
    println!("Ctrl-C stops Prometheus and removes its data ({}).", started.dir.display());
    while !stop.load(Ordering::Relaxed) {
        if let Ok(Some(status)) = started.child.try_wait() {
            return Err(format!("Prometheus ended: {status}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(started);
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn config_lists_targets_and_rules() {
        let yaml = super::config(&["127.0.0.1:1".into(), "127.0.0.1:2".into()], 3, &["/r/a.yml".into()]);
        assert!(yaml.contains("scrape_interval: 3s"));
        assert!(yaml.contains("  - '/r/a.yml'"));
        assert!(yaml.contains("          - '127.0.0.1:2'"));
        assert!(super::config(&[], 1, &[]).contains("rule_files:\n  []"));
    }
}
