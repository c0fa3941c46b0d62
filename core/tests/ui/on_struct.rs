#[picometrics::picometrics]
struct NotAFunction;

fn main() {}
