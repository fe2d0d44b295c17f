//! Group commit: one writer thread owns the write connection, drains every append queued
//! while the previous transaction committed, writes them in one `BEGIN IMMEDIATE`
//! transaction (each caller's records in a savepoint of their own, so that one caller's
//! failure does not fail the others), and answers each caller once the transaction is
//! committed. With `synchronous = FULL`, concurrent appenders thereby share one WAL sync.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, TryRecvError};

use itsm_core::{Clock, Error, ErrorKind, IdempotencyKey, Result};
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, TransactionBehavior};
use time::{OffsetDateTime, UtcOffset};
use tokio::sync::oneshot;

use super::codec;
use super::encode;
use super::read;
use super::schema::sql_error;
use crate::model::{DeploymentRecord, NewDeployment, RecordHash};

/// The most records written in one group transaction (a larger single batch is written
/// alone).
const MAX_GROUP_RECORDS: usize = 4096;

const INSERT: &str = "INSERT INTO audit_deployment \
    (seq, key, service, environment, production, finished_at, recorded_at, body, prev_hash, hash) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT (key) DO NOTHING";

/// One caller's records (already validated) and where to send the outcome.
pub(super) struct Job {
    pub(super) records: Vec<(IdempotencyKey, NewDeployment)>,
    pub(super) reply: oneshot::Sender<Result<Vec<DeploymentRecord>>>,
}

/// Starts the writer thread over `conn`; it stops when every sender is dropped.
pub(super) fn spawn(conn: Connection, path: PathBuf, clock: Arc<dyn Clock>) -> Result<Sender<Job>> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("itsm-audit-writer".into())
        .spawn(move || run(conn, &path, clock.as_ref(), &rx))
        .map_err(|e| {
            Error::new(
                ErrorKind::Internal,
                format!("cannot start the audit ledger's writer thread: {e}"),
            )
            .with_source(e)
        })?;
    Ok(tx)
}

/// Records written after which the writer copies the log into the database (about as
/// often as SQLite's default automatic checkpoint of 1,000 pages).
const CHECKPOINT_AFTER_RECORDS: usize = 2_000;

fn run(mut conn: Connection, path: &Path, clock: &dyn Clock, rx: &Receiver<Job>) {
    // Checkpoints run here, after the callers have their answers, instead of inside the
    // commit that crosses SQLite's automatic threshold (which would add the copy of the
    // log into the database to that caller's wait).
    let _ = conn.pragma_update(None, "wal_autocheckpoint", 0);
    let mut since_checkpoint = 0usize;
    while let Ok(first) = rx.recv() {
        let mut count = first.records.len();
        let mut jobs = vec![first];
        while count < MAX_GROUP_RECORDS {
            match rx.try_recv() {
                Ok(job) => {
                    count += job.records.len();
                    jobs.push(job);
                }
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        since_checkpoint += count;
        let (replies, records): (Vec<_>, Vec<_>) =
            jobs.into_iter().map(|j| (j.reply, j.records)).unzip();
        let results = commit_group(&mut conn, path, clock, records);
        for (reply, result) in replies.into_iter().zip(results) {
            // A caller that stopped waiting (cancelled) no longer needs the answer.
            let _ = reply.send(result);
        }
        if since_checkpoint >= CHECKPOINT_AFTER_RECORDS {
            // PASSIVE never waits for readers; what it cannot copy now is copied next time.
            let _ = conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE)");
            since_checkpoint = 0;
        }
    }
}

/// Writes every job in one transaction; returns one result per job, in order.
fn commit_group(
    conn: &mut Connection,
    path: &Path,
    clock: &dyn Clock,
    jobs: Vec<Vec<(IdempotencyKey, NewDeployment)>>,
) -> Vec<Result<Vec<DeploymentRecord>>> {
    let n = jobs.len();
    let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => return fail_all(&sql_error(path, e), n),
    };
    let mut head = match read::head(&tx, path) {
        Ok(head) => head,
        Err(e) => return fail_all(&e, n),
    };
    let recorded_at = clock.now().to_offset(UtcOffset::UTC);
    let alone = n == 1;
    let mut results = Vec::with_capacity(n);
    for records in jobs {
        let saved = head;
        if !alone && let Err(e) = tx.execute_batch("SAVEPOINT job") {
            results.push(Err(sql_error(path, e)));
            continue;
        }
        let result = insert_all(&tx, path, &mut head, records, recorded_at);
        let closed = match (&result, alone) {
            (_, true) => Ok(()),
            (Ok(_), false) => tx.execute_batch("RELEASE job"),
            (Err(_), false) => tx.execute_batch("ROLLBACK TO job; RELEASE job"),
        };
        if result.is_err() {
            head = saved;
        }
        results.push(match closed {
            Ok(()) => result,
            Err(e) => return fail_all(&sql_error(path, e), n),
        });
    }
    if alone && results.first().is_some_and(Result::is_err) {
        // Dropping the transaction rolls it back: nothing of the refused batch is kept.
        return results;
    }
    match tx.commit() {
        Ok(()) => results,
        Err(e) => fail_all(&sql_error(path, e), n),
    }
}

