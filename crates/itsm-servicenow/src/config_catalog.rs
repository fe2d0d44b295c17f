//! `[servicenow.catalog]`: which Service Catalog items are offerings, for which team, how
//! they are ordered, and how requested items (`sc_req_item`) are read.
//!
//! ```toml
//! [servicenow.catalog]
//! response_target_minutes = 480          # defaults for offerings without their own
//! resolution_target_minutes = 2400
//! checkout = "order_now"                 # or "cart": add_to_cart + cart/submit_order
//! # requested_for = "<sys_user sys_id>"  # sysparm_requested_for of every order
//! # key_field = "correlation_id"         # look the key up on sc_req_item instead of the variable
//!
//! [[servicenow.catalog.items]]           # a fixed list of items ...
//! sys_id = "0d08837237153000158bbfc8bcbe5d02"
//! id = "dba.new-database"                # our offering id (default: the sys_id)
//! team = "dba"
//! response_target_minutes = 60
//! resolution_target_minutes = 480
//!
//! [[servicenow.catalog.categories]]      # ... and/or every item of a category
//! sys_id = "b0fdfb01932002009ca87a75e57ffbd9"
//! team = "network"
//!
//! [servicenow.catalog.variables]         # the hidden variables the adapter fills
//! key = "itsm_key"
//! requester = "itsm_requester"
//!
//! [servicenow.catalog.states]            # sc_req_item.state codes (ServiceNow's defaults)
//! submitted = "1"
//! fulfilled = "3"
//! ```
//!
//! Nothing here is secret, so there is no environment overlay.

use std::collections::BTreeSet;

use itsm_core::{Error, ErrorKind, Result, TeamId};
use itsm_specialist::{OfferingId, RequestState};
use serde::Deserialize;

/// `[servicenow.catalog]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CatalogConfig {
    /// Catalog items offered, each mapped to our offering id and team.
    pub items: Vec<CatalogItem>,
    /// Categories whose every item is offered by one team (offering id = item sys_id).
    pub categories: Vec<CatalogCategory>,
    /// Response target of offerings without their own, in minutes (480).
    pub response_target_minutes: u32,
    /// Resolution target of offerings without their own, in minutes (2400).
    pub resolution_target_minutes: u32,
    /// How an item is ordered.
    pub checkout: Checkout,
    /// `sysparm_requested_for` of every order (a `sys_user` sys_id); default the
    /// integration user.
    pub requested_for: Option<String>,
    /// A field of `sc_req_item` the instance fills with the key variable (a business rule);
    /// empty (the default) looks the key up in the variables (`sc_item_option_mtom`).
    pub key_field: String,
    /// The variables the adapter fills on every order.
    pub variables: ItsmVariables,
    /// `sc_req_item.state` codes.
    pub states: RequestStates,
    /// Tables.
    pub tables: CatalogTables,
}

impl Default for CatalogConfig {
    fn default() -> Self {
        CatalogConfig {
            items: Vec::new(),
            categories: Vec::new(),
            response_target_minutes: 480,
            resolution_target_minutes: 2400,
            checkout: Checkout::OrderNow,
            requested_for: None,
            key_field: String::new(),
            variables: ItsmVariables::default(),
            states: RequestStates::default(),
            tables: CatalogTables::default(),
        }
    }
}

/// `[[servicenow.catalog.items]]`: one catalog item offered.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogItem {
    /// The item's sys_id (`sc_cat_item`).
    pub sys_id: String,
    /// Our offering id (default: the sys_id).
    #[serde(default)]
    pub id: Option<String>,
    /// The specialist team whose queue receives the requests.
    pub team: String,
    /// Response target in minutes (default: the catalog's).
    #[serde(default)]
    pub response_target_minutes: Option<u32>,
    /// Resolution target in minutes (default: the catalog's).
    #[serde(default)]
    pub resolution_target_minutes: Option<u32>,
    /// Fulfilled by a registered automation.
    #[serde(default)]
    pub automated: bool,
}

impl CatalogItem {
    /// Our offering id of the item.
    pub fn offering_id(&self) -> &str {
        self.id.as_deref().unwrap_or(&self.sys_id)
    }
}

