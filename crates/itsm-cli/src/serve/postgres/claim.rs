//! Claiming rows with a lease, renewing leases, and recording what became of the rows:
//! the statements through which several replicas share the PostgreSQL queue.
//!
//! A row can be claimed when it is pending, due (`next_attempt_at` passed or unset), its
//! lease is free or expired, and no pending row of its lane (dedup key) is older. Claiming
//! sets `leased_by` and `lease_until`; rows another transaction holds locked are skipped
//! (`FOR UPDATE SKIP LOCKED`), and a row claimed (or finished) by another replica since
//! this statement's snapshot fails the recheck of the conditions on the row PostgreSQL
//! makes after locking it. Hence no two replicas hold one row, and, as the oldest pending
//! row of a lane stays pending until it is done or failed for good (a retry releases the
//! lease but keeps the row pending and first), no two replicas process one lane at once.
//!
//! Times are the server's (`now()`), so the replicas' clocks do not matter.

use std::time::Duration;

use itsm_core::{Error, ErrorKind, Result};
use tokio_postgres::Client;

use super::pg_error;
use crate::serve::attempt::Verdict;
use crate::serve::queue::QueueItem;

const CLAIM: &str = "
UPDATE alert_queue AS q
SET leased_by = $1, lease_until = now() + $2::FLOAT8 * INTERVAL '1 millisecond'
WHERE q.id IN (
    SELECT r.id FROM alert_queue AS r
    WHERE r.state = 'pending'
      AND (r.lease_until IS NULL OR r.lease_until < now())
      AND (r.next_attempt_at IS NULL OR r.next_attempt_at <= now())
      AND NOT EXISTS (
          SELECT 1 FROM alert_queue AS older
          WHERE older.state = 'pending' AND older.dedup_key = r.dedup_key AND older.id < r.id)
    ORDER BY r.id
    LIMIT $3
    FOR UPDATE SKIP LOCKED)
RETURNING q.id, q.kind, q.body, q.attempts::BIGINT";

const RENEW: &str = "
UPDATE alert_queue SET lease_until = now() + $2::FLOAT8 * INTERVAL '1 millisecond'
WHERE leased_by = $1 AND state = 'pending' AND lease_until IS NOT NULL";

const DONE: &str = "
UPDATE alert_queue SET state = 'done', next_attempt_at = NULL, leased_by = NULL,
    lease_until = NULL, updated_at = now()
WHERE id = ANY($1) AND state = 'pending'";

const RETRY: &str = "
UPDATE alert_queue SET attempts = $3, next_attempt_at = now() + $4::FLOAT8 * INTERVAL '1 millisecond',
    last_error = $5, leased_by = NULL, lease_until = NULL, updated_at = now()
WHERE id = $1 AND leased_by = $2 AND state = 'pending'";

const FAIL: &str = "
UPDATE alert_queue SET state = 'failed', attempts = $3, next_attempt_at = NULL, last_error = $4,
    leased_by = NULL, lease_until = NULL, updated_at = now()
WHERE id = $1 AND leased_by = $2 AND state = 'pending'";

/// A claimed row.
#[derive(Debug)]
pub(crate) struct Claimed {
    pub(crate) id: i64,
    /// The item, or why the stored body does not decode (the row becomes a dead letter).
    pub(crate) item: Result<QueueItem>,
    /// Failed attempts so far.
    pub(crate) attempts: u32,
}

