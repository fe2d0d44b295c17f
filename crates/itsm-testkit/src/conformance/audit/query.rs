//! Checks of listing deployments and of incident links.

use itsm_audit::{AuditStore, DeploymentFilter, DeploymentRecord, IncidentLink, capability};
use itsm_core::{Environment, ErrorKind, ExternalRef, ListRequest, Result};
use time::Duration;

use super::scope::{BASE, Scope};
use crate::conformance::{Outcome, skip_unless};

fn seqs(records: &[DeploymentRecord]) -> Vec<u64> {
    records.iter().map(|r| r.seq).collect()
}

/// `list` returns the deployments matching the filter (service, environment, production
/// only, finished since/until), newest first, and pages with `next`.
pub async fn list_deployments(store: &dyn AuditStore) -> Result<Outcome> {
    let s = Scope::new("list_deployments", store);
    let r1 = store
        .append(&s.key("r1"), &s.deployment("production", 1))
        .await?;
    let r2 = store
        .append(&s.key("r2"), &s.deployment("staging", 2))
        .await?;
    let r3 = store
        .append(&s.key("r3"), &s.deployment("prod-eu", 3))
        .await?;
    let mine = DeploymentFilter {
        service: Some(s.service()),
        ..DeploymentFilter::default()
    };
    let cases = [
        ("service", mine.clone(), vec![r3.seq, r2.seq, r1.seq]),
        (
            "environment",
            DeploymentFilter {
                environment: Some(Environment::new("staging")?),
                ..mine.clone()
            },
            vec![r2.seq],
        ),
        (
            "production_only",
            DeploymentFilter {
                production_only: true,
                ..mine.clone()
            },
            vec![r3.seq, r1.seq],
        ),
        (
            "since",
            DeploymentFilter {
                since: Some(BASE + Duration::hours(2)),
                ..mine.clone()
            },
            vec![r3.seq, r2.seq],
        ),
        (
            "until",
            DeploymentFilter {
                until: Some(BASE + Duration::hours(2)),
                ..mine.clone()
            },
            vec![r1.seq],
        ),
    ];
    for (what, filter, expected) in cases {
        let page = store.list(&filter, &ListRequest::first()).await?;
        s.expect(
            seqs(&page.items) == expected && page.next.is_none(),
            format!(
                "list by {what} should be {expected:?} without next, got {:?} (next {:?})",
                seqs(&page.items),
                page.next
            ),
        );
    }
    let mut request = ListRequest::with_limit(1);
    let mut paged = Vec::new();
    for _ in 0..5 {
        let page = store.list(&mine, &request).await?;
        s.expect(
            page.items.len() <= 1,
            "a page should hold at most its limit",
        );
        paged.extend(page.items);
        match page.next {
            Some(next) => request.cursor = Some(next),
            None => break,
        }
    }
    s.expect(
        seqs(&paged) == [r3.seq, r2.seq, r1.seq],
        format!(
            "paging by 1 should give {:?}, got {:?}",
            [r3.seq, r2.seq, r1.seq],
            seqs(&paged)
        ),
    );
    let bad = ListRequest {
        limit: None,
        cursor: Some("not-a-cursor".into()),
    };
    s.expect_err(
        store.list(&mine, &bad).await,
        ErrorKind::InvalidInput,
        "a made-up cursor",
    );
    Ok(Outcome::Passed)
}

/// An incident link is listed with the deployments it names; linking the same incident
/// again replaces it; links to unknown deployments and resolved-before-opened links are
/// refused.
pub async fn incident_links(store: &dyn AuditStore) -> Result<Outcome> {
    if let Some(skipped) = skip_unless(
        "incident_links",
        &store.capabilities(),
        &[capability::INCIDENT_LINKS],
    ) {
        return Ok(skipped);
    }
    let s = Scope::new("incident_links", store);
    let record = store
        .append(&s.key("deploy"), &s.deployment("production", 1))
        .await?;
    let mut link = IncidentLink {
        incident: ExternalRef::new("conformance", format!("INC-{}", s.token)),
        deployment: record.key.clone(),
        opened_at: BASE + Duration::hours(2),
        resolved_at: None,
    };
    store.link_incident(&link).await?;
    let mine = DeploymentFilter {
        service: Some(s.service()),
        ..DeploymentFilter::default()
    };
    let links = store.incident_links(&mine).await?;
    s.expect(
        links == [link.clone()],
        format!("links should be [{link:?}], got {links:?}"),
    );
    link.resolved_at = Some(BASE + Duration::hours(3));
    store.link_incident(&link).await?;
    let links = store.incident_links(&mine).await?;
    s.expect(
        links == [link.clone()],
        format!("linking again should replace the link with {link:?}, got {links:?}"),
    );
    let staging = DeploymentFilter {
        environment: Some(Environment::new("staging")?),
        ..mine.clone()
    };
    let none = store.incident_links(&staging).await?;
    s.expect(
        none.is_empty(),
        format!("a filter matching no deployment found {none:?}"),
    );
    let unknown = IncidentLink {
        incident: ExternalRef::new("conformance", format!("INC-{}-x", s.token)),
        deployment: s.key("never-appended"),
        ..link.clone()
    };
    s.expect_err(
        store.link_incident(&unknown).await,
        ErrorKind::NotFound,
        "linking an incident to an unknown deployment",
    );
    let backwards = IncidentLink {
        resolved_at: Some(link.opened_at - Duration::hours(1)),
        ..link.clone()
    };
    s.expect_err(
        store.link_incident(&backwards).await,
        ErrorKind::InvalidInput,
        "an incident resolved before it was opened",
    );
    Ok(Outcome::Passed)
}
