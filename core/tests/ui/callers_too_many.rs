#[picometrics::picometrics(callers = 17)]
fn crowded() {}

fn main() {}
