//! The worker over the SQLite queue: hands pending rows to the
//! [`AlertProcessor`](super::AlertProcessor) (alerts) or the sync engine (webhook sync
//! events; see [`attempt`](super::attempt)), one lane (an alert's dedup key, a sync event's
//! key) at a time in arrival order, several keys at once (bounded), retrying retryable
//! failures with backoff.
//!
//! Rows reach it from the writer right after their commit, and from the queue file (at
//! start, and whenever more rows are pending than it keeps in memory). Each key has a lane
//! (a FIFO of its rows); only a lane's head is ever processed, so a resolved alert never
//! overtakes its firing, even while the firing waits for a retry.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::Sender;
use std::time::Duration;

use itsm_core::Clock;
use tokio::sync::{mpsc, watch};
use tokio::task::{Id, JoinSet};
use tokio::time::Instant;

use super::attempt::{Attempt, Processing, Verdict};
use super::queue::{self, RowState};
use super::writer::{Op, Queued};

/// Rows the worker keeps in memory at most; beyond that they wait in the file.
const MEMORY_ROWS: usize = 20_000;

/// What the worker needs.
#[derive(Debug)]
pub(crate) struct Worker {
    pub(crate) processing: Processing,
    pub(crate) writer: Sender<Op>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) concurrency: usize,
    pub(crate) path: PathBuf,
}

#[derive(Debug, Default)]
struct Lane {
    rows: VecDeque<Queued>,
    /// Its head is being processed or waits for a retry.
    busy: bool,
}

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
            let id = self.processing.spawn(&mut st.in_flight, head.item.clone());
            st.keys_in_flight.insert(id, (key, head));
        }
    }

    /// Records the outcome of one attempt and moves its lane on.
    fn finish(
        &self,
        st: &mut State,
        done: std::result::Result<(Id, Attempt), tokio::task::JoinError>,
    ) {
        let (id, result) = self.processing.joined(done);
        let Some((key, row)) = st.keys_in_flight.remove(&id) else {
            return;
        };
        match self.processing.judge(row.attempts, result) {
            Verdict::Done => {
                let _ = self.writer.send(Op::Done { id: row.id });
                advance(st, &key);
            }
            Verdict::Retry {
                attempts,
                delay,
                error,
            } => {
                let next_at = self.clock.now() + delay;
                let _ = self.writer.send(Op::Retry {
                    id: row.id,
                    attempts,
                    next_at,
                    error,
                });
                if let Some(head) = st.lanes.get_mut(&key).and_then(|l| l.rows.front_mut()) {
                    head.attempts = attempts;
                }
                wait(st, key, Instant::now() + delay);
            }
            Verdict::Fail { attempts, error } => {
                let _ = self.writer.send(Op::Fail {
                    id: row.id,
                    attempts,
                    error,
                });
                advance(st, &key);
            }
        }
    }
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
