//! The incident workflow (I1-I7): an alert fires -> an incident in the ticketing system and
//! a page on the paging platform, linked both ways; acknowledge, reassign, notes and
//! resolution on both sides; major incidents. Generic over the ports.
//!
//! Every port call is keyed (the alert's dedup key, keys derived from it), so a call can be
//! repeated after any failure: the repeat completes the missing steps and creates nothing
//! twice. A failure on one side does not stop the other: the error names every failed step
//! and every step that succeeded.

mod actions;
mod major;
mod report;

use std::collections::BTreeMap;
use std::sync::Arc;

use itsm_core::{
    Clock, ExternalRef, IdempotencyKey, Notifier, Person, Recipient, Result, format_instant,
};
use serde::{Deserialize, Serialize};

pub use actions::ActionReport;
pub use major::{EngagedTeam, MajorIncidentOutcome, UncoveredTeam};
pub use report::{Step, StepReport, StepStatus};

use crate::alert::Alert;
use crate::model::{
    Assignment, Incident, NewIncident, NewPage, Note, Page, PageId, PageStatus, Resolution,
    ServiceKind,
};
use crate::profile::{AlertPlan, AlertingProfile};
use crate::system::{IncidentSystem, Pager, capability};
use crate::team::TeamDirectory;
use report::Steps;

/// PagerDuty's limit on a page summary, in characters.
const MAX_PAGE_SUMMARY: usize = 1024;

/// Who and what the workflow names: the two systems, the incident manager, the close code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowSettings {
    /// The ticketing system's name in [`ExternalRef`]s (`servicenow`, `jira`, `local`).
    pub ticketing_system: String,
    /// The paging platform's name in [`ExternalRef`]s (`pagerduty`, `victorops`, `local`).
    pub paging_system: String,
    /// The incident manager, notified and requested as responder for a major incident;
    /// `None` notifies the `incident-manager` role.
    #[serde(default)]
    pub incident_manager: Option<Person>,
    /// The incident managers' escalation policy on the paging platform, requested as
    /// responder for a major incident.
    #[serde(default)]
    pub incident_manager_policy: Option<String>,
    /// The close code of incidents resolved because their alert resolved.
    pub resolution_code: String,
}

impl Default for WorkflowSettings {
    fn default() -> Self {
        WorkflowSettings {
            ticketing_system: "ticketing".to_owned(),
            paging_system: "paging".to_owned(),
            incident_manager: None,
            incident_manager_policy: None,
            resolution_code: "Resolved by alert".to_owned(),
        }
    }
}

impl WorkflowSettings {
    fn incident_manager_recipient(&self) -> Recipient {
        match &self.incident_manager {
            Some(person) => Recipient::Person(person.clone()),
            None => Recipient::Role("incident-manager".to_owned()),
        }
    }
}

/// What [`IncidentWorkflow::handle_alert`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum AlertOutcome {
    /// The profile neither pages nor tickets this alert (below the ticket threshold).
    Dropped {
        /// The plan, whose `reason` says why.
        plan: AlertPlan,
    },
    /// A firing alert: the incident and the page exist and are linked (as the plan says).
    Opened(Box<AlertReport>),
    /// A firing alert whose incident is already resolved: left alone, not reopened.
    AlreadyResolved {
        /// The resolved incident.
        incident: Box<Incident>,
    },
    /// A resolved alert: its incident and page are resolved.
    Resolved(Box<AlertReport>),
    /// A resolved alert with neither an incident nor a page: nothing to do.
    NothingToResolve,
}

/// The records an alert touched and the steps taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertReport {
    /// The profile's plan (firing alerts).
    pub plan: Option<AlertPlan>,
    /// The incident, as last returned by the ticketing system.
    pub incident: Option<Incident>,
    /// The page, as last returned by the paging platform.
    pub page: Option<Page>,
    /// Every step, in order.
    pub steps: Vec<StepReport>,
}

