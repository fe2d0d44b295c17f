//! Turning records into ledger rows: each record's hash chained on its predecessor, its
//! compact body ([`crate::compact`]) and its fixed-width finishing time.
//!
//! A large job is encoded on a second thread while the writer inserts the rows already
//! encoded, so that hashing and JSON run on one core while SQLite writes on the other.
//! That thread numbers and chains the rows assuming that none of them is a duplicate; the
//! writer checks each row against the real head of the chain before inserting it and, at
//! the first row whose assumption broke (a key already present), stops the thread and
//! encodes the rest itself.

use std::ops::Range;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::Scope;

use itsm_core::{Error, ErrorKind, IdempotencyKey, Result};
use time::OffsetDateTime;

use super::codec;
use crate::chain::record_hash;
use crate::model::{NewDeployment, RecordHash};

/// Jobs with fewer records are encoded by the writer itself (starting a thread costs more
/// than it saves).
const PIPELINE_MIN: usize = 512;

/// Rows per message from the encoding thread.
const CHUNK_ROWS: usize = 256;

/// Chunks the encoding thread may run ahead of the writer.
const CHUNKS_AHEAD: usize = 8;

/// A record encoded as a row, chained on `(seq - 1, prev)`.
pub(super) struct Row<'a> {
    /// Its sequence number.
    pub(super) seq: i64,
    /// The hash it is chained on.
    pub(super) prev: RecordHash,
    /// Its hash.
    pub(super) hash: RecordHash,
    /// Its deployment in the compact form.
    pub(super) body: &'a [u8],
    /// Its finishing time as fixed-width UTC text.
    pub(super) finished: &'a [u8],
}

/// Where a row's parts are in its chunk's bytes.
struct Slot {
    seq: i64,
    prev: RecordHash,
    hash: RecordHash,
    body: Range<usize>,
    finished: Range<usize>,
}

/// Encoded rows sharing one buffer.
#[derive(Default)]
struct Chunk {
    bytes: Vec<u8>,
    slots: Vec<Result<Slot>>,
}

impl Chunk {
    fn clear(&mut self) {
        self.bytes.clear();
        self.slots.clear();
    }

    /// Encodes `deployment` as the row after `head`, appending it to the chunk (its body,
    /// then its finishing time).
    fn push(
        &mut self,
        head: (i64, RecordHash),
        key: &IdempotencyKey,
        deployment: &NewDeployment,
        recorded_at: OffsetDateTime,
    ) -> Option<(i64, RecordHash)> {
        let seq = head.0 + 1;
        let hash = record_hash(
            u64::try_from(seq).unwrap_or(0),
            key,
            deployment,
            recorded_at,
            &head.1,
        );
        let start = self.bytes.len();
        crate::compact::encode_into(&mut self.bytes, deployment);
        let body = start..self.bytes.len();
        let slot = codec::fixed_time_into(&mut self.bytes, deployment.finished_at).map(|()| Slot {
            seq,
            prev: head.1,
            hash,
            finished: body.end..self.bytes.len(),
            body,
        });
        let next = slot.is_ok().then_some((seq, hash));
        self.slots.push(slot);
        next
    }

    /// The row in slot `index`.
    fn row(&self, index: usize) -> Option<Result<Row<'_>>> {
        let slot = match self.slots.get(index)? {
            Ok(slot) => slot,
            Err(e) => return Some(Err(super::writer::copy_error(e))),
        };
        Some(Ok(Row {
            seq: slot.seq,
            prev: slot.prev,
            hash: slot.hash,
            body: self.bytes.get(slot.body.clone()).unwrap_or_default(),
            finished: self.bytes.get(slot.finished.clone()).unwrap_or_default(),
        }))
    }
}

/// Hands the writer one encoded row after another, from the encoding thread while its
/// assumptions hold and encoded on the spot otherwise.
pub(super) struct Rows<'a> {
    records: &'a [(IdempotencyKey, NewDeployment)],
    recorded_at: OffsetDateTime,
    /// Chunks from the encoding thread; `None` once the writer encodes by itself.
    ahead: Option<Receiver<Chunk>>,
    chunk: Chunk,
    /// The index in `records` of the chunk's first row.
    chunk_start: usize,
}

