#[picometrics::picometrics(track_concurency)]
fn typo() {}

fn main() {}
