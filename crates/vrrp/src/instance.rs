//! The VRRP state machine of one instance (RFC 3768 §6, RFC 5798/9568 §6; keepalived 2.2.7
//! deviations named at each rule).
//!
//! Every transition goes through `Instance::change_state`, the one place that emits the
//! side effects of leaving and entering a state.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::adaptive::Adaptive;
use crate::adverts::AdvertCache;
use crate::config::{Family, InstanceConfig, Version, Vip};
use crate::conflicts::ConflictKind;
use crate::error::{ConfigError, DecodeError, ReconfigureError};
use crate::events::{Action, Fault, Input, Reason, RxPacket, State};
use crate::packet::{Advert, ChecksumForm, AUTH_NONE, AUTH_PASS};
use crate::priority::{effective_priority, track_faults};
use crate::status::{Counters, DropReason, InstanceStatus};
use crate::timers::{interval_from_wire, master_down_interval, skew};

/// Master_Down_Timer, kept as its start so a priority change re-derives the deadline.
#[derive(Debug, Clone, Copy)]
struct DownTimer {
    /// When the timer was (re)started.
    since: Instant,
    /// Started by a priority-0 advert: runs for Skew_Time only.
    skew_only: bool,
}

/// One VRRP instance: a sans-IO state machine.
#[derive(Debug, Clone)]
pub struct Instance {
    cfg: InstanceConfig,
    state: State,
    link_up: bool,
    source: Option<IpAddr>,
    track_up: Vec<bool>,
    effective_priority: u8,
    /// Master_Adver_Interval (RFC 5798 §6.1): learned from the master while v3 BACKUP.
    master_adver_interval: Duration,
    /// The master we listen to while BACKUP.
    master_addr: Option<IpAddr>,
    vips_held: bool,
    adver_at: Option<Instant>,
    down: Option<DownTimer>,
    garp_second: Option<(Instant, u32)>,
    garp_refresh_at: Option<Instant>,
    /// `garp_burst`: when we became master, and the index of the next offset to send.
    garp_burst_at: Option<(Instant, usize)>,
    /// keepalived `preempt_delay`: lower-priority adverts are accepted until then.
    preempt_hold_until: Option<Instant>,
    /// While LEAVING: the instant the handoff bound expires.
    leave_until: Option<Instant>,
    /// `v2_compat`: the last router we accepted a VRRPv3 advert from; its VRRPv2 twins are
    /// ignored (RFC 5798 §8.4.2).
    v3_sender: Option<IpAddr>,
    counters: Counters,
    /// While BACKUP: when the master's last accepted advert arrived, and from whom.
    last_arrival: Option<(Instant, IpAddr, Duration)>,
    /// Gap between the master's accepted adverts minus the interval they announce.
    gap_excess: crate::timing::Window,
    /// The master's advert interval: fixed, or adaptive (`adaptive_floor`).
    adaptive: Adaptive,
    /// The adverts last encoded, re-used while priority, interval and source stay.
    adverts: AdvertCache,
}

// ===== impl Instance: public API =====

impl Instance {
    /// A new instance in INIT. The configuration is validated; all tracks start healthy,
    /// the link up, and the source address unknown (feed `Input::SourceAddress` before
    /// `Input::Startup`, or the instance goes to FAULT until one is reported).
    pub fn new(cfg: InstanceConfig) -> Result<Instance, ConfigError> {
        cfg.validate()?;
        let track_up = vec![true; cfg.tracks.len()];
        let effective_priority = effective_priority(cfg.priority, &cfg.tracks, &track_up);
        let adaptive = Adaptive::new(cfg.advert_interval, cfg.adaptive_floor);
        Ok(Instance {
            master_adver_interval: cfg.advert_interval,
            cfg,
            state: State::Init,
            link_up: true,
            source: None,
            track_up,
            effective_priority,
            master_addr: None,
            vips_held: false,
            adver_at: None,
            down: None,
            garp_second: None,
            garp_refresh_at: None,
            garp_burst_at: None,
            preempt_hold_until: None,
            leave_until: None,
            v3_sender: None,
            counters: Counters::default(),
            last_arrival: None,
            gap_excess: crate::timing::Window::default(),
            adaptive,
            adverts: AdvertCache::default(),
        })
    }

