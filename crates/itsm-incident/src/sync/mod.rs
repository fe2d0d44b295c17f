//! Bi-directional sync between the paging platform and the ticketing system (I8).
//!
//! An event from one side (acknowledged, reassigned, note added, priority changed,
//! resolved) is applied to the other side exactly once:
//! - a duplicated delivery (same `delivery_id`) has no second effect;
//! - an older change arriving after a newer one to the same field does not roll it back,
//!   and nothing after `resolved` un-resolves;
//! - the engine's own writes coming back as events (echoes) are recognised: by the write it
//!   recorded, by the actor being the integration user, and for notes by a marker in the
//!   text, so a note echo is recognised even when the state was lost;
//! - a call the other side does not support is reported, not an error.

mod store;

use std::fmt;
use std::sync::Arc;

use itsm_core::{Capability, Clock, Error, ErrorKind, IdempotencyKey, Person, Result, TeamId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[cfg(feature = "mock")]
pub use store::MockSyncStateStore;
pub use store::{FieldMark, MemorySyncStore, OwnWrite, SyncField, SyncStateStore};

use crate::model::{
    Assignment, IncidentState, Note, PageAssignment, PageId, PageStatus, Priority, Resolution,
};
use crate::system::{IncidentSystem, Pager, capability};

/// Which system an event comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The ticketing system (incidents).
    Ticketing,
    /// The paging platform (pages).
    Paging,
}

impl Side {
    /// The other side.
    pub fn other(self) -> Side {
        match self {
            Side::Ticketing => Side::Paging,
            Side::Paging => Side::Ticketing,
        }
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Ticketing => "ticketing",
            Side::Paging => "paging",
        })
    }
}

/// What changed on one side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "change")]
pub enum SyncChange {
    /// Acknowledged.
    Acknowledged,
    /// Reassigned to a team.
    Reassigned {
        /// The team.
        team: TeamId,
    },
    /// A note was added.
    NoteAdded {
        /// The note.
        note: Note,
    },
    /// The priority changed.
    PriorityChanged {
        /// The new priority.
        priority: Priority,
    },
    /// Resolved.
    Resolved {
        /// What the resolver wrote, if anything.
        #[serde(default)]
        notes: Option<String>,
    },
}

impl SyncChange {
    /// The ordered field it changes; `None` for notes.
    pub fn field(&self) -> Option<SyncField> {
        match self {
            SyncChange::Acknowledged | SyncChange::Resolved { .. } => Some(SyncField::State),
            SyncChange::Reassigned { .. } => Some(SyncField::Assignment),
            SyncChange::PriorityChanged { .. } => Some(SyncField::Priority),
            SyncChange::NoteAdded { .. } => None,
        }
    }

    /// The value it sets (`acknowledged`, `resolved`, a team id, `P2`, the note text).
    pub fn value(&self) -> String {
        match self {
            SyncChange::Acknowledged => "acknowledged".to_owned(),
            SyncChange::Resolved { .. } => RESOLVED.to_owned(),
            SyncChange::Reassigned { team } => team.to_string(),
            SyncChange::PriorityChanged { priority } => priority.to_string(),
            SyncChange::NoteAdded { note } => note.text.clone(),
        }
    }

    /// What identifies this change when it comes back as an echo: field and value.
    pub fn fingerprint(&self) -> String {
        let field = self.field().map_or("note", SyncField::as_str);
        format!("{field}:{}", self.value())
    }
}

const RESOLVED: &str = "resolved";

/// One change delivered by one side's webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncEvent {
    /// The sender's delivery id (a PagerDuty webhook event id, a ServiceNow sys_id of the
    /// audit record): the same delivery twice has one effect.
    pub delivery_id: String,
    /// Where it happened.
    pub side: Side,
    /// The alert key both records share, when the sender names it.
    #[serde(default)]
    pub key: Option<IdempotencyKey>,
    /// The page the event is about, for senders that name the paging platform's record
    /// but not the key (a PagerDuty note names only the incident id): the engine reads the
    /// key from the page. One of `key` and `page` is needed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<PageId>,
    /// When it happened on that side.
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    /// Who did it, as the sender names them.
    #[serde(default)]
    pub actor: Option<String>,
    /// What changed.
    pub change: SyncChange,
}

