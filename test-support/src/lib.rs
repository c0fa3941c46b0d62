//! What the picometrics tests share, in one crate instead of files included by `#[path]`:
//!
//! * [`text`]: the one reader of the Prometheus text format the tests use (strict: a malformed
//!   line is an error, escapes are decoded), and lookups over its samples;
//! * [`exposition`]: the checker of the exposition rules `promtool check metrics` does not
//!   enforce (broken histograms, a series twice), run on whatever the bridge and the renderer
//!   serve;
//! * [`alloc`]: a global allocator that counts, for the zero-allocation tests and benchmarks.
//!
//! It depends on nothing, so the core's tests can use it under any feature set.

pub mod alloc;
pub mod exposition;
pub mod text;
