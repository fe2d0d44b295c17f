//! `SpecialistCatalog`: offerings are configured JSM request types, requests are JSM
//! requests raised with `POST /rest/servicedeskapi/request`.
//!
//! An offering's inputs are its request type's fields (`GET …/requesttype/{id}/field`,
//! the Labels field left out); a request carries the labels `itsm-key:`, `itsm-offering:`,
//! `itsm-requester:` and `itsm-urgency:`. Its state is the JSM status through
//! [`RequestStatuses`](crate::RequestStatuses), its transitions the status history
//! (`GET …/request/{key}/status`), its comments the issue's comments. Moving requests
//! through their lifecycle is left to the specialist team in Jira (no `TRANSITIONS`).

use std::collections::BTreeMap;

use async_trait::async_trait;
use itsm_core::{
    Capabilities, Error, IdempotencyKey, ListRequest, Listing, Person, Result, TeamId,
};
use itsm_specialist::{
    Comment, InputKind, InputSpec, InputValue, NewRequest, Offering, OfferingId, RequestFilter,
    RequestId, RequestState, SpecialistCatalog, SpecialistRequest, Transition, Urgency, capability,
};
use serde_json::{Value, json};

use crate::adapter::{Inner, Jira, not_configured};
use crate::config::{KeyCarrier, OfferingConfig, SpecialistConfig};
use crate::labels::jql_string;
use crate::model::{RequestTypeField, time_of};

fn urgency_name(u: Urgency) -> &'static str {
    match u {
        Urgency::High => "high",
        Urgency::Medium => "medium",
        Urgency::Low => "low",
    }
}

fn input_kind(field: &RequestTypeField) -> InputKind {
    let options: Vec<String> = field
        .valid_values
        .iter()
        .filter_map(|v| v.value.clone().or_else(|| v.label.clone()))
        .collect();
    let kind = field.jira_schema.as_ref().and_then(|s| s.kind.as_deref());
    match kind {
        Some("number") => InputKind::Number,
        _ if !options.is_empty() => InputKind::Choice { options },
        _ => InputKind::Text,
    }
}

fn to_json(spec: Option<&InputSpec>, value: &InputValue) -> Value {
    match (spec.map(|s| &s.kind), value) {
        (Some(InputKind::Choice { .. }), InputValue::Text(t)) => json!({ "value": t }),
        (_, InputValue::Text(t)) => json!(t),
        (_, InputValue::Number(n)) => json!(n),
        (_, InputValue::Boolean(b)) => json!(b),
    }
}

fn from_json(value: &Value) -> Option<InputValue> {
    match value {
        Value::String(s) => Some(InputValue::Text(s.clone())),
        Value::Number(n) => n.as_f64().map(InputValue::Number),
        Value::Bool(b) => Some(InputValue::Boolean(*b)),
        Value::Object(o) => o
            .get("value")
            .and_then(Value::as_str)
            .map(|s| InputValue::Text(s.to_owned())),
        _ => None,
    }
}

impl Inner {
    fn specialist_config(&self, operation: &str) -> Result<&SpecialistConfig> {
        self.config
            .specialist
            .as_ref()
            .ok_or_else(|| not_configured(operation, "specialist"))
    }

