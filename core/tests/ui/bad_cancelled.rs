#[picometrics::picometrics(cancelled = maybe)]
async fn fetch() {}

fn main() {}
