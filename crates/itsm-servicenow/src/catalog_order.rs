//! Ordering a catalog item through the Service Catalog API: `order_now`, or the two-step
//! cart (`add_to_cart`, then `cart/submit_order`), including an instance with two-step
//! checkout whose `order_now` answers with a cart instead of a request.

use itsm_core::{Error, ErrorKind, Result};
use itsm_http::Request;
use serde_json::{Map, Value};

use crate::client::{ServiceNow, segment};
use crate::config::Checkout;
use crate::record::Record;

/// The Service Catalog API's base path.
pub(crate) const SC: &str = "api/sn_sc/servicecatalog";

/// What an order produced: the request (`sc_request`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ordered {
    /// The request's sys_id.
    pub(crate) request_id: String,
    /// Its number (`REQ0010010`), when answered.
    pub(crate) request_number: Option<String>,
}

impl Ordered {
    /// The request of an answer, if it names one (`request_id`, else `sys_id` of a
    /// `sc_request`).
    fn of(r: &Record) -> Option<Ordered> {
        let request_id = r.value("request_id").or_else(|| {
            let is_request = r.value("table").is_none_or(|t| t == "sc_request");
            r.value("sys_id")
                .filter(|_| is_request && r.value("cart_id").is_none())
        })?;
        Some(Ordered {
            request_id,
            request_number: r.value("request_number").or_else(|| r.value("number")),
        })
    }
}

impl ServiceNow {
    /// Orders one `item` with `variables` as the configuration says.
    pub(crate) async fn order(&self, item: &str, variables: Map<String, Value>) -> Result<Ordered> {
        let mut body = Map::new();
        body.insert("sysparm_quantity".into(), Value::String("1".into()));
        if let Some(user) = &self.config.catalog.requested_for {
            body.insert("sysparm_requested_for".into(), Value::String(user.clone()));
        }
        body.insert("variables".into(), Value::Object(variables));
        let action = match self.config.catalog.checkout {
            Checkout::OrderNow => "order_now",
            Checkout::Cart => "add_to_cart",
        };
        let path = format!("{SC}/items/{}/{action}", segment(item));
        let answer = self.api.one(Request::post(path).json(&body)).await?;
        if let Some(ordered) = Ordered::of(&answer) {
            return Ok(ordered);
        }
        if answer.value("cart_id").is_some() {
            // Two-step checkout: the item is in the cart; check the cart out.
            return self.submit_cart().await;
        }
        Err(Error::new(
            ErrorKind::InvalidResponse,
            format!("the ServiceNow {action} answer names neither a request nor a cart"),
        )
        .with_context("item", item))
    }

    /// `POST cart/submit_order`: checks out the integration user's cart.
    pub(crate) async fn submit_cart(&self) -> Result<Ordered> {
        let answer = self
            .api
            .one(Request::post(format!("{SC}/cart/submit_order")))
            .await?;
        Ordered::of(&answer).ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidResponse,
                "the ServiceNow submit_order answer has no request_id",
            )
        })
    }

    /// Checks out what an interrupted earlier submission left in the cart; whether there
    /// was anything.
    pub(crate) async fn flush_cart(&self) -> Result<bool> {
        let cart = self.api.one(Request::get(format!("{SC}/cart"))).await?;
        let has_items = cart
            .0
            .get("items")
            .and_then(Value::as_array)
            .is_some_and(|items| !items.is_empty());
        if has_items {
            self.submit_cart().await?;
        }
        Ok(has_items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(v: Value) -> Record {
        Record::from_value(v).unwrap()
    }

    #[test]
    fn answers_name_a_request_or_a_cart() {
        let order_now = record(json!({
            "sys_id": "ec4c6d4f1b3a0010", "number": "REQ0010005",
            "request_number": "REQ0010005", "request_id": "ec4c6d4f1b3a0010", "table": "sc_request"
        }));
        assert_eq!(
            Ordered::of(&order_now),
            Some(Ordered {
                request_id: "ec4c6d4f1b3a0010".into(),
                request_number: Some("REQ0010005".into())
            })
        );
        let submit = record(json!({"request_number": "REQ0010010", "request_id": "f89e"}));
        assert_eq!(Ordered::of(&submit).unwrap().request_id, "f89e");
        let cart = record(json!({"cart_id": "2bbb", "items": [], "sys_id": "x"}));
        assert_eq!(Ordered::of(&cart), None);
        let other = record(json!({"sys_id": "x", "table": "sc_cart"}));
        assert_eq!(Ordered::of(&other), None);
    }
}
