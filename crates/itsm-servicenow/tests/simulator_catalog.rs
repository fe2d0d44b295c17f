//! The Service Catalog side of the adapter against the ServiceNow simulator: the
//! specialist conformance suite (one-step and two-step checkout), a retry after an order
//! whose answer was lost, and offerings from a category.

use std::collections::BTreeMap;
use std::time::Duration;

use itsm_core::{IdempotencyKey, Person, TeamId};
use itsm_http::{Auth, HttpClient, RetryPolicy};
use itsm_servicenow::config::{CatalogCategory, CatalogItem, Checkout};
use itsm_servicenow::{ServiceNow, ServiceNowConfig};
use itsm_specialist::{InputKind, InputValue, NewRequest, OfferingId, SpecialistCatalog, Urgency};
use itsm_testkit::conformance;
use itsm_testkit::sim::SimServer;
use itsm_testkit::sim::servicenow::{Fault, ServiceNowSim, SimVariable};

/// The item's own variables plus the adapter's variable set.
fn variables() -> Vec<SimVariable> {
    vec![
        SimVariable::text("database_name", true),
        SimVariable::select("engine", true, &["postgres", "mariadb"]),
        SimVariable::of_type("backups", 1, false),
        SimVariable::of_type("size_gb", 4, false),
        SimVariable::of_type("heading", 11, false),
        SimVariable::text("itsm_key", false),
        SimVariable::text("itsm_requester", false),
        SimVariable::text("itsm_submitted_by", false),
        SimVariable::text("itsm_urgency", false),
    ]
}

async fn start(
    configure: impl FnOnce(&ServiceNowSim, &mut ServiceNowConfig),
) -> (ServiceNowSim, SimServer, ServiceNow) {
    let sim = ServiceNowSim::new();
    let server = SimServer::start(sim.router()).await.unwrap();
    let url = url::Url::parse(&server.base_url()).unwrap();
    let mut config = ServiceNowConfig::basic(url.clone(), "itsm.integration", "sim-password");
    configure(&sim, &mut config);
    let http = HttpClient::builder(url)
        .auth(Auth::basic("itsm.integration", "sim-password"))
        .retry(
            RetryPolicy::new(3, Duration::from_secs(10))
                .with_backoff(Duration::from_millis(10), Duration::from_millis(50)),
        )
        .build()
        .unwrap();
    let adapter = ServiceNow::with_client(config, http).unwrap();
    (sim, server, adapter)
}

fn database_item(sim: &ServiceNowSim, config: &mut ServiceNowConfig) -> String {
    let sys_id = sim.add_catalog_item("New database", "cat-databases", &variables());
    config.catalog.items.push(CatalogItem {
        sys_id: sys_id.clone(),
        id: Some("dba.new-database".into()),
        team: "dba".into(),
        response_target_minutes: Some(60),
        resolution_target_minutes: Some(480),
        automated: false,
    });
    sys_id
}

#[tokio::test]
async fn specialist_conformance_passes_on_the_simulator() {
    let (sim, _server, adapter) = start(|sim, config| {
        database_item(sim, config);
    })
    .await;
    let report = conformance::specialist::run_all(&adapter).await;
    assert!(report.skipped().is_empty(), "{report:?}");
    assert!(!sim.rows("sc_req_item").is_empty());
    assert_eq!(sim.cookies_received(), 0);
}

#[tokio::test]
async fn specialist_conformance_passes_with_two_step_checkout_and_a_key_field() {
    let (sim, _server, adapter) = start(|sim, config| {
        sim.set_two_step_checkout(true);
        database_item(sim, config);
        config.catalog.key_field = "correlation_id".into();
    })
    .await;
    let report = conformance::specialist::run_all(&adapter).await;
    assert!(report.skipped().is_empty(), "{report:?}");
    let ritms = sim.rows("sc_req_item");
    assert!(
        ritms
            .iter()
            .all(|r| r.get("correlation_id").is_some_and(|k| !k.is_empty())),
        "the adapter writes the key field the instance left empty"
    );
    let submits = sim
        .requests()
        .iter()
        .filter(|(_, p)| p.ends_with("/cart/submit_order"))
        .count();
    assert_eq!(submits, ritms.len(), "every order went through the cart");
}

