//! HTTP GET check: a minimal HTTP/1.1 client (one request, `Connection: close`) that only
//! reads the status line, over TCP or TLS (`https://`, certificate not verified: see
//! [`super::tls`]).

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// Where an HTTP check connects (from kaconf's parsed `http_get` URL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    /// Host as written (IPv6 literals without brackets).
    pub host: String,
    /// Port (default 80).
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
    /// `https://`: TLS, certificate not verified.
    pub tls: bool,
}

impl HttpUrl {
    fn host_header(&self) -> String {
        let h = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == if self.tls { 443 } else { 80 } {
            h
        } else {
            format!("{h}:{}", self.port)
        }
    }
}

/// GET `url` and compare the response status with `want` (`None` = any 2xx), all within
/// `timeout`.
pub async fn get(url: &HttpUrl, want: Option<u16>, timeout: Duration) -> Result<(), String> {
    match tokio::time::timeout(timeout, get_status(url)).await {
        Ok(Ok(got)) if want.map_or((200..300).contains(&got), |w| w == got) => Ok(()),
        Ok(Ok(got)) => Err(format!("GET {}: status {got}, want {want:?}", url.path)),
        Ok(Err(e)) => Err(format!("GET {}: {e}", url.path)),
        Err(_) => Err(format!("GET {}: timed out after {timeout:?}", url.path)),
    }
}

async fn get_status(url: &HttpUrl) -> Result<u16, String> {
    let tcp = TcpStream::connect((url.host.as_str(), url.port))
        .await
        .map_err(|e| format!("connect: {e}"))?;
    if url.tls {
        exchange(super::tls::connect(&url.host, tcp).await?, url).await
    } else {
        exchange(tcp, url).await
    }
}

/// Send the request and read the status line.
async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    url: &HttpUrl,
) -> Result<u16, String> {
    let req = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: vrrpd\r\nConnection: close\r\n\r\n",
        url.path,
        url.host_header()
    );
    s.write_all(req.as_bytes())
        .await
        .map_err(|e| format!("write: {e}"))?;
    let mut buf = Vec::with_capacity(256);
    let mut chunk = [0u8; 256];
    while !buf.contains(&b'\n') && buf.len() < 4096 {
        let n = s.read(&mut chunk).await.map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
    }
    parse_status_line(&buf)
}

/// The status code of an HTTP/1.x status line at the start of `buf`.
pub fn parse_status_line(buf: &[u8]) -> Result<u16, String> {
    let line_end = buf
        .iter()
        .position(|&b| b == b'\n')
        .ok_or("no status line")?;
    let line = std::str::from_utf8(buf.get(..line_end).unwrap_or_default())
        .map_err(|_| "status line is not UTF-8")?;
    let mut parts = line.split_whitespace();
    let proto = parts.next().unwrap_or_default();
    if !proto.starts_with("HTTP/1.") {
        return Err(format!("not an HTTP/1.x response: {line:?}"));
    }
    let code = parts.next().unwrap_or_default();
    match code.parse::<u16>() {
        Ok(c) if (100..=999).contains(&c) && code.len() == 3 => Ok(c),
        _ => Err(format!("bad status code in {line:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    #[test]
    fn host_header_brackets_ipv6_and_adds_port() {
        let u = HttpUrl {
            host: "2001:db8::1".into(),
            port: 80,
            path: "/".into(),
            tls: false,
        };
        assert_eq!(u.host_header(), "[2001:db8::1]");
        let u = HttpUrl {
            host: "lb".into(),
            port: 6443,
            path: "/".into(),
            tls: true,
        };
        assert_eq!(u.host_header(), "lb:6443");
    }

    #[test]
    fn status_lines() {
        assert_eq!(parse_status_line(b"HTTP/1.1 200 OK\r\n"), Ok(200));
        assert_eq!(parse_status_line(b"HTTP/1.0 503 x\r\n"), Ok(503));
        assert!(parse_status_line(b"SSH-2.0-OpenSSH\r\n").is_err());
        assert!(parse_status_line(b"HTTP/1.1 2000\r\n").is_err());
        assert!(parse_status_line(b"HTTP/1.1 200").is_err());
    }

    async fn serve(reply: &'static str) -> HttpUrl {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                let mut b = [0u8; 1024];
                let _ = s.read(&mut b).await;
                let _ = s.write_all(reply.as_bytes()).await;
            }
        });
        HttpUrl {
            host: "127.0.0.1".into(),
            port,
            path: "/readyz".into(),
            tls: false,
        }
    }

    #[tokio::test]
    async fn expected_status_is_up_other_is_down() {
        let url = serve("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").await;
        assert!(get(&url, Some(200), Duration::from_secs(2)).await.is_ok());
        assert!(get(&url, None, Duration::from_secs(2)).await.is_ok());
        assert!(get(&url, Some(204), Duration::from_secs(2)).await.is_err());
        let url = serve("HTTP/1.1 503 Unavailable\r\n\r\n").await;
        assert!(get(&url, Some(200), Duration::from_secs(2)).await.is_err());
        assert!(get(&url, None, Duration::from_secs(2)).await.is_err());
    }

    #[tokio::test]
    async fn silent_server_times_out() {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let url = HttpUrl {
            host: "127.0.0.1".into(),
            port,
            path: "/".into(),
            tls: false,
        };
        let e = get(&url, Some(200), Duration::from_millis(100))
            .await
            .unwrap_err();
        assert!(e.contains("timed out"), "{e}");
        drop(l);
    }
}
