//! The board's UART, transmit only, as QEMU models it: enough for a byte stream to the host.
//!
//! Register-level on purpose: two registers per board do not justify a PAC and HAL, and a real
//! board's HAL UART would take this module's place (clocks, pins and baud rate set up).

/// The name the frames carry (`device` label on the host).
#[cfg(microbit)]
pub const DEVICE: &str = "microbit";
/// The name the frames carry (`device` label on the host).
#[cfg(not(microbit))]
pub const DEVICE: &str = "lm3s6965evb";

/// nRF51 UART0 (micro:bit).
#[cfg(microbit)]
mod regs {
    const BASE: usize = 0x4000_2000;
    const TASKS_STARTTX: *mut u32 = (BASE + 0x008) as *mut u32;
    const EVENTS_TXDRDY: *mut u32 = (BASE + 0x11C) as *mut u32;
    const ENABLE: *mut u32 = (BASE + 0x500) as *mut u32;
    const TXD: *mut u32 = (BASE + 0x51C) as *mut u32;

    pub fn init() {
        // SAFETY: fixed, aligned MMIO registers of the nRF51's UART0; nothing else uses it.
        unsafe {
            ENABLE.write_volatile(4);
            TASKS_STARTTX.write_volatile(1);
        }
    }

    pub fn write_byte(b: u8) {
        // SAFETY: as in `init`.
        unsafe {
            EVENTS_TXDRDY.write_volatile(0);
            TXD.write_volatile(u32::from(b));
            while EVENTS_TXDRDY.read_volatile() == 0 {}
        }
    }
}

/// Stellaris UART0 (LM3S6965), a PL011.
#[cfg(not(microbit))]
mod regs {
    const BASE: usize = 0x4000_C000;
    const DR: *mut u32 = BASE as *mut u32;
    const FR: *const u32 = (BASE + 0x18) as *const u32;
    const TXFF: u32 = 1 << 5;

    pub fn init() {}

    pub fn write_byte(b: u8) {
        // SAFETY: fixed, aligned MMIO registers of the LM3S6965's UART0; nothing else uses it.
        unsafe {
            while FR.read_volatile() & TXFF != 0 {}
            DR.write_volatile(u32::from(b));
        }
    }
}

/// Transmit half of UART0.
pub struct Uart(());

impl Uart {
    /// Enables the transmitter.
    pub fn take() -> Self {
        regs::init();
        Self(())
    }

    /// Sends `bytes`, blocking until each is accepted.
    pub fn write(&mut self, bytes: &[u8]) {
        bytes.iter().copied().for_each(regs::write_byte);
    }
}
