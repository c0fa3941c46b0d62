//! User metrics (`#[picometrics::metric]`) in the one writer: exact values, one header per
//! family (two statics of one family in different modules), escaping, both formats.

use picometrics::metrics::{Counter, Gauge, Histogram};
use picometrics::model::{MetricValue, Source};
use picometrics::registry::Registry;
use picometrics::render::{write, Format};

mod radio {
    /// Bytes sent, by link.
    #[picometrics::metric(name = "link_bytes_sent_total", labels(link = "radio"))]
    pub static SENT: picometrics::metrics::Counter = picometrics::metrics::Counter::new();
}

/// Bytes sent, by link.
#[picometrics::metric(name = "link_bytes_sent_total", labels(link = "uart \"0\"\\\n"))]
static UART_SENT: Counter = Counter::new();

/// Signed level: C:\temp "quoted"
/// and a second line.
#[picometrics::metric]
static TEMPERATURE_DECI_CELSIUS: Gauge = Gauge::new();

/// Received packet sizes in bytes.
#[picometrics::metric(labels(port = "1"))]
static PACKET_BYTES: Histogram<3> = Histogram::new([64, 256, 1024]);

/// The tests share the statics; each holds this while updating and reading them.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn render(format: Format) -> String {
    let mut out = String::new();
    write(&mut out, &Registry, format).unwrap();
    out
}

#[test]
fn exact_values_grouped_escaped_in_both_formats() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    radio::SENT.add(1_000);
    UART_SENT.inc();
    UART_SENT.add(41);
    TEMPERATURE_DECI_CELSIUS.set(-125);
    for v in [10, 64, 65, 300, 2_000, 5_000] {
        PACKET_BYTES.observe(v);
    }

    let text = render(Format::Prometheus);
    let expected = [
        "# HELP link_bytes_sent_total Bytes sent, by link.\n# TYPE link_bytes_sent_total counter\n",
        "link_bytes_sent_total{link=\"radio\"} 1000\n",
        "link_bytes_sent_total{link=\"uart \\\"0\\\"\\\\\\n\"} 42\n",
        "# HELP temperature_deci_celsius Signed level: C:\\\\temp \"quoted\" and a second line.\n",
        "# TYPE temperature_deci_celsius gauge\ntemperature_deci_celsius -125\n",
        "# TYPE packet_bytes histogram\n",
        "packet_bytes_bucket{port=\"1\",le=\"64\"} 2\n",
        "packet_bytes_bucket{port=\"1\",le=\"256\"} 3\n",
        "packet_bytes_bucket{port=\"1\",le=\"1024\"} 4\n",
        "packet_bytes_bucket{port=\"1\",le=\"+Inf\"} 6\n",
        "packet_bytes_sum{port=\"1\"} 7439\npacket_bytes_count{port=\"1\"} 6\n",
    ];
    for piece in expected {
        assert!(text.contains(piece), "missing {piece:?} in\n{text}");
    }
    assert_eq!(text.matches("# TYPE link_bytes_sent_total").count(), 1, "one header per family:\n{text}");
    // Both series of the family follow its header, none elsewhere.
    let header = text.find("# TYPE link_bytes_sent_total").unwrap();
    let first = text.find("link_bytes_sent_total{").unwrap();
    assert!(first > header);
    assert!(text.find("build_info{") < Some(first), "user metrics follow the function families:\n{text}");

    let om = render(Format::OpenMetrics);
    assert!(om.contains("# TYPE link_bytes_sent counter\n"), "{om}");
    assert!(om.contains("link_bytes_sent_total{link=\"radio\"} 1000\n"), "{om}");
    assert!(
        om.contains("# HELP temperature_deci_celsius Signed level: C:\\\\temp \\\"quoted\\\" and"),
        "{om}"
    );
    assert!(om.contains("packet_bytes_count{port=\"1\"} 6\n"), "{om}");
    assert!(om.ends_with("\n# EOF\n") && om.matches("# EOF").count() == 1, "{om}");
}

#[test]
fn the_registry_lists_them_as_a_source() {
    let names: Vec<_> = picometrics::registry::metrics().iter().map(|m| m.name).collect();
    for name in ["link_bytes_sent_total", "temperature_deci_celsius", "packet_bytes"] {
        assert!(names.contains(&name), "{names:?}");
    }
    let mut kinds = Vec::new();
    Registry
        .metrics(&mut |s| {
            if s.name == "packet_bytes" {
                let MetricValue::Histogram { bounds, counts, .. } = s.value else { panic!() };
                assert_eq!((bounds, counts.len()), (&[64, 256, 1024][..], 4));
            }
            // The core's own (with `persist`: boots and resets) are not this test's.
            if !s.name.starts_with("picometrics_") {
                kinds.push((s.name.to_owned(), s.kind()));
            }
            Ok(())
        })
        .unwrap();
    assert_eq!(kinds.len(), 4);
}

/// A dump carries every user metric; decoded, they render to the same text as the registry.
#[cfg(feature = "frames")]
#[test]
fn frames_carry_them_exactly() {
    use picometrics::frame::{self, Message, MetricRecord};
    use picometrics::model::{Build, FunctionSeries, MetricSeries};
    use std::fmt;

    struct Decoded<'a>(&'a [MetricRecord<'a>], u8);
    impl Source for Decoded<'_> {
        fn functions(&self, _: &mut dyn FnMut(&FunctionSeries<'_>) -> fmt::Result) -> fmt::Result {
            Ok(())
        }
        fn builds(&self, _: &mut dyn FnMut(&Build<'_>) -> fmt::Result) -> fmt::Result {
            Ok(())
        }
        fn metrics(&self, each: &mut dyn FnMut(&MetricSeries<'_>) -> fmt::Result) -> fmt::Result {
            self.0.iter().try_for_each(|r| each(&r.series(None, self.1)))
        }
    }

    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut stream = Vec::new();
    frame::write_dump("dev", 1, |bytes| {
        stream.extend_from_slice(bytes);
        Ok::<_, ()>(())
    })
    .unwrap();
    let mut records = Vec::new();
    let (mut bits, mut end) = (0, None);
    for f in stream.split_mut(|&b| b == 0).filter(|f| !f.is_empty()) {
        match frame::decode(f).unwrap() {
            Message::Begin(b) => bits = b.counter_bits,
            Message::Metric(m) => records.push(m),
            Message::End { functions, metrics, .. } => end = Some((functions, metrics)),
            Message::Function(_) | Message::Changed(_) => {}
        }
    }
    // And the core's own with `persist` (boots and resets), in every dump as well.
    let own = records.iter().filter(|m| m.name.starts_with("picometrics_")).count() as u16;
    assert_eq!(own, if cfg!(feature = "persist") { 8 } else { 0 });
    assert_eq!(end, Some((0, 4 + own)), "no functions here, four user metric series");
    let mut local = String::new();
    picometrics::__private_v1::render::write_metrics(&mut local, &Registry, Format::Prometheus).unwrap();
    let mut decoded = String::new();
    picometrics::__private_v1::render::write_metrics(
        &mut decoded,
        &Decoded(&records, bits),
        Format::Prometheus,
    )
    .unwrap();
    assert_eq!(decoded, local);
    assert!(local.contains("link_bytes_sent_total{"), "{local}");
}
