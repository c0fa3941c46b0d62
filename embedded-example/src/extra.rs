#[cfg(not(feature = "uninstrumented"))]
use picometrics::picometrics;

macro_rules! extra {
    ($($name:ident = $k:literal),*) => {
        $(
            #[cfg_attr(all(not(feature = "uninstrumented"), not(feature = "extra-track-max")), picometrics)]
            #[cfg_attr(all(not(feature = "uninstrumented"), feature = "extra-track-max"), picometrics(track_max))]
            #[inline(never)]
            fn $name(x: u32) -> u32 {
                x.rotate_left($k) ^ $k
            }
        )*
        /// Calls each once.
        pub fn run(x: u32) -> u32 {
            0 $(^ $name(x))*
        }
    };
}
extra!(e1 = 1, e2 = 2, e3 = 3, e4 = 4, e5 = 5, e6 = 6, e7 = 7, e8 = 8);
