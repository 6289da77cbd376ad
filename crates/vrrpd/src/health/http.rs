//! HTTP GET check: a minimal HTTP/1.1 client (one request, `Connection: close`) that only
//! reads the status line. `https://` URLs are parsed but refused at configuration time until
//! TLS support lands (see [`HttpUrl::parse`]).

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A parsed `http://host[:port][/path]` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    /// Host as written (IPv6 literals without brackets).
    pub host: String,
    /// Port (default 80).
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
}

impl HttpUrl {
    /// Parse a URL; errors name the problem.
    pub fn parse(url: &str) -> Result<HttpUrl, String> {
        let rest = if let Some(r) = url.strip_prefix("http://") {
            r
        } else if url.starts_with("https://") {
            return Err(format!("{url}: https is not supported yet (use http://)"));
        } else {
            return Err(format!("{url}: URL must start with http://"));
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.is_empty() {
            return Err(format!("{url}: missing host"));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, tail) = v6
                .split_once(']')
                .ok_or_else(|| format!("{url}: unterminated IPv6 literal"))?;
            let port = match tail.strip_prefix(':') {
                Some(p) => Some(p),
                None if tail.is_empty() => None,
                None => return Err(format!("{url}: junk after IPv6 literal")),
            };
            (h.to_string(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p)),
                None => (authority.to_string(), None),
            }
        };
        let port = match port {
            Some(p) => p.parse().map_err(|_| format!("{url}: bad port {p:?}"))?,
            None => 80,
        };
        if host.is_empty() || host.chars().any(|c| c.is_whitespace()) {
            return Err(format!("{url}: bad host"));
        }
        if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!("{url}: bad path"));
        }
        Ok(HttpUrl {
            host,
            port,
            path: path.to_string(),
        })
    }

    fn host_header(&self) -> String {
        let h = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == 80 {
            h
        } else {
            format!("{h}:{}", self.port)
        }
    }
}

/// GET `url` and compare the response status with `want`, all within `timeout`.
pub async fn get(url: &HttpUrl, want: u16, timeout: Duration) -> Result<(), String> {
    match tokio::time::timeout(timeout, get_status(url)).await {
        Ok(Ok(got)) if got == want => Ok(()),
        Ok(Ok(got)) => Err(format!("GET {}: status {got}, want {want}", url.path)),
        Ok(Err(e)) => Err(format!("GET {}: {e}", url.path)),
        Err(_) => Err(format!("GET {}: timed out after {timeout:?}", url.path)),
    }
}

async fn get_status(url: &HttpUrl) -> Result<u16, String> {
    let mut s = TcpStream::connect((url.host.as_str(), url.port))
        .await
        .map_err(|e| format!("connect: {e}"))?;
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
    fn parses_urls() {
        let u = HttpUrl::parse("http://127.0.0.1:6443/readyz?x=1").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("127.0.0.1", 6443, "/readyz?x=1")
        );
        let u = HttpUrl::parse("http://[2001:db8::1]/").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("2001:db8::1", 80));
        assert_eq!(u.host_header(), "[2001:db8::1]");
        let u = HttpUrl::parse("http://lb").unwrap();
        assert_eq!(u.path, "/");
        for bad in [
            "ftp://x/",
            "http://",
            "http://h:99999/",
            "http://[::1/",
            "https://h/",
        ] {
            assert!(HttpUrl::parse(bad).is_err(), "{bad}");
        }
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
        HttpUrl::parse(&format!("http://127.0.0.1:{port}/readyz")).unwrap()
    }

    #[tokio::test]
    async fn expected_status_is_up_other_is_down() {
        let url = serve("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").await;
        assert!(get(&url, 200, Duration::from_secs(2)).await.is_ok());
        assert!(get(&url, 204, Duration::from_secs(2)).await.is_err());
        let url = serve("HTTP/1.1 503 Unavailable\r\n\r\n").await;
        assert!(get(&url, 200, Duration::from_secs(2)).await.is_err());
    }

    #[tokio::test]
    async fn silent_server_times_out() {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = HttpUrl::parse(&format!("http://{}/", l.local_addr().unwrap())).unwrap();
        let e = get(&url, 200, Duration::from_millis(100))
            .await
            .unwrap_err();
        assert!(e.contains("timed out"), "{e}");
        drop(l);
    }
}