/// `[[servicenow.catalog.categories]]`: every item of a category, offered by one team.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogCategory {
    /// The category's sys_id (`sc_category`).
    pub sys_id: String,
    /// The team offering its items.
    pub team: String,
    /// Only items of this catalog (`sysparm_catalog`), when set.
    #[serde(default)]
    pub catalog: Option<String>,
}

/// How an item is ordered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Checkout {
    /// `POST items/{sys_id}/order_now`; when the instance uses two-step checkout and answers
    /// with a cart, the cart is then submitted (`cart/submit_order`).
    #[default]
    OrderNow,
    /// `POST items/{sys_id}/add_to_cart`, then `POST cart/submit_order`.
    Cart,
}

/// `[servicenow.catalog.variables]`: variables (single line text) the offered items carry,
/// in a variable set, for the adapter's bookkeeping. They are not offering inputs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ItsmVariables {
    /// Our idempotency key (`itsm_key`).
    pub key: String,
    /// The requesting team (`itsm_requester`).
    pub requester: String,
    /// Who submitted the request (`itsm_submitted_by`).
    pub submitted_by: String,
    /// high, medium or low (`itsm_urgency`).
    pub urgency: String,
}

impl Default for ItsmVariables {
    fn default() -> Self {
        ItsmVariables {
            key: "itsm_key".into(),
            requester: "itsm_requester".into(),
            submitted_by: "itsm_submitted_by".into(),
            urgency: "itsm_urgency".into(),
        }
    }
}

impl ItsmVariables {
    /// Whether `name` is one of these.
    pub fn contains(&self, name: &str) -> bool {
        [
            &self.key,
            &self.requester,
            &self.submitted_by,
            &self.urgency,
        ]
        .iter()
        .any(|v| v.as_str() == name)
    }
}

/// `[servicenow.catalog.states]`: `sc_req_item.state` codes. ServiceNow has no triaged
/// state: by default it shares Open (`1`) with submitted, and the adapter's recorded
/// transitions tell them apart.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RequestStates {
    /// Submitted (`1`, Open).
    pub submitted: String,
    /// Triaged (`1`, Open).
    pub triaged: String,
    /// In progress (`2`, Work in Progress).
    pub in_progress: String,
    /// Waiting on the requester (`-5`, Pending).
    pub waiting_on_requester: String,
    /// Fulfilled (`3`, Closed Complete).
    pub fulfilled: String,
    /// Rejected (`4`, Closed Incomplete).
    pub rejected: String,
    /// Cancelled (`7`, Closed Skipped).
    pub cancelled: String,
}

impl Default for RequestStates {
    fn default() -> Self {
        RequestStates {
            submitted: "1".into(),
            triaged: "1".into(),
            in_progress: "2".into(),
            waiting_on_requester: "-5".into(),
            fulfilled: "3".into(),
            rejected: "4".into(),
            cancelled: "7".into(),
        }
    }
}

impl RequestStates {
    /// Every state, the first of those sharing a code first.
    pub const ALL: [RequestState; 7] = [
        RequestState::Submitted,
        RequestState::Triaged,
        RequestState::InProgress,
        RequestState::WaitingOnRequester,
        RequestState::Fulfilled,
        RequestState::Rejected,
        RequestState::Cancelled,
    ];

    /// The code of `state`.
    pub fn code(&self, state: RequestState) -> &str {
        match state {
            RequestState::Submitted => &self.submitted,
            RequestState::Triaged => &self.triaged,
            RequestState::InProgress => &self.in_progress,
            RequestState::WaitingOnRequester => &self.waiting_on_requester,
            RequestState::Fulfilled => &self.fulfilled,
            RequestState::Rejected => &self.rejected,
            RequestState::Cancelled => &self.cancelled,
        }
    }

