//! A small reader of the text exposition format for assertions (the real parser, promtool,
//! checks the format itself in the workspace tests).
#![allow(dead_code)]

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

impl Sample {
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// Parses every sample line; panics on a malformed one.
pub fn parse(text: &str) -> Vec<Sample> {
    text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()).map(parse_line).collect()
}

fn parse_line(line: &str) -> Sample {
    let (name, rest) = line.split_at(line.find(['{', ' ']).expect("name"));
    let mut labels = Vec::new();
    let mut rest = rest;
    if let Some(r) = rest.strip_prefix('{') {
        let mut chars = r.char_indices().peekable();
        let mut key = String::new();
        let end;
        loop {
            let (i, c) = chars.next().expect("unterminated labels");
            match c {
                '}' => {
                    end = i + 1;
                    break;
                }
                ',' => {}
                '=' => {
                    assert_eq!(chars.next().map(|x| x.1), Some('"'), "{line}");
                    let mut value = String::new();
                    loop {
                        let (_, c) = chars.next().expect("unterminated value");
                        match c {
                            '"' => break,
                            '\\' => match chars.next().expect("escape").1 {
                                'n' => value.push('\n'),
                                other => value.push(other),
                            },
                            other => value.push(other),
                        }
                    }
                    labels.push((std::mem::take(&mut key), value));
                }
                other => key.push(other),
            }
        }
        rest = &r[end..];
    }
    let value = rest.trim();
    let value = match value {
        "+Inf" => f64::INFINITY,
        v => v.parse().unwrap_or_else(|_| panic!("bad value in {line}")),
    };
    Sample { name: name.to_owned(), labels, value }
}

/// Renders the whole registry.
pub fn render() -> String {
    let mut s = String::new();
    picometrics::render_prometheus(&mut s).unwrap();
    s
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
