fn yes(_: &()) -> bool {
    true
}

#[picometrics::picometrics(ok_if = yes, error_if = yes)]
fn both() {}

fn main() {}
