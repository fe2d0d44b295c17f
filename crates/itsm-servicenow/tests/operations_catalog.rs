//! One wiremock test per Service Catalog operation: the exact method, path, query, headers
//! and body the adapter sends, and what it reads from answers shaped like ServiceNow's
//! documented ones (`tests/fixtures/`).

use std::collections::BTreeMap;
use std::time::Duration;

use itsm_core::{ErrorKind, IdempotencyKey, ListRequest, Person, TeamId};
use itsm_http::{Auth, HttpClient, RetryPolicy};
use itsm_servicenow::config::{CatalogItem, Checkout};
use itsm_servicenow::{ServiceNow, ServiceNowConfig};
use itsm_specialist::{
    Comment, InputKind, InputValue, NewRequest, OfferingId, RequestFilter, RequestId, RequestState,
    SpecialistCatalog, Urgency,
};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const BASIC: &str = "Basic aXRzbS5pbnRlZ3JhdGlvbjpzM2NyM3Q="; // itsm.integration:s3cr3t
const ITEM: &str = "0d08837237153000158bbfc8bcbe5d02";
const RITM: &str = "aeed229047801200e0ef563dbb9a71c2";
const REQ: &str = "ec4c6d4f1b3a00104c3fa9b9cc4bcb6e";
const KEY: &str = "pipeline/run-7/database";

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn adapter_with(server: &MockServer, checkout: Checkout) -> ServiceNow {
    let url = url::Url::parse(&server.uri()).unwrap();
    let http = HttpClient::builder(url.clone())
        .auth(Auth::basic("itsm.integration", "s3cr3t"))
        .retry(
            RetryPolicy::new(3, Duration::from_secs(5))
                .with_backoff(Duration::from_millis(5), Duration::from_millis(20)),
        )
        .build()
        .unwrap();
    let mut config = ServiceNowConfig::basic(url, "itsm.integration", "s3cr3t");
    config.catalog.items.push(CatalogItem {
        sys_id: ITEM.into(),
        id: Some("dba.new-database".into()),
        team: "dba".into(),
        response_target_minutes: Some(60),
        resolution_target_minutes: None,
        automated: true,
    });
    config.catalog.checkout = checkout;
    ServiceNow::with_client(config, http).unwrap()
}

fn adapter(server: &MockServer) -> ServiceNow {
    adapter_with(server, Checkout::OrderNow)
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

async fn mount_item(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path(format!("/api/sn_sc/servicecatalog/items/{ITEM}")))
        .and(header("authorization", BASIC))
        .and(header("accept", "application/json"))
        .respond_with(ok(fixture("catalog_item.json")))
        .mount(server)
        .await;
}

/// The reads behind one request: its variables and its journal.
async fn mount_request_reads(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/api/now/table/sc_item_option_mtom"))
        .and(query_param(
            "sysparm_query",
            format!("request_itemIN{RITM}"),
        ))
        .and(query_param(
            "sysparm_fields",
            "request_item,sc_item_option.item_option_new.name,sc_item_option.value",
        ))
        .and(query_param("sysparm_limit", "1000"))
        .and(query_param("sysparm_offset", "0"))
        .respond_with(ok(fixture("item_options.json")))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/now/table/sys_journal_field"))
        .and(query_param(
            "sysparm_query",
            format!("element_idIN{RITM}^elementINwork_notes,comments^ORDERBYsys_created_on"),
        ))
        .and(query_param(
            "sysparm_fields",
            "element_id,element,value,sys_created_on,sys_created_by",
        ))
        .respond_with(ok(fixture("journal_ritm.json")))
        .mount(server)
        .await;
    mount_item(server).await;
}

fn key_lookup(found: bool) -> Mock {
    let body = if found {
        json!({ "result": [{ "request_item": { "link": "x", "value": RITM } }] })
    } else {
        json!({ "result": [] })
    };
    Mock::given(method("GET"))
        .and(path("/api/now/table/sc_item_option_mtom"))
        .and(query_param(
            "sysparm_query",
            format!("sc_item_option.item_option_new.name=itsm_key^sc_item_option.value={KEY}^ORDERBYDESCsys_created_on"),
        ))
        .and(query_param("sysparm_fields", "request_item"))
        .and(query_param("sysparm_limit", "1"))
        .respond_with(ok(body))
}

