//! `Pipeline::finish` over the embedded store and the SQLite ledger: one call closes the
//! change, records the deployment and sends the change event; a re-run does each once; bad
//! input writes nothing; a failed later part is completed by running the step again.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use itsm_audit::AuditStore;
use itsm_audit::sqlite::SqliteAuditStore;
use itsm_change::{
    ApprovalDecision, ChangeState, ChangeWorkflow, CloseCode, Deployment, DeploymentResult,
};
use itsm_core::{
    Clock, CommitId, Environment, Error, ErrorKind, ManualClock, Person, PipelineRunId, ServiceId,
    Version,
};
use itsm_local::LocalStore;
use itsm_pipeline::{Artifact, ChangeEventSent, MemoryStepLog, Pipeline, StepLog};
use itsm_testkit::MockPager;
use time::macros::datetime;

struct Setup {
    _dir: tempfile::TempDir,
    store: Arc<LocalStore>,
    ledger: Arc<SqliteAuditStore>,
    clock: Arc<ManualClock>,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("itsm.db");
    let clock = Arc::new(ManualClock::new(datetime!(2026-12-07 10:00 UTC)));
    let store = Arc::new(LocalStore::open(&db, clock.clone()).unwrap());
    let ledger = Arc::new(SqliteAuditStore::open(&db, clock.clone()).unwrap());
    Setup {
        _dir: dir,
        store,
        ledger,
        clock,
    }
}

fn deployment(commits: &[&str]) -> Deployment {
    Deployment {
        service: ServiceId::new("checkout").unwrap(),
        version: Version::new("1.4.2").unwrap(),
        environment: Environment::production(),
        pipeline_run: PipelineRunId::new("gh-991").unwrap(),
        commits: commits.iter().map(|c| CommitId::new(c).unwrap()).collect(),
        requested_by: Some(Person::named("deploy-bot")),
        links: vec![],
    }
}

fn succeeded() -> DeploymentResult {
    DeploymentResult {
        succeeded: true,
        started_at: Some(datetime!(2026-12-07 10:05 UTC)),
        finished_at: Some(datetime!(2026-12-07 10:09 UTC)),
        notes: None,
    }
}

fn workflow(s: &Setup) -> ChangeWorkflow {
    ChangeWorkflow::new(s.store.clone(), s.store.clone(), s.clock.clone())
}

/// Raises the deployment's change and approves it, as the change manager would.
async fn approved_change(pipeline: &Pipeline, d: &Deployment) -> itsm_change::ChangeId {
    let change = pipeline.raise(d, false).await.unwrap().change.unwrap();
    let approve = ApprovalDecision {
        approve: true,
        by: Person::named("Casey"),
        comment: None,
    };
    pipeline
        .changes()
        .system()
        .decide(&change.id, &approve)
        .await
        .unwrap();
    assert!(pipeline.gate(d).await.is_allowed());
    change.id
}

/// A pager that counts change events and fails the first `fail_first` of them.
fn counting_pager(sent: Arc<AtomicUsize>, fail_first: usize) -> MockPager {
    let mut pager = MockPager::new();
    let calls = Arc::new(AtomicUsize::new(0));
    pager
        .expect_send_change_event()
        .returning(move |key, event| {
            assert_eq!(
                key.as_str(),
                "checkout/1.4.2/production/gh-991/change-event"
            );
            assert_eq!(event.summary, "checkout 1.4.2 deployed to production");
            assert_eq!(event.details["commit"], "9fceb02");
            if calls.fetch_add(1, Ordering::SeqCst) < fail_first {
                return Err(Error::new(ErrorKind::Unavailable, "paging platform down"));
            }
            sent.fetch_add(1, Ordering::SeqCst);
            Ok(())
        });
    pager
}

