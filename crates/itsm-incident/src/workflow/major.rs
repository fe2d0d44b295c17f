//! Declaring a major incident (I5).

use std::fmt::Write as _;

use itsm_core::{
    IdempotencyKey, Notification, NotificationTopic, Person, Recipient, Result, TeamId,
};
use serde::{Deserialize, Serialize};

use super::report::{Step, StepReport, StepStatus, Steps};
use super::{IncidentWorkflow, incident_name};
use crate::model::{Incident, IncidentId, Note, OnCallQuery, PageId, ResponderRequest};
use crate::system::capability;
use crate::team::{Team, TeamKind};

/// An on-call product team engaged for a major incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngagedTeam {
    /// The team.
    pub team: TeamId,
    /// Its display name.
    pub name: String,
    /// Who is on call for it now, when the platform can tell.
    pub on_call: Vec<Person>,
    /// Requested as responder on the page.
    pub paged: bool,
    /// Notified.
    pub notified: bool,
}

/// A product team without an out-of-hours rotation: phone its runbook contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UncoveredTeam {
    /// The team.
    pub team: TeamId,
    /// Its display name.
    pub name: String,
    /// Whom to contact, when the directory has it.
    pub runbook_contact: Option<String>,
}

/// What [`IncidentWorkflow::declare_major`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MajorIncidentOutcome {
    /// The incident, as last returned by the ticketing system.
    pub incident: Incident,
    /// The incident was already major: nothing was sent again and `engaged` is empty.
    pub already_declared: bool,
    /// The incident manager was notified.
    pub manager_notified: bool,
    /// The incident manager was requested as responder on the page.
    pub manager_paged: bool,
    /// The on-call product teams engaged.
    pub engaged: Vec<EngagedTeam>,
    /// The product teams without an out-of-hours rotation, with their runbook contact.
    pub uncovered: Vec<UncoveredTeam>,
    /// Every step, in order.
    pub steps: Vec<StepReport>,
}

impl IncidentWorkflow {
    /// Declares a major incident (I5): notifies the incident manager and requests them as
    /// responder on the page; engages every on-call product team with an out-of-hours
    /// rotation (responder request and notification); lists the product teams without one,
    /// with their runbook contact, in the outcome and in a note on the incident; and flags the
    /// incident major.
    ///
    /// The flag is set last, only when every other step succeeded, and marks the
    /// declaration done: a re-run after a failure redoes the missing steps (each keyed, so
    /// nobody is notified twice where the channel deduplicates), a re-run after success sends
    /// nothing. Calls the backends do not support are skipped and reported.
    pub async fn declare_major(
        &self,
        id: &IncidentId,
        by: Person,
        message: &str,
    ) -> Result<MajorIncidentOutcome> {
        let incident = self.incidents.get_incident(id).await?;
        let mut product: Vec<Team> = self
            .teams
            .list_teams()
            .await?
            .into_iter()
            .filter(|t| t.kind == TeamKind::Product)
            .collect();
        product.sort_by(|a, b| a.id.cmp(&b.id));
        let (covered, uncovered): (Vec<Team>, Vec<Team>) =
            product.into_iter().partition(|t| t.out_of_hours);
        let uncovered: Vec<UncoveredTeam> = uncovered
            .into_iter()
            .map(|t| UncoveredTeam {
                team: t.id,
                name: t.name,
                runbook_contact: t.runbook_contact,
            })
            .collect();
        let mut outcome = MajorIncidentOutcome {
            already_declared: incident.major,
            incident,
            manager_notified: false,
            manager_paged: false,
            engaged: Vec::new(),
            uncovered,
            steps: Vec::new(),
        };
        if outcome.already_declared {
            return Ok(outcome);
        }

        let mut steps = Steps::default();
        let page_id = self
            .page_of(id, Some(&outcome.incident), Step::FindPage, &mut steps)
            .await;
        let uncovered_text = uncovered_text(&outcome.uncovered);
        let base = format!("incident/{id}/major");

        let manager = Notification {
            key: IdempotencyKey::new(format!("{base}/incident-manager"))?,
            topic: NotificationTopic::MajorIncident,
            recipients: vec![self.settings.incident_manager_recipient()],
            subject: format!(
                "Major incident {}: {}",
                incident_name(&outcome.incident),
                outcome.incident.summary
            ),
            body: format!("{message}\n\nDeclared by {by}.\n\n{uncovered_text}"),
            links: outcome.incident.links.clone(),
            about: outcome.incident.external.iter().cloned().collect(),
        };
        let notified = self.notifier.notify(&manager).await;
        outcome.manager_notified = steps
            .record(Step::NotifyIncidentManager, notified)
            .is_some();

        let manager_request = ResponderRequest {
            teams: Vec::new(),
            escalation_policies: self
                .settings
                .incident_manager_policy
                .iter()
                .cloned()
                .collect(),
            people: self.settings.incident_manager.iter().cloned().collect(),
            message: message.to_owned(),
            requester: by.clone(),
        };
        if manager_request.people.is_empty() && manager_request.escalation_policies.is_empty() {
            steps.skip(
                Step::PageIncidentManager,
                "no incident manager or escalation policy is configured",
            );
        } else {
            outcome.manager_paged = self
                .request_responders(
                    page_id.as_ref(),
                    &format!("{base}/responders/incident-manager"),
                    &manager_request,
                    Step::PageIncidentManager,
                    None,
                    &mut steps,
                )
                .await;
        }

        for team in covered {
            let engaged = self
                .engage(
                    &team,
                    page_id.as_ref(),
                    &base,
                    &manager,
                    &by,
                    message,
                    &mut steps,
                )
                .await?;
            outcome.engaged.push(engaged);
        }

        if !outcome.uncovered.is_empty() {
            let caps = self.incidents.capabilities();
            if !steps.skip_unsupported(
                Step::NoteUncoveredTeams,
                None,
                &caps,
                capability::INCIDENT_NOTES,
            ) {
                let note = Note {
                    text: uncovered_text,
                    author: Some(by.clone()),
                };
                let key = IdempotencyKey::new(format!("{base}/uncovered-teams"))?;
                let added = self.incidents.add_note(id, &key, &note).await;
                steps.record(Step::NoteUncoveredTeams, added);
            }
        }

        if steps.has_failures() {
            steps.skip(
                Step::MarkMajor,
                "left for the retry: an earlier step failed",
            );
        } else {
            let caps = self.incidents.capabilities();
            if !steps.skip_unsupported(Step::MarkMajor, None, &caps, capability::INCIDENT_MAJOR)
                && let Some(marked) =
                    steps.record(Step::MarkMajor, self.incidents.set_major(id, true).await)
            {
                outcome.incident = marked;
            }
        }
        outcome.steps = steps.finish(&format!("declaring incident {id} major"))?;
        Ok(outcome)
    }

