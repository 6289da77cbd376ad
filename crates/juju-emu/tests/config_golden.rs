//! Golden tests of Juju's charm-config type rules in the emulator, wherever Juju applies them:
//! reading `config.yaml` at deploy/refresh (`ReadConfig`), `juju config APP k=v`
//! (`ParseSettingsStrings`) and `juju config APP --file F` / bundle options
//! (`ParseSettingsYAML`). Each expected text is what juju/charm `config.go` (v12) and juju/schema
//! v1.2.0 produce, with the 3.x application facade's `parsing settings for application` context
//! (see the module docs of `juju_emu::config`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::{charm, Fx};
use juju_emu::{Error, Juju, RunnerOptions};
use serde_json::{json, Value};

const META: &str = "name: typed\n";

/// Deploys a charm whose config.yaml is `config`; the error text or the effective config.
fn deploy_with(config: &str) -> Result<Value, String> {
    let tmp = tempfile::tempdir().unwrap();
    let dir = charm(&tmp.path().join("c"), META, Some(config), None);
    let j = Juju::create(
        &tmp.path().join("model"),
        RunnerOptions::new(env!("CARGO_BIN_EXE_juju-hook-tool")),
    )
    .unwrap();
    match j.deploy("typed", &dir, 1) {
        Ok(_) => Ok(json!(j.model().unwrap().apps["typed"].effective_config())),
        Err(e @ Error::CharmConfig(_)) => Err(e.to_string()),
        Err(e) => panic!("unexpected error kind: {e:?}"),
    }
}

#[test]
fn charm_read_defaults() {
    let ok = |cfg: &str, want: Value| assert_eq!(deploy_with(cfg), Ok(want), "{cfg}");
    let bad = |cfg: &str, want: &str| assert_eq!(deploy_with(cfg), Err(want.to_string()), "{cfg}");
    // A YAML int is a valid float default on every Juju with juju/schema >= 1.0.0 (2.6+).
    ok(
        "options:\n  f: {type: float, default: 0}\n",
        json!({"f": 0.0}),
    );
    ok(
        "options:\n  f: {type: float, default: 0.0}\n",
        json!({"f": 0.0}),
    );
    bad(
        "options:\n  f: {type: float, default: \"0.5\"}\n",
        "invalid config default: option \"f\" expected float, got \"0.5\"",
    );
    bad(
        "options:\n  n: {type: int, default: 1.5}\n",
        "invalid config default: option \"n\" expected int, got 1.5",
    );
    bad(
        "options:\n  n: {type: int, default: 443.0}\n",
        "invalid config default: option \"n\" expected int, got 443",
    );
    bad(
        "options:\n  n: {type: int, default: 18446744073709551615}\n",
        "invalid config default: option \"n\" expected int, got 0xffffffffffffffff",
    );
    // schema.Int() parses strings with ParseInt(s, 0, 64).
    ok(
        "options:\n  n: {type: int, default: \"0x1F\"}\n",
        json!({"n": 31}),
    );
    ok(
        "options:\n  b: {type: boolean, default: \"True\"}\n",
        json!({"b": true}),
    );
    bad(
        "options:\n  b: {type: boolean, default: \"yes\"}\n",
        "invalid config default: option \"b\" expected boolean, got \"yes\"",
    );
    bad(
        "options:\n  s: {type: string, default: 5}\n",
        "invalid config default: option \"s\" expected string, got 5",
    );
    bad(
        "options:\n  s: {type: string, default: [a, 1]}\n",
        "invalid config default: option \"s\" expected string, got []interface {}{\"a\", 1}",
    );
    ok(
        "options:\n  s: {type: string, default: \"\"}\n  t: {default: x}\n  u: {type: int}\n",
        json!({"s": "", "t": "x"}),
    );
    bad(
        "options:\n  n: {type: integer, default: 1}\n",
        "invalid config: option \"n\" has unknown type \"integer\"",
    );
    bad("{}\n", "invalid config: empty configuration");
    ok("options:\n", json!({}));
}

