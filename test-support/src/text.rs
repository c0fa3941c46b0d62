//! The one reader of the Prometheus text format (0.0.4) the tests use: strict — a malformed
//! line, an unknown escape or a repeated label is an error — so a test that reads the output
//! also checks it. (`promtool check metrics` checks the format itself in the workspace tests.)

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The sample's name (`function_calls_total`, `…_bucket`).
    pub name: String,
    /// Its labels in the order written, values unescaped.
    pub labels: Vec<(String, String)>,
    /// Its value (`+Inf`, `-Inf` and `NaN` included).
    pub value: f64,
}

impl Sample {
    /// The value of label `key`, if it has one.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// Parses every sample line (`#` lines and blank lines are skipped); panics on a malformed one.
pub fn parse(text: &str) -> Vec<Sample> {
    try_parse(text).unwrap_or_else(|e| panic!("{e}"))
}

/// Parses every sample line, or says which line is malformed and why.
pub fn try_parse(text: &str) -> Result<Vec<Sample>, String> {
    text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()).map(parse_line).collect()
}

/// Parses one sample line: `name value` or `name{key="value",…} value`.
pub fn parse_line(line: &str) -> Result<Sample, String> {
    let bad = |why: &str| format!("{why}: {line:?}");
    let (name, mut rest) = line.split_at(line.find(['{', ' ']).ok_or_else(|| bad("no value"))?);
    if name.is_empty() {
        return Err(bad("no name"));
    }
    let mut labels: Vec<(String, String)> = Vec::new();
    if let Some(mut r) = rest.strip_prefix('{') {
        loop {
            if let Some(after) = r.strip_prefix('}') {
                r = after;
                break;
            }
            let eq = r.find("=\"").ok_or_else(|| bad("label without value"))?;
            let key = r[..eq].to_owned();
            let mut value = String::new();
            let mut chars = r[eq + 2..].char_indices();
            let end = loop {
                match chars.next().ok_or_else(|| bad("unterminated value"))? {
                    (_, '\\') => match chars.next().ok_or_else(|| bad("dangling escape"))?.1 {
                        'n' => value.push('\n'),
                        c @ ('\\' | '"') => value.push(c),
                        _ => return Err(bad("unknown escape")),
                    },
                    (i, '"') => break eq + 2 + i + 1,
                    (_, c) => value.push(c),
                }
            };
            if labels.iter().any(|(k, _)| *k == key) {
                return Err(bad("repeated label"));
            }
            labels.push((key, value));
            r = &r[end..];
            if let Some(after) = r.strip_prefix(',') {
                r = after;
            } else if !r.starts_with('}') {
                return Err(bad("bad label separator"));
            }
        }
        rest = r;
    }
    let value = match rest.trim() {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        v => v.parse().map_err(|_| bad("bad value"))?,
    };
    Ok(Sample { name: name.to_owned(), labels, value })
}

/// The single sample with this name whose labels include all of `want`.
pub fn value(samples: &[Sample], name: &str, want: &[(&str, &str)]) -> f64 {
    let found: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.name == name && want.iter().all(|(k, v)| s.label(k) == Some(*v)))
        .collect();
    assert_eq!(found.len(), 1, "expected one {name} with {want:?}, found {found:#?}");
    found[0].value
}

/// Every sample with this name whose labels include all of `want`.
pub fn all<'a>(samples: &'a [Sample], name: &str, want: &[(&str, &str)]) -> Vec<&'a Sample> {
    samples.iter().filter(|s| s.name == name && want.iter().all(|(k, v)| s.label(k) == Some(*v))).collect()
}

/// Checks histogram invariants for every function: cumulative buckets never decrease,
/// `+Inf` equals `_count`. Returns the number of histograms checked.
pub fn check_histograms(samples: &[Sample]) -> usize {
    let mut checked = 0;
    for count in samples.iter().filter(|s| s.name == "function_calls_duration_seconds_count") {
        let f = count.label("function").unwrap();
        let m = count.label("module").unwrap();
        let buckets =
            all(samples, "function_calls_duration_seconds_bucket", &[("function", f), ("module", m)]);
        assert!(!buckets.is_empty());
        for pair in buckets.windows(2) {
            assert!(pair[0].value <= pair[1].value, "bucket decreased for {f}: {pair:?}");
        }
        let inf = buckets.last().unwrap();
        assert_eq!(inf.label("le"), Some("+Inf"));
        assert_eq!(inf.value, count.value, "+Inf != _count for {f}");
        checked += 1;
    }
    checked
}
