//! The incident sync engine's state in SQLite (I8): seen deliveries, the last change
//! applied per record pair and field, and the engine's own writes awaiting their echo. It
//! survives a restart, so a redelivery after a crash is still recognised as a duplicate.

use async_trait::async_trait;
use itsm_core::{Error, IdempotencyKey, Result};
use itsm_incident::sync::{FieldMark, OwnWrite, Side, SyncField, SyncStateStore};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::records::timestamp;
use crate::store::LocalStore;

/// Migration 3: the sync engine's state.
pub(crate) const MIGRATION: &str = r#"
CREATE TABLE sync_seen (
    delivery_id TEXT PRIMARY KEY,
    seen_at     TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE sync_mark (
    key         TEXT NOT NULL,
    field       TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    value       TEXT NOT NULL,
    PRIMARY KEY (key, field)
) WITHOUT ROWID;

CREATE TABLE sync_write (
    seq         INTEGER PRIMARY KEY,
    side        TEXT NOT NULL,
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    written_at  TEXT NOT NULL
);
CREATE INDEX sync_write_match ON sync_write (side, key, fingerprint);
"#;

fn side_text(side: Side) -> &'static str {
    match side {
        Side::Ticketing => "ticketing",
        Side::Paging => "paging",
    }
}

fn parse_instant(text: &str) -> Result<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).map_err(|e| {
        Error::new(
            itsm_core::ErrorKind::Internal,
            format!("sync state holds an unreadable timestamp {text:?}: {e}"),
        )
    })
}

#[async_trait]
impl SyncStateStore for LocalStore {
    async fn is_seen(&self, delivery_id: &str) -> Result<bool> {
        let id = delivery_id.to_owned();
        self.read(move |conn| {
            conn.row(
                "SELECT 1 FROM sync_seen WHERE delivery_id = ?1",
                [&id],
                |_| Ok(()),
            )
            .map(|r| r.is_some())
        })
        .await
    }

    async fn mark_seen(&self, delivery_id: &str, at: OffsetDateTime) -> Result<()> {
        let id = delivery_id.to_owned();
        let at = timestamp(at)?;
        self.write(move |conn| {
            conn.execute(
                "INSERT OR IGNORE INTO sync_seen (delivery_id, seen_at) VALUES (?1, ?2)",
                [&id, &at],
            )
            .map(drop)
        })
        .await
    }

    async fn last_applied(
        &self,
        key: &IdempotencyKey,
        field: SyncField,
    ) -> Result<Option<FieldMark>> {
        let key = key.as_str().to_owned();
        let found = self
            .read(move |conn| {
                conn.row(
                    "SELECT occurred_at, value FROM sync_mark WHERE key = ?1 AND field = ?2",
                    [key.as_str(), field.as_str()],
                    |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
                )
            })
            .await?;
        found
            .map(|(at, value)| {
                Ok(FieldMark {
                    occurred_at: parse_instant(&at)?,
                    value,
                })
            })
            .transpose()
    }

    async fn set_last_applied(
        &self,
        key: &IdempotencyKey,
        field: SyncField,
        mark: &FieldMark,
    ) -> Result<()> {
        let key = key.as_str().to_owned();
        let at = timestamp(mark.occurred_at)?;
        let value = mark.value.clone();
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO sync_mark (key, field, occurred_at, value) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (key, field) DO UPDATE SET occurred_at = ?3, value = ?4",
                [key.as_str(), field.as_str(), &at, &value],
            )
            .map(drop)
        })
        .await
    }

    async fn record_write(&self, write: &OwnWrite) -> Result<()> {
        let side = side_text(write.side);
        let key = write.key.as_str().to_owned();
        let fingerprint = write.fingerprint.clone();
        let at = timestamp(write.at)?;
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO sync_write (side, key, fingerprint, written_at) VALUES (?1, ?2, ?3, ?4)",
                [side, key.as_str(), &fingerprint, &at],
            )
            .map(drop)
        })
        .await
    }

    async fn take_write(
        &self,
        side: Side,
        key: &IdempotencyKey,
        fingerprint: &str,
    ) -> Result<bool> {
        let side = side_text(side);
        let key = key.as_str().to_owned();
        let fingerprint = fingerprint.to_owned();
        self.write(move |conn| {
            let removed = conn.execute(
                "DELETE FROM sync_write WHERE seq = (SELECT MIN(seq) FROM sync_write
                 WHERE side = ?1 AND key = ?2 AND fingerprint = ?3)",
                [side, key.as_str(), &fingerprint],
            )?;
            Ok(removed > 0)
        })
        .await
    }
}
