//! The sync engine's state: which deliveries were seen, when each field last changed, and
//! the writes the engine made that will come back as events.

use std::collections::{HashMap, HashSet};
use std::fmt::Debug;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use itsm_core::{IdempotencyKey, Result};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::Side;

/// A field whose changes are ordered by time: an older change never overwrites a newer one.
/// Notes have no field: each note is its own record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncField {
    /// Acknowledged / resolved; once resolved, nothing un-resolves.
    State,
    /// The team an incident or page is assigned to.
    Assignment,
    /// The priority.
    Priority,
}

impl SyncField {
    /// The stable name (`state`, `assignment`, `priority`), for stores.
    pub fn as_str(self) -> &'static str {
        match self {
            SyncField::State => "state",
            SyncField::Assignment => "assignment",
            SyncField::Priority => "priority",
        }
    }
}

/// The last change applied to one field of one record pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldMark {
    /// When the change happened (the event's `occurred_at`).
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    /// The value it set (`resolved`, `P2`, a team id).
    pub value: String,
}

/// A write the engine made to one side, awaiting its echo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnWrite {
    /// The side written to (the echo comes from this side).
    pub side: Side,
    /// The alert key both records share.
    pub key: IdempotencyKey,
    /// What was written (see `SyncChange::fingerprint`).
    pub fingerprint: String,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// Where the [`SyncEngine`](super::SyncEngine) keeps its state. [`MemorySyncStore`] keeps it
/// in memory; a durable store (SQLite) implements the same six calls. Each call is one
/// small atomic read or write; the engine orders them so that a crash between two calls
/// at worst repeats a keyed (idempotent) port call.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait SyncStateStore: Send + Sync + Debug {
    /// Whether the delivery id was recorded by [`mark_seen`](SyncStateStore::mark_seen).
    async fn is_seen(&self, delivery_id: &str) -> Result<bool>;

    /// Records a delivery as fully handled. Recording it twice is a no-op.
    async fn mark_seen(&self, delivery_id: &str, at: OffsetDateTime) -> Result<()>;

    /// The last change applied to `field` of the records keyed `key`, if any.
    async fn last_applied(
        &self,
        key: &IdempotencyKey,
        field: SyncField,
    ) -> Result<Option<FieldMark>>;

    /// Replaces the last change applied to `field` of the records keyed `key`.
    async fn set_last_applied(
        &self,
        key: &IdempotencyKey,
        field: SyncField,
        mark: &FieldMark,
    ) -> Result<()>;

    /// Records a write the engine is about to make, so that its echo is recognised.
    async fn record_write(&self, write: &OwnWrite) -> Result<()>;

    /// Removes one recorded write matching `side`, `key` and `fingerprint`; whether there
    /// was one (the event is then an echo of it).
    async fn take_write(&self, side: Side, key: &IdempotencyKey, fingerprint: &str)
    -> Result<bool>;
}

#[derive(Debug, Default)]
struct State {
    seen: HashSet<String>,
    marks: HashMap<(IdempotencyKey, SyncField), FieldMark>,
    writes: Vec<OwnWrite>,
}

/// A [`SyncStateStore`] in memory: for tests and single-process bridges that accept losing
/// echo and ordering state on restart (the note marker and the integration user still
/// recognise echoes then).
#[derive(Debug, Default)]
pub struct MemorySyncStore {
    state: Mutex<State>,
}

impl MemorySyncStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many recorded writes await their echo.
    pub fn pending_writes(&self) -> usize {
        self.lock().writes.len()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock only means another thread panicked while holding plain values.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl SyncStateStore for MemorySyncStore {
    async fn is_seen(&self, delivery_id: &str) -> Result<bool> {
        Ok(self.lock().seen.contains(delivery_id))
    }

    async fn mark_seen(&self, delivery_id: &str, _at: OffsetDateTime) -> Result<()> {
        self.lock().seen.insert(delivery_id.to_owned());
        Ok(())
    }

    async fn last_applied(
        &self,
        key: &IdempotencyKey,
        field: SyncField,
    ) -> Result<Option<FieldMark>> {
        Ok(self.lock().marks.get(&(key.clone(), field)).cloned())
    }

    async fn set_last_applied(
        &self,
        key: &IdempotencyKey,
        field: SyncField,
        mark: &FieldMark,
    ) -> Result<()> {
        self.lock().marks.insert((key.clone(), field), mark.clone());
        Ok(())
    }

    async fn record_write(&self, write: &OwnWrite) -> Result<()> {
        self.lock().writes.push(write.clone());
        Ok(())
    }

    async fn take_write(
        &self,
        side: Side,
        key: &IdempotencyKey,
        fingerprint: &str,
    ) -> Result<bool> {
        let mut state = self.lock();
        let found = state
            .writes
            .iter()
            .position(|w| w.side == side && &w.key == key && w.fingerprint == fingerprint);
        if let Some(index) = found {
            state.writes.remove(index);
        }
        Ok(found.is_some())
    }
}
