//! A tiny HTTP/1.1 server for `GET /metrics`: one request per connection (`Connection:
//! close`), request head capped at 8 KiB and 5 s, at most 4 connections at once. The body is
//! rendered by the event loop (the only owner of the instances), asked through a channel.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, Semaphore};
use tracing::{debug, warn};

use super::render::CONTENT_TYPE;

/// A request for the current exposition text.
pub type Request = oneshot::Sender<String>;

/// Longest accepted request head.
pub const MAX_HEAD: usize = 8192;
/// Time a client has to send its request and read the answer.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections served at once; more are closed at once.
pub const MAX_CONNECTIONS: usize = 4;

/// What a request head asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    /// `GET /metrics` (or `HEAD`; `head_only`).
    Metrics {
        /// `HEAD`: headers only.
        head_only: bool,
    },
    /// Another path.
    NotFound,
    /// Another method.
    MethodNotAllowed,
    /// Not an HTTP/1.x request line.
    BadRequest,
}

/// Route a request head (the bytes up to the blank line).
pub fn route(head: &[u8]) -> Route {
    let Some(end) = head.iter().position(|&b| b == b'\n') else {
        return Route::BadRequest;
    };
    let Ok(line) = std::str::from_utf8(head.get(..end).unwrap_or_default()) else {
        return Route::BadRequest;
    };
    let mut parts = line.trim_end_matches('\r').split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Route::BadRequest;
    };
    if !version.starts_with("HTTP/1.") {
        return Route::BadRequest;
    }
    let path = target.split('?').next().unwrap_or_default();
    match (method, path) {
        ("GET", "/metrics") => Route::Metrics { head_only: false },
        ("HEAD", "/metrics") => Route::Metrics { head_only: true },
        ("GET" | "HEAD", _) => Route::NotFound,
        _ => Route::MethodNotAllowed,
    }
}

/// Serve `listener` until the task is aborted.
pub async fn serve(listener: TcpListener, tx: mpsc::Sender<Request>) {
    let limit = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let sock = match listener.accept().await {
            Ok((s, _)) => s,
            Err(e) => {
                warn!(error = %e, "metrics accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = limit.clone().try_acquire_owned() else {
            continue; // too many at once: dropping closes it
        };
        let tx = tx.clone();
        tokio::spawn(async move {
            let _permit = permit;
            match tokio::time::timeout(CLIENT_TIMEOUT, handle(sock, tx)).await {
                Ok(Err(e)) => debug!(error = %e, "metrics client"),
                Err(_) => debug!("metrics client timed out"),
                Ok(Ok(())) => {}
            }
        });
    }
}

async fn read_head(s: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && !head.windows(2).any(|w| w == b"\n\n") {
        if head.len() >= MAX_HEAD {
            break;
        }
        let n = s.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(buf.get(..n).unwrap_or_default());
    }
    Ok(head)
}

async fn handle(mut s: TcpStream, tx: mpsc::Sender<Request>) -> std::io::Result<()> {
    let head = read_head(&mut s).await?;
    let (status, body, head_only) = match route(&head) {
        Route::Metrics { head_only } => {
            let (otx, orx) = oneshot::channel();
            let body = match tx.send(otx).await {
                Ok(()) => orx.await.ok(),
                Err(_) => None,
            };
            match body {
                Some(b) => ("200 OK", b, head_only),
                None => ("503 Service Unavailable", "stopping\n".to_string(), false),
            }
        }
        Route::NotFound => ("404 Not Found", "try /metrics\n".to_string(), false),
        Route::MethodNotAllowed => ("405 Method Not Allowed", String::new(), false),
        Route::BadRequest => ("400 Bad Request", String::new(), false),
    };
    let ctype = if status.starts_with("200") {
        CONTENT_TYPE
    } else {
        "text/plain; charset=utf-8"
    };
    let mut resp = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    if !head_only {
        resp.push_str(&body);
    }
    s.write_all(resp.as_bytes()).await?;
    s.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(
            route(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
            Route::Metrics { head_only: false }
        );
        assert_eq!(
            route(b"GET /metrics?x=1 HTTP/1.0\r\n\r\n"),
            Route::Metrics { head_only: false }
        );
        assert_eq!(
            route(b"HEAD /metrics HTTP/1.1\r\n\r\n"),
            Route::Metrics { head_only: true }
        );
        assert_eq!(route(b"GET / HTTP/1.1\r\n\r\n"), Route::NotFound);
        assert_eq!(
            route(b"POST /metrics HTTP/1.1\r\n\r\n"),
            Route::MethodNotAllowed
        );
        assert_eq!(route(b"GET /metrics\r\n\r\n"), Route::BadRequest);
        assert_eq!(route(b"\xff\xfe /metrics HTTP/1.1\n"), Route::BadRequest);
        assert_eq!(route(b"GET /metrics HTTP/1.1"), Route::BadRequest);
        assert_eq!(route(b"SSH-2.0-x\r\n"), Route::BadRequest);
    }
}
