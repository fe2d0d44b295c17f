//! Group commit into the PostgreSQL queue: one task owns a connection, drains every
//! request queued while its previous insert committed, inserts all their rows in one
//! statement, and answers each request once that statement is committed. Concurrent
//! requests thereby share one commit (one log flush on the server).
//!
//! A sync event whose delivery id is stored already (by any replica) is not inserted
//! again: the caller is told how many rows were new.

use std::collections::HashSet;
use std::sync::Arc;

use itsm_core::{Clock, Error, ErrorKind, Result};
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::task::JoinHandle;

use super::{Conn, pg_error};
use crate::serve::queue::format_time;
use crate::serve::writer::{NewRow, copy_error};

/// The most requests inserted in one statement.
const MAX_GROUP_OPS: usize = 4096;
/// Requests are added to a statement until their rows hold this many bytes.
const MAX_GROUP_BYTES: usize = 16 * 1024 * 1024;

/// Inserts the rows given as arrays, in their order; a delivery id stored already is
/// skipped. Returns the delivery ids that were inserted.
const INSERT: &str = "
INSERT INTO alert_queue (dedup_key, body, kind, delivery_id, received_at)
SELECT lane, body, kind, delivery_id, $5::TEXT::TIMESTAMPTZ
FROM unnest($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::TEXT[])
    WITH ORDINALITY AS t(lane, body, kind, delivery_id, ord)
ORDER BY ord
ON CONFLICT DO NOTHING
RETURNING delivery_id";

/// What the writer task is asked to do.
#[derive(Debug)]
pub(crate) enum Op {
    /// Insert one request's rows; answer (how many were new) after the commit.
    Enqueue {
        rows: Vec<NewRow>,
        reply: oneshot::Sender<Result<usize>>,
    },
    /// Finish what is queued and stop.
    Stop,
}

/// The writer task's handle.
#[derive(Debug)]
pub(crate) struct PgWriter {
    pub(crate) tx: mpsc::UnboundedSender<Op>,
    task: JoinHandle<()>,
}

impl PgWriter {
    /// Starts the writer over `conn`; after a commit that stored new rows it wakes
    /// `committed` (the worker).
    pub(crate) fn spawn(conn: Conn, clock: Arc<dyn Clock>, committed: Arc<Notify>) -> PgWriter {
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(run(conn, clock, rx, committed));
        PgWriter { tx, task }
    }

    /// Asks the task to finish what is queued, and waits for it.
    pub(crate) async fn stop(self) {
        let _ = self.tx.send(Op::Stop);
        drop(self.tx);
        let _ = self.task.await;
    }
}

async fn run(
    mut conn: Conn,
    clock: Arc<dyn Clock>,
    mut rx: mpsc::UnboundedReceiver<Op>,
    committed: Arc<Notify>,
) {
    let mut stop = false;
    while !stop && let Some(first) = rx.recv().await {
        let mut ops = vec![first];
        let mut bytes = op_bytes(&ops[0]);
        while ops.len() < MAX_GROUP_OPS
            && bytes < MAX_GROUP_BYTES
            && let Ok(op) = rx.try_recv()
        {
            bytes += op_bytes(&op);
            ops.push(op);
        }
        stop = ops.iter().any(|op| matches!(op, Op::Stop));
        let requests: Vec<Request> = ops
            .into_iter()
            .filter_map(|op| match op {
                Op::Enqueue { rows, reply } => Some((rows, reply)),
                Op::Stop => None,
            })
            .collect();
        if requests.is_empty() {
            continue;
        }
        let now = format_time(clock.now());
        let answers = commit(&mut conn, &requests, &now).await;
        if answers.iter().any(|a| a.as_ref().is_ok_and(|n| *n > 0)) {
            committed.notify_one();
        }
        for ((_, reply), answer) in requests.into_iter().zip(answers) {
            // A caller that stopped waiting no longer needs the answer; its rows are
            // stored and will be processed.
            let _ = reply.send(answer);
        }
    }
}

