//! [`Notifier`] for [`LocalStore`]: an outbox table of notifications.

use async_trait::async_trait;
use itsm_core::{Notification, Notifier, Result};

use crate::records::{decode, encode, timestamp, variant_text};
use crate::store::LocalStore;

/// Records each notification in the `notification` table (an outbox that a chat or email
/// sender can drain later). A key already recorded is not recorded again.
#[async_trait]
impl Notifier for LocalStore {
    async fn notify(&self, notification: &Notification) -> Result<()> {
        let (notification, now) = (notification.clone(), self.now());
        self.write(move |conn| {
            let key = notification.key.as_str();
            conn.execute(
                "INSERT INTO notification (key, topic, created_at, body) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (key) DO NOTHING",
                rusqlite::params![
                    key,
                    variant_text(&notification.topic),
                    timestamp(now)?,
                    encode("notification", key, &notification)?,
                ],
            )?;
            Ok(())
        })
        .await
    }
}

impl LocalStore {
    /// The notifications recorded by [`Notifier::notify`], oldest first.
    pub async fn notifications(&self) -> Result<Vec<Notification>> {
        self.read(|conn| {
            let rows = conn.rows("SELECT key, body FROM notification ORDER BY seq", [], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })?;
            rows.iter()
                .map(|(key, body)| decode(conn.path(), "notification", key, body))
                .collect()
        })
        .await
    }
}
