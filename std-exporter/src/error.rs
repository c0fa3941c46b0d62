//! Why a builder could not start what it was asked to: the endpoint ([`Builder`](crate::Builder))
//! or a pusher ([`push::Builder`](crate::push)).

use std::fmt;
use std::io;

/// Why [`Builder::serve`](crate::Builder::serve), [`Builder::addr`](crate::Builder::addr) or a
/// pusher's `start` failed: a setting out of its range, a bad token, URL, header or TLS file,
/// or the system refusing a socket or thread. Each message names the setting and what it
/// allows.
#[derive(Debug)]
#[non_exhaustive]
pub enum BuildError {
    /// The address resolved to no socket address.
    NoAddress,
    /// A setting outside its allowed range.
    OutOfRange {
        /// The setting (`max_connections`, `header_timeout`, `history points`, …).
        setting: &'static str,
        /// The value given.
        value: String,
        /// What it allows, e.g. `1 to 65536`.
        allowed: String,
    },
    /// The bearer token is empty or has spaces or control characters.
    BearerToken,
    /// A push URL that is not `http://` or `https://`.
    Url {
        /// The URL given.
        url: String,
    },
    /// A custom header a pusher cannot send.
    Header {
        /// The header's name.
        name: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// An environment variable (`OTEL_EXPORTER_OTLP_*`) that cannot be used.
    Environment {
        /// The variable.
        variable: &'static str,
        /// What is wrong with its value.
        why: String,
    },
    /// A TLS certificate or key file cannot be used (feature `tls`).
    Tls {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The system refused: the address is taken, or no socket, thread or runtime could be had.
    Io {
        /// What was being done (`bind the address`, `start the server thread`, …).
        what: &'static str,
        /// The system's error.
        source: io::Error,
    },
}

impl BuildError {
    /// The closest [`io::ErrorKind`], for callers that matched on `io::Error` before this type.
    pub fn kind(&self) -> io::ErrorKind {
        match self {
            Self::Io { source, .. } => source.kind(),
            _ => io::ErrorKind::InvalidInput,
        }
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoAddress => f.write_str("the address resolves to nothing"),
            Self::OutOfRange { setting, value, allowed } => {
                write!(f, "{setting} must be {allowed}, not {value}")
            }
            Self::BearerToken => f.write_str("the bearer token must be non-empty visible ASCII (no spaces)"),
            Self::Url { url } => write!(f, "push URL {url:?} must start with http:// or https://"),
            Self::Header { name, why } => write!(f, "header {name:?}: {why}"),
            Self::Environment { variable, why } => write!(f, "{variable}: {why}"),
            Self::Tls { path, reason } => write!(f, "TLS: {}: {reason}", path.display()),
            Self::Io { what, source } => write!(f, "cannot {what}: {source}"),
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// So `?` keeps working in functions that return `io::Result`.
impl From<BuildError> for io::Error {
    fn from(e: BuildError) -> Self {
        io::Error::new(e.kind(), e)
    }
}
