//! Renders the 1,000 generated functions `iters` times, for profiling (`perf`, callgrind).
//!
//! Usage: `render_profile <iters>`

use picometrics_benches::render_cases;

fn main() {
    let iters: u64 = std::env::args().nth(1).map_or(100, |n| n.parse().expect("a number"));
    render_cases::many::call_all();
    let functions = render_cases::descriptors(1_000);
    let mut out = String::with_capacity(4 << 20);
    for _ in 0..iters {
        render_cases::picometrics(&mut out, &functions);
    }
    std::hint::black_box(out);
}
