//! Group commit for the queue (the pattern of the audit ledger's writer): one thread owns
//! the write connection, drains every operation queued while the previous transaction
//! committed, applies them in one `BEGIN IMMEDIATE` transaction, and answers each
//! enqueuing caller once that transaction is committed. With `synchronous = FULL`,
//! concurrent requests thereby share one WAL sync.
//!
//! A sync event whose delivery id is queued already is not inserted again (the webhook
//! sender redelivered it): the caller is told how many rows were new.
//!
//! Besides the inbound alerts, the worker's state changes (done, retry, failed) go through
//! the same thread, so there is a single writer and they are batched too.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, TryRecvError};

use itsm_audit::sqlite::connection::sql_error;
use itsm_core::{Clock, Error, ErrorKind, Result};
use rusqlite::{Connection, TransactionBehavior};
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};

use super::queue::{QueueItem, format_time};

/// The most operations applied in one group transaction.
const MAX_GROUP_OPS: usize = 8192;
/// Rows written after which the writer copies the log into the database.
const CHECKPOINT_AFTER_ROWS: usize = 1_000;

const INSERT: &str = "INSERT INTO alert_queue (dedup_key, body, received_at, kind, delivery_id) \
                      VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING";
const DONE: &str =
    "UPDATE alert_queue SET state = 'done', next_attempt_at = NULL, updated_at = ?2 WHERE id = ?1";
const RETRY: &str = "UPDATE alert_queue SET attempts = ?2, next_attempt_at = ?3, last_error = ?4, \
                     updated_at = ?5 WHERE id = ?1";
const FAIL: &str = "UPDATE alert_queue SET state = 'failed', attempts = ?2, next_attempt_at = NULL, \
                    last_error = ?3, updated_at = ?4 WHERE id = ?1";

/// An accepted alert or sync event on its way into the queue.
#[derive(Debug)]
pub(crate) struct NewRow {
    /// Its JSON, as stored.
    pub(crate) body: String,
    /// Its lane (see [`QueueItem::lane`]).
    pub(crate) lane: String,
    /// The item (handed to the worker after the commit).
    pub(crate) item: QueueItem,
}

impl NewRow {
    /// The row for `item`.
    pub(crate) fn new(item: QueueItem) -> Result<NewRow> {
        Ok(NewRow {
            body: item.to_json()?,
            lane: item.lane(),
            item,
        })
    }
}

/// A committed pending row, as the worker holds it.
#[derive(Debug, Clone)]
pub(crate) struct Queued {
    pub(crate) id: i64,
    pub(crate) lane: Arc<str>,
    pub(crate) item: Arc<QueueItem>,
    pub(crate) attempts: u32,
    pub(crate) next_attempt_at: Option<OffsetDateTime>,
}

/// What the writer thread is asked to do.
#[derive(Debug)]
pub(crate) enum Op {
    /// Insert one request's rows; answer (how many were new) after the commit.
    Enqueue {
        rows: Vec<NewRow>,
        reply: oneshot::Sender<Result<usize>>,
    },
    /// The row was processed.
    Done { id: i64 },
    /// The row failed and is retried at `next_at`.
    Retry {
        id: i64,
        attempts: u32,
        next_at: OffsetDateTime,
        error: String,
    },
    /// The row failed for good.
    Fail {
        id: i64,
        attempts: u32,
        error: String,
    },
    /// Finish what is queued and stop.
    Stop,
}

/// The writer thread's handle.
#[derive(Debug)]
pub(crate) struct Writer {
    pub(crate) tx: Sender<Op>,
    thread: std::thread::JoinHandle<()>,
}

impl Writer {
    /// Starts the writer over `conn`; committed rows go to `committed` (when a worker runs).
    pub(crate) fn spawn(
        conn: Connection,
        path: PathBuf,
        clock: Arc<dyn Clock>,
        committed: Option<mpsc::UnboundedSender<Vec<Queued>>>,
    ) -> Result<Writer> {
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("itsm-serve-writer".into())
            .spawn(move || run(conn, &path, clock.as_ref(), &rx, committed.as_ref()))
            .map_err(|e| {
                Error::new(
                    ErrorKind::Internal,
                    format!("cannot start the alert queue's writer thread: {e}"),
                )
                .with_source(e)
            })?;
        Ok(Writer { tx, thread })
    }

    /// Asks the thread to finish what is queued, and waits for it.
    pub(crate) async fn stop(self) {
        let _ = self.tx.send(Op::Stop);
        drop(self.tx);
        let thread = self.thread;
        let _ = tokio::task::spawn_blocking(move || thread.join()).await;
    }
}