/// What [`SyncEngine::apply`] did with an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncOutcome {
    /// Applied to the other side.
    Applied,
    /// This delivery was handled before.
    Duplicate,
    /// Older than the change last applied to the field, or after the records resolved.
    Stale,
    /// The engine's own write coming back.
    Echo,
    /// The other side does not support this change.
    Unsupported(Capability),
    /// The other side has no record with this key (a ticket-only alert has no page).
    NoCounterpart,
}

/// Who the engine is and how it marks what it writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncSettings {
    /// The user the integration acts as on both sides: events by this actor are echoes.
    pub integration_user: String,
    /// Appended to every note the engine copies; a note containing it is an echo.
    pub note_marker: String,
    /// The close code of incidents resolved because their page resolved.
    pub resolution_code: String,
}

impl Default for SyncSettings {
    fn default() -> Self {
        SyncSettings {
            integration_user: "itsm-integration".to_owned(),
            note_marker: "[synced by itsm]".to_owned(),
            resolution_code: "Resolved on the paging platform".to_owned(),
        }
    }
}

/// An event with its key resolved.
struct Keyed<'a> {
    event: &'a SyncEvent,
    key: IdempotencyKey,
}

/// What applying a change to the other side did.
enum Effect {
    Applied,
    Stale,
    NoCounterpart,
}

/// Applies events from one side to the other, exactly once and loop-free.
#[derive(Debug, Clone)]
pub struct SyncEngine {
    incidents: Arc<dyn IncidentSystem>,
    pager: Arc<dyn Pager>,
    store: Arc<dyn SyncStateStore>,
    clock: Arc<dyn Clock>,
    settings: SyncSettings,
}

impl SyncEngine {
    /// An engine over both sides and a state store.
    pub fn new(
        incidents: Arc<dyn IncidentSystem>,
        pager: Arc<dyn Pager>,
        store: Arc<dyn SyncStateStore>,
        clock: Arc<dyn Clock>,
        settings: SyncSettings,
    ) -> Self {
        SyncEngine {
            incidents,
            pager,
            store,
            clock,
            settings,
        }
    }

    /// Applies `event` to the other side, or says why not. On an error nothing is marked
    /// seen, so redelivering the event retries it; the port calls are keyed, so a retry
    /// after a partial effect does not repeat it.
    pub async fn apply(&self, event: &SyncEvent) -> Result<SyncOutcome> {
        if event.delivery_id.trim().is_empty() {
            return Err(Error::invalid_input(
                "sync event has an empty `delivery_id`; use the sender's webhook delivery or event id",
            ));
        }
        if self.store.is_seen(&event.delivery_id).await? {
            return Ok(SyncOutcome::Duplicate);
        }
        let outcome = match self.key_of(event).await? {
            Some(key) => self.decide(&Keyed { event, key }).await?,
            None => SyncOutcome::NoCounterpart,
        };
        self.store
            .mark_seen(&event.delivery_id, self.clock.now())
            .await?;
        Ok(outcome)
    }

