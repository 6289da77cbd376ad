//! The trial topology: a lab (bridge in its own namespace) with two load-balancer hosts, each
//! running a [`Listener`] on the LB port, and a client host.

use std::net::{IpAddr, Ipv4Addr};

use std::time::Duration;

use netlab::{Host, Jitter, Lab, Relay};

use crate::configs::LB_PORT;
use crate::listener::Listener;

/// Address of load-balancer host `i` (0 or 1).
pub fn lb_addr(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(192, 0, 2, 10 + (i as u8 & 1))
}

/// Address of the client.
pub const CLIENT_ADDR: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 50);

/// The VIP as an address.
pub fn vip_addr() -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100))
}

/// One trial's lab. Field order is drop order: relay, listeners, hosts, then the lab (which stops every
/// process it spawned and deletes every namespace).
pub struct Topo {
    /// The delay relay in front of lb1, if any ([`Topo::with_jitter`]).
    pub relay: Option<Relay>,
    /// Listeners on lb0, lb1.
    pub listeners: Vec<Listener>,
    /// lb0 (intended master), lb1 (backup).
    pub lbs: Vec<Host>,
    /// The client host.
    pub client: Host,
    /// The lab.
    pub lab: Lab,
}

impl Topo {
    /// Builds the lab `tag` with hosts lb0 (192.0.2.10), lb1 (.11), client (.50) and the LB
    /// listeners.
    pub fn new(tag: &str) -> anyhow::Result<Self> {
        Self::build(tag, None)
    }

    /// Like [`Topo::new`], but lb1 (the backup) sits behind a delay relay adding `jitter` to
    /// every frame in both directions, for at most `max`: every frame between the master and
    /// the backup is delayed once, as with `tc netem delay` on the segment.
    pub fn with_jitter(tag: &str, jitter: Jitter, max: Duration) -> anyhow::Result<Self> {
        Self::build(tag, Some((jitter, max)))
    }

    fn build(tag: &str, jitter: Option<(Jitter, Duration)>) -> anyhow::Result<Self> {
        let lab = Lab::new(tag)?;
        let mut lbs = Vec::new();
        let mut relay = None;
        for i in 0..2 {
            let name = format!("lb{i}");
            let h = match jitter {
                Some((j, max)) if i == 1 => {
                    let (h, r) = lab.add_relayed_host(&name, "eth0", j, max)?;
                    relay = Some(r);
                    h
                }
                _ => lab.add_host(&name)?,
            };
            h.add_addr(&format!("{}/24", lb_addr(i)))?;
            lbs.push(h);
        }
        let client = lab.add_host("client")?;
        client.add_addr(&format!("{CLIENT_ADDR}/24"))?;
        let mut listeners = Vec::new();
        for h in &lbs {
            listeners.push(Listener::start(h, LB_PORT)?);
        }
        Ok(Topo {
            relay,
            listeners,
            lbs,
            client,
            lab,
        })
    }

    /// Does lb `i` hold the VIP now?
    pub fn holds(&self, i: usize) -> bool {
        let vip = vip_addr();
        self.lbs
            .get(i)
            .and_then(|h| h.addrs().ok())
            .is_some_and(|a| a.iter().any(|e| e.addr == vip))
    }

    /// Indices of the lbs holding the VIP.
    pub fn holders(&self) -> Vec<usize> {
        (0..self.lbs.len()).filter(|&i| self.holds(i)).collect()
    }
}