fn run(
    mut conn: Connection,
    path: &Path,
    clock: &dyn Clock,
    rx: &Receiver<Op>,
    committed: Option<&mpsc::UnboundedSender<Vec<Queued>>>,
) {
    let _ = conn.pragma_update(None, "wal_autocheckpoint", 0);
    let mut since_checkpoint = 0usize;
    let mut stop = false;
    while !stop && let Ok(first) = rx.recv() {
        let mut ops = vec![first];
        while ops.len() < MAX_GROUP_OPS {
            match rx.try_recv() {
                Ok(op) => ops.push(op),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        stop = ops.iter().any(|op| matches!(op, Op::Stop));
        let now = format_time(clock.now());
        match commit_group(&mut conn, path, &now, &ops) {
            Ok(ids) => {
                let mut ids = ids.into_iter();
                let mut handed = Vec::new();
                let mut replies = Vec::new();
                for op in ops {
                    if let Op::Enqueue { rows, reply } = op {
                        let mut n = 0;
                        for (row, id) in rows.into_iter().zip(ids.by_ref()) {
                            let Some(id) = id else { continue };
                            n += 1;
                            handed.push(Queued {
                                id,
                                lane: row.lane.into(),
                                item: Arc::new(row.item),
                                attempts: 0,
                                next_attempt_at: None,
                            });
                        }
                        since_checkpoint += n;
                        replies.push((reply, n));
                    } else {
                        since_checkpoint += 1;
                    }
                }
                if let Some(worker) = committed
                    && !handed.is_empty()
                {
                    let _ = worker.send(handed);
                }
                for (reply, n) in replies {
                    // A caller that stopped waiting no longer needs the answer; its rows are
                    // stored and will be processed.
                    let _ = reply.send(Ok(n));
                }
            }
            Err(e) => {
                for op in ops {
                    if let Op::Enqueue { reply, .. } = op {
                        let _ = reply.send(Err(copy_error(&e)));
                    }
                }
            }
        }
        if since_checkpoint >= CHECKPOINT_AFTER_ROWS {
            let _ = conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE)");
            since_checkpoint = 0;
        }
    }
    let _ = conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE)");
}

/// Applies every operation in one transaction; returns the id of each row to insert, in
/// order (`None` for a sync event already queued). A failure fails the whole group (nothing of it is kept, and every enqueuing
/// caller is told, so the sender retries).
fn commit_group(
    conn: &mut Connection,
    path: &Path,
    now: &str,
    ops: &[Op],
) -> Result<Vec<Option<i64>>> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| sql_error(path, e))?;
    let mut ids = Vec::new();
    {
        let sql = |e| sql_error(path, e);
        for op in ops {
            match op {
                Op::Enqueue { rows, .. } => {
                    let mut insert = tx.prepare_cached(INSERT).map_err(sql)?;
                    for row in rows {
                        let inserted = insert
                            .execute(rusqlite::params![
                                row.lane,
                                row.body,
                                now,
                                row.item.kind(),
                                row.item.delivery_id()
                            ])
                            .map_err(sql)?;
                        ids.push((inserted == 1).then(|| tx.last_insert_rowid()));
                    }
                }
                Op::Done { id } => {
                    let mut done = tx.prepare_cached(DONE).map_err(sql)?;
                    done.execute(rusqlite::params![id, now]).map_err(sql)?;
                }
                Op::Retry {
                    id,
                    attempts,
                    next_at,
                    error,
                } => {
                    let mut retry = tx.prepare_cached(RETRY).map_err(sql)?;
                    retry
                        .execute(rusqlite::params![
                            id,
                            attempts,
                            format_time(*next_at),
                            error,
                            now
                        ])
                        .map_err(sql)?;
                }
                Op::Fail {
                    id,
                    attempts,
                    error,
                } => {
                    let mut fail = tx.prepare_cached(FAIL).map_err(sql)?;
                    fail.execute(rusqlite::params![id, attempts, error, now])
                        .map_err(sql)?;
                }
                Op::Stop => {}
            }
        }
    }
    tx.commit().map_err(|e| sql_error(path, e))?;
    Ok(ids)
}

/// A copy of `e` (kind, message, context, retryability; not its source).
pub(crate) fn copy_error(e: &Error) -> Error {
    e.context()
        .iter()
        .fold(Error::new(e.kind(), e.message()), |err, (k, v)| {
            err.with_context(k, v)
        })
        .with_retryable(e.is_retryable())
}
