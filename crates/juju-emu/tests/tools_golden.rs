//! Golden tests of the hook tools: the real binary through its symlink, as a hook runs it,
//! with stdout, stderr and exit code compared byte for byte.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::Fx;
use juju_emu::{HookKind, HookSession, HookSpec};

fn run(s: &HookSession, tool: &str, args: &[&str]) -> (String, String, i32) {
    run_in(s, tool, args, None)
}

fn run_in(
    s: &HookSession,
    tool: &str,
    args: &[&str],
    stdin: Option<&str>,
) -> (String, String, i32) {
    let o = s.tool(tool, args, stdin).unwrap();
    (
        String::from_utf8(o.stdout).unwrap(),
        String::from_utf8(o.stderr).unwrap(),
        o.status.code().unwrap_or(-1),
    )
}

fn ok(out: &str) -> (String, String, i32) {
    (out.to_string(), String::new(), 0)
}
fn err(code: i32, msg: &str) -> (String, String, i32) {
    (String::new(), format!("ERROR {msg}\n"), code)
}

/// A settled model with 2 principal + 2 subordinate units and a session on a non-relation hook.
fn setup() -> (Fx, HookSession) {
    let mut fx = Fx::new();
    fx.deploy(2);
    fx.settle();
    let s = fx
        .juju
        .begin_hook("tsub/0", &HookSpec::simple(HookKind::UpdateStatus))
        .unwrap();
    (fx, s)
}

#[test]
fn config_get() {
    let (fx, s) = setup();
    assert_eq!(
        run(
            &s,
            "config-get",
            &["--format", "json", "spline-reticulation"]
        ),
        ok("45\n")
    );
    assert_eq!(run(&s, "config-get", &["monsters"]), ok("False\n"));
    assert_eq!(
        run(&s, "config-get", &["--format", "json", "missing"]),
        ok("null\n")
    );
    assert_eq!(run(&s, "config-get", &["missing"]), ok(""));
    assert_eq!(run(&s, "config-get", &["empty"]), ok(""));
    assert_eq!(
        run(&s, "config-get", &["--format=json", "empty"]),
        ok("\"\"\n")
    );
    assert_eq!(
        run(&s, "config-get", &["--format=json", "ratio"]),
        ok("2\n")
    );
    assert_eq!(
        run(&s, "config-get", &["--format=json"]),
        ok("{\"empty\":\"\",\"monsters\":false,\"ratio\":2,\"spline-reticulation\":45,\"title\":\"My Title\"}\n")
    );
    assert_eq!(
        run(&s, "config-get", &["--all", "--format=json"]),
        ok("{\"empty\":\"\",\"monsters\":false,\"nodefault\":null,\"ratio\":2,\"spline-reticulation\":45,\"title\":\"My Title\"}\n")
    );
    assert_eq!(
        run(&s, "config-get", &["--all", "monsters"]),
        err(
            2,
            "cannot use argument --all together with key \"monsters\""
        )
    );
    assert_eq!(
        run(&s, "config-get", &["a", "keys"]),
        err(2, "unrecognized args: [\"keys\"]")
    );
    assert_eq!(
        run(&s, "config-get", &["--format", "x"]),
        err(
            2,
            "invalid value \"x\" for option --format: unknown format \"x\""
        )
    );
    assert_eq!(
        run(&s, "config-get", &["--foo"]),
        err(2, "option provided but not defined: --foo")
    );
    let (out, _, code) = run(&s, "config-get", &["--help"]);
    assert!(code == 0 && out.starts_with("Usage: config-get"));
    let (out, _, code) = run(
        &s,
        "config-get",
        &["-o", "out.json", "--format=json", "title"],
    );
    assert_eq!((out.as_str(), code), ("", 0));
    assert_eq!(
        std::fs::read_to_string(fx.sub.join("out.json")).unwrap(),
        "\"My Title\"\n"
    );
    fx.juju.end_hook(&s, 0).unwrap();
}

