//! The worker over the PostgreSQL queue: claims rows ([`claim`](super::claim)) when this
//! replica's writer stored some, when an attempt finished, and at every poll tick (for rows
//! other replicas accepted, retries that fell due, and leases of dead replicas that
//! expired); processes them, at most `concurrency` at once; records the outcomes of the
//! attempts that finished together in one transaction; renews its leases while it holds
//! rows; and keeps the queue depth gauge at the shared queue's count.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use itsm_core::Error;
use tokio::sync::{Notify, watch};
use tokio::task::{Id, JoinSet};
use tokio::time::{Instant, MissedTickBehavior};

use super::Conn;
use super::claim::{self, Claimed};
use crate::serve::attempt::{Attempt, Processing, Verdict};

/// How often the queue depth gauge is refreshed from the database.
const DEPTH_EVERY: Duration = Duration::from_secs(1);

/// What the worker needs.
#[derive(Debug)]
pub(crate) struct PgWorker {
    pub(crate) processing: Processing,
    pub(crate) conn: Conn,
    /// This replica's id, written into the leases it takes.
    pub(crate) replica: String,
    pub(crate) lease: Duration,
    pub(crate) poll: Duration,
    pub(crate) concurrency: usize,
    /// Woken by this replica's writer after it stored rows.
    pub(crate) committed: Arc<Notify>,
}

/// A row being processed.
#[derive(Debug)]
struct Held {
    id: i64,
    attempts: u32,
}

/// Reports the first failure of a kind, and the recovery, not every poll tick's.
#[derive(Debug, Default)]
struct Health {
    failing: bool,
}

impl Health {
    fn failed(&mut self, e: &Error) {
        if !self.failing {
            eprintln!("itsm serve: {e}; retrying at every poll tick");
        }
        self.failing = true;
    }

    fn ok(&mut self) {
        if self.failing {
            eprintln!("itsm serve: the PostgreSQL alert queue answers again");
        }
        self.failing = false;
    }
}

impl PgWorker {
    /// Runs until `stop` turns true; then lets the rows in hand finish, records them and
    /// returns.
    pub(crate) async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let mut in_flight: JoinSet<Attempt> = JoinSet::new();
        let mut held: HashMap<Id, Held> = HashMap::new();
        let mut verdicts: Vec<(i64, Verdict)> = Vec::new();
        let mut tick = tokio::time::interval(self.poll.max(Duration::from_millis(1)));
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut renewed = Instant::now();
        let mut counted: Option<Instant> = None;
        let mut health = Health::default();
        let mut want = true;
        let mut stopping = *stop.borrow();
        loop {
            if !verdicts.is_empty() {
                match self.record(&verdicts).await {
                    Ok(()) => {
                        verdicts.clear();
                        want = true;
                        health.ok();
                    }
                    Err(e) => health.failed(&e),
                }
            }
            if stopping && in_flight.is_empty() {
                // Outcomes that could not be recorded leave their rows leased: another
                // replica (or the next start) processes them again after the lease.
                break;
            }
            let free = self.concurrency.max(1).saturating_sub(in_flight.len());
            if !stopping && want && free > 0 && verdicts.is_empty() {
                want = false;
                match self.claim(free).await {
                    Ok(rows) => {
                        health.ok();
                        want = rows.len() == free;
                        for row in rows {
                            self.start(row, &mut in_flight, &mut held, &mut verdicts);
                        }
                        if !verdicts.is_empty() {
                            continue;
                        }
                    }
                    Err(e) => health.failed(&e),
                }
            }
            tokio::select! {
                biased;
                changed = stop.changed(), if !stopping => {
                    stopping = changed.is_err() || *stop.borrow();
                }
                Some(done) = in_flight.join_next_with_id(), if !in_flight.is_empty() => {
                    self.finish(done, &mut held, &mut verdicts);
                    while let Some(done) = in_flight.try_join_next_with_id() {
                        self.finish(done, &mut held, &mut verdicts);
                    }
                }
                () = self.committed.notified(), if !stopping => want = true,
                _ = tick.tick() => {
                    want = !stopping;
                    if (!held.is_empty() || !verdicts.is_empty())
                        && renewed.elapsed() >= self.lease / 3
                    {
                        renewed = Instant::now();
                        if let Err(e) = self.renew().await {
                            health.failed(&e);
                        }
                    }
                    if counted.is_none_or(|at| at.elapsed() >= DEPTH_EVERY) {
                        counted = Some(Instant::now());
                        self.count().await;
                    }
                }
            }
        }
    }

    /// Starts processing a claimed row; a row whose body does not decode fails for good.
    fn start(
        &self,
        row: Claimed,
        in_flight: &mut JoinSet<Attempt>,
        held: &mut HashMap<Id, Held>,
        verdicts: &mut Vec<(i64, Verdict)>,
    ) {
        match row.item {
            Ok(item) => {
                let task = self.processing.spawn(in_flight, Arc::new(item));
                held.insert(
                    task,
                    Held {
                        id: row.id,
                        attempts: row.attempts,
                    },
                );
            }
            Err(e) => {
                let verdict = self.processing.judge(row.attempts, Err(e));
                verdicts.push((row.id, verdict));
            }
        }
    }

    fn finish(
        &self,
        done: std::result::Result<(Id, Attempt), tokio::task::JoinError>,
        held: &mut HashMap<Id, Held>,
        verdicts: &mut Vec<(i64, Verdict)>,
    ) {
        let (task, result) = self.processing.joined(done);
        if let Some(row) = held.remove(&task) {
            verdicts.push((row.id, self.processing.judge(row.attempts, result)));
        }
    }

    async fn claim(&mut self, limit: usize) -> itsm_core::Result<Vec<Claimed>> {
        let (client, shown) = self.conn.get().await?;
        claim::claim(client, shown, &self.replica, self.lease, limit).await
    }

    async fn record(&mut self, verdicts: &[(i64, Verdict)]) -> itsm_core::Result<()> {
        let (client, shown) = self.conn.get().await?;
        claim::record(client, shown, &self.replica, verdicts).await
    }

    async fn renew(&mut self) -> itsm_core::Result<u64> {
        let (client, shown) = self.conn.get().await?;
        claim::renew(client, shown, &self.replica, self.lease).await
    }

    /// Sets the queue depth gauge to the shared queue's pending rows (left as it is when
    /// the count fails).
    async fn count(&mut self) {
        let Ok((client, shown)) = self.conn.get().await else {
            return;
        };
        if let Ok(pending) = claim::pending(client, shown).await {
            self.processing.metrics.queue_depth.store(
                i64::try_from(pending).unwrap_or(i64::MAX),
                Ordering::Relaxed,
            );
        }
    }
}
