//! `picometrics-bridge` run as users run it (`cargo run`), with its log collected.

use crate::Running;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

/// A running bridge: its address and what it logged.
pub struct Bridge {
    _child: Running,
    /// Its stdin, when started with `Stdio::piped()`.
    pub stdin: Option<std::process::ChildStdin>,
    /// `host:port` it serves on.
    pub addr: String,
    /// Every line it logged on stderr so far.
    pub log: Arc<Mutex<Vec<String>>>,
}

impl Bridge {
    /// Starts it on a free loopback port reading `source` (e.g. `["--tcp", "127.0.0.1:4444"]`).
    pub fn start(source: &[&str], stdin: Stdio) -> Self {
        let mut child = Command::new(env!("CARGO"))
            .args(["run", "-q", "-p", "picometrics-bridge", "--bin", "picometrics-bridge", "--"])
            .args(["--listen", "127.0.0.1:0"])
            .args(source)
            .current_dir(crate::root())
            .stdin(stdin)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cargo run picometrics-bridge");
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let first = lines.next().expect("bridge output").unwrap();
        let addr = first
            .strip_prefix("picometrics-bridge: serving http://")
            .and_then(|r| r.strip_suffix("/metrics"))
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .to_owned();
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Self { stdin: child.stdin.take(), _child: Running(child), addr, log }
    }

    /// Its process id (`cargo run` execs the bridge in its own process).
    pub fn pid(&self) -> u32 {
        self._child.0.id()
    }

    /// `GET path` on it: the body.
    pub fn get(&self, path: &str) -> String {
        ureq::get(&format!("http://{}{path}", self.addr)).call().unwrap().body_mut().read_to_string().unwrap()
    }

    /// Its `/metrics`.
    pub fn metrics(&self) -> String {
        self.get("/metrics")
    }

    /// The address in the log line that starts with `prefix` (e.g. `accepting frames on
    /// tcp://`), waiting up to 30 s for it.
    pub fn logged_addr(&self, prefix: &str) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let found = self.log.lock().unwrap().iter().find_map(|l| {
                let rest = l.strip_prefix("picometrics-bridge: ")?.strip_prefix(prefix)?;
                Some(rest.split(['/', ' ']).next()?.to_owned())
            });
            if let Some(addr) = found {
                return addr;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no `{prefix}` line: {:?}",
                self.log.lock().unwrap()
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// Whether it logged a line containing `needle`.
    pub fn logged(&self, needle: &str) -> bool {
        self.log.lock().unwrap().iter().any(|l| l.contains(needle))
    }
}
