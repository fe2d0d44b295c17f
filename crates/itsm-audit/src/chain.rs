//! The hash chain of the deployment ledger: how a record's [`RecordHash`] is computed, and
//! how a sequence of records is verified.
//!
//! # The hashed bytes (format `v1`)
//!
//! A record's hash is the SHA-256 of the following bytes, in this order. A *string* is its
//! UTF-8 length as a 4-byte big-endian unsigned integer followed by its bytes; an *optional*
//! value is the byte `0` when absent, or the byte `1` followed by the value; a *flag* is the
//! byte `0` or `1`; a *timestamp* is the string of its RFC 3339 form in UTC (`Z`) with the
//! fractional seconds written only when not zero, as many digits as needed
//! (`2026-05-01T10:00:00Z`, `2026-05-01T10:00:00.25Z`).
//!
//! 1. the 20 bytes `itsm-audit/record/v1` (domain separation and format version);
//! 2. `seq` as an 8-byte big-endian unsigned integer;
//! 3. the key (string);
//! 4. the deployment's fields in declaration order of [`NewDeployment`]: service, version,
//!    environment (strings), started_at, finished_at (timestamps), the deployer's name
//!    (string), email and handle (optional strings), the outcome (string `succeeded` or
//!    `failed`), commit, artifact digest, pipeline run (strings), pipeline URL (optional
//!    string), first commit time (optional timestamp), and the change evidence (optional:
//!    the change's system, id (strings), URL (optional string), approved (flag), version
//!    (string), window start and window end (optional timestamps));
//! 5. `recorded_at` (timestamp);
//! 6. the 32 bytes of the previous record's hash ([`RecordHash::GENESIS`] for the first).
//!
//! The encoding does not depend on any serialisation library, so it can be reproduced by
//! an external auditor; adding a field to [`NewDeployment`] does not compile until this
//! encoding says how the field is hashed (and the format version is raised).
//!
//! # Verifying
//!
//! [`verify`] walks records in chain order and reports the first one that was changed,
//! removed, or reordered/inserted; a [`Verifier`] does the same one page at a time:
//!
//! ```no_run
//! # async fn run(store: &dyn itsm_audit::AuditStore) -> itsm_core::Result<()> {
//! use itsm_audit::chain::Verifier;
//!
//! let mut verifier = Verifier::new();
//! let mut from = 1;
//! loop {
//!     let page = store.scan(from, 10_000).await?;
//!     let Some(last) = page.last() else { break };
//!     from = last.seq + 1;
//!     for record in &page {
//!         if let Some(problem) = verifier.push(record) {
//!             eprintln!("{problem}");
//!         }
//!     }
//!     // advance a progress bar by page.len() here
//! }
//! assert!(verifier.finish().is_intact());
//! # Ok(())
//! # }
//! ```

use std::collections::VecDeque;
use std::fmt;

use itsm_core::IdempotencyKey;
use sha2::{Digest, Sha256};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

use crate::model::{ChangeEvidence, DeploymentRecord, NewDeployment, Outcome, RecordHash};

const DOMAIN: &[u8; 20] = b"itsm-audit/record/v1";

/// How far away from its position a record's original sequence number is looked for when
/// its hash does not match, to tell a moved record from a changed one.
const MOVE_DISTANCE: u64 = 64;

/// How many recent records a [`Verifier`] remembers to recognise a record linking to one of
/// them out of order.
const REMEMBERED: usize = 256;

/// The hash of a ledger record: SHA-256 over the bytes described in the
/// [module documentation](self), chained on `prev`.
pub fn record_hash(
    seq: u64,
    key: &IdempotencyKey,
    deployment: &NewDeployment,
    recorded_at: OffsetDateTime,
    prev: &RecordHash,
) -> RecordHash {
    let mut h = Hasher {
        sha: Sha256::new(),
        buf: Vec::with_capacity(40),
    };
    h.sha.update(DOMAIN);
    h.sha.update(seq.to_be_bytes());
    h.str(key.as_str());
    let NewDeployment {
        service,
        version,
        environment,
        started_at,
        finished_at,
        deployer,
        outcome,
        commit,
        artifact_digest,
        pipeline_run,
        pipeline_url,
        first_commit_at,
        change,
    } = deployment;
    h.str(service.as_str());
    h.str(version.as_str());
    h.str(environment.as_str());
    h.time(*started_at);
    h.time(*finished_at);
    let itsm_core::Person {
        name,
        email,
        handle,
    } = deployer;
    h.str(name);
    h.opt_str(email.as_deref());
    h.opt_str(handle.as_deref());
    h.str(match outcome {
        Outcome::Succeeded => "succeeded",
        Outcome::Failed => "failed",
    });
    h.str(commit.as_str());
    h.str(artifact_digest);
    h.str(pipeline_run.as_str());
    h.opt_str(pipeline_url.as_ref().map(|u| u.as_str()));
    h.opt_time(*first_commit_at);
    match change {
        None => h.sha.update([0]),
        Some(ChangeEvidence {
            reference,
            approved,
            version,
            window_start,
            window_end,
        }) => {
            h.sha.update([1]);
            let itsm_core::ExternalRef { system, id, url } = reference;
            h.str(system);
            h.str(id);
            h.opt_str(url.as_ref().map(|u| u.as_str()));
            h.sha.update([u8::from(*approved)]);
            h.str(version.as_str());
            h.opt_time(*window_start);
            h.opt_time(*window_end);
        }
    }
    h.time(recorded_at);
    h.sha.update(prev.0);
    RecordHash(h.sha.finalize().into())
}

