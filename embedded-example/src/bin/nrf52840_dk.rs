//! The example on a real board, the nRF52840-DK: the same instrumented functions, a superloop
//! that dumps every 10 seconds on its own (`picometrics::periodic::Every`) as postcard/COBS
//! frames on UART0 (the DK's J-Link virtual COM port, for `picometrics-bridge --serial`) and as
//! defmt over RTT (read by `probe-rs run`). No semihosting: it runs without a debugger too.
//! Steps: `embedded-example/README.md`, "On a real board".
#![no_std]
#![no_main]

#[path = "../board.rs"]
mod board;
#[path = "../clock.rs"]
mod clock;

use cortex_m_rt::entry;
use defmt_rtt as _;
use panic_probe as _;
use picometrics::objectives::{Objective, ObjectiveLatency, ObjectivePercentile};
use picometrics::picometrics;

const SENSOR_SLO: Objective =
    Objective::new("sensor").latency(ObjectiveLatency::Ms5, ObjectivePercentile::P99);

/// Seconds between two dumps.
const DUMP_EVERY_NANOS: u64 = 10_000_000_000;

#[derive(Debug)]
struct ChecksumError;

/// Fails every fifth reading.
#[picometrics]
fn validate(reading: u32) -> Result<u32, ChecksumError> {
    if reading.is_multiple_of(5) {
        Err(ChecksumError)
    } else {
        Ok(reading)
    }
}

/// Reads and validates one sample; its worst case is kept (`track_max`).
#[picometrics(objective = SENSOR_SLO, track_max)]
fn sample(i: u32) -> Result<u32, ChecksumError> {
    let raw = i.wrapping_mul(2_654_435_761) >> 8;
    validate(raw % 100)
}

#[entry]
fn main() -> ! {
    let core = cortex_m::Peripherals::take().unwrap();
    clock::start(core.SYST);
    let mut uart = board::Uart::take();
    let mut every = picometrics::periodic::Every::new(DUMP_EVERY_NANOS);
    let service = picometrics::registry::service_name();
    defmt::info!("{} up; a dump every 10 s", board::DEVICE);
    let mut i = 0u32;
    loop {
        let _ = sample(i);
        i = i.wrapping_add(1);
        every.poll(|info| {
            let framed = picometrics::frame::write_dump_info(board::DEVICE, info, |bytes| {
                uart.write(bytes);
                Ok::<_, core::convert::Infallible>(())
            });
            if let Err(e) = framed {
                defmt::error!("frames: {}", defmt::Debug2Format(&e));
            }
            defmt::info!("dump {} at {} ns uptime", info.seq, info.uptime_nanos);
            for f in picometrics::functions() {
                let _ = f.read(service, &mut |series| {
                    defmt::info!("{}", series);
                    Ok(())
                });
            }
        });
    }
}
