//! The controller's unix-socket server: one JSON request and one JSON answer per connection.

use super::Shared;
use crate::error::{Error, Result};
use crate::proto::{Request, Response};
use serde_json::json;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Binds the socket; an existing socket file that nobody answers on is replaced.
pub(crate) fn bind(path: &Path) -> Result<UnixListener> {
    if path.exists() {
        if UnixStream::connect(path).is_ok() {
            return Err(Error::Controller(format!(
                "another controller already serves {}",
                path.display()
            )));
        }
        std::fs::remove_file(path).map_err(|e| Error::io(path, e))?;
    }
    UnixListener::bind(path).map_err(|e| Error::io(path, e))
}

/// Accepts connections until shutdown.
pub(crate) fn serve(shared: Arc<Shared>, listener: UnixListener) {
    for conn in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(conn) = conn else { continue };
        let s = shared.clone();
        std::thread::spawn(move || handle_conn(&s, conn));
    }
}

fn handle_conn(shared: &Shared, conn: UnixStream) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let mut line = String::new();
    if BufReader::new(&conn).read_line(&mut line).is_err() || line.trim().is_empty() {
        return;
    }
    let resp = match serde_json::from_str::<Request>(&line) {
        Ok(req) => handle(shared, req),
        Err(e) => Response::err(format!("malformed request: {e}")),
    };
    let mut text = serde_json::to_string(&resp).unwrap_or_else(|_| "{}".into());
    text.push('\n');
    let _ = (&conn).write_all(text.as_bytes());
}

fn handle(shared: &Shared, req: Request) -> Response {
    match req {
        Request::Ping => Response::ok(json!({"pid": std::process::id(), "lab": shared.net.stem()})),
        Request::Kick => {
            shared.kick();
            Response::ok(json!({}))
        }
        Request::Wait { timeout_ms } => {
            shared.kick();
            let deadline = Instant::now() + Duration::from_millis(timeout_ms.min(3_600_000));
            let mut streak = 0;
            loop {
                match super::scheduler::idle(shared) {
                    Ok(true) => streak += 1,
                    Ok(false) => streak = 0,
                    Err(e) => return Response::err(e.to_string()),
                }
                // Two idle readings in a row: no thread was between "picked" and "busy".
                if streak >= 2 {
                    return Response::ok(json!({"idle": true}));
                }
                if Instant::now() >= deadline || shared.stopping() {
                    return Response::ok(json!({"idle": false}));
                }
                std::thread::sleep(Duration::from_millis(60));
            }
        }
        Request::Systemctl { machine, args } => match super::net::machine_ctx(shared, &machine) {
            Some(m) => {
                let o = shared.services.systemctl(&m, &args);
                Response::ok(json!({"code": o.code, "stdout": o.stdout, "stderr": o.stderr}))
            }
            None => Response::err(format!("machine {machine:?} has no namespace")),
        },
        Request::Exec { machine, args } => match super::net::machine_ctx(shared, &machine) {
            Some(m) => {
                let o = super::jujuexec::run(shared, &machine, &m.ns, &args);
                Response::ok(json!({"code": o.code, "stdout": o.stdout, "stderr": o.stderr}))
            }
            None => Response::err(format!("machine {machine:?} has no namespace")),
        },
        Request::Hosts => Response::ok(shared.net.listing()),
        Request::AddHost { name, cidr } => match shared.net.add_host(&name, &cidr) {
            Ok(ns) => Response::ok(json!({"netns": ns})),
            Err(e) => Response::err(e.to_string()),
        },
        Request::Link { target, up } => {
            let t = target
                .strip_prefix('m')
                .filter(|r| r.bytes().all(|b| b.is_ascii_digit()));
            let host = t
                .and_then(|id| shared.net.host(id))
                .or_else(|| shared.net.host(&target));
            match host {
                Some(h) => match h.set_cable(up) {
                    Ok(()) => Response::ok(json!({"netns": h.netns()})),
                    Err(e) => Response::err(e.to_string()),
                },
                None => Response::err(format!("no machine or host {target:?}")),
            }
        }
        Request::Services => Response::ok(shared.services.list()),
        Request::Reboot { machine } => match super::net::machine_ctx(shared, &machine) {
            Some(m) => {
                let rebooted = match super::net::reboot_container(shared, &machine) {
                    // A real-systemd machine: its own systemd stops and starts the services.
                    Some(r) => r.map(drop),
                    None => {
                        let run = shared.md.machine_root(&machine).join("run");
                        shared.services.reboot_machine(&m, &run);
                        Ok(())
                    }
                };
                if let Err(e) = rebooted {
                    return Response::err(format!("reboot of machine {machine}: {e}"));
                }
                let marked = shared
                    .juju()
                    .and_then(|j| j.reboot_machine(&machine).map_err(Into::into));
                shared.kick();
                match marked {
                    Ok(()) => Response::ok(json!({"rebooted": machine})),
                    Err(e) => Response::err(e.to_string()),
                }
            }
            None => Response::err(format!("machine {machine:?} has no namespace")),
        },
        Request::UpdateStatusInterval { ms } => {
            shared.update_status_ms.store(ms, Ordering::SeqCst);
            Response::ok(json!({}))
        }
        Request::Shutdown => {
            shared.stop.store(true, Ordering::SeqCst);
            shared.kick();
            Response::ok(json!({"stopping": true}))
        }
    }
}
