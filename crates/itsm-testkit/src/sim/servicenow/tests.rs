//! The Table API's answers: the fields of an incident record, `sysparm_fields`,
//! `sysparm_exclude_reference_link` and `sysparm_display_value` on every route.

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use serde_json::{Map, Value, json};

use super::ServiceNowSim;

async fn call(sim: &ServiceNowSim, method: Method, uri: &str, body: Option<Value>) -> Value {
    let mut headers = HeaderMap::new();
    headers.insert("authorization", HeaderValue::from_static("Basic eDp5"));
    headers.insert("host", HeaderValue::from_static("sim.test"));
    let body = body.map_or_else(Bytes::new, |b| Bytes::from(b.to_string()));
    let uri: Uri = uri.parse().unwrap();
    let resp = sim.handle(method, uri, headers, body);
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    let answer: Value = serde_json::from_slice(&bytes).unwrap();
    assert!(
        status == StatusCode::OK || status == StatusCode::CREATED,
        "{status}: {answer}"
    );
    answer["result"].clone()
}

/// Opens an incident the way the adapter does and returns its sys_id.
async fn open(sim: &ServiceNowSim) -> String {
    let body = json!({
        "short_description": "Checkout p99 latency above 2s",
        "impact": "1",
        "urgency": "2",
        "cmdb_ci": "checkout",
        "assignment_group": "team-checkout",
        "correlation_id": "alertmanager/checkout/HighLatency",
    });
    let created = call(sim, Method::POST, "/api/now/table/incident", Some(body)).await;
    created["sys_id"].as_str().unwrap().to_owned()
}

fn names(record: &Value) -> Vec<&str> {
    let mut names: Vec<&str> = record
        .as_object()
        .map(Map::keys)
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect();
    names.sort_unstable();
    names
}

#[tokio::test]
async fn an_incident_has_the_fields_of_a_real_record() {
    let sim = ServiceNowSim::new();
    let id = open(&sim).await;
    let r = call(
        &sim,
        Method::GET,
        &format!("/api/now/table/incident/{id}"),
        None,
    )
    .await;
    let fields = names(&r);
    assert!(fields.len() >= 90, "{} fields: {fields:?}", fields.len());
    for standard in [
        "caller_id",
        "category",
        "sys_domain",
        "contact_type",
        "close_code",
        "work_notes",
        "opened_by",
        "incident_state",
        "upon_reject",
        "u_itsm_tenant",
    ] {
        assert!(fields.contains(&standard), "no {standard}: {fields:?}");
    }
    // Written fields keep their values; the defaults do not overwrite them.
    assert_eq!(r["correlation_id"], "alertmanager/checkout/HighLatency");
    assert_eq!(r["priority"], "2");
    assert_eq!(r["incident_state"], r["state"]);
    assert_eq!(r["active"], "true");
    assert_eq!(r["caller_id"], "");
    assert_eq!(r["opened_by"]["value"].as_str().map(str::len), Some(32));
    // Every field of `sim.rows` too, as stored.
    assert_eq!(sim.rows("incident")[0].len(), fields.len());
}

#[tokio::test]
async fn updates_mirror_the_state_and_count_modifications() {
    let sim = ServiceNowSim::new();
    let id = open(&sim).await;
    let uri = format!("/api/now/table/incident/{id}");
    let updated = call(&sim, Method::PATCH, &uri, Some(json!({"state": "2"}))).await;
    assert_eq!(updated["incident_state"], "2");
    assert_eq!(updated["sys_mod_count"], "1");
    let again = call(&sim, Method::PATCH, &uri, Some(json!({"impact": "3"}))).await;
    assert_eq!(again["sys_mod_count"], "2");
    assert_eq!(again["priority"], "4");
}

#[tokio::test]
async fn sysparm_fields_is_honoured_on_every_table_route() {
    let sim = ServiceNowSim::new();
    let id = open(&sim).await;
    let only = "sysparm_fields=sys_id,%20number,cmdb_ci,no_such_field";
    let expected = vec!["cmdb_ci", "number", "sys_id"];
    let list = call(
        &sim,
        Method::GET,
        &format!("/api/now/table/incident?sysparm_query=cmdb_ci.name%3Dcheckout&{only}"),
        None,
    )
    .await;
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(names(&list[0]), expected, "list");
    let uri = format!("/api/now/table/incident/{id}?sysparm_display_value=all&{only}");
    let one = call(&sim, Method::GET, &uri, None).await;
    assert_eq!(names(&one), expected, "get");
    assert_eq!(one["number"]["display_value"], one["number"]["value"]);
    let patched = call(&sim, Method::PATCH, &uri, Some(json!({"urgency": "1"}))).await;
    assert_eq!(names(&patched), expected, "patch");
    let put = call(&sim, Method::PUT, &uri, Some(json!({"urgency": "2"}))).await;
    assert_eq!(names(&put), expected, "put");
    let body = json!({"short_description": "Second", "cmdb_ci": "checkout"});
    let post_uri = format!("/api/now/table/incident?{only}");
    let created = call(&sim, Method::POST, &post_uri, Some(body)).await;
    assert_eq!(names(&created), expected, "post");
    // The fields not asked for are still stored.
    assert_eq!(sim.rows("incident")[1]["short_description"], "Second");
}

#[tokio::test]
async fn an_empty_sysparm_fields_answers_every_field() {
    let sim = ServiceNowSim::new();
    let id = open(&sim).await;
    let all = call(
        &sim,
        Method::GET,
        &format!("/api/now/table/incident/{id}"),
        None,
    )
    .await;
    for empty in ["", "%20,%20"] {
        let uri = format!("/api/now/table/incident/{id}?sysparm_fields={empty}");
        let answer = call(&sim, Method::GET, &uri, None).await;
        assert_eq!(names(&answer), names(&all), "{empty:?}");
    }
}

#[tokio::test]
async fn references_carry_links_unless_excluded() {
    let sim = ServiceNowSim::new();
    let id = open(&sim).await;
    let base = format!("/api/now/table/incident/{id}?sysparm_fields=cmdb_ci,caller_id");
    let raw = call(&sim, Method::GET, &base, None).await;
    assert_eq!(names(&raw["cmdb_ci"]), vec!["link", "value"]);
    assert!(
        raw["cmdb_ci"]["link"]
            .as_str()
            .unwrap()
            .starts_with("http://sim.test/api/now/table/cmdb_ci/")
    );
    // An empty reference is an empty string, as on an instance.
    assert_eq!(raw["caller_id"], "");
    let all = call(
        &sim,
        Method::GET,
        &format!("{base}&sysparm_display_value=all"),
        None,
    )
    .await;
    assert_eq!(
        names(&all["cmdb_ci"]),
        vec!["display_value", "link", "value"]
    );
    assert_eq!(all["cmdb_ci"]["display_value"], "checkout");
    let uri = format!("{base}&sysparm_display_value=all&sysparm_exclude_reference_link=true");
    let bare = call(&sim, Method::GET, &uri, None).await;
    assert_eq!(names(&bare["cmdb_ci"]), vec!["display_value", "value"]);
    assert_eq!(bare["cmdb_ci"]["value"], all["cmdb_ci"]["value"]);
    let uri = format!("{base}&sysparm_exclude_reference_link=true");
    let value_only = call(&sim, Method::GET, &uri, None).await;
    assert_eq!(names(&value_only["cmdb_ci"]), vec!["value"]);
    let names_only = call(
        &sim,
        Method::GET,
        &format!("{base}&sysparm_display_value=true"),
        None,
    )
    .await;
    assert_eq!(names_only["cmdb_ci"], "checkout");
}
