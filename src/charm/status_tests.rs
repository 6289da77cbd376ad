use super::*;

fn st(level: StatusLevel, m: &str) -> Status {
    Status::new(level, m)
}

#[test]
fn the_highest_level_wins_and_the_first_among_equals() {
    let mut c = Candidates::default();
    assert_eq!(c.clone().winner(), None);
    c.add(st(StatusLevel::Active, "a1"));
    c.add(st(StatusLevel::Waiting, "w1"));
    c.add(st(StatusLevel::Active, "a2"));
    c.add(st(StatusLevel::Waiting, "w2"));
    assert_eq!(c.clone().winner(), Some(st(StatusLevel::Waiting, "w1")));
    c.add(st(StatusLevel::Maintenance, "m"));
    assert_eq!(c.clone().winner(), Some(st(StatusLevel::Maintenance, "m")));
    c.add(st(StatusLevel::Blocked, "b"));
    assert_eq!(c.winner(), Some(st(StatusLevel::Blocked, "b")));
}

#[test]
fn after_run_words_each_outcome() {
    let notes = RunNotes {
        legacy_note: false,
        cert_note: None,
        strict_san_check: false,
        port: 443,
        vip: Some("192.0.2.250".parse().unwrap()),
        peers: &[],
    };
    let state: StateView = serde_json::from_str(
        r#"{"version":1,"instances":[{"name":"VI_23","family":"ipv4","role":"MASTER"}]}"#,
    )
    .unwrap();
    assert_eq!(
        after_run(
            WorkerOutcome::Failed(ServiceVerb::Start),
            notes,
            Some(&state)
        ),
        st(
            StatusLevel::Blocked,
            "vrrpd failed to start; see journalctl -u vrrpd"
        )
    );
    assert_eq!(
        after_run(WorkerOutcome::NotRunning, notes, Some(&state)),
        st(
            StatusLevel::Blocked,
            "vrrpd is not running; see journalctl -u vrrpd"
        )
    );
    assert_eq!(
        after_run(WorkerOutcome::Running { fresh: false }, notes, Some(&state)),
        st(StatusLevel::Active, "VIP ready (MASTER)")
    );
    assert_eq!(
        after_run(WorkerOutcome::Running { fresh: true }, notes, Some(&state)),
        st(StatusLevel::Active, "VIP ready (worker starting)"),
        "a state file from before a restart is not the new worker's"
    );
    let legacy = RunNotes {
        legacy_note: true,
        ..notes
    };
    assert_eq!(
        after_run(
            WorkerOutcome::Running { fresh: false },
            legacy,
            Some(&state)
        )
        .message,
        format!("VIP ready (MASTER); {MSG_LEGACY}")
    );
}

fn report(unit: &str, ready: bool, vips: &[&str], fault: &str) -> UnitReport {
    UnitReport {
        unit: unit.into(),
        role: if ready { "BACKUP" } else { "FAULT" }.into(),
        ready,
        vips: vips.iter().map(|v| v.parse().unwrap()).collect(),
        fault: fault.into(),
    }
}

#[test]
fn the_application_status_names_the_holder_or_why_there_is_none() {
    let vip: IpAddr = "10.1.2.3".parse().unwrap();
    let three = [
        report("keepalived/0", true, &[], ""),
        report("keepalived/1", true, &["10.1.2.3"], ""),
        report("keepalived/2", true, &[], ""),
    ];
    assert_eq!(
        application(vip, &three),
        st(
            StatusLevel::Active,
            "VIP 10.1.2.3 on keepalived/1 (3 of 3 units ready)"
        )
    );
    let none = [
        report(
            "keepalived/0",
            false,
            &[],
            "LB not answering on 127.0.0.1:443",
        ),
        report("keepalived/1", false, &[], "link down on eth0"),
    ];
    assert_eq!(
        application(vip, &none),
        st(
            StatusLevel::Blocked,
            "no unit holds VIP 10.1.2.3: keepalived/0: LB not answering on 127.0.0.1:443"
        )
    );
    let two = [
        report("keepalived/0", true, &["10.1.2.3"], ""),
        report("keepalived/1", true, &["10.1.2.3"], ""),
    ];
    assert_eq!(application(vip, &two).level, StatusLevel::Waiting);
    // Published and read back, a report is the same.
    let r = &three[1];
    assert_eq!(&UnitReport::from_bag(&r.unit, &r.to_bag()), r);
}