    fn offering_config<'a>(
        &self,
        cfg: &'a SpecialistConfig,
        id: &str,
    ) -> Result<&'a OfferingConfig> {
        cfg.offerings
            .iter()
            .find(|o| o.request_type == id)
            .ok_or_else(|| {
                Error::not_found(format!(
                    "no offering {id} is configured; add it under [[jira.specialist.offerings]]"
                ))
            })
    }

    async fn offering(&self, cfg: &SpecialistConfig, o: &OfferingConfig) -> Result<Offering> {
        let rt = self
            .client
            .request_type(&cfg.service_desk_id, &o.request_type)
            .await?;
        let fields = self
            .client
            .request_type_fields(&cfg.service_desk_id, &o.request_type)
            .await?;
        let inputs = fields
            .request_type_fields
            .iter()
            .filter(|f| f.field_id != "labels" && !f.field_id.is_empty())
            .map(|f| InputSpec {
                name: f.field_id.clone(),
                label: f.name.clone(),
                kind: input_kind(f),
                required: f.required,
            })
            .collect();
        Ok(Offering {
            id: OfferingId::new(&o.request_type)?,
            team: o.team.clone(),
            name: rt.name.unwrap_or_else(|| rt.id.clone()),
            description: rt.description.unwrap_or_default(),
            inputs,
            response_target_minutes: o.response_target_minutes,
            resolution_target_minutes: o.resolution_target_minutes,
            automated: false,
        })
    }

    async fn read_request(&self, cfg: &SpecialistConfig, key: &str) -> Result<SpecialistRequest> {
        let request = self.client.request(key).await?;
        let issue = self.client.issue(key, "labels,status", None).await?;
        let labels = &issue.fields.labels;
        let rt = request.request_type_id.clone().unwrap_or_default();
        let offering = self.offering_config(cfg, &rt)?;
        let mut history = self.client.request_statuses(key).await?;
        history.sort_by_key(|s| s.status_date.as_ref().and_then(|d| d.instant()));
        let transitions = history
            .iter()
            .filter_map(|s| {
                Some(Transition {
                    to: cfg.statuses.state_of(s.status.as_deref()?)?,
                    at: s.status_date.as_ref()?.instant()?,
                    by: None,
                    note: None,
                })
            })
            .collect();
        let comments = self
            .client
            .comments(key)
            .await?
            .into_iter()
            .map(|c| Comment {
                author: Person::named(
                    c.author
                        .and_then(|a| a.display_name)
                        .unwrap_or_else(|| "unknown".into()),
                ),
                text: c.body.as_ref().map(crate::adf::text).unwrap_or_default(),
                at: time_of(&c.created),
            })
            .collect();
        let inputs: BTreeMap<String, InputValue> = request
            .request_field_values
            .iter()
            .filter(|f| f.field_id != "labels")
            .filter_map(|f| Some((f.field_id.clone(), from_json(&f.value)?)))
            .collect();
        let status = request
            .current_status
            .as_ref()
            .and_then(|s| s.status.clone())
            .unwrap_or_else(|| issue.fields.status().to_owned());
        let l = &self.labels;
        Ok(SpecialistRequest {
            id: RequestId::new(&request.issue_key)?,
            number: Some(request.issue_key.clone()),
            key: l
                .value(labels, "key")
                .and_then(|k| IdempotencyKey::new(k).ok()),
            offering: OfferingId::new(&rt)?,
            team: offering.team.clone(),
            requester: TeamId::new(l.value(labels, "requester").unwrap_or("unknown"))?,
            submitted_by: None,
            inputs,
            urgency: match l.value(labels, "urgency") {
                Some("high") => Urgency::High,
                Some("low") => Urgency::Low,
                _ => Urgency::Medium,
            },
            state: cfg
                .statuses
                .state_of(&status)
                .unwrap_or(RequestState::Submitted),
            transitions,
            comments,
            external: Some(self.client.reference(&request.issue_key)),
            submitted_at: request.created_date.as_ref().and_then(|d| d.instant()),
        })
    }
}

#[async_trait]
impl SpecialistCatalog for Jira {
    fn capabilities(&self) -> Capabilities {
        let caps = Capabilities::new(crate::SYSTEM);
        if self.inner.config.specialist.is_none() {
            return caps;
        }
        caps.with_all([capability::REQUEST_LIST, capability::COMMENTS])
    }

    async fn list_offerings(&self, team: Option<TeamId>) -> Result<Vec<Offering>> {
        let inner = &*self.inner;
        let cfg = inner.specialist_config("list_offerings")?;
        let mut out = Vec::new();
        for o in cfg
            .offerings
            .iter()
            .filter(|o| team.as_ref().is_none_or(|t| *t == o.team))
        {
            out.push(inner.offering(cfg, o).await?);
        }
        Ok(out)
    }

    async fn get_offering(&self, id: &OfferingId) -> Result<Offering> {
        let inner = &*self.inner;
        let cfg = inner.specialist_config("get_offering")?;
        let o = inner.offering_config(cfg, id.as_str())?;
        inner.offering(cfg, o).await
    }

