//! [`ResultLabels`]: an error type that says which of its variants are errors.

use picometrics_schema::{RESULT_ERROR, RESULT_OK};

/// How a function's `Err` values are counted: a type that implements it decides by value
/// (usually by enum variant) whether an `Err(e)` is an error or ok, where `#[picometrics]`
/// otherwise counts every `Err` as an error. Derive it — `#[derive(picometrics::ResultLabels)]`
/// — with `#[label(result = "ok")]` on the variants that are not errors (a variant without the
/// attribute is an error, as is `#[label(result = "error")]`):
///
/// ```
/// #[derive(Debug, picometrics::ResultLabels)]
/// enum LookupError {
///     /// Asking for a user that is not there is the caller's business, not a failure.
///     #[label(result = "ok")]
///     NotFound,
///     Database(String),
/// }
///
/// #[picometrics::picometrics]
/// fn lookup(id: u64) -> Result<String, LookupError> {
///     if id == 0 { Err(LookupError::NotFound) } else { Ok(format!("user {id}")) }
/// }
/// # let _ = lookup(0);
/// ```
///
/// The classification costs the call one `match` on the value; a function with `ok_if` or
/// `error_if` uses those instead.
pub trait ResultLabels {
    /// Whether this value, returned in `Err`, counts as an error.
    fn is_error(&self) -> bool;

    /// The `result` label it is counted under: `"error"` or `"ok"`.
    fn result_label(&self) -> &'static str {
        if self.is_error() {
            RESULT_ERROR
        } else {
            RESULT_OK
        }
    }
}
