//! Address conflicts (issue 11): is an ARP/NA claim on one of our VIPs from the holder?
//! Pure: no IO, no clock (instants are passed in).
//!
//! Who the holder is depends on what this node can know:
//! * MASTER (or LEAVING, still holding): us, so the claim must carry our interface's MAC;
//! * BACKUP: the current master, whose MAC is the Ethernet source of its adverts (the watch
//!   socket sees those frames, [`crate::net::watch::WatchEvent::VrrpMac`]); unknown until its
//!   first advert has been seen;
//! * INIT/FAULT, or a backup that has not seen the master's frames: unknown, no verdict.
//!
//! A claim from another MAC is not judged at once: the same frames that make a new master
//! (its advert, then its gratuitous ARPs) reach this node on two sockets, in either order.
//! It is confirmed after [`CONFIRM`]: still not the holder's then → an address conflict.
//!
//! One claim from another MAC is expected when this node takes over: the previous holder keeps
//! the VIP until it reads our first advert (a leaving vrrpd on purpose, make-before-break; a
//! preempted master for the time its loop takes), and Linux can answer our gratuitous ARP
//! request with an ARP reply for the VIP while it removes the address: captured 0.8 ms after a
//! new master's GARPs in tests/scenario_addr_conflict.rs, where it made a false conflict under
//! load. (A host that holds the address does not answer a GARP for it, as the source is its
//! own; measured in two namespaces, GARPs every 200 µs: none of ~14,000 answered over 20 holds
//! of 100 ms, 2 answered during the 20 removals.) So a
//! claim first seen within [`HANDOVER`] of becoming MASTER, from a MAC that sends VRRP adverts,
//! is the previous holder letting go ([`Verdict::Handover`]). A router that keeps the VIP is
//! still found: its next claim (an answer to our next GARP, its own GARP) comes later.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// How long a claim from a MAC that is not the holder's waits before it is judged again.
pub const CONFIRM: Duration = Duration::from_millis(300);
/// How long after becoming MASTER a VRRP router's claim is taken as the previous holder's.
pub const HANDOVER: Duration = Duration::from_secs(1);
/// Most claims waiting at once; more are not judged (the squatter's next frame will be).
pub const MAX_PENDING: usize = 64;
/// Most VRRP source → MAC entries kept; beyond that the table starts over.
pub const MAX_SOURCES: usize = 64;

/// What a node can say about a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// From the holder (or from us).
    Holder,
    /// From another MAC than the holder's.
    Foreign,
    /// Who holds the address is not known here.
    Unknown,
    /// From the previous holder during our takeover (see the module docs).
    Handover,
}

/// What this node knows about a claim besides its MAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Context {
    /// Our role.
    pub role: vrrp::State,
    /// Our interface's MAC.
    pub own: Option<[u8; 6]>,
    /// The master's MAC, when we are BACKUP and have seen its adverts' frames.
    pub master: Option<[u8; 6]>,
    /// Whether the claimant's MAC sends VRRP adverts.
    pub vrrp_peer: bool,
    /// How long we had been MASTER when the claim was first seen.
    pub master_for: Option<Duration>,
}

/// Judge a claim by `mac` first seen now: [`verdict`], except that a VRRP router's claim within
/// [`HANDOVER`] of our takeover is [`Verdict::Handover`].
pub fn first_sight(cx: Context, mac: [u8; 6]) -> Verdict {
    match verdict(cx.role, cx.own, cx.master, mac) {
        Verdict::Foreign if cx.vrrp_peer && cx.master_for.is_some_and(|d| d <= HANDOVER) => {
            Verdict::Handover
        }
        v => v,
    }
}

/// Judge a claim by `mac` given our `role`, our interface MAC and the master's MAC (if known).
pub fn verdict(
    role: vrrp::State,
    own: Option<[u8; 6]>,
    master: Option<[u8; 6]>,
    mac: [u8; 6],
) -> Verdict {
    use vrrp::State::*;
    let holder = match role {
        Master | Leaving => own,
        Backup => master,
        Init | Fault => None,
    };
    match holder {
        None => Verdict::Unknown,
        Some(h) if h == mac || own == Some(mac) => Verdict::Holder,
        Some(_) => Verdict::Foreign,
    }
}

/// A claim waiting for confirmation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim {
    /// Interface index the frame arrived on.
    pub ifindex: u32,
    /// The claimed address.
    pub addr: IpAddr,
    /// The claimant's MAC.
    pub mac: [u8; 6],
}

/// VRRP source MACs and claims waiting for confirmation.
#[derive(Debug, Default)]
pub struct Judge {
    macs: HashMap<IpAddr, [u8; 6]>,
    pending: VecDeque<(Instant, Claim)>,
    /// Claims not queued because [`MAX_PENDING`] were waiting.
    pub overflow: u64,
}

impl Judge {
    /// The Ethernet source of VRRP packets from `src`.
    pub fn learn(&mut self, src: IpAddr, mac: [u8; 6]) {
        if self.macs.len() >= MAX_SOURCES && !self.macs.contains_key(&src) {
            self.macs.clear();
        }
        self.macs.insert(src, mac);
    }

    /// The MAC VRRP packets from `src` came from, if seen.
    pub fn mac_of(&self, src: IpAddr) -> Option<[u8; 6]> {
        self.macs.get(&src).copied()
    }

