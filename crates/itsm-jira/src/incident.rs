//! `IncidentSystem`: incidents as issues of a configured type in a configured project.
//!
//! What the adapter writes on an incident issue: the key (label `itsm-key:<key>` or the
//! issue property), the service (`components` or the configured field, plus the label
//! `itsm-service:<id>` that listing filters on), labels `itsm-kind:<service kind>`,
//! `itsm-team:<team>` and `itsm-tenant:<tenant>`, the priority by name, and the major flag.

use async_trait::async_trait;
use itsm_core::{
    Capabilities, Error, ErrorKind, ExternalRef, IdempotencyKey, ListRequest, Listing, Person,
    Result, ServiceId, TeamId, TenantId,
};
use itsm_incident::{
    Assignment, Incident, IncidentFilter, IncidentId, IncidentState, IncidentSystem, NewIncident,
    Note, Priority, Resolution, ServiceKind, capability,
};
use serde_json::{Value, json};

use crate::adapter::{Inner, Jira, comment_update, merge, not_configured};
use crate::adf::Doc;
use crate::body::{self, IssueProperty, Name, NewIssue, NewIssueFields, ServiceField};
use crate::config::{IncidentConfig, KeyCarrier, MajorFlag};
use crate::labels::jql_string;
use crate::model::{Issue, time_of};

const BASE_FIELDS: &str = "summary,description,status,labels,priority,components,resolution,resolutiondate,created,updated";

fn kind_name(kind: ServiceKind) -> &'static str {
    match kind {
        ServiceKind::DigitalService => "digital_service",
        ServiceKind::Cots => "cots",
        ServiceKind::Foundational => "foundational",
    }
}

fn kind_of(name: &str) -> ServiceKind {
    match name {
        "cots" => ServiceKind::Cots,
        "foundational" => ServiceKind::Foundational,
        _ => ServiceKind::DigitalService,
    }
}

impl Inner {
    fn incident_config(&self, operation: &str) -> Result<&IncidentConfig> {
        self.config
            .incident
            .as_ref()
            .ok_or_else(|| not_configured(operation, "incident"))
    }

    fn incident_fields(&self, cfg: &IncidentConfig) -> String {
        let mut fields = BASE_FIELDS.to_owned();
        if cfg.service_field != "components" {
            fields.push(',');
            fields.push_str(&cfg.service_field);
        }
        if let MajorFlag::Field { id, .. } = &cfg.major {
            fields.push(',');
            fields.push_str(id);
        }
        fields
    }

    fn incident_properties(&self) -> Option<&str> {
        (self.config.key_carrier == KeyCarrier::Property)
            .then_some(self.config.key_property.as_str())
    }

