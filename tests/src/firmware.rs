//! Building `embedded-example/` and running it in QEMU, for the firmware tests and the size
//! report.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The firmware crate's directory.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../embedded-example")
}

/// `cargo <args>` in the firmware's own workspace.
pub fn cargo(args: &[&str]) -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.args(args)
        .current_dir(dir())
        // The firmware's own `.cargo/config.toml` sets its linker scripts; a RUSTFLAGS from the
        // outer test run would replace them.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR");
    cmd
}

/// Builds the firmware in release for `target` with exactly `features` (no defaults) and
/// returns the path of a copy of its ELF that no other variant's build overwrites.
///
/// All variants share one target directory: cargo keeps each feature set's artifacts apart (the
/// features are in their hashes), so dependencies built with the same features are built once
/// — one directory per variant cost ~200 MB each, 3.4 GB for the test command's 17 variants.
/// Only the uplifted binary is shared, so building and copying it out happen under a lock
/// (tests in one binary run in parallel; cargo runs test binaries one after another).
pub fn build(target: &str, features: &[&str]) -> PathBuf {
    static BUILDING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let variant = if features.is_empty() { "none".to_owned() } else { features.join("+") };
    let target_dir = dir().join("target/firmware");
    let features = features.join(",");
    let _one_at_a_time = BUILDING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let status = cargo(&[
        "build",
        "--release",
        "--quiet",
        "--target",
        target,
        "--no-default-features",
        "--features",
        &features,
        "--target-dir",
        target_dir.to_str().unwrap(),
    ])
    .status()
    .expect("cargo");
    assert!(status.success(), "firmware build for {target} with [{features}] failed");
    let built = target_dir.join(target).join("release");
    let copies = dir().join("target/variants").join(&variant).join(target);
    std::fs::create_dir_all(&copies).unwrap();
    // Every binary of the crate this build made (`nrf52840` adds the board's).
    for bin in ["picometrics-embedded-example", "nrf52840-dk"] {
        if built.join(bin).exists() {
            std::fs::copy(built.join(bin), copies.join(bin)).unwrap();
        }
    }
    copies.join("picometrics-embedded-example")
}

/// QEMU's machine arguments for a target (as in the firmware's `.cargo/config.toml`).
pub fn machine(target: &str) -> &'static [&'static str] {
    match target {
        "thumbv6m-none-eabi" => &["-machine", "microbit"],
        "thumbv7m-none-eabi" => &["-cpu", "cortex-m3", "-machine", "lm3s6965evb"],
        "thumbv7em-none-eabihf" => &["-cpu", "cortex-m4", "-machine", "lm3s6965evb"],
        "riscv32imc-unknown-none-elf" | "riscv32imac-unknown-none-elf" => {
            &["-machine", "virt", "-bios", "none"]
        }
        other => panic!("no QEMU board for {other}"),
    }
}

/// The QEMU system emulator for a target: Debian's `qemu-system-arm` for the Cortex-M,
/// `qemu-system-riscv32` (package `qemu-system-misc`) for RISC-V.
pub fn emulator(target: &str) -> &'static str {
    if target.starts_with("riscv32") {
        "qemu-system-riscv32"
    } else {
        "qemu-system-arm"
    }
}

/// A QEMU command for `elf`, its UART0 on `serial` (a QEMU `-serial` value).
pub fn qemu(target: &str, elf: &Path, serial: &str) -> Command {
    let mut cmd = Command::new(emulator(target));
    cmd.args(machine(target))
        .args(["-nographic", "-monitor", "none", "-serial", serial, "-icount", "shift=0"])
        .args(["-semihosting-config", "enable=on,target=native", "-kernel"])
        .arg(elf);
    cmd
}

/// What one run printed.
pub struct Run {
    /// Semihosting output (text or defmt).
    pub stdout: Vec<u8>,
    /// Everything the firmware sent on UART0.
    pub uart: Vec<u8>,
}

impl Run {
    /// The dumps on the UART, each from its lone `0x00` to the next dump's: a dump's bytes run
    /// from one `0x00 0x00` (a frame's delimiter, then the lone one) to the next.
    pub fn dumps(&self) -> Vec<&[u8]> {
        let uart = &self.uart[..];
        let mut starts = vec![0];
        starts.extend((1..uart.len()).filter(|&i| uart[i] == 0 && uart[i - 1] == 0));
        starts.iter().zip(starts.iter().skip(1).chain([&uart.len()])).map(|(&a, &b)| &uart[a..b]).collect()
    }
}

/// Runs `elf` in QEMU until it exits through semihosting (at most 60 s) and checks it exited
/// with success.
pub fn run(target: &str, elf: &Path) -> Run {
    let uart = tempfile(&format!("uart-{target}"));
    let mut child = qemu(target, elf, &format!("file:{}", uart.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{} (Debian's qemu-system-arm, qemu-system-misc): {e}", emulator(target)));
    let status = wait(&mut child, Duration::from_secs(60));
    let out = child.wait_with_output().unwrap();
    assert!(
        status.success(),
        "firmware failed ({status}):\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let uart_bytes = std::fs::read(&uart).unwrap_or_default();
    let _ = std::fs::remove_file(&uart);
    Run { stdout: out.stdout, uart: uart_bytes }
}

/// Waits for `child`, killing it after `limit`: a firmware that hangs (say, a registry linked
/// over the vector table) fails instead of stalling the test run.
pub fn wait(child: &mut std::process::Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("the firmware did not exit within {limit:?} in QEMU");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A fresh path in the system's temp directory.
pub fn tempfile(stem: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    std::env::temp_dir().join(format!(
        "picometrics-{stem}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

/// The summary line the firmware prints: `firmware: 50 calls, 10 errors, extra 0, stack 3132 B,
/// dumps 3820 B`, as its numbers.
pub fn summary(text: &str) -> [u64; 5] {
    let line = text.lines().find_map(|l| l.split_once("firmware: ")).expect("no summary line").1;
    let numbers: Vec<u64> =
        line.split(|c: char| !c.is_ascii_digit()).filter_map(|n| n.parse().ok()).collect();
    numbers.try_into().unwrap_or_else(|n| panic!("summary {line:?} has not 5 numbers: {n:?}"))
}

/// `defmt-print`, which the test command installs with `cargo install`.
pub fn defmt_print() -> PathBuf {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))
        .unwrap_or_default();
    let installed = home.join("bin/defmt-print");
    if installed.exists() {
        installed
    } else {
        "defmt-print".into()
    }
}

/// Decodes a defmt stream with `defmt-print`, one message per line (no timestamps, levels or
/// locations).
pub fn decode_defmt(elf: &Path, stream: &[u8]) -> String {
    use std::io::Write;
    let mut child = Command::new(defmt_print())
        .args(["--log-format", "{s}", "-e"])
        .arg(elf)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("defmt-print (the test command installs it: cargo install defmt-print)");
    child.stdin.take().unwrap().write_all(stream).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "defmt-print failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}