/// One request: its rows and where its answer goes.
pub(super) type Request = (Vec<NewRow>, oneshot::Sender<Result<usize>>);

/// The size of what an operation stores, to bound a statement.
fn op_bytes(op: &Op) -> usize {
    match op {
        Op::Enqueue { rows, .. } => rows.iter().map(|r| r.body.len() + r.lane.len()).sum(),
        Op::Stop => 0,
    }
}

/// Stores the requests in one statement; each request's answer (how many rows were new).
/// When the statement fails for a reason other than the server's unavailability (a row
/// the server refuses), each request is tried alone, so that one bad request does not
/// fail the others.
pub(super) async fn commit(conn: &mut Conn, requests: &[Request], now: &str) -> Vec<Result<usize>> {
    let group = Group::of(requests);
    match insert(conn, &group, now).await {
        Ok(stored) => group
            .new_per_request(requests, &stored)
            .into_iter()
            .map(Ok)
            .collect(),
        Err(e) if requests.len() > 1 && e.kind() != ErrorKind::Unavailable => {
            let mut answers = Vec::with_capacity(requests.len());
            for request in requests {
                let alone = std::slice::from_ref(request);
                let group = Group::of(alone);
                answers.push(match insert(conn, &group, now).await {
                    Ok(stored) => Ok(group.new_per_request(alone, &stored).iter().sum()),
                    Err(e) => Err(e),
                });
            }
            answers
        }
        Err(e) => requests.iter().map(|_| Err(copy_error(&e))).collect(),
    }
}

/// The rows of a group as the columns' arrays; a delivery id met twice in the group is
/// inserted once.
#[derive(Debug, Default)]
struct Group {
    lanes: Vec<String>,
    bodies: Vec<String>,
    kinds: Vec<String>,
    deliveries: Vec<Option<String>>,
    /// Per request and row: whether the row is in the arrays (not a repeat in the group).
    included: Vec<Vec<bool>>,
}

impl Group {
    fn of(requests: &[Request]) -> Group {
        let mut group = Group::default();
        let mut seen = HashSet::new();
        for (rows, _) in requests {
            let mut included = Vec::with_capacity(rows.len());
            for row in rows {
                let delivery = row.item.delivery_id();
                let first = delivery.is_none_or(|d| seen.insert(d.to_owned()));
                included.push(first);
                if first {
                    group.lanes.push(row.lane.clone());
                    group.bodies.push(row.body.clone());
                    group.kinds.push(row.item.kind().to_owned());
                    group.deliveries.push(delivery.map(str::to_owned));
                }
            }
            group.included.push(included);
        }
        group
    }

    /// How many rows of each request were stored, given the delivery ids that were.
    fn new_per_request(&self, requests: &[Request], stored: &HashSet<String>) -> Vec<usize> {
        requests
            .iter()
            .zip(&self.included)
            .map(|((rows, _), included)| {
                rows.iter()
                    .zip(included)
                    .filter(|(row, included)| {
                        **included && row.item.delivery_id().is_none_or(|d| stored.contains(d))
                    })
                    .count()
            })
            .collect()
    }
}

/// Inserts the group in one statement (committed on return); the delivery ids stored.
async fn insert(conn: &mut Conn, group: &Group, now: &str) -> Result<HashSet<String>> {
    if group.lanes.is_empty() {
        return Ok(HashSet::new());
    }
    let (client, shown) = conn.get().await?;
    let found = client
        .query(
            INSERT,
            &[
                &group.lanes,
                &group.bodies,
                &group.kinds,
                &group.deliveries,
                &now,
            ],
        )
        .await
        .map_err(|e| storing(shown, &e))?;
    let mut stored = HashSet::new();
    for row in found {
        let delivery: Option<String> = row.try_get(0).map_err(|e| storing(shown, &e))?;
        if let Some(delivery) = delivery {
            stored.insert(delivery);
        }
    }
    Ok(stored)
}

fn storing(shown: &str, e: &tokio_postgres::Error) -> Error {
    pg_error(shown, "storing accepted rows", e)
}