    async fn submit(&self, key: &IdempotencyKey, new: &NewRequest) -> Result<SpecialistRequest> {
        let inner = &*self.inner;
        let cfg = inner.specialist_config("submit")?;
        let offering = self.get_offering(&new.offering).await?;
        offering.validate_inputs(&new.inputs)?;
        if let Some(found) = self.find_request_by_key(key).await? {
            return Ok(found);
        }
        let l = &inner.labels;
        let mut values = serde_json::Map::new();
        for (name, value) in &new.inputs {
            let spec = offering.inputs.iter().find(|s| s.name == *name);
            values.insert(name.clone(), to_json(spec, value));
        }
        values.insert(
            "labels".into(),
            json!([
                inner.key_label(key),
                l.label("offering", offering.id.as_str()),
                l.label("requester", new.requester.as_str()),
                l.label("urgency", urgency_name(new.urgency)),
            ]),
        );
        let body = json!({
            "serviceDeskId": cfg.service_desk_id,
            "requestTypeId": offering.id.as_str(),
            "requestFieldValues": Value::Object(values),
        });
        let created = inner.client.create_request(&body).await?;
        inner.read_request(cfg, &created.issue_key).await
    }

    async fn find_request_by_key(&self, key: &IdempotencyKey) -> Result<Option<SpecialistRequest>> {
        let inner = &*self.inner;
        let cfg = inner.specialist_config("find_request_by_key")?;
        let jql = format!(
            "project = {} AND {}",
            jql_string(&cfg.project),
            inner.key_clause(key, KeyCarrier::Label)
        );
        match inner.find_one(&jql, "labels", None).await? {
            Some(issue) => Ok(Some(inner.read_request(cfg, &issue.key).await?)),
            None => Ok(None),
        }
    }

    async fn get_request(&self, id: &RequestId) -> Result<SpecialistRequest> {
        let cfg = self.inner.specialist_config("get_request")?;
        self.inner.read_request(cfg, id.as_str()).await
    }

    async fn list_requests(
        &self,
        filter: &RequestFilter,
        page: &ListRequest,
    ) -> Result<Listing<SpecialistRequest>> {
        let inner = &*self.inner;
        let cfg = inner.specialist_config("list_requests")?;
        let l = &inner.labels;
        let offerings: Vec<String> = cfg
            .offerings
            .iter()
            .filter(|o| filter.team.as_ref().is_none_or(|t| *t == o.team))
            .filter(|o| {
                filter
                    .offering
                    .as_ref()
                    .is_none_or(|id| id.as_str() == o.request_type)
            })
            .map(|o| jql_string(&l.label("offering", &o.request_type)))
            .collect();
        if offerings.is_empty() {
            return Ok(Listing::complete(vec![]));
        }
        let mut jql = format!(
            "project = {} AND labels IN ({})",
            jql_string(&cfg.project),
            offerings.join(", ")
        );
        if let Some(r) = &filter.requester {
            jql.push_str(&format!(
                " AND labels = {}",
                jql_string(&l.label("requester", r.as_str()))
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
        jql.push_str(" ORDER BY created ASC, key ASC");
        let limit = page.limit.unwrap_or(50).clamp(1, 100);
        let found = inner
            .client
            .search(&jql, "labels", limit, page.cursor.as_deref(), None)
            .await?;
        let mut items = Vec::new();
        for issue in &found.issues {
            items.push(inner.read_request(cfg, &issue.key).await?);
        }
        let next = found
            .next_page_token
            .filter(|_| found.is_last != Some(true));
        Ok(Listing { items, next })
    }

    async fn transition(
        &self,
        _id: &RequestId,
        _to: RequestState,
        _by: Person,
        _note: Option<String>,
    ) -> Result<SpecialistRequest> {
        Err(
            Error::unsupported("transition", crate::SYSTEM).with_context(
                "hint",
                "specialist teams move JSM requests in Jira; itsm reads the status",
            ),
        )
    }

    async fn comment(
        &self,
        id: &RequestId,
        key: &IdempotencyKey,
        comment: &Comment,
    ) -> Result<SpecialistRequest> {
        let inner = &*self.inner;
        let cfg = inner.specialist_config("comment")?;
        inner
            .client
            .add_keyed_comment(id.as_str(), key.as_str(), &comment.text)
            .await?;
        inner.read_request(cfg, id.as_str()).await
    }
}
