//! What follows a deployment the gate allowed: deployed once, then the change closed, the
//! deployment recorded with the change as evidence, and one change event, each saying
//! whether the deployment succeeded.

use itsm_audit::Outcome as LedgerOutcome;
use itsm_change::CloseCode;
use itsm_core::{Error, ErrorKind};
use itsm_pipeline::{ChangeEventSent, MemoryStepLog};
use itsm_testkit::MockStepLog;

use super::*;
use crate::{DeployReport, Outcome};

/// A change system whose approved change the gate allows and the finish step closes once
/// with `code`, checking the close notes with `notes`.
fn closing_once(code: CloseCode, notes: fn(&str) -> bool) -> MockChangeSystem {
    let mut system = MockChangeSystem::new();
    expect_gate(&mut system, vec![approved()]);
    system
        .expect_find_change_by_key()
        .withf(|key| key.as_str() == RAISE_KEY)
        .returning(|_| Ok(Some(approved())));
    system
        .expect_close()
        .times(1)
        .withf(move |id, closure| {
            id.as_str() == CHANGE && closure.code == code && notes(&closure.notes)
        })
        .returning(|_, closure| Ok(closed(approved(), closure)));
    system
}

/// A pager that takes one change event, whose summary and outcome detail are given.
fn one_change_event(summary: &'static str, outcome: &'static str) -> MockPager {
    let mut pager = MockPager::new();
    pager
        .expect_send_change_event()
        .times(1)
        .withf(move |key, event| {
            key.as_str() == EVENT_KEY
                && event.summary == summary
                && event.details.get("outcome").map(String::as_str) == Some(outcome)
                && event.details.get("change").map(String::as_str) == Some(CHANGE)
        })
        .returning(|_, _| Ok(()));
    pager
}

fn report(outcome: Outcome) -> DeployReport {
    match outcome {
        Outcome::Deployed(report) => *report,
        other => panic!("expected a deployment, got {other:?}"),
    }
}

#[tokio::test]
async fn an_allowed_deployment_is_deployed_once_then_closed_recorded_and_announced() {
    let system = closing_once(CloseCode::Successful, |notes| {
        notes.contains("succeeded") && notes.contains("gh-991")
    });
    let mut deployer = MockDeployer::new();
    deployer
        .expect_deploy()
        .times(1)
        .withf(|d, a| d.pipeline_run.as_str() == "gh-991" && a.digest == DIGEST)
        .returning(|_, _| Ok(succeeded()));
    let (ledger, appended) = ledger_appending_once();
    let steps = Arc::new(MemoryStepLog::new());
    let bot = bot(
        system,
        Arc::new(ledger),
        one_change_event("checkout 1.4.2 deployed to production", "success"),
        deployer,
        steps.clone(),
    );

    let outcome = bot.run(&deployment(), &artifact()).await.unwrap();
    assert!(outcome.succeeded());
    let report = report(outcome);

    assert!(!report.resumed);
    let gate = report.gate.as_deref().unwrap_or_default();
    assert!(gate.starts_with("allowed: change CHG0000007"), "{gate}");
    assert_eq!(report.finished.change.state, ChangeState::Closed);
    assert_eq!(
        report.finished.change_event,
        Some(ChangeEventSent { already: false })
    );
    assert_eq!(report.finished.recorded.as_ref().map(|r| r.seq), Some(1));

    let appended = appended.lock().unwrap();
    let (key, record) = &appended[0];
    assert_eq!(key.as_str(), DEPLOY_KEY);
    assert_eq!(record.outcome, LedgerOutcome::Succeeded);
    assert_eq!(record.commit.as_str(), "9fceb02");
    assert_eq!(record.artifact_digest, DIGEST);
    assert_eq!(record.started_at, datetime!(2026-12-07 10:01 UTC));
    assert_eq!(record.finished_at, datetime!(2026-12-07 10:04 UTC));
    let evidence = record.change.as_ref().expect("the change is the evidence");
    assert_eq!(evidence.reference.id, CHANGE);
    assert!(evidence.approved);
    assert_eq!(evidence.version.as_str(), "1.4.2");

    let remembered: Vec<String> = steps.steps().into_iter().map(|(s, _)| s).collect();
    assert!(
        remembered.contains(&format!("deploy-bot/{DEPLOY_KEY}/succeeded")),
        "{remembered:?}"
    );
}

