//! [`SpecialistCatalog`] over the Service Catalog API (`/api/sn_sc/servicecatalog/...`)
//! and the Table API (`sc_req_item`, `sc_item_option_mtom`, `sys_journal_field`).

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use itsm_core::{
    Capabilities, Error, ErrorKind, IdempotencyKey, ListRequest, Listing, Person, Result, TeamId,
};
use itsm_http::Request;
use itsm_specialist::{
    Comment, NewRequest, Offering, OfferingId, RequestFilter, RequestId, RequestState,
    SpecialistCatalog, SpecialistRequest, Transition, capability,
};
use serde_json::{Map, Value};

use crate::SYSTEM;
use crate::api::{MAX_LIMIT, page_of};
use crate::catalog_map::{
    ItemDetail, parse_comment, parse_transition, person_of, transition_note, urgency_name,
    urgency_of,
};
use crate::catalog_order::SC;
use crate::client::{CORRELATION_MAX, ServiceNow, conflict, put, segment};
use crate::config::Checkout;
use crate::journal;
use crate::record::{Record, query_value};

/// Pages read at most when collecting every row of a lookup.
const MAX_PAGES: u32 = 20;

/// An offered item: its sys_id and the team offering it.
type Offered = (String, TeamId);

impl ServiceNow {
    fn ritm_table(&self) -> &str {
        &self.config.catalog.tables.requested_item
    }

    fn not_offered(id: &impl std::fmt::Display) -> Error {
        Error::not_found(format!(
            "offering {id} is not in the ServiceNow catalog configuration; add it to [servicenow.catalog] items or one of its categories"
        ))
        .with_context("offering", id.to_string())
    }

