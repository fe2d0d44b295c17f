//! The ledger's statements on PostgreSQL: appending (chain extension serialised by the
//! `audit_head` row lock), finding, scanning and listing.

use std::collections::HashMap;

use itsm_core::{Error, ErrorKind, ExternalRef, IdempotencyKey, ListRequest, Listing, Result};
use time::UtcOffset;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, GenericClient, Row};

use super::codec::{self, Body, RawRecord};
use super::tables::pg_error;
use crate::chain::record_hash;
use crate::model::{DeploymentFilter, DeploymentRecord, IncidentLink, NewDeployment, RecordHash};

const RECORD_COLUMNS: &str = "seq, key, body, recorded_at, prev_hash, hash";

type Param = Box<dyn ToSql + Sync + Send>;

fn decode_row(row: &Row, shown: &str) -> Result<DeploymentRecord> {
    let seq: i64 = row.try_get(0).unwrap_or(-1);
    let bad = |e: tokio_postgres::Error| codec::corrupt(&shown, seq, e);
    let raw = RawRecord {
        seq,
        key: row.try_get(1).map_err(bad)?,
        body: Body::Json(row.try_get(2).map_err(bad)?),
        recorded_at: row.try_get(3).map_err(bad)?,
        prev_hash: row.try_get(4).map_err(bad)?,
        hash: row.try_get(5).map_err(bad)?,
    };
    codec::decode(raw, &shown)
}

/// Appends validated records in one transaction: locks the `audit_head` row (so that
/// appenders in every process take turns), returns the existing record for known keys,
/// inserts the others in one statement, and moves the head.
pub(super) async fn append(
    client: &mut Client,
    shown: &str,
    records: &[(IdempotencyKey, NewDeployment)],
    recorded_at: time::OffsetDateTime,
) -> Result<Vec<DeploymentRecord>> {
    let err = |e: tokio_postgres::Error| pg_error(shown, "appending to the ledger", &e);
    let recorded_at = recorded_at.to_offset(UtcOffset::UTC);
    let tx = client.transaction().await.map_err(err)?;
    let head = tx
        .query_one(
            "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE",
            &[],
        )
        .await
        .map_err(err)?;
    let mut seq: i64 = head.try_get(0).map_err(err)?;
    let hash: &[u8] = head.try_get(1).map_err(err)?;
    let mut prev = <[u8; 32]>::try_from(hash)
        .map(RecordHash)
        .map_err(|_| codec::corrupt(&shown, seq, "the ledger head's hash is not 32 bytes"))?;
    let keys: Vec<&str> = records.iter().map(|(k, _)| k.as_str()).collect();
    let sql = format!("SELECT {RECORD_COLUMNS} FROM audit_deployment WHERE key = ANY($1)");
    let mut known: HashMap<String, DeploymentRecord> = HashMap::new();
    for row in tx.query(&sql, &[&keys]).await.map_err(err)? {
        let record = decode_row(&row, shown)?;
        known.insert(record.key.as_str().to_owned(), record);
    }
    let recorded_text = codec::fixed_time(recorded_at)?;
    let n = records.len();
    let (mut seqs, mut rkeys, mut services, mut envs, mut prods) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut finished, mut bodies, mut prevs, mut hashes) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let mut out = Vec::with_capacity(n);
    for (key, deployment) in records {
        if let Some(existing) = known.get(key.as_str()) {
            out.push(existing.clone());
            continue;
        }
        seq += 1;
        let seq_u = u64::try_from(seq).unwrap_or(0);
        let hash = record_hash(seq_u, key, deployment, recorded_at, &prev);
        let body = serde_json::to_string(deployment).map_err(|e| {
            Error::new(
                ErrorKind::Internal,
                format!("deployment {key} cannot be written as JSON: {e}"),
            )
        })?;
        seqs.push(seq);
        rkeys.push(key.as_str());
        services.push(deployment.service.as_str());
        envs.push(deployment.environment.as_str());
        prods.push(deployment.environment.is_production());
        finished.push(codec::fixed_time(deployment.finished_at)?);
        bodies.push(body);
        prevs.push(prev.0.to_vec());
        hashes.push(hash.0.to_vec());
        let record = DeploymentRecord {
            seq: seq_u,
            key: key.clone(),
            deployment: deployment.clone(),
            recorded_at,
            prev_hash: prev,
            hash,
        };
        known.insert(key.as_str().to_owned(), record.clone());
        out.push(record);
        prev = hash;
    }
    if !seqs.is_empty() {
        tx.execute(
            "INSERT INTO audit_deployment \
                 (seq, key, service, environment, production, finished_at, recorded_at, body, \
                  prev_hash, hash) \
             SELECT s, k, sv, e, p, f, $7, b, ph, h FROM UNNEST(\
                 $1::BIGINT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::BOOLEAN[], \
                 $6::TEXT[], $8::TEXT[], $9::BYTEA[], $10::BYTEA[]) AS t(s, k, sv, e, p, f, b, ph, h)",
            &[
                &seqs, &rkeys, &services, &envs, &prods, &finished, &recorded_text, &bodies,
                &prevs, &hashes,
            ],
        )
        .await
        .map_err(err)?;
        tx.execute(
            "UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1",
            &[&seq, &prev.0.as_slice()],
        )
        .await
        .map_err(err)?;
    }
    tx.commit().await.map_err(err)?;
    Ok(out)
}