/// The incident workflow over the ticketing system, the paging platform, the team directory
/// and the notifier.
///
/// ```no_run
/// # async fn run(
/// #     incidents: std::sync::Arc<dyn itsm_incident::IncidentSystem>,
/// #     pager: std::sync::Arc<dyn itsm_incident::Pager>,
/// #     teams: std::sync::Arc<dyn itsm_incident::TeamDirectory>,
/// #     notifier: std::sync::Arc<dyn itsm_core::Notifier>,
/// #     alert: itsm_incident::Alert,
/// # ) -> itsm_core::Result<()> {
/// use std::sync::Arc;
/// use itsm_core::SystemClock;
/// use itsm_incident::workflow::{AlertOutcome, IncidentWorkflow, WorkflowSettings};
/// use itsm_incident::AlertingProfile;
///
/// let workflow = IncidentWorkflow::new(
///     incidents, pager, teams, notifier, Arc::new(SystemClock), WorkflowSettings::default(),
/// );
/// let profile = AlertingProfile::default_profile();
/// // Safe to call again after an error: completed steps are found, not repeated.
/// if let AlertOutcome::Opened(report) = workflow.handle_alert(&alert, &profile).await? {
///     println!("incident {:?}, page {:?}", report.incident, report.page);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct IncidentWorkflow {
    incidents: Arc<dyn IncidentSystem>,
    pager: Arc<dyn Pager>,
    teams: Arc<dyn TeamDirectory>,
    notifier: Arc<dyn Notifier>,
    clock: Arc<dyn Clock>,
    settings: WorkflowSettings,
}

impl IncidentWorkflow {
    /// A workflow over the given ports.
    pub fn new(
        incidents: Arc<dyn IncidentSystem>,
        pager: Arc<dyn Pager>,
        teams: Arc<dyn TeamDirectory>,
        notifier: Arc<dyn Notifier>,
        clock: Arc<dyn Clock>,
        settings: WorkflowSettings,
    ) -> Self {
        IncidentWorkflow {
            incidents,
            pager,
            teams,
            notifier,
            clock,
            settings,
        }
    }

    /// The settings.
    pub fn settings(&self) -> &WorkflowSettings {
        &self.settings
    }

    /// Acts on one alert under `profile`.
    ///
    /// Firing: opens the incident (keyed by the alert's dedup key, assigned to the alert's
    /// service with the plan's team or the service's owner), pages (same key; the page's
    /// details name the incident), and links the page onto the incident. An incident with
    /// this key that is already resolved is left alone ([`AlertOutcome::AlreadyResolved`]).
    ///
    /// Resolved: resolves the incident and the page; with neither,
    /// [`AlertOutcome::NothingToResolve`].
    ///
    /// Idempotent and resumable: on an error (which names the failed and the completed
    /// steps), calling again completes what is missing and creates nothing twice. So an
    /// error of a passing kind (timed out, unavailable, rate limited) is retryable here even
    /// when the failed request was a write that may have acted (which a client must not
    /// repeat on its own): every step looks its record up by the key before it writes.
    pub async fn handle_alert(
        &self,
        alert: &Alert,
        profile: &AlertingProfile,
    ) -> Result<AlertOutcome> {
        let outcome = if alert.is_firing() {
            self.open(alert, profile).await
        } else {
            self.close(alert).await
        };
        outcome.map_err(|e| {
            if e.kind().is_retryable() {
                e.with_retryable(true)
            } else {
                e
            }
        })
    }

