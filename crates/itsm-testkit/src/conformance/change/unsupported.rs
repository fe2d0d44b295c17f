//! The check that absent capabilities answer `Unsupported`.

use itsm_change::{ChangeKind, ChangeSystem, TemplateFilter, TemplateId, capability};
use itsm_core::{Environment, ErrorKind, ListRequest, Result};

use super::scope::{Scope, decision};
use crate::conformance::Outcome;

/// Each operation whose capability the backend does not declare answers `Unsupported`
/// (checked with made-up ids: the capability is checked before the record).
pub async fn unsupported_operations(system: &dyn ChangeSystem) -> Result<Outcome> {
    let caps = system.capabilities();
    let s = Scope::new("unsupported_operations", system);
    let id = s.missing_change();
    let absent = |c| !caps.supports(c);
    if absent(capability::TEMPLATES_CREATE) {
        let result = system
            .create_template(&s.key("template"), &s.template())
            .await;
        s.expect_err(
            result,
            ErrorKind::Unsupported,
            "create_template without the capability",
        );
    }
    if absent(capability::TEMPLATES_READ) {
        let result = system
            .list_templates(&TemplateFilter::default(), &ListRequest::first())
            .await;
        s.expect_err(
            result,
            ErrorKind::Unsupported,
            "list_templates without the capability",
        );
        let missing = TemplateId::new(format!("conformance-missing-{}", s.token))?;
        let result = system.get_template(&missing).await;
        s.expect_err(
            result,
            ErrorKind::Unsupported,
            "get_template without the capability",
        );
    }
    let kinds = [
        (capability::STANDARD, ChangeKind::Standard),
        (capability::NORMAL, ChangeKind::Normal),
        (capability::EMERGENCY, ChangeKind::Emergency),
    ];
    for (cap, kind) in kinds {
        if absent(cap) {
            let mut new = s.change(kind, "1.0.0", &Environment::production());
            new.template = Some(TemplateId::new(format!("conformance-missing-{}", s.token))?);
            let result = system.create_change(&s.key(&format!("{kind}")), &new).await;
            s.expect_err(
                result,
                ErrorKind::Unsupported,
                &format!("creating a {kind} change"),
            );
        }
    }
    if absent(capability::APPROVALS) {
        let result = system.request_approval(&id).await;
        s.expect_err(
            result,
            ErrorKind::Unsupported,
            "request_approval without the capability",
        );
        let result = system.approvals(&id).await;
        s.expect_err(
            result,
            ErrorKind::Unsupported,
            "approvals without the capability",
        );
    }
    if absent(capability::DECIDE) {
        let result = system.decide(&id, &decision(true)).await;
        s.expect_err(
            result,
            ErrorKind::Unsupported,
            "decide without the capability",
        );
    }
    if absent(capability::NOTES) {
        let result = system.add_note(&id, &s.key("note"), "note").await;
        s.expect_err(
            result,
            ErrorKind::Unsupported,
            "add_note without the capability",
        );
    }
    if absent(capability::CONFLICTS) {
        let result = system.conflicts(&id).await;
        s.expect_err(
            result,
            ErrorKind::Unsupported,
            "conflicts without the capability",
        );
    }
    Ok(Outcome::Passed)
}
