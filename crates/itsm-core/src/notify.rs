//! Notifications to people (change managers, incident managers, on-call developers).

use std::fmt::Debug;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::ids::{IdempotencyKey, TeamId};
use crate::people::{ExternalRef, Link, Person};

/// Who a notification is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "value")]
pub enum Recipient {
    /// One person.
    Person(Person),
    /// Whoever a team's routing reaches (its channel, its queue).
    Team(TeamId),
    /// A role resolved by the notifier's configuration (`change-manager`, `incident-manager`).
    Role(String),
}

/// Why a notification was sent, so that notifiers can route and format it.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationTopic {
    /// A normal change waits for a change manager's decision (C2).
    ChangeApprovalRequested,
    /// A change was approved, rejected or closed.
    ChangeUpdated,
    /// An alert paged someone or opened an incident (I1, I2).
    IncidentOpened,
    /// A major incident was declared (I5).
    MajorIncident,
    /// A specialist request needs attention (S2).
    SpecialistRequest,
    /// Anything else.
    Other,
}

/// A message to people, with links to the records and dashboards it is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    /// Makes sending idempotent: a notifier sends a given key at most once where it can.
    pub key: IdempotencyKey,
    /// Why it is sent.
    pub topic: NotificationTopic,
    /// Who it is for.
    pub recipients: Vec<Recipient>,
    /// One line.
    pub subject: String,
    /// Plain text, may span lines.
    pub body: String,
    /// Dashboards, runbooks, pipeline runs.
    #[serde(default)]
    pub links: Vec<Link>,
    /// The records it is about (the change, the incident).
    #[serde(default)]
    pub about: Vec<ExternalRef>,
}

/// Sends notifications (chat webhook, email relay, the local store's outbox).
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait Notifier: Send + Sync + Debug {
    /// Sends one notification. Sending the same key twice has no second effect where the
    /// channel allows it.
    async fn notify(&self, notification: &Notification) -> Result<()>;
}
