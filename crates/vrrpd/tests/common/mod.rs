//! Scenario-test harness: labs of hosts running the built `vrrpd` or the real keepalived
//! 2.2.7, config rendering, bounded waits and observations (`ip -j addr`, state files).
#![allow(dead_code)]

pub mod inject;

use std::io::{Read, Write};
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use netlab::{Host, Lab, Proc, Signal};

pub const VRRPD: &str = env!("CARGO_BIN_EXE_vrrpd");
pub const KEEPALIVED: &str = "/usr/sbin/keepalived";

/// Skip (return true) when the environment cannot run lab tests.
pub fn skip() -> bool {
    netlab::skip_unless_root()
}

pub fn keepalived_available() -> bool {
    std::path::Path::new(KEEPALIVED).exists()
}

/// Which daemon a node runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Worker,
    Keepalived,
}

/// What an instance looks like; rendered for either daemon.
#[derive(Debug, Clone)]
pub struct Inst {
    pub version: u8,
    pub advert: &'static str,
    pub vrid: u8,
    pub priority: u8,
    pub vip: &'static str,
    pub auth: Option<&'static str>,
    /// (own source, peers)
    pub unicast: Option<(String, Vec<String>)>,
    pub nopreempt: bool,
    /// vrrpd_check tcp port on 127.0.0.1 (workers only).
    pub check_port: Option<u16>,
    /// Render the check as `tcp_connect … watch` with a 5 s interval (so only the watch can
    /// explain a fast reaction).
    pub check_watch: bool,
    /// Extra `global_defs` lines (workers only), e.g. `vrrpd_metrics_listen …`.
    pub global_extra: Vec<String>,
    pub garp_delay: u32,
    /// Render `higher_prio_send_advert` (the charm does).
    pub higher_prio_send_advert: bool,
}

impl Inst {
    pub fn v3(priority: u8) -> Inst {
        Inst {
            version: 3,
            advert: "0.1",
            vrid: 23,
            priority,
            vip: "192.0.2.100/24",
            auth: None,
            unicast: None,
            nopreempt: false,
            check_port: None,
            check_watch: false,
            global_extra: Vec::new(),
            garp_delay: 0,
            higher_prio_send_advert: false,
        }
    }

    pub fn v2_pass(priority: u8) -> Inst {
        Inst {
            version: 2,
            advert: "1",
            auth: Some("s3cret"),
            ..Inst::v3(priority)
        }
    }

    pub fn v6(priority: u8) -> Inst {
        Inst {
            vip: "2001:db8::100/64",
            ..Inst::v3(priority)
        }
    }

    pub fn vip_addr(&self) -> IpAddr {
        self.vip.split('/').next().unwrap().parse().unwrap()
    }

    pub fn render(&self, kind: Kind, iface: &str) -> String {
        let mut s = String::new();
        s += &format!("global_defs {{\n    router_id test\n    vrrp_version {}\n    vrrp_garp_master_delay {}\n", self.version, self.garp_delay);
        if kind == Kind::Worker {
            for l in &self.global_extra {
                s += &format!("    {l}\n");
            }
        }
        s += "}\n";
        if let (Some(port), Kind::Worker) = (self.check_port, kind) {
            if self.check_watch {
                s += &format!(
                    "vrrpd_check port_ok {{\n    tcp_connect 127.0.0.1 {port} watch\n    interval 5\n    timeout 0.2\n    rise 1\n    fall 1\n}}\n"
                );
            } else {
                s += &format!(
                    "vrrpd_check port_ok {{\n    tcp_connect 127.0.0.1 {port}\n    interval 0.05\n    timeout 0.05\n    rise 1\n    fall 1\n}}\n"
                );
            }
        }
        s += "vrrp_instance VI_1 {\n    state BACKUP\n";
        s += &format!(
            "    interface {iface}\n    virtual_router_id {}\n    priority {}\n    advert_int {}\n",
            self.vrid, self.priority, self.advert
        );
        if self.nopreempt {
            s += "    nopreempt\n";
        }
        if self.higher_prio_send_advert {
            s += "    higher_prio_send_advert\n";
        }
        if let Some(p) = self.auth {
            s += &format!(
                "    authentication {{\n        auth_type PASS\n        auth_pass {p}\n    }}\n"
            );
        }
        if let Some((src, peers)) = &self.unicast {
            s += &format!("    unicast_src_ip {src}\n    unicast_peer {{\n");
            for p in peers {
                s += &format!("        {p}\n");
            }
            s += "    }\n";
        }
        s += &format!(
            "    virtual_ipaddress {{\n        {} dev {iface}\n    }}\n",
            self.vip
        );
        if let (Some(_), Kind::Worker) = (self.check_port, kind) {
            s += "    track_script {\n        port_ok\n    }\n";
        }
        s += "}\n";
        s
    }
}

/// A host plus the daemon running on it.
pub struct Node {
    pub host: Host,
    pub kind: Kind,
    pub inst: Inst,
    pub dir: tempfile::TempDir,
    pub proc: Option<Proc>,
    /// Extra vrrpd arguments (workers only).
    pub args: Vec<String>,
    pub addr4: String,
    pub addr6: String,
}

