//! The `/metrics` HTTP endpoint: hyper's HTTP/1 server on a single-threaded tokio runtime in a
//! thread of its own, so it works in programs that use no async runtime at all.
//!
//! [`Builder`] holds the settings (`config`); [`Builder::serve`] checks them ([`BuildError`]),
//! binds and hands an [`Endpoint`] — the settings and the explorer's running history — to the
//! accept loop (`accept`), which answers each request (`answer`) with a counted body (`body`).

mod accept;
mod answer;
mod body;
mod config;
mod connections;
mod service;

pub use crate::error::BuildError;
pub use config::Builder;
pub use service::{HttpService, ServiceBody};

use crate::explorer;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use tokio::sync::oneshot;

/// Serves `/metrics` on `addr` (e.g. `"127.0.0.1:9464"`) from a background thread.
///
/// Equivalent to `Builder::new().addr(addr)?.serve()`.
#[must_use = "keep the `Server` (dropping it leaves the endpoint running; `shutdown` stops it)"]
pub fn serve(addr: impl ToSocketAddrs) -> Result<Server, BuildError> {
    Builder::new().addr(addr)?.serve()
}

/// A started endpoint's state: its settings, and the explorer's history when it runs.
struct Endpoint {
    config: Builder,
    history: Option<Arc<Mutex<explorer::History>>>,
}

/// Stops the explorer's sampler when dropped.
type Sampler = std::sync::mpsc::Sender<()>;

impl Endpoint {
    /// Checks the settings and starts the explorer's sampler (when the explorer is on): what
    /// both [`Builder::serve`] and [`Builder::into_service`] answer from.
    fn start(config: Builder) -> Result<(Arc<Self>, Option<Sampler>), BuildError> {
        config.validate()?;
        let (history, sampler) = if config.explorer {
            let history = Arc::new(Mutex::new(explorer::History::new(config.history.clone())));
            let source =
                config.history.source.clone().unwrap_or_else(|| Arc::new(picometrics::registry::Registry));
            let sampler = explorer::spawn_sampler(history.clone(), source, config.history.interval)
                .map_err(|source| BuildError::Io { what: "start the explorer's sampler", source })?;
            (Some(history), Some(sampler))
        } else {
            (None, None)
        };
        Ok((Arc::new(Self { config, history }), sampler))
    }
}

/// Requests answered on one connection before it is closed.
const REQUESTS_PER_CONNECTION: usize = 16;

/// The open-connection map, also after a panic elsewhere (it holds only abort handles).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A running endpoint. Dropping it leaves the endpoint running for the life of the program;
/// [`Server::shutdown`] stops it.
#[derive(Debug)]
#[must_use = "keep the `Server` (dropping it leaves the endpoint running; `shutdown` stops it)"]
pub struct Server {
    local_addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    /// Dropping it stops the explorer's sampler.
    sampler: Option<Sampler>,
}

impl Server {
    /// The address it listens on (with the real port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting connections and waits for the server thread to end (the explorer's
    /// sampler stops too).
    pub fn shutdown(mut self) {
        self.sampler = None;
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Server {
    /// Leaves the endpoint running, as documented: the stop signal is never sent (dropping
    /// its sender would stop the accept loop), and the thread is detached.
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            std::mem::forget(stop);
        }
        if let Some(sampler) = self.sampler.take() {
            std::mem::forget(sampler);
        }
    }
}