/// What became of one record of a job.
enum Fate {
    /// It was appended as this row.
    Appended {
        seq: i64,
        prev: RecordHash,
        hash: RecordHash,
    },
    /// Its key was already in the ledger, with this record.
    Existing(Box<DeploymentRecord>),
}

/// Inserts one job's records chained on `head`, moving `head` along.
fn insert_all(
    conn: &Connection,
    path: &Path,
    head: &mut (i64, RecordHash),
    records: Vec<(IdempotencyKey, NewDeployment)>,
    recorded_at: OffsetDateTime,
) -> Result<Vec<DeploymentRecord>> {
    let mut insert = conn
        .prepare_cached(INSERT)
        .map_err(|e| sql_error(path, e))?;
    let recorded_text = codec::fixed_time(recorded_at)?;
    let fates = std::thread::scope(|scope| -> Result<Vec<Fate>> {
        let mut rows = encode::Rows::new(scope, &records, *head, recorded_at);
        let mut fates = Vec::with_capacity(records.len());
        for (index, (key, deployment)) in records.iter().enumerate() {
            let row = rows.get(index, *head)?;
            let changed = insert
                .execute(rusqlite::params![
                    row.seq,
                    key.as_str(),
                    deployment.service.as_str(),
                    deployment.environment.as_str(),
                    deployment.environment.is_production(),
                    text(row.finished),
                    recorded_text,
                    ToSqlOutput::Borrowed(ValueRef::Blob(row.body)),
                    &row.prev.0[..],
                    &row.hash.0[..],
                ])
                .map_err(|e| sql_error(path, e))?;
            if changed == 1 {
                *head = (row.seq, row.hash);
                fates.push(Fate::Appended {
                    seq: row.seq,
                    prev: row.prev,
                    hash: row.hash,
                });
            } else {
                fates.push(Fate::Existing(Box::new(existing(conn, path, key)?)));
            }
        }
        Ok(fates)
    })?;
    Ok(records
        .into_iter()
        .zip(fates)
        .map(|((key, deployment), fate)| match fate {
            Fate::Appended { seq, prev, hash } => DeploymentRecord {
                seq: u64::try_from(seq).unwrap_or(0),
                key,
                deployment,
                recorded_at,
                prev_hash: prev,
                hash,
            },
            Fate::Existing(record) => *record,
        })
        .collect())
}

/// Binds bytes known to be UTF-8 as text, without checking them again.
fn text(bytes: &[u8]) -> ToSqlOutput<'_> {
    ToSqlOutput::Borrowed(ValueRef::Text(bytes))
}

/// The record already appended with `key` (whose insert was refused as a duplicate).
fn existing(conn: &Connection, path: &Path, key: &IdempotencyKey) -> Result<DeploymentRecord> {
    read::find_by_key(conn, path, key.as_str())?.ok_or_else(|| {
        Error::new(
            ErrorKind::Internal,
            format!(
                "deployment {key} was refused as a duplicate, but no record has that key in {}",
                path.display()
            ),
        )
    })
}

/// The same error for each of `n` callers.
fn fail_all<T>(e: &Error, n: usize) -> Vec<Result<T>> {
    (0..n).map(|_| Err(copy_error(e))).collect()
}

/// A copy of `e` (kind, message, context, retryability; not its source).
pub(super) fn copy_error(e: &Error) -> Error {
    e.context()
        .iter()
        .fold(Error::new(e.kind(), e.message()), |err, (k, v)| {
            err.with_context(k, v)
        })
        .with_retryable(e.is_retryable())
}
