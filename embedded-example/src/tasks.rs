use embassy_time::Duration;

/// Calls `sample` for ever, yielding to the executor after each call.
#[embassy_executor::task]
pub async fn work() {
    let mut i = 0;
    loop {
        let _ = super::sample(i);
        i = i.wrapping_add(1);
        embassy_futures_yield().await;
    }
}

/// Dumps every 2 ms on embassy-time's Ticker; exits QEMU after the third dump.
#[embassy_executor::task]
pub async fn metrics(#[cfg(feature = "frames")] mut uart: super::board::Uart) {
    picometrics::periodic::dump_every(Duration::from_nanos(super::PERIOD_NANOS), |info| {
        #[cfg(feature = "text")]
        super::text::dump(Some(info));
        #[cfg(feature = "frames")]
        if let Err(e) = picometrics::frame::write_dump_info(super::board::DEVICE, info, |bytes| {
            uart.write(bytes);
            Ok::<_, core::convert::Infallible>(())
        }) {
            super::fail(format_args!("frames: {e}"));
        }
        if info.seq == 2 {
            crate::semihosting::debug::exit(crate::semihosting::debug::EXIT_SUCCESS);
        }
    })
    .await
}

/// Gives the other task a turn (one poll of `Pending` that wakes itself).
async fn embassy_futures_yield() {
    let mut yielded = false;
    core::future::poll_fn(|cx| {
        if yielded {
            core::task::Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            core::task::Poll::Pending
        }
    })
    .await
}
