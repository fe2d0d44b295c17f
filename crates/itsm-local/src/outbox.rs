//! The notification outbox (`notification` table): recording a notification inside a
//! write transaction, and the delivery bookkeeping of the chat relay.

use itsm_core::{Notification, Result};
use time::OffsetDateTime;

use crate::records::{decode, encode, timestamp, variant_text};
use crate::store::Conn;

/// A notification in the outbox with its delivery state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    /// The notification as recorded.
    pub notification: Notification,
    /// How many delivery attempts failed or succeeded so far.
    pub attempts: u32,
    /// Why the last failed attempt failed (no secrets in it).
    pub last_error: Option<String>,
    /// When it was delivered, `None` while pending.
    pub delivered_at: Option<String>,
}

/// Records `notification` unless its key is already in the outbox.
pub(crate) fn record(
    conn: &Conn<'_>,
    notification: &Notification,
    now: OffsetDateTime,
) -> Result<()> {
    let key = notification.key.as_str();
    conn.execute(
        "INSERT INTO notification (key, topic, created_at, body) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (key) DO NOTHING",
        rusqlite::params![
            key,
            variant_text(&notification.topic),
            timestamp(now)?,
            encode("notification", key, notification)?,
        ],
    )?;
    Ok(())
}

/// Every outbox entry, oldest first; only the undelivered ones when `pending_only`.
pub(crate) fn entries(conn: &Conn<'_>, pending_only: bool) -> Result<Vec<(i64, OutboxEntry)>> {
    let sql = if pending_only {
        "SELECT seq, key, body, attempts, last_error, sent_at FROM notification \
         WHERE sent_at IS NULL ORDER BY seq"
    } else {
        "SELECT seq, key, body, attempts, last_error, sent_at FROM notification ORDER BY seq"
    };
    let rows = conn.rows(sql, [], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, Option<String>>(4)?,
            r.get::<_, Option<String>>(5)?,
        ))
    })?;
    rows.into_iter()
        .map(|(seq, key, body, attempts, last_error, sent_at)| {
            Ok((
                seq,
                OutboxEntry {
                    notification: decode(conn.path(), "notification", &key, &body)?,
                    attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                    last_error,
                    delivered_at: sent_at,
                },
            ))
        })
        .collect()
}

/// Marks an entry delivered (one more attempt, no error).
pub(crate) fn mark_delivered(conn: &Conn<'_>, seq: i64, now: OffsetDateTime) -> Result<()> {
    conn.execute(
        "UPDATE notification SET sent_at = ?2, attempts = attempts + 1, last_error = NULL \
         WHERE seq = ?1",
        rusqlite::params![seq, timestamp(now)?],
    )?;
    Ok(())
}

/// Records a failed delivery attempt; the entry stays pending.
pub(crate) fn mark_failed(conn: &Conn<'_>, seq: i64, error: &str) -> Result<()> {
    conn.execute(
        "UPDATE notification SET attempts = attempts + 1, last_error = ?2 WHERE seq = ?1",
        rusqlite::params![seq, error],
    )?;
    Ok(())
}
