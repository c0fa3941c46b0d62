//! Runs one case `iters` times, for `valgrind --tool=callgrind --toggle-collect=*run_case*`
//! (or `*run_nested*`, `*run_decode*`, `*run_render*`): only the measured loop is counted, not start-up or
//! calibration.
//!
//! Usage: `callgrind_case <case name> <iters>`

fn main() {
    let mut args = std::env::args().skip(1);
    let name = args.next().expect("case name");
    let iters: u64 = args.next().expect("iterations").parse().expect("a number");
    picometrics_benches::init_peers();
    use picometrics_benches::render_cases;
    let result = if let Some(i) = render_cases::EXPORTER_CASES.iter().position(|c| *c == name) {
        render_cases::many::call_all();
        let functions = render_cases::descriptors(render_cases::CALLGRIND_FUNCTIONS);
        let changing = render_cases::Changing::new(&functions);
        let mut buffer = picometrics_exporter::MetricsBuffer::new();
        render_cases::run_render(&mut buffer, &changing, i == 1, 1);
        render_cases::run_render(&mut buffer, &changing, i == 1, iters) as u64
    } else if name == picometrics_benches::decode_case::NAME {
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
