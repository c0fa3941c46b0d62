//! The board's UART, transmit only, as QEMU models it: enough for a byte stream to the host.
//!
//! Register-level on purpose: two registers per board do not justify a PAC and HAL, and a real
//! board's HAL UART would take this module's place (clocks, pins and baud rate set up).

/// The name the frames carry (`device` label on the host).
#[cfg(microbit)]
pub const DEVICE: &str = "microbit";
/// The name the frames carry (`device` label on the host).
#[cfg(nrf52840)]
pub const DEVICE: &str = "nrf52840-dk";
/// The name the frames carry (`device` label on the host).
#[cfg(riscv_virt)]
pub const DEVICE: &str = "riscv32-virt";
/// The name the frames carry (`device` label on the host).
#[cfg(not(any(microbit, nrf52840, riscv_virt)))]
pub const DEVICE: &str = "lm3s6965evb";

/// Nordic UART0: the nRF51's (micro:bit) and the nRF52840's legacy, non-DMA UART have the same
/// registers. On the nRF52840-DK, TXD goes out on P0.06, which the board wires to its J-Link's
/// virtual COM port (`/dev/ttyACM0`), at 115,200 baud, 8N1; QEMU's micro:bit needs no pin or
/// rate.
#[cfg(any(microbit, nrf52840))]
mod regs {
    const BASE: usize = 0x4000_2000;
    const TASKS_STARTTX: *mut u32 = (BASE + 0x008) as *mut u32;
    const EVENTS_TXDRDY: *mut u32 = (BASE + 0x11C) as *mut u32;
    const ENABLE: *mut u32 = (BASE + 0x500) as *mut u32;
    const TXD: *mut u32 = (BASE + 0x51C) as *mut u32;

    pub fn init() {
        #[cfg(nrf52840)]
        {
            const PSEL_TXD: *mut u32 = (BASE + 0x50C) as *mut u32;
            const BAUDRATE: *mut u32 = (BASE + 0x524) as *mut u32;
            /// GPIO P0 direction-set register: TXD must be an output.
            const P0_DIRSET: *mut u32 = 0x5000_0518 as *mut u32;
            const TX_PIN: u32 = 6;
            const BAUD_115200: u32 = 0x01D7_E000;
            // SAFETY: fixed, aligned MMIO registers of the nRF52840's UART0 and GPIO P0 (product
            // specification v1.7, 6.33 and 6.9); nothing else in this firmware uses them.
            unsafe {
                P0_DIRSET.write_volatile(1 << TX_PIN);
                PSEL_TXD.write_volatile(TX_PIN);
                BAUDRATE.write_volatile(BAUD_115200);
            }
        }
        // SAFETY: fixed, aligned MMIO registers of the chip's UART0; nothing else uses it.
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

/// The `virt` machine's UART0, a 16550 (QEMU needs no rate or line setup).
#[cfg(riscv_virt)]
mod regs {
    const BASE: usize = 0x1000_0000;
    const THR: *mut u8 = BASE as *mut u8;
    const LSR: *const u8 = (BASE + 5) as *const u8;
    /// Line status: the transmit holding register is empty.
    const THRE: u8 = 1 << 5;

    pub fn init() {}

    pub fn write_byte(b: u8) {
        // SAFETY: fixed MMIO registers of the virt machine's 16550; nothing else uses it.
        unsafe {
            while LSR.read_volatile() & THRE == 0 {}
            THR.write_volatile(b);
        }
    }
}

/// Stellaris UART0 (LM3S6965), a PL011.
#[cfg(not(any(microbit, nrf52840, riscv_virt)))]
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
