const UNSORTED: [u64; 3] = [300, 200, 100];

#[picometrics::picometrics(buckets = UNSORTED)]
fn wrong_order() {}

fn main() {}
