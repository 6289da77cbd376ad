//! Running Rust code inside a lab namespace: a thread that `setns`es itself into it.
//!
//! Sockets, netlink connections and `/proc/sys/net` opened by such a thread belong to that
//! namespace, and stay there even when used from elsewhere later.

use std::future::Future;
use std::path::PathBuf;
use std::thread::JoinHandle;

use nix::sched::{setns, CloneFlags};

use crate::error::{Error, Result};

/// Path of a named network namespace (`/run/netns/NAME`).
pub fn netns_path(netns: &str) -> PathBuf {
    PathBuf::from("/run/netns").join(netns)
}

/// Moves the *calling thread* into the named network namespace. Prefer [`run_in_netns`] or
/// [`spawn_in_netns`], which do it on a fresh thread.
pub fn enter_netns(netns: &str) -> Result<()> {
    let path = netns_path(netns);
    let file = std::fs::File::open(&path).map_err(|source| Error::Setns {
        netns: netns.to_string(),
        source,
    })?;
    setns(&file, CloneFlags::CLONE_NEWNET).map_err(|e| Error::Setns {
        netns: netns.to_string(),
        source: e.into(),
    })
}

/// Runs `f` on a scoped thread inside `netns` and returns its result; a panic in `f` is
/// propagated to the caller.
pub fn run_in_netns<F, R>(netns: &str, f: F) -> Result<R>
where
    F: FnOnce() -> R + Send,
    R: Send,
{
    std::thread::scope(|s| {
        let h = std::thread::Builder::new()
            .name(format!("netns-{netns}"))
            .spawn_scoped(s, move || -> Result<R> {
                enter_netns(netns)?;
                Ok(f())
            })
            .map_err(|source| Error::Io {
                what: "spawn netns thread".into(),
                source,
            })?;
        match h.join() {
            Ok(r) => r,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

/// Builds a current-thread tokio runtime (all drivers enabled) and runs the future made by `f`
/// to completion on it, on a scoped thread inside `netns`. The future need not be `Send`.
pub fn block_on_in_netns<F, Fut, R>(netns: &str, f: F) -> Result<R>
where
    F: FnOnce() -> Fut + Send,
    Fut: Future<Output = R>,
    R: Send,
{
    run_in_netns(netns, move || -> Result<R> {
        Ok(current_thread_runtime()?.block_on(f()))
    })?
}

/// A detached thread running inside a namespace; see [`spawn_in_netns`].
pub struct NetnsThread<R> {
    handle: JoinHandle<Result<R>>,
}

impl<R> NetnsThread<R> {
    /// Waits for the thread; a panic in it is propagated to the caller.
    pub fn join(self) -> Result<R> {
        match self.handle.join() {
            Ok(r) => r,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }

    /// Has the thread finished?
    pub fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }
}

/// Runs `f` on a new (unscoped) thread inside `netns`, for code that must run concurrently with
/// the caller (e.g. a receiver in one host while the test sends from another).
pub fn spawn_in_netns<F, R>(netns: &str, f: F) -> Result<NetnsThread<R>>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    spawn_entered(netns, move || Ok(f()))
}

/// Like [`spawn_in_netns`] but runs the future made by `f` on a current-thread tokio runtime.
pub fn spawn_async_in_netns<F, Fut, R>(netns: &str, f: F) -> Result<NetnsThread<R>>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = R>,
    R: Send + 'static,
{
    spawn_entered(netns, move || Ok(current_thread_runtime()?.block_on(f())))
}

/// A thread named after `netns` that enters it, then runs `body`.
fn spawn_entered<R, B>(netns: &str, body: B) -> Result<NetnsThread<R>>
where
    B: FnOnce() -> Result<R> + Send + 'static,
    R: Send + 'static,
{
    let ns = netns.to_string();
    let handle = std::thread::Builder::new()
        .name(format!("netns-{netns}"))
        .spawn(move || -> Result<R> {
            enter_netns(&ns)?;
            body()
        })
        .map_err(|source| Error::Io {
            what: "spawn netns thread".into(),
            source,
        })?;
    Ok(NetnsThread { handle })
}

/// A current-thread tokio runtime with IO and timers, for a namespace's thread.
fn current_thread_runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| Error::Io {
            what: "build tokio runtime".into(),
            source,
        })
}
