//! The encoder against prost and the text format.

use super::*;
use picometrics::model::{Build, FunctionSeries, MetricSeries, MetricValue, Totals};

struct One;

impl Source for One {
    fn functions(&self, each: &mut dyn FnMut(&FunctionSeries<'_>) -> std::fmt::Result) -> std::fmt::Result {
        each(&FunctionSeries {
            function: "get",
            module: "app",
            service_name: "svc",
            bounds: &[5_000_000, 10_000_000],
            counts: &[2, 1, 1],
            sum_nanos: 1_500_000_000,
            root: Totals { ok: 3, error: 1 },
            concurrent: Some(2),
            ..FunctionSeries::EMPTY
        })
    }
    fn builds(&self, each: &mut dyn FnMut(&Build<'_>) -> std::fmt::Result) -> std::fmt::Result {
        each(&Build {
            version: "1.2.3",
            commit: "abc",
            branch: "main",
            service_name: "svc",
            repository_url: "",
            extra: None,
        })
    }
    fn metrics(&self, each: &mut dyn FnMut(&MetricSeries<'_>) -> std::fmt::Result) -> std::fmt::Result {
        let base = MetricSeries {
            extra: None,
            name: "sent_total",
            help: "Sent.",
            labels: &[("link", "uart")],
            counter_bits: 64,
            value: MetricValue::Counter(7),
        };
        each(&base)?;
        each(&MetricSeries { name: "depth", labels: &[], value: MetricValue::Gauge(-2), ..base })?;
        let value = MetricValue::Histogram { bounds: &[1, 10], counts: &[1, 0, 2], sum: 40 };
        each(&MetricSeries { name: "sizes", labels: &[], value, ..base })
    }
}

/// `name{labels} value` of every series, as text for comparison.
fn lines(r: &WriteRequest) -> Vec<String> {
    r.timeseries
        .iter()
        .map(|t| {
            let labels: Vec<String> = t.labels.iter().map(|l| format!("{}={}", l.name, l.value)).collect();
            format!("{} {}", labels.join(","), t.samples[0].value)
        })
        .collect()
}

/// A function with nothing counted, a device label and an objective: zeros and empty
/// values, which proto3 leaves out.
struct Idle;

impl Source for Idle {
    fn functions(&self, each: &mut dyn FnMut(&FunctionSeries<'_>) -> std::fmt::Result) -> std::fmt::Result {
        let objective = picometrics::model::ObjectiveLabels {
            name: "api",
            success_percentile: Some("99.9"),
            latency: Some((250_000_000, "99")),
        };
        each(&FunctionSeries {
            extra: Some(("device", "d-1")),
            function: "idle",
            module: "app::x",
            objective: Some(objective),
            bounds: &[250_000_000],
            counts: &[0, 0],
            max_nanos: Some(0),
            ..FunctionSeries::EMPTY
        })
    }
    fn builds(&self, _: &mut dyn FnMut(&Build<'_>) -> std::fmt::Result) -> std::fmt::Result {
        Ok(())
    }
    fn metrics(&self, _: &mut dyn FnMut(&MetricSeries<'_>) -> std::fmt::Result) -> std::fmt::Result {
        Ok(())
    }
}

#[test]
fn the_encoder_writes_what_prost_writes_for_the_same_request() {
    let external = [("le".to_owned(), "x".to_owned()), ("a".to_owned(), "1".to_owned())];
    for timestamp in [0, 1_700_000_000_123] {
        let mut encoder = Encoder::new(&external);
        encoder.add(&One, timestamp);
        encoder.add(&Idle, timestamp);
        let written = encoder.finish_uncompressed();
        let decoded: WriteRequest = prost::Message::decode(written.as_slice()).unwrap();
        assert_eq!(prost::Message::encode_to_vec(&decoded), written, "canonical bytes");
        // The same encoder again: nothing left of the first request.
        encoder.add(&Idle, timestamp);
        let again: WriteRequest = prost::Message::decode(encoder.finish_uncompressed().as_slice()).unwrap();
        assert_eq!(again.timeseries.len(), 2 + 2 + 2 + 1, "calls, buckets, sum and count, max");
        let lines = lines(&decoded);
        let has = |want: &str| assert!(lines.iter().any(|l| l == want), "{want} not in {lines:#?}");
        // A label the series has wins over an external one of the same name.
        has("__name__=function_calls_duration_seconds_bucket,a=1,function=get,le=0.005,module=app,service_name=svc 2");
        has("__name__=function_calls_duration_seconds_sum,a=1,function=get,le=x,module=app,service_name=svc 1.5");
        has("__name__=function_calls_total,a=1,caller_function=,caller_module=,device=d-1,function=idle,le=x,module=app::x,objective_name=api,objective_percentile=99.9,result=ok,service_name= 0");
        has("__name__=function_calls_duration_seconds_bucket,a=1,device=d-1,function=idle,le=0.25,module=app::x,objective_latency_threshold=0.25,objective_name=api,objective_percentile=99,service_name= 0");
        has("__name__=function_calls_duration_max_seconds,a=1,device=d-1,function=idle,le=x,module=app::x,service_name= 0");
        assert_eq!(lines.len(), 16 + 7, "{lines:#?}");
        assert!(decoded.timeseries.iter().all(|t| t.samples[0].timestamp == timestamp));
    }
}

#[test]
fn series_are_those_of_the_text_format_with_external_labels() {
    let external = [("job".to_owned(), "app".to_owned()), ("service_name".to_owned(), "ignored".to_owned())];
    let body = encode(&One, &external, 1_700_000_000_000);
    let bytes = snap::raw::Decoder::new().decompress_vec(&body).unwrap();
    let r: WriteRequest = prost::Message::decode(bytes.as_slice()).unwrap();
    let lines = lines(&r);
    let has = |want: &str| assert!(lines.iter().any(|l| l == want), "{want} not in {lines:#?}");
    has("__name__=function_calls_total,caller_function=,caller_module=,function=get,job=app,module=app,result=error,service_name=svc 1");
    has("__name__=function_calls_duration_seconds_bucket,function=get,job=app,le=0.005,module=app,service_name=svc 2");
    has("__name__=function_calls_duration_seconds_bucket,function=get,job=app,le=+Inf,module=app,service_name=svc 4");
    has("__name__=function_calls_duration_seconds_sum,function=get,job=app,module=app,service_name=svc 1.5");
    has("__name__=function_calls_duration_seconds_count,function=get,job=app,module=app,service_name=svc 4");
    has("__name__=function_calls_concurrent,function=get,job=app,module=app,service_name=svc 2");
    assert!(lines.iter().any(|l| l.starts_with("__name__=build_info,autometrics_version=")));
    // User metrics have no `service_name` of their own: the external one is added.
    has("__name__=sent_total,job=app,link=uart,service_name=ignored 7");
    has("__name__=depth,job=app,service_name=ignored -2");
    has("__name__=sizes_bucket,job=app,le=10,service_name=ignored 1");
    has("__name__=sizes_bucket,job=app,le=+Inf,service_name=ignored 3");
    has("__name__=sizes_sum,job=app,service_name=ignored 40");
    has("__name__=sizes_count,job=app,service_name=ignored 3");
    assert_eq!(lines.len(), 2 + 3 + 2 + 1 + 1 + 1 + 1 + 5, "{lines:#?}");
    assert!(r.timeseries.iter().all(|t| t.samples[0].timestamp == 1_700_000_000_000));
    assert!(r.timeseries.iter().all(|t| t.labels.windows(2).all(|w| w[0].name < w[1].name)), "sorted");
    assert_eq!(r.metadata.len(), 5 + 3);
    assert!(r.metadata.iter().any(|m| m.metric_family_name == "sizes" && m.r#type == 3));
}
