//! The port through which queued alerts are acted on.

use std::fmt::Debug;

use async_trait::async_trait;
use itsm_incident::Alert;

/// Acts on one queued alert (opens or resolves the incident, pages, ...).
///
/// Alerts with the same dedup key are handed over one at a time, in arrival order. An
/// error for which [`itsm_core::Error::is_retryable`] holds is retried with backoff
/// (honouring [`itsm_core::Error::retry_after`]); any other error makes the alert a dead
/// letter, kept with the error. An alert may be handed over again after a crash, so
/// processing must be idempotent on the dedup key.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait AlertProcessor: Send + Sync + Debug {
    /// Processes one alert.
    async fn process(&self, alert: &Alert) -> itsm_core::Result<()>;
}