    /// A VRRP source seen sending from `mac`, if any: names the claimant in the log (another
    /// VRRP router claiming our VIP is a split brain, not a squatter).
    pub fn source_of(&self, mac: [u8; 6]) -> Option<IpAddr> {
        self.macs
            .iter()
            .find(|(_, m)| **m == mac)
            .map(|(ip, _)| *ip)
    }

    /// Queue a foreign-looking claim seen at `now`, to judge again at `now + CONFIRM`.
    pub fn defer(&mut self, claim: Claim, now: Instant) {
        if self.pending.len() >= MAX_PENDING {
            self.overflow = self.overflow.saturating_add(1);
            return;
        }
        self.pending.push_back((now + CONFIRM, claim));
    }

    /// When the oldest waiting claim is due.
    pub fn next_due(&self) -> Option<Instant> {
        self.pending.front().map(|(t, _)| *t)
    }

    /// The next claim due at `now`, if any (claims come out in arrival order).
    pub fn pop_due(&mut self, now: Instant) -> Option<Claim> {
        match self.pending.front() {
            Some((t, _)) if *t <= now => self.pending.pop_front().map(|(_, c)| c),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vrrp::State;

    const OWN: [u8; 6] = [2, 0, 0, 0, 0, 1];
    const MASTER: [u8; 6] = [2, 0, 0, 0, 0, 2];
    const SQUAT: [u8; 6] = [2, 0, 0, 0, 0, 9];

    #[test]
    fn holder_by_role() {
        let v = |role, master, mac| verdict(role, Some(OWN), master, mac);
        assert_eq!(v(State::Master, None, OWN), Verdict::Holder);
        assert_eq!(v(State::Master, Some(MASTER), MASTER), Verdict::Foreign);
        assert_eq!(v(State::Master, None, SQUAT), Verdict::Foreign);
        assert_eq!(v(State::Leaving, None, SQUAT), Verdict::Foreign);
        assert_eq!(v(State::Backup, Some(MASTER), MASTER), Verdict::Holder);
        assert_eq!(v(State::Backup, Some(MASTER), SQUAT), Verdict::Foreign);
        assert_eq!(v(State::Backup, None, SQUAT), Verdict::Unknown);
        assert_eq!(v(State::Backup, Some(MASTER), OWN), Verdict::Holder);
        for s in [State::Init, State::Fault] {
            assert_eq!(v(s, Some(MASTER), SQUAT), Verdict::Unknown);
        }
        assert_eq!(
            verdict(State::Master, None, None, SQUAT),
            Verdict::Unknown,
            "own MAC unknown"
        );
    }

    #[test]
    fn a_vrrp_routers_claim_right_after_our_takeover_is_the_handover() {
        let cx = Context {
            role: State::Master,
            own: Some(OWN),
            master: None,
            vrrp_peer: true,
            master_for: Some(Duration::from_millis(2)),
        };
        assert_eq!(first_sight(cx, MASTER), Verdict::Handover);
        assert_eq!(first_sight(cx, OWN), Verdict::Holder);
        let late = Context {
            master_for: Some(HANDOVER + Duration::from_millis(1)),
            ..cx
        };
        assert_eq!(
            first_sight(late, MASTER),
            Verdict::Foreign,
            "keeps claiming"
        );
        let squatter = Context {
            vrrp_peer: false,
            ..cx
        };
        assert_eq!(first_sight(squatter, SQUAT), Verdict::Foreign);
        let backup = Context {
            role: State::Backup,
            master: Some(MASTER),
            master_for: None,
            ..cx
        };
        assert_eq!(first_sight(backup, SQUAT), Verdict::Foreign);
        assert_eq!(
            first_sight(
                Context {
                    master_for: None,
                    ..cx
                },
                MASTER
            ),
            Verdict::Foreign
        );
    }

    #[test]
    fn deferred_in_order_and_bounded() {
        let mut j = Judge::default();
        let t0 = Instant::now();
        let c = |n: u8| Claim {
            ifindex: 2,
            addr: IpAddr::from([192, 0, 2, n]),
            mac: SQUAT,
        };
        assert_eq!(j.next_due(), None);
        j.defer(c(1), t0);
        j.defer(c(2), t0 + Duration::from_millis(10));
        assert_eq!(j.next_due(), Some(t0 + CONFIRM));
        assert_eq!(j.pop_due(t0 + CONFIRM - Duration::from_millis(1)), None);
        assert_eq!(j.pop_due(t0 + CONFIRM), Some(c(1)));
        assert_eq!(j.pop_due(t0 + CONFIRM), None);
        assert_eq!(j.pop_due(t0 + CONFIRM * 2), Some(c(2)));
        for _ in 0..MAX_PENDING + 5 {
            j.defer(c(3), t0);
        }
        assert_eq!(j.overflow, 5);
        assert_eq!(j.pending.len(), MAX_PENDING);
    }

    #[test]
    fn source_macs_bounded() {
        let mut j = Judge::default();
        let ip = IpAddr::from([192, 0, 2, 11]);
        j.learn(ip, MASTER);
        assert_eq!(j.mac_of(ip), Some(MASTER));
        j.learn(ip, SQUAT);
        assert_eq!(j.mac_of(ip), Some(SQUAT));
        assert_eq!(j.source_of(SQUAT), Some(ip));
        assert_eq!(j.source_of(MASTER), None);
        for n in 0..200u16 {
            j.learn(IpAddr::from([10, 0, (n >> 8) as u8, n as u8]), OWN);
        }
        assert!(j.macs.len() <= MAX_SOURCES);
    }
}
