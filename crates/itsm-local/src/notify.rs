//! [`Notifier`] for [`LocalStore`]: an outbox table of notifications.

use async_trait::async_trait;
use itsm_core::{Notification, Notifier, Result};

use crate::outbox::{self, OutboxEntry};
use crate::records::decode;
use crate::store::LocalStore;

/// Records each notification in the `notification` table (an outbox that a chat or email
/// sender can drain later). A key already recorded is not recorded again.
#[async_trait]
impl Notifier for LocalStore {
    async fn notify(&self, notification: &Notification) -> Result<()> {
        let (notification, now) = (notification.clone(), self.now());
        self.write(move |conn| outbox::record(conn, &notification, now))
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

    /// Every notification in the outbox with its delivery state (attempts, last error,
    /// delivery time), oldest first.
    pub async fn outbox(&self) -> Result<Vec<OutboxEntry>> {
        self.read(|conn| {
            Ok(outbox::entries(conn, false)?
                .into_iter()
                .map(|(_, entry)| entry)
                .collect())
        })
        .await
    }
}
