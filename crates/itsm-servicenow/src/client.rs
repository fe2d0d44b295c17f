//! [`ServiceNow`], the adapter: one value implementing `ChangeSystem`, `IncidentSystem`
//! and `SpecialistCatalog` over one HTTP client.

use std::fmt;
use std::sync::Arc;

use itsm_core::{Error, ErrorKind, ExternalRef, IdempotencyKey, Result};
use itsm_http::{HttpClient, Request};
use serde_json::{Map, Value};

use crate::SYSTEM;
use crate::api::Api;
use crate::config::ServiceNowConfig;
use crate::record::{Record, query_value};

/// The longest value ServiceNow keeps in `correlation_id` (a 100-character string).
pub(crate) const CORRELATION_MAX: usize = 100;

/// The ServiceNow adapter. Cheap to clone; `Debug` shows no credentials.
///
/// See the [crate docs](crate) for an example and the mapping of each operation.
#[derive(Clone)]
pub struct ServiceNow {
    pub(crate) config: Arc<ServiceNowConfig>,
    pub(crate) api: Api,
    /// The `sysparm_fields` of incident requests (see [`ServiceNow::incident_fields`]).
    pub(crate) incident_fields: Arc<str>,
}

impl fmt::Debug for ServiceNow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceNow")
            .field("config", &self.config)
            .field("http", self.api.http())
            .finish()
    }
}

impl ServiceNow {
    /// The adapter for a validated configuration (see [`ServiceNowConfig::validate`]).
    pub fn new(config: ServiceNowConfig) -> Result<Self> {
        let http = config.http_client()?;
        Ok(Self::assemble(config, http))
    }

    /// The adapter with a client built elsewhere (other retry or timeout settings); the
    /// client's base URL must be the instance URL.
    pub fn with_client(config: ServiceNowConfig, http: HttpClient) -> Result<Self> {
        config.validate()?;
        Ok(Self::assemble(config, http))
    }

