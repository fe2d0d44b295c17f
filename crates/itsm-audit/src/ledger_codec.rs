//! How the SQL stores write ledger rows and read them back; shared by the `sqlite` and
//! `postgres` modules, so that they store records identically.
//!
//! Timestamps in indexed columns are UTC text of fixed width
//! (`2026-05-01T10:00:00.000000000Z`), which sorts like the instants it names; the
//! deployment itself is stored whole in `body`, with its timestamps' offsets: as JSON
//! (PostgreSQL, and SQLite ledgers written before the compact form), or in the compact
//! binary form of [`crate::compact`] (SQLite).

use std::fmt::Display;

use itsm_core::{Error, ErrorKind, IdempotencyKey, ListRequest, Result};
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

use crate::model::{DeploymentRecord, IncidentLink, NewDeployment, RecordHash};

/// Items listed per page when the request does not say.
pub(crate) const DEFAULT_PAGE: u32 = 100;
/// The most items listed per page.
pub(crate) const MAX_PAGE: u32 = 1000;

const FIXED: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:9]Z");

/// Appends `at` in UTC as fixed-width text to `buf`.
pub(crate) fn fixed_time_into(buf: &mut Vec<u8>, at: OffsetDateTime) -> Result<()> {
    at.to_offset(UtcOffset::UTC)
        .format_into(buf, FIXED)
        .map(|_| ())
        .map_err(|e| {
            Error::invalid_input(format!(
                "timestamp {at} cannot be stored (years 0 to 9999 only): {e}"
            ))
        })
}

/// `at` in UTC as fixed-width text.
pub(crate) fn fixed_time(at: OffsetDateTime) -> Result<String> {
    let mut buf = Vec::with_capacity(30);
    fixed_time_into(&mut buf, at)?;
    Ok(String::from_utf8(buf).unwrap_or_default())
}

/// Parses a fixed-width timestamp read from the store.
pub(crate) fn parse_fixed(
    text: &str,
    what: &str,
    seq: i64,
    store: &dyn Display,
) -> Result<OffsetDateTime> {
    PrimitiveDateTime::parse(text, FIXED)
        .map(PrimitiveDateTime::assume_utc)
        .map_err(|e| {
            corrupt(
                store,
                seq,
                format!("its {what} {text:?} is not a timestamp: {e}"),
            )
        })
}

/// An [`ErrorKind::Internal`] error about a record the store cannot read back.
pub(crate) fn corrupt(store: &dyn Display, seq: i64, why: impl Display) -> Error {
    Error::new(
        ErrorKind::Internal,
        format!(
            "ledger record {seq} in {store} cannot be read: {why}; the store is corrupt or was \
             edited by hand: run the ledger verification and restore it from a backup"
        ),
    )
    .with_context("seq", seq)
}

/// The columns of a ledger row as read from the store.
pub(crate) struct RawRecord<'a> {
    pub(crate) seq: i64,
    pub(crate) key: &'a str,
    pub(crate) body: Body<'a>,
    pub(crate) recorded_at: &'a str,
    pub(crate) prev_hash: &'a [u8],
    pub(crate) hash: &'a [u8],
}

/// A stored deployment, in the form it was written in.
pub(crate) enum Body<'a> {
    /// Its JSON.
    Json(&'a str),
    /// Its compact binary form ([`crate::compact`]).
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    Compact(&'a [u8]),
}

/// Turns a row into a record; an unreadable column is an [`ErrorKind::Internal`] error
/// naming the record, never a panic.
pub(crate) fn decode(raw: RawRecord<'_>, store: &dyn Display) -> Result<DeploymentRecord> {
    let seq = raw.seq;
    let hash = |bytes: &[u8], what: &str| -> Result<RecordHash> {
        <[u8; 32]>::try_from(bytes).map(RecordHash).map_err(|_| {
            corrupt(
                store,
                seq,
                format!("its {what} has {} bytes, not 32", bytes.len()),
            )
        })
    };
    let deployment: NewDeployment = match raw.body {
        Body::Json(json) => serde_json::from_str(json)
            .map_err(|e| corrupt(store, seq, format!("its body is not a deployment: {e}")))?,
        Body::Compact(bytes) => crate::compact::decode(bytes)
            .map_err(|why| corrupt(store, seq, format!("its body is damaged: {why}")))?,
    };
    Ok(DeploymentRecord {
        seq: u64::try_from(seq).map_err(|_| corrupt(store, seq, "its number is negative"))?,
        key: IdempotencyKey::new(raw.key)
            .map_err(|e| corrupt(store, seq, format!("its key is invalid: {e}")))?,
        deployment,
        recorded_at: parse_fixed(raw.recorded_at, "recording time", seq, store)?,
        prev_hash: hash(raw.prev_hash, "previous hash")?,
        hash: hash(raw.hash, "hash")?,
    })
}

/// The page size asked for, bounded to `1..=MAX_PAGE`.
pub(crate) fn page_limit(page: &ListRequest) -> u32 {
    page.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE)
}

/// The sequence number the next page starts below, from the request's cursor.
pub(crate) fn cursor(page: &ListRequest) -> Result<Option<i64>> {
    page.cursor
        .as_deref()
        .map(|c| {
            c.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                Error::invalid_input(format!(
                    "list cursor {c:?} was not made by this store; pass the `next` of the \
                     previous page, or no cursor for the first page"
                ))
            })
        })
        .transpose()
}

/// Checks what the types cannot about an incident link.
pub(crate) fn validate_link(link: &IncidentLink) -> Result<()> {
    if link.incident.system.trim().is_empty() || link.incident.id.trim().is_empty() {
        return Err(Error::invalid_input(
            "an incident link needs the incident's system and id; pass both",
        ));
    }
    if let Some(resolved) = link.resolved_at
        && resolved < link.opened_at
    {
        return Err(Error::invalid_input(format!(
            "incident {} {} is resolved ({resolved}) before it was opened ({}); fix the \
             timestamps",
            link.incident.system, link.incident.id, link.opened_at
        )));
    }
    Ok(())
}

/// The error for a link to a deployment the ledger does not hold.
pub(crate) fn unknown_deployment(link: &IncidentLink) -> Error {
    Error::not_found(format!(
        "incident {} {} names deployment {} as its cause, but the ledger has no deployment \
         with that key; record the deployment first or fix the key",
        link.incident.system, link.incident.id, link.deployment
    ))
    .with_context("key", &link.deployment)
}
