//! The table of running health checks: one task per distinct check name, shared by every
//! instance that tracks it. Ids are never reused, so an event from a stopped task is ignored.

use std::collections::HashMap;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::health::{self, CheckEvent, CheckSpec};

struct Running {
    spec: CheckSpec,
    task: JoinHandle<()>,
    state: Option<bool>,
}

/// Running checks by id.
pub struct Checks {
    by_id: HashMap<usize, Running>,
    next_id: usize,
    tx: mpsc::Sender<CheckEvent>,
}

impl Checks {
    /// An empty table reporting to `tx`.
    pub fn new(tx: mpsc::Sender<CheckEvent>) -> Self {
        Checks {
            by_id: HashMap::new(),
            next_id: 0,
            tx,
        }
    }

    /// Make the running set equal `wanted`: unchanged checks keep running (and their state),
    /// changed or new ones are (re)started, the rest stopped. A restarted check keeps its last state until its first new result.
    pub fn apply(&mut self, wanted: &[CheckSpec]) {
        let previous: HashMap<String, bool> = self
            .by_id
            .values()
            .filter_map(|r| Some((r.spec.name.clone(), r.state?)))
            .collect();
        self.by_id.retain(|_, r| {
            let keep = wanted.contains(&r.spec);
            if !keep {
                r.task.abort();
            }
            keep
        });
        for spec in wanted {
            if self.by_id.values().any(|r| &r.spec == spec) {
                continue;
            }
            let id = self.next_id;
            self.next_id += 1;
            let task = health::spawn(id, spec.clone(), self.tx.clone());
            self.by_id.insert(
                id,
                Running {
                    spec: spec.clone(),
                    task,
                    state: previous.get(&spec.name).copied(),
                },
            );
        }
    }

    /// Record an event; returns the check's name if the id is current.
    pub fn record(&mut self, ev: CheckEvent) -> Option<&str> {
        let r = self.by_id.get_mut(&ev.id)?;
        r.state = Some(ev.up);
        Some(r.spec.name.as_str())
    }

    /// The last known state of the check called `name`.
    pub fn state(&self, name: &str) -> Option<bool> {
        self.by_id
            .values()
            .find(|r| r.spec.name == name)
            .and_then(|r| r.state)
    }

    /// Stop everything.
    pub fn stop_all(&mut self) {
        for (_, r) in self.by_id.drain() {
            r.task.abort();
        }
    }
}
