use crate::semihosting::hprint;
use core::fmt::Write;

/// The registry, and for a periodic dump its number and uptime.
pub fn dump(info: Option<picometrics::periodic::DumpInfo>) {
    let mut out = Semihosting::<256>::new();
    let written = picometrics::render_prometheus(&mut out).and_then(|()| match info {
        Some(info) => {
            picometrics::render::write_dump_info(&mut out, info, picometrics::render::Format::Prometheus)
        }
        None => Ok(()),
    });
    if written.and_then(|()| out.flush()).is_err() {
        super::fail(format_args!("rendering failed"));
    }
}

/// Streams text to the host through an `N`-byte buffer: the exposition text never needs to
/// fit in RAM at once.
struct Semihosting<const N: usize> {
    buf: heapless::String<N>,
}

impl<const N: usize> Semihosting<N> {
    fn new() -> Self {
        Self { buf: heapless::String::new() }
    }

    fn flush(&mut self) -> core::fmt::Result {
        hprint!("{}", self.buf);
        self.buf.clear();
        Ok(())
    }
}

impl<const N: usize> Write for Semihosting<N> {
    fn write_str(&mut self, mut s: &str) -> core::fmt::Result {
        while !s.is_empty() {
            let mut take = (N - self.buf.len()).min(s.len());
            while !s.is_char_boundary(take) {
                take -= 1;
            }
            if take == 0 {
                self.flush()?;
                continue;
            }
            // `split_at_checked`: no `str` slicing panic path (its formatting is ~3 KB of flash).
            let (head, tail) = s.split_at_checked(take).ok_or(core::fmt::Error)?;
            self.buf.push_str(head).map_err(|_| core::fmt::Error)?;
            s = tail;
        }
        Ok(())
    }
}
