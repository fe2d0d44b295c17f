//! Keyed journal entries (work notes, comments).
//!
//! ServiceNow's journal has no idempotency key, so the adapter ends every entry it writes
//! with a marker line `[itsm key=<key>]` (plus `by=<author>` when known) and, before
//! writing, asks `sys_journal_field` whether an entry of the record already carries the
//! marker. A retry after a lost answer therefore adds nothing.

use itsm_core::{IdempotencyKey, Result};
use itsm_http::Request;

use crate::client::ServiceNow;
use crate::record::query_value;

const MARKER_START: &str = "[itsm key=";

/// The marker for `key` (without author).
pub(crate) fn marker(key: &IdempotencyKey) -> String {
    format!("{MARKER_START}{}", key.as_str())
}

/// `text` followed by the marker line of `key` and `author`.
pub(crate) fn with_marker(text: &str, key: &IdempotencyKey, author: Option<&str>) -> String {
    let by = author
        .map(|a| format!(" by={}", a.replace([']', '\n'], " ")))
        .unwrap_or_default();
    format!("{}\n\n{}{by}]", text.trim_end(), marker(key))
}

/// Splits an entry's text into the written text, key and author.
pub(crate) fn split(value: &str) -> (String, Option<String>, Option<String>) {
    let Some(at) = value.rfind(MARKER_START) else {
        return (value.trim_end().to_owned(), None, None);
    };
    let text = value[..at].trim_end().to_owned();
    let inner = value[at + MARKER_START.len()..]
        .trim_end()
        .trim_end_matches(']');
    match inner.split_once(" by=") {
        Some((key, by)) => (text, Some(key.to_owned()), Some(by.trim().to_owned())),
        None => (text, Some(inner.trim().to_owned()), None),
    }
}

impl ServiceNow {
    /// Whether the `element` journal (`work_notes`, `comments`) of record `sys_id` has an
    /// entry marked with `key`.
    pub(crate) async fn journal_has(
        &self,
        sys_id: &str,
        element: &str,
        key: &IdempotencyKey,
    ) -> Result<bool> {
        let query = format!(
            "element_id={}^element={element}^valueLIKE{}",
            query_value(sys_id),
            query_value(&marker(key))
        );
        let table = &self.config.tables.journal;
        let req = Request::get(Self::table(table)).query(&[
            ("sysparm_query", query.as_str()),
            ("sysparm_fields", "value"),
        ]);
        // LIKE also matches longer keys with this key as prefix: compare exactly.
        let page = self.api.list(req, 20, 0).await?;
        Ok(page
            .items
            .iter()
            .any(|r| split(&r.text("value")).1.as_deref() == Some(key.as_str())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_round_trip() {
        let key = IdempotencyKey::new("sync/evt-1").unwrap();
        let written = with_marker("Rolled back.\n", &key, Some("Ada [on-call]"));
        assert_eq!(
            written,
            "Rolled back.\n\n[itsm key=sync/evt-1 by=Ada [on-call ]"
        );
        let (text, k, by) = split(&written);
        assert_eq!(text, "Rolled back.");
        assert_eq!(k.as_deref(), Some("sync/evt-1"));
        assert_eq!(by.as_deref(), Some("Ada [on-call"));
        let (text, k, by) = split(&with_marker("x", &key, None));
        assert_eq!(
            (text.as_str(), k.as_deref(), by),
            ("x", Some("sync/evt-1"), None)
        );
        assert_eq!(split("plain note"), ("plain note".to_owned(), None, None));
    }
}
