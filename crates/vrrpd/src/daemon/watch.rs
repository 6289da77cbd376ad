//! The loop's side of the address watch (issue 11): one [`AddrWatch`] task per interface that
//! carries an instance or one of its VIPs; claims on our VIPs from a MAC that is not the
//! holder's become `address_conflict` records (state file, metrics, a log line per VIP and MAC
//! a minute). Never a state change. The judgement is the pure [`crate::addrwatch`].

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Instant;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::warn;

use super::table::InstanceId;
use super::Daemon;
use crate::addrwatch::{first_sight, verdict, Claim, Context, Judge, Verdict};
use crate::net::watch::{self, AddrWatch, WatchEvent};

struct Running {
    ifindex: u32,
    mac: Option<[u8; 6]>,
    task: JoinHandle<()>,
}

/// Every watch task and the judge.
pub(crate) struct Watches {
    tx: mpsc::Sender<WatchEvent>,
    addrs: tokio::sync::watch::Sender<Vec<IpAddr>>,
    by_name: HashMap<String, Running>,
    judge: Judge,
}

impl Watches {
    /// No watches yet; tasks will report on `tx`.
    pub fn new(tx: mpsc::Sender<WatchEvent>) -> Watches {
        Watches {
            tx,
            addrs: tokio::sync::watch::Sender::new(Vec::new()),
            by_name: HashMap::new(),
            judge: Judge::default(),
        }
    }

    /// When a deferred claim is due.
    pub fn next_due(&self) -> Option<Instant> {
        self.judge.next_due()
    }

    fn own_mac(&self, ifindex: u32) -> Option<[u8; 6]> {
        self.by_name
            .values()
            .find(|r| r.ifindex == ifindex)
            .and_then(|r| r.mac)
    }
}

impl Drop for Watches {
    fn drop(&mut self) {
        for r in self.by_name.values() {
            r.task.abort();
        }
    }
}

impl Daemon {
    /// Start/stop watches to match the running instances (their interfaces and VIP devices)
    /// and their current index; publish the VIP set the tasks filter on. Call after a
    /// (re)configuration and on link events.
    pub(super) async fn sync_watches(&mut self) {
        let mut names: Vec<String> = Vec::new();
        let mut addrs: Vec<IpAddr> = Vec::new();
        for r in self.running.values() {
            names.push(r.spec.interface.clone());
            for v in r.spec.vips.iter().chain(r.spec.excluded.iter()) {
                names.push(v.dev.clone());
                addrs.push(v.vip.addr);
            }
        }
        names.sort();
        names.dedup();
        self.watches.addrs.send_if_modified(|cur| {
            let changed = *cur != addrs;
            if changed {
                *cur = addrs;
            }
            changed
        });
        let gone: Vec<String> = self
            .watches
            .by_name
            .keys()
            .filter(|n| !names.contains(n))
            .cloned()
            .collect();
        for n in gone {
            if let Some(r) = self.watches.by_name.remove(&n) {
                r.task.abort();
            }
        }
        for n in names {
            self.sync_watch(n).await;
        }
    }

    async fn sync_watch(&mut self, name: String) {
        let info = self.edge.link(&name).await.map(|l| (l.index, l.mac));
        let current = self.watches.by_name.get(&name);
        let Some((index, mac)) = info else {
            if let Some(r) = self.watches.by_name.remove(&name) {
                r.task.abort();
            }
            return;
        };
        if current.is_some_and(|r| r.ifindex == index && !r.task.is_finished()) {
            if let Some(r) = self.watches.by_name.get_mut(&name) {
                r.mac = mac;
            }
            return;
        }
        if let Some(r) = self.watches.by_name.remove(&name) {
            r.task.abort();
        }
        match AddrWatch::open(index, &name) {
            Ok(w) => {
                let rx = self.watches.addrs.subscribe();
                let task = watch::spawn(w, index, rx, self.watches.tx.clone());
                let r = Running {
                    ifindex: index,
                    mac,
                    task,
                };
                self.watches.by_name.insert(name, r);
            }
            Err(e) => {
                warn!(interface = %name, error = %e, "cannot watch ARP/NA for address conflicts")
            }
        }
    }

    /// A frame from a watch task.
    pub(super) fn on_watch(&mut self, ev: WatchEvent) {
        match ev {
            WatchEvent::VrrpMac { src, mac, .. } => self.watches.judge.learn(src, mac),
            WatchEvent::Claim { ifindex, addr, mac } => {
                let claim = Claim { ifindex, addr, mac };
                if self.judge_claim(&claim, false) {
                    self.watches.judge.defer(claim, Instant::now());
                }
            }
        }
    }

    /// Judge the deferred claims that are due.
    pub(super) fn on_watch_due(&mut self) {
        let now = Instant::now();
        while let Some(c) = self.watches.judge.pop_due(now) {
            self.judge_claim(&c, true);
        }
    }

    /// Judge `c` for every instance with that VIP: first seen now, or (`confirm`) again after
    /// [`crate::addrwatch::CONFIRM`], when foreign claims are recorded as address conflicts.
    /// Returns whether some instance found it foreign.
    fn judge_claim(&mut self, c: &Claim, confirm: bool) -> bool {
        let own = self.watches.own_mac(c.ifindex);
        let vrrp_source = self.watches.judge.source_of(c.mac);
        let now = Instant::now();
        let mut foreign = false;
        for k in self.running.ids() {
            let Some(r) = self.running.get(k) else {
                continue;
            };
            let ours = r
                .spec
                .vips
                .iter()
                .chain(r.spec.excluded.iter())
                .any(|v| v.vip.addr == c.addr);
            if r.retiring || !ours {
                continue;
            }
            let (state, master_address) = {
                let core = r.core();
                (core.inst.state(), core.inst.status().master_address)
            };
            let master = master_address.and_then(|m| self.watches.judge.mac_of(m));
            let v = if confirm {
                verdict(state, own, master, c.mac)
            } else {
                let cx = Context {
                    role: state,
                    own,
                    master,
                    vrrp_peer: vrrp_source.is_some(),
                    master_for: r.mastered_at.map(|t| now.saturating_duration_since(t)),
                };
                first_sight(cx, c.mac)
            };
            if v != Verdict::Foreign {
                continue;
            }
            foreign = true;
            if confirm {
                self.record_address_conflict(k, c, vrrp_source);
            }
        }
        foreign
    }

    fn record_address_conflict(&mut self, k: InstanceId, c: &Claim, vrrp_source: Option<IpAddr>) {
        let Some(r) = self.running.get_mut(k) else {
            return;
        };
        r.core().inst.count_address_conflict();
        let unix_ms = crate::statefile::unix_ms_now();
        let Some(line) = r
            .conflicts
            .record_claim(c.addr, c.mac, Instant::now(), unix_ms)
        else {
            return;
        };
        warn!(
            instance = %r.spec.core.name,
            vrid = r.spec.core.vrid,
            vip = %c.addr,
            mac = %vrrp::Mac(c.mac),
            role = ?r.state(),
            // Another VRRP router claiming our VIP is a split brain, not a squatter.
            vrrp_source = %vrrp_source.map_or_else(|| "none".to_string(), |ip| ip.to_string()),
            count = line.count,
            suppressed = line.suppressed,
            "address conflict: another host claims our VIP (state unchanged)"
        );
    }
}
