//! Checks of creating, finding and listing templates and changes.

use itsm_change::{
    ApprovalState, ChangeFilter, ChangeId, ChangeKind, ChangeState, ChangeSystem, TemplateFilter,
    TemplateId, capability,
};
use itsm_core::{Environment, ErrorKind, ListRequest, Result, Version};

use super::scope::Scope;
use crate::conformance::{Outcome, skip_unless};

/// Templates: create, get, find by key and list; creating again with the same key returns
/// the same template; unknown keys and ids are `None` and `NotFound`.
pub async fn templates(system: &dyn ChangeSystem) -> Result<Outcome> {
    let caps = system.capabilities();
    let required = [capability::TEMPLATES_CREATE, capability::TEMPLATES_READ];
    if let Some(skipped) = skip_unless("templates", &caps, &required) {
        return Ok(skipped);
    }
    let s = Scope::new("templates", system);
    let new = s.template();
    let created = system.create_template(&s.key("template"), &new).await?;
    s.expect(
        created.service == new.service
            && created.name == new.name
            && created.environments == new.environments
            && created.active,
        format!("created template should match the request and be active: {created:?}"),
    );
    let again = system.create_template(&s.key("template"), &new).await?;
    s.expect(
        again.id == created.id,
        format!(
            "same key should return template {}, got {}",
            created.id, again.id
        ),
    );
    let found = system.find_template_by_key(&s.key("template")).await?;
    s.expect(
        found.as_ref().map(|t| &t.id) == Some(&created.id),
        format!(
            "find_template_by_key should find {}, got {found:?}",
            created.id
        ),
    );
    let unknown = system.find_template_by_key(&s.key("never-created")).await?;
    s.expect(
        unknown.is_none(),
        format!("unknown template key found {unknown:?}"),
    );
    let got = system.get_template(&created.id).await?;
    s.expect(
        got == created,
        format!("get_template returned {got:?}, not {created:?}"),
    );
    for active_only in [false, true] {
        let filter = TemplateFilter {
            service: Some(s.service()),
            active_only,
        };
        let listed = system
            .list_templates(&filter, &ListRequest::first())
            .await?;
        let ids: Vec<&TemplateId> = listed.items.iter().map(|t| &t.id).collect();
        s.expect(
            ids == [&created.id],
            format!(
                "list_templates (active_only {active_only}) should be [{}], got {ids:?}",
                created.id
            ),
        );
    }
    let missing = TemplateId::new(format!("conformance-missing-{}", s.token))?;
    s.expect_err(
        system.get_template(&missing).await,
        ErrorKind::NotFound,
        "get_template of an unknown id",
    );
    Ok(Outcome::Passed)
}

/// A standard change made from a template is approved at creation and keeps its template.
pub async fn standard_change(system: &dyn ChangeSystem) -> Result<Outcome> {
    let caps = system.capabilities();
    let required = [capability::TEMPLATES_CREATE, capability::STANDARD];
    if let Some(skipped) = skip_unless("standard_change", &caps, &required) {
        return Ok(skipped);
    }
    let s = Scope::new("standard_change", system);
    let template = system
        .create_template(&s.key("template"), &s.template())
        .await?;
    let mut new = s.change(ChangeKind::Standard, "1.0.0", &Environment::production());
    new.template = Some(template.id.clone());
    let change = system.create_change(&s.key("change"), &new).await?;
    s.expect(
        change.kind == ChangeKind::Standard && change.approval == ApprovalState::Approved,
        format!("a standard change should be approved at once: {change:?}"),
    );
    s.expect(
        change.template.as_ref() == Some(&template.id) && !change.state.is_terminal(),
        format!(
            "a standard change should keep template {} and be open: {change:?}",
            template.id
        ),
    );
    let again = system.create_change(&s.key("change"), &new).await?;
    s.expect(
        again.id == change.id,
        "same key should return the same standard change",
    );
    Ok(Outcome::Passed)
}

/// An emergency change is approved at creation and keeps `retroactive`.
pub async fn emergency_change(system: &dyn ChangeSystem) -> Result<Outcome> {
    if let Some(skipped) = skip_unless(
        "emergency_change",
        &system.capabilities(),
        &[capability::EMERGENCY],
    ) {
        return Ok(skipped);
    }
    let s = Scope::new("emergency_change", system);
    let mut new = s.change(ChangeKind::Emergency, "1.0.1", &Environment::production());
    new.retroactive = true;
    let change = system.create_change(&s.key("change"), &new).await?;
    s.expect(
        change.kind == ChangeKind::Emergency
            && change.approval == ApprovalState::Approved
            && change.retroactive,
        format!("an emergency change should be approved and keep retroactive: {change:?}"),
    );
    Ok(Outcome::Passed)
}

