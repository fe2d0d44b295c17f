//! Teams as the incident workflow needs to know them: who owns what, whether they keep an
//! out-of-hours on-call rotation, and whom to contact when they do not (I5).

use std::fmt::Debug;

use async_trait::async_trait;
use itsm_core::{Person, Result, ServiceId, TeamId};
use serde::{Deserialize, Serialize};

/// What kind of team it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TeamKind {
    /// An on-call product team that runs digital services.
    Product,
    /// An operations team (COTS applications, foundational systems, incident management).
    Operations,
    /// A specialist team (database administration, networking, ...).
    Specialist,
}

/// A team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Team {
    /// The team's id.
    pub id: TeamId,
    /// Display name.
    pub name: String,
    /// What kind of team.
    pub kind: TeamKind,
    /// Whether the team keeps an out-of-hours on-call rotation. A major incident names the
    /// teams that do not, with their [`runbook_contact`](Team::runbook_contact) (I5).
    pub out_of_hours: bool,
    /// Whom to contact out of hours when there is no rotation (a phone number, a person,
    /// a runbook page).
    #[serde(default)]
    pub runbook_contact: Option<String>,
    /// The services the team owns.
    #[serde(default)]
    pub services: Vec<ServiceId>,
    /// Members, in no particular order.
    #[serde(default)]
    pub members: Vec<Person>,
}

/// Where the workflow looks teams up: implemented by the embedded local store and by
/// adapters whose platform knows teams (PagerDuty teams and schedules).
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait TeamDirectory: Send + Sync + Debug {
    /// Every team.
    async fn list_teams(&self) -> Result<Vec<Team>>;

    /// One team by id, if it exists.
    async fn get_team(&self, id: &TeamId) -> Result<Option<Team>>;

    /// The team that owns `service`, if any.
    async fn owner_of(&self, service: &ServiceId) -> Result<Option<Team>>;
}