#[test]
fn relation_tools_outside_relation_hook() {
    let (fx, s) = setup();
    assert_eq!(
        run(&s, "relation-ids", &["cluster", "--format=json"]),
        ok("[\"cluster:0\"]\n")
    );
    assert_eq!(run(&s, "relation-ids", &["juju-info"]), ok("juju-info:1\n"));
    assert_eq!(
        run(&s, "relation-ids", &["website", "--format=json"]),
        ok("[]\n")
    );
    assert_eq!(run(&s, "relation-ids", &["website"]), ok(""));
    assert_eq!(
        run(&s, "relation-ids", &[]),
        err(2, "no endpoint name specified")
    );
    assert_eq!(
        run(&s, "relation-list", &[]),
        err(2, "no relation id specified")
    );
    assert_eq!(
        run(&s, "relation-list", &["-r", "juju-info:1", "--format=json"]),
        ok("[\"tprin/0\"]\n")
    );
    assert_eq!(
        run(&s, "relation-list", &["-r1", "--app", "--format=json"]),
        ok("\"tprin\"\n")
    );
    assert_eq!(run(&s, "relation-list", &["-r", "0"]), ok("tsub/1\n"));
    assert_eq!(
        run(&s, "relation-get", &["-r", "burble:123"]),
        err(
            2,
            "invalid value \"burble:123\" for option -r: relation not found"
        )
    );
    assert_eq!(
        run(&s, "relation-get", &["-r", "one"]),
        err(
            2,
            "invalid value \"one\" for option -r: invalid relation id"
        )
    );
    assert_eq!(
        run(&s, "relation-get", &["-r=1"]),
        err(2, "invalid value \"=1\" for option -r: invalid relation id")
    );
    assert_eq!(
        run(&s, "relation-get", &["-r"]),
        err(2, "option needs an argument: -r")
    );
    assert_eq!(
        run(&s, "relation-get", &[]),
        err(2, "no relation id specified")
    );
    assert_eq!(
        run(&s, "relation-get", &["-r", "1"]),
        err(2, "no unit or application specified")
    );
    assert_eq!(
        run(&s, "relation-get", &["-r", "1", "-", "tprin"]),
        err(2, "expected unit name, got application name \"tprin\"")
    );
    assert_eq!(
        run(&s, "relation-get", &["-r", "1", "-", "unit//0"]),
        err(2, "invalid unit name \"unit//0\"")
    );
    assert_eq!(
        run(&s, "relation-get", &["-r", "1", "a", "tprin/0", "x"]),
        err(2, "unrecognized args: [\"x\"]")
    );
    let m = fx.juju.model().unwrap();
    let addr = m.machines[&m.units["tprin/0"].machine].address.clone();
    assert_eq!(
        run(&s, "relation-get", &["--format=json", "-r", "juju-info:1", "-", "tprin/0"]),
        ok(&format!("{{\"egress-subnets\":\"{addr}/32\",\"ingress-address\":\"{addr}\",\"private-address\":\"{addr}\"}}\n"))
    );
    assert_eq!(
        run(
            &s,
            "relation-get",
            &["-r", "1", "private-address", "tprin/0"]
        ),
        ok(&format!("{addr}\n"))
    );
    assert_eq!(
        run(&s, "relation-get", &["-r", "1", "nokey", "tprin/0"]),
        ok("")
    );
    assert_eq!(
        run(
            &s,
            "relation-get",
            &["--format=json", "-r", "1", "nokey", "tprin/0"]
        ),
        ok("null\n")
    );
    assert_eq!(
        run(
            &s,
            "relation-get",
            &["--format=json", "-r", "1", "--app", "-", "tprin/0"]
        ),
        ok("{}\n")
    );
    assert_eq!(
        run(&s, "relation-get", &["-r", "1", "-", "x/9"]),
        err(1, "cannot read settings for unit \"x/9\" in relation \"tsub:juju-info tprin:juju-info\": unit \"x/9\": settings not found")
    );
    fx.juju.end_hook(&s, 0).unwrap();
}