    async fn open(&self, alert: &Alert, profile: &AlertingProfile) -> Result<AlertOutcome> {
        let plan = profile.plan(alert);
        if !plan.ticket && !plan.page {
            return Ok(AlertOutcome::Dropped { plan });
        }
        let key = &alert.dedup_key;
        let mut steps = Steps::default();

        let mut incident = None;
        if plan.ticket {
            match self.incidents.find_incident_by_key(key).await {
                Ok(Some(found)) if found.state.is_resolved() => {
                    return Ok(AlertOutcome::AlreadyResolved {
                        incident: Box::new(found),
                    });
                }
                Ok(Some(found)) => {
                    steps.already(Step::CreateIncident);
                    incident = Some(found);
                }
                Ok(None) => {
                    let created = self.create_incident(alert, &plan).await;
                    incident = steps.record(Step::CreateIncident, created);
                }
                Err(e) => steps.fail(Step::CreateIncident, None, e),
            }
        } else {
            steps.skip(Step::CreateIncident, plan.reason.clone());
        }

        let mut page = None;
        let mut page_existed = false;
        if plan.page {
            match self.pager.find_page_by_key(key).await {
                Ok(Some(found)) => {
                    steps.already(Step::TriggerPage);
                    page_existed = true;
                    page = Some(found);
                }
                Ok(None) => {
                    let new_page = self.new_page(alert, &plan, incident.as_ref());
                    page =
                        steps.record(Step::TriggerPage, self.pager.trigger(key, &new_page).await);
                }
                Err(e) => steps.fail(Step::TriggerPage, None, e),
            }
        } else {
            steps.skip(Step::TriggerPage, plan.reason.clone());
        }

        if let (Some(current), Some(paged)) = (&incident, &page) {
            if page_existed {
                self.note_incident_on_page(current, paged, key, &mut steps)
                    .await;
            }
            if let Some(linked) = self.link_page(current, paged, key, &mut steps).await {
                incident = Some(linked);
            }
        }

        let steps = steps.finish(&format!("firing alert {key}"))?;
        Ok(AlertOutcome::Opened(Box::new(AlertReport {
            plan: Some(plan),
            incident,
            page,
            steps,
        })))
    }

    async fn create_incident(&self, alert: &Alert, plan: &AlertPlan) -> Result<Incident> {
        let team = match &plan.team {
            Some(team) => Some(team.clone()),
            None => self.teams.owner_of(&alert.service).await?.map(|t| t.id),
        };
        let mut description = alert.description.clone();
        if !description.is_empty() {
            description.push_str("\n\n");
        }
        description.push_str(&format!(
            "Alert {} from {} on {}: {}, firing since {}.\nAlert key: {}\nProfile: {}",
            alert.name,
            alert.source,
            alert.service,
            plan.severity,
            format_instant(alert.starts_at),
            alert.dedup_key,
            plan.reason
        ));
        let new = NewIncident {
            summary: summary_of(alert),
            description,
            priority: plan.priority,
            assignment: Assignment {
                service: alert.service.clone(),
                kind: ServiceKind::DigitalService,
                team,
            },
            tenant: alert.tenant.clone(),
            links_to: Vec::new(),
            links: plan.links.clone(),
        };
        self.incidents.create_incident(&alert.dedup_key, &new).await
    }

    fn new_page(&self, alert: &Alert, plan: &AlertPlan, incident: Option<&Incident>) -> NewPage {
        let mut details: BTreeMap<String, String> = alert.labels.clone();
        details.insert("priority".to_owned(), plan.priority.to_string());
        if let Some(incident) = incident {
            details.insert("incident".to_owned(), incident_name(incident).to_owned());
            details.insert("incident_id".to_owned(), incident.id.to_string());
            details.insert(
                "incident_system".to_owned(),
                self.settings.ticketing_system.clone(),
            );
            if let Some(url) = incident.external.as_ref().and_then(|r| r.url.as_ref()) {
                details.insert("incident_url".to_owned(), url.to_string());
            }
        }
        NewPage {
            summary: summary_of(alert).chars().take(MAX_PAGE_SUMMARY).collect(),
            severity: plan.severity,
            source: format!("{}/{}", alert.source, alert.name),
            service: alert.service.clone(),
            // A team the profile routes to; without one the pager's own routing for the
            // service applies (the local pager reads a team id, adapters map it).
            routing: plan.team.as_ref().map(ToString::to_string),
            links: plan.links.clone(),
            details,
        }
    }

    /// The reference to `page` that the incident links to.
    fn page_ref(&self, page: &Page, key: &IdempotencyKey) -> ExternalRef {
        page.external.clone().unwrap_or_else(|| {
            let id = page.id.as_ref().map_or(key.as_str(), PageId::as_str);
            ExternalRef::new(self.settings.paging_system.clone(), id)
        })
    }

    async fn link_page(
        &self,
        incident: &Incident,
        page: &Page,
        key: &IdempotencyKey,
        steps: &mut Steps,
    ) -> Option<Incident> {
        let reference = self.page_ref(page, key);
        if incident
            .links_to
            .iter()
            .any(|r| r.system == reference.system && r.id == reference.id)
        {
            steps.already(Step::LinkPage);
            return None;
        }
        let caps = self.incidents.capabilities();
        if steps.skip_unsupported(Step::LinkPage, None, &caps, capability::INCIDENT_LINKS) {
            return None;
        }
        let linked = self.incidents.link(&incident.id, &reference).await;
        steps.record(Step::LinkPage, linked)
    }

