//! The change workflow a pipeline drives: raise (after the last pre-production step), gate
//! (before production), close (after production), emergency (break-glass), each with a dry
//! run, generic over `Arc<dyn ChangeSystem>`.
//!
//! Every step is keyed by service, version, environment and pipeline run, so re-running a
//! pipeline returns the change it already made instead of making a second one.

use std::fmt::Write as _;
use std::sync::Arc;

use itsm_core::{
    Clock, CommitId, Environment, Error, ErrorKind, IdempotencyKey, Link, ListRequest,
    Notification, NotificationTopic, Notifier, Person, PipelineRunId, Recipient, Result, ServiceId,
    Version, format_instant,
};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::freeze::FreezeWindow;
use crate::model::{
    ApprovalState, ChangeFilter, ChangeKind, ChangeRequest, ChangeState, CloseCode, Closure,
    ConflictKind, NewChange, TemplateFilter, TemplateId, Window,
};
use crate::policy::{Candidate, Decision, Policy};
use crate::system::{ChangeSystem, capability};

/// The facts of one deployment that every step is keyed by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deployment {
    /// The service deployed.
    pub service: ServiceId,
    /// The version deployed.
    pub version: Version,
    /// The target environment.
    pub environment: Environment,
    /// The pipeline run.
    pub pipeline_run: PipelineRunId,
    /// Commits shipped.
    #[serde(default)]
    pub commits: Vec<CommitId>,
    /// Who runs the deployment.
    #[serde(default)]
    pub requested_by: Option<Person>,
    /// Links (the pipeline run).
    #[serde(default)]
    pub links: Vec<Link>,
}

impl Deployment {
    /// The idempotency key of one step of this deployment.
    pub fn step_key(&self, step: &str) -> IdempotencyKey {
        IdempotencyKey::for_pipeline_step(
            &self.service,
            &self.version,
            &self.environment,
            &self.pipeline_run,
            step,
        )
    }

    fn describe(&self) -> String {
        format!("{} {} in {}", self.service, self.version, self.environment)
    }
}

/// What [`ChangeWorkflow::raise`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RaiseOutcome {
    /// The policy's decision (for an existing change: its stored kind and reasons).
    pub decision: Decision,
    /// The change, `None` on a dry run that would create one.
    pub change: Option<ChangeRequest>,
    /// Whether a change with this step's key existed before the call (a re-run). A call that
    /// loses a race with a concurrent run also returns the one change, with `false` here.
    pub existed: bool,
    /// Whether nothing was written.
    pub dry_run: bool,
}

/// The gate's answer (C3). Fail closed: when the backend cannot be asked, the answer is
/// [`GateVerdict::CannotVerify`], never allowed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "verdict")]
pub enum GateVerdict {
    /// Deploy.
    Allowed {
        /// The approved change that allows it.
        change: Box<ChangeRequest>,
        /// One line for a person.
        reason: String,
        /// An emergency change overrode a freeze window (recorded on the change).
        freeze_overridden: bool,
    },
    /// Do not deploy: the policy says no.
    Denied {
        /// One line for a person.
        reason: String,
        /// The change that was found but does not allow it, if any.
        change: Option<Box<ChangeRequest>>,
    },
    /// Do not deploy: the backend could not be asked or answered unusably.
    CannotVerify {
        /// One line for a person.
        reason: String,
        /// The error kind that prevented verification.
        #[serde(skip)]
        kind: Option<ErrorKind>,
    },
}

impl GateVerdict {
    /// Whether the deployment may go ahead.
    pub fn is_allowed(&self) -> bool {
        matches!(self, GateVerdict::Allowed { .. })
    }

    /// The one-line reason.
    pub fn reason(&self) -> &str {
        match self {
            GateVerdict::Allowed { reason, .. }
            | GateVerdict::Denied { reason, .. }
            | GateVerdict::CannotVerify { reason, .. } => reason,
        }
    }
}

