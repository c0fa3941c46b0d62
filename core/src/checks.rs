//! Compile-time checks the attribute emits as `const _: () = …;` items, so misuse fails the
//! build on the argument's span. Reached through `__private_v1` only.

use crate::objectives::Objective;

/// Panics (at compile time when called in a `const`) unless `bounds` are latency bounds
/// [`schema::check_bounds`](picometrics_schema::check_bounds) accepts.
pub const fn check_bounds(bounds: &[u64]) {
    if let Err(e) = picometrics_schema::check_bounds(bounds, true) {
        panic!("{}", e.message());
    }
}

/// Panics (at compile time in the `const` the attribute emits) if `objective` has a latency
/// part whose threshold is not one of `bounds`: its `le` bucket would not exist.
pub const fn check_objective(objective: &Objective, bounds: &[u64]) {
    if let Some((threshold, _)) = objective.latency {
        let t = threshold.as_nanos();
        let mut i = 0;
        while i < bounds.len() {
            if bounds[i] == t {
                return;
            }
            i += 1;
        }
        let mut m = Message::new();
        m.push("picometrics: the objective's latency threshold, ");
        m.push_u64(t);
        m.push(" ns, is not one of this function's bucket bounds (");
        let mut i = 0;
        while i < bounds.len() {
            if i > 0 {
                m.push(", ");
            }
            m.push_u64(bounds[i]);
            i += 1;
        }
        m.push(" ns): add it to the function's `buckets = …` (or to the crate's), or choose one of the bounds as the threshold");
        panic!("{}", m.as_str());
    }
}

/// A compile-time error message with numbers in it (`format!` is not `const`).
struct Message {
    buf: [u8; 1024],
    len: usize,
}

impl Message {
    const fn new() -> Self {
        Self { buf: [0; 1024], len: 0 }
    }

    const fn push(&mut self, s: &str) {
        let b = s.as_bytes();
        let mut i = 0;
        while i < b.len() && self.len < self.buf.len() {
            self.buf[self.len] = b[i];
            self.len += 1;
            i += 1;
        }
    }

    const fn push_u64(&mut self, n: u64) {
        let mut digits = [0u8; 20];
        let (mut n, mut count) = (n, 0);
        loop {
            digits[19 - count] = b'0' + (n % 10) as u8;
            count += 1;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        let mut i = 20 - count;
        while i < 20 && self.len < self.buf.len() {
            self.buf[self.len] = digits[i];
            self.len += 1;
            i += 1;
        }
    }

    const fn as_str(&self) -> &str {
        match core::str::from_utf8(self.buf.split_at(self.len).0) {
            Ok(s) => s,
            // Cut inside a character (the buffer is full): the message without its end.
            Err(e) => match core::str::from_utf8(self.buf.split_at(e.valid_up_to()).0) {
                Ok(s) => s,
                Err(_) => "picometrics: the objective's latency threshold is not a bucket bound",
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buckets::DEFAULT;
    use crate::objectives::{ObjectiveLatency, ObjectivePercentile};

    #[test]
    fn default_bounds_pass() {
        check_bounds(&DEFAULT);
        check_objective(
            &Objective::new("api").latency(ObjectiveLatency::Ms250, ObjectivePercentile::P99),
            &DEFAULT,
        );
    }

    #[test]
    #[should_panic(expected = "not one of this function's bucket bounds")]
    fn threshold_must_be_a_bound() {
        check_objective(
            &Objective::new("x").latency(ObjectiveLatency::Ms5, ObjectivePercentile::P90),
            &[1, 2, 3],
        );
    }
}
