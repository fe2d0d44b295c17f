//! The step log: which one-shot steps of a pipeline already happened, so a re-run of the
//! finish step does not send the change event a second time.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::Mutex;

use async_trait::async_trait;
use itsm_core::Result;
use time::OffsetDateTime;

/// Remembers one-shot steps by name across runs.
///
/// Some effects cannot be looked up afterwards (a PagerDuty change event has no key the
/// platform deduplicates on), so [`Pipeline::finish`](crate::Pipeline::finish) marks them
/// here after they succeed and skips them when a re-run finds the mark. A durable
/// implementation (the embedded store's, `itsm_local::LocalStore`) makes "once" hold
/// across processes; [`MemoryStepLog`] holds only for one process.
///
/// The mark is written after the effect: a crash between the two repeats the effect once
/// on the next run (at least once, never lost).
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait StepLog: Send + Sync + Debug {
    /// Whether `step` was marked done.
    async fn is_done(&self, step: &str) -> Result<bool>;

    /// Marks `step` done at `at`; marking it again changes nothing.
    async fn mark_done(&self, step: &str, at: OffsetDateTime) -> Result<()>;
}

/// A [`StepLog`] in memory: "once" holds within one process only.
#[derive(Debug, Default)]
pub struct MemoryStepLog {
    done: Mutex<BTreeMap<String, OffsetDateTime>>,
}

impl MemoryStepLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// The steps marked so far, with when.
    pub fn steps(&self) -> Vec<(String, OffsetDateTime)> {
        self.lock().iter().map(|(k, v)| (k.clone(), *v)).collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, OffsetDateTime>> {
        // A panic while holding the lock cannot leave the map half-written.
        self.done
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl StepLog for MemoryStepLog {
    async fn is_done(&self, step: &str) -> Result<bool> {
        Ok(self.lock().contains_key(step))
    }

    async fn mark_done(&self, step: &str, at: OffsetDateTime) -> Result<()> {
        self.lock().entry(step.to_owned()).or_insert(at);
        Ok(())
    }
}