/// How a production deployment ended, for [`ChangeWorkflow::close`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentResult {
    /// Whether it succeeded.
    pub succeeded: bool,
    /// When it started.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub started_at: Option<OffsetDateTime>,
    /// When it finished (defaults to now).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
    /// Anything else to put in the close notes.
    #[serde(default)]
    pub notes: Option<String>,
}

/// The change workflow, generic over the change backend.
///
/// ```no_run
/// # async fn run(system: std::sync::Arc<dyn itsm_change::ChangeSystem>,
/// #              notifier: std::sync::Arc<dyn itsm_core::Notifier>) -> itsm_core::Result<()> {
/// use std::sync::Arc;
/// use itsm_change::{ChangeWorkflow, Deployment};
/// use itsm_core::{Environment, PipelineRunId, ServiceId, SystemClock, Version};
///
/// let workflow = ChangeWorkflow::new(system, notifier, Arc::new(SystemClock));
/// let deployment = Deployment {
///     service: ServiceId::new("checkout")?,
///     version: Version::new("1.4.2")?,
///     environment: Environment::production(),
///     pipeline_run: PipelineRunId::new("gh-991")?,
///     commits: vec![],
///     requested_by: None,
///     links: vec![],
/// };
/// let raised = workflow.raise(&deployment, false).await?;
/// println!("{}", raised.decision);
/// let verdict = workflow.gate(&deployment, false).await;
/// println!("{}", verdict.reason());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ChangeWorkflow {
    system: Arc<dyn ChangeSystem>,
    notifier: Arc<dyn Notifier>,
    clock: Arc<dyn Clock>,
    policy: Policy,
    freezes: Vec<FreezeWindow>,
    window: Duration,
    change_manager: Recipient,
}

/// Pages read at most when scanning a listing (the gate, the failure count).
const MAX_PAGES: usize = 20;

impl ChangeWorkflow {
    /// A workflow with the default policy, no freeze windows, a 24-hour planned window and
    /// the `change-manager` role as approver.
    pub fn new(
        system: Arc<dyn ChangeSystem>,
        notifier: Arc<dyn Notifier>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        ChangeWorkflow {
            system,
            notifier,
            clock,
            policy: Policy::default(),
            freezes: Vec::new(),
            window: Duration::hours(24),
            change_manager: Recipient::Role("change-manager".to_owned()),
        }
    }

    /// Sets the policy thresholds.
    pub fn with_policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// Sets the freeze windows.
    pub fn with_freezes(mut self, freezes: Vec<FreezeWindow>) -> Self {
        self.freezes = freezes;
        self
    }

    /// Sets how long a raised change's planned window lasts.
    pub fn with_window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// Sets who is notified when a normal change needs approval.
    pub fn with_change_manager(mut self, recipient: Recipient) -> Self {
        self.change_manager = recipient;
        self
    }

    /// The backend.
    pub fn system(&self) -> &Arc<dyn ChangeSystem> {
        &self.system
    }

    /// What the policy decides for `deployment` now, without writing anything.
    pub async fn classify(&self, deployment: &Deployment) -> Result<Decision> {
        self.classify_with(deployment, None).await
    }

    /// Like [`classify`](Self::classify), considering only the pinned `template` when given.
    pub async fn classify_with(
        &self,
        deployment: &Deployment,
        template: Option<&TemplateId>,
    ) -> Result<Decision> {
        let now = self.clock.now();
        let mut templates = if self
            .system
            .capabilities()
            .supports(capability::TEMPLATES_READ)
        {
            let filter = TemplateFilter {
                service: Some(deployment.service.clone()),
                active_only: false,
            };
            self.system
                .list_templates(&filter, &ListRequest::with_limit(100))
                .await?
                .items
        } else {
            Vec::new()
        };
        if let Some(pinned) = template {
            templates.retain(|t| &t.id == pinned);
        }
        let recent_failures = self.recent_failures(deployment, now).await?;
        Ok(self.policy.classify(&Candidate {
            service: &deployment.service,
            version: &deployment.version,
            environment: &deployment.environment,
            window: self.planned_window(now),
            templates: &templates,
            recent_failures,
            freezes: &self.freezes,
        }))
    }