#[tokio::test]
async fn a_failed_deployment_is_closed_unsuccessful_recorded_failed_and_announced_failed() {
    let system = closing_once(CloseCode::Unsuccessful, |notes| {
        notes.contains("failed") && notes.contains("rolled back")
    });
    let mut deployer = MockDeployer::new();
    deployer.expect_deploy().times(1).returning(|_, _| {
        Ok(DeploymentResult {
            succeeded: false,
            notes: Some("Health checks failed; rolled back to 1.4.1.".to_owned()),
            ..succeeded()
        })
    });
    let (ledger, appended) = ledger_appending_once();
    let bot = bot(
        system,
        Arc::new(ledger),
        one_change_event("checkout 1.4.2 failed to deploy to production", "failure"),
        deployer,
        Arc::new(MemoryStepLog::new()),
    );

    let outcome = bot.run(&deployment(), &artifact()).await.unwrap();
    assert!(!outcome.succeeded());
    let report = report(outcome);

    assert!(!report.succeeded());
    assert_eq!(
        report.finished.change.closure.as_ref().map(|c| c.code),
        Some(CloseCode::Unsuccessful)
    );
    let appended = appended.lock().unwrap();
    assert_eq!(appended[0].0.as_str(), DEPLOY_KEY);
    assert_eq!(appended[0].1.outcome, LedgerOutcome::Failed);
}

#[tokio::test]
async fn a_deployer_error_is_finished_as_a_failed_deployment() {
    let system = closing_once(CloseCode::Unsuccessful, |notes| {
        notes.contains("could not say how the deployment ended") && notes.contains("API timeout")
    });
    let mut deployer = MockDeployer::new();
    deployer
        .expect_deploy()
        .times(1)
        .returning(|_, _| Err(Error::new(ErrorKind::Timeout, "Argo CD API timeout")));
    let (ledger, appended) = ledger_appending_once();
    let bot = bot(
        system,
        Arc::new(ledger),
        one_change_event("checkout 1.4.2 failed to deploy to production", "failure"),
        deployer,
        Arc::new(MemoryStepLog::new()),
    );

    let report = report(bot.run(&deployment(), &artifact()).await.unwrap());

    assert!(!report.succeeded());
    assert_eq!(report.result.finished_at, Some(NOW), "the bot's clock");
    assert_eq!(appended.lock().unwrap()[0].1.outcome, LedgerOutcome::Failed);
}

#[tokio::test]
async fn a_deployment_the_step_log_cannot_remember_is_reported_and_not_finished() {
    let mut system = MockChangeSystem::new();
    expect_gate(&mut system, vec![approved()]);
    expect_no_writes(&mut system);
    let mut deployer = MockDeployer::new();
    deployer
        .expect_deploy()
        .times(1)
        .returning(|_, _| Ok(succeeded()));
    let mut steps = MockStepLog::new();
    steps.expect_is_done().returning(|_| Ok(false));
    steps
        .expect_mark_done()
        .times(1)
        .withf(|step, at| {
            step == format!("deploy-bot/{DEPLOY_KEY}/succeeded")
                && *at == datetime!(2026-12-07 10:04 UTC)
        })
        .returning(|_, _| Err(Error::new(ErrorKind::Conflict, "database is locked")));
    let bot = bot(
        system,
        Arc::new(no_ledger_writes()),
        no_change_events(),
        deployer,
        Arc::new(steps),
    );

    let err = bot.run(&deployment(), &artifact()).await.unwrap_err();

    assert_eq!(err.kind(), ErrorKind::Conflict);
    let text = err.to_string();
    assert!(text.contains("ran and succeeded"), "{text}");
    assert!(text.contains("could not remember it"), "{text}");
    assert!(text.contains("itsm change close"), "{text}");
}
