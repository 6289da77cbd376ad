//! TCP connect check.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpStream;

/// Connect to `addr` within `timeout`; the connection is returned for the caller to keep or
/// drop.
pub async fn connect(addr: SocketAddr, timeout: Duration) -> Result<TcpStream, String> {
    match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
        Ok(Ok(stream)) => Ok(stream),
        Ok(Err(e)) => Err(format!("connect {addr}: {e}")),
        Err(_) => Err(format!("connect {addr}: timed out after {timeout:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn listening_port_is_up_and_closed_port_is_down() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        assert!(connect(addr, Duration::from_secs(1)).await.is_ok());
        drop(l);
        assert!(connect(addr, Duration::from_secs(1)).await.is_err());
    }
}