#[test]
fn relation_set_get_in_relation_hook() {
    let mut fx = Fx::new();
    fx.deploy(2);
    fx.settle();
    let m = fx.juju.model().unwrap();
    let rh = juju_emu::RelationHook {
        id: 0,
        endpoint: "cluster".into(),
        remote_app: "tsub".into(),
        remote_unit: "tsub/0".into(),
        departing_unit: None,
        version: m.relations[&0].unit_settings["tsub/0"].version,
    };
    // tsub/1 is not the leader.
    let s = fx
        .juju
        .begin_hook("tsub/1", &HookSpec::relation(HookKind::RelationChanged, rh))
        .unwrap();
    assert_eq!(
        run(&s, "relation-set", &["haha"]),
        err(2, "expected \"key=value\", got \"haha\"")
    );
    assert_eq!(
        run(&s, "relation-set", &["a=1", "a=2"]),
        err(2, "key \"a\" specified more than once")
    );
    assert_eq!(
        run(&s, "relation-set", &["--app", "a=1"]),
        err(1, "cannot write relation settings")
    );
    assert_eq!(
        run(
            &s,
            "relation-set",
            &["--app=False", "foo=bar=baz", "pew=pew\npew\n", "amp=<a&b>"]
        ),
        ok("")
    );
    assert_eq!(run(&s, "relation-get", &["foo", "tsub/1"]), ok("bar=baz\n"));
    assert_eq!(
        run(&s, "relation-get", &["pew", "tsub/1"]),
        ok("pew\npew\n\n")
    );
    assert_eq!(
        run(&s, "relation-get", &["--format=json", "amp", "tsub/1"]),
        ok("\"\\u003ca\\u0026b\\u003e\"\n")
    );
    let (out, _, _) = run(&s, "relation-get", &["-", "tsub/1"]);
    assert!(out.contains("pew: |\n  pew\n  pew\n"), "{out}");
    // --file - with JSON, values coerced, empty deletes, k=v overrides the file
    assert_eq!(
        run_in(
            &s,
            "relation-set",
            &["--file", "-", "b=cli"],
            Some("{\"n\": 80, \"b\": \"file\", \"foo\": null}")
        ),
        ok("")
    );
    assert_eq!(
        run(&s, "relation-get", &["--format=json", "n", "tsub/1"]),
        ok("\"80\"\n")
    );
    assert_eq!(run(&s, "relation-get", &["b", "tsub/1"]), ok("cli\n"));
    assert_eq!(run(&s, "relation-get", &["foo", "tsub/1"]), ok(""));
    assert_eq!(
        run_in(&s, "relation-set", &["--file", "-"], Some("haha")),
        err(1, "yaml: unmarshal errors:\n  line 1: cannot unmarshal !!str `haha` into map[string]string")
    );
    assert_eq!(
        run(&s, "relation-set", &["--format", "json", "q=1"]),
        (
            "".into(),
            "--format flag deprecated for command \"relation-set\"".into(),
            0
        )
    );
    // default relation and remote unit
    assert_eq!(
        run(&s, "relation-list", &["--format=json"]),
        ok("[\"tsub/0\"]\n")
    );
    assert_eq!(
        run(&s, "relation-get", &["--format=json", "nokey"]),
        ok("null\n")
    );
    // peer app bag readable by a non-leader; non-peer own app bag denied
    assert_eq!(
        run(&s, "relation-get", &["--app", "--format=json", "-", "tsub"]),
        ok("{}\n")
    );
    assert_eq!(
        run(&s, "relation-get", &["-r", "1", "--app", "-", "tsub"]),
        err(1, "permission denied")
    );
    assert_eq!(run(&s, "is-leader", &["--format=json"]), ok("false\n"));
    assert_eq!(run(&s, "is-leader", &[]), ok("False\n"));
    fx.juju.end_hook(&s, 0).unwrap();
    assert_eq!(fx.juju.relation_data(0, "tsub/1").unwrap()["q"], "1");
}

