//! The local store's own change rules, beyond the shared conformance suite: local ids,
//! template validation, standard-change template checks, approval rows, notes, freeze
//! conflicts and the notification outbox.

mod common;

use common::{key, new_change, new_template};
use itsm_change::{
    ApprovalDecision, ApprovalState, ChangeKind, ChangeState, ChangeSystem, CloseCode, Closure,
    ConflictKind, FreezeWindow, TemplateFilter, Window, capability,
};
use itsm_core::{
    Environment, ErrorKind, IdempotencyKey, ListRequest, Notification, NotificationTopic, Notifier,
    Person, Recipient, ServiceId,
};
use time::Duration;
use time::macros::datetime;

#[tokio::test]
async fn ids_timestamps_and_external_refs() {
    let (_dir, store, clock) = common::store();
    let t = store
        .create_template(&key("t"), &new_template("checkout"))
        .await
        .unwrap();
    assert_eq!(t.id.as_str(), "TPL0000001");
    assert!(t.active);
    assert_eq!(t.approved_at, Some(clock.now_utc()));
    assert_eq!(t.external.as_ref().unwrap().to_string(), "local:TPL0000001");

    clock.advance(Duration::minutes(5));
    let c = store
        .create_change(&key("c"), &new_change(ChangeKind::Normal, "checkout"))
        .await
        .unwrap();
    assert_eq!(c.id.as_str(), "CHG0000001");
    assert_eq!(c.number.as_deref(), Some("CHG0000001"));
    assert_eq!(c.key, Some(key("c")));
    assert_eq!(c.created_at, Some(datetime!(2026-05-01 10:05 UTC)));
    assert_eq!(c.updated_at, c.created_at);
    assert_eq!(c.external.as_ref().unwrap().to_string(), "local:CHG0000001");

    clock.advance(Duration::minutes(5));
    let requested = store.request_approval(&c.id).await.unwrap();
    assert_eq!(requested.updated_at, Some(datetime!(2026-05-01 10:10 UTC)));
    assert_eq!(requested.created_at, c.created_at);
    let approvals = store.approvals(&c.id).await.unwrap();
    assert_eq!(approvals.len(), 1);
    assert_eq!(approvals[0].id, "APR0000001");
    assert_eq!(approvals[0].approver, Some(Person::named("change-manager")));

    let caps = store.capabilities();
    assert_eq!(caps.backend(), "local");
    assert_eq!(caps.iter().count(), 9);
    assert!(caps.supports(capability::CONFLICTS));
}

trait NowUtc {
    fn now_utc(&self) -> time::OffsetDateTime;
}
impl NowUtc for itsm_core::ManualClock {
    fn now_utc(&self) -> time::OffsetDateTime {
        itsm_core::Clock::now(self)
    }
}

#[tokio::test]
async fn template_validation_and_listing() {
    let (_dir, store, _clock) = common::store();
    let mut bad = new_template("checkout");
    bad.name = "  ".into();
    let err = store.create_template(&key("t"), &bad).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("template name"), "{err}");
    let mut bad = new_template("checkout");
    bad.environments.clear();
    let err = store.create_template(&key("t"), &bad).await.unwrap_err();
    assert!(err.to_string().contains("template environments"), "{err}");

    let mut unapproved = new_template("billing");
    unapproved.approved_by = None;
    let billing = store.create_template(&key("b"), &unapproved).await.unwrap();
    assert_eq!(billing.approved_at, None);
    let checkout = store
        .create_template(&key("c"), &new_template("checkout"))
        .await
        .unwrap();
    let all = store
        .list_templates(&TemplateFilter::default(), &ListRequest::first())
        .await
        .unwrap();
    assert_eq!(all.items.len(), 2);
    let filter = TemplateFilter {
        service: Some(ServiceId::new("checkout").unwrap()),
        active_only: true,
    };
    let only = store
        .list_templates(&filter, &ListRequest::first())
        .await
        .unwrap();
    assert_eq!(only.items, [checkout]);
    let err = store
        .get_template(&itsm_change::TemplateId::new("TPL0000099").unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.to_string().contains("TPL0000099"), "{err}");
}

