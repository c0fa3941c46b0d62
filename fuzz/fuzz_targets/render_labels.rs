//! Label values from a device — any UTF-8 at all — go through the frame encoder, the bridge's
//! decoder and the Prometheus text renderer: the output must parse as the exposition format
//! (every line a comment or `name{labels} value`) and every label value must unescape back to
//! exactly what was sent. The core's `write_escaped` is the escaper on both the registry's and
//! the bridge's path.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use picometrics::frame::{self, Begin, FunctionRecord, Message};
use picometrics::model::Build;
use picometrics::model::{Caller, ObjectiveLabels, Totals};
use picometrics_bridge::{Devices, FrameReader};

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    device: &'a str,
    service: &'a str,
    version: &'a str,
    function: &'a str,
    module: &'a str,
    objective: &'a str,
    percentile: &'a str,
    threshold: u64,
    caller: &'a str,
    caller_module: &'a str,
    ok: u64,
    error: u64,
}

fuzz_target!(|input: Input<'_>| {
    // The escaper alone round-trips.
    for value in [input.device, input.function, input.caller] {
        let mut out = String::new();
        picometrics::__private_v1::render::write_escaped(&mut out, value).unwrap();
        assert_eq!(unescape(&out).as_deref(), Some(value), "escaped {out:?}");
    }

    let build = Build {
        version: input.version,
        commit: "",
        branch: "",
        service_name: input.service,
        repository_url: "",
        extra: None,
    };
    let mut callers = heapless::Vec::new();
    callers
        .push(Caller {
            function: input.caller,
            module: input.caller_module,
            calls: Totals { ok: input.ok, error: 0 },
        })
        .unwrap();
    let function = FunctionRecord {
        function: input.function,
        module: input.module,
        objective: Some(ObjectiveLabels {
            name: input.objective,
            success_percentile: Some(input.percentile),
            latency: Some((input.threshold, input.percentile)),
        }),
        bounds: heapless::Vec::from_slice(&[1_000, 1_000_000]).unwrap(),
        counts: heapless::Vec::from_slice(&[input.ok, 0, input.error]).unwrap(),
        sum_nanos: input.ok.wrapping_mul(3),
        root: Totals { ok: input.ok, error: input.error },
        callers,
        overflow: Totals::default(),
        concurrent: Some(1),
        max_nanos: Some(7),
    };
    let messages = [
        Message::Begin(Begin {
            device: input.device,
            seq: 0,
            build,
            counter_bits: 64,
            uptime_nanos: 0,
            base: None,
        }),
        Message::Function(function),
        Message::End { seq: 0, functions: 1, metrics: 0 },
    ];
    let mut wire = Vec::new();
    let mut buf = [0u8; frame::MAX_FRAME];
    for m in &messages {
        match frame::encode_message(m, &mut buf) {
            Some(bytes) => wire.extend_from_slice(bytes),
            None => return, // names too long for a frame: the encoder refuses, nothing to check
        }
    }
    let devices = Devices::new();
    let mut reader = FrameReader::new();
    let mut rejected = false;
    devices.feed(&mut reader, &wire, |outcome| match outcome {
        Ok(_) => {}
        // A caller named like the uninstrumented or overflow callers, or a label over the
        // bridge's cap: refused by design (its series would collide or exceed the budget).
        Err(picometrics_bridge::Skipped::Invalid { .. }) => rejected = true,
        // The rest of a rejected dump.
        Err(picometrics_bridge::Skipped::OutsideDump) if rejected => {}
        Err(other) => panic!("{other:?}"),
    });
    if rejected {
        assert!(!devices.render_to_string().contains("dev-1"));
        return;
    }
    let text = devices.render_to_string();
    assert_eq!(picometrics_test_support::exposition::check_exposition(&text), Ok(()), "{text}");

    let mut seen = 0;
    for line in text.lines() {
        if line.starts_with("# HELP ") || line.starts_with("# TYPE ") {
            continue;
        }
        let (name, labels, value) =
            parse_sample(line).unwrap_or_else(|| panic!("not a sample line: {line:?}"));
        assert!(name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'), "{name}");
        assert!(value.parse::<f64>().is_ok(), "value {value:?}");
        let get = |k: &str| labels.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
        if name.starts_with("function_calls") {
            assert_eq!(get("device"), Some(input.device));
            assert_eq!(get("function"), Some(input.function));
            assert_eq!(get("module"), Some(input.module));
            assert_eq!(get("service_name"), Some(input.service));
            seen += 1;
        }
        if let Some(caller) = get("caller_function").filter(|c| !c.is_empty()) {
            assert_eq!(caller, input.caller);
        }
        if let Some(o) = get("objective_name") {
            assert_eq!(o, input.objective);
            assert_eq!(get("objective_percentile"), Some(input.percentile));
        }
        if let Some(t) = get("objective_latency_threshold") {
            assert_eq!(t, picometrics::objectives::ObjectiveLatency::from_nanos(input.threshold).to_string());
        }
        if name == "build_info" {
            assert_eq!(get("version"), Some(input.version));
        }
    }
    assert!(seen >= 4 + 3 + 2 + 1, "every series rendered:\n{text}");
});

/// `name{k="v",…} value`, per the text exposition format, with label values unescaped.
fn parse_sample(line: &str) -> Option<(&str, Vec<(String, String)>, &str)> {
    let open = line.find('{')?;
    let name = &line[..open];
    let mut labels = Vec::new();
    let mut rest = &line[open + 1..];
    loop {
        if let Some(after) = rest.strip_prefix('}') {
            let value = after.strip_prefix(' ')?;
            return (!value.contains(' ')).then_some((name, labels, value));
        }
        rest = rest.strip_prefix(',').unwrap_or(rest);
        let eq = rest.find("=\"")?;
        let key = &rest[..eq];
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return None;
        }
        let body = &rest[eq + 2..];
        // The value ends at the first `"` not escaped by a backslash.
        let mut end = None;
        let mut escaped = false;
        for (i, c) in body.char_indices() {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => {
                    end = Some(i);
                    break;
                }
                (false, '\n') => return None,
                _ => {}
            }
        }
        let end = end?;
        labels.push((key.to_owned(), unescape(&body[..end])?));
        rest = &body[end + 1..];
    }
}

/// Undoes the format's three escapes; `None` for any other backslash sequence or a raw newline.
fn unescape(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(match chars.next()? {
                '\\' => '\\',
                '"' => '"',
                'n' => '\n',
                _ => return None,
            }),
            '\n' => return None,
            c => out.push(c),
        }
    }
    Some(out)
}
