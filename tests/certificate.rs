//! The certificate check under the emulator: a real TLS listener on 127.0.0.1 (ephemeral port,
//! the charm's `port` option points at it) serving openssl-made certificates, the real
//! dispatcher reading it in every reconcile and in the `check-certificate` action.
//! Network: loopback only, no other traffic.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use common::tls::{server_config, TlsServer};
use common::*;

const U: &str = "keepalived/0";
const STATE: &str = "run/vrrpd/state.json";

fn write_state(lab: &Lab, json: &str) {
    std::fs::write(lab.file(U, STATE), json).unwrap();
}

fn master_state(role: &str, extra: &str) -> String {
    // pid 1 always exists: the state counts as written by a live worker.
    format!(
        r#"{{"version":1,"pid":1,"instances":[{{"name":"VI_23","family":"ipv4","role":"{role}",
        "base_priority":250,"effective_priority":250,"vips_held":[]{extra}}}]}}"#
    )
}

fn update_status(lab: &mut Lab) {
    lab.juju.request_update_status(Some(U)).unwrap();
    lab.settle();
}

#[test]
fn status_reports_missing_sans_strictly_or_not_and_an_unanswering_lb() {
    let certs = tempfile::tempdir().unwrap();
    let good = server_config(
        certs.path(),
        "good",
        "DNS:lb-0,IP:10.0.0.5,IP:192.0.2.250,DNS:api.example.com",
    );
    let bare = server_config(certs.path(), "bare", "DNS:lb-0,IP:10.0.0.5");
    let server = TlsServer::start(good);
    let port = server.port().to_string();

    let mut lab = Lab::new(1);
    lab.config(&[
        ("virtual_ip", "192.0.2.250/24"),
        ("network_interface", "lo"),
        ("vip_hostname", "api.example.com"),
        ("port", &port),
    ]);
    lab.settle();
    // Every SAN present: nothing but the ready status; the probe sent SNI vip_hostname.
    assert_eq!(
        lab.status(U),
        ("active".into(), "VIP ready (worker starting)".into())
    );
    assert!(
        server
            .sni_seen()
            .contains(&Some("api.example.com".to_string())),
        "{:?}",
        server.sni_seen()
    );

    // The load balancer now serves a certificate without the VIP and the hostname.
    server.set_config(bare);
    write_state(&lab, &master_state("MASTER", ""));
    update_status(&mut lab);
    let lacks = "LB cert lacks SAN(s) 192.0.2.250 api.example.com: juju config kubeapi-load-balancer extra_sans=\"192.0.2.250 api.example.com\"";
    assert_eq!(
        lab.status(U),
        ("active".into(), format!("VIP ready (MASTER); {lacks}"))
    );

    // strict_san_check blocks, but VRRP keeps running: no stop, no restart.
    let calls = lab.service_calls(U);
    lab.config(&[("strict_san_check", "true")]);
    lab.settle();
    assert_eq!(
        lab.status(U),
        ("blocked".into(), format!("VIP ready (MASTER); {lacks}"))
    );
    assert!(lab.active(U));
    assert_eq!(lab.service_calls(U), calls, "the worker is left alone");

    // The action prints the commands for both applications.
    let res = lab
        .juju
        .run_action(U, "check-certificate", serde_json::Value::Null)
        .unwrap();
    assert!(!res.failed, "{res:?}");
    assert_eq!(res.results["result"], "missing-sans");
    assert_eq!(res.results["missing"], "192.0.2.250 api.example.com");
    assert_eq!(res.results["served"]["ip-sans"], "10.0.0.5");
    assert_eq!(res.results["served"]["dns-sans"], "lb-0");
    assert_eq!(res.results["endpoint"], format!("127.0.0.1:{port}"));
    assert_eq!(
        res.results["commands"]["control-plane"],
        "juju config kubernetes-control-plane extra_sans=\"192.0.2.250 api.example.com\" loadbalancer-ips=\"192.0.2.250\""
    );
    for line in [
        format!(
            "The certificate served on 127.0.0.1:{port} lacks SAN(s): 192.0.2.250 api.example.com"
        ),
        "juju config kubeapi-load-balancer loadbalancer-ips=\"192.0.2.250\"".into(),
        "juju config kubeapi-load-balancer extra_sans=\"192.0.2.250 api.example.com\"".into(),
    ] {
        assert!(
            res.stdout.lines().any(|l| l == line),
            "{line} not in\n{}",
            res.stdout
        );
    }

    // Nothing listens any more: a short note, not a SAN problem, so not blocked even when strict.
    drop(server);
    update_status(&mut lab);
    assert_eq!(
        lab.status(U),
        (
            "active".into(),
            format!("VIP ready (MASTER); LB not answering TLS on 127.0.0.1:{port}")
        )
    );
    let res = lab
        .juju
        .run_action(U, "check-certificate", serde_json::Value::Null)
        .unwrap();
    assert!(!res.failed, "{res:?}");
    assert_eq!(res.results["result"], "unreadable");
    assert!(
        res.stdout.starts_with(&format!(
            "No certificate could be read from 127.0.0.1:{port}: connect: "
        )),
        "{}",
        res.stdout
    );
}

