//! The Jira and JSM JSON the adapter reads: tolerant (unknown fields ignored, everything
//! optional that Jira may leave out).

use std::fmt;

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Something with a name (status, priority, resolution, component, issue type).
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Named {
    #[serde(default)]
    pub(crate) name: Option<String>,
}

impl Named {
    pub(crate) fn name(&self) -> &str {
        self.name.as_deref().unwrap_or_default()
    }
}

/// An issue of `GET /rest/api/3/issue/{key}` and of search results.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Issue {
    pub(crate) key: String,
    #[serde(default)]
    pub(crate) fields: IssueFields,
    /// Issue properties asked for with `properties=`.
    #[serde(default)]
    pub(crate) properties: serde_json::Map<String, Value>,
}

/// The fields the adapter reads; custom fields stay in `other`. Every field is optional,
/// and a `null` list reads as empty.
#[derive(Debug, Clone, Default)]
pub(crate) struct IssueFields {
    pub(crate) summary: Option<String>,
    pub(crate) description: Option<Value>,
    pub(crate) status: Option<Named>,
    pub(crate) labels: Vec<String>,
    pub(crate) resolution: Option<Named>,
    pub(crate) resolutiondate: Option<Value>,
    pub(crate) created: Option<Value>,
    pub(crate) updated: Option<Value>,
    pub(crate) priority: Option<Named>,
    pub(crate) components: Vec<Named>,
    pub(crate) other: serde_json::Map<String, Value>,
}

impl IssueFields {
    pub(crate) fn status(&self) -> &str {
        self.status.as_ref().map(Named::name).unwrap_or_default()
    }
}

// Read key by key rather than derived with `#[serde(flatten)] other`, which first buffers
// the whole object: issues are read on every operation.
impl<'de> Deserialize<'de> for IssueFields {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(FieldsVisitor)
    }
}

struct FieldsVisitor;

impl<'de> Visitor<'de> for FieldsVisitor {
    type Value = IssueFields;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an issue's fields object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<IssueFields, A::Error> {
        let mut f = IssueFields::default();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "summary" => f.summary = map.next_value()?,
                "description" => f.description = map.next_value()?,
                "status" => f.status = map.next_value()?,
                "labels" => f.labels = map.next_value::<Option<_>>()?.unwrap_or_default(),
                "resolution" => f.resolution = map.next_value()?,
                "resolutiondate" => f.resolutiondate = map.next_value()?,
                "created" => f.created = map.next_value()?,
                "updated" => f.updated = map.next_value()?,
                "priority" => f.priority = map.next_value()?,
                "components" => f.components = map.next_value::<Option<_>>()?.unwrap_or_default(),
                _ => {
                    let value = map.next_value()?;
                    f.other.insert(key, value);
                }
            }
        }
        Ok(f)
    }
}

/// A page of `GET /rest/api/3/search/jql`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct SearchPage {
    pub(crate) issues: Vec<Issue>,
    pub(crate) next_page_token: Option<String>,
    pub(crate) is_last: Option<bool>,
}

/// The answer of `POST /rest/api/3/issue`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct CreatedIssue {
    pub(crate) key: String,
}

/// One transition of `GET …/transitions`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Transition {
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) name: Option<String>,
    #[serde(default)]
    pub(crate) to: Option<Named>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Transitions {
    pub(crate) transitions: Vec<Transition>,
}

/// A comment of `GET …/comment?expand=properties`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct IssueComment {
    #[serde(default)]
    pub(crate) body: Option<Value>,
    #[serde(default)]
    pub(crate) author: Option<JsmUser>,
    #[serde(default)]
    pub(crate) created: Option<Value>,
    #[serde(default)]
    pub(crate) properties: Vec<EntityProperty>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct EntityProperty {
    #[serde(default)]
    pub(crate) key: String,
    #[serde(default)]
    pub(crate) value: Value,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct CommentPage {
    pub(crate) comments: Vec<IssueComment>,
    pub(crate) start_at: u64,
    pub(crate) max_results: u64,
    pub(crate) total: u64,
}

/// A remote link of `GET …/remotelink`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RemoteLink {
    #[serde(default)]
    pub(crate) global_id: Option<String>,
}

/// JSM's date object (`{"iso8601": "...", "epochMillis": ...}`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct JsmDate {
    pub(crate) iso8601: Option<String>,
    pub(crate) epoch_millis: Option<i64>,
}

impl JsmDate {
    pub(crate) fn instant(&self) -> Option<OffsetDateTime> {
        self.iso8601.as_deref().and_then(parse_time).or_else(|| {
            self.epoch_millis.and_then(|ms| {
                OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
            })
        })
    }
}

/// `POST /rest/servicedeskapi/request` and `GET …/request/{key}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CustomerRequest {
    pub(crate) issue_key: String,
    #[serde(default)]
    pub(crate) request_type_id: Option<String>,
    #[serde(default)]
    pub(crate) created_date: Option<JsmDate>,
    #[serde(default)]
    pub(crate) current_status: Option<RequestStatus>,
    #[serde(default)]
    pub(crate) request_field_values: Vec<FieldValue>,
}

