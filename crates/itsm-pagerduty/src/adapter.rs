//! [`PagerDuty`]: the adapter value, its construction and the lookups its operations share
//! (incidents by key, users by name or email, priorities by name).

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use itsm_core::{Capabilities, Error, ErrorKind, IdempotencyKey, Person, Result};
use itsm_http::RetryPolicy;
use itsm_incident::{Page, PageStatus, Priority, capability};

use crate::config::PagerDutyConfig;
use crate::events::Events;
use crate::rest::Rest;
use crate::{SYSTEM, convert, wire};

/// The PagerDuty adapter: [`Pager`](itsm_incident::Pager) over the Events API v2 and the
/// REST API v2, plus REST-only operations the port does not cover
/// ([`create_incident`](Self::create_incident), [`list_pages`](Self::list_pages),
/// [`post_status_update`](Self::post_status_update), [`list_services`](Self::list_services)).
///
/// Cheap to clone; clones share connections, rate-limit buckets and caches.
#[derive(Clone)]
pub struct PagerDuty {
    pub(crate) config: Arc<PagerDutyConfig>,
    pub(crate) rest: Option<Rest>,
    pub(crate) events: Events,
    pub(crate) lookup_delay: Duration,
    pub(crate) cache: Arc<Cache>,
}

/// What the adapter remembers between calls (in memory only).
#[derive(Default)]
pub(crate) struct Cache {
    /// Priority name (upper-case) -> id.
    priorities: Mutex<Option<HashMap<String, String>>>,
    /// Email or name (lower-case) -> user id.
    users: Mutex<HashMap<String, String>>,
    /// Dedup key -> the routing key it was triggered with, when not the default.
    routing: Mutex<HashMap<String, String>>,
    /// Keys of change events sent by this process.
    change_events: Mutex<HashSet<String>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl PagerDuty {
    /// The adapter for `config` (validated first), with default retries: REST 4 attempts
    /// within 60 s; Events 8 attempts within 2 minutes, backoff from 500 ms to 30 s.
    pub fn new(config: PagerDutyConfig) -> Result<Self> {
        let events = RetryPolicy::new(8, Duration::from_secs(120))
            .with_backoff(Duration::from_millis(500), Duration::from_secs(30));
        Self::with_retry(config, RetryPolicy::default(), events)
    }

    /// The adapter with explicit retry policies for the REST and the Events API.
    pub fn with_retry(
        config: PagerDutyConfig,
        rest_retry: RetryPolicy,
        events_retry: RetryPolicy,
    ) -> Result<Self> {
        config.validate()?;
        let rest = Rest::from_config(&config, rest_retry)?;
        let events = Events::from_config(&config, events_retry)?;
        Ok(PagerDuty {
            config: Arc::new(config),
            rest,
            events,
            lookup_delay: Duration::from_millis(500),
            cache: Arc::new(Cache::default()),
        })
    }

    /// Sets the wait between lookups of a just-triggered incident (attempt `n` waits `n`
    /// times this; default 500 ms).
    pub fn with_lookup_delay(mut self, delay: Duration) -> Self {
        self.lookup_delay = delay;
        self
    }

    /// The settings in use.
    pub fn config(&self) -> &PagerDutyConfig {
        &self.config
    }

    /// What this instance supports: everything with an API token, only change events
    /// (besides trigger / acknowledge / resolve, which need no capability) without.
    pub fn capabilities(&self) -> Capabilities {
        let caps = Capabilities::new(SYSTEM);
        let caps = if self.events.has_routing() {
            caps.with(capability::CHANGE_EVENTS)
        } else {
            caps
        };
        if self.rest.is_some() {
            caps.with_all([
                capability::PAGE_READ,
                capability::PAGE_REASSIGN,
                capability::PAGE_PRIORITY,
                capability::PAGE_NOTES,
                capability::PAGE_RESPONDERS,
                capability::ON_CALL,
            ])
        } else {
            caps
        }
    }

    /// The REST client, or `Unsupported` naming `operation` when no API token is set.
    pub(crate) fn rest(&self, operation: &str) -> Result<&Rest> {
        self.rest.as_ref().ok_or_else(|| {
            Error::unsupported(operation, SYSTEM).with_context(
                "hint",
                "set [pagerduty] api_token (PAGERDUTY_API_TOKEN) to use the REST API",
            )
        })
    }

    /// The incident triggered with `key`: an open one first, else the newest.
    pub(crate) async fn incident_by_key(
        &self,
        rest: &Rest,
        key: &IdempotencyKey,
    ) -> Result<Option<wire::Incident>> {
        let list: wire::IncidentList = rest
            .get(
                "incidents",
                &[
                    ("incident_key", key.to_string()),
                    ("date_range", "all".to_owned()),
                    ("limit", "100".to_owned()),
                ],
            )
            .await?;
        // PagerDuty filters by key; a simulator or proxy that does not is not trusted.
        let mut matching: Vec<wire::Incident> = list
            .incidents
            .into_iter()
            .filter(|i| i.incident_key.as_deref() == Some(key.as_str()))
            .collect();
        matching.sort_by_key(|i| i.created_at.as_deref().and_then(convert::parse_time));
        let open = matching
            .iter()
            .rposition(|i| i.status.as_deref() != Some("resolved"));
        Ok(match open {
            Some(at) => Some(matching.swap_remove(at)),
            None => matching.pop(),
        })
    }

    pub(crate) async fn page_by_key(&self, key: &IdempotencyKey) -> Result<Option<Page>> {
        let Some(rest) = &self.rest else {
            return Ok(None);
        };
        self.incident_by_key(rest, key)
            .await?
            .map(|i| convert::page(&i, Some(key)))
            .transpose()
    }

    /// Checks the page exists (with REST) and says whether it is already resolved.
    pub(crate) async fn status_for_event(
        &self,
        key: &IdempotencyKey,
    ) -> Result<Option<PageStatus>> {
        let Some(rest) = &self.rest else {
            return Ok(None);
        };
        match self.incident_by_key(rest, key).await? {
            Some(i) => Ok(Some(convert::page(&i, Some(key))?.status)),
            None => Err(Error::not_found(format!(
                "no PagerDuty incident was triggered with the key {key}"
            ))
            .with_context("key", key)),
        }
    }

    pub(crate) fn remember_routing(&self, key: &IdempotencyKey, routing: Option<String>) {
        if let Some(routing) = routing {
            lock(&self.cache.routing).insert(key.to_string(), routing);
        }
    }

    pub(crate) fn routing_of(&self, key: &IdempotencyKey) -> Option<String> {
        lock(&self.cache.routing).get(key.as_str()).cloned()
    }

    pub(crate) fn change_event_sent(&self, key: &IdempotencyKey) -> bool {
        lock(&self.cache.change_events).contains(key.as_str())
    }

    pub(crate) fn mark_change_event_sent(&self, key: &IdempotencyKey) {
        lock(&self.cache.change_events).insert(key.to_string());
    }

    /// The id of PagerDuty's priority named like `priority` (`P2`).
    pub(crate) async fn priority_id(&self, rest: &Rest, priority: Priority) -> Result<String> {
        let name = priority.to_string();
        let cached = lock(&self.cache.priorities)
            .as_ref()
            .and_then(|map| map.get(&name).cloned());
        if let Some(id) = cached {
            return Ok(id);
        }
        let list: wire::PriorityList = rest.get("priorities", &[("limit", "100".into())]).await?;
        let map: HashMap<String, String> = list
            .priorities
            .into_iter()
            .filter_map(|p| Some((p.name?.trim().to_ascii_uppercase(), p.id)))
            .collect();
        let found = map.get(&name).cloned();
        *lock(&self.cache.priorities) = Some(map);
        found.ok_or_else(|| {
            Error::invalid_input(format!(
                "the PagerDuty account has no priority named {name}; enable incident \
                 priorities and name them P1 to P5"
            ))
        })
    }

    /// The PagerDuty user id of `person`: its handle, else the user whose email (or name)
    /// matches exactly (`GET /users?query=`).
    pub(crate) async fn user_id(&self, rest: &Rest, person: &Person) -> Result<String> {
        if let Some(handle) = person
            .handle
            .as_deref()
            .map(str::trim)
            .filter(|h| !h.is_empty())
        {
            return Ok(handle.to_owned());
        }
        let (query, by_email) = match person.email.as_deref().map(str::trim) {
            Some(email) if !email.is_empty() => (email.to_owned(), true),
            _ => (person.name.trim().to_owned(), false),
        };
        if query.is_empty() {
            return Err(Error::invalid_input(
                "a person without handle, email or name cannot be found on PagerDuty",
            ));
        }
        let cache_key = query.to_lowercase();
        if let Some(id) = lock(&self.cache.users).get(&cache_key) {
            return Ok(id.clone());
        }
        let list: wire::UserList = rest.get("users", &[("query", query.clone())]).await?;
        let found = list.users.into_iter().find(|u| {
            let field = if by_email {
                u.email.as_deref()
            } else {
                u.name.as_deref()
            };
            !u.id.is_empty() && field.is_some_and(|f| f.trim().eq_ignore_ascii_case(&query))
        });
        match found {
            Some(user) => {
                lock(&self.cache.users).insert(cache_key, user.id.clone());
                Ok(user.id)
            }
            None => Err(Error::invalid_input(format!(
                "no PagerDuty user has the {} {query:?}; give the person their PagerDuty user \
                 id as handle, or their PagerDuty email",
                if by_email { "email" } else { "name" }
            ))
            .with_context("person", &person.name)),
        }
    }

    /// The requester of a responder request: `person`, else the integration's own user.
    pub(crate) async fn requester_id(&self, rest: &Rest, person: &Person) -> Result<String> {
        match self.user_id(rest, person).await {
            Ok(id) => Ok(id),
            Err(e) if e.kind() == ErrorKind::InvalidInput => {
                let me = Person::named(SYSTEM)
                    .with_email(self.config.from_email.clone().unwrap_or_default());
                self.user_id(rest, &me).await
            }
            Err(e) => Err(e),
        }
    }
}

impl fmt::Debug for PagerDuty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PagerDuty")
            .field("config", &self.config)
            .field("rest", &self.rest)
            .field("events", &self.events)
            .finish_non_exhaustive()
    }
}