fn ritm_get() -> Mock {
    Mock::given(method("GET"))
        .and(path(format!("/api/now/table/sc_req_item/{RITM}")))
        .and(query_param("sysparm_display_value", "all"))
        .and(header("authorization", BASIC))
        .respond_with(ok(fixture("ritm.json")))
}

fn new_request() -> NewRequest {
    NewRequest {
        offering: OfferingId::new("dba.new-database").unwrap(),
        requester: TeamId::new("team-checkout").unwrap(),
        submitted_by: Some(Person::named("Ada").with_email("ada@example.com")),
        inputs: [
            ("database_name", InputValue::Text("orders".into())),
            ("engine", InputValue::Text("postgres".into())),
            ("backups", InputValue::Boolean(true)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect::<BTreeMap<_, _>>(),
        urgency: Urgency::High,
    }
}

fn order_body() -> Value {
    json!({
        "sysparm_quantity": "1",
        "variables": {
            "database_name": "orders",
            "engine": "postgres",
            "backups": "Yes",
            "itsm_key": KEY,
            "itsm_requester": "team-checkout",
            "itsm_submitted_by": "Ada <ada@example.com>",
            "itsm_urgency": "high"
        }
    })
}

async fn mount_ordered_item(server: &MockServer, request_id: &str) {
    Mock::given(method("GET"))
        .and(path("/api/now/table/sc_req_item"))
        .and(query_param(
            "sysparm_query",
            format!("request={request_id}^cat_item={ITEM}"),
        ))
        .and(query_param("sysparm_display_value", "all"))
        .and(query_param("sysparm_limit", "1"))
        .respond_with(ok(
            json!({ "result": [fixture("ritm.json")["result"].clone()] }),
        ))
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn get_offering_reads_the_items_variables_as_typed_inputs() {
    let server = MockServer::start().await;
    mount_item(&server).await;
    let catalog = adapter(&server);
    let offering = catalog
        .get_offering(&OfferingId::new("dba.new-database").unwrap())
        .await
        .unwrap();
    assert_eq!(offering.team.as_str(), "dba");
    assert_eq!(offering.name, "New database");
    assert_eq!(
        (
            offering.response_target_minutes,
            offering.resolution_target_minutes
        ),
        (60, 2400)
    );
    assert!(offering.automated);
    let names: Vec<&str> = offering.inputs.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(
        names,
        ["database_name", "engine", "backups"],
        "labels and itsm_* left out"
    );
    assert_eq!(
        offering.inputs[1].kind,
        InputKind::Choice {
            options: vec!["postgres".into(), "mariadb".into()]
        }
    );
    assert_eq!(offering.inputs[2].kind, InputKind::Boolean);
    let unknown = catalog
        .get_offering(&OfferingId::new("dba.other").unwrap())
        .await;
    assert_eq!(unknown.unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(
        catalog
            .list_offerings(Some(TeamId::new("network").unwrap()))
            .await
            .unwrap(),
        vec![]
    );
}

#[tokio::test]
async fn an_unknown_item_answered_with_400_is_not_found() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/api/sn_sc/servicecatalog/items/{ITEM}")))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": { "message": "Security constraints prevent access to requested item", "detail": "" },
            "status": "failure"
        })))
        .mount(&server)
        .await;
    let e = adapter(&server)
        .get_offering(&OfferingId::new("dba.new-database").unwrap())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
}