fn new_request() -> NewRequest {
    NewRequest {
        offering: OfferingId::new("dba.new-database").unwrap(),
        requester: TeamId::new("team-checkout").unwrap(),
        submitted_by: Some(Person::named("Ada")),
        inputs: [
            ("database_name", InputValue::Text("orders".into())),
            ("engine", InputValue::Text("postgres".into())),
            ("backups", InputValue::Boolean(true)),
            ("size_gb", InputValue::Number(20.0)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect::<BTreeMap<_, _>>(),
        urgency: Urgency::High,
    }
}

#[tokio::test]
async fn an_order_whose_answer_was_lost_is_not_repeated_on_retry() {
    for checkout in [Checkout::OrderNow, Checkout::Cart] {
        let (sim, _server, adapter) = start(|sim, config| {
            database_item(sim, config);
            config.catalog.checkout = checkout;
        })
        .await;
        let key = IdempotencyKey::new("pipeline/run-7/database").unwrap();
        let lost_on = match checkout {
            Checkout::OrderNow => "/order_now",
            Checkout::Cart => "/cart/submit_order",
        };
        sim.inject(axum::http::Method::POST, lost_on, Fault::LoseAnswer);
        let lost = adapter.submit(&key, &new_request()).await;
        match checkout {
            Checkout::OrderNow => {
                assert!(lost.is_err(), "the lost answer should surface: {lost:?}")
            }
            // A failed submit_order is followed by a lookup, which finds the item ordered.
            Checkout::Cart => assert_eq!(lost.unwrap().key.as_ref(), Some(&key)),
        }
        let retried = adapter.submit(&key, &new_request()).await.unwrap();
        assert_eq!(retried.key.as_ref(), Some(&key));
        assert_eq!(retried.inputs, new_request().inputs);
        assert_eq!(retried.urgency, Urgency::High);
        assert_eq!(retried.submitted_by, Some(Person::named("Ada")));
        assert_eq!(
            sim.rows("sc_req_item").len(),
            1,
            "{checkout:?}: the retry must not order a second item"
        );
    }
}

#[tokio::test]
async fn a_cart_left_by_a_lost_add_to_cart_is_checked_out_once() {
    let (sim, _server, adapter) = start(|sim, config| {
        database_item(sim, config);
        config.catalog.checkout = Checkout::Cart;
    })
    .await;
    let key = IdempotencyKey::new("pipeline/run-8/database").unwrap();
    sim.inject(axum::http::Method::POST, "/add_to_cart", Fault::LoseAnswer);
    assert!(adapter.submit(&key, &new_request()).await.is_err());
    let retried = adapter.submit(&key, &new_request()).await.unwrap();
    assert_eq!(retried.key.as_ref(), Some(&key));
    assert_eq!(sim.rows("sc_req_item").len(), 1);
}

#[tokio::test]
async fn category_items_are_offered_by_the_categorys_team() {
    let (_sim, _server, adapter) = start(|sim, config| {
        let mut vpn = variables();
        vpn.splice(0..5, [SimVariable::of_type("permanent", 7, true)]);
        sim.add_catalog_item("VPN access", "cat-network", &vpn);
        sim.add_catalog_item("Laptop", "cat-hardware", &variables());
        config.catalog.categories.push(CatalogCategory {
            sys_id: "cat-network".into(),
            team: "network".into(),
            catalog: None,
        });
    })
    .await;
    let offerings = adapter.list_offerings(None).await.unwrap();
    assert_eq!(offerings.len(), 1, "{offerings:?}");
    let vpn = &offerings[0];
    assert_eq!(vpn.team.as_str(), "network");
    assert_eq!(vpn.name, "VPN access");
    assert_eq!(vpn.inputs[0].kind, InputKind::Boolean);
    assert!(vpn.inputs[0].required);
    assert_eq!(vpn.response_target_minutes, 480);
    let report = conformance::specialist::run_all(&adapter).await;
    assert!(report.skipped().is_empty(), "{report:?}");
}

#[tokio::test]
async fn an_item_without_the_itsm_variables_is_refused_before_ordering() {
    let (sim, _server, adapter) = start(|sim, config| {
        let sys_id =
            sim.add_catalog_item("Bare", "cat-x", &[SimVariable::text("database_name", true)]);
        config.catalog.items.push(CatalogItem {
            sys_id,
            id: Some("dba.bare".into()),
            team: "dba".into(),
            response_target_minutes: None,
            resolution_target_minutes: None,
            automated: false,
        });
    })
    .await;
    let mut new = new_request();
    new.offering = OfferingId::new("dba.bare").unwrap();
    new.inputs.retain(|k, _| k == "database_name");
    let key = IdempotencyKey::new("bare/1").unwrap();
    let e = adapter.submit(&key, &new).await.unwrap_err();
    assert_eq!(e.kind(), itsm_core::ErrorKind::Config);
    assert!(e.to_string().contains("itsm_key"), "{e}");
    assert!(sim.rows("sc_req_item").is_empty());
}