    fn incident_from(&self, cfg: &IncidentConfig, issue: Issue) -> Result<Incident> {
        let f = &issue.fields;
        let labels = &self.labels;
        let service = labels
            .value(&f.labels, "service")
            .map(str::to_owned)
            .or_else(|| {
                if cfg.service_field == "components" {
                    f.components.first().map(|c| c.name().to_owned())
                } else {
                    f.other
                        .get(&cfg.service_field)
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                }
            })
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidResponse,
                    format!(
                        "incident {} names no service (no component, no {} label); it was not \
                         opened by itsm",
                        issue.key,
                        labels.label("service", "<id>")
                    ),
                )
            })?;
        let priority = f
            .priority
            .as_ref()
            .and_then(|p| {
                cfg.priorities
                    .iter()
                    .position(|n| n.eq_ignore_ascii_case(p.name()))
            })
            .map_or(Priority::P3, |i| match i {
                0 => Priority::P1,
                1 => Priority::P2,
                2 => Priority::P3,
                3 => Priority::P4,
                _ => Priority::P5,
            });
        let major = match &cfg.major {
            MajorFlag::Label(l) => f.labels.iter().any(|x| x == l),
            MajorFlag::Field { id, .. } => f.other.get(id).is_some_and(|v| match v {
                Value::Null => false,
                Value::String(s) => !s.is_empty(),
                Value::Array(a) => !a.is_empty(),
                _ => true,
            }),
        };
        let key = match self.config.key_carrier {
            KeyCarrier::Label => labels.value(&f.labels, "key").map(str::to_owned),
            KeyCarrier::Property => issue
                .properties
                .get(&self.config.key_property)
                .and_then(|p| p.get("key"))
                .and_then(Value::as_str)
                .map(str::to_owned),
        };
        let state = cfg
            .statuses
            .state_of(f.status())
            .unwrap_or(if f.resolution.is_some() {
                IncidentState::Resolved
            } else {
                IncidentState::New
            });
        Ok(Incident {
            id: IncidentId::new(&issue.key)?,
            number: Some(issue.key.clone()),
            key: key.and_then(|k| IdempotencyKey::new(k).ok()),
            summary: f.summary.clone().unwrap_or_default(),
            description: f
                .description
                .as_ref()
                .map(crate::adf::text)
                .unwrap_or_default(),
            state,
            priority,
            major,
            assignment: Assignment {
                service: ServiceId::new(service)?,
                kind: kind_of(labels.value(&f.labels, "kind").unwrap_or_default()),
                team: labels
                    .value(&f.labels, "team")
                    .and_then(|t| TeamId::new(t).ok()),
            },
            tenant: labels
                .value(&f.labels, "tenant")
                .and_then(|t| TenantId::new(t).ok()),
            acknowledged_by: None,
            links_to: vec![],
            links: vec![],
            external: Some(self.client.reference(&issue.key)),
            opened_at: time_of(&f.created),
            resolved_at: time_of(&f.resolutiondate),
        })
    }

    /// The incident `key` without its links (`GET` issue), and its labels.
    async fn read_issue(&self, cfg: &IncidentConfig, key: &str) -> Result<(Incident, Vec<String>)> {
        let issue = self
            .client
            .issue(key, &self.incident_fields(cfg), self.incident_properties())
            .await?;
        let labels = issue.fields.labels.clone();
        Ok((self.incident_from(cfg, issue)?, labels))
    }

    /// The incident `key` with the records it links to (`GET` issue, `GET` remote links),
    /// and its labels.
    async fn read_incident(
        &self,
        cfg: &IncidentConfig,
        key: &str,
    ) -> Result<(Incident, Vec<String>)> {
        let (mut incident, labels) = self.read_issue(cfg, key).await?;
        incident.links_to = self
            .client
            .remote_links(key)
            .await?
            .into_iter()
            .filter_map(|l| parse_global_id(l.global_id.as_deref()?))
            .collect();
        Ok((incident, labels))
    }

    /// Adds (or updates, for the same `globalId`) the remote link from issue `key` to `to`.
    async fn add_link(&self, key: &str, to: &ExternalRef) -> Result<()> {
        let url = to
            .url
            .clone()
            .or_else(|| self.client.reference(key).url)
            .map(|u| u.to_string())
            .unwrap_or_default();
        let body = json!({
            "globalId": global_id(to),
            "application": { "name": "itsm-rs", "type": "itsm" },
            "object": { "url": url, "title": to.to_string() },
        });
        self.client.add_remote_link(key, &body).await
    }

    fn service_field<'a>(
        &self,
        cfg: &'a IncidentConfig,
        service: &'a ServiceId,
    ) -> ServiceField<'a> {
        if cfg.service_field == "components" {
            ServiceField::Components(service.as_str())
        } else {
            ServiceField::Custom(&cfg.service_field, service.as_str())
        }
    }

    fn assignment_labels(&self, a: &Assignment) -> Vec<String> {
        let mut out = vec![
            self.labels.label("service", a.service.as_str()),
            self.labels.label("kind", kind_name(a.kind)),
        ];
        if let Some(team) = &a.team {
            out.push(self.labels.label("team", team.as_str()));
        }
        out
    }
}

/// `itsm:<system>:<id>`, the remote link `globalId` of a linked record.
fn global_id(to: &ExternalRef) -> String {
    format!("itsm:{}:{}", to.system, to.id)
}

