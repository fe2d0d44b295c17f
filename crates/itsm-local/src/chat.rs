//! [`ChatRelay`]: posts the outbox's undelivered notifications to a chat webhook.

use std::fmt;

use itsm_core::url::Url;
use itsm_core::{Error, ErrorKind, Notification, Result};
use itsm_http::{HttpClient, Request, RetryPolicy};
use secrecy::{ExposeSecret, SecretString};

use crate::outbox;
use crate::store::LocalStore;

/// What one [`ChatRelay::relay_pending`] pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RelayReport {
    /// Notifications the webhook accepted (2xx) and that are now marked delivered.
    pub delivered: usize,
    /// Notifications that failed this time; they stay pending with the attempt recorded.
    pub failed: usize,
}

/// Posts undelivered notifications from a [`LocalStore`]'s outbox to a Slack-style
/// incoming webhook as `{"text": "..."}`.
///
/// A notification is marked delivered only after a 2xx answer; on any failure it stays in
/// the outbox with its attempt count and last error, and the next pass tries again, so none
/// is lost (delivery is at least once: a crash between the answer and the mark sends it
/// again). The webhook URL carries its token in the path, so it is held as a
/// [`SecretString`] and appears in no `Debug` output and no error text.
#[derive(Clone)]
pub struct ChatRelay {
    store: LocalStore,
    client: HttpClient,
    /// The URL's path and query (where the token is), relative to the client's origin.
    target: SecretString,
}

impl fmt::Debug for ChatRelay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChatRelay")
            .field("store", &self.store)
            .field("webhook", &"[REDACTED]")
            .finish()
    }
}

impl ChatRelay {
    /// A relay from `store`'s outbox to `webhook` (an `http` or `https` URL), with the
    /// default retry policy of [`itsm_http`].
    ///
    /// Errors: [`ErrorKind::Config`] when the URL is not an absolute `http(s)` URL (the
    /// message does not repeat the URL).
    pub fn new(store: LocalStore, webhook: SecretString) -> Result<ChatRelay> {
        Self::with_retry(
            store,
            webhook,
            RetryPolicy::new(3, std::time::Duration::from_secs(10)),
        )
    }

    /// [`new`](ChatRelay::new) with an explicit retry policy for each post.
    pub fn with_retry(
        store: LocalStore,
        webhook: SecretString,
        retry: RetryPolicy,
    ) -> Result<ChatRelay> {
        let invalid = |why: &str| {
            Error::new(
                ErrorKind::Config,
                format!("the chat webhook URL {why}; configure the full URL the chat tool gave"),
            )
        };
        let url = Url::parse(webhook.expose_secret()).map_err(|_| invalid("is not a valid URL"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(invalid("is not an http(s) URL with a host"));
        }
        let mut origin = url.clone();
        origin.set_path("/");
        origin.set_query(None);
        origin.set_fragment(None);
        let _ = origin.set_username("");
        let _ = origin.set_password(None);
        let target = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        };
        let client = HttpClient::builder(origin)
            .secret_paths()
            .retry(retry)
            .build()
            .map_err(|e| invalid(&format!("cannot be used ({})", e.kind().description())))?;
        Ok(ChatRelay {
            store,
            client,
            target: SecretString::from(target),
        })
    }

    /// Posts every undelivered notification, oldest first, and records each outcome.
    ///
    /// A webhook failure does not stop the pass (it is counted in
    /// [`RelayReport::failed`]); an error is returned only when the store cannot be read
    /// or written.
    pub async fn relay_pending(&self) -> Result<RelayReport> {
        let pending = self.store.read(|conn| outbox::entries(conn, true)).await?;
        let mut report = RelayReport::default();
        for (seq, entry) in pending {
            let outcome = self.post(&entry.notification).await;
            let now = self.store.now();
            match outcome {
                Ok(()) => {
                    self.store
                        .write(move |conn| outbox::mark_delivered(conn, seq, now))
                        .await?;
                    report.delivered += 1;
                }
                Err(why) => {
                    self.store
                        .write(move |conn| outbox::mark_failed(conn, seq, &why))
                        .await?;
                    report.failed += 1;
                }
            }
        }
        Ok(report)
    }

    /// Posts one notification; the error is text safe to store (no URL).
    async fn post(&self, notification: &Notification) -> std::result::Result<(), String> {
        let body = serde_json::json!({ "text": chat_text(notification) });
        let request = Request::post(self.target.expose_secret()).json(&body);
        match self.client.send_raw(request).await {
            Ok(resp) if resp.is_success() => Ok(()),
            Ok(resp) => Err(format!(
                "the chat webhook answered HTTP {} after {} attempt(s)",
                resp.status(),
                resp.attempts()
            )),
            Err(e) => Err(format!(
                "the chat webhook could not be reached: {}",
                e.kind().description()
            )),
        }
    }
}

/// The chat message of a notification: bold subject, body, then links as `<url|label>`.
fn chat_text(notification: &Notification) -> String {
    let mut text = format!("*{}*\n{}", notification.subject, notification.body);
    for link in &notification.links {
        text.push_str(&format!("\n<{}|{}>", link.url, link.label));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use itsm_core::{IdempotencyKey, Link, NotificationTopic};

    #[test]
    fn chat_text_has_subject_body_and_links() {
        let n = Notification {
            key: IdempotencyKey::new("k").unwrap(),
            topic: NotificationTopic::IncidentOpened,
            recipients: vec![],
            subject: "checkout down".into(),
            body: "5xx above 5%".into(),
            links: vec![Link::parse("Runbook", "https://wiki.example/rb").unwrap()],
            about: vec![],
        };
        assert_eq!(
            chat_text(&n),
            "*checkout down*\n5xx above 5%\n<https://wiki.example/rb|Runbook>"
        );
    }
}