    fn assemble(config: ServiceNowConfig, http: HttpClient) -> Self {
        ServiceNow {
            incident_fields: Self::incident_fields(&config.fields).into(),
            config: Arc::new(config),
            api: Api::new(http),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ServiceNowConfig {
        &self.config
    }

    /// A reference to a record that a person can open in the instance.
    pub(crate) fn external(&self, table: &str, sys_id: &str) -> ExternalRef {
        let reference = ExternalRef::new(SYSTEM, sys_id);
        let path = format!("{table}.do?sys_id={}", segment(sys_id));
        match self.api.http().base_url().join(&path) {
            Ok(url) => reference.with_url(url),
            Err(_) => reference,
        }
    }

    /// `api/now/table/<table>`.
    pub(crate) fn table(table: &str) -> String {
        format!("api/now/table/{}", segment(table))
    }

    /// `api/now/table/<table>/<sys_id>`.
    pub(crate) fn table_record(table: &str, sys_id: &str) -> String {
        format!("{}/{}", Self::table(table), segment(sys_id))
    }

    /// A Table API read of one record (its `fields`, see [`answer`]).
    pub(crate) async fn table_get(
        &self,
        table: &str,
        sys_id: &str,
        fields: Option<&str>,
    ) -> Result<Record> {
        let req = answer(Request::get(Self::table_record(table, sys_id)), fields);
        self.api.one(req).await
    }

    /// A Table API update; the answer is the record (its `fields`, see [`answer`]).
    pub(crate) async fn table_patch(
        &self,
        table: &str,
        sys_id: &str,
        body: &Map<String, Value>,
        fields: Option<&str>,
    ) -> Result<Record> {
        let req = answer(Request::patch(Self::table_record(table, sys_id)), fields).json(body);
        self.api.one(req).await
    }

    /// The first record of `table` matching `query`, if any (its `fields`, see [`answer`]).
    pub(crate) async fn table_find(
        &self,
        table: &str,
        query: &str,
        fields: Option<&str>,
    ) -> Result<Option<Record>> {
        let req = answer(
            Request::get(Self::table(table)).query(&[("sysparm_query", query)]),
            fields,
        );
        Ok(self.api.list(req, 1, 0).await?.items.into_iter().next())
    }

    /// The value stored in the correlation field for `key`: the key itself, or for a key
    /// longer than ServiceNow keeps, its first 83 bytes, `~` and a 64-bit hash.
    pub(crate) fn correlation_value(key: &IdempotencyKey) -> String {
        let key = key.as_str();
        if key.len() <= CORRELATION_MAX {
            return key.to_owned();
        }
        let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        let mut cut = CORRELATION_MAX - 17;
        while !key.is_char_boundary(cut) {
            cut -= 1;
        }
        format!("{}~{hash:016x}", &key[..cut])
    }

    /// The encoded query finding `key` in the correlation field.
    pub(crate) fn key_query(&self, key: &IdempotencyKey) -> String {
        format!(
            "{}={}",
            self.config.fields.correlation,
            query_value(&Self::correlation_value(key))
        )
    }

    /// The key read back from a record (`None` for a shortened long key).
    pub(crate) fn key_of(&self, record: &Record) -> Option<IdempotencyKey> {
        let value = record.value(&self.config.fields.correlation)?;
        if value.len() == CORRELATION_MAX
            && value.as_bytes().get(CORRELATION_MAX - 17) == Some(&b'~')
        {
            return None;
        }
        IdempotencyKey::new(value).ok()
    }
}

/// A string as one URL path segment (everything but unreserved characters escaped).
pub(crate) fn segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A Table API request whose answer carries each field's value and display value
/// (`sysparm_display_value=all`: the mappings read references by name and choices, times
/// and flags by value). With `fields`, only those fields (`sysparm_fields`, comma
/// separated) and no reference links (`sysparm_exclude_reference_link`), which the
/// mappings never read; without, every field of the record.
pub(crate) fn answer(req: Request, fields: Option<&str>) -> Request {
    let req = req.query(&[("sysparm_display_value", "all")]);
    match fields {
        Some(fields) => req.query(&[
            ("sysparm_fields", fields),
            ("sysparm_exclude_reference_link", "true"),
        ]),
        None => req,
    }
}

/// Sets `field` in `body` unless the field is turned off (empty name).
pub(crate) fn put(body: &mut Map<String, Value>, field: &str, value: impl Into<String>) {
    if !field.trim().is_empty() {
        body.insert(field.to_owned(), Value::String(value.into()));
    }
}

/// An [`ErrorKind::InvalidResponse`] about a record field.
pub(crate) fn bad_record(what: &str, field: &str, hint: &str) -> Error {
    Error::new(
        ErrorKind::InvalidResponse,
        format!("the ServiceNow {what} has no usable `{field}`; {hint}"),
    )
    .with_context("field", field)
}

/// An [`ErrorKind::Conflict`].
pub(crate) fn conflict(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Conflict, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_keys_are_shortened_deterministically() {
        let short = IdempotencyKey::new("alert/checkout/1").unwrap();
        assert_eq!(ServiceNow::correlation_value(&short), "alert/checkout/1");
        let long = IdempotencyKey::new("k".repeat(150)).unwrap();
        let other = IdempotencyKey::new(format!("{}x", "k".repeat(149))).unwrap();
        let a = ServiceNow::correlation_value(&long);
        assert_eq!(a.len(), CORRELATION_MAX);
        assert_eq!(a, ServiceNow::correlation_value(&long));
        assert_ne!(a, ServiceNow::correlation_value(&other));
    }

    #[test]
    fn segments_are_escaped() {
        assert_eq!(segment("abc-1_2.x~"), "abc-1_2.x~");
        assert_eq!(segment("a/b?c d"), "a%2Fb%3Fc%20d");
    }
}