    /// Raises the change for a deployment (C2): standard from the template and approved at
    /// once, or normal and submitted to the change manager, who is notified.
    ///
    /// Re-running with the same pipeline run returns the existing change (and finishes a
    /// submission that an earlier run left half done). With `dry_run`, nothing is written.
    pub async fn raise(&self, deployment: &Deployment, dry_run: bool) -> Result<RaiseOutcome> {
        self.raise_with(deployment, None, dry_run).await
    }

    /// Like [`raise`](Self::raise), but a standard change may only be made from the pinned
    /// `template` (without it, or when it is not usable, the change is normal).
    pub async fn raise_with(
        &self,
        deployment: &Deployment,
        template: Option<&TemplateId>,
        dry_run: bool,
    ) -> Result<RaiseOutcome> {
        let key = deployment.step_key("raise");
        if let Some(existing) = self.system.find_change_by_key(&key).await? {
            let existing = if dry_run {
                existing
            } else {
                self.finish_submission(existing).await?
            };
            return Ok(RaiseOutcome {
                decision: decision_of(&existing),
                change: Some(existing),
                existed: true,
                dry_run,
            });
        }
        let decision = self.classify_with(deployment, template).await?;
        if dry_run {
            return Ok(RaiseOutcome {
                decision,
                change: None,
                existed: false,
                dry_run,
            });
        }
        let now = self.clock.now();
        let new = NewChange {
            kind: decision.kind,
            template: decision.template.clone(),
            service: deployment.service.clone(),
            version: deployment.version.clone(),
            environment: deployment.environment.clone(),
            summary: format!("Deploy {}", deployment.describe()),
            description: format!(
                "Raised by pipeline run {} after the last pre-production step.\n{}",
                deployment.pipeline_run, decision
            ),
            window: Some(self.planned_window(now)),
            commits: deployment.commits.clone(),
            pipeline_run: Some(deployment.pipeline_run.clone()),
            requested_by: deployment.requested_by.clone(),
            assignment_team: None,
            reasons: decision.reasons.clone(),
            retroactive: false,
            links: deployment.links.clone(),
        };
        let change = self.system.create_change(&key, &new).await?;
        let change = self.finish_submission(change).await?;
        Ok(RaiseOutcome {
            decision,
            change: Some(change),
            existed: false,
            dry_run,
        })
    }

    /// Normal changes not yet submitted are submitted, and the change manager is notified
    /// (the notification is keyed, so a re-run does not notify twice).
    async fn finish_submission(&self, change: ChangeRequest) -> Result<ChangeRequest> {
        if change.kind != ChangeKind::Normal || change.state.is_terminal() {
            return Ok(change);
        }
        let change = match change.approval {
            ApprovalState::NotRequested => self.system.request_approval(&change.id).await?,
            _ => change,
        };
        if change.approval == ApprovalState::Requested {
            self.notifier
                .notify(&self.approval_notification(&change)?)
                .await?;
        }
        Ok(change)
    }

    fn approval_notification(&self, change: &ChangeRequest) -> Result<Notification> {
        let mut body = format!(
            "{} ({} {} to {}) needs your approval.\nWhy it is not a standard change:\n",
            change.number.as_deref().unwrap_or(change.id.as_str()),
            change.service,
            change.version,
            change.environment
        );
        for reason in &change.reasons {
            let _ = writeln!(body, "- {reason}");
        }
        Ok(Notification {
            key: IdempotencyKey::new(format!("change/{}/approval-requested", change.id))?,
            topic: NotificationTopic::ChangeApprovalRequested,
            recipients: vec![self.change_manager.clone()],
            subject: format!("Approve change {}: {}", change.id, change.summary),
            body,
            links: change.links.clone(),
            about: change.external.iter().cloned().collect(),
        })
    }