impl<'a> Rows<'a> {
    /// Rows for `records` chained on `head`, encoded on a thread of `scope` when there are
    /// enough of them.
    pub(super) fn new<'scope>(
        scope: &'scope Scope<'scope, '_>,
        records: &'a [(IdempotencyKey, NewDeployment)],
        head: (i64, RecordHash),
        recorded_at: OffsetDateTime,
    ) -> Self
    where
        'a: 'scope,
    {
        let ahead = (records.len() >= PIPELINE_MIN).then(|| {
            let (send, receive) = sync_channel(CHUNKS_AHEAD);
            let spawned = std::thread::Builder::new()
                .name("itsm-audit-encoder".into())
                .spawn_scoped(scope, move || {
                    encode_ahead(records, head, recorded_at, &send)
                });
            // Without the thread the writer encodes everything itself.
            spawned.ok().map(|_| receive)
        });
        Rows {
            records,
            recorded_at,
            ahead: ahead.flatten(),
            chunk: Chunk::default(),
            chunk_start: 0,
        }
    }

    /// Record `index` encoded as the row after `head`. Call with increasing indexes.
    pub(super) fn get(&mut self, index: usize, head: (i64, RecordHash)) -> Result<Row<'_>> {
        if self.ahead.is_some() && self.fetch_ahead(index, head) {
            return self.current(index);
        }
        // Encoded on the spot: the encoding thread (if any) stops at its next send.
        self.ahead = None;
        let (key, deployment) = self.records.get(index).ok_or_else(|| {
            Error::new(
                ErrorKind::Internal,
                format!("the audit ledger writer asked for record {index} of a shorter job"),
            )
        })?;
        self.chunk.clear();
        self.chunk_start = index;
        self.chunk.push(head, key, deployment, self.recorded_at);
        self.current(index)
    }

    /// Makes the chunk hold record `index`, from the encoding thread; whether it is there
    /// and was chained on `head`.
    fn fetch_ahead(&mut self, index: usize, head: (i64, RecordHash)) -> bool {
        while index >= self.chunk_start + self.chunk.slots.len() {
            let Some(next) = self.ahead.as_ref().and_then(|r| r.recv().ok()) else {
                return false;
            };
            self.chunk_start += self.chunk.slots.len();
            self.chunk = next;
        }
        match self.chunk.slots.get(index - self.chunk_start) {
            Some(Ok(slot)) => slot.seq == head.0 + 1 && slot.prev == head.1,
            // An encoding error does not depend on the chain: report it.
            Some(Err(_)) => true,
            None => false,
        }
    }

    fn current(&self, index: usize) -> Result<Row<'_>> {
        self.chunk.row(index - self.chunk_start).unwrap_or_else(|| {
            Err(Error::new(
                ErrorKind::Internal,
                format!("the audit ledger writer lost the encoding of record {index}"),
            ))
        })
    }
}

/// The encoding thread: encodes every record, assuming each is appended, until the
/// writer stops listening or a record cannot be encoded.
fn encode_ahead(
    records: &[(IdempotencyKey, NewDeployment)],
    mut head: (i64, RecordHash),
    recorded_at: OffsetDateTime,
    send: &SyncSender<Chunk>,
) {
    for part in records.chunks(CHUNK_ROWS) {
        let mut chunk = Chunk {
            bytes: Vec::with_capacity(part.len() * 256),
            slots: Vec::with_capacity(part.len()),
        };
        let mut failed = false;
        for (key, deployment) in part {
            match chunk.push(head, key, deployment, recorded_at) {
                Some(next) => head = next,
                None => {
                    failed = true;
                    break;
                }
            }
        }
        if send.send(chunk).is_err() || failed {
            return;
        }
    }
}