    /// `GET items/{sys_id}`; an unknown or hidden item (ServiceNow answers 400 or 404) is
    /// not found.
    async fn item_detail(&self, sys_id: &str) -> Result<ItemDetail> {
        let req = Request::get(format!("{SC}/items/{}", segment(sys_id)));
        let record = self.api.one(req).await.map_err(|e| {
            if matches!(e.kind(), ErrorKind::InvalidInput | ErrorKind::NotFound) {
                Self::not_offered(&sys_id).with_source(e)
            } else {
                e
            }
        })?;
        let vars = &self.config.catalog.variables;
        ItemDetail::from_record(&record, |n| vars.contains(n)).ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidResponse,
                "the ServiceNow catalog item has no sys_id",
            )
        })
    }

    /// The offering of an item, if the configuration offers it.
    fn offering_of(&self, detail: &ItemDetail) -> Option<Offering> {
        let catalog = &self.config.catalog;
        let (id, team, response, resolution, automated) =
            match catalog.item_by_sys_id(&detail.sys_id) {
                Some(item) => (
                    item.offering_id().to_owned(),
                    item.team.clone(),
                    item.response_target_minutes,
                    item.resolution_target_minutes,
                    item.automated,
                ),
                None => {
                    let category = catalog
                        .categories
                        .iter()
                        .find(|c| detail.categories.contains(&c.sys_id))?;
                    (
                        detail.sys_id.clone(),
                        category.team.clone(),
                        None,
                        None,
                        false,
                    )
                }
            };
        Some(Offering {
            id: OfferingId::new(id).ok()?,
            team: TeamId::new(team).ok()?,
            name: detail.name.clone(),
            description: detail.description.clone(),
            inputs: detail.inputs(),
            response_target_minutes: response.unwrap_or(catalog.response_target_minutes),
            resolution_target_minutes: resolution.unwrap_or(catalog.resolution_target_minutes),
            automated,
        })
    }

    /// The offering `id` and its item.
    async fn offering_detail(&self, id: &OfferingId) -> Result<(Offering, ItemDetail)> {
        let sys_id = match self.config.catalog.item_by_id(id.as_str()) {
            Some(item) => item.sys_id.clone(),
            None if !self.config.catalog.categories.is_empty() => id.as_str().to_owned(),
            None => return Err(Self::not_offered(id)),
        };
        let detail = self.item_detail(&sys_id).await?;
        let offering = self
            .offering_of(&detail)
            .ok_or_else(|| Self::not_offered(id))?;
        if &offering.id != id {
            return Err(Self::not_offered(id));
        }
        Ok((offering, detail))
    }

    /// The offered items (of `team` only, when given), configured items first.
    async fn offered_items(&self, team: Option<&TeamId>) -> Result<Vec<Offered>> {
        let catalog = &self.config.catalog;
        let wanted = |t: &str| team.is_none_or(|team| team.as_str() == t);
        let mut out: Vec<Offered> = Vec::new();
        for item in catalog.items.iter().filter(|i| wanted(&i.team)) {
            out.push((item.sys_id.clone(), TeamId::new(&item.team)?));
        }
        for category in catalog.categories.iter().filter(|c| wanted(&c.team)) {
            let mut query = vec![("sysparm_category", category.sys_id.clone())];
            if let Some(cat) = &category.catalog {
                query.push(("sysparm_catalog", cat.clone()));
            }
            let req = Request::get(format!("{SC}/items")).query(&query);
            for r in self.collect(req).await? {
                if let Some(sys_id) = r.sys_id()
                    && catalog.item_by_sys_id(&sys_id).is_none()
                    && !out.iter().any(|(s, _)| *s == sys_id)
                {
                    out.push((sys_id, TeamId::new(&category.team)?));
                }
            }
        }
        Ok(out)
    }

    /// Every record of a listing request, page by page (at most [`MAX_PAGES`]).
    async fn collect(&self, req: Request) -> Result<Vec<Record>> {
        let mut out = Vec::new();
        let mut offset = 0;
        for _ in 0..MAX_PAGES {
            let page = self.api.list(req.clone(), MAX_LIMIT, offset).await?;
            out.extend(page.items);
            match page.next.and_then(|n| n.parse().ok()) {
                Some(next) if next > offset => offset = next,
                _ => break,
            }
        }
        Ok(out)
    }

    /// The requested items whose variable `name` holds `value`, newest first.
    async fn items_with_variable(
        &self,
        name: &str,
        value: &str,
        limit: u32,
    ) -> Result<Vec<String>> {
        let query = format!(
            "sc_item_option.item_option_new.name={}^sc_item_option.value={}^ORDERBYDESCsys_created_on",
            query_value(name),
            query_value(value)
        );
        let req = Request::get(Self::table(&self.config.catalog.tables.variable_values)).query(&[
            ("sysparm_query", query.as_str()),
            ("sysparm_fields", "request_item"),
        ]);
        let page = self.api.list(req, limit, 0).await?;
        Ok(page
            .items
            .iter()
            .filter_map(|r| r.value("request_item"))
            .collect())
    }

    /// The requested item ordered with `key`.
    async fn ritm_by_key(&self, key: &IdempotencyKey) -> Result<Option<Record>> {
        let value = Self::correlation_value(key);
        let field = &self.config.catalog.key_field;
        if !field.trim().is_empty() {
            let query = format!("{field}={}", query_value(&value));
            return self.table_find(self.ritm_table(), &query, None).await;
        }
        let variable = &self.config.catalog.variables.key;
        for id in self.items_with_variable(variable, &value, 1).await? {
            match self.table_get(self.ritm_table(), &id, None).await {
                Ok(r) => return Ok(Some(r)),
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }

    /// Variable values (`request_item` -> name -> value) of requested items.
    async fn variables_of(
        &self,
        ids: &[String],
    ) -> Result<HashMap<String, BTreeMap<String, String>>> {
        let query = format!("request_itemIN{}", ids.join(","));
        let req = Request::get(Self::table(&self.config.catalog.tables.variable_values)).query(&[
            ("sysparm_query", query.as_str()),
            (
                "sysparm_fields",
                "request_item,sc_item_option.item_option_new.name,sc_item_option.value",
            ),
        ]);
        let mut out: HashMap<String, BTreeMap<String, String>> = HashMap::new();
        for r in self.collect(req).await? {
            if let (Some(item), Some(name)) = (
                r.value("request_item"),
                r.value("sc_item_option.item_option_new.name"),
            ) {
                let value = r.value("sc_item_option.value").unwrap_or_default();
                out.entry(item).or_default().insert(name, value);
            }
        }
        Ok(out)
    }

    /// Work notes and comments of requested items, oldest first.
    async fn journals_of(&self, ids: &[String]) -> Result<HashMap<String, Vec<Record>>> {
        let query = format!(
            "element_idIN{}^elementINwork_notes,comments^ORDERBYsys_created_on",
            ids.join(",")
        );
        let req = Request::get(Self::table(&self.config.tables.journal)).query(&[
            ("sysparm_query", query.as_str()),
            (
                "sysparm_fields",
                "element_id,element,value,sys_created_on,sys_created_by",
            ),
        ]);
        let mut out: HashMap<String, Vec<Record>> = HashMap::new();
        for r in self.collect(req).await? {
            if let Some(id) = r.value("element_id") {
                out.entry(id).or_default().push(r);
            }
        }
        Ok(out)
    }

    /// Requests from requested item records (records of items not offered are left out).
    async fn requests_from(&self, records: &[Record]) -> Result<Vec<SpecialistRequest>> {
        let ids: Vec<String> = records.iter().filter_map(Record::sys_id).collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let variables = self.variables_of(&ids).await?;
        let journals = self.journals_of(&ids).await?;
        let mut items: HashMap<String, Option<(Offering, ItemDetail)>> = HashMap::new();
        let mut out = Vec::new();
        for r in records {
            let (Some(sys_id), Some(item)) = (r.sys_id(), r.value("cat_item")) else {
                continue;
            };
            if !items.contains_key(&item) {
                let found = match self.item_detail(&item).await {
                    Ok(detail) => self.offering_of(&detail).map(|o| (o, detail)),
                    Err(e) if e.kind() == ErrorKind::NotFound => None,
                    Err(e) => return Err(e),
                };
                items.insert(item.clone(), found);
            }
            let Some(Some((offering, detail))) = items.get(&item) else {
                continue;
            };
            let empty = BTreeMap::new();
            let vars = variables.get(&sys_id).unwrap_or(&empty);
            let journal = journals.get(&sys_id).map(Vec::as_slice).unwrap_or(&[]);
            out.push(self.request_from(r, offering, detail, vars, journal)?);
        }
        Ok(out)
    }

    fn request_from(
        &self,
        r: &Record,
        offering: &Offering,
        detail: &ItemDetail,
        vars: &BTreeMap<String, String>,
        journal: &[Record],
    ) -> Result<SpecialistRequest> {
        let catalog = &self.config.catalog;
        let names = &catalog.variables;
        let var = |name: &str| {
            vars.get(name)
                .map(String::as_str)
                .filter(|v| !v.trim().is_empty())
        };
        let sys_id = r.sys_id().unwrap_or_default();
        let submitted_at = r.time("opened_at").or_else(|| r.time("sys_created_on"));
        let submitted_by = var(&names.submitted_by)
            .and_then(person_of)
            .or_else(|| r.display("opened_by").map(Person::named));
        let key_text = if catalog.key_field.trim().is_empty() {
            var(&names.key).map(str::to_owned)
        } else {
            r.value(&catalog.key_field)
        };
        let key = key_text
            .filter(|k| {
                !(k.len() == CORRELATION_MAX
                    && k.as_bytes().get(CORRELATION_MAX - 17) == Some(&b'~'))
            })
            .and_then(|k| IdempotencyKey::new(k).ok());
        let mut transitions = Vec::new();
        if let Some(at) = submitted_at {
            transitions.push(Transition {
                to: RequestState::Submitted,
                at,
                by: submitted_by.clone(),
                note: None,
            });
        }
        let mut comments = Vec::new();
        for entry in journal {
            let value = entry.text("value");
            let at = entry.time("sys_created_on");
            match entry.value("element").as_deref() {
                Some("work_notes") => {
                    if let (Some((to, by, note)), Some(at)) = (parse_transition(&value), at) {
                        transitions.push(Transition { to, at, by, note });
                    }
                }
                Some("comments") => {
                    let (text, by) = parse_comment(&value);
                    let author = by
                        .or_else(|| entry.value("sys_created_by").map(Person::named))
                        .unwrap_or_else(|| Person::named("ServiceNow"));
                    comments.push(Comment { author, text, at });
                }
                _ => {}
            }
        }
        let recorded = transitions.last().map(|t| t.to);
        Ok(SpecialistRequest {
            id: RequestId::new(&sys_id)?,
            number: r.value("number"),
            key,
            offering: offering.id.clone(),
            team: offering.team.clone(),
            requester: var(&names.requester)
                .and_then(|t| TeamId::new(t).ok())
                .map_or_else(|| TeamId::new("unknown"), Ok)?,
            submitted_by,
            inputs: detail.inputs_of(vars),
            urgency: urgency_of(var(&names.urgency)),
            state: catalog.states.state(&r.text("state"), recorded),
            transitions,
            comments,
            external: Some(self.external(self.ritm_table(), &sys_id)),
            submitted_at,
        })
    }

    /// The request of one requested item record; not found when its item is not offered.
    async fn request_of(&self, record: Record) -> Result<SpecialistRequest> {
        let id = record.sys_id().unwrap_or_default();
        self.requests_from(&[record])
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| {
                Error::not_found(format!(
                "requested item {id} is not for an offering of the ServiceNow catalog configuration"
            ))
            .with_context("request", id)
            })
    }

    /// The variables of an order of `new` with `key`.
    fn order_variables(
        &self,
        key: &IdempotencyKey,
        new: &NewRequest,
        detail: &ItemDetail,
    ) -> Map<String, Value> {
        let names = &self.config.catalog.variables;
        let mut vars = detail.variable_values(&new.inputs);
        put(&mut vars, &names.key, Self::correlation_value(key));
        put(&mut vars, &names.requester, new.requester.as_str());
        if let Some(by) = &new.submitted_by {
            put(&mut vars, &names.submitted_by, by.to_string());
        }
        put(&mut vars, &names.urgency, urgency_name(new.urgency));
        vars
    }

    /// The requested item of an order; writes the key field when the instance did not.
    async fn ordered_item(
        &self,
        key: &IdempotencyKey,
        request_id: &str,
        item: &str,
    ) -> Result<Record> {
        let query = format!(
            "request={}^cat_item={}",
            query_value(request_id),
            query_value(item)
        );
        let record = self.table_find(self.ritm_table(), &query, None).await?.ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidResponse,
                format!("ServiceNow ordered request {request_id} but it has no requested item for catalog item {item}"),
            )
        })?;
        let field = &self.config.catalog.key_field;
        if field.trim().is_empty() || record.value(field).is_some() {
            return Ok(record);
        }
        let mut body = Map::new();
        put(&mut body, field, Self::correlation_value(key));
        let id = record.sys_id().unwrap_or_default();
        self.table_patch(self.ritm_table(), &id, &body, None).await
    }

    async fn ritm(&self, id: &RequestId) -> Result<Record> {
        self.table_get(self.ritm_table(), id.as_str(), None)
            .await
            .map_err(|e| e.with_context("request", id))
    }
}