    /// Feed one input at time `now`; returns the actions to carry out, in order.
    ///
    /// Timers that are due at `now` are run first, whatever the input.
    #[must_use = "the actions must be carried out, in order"]
    pub fn handle(&mut self, now: Instant, input: Input<'_>) -> Vec<Action> {
        let mut out = Vec::new();
        self.handle_into(now, input, &mut out);
        out
    }

    /// [`Instance::handle`], appending the actions to `out`: an edge that keeps one buffer
    /// allocates nothing for a master's periodic advert (`tests/no_alloc.rs`).
    pub fn handle_into(&mut self, now: Instant, input: Input<'_>, out: &mut Vec<Action>) {
        self.run_timers(now, out);
        match input {
            Input::Startup => self.on_startup(now, out),
            Input::Shutdown => {
                if self.state != State::Init {
                    self.change_state(now, State::Init, Reason::Shutdown, out);
                }
            }
            Input::Leave => match self.state {
                State::Master if !self.cfg.handoff_bound().is_zero() => {
                    self.change_state(now, State::Leaving, Reason::Leave, out);
                }
                State::Init | State::Leaving => {}
                State::Master | State::Backup | State::Fault => {
                    self.change_state(now, State::Init, Reason::Shutdown, out);
                }
            },
            Input::Timer => {}
            Input::Packet(p) => self.on_packet(now, p, out),
            Input::LinkUp | Input::LinkDown => {
                self.link_up = input == Input::LinkUp;
                self.on_faults_changed(now, out);
            }
            Input::SourceAddress(addr) => {
                let addr = addr.filter(|a| Family::of(a) == self.cfg.family);
                if addr.is_none() && self.state == State::Master {
                    // Resign (priority 0) from the address we still know before losing it.
                    let f = Reason::Fault(Fault::NoSourceAddress);
                    self.change_state(now, State::Fault, f, out);
                }
                self.source = addr;
                self.on_faults_changed(now, out);
            }
            Input::Track { index, up } => {
                if let Some(slot) = self.track_up.get_mut(index) {
                    *slot = up;
                    self.on_priority_changed(now, out);
                    self.on_faults_changed(now, out);
                }
            }
        }
    }

