//! Request bodies written on the hot path (creating an incident), serialised straight from
//! borrowed data instead of through a `serde_json::Value` tree.

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use crate::adf::Doc;

/// The body of `POST /rest/api/3/issue` for a new incident.
#[derive(Debug, Serialize)]
pub(crate) struct NewIssue<'a> {
    pub(crate) fields: NewIssueFields<'a>,
    /// Issue properties set with the create (the key, in `property` mode).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) properties: Vec<IssueProperty<'a>>,
}

/// The `fields` of a new incident issue.
#[derive(Debug, Serialize)]
pub(crate) struct NewIssueFields<'a> {
    pub(crate) project: Key<'a>,
    pub(crate) issuetype: Name<'a>,
    pub(crate) summary: &'a str,
    pub(crate) description: Doc<'a>,
    pub(crate) priority: Name<'a>,
    pub(crate) labels: Vec<String>,
    #[serde(flatten)]
    pub(crate) service: ServiceField<'a>,
}

/// `{"key": ...}`.
#[derive(Debug, Serialize)]
pub(crate) struct Key<'a> {
    pub(crate) key: &'a str,
}

/// `{"name": ...}`.
#[derive(Debug, Serialize)]
pub(crate) struct Name<'a> {
    pub(crate) name: &'a str,
}

/// `{"key": <property>, "value": {"key": <our key>}}`.
#[derive(Debug, Serialize)]
pub(crate) struct IssueProperty<'a> {
    pub(crate) key: &'a str,
    pub(crate) value: Key<'a>,
}

/// Where an incident's service is written: `"components": [{"name": <service>}]`, or
/// `"<custom field id>": <service>`. Serialises as a map of that one entry (a `fields`
/// object on its own, or flattened into one).
#[derive(Debug, Clone, Copy)]
pub(crate) enum ServiceField<'a> {
    /// The `components` field.
    Components(&'a str),
    /// A text custom field: its id and the service.
    Custom(&'a str, &'a str),
}

impl Serialize for ServiceField<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(1))?;
        match *self {
            ServiceField::Components(service) => {
                map.serialize_entry("components", &[Name { name: service }])?
            }
            ServiceField::Custom(id, service) => map.serialize_entry(id, service)?,
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn fields(service: ServiceField<'static>) -> NewIssueFields<'static> {
        NewIssueFields {
            project: Key { key: "OPS" },
            issuetype: Name { name: "Incident" },
            summary: "Checkout down",
            description: Doc("p99 above 2 s"),
            priority: Name { name: "High" },
            labels: vec!["itsm-service:checkout".into()],
            service,
        }
    }

    fn json_of<T: Serialize>(value: &T) -> Value {
        serde_json::from_str(&serde_json::to_string(value).unwrap()).unwrap()
    }

    #[test]
    fn a_new_issue_is_the_documented_create_body() {
        let body = NewIssue {
            fields: fields(ServiceField::Components("checkout")),
            properties: vec![],
        };
        assert_eq!(
            json_of(&body),
            json!({ "fields": {
                "project": { "key": "OPS" },
                "issuetype": { "name": "Incident" },
                "summary": "Checkout down",
                "description": crate::adf::doc("p99 above 2 s"),
                "priority": { "name": "High" },
                "labels": ["itsm-service:checkout"],
                "components": [{ "name": "checkout" }],
            } })
        );
    }

    #[test]
    fn a_custom_service_field_and_the_key_property_are_written() {
        let body = NewIssue {
            fields: fields(ServiceField::Custom("customfield_10050", "checkout")),
            properties: vec![IssueProperty {
                key: "itsm",
                value: Key { key: "alert/1" },
            }],
        };
        let v = json_of(&body);
        assert_eq!(v["fields"]["customfield_10050"], "checkout");
        assert!(v["fields"].get("components").is_none());
        assert_eq!(
            v["properties"],
            json!([{ "key": "itsm", "value": { "key": "alert/1" } }])
        );
        assert_eq!(
            json_of(&ServiceField::Components("db")),
            json!({ "components": [{ "name": "db" }] })
        );
    }
}