/// ServiceNow's Service Catalog, with these rules (checked by
/// `itsm_testkit::conformance::specialist` against the simulator):
///
/// - **Offerings** are the items of `[servicenow.catalog]` (a list of item sys_ids mapped
///   to our ids and teams, and/or categories whose items one team offers); inputs are the
///   item's variables (`GET /api/sn_sc/servicecatalog/items/{sys_id}`) except the adapter's
///   own (`itsm_key`, ...).
/// - **Submit** checks the inputs, looks the key up first (in the `itsm_key` variable, or
///   the configured `key_field` of `sc_req_item`) and returns the item found, so a retry
///   after a lost answer never orders twice; then orders with `order_now` (or
///   `add_to_cart` + `cart/submit_order`; an `order_now` answered with a cart is checked
///   out) with the inputs and the `itsm_*` variables.
/// - **Lifecycle**: moves allowed by [`RequestState::can_move_to`] set `state` (codes from
///   `[servicenow.catalog.states]`) and add a work note with the note and a marker line;
///   the markers are the recorded transitions and tell states sharing a code apart.
/// - **Comments** are `comments` journal entries keyed by a marker line.
/// - **Lists** page `sc_req_item` with `sysparm_limit` / `sysparm_offset`, oldest first.
#[async_trait]
impl SpecialistCatalog for ServiceNow {
    fn capabilities(&self) -> Capabilities {
        Capabilities::new(SYSTEM).with_all([
            capability::REQUEST_LIST,
            capability::TRANSITIONS,
            capability::COMMENTS,
        ])
    }

