//! Queries of the SQLite ledger: finding, scanning and listing records, and incident links.

use std::path::Path;

use itsm_core::{ExternalRef, IdempotencyKey, ListRequest, Listing, Result};
use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, OptionalExtension, Row, params_from_iter};

use super::codec::{self, Body, RawRecord};
use super::schema::sql_error;
use crate::model::{DeploymentFilter, DeploymentRecord, IncidentLink, RecordHash};

/// The columns [`decode_row`] reads, in its order.
pub(super) const RECORD_COLUMNS: &str = "seq, key, body, recorded_at, prev_hash, hash";

/// Why a row could not be read: SQLite failed, or the row is not a valid record.
pub(super) enum RowError {
    Sql(rusqlite::Error),
    Corrupt(itsm_core::Error),
}

impl RowError {
    fn into_error(self, path: &Path) -> itsm_core::Error {
        match self {
            RowError::Sql(e) => sql_error(path, e),
            RowError::Corrupt(e) => e,
        }
    }
}

impl From<rusqlite::Error> for RowError {
    fn from(e: rusqlite::Error) -> Self {
        RowError::Sql(e)
    }
}

/// Reads a row of [`RECORD_COLUMNS`].
pub(super) fn decode_row(row: &Row<'_>, path: &Path) -> Result<DeploymentRecord, RowError> {
    let seq: i64 = row.get(0)?;
    let text = |i: usize| row.get_ref(i).and_then(|v| v.as_str().map_err(Into::into));
    let blob = |i: usize| row.get_ref(i).and_then(|v| v.as_blob().map_err(Into::into));
    // Records written before the compact form hold their JSON as text. The first byte
    // tells the forms apart whatever SQLite's storage class says (an edit by hand can turn
    // a blob into text).
    let body = match row.get_ref(2)? {
        ValueRef::Blob(bytes) | ValueRef::Text(bytes) => match std::str::from_utf8(bytes) {
            Ok(json) if bytes.first() != Some(&crate::compact::FORMAT) => Body::Json(json),
            _ => Body::Compact(bytes),
        },
        other => {
            return Err(RowError::Corrupt(codec::corrupt(
                &path.display(),
                seq,
                format!("its body is {}, not text or bytes", other.data_type()),
            )));
        }
    };
    let raw = RawRecord {
        seq,
        key: text(1)?,
        body,
        recorded_at: text(3)?,
        prev_hash: blob(4)?,
        hash: blob(5)?,
    };
    codec::decode(raw, &path.display()).map_err(RowError::Corrupt)
}

/// Runs a query of [`RECORD_COLUMNS`] and decodes every row.
fn records(
    conn: &Connection,
    path: &Path,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<DeploymentRecord>> {
    let run = || -> Result<Vec<DeploymentRecord>, RowError> {
        let mut stmt = conn.prepare_cached(sql)?;
        let mut rows = stmt.query(params)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(decode_row(row, path)?);
        }
        Ok(out)
    };
    run().map_err(|e| e.into_error(path))
}

/// The record appended with `key`.
pub(super) fn find_by_key(
    conn: &Connection,
    path: &Path,
    key: &str,
) -> Result<Option<DeploymentRecord>> {
    let sql = format!("SELECT {RECORD_COLUMNS} FROM audit_deployment WHERE key = ?1");
    Ok(records(conn, path, &sql, [key])?.pop())
}

/// Up to `limit` records from `from_seq`, in chain order.
pub(super) fn scan(
    conn: &Connection,
    path: &Path,
    from_seq: u64,
    limit: u32,
) -> Result<Vec<DeploymentRecord>> {
    let sql = format!(
        "SELECT {RECORD_COLUMNS} FROM audit_deployment WHERE seq >= ?1 ORDER BY seq LIMIT ?2"
    );
    let from = i64::try_from(from_seq).unwrap_or(i64::MAX);
    records(conn, path, &sql, rusqlite::params![from, limit])
}

/// The last record's number and hash, `(0, GENESIS)` when the ledger is empty.
pub(super) fn head(conn: &Connection, path: &Path) -> Result<(i64, RecordHash)> {
    let row = conn
        .prepare_cached("SELECT seq, hash FROM audit_deployment ORDER BY seq DESC LIMIT 1")
        .and_then(|mut stmt| {
            stmt.query_row([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)))
                .optional()
        })
        .map_err(|e| sql_error(path, e))?;
    match row {
        None => Ok((0, RecordHash::GENESIS)),
        Some((seq, hash)) => <[u8; 32]>::try_from(hash.as_slice())
            .map(|h| (seq, RecordHash(h)))
            .map_err(|_| {
                codec::corrupt(
                    &path.display(),
                    seq,
                    format!("its hash has {} bytes, not 32", hash.len()),
                )
            }),
    }
}

