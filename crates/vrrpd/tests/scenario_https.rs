//! `vrrpd_check http_get https://…` against a TLS listener (`openssl s_server -www`) in a netns
//! lab: a lone worker with a weight-0 HTTPS check is MASTER only while the listener answers;
//! the self-signed certificate (for another name) is accepted on purpose.
//! Root required; skipped otherwise.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{skip, wait_until, Bed, Inst, Kind};

const SETTLE: Duration = Duration::from_secs(5);

fn self_signed(dir: &std::path::Path) -> (String, String) {
    let (cert, key) = (dir.join("c.pem"), dir.join("k.pem"));
    netlab::cert::self_signed("lb.example", None, 1, &cert, &key).unwrap();
    let text = |p: std::path::PathBuf| p.to_str().unwrap().to_string();
    (text(cert), text(key))
}

#[test]
fn https_check_follows_a_tls_listener() {
    if skip() {
        return;
    }
    let mut bed = Bed::new("https", vec![(Kind::Worker, Inst::v3(150))]);
    let node = &mut bed.nodes[0];
    let (cert, key) = self_signed(node.dir.path());
    // The check and its tracking are added to the harness's rendering.
    let conf = node.inst.render(Kind::Worker, node.host.ifname());
    let conf = conf.replacen(
        "vrrp_instance VI_1 {\n",
        "vrrpd_check tls {\n    http_get https://127.0.0.1:8443/ status 200\n    interval 0.1\n    timeout 0.5\n}\nvrrp_instance VI_1 {\n    track_script {\n        tls\n    }\n",
        1,
    );
    std::fs::write(node.conf_path(), &conf).unwrap();
    let state = node.state_path();
    let conf_path = node.conf_path();
    let vrrpd = node
        .host
        .spawn(
            "vrrpd",
            common::VRRPD,
            &[
                "--config",
                conf_path.to_str().unwrap(),
                "--state-file",
                state.to_str().unwrap(),
            ],
        )
        .unwrap();
    let role = || -> Option<String> {
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&state).ok()?).ok()?;
        Some(v["instances"][0]["role"].as_str()?.to_string())
    };
    // No listener: the check fails, the instance is in FAULT.
    let fault = wait_until(SETTLE, Duration::from_millis(20), || {
        role().as_deref() == Some("FAULT")
    });
    assert!(fault.is_some(), "{:?}\n{}", role(), vrrpd.stderr());
    // TLS 1.2 and 1.3 listeners both make it healthy.
    for proto in ["-tls1_3", "-tls1_2"] {
        let srv = node
            .host
            .spawn(
                "sserver",
                "openssl",
                &[
                    "s_server",
                    "-accept",
                    "127.0.0.1:8443",
                    "-cert",
                    &cert,
                    "-key",
                    &key,
                    "-www",
                    "-quiet",
                    proto,
                ],
            )
            .unwrap();
        let master = wait_until(SETTLE, Duration::from_millis(20), || {
            role().as_deref() == Some("MASTER")
        });
        assert!(
            master.is_some(),
            "{proto}: {:?}\n{}",
            role(),
            vrrpd.stderr()
        );
        assert!(node.holds(node.inst.vip_addr()));
        drop(srv);
        let fault = wait_until(SETTLE, Duration::from_millis(20), || {
            role().as_deref() == Some("FAULT")
        });
        assert!(fault.is_some(), "{proto}: {:?}", role());
        assert!(!node.holds(node.inst.vip_addr()));
    }
    // A plain-HTTP server on the port is no TLS listener: still failing.
    let _plain = node
        .host
        .spawn(
            "plain",
            "python3",
            &["-m", "http.server", "--bind", "127.0.0.1", "8443"],
        )
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(role().as_deref(), Some("FAULT"));
    assert!(
        vrrpd.stderr().contains("TLS handshake"),
        "{}",
        vrrpd.stderr()
    );
}
