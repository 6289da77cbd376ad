//! Rise/fall debouncing with keepalived's start rule: the first result decides the initial
//! state; after that `rise` consecutive successes or `fall` consecutive failures flip it.

/// Debounced up/down state of one check.
#[derive(Debug, Clone)]
pub struct Hysteresis {
    state: Option<bool>,
    streak: u32,
    rise: u32,
    fall: u32,
}

impl Hysteresis {
    /// A fresh state; `init_fail` starts it down (otherwise unknown until the first result).
    pub fn new(rise: u32, fall: u32, init_fail: bool) -> Self {
        Hysteresis {
            state: init_fail.then_some(false),
            streak: 0,
            rise: rise.max(1),
            fall: fall.max(1),
        }
    }

    /// The current state, `None` before the first result.
    pub fn state(&self) -> Option<bool> {
        self.state
    }

    /// Record one result; returns the new state when it changed (or was first decided).
    pub fn observe(&mut self, ok: bool) -> Option<bool> {
        match self.state {
            None => {
                self.state = Some(ok);
                self.streak = 0;
                Some(ok)
            }
            Some(cur) if cur == ok => {
                self.streak = 0;
                None
            }
            Some(_) => {
                self.streak += 1;
                let need = if ok { self.rise } else { self.fall };
                if self.streak >= need {
                    self.state = Some(ok);
                    self.streak = 0;
                    Some(ok)
                } else {
                    None
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_result_decides() {
        let mut h = Hysteresis::new(3, 3, false);
        assert_eq!(h.state(), None);
        assert_eq!(h.observe(false), Some(false));
    }

    #[test]
    fn init_fail_starts_down() {
        let mut h = Hysteresis::new(2, 1, true);
        assert_eq!(h.state(), Some(false));
        assert_eq!(h.observe(true), None);
        assert_eq!(h.observe(true), Some(true));
    }

    #[test]
    fn fall_needs_consecutive_failures() {
        let mut h = Hysteresis::new(1, 2, false);
        assert_eq!(h.observe(true), Some(true));
        assert_eq!(h.observe(false), None);
        assert_eq!(h.observe(true), None); // streak broken
        assert_eq!(h.observe(false), None);
        assert_eq!(h.observe(false), Some(false));
        assert_eq!(h.observe(false), None);
        assert_eq!(h.observe(true), Some(true));
    }
}