    /// Engages one on-call team: who is on call, a responder request, a notification.
    #[allow(clippy::too_many_arguments)]
    async fn engage(
        &self,
        team: &Team,
        page_id: Option<&PageId>,
        base: &str,
        manager: &Notification,
        by: &Person,
        message: &str,
        steps: &mut Steps,
    ) -> Result<EngagedTeam> {
        let about = Some(team.id.as_str());
        let mut on_call = Vec::new();
        let caps = self.pager.capabilities();
        if !steps.skip_unsupported(Step::LookUpOnCall, about, &caps, capability::ON_CALL) {
            // Who is on call only names people in the outcome; a failed lookup is reported
            // but does not hold up the declaration.
            match self
                .pager
                .on_call(&OnCallQuery::Team(team.id.clone()))
                .await
            {
                Ok(shifts) => {
                    steps.push(Step::LookUpOnCall, about, StepStatus::Done);
                    for shift in shifts {
                        if !on_call.contains(&shift.person) {
                            on_call.push(shift.person);
                        }
                    }
                }
                Err(e) => steps.push(
                    Step::LookUpOnCall,
                    about,
                    StepStatus::Skipped(format!("the on-call lookup failed: {e}")),
                ),
            }
        }
        let request = ResponderRequest {
            teams: vec![team.id.clone()],
            escalation_policies: Vec::new(),
            people: Vec::new(),
            message: message.to_owned(),
            requester: by.clone(),
        };
        let paged = self
            .request_responders(
                page_id,
                &format!("{base}/responders/team/{}", team.id),
                &request,
                Step::PageTeam,
                about,
                steps,
            )
            .await;
        let notification = Notification {
            key: IdempotencyKey::new(format!("{base}/team/{}", team.id))?,
            recipients: vec![Recipient::Team(team.id.clone())],
            ..manager.clone()
        };
        let notified = self.notifier.notify(&notification).await;
        let notified = steps
            .record_about(Step::NotifyTeam, about, notified)
            .is_some();
        Ok(EngagedTeam {
            team: team.id.clone(),
            name: team.name.clone(),
            on_call,
            paged,
            notified,
        })
    }

    /// Requests responders on the page when the platform supports it and the page has an
    /// id; whether it was done.
    async fn request_responders(
        &self,
        page_id: Option<&PageId>,
        key: &str,
        request: &ResponderRequest,
        step: Step,
        about: Option<&str>,
        steps: &mut Steps,
    ) -> bool {
        let caps = self.pager.capabilities();
        if steps.skip_unsupported(step, about, &caps, capability::PAGE_RESPONDERS) {
            return false;
        }
        let Some(page_id) = page_id else {
            steps.push(
                step,
                about,
                StepStatus::Skipped("the incident has no page with an id".to_owned()),
            );
            return false;
        };
        let result = async {
            let key = IdempotencyKey::new(key)?;
            self.pager.request_responders(page_id, &key, request).await
        };
        steps.record_about(step, about, result.await).is_some()
    }
}

/// The teams without an out-of-hours rotation, one line each, for notes and notifications.
fn uncovered_text(teams: &[UncoveredTeam]) -> String {
    if teams.is_empty() {
        return "Every product team has an out-of-hours on-call rotation.".to_owned();
    }
    let mut text =
        "Product teams without an out-of-hours on-call rotation; phone their runbook contact:\n"
            .to_owned();
    for team in teams {
        let contact = team
            .runbook_contact
            .as_deref()
            .unwrap_or("no runbook contact recorded");
        let _ = writeln!(text, "- {} ({}): {contact}", team.name, team.team);
    }
    text
}
