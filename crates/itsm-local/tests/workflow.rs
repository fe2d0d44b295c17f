//! The change workflow (raise, gate, close, emergency) end to end over the SQLite store,
//! with an injected clock.

use std::sync::Arc;

use itsm_change::{
    ApprovalDecision, ApprovalState, ChangeKind, ChangeState, ChangeSystem, ChangeWorkflow,
    CloseCode, Deployment, DeploymentResult, FreezeWindow, GateVerdict, NewChange, NewTemplate,
    Policy,
};
use itsm_core::{
    Clock, Environment, Error, ErrorKind, IdempotencyKey, ManualClock, Person, PipelineRunId,
    ServiceId, Version,
};
use itsm_local::LocalStore;
use itsm_testkit::MockChangeSystem;
use time::Duration;
use time::macros::datetime;

struct World {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    clock: ManualClock,
    store: LocalStore,
}

impl World {
    fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("itsm.db");
        let clock = ManualClock::new(datetime!(2026-06-01 09:00 UTC));
        let store = LocalStore::open(&path, Arc::new(clock.clone())).unwrap();
        World {
            _dir: dir,
            path,
            clock,
            store,
        }
    }

    fn workflow(&self) -> ChangeWorkflow {
        workflow_over(&self.store, &self.clock)
    }

    async fn template(&self, service: &str) {
        self.store
            .create_template(
                &IdempotencyKey::new(format!("tpl/{service}")).unwrap(),
                &NewTemplate {
                    service: ServiceId::new(service).unwrap(),
                    name: "Routine release".into(),
                    description: String::new(),
                    environments: vec![Environment::production()],
                    implementation_plan: "pipeline".into(),
                    backout_plan: "redeploy".into(),
                    test_plan: "tests".into(),
                    owner: Person::named("pm"),
                    approved_by: Some(Person::named("cm")),
                    expires_at: Some(datetime!(2027-01-01 00:00 UTC)),
                },
            )
            .await
            .unwrap();
    }
}

fn workflow_over(store: &LocalStore, clock: &ManualClock) -> ChangeWorkflow {
    ChangeWorkflow::new(
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        Arc::new(clock.clone()),
    )
}

fn deployment(service: &str, version: &str, run: &str) -> Deployment {
    Deployment {
        service: ServiceId::new(service).unwrap(),
        version: Version::new(version).unwrap(),
        environment: Environment::production(),
        pipeline_run: PipelineRunId::new(run).unwrap(),
        commits: vec![],
        requested_by: Some(Person::named("pipeline")),
        links: vec![],
    }
}

fn ok() -> DeploymentResult {
    DeploymentResult {
        succeeded: true,
        started_at: None,
        finished_at: None,
        notes: None,
    }
}

