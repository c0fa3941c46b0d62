//! What the bridge pushes: each device's dump once, stamped with the time it arrived — never
//! a dump already pushed, never the whole store at the time of the push — so that bridges
//! sharing a fleet write the same series for a device whichever took its dump.

use picometrics::frame;
use picometrics::model::Source;
use picometrics::picometrics;
use picometrics_bridge::{Devices, FrameReader};
use picometrics_exporter::push::{remote_write, Snapshots};
use std::time::{Duration, SystemTime};

#[picometrics]
fn sampled() {}

fn feed(devices: &Devices, device: &str, seq: u32) {
    let f = picometrics::registry::find("sampled", module_path!()).unwrap();
    let mut wire = Vec::new();
    frame::write_dump_of(device, seq, [f], |b| {
        wire.extend_from_slice(b);
        Ok::<_, ()>(())
    })
    .unwrap();
    devices.feed(&mut FrameReader::new(), &wire, |outcome| assert!(outcome.is_ok(), "{outcome:?}"));
}

/// The devices and times `since(cursor)` yields, and the next cursor.
fn since(devices: &Devices, cursor: u64) -> (Vec<(String, SystemTime)>, u64) {
    let mut seen = Vec::new();
    let next = devices.since(cursor, &mut |part: &dyn Source, taken| {
        let mut names = Vec::new();
        let _ = part.builds(&mut |b| {
            names.push(b.extra.map(|(_, v)| v.to_owned()).unwrap());
            Ok(())
        });
        assert_eq!(names.len(), 1, "one device per part");
        seen.push((names.remove(0), taken));
    });
    (seen, next)
}

#[test]
fn each_dump_is_pushed_once_at_the_time_it_arrived() {
    sampled();
    let devices = Devices::new();
    let before = SystemTime::now();
    feed(&devices, "a", 1);
    std::thread::sleep(Duration::from_millis(20));
    feed(&devices, "b", 1);
    let (first, cursor) = since(&devices, 0);
    assert_eq!(first.iter().map(|(d, _)| d.as_str()).collect::<Vec<_>>(), ["a", "b"], "oldest first");
    assert!(first[0].1 >= before && first[1].1 >= first[0].1 + Duration::from_millis(20));

    // Nothing new: nothing to push (not the same dumps stamped anew).
    assert_eq!(since(&devices, cursor).0, []);

    // `a` dumps again: only `a`, at its new time.
    feed(&devices, "a", 2);
    let (again, next) = since(&devices, cursor);
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].0, "a");
    assert!(again[0].1 > first[1].1);
    assert!(next > cursor);

    // The request's samples carry that time, not the time of the push.
    let mut stamps = Vec::new();
    devices.since(cursor, &mut |part, taken| {
        let ms = taken.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_millis() as i64;
        let request = remote_write::request(part, &[], ms);
        stamps.extend(request.timeseries.iter().map(|t| t.samples[0].timestamp));
        assert!(request
            .timeseries
            .iter()
            .all(|t| t.labels.iter().any(|l| l.name == "device" && l.value == "a")));
    });
    let expected = again[0].1.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_millis() as i64;
    assert!(!stamps.is_empty() && stamps.iter().all(|&t| t == expected), "{stamps:?} vs {expected}");
}

#[test]
fn a_dump_replaced_before_a_push_took_it_is_counted_superseded() {
    sampled();
    let devices = Devices::new();
    let superseded = |devices: &Devices| -> Option<String> {
        let text = devices.render_to_string();
        text.lines().find(|l| l.starts_with("picometrics_bridge_dumps_superseded_total ")).map(str::to_owned)
    };
    // Nothing pushes yet: no such family (and dumps replaced now are not counted).
    feed(&devices, "a", 1);
    feed(&devices, "a", 2);
    assert_eq!(superseded(&devices), None);
    let (_, cursor) = since(&devices, 0);
    assert_eq!(superseded(&devices).as_deref(), Some("picometrics_bridge_dumps_superseded_total 0"));
    // Dump 3 is replaced by dump 4 before the next push: one superseded; 4 is pushed.
    feed(&devices, "a", 3);
    feed(&devices, "a", 4);
    feed(&devices, "b", 1);
    assert_eq!(superseded(&devices).as_deref(), Some("picometrics_bridge_dumps_superseded_total 1"));
    let (pushed, _) = since(&devices, cursor);
    assert_eq!(pushed.iter().map(|(d, _)| d.as_str()).collect::<Vec<_>>(), ["a", "b"]);
    // Pushed, then replaced: not superseded.
    feed(&devices, "a", 5);
    assert_eq!(superseded(&devices).as_deref(), Some("picometrics_bridge_dumps_superseded_total 1"));
}