    /// The event's key: given, or read from the page it names (`None`: no such page).
    async fn key_of(&self, event: &SyncEvent) -> Result<Option<IdempotencyKey>> {
        if let Some(key) = &event.key {
            return Ok(Some(key.clone()));
        }
        let Some(page) = &event.page else {
            return Err(Error::invalid_input(format!(
                "sync event {} names neither a key nor a page; set one of them",
                event.delivery_id
            )));
        };
        match self.pager.get_page(page).await {
            Ok(found) => Ok(Some(found.key)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn decide(&self, keyed: &Keyed<'_>) -> Result<SyncOutcome> {
        let Keyed { event, key } = keyed;
        if self.is_echo(keyed).await? {
            return Ok(SyncOutcome::Echo);
        }
        let field = event.change.field();
        if let Some(field) = field
            && let Some(mark) = self.store.last_applied(key, field).await?
            && (event.occurred_at < mark.occurred_at
                || (field == SyncField::State && mark.value == RESOLVED))
        {
            return Ok(SyncOutcome::Stale);
        }
        let target = event.side.other();
        if let Some(needed) = required_capability(target, &event.change) {
            let caps = match target {
                Side::Ticketing => self.incidents.capabilities(),
                Side::Paging => self.pager.capabilities(),
            };
            if !caps.supports(needed) {
                return Ok(SyncOutcome::Unsupported(needed));
            }
        }

        let written = self.written_change(event);
        let write = OwnWrite {
            side: target,
            key: key.clone(),
            fingerprint: written.fingerprint(),
            at: self.clock.now(),
        };
        // Recorded before writing: the echo may arrive before the write call returns.
        self.store.record_write(&write).await?;
        let effect = match target {
            Side::Ticketing => self.apply_to_ticketing(keyed, &written).await,
            Side::Paging => self.apply_to_paging(keyed, &written).await,
        };
        let effect = match effect {
            Ok(Effect::Applied) => Effect::Applied,
            Ok(other) => {
                self.forget(&write).await?;
                other
            }
            Err(e) => {
                // Best effort: a leftover record only ever turns one matching event into an echo.
                let _ = self.forget(&write).await;
                return Err(e);
            }
        };
        Ok(match effect {
            Effect::Applied => {
                if let Some(field) = field {
                    let mark = FieldMark {
                        occurred_at: event.occurred_at,
                        value: event.change.value(),
                    };
                    self.store.set_last_applied(key, field, &mark).await?;
                }
                SyncOutcome::Applied
            }
            Effect::Stale => SyncOutcome::Stale,
            Effect::NoCounterpart => SyncOutcome::NoCounterpart,
        })
    }

    async fn forget(&self, write: &OwnWrite) -> Result<()> {
        self.store
            .take_write(write.side, &write.key, &write.fingerprint)
            .await
            .map(|_| ())
    }

    async fn is_echo(&self, keyed: &Keyed<'_>) -> Result<bool> {
        let Keyed { event, key } = keyed;
        if event.actor.as_deref().is_some_and(|a| {
            a.trim()
                .eq_ignore_ascii_case(&self.settings.integration_user)
        }) {
            return Ok(true);
        }
        if let SyncChange::NoteAdded { note } = &event.change
            && note.text.contains(&self.settings.note_marker)
        {
            return Ok(true);
        }
        self.store
            .take_write(event.side, key, &event.change.fingerprint())
            .await
    }

    /// The change as the engine writes it: notes carry the marker.
    fn written_change(&self, event: &SyncEvent) -> SyncChange {
        match &event.change {
            SyncChange::NoteAdded { note } => {
                let by = event
                    .actor
                    .as_deref()
                    .map(|a| format!(" by {a}"))
                    .unwrap_or_default();
                SyncChange::NoteAdded {
                    note: Note {
                        text: format!(
                            "{}\n\n{} from {}{by}",
                            note.text, self.settings.note_marker, event.side
                        ),
                        author: note.author.clone(),
                    },
                }
            }
            other => other.clone(),
        }
    }

    fn actor(event: &SyncEvent) -> Option<Person> {
        event.actor.as_deref().map(Person::named)
    }

    fn note_key(event: &SyncEvent) -> Result<IdempotencyKey> {
        IdempotencyKey::new(format!("sync/{}", event.delivery_id))
    }

    async fn apply_to_ticketing(&self, keyed: &Keyed<'_>, change: &SyncChange) -> Result<Effect> {
        let Keyed { event, key } = keyed;
        let Some(incident) = self.incidents.find_incident_by_key(key).await? else {
            return Ok(Effect::NoCounterpart);
        };
        let id = &incident.id;
        match change {
            SyncChange::Acknowledged | SyncChange::Resolved { .. }
                if incident.state.is_resolved() =>
            {
                return Ok(Effect::Stale);
            }
            SyncChange::Acknowledged => {
                self.incidents
                    .set_state(id, IncidentState::Acknowledged, Self::actor(event))
                    .await?;
            }
            SyncChange::Resolved { notes } => {
                let resolution = Resolution {
                    code: self.settings.resolution_code.clone(),
                    notes: notes
                        .clone()
                        .unwrap_or_else(|| format!("Resolved on the {} side.", event.side)),
                    by: Self::actor(event),
                };
                self.incidents.resolve(id, &resolution).await?;
            }
            SyncChange::Reassigned { team } => {
                let to = Assignment {
                    team: Some(team.clone()),
                    ..incident.assignment.clone()
                };
                self.incidents.reassign(id, &to).await?;
            }
            SyncChange::PriorityChanged { priority } => {
                self.incidents.set_priority(id, *priority).await?;
            }
            SyncChange::NoteAdded { note } => {
                self.incidents
                    .add_note(id, &Self::note_key(event)?, note)
                    .await?;
            }
        }
        Ok(Effect::Applied)
    }

    async fn apply_to_paging(&self, keyed: &Keyed<'_>, change: &SyncChange) -> Result<Effect> {
        let Keyed { event, key } = keyed;
        let page = self.pager.find_page_by_key(key).await?;
        let result = match change {
            SyncChange::Acknowledged | SyncChange::Resolved { .. }
                if page
                    .as_ref()
                    .is_some_and(|p| p.status == PageStatus::Resolved) =>
            {
                return Ok(Effect::Stale);
            }
            // Event-style platforms act by key, even when they cannot look pages up.
            SyncChange::Acknowledged => self.pager.acknowledge(key, Self::actor(event)).await,
            SyncChange::Resolved { .. } => self.pager.resolve(key, Self::actor(event)).await,
            _ => {
                let Some(page_id) = page.and_then(|p| p.id) else {
                    return Ok(Effect::NoCounterpart);
                };
                match change {
                    SyncChange::Reassigned { team } => self
                        .pager
                        .reassign(&page_id, &PageAssignment::Team(team.clone()))
                        .await
                        .map(|_| ()),
                    SyncChange::PriorityChanged { priority } => self
                        .pager
                        .set_priority(&page_id, *priority)
                        .await
                        .map(|_| ()),
                    SyncChange::NoteAdded { note } => {
                        self.pager
                            .add_note(&page_id, &Self::note_key(event)?, note)
                            .await
                    }
                    SyncChange::Acknowledged | SyncChange::Resolved { .. } => Ok(()),
                }
            }
        };
        match result {
            Ok(()) => Ok(Effect::Applied),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(Effect::NoCounterpart),
            Err(e) => Err(e),
        }
    }
}

/// The capability the target side needs for `change`, if any.
fn required_capability(target: Side, change: &SyncChange) -> Option<Capability> {
    match (target, change) {
        (_, SyncChange::Acknowledged | SyncChange::Resolved { .. }) => None,
        (Side::Ticketing, SyncChange::Reassigned { .. }) => Some(capability::INCIDENT_REASSIGN),
        (Side::Ticketing, SyncChange::PriorityChanged { .. }) => {
            Some(capability::INCIDENT_PRIORITY)
        }
        (Side::Ticketing, SyncChange::NoteAdded { .. }) => Some(capability::INCIDENT_NOTES),
        (Side::Paging, SyncChange::Reassigned { .. }) => Some(capability::PAGE_REASSIGN),
        (Side::Paging, SyncChange::PriorityChanged { .. }) => Some(capability::PAGE_PRIORITY),
        (Side::Paging, SyncChange::NoteAdded { .. }) => Some(capability::PAGE_NOTES),
    }
}
