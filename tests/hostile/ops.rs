//! The operations of the hostile-input property and the strategies that generate them,
//! garbage included. Huge values keep a short `Debug` so shrunk sequences stay readable.
use std::fmt;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

/// A string whose `Debug` shows at most 40 characters (plus its byte length when cut).
#[derive(Clone, PartialEq)]
pub struct Text(pub String);

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.chars().count() <= 40 {
            write!(f, "{:?}", self.0)
        } else {
            let head: String = self.0.chars().take(24).collect();
            write!(f, "{head:?}…({} bytes)", self.0.len())
        }
    }
}

/// How an `auth_pass` value is built from the case's secret (all but `Exact` are invalid).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SecretForm {
    /// The secret itself (6 characters).
    Exact,
    /// The secret plus 3 characters: over the 8-character limit.
    TooLong,
    /// The secret plus a `#`.
    BadChar,
    /// A space, then the secret.
    Spaced,
}

impl SecretForm {
    /// The value for `secret`.
    pub fn value(self, secret: &str) -> String {
        match self {
            SecretForm::Exact => secret.to_string(),
            SecretForm::TooLong => format!("{secret}xyz"),
            SecretForm::BadChar => format!("{secret}#"),
            SecretForm::Spaced => format!(" {secret}"),
        }
    }
}

/// A typed config value as `juju config` would store it.
#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    /// A string option.
    Str(Text),
    /// An int option.
    Int(i64),
    /// A float option.
    Float(f64),
    /// A boolean option.
    Bool(bool),
    /// `auth_pass` derived from the case's secret.
    Secret(SecretForm),
}

/// The endpoints whose relations the property adds and removes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Endpoint {
    /// `keepalived:loadbalancer` ↔ `kubernetes-control-plane`.
    LoadBalancer,
    /// `keepalived:website` ↔ `kubernetes-worker`.
    Website,
    /// `keepalived:lb-sink` ↔ `kubeapi-load-balancer:website`.
    LbSink,
}

