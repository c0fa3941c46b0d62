//! Firmware instrumented with `#[picometrics]`: a few functions driven by a loop, timed by
//! SysTick, then the metrics dumped over every channel the features select:
//!
//! - `text` (default): the Prometheus text over semihosting, through a 256-byte buffer;
//! - `frames` (default): postcard/COBS frames on UART0 after each round, for `picometrics-bridge`;
//! - `defmt`: defmt frames over semihosting, decoded on the host by `defmt-print`.
//!
//! Then it prints a summary (calls, errors, stack high-water marks) and exits QEMU through
//! semihosting. Targets: thumbv7em-none-eabihf (Cortex-M4F on QEMU's lm3s6965evb, default),
//! thumbv7m-none-eabi (Cortex-M3, same board), thumbv6m-none-eabi (Cortex-M0 on QEMU's micro:bit:
//! no atomic read-modify-write, so counters go through `critical_section`, implemented here by
//! cortex-m's single-core feature), riscv32imc-unknown-none-elf (RISC-V without atomics, the
//! ESP32-C3's ISA, on QEMU's `virt` machine; the riscv crate's critical section) and
//! riscv32imac-unknown-none-elf (with 32-bit atomics). On RISC-V a machine timer interrupt also
//! calls `heartbeat` while the loop does: counts exact under preemption.
//! `cargo run --release [--target …] [--features …]`.
#![no_std]
#![no_main]

#[cfg(all(feature = "text", feature = "defmt"))]
compile_error!("`text` and `defmt` both write to semihosting's stdout: pick one");
#[cfg(all(feature = "uninstrumented", any(feature = "text", feature = "frames", feature = "defmt")))]
compile_error!("`uninstrumented` has nothing to dump: build it with --no-default-features");

#[cfg(all(
    target_arch = "riscv32",
    any(feature = "defmt", feature = "embassy", feature = "persist", feature = "nrf52840")
))]
compile_error!("defmt, embassy, persist and nrf52840 are Cortex-M features of this firmware");

#[cfg(feature = "frames")]
mod board;
/// SysTick on the Cortex-M, the CLINT's `mtime` on RISC-V: `ticks()`, `start()`, the `clock!`.
#[cfg_attr(target_arch = "riscv32", path = "mtime.rs")]
mod clock;
mod stack;

#[cfg(target_arch = "arm")]
use cortex_m_semihosting as semihosting;
#[cfg(not(feature = "uninstrumented"))]
use picometrics::{
    objectives::{Objective, ObjectiveLatency, ObjectivePercentile},
    picometrics,
};
#[cfg(target_arch = "riscv32")]
use riscv_semihosting as semihosting;
use semihosting::debug;

#[cfg(feature = "defmt")]
use defmt_semihosting as _;

#[cfg(not(feature = "uninstrumented"))]
const SENSOR_SLO: Objective =
    Objective::new("sensor").latency(ObjectiveLatency::Ms5, ObjectivePercentile::P99);

#[derive(Debug)]
struct ChecksumError;

/// Fails every fifth reading.
#[cfg_attr(not(feature = "uninstrumented"), picometrics)]
fn validate(reading: u32) -> Result<u32, ChecksumError> {
    if reading.is_multiple_of(5) {
        Err(ChecksumError)
    } else {
        Ok(reading)
    }
}

/// Reads and validates one sample (calls `validate`: caller labels).
#[cfg_attr(not(feature = "uninstrumented"), picometrics(objective = SENSOR_SLO))]
fn sample(i: u32) -> Result<u32, ChecksumError> {
    let raw = i.wrapping_mul(2_654_435_761) >> 8;
    validate(raw % 100)
}

#[cfg_attr(not(feature = "uninstrumented"), picometrics)]
fn never_called() {}

/// Called by the loop and, on RISC-V, by the machine timer interrupt in between: one slot
/// updated from two contexts, the interrupt preempting the loop's call anywhere.
#[cfg(target_arch = "riscv32")]
#[cfg_attr(not(feature = "uninstrumented"), picometrics)]
fn heartbeat() {
    core::hint::black_box(());
}

/// `heartbeat` calls the loop makes while the timer interrupt runs.
#[cfg(target_arch = "riscv32")]
const HEARTBEATS: u32 = 2_000;

/// Fast, but every tenth call waits on the clock for 1 ms (`WORST_CASE_TICKS`): the slow path
/// whose duration `track_max` must report.
#[cfg(feature = "worst-case")]
#[cfg_attr(not(feature = "uninstrumented"), picometrics(track_max))]
fn flush(i: u32) {
    if i % 10 == 9 {
        let until = clock::ticks() + WORST_CASE_TICKS;
        while clock::ticks() < until {}
    }
}

/// `flush`'s slow path: 1 ms of clock ticks.
#[cfg(feature = "worst-case")]
const WORST_CASE_TICKS: u64 = clock::HZ as u64 / 1000;

/// Functions that exist for the size report: each does a little different work so the
/// compiler cannot merge them.
#[cfg(feature = "extra-functions")]
mod extra;

