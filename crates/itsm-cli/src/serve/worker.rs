//! The worker: hands pending rows to the [`AlertProcessor`] (alerts) or the
//! [`SyncEngine`] (webhook sync events), one lane (an alert's dedup key, a sync event's
//! key) at a time in arrival order, several keys at once (bounded), retrying retryable failures with backoff.
//!
//! Rows reach it from the writer right after their commit, and from the queue file (at
//! start, and whenever more rows are pending than it keeps in memory). Each key has a lane
//! (a FIFO of its rows); only a lane's head is ever processed, so a resolved alert never
//! overtakes its firing, even while the firing waits for a retry.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::Sender;
use std::time::Duration;

use itsm_core::{Clock, Error, ErrorKind, Result};
use itsm_incident::{SyncEngine, SyncOutcome};
use tokio::sync::{mpsc, watch};
use tokio::task::{Id, JoinSet};
use tokio::time::Instant;

use super::config::RetryConfig;
use super::metrics::Metrics;
use super::processor::AlertProcessor;
use super::queue::{self, QueueItem, RowState};
use super::writer::{Op, Queued};

/// Rows the worker keeps in memory at most; beyond that they wait in the file.
const MEMORY_ROWS: usize = 20_000;

/// What the worker needs.
#[derive(Debug)]
pub(crate) struct Worker {
    pub(crate) processor: Arc<dyn AlertProcessor>,
    /// Applies webhook sync events; without one they fail as dead letters.
    pub(crate) sync: Option<Arc<SyncEngine>>,
    pub(crate) writer: Sender<Op>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) retry: RetryConfig,
    pub(crate) concurrency: usize,
    pub(crate) path: PathBuf,
}

#[derive(Debug, Default)]
struct Lane {
    rows: VecDeque<Queued>,
    /// Its head is being processed or waits for a retry.
    busy: bool,
}

/// The outcome of one attempt.
type Attempt = (Result<()>, Duration);

struct State {
    lanes: HashMap<String, Lane>,
    ready: VecDeque<String>,
    waiting: BinaryHeap<Reverse<(Instant, u64, String)>>,
    waiting_seq: u64,
    in_memory: usize,
    /// The highest id taken in (from the writer or the file).
    loaded_upto: i64,
    /// Pending rows beyond `loaded_upto` may be in the file only.
    backlog: bool,
    in_flight: JoinSet<Attempt>,
    keys_in_flight: HashMap<Id, (String, Queued)>,
}

impl Worker {
    /// Runs until `stop` turns true; then lets the alerts in hand finish and returns.
    pub(crate) async fn run(
        self,
        mut incoming: mpsc::UnboundedReceiver<Vec<Queued>>,
        mut stop: watch::Receiver<bool>,
    ) {
        let mut st = State {
            lanes: HashMap::new(),
            ready: VecDeque::new(),
            waiting: BinaryHeap::new(),
            waiting_seq: 0,
            in_memory: 0,
            loaded_upto: 0,
            backlog: true,
            in_flight: JoinSet::new(),
            keys_in_flight: HashMap::new(),
        };
        let mut stopping = *stop.borrow();
        loop {
            if !stopping && st.backlog && st.in_memory < MEMORY_ROWS / 2 {
                self.refill(&mut st).await;
            }
            if !stopping {
                self.dispatch(&mut st);
            }
            if stopping && st.in_flight.is_empty() {
                break;
            }
            let wake = st.waiting.peek().map(|Reverse((at, _, _))| *at);
            tokio::select! {
                biased;
                changed = stop.changed(), if !stopping => {
                    stopping = changed.is_err() || *stop.borrow();
                }
                Some(done) = st.in_flight.join_next_with_id(), if !st.in_flight.is_empty() => {
                    self.finish(&mut st, done);
                }
                rows = incoming.recv(), if !stopping => match rows {
                    Some(rows) => take(&mut st, rows),
                    None => stopping = true,
                },
                () = sleep_until(wake), if wake.is_some() && !stopping => {
                    let now = Instant::now();
                    while let Some(Reverse((at, _, _))) = st.waiting.peek() {
                        if *at > now {
                            break;
                        }
                        if let Some(Reverse((_, _, key))) = st.waiting.pop() {
                            st.ready.push_back(key);
                        }
                    }
                }
            }
        }
    }

    /// Loads pending rows beyond `loaded_upto` from the file.
    async fn refill(&self, st: &mut State) {
        let path = self.path.clone();
        let after = st.loaded_upto;
        let limit = MEMORY_ROWS / 2;
        let loaded = tokio::task::spawn_blocking(move || {
            queue::rows(&path, Some(RowState::Pending), after, limit as u32)
        })
        .await;
        let Ok(Ok(rows)) = loaded else {
            // Unreadable now: try again after the next event.
            return;
        };
        st.backlog = rows.len() >= limit;
        let now_wall = self.clock.now();
        let queued = rows
            .into_iter()
            .map(|row| Queued {
                id: row.id,
                lane: row.dedup_key.into(),
                item: Arc::new(row.item),
                attempts: row.attempts,
                next_attempt_at: row.next_attempt_at.filter(|at| *at > now_wall),
            })
            .collect();
        take_all(st, queued, Some(now_wall));
    }

