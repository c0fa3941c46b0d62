#[picometrics::picometrics(skip)]
fn alone() {}

fn main() {}