/// Recomputes `record`'s hash from its content and `prev_hash`, as if it had `seq`.
fn rehash(record: &DeploymentRecord, seq: u64) -> RecordHash {
    record_hash(
        seq,
        &record.key,
        &record.deployment,
        record.recorded_at,
        &record.prev_hash,
    )
}

struct Hasher {
    sha: Sha256,
    buf: Vec<u8>,
}

impl Hasher {
    fn str(&mut self, s: &str) {
        // Lengths beyond 4 GiB cannot come from validated records; saturate rather than wrap.
        let len = u32::try_from(s.len()).unwrap_or(u32::MAX);
        self.sha.update(len.to_be_bytes());
        self.sha.update(s.as_bytes());
    }

    fn opt_str(&mut self, s: Option<&str>) {
        match s {
            None => self.sha.update([0]),
            Some(s) => {
                self.sha.update([1]);
                self.str(s);
            }
        }
    }

    fn time(&mut self, at: OffsetDateTime) {
        self.buf.clear();
        let utc = at.to_offset(UtcOffset::UTC);
        if utc.format_into(&mut self.buf, &Rfc3339).is_err() {
            // Only years outside 0..=9999 cannot be written as RFC 3339; hash their unix
            // nanoseconds instead so that such a record still has a stable hash.
            self.buf.clear();
            self.buf
                .extend_from_slice(utc.unix_timestamp_nanos().to_string().as_bytes());
        }
        let len = u32::try_from(self.buf.len()).unwrap_or(u32::MAX);
        self.sha.update(len.to_be_bytes());
        self.sha.update(&self.buf);
    }

    fn opt_time(&mut self, at: Option<OffsetDateTime>) {
        match at {
            None => self.sha.update([0]),
            Some(at) => {
                self.sha.update([1]);
                self.time(at);
            }
        }
    }
}

/// What is wrong with the record a [`ChainProblem`] names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChainProblemKind {
    /// Its content (or its hash) was changed after it was appended.
    Changed,
    /// It is missing: the sequence numbers have a gap where it should be.
    Removed,
    /// It is out of place: it does not link to the record before it, its number goes
    /// backwards or repeats, or it was appended with another number (moved, swapped or
    /// inserted).
    Reordered,
}

impl fmt::Display for ChainProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ChainProblemKind::Changed => "changed",
            ChainProblemKind::Removed => "removed",
            ChainProblemKind::Reordered => "reordered or inserted",
        })
    }
}

/// The first record at which a ledger stops being intact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainProblem {
    /// The sequence number of the first affected record.
    pub seq: u64,
    /// What happened to it.
    pub kind: ChainProblemKind,
    /// What was found, for a person.
    pub detail: String,
}

impl fmt::Display for ChainProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ledger record {} was {}: {}",
            self.seq, self.kind, self.detail
        )
    }
}

/// The result of verifying a ledger (or a part of it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// How many records were found intact (verification stops at the first problem).
    pub checked: u64,
    /// The hash of the last intact record, `None` when none was checked.
    pub head: Option<RecordHash>,
    /// The first problem found, `None` when the records are intact.
    pub first_problem: Option<ChainProblem>,
}

impl VerifyReport {
    /// Whether no problem was found.
    pub fn is_intact(&self) -> bool {
        self.first_problem.is_none()
    }
}

/// Verifies records pushed one at a time, in chain order (see the
/// [module documentation](self)); stops checking at the first problem.
#[derive(Debug, Clone)]
pub struct Verifier {
    next_seq: u64,
    prev: RecordHash,
    checked: u64,
    head: Option<RecordHash>,
    problem: Option<ChainProblem>,
    recent: VecDeque<(RecordHash, u64)>,
}

impl Default for Verifier {
    fn default() -> Self {
        Self::new()
    }
}

impl Verifier {
    /// A verifier expecting the ledger's first record (sequence number 1, linked to
    /// [`RecordHash::GENESIS`]).
    pub fn new() -> Self {
        Self::resume(0, RecordHash::GENESIS)
    }

    /// A verifier expecting the record after `seq`, whose hash (already verified or
    /// trusted) is `hash`; `resume(0, RecordHash::GENESIS)` is [`Verifier::new`].
    pub fn resume(seq: u64, hash: RecordHash) -> Self {
        Verifier {
            next_seq: seq.saturating_add(1),
            prev: hash,
            checked: 0,
            head: None,
            problem: None,
            recent: VecDeque::with_capacity(REMEMBERED),
        }
    }

