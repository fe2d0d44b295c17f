//! People and references to records in other systems.

use std::fmt;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::error::{Error, Result};

/// A person: a deployer, an on-call developer, a change or incident manager.
///
/// Vendors identify people differently (email in Jira and PagerDuty's `From` header,
/// `sys_id` or user name in ServiceNow), so every identifier is optional but the name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Person {
    /// Display name.
    pub name: String,
    /// Email address, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The person's id or user name in a particular system, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handle: Option<String>,
}

impl Person {
    /// A person known only by name.
    pub fn named(name: impl Into<String>) -> Self {
        Person {
            name: name.into(),
            email: None,
            handle: None,
        }
    }

    /// Adds an email address.
    pub fn with_email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(email.into());
        self
    }

    /// Adds a system-specific handle.
    pub fn with_handle(mut self, handle: impl Into<String>) -> Self {
        self.handle = Some(handle.into());
        self
    }
}

impl fmt::Display for Person {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.email {
            Some(email) => write!(f, "{} <{email}>", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// A record in another system: which system, its id there, and where a person can see it.
///
/// Used to link records both ways (an incident to its page, a change to its ticket).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ExternalRef {
    /// The system's name as configured (`pagerduty`, `servicenow`, `jira`, `local`).
    pub system: String,
    /// The record's id in that system (`PT4KHLK`, a `sys_id`, `OPS-42`).
    pub id: String,
    /// A link a person can open, when the system has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<Url>,
}

impl ExternalRef {
    /// A reference without a URL.
    pub fn new(system: impl Into<String>, id: impl Into<String>) -> Self {
        ExternalRef {
            system: system.into(),
            id: id.into(),
            url: None,
        }
    }

    /// Adds the URL a person can open.
    pub fn with_url(mut self, url: Url) -> Self {
        self.url = Some(url);
        self
    }
}

impl fmt::Display for ExternalRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.system, self.id)
    }
}

/// A labelled link: a dashboard, a runbook, a pipeline run.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Link {
    /// What the link is (`Grafana: checkout latency`, `Runbook`).
    pub label: String,
    /// Where it goes.
    pub url: Url,
}

impl Link {
    /// Parses `url` and pairs it with `label`.
    ///
    /// ```
    /// let link = itsm_core::Link::parse("Runbook", "https://wiki.example/rb/checkout").unwrap();
    /// assert_eq!(link.url.host_str(), Some("wiki.example"));
    /// assert!(itsm_core::Link::parse("Runbook", "not a url").is_err());
    /// ```
    pub fn parse(label: impl Into<String>, url: &str) -> Result<Self> {
        let label = label.into();
        let url = Url::parse(url).map_err(|e| {
            Error::invalid_input(format!("link {label:?} has an invalid URL {url:?}: {e}"))
        })?;
        Ok(Link { label, url })
    }
}
