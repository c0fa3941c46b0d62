#[picometrics::picometrics(track_concurrency, track_concurrency)]
fn twice() {}

fn main() {}
