//! `build_info` and `service_name`, taken from the crate that uses `#[picometrics]`.
//!
//! Each instrumented function's expansion captures its own crate's `CARGO_PKG_VERSION` and the
//! compile-time environment variables `PICOMETRICS_COMMIT`, `PICOMETRICS_BRANCH`,
//! `PICOMETRICS_SERVICE_NAME` and `PICOMETRICS_REPOSITORY_URL` — never this library's.
//! A program reports one `build_info` series: that of an instrumented function defined in the
//! binary crate if there is one, else that of the first registered function.
//!
//! `service_name` defaults to the package name; with `std`, the runtime environment variables
//! `PICOMETRICS_SERVICE_NAME` and then `OTEL_SERVICE_NAME` override it (read once, on first
//! use).

use crate::registry::functions;

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

/// Reported when no instrumented function is linked at all.
static EMPTY: BuildInfo =
    BuildInfo { version: "", commit: "", branch: "", service_name: "", repository_url: "", is_binary: false };

/// The program's build facts (see the module docs for which crate's).
pub fn build_info() -> &'static BuildInfo {
    let all = functions();
    all.iter().find(|f| f.build.is_binary).or_else(|| all.first()).map_or(&EMPTY, |f| f.build)
}

/// The `service_name` label: the runtime override (std), else the compile-time one.
pub fn service_name() -> &'static str {
    #[cfg(feature = "std")]
    if let Some(name) = runtime_service_name() {
        return name;
    }
    build_info().service_name
}

/// `repository_provider` as autometrics derives it from the repository URL.
pub fn repository_provider(url: &str) -> &'static str {
    // A plain window scan, not `str::contains`: its two-way searcher is ~1 KB of flash in
    // firmware, for URLs of a few dozen bytes.
    let has = |needle: &str| url.as_bytes().windows(needle.len()).any(|w| w == needle.as_bytes());
    if has("github.com") {
        "github"
    } else if has("gitlab") {
        "gitlab"
    } else if has("bitbucket") {
        "bitbucket"
    } else {
        ""
    }
}

#[cfg(feature = "std")]
fn runtime_service_name() -> Option<&'static str> {
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

#[cfg(test)]
mod tests {
    use super::repository_provider;

    #[test]
    fn providers_follow_autometrics() {
        assert_eq!(repository_provider("https://github.com/o/r"), "github");
        assert_eq!(repository_provider("git@gitlab.example.org:o/r.git"), "gitlab");
        assert_eq!(repository_provider("https://bitbucket.org/o/r"), "bitbucket");
        assert_eq!(repository_provider("https://git.sr.ht/~o/r"), "");
        assert_eq!(repository_provider(""), "");
        assert_eq!(repository_provider("github"), "", "the host, not the word");
    }
}