    /// A page triggered before its incident existed does not name it: add a note that does.
    async fn note_incident_on_page(
        &self,
        incident: &Incident,
        page: &Page,
        key: &IdempotencyKey,
        steps: &mut Steps,
    ) {
        let caps = self.pager.capabilities();
        if steps.skip_unsupported(
            Step::NoteIncidentOnPage,
            None,
            &caps,
            capability::PAGE_NOTES,
        ) {
            return;
        }
        let Some(page_id) = &page.id else {
            steps.skip(
                Step::NoteIncidentOnPage,
                "the paging platform has not given the page an id yet",
            );
            return;
        };
        let mut text = format!(
            "Incident {} in {}",
            incident_name(incident),
            self.settings.ticketing_system
        );
        if let Some(url) = incident.external.as_ref().and_then(|r| r.url.as_ref()) {
            text.push_str(&format!(": {url}"));
        }
        let result = async {
            let note_key = IdempotencyKey::new(format!("{key}/incident-ref"))?;
            let note = Note { text, author: None };
            self.pager.add_note(page_id, &note_key, &note).await
        };
        steps.record(Step::NoteIncidentOnPage, result.await);
    }

    async fn close(&self, alert: &Alert) -> Result<AlertOutcome> {
        let key = &alert.dedup_key;
        let mut steps = Steps::default();
        let incident = match self.incidents.find_incident_by_key(key).await {
            Ok(found) => found,
            Err(e) => {
                steps.fail(Step::ResolveIncident, None, e);
                None
            }
        };
        let page = match self.pager.find_page_by_key(key).await {
            Ok(found) => found,
            Err(e) => {
                steps.fail(Step::ResolvePage, None, e);
                None
            }
        };
        if !steps.has_failures() && incident.is_none() && page.is_none() {
            return Ok(AlertOutcome::NothingToResolve);
        }

        let incident = match incident {
            Some(found) if found.state.is_resolved() => {
                steps.already(Step::ResolveIncident);
                Some(found)
            }
            Some(found) => {
                let resolution = Resolution {
                    code: self.settings.resolution_code.clone(),
                    notes: format!(
                        "The alert {} cleared at {}.",
                        alert.name,
                        format_instant(alert.ends_at.unwrap_or_else(|| self.clock.now()))
                    ),
                    by: None,
                };
                let resolved = self.incidents.resolve(&found.id, &resolution).await;
                steps
                    .record(Step::ResolveIncident, resolved)
                    .or(Some(found))
            }
            None => None,
        };

        // An event-only platform may not find its pages by key; the incident's link says
        // there is one to resolve.
        let linked_page = incident.as_ref().is_some_and(|i| {
            i.links_to
                .iter()
                .any(|r| r.system == self.settings.paging_system)
        });
        let page = match page {
            Some(found) if found.status == PageStatus::Resolved => {
                steps.already(Step::ResolvePage);
                Some(found)
            }
            Some(mut found) => {
                if steps
                    .record(Step::ResolvePage, self.pager.resolve(key, None).await)
                    .is_some()
                {
                    found.status = PageStatus::Resolved;
                }
                Some(found)
            }
            None if linked_page => {
                steps.record(Step::ResolvePage, self.pager.resolve(key, None).await);
                None
            }
            None => None,
        };

        let steps = steps.finish(&format!("resolved alert {key}"))?;
        Ok(AlertOutcome::Resolved(Box::new(AlertReport {
            plan: None,
            incident,
            page,
            steps,
        })))
    }
}

/// The number a person quotes, else the id.
fn incident_name(incident: &Incident) -> &str {
    incident.number.as_deref().unwrap_or(incident.id.as_str())
}

/// The alert's summary, else its name.
fn summary_of(alert: &Alert) -> String {
    if alert.summary.trim().is_empty() {
        alert.name.clone()
    } else {
        alert.summary.clone()
    }
}
