//! Runs one case `iters` times, for `valgrind --tool=callgrind --toggle-collect=*run_case*`
//! (or `*run_nested*`, `*run_decode*`): only the measured loop is counted, not start-up or
//! calibration.
//!
//! Usage: `callgrind_case <case name> <iters>`

fn main() {
    let mut args = std::env::args().skip(1);
    let name = args.next().expect("case name");
    let iters: u64 = args.next().expect("iterations").parse().expect("a number");
    picometrics_benches::init_peers();
    let result = if name == picometrics_benches::decode_case::NAME {
        let frame = picometrics_benches::decode_case::function_frame();
        picometrics_benches::decode_case::run_decode(&frame, iters)
    } else if name == picometrics_benches::NESTED {
        picometrics_benches::run_nested(iters)
    } else {
        let (_, case) = picometrics_benches::cases()
            .into_iter()
            .find(|(n, _)| *n == name)
            .unwrap_or_else(|| panic!("unknown case {name}"));
        picometrics_benches::run_case(case, iters)
    };
    std::hint::black_box(result);
}
