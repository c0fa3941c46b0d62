//! Feature `persist` on the host: `persist::boot` keeps the counts when the saved state is
//! this program's (a warm reset is simulated by calling it again: on bare metal the RAM simply
//! survived), counts boots and reset reasons, and starts over when the state is not valid.
//! Run with `cargo test -p picometrics --features persist --test persist`; QEMU tests a real
//! reset (`tests/tests/firmware_qemu.rs`).
#![cfg(feature = "persist")]

use picometrics::persist::{boot, mark_reset_imminent, ResetReason};
use picometrics::registry::Registry;
use picometrics::render::{write, Format};

#[picometrics::picometrics]
fn work(fail: bool) -> Result<(), ()> {
    if fail {
        Err(())
    } else {
        Ok(())
    }
}

#[picometrics::picometrics]
fn caller() {
    let _ = work(true);
}

/// Events.
#[picometrics::metric]
static EVENTS_TOTAL: picometrics::metrics::Counter = picometrics::metrics::Counter::new();

fn text() -> String {
    let mut out = String::new();
    write(&mut out, &Registry, Format::Prometheus).unwrap();
    out
}

fn has(text: &str, line: &str) {
    assert!(text.contains(line), "missing {line:?} in\n{text}");
}

#[test]
fn counts_continue_across_a_warm_reset_with_boots_and_reasons() {
    // Before the first boot the statics hold whatever RAM held; here (host) zeros.
    let first = boot(ResetReason::PowerOn);
    assert_eq!((first.restored, first.boots, first.reason), (false, 1, ResetReason::PowerOn));
    caller();
    let _ = work(false);
    EVENTS_TOTAL.add(5);

    mark_reset_imminent(ResetReason::Software);
    let second = boot(ResetReason::Unknown);
    assert_eq!((second.restored, second.boots, second.reason), (true, 2, ResetReason::Software));
    caller();
    EVENTS_TOTAL.inc();
    let t = text();
    // Counts from both boots, the caller edge restored (re-pointed at the registry's entry).
    has(&t, "function=\"work\",module=\"persist\",service_name=\"picometrics\",caller_function=\"caller\",caller_module=\"persist\",result=\"error\"} 2\n");
    has(&t, "function=\"work\",module=\"persist\",service_name=\"picometrics\",caller_function=\"\",caller_module=\"\",result=\"ok\"} 1\n");
    has(&t, "events_total 6\n");
    has(&t, "# TYPE picometrics_boots_total counter\npicometrics_boots_total 2\n");
    has(&t, "picometrics_resets_total{reason=\"power_on\"} 1\n");
    has(&t, "picometrics_resets_total{reason=\"software\"} 1\n");
    has(&t, "picometrics_resets_total{reason=\"watchdog\"} 0\n");

    // No mark: the hardware's reason counts.
    let third = boot(ResetReason::Watchdog);
    assert_eq!((third.restored, third.boots, third.reason), (true, 3, ResetReason::Watchdog));
    has(&text(), "picometrics_resets_total{reason=\"watchdog\"} 1\n");
    has(&text(), "events_total 6\n");
}