impl Node {
    pub fn conf_path(&self) -> PathBuf {
        self.dir.path().join("vrrpd.conf")
    }
    pub fn state_path(&self) -> PathBuf {
        self.dir.path().join("state.json")
    }

    pub fn write_conf(&self) {
        std::fs::write(
            self.conf_path(),
            self.inst.render(self.kind, self.host.ifname()),
        )
        .unwrap();
    }

    pub fn start(&mut self) {
        self.write_conf();
        self.spawn();
    }

    /// Start the daemon on `conf` instead of the rendering of `inst`.
    pub fn start_with_conf(&mut self, conf: &str) {
        std::fs::write(self.conf_path(), conf).unwrap();
        self.spawn();
    }

    fn spawn(&mut self) {
        let conf = self.conf_path();
        let conf = conf.to_str().unwrap();
        let p = match self.kind {
            Kind::Worker => {
                let state = self.state_path();
                let mut args = vec!["--config", conf, "--state-file", state.to_str().unwrap()];
                args.extend(self.args.iter().map(String::as_str));
                self.host.spawn("vrrpd", VRRPD, &args).unwrap()
            }
            Kind::Keepalived => {
                let d = self.dir.path();
                let pid = |n: &str| d.join(n).to_str().unwrap().to_string();
                let (p1, p2, p3) = (pid("k.pid"), pid("v.pid"), pid("c.pid"));
                self.host
                    .spawn(
                        "keepalived",
                        KEEPALIVED,
                        &[
                            "-P", "-n", "-l", "-D", "-f", conf, "-p", &p1, "-r", &p2, "-c", &p3,
                        ],
                    )
                    .unwrap()
            }
        };
        self.proc = Some(p);
    }

    pub fn signal(&self, sig: Signal) {
        self.proc.as_ref().expect("running").signal(sig).unwrap();
    }

    /// SIGKILL the daemon (keepalived: all its processes) and reap it.
    pub fn kill(&mut self) {
        if let Some(p) = self.proc.take() {
            if self.kind == Kind::Keepalived {
                // keepalived's VRRP child is a separate process with PDEATHSIG=SIGTERM: kill it
                // first, or it would shut down gracefully when the parent dies.
                if let Ok(pid) = std::fs::read_to_string(self.dir.path().join("v.pid")) {
                    if let Ok(pid) = pid.trim().parse::<i32>() {
                        let _ = nix::sys::signal::kill(
                            nix::unistd::Pid::from_raw(pid),
                            Signal::SIGKILL,
                        );
                    }
                }
            }
            let _ = p.signal(Signal::SIGKILL);
            assert!(
                p.wait_timeout(Duration::from_secs(5)).is_some(),
                "SIGKILLed process did not exit"
            );
            if self.kind == Kind::Keepalived {
                // Leftover pid files (of a possibly zombie child) make a restart refuse with
                // "daemon is already running".
                for f in ["k.pid", "v.pid", "c.pid"] {
                    let _ = std::fs::remove_file(self.dir.path().join(f));
                }
            }
        }
    }

    /// `vrrpd --cleanup --config FILE` in the node's namespace (what systemd's ExecStopPost
    /// runs); must exit 0.
    pub fn cleanup(&self) {
        let conf = self.conf_path();
        let out = self
            .host
            .exec(VRRPD, &["--cleanup", "--config", conf.to_str().unwrap()])
            .unwrap();
        assert!(
            out.status.success(),
            "cleanup failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn holds(&self, vip: IpAddr) -> bool {
        self.host.addrs().unwrap().iter().any(|a| a.addr == vip)
    }

    pub fn state(&self) -> Option<serde_json::Value> {
        let b = std::fs::read(self.state_path()).ok()?;
        serde_json::from_slice(&b).ok()
    }

    pub fn role(&self) -> Option<String> {
        Some(self.state()?["instances"][0]["role"].as_str()?.to_string())
    }

    pub fn logs(&self) -> String {
        self.proc
            .as_ref()
            .map(|p| p.stderr() + &p.stdout())
            .unwrap_or_default()
    }
}

/// A lab with nodes 192.0.2.(10+i)/24 and 2001:db8::(10+i)/64.
pub struct Bed {
    /// The delay relay in front of one node ([`Bed::new_relayed`]); dropped first.
    pub relay: Option<netlab::Relay>,
    pub nodes: Vec<Node>,
    pub lab: Lab,
}

impl Bed {
    pub fn new(tag: &str, specs: Vec<(Kind, Inst)>) -> Bed {
        Self::build(tag, specs, None)
    }

    /// Like [`Bed::new`], but node `relayed` sits behind netlab's delay relay: every frame to
    /// and from it is held `jitter` (this kernel has no `sch_netem`), for at most 10 minutes.
    pub fn new_relayed(
        tag: &str,
        specs: Vec<(Kind, Inst)>,
        relayed: usize,
        jitter: netlab::Jitter,
    ) -> Bed {
        Self::build(tag, specs, Some((relayed, jitter)))
    }

