//! Running short commands inside a namespace with a time bound.

use std::collections::BTreeMap;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What a bounded command produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Exit code (-1 when killed or not started).
    pub code: i32,
    /// stdout (lossy).
    pub stdout: String,
    /// stderr (lossy), plus a note when the command timed out or could not start.
    pub stderr: String,
}

/// The PATH services and commands get inside machines.
pub const SERVICE_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Builds `ip netns exec NS argv…` with a clean environment (`PATH` plus `env`).
pub fn netns_command(ns: &str, argv: &[String], env: &BTreeMap<String, String>) -> Command {
    let mut c = Command::new("ip");
    c.args(["netns", "exec", ns])
        .args(argv)
        .env_clear()
        .env("PATH", SERVICE_PATH)
        .envs(env)
        .current_dir("/");
    c
}

/// Runs `argv` inside `ns`, killing it after `timeout`.
pub fn run_bounded(
    ns: &str,
    argv: &[String],
    env: &BTreeMap<String, String>,
    timeout: Duration,
) -> Outcome {
    let mut c = netns_command(ns, argv, env);
    c.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = match c.spawn() {
        Ok(ch) => ch,
        Err(e) => {
            return Outcome {
                code: -1,
                stdout: String::new(),
                stderr: format!("cannot start {argv:?}: {e}"),
            }
        }
    };
    let out = child.stdout.take().map(|mut r| {
        std::thread::spawn(move || {
            let mut b = Vec::new();
            let _ = r.read_to_end(&mut b);
            b
        })
    });
    let err = child.stderr.take().map(|mut r| {
        std::thread::spawn(move || {
            let mut b = Vec::new();
            let _ = r.read_to_end(&mut b);
            b
        })
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let text = |h: Option<std::thread::JoinHandle<Vec<u8>>>| {
        h.and_then(|h| h.join().ok())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    };
    let stdout = text(out);
    let mut stderr = text(err);
    let code = match status {
        Some(s) => s.code().unwrap_or(-1),
        None => {
            stderr.push_str(&format!("killed after {:.0}s\n", timeout.as_secs_f64()));
            -1
        }
    };
    Outcome {
        code,
        stdout,
        stderr,
    }
}