/// One step of a case.
#[derive(Clone, Debug)]
pub enum Op {
    /// `juju config keepalived k=v …` (one call, all-or-nothing).
    Config(Vec<(&'static str, Val)>),
    /// `juju config keepalived --reset k …`.
    Reset(Vec<&'static str>),
    /// Relate an endpoint (no-op when related).
    Relate(Endpoint),
    /// Remove its relation (no-op when not related).
    Unrelate(Endpoint),
    /// The remote side writes junk into its unit bag (or its app bag).
    RemoteData(Endpoint, bool, Vec<(Text, Text)>),
    /// A keepalived unit's peer bag is overwritten with junk (a broken or hostile peer).
    PeerJunk(usize, Vec<(Text, Text)>),
    /// Leadership moves to the n-th keepalived unit.
    Leader(usize),
    /// A principal unit (and so a keepalived unit) is added (at most 3).
    AddUnit,
    /// The n-th principal unit is removed (at least 1 stays).
    RemoveUnit(usize),
    /// `update-status` everywhere.
    UpdateStatus,
    /// `juju refresh` to the same charm (`false`) or one with a new worker binary (`true`).
    UpgradeCharm(bool),
    /// `juju upgrade-machine M prepare` on the n-th unit's machine.
    SeriesPrepare(usize),
    /// `juju upgrade-machine M complete` on the n-th unit's machine.
    SeriesComplete(usize),
    /// `vrrp-status` and `check-certificate` on the n-th unit.
    Actions(usize),
}

/// Option names in config.yaml order (the order the charm reports problems in).
pub const OPTIONS: [&str; 13] = [
    "virtual_ip",
    "vip_hostname",
    "port",
    "router_id",
    "network_interface",
    "healthcheck_interval",
    "vrrp_version",
    "advert_interval",
    "preempt",
    "auth_pass",
    "unicast",
    "strict_san_check",
    "metrics_address",
];

const HUGE: usize = 100 * 1024;

/// Garbage for any string option: empty, whitespace, control characters, unicode,
/// NUL-free binary-ish text, and 100 KiB strings of plain, control, quote or VIP-list units.
pub fn garbage() -> BoxedStrategy<String> {
    prop_oneof![
        Just(String::new()),
        "[ \t\r\n\u{b}\u{c}\u{a0}\u{2003}]{1,8}",
        "[\u{1}-\u{1f}\u{7f}]{1,40}",
        "\\PC{1,40}",
        vec(1u8..=255, 1..120).prop_map(|b| b.into_iter().map(char::from).collect()),
        select(vec!["A", "\u{1}", "\"", "é", "192.0.2.1 ", "{\n", "😀"])
            .prop_map(|unit| unit.repeat(HUGE / unit.len())),
    ]
    .boxed()
}

fn prefix(max: u32) -> BoxedStrategy<String> {
    prop_oneof![
        4 => Just(String::new()),
        4 => (1..=max).prop_map(|p| format!("/{p}")),
        1 => select(vec!["/0", "/", "/x", "/-1", "/999", "/33", "/129", "/24/24"]).prop_map(String::from),
        1 => (max + 1..=300).prop_map(|p| format!("/{p}")),
    ]
    .boxed()
}

fn vip_token() -> BoxedStrategy<String> {
    let bad = vec![
        "0.0.0.0",
        "127.0.0.1",
        "224.0.0.18",
        "255.255.255.255",
        "169.254.1.1",
        "::",
        "::1",
        "ff02::12",
        "fe80::1",
        "fe80::1%eth0",
        "::ffff:192.0.2.1",
        "300.1.1.1",
        "192.0.2",
        "192.0.2.1.5",
        "2001:db8:::1",
        "[2001:db8::1]",
        "vip",
    ];
    prop_oneof![
        6 => ((240u8..=250), prefix(32)).prop_map(|(h, p)| format!("192.0.2.{h}{p}")),
        2 => ((1u8..=3), prefix(32)).prop_map(|(h, p)| format!("198.51.100.{h}{p}")),
        4 => ((0x10u16..=0x14), prefix(128)).prop_map(|(h, p)| format!("2001:db8::{h:x}{p}")),
        1 => select(bad).prop_map(String::from),
        1 => "\\PC{1,12}",
    ]
    .boxed()
}

/// `virtual_ip`: lists of 0..30 tokens with assorted separators, or garbage.
fn virtual_ip() -> BoxedStrategy<String> {
    prop_oneof![
        4 => (vec(vip_token(), 0..30), select(vec![" ", "  ", "\t", "\n", " \u{b} "]))
            .prop_map(|(t, sep)| t.join(sep)),
        1 => garbage(),
    ]
    .boxed()
}

/// Up to five distinct valid VIPs, IPv4 first half of the time.
pub fn valid_vips() -> BoxedStrategy<String> {
    (
        proptest::sample::subsequence((240u8..=250).collect::<Vec<_>>(), 0..=3),
        proptest::sample::subsequence((0x10u16..=0x14).collect::<Vec<_>>(), 0..=2),
        any::<bool>(),
    )
        .prop_filter("at least one VIP", |(a, b, _)| {
            !a.is_empty() || !b.is_empty()
        })
        .prop_map(|(v4, v6, v6_first)| {
            let v4: Vec<String> = v4.iter().map(|h| format!("192.0.2.{h}/24")).collect();
            let v6: Vec<String> = v6.iter().map(|h| format!("2001:db8::{h:x}/64")).collect();
            let all = if v6_first { [v6, v4] } else { [v4, v6] };
            all.concat().join(" ")
        })
        .boxed()
}

fn text(s: impl Strategy<Value = String> + 'static) -> BoxedStrategy<Val> {
    s.prop_map(|s| Val::Str(Text(s))).boxed()
}

fn int(valid: std::ops::RangeInclusive<i64>, edges: Vec<i64>) -> BoxedStrategy<Val> {
    prop_oneof![
        3 => valid.prop_map(Val::Int),
        2 => select(edges).prop_map(Val::Int),
        1 => any::<i64>().prop_map(Val::Int),
    ]
    .boxed()
}

/// A value for `option`, valid or not.
pub fn value(option: &'static str) -> BoxedStrategy<Val> {
    match option {
        "virtual_ip" => text(virtual_ip()),
        "vip_hostname" => text(prop_oneof![
            Just(String::new()),
            Just("api.example.com".to_string()),
            Just("api.example.com.".to_string()),
            Just("k8s-api".to_string()),
            Just(format!("{}.example", "a".repeat(63))),
            Just(format!("{}.example", "a".repeat(64))),
            Just(vec!["abcdefghi"; 26].join(".")),
            select(vec![
                "-api.x",
                "api-.x",
                "a..b",
                ".",
                "a b",
                "ä.example",
                "a_b.c",
                "a.b/c"
            ])
            .prop_map(String::from),
            garbage(),
        ]),
        "port" => prop_oneof![
            3 => select(vec![1, 443, 6443, 8443, 65535]).prop_map(Val::Int),
            2 => (3000i64..=60000).prop_map(Val::Int),
            2 => select(vec![0, -1, -443, 65536, 100_000, i64::MAX, i64::MIN]).prop_map(Val::Int),
        ]
        .boxed(),
        "router_id" => int(1..=255, vec![0, -1, 256, 1000, i64::MAX, i64::MIN]),
        "healthcheck_interval" => int(1..=3600, vec![0, -2, 3601, i64::MAX]),
        "vrrp_version" => prop_oneof![
            3 => select(vec![2, 3]).prop_map(Val::Int),
            1 => select(vec![0, 1, 4, -3, 255, i64::MIN]).prop_map(Val::Int),
        ]
        .boxed(),
        "network_interface" => text(prop_oneof![
            4 => Just("lo".to_string()),
            1 => Just(String::new()),
            2 => select(vec!["nosuchif0", "eth99", "lo:1", "l o", "a/b", "..", "verylonginterface0", "lo\n", "\"lo\"", "lö"])
                .prop_map(String::from),
            1 => garbage(),
        ]),
        "advert_interval" => prop_oneof![
            2 => Just(Val::Float(0.0)),
            3 => (1u32..=4095).prop_map(|cs| Val::Float(f64::from(cs) / 100.0)),
            2 => (1u32..=255).prop_map(|s| Val::Float(f64::from(s))),
            2 => select(vec![-1.0, -0.0, 0.005, 1e-9, 41.0, 0.5, 1.234567, 256.0, 1e300, -1e300])
                .prop_map(Val::Float),
        ]
        .boxed(),
        "auth_pass" => prop_oneof![
            1 => Just(Val::Str(Text(String::new()))),
            3 => select(vec![
                SecretForm::Exact,
                SecretForm::TooLong,
                SecretForm::BadChar,
                SecretForm::Spaced
            ])
            .prop_map(Val::Secret),
        ]
        .boxed(),
        "metrics_address" => text(prop_oneof![
            2 => Just(String::new()),
            2 => select(vec!["127.0.0.1:9510", "[::1]:9510"]).prop_map(String::from),
            2 => select(vec![
                "0.0.0.0:9510",
                "[::]:9510",
                "192.0.2.7:9100",
                "127.0.0.1:0",
                "224.0.0.1:9000",
                "127.0.0.1:443",
                "localhost:9510",
                "127.0.0.1",
                "::1:9510",
                "127.0.0.1:65536"
            ])
            .prop_map(String::from),
            1 => garbage(),
        ]),
        _ => any::<bool>().prop_map(Val::Bool).boxed(),
    }
}

/// One `juju config` call setting 1..=3 options to arbitrary values.
fn config_any() -> BoxedStrategy<Op> {
    vec(
        select(OPTIONS.to_vec()).prop_flat_map(|o| (Just(o), value(o))),
        1..=3,
    )
    .prop_map(Op::Config)
    .boxed()
}

/// A `juju config` call that is valid on its own: VIPs on `lo`, maybe VRRPv2 with the secret.
pub fn config_valid() -> BoxedStrategy<Op> {
    (valid_vips(), any::<bool>(), select(vec![443i64, 6443]))
        .prop_map(|(vips, v2, port)| {
            let mut set = vec![
                ("virtual_ip", Val::Str(Text(vips))),
                ("network_interface", Val::Str(Text("lo".into()))),
                ("port", Val::Int(port)),
            ];
            if v2 {
                set.push(("vrrp_version", Val::Int(2)));
                set.push(("auth_pass", Val::Secret(SecretForm::Exact)));
            }
            Op::Config(set)
        })
        .boxed()
}

fn junk_bag() -> BoxedStrategy<Vec<(Text, Text)>> {
    let key = prop_oneof![
        select(vec![
            "public-address",
            "private-address",
            "hostname",
            "port",
            "ingress-address",
            "egress-subnets",
            "vrrp-ipv4",
            "vrrp-ipv6"
        ])
        .prop_map(String::from),
        "\\PC{1,20}",
    ];
    let val = prop_oneof![
        select(vec![
            "192.0.2.9",
            "198.51.100.7",
            "2001:db8::99",
            "192.0.2.9\n    }\n    evil yes\n",
            "not-an-ip",
            "",
        ])
        .prop_map(String::from),
        garbage(),
    ];
    vec((key.prop_map(Text), val.prop_map(Text)), 1..6).boxed()
}

fn endpoint() -> BoxedStrategy<Endpoint> {
    select(vec![
        Endpoint::LoadBalancer,
        Endpoint::Website,
        Endpoint::LbSink,
    ])
    .boxed()
}

/// Any step, weighted towards configuration.
pub fn op() -> BoxedStrategy<Op> {
    prop_oneof![
        6 => config_any(),
        3 => config_valid(),
        1 => vec(select(OPTIONS.to_vec()), 1..=4).prop_map(Op::Reset),
        2 => endpoint().prop_map(Op::Relate),
        1 => endpoint().prop_map(Op::Unrelate),
        1 => (endpoint(), any::<bool>(), junk_bag()).prop_map(|(e, app, b)| Op::RemoteData(e, app, b)),
        1 => (0usize..3, junk_bag()).prop_map(|(u, b)| Op::PeerJunk(u, b)),
        1 => (0usize..3).prop_map(Op::Leader),
        1 => Just(Op::AddUnit),
        1 => (0usize..3).prop_map(Op::RemoveUnit),
        1 => Just(Op::UpdateStatus),
        1 => any::<bool>().prop_map(Op::UpgradeCharm),
        1 => (0usize..3).prop_map(Op::SeriesPrepare),
        1 => (0usize..3).prop_map(Op::SeriesComplete),
        1 => (0usize..3).prop_map(Op::Actions),
    ]
    .boxed()
}
