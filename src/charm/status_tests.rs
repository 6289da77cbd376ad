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
