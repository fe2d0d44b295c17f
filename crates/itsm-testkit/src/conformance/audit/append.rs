//! Checks of appending to the ledger and of the chain the appends build.

use itsm_audit::chain::Verifier;
use itsm_audit::{AuditStore, capability};
use itsm_core::{ErrorKind, Result};
use time::Duration;

use super::scope::Scope;
use crate::conformance::{Outcome, skip_unless};

/// An appended record holds what was appended with its hash, is found by its key, and
/// moves the head to at least its number; an unknown key finds nothing.
pub async fn append_and_find(store: &dyn AuditStore) -> Result<Outcome> {
    let s = Scope::new("append_and_find", store);
    let before = store.head().await?;
    let (key, deployment) = (s.key("one"), s.deployment("production", 1));
    let record = store.append(&key, &deployment).await?;
    s.expect_record(&record, &key, &deployment);
    s.expect(
        record.seq > before,
        format!("record {} should come after the head {before}", record.seq),
    );
    let head = store.head().await?;
    s.expect(
        head >= record.seq,
        format!(
            "head {head} should be at least the new record {}",
            record.seq
        ),
    );
    let found = store.find_by_key(&key).await?;
    s.expect(
        found.as_ref() == Some(&record),
        format!("find_by_key should return {record:?}, got {found:?}"),
    );
    let unknown = store.find_by_key(&s.key("never-appended")).await?;
    s.expect(unknown.is_none(), format!("unknown key found {unknown:?}"));
    Ok(Outcome::Passed)
}

/// Appending again with a key returns the first record, even with other content.
pub async fn idempotent_append(store: &dyn AuditStore) -> Result<Outcome> {
    let s = Scope::new("idempotent_append", store);
    let key = s.key("deploy");
    let first = store.append(&key, &s.deployment("production", 1)).await?;
    let again = store.append(&key, &s.deployment("production", 1)).await?;
    s.expect(
        again == first,
        format!("same key should return {first:?}, got {again:?}"),
    );
    let other = store.append(&key, &s.deployment("staging", 2)).await?;
    s.expect(
        other == first,
        format!("same key with other content should return {first:?}, got {other:?}"),
    );
    Ok(Outcome::Passed)
}

/// Invalid deployments are refused with `InvalidInput`, and nothing is written.
pub async fn refuses_invalid(store: &dyn AuditStore) -> Result<Outcome> {
    let s = Scope::new("refuses_invalid", store);
    let mut backwards = s.deployment("production", 1);
    backwards.finished_at = backwards.started_at - Duration::minutes(1);
    let mut no_digest = s.deployment("production", 1);
    no_digest.artifact_digest = "  ".into();
    for (what, deployment) in [("backwards", backwards), ("no-digest", no_digest)] {
        let key = s.key(what);
        s.expect_err(
            store.append(&key, &deployment).await,
            ErrorKind::InvalidInput,
            &format!("appending a deployment ({what})"),
        );
        let found = store.find_by_key(&key).await?;
        s.expect(
            found.is_none(),
            format!("a refused deployment ({what}) was written: {found:?}"),
        );
    }
    Ok(Outcome::Passed)
}

/// A batch is appended in order as consecutive, linked records; keys already present (in
/// the ledger or earlier in the batch) return their record.
pub async fn batch_append(store: &dyn AuditStore) -> Result<Outcome> {
    if let Some(skipped) = skip_unless(
        "batch_append",
        &store.capabilities(),
        &[capability::BATCH_APPEND],
    ) {
        return Ok(skipped);
    }
    let s = Scope::new("batch_append", store);
    let existing = store
        .append(&s.key("existing"), &s.deployment("production", 0))
        .await?;
    let batch = vec![
        (s.key("a"), s.deployment("production", 1)),
        (s.key("existing"), s.deployment("production", 0)),
        (s.key("b"), s.deployment("staging", 2)),
        (s.key("a"), s.deployment("production", 1)),
        (s.key("c"), s.deployment("production", 3)),
    ];
    let records = store.append_batch(&batch).await?;
    s.expect(
        records.len() == batch.len(),
        format!(
            "a batch of {} should return as many records, got {}",
            batch.len(),
            records.len()
        ),
    );
    for (record, (key, deployment)) in records.iter().zip(&batch) {
        s.expect_record(record, key, deployment);
    }
    s.expect(
        records[1] == existing,
        "a key already present should return its record",
    );
    s.expect(
        records[3] == records[0],
        "a key repeated in a batch should return its first record",
    );
    let new = [&records[0], &records[2], &records[4]];
    for pair in new.windows(2) {
        s.expect(
            pair[1].seq == pair[0].seq + 1 && pair[1].prev_hash == pair[0].hash,
            format!(
                "the new records of a batch should be consecutive and linked: {} then {}",
                pair[0].seq, pair[1].seq
            ),
        );
    }
    let empty = store.append_batch(&[]).await?;
    s.expect(empty.is_empty(), "an empty batch should return no record");
    Ok(Outcome::Passed)
}