#[test]
fn the_role_survives_odd_state_files_and_faults_are_explained() {
    let certs = tempfile::tempdir().unwrap();
    let server = TlsServer::start(server_config(certs.path(), "ok", "IP:192.0.2.250"));
    let mut lab = Lab::new(1);
    lab.config(&[
        ("virtual_ip", "192.0.2.250/24"),
        ("network_interface", "lo"),
        ("port", &server.port().to_string()),
    ]);
    lab.settle();
    assert!(
        server.sni_seen().contains(&None),
        "no hostname: no SNI (an IP is never sent as SNI)"
    );
    // A worker in FAULT cannot hold the VIP: `waiting` with the reason and where the VIP is
    // (issue 11; before, `active` `VIP ready (FAULT: LB check failing)`).
    let port = server.port();
    let ready = |role: &str| ("active".to_string(), format!("VIP ready ({role})"));
    let waiting = |why: String| {
        (
            "waiting".to_string(),
            format!("{why}; no other unit holds the VIP"),
        )
    };
    for (state, want) in [
        (master_state("BACKUP", ""), ready("BACKUP")),
        (
            master_state("FAULT", r#","faults":[{"track":0}]"#),
            waiting(format!("LB not answering on 127.0.0.1:{port}")),
        ),
        (master_state("FAULT", ""), waiting("VI_23 in FAULT".into())),
        // Written by a worker that is gone (pids never reach 2^22 + 1 on Linux).
        (
            master_state("MASTER", "").replace(r#""pid":1"#, r#""pid":4194305"#),
            ready("worker starting"),
        ),
        ("{truncated".to_string(), ready("worker starting")),
        (
            r#"{"version":1,"instances":[]}"#.to_string(),
            ready("worker starting"),
        ),
    ] {
        write_state(&lab, &state);
        update_status(&mut lab);
        assert_eq!(lab.status(U), want, "{state}");
    }
    std::fs::remove_file(lab.file(U, STATE)).unwrap();
    update_status(&mut lab);
    assert_eq!(
        lab.status(U),
        ("active".into(), "VIP ready (worker starting)".into())
    );
    // The action fails only when there is nothing to check.
    lab.config(&[("virtual_ip", "")]);
    lab.settle();
    let res = lab
        .juju
        .run_action(U, "check-certificate", serde_json::Value::Null)
        .unwrap();
    assert!(res.failed);
    assert_eq!(
        res.message,
        "virtual_ip is not set: there is no VIP to check"
    );
}

#[test]
fn ipv6_first_vip_is_published_bare_checked_as_an_ip_san_and_metrics_are_rendered() {
    let certs = tempfile::tempdir().unwrap();
    let server = TlsServer::start(server_config(
        certs.path(),
        "v6",
        "IP:2001:db8::250,DNS:lb-0",
    ));
    let port = server.port().to_string();
    let mut lab = Lab::new(1);
    lab.config(&[
        ("virtual_ip", "2001:db8::250/64 192.0.2.250/24"),
        ("network_interface", "lo"),
        ("port", &port),
        ("metrics_address", "[::1]:9510"),
    ]);
    let (lb, web) = lab.relate_consumers();
    assert_eq!(
        lab.status(U),
        (
            "active".into(),
            "VIP ready (worker starting); LB cert lacks SAN(s) 192.0.2.250: juju config kubeapi-load-balancer extra_sans=\"192.0.2.250\"".into()
        )
    );
    let l = lab.data(lb, U);
    assert_eq!(
        l.get("public-address").map(String::as_str),
        Some("2001:db8::250")
    );
    let w = lab.data(web, U);
    assert_eq!(w.get("hostname").map(String::as_str), Some("2001:db8::250"));
    assert_eq!(
        w.get("private-address").map(String::as_str),
        Some("2001:db8::250")
    );
    let conf = lab.read(U, CONF);
    assert!(
        conf.contains("    vrrpd_metrics_listen [::1]:9510\n"),
        "{conf}"
    );
    assert!(conf.contains(&format!("    tcp_connect 127.0.0.1 {port} watch\n")));
    // The action shows the API URL with the IPv6 VIP bracketed.
    let res = lab
        .juju
        .run_action(U, "check-certificate", serde_json::Value::Null)
        .unwrap();
    assert_eq!(res.results["served"]["ip-sans"], "2001:db8::250");
    assert!(
        res.stdout.contains(&format!(
            "Note: Clients reach the API through the VIP at https://[2001:db8::250]:{port}."
        )),
        "{}",
        res.stdout
    );
    // A bad metrics_address blocks with the reason and leaves the running config alone.
    lab.config(&[("metrics_address", "localhost:9510")]);
    lab.settle();
    assert_eq!(
        lab.status(U),
        (
            "blocked".into(),
            "Invalid config: metrics_address=\"localhost:9510\": not ADDR:PORT (e.g. 127.0.0.1:9510, IPv6 as [::1]:9510)".into()
        )
    );
    assert_eq!(lab.read(U, CONF), conf);
}
