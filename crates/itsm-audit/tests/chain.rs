//! The hash chain: hashing and verification of intact and tampered chains.

mod common;

use itsm_audit::chain::{ChainProblemKind, Verifier, record_hash, verify};
use itsm_audit::{DeploymentRecord, RecordHash};
use time::macros::datetime;

fn chain(n: usize) -> Vec<DeploymentRecord> {
    let mut prev = RecordHash::GENESIS;
    (1..=n)
        .map(|i| {
            let (key, deployment) = (common::key("k", i), common::deployment(i));
            let recorded_at = datetime!(2026-06-01 12:00:00.5 UTC);
            let hash = record_hash(i as u64, &key, &deployment, recorded_at, &prev);
            let record = DeploymentRecord {
                seq: i as u64,
                key,
                deployment,
                recorded_at,
                prev_hash: prev,
                hash,
            };
            prev = hash;
            record
        })
        .collect()
}

#[test]
fn empty_chain_is_intact() {
    let report = verify(Vec::new());
    assert!(report.is_intact());
    assert_eq!(report.checked, 0);
    assert_eq!(report.head, None);
}

#[test]
fn intact_chain_verifies_and_reports_head() {
    let records = chain(50);
    let head = records[49].hash;
    let report = verify(records);
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.checked, 50);
    assert_eq!(report.head, Some(head));
}

#[test]
fn hash_covers_every_part() {
    let r = &chain(1)[0];
    let base = record_hash(1, &r.key, &r.deployment, r.recorded_at, &r.prev_hash);
    assert_eq!(base, r.hash);
    assert_ne!(
        record_hash(2, &r.key, &r.deployment, r.recorded_at, &r.prev_hash),
        base
    );
    assert_ne!(
        record_hash(
            1,
            &common::key("other", 1),
            &r.deployment,
            r.recorded_at,
            &r.prev_hash
        ),
        base
    );
    let mut d = r.deployment.clone();
    d.deployer.email = Some("a@b.c".into());
    assert_ne!(
        record_hash(1, &r.key, &d, r.recorded_at, &r.prev_hash),
        base
    );
    let later = r.recorded_at + time::Duration::nanoseconds(1);
    assert_ne!(
        record_hash(1, &r.key, &r.deployment, later, &r.prev_hash),
        base
    );
    assert_ne!(
        record_hash(
            1,
            &r.key,
            &r.deployment,
            r.recorded_at,
            &RecordHash([1; 32])
        ),
        base
    );
    // The same instant in another offset hashes the same (timestamps are hashed in UTC).
    let shifted = r.recorded_at.to_offset(time::macros::offset!(+2));
    assert_eq!(
        record_hash(1, &r.key, &r.deployment, shifted, &r.prev_hash),
        base
    );
}

#[test]
fn changed_record_is_named() {
    let mut records = chain(20);
    records[6].deployment.artifact_digest = "sha256:evil".into();
    let report = verify(records);
    let problem = report.first_problem.clone().expect("a problem");
    assert_eq!(
        (problem.seq, problem.kind),
        (7, ChainProblemKind::Changed),
        "{problem}"
    );
    assert_eq!(report.checked, 6);
    assert!(
        problem.to_string().contains("ledger record 7 was changed"),
        "{problem}"
    );
}

#[test]
fn rewritten_hash_names_the_rewritten_record() {
    let mut records = chain(20);
    let r = &mut records[9];
    r.deployment.artifact_digest = "sha256:evil".into();
    r.hash = record_hash(r.seq, &r.key, &r.deployment, r.recorded_at, &r.prev_hash);
    let problem = verify(records).first_problem.expect("a problem");
    assert_eq!(
        (problem.seq, problem.kind),
        (10, ChainProblemKind::Changed),
        "{problem}"
    );
}

#[test]
fn removed_record_is_named() {
    let mut records = chain(20);
    records.remove(11);
    let problem = verify(records).first_problem.expect("a problem");
    assert_eq!(
        (problem.seq, problem.kind),
        (12, ChainProblemKind::Removed),
        "{problem}"
    );
    let mut records = chain(20);
    records.drain(3..6);
    let problem = verify(records).first_problem.expect("a problem");
    assert_eq!((problem.seq, problem.kind), (4, ChainProblemKind::Removed));
    assert!(problem.detail.contains("records 4 to 6"), "{problem}");
}

#[test]
fn missing_first_record_is_named() {
    let mut records = chain(5);
    records.remove(0);
    let problem = verify(records).first_problem.expect("a problem");
    assert_eq!((problem.seq, problem.kind), (1, ChainProblemKind::Removed));
}

#[test]
fn swapped_records_are_named() {
    // Swapped in a stream (each keeps its stored number): record 6 arriving where 5 is
    // expected reads as 5 missing (a streaming check cannot look ahead); stores scan in
    // number order, so this only happens to records from elsewhere.
    let mut records = chain(20);
    records.swap(4, 5);
    let problem = verify(records).first_problem.expect("a problem");
    assert_eq!(
        (problem.seq, problem.kind),
        (5, ChainProblemKind::Removed),
        "{problem}"
    );
    // Swapped and renumbered (as an UPDATE of the seq column would).
    let mut records = chain(20);
    records.swap(4, 5);
    records[4].seq = 5;
    records[5].seq = 6;
    let problem = verify(records).first_problem.expect("a problem");
    assert_eq!(
        (problem.seq, problem.kind),
        (5, ChainProblemKind::Reordered),
        "{problem}"
    );
    assert!(problem.detail.contains("appended as record 6"), "{problem}");
}

#[test]
fn repeated_or_inserted_record_is_named() {
    let mut records = chain(10);
    let dup = records[3].clone();
    records.insert(4, dup);
    let problem = verify(records).first_problem.expect("a problem");
    assert_eq!(
        (problem.seq, problem.kind),
        (4, ChainProblemKind::Reordered)
    );
    // A record from another chain, validly hashed, in the first position.
    let mut records = chain(3);
    let r = &mut records[0];
    r.prev_hash = RecordHash([7; 32]);
    r.hash = record_hash(1, &r.key, &r.deployment, r.recorded_at, &r.prev_hash);
    let problem = verify(records).first_problem.expect("a problem");
    assert_eq!(
        (problem.seq, problem.kind),
        (1, ChainProblemKind::Reordered)
    );
}

#[test]
fn verifier_works_page_by_page_and_resumes() {
    let records = chain(30);
    let mut verifier = Verifier::new();
    for page in records.chunks(7) {
        for record in page {
            assert_eq!(verifier.push(record), None);
        }
    }
    assert_eq!(verifier.checked(), 30);
    let mut resumed = Verifier::resume(10, records[9].hash);
    for record in &records[10..] {
        assert_eq!(resumed.push(record), None);
    }
    let report = resumed.finish();
    assert!(report.is_intact());
    assert_eq!((report.checked, report.head), (20, Some(records[29].hash)));
    // After the first problem, later records are ignored.
    let mut records = records;
    records[2].deployment.commit = itsm_core::CommitId::new("bad").unwrap();
    let mut verifier = Verifier::new();
    let problems: Vec<_> = records.iter().filter_map(|r| verifier.push(r)).collect();
    assert_eq!(problems.len(), 1);
    assert_eq!(verifier.problem().map(|p| p.seq), Some(3));
}
