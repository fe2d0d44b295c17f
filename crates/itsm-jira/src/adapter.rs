//! The adapter value and what its three ports share: transitions by status name, key
//! lookups through JQL.

use std::sync::Arc;

use itsm_core::{Error, ErrorKind, IdempotencyKey, Result};
use itsm_http::RetryPolicy;
use serde_json::{Value, json};

use crate::client::{JiraClient, atlassian_retry_policy};
use crate::config::{JiraConfig, KeyCarrier};
use crate::labels::{Labels, jql_string};
use crate::model::{Issue, SearchPage};
use crate::status::is_one_of;
use crate::webhook::JiraWebhook;

/// The Jira Cloud / Jira Service Management adapter: implements
/// [`ChangeSystem`](itsm_change::ChangeSystem), [`IncidentSystem`](itsm_incident::IncidentSystem)
/// and [`SpecialistCatalog`](itsm_specialist::SpecialistCatalog) for the record kinds its
/// [`JiraConfig`] configures (the others answer `Unsupported`).
///
/// Cheap to clone; `Debug` shows no credentials.
#[derive(Debug, Clone)]
pub struct Jira {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) client: JiraClient,
    pub(crate) config: JiraConfig,
    pub(crate) labels: Labels,
}

impl Jira {
    /// An adapter for `config` (checked with [`JiraConfig::validate`]) with Atlassian's
    /// documented backoff ([`atlassian_retry_policy`]).
    pub fn new(config: JiraConfig) -> Result<Jira> {
        Jira::with_retry_policy(config, atlassian_retry_policy())
    }

    /// An adapter with another retry policy (tests, batch jobs).
    pub fn with_retry_policy(config: JiraConfig, retry: RetryPolicy) -> Result<Jira> {
        config.validate()?;
        let client = JiraClient::new(&config, retry)?;
        let labels = Labels::new(&config.label_prefix);
        Ok(Jira {
            inner: Arc::new(Inner {
                client,
                config,
                labels,
            }),
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &JiraConfig {
        &self.inner.config
    }

    /// The webhook source for `itsm serve` (`POST /v1/webhooks/jira`), verifying with the
    /// configured `webhook_secret` and reading keys the way this adapter writes them.
    pub fn webhook_source(&self) -> JiraWebhook {
        JiraWebhook::new(
            self.inner.config.webhook_secret.clone(),
            self.inner.labels.clone(),
        )
        .with_incident_config(self.inner.config.incident.clone())
    }
}

impl Inner {
    /// The label that carries `key`.
    pub(crate) fn key_label(&self, key: &IdempotencyKey) -> String {
        self.labels.label("key", key.as_str())
    }

    /// The JQL clause that finds the issue created with `key`, for `carrier`.
    pub(crate) fn key_clause(&self, key: &IdempotencyKey, carrier: KeyCarrier) -> String {
        match carrier {
            KeyCarrier::Label => format!("labels = {}", jql_string(&self.key_label(key))),
            KeyCarrier::Property => format!(
                "issue.property[{}].key = {}",
                self.config.key_property,
                jql_string(key.as_str())
            ),
        }
    }

    /// The first issue (oldest) the JQL finds.
    pub(crate) async fn find_one(
        &self,
        jql: &str,
        fields: &str,
        properties: Option<&str>,
    ) -> Result<Option<Issue>> {
        let page: SearchPage = self
            .client
            .search(
                &format!("{jql} ORDER BY created ASC"),
                fields,
                1,
                None,
                properties,
            )
            .await?;
        Ok(page.issues.into_iter().next())
    }

    /// Moves issue `key` (now in `current`) to a status named in `targets`: the transition
    /// whose target status (or, failing that, whose own name) is one of them. `extra` is
    /// merged into the transition body (`fields`, `update`). No such transition is a
    /// conflict naming what is possible.
    pub(crate) async fn move_to(
        &self,
        key: &str,
        current: &str,
        targets: &[String],
        what: &str,
        extra: Value,
    ) -> Result<()> {
        let transitions = self.client.transitions(key).await?;
        let chosen = transitions
            .iter()
            .find(|t| {
                t.to.as_ref()
                    .is_some_and(|to| is_one_of(targets, to.name()))
            })
            .or_else(|| {
                transitions
                    .iter()
                    .find(|t| t.name.as_deref().is_some_and(|n| is_one_of(targets, n)))
            });
        let Some(chosen) = chosen else {
            let possible: Vec<String> = transitions
                .iter()
                .map(|t| {
                    format!(
                        "{} -> {}",
                        t.name.as_deref().unwrap_or("?"),
                        t.to.as_ref().map(|n| n.name()).unwrap_or("?")
                    )
                })
                .collect();
            return Err(Error::new(
                ErrorKind::Conflict,
                format!(
                    "{key} cannot move from status {current:?} to {what} (a status named one of \
                     {targets:?}); its workflow offers {possible:?}; fix the status mapping in \
                     [jira] if the site names the status differently"
                ),
            ));
        };
        let mut body = json!({ "transition": { "id": chosen.id } });
        if let (Some(obj), Value::Object(more)) = (body.as_object_mut(), extra) {
            obj.extend(more);
        }
        self.client.transition(key, &body).await
    }
}

/// The `Unsupported` error of a record kind the configuration leaves out.
pub(crate) fn not_configured(operation: &str, table: &str) -> Error {
    Error::unsupported(operation, crate::SYSTEM).with_context(
        "hint",
        format!("add a [jira.{table}] table to the configuration"),
    )
}

/// `{"update": {"comment": [{"add": {"body": ADF}}]}}` for a transition with a comment.
pub(crate) fn comment_update(text: &str) -> Value {
    json!({ "update": { "comment": [{ "add": { "body": crate::adf::doc(text) } }] } })
}

/// Merges two JSON objects (for transition bodies).
pub(crate) fn merge(mut a: Value, b: Value) -> Value {
    if let (Some(obj), Value::Object(more)) = (a.as_object_mut(), b) {
        for (k, v) in more {
            match (obj.get_mut(&k), v) {
                (Some(Value::Object(existing)), Value::Object(new)) => existing.extend(new),
                (_, v) => {
                    obj.insert(k, v);
                }
            }
        }
    }
    a
}
