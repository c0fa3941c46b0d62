//! `picometrics top URL`: the calls of every function between two scrapes, refreshed every
//! `--interval` in the terminal like `top`, most changed first, with a progress line. `q`, Esc
//! or Ctrl-C quits and leaves the terminal as it was.

use crate::diff::{self, Format};
use crossterm::event::{self, Event, KeyCode, KeyModifiers};
use crossterm::{cursor, execute, terminal};
use std::io::Write;
use std::time::{Duration, Instant};

/// Restores the terminal however `run` ends.
struct Raw;

impl Drop for Raw {
    fn drop(&mut self) {
        let _ = terminal::disable_raw_mode();
        let _ = execute!(std::io::stdout(), terminal::LeaveAlternateScreen, cursor::Show);
    }
}

/// Runs until the user quits; an `Err` is a source that cannot be read (exit status 2).
pub fn run(url: &str, interval: Duration, bearer_token: Option<String>) -> Result<(), String> {
    let mut previous = diff::load_source(url, bearer_token.as_deref())?;
    terminal::enable_raw_mode().map_err(|e| format!("the terminal: {e}"))?;
    let _raw = Raw;
    let mut out = std::io::stdout();
    execute!(out, terminal::EnterAlternateScreen, cursor::Hide).map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut table = String::from("(first interval…)\n");
    for refresh in 0u64.. {
        let deadline = Instant::now() + interval;
        // Redraw the progress line every 100 ms until the next scrape; quit on a key.
        while Instant::now() < deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            let screen = format!(
                "picometrics top — {url} — every {:.1} s — q quits\r\n\
                 refresh {refresh}, running {:.0} s, next in {:.1} s\r\n\r\n{}",
                interval.as_secs_f64(),
                started.elapsed().as_secs_f64(),
                left.as_secs_f64(),
                table.replace('\n', "\r\n"),
            );
            execute!(out, cursor::MoveTo(0, 0), terminal::Clear(terminal::ClearType::All))
                .map_err(|e| e.to_string())?;
            out.write_all(screen.as_bytes()).and_then(|()| out.flush()).map_err(|e| e.to_string())?;
            if event::poll(left.min(Duration::from_millis(100))).map_err(|e| e.to_string())? {
                if let Event::Key(key) = event::read().map_err(|e| e.to_string())? {
                    let ctrl_c =
                        key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
                    if matches!(key.code, KeyCode::Char('q') | KeyCode::Esc) || ctrl_c {
                        return Ok(());
                    }
                }
            }
        }
        let now = diff::load_source(url, bearer_token.as_deref())?;
        table = diff::interval_table(&previous, &now, Format::Table);
        previous = now;
    }
    Ok(())
}
