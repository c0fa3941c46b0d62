//! Histogram bucket bounds, in nanoseconds, as `const` arrays.
//!
//! A function's slot is sized by its bound array at compile time
//! (`#[picometrics(buckets = MY_BOUNDS)]`), so a hot path that takes nanoseconds can use
//! nanosecond buckets while a request handler keeps the autometrics defaults.
//!
//! **One default per crate**: `PICOMETRICS_BUCKETS` in the environment of a crate's
//! compilation sets the bounds of every `#[picometrics]` in it that names none — `hot_path`
//! ([`HOT_PATH`]), `firmware` ([`FIRMWARE`]), `default` ([`DEFAULT`]) or a list of nanoseconds
//! (`100,1000,10000`). Set it from the crate's build script, so it applies to that crate and to
//! no other (a variable in the shell or in `.cargo/config.toml`'s `[env]` applies to every crate
//! of the build, as `DEFMT_LOG` does):
//!
//! ```text
//! // build.rs
//! fn main() {
//!     println!("cargo:rustc-env=PICOMETRICS_BUCKETS=hot_path");
//! }
//! ```
//!
//! The attribute reads it when it expands, and the expansion records it as an input of the
//! crate, so cargo rebuilds the crate when it changes. An environment variable rather than a
//! crate-level item because an attribute sees only its own item: it could not tell whether the
//! crate defined such an item, and requiring one would break every crate that does not.
//!
//! ```
//! use picometrics::buckets;
//! // 100 ns, 200 ns, … 51.2 µs: ten doublings for a hot path.
//! const HOT_PATH: [u64; 10] = buckets::exponential(100, 2);
//! assert_eq!(HOT_PATH[9], 51_200);
//! ```

pub use picometrics_schema::MAX_BOUNDS;

/// Nanoseconds per millisecond.
const MS: u64 = 1_000_000;

/// The autometrics default bounds: 5 ms, 10 ms, 25 ms, 50 ms, 75 ms, 100 ms, 250 ms, 500 ms,
/// 750 ms, 1 s, 2.5 s, 5 s, 7.5 s, 10 s.
pub const DEFAULT: [u64; 14] = [
    5 * MS,
    10 * MS,
    25 * MS,
    50 * MS,
    75 * MS,
    100 * MS,
    250 * MS,
    500 * MS,
    750 * MS,
    1_000 * MS,
    2_500 * MS,
    5_000 * MS,
    7_500 * MS,
    10_000 * MS,
];

/// Hot paths on hosts: 100 ns to 100 ms in 1–2.5–5 steps, with autometrics' bounds (and so its
/// latency thresholds) where the two overlap — 5, 10, 25, 50, 75 and 100 ms: 20 bounds.
pub const HOT_PATH: [u64; 20] = [
    100,
    250,
    500,
    1_000,
    2_500,
    5_000,
    10_000,
    25_000,
    50_000,
    100_000,
    250_000,
    500_000,
    MS,
    2_500_000,
    5 * MS,
    10 * MS,
    25 * MS,
    50 * MS,
    75 * MS,
    100 * MS,
];

/// Firmware: 10 µs to 100 ms, with autometrics' bounds from 5 ms on — as many bounds as
/// [`DEFAULT`] (14), so a slot costs the same RAM.
pub const FIRMWARE: [u64; 14] = [
    10_000,
    25_000,
    50_000,
    100_000,
    250_000,
    500_000,
    MS,
    2_500_000,
    5 * MS,
    10 * MS,
    25 * MS,
    50 * MS,
    75 * MS,
    100 * MS,
];

/// `N` bounds `start`, `start·factor`, `start·factor²`, … (nanoseconds).
///
/// Fails to compile (in a `const`) if the bounds overflow `u64` or are not increasing.
pub const fn exponential<const N: usize>(start_nanos: u64, factor: u64) -> [u64; N] {
    let mut out = [0u64; N];
    let mut i = 0;
    let mut v = start_nanos;
    while i < N {
        out[i] = v;
        i += 1;
        if i < N {
            v = match v.checked_mul(factor) {
                Some(next) => next,
                None => panic!("picometrics: exponential bucket bounds overflow u64 nanoseconds"),
            };
        }
    }
    crate::checks::check_bounds(&out);
    out
}

/// `N` bounds `start`, `start+width`, `start+2·width`, … (nanoseconds).
pub const fn linear<const N: usize>(start_nanos: u64, width_nanos: u64) -> [u64; N] {
    let mut out = [0u64; N];
    let mut i = 0;
    while i < N {
        out[i] = start_nanos + width_nanos * i as u64;
        i += 1;
    }
    crate::checks::check_bounds(&out);
    out
}

#[cfg(test)]
use crate::format::write_seconds;

#[cfg(test)]
mod tests {
    use super::*;
    use heapless::String;

    fn secs(n: u64) -> String<32> {
        let mut s = String::new();
        write_seconds(&mut s, n).unwrap();
        s
    }

    #[test]
    fn seconds_text() {
        assert_eq!(secs(0), "0");
        assert_eq!(secs(5 * MS), "0.005");
        assert_eq!(secs(75 * MS), "0.075");
        assert_eq!(secs(1_000 * MS), "1");
        assert_eq!(secs(2_500 * MS), "2.5");
        assert_eq!(secs(100), "0.0000001");
        assert_eq!(secs(1), "0.000000001");
        assert_eq!(secs(12_345_678_901), "12.345678901");
        assert_eq!(secs(u64::MAX), "18446744073.709551615");
    }

    #[test]
    fn index_is_le_inclusive() {
        let b = [10, 20, 30];
        assert_eq!(crate::slot::bucket_index(&b, 0), 0);
        assert_eq!(crate::slot::bucket_index(&b, 10), 0);
        assert_eq!(crate::slot::bucket_index(&b, 11), 1);
        assert_eq!(crate::slot::bucket_index(&b, 30), 2);
        assert_eq!(crate::slot::bucket_index(&b, 31), 3);
    }

    #[test]
    fn generators() {
        const E: [u64; 4] = exponential(100, 10);
        assert_eq!(E, [100, 1_000, 10_000, 100_000]);
        const L: [u64; 3] = linear(5, 5);
        assert_eq!(L, [5, 10, 15]);
        crate::checks::check_bounds(&DEFAULT);
    }

    #[test]
    fn presets_keep_the_autometrics_bounds_where_they_overlap() {
        for preset in [&HOT_PATH[..], &FIRMWARE[..]] {
            crate::checks::check_bounds(preset);
            let (low, high) = (preset[0], preset[preset.len() - 1]);
            for bound in DEFAULT.iter().filter(|&&b| (low..=high).contains(&b)) {
                assert!(preset.contains(bound), "{bound} ns missing");
            }
        }
        assert_eq!((HOT_PATH[0], HOT_PATH[19]), (100, 100 * MS));
        assert_eq!(FIRMWARE.len(), DEFAULT.len());
    }

    #[test]
    #[should_panic(expected = "strictly increase")]
    fn rejects_unsorted() {
        crate::checks::check_bounds(&[2, 1]);
    }
}
