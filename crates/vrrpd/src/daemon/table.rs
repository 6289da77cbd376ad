//! The table of running instances, keyed by stable handles. A handle is never reused, so one
//! held across an `.await` (or by a packet from a socket since closed) finds nothing rather than
//! another instance; iteration is in start order, like the configuration's.

use std::collections::BTreeMap;

use super::instance::Running;

/// A stable handle on a running instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct InstanceId(u64);

/// Running instances by handle; handles increase, so key order is start order.
#[derive(Default)]
pub(crate) struct Instances {
    by_id: BTreeMap<InstanceId, Running>,
    next: u64,
}

impl Instances {
    /// Add `r` and return its new handle.
    pub fn insert(&mut self, r: Running) -> InstanceId {
        let id = InstanceId(self.next);
        self.next += 1;
        self.by_id.insert(id, r);
        id
    }

    pub fn get(&self, id: InstanceId) -> Option<&Running> {
        self.by_id.get(&id)
    }

    pub fn get_mut(&mut self, id: InstanceId) -> Option<&mut Running> {
        self.by_id.get_mut(&id)
    }

    /// A snapshot of the handles, for loops that feed instances (feeding needs `&mut Daemon`).
    pub fn ids(&self) -> Vec<InstanceId> {
        self.by_id.keys().copied().collect()
    }

    /// Handles of the instances that satisfy `pred`.
    pub fn ids_where(&self, mut pred: impl FnMut(&Running) -> bool) -> Vec<InstanceId> {
        self.by_id
            .iter()
            .filter(|(_, r)| pred(r))
            .map(|(id, _)| *id)
            .collect()
    }

    /// The first instance that satisfies `pred`.
    pub fn find(&self, mut pred: impl FnMut(&Running) -> bool) -> Option<InstanceId> {
        self.by_id.iter().find(|(_, r)| pred(r)).map(|(id, _)| *id)
    }

    pub fn iter(&self) -> impl Iterator<Item = (InstanceId, &Running)> {
        self.by_id.iter().map(|(id, r)| (*id, r))
    }

    pub fn values(&self) -> impl Iterator<Item = &Running> {
        self.by_id.values()
    }

    pub fn retain(&mut self, mut keep: impl FnMut(&mut Running) -> bool) {
        self.by_id.retain(|_, r| keep(r));
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::running;
    use super::*;

    #[test]
    fn handles_are_stable_and_never_reused() {
        let mut t = Instances::default();
        let a = t.insert(running("a", 1));
        let b = t.insert(running("b", 2));
        t.retain(|r| r.spec.core.name != "a");
        assert!(t.get(a).is_none());
        assert_eq!(t.get(b).map(|r| r.spec.core.vrid), Some(2));
        let c = t.insert(running("c", 3));
        assert_ne!(c, a);
        assert!(t.get(a).is_none());
        let order: Vec<&str> = t.values().map(|r| r.spec.core.name.as_str()).collect();
        assert_eq!(order, ["b", "c"]);
        assert_eq!(t.ids(), [b, c]);
        assert_eq!(t.find(|r| r.spec.core.vrid == 3), Some(c));
        assert_eq!(t.len(), 2);
    }
}