    /// The state of `code`: `recorded` (the last state the adapter recorded) when it has
    /// that code, else the first state with it. Unknown codes read as in progress.
    pub fn state(&self, code: &str, recorded: Option<RequestState>) -> RequestState {
        let code = code.trim();
        if let Some(r) = recorded
            && self.code(r) == code
        {
            return r;
        }
        Self::ALL
            .into_iter()
            .find(|s| self.code(*s) == code)
            .unwrap_or(RequestState::InProgress)
    }
}

/// `[servicenow.catalog.tables]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CatalogTables {
    /// Requested items (`sc_req_item`).
    pub requested_item: String,
    /// Variable values of requested items (`sc_item_option_mtom`).
    pub variable_values: String,
}

impl Default for CatalogTables {
    fn default() -> Self {
        CatalogTables {
            requested_item: "sc_req_item".into(),
            variable_values: "sc_item_option_mtom".into(),
        }
    }
}

fn config_error(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Config, message)
}

impl CatalogConfig {
    /// Checks the section; the error names the setting and how to fix it.
    pub fn validate(&self) -> Result<()> {
        let mut ids = BTreeSet::new();
        for (i, item) in self.items.iter().enumerate() {
            let at = format!("[servicenow.catalog] items[{i}]");
            if item.sys_id.trim().is_empty() {
                return Err(config_error(format!(
                    "{at} has an empty sys_id; set the catalog item's sys_id"
                )));
            }
            OfferingId::new(item.offering_id()).map_err(|e| {
                config_error(format!(
                    "{at} id {:?} is not an offering id: {e}",
                    item.offering_id()
                ))
            })?;
            TeamId::new(&item.team).map_err(|e| {
                config_error(format!("{at} team {:?} is not a team id: {e}", item.team))
            })?;
            if !ids.insert(item.offering_id().to_owned()) {
                return Err(config_error(format!(
                    "{at} repeats the offering id {:?}; give every item its own id",
                    item.offering_id()
                )));
            }
        }
        for (i, category) in self.categories.iter().enumerate() {
            let at = format!("[servicenow.catalog] categories[{i}]");
            if category.sys_id.trim().is_empty() {
                return Err(config_error(format!(
                    "{at} has an empty sys_id; set the category's sys_id"
                )));
            }
            TeamId::new(&category.team).map_err(|e| {
                config_error(format!(
                    "{at} team {:?} is not a team id: {e}",
                    category.team
                ))
            })?;
        }
        let v = &self.variables;
        let names = [
            ("key", &v.key),
            ("requester", &v.requester),
            ("submitted_by", &v.submitted_by),
            ("urgency", &v.urgency),
        ];
        if let Some((name, _)) = names.iter().find(|(_, n)| n.trim().is_empty()) {
            return Err(config_error(format!(
                "[servicenow.catalog.variables] {name} must not be empty; name the variable of the itsm variable set"
            )));
        }
        let s = &self.states;
        if let Some(state) = RequestStates::ALL
            .iter()
            .find(|st| s.code(**st).trim().is_empty())
        {
            return Err(config_error(format!(
                "[servicenow.catalog.states] the code of {state:?} is empty; set the sc_req_item state code"
            )));
        }
        for terminal in RequestStates::ALL.iter().filter(|st| st.is_terminal()) {
            if let Some(other) = RequestStates::ALL
                .iter()
                .find(|o| *o != terminal && s.code(**o) == s.code(*terminal))
            {
                return Err(config_error(format!(
                    "[servicenow.catalog.states] {terminal:?} and {other:?} share the code {:?}; a closed state needs its own code",
                    s.code(*terminal)
                )));
            }
        }
        if self.tables.requested_item.trim().is_empty()
            || self.tables.variable_values.trim().is_empty()
        {
            return Err(config_error(
                "[servicenow.catalog.tables] table names must not be empty",
            ));
        }
        Ok(())
    }

    /// The configured item with sys_id `sys_id`.
    pub(crate) fn item_by_sys_id(&self, sys_id: &str) -> Option<&CatalogItem> {
        self.items.iter().find(|i| i.sys_id == sys_id)
    }

    /// The configured item with our id `id`.
    pub(crate) fn item_by_id(&self, id: &str) -> Option<&CatalogItem> {
        self.items.iter().find(|i| i.offering_id() == id)
    }
}
