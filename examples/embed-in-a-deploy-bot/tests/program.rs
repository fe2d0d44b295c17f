//! The program of `cargo run -p embed-in-a-deploy-bot`, run as a newcomer runs it, over a
//! temporary data directory: its output, its exit code, and what it left in the store and
//! the ledger.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use itsm_audit::AuditStore;
use itsm_audit::sqlite::SqliteAuditStore;
use itsm_change::{ChangeFilter, ChangeState, ChangeSystem};
use itsm_core::{ListRequest, SystemClock};
use itsm_local::LocalStore;

const BOT: &str = env!("CARGO_BIN_EXE_embed-in-a-deploy-bot");

/// Runs the program on `dir` with `args`, without the variables that would redirect it.
fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = Command::new(BOT)
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env_remove("DEPLOY_BOT_DATA_DIR")
        .env_remove("DEPLOY_BOT_RUN")
        .output()
        .expect("the program runs");
    let stdout = String::from_utf8(stdout).expect("UTF-8 output");
    let stderr = String::from_utf8(stderr).expect("UTF-8 errors");
    (status.code().expect("exited, not killed"), stdout, stderr)
}

fn open(dir: &Path) -> (LocalStore, SqliteAuditStore) {
    let db = dir.join("itsm.db");
    let clock = Arc::new(SystemClock);
    (
        LocalStore::open(&db, clock.clone()).unwrap(),
        SqliteAuditStore::open(&db, clock).unwrap(),
    )
}

#[tokio::test]
async fn the_program_deploys_once_and_a_rerun_repeats_nothing() {
    let dir = tempfile::tempdir().unwrap();

    let (code, out, err) = run(dir.path(), &[]);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    for line in [
        "CHG0000001 raised: normal because:",
        "the change manager was notified: Approve change CHG0000001",
        "SIMULATED HUMAN STEP",
        "CHG0000001 approval: approved",
        "gate:   allowed: change CHG0000001 (normal) is approved for checkout 1.4.2 in production",
        "deploy: succeeded: Simulated: checkout 1.4.2",
        "close:  CHG0000001 closed (successful)",
        "record: audit ledger record #1 (key checkout/1.4.2/production/bot-run-1/deploy)",
        "event:  change event sent to the paging platform",
        "#1 checkout 1.4.2 in production: succeeded",
        "commit 9fceb02, artifact sha256:4f2a9c1e0b7d",
        "change CHG0000001 in local, approved: true",
        "checkout 1.4.2 deployed to production",
        "done: deployed",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }

    let (code, again, err) = run(dir.path(), &[]);
    assert_eq!(code, 0, "stdout:\n{again}\nstderr:\n{err}");
    for line in [
        "CHG0000001 exists from an earlier run (state closed, approval approved)",
        "nothing to decide: CHG0000001 approval is approved",
        "gate:   not asked again",
        "deploy: not again: an earlier run deployed, and it succeeded",
        "record: audit ledger record #1",
        "event:  already sent by an earlier run",
    ] {
        assert!(again.contains(line), "missing {line:?} in:\n{again}");
    }

    let (store, ledger) = open(dir.path());
    assert_eq!(ledger.head().await.unwrap(), 1, "one ledger record");
    assert_eq!(store.change_events().await.unwrap().len(), 1, "one event");
    let changes = store
        .list_changes(&ChangeFilter::default(), &ListRequest::first())
        .await
        .unwrap()
        .items;
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].state, ChangeState::Closed);
}

#[tokio::test]
async fn a_failed_deployment_exits_1_and_is_closed_and_recorded_as_failed() {
    let dir = tempfile::tempdir().unwrap();

    let (code, out, err) = run(dir.path(), &["--fail", "--run", "bot-run-7"]);

    assert_eq!(code, 1, "stdout:\n{out}\nstderr:\n{err}");
    for line in [
        "deploy: failed: Simulated: checkout 1.4.2",
        "rolled back",
        "close:  CHG0000001 closed (unsuccessful)",
        "key checkout/1.4.2/production/bot-run-7/deploy",
        "#1 checkout 1.4.2 in production: failed",
        "checkout 1.4.2 failed to deploy to production",
        "done: the deployment failed",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
    let (_, ledger) = open(dir.path());
    assert_eq!(ledger.head().await.unwrap(), 1);
}

#[tokio::test]
async fn without_approval_the_gate_denies_exits_3_and_nothing_is_deployed() {
    let dir = tempfile::tempdir().unwrap();

    let (code, out, err) = run(dir.path(), &["--skip-approval"]);

    assert_eq!(code, 3, "stdout:\n{out}\nstderr:\n{err}");
    assert!(
        out.contains(
            "gate:   denied: change CHG0000001 for checkout 1.4.2 in production is not approved yet"
        ),
        "{out}"
    );
    assert!(
        out.contains("not deployed; nothing closed, recorded or sent"),
        "{out}"
    );
    assert!(!out.contains("deploy: "), "{out}");
    let (store, ledger) = open(dir.path());
    assert_eq!(ledger.head().await.unwrap(), 0);
    assert!(store.change_events().await.unwrap().is_empty());
}

#[test]
fn a_bad_argument_exits_2_with_the_usage() {
    let dir = tempfile::tempdir().unwrap();

    let (code, out, err) = run(dir.path(), &["--deploy-everything"]);

    assert_eq!(code, 2, "stdout:\n{out}");
    assert!(
        err.contains("unknown argument \"--deploy-everything\""),
        "{err}"
    );
    assert!(err.contains("usage: embed-in-a-deploy-bot"), "{err}");
    assert!(
        !dir.path().join("itsm.db").exists(),
        "nothing created on bad usage"
    );
}
