//! Encoding records for storage: JSON bodies, enum column values, timestamps, local ids and
//! page cursors.

use std::path::Path;

use itsm_change::{ApprovalState, ChangeKind, ChangeState};
use itsm_core::{Error, ErrorKind, ListRequest, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The page size when a [`ListRequest`] gives none.
pub(crate) const DEFAULT_PAGE: u32 = 100;
/// The largest page size; larger requests are shortened to it.
pub(crate) const MAX_PAGE: u32 = 1000;

/// A record's JSON body.
pub(crate) fn encode<T: Serialize>(what: &str, id: &str, record: &T) -> Result<String> {
    serde_json::to_string(record).map_err(|e| {
        Error::new(
            ErrorKind::Internal,
            format!("{what} {id} cannot be encoded as JSON: {e}"),
        )
        .with_context("id", id)
        .with_source(e)
    })
}

/// Reads a record's JSON body; corrupt data is an internal error naming the record.
pub(crate) fn decode<T: DeserializeOwned>(
    path: &Path,
    what: &str,
    id: &str,
    body: &str,
) -> Result<T> {
    serde_json::from_str(body).map_err(|e| {
        Error::new(
            ErrorKind::Internal,
            format!(
                "{what} {id} in database {} has an unreadable body: {e}",
                path.display()
            ),
        )
        .with_context("id", id)
        .with_context("path", path.display())
        .with_source(e)
    })
}

/// An RFC 3339 timestamp in UTC.
pub(crate) fn timestamp(at: OffsetDateTime) -> Result<String> {
    at.to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .map_err(|e| Error::invalid_input(format!("time {at} cannot be stored: {e}")))
}

/// A local id: `prefix` and the sequence number zero-padded to 7 digits (`CHG0000001`).
pub(crate) fn local_id(prefix: &str, seq: i64) -> String {
    format!("{prefix}{seq:07}")
}

/// The column value of a change kind.
pub(crate) fn kind_text(kind: ChangeKind) -> &'static str {
    match kind {
        ChangeKind::Standard => "standard",
        ChangeKind::Normal => "normal",
        ChangeKind::Emergency => "emergency",
    }
}

/// The column value (and the name in messages) of a change state.
pub(crate) fn state_text(state: ChangeState) -> &'static str {
    match state {
        ChangeState::New => "new",
        ChangeState::Assess => "assess",
        ChangeState::Authorize => "authorize",
        ChangeState::Scheduled => "scheduled",
        ChangeState::Implement => "implement",
        ChangeState::Review => "review",
        ChangeState::Closed => "closed",
        ChangeState::Canceled => "canceled",
    }
}

/// The column value (and the name in messages) of an approval state.
pub(crate) fn approval_text(approval: ApprovalState) -> &'static str {
    match approval {
        ApprovalState::NotRequested => "not_requested",
        ApprovalState::Requested => "requested",
        ApprovalState::Approved => "approved",
        ApprovalState::Rejected => "rejected",
    }
}

/// The JSON name of a serde unit variant (`"change_updated"`), for columns.
pub(crate) fn variant_text<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::from("unknown"),
    }
}

/// A page request resolved to an offset and a size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Page {
    pub(crate) offset: u64,
    pub(crate) limit: u32,
}

impl Page {
    /// Resolves `request`: the default size is 100, the largest 1000; the cursor is the
    /// offset of the page's first item, as returned in `Listing::next`.
    pub(crate) fn of(request: &ListRequest) -> Result<Page> {
        let limit = match request.limit {
            None => DEFAULT_PAGE,
            Some(0) => {
                return Err(Error::invalid_input(
                    "page limit must be at least 1; omit it for the default of 100",
                ));
            }
            Some(n) => n.min(MAX_PAGE),
        };
        let offset = match &request.cursor {
            None => 0,
            Some(cursor) => cursor.parse().map_err(|_| {
                Error::invalid_input(format!(
                    "page cursor {cursor:?} was not returned by this store; start again from \
                     the first page"
                ))
            })?,
        };
        Ok(Page { offset, limit })
    }

    /// SQL `LIMIT` (one more than the page, to see whether another page follows).
    pub(crate) fn sql_limit(&self) -> i64 {
        i64::from(self.limit) + 1
    }

    /// SQL `OFFSET`.
    pub(crate) fn sql_offset(&self) -> i64 {
        i64::try_from(self.offset).unwrap_or(i64::MAX)
    }