    /// The deployment gate (C3): allowed only when an approved change exists for this
    /// service, version and environment, is not cancelled or closed, its planned window
    /// contains now, and no freeze window applies (an emergency change overrides a freeze,
    /// which is recorded on the change unless `dry_run`).
    ///
    /// Fails closed: any backend error gives [`GateVerdict::CannotVerify`].
    pub async fn gate(&self, deployment: &Deployment, dry_run: bool) -> GateVerdict {
        match self.try_gate(deployment, dry_run).await {
            Ok(verdict) => verdict,
            Err(e) => GateVerdict::CannotVerify {
                reason: format!(
                    "denied: cannot verify a change for {}: {e}",
                    deployment.describe()
                ),
                kind: Some(e.kind()),
            },
        }
    }

    async fn try_gate(&self, deployment: &Deployment, dry_run: bool) -> Result<GateVerdict> {
        let now = self.clock.now();
        let what = deployment.describe();
        let changes = self.changes_for(deployment, &[]).await?;
        let live: Vec<&ChangeRequest> = changes.iter().filter(|c| !c.state.is_terminal()).collect();
        let approved = live
            .iter()
            .copied()
            .filter(|c| c.approval == ApprovalState::Approved)
            // Prefer an emergency change (it may override a freeze), then the newest.
            .max_by_key(|c| (c.kind == ChangeKind::Emergency, c.created_at));
        let Some(change) = approved else {
            return Ok(denied_without_approval(&what, &live, &changes));
        };
        let id = change
            .number
            .as_deref()
            .unwrap_or(change.id.as_str())
            .to_owned();
        if let Some(w) = change.window.filter(|w| !w.contains(now)) {
            return Ok(GateVerdict::Denied {
                reason: format!(
                    "denied: change {id} for {what} is planned for {} to {}, and now ({}) is outside that window",
                    format_instant(w.start),
                    format_instant(w.end),
                    format_instant(now)
                ),
                change: Some(Box::new(change.clone())),
            });
        }
        let mut blocking: Vec<String> = self
            .freezes
            .iter()
            .filter(|f| f.blocks(&deployment.service, &deployment.environment, now))
            .map(|f| {
                format!(
                    "freeze window {:?} (until {})",
                    f.name,
                    format_instant(f.end)
                )
            })
            .collect();
        if self.system.capabilities().supports(capability::CONFLICTS) {
            for c in self.system.conflicts(&change.id).await? {
                // Blackouts the backend knows of (a ServiceNow blackout schedule), in force now.
                let in_force = c.window.is_none_or(|w| w.contains(now));
                if c.kind == ConflictKind::Blackout && in_force {
                    blocking.push(c.description);
                }
            }
        }
        if blocking.is_empty() {
            return Ok(GateVerdict::Allowed {
                reason: format!(
                    "allowed: change {id} ({}) is approved for {what}",
                    change.kind
                ),
                change: Box::new(change.clone()),
                freeze_overridden: false,
            });
        }
        if change.kind != ChangeKind::Emergency {
            return Ok(GateVerdict::Denied {
                reason: format!(
                    "denied: {} applies to {what}; only an emergency change may deploy now",
                    blocking.join(", ")
                ),
                change: Some(Box::new(change.clone())),
            });
        }
        let note = format!(
            "Deployment of {what} allowed during {} by emergency change {id}; review in audit.",
            blocking.join(", ")
        );
        if !dry_run {
            let key = deployment.step_key("gate-freeze-override");
            self.system.add_note(&change.id, &key, &note).await?;
        }
        Ok(GateVerdict::Allowed {
            reason: format!("allowed: {note}"),
            change: Box::new(change.clone()),
            freeze_overridden: true,
        })
    }

    /// Closes the change after the production deployment (C4), with close notes that carry
    /// the deployment's facts. Re-running returns the closed change.
    pub async fn close(
        &self,
        deployment: &Deployment,
        result: &DeploymentResult,
    ) -> Result<ChangeRequest> {
        let change = self.change_to_close(deployment).await?;
        let code = if result.succeeded {
            CloseCode::Successful
        } else {
            CloseCode::Unsuccessful
        };
        // A re-run returns the closed change; another close code is left to the backend to
        // refuse in its own words.
        if change.state == ChangeState::Closed
            && change.closure.as_ref().map(|c| c.code) == Some(code)
        {
            return Ok(change);
        }
        let finished = result.finished_at.unwrap_or_else(|| self.clock.now());
        let closure = Closure {
            code,
            notes: close_notes(deployment, result, finished),
            closed_at: Some(finished),
        };
        self.system.close(&change.id, &closure).await
    }

