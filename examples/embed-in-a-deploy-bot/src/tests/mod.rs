//! Unit tests of [`DeployBot::run`](crate::DeployBot::run) with the mockall mocks of
//! itsm-testkit (the change system, the ledger, the paging platform, the step log) and the
//! bot's own `MockDeployer`.
//!
//! - `gate.rs`: the gate decides; nothing happens after a denial or an unreadable backend;
//! - `finish.rs`: what follows a deployment that succeeded, failed, or whose deployer
//!   failed; the step log;
//! - `rerun.rs`: running the bot again after a failed change event, and after success.

mod finish;
mod gate;
mod rerun;

use std::sync::{Arc, Mutex};

use itsm_audit::{AuditStore, DeploymentRecord, NewDeployment, RecordHash};
use itsm_change::{
    ApprovalState, ChangeId, ChangeKind, ChangeRequest, ChangeState, ChangeSystem, ChangeWorkflow,
    Closure, Deployment, DeploymentResult, Window,
};
use itsm_core::{
    Capabilities, Clock, CommitId, Environment, IdempotencyKey, Listing, ManualClock, Person,
    PipelineRunId, ServiceId, Version,
};
use itsm_incident::Pager;
use itsm_pipeline::{Artifact, Pipeline, StepLog};
use itsm_testkit::{MockAuditStore, MockChangeSystem, MockNotifier, MockPager};
use time::OffsetDateTime;
use time::macros::datetime;

use crate::DeployBot;
use crate::deployer::{Deployer, MockDeployer};

const NOW: OffsetDateTime = datetime!(2026-12-07 10:00 UTC);
const CHANGE: &str = "CHG0000007";
const RAISE_KEY: &str = "checkout/1.4.2/production/gh-991/raise";
const DEPLOY_KEY: &str = "checkout/1.4.2/production/gh-991/deploy";
const EVENT_KEY: &str = "checkout/1.4.2/production/gh-991/change-event";
const DIGEST: &str = "sha256:4f2a9c";

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(NOW))
}

fn deployment() -> Deployment {
    Deployment {
        service: ServiceId::new("checkout").unwrap(),
        version: Version::new("1.4.2").unwrap(),
        environment: Environment::production(),
        pipeline_run: PipelineRunId::new("gh-991").unwrap(),
        commits: vec![CommitId::new("9fceb02").unwrap()],
        requested_by: Some(Person::named("deploy-bot")),
        links: vec![],
    }
}

fn artifact() -> Artifact {
    Artifact::new(DIGEST)
}

/// The normal change raised for [`deployment`], planned for 09:00 to 12:00 today.
fn change(approval: ApprovalState, state: ChangeState) -> ChangeRequest {
    let d = deployment();
    ChangeRequest {
        id: ChangeId::new(CHANGE).unwrap(),
        number: Some(CHANGE.to_owned()),
        key: Some(IdempotencyKey::new(RAISE_KEY).unwrap()),
        kind: ChangeKind::Normal,
        state,
        approval,
        service: d.service,
        version: d.version,
        environment: d.environment,
        summary: "Deploy checkout 1.4.2 in production".to_owned(),
        description: String::new(),
        template: None,
        window: Some(Window {
            start: datetime!(2026-12-07 9:00 UTC),
            end: datetime!(2026-12-07 12:00 UTC),
        }),
        commits: d.commits,
        pipeline_run: Some(d.pipeline_run),
        requested_by: d.requested_by,
        assignment_team: None,
        reasons: vec![],
        retroactive: false,
        closure: None,
        links: vec![],
        external: None,
        created_at: Some(datetime!(2026-12-07 8:30 UTC)),
        updated_at: None,
    }
}

fn approved() -> ChangeRequest {
    change(ApprovalState::Approved, ChangeState::Scheduled)
}

/// `change` closed with `closure`, as a backend returns it.
fn closed(mut change: ChangeRequest, closure: &Closure) -> ChangeRequest {
    change.state = ChangeState::Closed;
    change.closure = Some(closure.clone());
    change
}

fn succeeded() -> DeploymentResult {
    DeploymentResult {
        succeeded: true,
        started_at: Some(datetime!(2026-12-07 10:01 UTC)),
        finished_at: Some(datetime!(2026-12-07 10:04 UTC)),
        notes: None,
    }
}

/// The gate reads `changes` for the deployment (one page) and the backend's capabilities
/// (none: no conflict check).
fn expect_gate(system: &mut MockChangeSystem, changes: Vec<ChangeRequest>) {
    system
        .expect_list_changes()
        .times(1)
        .withf(|filter, _| {
            filter.service.as_ref().map(|s| s.as_str()) == Some("checkout")
                && filter.version.as_ref().map(|v| v.as_str()) == Some("1.4.2")
        })
        .returning(move |_, _| Ok(Listing::complete(changes.clone())));
    system
        .expect_capabilities()
        .returning(|| Capabilities::new("mock"));
}

/// A change system that must not be written to (the gate may read it).
fn expect_no_writes(system: &mut MockChangeSystem) {
    system.expect_find_change_by_key().never();
    system.expect_close().never();
    system.expect_create_change().never();
    system.expect_add_note().never();
}

/// A deployer that must not be called.
fn never_deploys() -> MockDeployer {
    let mut deployer = MockDeployer::new();
    deployer.expect_deploy().never();
    deployer
}

/// A ledger that must not be written to.
fn no_ledger_writes() -> MockAuditStore {
    let mut ledger = MockAuditStore::new();
    ledger.expect_append().never();
    ledger.expect_append_batch().never();
    ledger
}

/// A pager that must not be called.
fn no_change_events() -> MockPager {
    let mut pager = MockPager::new();
    pager.expect_send_change_event().never();
    pager
}

/// What a mock ledger was asked to append.
type Appended = Arc<Mutex<Vec<(IdempotencyKey, NewDeployment)>>>;

/// A ledger that accepts exactly one append and keeps what it was given.
fn ledger_appending_once() -> (MockAuditStore, Appended) {
    let appended: Appended = Arc::default();
    let seen = appended.clone();
    let mut ledger = MockAuditStore::new();
    ledger
        .expect_append()
        .times(1)
        .returning(move |key, deployment| {
            seen.lock().unwrap().push((key.clone(), deployment.clone()));
            Ok(DeploymentRecord {
                seq: 1,
                key: key.clone(),
                deployment: deployment.clone(),
                recorded_at: NOW,
                prev_hash: RecordHash::GENESIS,
                hash: RecordHash([7; 32]),
            })
        });
    (ledger, appended)
}

/// The bot over the mocks (no notifier calls are expected: gate and close notify nobody).
fn bot(
    system: MockChangeSystem,
    ledger: Arc<dyn AuditStore>,
    pager: MockPager,
    deployer: MockDeployer,
    steps: Arc<dyn StepLog>,
) -> DeployBot {
    let clock: Arc<dyn Clock> = clock();
    let system: Arc<dyn ChangeSystem> = Arc::new(system);
    let pager: Arc<dyn Pager> = Arc::new(pager);
    let deployer: Arc<dyn Deployer> = Arc::new(deployer);
    let workflow = ChangeWorkflow::new(system, Arc::new(MockNotifier::new()), clock.clone());
    let pipeline = Pipeline::new(workflow, clock.clone())
        .with_ledger(ledger)
        .with_pager(pager)
        .with_step_log(steps.clone());
    DeployBot::new(pipeline, deployer, clock).with_step_log(steps)
}
