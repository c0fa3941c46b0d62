//! The firmware in `embedded-example/` built for thumbv7m (32-bit counters, no 64-bit atomics;
//! QEMU lm3s6965evb, whose flash is ROM) and thumbv6m (no atomic read-modify-write at all:
//! critical sections; QEMU micro:bit): the registry must have been placed in FLASH by
//! `picometrics.x`, every function must be there at zero, and the counts must be exactly what
//! the firmware's loop implies.

#[path = "../../core/tests/common/mod.rs"]
mod common;

use common::{all, check_histograms, parse, value};
use object::{Object, ObjectSection};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const M: &str = "picometrics_embedded_example";

fn firmware_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../embedded-example")
}

/// `cargo <args>` in the firmware's own workspace.
fn cargo(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO"));
    cmd.args(args)
        .current_dir(firmware_dir())
        // The firmware's own `.cargo/config.toml` sets its linker scripts; a RUSTFLAGS from the
        // outer test run would replace them.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR");
    cmd
}

/// The targets the firmware is built for, each with its QEMU board.
const TARGETS: [&str; 2] = ["thumbv7m-none-eabi", "thumbv6m-none-eabi"];

/// Builds the firmware and returns the ELF's path.
fn build_firmware(target: &str) -> PathBuf {
    let status = cargo(&["build", "--release", "--quiet", "--target", target]).status().expect("cargo");
    assert!(status.success(), "firmware build for {target} failed");
    firmware_dir().join(format!("target/{target}/release/picometrics-embedded-example"))
}

/// Runs the built firmware in QEMU (the runner in its `.cargo/config.toml`); returns its
/// semihosting output.
fn run_firmware(target: &str) -> String {
    let mut child = cargo(&["run", "--release", "--quiet", "--target", target])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cargo");
    // A registry linked over the vector table hangs the firmware: fail instead of waiting.
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("the firmware did not exit within 60 s in QEMU");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(status.success(), "firmware failed ({status}):\n{stdout}\n{stderr}");
    stdout
}

/// lm3s6965evb flash, as in `embedded-example/memory.x`.
const FLASH: std::ops::Range<u64> = 0..256 * 1024;

#[test]
fn registry_is_linked_into_flash_after_rodata() {
    for target in TARGETS {
        registry_in_flash(target);
    }
}

fn registry_in_flash(target: &str) {
    let elf = std::fs::read(build_firmware(target)).unwrap();
    let file = object::File::parse(&*elf).unwrap();
    let section = |name: &str| {
        let s = file.section_by_name(name).unwrap_or_else(|| panic!("no section {name}"));
        (s.address(), s.size())
    };
    let (registry, size) = section("linkme_PICOMETRICS_FUNCTIONS");
    let (rodata, rodata_size) = section(".rodata");
    let (vectors, vectors_size) = section(".vector_table");
    assert!(
        FLASH.contains(&registry) && FLASH.contains(&(registry + size - 1)),
        "{target}: registry at {registry:#x}"
    );
    assert!(registry >= rodata + rodata_size, "{target}: registry {registry:#x} not after .rodata");
    assert!(registry >= vectors + vectors_size, "{target}: registry overlaps the vector table");
    // Three instrumented functions, one descriptor each.
    let descriptor = size / 3;
    assert_eq!(size, 3 * descriptor);
    assert!(descriptor > 0 && descriptor <= 64, "descriptor of {descriptor} bytes");
}

#[test]
fn firmware_metrics_in_qemu_are_exact() {
    for target in TARGETS {
        metrics_are_exact(target);
    }
}

fn metrics_are_exact(target: &str) {
    build_firmware(target);
    let text = run_firmware(target);
    assert!(text.contains("# firmware: 50 calls, 10 errors"), "{target}: {text}");
    let samples = parse(&text);

    let calls = |f: &str, caller: &str, result: &str| {
        value(
            &samples,
            "function_calls_total",
            &[("function", f), ("module", M), ("caller_function", caller), ("result", result)],
        )
    };
    assert_eq!(calls("sample", "", "ok"), 40.0);
    assert_eq!(calls("sample", "", "error"), 10.0);
    assert_eq!(calls("validate", "sample", "ok"), 40.0);
    assert_eq!(calls("validate", "sample", "error"), 10.0);
    assert_eq!(calls("validate", "", "ok"), 0.0);
    assert_eq!(calls("never_called", "", "ok"), 0.0);
    assert_eq!(calls("never_called", "", "error"), 0.0);

    assert_eq!(check_histograms(&samples), 3);
    let count = |f| value(&samples, "function_calls_duration_seconds_count", &[("function", f)]);
    assert_eq!(count("sample"), 50.0);
    assert_eq!(count("validate"), 50.0);
    assert_eq!(count("never_called"), 0.0);
    // The latency objective's labels made it through the 32-bit build.
    let b =
        all(&samples, "function_calls_duration_seconds_bucket", &[("function", "sample"), ("le", "0.005")]);
    assert_eq!(b[0].label("objective_latency_threshold"), Some("0.005"));
    assert_eq!(b[0].value, 50.0, "every call is far below 5 ms");

    let info = all(&samples, "build_info", &[]);
    assert_eq!(info.len(), 1);
    assert_eq!(info[0].label("service_name"), Some("picometrics-embedded-example"));
}
