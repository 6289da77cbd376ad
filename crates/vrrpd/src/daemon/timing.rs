//! The edge's half of the timing measurements (issue 13; arithmetic in `vrrp::timing`): how
//! late the loop feeds a due timer, and how late a due advert reaches the kernel. The core
//! measures the third, the master's advert inter-arrival as a backup sees it.

use std::time::Instant;

use vrrp::timing::{Timing, Window};

/// Per instance: two windows and the advert due time being sent.
#[derive(Debug, Default)]
pub(crate) struct Lateness {
    timer: Window,
    send: Window,
    /// The due time of the advert the current `handle` call is expected to send.
    send_due: Option<Instant>,
}

impl Lateness {
    /// Called just before `inst.handle(now, …)`: a timer already due at `now` fires now (any
    /// input runs due timers first), so `now - deadline` is its lateness; an advert due by
    /// then is sent by this call.
    pub fn before_handle(&mut self, inst: &vrrp::Instance, now: Instant) {
        if let Some(deadline) = inst.poll_timeout().filter(|t| *t <= now) {
            self.timer.record(now.saturating_duration_since(deadline));
        }
        self.send_due = inst.advert_due().filter(|t| *t <= now);
    }

    /// An advert was handed to the kernel at `now`: if it was a due one, record how late.
    pub fn sent(&mut self, now: Instant) {
        if let Some(due) = self.send_due.take() {
            self.send.record(now.saturating_duration_since(due));
        }
    }

    /// The exported summary, with the core's inter-arrival measurement.
    pub fn export(&self, status: &vrrp::InstanceStatus) -> Timing {
        Timing {
            timer_late: self.timer.stats(),
            send_late: self.send.stats(),
            advert_gap_excess: status.advert_gap_excess,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn backup() -> (vrrp::Instance, Instant) {
        let mut cfg = vrrp::InstanceConfig::new(
            "VI_1",
            1,
            vrrp::Family::Ipv4,
            vec!["192.0.2.100/24".parse().unwrap()],
        );
        cfg.version = vrrp::Version::V3;
        cfg.advert_interval = Duration::from_millis(100);
        let mut i = vrrp::Instance::new(cfg).unwrap();
        let t0 = Instant::now();
        i.handle(
            t0,
            vrrp::Input::SourceAddress(Some("192.0.2.1".parse().unwrap())),
        );
        i.handle(t0, vrrp::Input::Startup);
        (i, t0)
    }

    #[test]
    fn timer_and_send_lateness_are_measured_from_the_deadline() {
        let (mut i, _) = backup();
        let mut l = Lateness::default();
        // The down timer fires 7 ms late: timer lateness 7 ms; we become master (its first
        // advert is not a due one, so no send sample).
        let down = i.poll_timeout().unwrap();
        let now = down + Duration::from_millis(7);
        l.before_handle(&i, now);
        i.handle(now, vrrp::Input::Timer);
        l.sent(now);
        assert_eq!(i.state(), vrrp::State::Master);
        // The advert timer fires 2 ms late; the send completes 1 ms later still.
        let due = i.advert_due().unwrap();
        let now = due + Duration::from_millis(2);
        l.before_handle(&i, now);
        i.handle(now, vrrp::Input::Timer);
        l.sent(now + Duration::from_millis(1));
        // A send outside a due tick (e.g. an answer) is not counted.
        l.sent(now + Duration::from_millis(50));
        let t = l.export(&i.status());
        assert_eq!((t.timer_late.samples, t.timer_late.max_us), (2, 7_000));
        assert_eq!((t.send_late.samples, t.send_late.max_us), (1, 3_000));
    }

    #[test]
    fn an_input_before_any_deadline_records_nothing() {
        let (i, t0) = backup();
        let mut l = Lateness::default();
        l.before_handle(&i, t0 + Duration::from_millis(1));
        l.sent(t0 + Duration::from_millis(1));
        let t = l.export(&i.status());
        assert_eq!((t.timer_late.samples, t.send_late.samples), (0, 0));
    }
}
