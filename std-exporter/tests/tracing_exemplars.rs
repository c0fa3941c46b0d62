//! Exemplars from `tracing` spans (feature `tracing`): a call inside a span given `trace_id` and
//! `span_id` fields leaves them on its bucket in OpenMetrics output; a child span with its own
//! `span_id` keeps its parent's trace; a call outside any span, or in a span without ids,
//! leaves none.
#![cfg(feature = "tracing")]

use picometrics::picometrics;
use picometrics_exporter::exemplars::{current_tracing_span, install_tracing, TracingExemplars};
use tracing_subscriber::layer::SubscriberExt;

#[picometrics]
fn traced() {}

#[picometrics]
fn untraced() {}

/// The exemplar lines of `function`'s buckets.
fn exemplars(function: &str) -> Vec<String> {
    let mut text = String::new();
    picometrics::render_openmetrics(&mut text).unwrap();
    text.lines()
        .filter(|l| {
            l.starts_with("function_calls_duration_seconds_bucket{")
                && l.contains(&format!("function=\"{function}\""))
        })
        .filter_map(|l| l.split_once(" # ").map(|(_, e)| e.to_owned()))
        .collect()
}

#[test]
fn a_span_s_trace_and_span_id_become_the_exemplar() {
    let _default = tracing::subscriber::set_default(tracing_subscriber::registry().with(TracingExemplars));
    assert!(install_tracing());
    assert_eq!(current_tracing_span(), None, "outside any span");
    untraced();
    {
        let request = tracing::info_span!(
            "request",
            trace_id = "0af7651916cd43dd8448eb211c80319c",
            span_id = "b7ad6b7169203331"
        );
        let _in = request.enter();
        let ctx = current_tracing_span().unwrap();
        assert_eq!((ctx.trace_id, ctx.span_id), (0x0af7651916cd43dd8448eb211c80319c, 0xb7ad6b7169203331));
        {
            // A child with a span id of its own (recorded after creation), its parent's trace.
            let child = tracing::info_span!("db", span_id = tracing::field::Empty);
            child.record("span_id", "00f067aa0ba902b7");
            let _in = child.enter();
            let ctx = current_tracing_span().unwrap();
            assert_eq!((ctx.trace_id, ctx.span_id), (0x0af7651916cd43dd8448eb211c80319c, 0x00f067aa0ba902b7));
            // A span without ids inside: the nearest ids win.
            let plain = tracing::info_span!("render");
            let _in = plain.enter();
            assert_eq!(current_tracing_span().unwrap().span_id, 0x00f067aa0ba902b7);
            traced();
        }
    }
    let lines = exemplars("traced");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with(r#"{trace_id="0af7651916cd43dd8448eb211c80319c",span_id="00f067aa0ba902b7"}"#),
        "{lines:?}"
    );
    assert_eq!(exemplars("untraced"), Vec::<String>::new(), "outside a span: no exemplar");
    let plain = tracing::info_span!("no ids");
    let _in = plain.enter();
    assert_eq!(current_tracing_span(), None, "a span without ids");
}