    async fn change_to_close(&self, deployment: &Deployment) -> Result<ChangeRequest> {
        for step in ["raise", "emergency"] {
            if let Some(c) = self
                .system
                .find_change_by_key(&deployment.step_key(step))
                .await?
            {
                return Ok(c);
            }
        }
        // Raised by another pipeline run: the newest approved change for this deployment,
        // or the one already closed (a re-run).
        let changes = self.changes_for(deployment, &[]).await?;
        changes
            .iter()
            .filter(|c| c.approval == ApprovalState::Approved && c.state != ChangeState::Canceled)
            .max_by_key(|c| (!c.state.is_terminal(), c.created_at))
            .cloned()
            .ok_or_else(|| {
                Error::not_found(format!(
                    "no approved change to close for {}",
                    deployment.describe()
                ))
                .with_context("pipeline_run", &deployment.pipeline_run)
            })
    }

    /// Raises an emergency (break-glass) change, possibly after the fact; it is flagged for
    /// audit and the change manager is notified. Re-running returns the same change.
    pub async fn emergency(
        &self,
        deployment: &Deployment,
        justification: &str,
        retroactive: bool,
    ) -> Result<ChangeRequest> {
        if justification.trim().is_empty() {
            return Err(Error::invalid_input(
                "an emergency change needs a justification; say why it cannot wait",
            ));
        }
        let key = deployment.step_key("emergency");
        if let Some(existing) = self.system.find_change_by_key(&key).await? {
            return Ok(existing);
        }
        let now = self.clock.now();
        let mut reasons = vec![format!("emergency: {}", justification.trim())];
        if retroactive {
            reasons.push("raised retroactively, after the deployment; flagged for audit".into());
        } else {
            reasons.push("break-glass change; flagged for audit".into());
        }
        let new = NewChange {
            kind: ChangeKind::Emergency,
            template: None,
            service: deployment.service.clone(),
            version: deployment.version.clone(),
            environment: deployment.environment.clone(),
            summary: format!("Emergency deploy {}", deployment.describe()),
            description: justification.trim().to_owned(),
            // A retroactive change also covers the deployment that already happened.
            window: Some(Window {
                start: if retroactive { now - self.window } else { now },
                end: now + self.window,
            }),
            commits: deployment.commits.clone(),
            pipeline_run: Some(deployment.pipeline_run.clone()),
            requested_by: deployment.requested_by.clone(),
            assignment_team: None,
            reasons,
            retroactive,
            links: deployment.links.clone(),
        };
        let change = self.system.create_change(&key, &new).await?;
        let notification = Notification {
            key: IdempotencyKey::new(format!("change/{}/emergency", change.id))?,
            topic: NotificationTopic::ChangeUpdated,
            recipients: vec![self.change_manager.clone()],
            subject: format!(
                "Emergency change {} needs review: {}",
                change.id, change.summary
            ),
            body: change.reasons.join("\n"),
            links: change.links.clone(),
            about: change.external.iter().cloned().collect(),
        };
        self.notifier.notify(&notification).await?;
        Ok(change)
    }

    fn planned_window(&self, start: OffsetDateTime) -> Window {
        Window {
            start,
            end: start + self.window,
        }
    }

    async fn changes_for(
        &self,
        deployment: &Deployment,
        states: &[ChangeState],
    ) -> Result<Vec<ChangeRequest>> {
        let filter = ChangeFilter {
            service: Some(deployment.service.clone()),
            version: Some(deployment.version.clone()),
            environment: Some(deployment.environment.clone()),
            states: states.to_vec(),
        };
        let mut all = Vec::new();
        let mut page = ListRequest::with_limit(100);
        for _ in 0..MAX_PAGES {
            let listing = self.system.list_changes(&filter, &page).await?;
            all.extend(listing.items);
            match listing.next {
                Some(next) => page.cursor = Some(next),
                None => break,
            }
        }
        Ok(all)
    }

