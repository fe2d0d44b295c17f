//! Resolutions that arrived before their firing (I7, I8): a resolved alert that found
//! nothing to resolve is remembered by its dedup key, so that when the firing of that same
//! occurrence is delivered after it (out of order), what it opens is resolved at once
//! instead of staying open. It survives a restart like every other table of the store.

use itsm_core::{Error, ErrorKind, IdempotencyKey, Result};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::records::timestamp;
use crate::store::LocalStore;

/// Migration 5: resolutions received before their firing.
pub(crate) const MIGRATION: &str = r#"
CREATE TABLE alert_early_resolution (
    key         TEXT PRIMARY KEY,
    resolved_at TEXT NOT NULL
) WITHOUT ROWID;
"#;

impl LocalStore {
    /// Remembers that the alert `key` resolved before anything was opened for it, at
    /// `ends_at` (the alert's end time), or now by the store's clock when it gave none. The
    /// first time recorded is kept.
    ///
    /// # Errors
    ///
    /// The store's errors (the database cannot be written).
    pub async fn record_early_resolution(
        &self,
        key: &IdempotencyKey,
        ends_at: Option<OffsetDateTime>,
    ) -> Result<()> {
        let key = key.as_str().to_owned();
        let at = timestamp(ends_at.unwrap_or_else(|| self.now()))?;
        self.write(move |conn| {
            conn.execute(
                "INSERT OR IGNORE INTO alert_early_resolution (key, resolved_at) VALUES (?1, ?2)",
                [&key, &at],
            )
            .map(drop)
        })
        .await
    }

    /// When the alert `key` resolved before it fired, if
    /// [`record_early_resolution`](Self::record_early_resolution) recorded it.
    ///
    /// # Errors
    ///
    /// The store's errors; [`ErrorKind::Internal`] when the stored time does not parse.
    pub async fn early_resolution(&self, key: &IdempotencyKey) -> Result<Option<OffsetDateTime>> {
        let key = key.as_str().to_owned();
        let found = self
            .read(move |conn| {
                conn.row(
                    "SELECT resolved_at FROM alert_early_resolution WHERE key = ?1",
                    [&key],
                    |r| r.get::<_, String>(0),
                )
            })
            .await?;
        found
            .map(|text| {
                OffsetDateTime::parse(&text, &Rfc3339).map_err(|e| {
                    Error::new(
                        ErrorKind::Internal,
                        format!(
                            "the store holds an unreadable early resolution time {text:?}: {e}; \
                             the database was edited by hand"
                        ),
                    )
                })
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use itsm_core::{IdempotencyKey, ManualClock};
    use time::macros::datetime;

    use crate::LocalStore;

    #[tokio::test]
    async fn an_early_resolution_is_remembered_once_and_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("itsm.db");
        let clock = Arc::new(ManualClock::new(datetime!(2026-05-01 12:00 UTC)));
        let store = LocalStore::open(&path, clock.clone()).unwrap();
        let key = IdempotencyKey::new("am/early").unwrap();
        assert_eq!(store.early_resolution(&key).await.unwrap(), None);

        let first = datetime!(2026-05-01 10:05 UTC);
        store
            .record_early_resolution(&key, Some(first))
            .await
            .unwrap();
        store.record_early_resolution(&key, None).await.unwrap();
        assert_eq!(store.early_resolution(&key).await.unwrap(), Some(first));
        let other = IdempotencyKey::new("am/other").unwrap();
        assert_eq!(store.early_resolution(&other).await.unwrap(), None);
        store.record_early_resolution(&other, None).await.unwrap();
        assert_eq!(
            store.early_resolution(&other).await.unwrap(),
            Some(datetime!(2026-05-01 12:00 UTC)),
            "without an end time, the clock's now"
        );
        drop(store);

        let reopened = LocalStore::open(&path, clock).unwrap();
        assert_eq!(reopened.early_resolution(&key).await.unwrap(), Some(first));
    }
}
