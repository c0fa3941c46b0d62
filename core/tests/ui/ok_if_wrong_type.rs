fn takes_u8(_: &u8) -> bool {
    true
}

#[picometrics::picometrics(ok_if = takes_u8)]
fn returns_string() -> String {
    String::new()
}

fn main() {}
