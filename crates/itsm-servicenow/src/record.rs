//! Tolerant reading of ServiceNow records.
//!
//! A field arrives in one of several shapes, depending on the API and on
//! `sysparm_display_value`: a plain string (`"6"`), a JSON number or boolean, a reference
//! `{"link": ..., "value": "<sys_id>"}`, or `{"value": ..., "display_value": ...}` (the
//! Change Management API always, the Table API with `sysparm_display_value=all`). A
//! [`Record`] reads any of them; unknown fields are ignored and nothing here panics.

use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;

/// One record: field name to raw JSON value.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Record(pub(crate) Map<String, Value>);

/// ServiceNow's internal date-time format (UTC): `2026-05-01 10:00:00`.
const SN_DATETIME: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");

pub(crate) fn scalar(value: &Value) -> Option<String> {
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => return None,
    };
    (!text.trim().is_empty()).then_some(text)
}

impl Record {
    /// Reads a record from a JSON value (`None` unless it is an object).
    pub(crate) fn from_value(value: Value) -> Option<Record> {
        match value {
            Value::Object(map) => Some(Record(map)),
            _ => None,
        }
    }

    /// The stored value of `field` (a reference's sys_id, a choice's code); `None` when
    /// absent or empty.
    pub(crate) fn value(&self, field: &str) -> Option<String> {
        if field.is_empty() {
            return None;
        }
        #[cfg(test)]
        reads::note(field);
        match self.0.get(field)? {
            Value::Object(obj) => obj.get("value").and_then(scalar),
            other => scalar(other),
        }
    }

    /// The display value of `field` (a reference's name), else its value.
    pub(crate) fn display(&self, field: &str) -> Option<String> {
        if field.is_empty() {
            return None;
        }
        #[cfg(test)]
        reads::note(field);
        match self.0.get(field)? {
            Value::Object(obj) => obj
                .get("display_value")
                .and_then(scalar)
                .or_else(|| obj.get("value").and_then(scalar)),
            other => scalar(other),
        }
    }

    /// The value of `field` as text, empty when absent.
    pub(crate) fn text(&self, field: &str) -> String {
        self.value(field).unwrap_or_default()
    }

    /// `field` as a boolean: `true`, `"true"`, `"1"` (any case) are true; absent is false.
    pub(crate) fn flag(&self, field: &str) -> bool {
        self.value(field)
            .is_some_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "true" | "1"))
    }

    /// `field` as a whole number (`"6"` or `6`).
    pub(crate) fn number(&self, field: &str) -> Option<i64> {
        self.value(field).and_then(|v| v.trim().parse().ok())
    }

    /// `field` as a UTC time in ServiceNow's format (or RFC 3339).
    pub(crate) fn time(&self, field: &str) -> Option<OffsetDateTime> {
        self.value(field).and_then(|v| parse_time(&v))
    }

    /// The record's `sys_id`.
    pub(crate) fn sys_id(&self) -> Option<String> {
        self.value("sys_id")
    }
}

/// Parses `2026-05-01 10:00:00` (UTC) or an RFC 3339 time.
pub(crate) fn parse_time(text: &str) -> Option<OffsetDateTime> {
    let text = text.trim();
    time::PrimitiveDateTime::parse(text, SN_DATETIME)
        .map(|t| t.assume_utc())
        .ok()
        .or_else(|| {
            OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()
        })
}

/// Formats a time as ServiceNow's internal UTC format.
pub(crate) fn format_time(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .format(SN_DATETIME)
        .unwrap_or_default()
}

/// Escapes a value for an encoded query: `^` separates terms, so `^` becomes `^^`.
pub(crate) fn query_value(value: &str) -> String {
    value.replace('^', "^^")
}

/// Which fields a mapping reads (tests only): every read of a [`Record`] goes through
/// [`Record::value`] or [`Record::display`], which note the field here, so a test can
/// compare what a mapping reads with the `sysparm_fields` it asks for.
#[cfg(test)]
pub(crate) mod reads {
    use std::cell::RefCell;
    use std::collections::BTreeSet;

    thread_local! {
        static READS: RefCell<Option<BTreeSet<String>>> = const { RefCell::new(None) };
    }

    pub(super) fn note(field: &str) {
        READS.with(|r| {
            if let Some(set) = r.borrow_mut().as_mut() {
                set.insert(field.to_owned());
            }
        });
    }

    /// The fields `f` read from records on this thread.
    pub(crate) fn during(f: impl FnOnce()) -> BTreeSet<String> {
        READS.with(|r| *r.borrow_mut() = Some(BTreeSet::new()));
        f();
        READS.with(|r| r.borrow_mut().take()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    fn record(v: Value) -> Record {
        Record::from_value(v).unwrap()
    }

    #[test]
    fn every_field_shape_is_read() {
        let r = record(json!({
            "plain": "6",
            "number": 6,
            "boolean": true,
            "reference": {"link": "https://x/api/now/table/sys_user_group/abc", "value": "abc"},
            "both": {"value": "-5", "display_value": "New"},
            "only_display": {"display_value": "Checkout", "link": "https://x"},
            "empty": "",
            "null": null,
            "list": [1, 2]
        }));
        assert_eq!(r.value("plain").as_deref(), Some("6"));
        assert_eq!(r.number("plain"), Some(6));
        assert_eq!(r.number("number"), Some(6));
        assert!(r.flag("boolean"));
        assert_eq!(r.value("reference").as_deref(), Some("abc"));
        assert_eq!(r.display("reference").as_deref(), Some("abc"));
        assert_eq!(r.value("both").as_deref(), Some("-5"));
        assert_eq!(r.display("both").as_deref(), Some("New"));
        assert_eq!(r.value("only_display"), None);
        assert_eq!(r.display("only_display").as_deref(), Some("Checkout"));
        for absent in ["empty", "null", "list", "missing", ""] {
            assert_eq!(r.value(absent), None, "{absent}");
            assert!(!r.flag(absent));
        }
    }

    #[test]
    fn flags_accept_strings() {
        let r = record(json!({"a": "true", "b": "1", "c": "false", "d": "TRUE", "e": "0"}));
        assert!(r.flag("a") && r.flag("b") && r.flag("d"));
        assert!(!r.flag("c") && !r.flag("e"));
    }

    #[test]
    fn times_in_servicenow_format_are_utc() {
        let r = record(
            json!({"at": {"value": "2026-05-01 10:00:00", "display_value": "01/05/2026 12:00:00"}}),
        );
        assert_eq!(r.time("at"), Some(datetime!(2026-05-01 10:00 UTC)));
        assert_eq!(
            parse_time("2026-05-01T12:00:00+02:00"),
            Some(datetime!(2026-05-01 10:00 UTC))
        );
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(
            format_time(datetime!(2026-05-01 12:00 +2)),
            "2026-05-01 10:00:00"
        );
    }

    #[test]
    fn reads_are_noted_only_while_asked() {
        let r = record(json!({"a": "1", "b": {"value": "2", "display_value": "two"}}));
        let seen = reads::during(|| {
            r.value("a");
            r.display("b");
            r.flag("missing");
            r.value("");
        });
        let expected: Vec<&str> = vec!["a", "b", "missing"];
        assert_eq!(
            seen.iter().map(String::as_str).collect::<Vec<_>>(),
            expected
        );
        r.value("after");
        assert!(reads::during(|| ()).is_empty());
    }

    #[test]
    fn query_values_escape_the_separator() {
        assert_eq!(query_value("a^b"), "a^^b");
    }
}
