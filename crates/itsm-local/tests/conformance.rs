//! The shared `ChangeSystem` conformance suite against the local store, and proof that the
//! suite notices a backend that breaks the contract.

mod common;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use itsm_change::{
    Approval, ApprovalDecision, ChangeFilter, ChangeId, ChangeRequest, ChangeState, ChangeSystem,
    ChangeTemplate, Closure, Conflict, NewChange, NewTemplate, TemplateFilter, TemplateId,
};
use itsm_core::{Capabilities, IdempotencyKey, ListRequest, Listing, Result, SystemClock};
use itsm_local::LocalStore;
use itsm_testkit::conformance::{self, Outcome};

#[tokio::test]
async fn local_store_passes_the_change_suite_with_nothing_skipped() {
    let (_dir, store, _clock) = common::store();
    let report = conformance::change::run_all(&store).await;
    assert!(report.skipped().is_empty(), "{report:?}");
    assert_eq!(report.passed().len(), 12, "{report:?}");
}

#[tokio::test]
async fn the_suite_runs_again_against_the_same_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    for _ in 0..2 {
        let store = LocalStore::open(&path, Arc::new(SystemClock)).unwrap();
        conformance::change::run_all(&store).await;
    }
}

/// A store that forgets idempotency keys: every create makes a new change.
struct ForgetsKeys(LocalStore);

impl fmt::Debug for ForgetsKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ForgetsKeys")
    }
}

#[async_trait]
impl ChangeSystem for ForgetsKeys {
    fn capabilities(&self) -> Capabilities {
        self.0.capabilities()
    }
    async fn create_template(&self, k: &IdempotencyKey, t: &NewTemplate) -> Result<ChangeTemplate> {
        self.0.create_template(k, t).await
    }
    async fn find_template_by_key(&self, k: &IdempotencyKey) -> Result<Option<ChangeTemplate>> {
        self.0.find_template_by_key(k).await
    }
    async fn get_template(&self, id: &TemplateId) -> Result<ChangeTemplate> {
        self.0.get_template(id).await
    }
    async fn list_templates(
        &self,
        f: &TemplateFilter,
        p: &ListRequest,
    ) -> Result<Listing<ChangeTemplate>> {
        self.0.list_templates(f, p).await
    }
    async fn create_change(&self, k: &IdempotencyKey, c: &NewChange) -> Result<ChangeRequest> {
        let fresh = IdempotencyKey::new(format!("{k}/{}", fastrand_suffix())).unwrap();
        self.0.create_change(&fresh, c).await
    }
    async fn find_change_by_key(&self, k: &IdempotencyKey) -> Result<Option<ChangeRequest>> {
        self.0.find_change_by_key(k).await
    }
    async fn get_change(&self, id: &ChangeId) -> Result<ChangeRequest> {
        self.0.get_change(id).await
    }
    async fn list_changes(
        &self,
        f: &ChangeFilter,
        p: &ListRequest,
    ) -> Result<Listing<ChangeRequest>> {
        self.0.list_changes(f, p).await
    }
    async fn request_approval(&self, id: &ChangeId) -> Result<ChangeRequest> {
        self.0.request_approval(id).await
    }
    async fn approvals(&self, id: &ChangeId) -> Result<Vec<Approval>> {
        self.0.approvals(id).await
    }
    async fn decide(&self, id: &ChangeId, d: &ApprovalDecision) -> Result<ChangeRequest> {
        self.0.decide(id, d).await
    }
    async fn transition(&self, id: &ChangeId, to: ChangeState) -> Result<ChangeRequest> {
        self.0.transition(id, to).await
    }
    async fn close(&self, id: &ChangeId, c: &Closure) -> Result<ChangeRequest> {
        self.0.close(id, c).await
    }
    async fn add_note(&self, id: &ChangeId, k: &IdempotencyKey, n: &str) -> Result<()> {
        self.0.add_note(id, k, n).await
    }
    async fn conflicts(&self, id: &ChangeId) -> Result<Vec<Conflict>> {
        self.0.conflicts(id).await
    }
}

fn fastrand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

#[tokio::test]
async fn the_suite_fails_a_backend_that_ignores_idempotency_keys() {
    let (_dir, store, _clock) = common::store();
    let broken = ForgetsKeys(store.clone());
    // The checks that do not create changes still pass...
    assert_eq!(
        conformance::change::lookups(&broken).await.unwrap(),
        Outcome::Passed
    );
    // ...the one about idempotency panics, naming itself.
    let panic = tokio::spawn(async move {
        let _ = conformance::change::idempotent_create(&broken).await;
    })
    .await
    .unwrap_err();
    let message = panic
        .into_panic()
        .downcast::<String>()
        .map(|s| *s)
        .unwrap_or_default();
    assert!(
        message.contains("conformance check idempotent_create on the local backend"),
        "{message}"
    );
    assert!(
        message.contains("same key should return change"),
        "{message}"
    );
}
