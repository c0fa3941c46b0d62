use picometrics::objectives::{Objective, ObjectiveLatency, ObjectivePercentile};

const SLO: Objective = Objective::new("x").latency(ObjectiveLatency::Ms250, ObjectivePercentile::P99);
const NANOS: [u64; 3] = [100, 200, 400];

#[picometrics::picometrics(objective = SLO, buckets = NANOS)]
fn fast() {}

fn main() {}