#[tokio::test]
async fn finish_closes_records_and_sends_once_however_often_it_runs() {
    let s = setup();
    let sent = Arc::new(AtomicUsize::new(0));
    let pipeline = Pipeline::new(workflow(&s), s.clock.clone())
        .with_ledger(s.ledger.clone())
        .with_pager(Arc::new(counting_pager(sent.clone(), 0)))
        .with_step_log(s.store.clone());
    let d = deployment(&["1a2b3c4", "9fceb02"]);
    let id = approved_change(&pipeline, &d).await;

    let artifact =
        Artifact::new("sha256:4f2a9c").with_first_commit_at(datetime!(2026-12-06 9:00 UTC));
    let first = pipeline
        .finish(&d, &succeeded(), Some(&artifact))
        .await
        .unwrap();
    assert_eq!(first.change.id, id);
    assert_eq!(first.change.state, ChangeState::Closed);
    assert_eq!(
        first.change.closure.as_ref().map(|c| c.code),
        Some(CloseCode::Successful)
    );
    let record = first.recorded.clone().unwrap();
    assert_eq!(record.seq, 1);
    assert_eq!(
        record.key.as_str(),
        "checkout/1.4.2/production/gh-991/deploy"
    );
    assert_eq!(
        record.deployment.commit.as_str(),
        "9fceb02",
        "the last commit is deployed"
    );
    assert_eq!(record.deployment.deployer, Person::named("deploy-bot"));
    assert_eq!(
        record.deployment.finished_at,
        datetime!(2026-12-07 10:09 UTC)
    );
    assert_eq!(
        record.deployment.first_commit_at,
        Some(datetime!(2026-12-06 9:00 UTC))
    );
    let evidence = record.deployment.change.clone().unwrap();
    assert!(evidence.approved);
    assert_eq!(evidence.reference.id, id.as_str());
    assert_eq!(first.change_event, Some(ChangeEventSent { already: false }));
    assert_eq!(sent.load(Ordering::SeqCst), 1);

    // A retried job: the same change, the same record, no second event.
    s.clock.advance(time::Duration::minutes(5));
    let again = pipeline
        .finish(&d, &succeeded(), Some(&artifact))
        .await
        .unwrap();
    assert_eq!(again.change.id, id);
    assert_eq!(again.recorded, Some(record));
    assert_eq!(again.change_event, Some(ChangeEventSent { already: true }));
    assert_eq!(sent.load(Ordering::SeqCst), 1);
    assert_eq!(s.ledger.head().await.unwrap(), 1);
}

#[tokio::test]
async fn the_step_log_in_the_store_keeps_once_across_pipelines() {
    // A second process is a second Pipeline over the same database file.
    let s = setup();
    let sent = Arc::new(AtomicUsize::new(0));
    let build = || {
        Pipeline::new(workflow(&s), s.clock.clone())
            .with_pager(Arc::new(counting_pager(sent.clone(), 0)))
            .with_step_log(s.store.clone())
    };
    let d = deployment(&["9fceb02"]);
    approved_change(&build(), &d).await;
    let first = build().finish(&d, &succeeded(), None).await.unwrap();
    let second = build().finish(&d, &succeeded(), None).await.unwrap();
    assert_eq!(first.change_event, Some(ChangeEventSent { already: false }));
    assert_eq!(second.change_event, Some(ChangeEventSent { already: true }));
    assert_eq!(sent.load(Ordering::SeqCst), 1);
    assert!(first.recorded.is_none(), "no artifact, nothing recorded");
}

#[tokio::test]
async fn a_failed_change_event_is_sent_by_the_next_run_and_the_record_stays_one() {
    let s = setup();
    let sent = Arc::new(AtomicUsize::new(0));
    let pipeline = Pipeline::new(workflow(&s), s.clock.clone())
        .with_ledger(s.ledger.clone())
        .with_pager(Arc::new(counting_pager(sent.clone(), 1)))
        .with_step_log(s.store.clone());
    let d = deployment(&["9fceb02"]);
    approved_change(&pipeline, &d).await;
    let artifact = Artifact::new("sha256:4f2a9c");

    let err = pipeline
        .finish(&d, &succeeded(), Some(&artifact))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    let text = err.to_string();
    assert!(text.contains("send the change event"), "{text}");
    assert!(text.contains("run the step again"), "{text}");
    assert_eq!(
        s.ledger.head().await.unwrap(),
        1,
        "recorded before the event"
    );

    let retried = pipeline
        .finish(&d, &succeeded(), Some(&artifact))
        .await
        .unwrap();
    assert_eq!(
        retried.change_event,
        Some(ChangeEventSent { already: false })
    );
    assert_eq!(retried.recorded.map(|r| r.seq), Some(1));
    assert_eq!(sent.load(Ordering::SeqCst), 1);
    assert_eq!(s.ledger.head().await.unwrap(), 1);
}