    /// Starts the heads of ready lanes, up to the concurrency.
    fn dispatch(&self, st: &mut State) {
        while st.in_flight.len() < self.concurrency.max(1) {
            let Some(key) = st.ready.pop_front() else {
                break;
            };
            let Some(lane) = st.lanes.get_mut(&key) else {
                continue;
            };
            let Some(head) = lane.rows.front().cloned() else {
                continue;
            };
            lane.busy = true;
            let processor = self.processor.clone();
            let sync = self.sync.clone();
            let metrics = self.metrics.clone();
            let item = head.item.clone();
            let handle = st.in_flight.spawn(async move {
                let started = std::time::Instant::now();
                let result = match item.as_ref() {
                    QueueItem::Alert(alert) => processor.process(alert).await,
                    QueueItem::Sync(event) => apply_sync(sync.as_deref(), &metrics, event).await,
                };
                (result, started.elapsed())
            });
            st.keys_in_flight.insert(handle.id(), (key, head));
        }
    }

    /// Records the outcome of one attempt and moves its lane on.
    fn finish(
        &self,
        st: &mut State,
        done: std::result::Result<(Id, Attempt), tokio::task::JoinError>,
    ) {
        let (id, result, took) = match done {
            Ok((id, (result, took))) => (id, result, took),
            Err(e) => (
                e.id(),
                Err(itsm_core::Error::new(
                    itsm_core::ErrorKind::Internal,
                    "the alert processor panicked",
                )
                .with_retryable(false)),
                Duration::ZERO,
            ),
        };
        let Some((key, row)) = st.keys_in_flight.remove(&id) else {
            return;
        };
        self.metrics.processing_latency.observe(took);
        let m = &self.metrics;
        match result {
            Ok(()) => {
                let _ = self.writer.send(Op::Done { id: row.id });
                m.processed.fetch_add(1, Ordering::Relaxed);
                m.queue_depth.fetch_sub(1, Ordering::Relaxed);
                advance(st, &key);
            }
            Err(e) if e.is_retryable() && row.attempts + 1 < self.retry.max_attempts => {
                let attempts = row.attempts + 1;
                let delay = self.retry.delay(attempts, e.retry_after());
                let next_at = self.clock.now() + delay;
                let _ = self.writer.send(Op::Retry {
                    id: row.id,
                    attempts,
                    next_at,
                    error: e.to_string(),
                });
                m.retried.fetch_add(1, Ordering::Relaxed);
                if let Some(head) = st.lanes.get_mut(&key).and_then(|l| l.rows.front_mut()) {
                    head.attempts = attempts;
                }
                wait(st, key, Instant::now() + delay);
            }
            Err(e) => {
                let _ = self.writer.send(Op::Fail {
                    id: row.id,
                    attempts: row.attempts + 1,
                    error: e.to_string(),
                });
                m.failed.fetch_add(1, Ordering::Relaxed);
                m.queue_depth.fetch_sub(1, Ordering::Relaxed);
                advance(st, &key);
            }
        }
    }
}

/// Applies one sync event; what the engine decided (applied, duplicate, stale, echo...)
/// is counted in the metrics, and only an error fails the row.
async fn apply_sync(
    sync: Option<&SyncEngine>,
    metrics: &Metrics,
    event: &itsm_incident::SyncEvent,
) -> Result<()> {
    let Some(engine) = sync else {
        return Err(Error::new(
            ErrorKind::Config,
            "a webhook sync event is queued but this server has no sync engine; configure \
             the paging platform and the ticketing system",
        )
        .with_retryable(false));
    };
    let outcome = engine.apply(event).await?;
    metrics.sync_outcome(match outcome {
        SyncOutcome::Applied => "applied",
        SyncOutcome::Duplicate => "duplicate",
        SyncOutcome::Stale => "stale",
        SyncOutcome::Echo => "echo",
        SyncOutcome::Unsupported(_) => "unsupported",
        SyncOutcome::NoCounterpart => "no_counterpart",
    });
    Ok(())
}

/// Takes rows handed over by the writer (unless they wait in the file already).
fn take(st: &mut State, rows: Vec<Queued>) {
    if st.backlog || st.in_memory + rows.len() > MEMORY_ROWS {
        // They are committed: the next refill reads them from the file.
        st.backlog = true;
        return;
    }
    take_all(st, rows, None);
}

fn take_all(st: &mut State, rows: Vec<Queued>, now_wall: Option<time::OffsetDateTime>) {
    for row in rows {
        if row.id <= st.loaded_upto {
            continue;
        }
        st.loaded_upto = row.id;
        st.in_memory += 1;
        let key = row.lane.to_string();
        let delay = match (row.next_attempt_at, now_wall) {
            (Some(at), Some(now)) => Duration::try_from(at - now).ok(),
            _ => None,
        };
        let lane = st.lanes.entry(key.clone()).or_default();
        let first = lane.rows.is_empty() && !lane.busy;
        lane.rows.push_back(row);
        if first {
            match delay {
                Some(delay) => {
                    if let Some(lane) = st.lanes.get_mut(&key) {
                        lane.busy = true;
                    }
                    wait(st, key, Instant::now() + delay);
                }
                None => st.ready.push_back(key),
            }
        }
    }
}

/// The lane's head is finished: drop it and make the next row ready.
fn advance(st: &mut State, key: &str) {
    let Some(lane) = st.lanes.get_mut(key) else {
        return;
    };
    lane.rows.pop_front();
    lane.busy = false;
    st.in_memory = st.in_memory.saturating_sub(1);
    if lane.rows.is_empty() {
        st.lanes.remove(key);
    } else {
        st.ready.push_back(key.to_owned());
    }
}

fn wait(st: &mut State, key: String, at: Instant) {
    st.waiting_seq += 1;
    st.waiting.push(Reverse((at, st.waiting_seq, key)));
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
