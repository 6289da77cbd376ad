//! The CLI ↔ controller protocol: one JSON request line, one JSON response line per connection.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

/// A request to the controller.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Request {
    /// Is the controller alive? Answers `{"pid": N}`.
    Ping,
    /// The model changed: look for new machines and hooks now.
    Kick,
    /// Answers once no hook is pending or running (or after `timeout_ms`, with `idle: false`).
    Wait {
        /// Bound in milliseconds.
        timeout_ms: u64,
    },
    /// `juju-exec ARGS` on a machine. Answers `{"code", "stdout", "stderr"}`.
    Exec {
        /// Machine id.
        machine: String,
        /// The arguments.
        args: Vec<String>,
    },
    /// `systemctl ARGS` on a machine. Answers `{"code", "stdout", "stderr"}`.
    Systemctl {
        /// Machine id.
        machine: String,
        /// The arguments.
        args: Vec<String>,
    },
    /// Namespaces of machines and extra hosts: `{"machines": {id: ns}, "hosts": {name: ns}}`.
    Hosts,
    /// Adds a host that is not a machine (e.g. a client) with one address on the segment.
    AddHost {
        /// `[a-z0-9_]` name.
        name: String,
        /// Address with prefix, e.g. `192.0.2.200/24`.
        cidr: String,
    },
    /// Plugs or unplugs the cable of a machine (`m<id>`) or host.
    Link {
        /// Machine id or host name.
        target: String,
        /// Plugged?
        up: bool,
    },
    /// Services and their states: `[{machine, name, state, pid, restarts}]`.
    Services,
    /// Reboots a machine: its services stop as at a clean shutdown, its `/run` is emptied
    /// (tmpfs), enabled services start again, and its started units run `start`.
    Reboot {
        /// Machine id.
        machine: String,
    },
    /// Sets the update-status interval in milliseconds (0 = off).
    UpdateStatusInterval {
        /// Interval.
        ms: u64,
    },
    /// Stops every service, deletes every namespace and exits.
    Shutdown,
}

/// The controller's answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Response {
    /// Error text when the request failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Payload.
    #[serde(default)]
    pub data: Value,
}

impl Response {
    /// A success.
    pub fn ok(data: Value) -> Response {
        Response { error: None, data }
    }
    /// A failure.
    pub fn err(msg: impl Into<String>) -> Response {
        Response {
            error: Some(msg.into()),
            data: Value::Null,
        }
    }
}

/// Sends `req` to the controller at `socket` and returns its payload. `timeout` bounds the read.
pub fn call(socket: &Path, req: &Request, timeout: Duration) -> Result<Value> {
    let stream = UnixStream::connect(socket)
        .map_err(|e| Error::Controller(format!("connect {}: {e}", socket.display())))?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| Error::io(socket, e))?;
    let mut line = serde_json::to_string(req).map_err(|e| Error::Invalid(e.to_string()))?;
    line.push('\n');
    (&stream)
        .write_all(line.as_bytes())
        .map_err(|e| Error::io(socket, e))?;
    let mut answer = String::new();
    BufReader::new(&stream)
        .read_line(&mut answer)
        .map_err(|e| Error::Controller(format!("reading the answer: {e}")))?;
    if answer.trim().is_empty() {
        return Err(Error::Controller(
            "the controller closed the connection".into(),
        ));
    }
    let resp: Response = serde_json::from_str(&answer)
        .map_err(|e| Error::Controller(format!("malformed answer {answer:?}: {e}")))?;
    match resp.error {
        Some(e) => Err(Error::Controller(e)),
        None => Ok(resp.data),
    }
}
