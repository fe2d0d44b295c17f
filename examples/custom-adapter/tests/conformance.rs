//! The itsm-testkit conformance suites against the Tickety adapter and its server: the
//! same checks the workspace's own backends pass.

mod common;

use custom_adapter::adapter::{change_capabilities, incident_capabilities};
use itsm_change::capability as change_cap;
use itsm_testkit::conformance;

#[tokio::test]
async fn incident_system_passes_every_check() {
    let (_server, tickety) = common::tickety().await;
    let report = conformance::incident::run_all(&tickety).await;
    assert!(report.skipped().is_empty(), "{report:?}");
    assert_eq!(
        report.passed(),
        [
            "create_and_find",
            "state_changes",
            "list_incidents",
            "reassign_and_priority",
            "notes_major_and_links",
            "unsupported_operations",
        ],
        "{report:?}"
    );
    // Every incident capability is declared, so nothing may be skipped.
    assert_eq!(incident_capabilities().iter().count(), 6);
}

#[tokio::test]
async fn change_system_passes_and_skips_only_what_is_not_declared() {
    let (_server, tickety) = common::tickety().await;
    let report = conformance::change::run_all(&tickety).await;
    assert_eq!(
        report.passed(),
        [
            "emergency_change",
            "normal_lifecycle",
            "reject_path",
            "idempotent_create",
            "lookups",
            "list_changes",
            "illegal_transition",
            "notes",
            "unsupported_operations",
        ],
        "{report:?}"
    );
    // Skipped: exactly the checks that need templates or conflict detection, which
    // Tickety does not have and the adapter does not declare.
    assert_eq!(
        report.skipped(),
        [
            ("templates", change_cap::TEMPLATES_CREATE),
            ("standard_change", change_cap::TEMPLATES_CREATE),
            ("conflicts", change_cap::CONFLICTS),
        ],
        "{report:?}"
    );
    let declared = change_capabilities();
    for (check, missing) in report.skipped() {
        assert!(
            !declared.supports(missing),
            "{check} was skipped though {missing} is declared"
        );
    }
    for undeclared in [
        change_cap::TEMPLATES_READ,
        change_cap::TEMPLATES_CREATE,
        change_cap::STANDARD,
        change_cap::CONFLICTS,
    ] {
        assert!(!declared.supports(undeclared), "{undeclared}");
    }
}

#[tokio::test]
async fn the_suites_run_again_against_the_same_server() {
    let (_server, tickety) = common::tickety().await;
    for _ in 0..2 {
        conformance::incident::run_all(&tickety).await;
        conformance::change::run_all(&tickety).await;
    }
}
