//! Snapshots serialize with serde (feature `serde`). Run with
//! `cargo test -p picometrics --features serde --test serde_snapshot`.
#![cfg(feature = "serde")]

use picometrics::objectives::{Objective, ObjectivePercentile};
use picometrics::picometrics;

const SLO: Objective = Objective::new("s").success_rate(ObjectivePercentile::P95);

#[picometrics(objective = SLO, track_concurrency, buckets = BOUNDS)]
fn leaf(fail: bool) -> Result<(), ()> {
    if fail {
        Err(())
    } else {
        Ok(())
    }
}

const BOUNDS: [u64; 2] = [1_000_000_000, 2_000_000_000];

#[picometrics]
fn parent() {
    let _ = leaf(true);
}

#[test]
fn snapshot_serializes_every_part() {
    let _ = leaf(false);
    parent();
    let d = picometrics::registry::find("leaf", module_path!()).unwrap();
    let json = serde_json::to_value(d.snapshot()).unwrap();
    assert_eq!(json["function"], "leaf");
    assert_eq!(json["bounds"], serde_json::json!([1_000_000_000u64, 2_000_000_000u64]));
    assert_eq!(json["calls"]["root"], serde_json::json!({"ok": 1, "error": 0}));
    assert_eq!(
        json["calls"]["callers"],
        serde_json::json!([{"function": "parent", "module": module_path!(), "calls": {"ok": 0, "error": 1}}])
    );
    assert_eq!(json["histogram"]["counts"], serde_json::json!([2, 0, 0]));
    assert_eq!(json["concurrent"], 0);
    let info = serde_json::to_value(picometrics::registry::build_info()).unwrap();
    assert_eq!(info["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(serde_json::to_value(SLO).unwrap()["success_rate"], "P95");
}