fn parse_global_id(id: &str) -> Option<ExternalRef> {
    let rest = id.strip_prefix("itsm:")?;
    let (system, record) = rest.split_once(':')?;
    Some(ExternalRef::new(system, record))
}

/// What reading the remote links of a new issue gives once `links` were added to it in
/// order: one reference per `globalId` (Jira updates a link whose `globalId` it has), as
/// the `globalId` reads back (no URL).
fn links_as_read(links: &[ExternalRef]) -> Vec<ExternalRef> {
    let mut out: Vec<ExternalRef> = Vec::with_capacity(links.len());
    for read in links
        .iter()
        .filter_map(|to| parse_global_id(&global_id(to)))
    {
        if !out.iter().any(|r| global_id(r) == global_id(&read)) {
            out.push(read);
        }
    }
    out
}

fn priority_name(cfg: &IncidentConfig, p: Priority) -> &str {
    cfg.priorities
        .get(usize::from(p.number() - 1))
        .map_or("", String::as_str)
}

#[async_trait]
impl IncidentSystem for Jira {
    fn capabilities(&self) -> Capabilities {
        let caps = Capabilities::new(crate::SYSTEM);
        if self.inner.config.incident.is_none() {
            return caps;
        }
        caps.with_all([
            capability::INCIDENT_LIST,
            capability::INCIDENT_REASSIGN,
            capability::INCIDENT_PRIORITY,
            capability::INCIDENT_NOTES,
            capability::INCIDENT_MAJOR,
            capability::INCIDENT_LINKS,
        ])
    }

    async fn create_incident(&self, key: &IdempotencyKey, new: &NewIncident) -> Result<Incident> {
        let inner = &*self.inner;
        let cfg = inner.incident_config("create_incident")?;
        if new.summary.trim().is_empty() {
            return Err(Error::invalid_input("an incident needs a summary"));
        }
        if let Some(found) = self.find_incident_by_key(key).await? {
            return Ok(found);
        }
        let mut labels = inner.assignment_labels(&new.assignment);
        if let Some(t) = &new.tenant {
            labels.push(inner.labels.label("tenant", t.as_str()));
        }
        let mut properties = Vec::new();
        if inner.config.key_carrier == KeyCarrier::Label {
            labels.push(inner.key_label(key));
        } else {
            properties.push(IssueProperty {
                key: &inner.config.key_property,
                value: body::Key { key: key.as_str() },
            });
        }
        let mut description = new.description.clone();
        for link in &new.links {
            description.push_str(&format!("\n{}: {}", link.label, link.url));
        }
        let body = NewIssue {
            fields: NewIssueFields {
                project: body::Key { key: &cfg.project },
                issuetype: Name {
                    name: &cfg.issue_type,
                },
                summary: &new.summary,
                description: Doc(&description),
                priority: Name {
                    name: priority_name(cfg, new.priority),
                },
                labels,
                service: inner.service_field(cfg, &new.assignment.service),
            },
            properties,
        };
        let created = inner.client.create_issue(&body).await?;
        for to in &new.links_to {
            inner.add_link(&created.key, to).await?;
        }
        // The new issue's remote links are the ones just written: not read back.
        let mut incident = inner.read_issue(cfg, &created.key).await?.0;
        incident.links_to = links_as_read(&new.links_to);
        // A key that is not label-safe is stored hashed and cannot be read back: return the
        // key the incident was created with, as the lookup by key does.
        incident.key = Some(key.clone());
        Ok(incident)
    }

    async fn find_incident_by_key(&self, key: &IdempotencyKey) -> Result<Option<Incident>> {
        let inner = &*self.inner;
        let cfg = inner.incident_config("find_incident_by_key")?;
        let jql = format!(
            "project = {} AND {}",
            jql_string(&cfg.project),
            inner.key_clause(key, inner.config.key_carrier)
        );
        let found = inner
            .find_one(
                &jql,
                &inner.incident_fields(cfg),
                inner.incident_properties(),
            )
            .await?;
        match found {
            Some(issue) => {
                let mut incident = inner.incident_from(cfg, issue)?;
                incident.key = Some(key.clone());
                Ok(Some(incident))
            }
            None => Ok(None),
        }
    }