    fn build(tag: &str, specs: Vec<(Kind, Inst)>, relay: Option<(usize, netlab::Jitter)>) -> Bed {
        let lab = Lab::new(tag).unwrap();
        let mut nodes = Vec::new();
        let mut relay_handle = None;
        for (i, (kind, inst)) in specs.into_iter().enumerate() {
            let name = format!("n{i}");
            let host = match relay {
                Some((r, jitter)) if r == i => {
                    let (h, rl) = lab
                        .add_relayed_host(&name, "eth0", jitter, Duration::from_secs(600))
                        .unwrap();
                    relay_handle = Some(rl);
                    h
                }
                _ => lab.add_host(&name).unwrap(),
            };
            let addr4 = format!("192.0.2.{}", 10 + i);
            let addr6 = format!("2001:db8::{}", 10 + i);
            host.add_addr(&format!("{addr4}/24")).unwrap();
            host.add_addr_nodad(&format!("{addr6}/64")).unwrap();
            nodes.push(Node {
                host,
                kind,
                inst,
                dir: tempfile::tempdir().unwrap(),
                proc: None,
                args: Vec::new(),
                addr4,
                addr6,
            });
        }
        for n in &nodes {
            n.host.wait_link_local(Duration::from_secs(5)).unwrap();
        }
        Bed {
            relay: relay_handle,
            nodes,
            lab,
        }
    }

    pub fn vip(&self) -> IpAddr {
        self.nodes[0].inst.vip_addr()
    }

    /// Indices of nodes holding the VIP.
    pub fn holders(&self) -> Vec<usize> {
        let vip = self.vip();
        (0..self.nodes.len())
            .filter(|&i| self.nodes[i].holds(vip))
            .collect()
    }

    /// Wait until exactly node `i` holds the VIP (and nobody else); returns the time waited.
    pub fn wait_sole_holder(&self, i: usize, timeout: Duration) -> Duration {
        let t0 = Instant::now();
        let r = wait_until(timeout, Duration::from_millis(5), || {
            self.holders() == vec![i]
        });
        if r.is_none() {
            self.dump();
            panic!(
                "node {i} not sole VIP holder within {timeout:?}; holders {:?}",
                self.holders()
            );
        }
        t0.elapsed()
    }

    /// Wait until node `i`'s state file says `role` (e.g. "BACKUP"); panics after `timeout`.
    pub fn wait_role(&self, i: usize, role: &str, timeout: Duration) {
        let r = wait_until(timeout, Duration::from_millis(50), || {
            self.nodes[i].role().as_deref() == Some(role)
        });
        if r.is_none() {
            self.dump();
            panic!(
                "node {i} not {role} within {timeout:?}; role {:?}",
                self.nodes[i].role()
            );
        }
    }

    /// tcpdump on node `observer` of the VRRP packets from `src`, one line each with a kernel
    /// timestamp (`-tt`); read them from the returned process's stdout.
    pub fn capture_adverts(&self, observer: usize, src: &str) -> Proc {
        let host = &self.nodes[observer].host;
        let filter = format!("ip proto 112 and src {src}");
        let args = [
            "-i",
            host.ifname(),
            "-n",
            "-tt",
            "-l",
            "-p",
            filter.as_str(),
        ];
        host.spawn("tcpdump", "tcpdump", &args).unwrap()
    }

    /// Assert that the holder set stays `[i]` for `dur`.
    pub fn assert_stable(&self, i: usize, dur: Duration) {
        let t0 = Instant::now();
        while t0.elapsed() < dur {
            let h = self.holders();
            if h != vec![i] {
                self.dump();
                panic!("holders {h:?} (expected only {i}) after {:?}", t0.elapsed());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn dump(&self) {
        for (i, n) in self.nodes.iter().enumerate() {
            eprintln!("===== node {i} ({:?}) state: {:?}", n.kind, n.state());
            eprintln!(
                "{}",
                n.logs()
                    .lines()
                    .rev()
                    .take(60)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
    }
}

/// `GET path` from inside the host's namespace; the whole response as text.
pub fn scrape(host: &netlab::Host, addr: &str, path: &str) -> Option<String> {
    let addr = addr.to_string();
    let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
    host.run_in(move || {
        let mut s = std::net::TcpStream::connect(&addr).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        s.write_all(req.as_bytes()).ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        Some(out)
    })
    .ok()
    .flatten()
}

/// The value of the sample line starting with `prefix` (name and labels).
pub fn metric_value(text: &str, prefix: &str) -> Option<u64> {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit_once(' '))
        .and_then(|(_, v)| v.parse().ok())
}

/// Poll `f` every `every` until true or `timeout`; `Some(elapsed)` on success.
pub fn wait_until(
    timeout: Duration,
    every: Duration,
    mut f: impl FnMut() -> bool,
) -> Option<Duration> {
    let t0 = Instant::now();
    loop {
        if f() {
            return Some(t0.elapsed());
        }
        if t0.elapsed() >= timeout {
            return None;
        }
        std::thread::sleep(every);
    }
}
