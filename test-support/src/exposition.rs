//! A checker of the exposition rules `promtool check metrics` does not enforce (it accepts
//! broken histograms): used by the tests and fuzz targets on whatever the bridge and the
//! renderer serve.

use crate::text::parse_line;
use std::collections::{BTreeMap, BTreeSet};

/// A histogram's identity: its name without `_bucket`, and its labels (sorted) without `le`.
type Histogram = (String, Vec<(String, String)>);

/// Checks `text` (exposition format 0.0.4): every sample line parses, no series appears
/// twice, every family is declared once and owns its sample names alone (no gauge `h_count`
/// beside a histogram `h`: Prometheus would refuse the whole scrape), and every histogram has
/// increasing `le` bounds ending in exactly one `+Inf`, non-decreasing cumulative counts, and a
/// `_count` equal to its `+Inf` bucket.
pub fn check_exposition(text: &str) -> Result<(), String> {
    check_families(text)?;
    let mut seen = BTreeSet::new();
    // Per histogram (name without `_bucket`, labels without `le`): its (le, value)s in order.
    let mut buckets: BTreeMap<Histogram, Vec<(f64, f64)>> = BTreeMap::new();
    let mut counts = BTreeMap::new();
    for line in text.lines().filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let sample = parse_line(line)?;
        let (name, value) = (sample.name, sample.value);
        let mut labels: BTreeMap<String, String> = sample.labels.into_iter().collect();
        if !seen.insert((name.clone(), labels.clone())) {
            return Err(format!("series twice: {line:?}"));
        }
        if let Some(base) = name.strip_suffix("_bucket") {
            let le = labels.remove("le").ok_or_else(|| format!("bucket without le: {line:?}"))?;
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().map_err(|_| format!("bad le: {line:?}"))?
            };
            buckets.entry((base.to_owned(), labels.into_iter().collect())).or_default().push((le, value));
        } else if let Some(base) = name.strip_suffix("_count") {
            counts.insert((base.to_owned(), labels.into_iter().collect::<Vec<_>>()), value);
        }
    }
    for ((name, labels), series) in &buckets {
        let increasing = series.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1);
        let inf = series.iter().filter(|(le, _)| le.is_infinite()).count();
        if !increasing || inf != 1 || series.last().is_some_and(|(le, _)| !le.is_infinite()) {
            return Err(format!("broken histogram {name} {labels:?}: {series:?}"));
        }
        let total = series.last().map(|(_, v)| *v);
        if counts.get(&(name.clone(), labels.clone())).copied() != total {
            return Err(format!("{name}_count of {labels:?} is not its +Inf bucket"));
        }
    }
    Ok(())
}

/// Every `# TYPE` once, and no declared family named like a sample of a declared histogram
/// (`_bucket`, `_sum`, `_count`).
fn check_families(text: &str) -> Result<(), String> {
    let mut types = BTreeMap::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("# TYPE ") else { continue };
        let (name, kind) = rest.split_once(' ').ok_or_else(|| format!("bad TYPE line: {line:?}"))?;
        if types.insert(name.to_owned(), kind.to_owned()).is_some() {
            return Err(format!("family declared twice: {line:?}"));
        }
    }
    for (name, kind) in &types {
        if kind != "histogram" {
            continue;
        }
        for suffix in ["_bucket", "_sum", "_count"] {
            let sample = format!("{name}{suffix}");
            if let Some(other) = types.get(&sample) {
                return Err(format!("family {sample} ({other}) collides with histogram {name}"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_exposition;

    #[test]
    fn accepts_a_good_histogram_and_names_each_breakage() {
        let good = "h_bucket{a=\"x\\\"y\",le=\"1\"} 1\nh_bucket{a=\"x\\\"y\",le=\"+Inf\"} 2\nh_sum{a=\"x\\\"y\"} 3\nh_count{a=\"x\\\"y\"} 2\n";
        assert_eq!(check_exposition(good), Ok(()));
        for bad in [
            "h_bucket{le=\"2\"} 1\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n",
            "h_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n",
            "h_bucket{le=\"1\"} 1\nh_count 1\n",
            "h_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_count 2\n",
            "c_total{a=\"1\"} 1\nc_total{a=\"1\"} 2\n",
            "c_total{a=\"1\",a=\"2\"} 1\n",
            "c_total{a=\"\\x\"} 1\n",
            "# TYPE g gauge\n# TYPE g gauge\ng 1\n",
            "# TYPE h histogram\n# TYPE h_count gauge\nh_count{d=\"b\"} 1\n",
        ] {
            assert!(check_exposition(bad).is_err(), "{bad}");
        }
    }
}