#[tokio::test]
async fn bad_input_is_refused_before_anything_is_written() {
    let s = setup();
    let mut pager = MockPager::new();
    pager.expect_send_change_event().never();
    let pipeline = Pipeline::new(workflow(&s), s.clock.clone())
        .with_ledger(s.ledger.clone())
        .with_pager(Arc::new(pager))
        .with_step_log(s.store.clone());
    let artifact = Artifact::new("sha256:4f2a9c");

    // Finished before it started.
    let d = deployment(&["9fceb02"]);
    let id = approved_change(&pipeline, &d).await;
    let backwards = DeploymentResult {
        started_at: Some(datetime!(2026-12-07 10:09 UTC)),
        finished_at: Some(datetime!(2026-12-07 10:05 UTC)),
        ..succeeded()
    };
    let err = pipeline
        .finish(&d, &backwards, Some(&artifact))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("before it started"), "{err}");

    // Recording without the deployed commit.
    let no_commit = deployment(&[]);
    let err = pipeline
        .finish(&no_commit, &succeeded(), Some(&artifact))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(
        err.to_string().contains("needs the deployed commit"),
        "{err}"
    );

    // An empty digest.
    let err = pipeline
        .finish(&d, &succeeded(), Some(&Artifact::new(" ")))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);

    let change = pipeline.changes().system().get_change(&id).await.unwrap();
    assert_ne!(change.state, ChangeState::Closed, "nothing was closed");
    assert_eq!(s.ledger.head().await.unwrap(), 0, "nothing was recorded");
}

#[tokio::test]
async fn an_artifact_without_a_ledger_is_a_configuration_error_that_writes_nothing() {
    let s = setup();
    let pipeline = Pipeline::new(workflow(&s), s.clock.clone());
    let d = deployment(&["9fceb02"]);
    let id = approved_change(&pipeline, &d).await;
    let err = pipeline
        .finish(&d, &succeeded(), Some(&Artifact::new("sha256:4f2a9c")))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("with_ledger"), "{err}");
    let change = pipeline.changes().system().get_change(&id).await.unwrap();
    assert_ne!(change.state, ChangeState::Closed);
}

#[tokio::test]
async fn without_a_change_there_is_nothing_to_finish() {
    let s = setup();
    let sent = Arc::new(AtomicUsize::new(0));
    let pipeline = Pipeline::new(workflow(&s), s.clock.clone())
        .with_ledger(s.ledger.clone())
        .with_pager(Arc::new(counting_pager(sent.clone(), 0)));
    let err = pipeline
        .finish(
            &deployment(&["9fceb02"]),
            &succeeded(),
            Some(&Artifact::new("sha256:1")),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(s.ledger.head().await.unwrap(), 0);
    assert_eq!(sent.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_failed_deployment_closes_unsuccessful_and_is_recorded_as_failed() {
    let s = setup();
    let pipeline = Pipeline::new(workflow(&s), s.clock.clone()).with_ledger(s.ledger.clone());
    let d = deployment(&["9fceb02"]);
    approved_change(&pipeline, &d).await;
    let failed = DeploymentResult {
        succeeded: false,
        started_at: None,
        finished_at: None,
        notes: Some("rolled back".into()),
    };
    let done = pipeline
        .finish(&d, &failed, Some(&Artifact::new("sha256:4f2a9c")))
        .await
        .unwrap();
    assert_eq!(
        done.change.closure.as_ref().map(|c| c.code),
        Some(CloseCode::Unsuccessful)
    );
    let record = done.recorded.unwrap();
    assert_eq!(record.deployment.outcome, itsm_audit::Outcome::Failed);
    // No times given: the clock's now stands in for both.
    assert_eq!(record.deployment.finished_at, s.clock.now());
    assert_eq!(record.deployment.started_at, s.clock.now());
    assert_eq!(done.change_event, None, "no paging platform configured");
}

#[tokio::test]
async fn the_memory_step_log_marks_once() {
    let log = MemoryStepLog::new();
    assert!(!log.is_done("a").await.unwrap());
    log.mark_done("a", datetime!(2026-12-07 10:00 UTC))
        .await
        .unwrap();
    log.mark_done("a", datetime!(2026-12-07 11:00 UTC))
        .await
        .unwrap();
    assert!(log.is_done("a").await.unwrap());
    assert!(!log.is_done("b").await.unwrap());
    assert_eq!(
        log.steps(),
        vec![("a".to_owned(), datetime!(2026-12-07 10:00 UTC))],
        "the first mark is kept"
    );
}