/// Appends the SQL conditions of `filter` on the deployment table aliased `d`.
fn filter_sql(filter: &DeploymentFilter, sql: &mut String, args: &mut Vec<Value>) -> Result<()> {
    if let Some(service) = &filter.service {
        sql.push_str(" AND d.service = ?");
        args.push(Value::Text(service.as_str().to_owned()));
    }
    if let Some(environment) = &filter.environment {
        sql.push_str(" AND d.environment = ?");
        args.push(Value::Text(environment.as_str().to_owned()));
    }
    if filter.production_only {
        sql.push_str(" AND d.production = 1");
    }
    if let Some(since) = filter.since {
        sql.push_str(" AND d.finished_at >= ?");
        args.push(Value::Text(codec::fixed_time(since)?));
    }
    if let Some(until) = filter.until {
        sql.push_str(" AND d.finished_at < ?");
        args.push(Value::Text(codec::fixed_time(until)?));
    }
    Ok(())
}

/// One page of records matching `filter`, newest first.
pub(super) fn list(
    conn: &Connection,
    path: &Path,
    filter: &DeploymentFilter,
    page: &ListRequest,
) -> Result<Listing<DeploymentRecord>> {
    let limit = codec::page_limit(page);
    let mut sql = format!("SELECT {RECORD_COLUMNS} FROM audit_deployment d WHERE 1 = 1");
    let mut args = Vec::new();
    filter_sql(filter, &mut sql, &mut args)?;
    if let Some(before) = codec::cursor(page)? {
        sql.push_str(" AND d.seq < ?");
        args.push(Value::Integer(before));
    }
    sql.push_str(" ORDER BY d.seq DESC LIMIT ?");
    args.push(Value::Integer(i64::from(limit) + 1));
    let mut items = records(conn, path, &sql, params_from_iter(args))?;
    let next = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|r| r.seq.to_string())
    } else {
        None
    };
    Ok(Listing { items, next })
}

/// Incident links of deployments matching `filter`, by opening time.
pub(super) fn incident_links(
    conn: &Connection,
    path: &Path,
    filter: &DeploymentFilter,
) -> Result<Vec<IncidentLink>> {
    let mut sql = String::from(
        "SELECT l.system, l.id, l.url, l.deployment_key, l.opened_at, l.resolved_at, d.seq \
         FROM audit_incident_link l JOIN audit_deployment d ON d.key = l.deployment_key \
         WHERE 1 = 1",
    );
    let mut args = Vec::new();
    filter_sql(filter, &mut sql, &mut args)?;
    sql.push_str(" ORDER BY l.opened_at, l.system, l.id");
    let store = path.display();
    let run = || -> Result<Vec<IncidentLink>, RowError> {
        let mut stmt = conn.prepare(&sql)?;
        let mut rows = stmt.query(params_from_iter(args))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let seq: i64 = row.get(6)?;
            let bad = |why: String| RowError::Corrupt(codec::corrupt(&store, seq, why));
            let url: Option<String> = row.get(2)?;
            let url = url
                .map(|u| itsm_core::url::Url::parse(&u))
                .transpose()
                .map_err(|e| bad(format!("an incident link's URL is invalid: {e}")))?;
            let key: String = row.get(3)?;
            let opened: String = row.get(4)?;
            let resolved: Option<String> = row.get(5)?;
            let time = |t: &str| {
                codec::parse_fixed(t, "incident link time", seq, &store).map_err(RowError::Corrupt)
            };
            out.push(IncidentLink {
                incident: ExternalRef {
                    system: row.get(0)?,
                    id: row.get(1)?,
                    url,
                },
                deployment: IdempotencyKey::new(key)
                    .map_err(|e| bad(format!("an incident link's key is invalid: {e}")))?,
                opened_at: time(&opened)?,
                resolved_at: resolved.as_deref().map(time).transpose()?,
            });
        }
        Ok(out)
    };
    run().map_err(|e| e.into_error(path))
}

/// Inserts or replaces the link of `link.incident`; `NotFound` when the deployment is not
/// in the ledger. Call inside a write transaction.
pub(super) fn upsert_link(conn: &Connection, path: &Path, link: &IncidentLink) -> Result<()> {
    let exists = conn
        .query_row(
            "SELECT 1 FROM audit_deployment WHERE key = ?1",
            [link.deployment.as_str()],
            |_| Ok(()),
        )
        .optional()
        .map_err(|e| sql_error(path, e))?;
    if exists.is_none() {
        return Err(codec::unknown_deployment(link));
    }
    let opened = codec::fixed_time(link.opened_at)?;
    let resolved = link.resolved_at.map(codec::fixed_time).transpose()?;
    conn.execute(
        "INSERT INTO audit_incident_link \
             (system, id, url, deployment_key, opened_at, resolved_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
         ON CONFLICT (system, id) DO UPDATE SET url = excluded.url, \
             deployment_key = excluded.deployment_key, opened_at = excluded.opened_at, \
             resolved_at = excluded.resolved_at",
        rusqlite::params![
            link.incident.system,
            link.incident.id,
            link.incident.url.as_ref().map(|u| u.as_str()),
            link.deployment.as_str(),
            opened,
            resolved,
        ],
    )
    .map_err(|e| sql_error(path, e))?;
    Ok(())
}
