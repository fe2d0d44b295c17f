//! S5, on-demand expertise during an incident: engage a specialist team on an open incident
//! through the paging platform (a responder request on the incident's page), and record it
//! on the incident (a note, and a link to the specialist request when there is one).
//!
//! This orchestration spans the incident and specialist domains, so it lives here and not
//! in either domain crate. It is generic over the ports; `itsm incident engage` calls it
//! with the local store as both.

use std::sync::Arc;

use itsm_core::{Error, ErrorKind, ExternalRef, IdempotencyKey, Person, Result};
use itsm_incident::{
    Incident, IncidentId, IncidentSystem, Note, PageId, Pager, ResponderRequest, capability,
};
use itsm_specialist::SpecialistTeam;
use serde::Serialize;

/// Whom to engage and why.
#[derive(Debug, Clone)]
pub(crate) struct Engagement {
    /// The specialist team (paged as [`SpecialistTeam::paged_as`]).
    pub(crate) team: SpecialistTeam,
    /// What the team is needed for.
    pub(crate) message: String,
    /// Who asks (the incident commander).
    pub(crate) requester: Person,
    /// The specialist request opened for the incident, linked to it when given.
    pub(crate) request: Option<ExternalRef>,
}

/// What [`engage`] did.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Engaged {
    /// The page the responders were requested on.
    pub(crate) page: PageId,
    /// The incident after recording the engagement.
    pub(crate) incident: Incident,
}

/// Engages `engagement.team` on `incident`: the incident must be open and linked to a page
/// on `pager`'s platform (its `links_to` names the platform as system). Repeating it with the
/// same team asks once and notes once (both keyed by incident and team).
///
/// Errors: [`ErrorKind::Unsupported`] when the pager cannot request responders or the
/// ticketing system cannot take notes; [`ErrorKind::Conflict`] for a resolved incident;
/// [`ErrorKind::InvalidInput`] for an empty message or an incident with no page.
pub(crate) async fn engage(
    pager: Arc<dyn Pager>,
    incidents: Arc<dyn IncidentSystem>,
    incident: &IncidentId,
    engagement: &Engagement,
) -> Result<Engaged> {
    let platform = pager.capabilities();
    if !platform.supports(capability::PAGE_RESPONDERS) {
        return Err(Error::unsupported("request_responders", platform.backend()));
    }
    if !incidents
        .capabilities()
        .supports(capability::INCIDENT_NOTES)
    {
        return Err(Error::unsupported(
            "add_note",
            incidents.capabilities().backend(),
        ));
    }
    if engagement.message.trim().is_empty() {
        return Err(Error::invalid_input(
            "say what the specialist team is needed for; the message is empty",
        ));
    }
    let current = incidents.get_incident(incident).await?;
    if current.state.is_resolved() {
        return Err(Error::new(
            ErrorKind::Conflict,
            format!(
                "incident {incident} is already resolved; engage specialists on an open incident"
            ),
        ));
    }
    let page = current
        .links_to
        .iter()
        .find(|r| r.system == platform.backend())
        .ok_or_else(|| {
            Error::invalid_input(format!(
                "incident {incident} is not linked to a page on {}; page it first",
                platform.backend()
            ))
        })?;
    let page = PageId::new(&page.id)?;
    let team = &engagement.team;
    let key = IdempotencyKey::new(format!("{incident}/engage/{}", team.id))?;
    pager
        .request_responders(
            &page,
            &key,
            &ResponderRequest {
                teams: vec![team.paged_as().clone()],
                escalation_policies: vec![],
                people: vec![],
                message: engagement.message.clone(),
                requester: engagement.requester.clone(),
            },
        )
        .await?;
    let note = Note {
        text: format!(
            "Specialist team {} ({}) engaged as responders on page {page} by {}: {}",
            team.name, team.id, engagement.requester, engagement.message
        ),
        author: Some(engagement.requester.clone()),
    };
    incidents.add_note(incident, &key, &note).await?;
    let incident = match &engagement.request {
        Some(request)
            if incidents
                .capabilities()
                .supports(capability::INCIDENT_LINKS) =>
        {
            incidents.link(incident, request).await?
        }
        _ => incidents.get_incident(incident).await?,
    };
    Ok(Engaged { page, incident })
}

#[cfg(test)]
mod tests {
    use super::*;
    use itsm_core::{Capabilities, TeamId};
    use itsm_incident::IncidentState;
    use itsm_testkit::{MockIncidentSystem, MockPager};