#[tokio::test]
async fn standard_changes_need_a_usable_template_of_their_service() {
    let (_dir, store, clock) = common::store();
    let mut expiring = new_template("checkout");
    expiring.expires_at = Some(datetime!(2026-06-01 00:00 UTC));
    let t = store.create_template(&key("t"), &expiring).await.unwrap();

    let standard = |service: &str, env: &str, template: Option<&str>| {
        let mut c = new_change(ChangeKind::Standard, service);
        c.environment = Environment::new(env).unwrap();
        c.template = template.map(|t| itsm_change::TemplateId::new(t).unwrap());
        c
    };
    let cases = [
        (
            standard("checkout", "production", None),
            "needs the template",
        ),
        (
            standard("checkout", "production", Some("TPL0000042")),
            "template TPL0000042 does not exist",
        ),
        (
            standard("billing", "production", Some(t.id.as_str())),
            "is for service checkout, not billing",
        ),
        (
            standard("checkout", "staging", Some(t.id.as_str())),
            "does not allow environment staging",
        ),
    ];
    for (i, (change, expected)) in cases.into_iter().enumerate() {
        let err = store
            .create_change(&key(&format!("bad-{i}")), &change)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        assert!(err.to_string().contains(expected), "{expected}: {err}");
    }

    let good = standard("checkout", "production", Some(t.id.as_str()));
    let made = store.create_change(&key("ok"), &good).await.unwrap();
    assert_eq!(
        (made.state, made.approval),
        (ChangeState::Scheduled, ApprovalState::Approved)
    );

    clock.set(datetime!(2026-06-01 00:00 UTC));
    let err = store.create_change(&key("late"), &good).await.unwrap_err();
    assert!(err.to_string().contains("expired"), "{err}");
    // A retry of the earlier create still finds its change after the template expired.
    assert_eq!(store.create_change(&key("ok"), &good).await.unwrap(), made);

    let mut empty = new_change(ChangeKind::Normal, "checkout");
    empty.summary = " ".into();
    let err = store.create_change(&key("e"), &empty).await.unwrap_err();
    assert!(err.to_string().contains("summary"), "{err}");
}

