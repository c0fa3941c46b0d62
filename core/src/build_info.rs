//! `build_info` and `service_name`, taken from the crate that uses `#[picometrics]`.
//!
//! Each instrumented function's expansion captures its own crate's `CARGO_PKG_VERSION` and
//! compile-time environment variables — never this library's — each the first one set of:
//!
//! | label | variables, in order | else |
//! |---|---|---|
//! | `commit` | `PICOMETRICS_COMMIT`, `AUTOMETRICS_COMMIT`, `VERGEN_GIT_SHA` | empty |
//! | `branch` | `PICOMETRICS_BRANCH`, `AUTOMETRICS_BRANCH`, `VERGEN_GIT_BRANCH` | empty |
//! | `service_name` | `PICOMETRICS_SERVICE_NAME`, `AUTOMETRICS_SERVICE_NAME` | `CARGO_PKG_NAME` |
//! | `repository_url` | `PICOMETRICS_REPOSITORY_URL`, `AUTOMETRICS_REPOSITORY_URL` | `CARGO_PKG_REPOSITORY` |
//!
//! so a crate built for autometrics (or with vergen) reports the same facts. To read commit,
//! branch and repository from git, call [`git`] from the crate's build
//! script (feature `std`; a build outside git gets none and does not fail).
//!
//! A program reports one `build_info` series ([`crate::registry::build_info`]): that of an
//! instrumented function defined in the binary crate if there is one, else that of the first
//! registered function.
//!
//! `service_name` defaults as above; with `std`, the runtime environment variables
//! `PICOMETRICS_SERVICE_NAME`, `AUTOMETRICS_SERVICE_NAME` and then `OTEL_SERVICE_NAME` override
//! it (read once, on first use).

/// Build facts of one crate, captured at compile time by [`build_info!`](crate::build_info!).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct BuildInfo {
    /// `CARGO_PKG_VERSION`.
    pub version: &'static str,
    /// `PICOMETRICS_COMMIT` (or `AUTOMETRICS_COMMIT`, `VERGEN_GIT_SHA`) at compile time, or
    /// empty.
    pub commit: &'static str,
    /// `PICOMETRICS_BRANCH` (or `AUTOMETRICS_BRANCH`, `VERGEN_GIT_BRANCH`) at compile time, or
    /// empty.
    pub branch: &'static str,
    /// `PICOMETRICS_SERVICE_NAME` (or `AUTOMETRICS_SERVICE_NAME`) at compile time, else
    /// `CARGO_PKG_NAME`.
    pub service_name: &'static str,
    /// `PICOMETRICS_REPOSITORY_URL` (or `AUTOMETRICS_REPOSITORY_URL`) at compile time, else
    /// `CARGO_PKG_REPOSITORY`.
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
            commit: $crate::__first_env!("PICOMETRICS_COMMIT", "AUTOMETRICS_COMMIT", "VERGEN_GIT_SHA"; ""),
            branch: $crate::__first_env!("PICOMETRICS_BRANCH", "AUTOMETRICS_BRANCH", "VERGEN_GIT_BRANCH"; ""),
            service_name: $crate::__first_env!(
                "PICOMETRICS_SERVICE_NAME", "AUTOMETRICS_SERVICE_NAME"; ::core::env!("CARGO_PKG_NAME")
            ),
            repository_url: $crate::__first_env!(
                "PICOMETRICS_REPOSITORY_URL", "AUTOMETRICS_REPOSITORY_URL"; ::core::env!("CARGO_PKG_REPOSITORY")
            ),
            is_binary: ::core::option_env!("CARGO_BIN_NAME").is_some(),
        }
    };
}

/// The first of the compile-time environment variables that is set, else `$default`.
#[doc(hidden)]
#[macro_export]
macro_rules! __first_env {
    ($first:literal $(, $rest:literal)*; $default:expr) => {
        match ::core::option_env!($first) {
            ::core::option::Option::Some(v) => v,
            ::core::option::Option::None => $crate::__first_env!($($rest),*; $default),
        }
    };
    (; $default:expr) => {
        $default
    };
}

/// For a build script (`build.rs`): reads the commit, branch and repository URL from git and
/// hands them to the crate's compilation as `PICOMETRICS_COMMIT`, `PICOMETRICS_BRANCH` and
/// `PICOMETRICS_REPOSITORY_URL` — each unless already set — and asks cargo to run the script
/// again when `HEAD` moves. Outside a git checkout, or without `git`, it sets nothing: the build
/// never fails for it.
///
/// ```no_run
/// // In build.rs's `main`, with `picometrics` (feature `std`) in [build-dependencies]:
/// picometrics::build_info::git();
/// ```
#[cfg(feature = "std")]
pub fn git() {
    extern crate std;
    use std::println;
    let dir = std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| ".".into(), std::path::PathBuf::from);
    for (variable, value) in git_facts(&dir) {
        println!("cargo:rustc-env={variable}={value}");
    }
    if let Some(git_dir) = run_git(&dir, &["rev-parse", "--absolute-git-dir"]) {
        println!("cargo:rerun-if-changed={git_dir}/HEAD");
        if let Some(reference) = run_git(&dir, &["symbolic-ref", "-q", "HEAD"]) {
            println!("cargo:rerun-if-changed={git_dir}/{reference}");
        }
    }
    for variable in ["PICOMETRICS_COMMIT", "PICOMETRICS_BRANCH", "PICOMETRICS_REPOSITORY_URL"] {
        println!("cargo:rerun-if-env-changed={variable}");
    }
}

/// What [`git`] hands over for the checkout `dir` is in: `(variable, value)` for each fact git
/// knows and the environment does not set already.
#[cfg(feature = "std")]
pub fn git_facts(dir: &std::path::Path) -> std::vec::Vec<(&'static str, std::string::String)> {
    extern crate std;
    let unset = |variable: &str| std::env::var_os(variable).is_none_or(|v| v.is_empty());
    let mut facts = std::vec::Vec::new();
    let queries: [(&'static str, &[&str]); 3] = [
        ("PICOMETRICS_COMMIT", &["rev-parse", "HEAD"]),
        ("PICOMETRICS_BRANCH", &["rev-parse", "--abbrev-ref", "HEAD"]),
        ("PICOMETRICS_REPOSITORY_URL", &["remote", "get-url", "origin"]),
    ];
    for (variable, args) in queries {
        if unset(variable) {
            if let Some(value) = run_git(dir, args).filter(|v| v != "HEAD") {
                facts.push((variable, value));
            }
        }
    }
    facts
}

/// `git ARGS` in `dir`: its first line of output, or `None` when it fails.
#[cfg(feature = "std")]
fn run_git(dir: &std::path::Path, args: &[&str]) -> Option<std::string::String> {
    extern crate std;
    let out = std::process::Command::new("git").args(args).current_dir(dir).output().ok()?;
    let text = std::string::String::from_utf8(out.stdout).ok()?;
    let line = text.lines().next()?.trim();
    (out.status.success() && !line.is_empty()).then(|| line.into())
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
            .or_else(|| from("AUTOMETRICS_SERVICE_NAME"))
            .or_else(|| from("OTEL_SERVICE_NAME"))
            .map(|v| &*Box::leak(v.into_boxed_str()))
    })
}