    async fn list_offerings(&self, team: Option<TeamId>) -> Result<Vec<Offering>> {
        let mut out = Vec::new();
        for (sys_id, _) in self.offered_items(team.as_ref()).await? {
            let detail = self.item_detail(&sys_id).await?;
            if let Some(offering) = self.offering_of(&detail)
                && team.as_ref().is_none_or(|t| *t == offering.team)
            {
                out.push(offering);
            }
        }
        Ok(out)
    }

    async fn get_offering(&self, id: &OfferingId) -> Result<Offering> {
        Ok(self.offering_detail(id).await?.0)
    }

    async fn submit(
        &self,
        key: &IdempotencyKey,
        request: &NewRequest,
    ) -> Result<SpecialistRequest> {
        let (offering, detail) = self.offering_detail(&request.offering).await?;
        offering.validate_inputs(&request.inputs)?;
        let catalog = &self.config.catalog;
        if let Some(missing) = [&catalog.variables.key, &catalog.variables.requester]
            .into_iter()
            .find(|v| !detail.hidden.contains(v))
            .filter(|v| *v != &catalog.variables.key || catalog.key_field.trim().is_empty())
        {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "catalog item {} ({}) has no variable {missing:?}; add the itsm variable set to the item (see the itsm-servicenow docs)",
                    detail.name, detail.sys_id
                ),
            )
            .with_context("offering", &request.offering));
        }
        if let Some(existing) = self.find_request_by_key(key).await? {
            return Ok(existing);
        }
        let cart = self.config.catalog.checkout == Checkout::Cart;
        if cart
            && self.flush_cart().await?
            && let Some(existing) = self.find_request_by_key(key).await?
        {
            return Ok(existing);
        }
        let vars = self.order_variables(key, request, &detail);
        let ordered = match self.order(&detail.sys_id, vars).await {
            Ok(ordered) => ordered,
            Err(e) if cart => {
                // Another submission may have checked our cart item out with its own.
                return match self.find_request_by_key(key).await? {
                    Some(found) => Ok(found),
                    None => Err(e),
                };
            }
            Err(e) => return Err(e),
        };
        let record = self
            .ordered_item(key, &ordered.request_id, &detail.sys_id)
            .await?;
        self.request_of(record).await
    }

    async fn find_request_by_key(&self, key: &IdempotencyKey) -> Result<Option<SpecialistRequest>> {
        match self.ritm_by_key(key).await? {
            Some(record) => Ok(self.requests_from(&[record]).await?.into_iter().next()),
            None => Ok(None),
        }
    }

    async fn get_request(&self, id: &RequestId) -> Result<SpecialistRequest> {
        self.request_of(self.ritm(id).await?).await
    }

    async fn list_requests(
        &self,
        filter: &RequestFilter,
        page: &ListRequest,
    ) -> Result<Listing<SpecialistRequest>> {
        let (limit, offset) = page_of(page)?;
        let mut items: Vec<String> = self
            .offered_items(filter.team.as_ref())
            .await?
            .into_iter()
            .map(|(sys_id, _)| sys_id)
            .collect();
        if let Some(offering) = &filter.offering {
            let sys_id = match self.config.catalog.item_by_id(offering.as_str()) {
                Some(item) => item.sys_id.clone(),
                None => offering.as_str().to_owned(),
            };
            items.retain(|i| *i == sys_id);
        }
        let mut terms = vec![format!("cat_itemIN{}", items.join(","))];
        if items.is_empty() {
            return Ok(Listing {
                items: Vec::new(),
                next: None,
            });
        }
        if let Some(requester) = &filter.requester {
            let ids = self
                .items_with_variable(
                    &self.config.catalog.variables.requester,
                    requester.as_str(),
                    MAX_LIMIT,
                )
                .await?;
            if ids.is_empty() {
                return Ok(Listing {
                    items: Vec::new(),
                    next: None,
                });
            }
            terms.push(format!("sys_idIN{}", ids.join(",")));
        }
        if !filter.states.is_empty() {
            let mut codes: Vec<&str> = filter
                .states
                .iter()
                .map(|s| self.config.catalog.states.code(*s))
                .collect();
            codes.sort_unstable();
            codes.dedup();
            terms.push(format!("stateIN{}", codes.join(",")));
        }
        terms.push("ORDERBYsys_created_on".to_owned());
        let query = terms.join("^");
        let req = Request::get(Self::table(self.ritm_table())).query(&[
            ("sysparm_query", query.as_str()),
            ("sysparm_display_value", "all"),
        ]);
        let records = self.api.list(req, limit, offset).await?;
        let mut requests = self.requests_from(&records.items).await?;
        // States may share a code: keep exactly the states asked for.
        requests.retain(|r| filter.states.is_empty() || filter.states.contains(&r.state));
        Ok(Listing {
            items: requests,
            next: records.next,
        })
    }

    async fn transition(
        &self,
        id: &RequestId,
        to: RequestState,
        by: Person,
        note: Option<String>,
    ) -> Result<SpecialistRequest> {
        let current = self.get_request(id).await?;
        if current.state == to {
            return Ok(current);
        }
        if !current.state.can_move_to(to) {
            return Err(conflict(format!(
                "request {id} cannot move from {:?} to {to:?}",
                current.state
            ))
            .with_context("request", id));
        }
        let mut body = Map::new();
        put(&mut body, "state", self.config.catalog.states.code(to));
        put(
            &mut body,
            "work_notes",
            transition_note(to, &by, note.as_deref()),
        );
        self.table_patch(self.ritm_table(), id.as_str(), &body, None)
            .await
            .map_err(|e| e.with_context("request", id))?;
        self.get_request(id).await
    }

    async fn comment(
        &self,
        id: &RequestId,
        key: &IdempotencyKey,
        comment: &Comment,
    ) -> Result<SpecialistRequest> {
        if comment.text.trim().is_empty() {
            return Err(Error::invalid_input(
                "a comment must not be empty; write what you need to say",
            )
            .with_context("field", "text"));
        }
        // Not found before anything is written.
        self.ritm(id).await?;
        if !self.journal_has(id.as_str(), "comments", key).await? {
            let author = comment.author.to_string();
            let mut body = Map::new();
            put(
                &mut body,
                "comments",
                journal::with_marker(&comment.text, key, Some(&author)),
            );
            self.table_patch(self.ritm_table(), id.as_str(), &body, None)
                .await
                .map_err(|e| e.with_context("request", id))?;
        }
        self.get_request(id).await
    }
}
