//! The edge's half of the timing measurements (issue 13; arithmetic in `vrrp::timing`): how
//! late the loop feeds a due timer, and how late a due advert reaches the kernel. The core
//! measures the third, the master's advert inter-arrival as a backup sees it.
//!
//! Also the clock the core is fed: a packet is fed at the time the kernel received it
//! ([`arrival`]), so adverts that queued while the worker was stopped or starved reset the
//! Master_Down_Timer from when they arrived, not from when the loop got to them; per instance
//! that time never goes backwards ([`Lateness::feed_time`]).

use std::time::{Duration, Instant, SystemTime};

use vrrp::timing::{Timing, Window};

/// Per instance: two windows and the advert due time being sent.
#[derive(Debug, Default)]
pub(crate) struct Lateness {
    timer: Window,
    send: Window,
    /// The due time of the advert the current `handle` call is expected to send.
    send_due: Option<Instant>,
    /// The latest time fed to the core.
    last_fed: Option<Instant>,
}

/// Oldest receive time taken as a real arrival; an older one is a wall-clock step.
pub(crate) const MAX_RX_AGE: Duration = Duration::from_secs(60);

/// The monotonic instant of a packet the kernel received at wall-clock `rx`, given the two
/// clocks read together now. `None` when `rx` is in the future or older than [`MAX_RX_AGE`]
/// (the wall clock stepped): the caller uses `now`.
pub(crate) fn arrival(now: Instant, wall_now: SystemTime, rx: SystemTime) -> Option<Instant> {
    let age = wall_now.duration_since(rx).ok()?;
    (age <= MAX_RX_AGE).then(|| now.checked_sub(age)).flatten()
}

impl Lateness {
    /// The time to feed the core for an input that happened at `at`: never before the last
    /// time fed (the core's timers assume time does not go backwards), never after `now`.
    pub fn feed_time(&mut self, at: Instant, now: Instant) -> Instant {
        let t = self.last_fed.map_or(at, |l| at.max(l)).min(now);
        self.last_fed = Some(t);
        t
    }

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
        super::super::testing::v3_backup(Duration::from_millis(100))
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
        let _ = i.handle(now, vrrp::Input::Timer);
        l.sent(now);
        assert_eq!(i.state(), vrrp::State::Master);
        // The advert timer fires 2 ms late; the send completes 1 ms later still.
        let due = i.advert_due().unwrap();
        let now = due + Duration::from_millis(2);
        l.before_handle(&i, now);
        let _ = i.handle(now, vrrp::Input::Timer);
        l.sent(now + Duration::from_millis(1));
        // A send outside a due tick (e.g. an answer) is not counted.
        l.sent(now + Duration::from_millis(50));
        let t = l.export(&i.status());
        assert_eq!((t.timer_late.samples, t.timer_late.max_us), (2, 7_000));
        assert_eq!((t.send_late.samples, t.send_late.max_us), (1, 3_000));
    }

    #[test]
    fn arrival_maps_the_wall_clock_age_onto_the_monotonic_clock() {
        let (now, wall) = (Instant::now(), SystemTime::now());
        let ms = Duration::from_millis;
        assert_eq!(arrival(now, wall, wall - ms(700)), Some(now - ms(700)));
        assert_eq!(arrival(now, wall, wall), Some(now));
        assert_eq!(
            arrival(now, wall, wall + ms(5)),
            None,
            "future: a clock step"
        );
        assert_eq!(arrival(now, wall, wall - MAX_RX_AGE - ms(1)), None);
    }

    #[test]
    fn feed_time_never_goes_backwards_nor_ahead() {
        let mut l = Lateness::default();
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        assert_eq!(l.feed_time(t0 - ms(300), t0), t0 - ms(300));
        assert_eq!(
            l.feed_time(t0 - ms(400), t0),
            t0 - ms(300),
            "older than the last"
        );
        assert_eq!(l.feed_time(t0 + ms(5), t0), t0, "never after now");
        assert_eq!(l.feed_time(t0 + ms(10), t0 + ms(10)), t0 + ms(10));
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
