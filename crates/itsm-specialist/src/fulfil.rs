//! Automation (S3): a [`Fulfiller`] registered for an offering fulfils its requests without
//! a person, through [`Automation`].
//!
//! The request is always submitted (stored) first, so nothing is lost when the automation
//! fails or the process dies. Then:
//!
//! - success: the request moves to fulfilled, by [`AUTOMATION`], with the fulfiller's note;
//! - failure (an error, or a fulfiller that gives up): the request stays in the owning team's
//!   queue (its state does not move) and a comment by [`AUTOMATION`] records the failure, so
//!   a person picks it up. Running the automation again later is safe.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use itsm_core::{Error, ErrorKind, IdempotencyKey, Person, Result};
use serde::Serialize;

use crate::catalog::SpecialistCatalog;
use crate::model::{
    Comment, NewRequest, Offering, OfferingId, RequestId, RequestState, SpecialistRequest,
};

/// The name automation acts under in transitions and comments.
pub const AUTOMATION: &str = "automation";

/// What a fulfiller did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fulfilment {
    /// A note for the requester (what was created, where).
    pub note: String,
}

/// Fulfils requests of an offering without a person (S3): the CLI's runs a configured
/// command, an embedder's may call an API.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait Fulfiller: Send + Sync + Debug {
    /// Does what `request` asks. An error means it was not done; the message is recorded on
    /// the request for the person who picks it up.
    async fn fulfil(&self, offering: &Offering, request: &SpecialistRequest) -> Result<Fulfilment>;
}

/// How an automation run ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum AutomationOutcome {
    /// The offering is not automated or has no fulfiller: a person fulfils it.
    Manual,
    /// The request was already finished (submitted before under the same key): nothing ran.
    Finished,
    /// Fulfilled by automation.
    Fulfilled {
        /// The fulfiller's note.
        note: String,
    },
    /// The automation failed; the request waits in the team's queue with the failure
    /// recorded as a comment.
    Failed {
        /// What went wrong.
        error: String,
    },
}

/// A request after [`Automation::submit`] or [`Automation::run`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Handled {
    /// The request as stored now.
    pub request: SpecialistRequest,
    /// What the automation did.
    pub automation: AutomationOutcome,
}

/// Submits requests and runs the registered [`Fulfiller`] of automated offerings.
#[derive(Debug, Clone)]
pub struct Automation {
    catalog: Arc<dyn SpecialistCatalog>,
    fulfillers: BTreeMap<OfferingId, Arc<dyn Fulfiller>>,
}

impl Automation {
    /// Automation over `catalog`, with no fulfiller yet.
    pub fn new(catalog: Arc<dyn SpecialistCatalog>) -> Automation {
        Automation {
            catalog,
            fulfillers: BTreeMap::new(),
        }
    }

    /// Registers the fulfiller of `offering` (replacing any registered before).
    pub fn register(mut self, offering: OfferingId, fulfiller: Arc<dyn Fulfiller>) -> Automation {
        self.fulfillers.insert(offering, fulfiller);
        self
    }

    /// Whether `offering` has a fulfiller.
    pub fn has_fulfiller(&self, offering: &OfferingId) -> bool {
        self.fulfillers.contains_key(offering)
    }

    /// Submits a request (the catalog checks its inputs and routes it to the owning team's
    /// queue), then, when the offering is automated and has a fulfiller, runs it. A key
    /// already submitted returns that request, and runs the automation only if it is
    /// still open.
    pub async fn submit(&self, key: &IdempotencyKey, new: &NewRequest) -> Result<Handled> {
        let request = self.catalog.submit(key, new).await?;
        self.handle(request).await
    }

    /// Runs the automation of an existing request (a retry after a failure).
    pub async fn run(&self, id: &RequestId) -> Result<Handled> {
        let request = self.catalog.get_request(id).await?;
        if request.state.is_terminal() {
            return Err(Error::new(
                ErrorKind::Conflict,
                format!(
                    "request {id} is already {}; there is nothing left to automate",
                    state_name(request.state)
                ),
            ));
        }
        self.handle(request).await
    }

    async fn handle(&self, request: SpecialistRequest) -> Result<Handled> {
        if request.state.is_terminal() {
            return Ok(Handled {
                request,
                automation: AutomationOutcome::Finished,
            });
        }
        let offering = self.catalog.get_offering(&request.offering).await?;
        let fulfiller = match self.fulfillers.get(&offering.id) {
            Some(f) if offering.automated => f,
            _ => {
                return Ok(Handled {
                    request,
                    automation: AutomationOutcome::Manual,
                });
            }
        };
        match fulfiller.fulfil(&offering, &request).await {
            Ok(done) => {
                let request = self
                    .catalog
                    .transition(
                        &request.id,
                        RequestState::Fulfilled,
                        Person::named(AUTOMATION),
                        Some(done.note.clone()),
                    )
                    .await?;
                Ok(Handled {
                    request,
                    automation: AutomationOutcome::Fulfilled { note: done.note },
                })
            }
            Err(e) => {
                let error = e.to_string();
                let attempt = request
                    .comments
                    .iter()
                    .filter(|c| c.author.name == AUTOMATION)
                    .count()
                    + 1;
                let key =
                    IdempotencyKey::new(format!("{}/automation-failed/{attempt}", request.id))?;
                let comment = Comment {
                    author: Person::named(AUTOMATION),
                    text: format!(
                        "automation failed: {error}; the request waits in team {}'s queue for \
                         a person",
                        request.team
                    ),
                    at: None,
                };
                let request = self.catalog.comment(&request.id, &key, &comment).await?;
                Ok(Handled {
                    request,
                    automation: AutomationOutcome::Failed { error },
                })
            }
        }
    }
}

/// The name of a state in messages (`in_progress`).
pub fn state_name(state: RequestState) -> &'static str {
    match state {
        RequestState::Submitted => "submitted",
        RequestState::Triaged => "triaged",
        RequestState::InProgress => "in_progress",
        RequestState::WaitingOnRequester => "waiting_on_requester",
        RequestState::Fulfilled => "fulfilled",
        RequestState::Rejected => "rejected",
        RequestState::Cancelled => "cancelled",
    }
}
