//! `build_info` and `service_name`, taken from the crate that uses `#[picometrics]`.
//!
//! Each instrumented function's expansion captures its own crate's `CARGO_PKG_VERSION` and the
//! compile-time environment variables `PICOMETRICS_COMMIT`, `PICOMETRICS_BRANCH`,
//! `PICOMETRICS_SERVICE_NAME` and `PICOMETRICS_REPOSITORY_URL` — never this library's.
//! A program reports one `build_info` series ([`crate::registry::build_info`]): that of an
//! instrumented function defined in the binary crate if there is one, else that of the first
//! registered function.
//!
//! `service_name` defaults to the package name; with `std`, the runtime environment variables
//! `PICOMETRICS_SERVICE_NAME` and then `OTEL_SERVICE_NAME` override it (read once, on first
//! use).

/// Build facts of one crate, captured at compile time by [`build_info!`](crate::build_info!).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct BuildInfo {
    /// `CARGO_PKG_VERSION`.
    pub version: &'static str,
    /// `PICOMETRICS_COMMIT` at compile time, or empty.
    pub commit: &'static str,
    /// `PICOMETRICS_BRANCH` at compile time, or empty.
    pub branch: &'static str,
    /// `PICOMETRICS_SERVICE_NAME` at compile time, else `CARGO_PKG_NAME`.
    pub service_name: &'static str,
    /// `PICOMETRICS_REPOSITORY_URL` at compile time, else `CARGO_PKG_REPOSITORY`.
    pub repository_url: &'static str,
    /// Whether the crate is a binary (`CARGO_BIN_NAME` was set): its facts win.
    pub is_binary: bool,
}

/// Captures [`BuildInfo`] for the crate this macro is expanded in.
#[macro_export]
macro_rules! build_info {
    () => {
        $crate::build_info::BuildInfo {
            version: ::core::env!("CARGO_PKG_VERSION"),
            commit: match ::core::option_env!("PICOMETRICS_COMMIT") {
                ::core::option::Option::Some(v) => v,
                ::core::option::Option::None => "",
            },
            branch: match ::core::option_env!("PICOMETRICS_BRANCH") {
                ::core::option::Option::Some(v) => v,
                ::core::option::Option::None => "",
            },
            service_name: match ::core::option_env!("PICOMETRICS_SERVICE_NAME") {
                ::core::option::Option::Some(v) => v,
                ::core::option::Option::None => ::core::env!("CARGO_PKG_NAME"),
            },
            repository_url: match ::core::option_env!("PICOMETRICS_REPOSITORY_URL") {
                ::core::option::Option::Some(v) => v,
                ::core::option::Option::None => ::core::env!("CARGO_PKG_REPOSITORY"),
            },
            is_binary: ::core::option_env!("CARGO_BIN_NAME").is_some(),
        }
    };
}

/// The runtime override of `service_name`, read once.
#[cfg(feature = "std")]
pub(crate) fn runtime_service_name() -> Option<&'static str> {
    extern crate std;
    use std::{boxed::Box, string::String, sync::OnceLock};
    static NAME: OnceLock<Option<&'static str>> = OnceLock::new();
    *NAME.get_or_init(|| {
        let from = |var| std::env::var(var).ok().filter(|v: &String| !v.is_empty());
        // One allocation, once per process, leaked so the name is `&'static`.
        from("PICOMETRICS_SERVICE_NAME")
            .or_else(|| from("OTEL_SERVICE_NAME"))
            .map(|v| &*Box::leak(v.into_boxed_str()))
    })
}
