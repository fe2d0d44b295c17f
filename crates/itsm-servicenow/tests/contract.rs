//! Contract test: the adapter's Table API requests against a Prism mock of
//! `servicenow-table.yaml` (typed `sysparm_*` query parameters, bearer security). Prism
//! answers `{}` (the spec has no response schema), so an accepted request surfaces as
//! `InvalidResponse` (no `result`); a request breaking the spec would be a 422
//! (`InvalidInput`) or 401 (`Unauthenticated`).

use itsm_core::{ErrorKind, IdempotencyKey, ListRequest, ServiceId};
use itsm_http::{Auth, HttpClient, Request};
use itsm_incident::{
    Assignment, IncidentFilter, IncidentId, IncidentState, IncidentSystem, Priority, ServiceKind,
};
use itsm_servicenow::{ServiceNow, ServiceNowConfig};
use itsm_testkit::prism::PrismMock;

#[tokio::test]
async fn table_api_requests_satisfy_the_spec() {
    let Some(prism) = PrismMock::start("servicenow-table.yaml") else {
        return;
    };
    let url = url::Url::parse(&prism.base_url()).unwrap();
    let snow = ServiceNow::new(ServiceNowConfig::bearer(url.clone(), "prism-token")).unwrap();
    let id = IncidentId::new("9d385017c611228701d22104cc95c371").unwrap();
    let key = IdempotencyKey::new("alertmanager/checkout/HighLatency").unwrap();
    let accepted = |what: &str, err: itsm_core::Error| {
        assert_eq!(
            err.kind(),
            ErrorKind::InvalidResponse,
            "{what}: Prism refused the request: {err}\n{}",
            prism.log()
        );
    };
    accepted(
        "find by key (GET list)",
        snow.find_incident_by_key(&key).await.unwrap_err(),
    );
    accepted(
        "get (GET record)",
        snow.get_incident(&id).await.unwrap_err(),
    );
    let filter = IncidentFilter {
        service: Some(ServiceId::new("checkout").unwrap()),
        states: vec![IncidentState::New],
        major_only: true,
    };
    let page = ListRequest {
        limit: Some(3),
        cursor: Some("6".into()),
    };
    accepted(
        "list (GET with limit/offset)",
        snow.list_incidents(&filter, &page).await.unwrap_err(),
    );
    accepted(
        "priority (PATCH)",
        snow.set_priority(&id, Priority::P1).await.unwrap_err(),
    );
    accepted(
        "major (PATCH)",
        snow.set_major(&id, true).await.unwrap_err(),
    );
    let to = Assignment {
        service: ServiceId::new("sap-erp").unwrap(),
        kind: ServiceKind::Cots,
        team: None,
    };
    accepted(
        "reassign (PATCH)",
        snow.reassign(&id, &to).await.unwrap_err(),
    );

    // The control: a request that breaks the spec is refused, so the checks above can fail.
    let raw = HttpClient::builder(url)
        .auth(Auth::bearer("prism-token"))
        .build()
        .unwrap();
    let refused = raw
        .send(Request::get("api/now/table/incident").query(&[("sysparm_limit", "many")]))
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::InvalidInput, "{refused}");
}
