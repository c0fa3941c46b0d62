#[picometrics::picometrics]
const fn constant() -> u8 {
    1
}

fn main() {}