#[tokio::test]
async fn emergency_changes_are_break_glass() {
    let (_dir, store, _clock) = common::store();
    let mut e = new_change(ChangeKind::Emergency, "checkout");
    e.retroactive = true;
    e.reasons = vec!["outage INC42".into()];
    let made = store.create_change(&key("e"), &e).await.unwrap();
    assert_eq!(
        (made.state, made.approval),
        (ChangeState::Implement, ApprovalState::Approved)
    );
    assert!(made.retroactive);
    assert_eq!(made.reasons, ["outage INC42"]);
    let reviewed = store
        .transition(&made.id, ChangeState::Review)
        .await
        .unwrap();
    let closed = store
        .close(
            &reviewed.id,
            &Closure {
                code: CloseCode::SuccessfulWithIssues,
                notes: "fixed".into(),
                closed_at: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(closed.state, ChangeState::Closed);
    assert_eq!(
        closed.closure.unwrap().closed_at,
        Some(datetime!(2026-05-01 10:00 UTC))
    );
}

#[tokio::test]
async fn decisions_are_recorded_on_the_approval_row() {
    let (_dir, store, clock) = common::store();
    let c = store
        .create_change(&key("c"), &new_change(ChangeKind::Normal, "checkout"))
        .await
        .unwrap();
    let err = store
        .decide(
            &c.id,
            &ApprovalDecision {
                approve: true,
                by: Person::named("Casey"),
                comment: None,
            },
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("request approval first"), "{err}");
    store.transition(&c.id, ChangeState::Assess).await.unwrap();
    let requested = store.request_approval(&c.id).await.unwrap();
    assert_eq!(requested.state, ChangeState::Authorize);
    // Asking again adds no second approval row.
    store.request_approval(&c.id).await.unwrap();
    clock.advance(Duration::hours(1));
    let decision = ApprovalDecision {
        approve: true,
        by: Person::named("Casey").with_email("casey@example.com"),
        comment: Some("ok for tonight".into()),
    };
    let approved = store.decide(&c.id, &decision).await.unwrap();
    assert_eq!(approved.state, ChangeState::Scheduled);
    let approvals = store.approvals(&c.id).await.unwrap();
    assert_eq!(approvals.len(), 1);
    assert_eq!(approvals[0].state, ApprovalState::Approved);
    assert_eq!(approvals[0].approver, Some(decision.by.clone()));
    assert_eq!(approvals[0].comment.as_deref(), Some("ok for tonight"));
    assert_eq!(
        approvals[0].decided_at,
        Some(datetime!(2026-05-01 11:00 UTC))
    );
    // The same decision again changes nothing, not even the time.
    clock.advance(Duration::hours(1));
    assert_eq!(store.decide(&c.id, &decision).await.unwrap(), approved);

    let err = store
        .transition(&c.id, ChangeState::Closed)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert!(err.to_string().contains("use close"), "{err}");
    let err = store
        .transition(&c.id, ChangeState::Review)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("cannot move from scheduled to review"),
        "{err}"
    );
}

#[tokio::test]
async fn notes_are_kept_once_per_key() {
    let (_dir, store, _clock) = common::store();
    let c = store
        .create_change(&key("c"), &new_change(ChangeKind::Normal, "checkout"))
        .await
        .unwrap();
    store.add_note(&c.id, &key("n1"), "started").await.unwrap();
    store.add_note(&c.id, &key("n1"), "started").await.unwrap();
    store.add_note(&c.id, &key("n2"), "finished").await.unwrap();
    assert_eq!(store.notes(&c.id).await.unwrap(), ["started", "finished"]);
    let missing = itsm_change::ChangeId::new("CHG0000404").unwrap();
    let err = store.add_note(&missing, &key("n1"), "x").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(
        store.notes(&missing).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

#[tokio::test]
async fn list_pages_newest_first_and_rejects_foreign_cursors() {
    let (_dir, store, _clock) = common::store();
    for i in 0..5 {
        store
            .create_change(
                &key(&format!("c{i}")),
                &new_change(ChangeKind::Normal, "checkout"),
            )
            .await
            .unwrap();
    }
    let filter = itsm_change::ChangeFilter::default();
    let page = store
        .list_changes(&filter, &ListRequest::with_limit(3))
        .await
        .unwrap();
    let ids: Vec<&str> = page.items.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["CHG0000005", "CHG0000004", "CHG0000003"]);
    let rest = store
        .list_changes(
            &filter,
            &ListRequest {
                limit: Some(3),
                cursor: page.next,
            },
        )
        .await
        .unwrap();
    assert_eq!(rest.items.len(), 2);
    assert_eq!(rest.next, None);
    let err = store
        .list_changes(
            &filter,
            &ListRequest {
                limit: None,
                cursor: Some("page-2".into()),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

fn freeze(name: &str, envs: &[&str], services: &[&str]) -> FreezeWindow {
    FreezeWindow {
        name: name.into(),
        start: datetime!(2026-05-01 00:00 UTC),
        end: datetime!(2026-05-02 00:00 UTC),
        environments: envs.iter().map(|e| Environment::new(e).unwrap()).collect(),
        services: services
            .iter()
            .map(|s| ServiceId::new(s).unwrap())
            .collect(),
    }
}

#[tokio::test]
async fn conflicts_are_the_freezes_that_apply_and_overlap() {
    let (_dir, store, clock) = common::store();
    let store = store.with_freezes(vec![
        freeze("may-day", &["production"], &[]),
        freeze("staging-only", &["staging"], &[]),
        freeze("billing-only", &[], &["billing"]),
    ]);
    let c = store
        .create_change(&key("now"), &new_change(ChangeKind::Normal, "checkout"))
        .await
        .unwrap();
    // No window: the freezes in force now (10:00 on May 1st).
    let conflicts = store.conflicts(&c.id).await.unwrap();
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    assert_eq!(conflicts[0].kind, ConflictKind::Blackout);
    assert_eq!(
        conflicts[0].description,
        "freeze window may-day (2026-05-01T00:00:00Z to 2026-05-02T00:00:00Z)"
    );
    assert_eq!(conflicts[0].window, Some(freeze("x", &[], &[]).window()));
    assert_eq!(conflicts[0].with, None);

    clock.set(datetime!(2026-05-03 00:00 UTC));
    assert!(store.conflicts(&c.id).await.unwrap().is_empty());

    // With a window: the freezes it overlaps, whatever the time now.
    let mut planned = new_change(ChangeKind::Normal, "checkout");
    planned.window = Some(Window {
        start: datetime!(2026-05-01 23:00 UTC),
        end: datetime!(2026-05-02 01:00 UTC),
    });
    let p = store
        .create_change(&key("planned"), &planned)
        .await
        .unwrap();
    assert_eq!(store.conflicts(&p.id).await.unwrap().len(), 1);
    planned.window = Some(Window {
        start: datetime!(2026-05-02 00:00 UTC),
        end: datetime!(2026-05-02 01:00 UTC),
    });
    let after = store.create_change(&key("after"), &planned).await.unwrap();
    assert!(store.conflicts(&after.id).await.unwrap().is_empty());
}

fn notification(k: &str, subject: &str) -> Notification {
    Notification {
        key: IdempotencyKey::new(k).unwrap(),
        topic: NotificationTopic::ChangeApprovalRequested,
        recipients: vec![Recipient::Role("change-manager".into())],
        subject: subject.into(),
        body: "Please approve".into(),
        links: vec![],
        about: vec![],
    }
}

#[tokio::test]
async fn notifications_are_recorded_once_per_key_oldest_first() {
    let (dir, store, _clock) = common::store();
    store.notify(&notification("n1", "first")).await.unwrap();
    store
        .notify(&notification("n1", "first again"))
        .await
        .unwrap();
    store.notify(&notification("n2", "second")).await.unwrap();
    let recorded = store.notifications().await.unwrap();
    assert_eq!(
        recorded,
        [notification("n1", "first"), notification("n2", "second")]
    );
    // Shared by clones and by other stores on the same file.
    let other = itsm_local::LocalStore::open(
        dir.path().join("itsm.db"),
        std::sync::Arc::new(itsm_core::SystemClock),
    )
    .unwrap();
    assert_eq!(other.notifications().await.unwrap().len(), 2);
}