    async fn get_incident(&self, id: &IncidentId) -> Result<Incident> {
        let cfg = self.inner.incident_config("get_incident")?;
        Ok(self.inner.read_incident(cfg, id.as_str()).await?.0)
    }

    async fn list_incidents(
        &self,
        filter: &IncidentFilter,
        page: &ListRequest,
    ) -> Result<Listing<Incident>> {
        let inner = &*self.inner;
        let cfg = inner.incident_config("list_incidents")?;
        let mut jql = format!(
            "project = {} AND issuetype = {}",
            jql_string(&cfg.project),
            jql_string(&cfg.issue_type)
        );
        if let Some(service) = &filter.service {
            jql.push_str(&format!(
                " AND labels = {}",
                jql_string(&inner.labels.label("service", service.as_str()))
            ));
        }
        if !filter.states.is_empty() {
            let names: Vec<String> = filter
                .states
                .iter()
                .flat_map(|s| cfg.statuses.names(*s).iter().map(|n| jql_string(n)))
                .collect();
            jql.push_str(&format!(" AND status IN ({})", names.join(", ")));
        }
        if filter.major_only {
            match &cfg.major {
                MajorFlag::Label(l) => jql.push_str(&format!(" AND labels = {}", jql_string(l))),
                MajorFlag::Field { id, value } => {
                    let cf = id
                        .strip_prefix("customfield_")
                        .map_or(id.clone(), |n| format!("cf[{n}]"));
                    jql.push_str(&format!(" AND {cf} = {}", jql_string(value)));
                }
            }
        }
        jql.push_str(" ORDER BY created ASC, key ASC");
        let limit = page.limit.unwrap_or(50).clamp(1, 100);
        let found = inner
            .client
            .search(
                &jql,
                &inner.incident_fields(cfg),
                limit,
                page.cursor.as_deref(),
                inner.incident_properties(),
            )
            .await?;
        let items = found
            .issues
            .into_iter()
            .map(|i| inner.incident_from(cfg, i))
            .collect::<Result<Vec<_>>>()?;
        let next = found
            .next_page_token
            .filter(|_| found.is_last != Some(true));
        Ok(Listing { items, next })
    }

    async fn set_state(
        &self,
        id: &IncidentId,
        state: IncidentState,
        by: Option<Person>,
    ) -> Result<Incident> {
        let inner = &*self.inner;
        let cfg = inner.incident_config("set_state")?;
        let (current, _) = inner.read_incident(cfg, id.as_str()).await?;
        if current.state == state {
            return Ok(current);
        }
        let extra = match by {
            Some(p) if state == IncidentState::Acknowledged => {
                comment_update(&format!("Acknowledged by {p}"))
            }
            _ => json!({}),
        };
        let status = current_status_name(cfg, current.state);
        inner
            .move_to(
                id.as_str(),
                &status,
                cfg.statuses.names(state),
                &format!("{state:?}"),
                extra,
            )
            .await?;
        Ok(inner.read_incident(cfg, id.as_str()).await?.0)
    }

    async fn reassign(&self, id: &IncidentId, to: &Assignment) -> Result<Incident> {
        let inner = &*self.inner;
        let cfg = inner.incident_config("reassign")?;
        let (_, labels) = inner.read_incident(cfg, id.as_str()).await?;
        let mut ops: Vec<Value> = ["service", "kind", "team"]
            .iter()
            .flat_map(|name| inner.labels.all(&labels, name))
            .map(|l| json!({ "remove": l }))
            .collect();
        ops.extend(
            inner
                .assignment_labels(to)
                .into_iter()
                .map(|l| json!({ "add": l })),
        );
        let body = json!({
            "fields": inner.service_field(cfg, &to.service),
            "update": { "labels": ops },
        });
        inner.client.edit_issue(id.as_str(), &body).await?;
        Ok(inner.read_incident(cfg, id.as_str()).await?.0)
    }