/// `juju config tsub k=v …` on the shared fixture (options: spline-reticulation int 45,
/// monsters boolean, title/empty/nodefault string, ratio float 2.0).
#[test]
fn juju_config_key_value_strings() {
    let mut fx = Fx::new();
    fx.deploy(1);
    let set = |kv: &[(&str, &str)]| fx.juju.set_config("tsub", kv).map_err(|e| e.to_string());
    let eff = |k: &str| fx.juju.model().unwrap().apps["tsub"].effective_config()[k].clone();
    let p = "parsing settings for application: ";
    for (kv, want) in [
        (
            ("spline-reticulation", "abc"),
            "option \"spline-reticulation\" expected int, got \"abc\"",
        ),
        (
            ("spline-reticulation", "8443.0"),
            "option \"spline-reticulation\" expected int, got \"8443.0\"",
        ),
        (
            ("spline-reticulation", "0x10"),
            "option \"spline-reticulation\" expected int, got \"0x10\"",
        ),
        (
            ("spline-reticulation", ""),
            "option \"spline-reticulation\" expected int, got \"\"",
        ),
        (
            ("spline-reticulation", "9223372036854775808"),
            "option \"spline-reticulation\" expected int, got \"9223372036854775808\"",
        ),
        (
            ("ratio", "x1"),
            "option \"ratio\" expected float, got \"x1\"",
        ),
        (
            ("ratio", "1e400"),
            "option \"ratio\" expected float, got \"1e400\"",
        ),
        (
            ("monsters", "yes"),
            "option \"monsters\" expected boolean, got \"yes\"",
        ),
        (
            ("monsters", "tRuE"),
            "option \"monsters\" expected boolean, got \"tRuE\"",
        ),
        (("nope", "1"), "unknown option \"nope\""),
    ] {
        assert_eq!(set(&[kv]), Err(format!("{p}{want}")), "{kv:?}");
    }
    // All or nothing: one bad value leaves the others unset.
    assert!(set(&[("title", "new"), ("monsters", "maybe")]).is_err());
    assert_eq!(eff("title"), json!("My Title"));
    for (kv, want) in [
        (("spline-reticulation", "+42"), json!(42)),
        (("spline-reticulation", "-7"), json!(-7)),
        (("ratio", "1"), json!(1.0)),
        (("ratio", "1_000.5"), json!(1000.5)),
        (("ratio", ".25"), json!(0.25)),
        (("monsters", "T"), json!(true)),
        (("monsters", "0"), json!(false)),
        (("title", ""), json!("")),
    ] {
        set(&[kv]).unwrap();
        assert_eq!(eff(kv.0), want, "{kv:?}");
    }
}

/// `juju config tsub --file F`: YAML values by the schema checkers, YAML strings by strconv.
#[test]
fn juju_config_file_yaml() {
    let mut fx = Fx::new();
    fx.deploy(1);
    let set = |y: &str| {
        fx.juju
            .set_config_yaml("tsub", y)
            .map_err(|e| e.to_string())
    };
    let eff = || json!(fx.juju.model().unwrap().apps["tsub"].effective_config());
    let p = "parsing settings for application: ";
    for (yaml, want) in [
        (
            "tsub:\n  spline-reticulation: 8443.0\n",
            "option \"spline-reticulation\" expected int, got 8443",
        ),
        (
            "tsub:\n  spline-reticulation: 1.5\n",
            "option \"spline-reticulation\" expected int, got 1.5",
        ),
        (
            "tsub:\n  spline-reticulation: \"0x10\"\n",
            "option \"spline-reticulation\" expected int, got \"0x10\"",
        ),
        (
            "tsub:\n  monsters: \"yes\"\n",
            "option \"monsters\" expected boolean, got \"yes\"",
        ),
        (
            "tsub:\n  monsters: 1\n",
            "option \"monsters\" expected boolean, got 1",
        ),
        (
            "tsub:\n  title: 5\n",
            "option \"title\" expected string, got 5",
        ),
        (
            "tsub:\n  title: true\n",
            "option \"title\" expected string, got true",
        ),
        (
            "tsub:\n  ratio: \"\"\n",
            "option \"ratio\" expected float, got \"\"",
        ),
        ("tsub:\n  nope: 1\n", "unknown option \"nope\""),
        ("other:\n  title: x\n", "no settings found for \"tsub\""),
    ] {
        assert_eq!(set(yaml), Err(format!("{p}{want}")), "{yaml}");
    }
    set("tsub:\n  spline-reticulation: \"8443\"\n  ratio: 1\n  monsters: true\n  title: \"\"\n")
        .unwrap();
    assert_eq!(
        eff(),
        json!({"empty": "", "monsters": true, "ratio": 1.0, "spline-reticulation": 8443, "title": ""})
    );
    // null resets to the default.
    set("tsub:\n  spline-reticulation: ~\n  ratio: 0.25\n").unwrap();
    assert_eq!(eff()["spline-reticulation"], json!(45));
    assert_eq!(eff()["ratio"], json!(0.25));
}

/// Config-get shows the coerced types: a float option set from an int prints as Go prints
/// float64(1) in JSON (`1`), an int option as an integer.
#[test]
fn coerced_values_reach_config_get() {
    let mut fx = Fx::new();
    fx.deploy(1);
    fx.settle();
    // A YAML string goes through ParseInt(s, 10, 64): "0100" is decimal 100, not octal.
    fx.juju
        .set_config_yaml(
            "tsub",
            "tsub:\n  ratio: 3\n  spline-reticulation: \"0100\"\n",
        )
        .unwrap();
    let s = fx
        .juju
        .begin_hook(
            "tsub/0",
            &juju_emu::HookSpec::simple(juju_emu::HookKind::UpdateStatus),
        )
        .unwrap();
    let out = s
        .tool("config-get", &["--format=json", "ratio"], None)
        .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "3\n");
    let out = s
        .tool(
            "config-get",
            &["--format=json", "spline-reticulation"],
            None,
        )
        .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "100\n");
    fx.juju.end_hook(&s, 0).unwrap();
}