#[test]
fn status_leader_log_and_misc() {
    let (fx, s) = setup();
    assert_eq!(
        run(&s, "status-set", &[]),
        err(2, "invalid args, require <status> [message]")
    );
    assert_eq!(
        run(&s, "status-set", &["error"]),
        err(
            2,
            "invalid status \"error\", expected one of [maintenance blocked waiting active]"
        )
    );
    assert_eq!(
        run(&s, "status-set", &["active", "a", "b"]),
        err(2, "unrecognized args: [\"b\"]")
    );
    assert_eq!(
        run(
            &s,
            "status-set",
            &["--application=True", "active", "--", "-app ok"]
        ),
        ok("")
    );
    assert_eq!(
        run(&s, "status-set", &["-app", "active"]),
        err(2, "option provided but not defined: -a")
    );
    assert_eq!(run(&s, "status-set", &["active", "VIP ready"]), ok(""));
    assert_eq!(run(&s, "status-get", &[]), ok("active\n"));
    assert_eq!(
        run(&s, "status-get", &["--format=json"]),
        ok("{\"status\":\"active\"}\n")
    );
    assert_eq!(
        run(&s, "status-get", &["--include-data", "--format=json"]),
        ok("{\"message\":\"VIP ready\",\"status\":\"active\",\"status-data\":{}}\n")
    );
    let (out, _, _) = run(&s, "status-get", &["--application", "--format=json"]);
    assert!(
        out.starts_with("{\"application-status\":{\"message\":\"-app ok\",\"status\":\"active\""),
        "{out}"
    );
    assert_eq!(run(&s, "is-leader", &["--format=json"]), ok("true\n"));
    assert_eq!(run(&s, "leader-set", &["a=1", "b="]), ok(""));
    assert_eq!(
        run(&s, "leader-get", &["--format=json"]),
        ok("{\"a\":\"1\"}\n")
    );
    assert_eq!(
        run(&s, "leader-get", &["a=b"]),
        err(2, "invalid key \"a=b\"")
    );
    assert_eq!(run(&s, "juju-log", &[]), err(2, "no message specified"));
    assert_eq!(
        run(&s, "juju-log", &["-l", "WARNING", "--", "hello", "world"]),
        ok("")
    );
    assert_eq!(
        run(&s, "application-version-set", &[]),
        err(2, "no version specified")
    );
    assert_eq!(run(&s, "application-version-set", &["--", "2.2.7"]), ok(""));
    assert_eq!(run(&s, "unit-get", &[]), err(2, "no setting specified"));
    assert_eq!(
        run(&s, "unit-get", &["foo"]),
        err(2, "unknown setting \"foo\"")
    );
    let m = fx.juju.model().unwrap();
    let addr = m.machines[&m.units["tsub/0"].machine].address.clone();
    assert_eq!(
        run(&s, "unit-get", &["private-address", "--format=json"]),
        ok(&format!("\"{addr}\"\n"))
    );
    assert_eq!(
        run(&s, "network-get", &[]),
        err(2, "no arguments specified")
    );
    assert_eq!(
        run(&s, "network-get", &["nope"]),
        err(1, "no network config found for binding \"nope\"")
    );
    assert_eq!(
        run(&s, "network-get", &["juju-info", "--ingress-address"]),
        ok(&format!("{addr}\n"))
    );
    assert_eq!(
        run(
            &s,
            "network-get",
            &["juju-info", "--egress-subnets", "--format=json"]
        ),
        ok(&format!("[\"{addr}/32\"]\n"))
    );
    let (out, _, _) = run(&s, "network-get", &["juju-info", "--format=json"]);
    assert!(
        out.starts_with("{\"bind-addresses\":[{\"mac-address\":"),
        "{out}"
    );
    assert!(
        out.ends_with(&format!(
            "\"egress-subnets\":[\"{addr}/32\"],\"ingress-addresses\":[\"{addr}\"]}}\n"
        )),
        "{out}"
    );
    assert_eq!(
        run(
            &s,
            "network-get",
            &["juju-info", "--primary-address", "--bind-address"]
        ),
        err(1, "--primary-address must be the only flag specified")
    );
    let rec = fx.juju.end_hook(&s, 0).unwrap();
    assert_eq!(
        rec.logs,
        vec![juju_emu::LogLine {
            level: "WARNING".into(),
            message: "hello world".into()
        }]
    );
    let m = fx.juju.model().unwrap();
    assert_eq!(m.units["tsub/0"].workload_version, "2.2.7");
    assert_eq!(m.apps["tsub"].leader_settings.data.len(), 1);
}

