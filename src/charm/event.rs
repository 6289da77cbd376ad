//! Which Juju event this process runs for.
use std::fmt;

/// The five relation hook kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelationHook {
    /// `<endpoint>-relation-created`
    Created,
    /// `<endpoint>-relation-joined`
    Joined,
    /// `<endpoint>-relation-changed`
    Changed,
    /// `<endpoint>-relation-departed`
    Departed,
    /// `<endpoint>-relation-broken`
    Broken,
}

/// The endpoints this charm declares in `metadata.yaml`.
pub const ENDPOINTS: [&str; 5] = ["juju-info", "lb-sink", "loadbalancer", "website", "peers"];

/// Unit hooks this charm handles (besides the relation hooks).
pub const UNIT_HOOKS: [&str; 11] = [
    "install",
    "start",
    "config-changed",
    "upgrade-charm",
    "stop",
    "remove",
    "update-status",
    "leader-elected",
    "leader-settings-changed",
    "pre-series-upgrade",
    "post-series-upgrade",
];

/// A Juju event: a hook or an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `install`
    Install,
    /// `start`
    Start,
    /// `config-changed`
    ConfigChanged,
    /// `upgrade-charm`
    UpgradeCharm,
    /// `stop`
    Stop,
    /// `remove`
    Remove,
    /// `update-status`
    UpdateStatus,
    /// `leader-elected`
    LeaderElected,
    /// `leader-settings-changed`
    LeaderSettingsChanged,
    /// `pre-series-upgrade`
    PreSeriesUpgrade,
    /// `post-series-upgrade`
    PostSeriesUpgrade,
    /// `<endpoint>-relation-<kind>`
    Relation {
        /// Endpoint name, e.g. `website`.
        endpoint: String,
        /// Which relation hook.
        kind: RelationHook,
    },
    /// `actions/<name>`
    Action(String),
    /// Any other hook name (reconciled like any other hook).
    Other(String),
}

impl Event {
    /// Parses `JUJU_DISPATCH_PATH` (`hooks/<name>`, `actions/<name>`) or a bare hook name
    /// (the basename of argv[0] when run as `hooks/<name>`).
    pub fn from_dispatch_path(path: &str) -> Self {
        let path = path.trim_end_matches('/');
        let (dir, name) = match path.rsplit_once('/') {
            Some((dir, name)) => (dir.rsplit('/').next().unwrap_or(dir), name),
            None => ("hooks", path),
        };
        if dir == "actions" {
            return Event::Action(name.to_string());
        }
        Self::from_hook_name(name)
    }

    /// Parses a hook name such as `website-relation-joined`.
    pub fn from_hook_name(name: &str) -> Self {
        match name {
            "install" => Event::Install,
            "start" => Event::Start,
            "config-changed" => Event::ConfigChanged,
            "upgrade-charm" => Event::UpgradeCharm,
            "stop" => Event::Stop,
            "remove" => Event::Remove,
            "update-status" => Event::UpdateStatus,
            "leader-elected" => Event::LeaderElected,
            "leader-settings-changed" => Event::LeaderSettingsChanged,
            "pre-series-upgrade" => Event::PreSeriesUpgrade,
            "post-series-upgrade" => Event::PostSeriesUpgrade,
            other => {
                for (suffix, kind) in [
                    ("-relation-created", RelationHook::Created),
                    ("-relation-joined", RelationHook::Joined),
                    ("-relation-changed", RelationHook::Changed),
                    ("-relation-departed", RelationHook::Departed),
                    ("-relation-broken", RelationHook::Broken),
                ] {
                    if let Some(endpoint) = other.strip_suffix(suffix) {
                        if !endpoint.is_empty() {
                            return Event::Relation {
                                endpoint: endpoint.to_string(),
                                kind,
                            };
                        }
                    }
                }
                Event::Other(other.to_string())
            }
        }
    }

    /// Every hook name the charm ships a `hooks/` entry for.
    pub fn all_hook_names() -> Vec<String> {
        let mut names: Vec<String> = UNIT_HOOKS.iter().map(|s| s.to_string()).collect();
        for ep in ENDPOINTS {
            for kind in ["created", "joined", "changed", "departed", "broken"] {
                names.push(format!("{ep}-relation-{kind}"));
            }
        }
        names
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Install => f.write_str("install"),
            Event::Start => f.write_str("start"),
            Event::ConfigChanged => f.write_str("config-changed"),
            Event::UpgradeCharm => f.write_str("upgrade-charm"),
            Event::Stop => f.write_str("stop"),
            Event::Remove => f.write_str("remove"),
            Event::UpdateStatus => f.write_str("update-status"),
            Event::LeaderElected => f.write_str("leader-elected"),
            Event::LeaderSettingsChanged => f.write_str("leader-settings-changed"),
            Event::PreSeriesUpgrade => f.write_str("pre-series-upgrade"),
            Event::PostSeriesUpgrade => f.write_str("post-series-upgrade"),
            Event::Relation { endpoint, kind } => {
                let k = match kind {
                    RelationHook::Created => "created",
                    RelationHook::Joined => "joined",
                    RelationHook::Changed => "changed",
                    RelationHook::Departed => "departed",
                    RelationHook::Broken => "broken",
                };
                write!(f, "{endpoint}-relation-{k}")
            }
            Event::Action(name) => write!(f, "action {name}"),
            Event::Other(name) => f.write_str(name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dispatch_paths_and_hook_names() {
        assert_eq!(Event::from_dispatch_path("hooks/install"), Event::Install);
        assert_eq!(
            Event::from_dispatch_path("config-changed"),
            Event::ConfigChanged
        );
        assert_eq!(
            Event::from_dispatch_path("hooks/lb-sink-relation-departed"),
            Event::Relation {
                endpoint: "lb-sink".into(),
                kind: RelationHook::Departed
            }
        );
        assert_eq!(
            Event::from_dispatch_path("actions/vrrp-status"),
            Event::Action("vrrp-status".into())
        );
        assert_eq!(
            Event::from_dispatch_path("hooks/secret-changed"),
            Event::Other("secret-changed".into())
        );
        assert_eq!(
            Event::from_hook_name("-relation-joined"),
            Event::Other("-relation-joined".into())
        );
    }

    #[test]
    fn display_round_trips_every_hook_name() {
        let names = Event::all_hook_names();
        assert_eq!(names.len(), 11 + 25);
        for n in names {
            assert_eq!(Event::from_hook_name(&n).to_string(), n);
        }
    }
}
