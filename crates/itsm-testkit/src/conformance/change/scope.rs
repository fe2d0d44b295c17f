//! Names, keys and requests unique to one check's call, and assertions that name the check
//! and the backend.

use itsm_change::{
    ApprovalDecision, ApprovalState, ChangeId, ChangeKind, ChangeRequest, ChangeState,
    ChangeSystem, CloseCode, Closure, NewChange, NewTemplate,
};
use itsm_core::{Environment, Person, Version};

use crate::conformance::scope::CheckScope;

/// Names, keys and records unique to one check's call.
pub(super) struct Scope(CheckScope);

impl std::ops::Deref for Scope {
    type Target = CheckScope;
    fn deref(&self) -> &CheckScope {
        &self.0
    }
}

impl Scope {
    pub(super) fn new(check: &'static str, system: &dyn ChangeSystem) -> Scope {
        Scope(CheckScope::new(check, system.capabilities().backend()))
    }

    pub(super) fn missing_change(&self) -> ChangeId {
        ChangeId::new(format!("conformance-missing-{}", self.token)).expect("a valid change id")
    }

    pub(super) fn change(
        &self,
        kind: ChangeKind,
        version: &str,
        environment: &Environment,
    ) -> NewChange {
        NewChange {
            kind,
            template: None,
            service: self.service(),
            version: Version::new(version).expect("a valid version"),
            environment: environment.clone(),
            summary: format!("Conformance check {} ({kind})", self.check),
            description: format!(
                "Created by itsm-testkit's conformance suite, run {}",
                self.token
            ),
            window: None,
            commits: vec![],
            pipeline_run: None,
            requested_by: Some(Person::named("itsm-testkit")),
            assignment_team: None,
            reasons: vec![format!("conformance check {}", self.check)],
            retroactive: false,
            links: vec![],
        }
    }

    pub(super) fn normal(&self) -> NewChange {
        self.change(ChangeKind::Normal, "1.0.0", &Environment::production())
    }

    pub(super) fn template(&self) -> NewTemplate {
        NewTemplate {
            service: self.service(),
            name: format!("Conformance template {}", self.token),
            description: "Routine release, created by itsm-testkit".into(),
            environments: vec![Environment::production()],
            implementation_plan: "Deploy with the pipeline".into(),
            backout_plan: "Redeploy the previous version".into(),
            test_plan: "Smoke tests".into(),
            owner: Person::named("itsm-testkit"),
            approved_by: Some(Person::named("itsm-testkit change manager")),
            expires_at: None,
        }
    }

    pub(super) fn expect_state(
        &self,
        change: &ChangeRequest,
        state: ChangeState,
        approval: ApprovalState,
    ) {
        self.expect(
            change.state == state && change.approval == approval,
            format!(
                "change {} should be {state:?} with approval {approval:?}, is {:?} with {:?}",
                change.id, change.state, change.approval
            ),
        );
    }
}

pub(super) fn decision(approve: bool) -> ApprovalDecision {
    ApprovalDecision {
        approve,
        by: Person::named("itsm-testkit change manager"),
        comment: Some(String::from(if approve { "fine" } else { "not now" })),
    }
}

pub(super) fn closure(code: CloseCode) -> Closure {
    Closure {
        code,
        notes: "Deployed by the conformance suite".into(),
        closed_at: None,
    }
}
