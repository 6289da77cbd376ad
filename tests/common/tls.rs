//! A small TLS server on 127.0.0.1 (ephemeral port) standing in for the load balancer, serving
//! certificates made by `openssl req -x509`; the served certificate can be swapped at run time.
#![allow(dead_code)]

use std::io::ErrorKind;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ServerConfig, ServerConnection};

/// Makes a self-signed certificate with `san` (openssl syntax, e.g. `IP:192.0.2.250,DNS:a.b`)
/// in `dir` and returns a server config serving it.
pub fn server_config(dir: &Path, name: &str, san: &str) -> Arc<ServerConfig> {
    let key = dir.join(format!("{name}.key"));
    let crt = dir.join(format!("{name}.crt"));
    netlab::cert::self_signed("kubeapi-load-balancer", Some(san), 2, &crt, &key).unwrap();
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&crt)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let key = PrivateKeyDer::from_pem_file(&key).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap(),
    )
}

/// The server: one thread accepting on 127.0.0.1, one handshake per connection, then close.
pub struct TlsServer {
    /// Where it listens.
    pub addr: SocketAddr,
    config: Arc<Mutex<Arc<ServerConfig>>>,
    sni: Arc<Mutex<Vec<Option<String>>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TlsServer {
    /// Starts serving `config` on an ephemeral loopback port.
    pub fn start(config: Arc<ServerConfig>) -> TlsServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let config = Arc::new(Mutex::new(config));
        let sni = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (c, s, st) = (config.clone(), sni.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(sock) = conn else { continue };
                let cfg = c.lock().unwrap().clone();
                if let Some(name) = serve_one(sock, cfg) {
                    s.lock().unwrap().push(name);
                }
            }
        });
        TlsServer {
            addr,
            config,
            sni,
            stop,
            thread: Some(thread),
        }
    }

    /// Serves another certificate from the next connection on.
    pub fn set_config(&self, config: Arc<ServerConfig>) {
        *self.config.lock().unwrap() = config;
    }

    /// The SNI of every completed handshake so far.
    pub fn sni_seen(&self) -> Vec<Option<String>> {
        self.sni.lock().unwrap().clone()
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }
}

/// One handshake (bounded by socket timeouts); returns the SNI when it completed.
fn serve_one(mut sock: TcpStream, cfg: Arc<ServerConfig>) -> Option<Option<String>> {
    sock.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    sock.set_write_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut conn = ServerConnection::new(cfg).ok()?;
    for _ in 0..20 {
        if !conn.is_handshaking() {
            break;
        }
        match conn.complete_io(&mut sock) {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    if conn.is_handshaking() {
        return None;
    }
    let name = conn.server_name().map(str::to_string);
    conn.send_close_notify();
    let _ = conn.complete_io(&mut sock);
    Some(name)
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
