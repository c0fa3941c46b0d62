//! Histogram bucket bounds, in nanoseconds, as `const` arrays.
//!
//! A function's slot is sized by its bound array at compile time
//! (`#[picometrics(buckets = MY_BOUNDS)]`), so a hot path that takes nanoseconds can use
//! nanosecond buckets while a request handler keeps the autometrics defaults.
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
    #[should_panic(expected = "strictly increase")]
    fn rejects_unsorted() {
        crate::checks::check_bounds(&[2, 1]);
    }
}