async fn records(
    client: &impl GenericClient,
    shown: &str,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<DeploymentRecord>> {
    let rows = client
        .query(sql, params)
        .await
        .map_err(|e| pg_error(shown, "reading the ledger", &e))?;
    rows.iter().map(|row| decode_row(row, shown)).collect()
}

/// The record appended with `key`.
pub(super) async fn find_by_key(
    client: &Client,
    shown: &str,
    key: &str,
) -> Result<Option<DeploymentRecord>> {
    let sql = format!("SELECT {RECORD_COLUMNS} FROM audit_deployment WHERE key = $1");
    Ok(records(client, shown, &sql, &[&key]).await?.pop())
}

/// Up to `limit` records from `from_seq`, in chain order.
pub(super) async fn scan(
    client: &Client,
    shown: &str,
    from_seq: u64,
    limit: u32,
) -> Result<Vec<DeploymentRecord>> {
    let sql = format!(
        "SELECT {RECORD_COLUMNS} FROM audit_deployment WHERE seq >= $1 ORDER BY seq LIMIT $2"
    );
    let from = i64::try_from(from_seq).unwrap_or(i64::MAX);
    records(client, shown, &sql, &[&from, &i64::from(limit)]).await
}

/// The number of the last record appended.
pub(super) async fn head(client: &Client, shown: &str) -> Result<u64> {
    let row = client
        .query_one("SELECT seq FROM audit_head WHERE id = 1", &[])
        .await
        .map_err(|e| pg_error(shown, "reading the ledger head", &e))?;
    let seq: i64 = row
        .try_get(0)
        .map_err(|e| pg_error(shown, "reading the ledger head", &e))?;
    Ok(u64::try_from(seq).unwrap_or(0))
}

fn filter_sql(filter: &DeploymentFilter, sql: &mut String, args: &mut Vec<Param>) -> Result<()> {
    let mut add = |sql: &mut String, cond: &str, value: Param| {
        args.push(value);
        sql.push_str(&format!(" AND {cond} ${}", args.len()));
    };
    if let Some(service) = &filter.service {
        add(sql, "d.service =", Box::new(service.as_str().to_owned()));
    }
    if let Some(environment) = &filter.environment {
        add(
            sql,
            "d.environment =",
            Box::new(environment.as_str().to_owned()),
        );
    }
    if filter.production_only {
        sql.push_str(" AND d.production");
    }
    if let Some(since) = filter.since {
        add(sql, "d.finished_at >=", Box::new(codec::fixed_time(since)?));
    }
    if let Some(until) = filter.until {
        add(sql, "d.finished_at <", Box::new(codec::fixed_time(until)?));
    }
    Ok(())
}

fn refs(args: &[Param]) -> Vec<&(dyn ToSql + Sync)> {
    args.iter()
        .map(|a| a.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

/// One page of records matching `filter`, newest first.
pub(super) async fn list(
    client: &Client,
    shown: &str,
    filter: &DeploymentFilter,
    page: &ListRequest,
) -> Result<Listing<DeploymentRecord>> {
    let limit = codec::page_limit(page);
    let mut sql = format!("SELECT {RECORD_COLUMNS} FROM audit_deployment d WHERE TRUE");
    let mut args: Vec<Param> = Vec::new();
    filter_sql(filter, &mut sql, &mut args)?;
    if let Some(before) = codec::cursor(page)? {
        args.push(Box::new(before));
        sql.push_str(&format!(" AND d.seq < ${}", args.len()));
    }
    args.push(Box::new(i64::from(limit) + 1));
    sql.push_str(&format!(" ORDER BY d.seq DESC LIMIT ${}", args.len()));
    let mut items = records(client, shown, &sql, &refs(&args)).await?;
    let next = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|r| r.seq.to_string())
    } else {
        None
    };
    Ok(Listing { items, next })
}

/// Inserts or replaces the link of `link.incident`; `NotFound` for an unknown deployment.
pub(super) async fn upsert_link(client: &Client, shown: &str, link: &IncidentLink) -> Result<()> {
    let err = |e: tokio_postgres::Error| pg_error(shown, "linking an incident", &e);
    let opened = codec::fixed_time(link.opened_at)?;
    let resolved = link.resolved_at.map(codec::fixed_time).transpose()?;
    let url = link.incident.url.as_ref().map(|u| u.as_str());
    let changed = client
        .execute(
            "INSERT INTO audit_incident_link \
                 (system, id, url, deployment_key, opened_at, resolved_at) \
             SELECT $1, $2, $3, $4, $5, $6 WHERE EXISTS \
                 (SELECT 1 FROM audit_deployment WHERE key = $4) \
             ON CONFLICT (system, id) DO UPDATE SET url = excluded.url, \
                 deployment_key = excluded.deployment_key, opened_at = excluded.opened_at, \
                 resolved_at = excluded.resolved_at",
            &[
                &link.incident.system,
                &link.incident.id,
                &url,
                &link.deployment.as_str(),
                &opened,
                &resolved,
            ],
        )
        .await
        .map_err(err)?;
    if changed == 0 {
        return Err(codec::unknown_deployment(link));
    }
    Ok(())
}

/// Incident links of deployments matching `filter`, by opening time.
pub(super) async fn incident_links(
    client: &Client,
    shown: &str,
    filter: &DeploymentFilter,
) -> Result<Vec<IncidentLink>> {
    let mut sql = String::from(
        "SELECT l.system, l.id, l.url, l.deployment_key, l.opened_at, l.resolved_at, d.seq \
         FROM audit_incident_link l JOIN audit_deployment d ON d.key = l.deployment_key \
         WHERE TRUE",
    );
    let mut args: Vec<Param> = Vec::new();
    filter_sql(filter, &mut sql, &mut args)?;
    sql.push_str(" ORDER BY l.opened_at, l.system, l.id");
    let rows = client
        .query(&sql, &refs(&args))
        .await
        .map_err(|e| pg_error(shown, "reading incident links", &e))?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let seq: i64 = row.try_get(6).unwrap_or(-1);
        let bad = |why: String| codec::corrupt(&shown, seq, why);
        let col = |e: tokio_postgres::Error| bad(format!("an incident link is unreadable: {e}"));
        let url: Option<String> = row.try_get(2).map_err(col)?;
        let url = url
            .map(|u| itsm_core::url::Url::parse(&u))
            .transpose()
            .map_err(|e| bad(format!("an incident link's URL is invalid: {e}")))?;
        let key: String = row.try_get(3).map_err(col)?;
        let opened: String = row.try_get(4).map_err(col)?;
        let resolved: Option<String> = row.try_get(5).map_err(col)?;
        let time = |t: &str| codec::parse_fixed(t, "incident link time", seq, &shown);
        out.push(IncidentLink {
            incident: ExternalRef {
                system: row.try_get(0).map_err(col)?,
                id: row.try_get(1).map_err(col)?,
                url,
            },
            deployment: IdempotencyKey::new(key)
                .map_err(|e| bad(format!("an incident link's key is invalid: {e}")))?,
            opened_at: time(&opened)?,
            resolved_at: resolved.as_deref().map(time).transpose()?,
        });
    }
    Ok(out)
}