    /// Checks the next record; returns the problem when it is the first one found. Once a
    /// problem was found, further records are ignored (and `None` is returned).
    pub fn push(&mut self, record: &DeploymentRecord) -> Option<ChainProblem> {
        if self.problem.is_some() {
            return None;
        }
        match self.check(record) {
            None => {
                if self.recent.len() == REMEMBERED {
                    self.recent.pop_front();
                }
                self.recent.push_back((record.hash, record.seq));
                self.prev = record.hash;
                self.head = Some(record.hash);
                self.next_seq = record.seq.saturating_add(1);
                self.checked += 1;
                None
            }
            Some(problem) => {
                self.problem = Some(problem.clone());
                Some(problem)
            }
        }
    }

    /// The first problem found so far.
    pub fn problem(&self) -> Option<&ChainProblem> {
        self.problem.as_ref()
    }

    /// How many records were found intact so far.
    pub fn checked(&self) -> u64 {
        self.checked
    }

    /// The report of everything pushed.
    pub fn finish(self) -> VerifyReport {
        VerifyReport {
            checked: self.checked,
            head: self.head,
            first_problem: self.problem,
        }
    }

    fn check(&self, record: &DeploymentRecord) -> Option<ChainProblem> {
        let expected = self.next_seq;
        let problem = |seq, kind, detail: String| Some(ChainProblem { seq, kind, detail });
        if record.seq < expected {
            return problem(
                record.seq,
                ChainProblemKind::Reordered,
                format!(
                    "it comes after record {}: sequence numbers go backwards or repeat",
                    expected - 1
                ),
            );
        }
        if record.seq > expected {
            let missing = if record.seq - expected == 1 {
                format!("record {expected} is missing")
            } else {
                format!("records {expected} to {} are missing", record.seq - 1)
            };
            return problem(
                expected,
                ChainProblemKind::Removed,
                format!("{missing}: the next record present is {}", record.seq),
            );
        }
        let computed = rehash(record, record.seq);
        if computed != record.hash {
            if let Some(original) = self.original_seq(record) {
                return problem(
                    record.seq,
                    ChainProblemKind::Reordered,
                    format!(
                        "the record in position {} (key {}) was appended as record {original}: \
                         records were swapped, moved, or removed and renumbered",
                        record.seq, record.key
                    ),
                );
            }
            return problem(
                record.seq,
                ChainProblemKind::Changed,
                format!(
                    "its content does not match its hash (key {}): stored {}, computed {computed}",
                    record.key, record.hash
                ),
            );
        }
        if record.prev_hash != self.prev {
            if let Some(&(_, linked)) = self.recent.iter().find(|(h, _)| *h == record.prev_hash) {
                return problem(
                    record.seq,
                    ChainProblemKind::Reordered,
                    format!(
                        "it links to record {linked}, not to the record before it ({})",
                        expected - 1
                    ),
                );
            }
            if expected > 1 && self.head.is_some() {
                // Its own hash is right, but the record before it is not the one it was
                // chained on: that record was rewritten together with its hash.
                return problem(
                    expected - 1,
                    ChainProblemKind::Changed,
                    format!(
                        "record {} was rewritten with a new hash: record {} was chained on {}, \
                         but record {} now has hash {}",
                        expected - 1,
                        record.seq,
                        record.prev_hash,
                        expected - 1,
                        self.prev
                    ),
                );
            }
            return problem(
                record.seq,
                ChainProblemKind::Reordered,
                format!(
                    "it links to {}, not to {} (the hash it should follow): it was inserted \
                     or comes from elsewhere",
                    record.prev_hash, self.prev
                ),
            );
        }
        None
    }

    /// The sequence number a record whose hash does not match at its position was appended
    /// with, when it is near its position (a swapped or moved record).
    fn original_seq(&self, record: &DeploymentRecord) -> Option<u64> {
        if let Some(&(_, linked)) = self.recent.iter().find(|(h, _)| *h == record.prev_hash) {
            let seq = linked + 1;
            if seq != record.seq && rehash(record, seq) == record.hash {
                return Some(seq);
            }
        }
        (1..=MOVE_DISTANCE)
            .flat_map(|d| [record.seq.checked_add(d), record.seq.checked_sub(d)])
            .flatten()
            .filter(|seq| *seq > 0)
            .find(|seq| rehash(record, *seq) == record.hash)
    }
}

/// Verifies records given in chain order from the ledger's first record, stopping at the
/// first problem.
pub fn verify(records: impl IntoIterator<Item = DeploymentRecord>) -> VerifyReport {
    let mut verifier = Verifier::new();
    for record in records {
        if verifier.push(&record).is_some() {
            break;
        }
    }
    verifier.finish()
}