#[tokio::test]
async fn submit_looks_up_the_key_then_orders_now_with_inputs_and_itsm_variables() {
    let server = MockServer::start().await;
    mount_request_reads(&server).await;
    key_lookup(false).expect(1).mount(&server).await;
    Mock::given(method("POST"))
        .and(path(format!(
            "/api/sn_sc/servicecatalog/items/{ITEM}/order_now"
        )))
        .and(header("authorization", BASIC))
        .and(header("content-type", "application/json"))
        .and(body_json(order_body()))
        .respond_with(ok(fixture("order_now.json")))
        .expect(1)
        .mount(&server)
        .await;
    mount_ordered_item(&server, REQ).await;
    let request = adapter(&server)
        .submit(&IdempotencyKey::new(KEY).unwrap(), &new_request())
        .await
        .unwrap();
    assert_eq!(request.id.as_str(), RITM);
    assert_eq!(request.number.as_deref(), Some("RITM0010002"));
    assert_eq!(request.key.as_ref().map(|k| k.as_str()), Some(KEY));
    assert_eq!(request.requester.as_str(), "team-checkout");
    assert_eq!(request.inputs, new_request().inputs);
    assert_eq!(request.urgency, Urgency::High);
    assert_eq!(request.submitted_by, new_request().submitted_by);
    // State 2 with the in_progress marker; the plain work note is not a transition.
    assert_eq!(request.state, RequestState::InProgress);
    let moves: Vec<(RequestState, Option<&str>)> = request
        .transitions
        .iter()
        .map(|t| (t.to, t.note.as_deref()))
        .collect();
    assert_eq!(
        moves,
        [
            (RequestState::Submitted, None),
            (RequestState::InProgress, Some("Looking at it"))
        ]
    );
    let comments: Vec<(&str, &str)> = request
        .comments
        .iter()
        .map(|c| (c.author.name.as_str(), c.text.as_str()))
        .collect();
    assert_eq!(
        comments,
        [("Grace", "Which region?"), ("ada", "eu-west, thanks")]
    );
    let url = request.external.unwrap().url.unwrap();
    assert!(
        url.as_str()
            .ends_with(&format!("/sc_req_item.do?sys_id={RITM}")),
        "{url}"
    );
}