    fn incident(state: IncidentState, links: Vec<ExternalRef>) -> Incident {
        let mut i: Incident = serde_json::from_value(serde_json::json!({
            "id": "INC1",
            "summary": "checkout errors",
            "state": "new",
            "priority": "P1",
            "assignment": { "service": "checkout", "kind": "digital_service" },
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        i.state = state;
        i.links_to = links;
        i
    }

    fn dba() -> Engagement {
        Engagement {
            team: SpecialistTeam {
                id: TeamId::new("dba").unwrap(),
                name: "Database administration".into(),
                description: String::new(),
                pager_team: Some(TeamId::new("dba-oncall").unwrap()),
            },
            message: "lock contention on the orders database".into(),
            requester: Person::named("Ines (incident commander)"),
            request: Some(ExternalRef::new("local", "REQ0000007")),
        }
    }

    fn pager(expect_request: bool) -> MockPager {
        let mut p = MockPager::new();
        p.expect_capabilities()
            .returning(|| Capabilities::new("pagerduty").with(capability::PAGE_RESPONDERS));
        let calls = if expect_request { 1 } else { 0 };
        p.expect_request_responders()
            .withf(|page, key, r| {
                page.as_str() == "PT4KHLK"
                    && key.as_str() == "INC1/engage/dba"
                    && r.teams == [TeamId::new("dba-oncall").unwrap()]
                    && r.message.contains("lock contention")
            })
            .times(calls)
            .returning(|_, _, _| Ok(()));
        p
    }

    fn incidents(state: IncidentState, expect_record: bool) -> MockIncidentSystem {
        let mut m = MockIncidentSystem::new();
        m.expect_capabilities().returning(|| {
            Capabilities::new("servicenow")
                .with(capability::INCIDENT_NOTES)
                .with(capability::INCIDENT_LINKS)
        });
        m.expect_get_incident().returning(move |_| {
            Ok(incident(
                state,
                vec![ExternalRef::new("pagerduty", "PT4KHLK")],
            ))
        });
        let calls = usize::from(expect_record);
        m.expect_add_note()
            .withf(|id, key, note| {
                id.as_str() == "INC1"
                    && key.as_str() == "INC1/engage/dba"
                    && note.text.contains("Database administration (dba) engaged")
                    && note.text.contains("PT4KHLK")
            })
            .times(calls)
            .returning(|_, _, _| Ok(()));
        m.expect_link()
            .withf(|id, r| id.as_str() == "INC1" && r.id == "REQ0000007")
            .times(calls)
            .returning(move |_, r| {
                Ok(incident(
                    state,
                    vec![ExternalRef::new("pagerduty", "PT4KHLK"), r.clone()],
                ))
            });
        m
    }

    #[tokio::test]
    async fn engaging_pages_the_team_and_records_it_on_the_incident() {
        let engaged = engage(
            Arc::new(pager(true)),
            Arc::new(incidents(IncidentState::InProgress, true)),
            &IncidentId::new("INC1").unwrap(),
            &dba(),
        )
        .await
        .unwrap();
        assert_eq!(engaged.page.as_str(), "PT4KHLK");
        assert!(
            engaged
                .incident
                .links_to
                .iter()
                .any(|r| r.id == "REQ0000007")
        );
    }

    #[tokio::test]
    async fn a_resolved_incident_or_a_pager_without_responders_is_refused() {
        let err = engage(
            Arc::new(pager(false)),
            Arc::new(incidents(IncidentState::Resolved, false)),
            &IncidentId::new("INC1").unwrap(),
            &dba(),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Conflict);

        let mut basic = MockPager::new();
        basic
            .expect_capabilities()
            .returning(|| Capabilities::new("events-only"));
        basic.expect_request_responders().never();
        let err = engage(
            Arc::new(basic),
            Arc::new(incidents(IncidentState::New, false)),
            &IncidentId::new("INC1").unwrap(),
            &dba(),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported);
    }

    #[tokio::test]
    async fn an_incident_without_a_page_on_this_platform_is_invalid_input() {
        let mut m = MockIncidentSystem::new();
        m.expect_capabilities()
            .returning(|| Capabilities::new("servicenow").with(capability::INCIDENT_NOTES));
        m.expect_get_incident()
            .returning(|_| Ok(incident(IncidentState::New, vec![])));
        m.expect_add_note().never();
        let err = engage(
            Arc::new(pager(false)),
            Arc::new(m),
            &IncidentId::new("INC1").unwrap(),
            &dba(),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(
            err.message().contains("not linked to a page on pagerduty"),
            "{err}"
        );
    }
}
