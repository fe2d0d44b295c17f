//! The Service Catalog API (`/api/sn_sc/servicecatalog/...`): items with their variables,
//! `order_now`, the cart (`add_to_cart`, `cart`, `cart/submit_order`), and the records an
//! order writes: `sc_request`, `sc_req_item` and `sc_item_option_mtom` (one row per
//! answered variable, fields dot-walked as `sc_item_option.item_option_new.name` and
//! `sc_item_option.value`).

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::store::{Row, Tables, now_text};
use super::{Req, ServiceNowSim, error, page, result};

/// One variable of a simulated catalog item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimVariable {
    /// Its name.
    pub name: String,
    /// The question shown.
    pub label: String,
    /// ServiceNow's type code (`6` single line text, `5` select box, `7` check box,
    /// `1` yes / no, `4` numeric scale, `11` label...).
    pub type_code: u32,
    /// Whether an order must answer it.
    pub mandatory: bool,
    /// The values of a choice type.
    pub choices: Vec<String>,
}

impl SimVariable {
    /// A single line text variable.
    pub fn text(name: &str, mandatory: bool) -> Self {
        SimVariable {
            name: name.to_owned(),
            label: name.replace('_', " "),
            type_code: 6,
            mandatory,
            choices: Vec::new(),
        }
    }

    /// A select box with `choices`.
    pub fn select(name: &str, mandatory: bool, choices: &[&str]) -> Self {
        SimVariable {
            type_code: 5,
            choices: choices.iter().map(|c| (*c).to_owned()).collect(),
            ..SimVariable::text(name, mandatory)
        }
    }

    /// A variable of another type.
    pub fn of_type(name: &str, type_code: u32, mandatory: bool) -> Self {
        SimVariable {
            type_code,
            ..SimVariable::text(name, mandatory)
        }
    }
}

const ITEMS: &str = "sc_cat_item";
const VARIABLES: &str = "item_option_new";

impl ServiceNowSim {
    /// Adds an active catalog item of `category` (a sys_id) with `variables`; returns its
    /// sys_id.
    pub fn add_catalog_item(
        &self,
        name: &str,
        category: &str,
        variables: &[SimVariable],
    ) -> String {
        let mut state = self.lock();
        let item = row(&[
            ("name", name),
            ("short_description", &format!("Order {name}")),
            ("category", category),
            ("active", "true"),
        ]);
        let id = state.tables.insert(ITEMS, item);
        for (i, v) in variables.iter().enumerate() {
            let order = ((i + 1) * 100).to_string();
            let variable = row(&[
                ("cat_item", &id),
                ("name", &v.name),
                ("question_text", &v.label),
                ("type", &v.type_code.to_string()),
                ("mandatory", if v.mandatory { "true" } else { "false" }),
                ("order", &order),
                ("choices", &v.choices.join(",")),
            ]);
            state.tables.insert(VARIABLES, variable);
        }
        id
    }

    /// Two-step checkout: `order_now` puts the item in the cart and answers with the cart.
    pub fn set_two_step_checkout(&self, on: bool) {
        self.lock().two_step = on;
    }
}

fn row(fields: &[(&str, &str)]) -> Row {
    fields
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

pub(super) fn handle(sim: &ServiceNowSim, req: &Req, rest: &[&str]) -> Response {
    let mut state = sim.lock();
    let base = state.base.clone();
    match (&req.method, rest) {
        (&Method::GET, ["items"]) => {
            let category = req.param("sysparm_category").unwrap_or("");
            let items: Vec<Value> = state
                .tables
                .query(ITEMS, "active=true")
                .iter()
                .filter(|r| {
                    category.is_empty() || r.get("category").map(String::as_str) == Some(category)
                })
                .map(summary)
                .collect();
            page(req, &base, items)
        }
        (&Method::GET, ["items", id]) => match detail(&state.tables, id) {
            Some(item) => result(StatusCode::OK, item),
            None => no_item(),
        },
        (&Method::POST, ["items", id, action @ ("order_now" | "add_to_cart")]) => {
            if state.tables.get(ITEMS, id).is_none() {
                return no_item();
            }
            let quantity = req.body.get("sysparm_quantity").map(|q| match q {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            });
            if quantity
                .as_deref()
                .and_then(|q| q.parse::<u32>().ok())
                .is_none_or(|q| q == 0)
            {
                return error(
                    StatusCode::BAD_REQUEST,
                    "Invalid quantity value",
                    "sysparm_quantity must be a positive number",
                );
            }
            let answers = answers(&state.tables, id, req.body.get("variables"));
            let answers = match answers {
                Ok(a) => a,
                Err(resp) => return *resp,
            };
            if *action == "add_to_cart" || state.two_step {
                state.cart.push((id.to_string(), answers));
                return result(StatusCode::OK, cart(&state.cart));
            }
            let (request_id, number) = order(&mut state.tables, &[(id.to_string(), answers)]);
            result(
                StatusCode::OK,
                json!({
                    "sys_id": request_id, "number": number, "request_number": number,
                    "request_id": request_id, "table": "sc_request"
                }),
            )
        }
        (&Method::GET, ["cart"]) => result(StatusCode::OK, cart(&state.cart)),
        (&Method::POST, ["cart", "submit_order"]) => {
            if state.cart.is_empty() {
                return error(
                    StatusCode::BAD_REQUEST,
                    "Cart is empty",
                    "the user cart has no items",
                );
            }
            let items = std::mem::take(&mut state.cart);
            let (request_id, number) = order(&mut state.tables, &items);
            result(
                StatusCode::OK,
                json!({ "request_number": number, "request_id": request_id }),
            )
        }
        _ => error(
            StatusCode::BAD_REQUEST,
            "Requested URI does not represent any resource",
            "the simulator's Service Catalog API has no such operation",
        ),
    }
}

fn no_item() -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "Security constraints prevent access to requested item",
        "the item does not exist or the user cannot order it",
    )
}