    async fn set_priority(&self, id: &IncidentId, priority: Priority) -> Result<Incident> {
        let inner = &*self.inner;
        let cfg = inner.incident_config("set_priority")?;
        let body = json!({ "fields": { "priority": { "name": priority_name(cfg, priority) } } });
        inner.client.edit_issue(id.as_str(), &body).await?;
        Ok(inner.read_incident(cfg, id.as_str()).await?.0)
    }

    async fn add_note(&self, id: &IncidentId, key: &IdempotencyKey, note: &Note) -> Result<()> {
        let inner = &*self.inner;
        inner.incident_config("add_note")?;
        let text = match &note.author {
            Some(a) => format!("{}\n\n({a})", note.text),
            None => note.text.clone(),
        };
        inner
            .client
            .add_keyed_comment(id.as_str(), key.as_str(), &text)
            .await
    }

    async fn set_major(&self, id: &IncidentId, major: bool) -> Result<Incident> {
        let inner = &*self.inner;
        let cfg = inner.incident_config("set_major")?;
        let body = match &cfg.major {
            MajorFlag::Label(l) => {
                let op = if major { "add" } else { "remove" };
                json!({ "update": { "labels": [{ op: l }] } })
            }
            MajorFlag::Field { id, value } => {
                let v = if major {
                    json!({ "value": value })
                } else {
                    Value::Null
                };
                json!({ "fields": { id.clone(): v } })
            }
        };
        inner.client.edit_issue(id.as_str(), &body).await?;
        Ok(inner.read_incident(cfg, id.as_str()).await?.0)
    }

    async fn link(&self, id: &IncidentId, to: &ExternalRef) -> Result<Incident> {
        let inner = &*self.inner;
        let cfg = inner.incident_config("link")?;
        inner.add_link(id.as_str(), to).await?;
        Ok(inner.read_incident(cfg, id.as_str()).await?.0)
    }

    async fn resolve(&self, id: &IncidentId, resolution: &Resolution) -> Result<Incident> {
        let inner = &*self.inner;
        let cfg = inner.incident_config("resolve")?;
        let (current, _) = inner.read_incident(cfg, id.as_str()).await?;
        if current.state.is_resolved() {
            return Ok(current);
        }
        let name = cfg
            .resolutions
            .get(&resolution.code)
            .unwrap_or(&cfg.default_resolution);
        let by = resolution
            .by
            .as_ref()
            .map(|p| format!(" by {p}"))
            .unwrap_or_default();
        let text = format!("Resolved ({}){by}: {}", resolution.code, resolution.notes);
        let extra = merge(
            json!({ "fields": { "resolution": { "name": name } } }),
            comment_update(&text),
        );
        let status = current_status_name(cfg, current.state);
        inner
            .move_to(
                id.as_str(),
                &status,
                &cfg.statuses.resolved,
                "Resolved",
                extra,
            )
            .await?;
        Ok(inner.read_incident(cfg, id.as_str()).await?.0)
    }
}

fn current_status_name(cfg: &IncidentConfig, state: IncidentState) -> String {
    cfg.statuses
        .names(state)
        .first()
        .cloned()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_as_read_keep_one_per_global_id_in_order_without_urls() {
        let url = "https://acme.pagerduty.com/incidents/PT4KHLK"
            .parse()
            .unwrap();
        let written = [
            ExternalRef::new("pagerduty", "PT4KHLK").with_url(url),
            ExternalRef::new("servicenow", "INC0010001"),
            ExternalRef::new("pagerduty", "PT4KHLK"),
        ];
        let read = links_as_read(&written);
        assert_eq!(
            read,
            [
                ExternalRef::new("pagerduty", "PT4KHLK"),
                ExternalRef::new("servicenow", "INC0010001"),
            ]
        );
        assert!(read.iter().all(|r| r.url.is_none()));
        // A system with a colon reads back split at its first colon, as the remote link's
        // globalId does.
        assert_eq!(
            links_as_read(&[ExternalRef::new("a:b", "c")]),
            [ExternalRef::new("a", "b:c")]
        );
    }
}
