//! The pipeline's step log in the embedded store: one-shot steps (a sent change event)
//! remembered across processes, beside the sync engine's seen deliveries.

use async_trait::async_trait;
use itsm_core::Result;
use itsm_incident::sync::SyncStateStore;
use itsm_pipeline::StepLog;
use time::OffsetDateTime;

use crate::store::LocalStore;

/// Steps share the seen-deliveries table under their own prefix, so no step name can
/// collide with a webhook delivery id.
fn row_id(step: &str) -> String {
    format!("step/{step}")
}

#[async_trait]
impl StepLog for LocalStore {
    async fn is_done(&self, step: &str) -> Result<bool> {
        self.is_seen(&row_id(step)).await
    }

    async fn mark_done(&self, step: &str, at: OffsetDateTime) -> Result<()> {
        self.mark_seen(&row_id(step), at).await
    }
}
