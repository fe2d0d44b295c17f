//! Tickety's JSON as the adapter reads it. The models are tolerant:
//!
//! - unknown fields are ignored (no `deny_unknown_fields`): Tickety sends an `sla` object
//!   nobody here models, and may add more fields any day;
//! - whatever Tickety may leave out or send as `null` is `Option` or `#[serde(default)]`;
//! - enumerations stay strings and are mapped in [`vocab`](super::vocab), so an unknown
//!   word fails only the record that has it, with a message naming the word.

use itsm_core::{Error, ErrorKind, ExternalRef, Link, Person, Result};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The system name the adapter puts in [`ExternalRef::system`].
pub const SYSTEM: &str = "tickety";

/// One page of a list answer.
#[derive(Debug, Deserialize)]
pub(crate) struct Page<T> {
    #[serde(default = "Vec::new")]
    pub(crate) items: Vec<T>,
    #[serde(default)]
    pub(crate) next_cursor: Option<String>,
}

/// A person, as Tickety sends and accepts one.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct WirePerson {
    pub(crate) name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) email: Option<String>,
}

impl WirePerson {
    pub(crate) fn from_person(person: &Person) -> Self {
        WirePerson {
            name: person.name.clone(),
            email: person.email.clone(),
        }
    }

    pub(crate) fn into_person(self) -> Person {
        let person = Person::named(self.name);
        match self.email {
            Some(email) => person.with_email(email),
            None => person,
        }
    }
}

/// A web link; one whose URL does not parse is dropped when read (it cannot be followed
/// anyway, and it should not make the whole record unreadable).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct WireLink {
    pub(crate) label: String,
    pub(crate) url: String,
}

impl WireLink {
    pub(crate) fn from_link(link: &Link) -> Self {
        WireLink {
            label: link.label.clone(),
            url: link.url.to_string(),
        }
    }
}

pub(crate) fn read_links(links: Vec<WireLink>) -> Vec<Link> {
    links
        .into_iter()
        .filter_map(|l| Link::parse(l.label, &l.url).ok())
        .collect()
}

/// The reference to a Tickety record itself, with its web address when it parses.
pub(crate) fn record_ref(id: &str, web_url: Option<&str>) -> ExternalRef {
    with_url(ExternalRef::new(SYSTEM, id), web_url)
}

/// `reference` with `url` when it parses (a bad one is dropped, as for links).
fn with_url(reference: ExternalRef, url: Option<&str>) -> ExternalRef {
    match url.and_then(|u| u.parse().ok()) {
        Some(url) => reference.with_url(url),
        None => reference,
    }
}

/// A value Tickety sent that our types refuse (an empty id...), as
/// [`ErrorKind::InvalidResponse`] naming the record and the field.
pub(crate) fn unusable<T>(record: &str, field: &str, result: Result<T>) -> Result<T> {
    result.map_err(|e| {
        Error::new(
            ErrorKind::InvalidResponse,
            format!(
                "Tickety sent {record} with an unusable `{field}`: {}",
                e.message()
            ),
        )
        .with_context("field", field)
    })
}

/// A ticket.
#[derive(Debug, Deserialize)]
pub(crate) struct WireTicket {
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) key: Option<String>,
    #[serde(default)]
    pub(crate) title: String,
    #[serde(default)]
    pub(crate) body: String,
    pub(crate) status: String,
    pub(crate) urgency: String,
    #[serde(default)]
    pub(crate) major: bool,
    pub(crate) assignment: WireAssignment,
    #[serde(default)]
    pub(crate) tenant: Option<String>,
    #[serde(default)]
    pub(crate) acked_by: Option<WirePerson>,
    #[serde(default)]
    pub(crate) references: Vec<WireReference>,
    #[serde(default)]
    pub(crate) links: Vec<WireLink>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub(crate) created_at: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub(crate) solved_at: Option<OffsetDateTime>,
    #[serde(default)]
    pub(crate) web_url: Option<String>,
}

/// Who a ticket is assigned to.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct WireAssignment {
    pub(crate) service: String,
    /// Absent means a digital service.
    #[serde(default)]
    pub(crate) service_kind: Option<String>,
    #[serde(default)]
    pub(crate) team: Option<String>,
}

/// A record elsewhere that a ticket references.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct WireReference {
    pub(crate) system: String,
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) url: Option<String>,
}

