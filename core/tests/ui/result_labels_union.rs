#[derive(picometrics::ResultLabels)]
union Bits {
    a: u32,
}

fn main() {}
