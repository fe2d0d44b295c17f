//! One processing attempt of a queued row, and what follows from its outcome; shared by
//! the worker over the SQLite queue and the one over the PostgreSQL queue.
//!
//! An alert goes to the [`AlertProcessor`], a webhook sync event to the [`SyncEngine`]. A
//! retryable failure is retried with backoff until `max_attempts`; any other failure makes
//! the row a dead letter.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use itsm_core::{Error, ErrorKind, Result};
use itsm_incident::{SyncEngine, SyncEvent, SyncOutcome};
use tokio::task::{Id, JoinError, JoinSet};

use super::config::RetryConfig;
use super::metrics::Metrics;
use super::processor::AlertProcessor;
use super::queue::QueueItem;

/// The outcome of one attempt and how long it took.
pub(crate) type Attempt = (Result<()>, Duration);

/// What becomes of a row after an attempt.
#[derive(Debug)]
pub(crate) enum Verdict {
    /// Processed.
    Done,
    /// Failed, to be attempted again after `delay`.
    Retry {
        /// Failed attempts so far.
        attempts: u32,
        delay: Duration,
        error: String,
    },
    /// Failed for good: a dead letter.
    Fail { attempts: u32, error: String },
}

/// What an attempt needs: where items go, the metrics, the retry policy.
#[derive(Debug, Clone)]
pub(crate) struct Processing {
    pub(crate) processor: Arc<dyn AlertProcessor>,
    /// Applies webhook sync events; without one they fail as dead letters.
    pub(crate) sync: Option<Arc<SyncEngine>>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) retry: RetryConfig,
    /// The runtime attempts run on (at a lower priority); `None`: the current one.
    pub(crate) runtime: Option<tokio::runtime::Handle>,
}

impl Processing {
    /// Starts one attempt of `item` in `set`; its task id.
    pub(crate) fn spawn(&self, set: &mut JoinSet<Attempt>, item: Arc<QueueItem>) -> Id {
        let processor = self.processor.clone();
        let sync = self.sync.clone();
        let metrics = self.metrics.clone();
        let attempt = async move {
            let started = std::time::Instant::now();
            let result = match item.as_ref() {
                QueueItem::Alert(alert) => processor.process(alert).await,
                QueueItem::Sync(event) => apply_sync(sync.as_deref(), &metrics, event).await,
            };
            (result, started.elapsed())
        };
        match &self.runtime {
            Some(runtime) => set.spawn_on(attempt, runtime).id(),
            None => set.spawn(attempt).id(),
        }
    }

    /// The finished attempt's task id and result (a panic is a non-retryable failure);
    /// records its duration.
    pub(crate) fn joined(
        &self,
        done: std::result::Result<(Id, Attempt), JoinError>,
    ) -> (Id, Result<()>) {
        let (id, result, took) = match done {
            Ok((id, (result, took))) => (id, result, took),
            Err(e) => (
                e.id(),
                Err(
                    Error::new(ErrorKind::Internal, "the alert processor panicked")
                        .with_retryable(false),
                ),
                Duration::ZERO,
            ),
        };
        self.metrics.processing_latency.observe(took);
        (id, result)
    }

    /// What becomes of a row that had failed `attempts` times before this attempt's
    /// `result`; counts it in the metrics.
    pub(crate) fn judge(&self, attempts: u32, result: Result<()>) -> Verdict {
        let m = &self.metrics;
        match result {
            Ok(()) => {
                m.processed.fetch_add(1, Ordering::Relaxed);
                m.queue_depth.fetch_sub(1, Ordering::Relaxed);
                Verdict::Done
            }
            Err(e) if e.is_retryable() && attempts + 1 < self.retry.max_attempts => {
                m.retried.fetch_add(1, Ordering::Relaxed);
                Verdict::Retry {
                    attempts: attempts + 1,
                    delay: self.retry.delay(attempts + 1, e.retry_after()),
                    error: e.to_string(),
                }
            }
            Err(e) => {
                m.failed.fetch_add(1, Ordering::Relaxed);
                m.queue_depth.fetch_sub(1, Ordering::Relaxed);
                Verdict::Fail {
                    attempts: attempts + 1,
                    error: e.to_string(),
                }
            }
        }
    }
}

/// Applies one sync event; what the engine decided (applied, duplicate, stale, echo...)
/// is counted in the metrics, and only an error fails the row.
async fn apply_sync(sync: Option<&SyncEngine>, metrics: &Metrics, event: &SyncEvent) -> Result<()> {
    let Some(engine) = sync else {
        return Err(Error::new(
            ErrorKind::Config,
            "a webhook sync event is queued but this server has no sync engine; configure \
             the paging platform and the ticketing system",
        )
        .with_retryable(false));
    };
    let outcome = engine.apply(event).await?;
    metrics.sync_outcome(match outcome {
        SyncOutcome::Applied => "applied",
        SyncOutcome::Duplicate => "duplicate",
        SyncOutcome::Stale => "stale",
        SyncOutcome::Echo => "echo",
        SyncOutcome::Unsupported(_) => "unsupported",
        SyncOutcome::NoCounterpart => "no_counterpart",
    });
    Ok(())
}