#[tokio::test]
async fn an_order_now_answered_with_a_cart_is_checked_out() {
    let server = MockServer::start().await;
    mount_request_reads(&server).await;
    key_lookup(false).mount(&server).await;
    Mock::given(method("POST"))
        .and(path(format!(
            "/api/sn_sc/servicecatalog/items/{ITEM}/order_now"
        )))
        .and(body_json(order_body()))
        .respond_with(ok(fixture("cart.json")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/sn_sc/servicecatalog/cart/submit_order"))
        .and(header("authorization", BASIC))
        .respond_with(ok(fixture("submit_order.json")))
        .expect(1)
        .mount(&server)
        .await;
    mount_ordered_item(&server, "f89ed597db21120064301150f0b8f5ff").await;
    let request = adapter(&server)
        .submit(&IdempotencyKey::new(KEY).unwrap(), &new_request())
        .await
        .unwrap();
    assert_eq!(request.id.as_str(), RITM);
}

#[tokio::test]
async fn cart_checkout_adds_to_cart_after_checking_the_cart_is_empty() {
    let server = MockServer::start().await;
    mount_request_reads(&server).await;
    key_lookup(false).mount(&server).await;
    Mock::given(method("GET"))
        .and(path("/api/sn_sc/servicecatalog/cart"))
        .respond_with(ok(json!({ "result": { "cart_id": "2bbb", "items": [] } })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!(
            "/api/sn_sc/servicecatalog/items/{ITEM}/add_to_cart"
        )))
        .and(body_json(order_body()))
        .respond_with(ok(fixture("cart.json")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/sn_sc/servicecatalog/cart/submit_order"))
        .respond_with(ok(fixture("submit_order.json")))
        .expect(1)
        .mount(&server)
        .await;
    mount_ordered_item(&server, "f89ed597db21120064301150f0b8f5ff").await;
    let request = adapter_with(&server, Checkout::Cart)
        .submit(&IdempotencyKey::new(KEY).unwrap(), &new_request())
        .await
        .unwrap();
    assert_eq!(request.id.as_str(), RITM);
}

#[tokio::test]
async fn an_existing_key_returns_the_request_without_ordering() {
    let server = MockServer::start().await;
    mount_request_reads(&server).await;
    key_lookup(true).expect(1).mount(&server).await;
    ritm_get().expect(1).mount(&server).await;
    Mock::given(method("POST"))
        .respond_with(ok(fixture("order_now.json")))
        .expect(0)
        .mount(&server)
        .await;
    let request = adapter(&server)
        .submit(&IdempotencyKey::new(KEY).unwrap(), &new_request())
        .await
        .unwrap();
    assert_eq!(request.id.as_str(), RITM);
}

#[tokio::test]
async fn inputs_that_do_not_fit_are_refused_before_any_lookup() {
    let server = MockServer::start().await;
    mount_item(&server).await;
    let mut bad = new_request();
    bad.inputs
        .insert("engine".into(), InputValue::Text("oracle".into()));
    let e = adapter(&server)
        .submit(&IdempotencyKey::new(KEY).unwrap(), &bad)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.to_string().contains("engine"), "{e}");
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1, "only the item was read");
}

#[tokio::test]
async fn transition_patches_state_and_a_marked_work_note() {
    let server = MockServer::start().await;
    mount_request_reads(&server).await;
    ritm_get().mount(&server).await;
    Mock::given(method("PATCH"))
        .and(path(format!("/api/now/table/sc_req_item/{RITM}")))
        .and(query_param("sysparm_display_value", "all"))
        .and(header("authorization", BASIC))
        .and(body_json(json!({
            "state": "-5",
            "work_notes": "Which region?\n\n[itsm state=waiting_on_requester by=Grace]"
        })))
        .respond_with(ok(fixture("ritm.json")))
        .expect(1)
        .mount(&server)
        .await;
    let catalog = adapter(&server);
    let id = RequestId::new(RITM).unwrap();
    catalog
        .transition(
            &id,
            RequestState::WaitingOnRequester,
            Person::named("Grace"),
            Some("Which region?".into()),
        )
        .await
        .unwrap();
    let illegal = catalog
        .transition(&id, RequestState::Submitted, Person::named("Grace"), None)
        .await
        .unwrap_err();
    assert_eq!(illegal.kind(), ErrorKind::Conflict);
    assert!(illegal.to_string().contains("InProgress"), "{illegal}");
}

#[tokio::test]
async fn comments_are_keyed_by_a_marker_found_in_the_journal() {
    let server = MockServer::start().await;
    mount_request_reads(&server).await;
    ritm_get().mount(&server).await;
    Mock::given(method("GET"))
        .and(path("/api/now/table/sys_journal_field"))
        .and(query_param(
            "sysparm_query",
            format!("element_id={RITM}^element=comments^valueLIKE[itsm key=c-2"),
        ))
        .respond_with(ok(json!({ "result": [] })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path(format!("/api/now/table/sc_req_item/{RITM}")))
        .and(body_json(
            json!({ "comments": "Done, see the runbook\n\n[itsm key=c-2 by=Grace]" }),
        ))
        .respond_with(ok(fixture("ritm.json")))
        .expect(1)
        .mount(&server)
        .await;
    let comment = Comment {
        author: Person::named("Grace"),
        text: "Done, see the runbook".into(),
        at: None,
    };
    adapter(&server)
        .comment(
            &RequestId::new(RITM).unwrap(),
            &IdempotencyKey::new("c-2").unwrap(),
            &comment,
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn list_requests_filters_items_requester_and_states_and_pages() {
    let server = MockServer::start().await;
    mount_request_reads(&server).await;
    Mock::given(method("GET"))
        .and(path("/api/now/table/sc_item_option_mtom"))
        .and(query_param(
            "sysparm_query",
            "sc_item_option.item_option_new.name=itsm_requester^sc_item_option.value=team-checkout^ORDERBYDESCsys_created_on",
        ))
        .and(query_param("sysparm_limit", "1000"))
        .respond_with(ok(json!({ "result": [{ "request_item": { "link": "x", "value": RITM } }] })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/now/table/sc_req_item"))
        .and(query_param(
            "sysparm_query",
            format!("cat_itemIN{ITEM}^sys_idIN{RITM}^stateIN1,2^ORDERBYsys_created_on"),
        ))
        .and(query_param("sysparm_display_value", "all"))
        .and(query_param("sysparm_limit", "1"))
        .and(query_param("sysparm_offset", "0"))
        .respond_with(
            ok(json!({ "result": [fixture("ritm.json")["result"].clone()] })).insert_header(
                "link",
                format!(
                    "<{}/api/now/table/sc_req_item?sysparm_limit=1&sysparm_offset=1>;rel=\"next\"",
                    server.uri()
                )
                .as_str(),
            ),
        )
        .expect(1)
        .mount(&server)
        .await;
    let filter = RequestFilter {
        team: Some(TeamId::new("dba").unwrap()),
        requester: Some(TeamId::new("team-checkout").unwrap()),
        offering: None,
        states: vec![RequestState::Triaged, RequestState::InProgress],
    };
    let listing = adapter(&server)
        .list_requests(&filter, &ListRequest::with_limit(1))
        .await
        .unwrap();
    assert_eq!(listing.items.len(), 1);
    assert_eq!(listing.items[0].state, RequestState::InProgress);
    assert_eq!(listing.next.as_deref(), Some("1"));
}
