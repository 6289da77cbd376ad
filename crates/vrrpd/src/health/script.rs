//! `vrrp_script` runs: fork/exec of the argv (no shell), optionally as another user; exit 0 =
//! up. On timeout the child gets SIGTERM, then SIGKILL after 2 s (keepalived's sequence), and
//! the run counts as a failure at once; the reaping happens in the background.

use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tokio::process::Command;

/// Grace period between SIGTERM and SIGKILL for a timed-out script.
pub const KILL_GRACE: Duration = Duration::from_secs(2);

/// User and group a script runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunAs {
    /// User name (for logs).
    pub user: String,
    /// Numeric uid.
    pub uid: u32,
    /// Numeric gid.
    pub gid: u32,
}

impl RunAs {
    /// Resolve `user` and optional `group` from the system databases.
    pub fn resolve(user: &str, group: Option<&str>) -> Result<RunAs, String> {
        let u = nix::unistd::User::from_name(user)
            .map_err(|e| format!("looking up user {user}: {e}"))?
            .ok_or_else(|| format!("unknown user {user}"))?;
        let gid = match group {
            Some(g) => {
                nix::unistd::Group::from_name(g)
                    .map_err(|e| format!("looking up group {g}: {e}"))?
                    .ok_or_else(|| format!("unknown group {g}"))?
                    .gid
            }
            None => u.gid,
        };
        Ok(RunAs {
            user: user.to_string(),
            uid: u.uid.as_raw(),
            gid: gid.as_raw(),
        })
    }
}

/// Run `argv` once with `timeout`.
pub async fn run(argv: &[String], run_as: Option<&RunAs>, timeout: Duration) -> Result<(), String> {
    let (prog, args) = argv.split_first().ok_or("empty script")?;
    let mut cmd = Command::new(prog);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(false);
    if let Some(r) = run_as {
        cmd.uid(r.uid).gid(r.gid);
    }
    // Spawned on a blocking-pool thread, never on the event loop: spawning blocks the caller
    // until the child has exec'd (std waits on its exec-error pipe; musl's posix_spawn is a
    // vfork), and the child runs SCHED_OTHER (the loop's SCHED_RESET_ON_FORK). With the loop at
    // SCHED_RR under CPU load that was an inversion: the master waited behind the busy tasks
    // for its child and stopped advertising (bench cpu-rt at 30 ms: 500 ms, a false failover;
    // 3,168 ms in one of four short runs). The pool's threads are SCHED_OTHER too.
    let mut child = tokio::task::spawn_blocking(move || cmd.spawn())
        .await
        .map_err(|e| format!("spawn {prog}: {e}"))?
        .map_err(|e| format!("spawn {prog}: {e}"))?;
    match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(st)) if st.success() => Ok(()),
        Ok(Ok(st)) => Err(format!("{prog}: {st}")),
        Ok(Err(e)) => Err(format!("{prog}: wait: {e}")),
        Err(_) => {
            if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
                let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
            }
            tokio::spawn(async move {
                if tokio::time::timeout(KILL_GRACE, child.wait())
                    .await
                    .is_err()
                {
                    let _ = child.start_kill();
                    let _ = child.wait().await;
                }
            });
            Err(format!("{prog}: timed out after {timeout:?}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[tokio::test]
    async fn exit_status_decides() {
        let t = Duration::from_secs(5);
        assert!(run(&argv(&["/bin/true"]), None, t).await.is_ok());
        assert!(run(&argv(&["/bin/false"]), None, t).await.is_err());
        assert!(run(&argv(&["/nonexistent/x"]), None, t).await.is_err());
        assert!(run(&[], None, t).await.is_err());
    }

    #[tokio::test]
    async fn no_shell_is_involved() {
        // With a shell this would succeed; as an argv it is "test" with odd arguments.
        let r = run(
            &argv(&["/usr/bin/test", "1", "-eq", "1", "||", "true"]),
            None,
            Duration::from_secs(5),
        )
        .await;
        assert!(r.is_err());
    }

    #[tokio::test]
    async fn timeout_fails_and_kills() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("pid");
        let script = format!("echo $$ > {}; exec sleep 30", marker.display());
        let t0 = std::time::Instant::now();
        let r = run(
            &argv(&["/bin/sh", "-c", &script]),
            None,
            Duration::from_millis(300),
        )
        .await;
        assert!(r.unwrap_err().contains("timed out"));
        assert!(t0.elapsed() < Duration::from_secs(2));
        let pid: i32 = std::fs::read_to_string(&marker)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // SIGTERM ends sleep; give the reaper a moment.
        let mut gone = false;
        for _ in 0..50 {
            if kill(Pid::from_raw(pid), None).is_err() {
                gone = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(gone, "timed-out script still running");
    }

    #[test]
    fn resolves_root() {
        let r = RunAs::resolve("root", None).unwrap();
        assert_eq!((r.uid, r.gid), (0, 0));
        assert!(RunAs::resolve("no-such-user-vrrpd", None).is_err());
    }
}
