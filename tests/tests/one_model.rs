//! One exposition model, one writer: the same registry through every path gives the same series.
//!
//! * local: `render_prometheus`;
//! * device: `frame::write_dump` → bytes → `picometrics_bridge::Devices` → its `/metrics` text
//!   (identical once the `device` label and the bridge's own family are taken out);
//! * `prometheus` crate: `PicometricsCollector` → `TextEncoder` (the same samples, HELP and TYPE
//!   lines, and descriptors that declare the labels their series carry).

use picometrics::buckets;
use picometrics::objectives::{Objective, ObjectiveLatency, ObjectivePercentile};
use picometrics::picometrics;
use picometrics::schema;
use picometrics_bridge::{Devices, FrameReader};
use prometheus::core::Collector;
use std::collections::{BTreeMap, BTreeSet};

const API: Objective = Objective::new("api")
    .success_rate(ObjectivePercentile::P99_9)
    .latency(ObjectiveLatency::Ms250, ObjectivePercentile::P99);
const HOT: [u64; 6] = buckets::exponential(100, 4);

#[derive(Debug)]
struct Failed;

#[picometrics(objective = API, track_concurrency)]
fn handle(n: u32) -> Result<u32, Failed> {
    if n.is_multiple_of(3) {
        Err(Failed)
    } else {
        Ok(lookup(n) + 1)
    }
}

#[picometrics(buckets = HOT, callers = 2)]
fn lookup(n: u32) -> u32 {
    n.wrapping_mul(7)
}

struct Store;

#[picometrics]
impl Store {
    fn put(&self, n: u32) -> Option<u32> {
        n.is_multiple_of(2).then(|| lookup(n))
    }
}

/// The tests of this file share the registry: each holds this while it calls and reads.
static QUIET: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn exercise() {
    for n in 0..30 {
        let _ = handle(n);
        let _ = Store.put(n);
        lookup(n);
    }
}

/// `name{labels}` → value of every sample, and the set of `#` lines.
type Parsed = (BTreeMap<(String, BTreeMap<String, String>), f64>, BTreeSet<String>);

/// Every sample (through the shared strict reader) by name and labels, no series twice, and
/// the `#` lines.
fn parse(text: &str) -> Parsed {
    let mut samples = BTreeMap::new();
    for s in picometrics_test_support::text::parse(text) {
        let line = format!("{s:?}");
        let key = (s.name, s.labels.into_iter().collect());
        assert!(samples.insert(key, s.value).is_none(), "repeated series: {line}");
    }
    let comments = text.lines().filter(|l| l.starts_with('#')).map(str::to_owned).collect();
    (samples, comments)
}

#[test]
fn local_bridge_and_collector_show_the_same_series() {
    let _quiet = QUIET.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    exercise();
    // Nothing runs meanwhile: every path reads the same counts.
    let mut local = String::new();
    picometrics::render_prometheus(&mut local).unwrap();

    // Through frames and the bridge.
    let mut wire = Vec::new();
    picometrics::frame::write_dump("dev-1", 0, |b| {
        wire.extend_from_slice(b);
        Ok::<_, ()>(())
    })
    .unwrap();
    let devices = Devices::new();
    let mut reader = FrameReader::new();
    devices.feed(&mut reader, &wire, |outcome| assert!(outcome.is_ok(), "{outcome:?}"));
    let bridged = devices.render_to_string();
    let own_family = format!("# HELP {}", schema::BRIDGE_FRAMES_SKIPPED.name);
    let (series, own) = bridged.split_at(bridged.find(&own_family).expect("the bridge's own family"));
    // The bridge's own families follow (skips, device liveness, under its prefix), then each
    // device's dump number and uptime.
    let device_info = [schema::DUMP_NUMBER.name, schema::UPTIME.name];
    assert!(
        own.lines().all(|l| l.contains("picometrics_bridge_") || device_info.iter().any(|n| l.contains(n))),
        "{own}"
    );
    assert!(own.contains("picometrics_dump_number{device=\"dev-1\"} 0\n"), "{own}");
    let device_label = format!("{}=\"dev-1\",", schema::label::DEVICE);
    assert_eq!(series.matches(&device_label).count(), series.lines().filter(|l| !l.starts_with('#')).count());
    for text in [&local, &bridged] {
        assert_eq!(picometrics_test_support::exposition::check_exposition(text), Ok(()));
    }
    // Byte for byte, once the device label is out: one writer, one model.
    assert_eq!(series.replace(&device_label, ""), local);

    // Through the `prometheus` crate.
    let collector = picometrics_exporter::PicometricsCollector::new();
    let registry = prometheus::Registry::new();
    registry.register(Box::new(picometrics_exporter::PicometricsCollector::new())).unwrap();
    let encoded = prometheus::TextEncoder::new().encode_to_string(&registry.gather()).unwrap();
    let (local_samples, local_comments) = parse(&local);
    let (collected_samples, collected_comments) = parse(&encoded);
    assert_eq!(collected_comments, local_comments);
    assert_eq!(collected_samples.len(), local_samples.len());
    for (key, value) in &local_samples {
        let got = collected_samples.get(key).unwrap_or_else(|| panic!("collector lacks {key:?}"));
        assert!((got - value).abs() <= value.abs() * 1e-12, "{key:?}: {got} != {value}");
    }

    // Each descriptor declares labels every series of its family carries; build_info's
    // declares exactly the ones it emits, in order.
    let families = collector.collect();
    for family in &families {
        // Families without series (no function tracks concurrency or its maximum) are left
        // out, so each is matched to its descriptor by name.
        let desc = collector.desc().into_iter().find(|d| d.fq_name == family.name()).expect("a descriptor");
        for m in family.get_metric() {
            let names: Vec<&str> = m.get_label().iter().map(|l| l.name()).collect();
            for declared in &desc.variable_labels {
                assert!(
                    names.contains(&declared.as_str()),
                    "{}: {declared} missing from {names:?}",
                    desc.fq_name
                );
            }
            if desc.fq_name == schema::BUILD_INFO.name {
                assert_eq!(names, desc.variable_labels.iter().map(String::as_str).collect::<Vec<_>>());
            }
        }
    }
    assert!(families.iter().any(|f| f.name() == schema::BUILD_INFO.name));
}

/// The same through OpenMetrics: only the family declarations and `# EOF` differ.
#[test]
fn openmetrics_is_the_same_samples() {
    let _quiet = QUIET.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    exercise();
    let mut text = String::new();
    let mut open = String::new();
    picometrics::render_prometheus(&mut text).unwrap();
    picometrics::render_openmetrics(&mut open).unwrap();
    assert_eq!(parse(&text).0.len(), parse(open.trim_end_matches("# EOF\n")).0.len());
    assert!(open.ends_with("# EOF\n"));
    assert!(open.contains(&format!("# TYPE {} counter", schema::FUNCTION_CALLS.openmetrics_family())));
}
