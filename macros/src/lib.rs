//! The `#[picometrics]` and `#[metric]` attributes. Use it through the `picometrics` crate, which re-exports it
//! and holds everything the generated code refers to.

mod args;
mod buckets;
mod expand;
mod impls;
mod inline;
mod metric;
mod queries;
mod result_labels;

use proc_macro::TokenStream;

/// Instruments a function, an async function, a method or every method of an `impl` block.
///
/// Each instrumented function gets a `static` slot of counters (calls by caller and result,
/// latency histogram, concurrency gauge), is registered at link time, and gets the PromQL
/// queries for its metrics appended to its rustdoc and as a sibling `const <NAME>_QUERIES`.
///
/// Arguments (all optional, comma-separated):
///
/// * `objective = CONST` — a `picometrics::objectives::Objective` the function counts towards.
/// * `track_concurrency` — report `function_calls_concurrent`.
/// * `track_max` — report `function_calls_duration_max_seconds`, the longest call since start
///   (one counter more per function; functions without it pay nothing).
/// * `ok_if = path` / `error_if = path` — classify the result with `fn(&Ret) -> bool` instead of
///   "`Err` is an error" (not both).
/// * `buckets = CONST` — histogram bounds in nanoseconds (a module-level `[u64; N]` const).
/// * `callers = N` — caller edges to keep (default 3, at most 16).
/// * `skip` — on a method inside an instrumented `impl`: leave it alone.
/// * `crate = path` — where the `picometrics` crate is, if renamed or re-exported.
#[proc_macro_attribute]
pub fn picometrics(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(args.into(), item.into()).into()
}

/// Registers a `static` counter, gauge or value histogram (`picometrics::metrics`) as a user
/// metric, rendered with the function metrics and carried in firmware dumps.
///
/// ```ignore
/// /// Bytes written to the radio.
/// #[picometrics::metric(labels(link = "radio"))]
/// static RADIO_BYTES_SENT_TOTAL: Counter = Counter::new();
/// ```
///
/// Arguments (all optional, comma-separated):
///
/// * `name = "…"` — the metric name (default: the static's name in lower case). A counter's
///   ends in `_total`; names follow the Prometheus rules, checked at compile time.
/// * `help = "…"` — the `# HELP` text (default: the static's doc comment).
/// * `labels(key = "value", …)` — constant labels (at most 8).
/// * `crate = path` — where the `picometrics` crate is, if renamed or re-exported.
///
/// Two statics with the same name and labels fail to link.
#[proc_macro_attribute]
pub fn metric(args: TokenStream, item: TokenStream) -> TokenStream {
    metric::expand(args.into(), item.into()).into()
}

/// Derives `picometrics::ResultLabels` for an error type: `#[label(result = "ok")]` on a
/// variant counts an `Err` of it as ok, `#[label(result = "error")]` (or no label) as an error;
/// a label on the type is the default of its variants (and the value of a struct). The
/// generated impl names `::picometrics::ResultLabels`.
///
/// ```ignore
/// #[derive(Debug, picometrics::ResultLabels)]
/// enum LookupError {
///     #[label(result = "ok")]
///     NotFound,
///     Database(String),
/// }
/// ```
#[proc_macro_derive(ResultLabels, attributes(label))]
pub fn derive_result_labels(item: TokenStream) -> TokenStream {
    result_labels::derive(item.into()).into()
}
