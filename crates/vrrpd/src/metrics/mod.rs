//! Prometheus metrics (off by default): `--metrics-listen ADDR:PORT` or `global_defs {
//! vrrpd_metrics_listen ADDR:PORT }`. Exactly the configured address is bound; a loopback
//! address is recommended (the endpoint has no authentication).

pub mod render;
pub mod server;

use std::net::SocketAddr;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub use server::Request;

/// A running metrics endpoint.
pub struct Endpoint {
    /// The bound address.
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Endpoint {
    /// Bind `addr` and serve; requests for the text go to `tx`.
    pub fn start(addr: SocketAddr, tx: mpsc::Sender<Request>) -> std::io::Result<Endpoint> {
        let std = std::net::TcpListener::bind(addr)?;
        std.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(std)?;
        let addr = listener.local_addr()?;
        Ok(Endpoint {
            addr,
            task: tokio::spawn(server::serve(listener, tx)),
        })
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.task.abort();
    }
}
