//! The firmware example's workload on an ESP32-C3 board (ESP32-C3-DevKitM-1 and the like) with
//! esp-hal: `sample` calls `validate` (caller labels), which fails every fifth reading; a dump
//! of postcard/COBS frames goes out on UART0 (TXD on GPIO21, which the devkits wire to their
//! USB-UART bridge, 115,200 baud) every 10 s, for `picometrics-bridge --serial`.
//!
//! Not run by the tests (there is no ESP32-C3 in Debian's QEMU): they build it and check where
//! the linker put the registry (`tests/tests/firmware_riscv.rs`).
#![no_std]
#![no_main]

use esp_hal::time::{Duration, Instant};
use esp_hal::uart::{self, Uart};
use picometrics::objectives::{Objective, ObjectiveLatency, ObjectivePercentile};
use picometrics::picometrics;

esp_bootloader_esp_idf::esp_app_desc!();

/// The name the frames carry (`device` label on the host).
const DEVICE: &str = "esp32c3-devkit";

/// How often a dump goes out.
const DUMP_EVERY: Duration = Duration::from_secs(10);

const SENSOR_SLO: Objective =
    Objective::new("sensor").latency(ObjectiveLatency::Ms5, ObjectivePercentile::P99);

// esp-hal's `Instant`: the SYSTIMER, read in microseconds since boot.
picometrics::clock!(1_000_000, Instant::now().duration_since_epoch().as_micros());

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

/// Reads and validates one sample.
#[picometrics(objective = SENSOR_SLO)]
fn sample(i: u32) -> Result<u32, ChecksumError> {
    let raw = i.wrapping_mul(2_654_435_761) >> 8;
    validate(raw % 100)
}

#[esp_hal::main]
fn main() -> ! {
    let peripherals = esp_hal::init(esp_hal::Config::default());
    let Ok(uart) = Uart::new(peripherals.UART0, uart::Config::default()) else { panic!("UART0") };
    let mut uart = uart.with_tx(peripherals.GPIO21);
    let (mut i, mut dumps, mut next_dump) = (0u32, 0u32, Instant::now() + DUMP_EVERY);
    loop {
        let _ = sample(i);
        i = i.wrapping_add(1);
        if Instant::now() >= next_dump {
            next_dump += DUMP_EVERY;
            // A frame the UART refuses is dropped: the next dump carries the counts again.
            let _ = picometrics::frame::write_dump(DEVICE, dumps, |mut bytes| {
                while !bytes.is_empty() {
                    let n = uart.write(bytes)?;
                    bytes = &bytes[n..];
                }
                Ok::<_, uart::TxError>(())
            });
            dumps = dumps.wrapping_add(1);
        }
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    esp_hal::system::software_reset()
}
