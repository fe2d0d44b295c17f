//! Running the bot again: after the change event failed, the re-run sends it without
//! deploying again, closing again or appending a second ledger record; after a complete
//! run, a re-run repeats nothing.

use std::sync::atomic::{AtomicUsize, Ordering};

use itsm_audit::sqlite::SqliteAuditStore;
use itsm_change::CloseCode;
use itsm_core::{Error, ErrorKind};
use itsm_pipeline::{ChangeEventSent, MemoryStepLog};

use super::*;
use crate::Outcome;

/// A change system holding one approved change: the gate may read it once, and the first
/// close closes it; afterwards the close finds it closed and writes nothing.
fn one_change_closed_once() -> MockChangeSystem {
    let current = Arc::new(Mutex::new(approved()));
    let mut system = MockChangeSystem::new();
    expect_gate(&mut system, vec![approved()]);
    let found = current.clone();
    system
        .expect_find_change_by_key()
        .withf(|key| key.as_str() == RAISE_KEY)
        .returning(move |_| Ok(Some(found.lock().unwrap().clone())));
    system
        .expect_close()
        .times(1)
        .withf(|_, closure| closure.code == CloseCode::Successful)
        .returning(move |_, closure| {
            let mut change = current.lock().unwrap();
            *change = closed(change.clone(), closure);
            Ok(change.clone())
        });
    system
}

/// A pager whose first `fail_first` change events fail; counts the ones delivered.
fn pager_failing_first(fail_first: usize, delivered: Arc<AtomicUsize>) -> MockPager {
    let calls = AtomicUsize::new(0);
    let mut pager = MockPager::new();
    pager
        .expect_send_change_event()
        .withf(|key, _| key.as_str() == EVENT_KEY)
        .returning(move |_, _| {
            if calls.fetch_add(1, Ordering::SeqCst) < fail_first {
                return Err(Error::new(ErrorKind::Unavailable, "PagerDuty answered 503"));
            }
            delivered.fetch_add(1, Ordering::SeqCst);
            Ok(())
        });
    pager
}

fn deploying_once() -> MockDeployer {
    let mut deployer = MockDeployer::new();
    deployer
        .expect_deploy()
        .times(1)
        .returning(|_, _| Ok(succeeded()));
    deployer
}

fn sqlite_ledger() -> (tempfile::TempDir, Arc<SqliteAuditStore>) {
    let dir = tempfile::tempdir().unwrap();
    let ledger = SqliteAuditStore::open(dir.path().join("ledger.db"), clock()).unwrap();
    (dir, Arc::new(ledger))
}

#[tokio::test]
async fn a_rerun_after_a_failed_change_event_sends_it_without_deploying_or_recording_again() {
    let (_dir, ledger) = sqlite_ledger();
    let delivered = Arc::new(AtomicUsize::new(0));
    let bot = bot(
        one_change_closed_once(),
        ledger.clone(),
        pager_failing_first(1, delivered.clone()),
        deploying_once(),
        Arc::new(MemoryStepLog::new()),
    );
    let d = deployment();

    let err = bot.run(&d, &artifact()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    let text = err.to_string();
    assert!(text.contains("send the change event"), "{text}");
    assert!(text.contains("run the bot again"), "{text}");
    assert!(text.contains("will not deploy again"), "{text}");
    assert_eq!(ledger.head().await.unwrap(), 1, "recorded before the event");
    assert_eq!(delivered.load(Ordering::SeqCst), 0);

    let Outcome::Deployed(report) = bot.run(&d, &artifact()).await.unwrap() else {
        panic!("the re-run finishes the deployment");
    };
    assert!(report.resumed);
    assert!(report.succeeded());
    assert_eq!(report.gate, None, "the gate was not asked again");
    assert_eq!(report.finished.change.state, ChangeState::Closed);
    assert_eq!(
        report.finished.change_event,
        Some(ChangeEventSent { already: false })
    );
    let record = report.finished.recorded.clone().unwrap();
    assert_eq!(record.seq, 1);
    assert_eq!(record.key.as_str(), DEPLOY_KEY);
    assert_eq!(
        record.deployment.finished_at,
        datetime!(2026-12-07 10:04 UTC),
        "the first run's record, not a new one"
    );
    assert_eq!(ledger.head().await.unwrap(), 1, "one record");
    assert_eq!(delivered.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_rerun_after_a_complete_run_repeats_nothing() {
    let (_dir, ledger) = sqlite_ledger();
    let delivered = Arc::new(AtomicUsize::new(0));
    let bot = bot(
        one_change_closed_once(),
        ledger.clone(),
        pager_failing_first(0, delivered.clone()),
        deploying_once(),
        Arc::new(MemoryStepLog::new()),
    );
    let d = deployment();

    let first = bot.run(&d, &artifact()).await.unwrap();
    let second = bot.run(&d, &artifact()).await.unwrap();

    let (Outcome::Deployed(first), Outcome::Deployed(second)) = (first, second) else {
        panic!("both runs report the deployment");
    };
    assert!(!first.resumed);
    assert!(second.resumed);
    assert_eq!(
        second.finished.change_event,
        Some(ChangeEventSent { already: true })
    );
    assert_eq!(second.finished.recorded, first.finished.recorded);
    assert_eq!(second.finished.change, first.finished.change);
    assert_eq!(ledger.head().await.unwrap(), 1);
    assert_eq!(delivered.load(Ordering::SeqCst), 1);
}
