//! Instruments a few functions, calls them, and prints the Prometheus exposition text and the
//! generated queries. Run with `cargo run -p picometrics --example exposition`.

use picometrics::objectives::{Objective, ObjectiveLatency, ObjectivePercentile};
use picometrics::picometrics;
use picometrics::queries::Query;

const API_SLO: Objective = Objective::new("api")
    .success_rate(ObjectivePercentile::P99_9)
    .latency(ObjectiveLatency::Ms250, ObjectivePercentile::P99);

#[derive(Debug)]
struct NotFound;

struct Database;

#[picometrics]
impl Database {
    fn load(&self, id: u32) -> Result<String, NotFound> {
        std::thread::sleep(std::time::Duration::from_millis(u64::from(id % 7)));
        if id.is_multiple_of(10) {
            Err(NotFound)
        } else {
            Ok(format!("user-{id}"))
        }
    }
}

#[picometrics(objective = API_SLO, track_concurrency)]
fn get_user(db: &Database, id: u32) -> Result<String, NotFound> {
    db.load(id)
}

#[picometrics]
fn never_called() {}

fn main() {
    let db = Database;
    let errors = (1..=40).filter(|&id| get_user(&db, id).is_err()).count();
    let mut text = String::new();
    picometrics::render_prometheus(&mut text).expect("writing to a String cannot fail");
    println!("{text}");
    println!("# {errors} of 40 calls returned Err\n");
    println!("# Generated queries for get_user:");
    for q in Query::ALL {
        println!("# {}: {}", q.title(), GET_USER_QUERIES.get(q));
    }
    let _ = never_called;
}