fn approve() -> ApprovalDecision {
    ApprovalDecision {
        approve: true,
        by: Person::named("Casey"),
        comment: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_raises_of_one_run_make_one_change_and_one_notification() {
    let world = World::new();
    // A second store on the same file stands for a second process.
    let other = LocalStore::open(&world.path, Arc::new(world.clock.clone())).unwrap();
    let d = deployment("billing", "2.0.0", "run-7");
    let mut tasks = Vec::new();
    for i in 0..8 {
        let wf = if i % 2 == 0 {
            world.workflow()
        } else {
            workflow_over(&other, &world.clock)
        };
        let d = d.clone();
        tasks.push(tokio::spawn(async move { wf.raise(&d, false).await }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        let outcome = t.await.unwrap().unwrap();
        assert_eq!(outcome.decision.kind, ChangeKind::Normal);
        ids.push(outcome.change.unwrap().id);
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "every run got the same change");
    let all = world
        .store
        .list_changes(&Default::default(), &itsm_core::ListRequest::first())
        .await
        .unwrap();
    assert_eq!(all.items.len(), 1);
    assert_eq!(all.items[0].approval, ApprovalState::Requested);
    assert_eq!(world.store.notifications().await.unwrap().len(), 1);
}

#[tokio::test]
async fn rerun_returns_the_existing_change_and_finishes_a_half_done_submission() {
    let world = World::new();
    let d = deployment("billing", "2.0.0", "run-1");
    // A previous run created the normal change but died before submitting it.
    world
        .store
        .create_change(
            &d.step_key("raise"),
            &NewChange {
                kind: ChangeKind::Normal,
                template: None,
                service: d.service.clone(),
                version: d.version.clone(),
                environment: d.environment.clone(),
                summary: "Deploy billing".into(),
                description: String::new(),
                window: None,
                commits: vec![],
                pipeline_run: Some(d.pipeline_run.clone()),
                requested_by: None,
                assignment_team: None,
                reasons: vec!["no active template".into()],
                retroactive: false,
                links: vec![],
            },
        )
        .await
        .unwrap();
    let outcome = world.workflow().raise(&d, false).await.unwrap();
    assert!(outcome.existed);
    let change = outcome.change.unwrap();
    assert_eq!(change.approval, ApprovalState::Requested);
    assert_eq!(outcome.decision.reasons, ["no active template"]);
    let notes = world.store.notifications().await.unwrap();
    assert_eq!(notes.len(), 1);
    assert!(notes[0].subject.contains(change.id.as_str()));
}

#[tokio::test]
async fn dry_run_decides_without_writing() {
    let world = World::new();
    world.template("checkout").await;
    let d = deployment("checkout", "1.0.0", "run-1");
    let outcome = world.workflow().raise(&d, true).await.unwrap();
    assert_eq!(outcome.decision.kind, ChangeKind::Standard);
    assert!(outcome.change.is_none() && outcome.dry_run);
    assert!(
        world
            .store
            .find_change_by_key(&d.step_key("raise"))
            .await
            .unwrap()
            .is_none()
    );
    match world.workflow().gate(&d, true).await {
        GateVerdict::Denied { reason, .. } => {
            assert!(reason.contains("no change found"), "{reason}")
        }
        other => panic!("expected denied, got {other:?}"),
    }
}

#[tokio::test]
async fn failed_production_deployments_make_the_next_change_normal() {
    let world = World::new();
    world.template("checkout").await;
    let wf = world.workflow();
    for (i, v) in ["1.0.0", "1.0.1"].iter().enumerate() {
        let d = deployment("checkout", v, &format!("run-{i}"));
        let raised = wf.raise(&d, false).await.unwrap();
        assert_eq!(
            raised.decision.kind,
            ChangeKind::Standard,
            "{}",
            raised.decision
        );
        let failed = DeploymentResult {
            succeeded: false,
            ..ok()
        };
        let closed = wf.close(&d, &failed).await.unwrap();
        assert_eq!(closed.closure.unwrap().code, CloseCode::Unsuccessful);
        world.clock.advance(Duration::hours(1));
    }
    let d = deployment("checkout", "1.0.2", "run-3");
    let raised = wf.raise(&d, false).await.unwrap();
    assert_eq!(raised.decision.kind, ChangeKind::Normal);
    assert_eq!(
        raised.decision.to_string(),
        "normal because: 2 failed production deployments in the last 7 days (at most 1 allowed)"
    );
    assert_eq!(
        raised.change.unwrap().reasons,
        raised.decision.reasons,
        "stored on the change"
    );

    // A week later the failures have aged out.
    world.clock.advance(Duration::days(8));
    let d = deployment("checkout", "1.0.3", "run-4");
    let raised = wf.raise(&d, false).await.unwrap();
    assert_eq!(
        raised.decision.kind,
        ChangeKind::Standard,
        "{}",
        raised.decision
    );

    // The threshold is configurable.
    let lenient = wf.clone().with_policy(Policy {
        max_failed_deployments: 5,
        lookback_days: 30,
    });
    let d = deployment("checkout", "1.0.4", "run-5");
    assert_eq!(
        lenient.classify(&d).await.unwrap().kind,
        ChangeKind::Standard
    );
}

#[tokio::test]
async fn gate_checks_approval_version_environment_and_window() {
    let world = World::new();
    let wf = world.workflow();
    let d = deployment("billing", "2.0.0", "run-1");
    let id = wf.raise(&d, false).await.unwrap().change.unwrap().id;

    let verdict = wf.gate(&d, false).await;
    assert!(
        verdict.reason().contains("is not approved yet"),
        "{}",
        verdict.reason()
    );

    world.store.decide(&id, &approve()).await.unwrap();
    assert!(wf.gate(&d, false).await.is_allowed());
    let staging = Deployment {
        environment: Environment::new("staging").unwrap(),
        ..d.clone()
    };
    assert!(
        !wf.gate(&staging, false).await.is_allowed(),
        "another environment"
    );
    let other_version = deployment("billing", "2.0.1", "run-1");
    assert!(
        !wf.gate(&other_version, false).await.is_allowed(),
        "another version"
    );

    // The planned window is 24 hours from the raise.
    world.clock.advance(Duration::hours(25));
    let verdict = wf.gate(&d, false).await;
    assert!(matches!(verdict, GateVerdict::Denied { .. }));
    assert!(
        verdict.reason().contains("is outside that window"),
        "{}",
        verdict.reason()
    );
}

#[tokio::test]
async fn rejected_and_cancelled_changes_do_not_allow() {
    let world = World::new();
    let wf = world.workflow();
    let d = deployment("billing", "2.0.0", "run-1");
    let id = wf.raise(&d, false).await.unwrap().change.unwrap().id;
    world
        .store
        .decide(
            &id,
            &ApprovalDecision {
                approve: false,
                by: Person::named("Casey"),
                comment: Some("no backout plan".into()),
            },
        )
        .await
        .unwrap();
    let verdict = wf.gate(&d, false).await;
    assert!(
        verdict.reason().contains("was rejected"),
        "{}",
        verdict.reason()
    );
    world
        .store
        .transition(&id, ChangeState::Canceled)
        .await
        .unwrap();
    let verdict = wf.gate(&d, false).await;
    assert!(
        verdict.reason().contains("was cancelled"),
        "{}",
        verdict.reason()
    );
}

#[tokio::test]
async fn freeze_denies_unless_an_emergency_change_overrides_it() {
    let world = World::new();
    world.template("checkout").await;
    let now = world.clock.now();
    let freeze = FreezeWindow {
        name: "Launch".into(),
        start: now + Duration::hours(1),
        end: now + Duration::hours(5),
        environments: vec![Environment::production()],
        services: vec![],
    };
    let wf = world.workflow().with_freezes(vec![freeze]);
    let d = deployment("checkout", "1.0.0", "run-1");
    let raised = wf.raise(&d, false).await.unwrap();
    assert_eq!(
        raised.decision.kind,
        ChangeKind::Normal,
        "the window overlaps the freeze"
    );
    world
        .store
        .decide(&raised.change.unwrap().id, &approve())
        .await
        .unwrap();
    assert!(
        wf.gate(&d, false).await.is_allowed(),
        "before the freeze starts"
    );

    world.clock.advance(Duration::hours(2));
    let verdict = wf.gate(&d, false).await;
    assert!(matches!(verdict, GateVerdict::Denied { .. }));
    assert!(
        verdict.reason().contains("freeze window \"Launch\""),
        "{}",
        verdict.reason()
    );

    let emergency_run = deployment("checkout", "1.0.0", "run-2");
    let err = wf.emergency(&emergency_run, "  ", false).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let change = wf
        .emergency(&emergency_run, "card payments failing", true)
        .await
        .unwrap();
    assert_eq!(change.kind, ChangeKind::Emergency);
    assert!(change.retroactive);
    assert!(
        change
            .reasons
            .iter()
            .any(|r| r.contains("flagged for audit"))
    );
    let again = wf
        .emergency(&emergency_run, "card payments failing", true)
        .await
        .unwrap();
    assert_eq!(again.id, change.id, "re-running returns the same change");

    match wf.gate(&d, true).await {
        GateVerdict::Allowed {
            freeze_overridden,
            change: c,
            ..
        } => {
            assert!(freeze_overridden);
            assert_eq!(c.id, change.id);
        }
        other => panic!("expected allowed, got {other:?}"),
    }
    assert!(
        world.store.notes(&change.id).await.unwrap().is_empty(),
        "a dry run records nothing"
    );
    assert!(wf.gate(&d, false).await.is_allowed());
    let notes = world.store.notes(&change.id).await.unwrap();
    assert_eq!(notes.len(), 1);
    assert!(
        notes[0].contains("allowed during freeze window \"Launch\""),
        "{notes:?}"
    );
}

#[tokio::test]
async fn close_is_idempotent_and_carries_the_facts() {
    let world = World::new();
    world.template("checkout").await;
    let wf = world.workflow();
    let mut d = deployment("checkout", "1.0.0", "run-1");
    d.commits = vec![itsm_core::CommitId::new("9f2c1e0").unwrap()];
    d.links = vec![itsm_core::Link::parse("Pipeline run", "https://ci.example/runs/1").unwrap()];
    wf.raise(&d, false).await.unwrap();
    let result = DeploymentResult {
        succeeded: true,
        started_at: Some(datetime!(2026-06-01 09:01 UTC)),
        finished_at: Some(datetime!(2026-06-01 09:05 UTC)),
        notes: Some("canary healthy".into()),
    };
    let closed = wf.close(&d, &result).await.unwrap();
    let closure = closed.closure.clone().unwrap();
    assert_eq!(closed.state, ChangeState::Closed);
    assert_eq!(closure.code, CloseCode::Successful);
    for fact in [
        "Deployment of checkout 1.0.0 to production succeeded.",
        "Pipeline run: run-1",
        "Started: 2026-06-01T09:01:00Z",
        "Finished: 2026-06-01T09:05:00Z",
        "Commits: 9f2c1e0",
        "Pipeline run: https://ci.example/runs/1",
        "canary healthy",
    ] {
        assert!(
            closure.notes.contains(fact),
            "missing {fact:?} in {}",
            closure.notes
        );
    }
    let again = wf.close(&d, &result).await.unwrap();
    assert_eq!(again, closed, "re-running close returns the closed change");
    let failed = DeploymentResult {
        succeeded: false,
        ..result
    };
    let err = wf.close(&d, &failed).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");

    let nothing = deployment("nothing", "1", "run-1");
    let err = wf.close(&nothing, &ok()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(
        err.to_string()
            .contains("no approved change to close for nothing 1 in production")
    );
}

#[tokio::test]
async fn gate_fails_closed_when_the_backend_fails() {
    for kind in [
        ErrorKind::Unavailable,
        ErrorKind::Timeout,
        ErrorKind::InvalidResponse,
    ] {
        let mut system = MockChangeSystem::new();
        system
            .expect_capabilities()
            .returning(|| itsm_core::Capabilities::new("mock"));
        system
            .expect_list_changes()
            .returning(move |_, _| Err(Error::new(kind, "backend said no")));
        let clock = ManualClock::new(datetime!(2026-06-01 09:00 UTC));
        let notifier = itsm_testkit::MockNotifier::new();
        let wf = ChangeWorkflow::new(Arc::new(system), Arc::new(notifier), Arc::new(clock));
        let verdict = wf
            .gate(&deployment("checkout", "1.0.0", "run-1"), false)
            .await;
        match &verdict {
            GateVerdict::CannotVerify { reason, kind: k } => {
                assert_eq!(*k, Some(kind));
                assert!(
                    reason.starts_with("denied: cannot verify a change for checkout 1.0.0"),
                    "{reason}"
                );
            }
            other => panic!("{kind:?}: expected cannot-verify, got {other:?}"),
        }
        assert!(!verdict.is_allowed());
    }
}

#[tokio::test]
async fn gate_honours_blackouts_the_backend_reports() {
    let world = World::new();
    world.template("checkout").await;
    let now = world.clock.now();
    // The freeze is known to the backend only (as a ServiceNow blackout schedule would be).
    let store = world.store.clone().with_freezes(vec![FreezeWindow {
        name: "DC migration".into(),
        start: now - Duration::hours(1),
        end: now + Duration::hours(1),
        environments: vec![],
        services: vec![ServiceId::new("checkout").unwrap()],
    }]);
    let wf = workflow_over(&store, &world.clock);
    let d = deployment("checkout", "1.0.0", "run-1");
    assert_eq!(
        wf.raise(&d, false).await.unwrap().decision.kind,
        ChangeKind::Standard
    );
    let verdict = wf.gate(&d, false).await;
    assert!(matches!(verdict, GateVerdict::Denied { .. }), "{verdict:?}");
    assert!(
        verdict.reason().contains("DC migration"),
        "{}",
        verdict.reason()
    );
    world.clock.advance(Duration::hours(2));
    assert!(wf.gate(&d, false).await.is_allowed(), "after the blackout");
}