/// User metrics: statics registered at link time, dumped with the functions on every channel.
#[cfg(feature = "user-metrics")]
mod user;

/// Instructions per call, measured in virtual time (feature `instructions`; see Cargo.toml).
#[cfg(feature = "instructions")]
mod instructions;

/// Rounds of the loop; the frames are dumped after each.
const ROUNDS: u32 = 2;
/// `sample` calls per round.
const PER_ROUND: u32 = 25;

/// The periodic dumps' interval: 2 ms of uptime.
#[cfg(any(feature = "periodic", feature = "embassy-periodic"))]
const PERIOD_NANOS: u64 = 2_000_000;

/// Calls `sample` until three periodic dumps have gone out; returns (calls, errors).
#[cfg(feature = "periodic")]
fn periodic_superloop(#[cfg(feature = "frames")] uart: &mut board::Uart) -> (u32, u32) {
    let mut every = picometrics::periodic::Every::new(PERIOD_NANOS);
    let (mut calls, mut errors, mut dumps) = (0, 0, 0);
    while dumps < 3 {
        if sample(calls).is_err() {
            errors += 1;
        }
        calls += 1;
        every.poll(|info| {
            #[cfg(feature = "text")]
            text::dump(Some(info));
            #[cfg(feature = "frames")]
            if let Err(e) = picometrics::frame::write_dump_info(board::DEVICE, info, |bytes| {
                uart.write(bytes);
                Ok::<_, core::convert::Infallible>(())
            }) {
                fail(format_args!("frames: {e}"));
            }
            dumps += 1;
        });
    }
    (calls, errors)
}

/// The embassy variant: `sample` in one task, the periodic dump in another.
#[cfg(feature = "embassy-periodic")]
mod tasks;

/// The reset cause the chip reports, as far as QEMU models it: the LM3S6965's RESC (its SW bit
/// is set by SYSRESETREQ) and the nRF51's RESETREAS (SREQ); anything unset reads as unknown.
#[cfg(feature = "persist")]
fn hardware_reset_reason() -> picometrics::persist::ResetReason {
    use picometrics::persist::ResetReason;
    #[cfg(not(microbit))]
    let (register, bits) = (
        0x400F_E05C as *mut u32,
        [
            (3, ResetReason::Watchdog),
            (4, ResetReason::Software),
            (2, ResetReason::Brownout),
            (0, ResetReason::Pin),
            (1, ResetReason::PowerOn),
        ],
    );
    #[cfg(microbit)]
    let (register, bits) = (
        0x4000_0400 as *mut u32,
        [
            (1, ResetReason::Watchdog),
            (2, ResetReason::Software),
            (3, ResetReason::Lockup),
            (0, ResetReason::Pin),
        ],
    );
    // SAFETY: the reset-cause register of the board's system controller (LM3S6965 datasheet
    // 6.4, RESC; nRF51 reference manual 12.1, RESETREAS): aligned, readable, reading has no
    // side effect.
    let cause = unsafe { register.read_volatile() };
    // The causes are sticky until cleared (writing ones clears them on both chips).
    // SAFETY: as above; writing the bits read clears exactly those causes.
    unsafe { register.write_volatile(cause) };
    bits.into_iter().find(|&(bit, _)| cause & (1 << bit) != 0).map_or(ResetReason::Unknown, |(_, r)| r)
}

