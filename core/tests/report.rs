//! `report::write_report` shows percentiles with the precision the buckets hold: a function of
//! nanoseconds under the default buckets (first bound 5 ms) reads "< 5 ms", never the 2.50 ms
//! an interpolation from zero would invent; one whose calls fall inside a bucket reads the
//! interpolated value.

mod common;

use picometrics::picometrics;

#[picometrics]
fn fast() -> u64 {
    std::hint::black_box(7)
}

const WIDE: [u64; 3] = [1_000, 1_000_000_000, 2_000_000_000];

/// Every call lands in (1 µs, 1 s]: the interpolation is all the buckets say, shown as such.
#[picometrics(buckets = WIDE)]
fn middling() {
    common::sleep(std::time::Duration::from_micros(50));
}

#[test]
fn the_report_claims_no_more_precision_than_the_buckets_hold() {
    for _ in 0..100 {
        fast();
    }
    for _ in 0..4 {
        middling();
    }
    let mut report = String::new();
    picometrics::report::write_report(&mut report).unwrap();
    let columns = |name: &str| -> Vec<String> {
        let row = report.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("{report}"));
        // function, calls, errors, then "p50", "p95", "p99" as the header has them.
        let header: Vec<&str> = report.lines().next().unwrap().split_whitespace().collect();
        assert_eq!(&header[3..6], ["p50", "p95", "p99"]);
        let mut cells = Vec::new();
        let rest = row[40..].trim_start();
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // calls, errors%, then each percentile is one or two tokens ("< 5 ms" is three).
        let mut i = 2;
        for _ in 0..3 {
            let take = if fields[i] == "<" || fields[i] == ">" { 3 } else { 2 };
            cells.push(fields[i..i + take].join(" "));
            i += take;
        }
        cells
    };
    assert_eq!(columns("fast"), ["< 5 ms", "< 5 ms", "< 5 ms"], "{report}");
    let middle = columns("middling");
    assert!(middle.iter().all(|c| c.ends_with(" ms") && !c.starts_with(['<', '>'])), "{report}");
    assert!(
        !report.contains("2.50 ms") && !report.contains("4.75 ms") && !report.contains("4.95 ms"),
        "{report}"
    );
}