/// A batch with one invalid deployment is refused whole with `InvalidInput`.
pub async fn batch_all_or_nothing(store: &dyn AuditStore) -> Result<Outcome> {
    if let Some(skipped) = skip_unless(
        "batch_all_or_nothing",
        &store.capabilities(),
        &[capability::BATCH_APPEND],
    ) {
        return Ok(skipped);
    }
    let s = Scope::new("batch_all_or_nothing", store);
    let mut bad = s.deployment("production", 2);
    bad.finished_at = bad.started_at - Duration::seconds(1);
    let batch = vec![
        (s.key("a"), s.deployment("production", 1)),
        (s.key("bad"), bad),
        (s.key("c"), s.deployment("production", 3)),
    ];
    s.expect_err(
        store.append_batch(&batch).await,
        ErrorKind::InvalidInput,
        "a batch holding an invalid deployment",
    );
    for (key, _) in &batch {
        let found = store.find_by_key(key).await?;
        s.expect(
            found.is_none(),
            format!("a refused batch wrote {key}: {found:?}"),
        );
    }
    Ok(Outcome::Passed)
}

/// Appended records link to each other: scanning from the first one's predecessor to the
/// last one verifies intact, and returns the records as appended.
pub async fn chain_links(store: &dyn AuditStore) -> Result<Outcome> {
    let s = Scope::new("chain_links", store);
    let mut mine = Vec::new();
    for i in 0..3 {
        let key = s.key(&format!("r{i}"));
        mine.push(store.append(&key, &s.deployment("production", i)).await?);
    }
    let (first, last) = (&mine[0], &mine[2]);
    if first.seq > 1 {
        let before = store.scan(first.seq - 1, 1).await?;
        s.expect(
            before.first().map(|r| (r.seq, r.hash)) == Some((first.seq - 1, first.prev_hash)),
            format!(
                "record {} should link to record {}'s hash {}, got {before:?}",
                first.seq,
                first.seq - 1,
                first.prev_hash
            ),
        );
    }
    let span = u32::try_from(last.seq - first.seq + 1).unwrap_or(u32::MAX);
    let scanned = store.scan(first.seq, span).await?;
    s.expect(
        scanned.first().map(|r| r.seq) == Some(first.seq)
            && scanned.last().map(|r| r.seq) == Some(last.seq)
            && scanned.len() == span as usize,
        format!(
            "scan({}, {span}) should return records {} to {}, got {:?}",
            first.seq,
            first.seq,
            last.seq,
            scanned.iter().map(|r| r.seq).collect::<Vec<_>>()
        ),
    );
    let mut verifier = Verifier::resume(first.seq - 1, first.prev_hash);
    for record in &scanned {
        if let Some(problem) = verifier.push(record) {
            s.expect(
                false,
                format!("the appended records should verify: {problem}"),
            );
        }
    }
    for record in &mine {
        s.expect(
            scanned.contains(record),
            format!("scan should return record {} as appended", record.seq),
        );
    }
    let head = store.head().await?;
    s.expect(
        head >= last.seq,
        format!("head {head} should be at least {}", last.seq),
    );
    let tail = store.scan(head + 1, 10).await?;
    s.expect(
        tail.is_empty(),
        format!("nothing should follow the head {head}: {tail:?}"),
    );
    Ok(Outcome::Passed)
}
