//! The one source the bridge reads (stdin, a TCP peer, a serial port): opened, read into the
//! devices' dumps, and reopened when it closes.

use crate::log::{lifecycle, log};
use picometrics_bridge::{Committed, Devices, FrameReader};
use std::io::Read;
use std::time::Duration;

/// Where frames come from.
pub(crate) enum Source {
    /// Standard input, read to its end.
    Stdin,
    /// A TCP peer (`HOST:PORT`) that sends frames.
    Tcp(String),
    /// A serial port at `baud`.
    Serial {
        /// The device file (`/dev/ttyACM0`).
        path: String,
        /// Its rate.
        baud: u32,
    },
}

/// Reads the source into `devices` for ever, reopening it a second after it closes or fails;
/// stdin is read once and its last dumps served until the bridge is stopped.
pub(crate) fn read_forever(source: &Source, read_timeout: Duration, devices: &Devices) -> ! {
    let mut reader = FrameReader::new();
    // The last failure to open the source, logged once rather than on every retry.
    let mut failing: Option<String> = None;
    loop {
        match open(source, read_timeout) {
            Ok(stream) => {
                failing = None;
                pump(stream, &mut reader, devices);
                devices.set_source_up(false);
                if reader.pending() > 0 {
                    lifecycle(format_args!(
                        "source closed inside a frame: {} bytes dropped",
                        reader.pending()
                    ));
                }
                reader.reset();
                if let Some(skipped) = devices.source_closed() {
                    lifecycle(format_args!("{skipped}"));
                }
            }
            Err(e) => {
                let e = e.to_string();
                if failing.as_ref() != Some(&e) {
                    lifecycle(format_args!("cannot open the source: {e} (retrying every second)"));
                    failing = Some(e);
                }
            }
        }
        if let Source::Stdin = source {
            // Keep serving the last dumps until stopped.
            lifecycle(format_args!("end of input; still serving"));
            loop {
                std::thread::park();
            }
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

fn open(source: &Source, read_timeout: Duration) -> std::io::Result<Box<dyn Read>> {
    Ok(match source {
        Source::Stdin => Box::new(std::io::stdin()),
        Source::Tcp(addr) => {
            let stream = std::net::TcpStream::connect(addr)?;
            // A peer that goes silent is noticed by the read timeout; one that vanishes without
            // a word (power cut, cable pulled) by TCP keepalive.
            stream.set_read_timeout(Some(read_timeout))?;
            let keepalive = socket2::TcpKeepalive::new()
                .with_time(Duration::from_secs(10))
                .with_interval(Duration::from_secs(5));
            socket2::SockRef::from(&stream).set_tcp_keepalive(&keepalive)?;
            lifecycle(format_args!("connected to {addr}"));
            Box::new(stream)
        }
        Source::Serial { path, baud } => {
            let port = serialport::new(path, *baud).timeout(read_timeout).open()?;
            lifecycle(format_args!("opened {path} at {baud} baud"));
            Box::new(port)
        }
    })
}

/// Reads `stream` to its end, feeding every frame to `devices`.
fn pump(mut stream: Box<dyn Read>, reader: &mut FrameReader, devices: &Devices) {
    let mut buf = [0u8; 4096];
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => {
                devices.set_source_up(true);
                n
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            // Silent for the read timeout: the source is down; reopen it.
            Err(e) if matches!(e.kind(), std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock) => {
                lifecycle(format_args!(
                    "the source sent nothing for its read timeout: marked down, reopening"
                ));
                return;
            }
            Err(e) => {
                lifecycle(format_args!("read failed: {e}"));
                return;
            }
        };
        devices.feed(reader, &buf[..n], |outcome| match outcome {
            Ok(Committed::New { device }) => log(format_args!("first dump from {device:?}")),
            Ok(Committed::Restarted { device, previous_seq, seq }) => log(format_args!(
                "{device:?} restarted (dump {seq} after {previous_seq}): its counters start over"
            )),
            Ok(Committed::Updated { .. }) => {}
            Err(skipped) => log(format_args!("{skipped}")),
        });
    }
}
