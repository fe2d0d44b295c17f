//! The change conformance suite's capability gating, run against mocks (the full suite runs
//! against real backends in their own crates, e.g. itsm-local).

use itsm_change::capability;
use itsm_core::{Capabilities, Error, ErrorKind};
use itsm_testkit::MockChangeSystem;
use itsm_testkit::conformance::{Outcome, change};

/// A backend that supports nothing but lookups, and says so for everything else, except
/// that `add_note` fails with `notes_error`.
fn lookup_only(notes_error: ErrorKind) -> MockChangeSystem {
    let mut mock = MockChangeSystem::new();
    mock.expect_capabilities()
        .returning(|| Capabilities::new("lookup-only"));
    mock.expect_find_change_by_key().returning(|_| Ok(None));
    mock.expect_get_change()
        .returning(|id| Err(Error::not_found(format!("no change {id}"))));
    mock.expect_create_template()
        .returning(move |_, _| Err(Error::unsupported("create_template", "lookup-only")));
    mock.expect_list_templates()
        .returning(move |_, _| Err(Error::unsupported("list_templates", "lookup-only")));
    mock.expect_get_template()
        .returning(move |_| Err(Error::unsupported("get_template", "lookup-only")));
    mock.expect_create_change()
        .returning(move |_, _| Err(Error::unsupported("create_change", "lookup-only")));
    mock.expect_request_approval()
        .returning(move |_| Err(Error::unsupported("request_approval", "lookup-only")));
    mock.expect_approvals()
        .returning(move |_| Err(Error::unsupported("approvals", "lookup-only")));
    mock.expect_decide()
        .returning(move |_, _| Err(Error::unsupported("decide", "lookup-only")));
    mock.expect_add_note()
        .returning(move |_, _, _| match notes_error {
            ErrorKind::Unsupported => Err(Error::unsupported("add_note", "lookup-only")),
            other => Err(Error::new(other, "add_note went wrong")),
        });
    mock.expect_conflicts()
        .returning(move |_| Err(Error::unsupported("conflicts", "lookup-only")));
    mock
}

#[tokio::test]
async fn checks_without_their_capability_are_skipped_and_unsupported_is_verified() {
    let system = lookup_only(ErrorKind::Unsupported);
    let report = change::run_all(&system).await;
    assert_eq!(report.passed(), ["lookups", "unsupported_operations"]);
    let skipped = report.skipped();
    assert_eq!(skipped.len(), 10, "{report:?}");
    assert!(skipped.contains(&("templates", capability::TEMPLATES_CREATE)));
    assert!(skipped.contains(&("normal_lifecycle", capability::NORMAL)));
    assert!(skipped.contains(&("notes", capability::NORMAL)));
}

#[tokio::test]
async fn a_skipped_check_touches_nothing() {
    // No expectations besides capabilities: any other call would panic in the mock.
    let mut mock = MockChangeSystem::new();
    mock.expect_capabilities()
        .returning(|| Capabilities::new("empty"));
    assert!(matches!(
        change::normal_lifecycle(&mock).await.unwrap(),
        Outcome::Skipped { missing } if missing == capability::NORMAL
    ));
    assert!(matches!(
        change::templates(&mock).await.unwrap(),
        Outcome::Skipped { .. }
    ));
}

#[tokio::test]
async fn a_backend_answering_not_found_for_an_unsupported_operation_fails() {
    let sloppy = lookup_only(ErrorKind::NotFound);
    let panic = tokio::spawn(async move {
        let _ = change::unsupported_operations(&sloppy).await;
    })
    .await
    .unwrap_err();
    let message = panic
        .into_panic()
        .downcast::<String>()
        .map(|s| *s)
        .unwrap_or_default();
    assert!(
        message.contains("add_note without the capability should fail with Unsupported"),
        "{message}"
    );
    assert!(message.contains("failed with NotFound"), "{message}");
}