fn text(r: &Row, field: &str) -> String {
    r.get(field).cloned().unwrap_or_default()
}

fn summary(r: &Row) -> Value {
    json!({
        "sys_id": text(r, "sys_id"),
        "name": text(r, "name"),
        "short_description": text(r, "short_description"),
        "type": "catalog_item",
        "sys_class_name": ITEMS,
        "price": "$0.00",
        "category": { "sys_id": text(r, "category"), "title": "Category" },
    })
}

fn detail(tables: &Tables, id: &str) -> Option<Value> {
    let item = tables.get(ITEMS, id)?;
    let variables: Vec<Value> = tables
        .query(VARIABLES, &format!("cat_item={id}"))
        .iter()
        .map(|v| {
            let choices: Vec<Value> = text(v, "choices")
                .split(',')
                .filter(|c| !c.is_empty())
                .enumerate()
                .map(|(i, c)| json!({ "index": i, "label": c.to_uppercase(), "value": c }))
                .collect();
            json!({
                "active": true,
                "name": text(v, "name"),
                "label": text(v, "question_text"),
                "type": text(v, "type").parse::<u32>().unwrap_or(6),
                "mandatory": text(v, "mandatory") == "true",
                "order": text(v, "order").parse::<u32>().unwrap_or(0),
                "choices": choices,
                "read_only": false,
                "value": "",
                "displayvalue": "",
                "id": text(v, "sys_id"),
            })
        })
        .collect();
    let mut out = summary(item);
    if let Value::Object(map) = &mut out {
        map.insert("description".into(), json!(text(item, "short_description")));
        map.insert(
            "categories".into(),
            json!([{ "sys_id": text(item, "category"), "title": "Category" }]),
        );
        map.insert("variables".into(), Value::Array(variables));
        map.insert("mandatory_attachment".into(), json!(false));
    }
    Some(out)
}

/// The answered variables of an order of `item`: unknown ones are ignored, a missing
/// mandatory one is refused.
fn answers(
    tables: &Tables,
    item: &str,
    given: Option<&Value>,
) -> Result<Vec<(String, String)>, Box<Response>> {
    let mut out = Vec::new();
    for v in tables.query(VARIABLES, &format!("cat_item={item}")) {
        let name = text(&v, "name");
        let value = given.and_then(|g| g.get(&name)).map(|x| match x {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
        match value.filter(|s| !s.trim().is_empty()) {
            Some(value) => out.push((name, value)),
            None if text(&v, "mandatory") == "true" => {
                return Err(Box::new(error(
                    StatusCode::BAD_REQUEST,
                    "Mandatory Variables are required",
                    &format!("variable {name} is mandatory"),
                )));
            }
            None => {}
        }
    }
    Ok(out)
}

fn cart(items: &[(String, Vec<(String, String)>)]) -> Value {
    let items: Vec<Value> = items
        .iter()
        .enumerate()
        .map(|(i, (item, _))| json!({ "cart_item_id": format!("{i:032x}"), "catalog_item_id": item, "quantity": "1", "price": "$0.00" }))
        .collect();
    json!({ "cart_id": "5ca7000000000000000000000000ca47", "subtotal": "$0.00", "items": items })
}

/// Writes a request with one requested item per ordered item; its sys_id and number.
fn order(tables: &mut Tables, items: &[(String, Vec<(String, String)>)]) -> (String, String) {
    let request = tables.insert(
        "sc_request",
        row(&[
            ("request_state", "requested"),
            ("requested_for", "itsm.integration"),
        ]),
    );
    let number = tables
        .get("sc_request", &request)
        .map(|r| text(r, "number"))
        .unwrap_or_default();
    for (item, answers) in items {
        let ritm = tables.insert(
            "sc_req_item",
            row(&[
                ("cat_item", item),
                ("request", &request),
                ("state", "1"),
                ("stage", "request_approved"),
                ("quantity", "1"),
                ("opened_at", &now_text()),
                ("opened_by", "itsm.integration"),
                ("requested_for", "itsm.integration"),
            ]),
        );
        for (name, value) in answers {
            tables.insert(
                "sc_item_option_mtom",
                row(&[
                    ("request_item", &ritm),
                    ("sc_item_option.item_option_new.name", name),
                    ("sc_item_option.value", value),
                ]),
            );
        }
    }
    (request, number)
}