    /// The earliest instant at which `Input::Timer` must be fed; `None` = no timer armed.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            State::Master => [
                self.adver_at,
                self.garp_second.map(|(t, _)| t),
                self.garp_refresh_at,
                self.next_burst(),
            ]
            .into_iter()
            .flatten()
            .min(),
            State::Backup => self.down_deadline(),
            State::Leaving => self.leave_until,
            State::Init | State::Fault => None,
        }
    }

    /// Apply a changed configuration in place, keeping role, VIPs and timers: for "soft"
    /// changes (priority, preemption, interval, unicast peers, GARP settings, tracks, …).
    /// `track_up[i]` is the current health of the new `cfg.tracks[i]` (missing = up).
    /// Refused (nothing changes) when `cfg` is invalid or its identity differs
    /// ([`InstanceConfig::same_identity`]): then the caller rebuilds the instance.
    ///
    /// A master whose effective priority changes advertises the new one at once (as a track
    /// change would); faults that appear or clear are handled as usual.
    #[must_use = "the actions must be carried out, in order"]
    pub fn reconfigure(
        &mut self,
        now: Instant,
        cfg: InstanceConfig,
        track_up: &[bool],
    ) -> Result<Vec<Action>, ReconfigureError> {
        cfg.validate()?;
        self.cfg
            .same_identity(&cfg)
            .map_err(ReconfigureError::Identity)?;
        let mut out = Vec::new();
        self.run_timers(now, &mut out);
        let old = std::mem::replace(&mut self.cfg, cfg);
        self.adverts.clear();
        let old_interval = self.adaptive.interval();
        let change = self
            .adaptive
            .reconfigure(self.cfg.advert_interval, self.cfg.adaptive_floor);
        self.track_up = (0..self.cfg.tracks.len())
            .map(|i| track_up.get(i).copied().unwrap_or(true))
            .collect();
        if self.state != State::Backup || self.cfg.version == Version::V2 {
            self.master_adver_interval = self.cfg.advert_interval;
        }
        if self.state == State::Master {
            if old_interval != self.adaptive.interval() {
                // A longer interval takes effect after the advert already due announces it.
                let next = now + self.adaptive.interval();
                self.adver_at = Some(self.adver_at.map_or(next, |t| t.min(next)));
            }
            out.extend(change.map(Action::AdvertInterval));
            if old.garp_master_refresh != self.cfg.garp_master_refresh {
                self.garp_refresh_at = (!self.cfg.garp_master_refresh.is_zero())
                    .then(|| now + self.cfg.garp_master_refresh);
            }
        }
        if !self.cfg.preempt || self.cfg.preempt_delay.is_zero() {
            self.preempt_hold_until = None;
        }
        self.on_priority_changed(now, &mut out);
        self.on_faults_changed(now, &mut out);
        Ok(out)
    }

    /// When the next advert is due (MASTER only); the edge measures its send lateness.
    pub fn advert_due(&self) -> Option<Instant> {
        match self.state {
            State::Master => self.adver_at,
            State::Init | State::Backup | State::Fault | State::Leaving => None,
        }
    }

    /// A serialisable snapshot of the instance.
    pub fn status(&self) -> InstanceStatus {
        InstanceStatus {
            name: self.cfg.name.clone(),
            vrid: self.cfg.vrid,
            family: self.cfg.family,
            vrrp_version: self.cfg.version.number(),
            role: self.state,
            base_priority: self.cfg.priority,
            effective_priority: self.effective_priority,
            master_address: match self.state {
                State::Master => self.source,
                State::Backup => self.master_addr,
                State::Init | State::Fault | State::Leaving => None,
            },
            source_address: self.source,
            vips_held: if self.vips_held {
                self.cfg.vips.clone()
            } else {
                Vec::new()
            },
            advert_interval_ms: millis(self.cfg.advert_interval),
            master_adver_interval_ms: millis(match self.state {
                State::Master => self.adaptive.interval(),
                _ => self.master_adver_interval,
            }),
            faults: self.faults(),
            counters: self.counters.clone(),
            advert_gap_excess: self.gap_excess.stats(),
            advert: self.advert_status(),
            advert_reason: match self.state {
                State::Backup => crate::adaptive::AdvertReason::Following,
                _ => self.adaptive.reason(),
            },
        }
    }

    /// The advert interval as exported: a master's own; a BACKUP's Master_Adver_Interval (the
    /// interval the group runs at, as learned from the master); otherwise the starting one.
    fn advert_status(&self) -> crate::adaptive::AdvertStatus {
        let mut a = self.adaptive.status();
        match self.state {
            State::Master => {}
            State::Backup => {
                a.interval_ms = millis(self.master_adver_interval);
                a.reason = crate::adaptive::AdvertReason::Following.to_string();
            }
            State::Init | State::Fault | State::Leaving => a.interval_ms = a.ceiling_ms,
        }
        a
    }

    /// The VIPs the core has asked the IO edge to hold (empty unless MASTER or LEAVING).
    pub fn vips_held(&self) -> &[Vip] {
        if self.vips_held {
            &self.cfg.vips
        } else {
            &[]
        }
    }

    /// Current role.
    pub fn state(&self) -> State {
        self.state
    }

    /// Priority after tracking.
    pub fn effective_priority(&self) -> u8 {
        self.effective_priority
    }

    /// The configuration.
    pub fn config(&self) -> &InstanceConfig {
        &self.cfg
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

// ===== impl Instance: state changes =====

impl Instance {
    /// The single place where a transition's side effects are emitted: first those of
    /// leaving `self.state`, then `StateChanged`, then those of entering `to`.
    fn change_state(&mut self, now: Instant, to: State, reason: Reason, out: &mut Vec<Action>) {
        let from = self.state;
        if from == to {
            return;
        }
        match from {
            State::Master => {
                self.adver_at = None;
                self.garp_second = None;
                self.garp_refresh_at = None;
                self.garp_burst_at = None;
                // RFC 5798 §6.4.3 Shutdown: send an advert with priority 0. keepalived also
                // does so when a master enters FAULT (docs/keepalived-interop.md §5).
                if matches!(to, State::Init | State::Fault | State::Leaving) {
                    self.send_adverts(0, out);
                }
                // keepalived removes the VIPs on leaving MASTER (docs/keepalived-interop.md §5).
                // Deviation (vrrpd make-before-break): LEAVING keeps them until a new master has
                // taken over, so clients see no gap; the overlap is bounded by the new master's
                // first advert (see `leaving_rx`) or `handoff_bound`.
                if to != State::Leaving {
                    self.release_vips(out);
                }
            }
            State::Backup => self.down = None,
            State::Leaving => {
                self.leave_until = None;
                self.release_vips(out);
            }
            State::Init | State::Fault => {}
        }
        self.state = to;
        self.last_arrival = None;
        self.counters.transitions += 1;
        out.push(Action::StateChanged { from, to, reason });
        match to {
            State::Master => self.enter_master(now, out),
            State::Backup => {
                // RFC 5798 §6.4.1/§6.4.3: set Master_Down_Timer to Master_Down_Interval.
                // The caller has set Master_Adver_Interval.
                self.down = Some(DownTimer {
                    since: now,
                    skew_only: false,
                });
                self.preempt_hold_until = None;
            }
            State::Init | State::Fault => {
                self.master_addr = None;
                self.down = None;
                self.preempt_hold_until = None;
            }
            State::Leaving => {
                // Deviation (vrrpd): no Adver_Timer and no answers while leaving, so nothing
                // we send can delay the backups' Skew_Time takeover.
                self.master_addr = None;
                self.leave_until = Some(now + self.cfg.handoff_bound());
            }
        }
    }

    /// RFC 5798 §6.4.1/§6.4.2 (transition to Master): send an advert, take the VIPs, announce
    /// them, start the Adver_Timer. keepalived order: advert, VIP add, GARP burst; the
    /// second burst after `garp_master_delay`, then refresh every `garp_master_refresh`.
    fn enter_master(&mut self, now: Instant, out: &mut Vec<Action>) {
        self.counters.became_master += 1;
        self.master_adver_interval = self.cfg.advert_interval;
        self.master_addr = self.source;
        self.down = None;
        // Start safe: an adaptive interval begins at the ceiling on every mastership.
        let change = self.adaptive.reset(now);
        self.send_adverts(self.effective_priority, out);
        self.adver_at = Some(now + self.adaptive.interval());
        out.extend(change.map(Action::AdvertInterval));
        if !self.cfg.vips.is_empty() {
            self.vips_held = true;
            out.push(Action::AddVips(self.cfg.vips.clone()));
        }
        self.announce(self.cfg.garp_master_repeat, out);
        self.garp_second = (!self.cfg.garp_master_delay.is_zero()).then(|| {
            (
                now + self.cfg.garp_master_delay,
                self.cfg.garp_master_repeat,
            )
        });
        self.garp_refresh_at =
            (!self.cfg.garp_master_refresh.is_zero()).then(|| now + self.cfg.garp_master_refresh);
        self.garp_burst_at = (!self.cfg.garp_burst.is_empty()).then_some((now, 0));
    }

    /// When the next `garp_burst` repeat is due, if any is left.
    fn next_burst(&self) -> Option<Instant> {
        let (since, next) = self.garp_burst_at?;
        self.cfg.garp_burst.get(next).map(|d| since + *d)
    }

    /// Send the `garp_burst` repeats due at `now`: one GARP/NA per VIP, however many offsets
    /// passed meanwhile (a late loop does not send a backlog).
    fn run_burst(&mut self, now: Instant, out: &mut Vec<Action>) {
        let Some((since, mut next)) = self.garp_burst_at else {
            return;
        };
        let due = next;
        while self
            .cfg
            .garp_burst
            .get(next)
            .is_some_and(|d| since + *d <= now)
        {
            next += 1;
        }
        if next > due {
            self.announce(1, out);
            self.garp_burst_at = Some((since, next));
        }
    }

    fn release_vips(&mut self, out: &mut Vec<Action>) {
        if self.vips_held {
            self.vips_held = false;
            out.push(Action::RemoveVips(self.cfg.vips.clone()));
        }
    }

    fn announce(&self, count: u32, out: &mut Vec<Action>) {
        if count > 0 && !self.cfg.vips.is_empty() {
            out.push(Action::Announce {
                vips: self.cfg.vips.clone(),
                count,
            });
        }
    }

    /// RFC 5798 §6.4.1 Startup. keepalived always removes stale VIPs first
    /// (docs/keepalived-interop.md §5) unless it goes straight to MASTER as owner.
    fn on_startup(&mut self, now: Instant, out: &mut Vec<Action>) {
        if self.state != State::Init {
            return;
        }
        self.master_adver_interval = self.cfg.advert_interval;
        let faults = self.faults();
        if faults.is_empty() && self.effective_priority == 255 {
            // RFC 5798 §6.4.1: the owner goes to Master at once.
            self.change_state(now, State::Master, Reason::Owner, out);
            return;
        }
        if !self.cfg.vips.is_empty() {
            out.push(Action::RemoveVips(self.cfg.vips.clone()));
        }
        match faults.first() {
            Some(f) => self.change_state(now, State::Fault, Reason::Fault(*f), out),
            None => self.change_state(now, State::Backup, Reason::Startup, out),
        }
    }

    /// What holds the instance in FAULT.
    fn faults(&self) -> Vec<Fault> {
        let mut f = Vec::new();
        if !self.link_up {
            f.push(Fault::LinkDown);
        }
        if self.source.is_none() {
            f.push(Fault::NoSourceAddress);
        }
        f.extend(
            track_faults(&self.cfg.tracks, &self.track_up)
                .into_iter()
                .map(Fault::Track),
        );
        f
    }

    /// keepalived FAULT: enter on the first fault, leave when all clear (to BACKUP, or
    /// MASTER if owner).
    fn on_faults_changed(&mut self, now: Instant, out: &mut Vec<Action>) {
        let faults = self.faults();
        match (self.state, faults.first()) {
            (State::Backup | State::Master, Some(f)) => {
                self.change_state(now, State::Fault, Reason::Fault(*f), out);
            }
            // A leaving instance that develops a fault (link down, the load balancer dying
            // during a machine shutdown) has nothing left to serve: release now.
            (State::Leaving, Some(f)) => {
                self.change_state(now, State::Init, Reason::Fault(*f), out);
            }
            (State::Fault, None) => {
                self.master_adver_interval = self.cfg.advert_interval;
                let to = if self.effective_priority == 255 {
                    State::Master
                } else {
                    State::Backup
                };
                self.change_state(now, to, Reason::FaultCleared, out);
            }
            _ => {}
        }
    }

    /// keepalived `vrrp_set_effective_priority`: a BACKUP re-derives its down timer (done
    /// lazily by [`Self::down_deadline`]); a MASTER advertises the new priority at once.
    fn on_priority_changed(&mut self, now: Instant, out: &mut Vec<Action>) {
        let p = effective_priority(self.cfg.priority, &self.cfg.tracks, &self.track_up);
        if p == self.effective_priority {
            return;
        }
        self.effective_priority = p;
        if self.state == State::Master {
            self.send_adverts(p, out);
            self.adver_at = Some(now + self.adaptive.interval());
        }
    }
}

// ===== impl Instance: timers =====

impl Instance {
    /// Master_Down_Timer deadline with the current effective priority and
    /// Master_Adver_Interval (RFC 5798 §6.1).
    fn down_deadline(&self) -> Option<Instant> {
        let d = self.down?;
        let v = self.cfg.version;
        let p = self.effective_priority;
        let span = if d.skew_only {
            skew(v, p, self.master_adver_interval)
        } else {
            master_down_interval(
                v,
                self.cfg.down_timer_adverts,
                p,
                self.master_adver_interval,
            )
        };
        Some(d.since + span)
    }

    fn run_timers(&mut self, now: Instant, out: &mut Vec<Action>) {
        match self.state {
            State::Backup => {
                // RFC 5798 §6.4.2: Master_Down_Timer fires → become Master.
                if self.down_deadline().is_some_and(|t| t <= now) {
                    self.change_state(now, State::Master, Reason::MasterDown, out);
                }
            }
            State::Master => {
                // RFC 5798 §6.4.3: Adver_Timer fires → send an advert, restart the timer.
                if let Some(t) = self.adver_at.filter(|t| *t <= now) {
                    // The adaptive interval learns from this advert's lateness first, so the
                    // advert announces the interval it chose.
                    let sent = self.adaptive.on_send(now, t);
                    self.send_adverts(self.effective_priority, out);
                    self.adver_at = Some(next_tick(t, sent.next_gap, now));
                    out.extend(sent.change.map(Action::AdvertInterval));
                }
                self.run_burst(now, out);
                if let Some((_, count)) = self.garp_second.filter(|(t, _)| *t <= now) {
                    self.garp_second = None;
                    self.announce(count, out);
                }
                if let Some(t) = self.garp_refresh_at.filter(|t| *t <= now) {
                    self.announce(self.cfg.garp_master_refresh_repeat, out);
                    self.garp_refresh_at = Some(next_tick(t, self.cfg.garp_master_refresh, now));
                }
            }
            State::Leaving => {
                if self.leave_until.is_some_and(|t| t <= now) {
                    self.change_state(now, State::Init, Reason::HandoffTimeout, out);
                }
            }
            State::Init | State::Fault => {}
        }
    }
}

/// The next periodic deadline after `due`, keeping the cadence unless we fell behind.
fn next_tick(due: Instant, period: Duration, now: Instant) -> Instant {
    let next = due + period;
    if next > now {
        next
    } else {
        now + period
    }
}

// ===== impl Instance: sending =====

impl Instance {
    /// The adverts for `priority` (`adverts.rs`: encoded once per priority, interval and
    /// source, then re-used).
    fn send_adverts(&mut self, priority: u8, out: &mut Vec<Action>) {
        let Some(src) = self.source else { return };
        let interval = match self.cfg.version {
            Version::V3 => crate::adaptive::wire(self.adaptive.interval()),
            Version::V2 => self.cfg.interval_wire(),
        };
        for (dst, payload) in self.adverts.get(&self.cfg, priority, interval, src) {
            self.counters.adverts_sent += 1;
            if priority == 0 {
                self.counters.priority_zero_sent += 1;
            }
            out.push(Action::Send {
                src,
                dst: *dst,
                payload: payload.clone(),
            });
        }
    }
}

// ===== impl Instance: receiving =====

impl Instance {
    fn on_packet(&mut self, now: Instant, p: RxPacket<'_>, out: &mut Vec<Action>) {
        let (advert, form) = match self.validate(&p) {
            Ok(v) => v,
            Err(reason) => {
                self.counters.drops.add(reason);
                if reason != DropReason::Inactive {
                    out.push(Action::Dropped { src: p.src, reason });
                }
                self.conflict(p.src, ConflictKind::from_drop(reason, p.payload), out);
                return;
            }
        };
        self.counters.adverts_received += 1;
        let unknown = ConflictKind::from_source(&self.cfg.unicast_peers, p.src);
        self.conflict(p.src, unknown, out);
        if self.cfg.v2_compat {
            if advert.version == Version::V2 {
                self.counters.v2_compat_received += 1;
                // RFC 5798 §8.4.2: "a Backup should ignore VRRPv2 advertisements from the
                // current Master if it is also receiving VRRPv3 packets from it".
                if self.v3_sender == Some(p.src) {
                    return;
                }
            } else {
                self.v3_sender = Some(p.src);
            }
        }
        if self.cfg.version == Version::V3
            && self.cfg.family == Family::Ipv4
            && form == ChecksumForm::MessageOnly
        {
            self.counters.message_only_checksum += 1;
        }
        if advert.priority == 0 {
            self.counters.priority_zero_received += 1;
        }
        match self.state {
            State::Backup => self.backup_rx(now, p.src, &advert),
            State::Master => self.master_rx(now, p.src, &advert, out),
            State::Leaving => self.leaving_rx(now, &advert, out),
            State::Init | State::Fault => {}
        }
    }

    /// Count one address conflict the IO edge saw (an ARP/NA claim on one of our VIPs from a
    /// MAC that is not the holder's). Only a counter: never changes state, emits nothing.
    pub fn count_address_conflict(&mut self) {
        self.counters.conflicts.add(ConflictKind::AddressConflict);
    }

    /// Count and report a conflicting advert (never changes state).
    fn conflict(&mut self, src: IpAddr, kind: Option<ConflictKind>, out: &mut Vec<Action>) {
        if let Some(kind) = kind {
            self.counters.conflicts.add(kind);
            out.push(Action::Conflict { src, kind });
        }
    }

    /// Receive checks in keepalived 2.2.7's order where it matters (docs/keepalived-interop.md §3):
    /// runt, VRID, state, TTL, version, then the codec (type, length, checksum), v2 auth and
    /// interval, destination, address count and list, own address.
    fn validate(&self, p: &RxPacket<'_>) -> Result<(Advert, ChecksumForm), DropReason> {
        let cfg = &self.cfg;
        if p.payload.len() < crate::packet::HEADER_LEN {
            return Err(DropReason::Length);
        }
        // RFC 5798 §7.1: MUST verify the VRID is configured; keepalived: silently ignored.
        if crate::packet::peek_vrid(p.payload) != Some(cfg.vrid) {
            return Err(DropReason::Vrid);
        }
        // keepalived: instances in FAULT or INIT ignore packets.
        if matches!(self.state, State::Init | State::Fault) {
            return Err(DropReason::Inactive);
        }
        if Family::of(&p.src) != cfg.family || Family::of(&p.dst) != cfg.family {
            return Err(DropReason::Family);
        }
        let multicast = cfg.unicast_peers.is_empty();
        // RFC 5798 §7.1: MUST verify TTL/hop limit is 255. keepalived skips this in
        // unicast mode (docs/keepalived-interop.md §2).
        if multicast && p.ttl != 255 {
            return Err(DropReason::Ttl);
        }
        // RFC 5798 §7.1: MUST verify the version (§8.4: a v3 instance in v2 interoperation
        // mode also takes v2).
        let version = p.payload.first().map(|b| b >> 4);
        let v2_twin = cfg.v2_compat && version == Some(Version::V2.number());
        if version != Some(cfg.version.number()) && !v2_twin {
            return Err(DropReason::Version);
        }
        let decoded =
            Advert::decode(p.payload, cfg.family, Some((p.src, p.dst))).map_err(decode_reason)?;
        let adv = decoded.advert;
        if v2_twin {
            // The group being moved has no authentication (v3 has none to carry over), and
            // its interval is learnt (translated to centiseconds) rather than enforced.
            if adv.auth_type != AUTH_NONE {
                return Err(DropReason::AuthType);
            }
            if adv.interval == 0 {
                return Err(DropReason::Interval);
            }
        } else if cfg.version == Version::V2 {
            // RFC 2338 §7.1 / keepalived: Auth Type must equal ours, PASS data must match.
            let want = if cfg.auth_pass.is_some() {
                AUTH_PASS
            } else {
                AUTH_NONE
            };
            if adv.auth_type != want {
                return Err(DropReason::AuthType);
            }
            if let Some(pass) = &cfg.auth_pass {
                if !constant_time_eq(pass, &adv.auth_data) {
                    return Err(DropReason::Auth);
                }
            }
            // RFC 3768 §7.1: MUST drop if Adver Int differs (v3 learns it instead).
            if adv.interval != cfg.interval_wire() {
                return Err(DropReason::Interval);
            }
        }
        // keepalived: multicast sockets take only the group, unicast ones only unicast.
        if (multicast && p.dst != cfg.multicast_dst()) || (!multicast && is_multicast(&p.dst)) {
            return Err(DropReason::Destination);
        }
        // RFC 5798 §7.1: MAY check count and list; on mismatch MUST drop unless the sender
        // is the owner (priority 255).
        if adv.priority != 255 {
            if adv.addrs.len() != cfg.vips.len() {
                return Err(DropReason::AddrCount);
            }
            if cfg.vips.iter().any(|v| !adv.addrs.contains(&v.addr)) {
                return Err(DropReason::AddrList);
            }
        }
        if Some(p.src) == self.source {
            return Err(DropReason::Own);
        }
        Ok((adv, decoded.checksum))
    }

    /// RFC 5798 §6.4.2 Backup, receiving an ADVERTISEMENT.
    fn backup_rx(&mut self, now: Instant, src: IpAddr, adv: &Advert) {
        if adv.priority == 0 {
            // "If the Priority in the ADVERTISEMENT is zero, then: Set the
            // Master_Down_Timer to Skew_Time."
            self.down = Some(DownTimer {
                since: now,
                skew_only: true,
            });
            self.master_addr = None;
            self.last_arrival = None;
            return;
        }
        let ours = self.effective_priority;
        // keepalived `preempt_delay` (vrrp_state_backup): the first lower-priority advert
        // starts the delay; until it expires such adverts are accepted as if nopreempt.
        let mut hold = false;
        if self.cfg.preempt && !self.cfg.preempt_delay.is_zero() {
            if adv.priority >= ours {
                self.preempt_hold_until = None;
            } else {
                match self.preempt_hold_until {
                    None => {
                        self.preempt_hold_until = Some(now + self.cfg.preempt_delay);
                        hold = true;
                    }
                    Some(t) => hold = now < t,
                }
            }
        }
        // "If Preempt_Mode is False, or if the Priority in the ADVERTISEMENT is greater
        // than or equal to the local Priority: set Master_Adver_Interval (v3), recompute,
        // reset the Master_Down_Timer. Otherwise discard."
        if !self.cfg.preempt || adv.priority >= ours || hold {
            self.learn_interval(adv);
            self.record_arrival(now, src);
            self.down = Some(DownTimer {
                since: now,
                skew_only: false,
            });
            self.master_addr = Some(src);
        }
        // else: keepalived "received lower priority advert, discarding"; timer keeps running.
    }

    /// Measure the gap since the previous advert that reset the Master_Down_Timer, beyond
    /// the interval the master announces. Only between two adverts of the same master at the
    /// same interval: a new master, an interval change or a priority-0 advert (above) start
    /// over, so a takeover or a retune is not counted as jitter.
    fn record_arrival(&mut self, now: Instant, src: IpAddr) {
        let interval = self.master_adver_interval;
        if let Some((prev, from, at)) = self.last_arrival {
            if from == src && at == interval {
                let gap = now.saturating_duration_since(prev);
                self.gap_excess.record(gap.saturating_sub(interval));
            }
        }
        self.last_arrival = Some((now, src, interval));
    }

    /// RFC 5798 §6.4.3 Master, receiving an ADVERTISEMENT.
    fn master_rx(&mut self, now: Instant, src: IpAddr, adv: &Advert, out: &mut Vec<Action>) {
        let ours = self.effective_priority;
        if adv.priority == 0 {
            // "If the Priority is zero: send an ADVERTISEMENT, reset the Adver_Timer."
            self.send_adverts(ours, out);
            self.adver_at = Some(now + self.adaptive.interval());
            return;
        }
        // "If the Priority is greater than the local Priority, or equal and the primary
        // address of the sender is greater (unsigned compare): cancel Adver_Timer, set
        // Master_Adver_Interval, recompute, set Master_Down_Timer, go Backup."
        let higher = adv.priority > ours;
        let tie_lost = adv.priority == ours && self.source.is_some_and(|me| src > me);
        if higher || tie_lost {
            if self.cfg.higher_prio_send_advert {
                self.send_adverts(ours, out);
            }
            self.learn_interval(adv);
            self.master_addr = Some(src);
            let reason = if higher {
                Reason::HigherPriority
            } else {
                Reason::HigherAddress
            };
            self.change_state(now, State::Backup, reason, out);
            // The Master_Down_Timer runs from this advert: the next gap is measured from it.
            self.record_arrival(now, src);
            return;
        }
        // Lower priority: RFC 5798 discards it. keepalived (and RFC 9568 per its man page)
        // answers at once with an advert plus a GARP burst, unless `lower_prio_no_advert`.
        if !self.cfg.lower_prio_no_advert {
            self.send_adverts(ours, out);
            self.announce(self.cfg.garp_lower_prio_repeat, out);
            if !self.cfg.garp_lower_prio_delay.is_zero() {
                self.garp_second = Some((
                    now + self.cfg.garp_lower_prio_delay,
                    self.cfg.garp_lower_prio_repeat,
                ));
            }
        }
    }

    /// vrrpd make-before-break (not RFC): a leaving master releases its VIPs on the first
    /// advert with priority > 0, i.e. from whoever is master now; it never answers, so the
    /// takeover is not delayed. Priority 0 (another router leaving) is ignored.
    fn leaving_rx(&mut self, now: Instant, adv: &Advert, out: &mut Vec<Action>) {
        if adv.priority > 0 {
            self.change_state(now, State::Init, Reason::HandedOver, out);
        }
    }

    /// RFC 5798 §6.4.2: v3 Backup sets Master_Adver_Interval from the advert; v2 keeps its
    /// own (mismatches were dropped).
    fn learn_interval(&mut self, adv: &Advert) {
        self.master_adver_interval = match (self.cfg.version, adv.version) {
            // §8.4.2: "in the case of a VRRPv2 Master, [the Backup] must translate the
            // timeout value it receives (in seconds) into centiseconds".
            (Version::V3, Version::V2) => interval_from_wire(Version::V2, adv.interval),
            (Version::V3, _) if adv.interval > 0 => interval_from_wire(Version::V3, adv.interval),
            _ => self.cfg.advert_interval,
        };
    }
}

fn decode_reason(e: DecodeError) -> DropReason {
    match e {
        DecodeError::TooShort { .. } | DecodeError::Length { .. } => DropReason::Length,
        DecodeError::Version(_) => DropReason::Version,
        DecodeError::Type(_) => DropReason::Type,
        DecodeError::Family | DecodeError::AddressFamily => DropReason::Family,
        DecodeError::Checksum { .. } => DropReason::Checksum,
    }
}

fn is_multicast(a: &IpAddr) -> bool {
    a.is_multicast()
}

/// Compare without an early exit (keepalived compares PASS data in constant time).
fn constant_time_eq(a: &[u8; 8], b: &[u8; 8]) -> bool {
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}