    /// Cuts the fetched rows (up to `limit + 1`) to the page and computes `next`.
    pub(crate) fn finish<T>(&self, mut items: Vec<T>) -> itsm_core::Listing<T> {
        let limit = usize::try_from(self.limit).unwrap_or(usize::MAX);
        if items.len() > limit {
            items.truncate(limit);
            let next = self.offset + u64::from(self.limit);
            itsm_core::Listing {
                items,
                next: Some(next.to_string()),
            }
        } else {
            itsm_core::Listing::complete(items)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use itsm_core::NotificationTopic;
    use time::macros::datetime;

    #[test]
    fn page_defaults_caps_and_cursors() {
        assert_eq!(
            Page::of(&ListRequest::first()).unwrap(),
            Page {
                offset: 0,
                limit: 100
            }
        );
        assert_eq!(
            Page::of(&ListRequest::with_limit(5000)).unwrap().limit,
            1000
        );
        let err = Page::of(&ListRequest::with_limit(0)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        let bad = ListRequest {
            limit: None,
            cursor: Some("abc".into()),
        };
        let err = Page::of(&bad).unwrap_err();
        assert!(err.to_string().contains("\"abc\""), "{err}");

        let page = Page {
            offset: 4,
            limit: 2,
        };
        let listing = page.finish(vec![1, 2, 3]);
        assert_eq!(listing.items, [1, 2]);
        assert_eq!(listing.next.as_deref(), Some("6"));
        assert_eq!(page.finish(vec![1, 2]).next, None);
    }

    #[test]
    fn ids_timestamps_and_variants() {
        assert_eq!(local_id("CHG", 1), "CHG0000001");
        assert_eq!(local_id("TPL", 12_345_678), "TPL12345678");
        let at = datetime!(2026-05-01 12:00 +02:00);
        assert_eq!(timestamp(at).unwrap(), "2026-05-01T10:00:00Z");
        assert_eq!(
            variant_text(&NotificationTopic::ChangeApprovalRequested),
            "change_approval_requested"
        );
        assert_eq!(state_text(ChangeState::Canceled), "canceled");
        assert_eq!(
            variant_text(&ChangeState::Canceled),
            state_text(ChangeState::Canceled)
        );
        assert_eq!(
            variant_text(&ApprovalState::NotRequested),
            approval_text(ApprovalState::NotRequested)
        );
        assert_eq!(
            variant_text(&ChangeKind::Emergency),
            kind_text(ChangeKind::Emergency)
        );
    }

    #[test]
    fn corrupt_bodies_name_the_record() {
        let err = decode::<itsm_change::ChangeRequest>(Path::new("/x/db"), "change", "CHG1", "{")
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Internal);
        assert!(err.to_string().contains("change CHG1"), "{err}");
        assert!(err.to_string().contains("/x/db"), "{err}");
    }
}

/// A table of keyed records (`id`, `key`, `body` columns) and how its records are named.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Table {
    /// The table's name.
    pub(crate) name: &'static str,
    /// What one record is called in messages (`incident`, `specialist request`).
    pub(crate) what: &'static str,
    /// The context key an error names the record under (`incident`, `request`).
    pub(crate) context: &'static str,
}

/// The record of `table` created with `key`, if any.
pub(crate) fn find_by_key<T: DeserializeOwned>(
    conn: &crate::store::Conn<'_>,
    table: Table,
    key: &itsm_core::IdempotencyKey,
) -> Result<Option<T>> {
    let row = conn.row(
        &format!("SELECT id, body FROM {} WHERE key = ?1", table.name),
        [key.as_str()],
        |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
    )?;
    row.map(|(id, body)| decode(conn.path(), table.what, &id, &body))
        .transpose()
}

/// The record of `table` with `id`, or [`ErrorKind::NotFound`].
pub(crate) fn get_by_id<T: DeserializeOwned>(
    conn: &crate::store::Conn<'_>,
    table: Table,
    id: &str,
) -> Result<T> {
    let body = conn.row(
        &format!("SELECT body FROM {} WHERE id = ?1", table.name),
        [id],
        |r| r.get::<_, String>(0),
    )?;
    match body {
        Some(body) => decode(conn.path(), table.what, id, &body),
        None => Err(Error::not_found(format!(
            "{} {id} does not exist in {}",
            table.what,
            conn.path().display()
        ))
        .with_context(table.context, id)),
    }
}

/// A table of notes on parent records (`<parent>_id`, `key`, `created_at`, `body`), one note
/// per parent and key.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NoteTable {
    /// The table's name (`incident_note`).
    pub(crate) name: &'static str,
    /// The column naming the parent record (`incident_id`).
    pub(crate) parent: &'static str,
}

/// Adds `note` to `parent` unless a note with `key` is already there.
pub(crate) fn add_keyed_note<T: Serialize>(
    conn: &crate::store::Conn<'_>,
    table: NoteTable,
    parent: &str,
    key: &itsm_core::IdempotencyKey,
    note: &T,
    now: OffsetDateTime,
) -> Result<()> {
    conn.execute(
        &format!(
            "INSERT INTO {name} ({parent}, key, created_at, body) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT ({parent}, key) DO NOTHING",
            name = table.name,
            parent = table.parent
        ),
        rusqlite::params![
            parent,
            key.as_str(),
            timestamp(now)?,
            encode("note", key.as_str(), note)?
        ],
    )?;
    Ok(())
}

/// The notes of `parent`, oldest first.
pub(crate) fn keyed_notes<T: DeserializeOwned>(
    conn: &crate::store::Conn<'_>,
    table: NoteTable,
    parent: &str,
) -> Result<Vec<T>> {
    let rows = conn.rows(
        &format!(
            "SELECT key, body FROM {} WHERE {} = ?1 ORDER BY seq",
            table.name, table.parent
        ),
        [parent],
        |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
    )?;
    rows.iter()
        .map(|(key, body)| decode(conn.path(), "note", key, body))
        .collect()
}