    /// Changes raised for the service's production environment in the lookback period that
    /// closed unsuccessful.
    async fn recent_failures(&self, deployment: &Deployment, now: OffsetDateTime) -> Result<u32> {
        let since = now - Duration::days(i64::from(self.policy.lookback_days));
        let environment = if deployment.environment.is_production() {
            deployment.environment.clone()
        } else {
            Environment::production()
        };
        let filter = ChangeFilter {
            service: Some(deployment.service.clone()),
            version: None,
            environment: Some(environment),
            states: vec![ChangeState::Closed],
        };
        let mut failures = 0;
        let mut page = ListRequest::with_limit(100);
        'pages: for _ in 0..MAX_PAGES {
            let listing = self.system.list_changes(&filter, &page).await?;
            for c in &listing.items {
                if c.created_at.is_some_and(|t| t < since) {
                    break 'pages;
                }
                let closure = c.closure.as_ref();
                if closure.is_some_and(|cl| {
                    cl.code == CloseCode::Unsuccessful && cl.closed_at.is_none_or(|t| t >= since)
                }) {
                    failures += 1;
                }
            }
            match listing.next {
                Some(next) => page.cursor = Some(next),
                None => break,
            }
        }
        Ok(failures)
    }
}

fn decision_of(change: &ChangeRequest) -> Decision {
    Decision {
        kind: change.kind,
        template: change.template.clone(),
        reasons: change.reasons.clone(),
    }
}

fn denied_without_approval(
    what: &str,
    live: &[&ChangeRequest],
    all: &[ChangeRequest],
) -> GateVerdict {
    let number = |c: &ChangeRequest| c.number.clone().unwrap_or_else(|| c.id.to_string());
    let (reason, change) =
        if let Some(c) = live.iter().find(|c| c.approval == ApprovalState::Rejected) {
            (
                format!("denied: change {} for {what} was rejected", number(c)),
                Some(*c),
            )
        } else if let Some(c) = live.first() {
            (
                format!(
                    "denied: change {} for {what} is not approved yet (approval {}, state {})",
                    number(c),
                    c.approval,
                    c.state
                ),
                Some(*c),
            )
        } else if let Some(c) = all.iter().find(|c| c.state == ChangeState::Closed) {
            (
                format!(
                    "denied: change {} for {what} is already closed; raise a new change",
                    number(c)
                ),
                Some(c),
            )
        } else if let Some(c) = all.first() {
            (
                format!(
                    "denied: change {} for {what} was cancelled; raise a new change",
                    number(c)
                ),
                Some(c),
            )
        } else {
            (
                format!("denied: no change found for {what}; raise one with `itsm change raise`"),
                None,
            )
        };
    GateVerdict::Denied {
        reason,
        change: change.map(|c| Box::new(c.clone())),
    }
}

fn close_notes(d: &Deployment, r: &DeploymentResult, finished: OffsetDateTime) -> String {
    let mut notes = format!(
        "Deployment of {} {} to {} {}.\nPipeline run: {}\n",
        d.service,
        d.version,
        d.environment,
        if r.succeeded { "succeeded" } else { "failed" },
        d.pipeline_run
    );
    if let Some(started) = r.started_at {
        let _ = writeln!(notes, "Started: {}", format_instant(started));
    }
    let _ = writeln!(notes, "Finished: {}", format_instant(finished));
    if let Some(by) = &d.requested_by {
        let _ = writeln!(notes, "Deployer: {by}");
    }
    if !d.commits.is_empty() {
        let commits: Vec<&str> = d.commits.iter().map(|c| c.as_str()).collect();
        let _ = writeln!(notes, "Commits: {}", commits.join(", "));
    }
    for link in &d.links {
        let _ = writeln!(notes, "{}: {}", link.label, link.url);
    }
    if let Some(extra) = r.notes.as_deref().filter(|n| !n.trim().is_empty()) {
        let _ = writeln!(notes, "{}", extra.trim());
    }
    notes
}
