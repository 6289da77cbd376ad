//! Prometheus metrics scraped inside a netns lab: node 0 serves them from `--metrics-listen`,
//! node 1 from `global_defs { vrrpd_metrics_listen }`; roles, priorities, counters and RSS
//! reflect the election. Root required; skipped otherwise.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{metric_value as value, scrape, skip, wait_until, Bed, Inst, Kind};

const SETTLE: Duration = Duration::from_secs(5);

#[test]
fn metrics_are_served_where_configured() {
    if skip() {
        return;
    }
    let mut b = Inst::v3(100);
    b.global_extra = vec!["vrrpd_metrics_listen 127.0.0.1:9651".into()];
    let mut bed = Bed::new(
        "metrics",
        vec![(Kind::Worker, Inst::v3(150)), (Kind::Worker, b)],
    );
    bed.nodes[0].args = vec!["--metrics-listen".into(), "127.0.0.1:9650".into()];
    bed.nodes[0].start();
    bed.nodes[1].start();
    bed.wait_sole_holder(0, SETTLE);
    let l = r#"{instance="VI_1",vrid="23",interface="eth0",family="ipv4""#;
    let ok = wait_until(SETTLE, Duration::from_millis(100), || {
        scrape(&bed.nodes[1].host, "127.0.0.1:9651", "/metrics").is_some_and(|t| {
            value(&t, &format!("vrrpd_instance_state{l},state=\"BACKUP\"}}")) == Some(1)
                && value(&t, &format!("vrrpd_adverts_received_total{l}}}")).unwrap_or(0) > 2
        })
    });
    assert!(
        ok.is_some(),
        "{:?}",
        scrape(&bed.nodes[1].host, "127.0.0.1:9651", "/metrics")
    );
    let resp = scrape(&bed.nodes[0].host, "127.0.0.1:9650", "/metrics").expect("scrape");
    let (head, text) = resp.split_once("\r\n\r\n").expect("http response");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.contains("Content-Type: text/plain; version=0.0.4"),
        "{head}"
    );
    assert_eq!(
        value(text, &format!("vrrpd_instance_state{l},state=\"MASTER\"}}")),
        Some(1)
    );
    assert_eq!(
        value(text, &format!("vrrpd_instance_state{l},state=\"BACKUP\"}}")),
        Some(0)
    );
    assert_eq!(
        value(text, &format!("vrrpd_instance_effective_priority{l}}}")),
        Some(150)
    );
    assert_eq!(
        value(text, &format!("vrrpd_instance_vips_held{l}}}")),
        Some(1)
    );
    assert_eq!(
        value(text, &format!("vrrpd_became_master_total{l}}}")),
        Some(1)
    );
    assert!(value(text, &format!("vrrpd_adverts_sent_total{l}}}")).unwrap_or(0) > 0);
    assert_eq!(
        value(text, &format!("vrrpd_drops_total{l},reason=\"ttl\"}}")),
        Some(0)
    );
    let rss = value(text, "process_resident_memory_bytes").expect("rss");
    eprintln!(
        "MEASURE worker RSS from its own metrics: {} KiB",
        rss / 1024
    );
    assert!(rss > 100 * 1024);
    // Other paths and methods.
    let r = scrape(&bed.nodes[0].host, "127.0.0.1:9650", "/").expect("scrape");
    assert!(r.starts_with("HTTP/1.1 404"), "{r}");
    // Only the configured address is bound: not the lab address.
    assert!(scrape(&bed.nodes[0].host, "192.0.2.10:9650", "/metrics").is_none());
}