/// Creating twice with one key returns one change, found by key and listed once.
pub async fn idempotent_create(system: &dyn ChangeSystem) -> Result<Outcome> {
    if let Some(skipped) = skip_unless(
        "idempotent_create",
        &system.capabilities(),
        &[capability::NORMAL],
    ) {
        return Ok(skipped);
    }
    let s = Scope::new("idempotent_create", system);
    let first = system.create_change(&s.key("change"), &s.normal()).await?;
    let second = system.create_change(&s.key("change"), &s.normal()).await?;
    s.expect(
        first.id == second.id,
        format!(
            "same key should return change {}, got {}",
            first.id, second.id
        ),
    );
    s.expect(
        first.key.as_ref().is_none_or(|k| *k == s.key("change")),
        format!(
            "the change should carry the key it was created with: {:?}",
            first.key
        ),
    );
    let found = system.find_change_by_key(&s.key("change")).await?;
    s.expect(
        found.as_ref().map(|c| &c.id) == Some(&first.id),
        format!("find_change_by_key should find {}, got {found:?}", first.id),
    );
    let other = system.create_change(&s.key("other"), &s.normal()).await?;
    s.expect(
        other.id != first.id,
        "another key should create another change",
    );
    let filter = ChangeFilter {
        service: Some(s.service()),
        ..ChangeFilter::default()
    };
    let listed = system.list_changes(&filter, &ListRequest::first()).await?;
    s.expect(
        listed.items.len() == 2,
        format!(
            "the service should have 2 changes, has {}",
            listed.items.len()
        ),
    );
    Ok(Outcome::Passed)
}

/// Unknown keys find nothing; unknown ids are `NotFound`.
pub async fn lookups(system: &dyn ChangeSystem) -> Result<Outcome> {
    let s = Scope::new("lookups", system);
    let found = system.find_change_by_key(&s.key("never-created")).await?;
    s.expect(found.is_none(), format!("an unknown key found {found:?}"));
    s.expect_err(
        system.get_change(&s.missing_change()).await,
        ErrorKind::NotFound,
        "get_change of an unknown id",
    );
    Ok(Outcome::Passed)
}

/// `list_changes` filters by service, version, environment and state, and pages.
pub async fn list_changes(system: &dyn ChangeSystem) -> Result<Outcome> {
    if let Some(skipped) = skip_unless(
        "list_changes",
        &system.capabilities(),
        &[capability::NORMAL],
    ) {
        return Ok(skipped);
    }
    let s = Scope::new("list_changes", system);
    let prod = Environment::production();
    let staging = Environment::new("staging")?;
    let mut wanted = Vec::new();
    for i in 0..3 {
        let new = s.change(ChangeKind::Normal, "2.0.0", &prod);
        wanted.push(
            system
                .create_change(&s.key(&format!("match-{i}")), &new)
                .await?
                .id,
        );
    }
    let decoys = [("2.0.1", &prod), ("2.0.0", &staging)];
    for (i, (version, environment)) in decoys.into_iter().enumerate() {
        let new = s.change(ChangeKind::Normal, version, environment);
        system
            .create_change(&s.key(&format!("decoy-{i}")), &new)
            .await?;
    }
    let filter = ChangeFilter {
        service: Some(s.service()),
        version: Some(Version::new("2.0.0")?),
        environment: Some(prod.clone()),
        states: vec![],
    };
    let first = system
        .list_changes(&filter, &ListRequest::with_limit(2))
        .await?;
    s.expect(
        first.items.len() == 2 && first.next.is_some(),
        format!(
            "the first page of 2 should hold 2 changes and a next cursor, got {} and {:?}",
            first.items.len(),
            first.next
        ),
    );
    let next = ListRequest {
        limit: Some(2),
        cursor: first.next.clone(),
    };
    let second = system.list_changes(&filter, &next).await?;
    s.expect(
        second.items.len() == 1 && second.next.is_none(),
        format!(
            "the last page should hold 1 change and no cursor, got {} and {:?}",
            second.items.len(),
            second.next
        ),
    );
    let mut seen: Vec<ChangeId> = first
        .items
        .iter()
        .chain(&second.items)
        .map(|c| c.id.clone())
        .collect();
    seen.sort();
    wanted.sort();
    s.expect(
        seen == wanted,
        format!("the pages should hold {wanted:?}, held {seen:?}"),
    );
    let closed_only = ChangeFilter {
        states: vec![ChangeState::Closed],
        ..filter
    };
    let none = system
        .list_changes(&closed_only, &ListRequest::first())
        .await?;
    s.expect(
        none.items.is_empty(),
        format!("no change is closed, yet {} were listed", none.items.len()),
    );
    Ok(Outcome::Passed)
}