/// Claims at most `limit` rows for `replica`, leased for `lease`; in arrival order.
pub(crate) async fn claim(
    client: &Client,
    shown: &str,
    replica: &str,
    lease: Duration,
    limit: usize,
) -> Result<Vec<Claimed>> {
    let err = |e| pg_error(shown, "claiming rows", &e);
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let found = client
        .query(CLAIM, &[&replica, &millis(lease), &limit])
        .await
        .map_err(err)?;
    let mut claimed = found
        .iter()
        .map(|row| {
            let id: i64 = row.try_get(0).map_err(err)?;
            let kind: String = row.try_get(1).map_err(err)?;
            let body: String = row.try_get(2).map_err(err)?;
            let attempts: i64 = row.try_get(3).map_err(err)?;
            Ok(Claimed {
                id,
                item: QueueItem::from_json(id, &kind, &body),
                attempts: u32::try_from(attempts).unwrap_or(0),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    claimed.sort_by_key(|c| c.id);
    Ok(claimed)
}

/// Extends the leases `replica` holds to `lease` from now; how many.
pub(crate) async fn renew(
    client: &Client,
    shown: &str,
    replica: &str,
    lease: Duration,
) -> Result<u64> {
    client
        .execute(RENEW, &[&replica, &millis(lease)])
        .await
        .map_err(|e| pg_error(shown, "renewing leases", &e))
}

/// Records what became of rows `replica` claimed, in one transaction. A row is marked done
/// whoever holds it now (the work is done); a retry or a failure is recorded only while
/// `replica` still holds the row (otherwise its lease expired and another replica owns
/// it). A retry releases the lease; the row stays first in its lane.
pub(crate) async fn record(
    client: &mut Client,
    shown: &str,
    replica: &str,
    verdicts: &[(i64, Verdict)],
) -> Result<()> {
    let err = |e| pg_error(shown, "recording processed rows", &e);
    let tx = client.transaction().await.map_err(err)?;
    let done: Vec<i64> = verdicts
        .iter()
        .filter(|(_, v)| matches!(v, Verdict::Done))
        .map(|(id, _)| *id)
        .collect();
    if !done.is_empty() {
        tx.execute(DONE, &[&done]).await.map_err(err)?;
    }
    for (id, verdict) in verdicts {
        match verdict {
            Verdict::Done => {}
            Verdict::Retry {
                attempts,
                delay,
                error,
            } => {
                let attempts = i32::try_from(*attempts).unwrap_or(i32::MAX);
                tx.execute(RETRY, &[id, &replica, &attempts, &millis(*delay), error])
                    .await
                    .map_err(err)?;
            }
            Verdict::Fail { attempts, error } => {
                let attempts = i32::try_from(*attempts).unwrap_or(i32::MAX);
                tx.execute(FAIL, &[id, &replica, &attempts, error])
                    .await
                    .map_err(err)?;
            }
        }
    }
    tx.commit().await.map_err(err)
}

/// The pending rows (the queue depth every replica shows).
pub(crate) async fn pending(client: &Client, shown: &str) -> Result<u64> {
    let row = client
        .query_one(
            "SELECT COUNT(*)::BIGINT FROM alert_queue WHERE state = 'pending'",
            &[],
        )
        .await
        .map_err(|e| pg_error(shown, "counting pending rows", &e))?;
    let count: i64 = row
        .try_get(0)
        .map_err(|e| pg_error(shown, "counting pending rows", &e))?;
    Ok(u64::try_from(count).unwrap_or(0))
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}

/// This process's replica id: host name, process id and a random part, so that a
/// restarted process on the same host (same pid after a container restart) is another
/// replica.
pub(crate) fn replica_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().chars().take(64).collect::<String>())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".to_owned());
    format!("{host}:{}:{:08x}", std::process::id(), fastrand::u32(..))
}

/// A lease shorter than this cannot be renewed in time.
const MIN_LEASE: Duration = Duration::from_millis(100);

/// Checks the lease and poll settings: the lease must be long enough to renew.
pub(crate) fn check_timing(lease: Duration, poll: Duration) -> Result<()> {
    if lease < MIN_LEASE || poll.is_zero() || lease < poll * 2 {
        return Err(Error::new(
            ErrorKind::Config,
            format!(
                "[serve] queue_lease_ms = {} and queue_poll_ms = {} do not fit: the lease \
                 must be at least 100 ms and twice the poll interval (leases are renewed at \
                 the poll ticks); e.g. queue_lease_ms = 30000, queue_poll_ms = 250",
                lease.as_millis(),
                poll.as_millis()
            ),
        ));
    }
    Ok(())
}