#[cfg_attr(target_arch = "arm", cortex_m_rt::entry)]
#[cfg_attr(target_arch = "riscv32", riscv_rt::entry)]
// The embassy variant's executor never returns: what follows is the other variants'.
#[cfg_attr(feature = "embassy-periodic", allow(unreachable_code, unused_mut))]
fn main() -> ! {
    // Before anything is counted: keep the counts a warm reset left, or start over.
    #[cfg(feature = "persist")]
    let boot = picometrics::persist::boot(hardware_reset_reason());
    #[cfg(target_arch = "arm")]
    clock::start(cortex_m::Peripherals::take().unwrap().SYST);
    #[cfg(target_arch = "riscv32")]
    clock::start();
    #[cfg(feature = "frames")]
    let mut uart = board::Uart::take();

    #[cfg(feature = "embassy-periodic")]
    {
        static EXECUTOR: static_cell::StaticCell<embassy_executor::Executor> = static_cell::StaticCell::new();
        EXECUTOR.init(embassy_executor::Executor::new()).run(|spawner| {
            spawner.spawn(tasks::work()).expect("the work task");
            spawner
                .spawn(tasks::metrics(
                    #[cfg(feature = "frames")]
                    uart,
                ))
                .expect("the metrics task");
        })
    }

    #[cfg(feature = "periodic")]
    {
        stack::paint();
        let (calls, errors) = periodic_superloop(
            #[cfg(feature = "frames")]
            &mut uart,
        );
        summary(calls, errors, 0, stack::peak(), stack::peak());
        debug::exit(debug::EXIT_SUCCESS);
    }

    stack::paint();
    // First, so that every dump carries the final count.
    #[cfg(target_arch = "riscv32")]
    {
        clock::start_interrupts();
        for _ in 0..HEARTBEATS {
            heartbeat();
        }
        let interrupts = clock::stop_interrupts();
        semihosting::hprint!(
            "# interrupts: {} heartbeat calls from the loop, {} from the timer\n",
            HEARTBEATS,
            interrupts
        );
    }
    let mut errors = 0;
    // One 32-bit total twice per function: 8 × 8 + 16 bytes of stack.
    #[cfg(feature = "deltas")]
    let mut baseline = picometrics::frame::Baseline::<8>::new();
    #[cfg_attr(not(feature = "extra-functions"), allow(unused_mut))]
    let mut extra = 0;
    for round in 0..ROUNDS {
        for i in round * PER_ROUND..(round + 1) * PER_ROUND {
            let failed = sample(i).is_err();
            if failed {
                errors += 1;
            }
            #[cfg(feature = "user-metrics")]
            user::record(i, failed);
            #[cfg(feature = "extra-functions")]
            {
                extra ^= extra::run(i);
            }
            #[cfg(feature = "worst-case")]
            flush(i);
        }
        #[cfg(all(feature = "frames", not(feature = "deltas")))]
        if let Err(e) = picometrics::frame::write_dump(board::DEVICE, round, |bytes| {
            uart.write(bytes);
            Ok::<_, core::convert::Infallible>(())
        }) {
            fail(format_args!("frames: {e}"));
        }
        #[cfg(feature = "deltas")]
        {
            let info = picometrics::periodic::DumpInfo {
                seq: round,
                uptime_nanos: picometrics::clock::uptime_nanos(),
            };
            if let Err(e) = baseline.write_dump(board::DEVICE, info, |bytes| {
                uart.write(bytes);
                Ok::<_, core::convert::Infallible>(())
            }) {
                fail(format_args!("frames: {e}"));
            }
            // QEMU's UART delivers every byte: written is acknowledged (a radio would wait for
            // the bridge's answer).
            baseline.acknowledge(round);
        }
    }
    let _ = never_called;
    let loop_stack = stack::peak();
    #[cfg(feature = "instructions")]
    instructions::report();
    #[cfg(feature = "persist")]
    {
        semihosting::hprint!(
            "# boot {}: restored {}, reason {}\n",
            boot.boots,
            boot.restored,
            boot.reason.label()
        );
        if boot.boots == 1 {
            // Reset mid-run: the second boot carries on from these counts.
            picometrics::persist::mark_reset_imminent(picometrics::persist::ResetReason::Software);
            cortex_m::peripheral::SCB::sys_reset();
        }
    }

    #[cfg(feature = "text")]
    text::dump(None);
    #[cfg(feature = "defmt")]
    dump_defmt();

    summary(ROUNDS * PER_ROUND, errors, extra, loop_stack, stack::peak());
    debug::exit(debug::EXIT_SUCCESS);
    halt()
}

/// Waits for ever (after QEMU's exit, which does not return).
fn halt() -> ! {
    loop {
        #[cfg(target_arch = "arm")]
        cortex_m::asm::wfi();
        #[cfg(target_arch = "riscv32")]
        riscv::asm::wfi();
    }
}

/// Each registered function's series as one defmt frame (`defmt::Format` of the exposition
/// model's view, read on the slot's own small stack frame), then `build_info`, then each user
/// metric's series.
#[cfg(feature = "defmt")]
fn dump_defmt() {
    let service = picometrics::registry::service_name();
    for f in picometrics::functions() {
        let _ = f.read(service, &mut |series| {
            defmt::info!("{}", series);
            Ok(())
        });
    }
    defmt::info!("{}", picometrics::registry::build_info());
    // Only with user metrics: the loop would link their `defmt::Format` (about 1 KB) for none.
    #[cfg(feature = "user-metrics")]
    for m in picometrics::registry::metrics() {
        let _ = m.read(&mut |series| {
            defmt::info!("{}", series);
            Ok(())
        });
    }
}

/// The Prometheus text, streamed through a small buffer.
#[cfg(feature = "text")]
mod text;

/// One line the tests and the size report read: what the loop did, and the peak stack of the
/// loop (with the frame dumps, if on) and of everything up to now (the other dumps).
fn summary(calls: u32, errors: u32, extra: u32, loop_stack: u32, peak_stack: u32) {
    #[cfg(feature = "defmt")]
    defmt::info!(
        "firmware: {} calls, {} errors, extra {}, stack {} B, dumps {} B",
        calls,
        errors,
        extra,
        loop_stack,
        peak_stack
    );
    #[cfg(not(feature = "defmt"))]
    semihosting::hprint!(
        "# firmware: {} calls, {} errors, extra {}, stack {} B, dumps {} B\n",
        calls,
        errors,
        extra,
        loop_stack,
        peak_stack
    );
}

fn fail(why: core::fmt::Arguments<'_>) -> ! {
    #[cfg(feature = "defmt")]
    defmt::error!("{}", defmt::Display2Format(&why));
    #[cfg(not(feature = "defmt"))]
    semihosting::hprint!("error: {}\n", why);
    debug::exit(debug::EXIT_FAILURE);
    halt()
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    fail(format_args!("{info}"))
}
