//! The bridge's log on stderr: lines about what devices send, rate-limited, and lines about the
//! bridge itself, never.

use std::time::Duration;

/// Log lines allowed per second about what devices send; beyond, lines are counted and the
/// count is logged once the next second begins or with the next [`lifecycle`] line (1 MiB of
/// garbage is a few lines, not half a million).
const LOG_LINES_PER_SECOND: u32 = 20;

/// This second's start, the device lines logged in it and those suppressed since.
static WINDOW: std::sync::Mutex<Option<(std::time::Instant, u32, u64)>> = std::sync::Mutex::new(None);

/// Prints how many device lines were suppressed, if any, and starts the count again.
fn flush_suppressed(window: &mut Option<(std::time::Instant, u32, u64)>, now: std::time::Instant) {
    if let Some((start, lines, suppressed)) = window {
        if *suppressed > 0 {
            eprintln!("picometrics-bridge: ({suppressed} more messages suppressed)");
        }
        (*start, *lines, *suppressed) = (now, 0, 0);
    }
}

/// A line about what a device sent (a skipped frame, a new or restarted device): rate-limited,
/// since a device or a noisy line decides how many there are.
pub(crate) fn log(message: std::fmt::Arguments<'_>) {
    let mut window = WINDOW.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let now = std::time::Instant::now();
    if window.is_some_and(|(start, _, _)| now.duration_since(start) >= Duration::from_secs(1)) {
        flush_suppressed(&mut window, now);
    }
    let (_, lines, suppressed) = window.get_or_insert((now, 0, 0));
    if *lines < LOG_LINES_PER_SECOND {
        *lines += 1;
        eprintln!("picometrics-bridge: {message}");
    } else {
        *suppressed += 1;
    }
}

/// A line about the bridge itself (serving, pushing, the source opening, failing, closing, end
/// of input): never rate-limited — there are few, and they say what state it is in — and
/// after the count of device lines suppressed before it, so the log reads in order.
pub(crate) fn lifecycle(message: std::fmt::Arguments<'_>) {
    let mut window = WINDOW.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    flush_suppressed(&mut window, std::time::Instant::now());
    eprintln!("picometrics-bridge: {message}");
}
