//! Acknowledge (I3), reassign (I4), notes (I6) and resolve (I7), on both sides.

use itsm_core::{IdempotencyKey, Person, Result};
use serde::{Deserialize, Serialize};

use super::IncidentWorkflow;
use super::report::{Step, StepReport, Steps};
use crate::model::{
    Assignment, Incident, IncidentId, IncidentState, Note, PageAssignment, PageId, Resolution,
};
use crate::system::capability;

/// What an action on an incident did on both sides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionReport {
    /// The incident as last returned by the ticketing system, when it answered.
    pub incident: Option<Incident>,
    /// Every step, in order.
    pub steps: Vec<StepReport>,
}

impl IncidentWorkflow {
    /// Acknowledges the incident (I3) and its page. Repeating it is harmless.
    pub async fn acknowledge(&self, id: &IncidentId, by: Option<Person>) -> Result<ActionReport> {
        let mut steps = Steps::default();
        let set = self
            .incidents
            .set_state(id, IncidentState::Acknowledged, by.clone())
            .await;
        let incident = steps.record(Step::AcknowledgeIncident, set);
        if let Some(key) = self
            .alert_key(id, incident.as_ref(), Step::AcknowledgePage, &mut steps)
            .await
        {
            let acked = self.pager.acknowledge(&key, by).await;
            steps.record(Step::AcknowledgePage, acked);
        }
        finish(incident, steps, &format!("acknowledging incident {id}"))
    }

    /// Reassigns the incident to another digital service, COTS application or foundational
    /// system (I4), and, when the platform supports it, the page to the team (the one
    /// named, else the service's owner).
    pub async fn reassign(&self, id: &IncidentId, to: &Assignment) -> Result<ActionReport> {
        let mut steps = Steps::default();
        let mut incident = None;
        let caps = self.incidents.capabilities();
        if !steps.skip_unsupported(
            Step::ReassignIncident,
            None,
            &caps,
            capability::INCIDENT_REASSIGN,
        ) {
            incident = steps.record(
                Step::ReassignIncident,
                self.incidents.reassign(id, to).await,
            );
        }
        let caps = self.pager.capabilities();
        if !steps.skip_unsupported(Step::ReassignPage, None, &caps, capability::PAGE_REASSIGN) {
            let team = match &to.team {
                Some(team) => Ok(Some(team.clone())),
                None => self
                    .teams
                    .owner_of(&to.service)
                    .await
                    .map(|t| t.map(|t| t.id)),
            };
            match team {
                Err(e) => steps.fail(Step::ReassignPage, None, e),
                Ok(None) => steps.skip(
                    Step::ReassignPage,
                    format!("no team is named and none owns {}", to.service),
                ),
                Ok(Some(team)) => {
                    if let Some(page_id) = self
                        .page_of(id, incident.as_ref(), Step::ReassignPage, &mut steps)
                        .await
                    {
                        let moved = self
                            .pager
                            .reassign(&page_id, &PageAssignment::Team(team))
                            .await;
                        steps.record(Step::ReassignPage, moved);
                    }
                }
            }
        }
        finish(incident, steps, &format!("reassigning incident {id}"))
    }

    /// Adds an in-progress note (I6) to the incident and its page; the same `key` adds it
    /// once on each side.
    pub async fn add_note(
        &self,
        id: &IncidentId,
        key: &IdempotencyKey,
        note: &Note,
    ) -> Result<ActionReport> {
        let mut steps = Steps::default();
        let caps = self.incidents.capabilities();
        if !steps.skip_unsupported(Step::NoteIncident, None, &caps, capability::INCIDENT_NOTES) {
            let added = self.incidents.add_note(id, key, note).await;
            steps.record(Step::NoteIncident, added);
        }
        let caps = self.pager.capabilities();
        if !steps.skip_unsupported(Step::NotePage, None, &caps, capability::PAGE_NOTES)
            && let Some(page_id) = self.page_of(id, None, Step::NotePage, &mut steps).await
        {
            let added = self.pager.add_note(&page_id, key, note).await;
            steps.record(Step::NotePage, added);
        }
        finish(None, steps, &format!("adding a note to incident {id}"))
    }

    /// Resolves the incident (I7) and its page. Repeating it is harmless.
    pub async fn resolve(&self, id: &IncidentId, resolution: &Resolution) -> Result<ActionReport> {
        let mut steps = Steps::default();
        let incident = steps.record(
            Step::ResolveIncident,
            self.incidents.resolve(id, resolution).await,
        );
        if let Some(key) = self
            .alert_key(id, incident.as_ref(), Step::ResolvePage, &mut steps)
            .await
        {
            let resolved = self.pager.resolve(&key, resolution.by.clone()).await;
            steps.record(Step::ResolvePage, resolved);
        }
        finish(incident, steps, &format!("resolving incident {id}"))
    }

    /// The alert key both records share: from `known`, else read from the ticketing system.
    /// A missing key or failed read is recorded against `step`.
    pub(super) async fn alert_key(
        &self,
        id: &IncidentId,
        known: Option<&Incident>,
        step: Step,
        steps: &mut Steps,
    ) -> Option<IdempotencyKey> {
        let key = match known {
            Some(incident) => incident.key.clone(),
            None => match self.incidents.get_incident(id).await {
                Ok(incident) => incident.key,
                Err(e) => {
                    steps.fail(step, None, e);
                    return None;
                }
            },
        };
        if key.is_none() {
            steps.skip(
                step,
                format!("incident {id} has no alert key, so its page cannot be found"),
            );
        }
        key
    }

    /// The platform id of the incident's page, recording against `step` why there is none.
    pub(super) async fn page_of(
        &self,
        id: &IncidentId,
        known: Option<&Incident>,
        step: Step,
        steps: &mut Steps,
    ) -> Option<PageId> {
        let key = self.alert_key(id, known, step, steps).await?;
        match self.pager.find_page_by_key(&key).await {
            Ok(Some(page)) => {
                if page.id.is_none() {
                    steps.skip(step, "the paging platform has not given the page an id yet");
                }
                page.id
            }
            Ok(None) => {
                steps.skip(step, format!("no page has the alert key {key}"));
                None
            }
            Err(e) => {
                steps.fail(Step::FindPage, None, e);
                None
            }
        }
    }
}

fn finish(incident: Option<Incident>, steps: Steps, what: &str) -> Result<ActionReport> {
    let steps = steps.finish(what)?;
    Ok(ActionReport { incident, steps })
}