impl WireReference {
    pub(crate) fn from_ref(reference: &ExternalRef) -> Self {
        WireReference {
            system: reference.system.clone(),
            id: reference.id.clone(),
            url: reference.url.as_ref().map(ToString::to_string),
        }
    }

    pub(crate) fn into_ref(self) -> ExternalRef {
        with_url(ExternalRef::new(self.system, self.id), self.url.as_deref())
    }
}

/// A change.
#[derive(Debug, Deserialize)]
pub(crate) struct WireChange {
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) key: Option<String>,
    pub(crate) kind: String,
    pub(crate) status: String,
    pub(crate) approval: String,
    pub(crate) service: String,
    pub(crate) version: String,
    pub(crate) environment: String,
    #[serde(default)]
    pub(crate) title: String,
    #[serde(default)]
    pub(crate) body: String,
    #[serde(default)]
    pub(crate) window: Option<WireWindow>,
    #[serde(default)]
    pub(crate) commits: Vec<String>,
    #[serde(default)]
    pub(crate) pipeline_run: Option<String>,
    #[serde(default)]
    pub(crate) requested_by: Option<WirePerson>,
    #[serde(default)]
    pub(crate) team: Option<String>,
    #[serde(default)]
    pub(crate) reasons: Vec<String>,
    #[serde(default)]
    pub(crate) retroactive: bool,
    #[serde(default)]
    pub(crate) links: Vec<WireLink>,
    #[serde(default)]
    pub(crate) close: Option<WireClose>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub(crate) created_at: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub(crate) updated_at: Option<OffsetDateTime>,
    #[serde(default)]
    pub(crate) web_url: Option<String>,
}

/// The body of `POST /api/v1/changes`.
#[derive(Debug, Serialize)]
pub(crate) struct WireNewChange<'a> {
    pub(crate) kind: &'a str,
    pub(crate) service: &'a str,
    pub(crate) version: &'a str,
    pub(crate) environment: &'a str,
    pub(crate) title: &'a str,
    pub(crate) body: &'a str,
    pub(crate) window: Option<WireWindow>,
    pub(crate) commits: Vec<&'a str>,
    pub(crate) pipeline_run: Option<&'a str>,
    pub(crate) requested_by: Option<WirePerson>,
    pub(crate) team: Option<&'a str>,
    pub(crate) reasons: &'a [String],
    pub(crate) retroactive: bool,
    pub(crate) links: Vec<WireLink>,
}

/// A change's implementation window.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct WireWindow {
    #[serde(with = "time::serde::rfc3339")]
    pub(crate) start: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub(crate) end: OffsetDateTime,
}

/// How a change was closed.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct WireClose {
    pub(crate) outcome: String,
    #[serde(default)]
    pub(crate) notes: String,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub(crate) closed_at: Option<OffsetDateTime>,
}

/// One approval row of a change.
#[derive(Debug, Deserialize)]
pub(crate) struct WireApproval {
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) approver: Option<WirePerson>,
    pub(crate) status: String,
    #[serde(default)]
    pub(crate) comment: Option<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub(crate) decided_at: Option<OffsetDateTime>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tickets_read_with_unknown_fields_and_without_optional_ones() {
        let json = r#"{
            "id": "TCK-7", "status": "open", "urgency": "high",
            "assignment": {"service": "checkout"},
            "sla": {"policy": "24x7", "breached": true},
            "brand_new_field": [1, 2, 3]
        }"#;
        let ticket: WireTicket = serde_json::from_str(json).unwrap();
        assert_eq!(ticket.id, "TCK-7");
        assert_eq!(ticket.key, None);
        assert!(ticket.assignment.service_kind.is_none());
        assert!(ticket.references.is_empty() && ticket.created_at.is_none());
    }

    #[test]
    fn links_that_do_not_parse_are_dropped() {
        let links = read_links(vec![
            WireLink {
                label: "runbook".into(),
                url: "https://runbooks.example/checkout".into(),
            },
            WireLink {
                label: "broken".into(),
                url: "not a url".into(),
            },
        ]);
        assert_eq!(links.len(), 1);
        assert_eq!(links[0].label, "runbook");
    }

    #[test]
    fn unusable_values_are_invalid_responses_naming_the_field() {
        let err = unusable(
            "ticket TCK-1",
            "id",
            itsm_core::ServiceId::new("").map(|_| ()),
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidResponse);
        assert!(err.to_string().contains("unusable `id`"), "{err}");
    }
}