#[test]
fn state_ports_and_actions() {
    let (fx, s) = setup();
    assert_eq!(run(&s, "state-get", &["--format=json"]), ok("{}\n"));
    assert_eq!(run(&s, "state-set", &["a=1", "e="]), ok(""));
    assert_eq!(
        run(&s, "state-get", &["--format=json"]),
        ok("{\"a\":\"1\",\"e\":\"\"}\n")
    );
    assert_eq!(
        run(&s, "state-get", &["--strict", "zz"]),
        err(1, "\"zz\" not found")
    );
    assert_eq!(run(&s, "state-get", &["--format=json", "zz"]), ok("\"\"\n"));
    assert_eq!(run(&s, "state-delete", &["a"]), ok(""));
    assert_eq!(
        run(&s, "open-port", &[]),
        err(2, "no port or range specified")
    );
    assert_eq!(
        run(&s, "open-port", &["1-2-3"]),
        err(2, "invalid port range \"1-2-3\"")
    );
    assert_eq!(run(&s, "open-port", &["80"]), ok(""));
    assert_eq!(run(&s, "open-port", &["1000-2000/UDP"]), ok(""));
    assert_eq!(
        run(&s, "opened-ports", &["--format=json"]),
        ok("[]\n"),
        "pending changes are not shown"
    );
    for t in ["action-get", "action-set", "action-fail", "action-log"] {
        assert_eq!(run(&s, t, &["x=1"]), err(1, "not running an action"), "{t}");
    }
    assert_eq!(run(&s, "action-set", &["Bad=1"]), err(2, "key \"Bad\" must start and end with lowercase alphanumeric, and contain only lowercase alphanumeric, hyphens and periods"));
    fx.juju.end_hook(&s, 0).unwrap();
    let m = fx.juju.model().unwrap();
    assert_eq!(
        m.units["tsub/0"].charm_state.get("e").map(String::as_str),
        Some("")
    );
    assert!(!m.units["tsub/0"].charm_state.contains_key("a"));
    let s = fx
        .juju
        .begin_hook("tsub/0", &HookSpec::simple(HookKind::UpdateStatus))
        .unwrap();
    assert_eq!(
        run(&s, "opened-ports", &["--format=json"]),
        ok("[\"80/tcp\",\"1000-2000/udp\"]\n")
    );
    assert_eq!(
        run(&s, "opened-ports", &["--endpoints"]),
        ok("80/tcp (*)\n1000-2000/udp (*)\n")
    );
    fx.juju.end_hook(&s, 0).unwrap();
    // actions
    fx.on("tsub/0", "do-thing", "action-get x\naction-get --format=json\naction-set out.a=1 out.b=two\naction-set stdout=x || true\naction-log progress\naction-fail 'nope'\n");
    let r = fx
        .juju
        .run_action("tsub/0", "do-thing", serde_json::json!({"y": 2}))
        .unwrap();
    assert_eq!(r.stdout, "1\n{\"x\":\"1\",\"y\":2}\n");
    assert_eq!(
        r.stderr,
        "ERROR cannot set reserved action key \"stdout\"\n"
    );
    assert_eq!(
        r.results,
        serde_json::json!({"out": {"a": "1", "b": "two"}})
    );
    assert!(r.failed && r.status == "failed" && r.message == "nope" && r.return_code == 0);
    assert!(fx
        .juju
        .run_action("tsub/0", "nope", serde_json::Value::Null)
        .is_err());
}

#[test]
fn client_errors_without_env() {
    let (fx, s) = setup();
    let tool = s.tools_dir.join("config-get");
    let o = std::process::Command::new(&tool)
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(
        (String::from_utf8_lossy(&o.stderr).as_ref(), o.status.code()),
        ("ERROR JUJU_CONTEXT_ID not set\n", Some(1))
    );
    let o = std::process::Command::new(&tool)
        .env_clear()
        .env("JUJU_CONTEXT_ID", "x")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "ERROR JUJU_AGENT_SOCKET_ADDRESS not set\n"
    );
    let mut env = s.env.clone();
    env.insert("JUJU_CONTEXT_ID".into(), "bogus".into());
    let o = std::process::Command::new(&tool)
        .env_clear()
        .envs(&env)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        format!(
            "ERROR bad request: expected context id {:?}, got \"bogus\"\n",
            s.context_id
        )
    );
    assert_eq!(o.status.code(), Some(1));
    fx.juju.end_hook(&s, 0).unwrap();
    // after the hook the context is gone
    let o = std::process::Command::new(&tool)
        .env_clear()
        .envs(&s.env)
        .output();
    assert!(o.is_err() || !o.unwrap().status.success());
}