/// A request's status (current, or one of its history).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct RequestStatus {
    pub(crate) status: Option<String>,
    pub(crate) status_date: Option<JsmDate>,
}

/// One field value of a request.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FieldValue {
    #[serde(default)]
    pub(crate) field_id: String,
    #[serde(default)]
    pub(crate) value: Value,
}

/// JSM's paged list (`values`, `isLastPage`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct JsmPage<T> {
    #[serde(default = "Vec::new")]
    pub(crate) values: Vec<T>,
    #[serde(default)]
    pub(crate) is_last_page: Option<bool>,
}

/// An approval of `GET …/request/{key}/approval`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct JsmApproval {
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) final_decision: Option<String>,
    #[serde(default)]
    pub(crate) approvers: Vec<JsmApprover>,
    #[serde(default)]
    pub(crate) completed_date: Option<JsmDate>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct JsmApprover {
    #[serde(default)]
    pub(crate) approver: Option<JsmUser>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct JsmUser {
    pub(crate) account_id: Option<String>,
    pub(crate) display_name: Option<String>,
    pub(crate) email_address: Option<String>,
}

/// A request type.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RequestType {
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) name: Option<String>,
    #[serde(default)]
    pub(crate) description: Option<String>,
}

/// `GET …/requesttype/{id}/field`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct RequestTypeFields {
    pub(crate) request_type_fields: Vec<RequestTypeField>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct RequestTypeField {
    pub(crate) field_id: String,
    pub(crate) name: Option<String>,
    pub(crate) required: bool,
    pub(crate) valid_values: Vec<ValidValue>,
    pub(crate) jira_schema: Option<JiraSchema>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ValidValue {
    pub(crate) value: Option<String>,
    pub(crate) label: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct JiraSchema {
    #[serde(rename = "type")]
    pub(crate) kind: Option<String>,
}

/// A timestamp field's instant, when it is a string Jira's formats parse (anything else,
/// such as the number some examples carry, reads as unknown).
pub(crate) fn time_of(value: &Option<Value>) -> Option<OffsetDateTime> {
    value.as_ref().and_then(Value::as_str).and_then(parse_time)
}

/// Parses Jira's timestamps: RFC 3339, or Jira's `2019-06-09T12:00:00.000+0000`.
pub(crate) fn parse_time(text: &str) -> Option<OffsetDateTime> {
    let text = text.trim();
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return Some(t);
    }
    // +0000 -> +00:00
    let len = text.len();
    if len > 5 {
        let (head, tail) = text.split_at(len - 5);
        let bytes = tail.as_bytes();
        if matches!(bytes.first(), Some(b'+' | b'-'))
            && tail[1..].bytes().all(|b| b.is_ascii_digit())
        {
            let fixed = format!("{head}{}:{}", &tail[..3], &tail[3..]);
            return OffsetDateTime::parse(&fixed, &Rfc3339).ok();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jira_times_parse() {
        let t = parse_time("2019-06-09T12:00:00.000+0000").unwrap();
        assert_eq!(t.unix_timestamp(), 1_560_081_600);
        assert_eq!(parse_time("2019-06-09T14:00:00.000+02:00").unwrap(), t);
        assert!(parse_time("yesterday").is_none());
        assert!(parse_time("").is_none());
    }

    #[test]
    fn issues_read_tolerantly() {
        let issue: Issue = serde_json::from_value(serde_json::json!({
            "key": "OPS-1", "fields": {"labels": null, "status": {"name": "Open"}, "customfield_1": 3}
        }))
        .unwrap();
        assert_eq!(issue.fields.status(), "Open");
        assert!(issue.fields.labels.is_empty());
        assert_eq!(issue.fields.other["customfield_1"], 3);
        let issue: Issue = serde_json::from_value(serde_json::json!({
            "key": "OPS-2", "fields": {
                "summary": null, "description": null, "components": null, "priority": null,
                "created": "2019-06-09T12:00:00.000+0000", "resolutiondate": null,
                "customfield_2": {"value": "Major"}, "issuetype": {"name": "Incident"}
            }
        }))
        .unwrap();
        let f = &issue.fields;
        assert!(f.summary.is_none() && f.description.is_none() && f.priority.is_none());
        assert!(f.components.is_empty() && f.labels.is_empty());
        assert_eq!(f.status(), "");
        assert!(time_of(&f.created).is_some() && time_of(&f.resolutiondate).is_none());
        assert_eq!(f.other.len(), 2);
        assert_eq!(f.other["customfield_2"]["value"], "Major");
        let issue: Issue = serde_json::from_value(serde_json::json!({"key": "OPS-3"})).unwrap();
        assert!(issue.fields.other.is_empty() && issue.properties.is_empty());
        // The wrong shape is an error, not a guess.
        assert!(
            serde_json::from_value::<Issue>(
                serde_json::json!({"key": "OPS-4", "fields": {"labels": "x"}})
            )
            .is_err()
        );
        assert!(
            serde_json::from_value::<Issue>(serde_json::json!({"key": "OPS-5", "fields": []}))
                .is_err()
        );
    }
}
